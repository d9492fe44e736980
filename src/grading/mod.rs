//! Grading: the exercise registry, how a check target observes student code and how
//! the judge decides, the sandbox that runs it, the source policy, the progress file.
//!
//! A check is split in two halves that never share a process when the checker grades:
//! - the **observer** ([`observe`]) runs inside the check target, next to the student's
//!   code; it calls that code on inputs drawn from the run's seed and records what it
//!   saw (shapes, numbers, parameter tables, fingerprints, errors) as JSON;
//! - the **judge** ([`judge`], with one module per exercise in [`exercises`]) reads
//!   those observations as untrusted data and alone decides statuses, messages and
//!   points. It never calls an exercise.
//!
//! Observations are claims: student code in the observer's process can write any line
//! it likes. The judge therefore validates their shape and size, draws property inputs
//! from a per-run seed the observer only learns at start, and compares fixed inputs
//! with the reference's snapshots, so a forged line can only claim what honest code
//! would have had to compute.
pub mod exercises;
pub mod judge;
pub mod mistakes;
pub mod observe;
pub mod policy;
pub mod progress;
pub mod registry;
pub mod sandbox;
pub mod snapshots;
mod status;
pub mod summary;
pub mod text;

pub use status::Status;
