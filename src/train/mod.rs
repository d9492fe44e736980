//! The final training stage's machinery: training loop, early stopping, metrics and
//! plots, and the stage itself ([`stage`]). The models and the loss are the
//! student's; this module only drives them.
pub mod early_stopping;
pub mod gallery;
pub mod metrics;
pub mod plots;
pub mod stage;
pub mod trainer;
