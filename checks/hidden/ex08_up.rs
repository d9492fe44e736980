//! Hidden observer of exercise 8 (not in the student release); its judge is
//! se05::grading::exercises::hidden.
use crate::ex08_up::Up;
use se05::grading::exercises::hidden::{observe_flow, up_case};
use se05::grading::exercises::torch_seed;
use se05::grading::observe::{observe, Observer};
use tch::nn;
use tch::{Device, Tensor};

pub fn observers() -> Vec<Observer> {
    vec![observe("larger_inputs_and_gradients", |ctx| {
        let c = up_case(ctx.seed);
        let vs = nn::VarStore::new(Device::Cpu);
        let m = Up::new(&vs.root(), c.in_channels, c.out_channels);
        tch::manual_seed(torch_seed(ctx.seed, "hidden/ex08/input"));
        let x1 = Tensor::randn(c.x1_shape(), tch::kind::FLOAT_CPU);
        let x2 = Tensor::randn(c.skip_shape(), tch::kind::FLOAT_CPU);
        let y = m.forward_t(&x1, &x2, true);
        Ok(observe_flow(
            &vs,
            &y,
            torch_seed(ctx.seed, "hidden/ex08/projection"),
        ))
    })]
}
