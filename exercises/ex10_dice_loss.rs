//! # Exercise 10 — the Dice loss (notebook §4.3)
//!
//! In a skin image most pixels are not lesion. Binary cross-entropy can look good by
//! predicting "background" almost everywhere; the Dice coefficient cannot, because it
//! only rewards overlap with the lesion:
//!
//! ```text
//! dice = (2 · Σ(pred · true) + smooth) / (Σ pred + Σ true + smooth)
//! loss = 1 − dice, clamped to [0, 1]
//! ```
//!
//! Flatten both tensors first (their shapes are [batch, 1, H, W]) and convert the
//! true mask to float (it may arrive as integers). `smooth` defaults to 1.0; it keeps
//! the loss defined when both masks are empty. Return a zero-dimensional tensor that
//! is still connected to `y_pred`'s graph, so `loss.backward()` trains the model.
//!
//! The tch calls you need:
//! * `t.reshape(-1)` flattens a tensor to one dimension; `t.to_kind(Kind::Float)`
//!   converts it;
//! * `(&a * &b)` multiplies element-wise and `t.sum(Kind::Float)` adds every element
//!   into a zero-dimensional tensor;
//! * tensors combine with numbers on either side: `x * 2.0 + s`, `x / y`, and
//!   `1.0 - x` (an `f64` minus a `Tensor` gives a `Tensor`);
//! * `t.clamp(0.0, 1.0)` keeps values within [0, 1].
//!
//! Stay with tensor operations: reading a value out with `double_value` or
//! `f64::try_from` leaves the graph, and `backward()` would no longer reach the model.
#![allow(unused_imports)]
use tch::{Kind, Tensor};

/// 1 − Dice coefficient between a predicted and a true mask.
#[derive(Debug)]
pub struct DiceLoss {
    /// Added to the numerator and the denominator.
    pub smooth: f64,
}

impl Default for DiceLoss {
    /// A loss with the usual smoothing of 1.0.
    fn default() -> Self {
        todo!("Exercise 10: the default smoothing factor")
    }
}

impl DiceLoss {
    pub fn new(smooth: f64) -> DiceLoss {
        let _ = smooth;
        todo!("Exercise 10: store the smoothing factor")
    }

    /// A zero-dimensional tensor in [0, 1]; 0 when the masks agree perfectly.
    pub fn forward(&self, y_pred: &Tensor, y_true: &Tensor) -> Tensor {
        let _ = (y_pred, y_true);
        todo!("Exercise 10: compute 1 - dice")
    }
}
