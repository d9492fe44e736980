//! Segmentation metrics on thresholded predictions: Dice and IoU, both per image
//! (then averaged) and over the whole data set (pixels pooled).
use serde::{Deserialize, Serialize};
use tch::{Kind, Tensor};

/// Running sums for Dice and IoU over batches of predictions in [0, 1].
#[derive(Debug, Default, Clone)]
pub struct SegmentationMetrics {
    dice_sum: f64,
    iou_sum: f64,
    images: usize,
    intersection: f64,
    pred_pixels: f64,
    true_pixels: f64,
}

/// Final figures of [`SegmentationMetrics`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MetricSummary {
    /// Mean over images of each image's Dice.
    pub dice_per_image: f64,
    /// Dice of all pixels pooled.
    pub dice_dataset: f64,
    pub iou_per_image: f64,
    pub iou_dataset: f64,
    pub images: usize,
}

impl SegmentationMetrics {
    /// Adds a batch: `pred` probabilities [B,1,H,W], `truth` binary masks, same shape.
    /// Predictions are thresholded at 0.5. An image where both masks are empty scores 1.
    pub fn add_batch(&mut self, pred: &Tensor, truth: &Tensor) {
        let b = pred.size()[0];
        let p = pred.gt(0.5).to_kind(Kind::Double).view([b, -1]);
        let t = truth.gt(0.5).to_kind(Kind::Double).view([b, -1]);
        let inter = (&p * &t).sum_dim_intlist([1i64].as_slice(), false, Kind::Double);
        let ps = p.sum_dim_intlist([1i64].as_slice(), false, Kind::Double);
        let ts = t.sum_dim_intlist([1i64].as_slice(), false, Kind::Double);
        for i in 0..b {
            let (inter, ps, ts) = (
                inter.double_value(&[i]),
                ps.double_value(&[i]),
                ts.double_value(&[i]),
            );
            let union = ps + ts - inter;
            self.dice_sum += if ps + ts == 0.0 {
                1.0
            } else {
                2.0 * inter / (ps + ts)
            };
            self.iou_sum += if union == 0.0 { 1.0 } else { inter / union };
            self.images += 1;
            self.intersection += inter;
            self.pred_pixels += ps;
            self.true_pixels += ts;
        }
    }

    pub fn summary(&self) -> MetricSummary {
        let n = self.images.max(1) as f64;
        let total = self.pred_pixels + self.true_pixels;
        let union = total - self.intersection;
        MetricSummary {
            dice_per_image: self.dice_sum / n,
            dice_dataset: if total == 0.0 {
                1.0
            } else {
                2.0 * self.intersection / total
            },
            iou_per_image: self.iou_sum / n,
            iou_dataset: if union == 0.0 {
                1.0
            } else {
                self.intersection / union
            },
            images: self.images,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn perfect_half_and_empty_predictions() {
        let truth =
            Tensor::from_slice(&[1.0f32, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0]).view([2, 1, 2, 2]);
        let pred =
            Tensor::from_slice(&[0.9f32, 0.8, 0.1, 0.0, 0.9, 0.2, 0.0, 0.0]).view([2, 1, 2, 2]);
        let mut m = SegmentationMetrics::default();
        m.add_batch(&pred, &truth);
        let s = m.summary();
        // image 1 perfect (dice 1, iou 1); image 2: inter 1, |p| 1, |t| 2 → dice 2/3, iou 1/2
        assert!((s.dice_per_image - (1.0 + 2.0 / 3.0) / 2.0).abs() < 1e-9);
        assert!((s.iou_per_image - 0.75).abs() < 1e-9);
        assert!((s.dice_dataset - 6.0 / 7.0).abs() < 1e-9);
        assert!((s.iou_dataset - 3.0 / 4.0).abs() < 1e-9);
        assert_eq!(s.images, 2);
    }
}
