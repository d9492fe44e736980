//! Exercise 2 — per-channel mean and std of a data set (reference solution).
use anyhow::Result;
use se05::data::{DataLoader, Dataset};
use std::sync::Arc;
use tch::{Kind, Tensor};

/// Per-channel mean and population standard deviation of every image pixel.
pub fn mean_std(dataset: Arc<dyn Dataset>) -> Result<([f64; 3], [f64; 3])> {
    let mut sum = Tensor::zeros([3], tch::kind::DOUBLE_CPU);
    let mut sq = Tensor::zeros([3], tch::kind::DOUBLE_CPU);
    let mut n = 0i64;
    for batch in &DataLoader::new(dataset, 16) {
        let (x, _) = batch?;
        let x = x.to_kind(Kind::Double);
        let dims = [0i64, 2, 3];
        sum += x.sum_dim_intlist(dims.as_slice(), false, Kind::Double);
        sq += (&x * &x).sum_dim_intlist(dims.as_slice(), false, Kind::Double);
        n += x.size()[0] * x.size()[2] * x.size()[3];
    }
    anyhow::ensure!(n > 0, "mean_std: the data set is empty");
    let mean = &sum / n as f64;
    let std = (&sq / n as f64 - &mean * &mean).clamp_min(0.0).sqrt();
    let v = |t: &Tensor| {
        [
            t.double_value(&[0]),
            t.double_value(&[1]),
            t.double_value(&[2]),
        ]
    };
    Ok((v(&mean), v(&std)))
}
