//! Hidden observer of exercise 11 (not in the student release); its judge is
//! se05::grading::exercises::hidden.
use crate::ex11_unet_efficient::UNetEfficient;
use se05::grading::exercises::hidden::{observe_flow, unet_efficient_case};
use se05::grading::exercises::torch_seed;
use se05::grading::observe::{observe, Observer};
use se05::grading::summary;
use se05::models::{EfficientNetEncoder, Variant};
use tch::nn::{self, ModuleT};
use tch::{Device, Tensor};

pub fn observers() -> Vec<Observer> {
    vec![observe("larger_inputs_and_gradients", |ctx| {
        let c = unet_efficient_case(ctx.seed);
        // A randomly initialised encoder's deepest map is almost zero, which would
        // leave the centre's batch norm without a gradient: deterministic weights of
        // PyTorch's ranges everywhere instead (the encoder is frozen all the same).
        let vs = nn::VarStore::new(Device::Cpu);
        let encoder = EfficientNetEncoder::new(&(vs.root() / "encoder"), Variant::B0);
        let m = UNetEfficient::new(&vs.root(), encoder, c.out_channels);
        summary::fill_deterministic(&vs, torch_seed(ctx.seed, "hidden/ex11/weights"));
        tch::manual_seed(torch_seed(ctx.seed, "hidden/ex11/input"));
        let x = Tensor::randn(c.input_shape(), tch::kind::FLOAT_CPU);
        let y = m.forward_t(&x, true);
        Ok(observe_flow(
            &vs,
            &y,
            torch_seed(ctx.seed, "hidden/ex11/projection"),
        ))
    })]
}
