//! Hidden observer of exercise 6 (not in the student release); its judge is
//! se05::grading::exercises::hidden.
use crate::ex06_double_conv::DoubleConv;
use se05::grading::exercises::hidden::{double_conv_case, observe_flow};
use se05::grading::exercises::torch_seed;
use se05::grading::observe::{observe, Observer};
use tch::nn::{self, ModuleT};
use tch::{Device, Tensor};

pub fn observers() -> Vec<Observer> {
    vec![observe("larger_inputs_and_gradients", |ctx| {
        let c = double_conv_case(ctx.seed);
        let vs = nn::VarStore::new(Device::Cpu);
        let m = DoubleConv::new(&vs.root(), c.in_channels, c.out_channels);
        tch::manual_seed(torch_seed(ctx.seed, "hidden/ex06/input"));
        let x = Tensor::randn(c.input_shape(), tch::kind::FLOAT_CPU);
        let y = m.forward_t(&x, true);
        Ok(observe_flow(
            &vs,
            &y,
            torch_seed(ctx.seed, "hidden/ex06/projection"),
        ))
    })]
}
