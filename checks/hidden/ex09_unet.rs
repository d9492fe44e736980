//! Hidden observer of exercise 9 (not in the student release); its judge is
//! se05::grading::exercises::hidden.
use crate::ex09_unet::UNet;
use se05::grading::exercises::hidden::{observe_flow, unet_case};
use se05::grading::exercises::torch_seed;
use se05::grading::observe::{observe, Observer};
use tch::nn::{self, ModuleT};
use tch::{Device, Tensor};

pub fn observers() -> Vec<Observer> {
    vec![observe("other_channels_and_gradients", |ctx| {
        let c = unet_case(ctx.seed);
        let vs = nn::VarStore::new(Device::Cpu);
        let m = UNet::new(&vs.root(), c.in_channels, c.out_channels);
        tch::manual_seed(torch_seed(ctx.seed, "hidden/ex09/input"));
        let x = Tensor::randn(c.input_shape(), tch::kind::FLOAT_CPU);
        let y = m.forward_t(&x, true);
        Ok(observe_flow(
            &vs,
            &y,
            torch_seed(ctx.seed, "hidden/ex09/projection"),
        ))
    })]
}
