//! Shared by the exercise check targets: comparing a student's output with the
//! reference's recorded snapshot.
#![allow(dead_code)]
use se05::check;

/// Compares `text` with the reference's snapshot `name` of this check target.
/// Instructors regenerate the snapshots from the solutions with
/// `SE05_BLESS=1 INSTA_UPDATE=always cargo test --features solutions`.
pub fn snapshot(name: &str, text: &str, numeric: bool) -> anyhow::Result<()> {
    let target = env!("CARGO_CRATE_NAME");
    #[cfg(feature = "solutions")]
    if std::env::var_os("SE05_BLESS").is_some() {
        insta::with_settings!({
            snapshot_path => concat!(env!("CARGO_MANIFEST_DIR"), "/tests/snapshots"),
            prepend_module_to_snapshot => false,
            omit_expression => true,
        }, {
            insta::assert_snapshot!(format!("{target}__{name}"), text);
        });
    }
    check::matches_snapshot(target, name, text, numeric)
}

/// A fixed input batch: normal noise from a given seed.
pub fn fixed_input(shape: &[i64], seed: i64) -> tch::Tensor {
    tch::manual_seed(seed);
    tch::Tensor::randn(shape, (tch::Kind::Float, tch::Device::Cpu))
}
