//! Early stopping on the validation loss, as the notebook's `train_model` does it:
//! stop when the loss has not improved by more than `min_delta` for `patience` epochs.

#[derive(Debug, Clone)]
pub struct EarlyStopping {
    pub patience: usize,
    pub min_delta: f64,
    best: Option<f64>,
    epochs_without_improvement: usize,
}

/// What to do after an epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The loss is the best so far: save a checkpoint.
    Improved,
    /// No improvement, keep going.
    Continue,
    /// No improvement for `patience` epochs: stop.
    Stop,
}

impl EarlyStopping {
    pub fn new(patience: usize, min_delta: f64) -> EarlyStopping {
        EarlyStopping {
            patience,
            min_delta,
            best: None,
            epochs_without_improvement: 0,
        }
    }

    pub fn best(&self) -> Option<f64> {
        self.best
    }

    pub fn observe(&mut self, val_loss: f64) -> Verdict {
        match self.best {
            Some(best) if val_loss >= best - self.min_delta || val_loss.is_nan() => {
                self.epochs_without_improvement += 1;
                if self.epochs_without_improvement >= self.patience {
                    Verdict::Stop
                } else {
                    Verdict::Continue
                }
            }
            _ => {
                self.best = Some(val_loss);
                self.epochs_without_improvement = 0;
                Verdict::Improved
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stops_after_patience_epochs_without_improvement() {
        let mut es = EarlyStopping::new(3, 0.01);
        assert_eq!(es.observe(0.5), Verdict::Improved);
        assert_eq!(es.observe(0.4), Verdict::Improved);
        assert_eq!(
            es.observe(0.395),
            Verdict::Continue,
            "within tolerance is no improvement"
        );
        assert_eq!(es.observe(0.41), Verdict::Continue);
        assert_eq!(es.observe(0.42), Verdict::Stop);
        assert_eq!(es.best(), Some(0.4));
    }

    #[test]
    fn nan_never_counts_as_improvement() {
        let mut es = EarlyStopping::new(1, 0.0);
        es.observe(0.3);
        assert_eq!(es.observe(f64::NAN), Verdict::Stop);
    }
}
