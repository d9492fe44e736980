//! The judges of the exercises, one module per exercise: each says which checks the
//! exercise has (names, points, hints), what each check observes (the observation's
//! type, shared with the check target) and how the observation is decided.
//!
//! Inputs of property checks are drawn from the run's seed by functions here, which
//! the observer (to call the exercise) and the judge (to know what to expect) both
//! call.
use super::judge::CheckSpec;
use rand::{Rng, SeedableRng};

pub mod ex01_dataset;
pub mod ex02_mean_std;
pub mod ex03_transforms;
pub mod ex04_augmented_dataset;
pub mod ex05_split;
pub mod ex06_double_conv;
pub mod ex07_down;
pub mod ex08_up;
pub mod ex09_unet;
pub mod ex10_dice_loss;
pub mod ex11_unet_efficient;
pub mod fixtures;
#[cfg(feature = "hidden-checks")]
pub mod hidden;

/// True when this build has the hidden checks (the instructor's repository), false
/// in the student release, whose checks then award
/// [`crate::grading::registry::Exercise::visible_points`].
pub const HIDDEN_CHECKS_INCLUDED: bool = cfg!(feature = "hidden-checks");

/// The points this build's checks of exercise `ex` can award: all of them with the
/// hidden checks, the visible ones without.
pub fn points_here(ex: &crate::grading::registry::Exercise) -> u32 {
    if HIDDEN_CHECKS_INCLUDED {
        ex.points
    } else {
        ex.visible_points()
    }
}

/// The checks of exercise `number`, or `None` when it is not graded by a judge yet.
/// The hidden checks come last, after the visible ones, when this build has them.
pub fn specs(number: u32) -> Option<Vec<CheckSpec>> {
    #[allow(unused_mut)]
    let mut specs = visible_specs(number)?;
    #[cfg(feature = "hidden-checks")]
    specs.extend(hidden::specs(number));
    Some(specs)
}

fn visible_specs(number: u32) -> Option<Vec<CheckSpec>> {
    match number {
        1 => Some(ex01_dataset::specs()),
        2 => Some(ex02_mean_std::specs()),
        3 => Some(ex03_transforms::specs()),
        4 => Some(ex04_augmented_dataset::specs()),
        5 => Some(ex05_split::specs()),
        6 => Some(ex06_double_conv::specs()),
        7 => Some(ex07_down::specs()),
        8 => Some(ex08_up::specs()),
        9 => Some(ex09_unet::specs()),
        10 => Some(ex10_dice_loss::specs()),
        11 => Some(ex11_unet_efficient::specs()),
        _ => None,
    }
}

/// A generator for one check's inputs: the run's seed mixed with the check's name.
pub fn rng(seed: u64, salt: &str) -> rand_chacha::ChaCha8Rng {
    let mut mixed = seed ^ 0x9e37_79b9_7f4a_7c15;
    for b in salt.bytes() {
        mixed = (mixed ^ b as u64).wrapping_mul(0x0100_0000_01b3);
    }
    rand_chacha::ChaCha8Rng::seed_from_u64(mixed)
}

/// A seed for libtorch's generator (`tch::manual_seed`) drawn from one check's inputs.
pub fn torch_seed(seed: u64, salt: &str) -> i64 {
    rng(seed, salt).gen_range(0..i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grading::registry::EXERCISES;

    #[test]
    fn points_of_every_judge_add_up_to_the_registry() {
        for ex in EXERCISES {
            if let Some(specs) = specs(ex.number) {
                let sum: u32 = specs.iter().map(|s| s.points).sum();
                assert_eq!(sum, points_here(ex), "exercise {}", ex.number);
                let visible: u32 = visible_specs(ex.number)
                    .unwrap()
                    .iter()
                    .map(|s| s.points)
                    .sum();
                assert_eq!(visible, ex.visible_points(), "exercise {}", ex.number);
                let mut names: Vec<&str> = specs.iter().map(|s| s.name).collect();
                names.sort_unstable();
                names.dedup();
                assert_eq!(
                    names.len(),
                    specs.len(),
                    "duplicate check names in {}",
                    ex.number
                );
            }
        }
    }

    #[test]
    fn reals_survive_json_even_when_not_finite() {
        for v in [1.5, -0.0, f64::INFINITY, f64::NEG_INFINITY] {
            let json = serde_json::to_string(&Real(v)).unwrap();
            assert_eq!(
                serde_json::from_str::<Real>(&json).unwrap(),
                Real(v),
                "{json}"
            );
        }
        let json = serde_json::to_string(&vec![Real(f64::NAN)]).unwrap();
        assert!(serde_json::from_str::<Vec<Real>>(&json).unwrap()[0]
            .0
            .is_nan());
        assert!(serde_json::from_str::<Real>("\"seven\"").is_err());
    }

    #[test]
    fn inputs_depend_on_seed_and_check() {
        assert_eq!(torch_seed(1, "a"), torch_seed(1, "a"));
        assert_ne!(torch_seed(1, "a"), torch_seed(2, "a"));
        assert_ne!(torch_seed(1, "a"), torch_seed(1, "b"));
    }
}

/// Smallest and largest value of a model's output (the U-Nets of exercises 9 and 11).
#[derive(Debug, serde::Serialize, serde::Deserialize)]
pub struct Range {
    pub min: Real,
    pub max: Real,
}

/// A sigmoid output lies strictly inside (0, 1) and is not constant.
pub fn judge_probability_range(r: Range, _ctx: &super::judge::JudgeCtx) -> anyhow::Result<()> {
    let (min, max) = (r.min.0, r.max.0);
    anyhow::ensure!(
        min > 0.0 && max < 1.0,
        "output ranges over [{min:.4}, {max:.4}], expected strictly inside (0, 1)"
    );
    anyhow::ensure!(
        max - min > 1e-6,
        "output is constant ({min:.4}): is the input reaching the output?"
    );
    Ok(())
}

/// A number in an observation that may be NaN or infinite (a broken loss or output):
/// JSON has no such numbers and serde_json would write `null`, which then fails to
/// read back as an `f64`. Finite values are written as numbers, the others as the
/// strings "NaN", "inf" and "-inf".
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct Real(pub f64);

impl From<f64> for Real {
    fn from(v: f64) -> Real {
        Real(v)
    }
}

impl std::fmt::Display for Real {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(&self.0, f)
    }
}

impl serde::Serialize for Real {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let v = self.0;
        if v.is_finite() {
            s.serialize_f64(v)
        } else if v.is_nan() {
            s.serialize_str("NaN")
        } else if v > 0.0 {
            s.serialize_str("inf")
        } else {
            s.serialize_str("-inf")
        }
    }
}

impl<'de> serde::Deserialize<'de> for Real {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Real, D::Error> {
        #[derive(serde::Deserialize)]
        #[serde(untagged)]
        enum Repr {
            Number(f64),
            Text(String),
        }
        match Repr::deserialize(d)? {
            Repr::Number(v) => Ok(Real(v)),
            Repr::Text(t) => match t.as_str() {
                "NaN" => Ok(Real(f64::NAN)),
                "inf" => Ok(Real(f64::INFINITY)),
                "-inf" => Ok(Real(f64::NEG_INFINITY)),
                other => Err(serde::de::Error::custom(format!(
                    "expected a number, got {other:?}"
                ))),
            },
        }
    }
}
