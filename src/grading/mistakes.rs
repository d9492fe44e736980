//! The catalogue of known student mistakes: for each exercise, the mistakes students
//! of the notebook make, each with a short title and a one-line fix. The titles and
//! fixes ship to students (each judge keeps its list beside its checks, as
//! `MISTAKES`); the code that makes each mistake, a variant of the reference, is
//! instructor material under `solutions/mistakes/<slug>.json`.
//!
//! A mistake is *named* in a verdict in one of two ways:
//! - a reference comparison ([`super::snapshots::compare`]) fails and the student's
//!   observation equals the observation recorded from the mistake's variant on the
//!   same fixed inputs and weights (`<target>__<name>@<id>.snap`, blessed with
//!   `checker mistakes --bless`);
//! - a property check's judge establishes it from the observation and quotes its
//!   title ([`Mistake::named`]).
//!
//! `checker validate` grades every variant and requires that some failed check's
//! message contains the mistake's title.
use super::exercises;

/// One known mistake of an exercise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mistake {
    /// Identifier: letters, digits and `_`; names the variant's snapshots and its
    /// entry in `solutions/mistakes/<slug>.json`.
    pub id: &'static str,
    /// What the code does, in a student's words ("the ReLU before the batch norm").
    pub title: &'static str,
    /// What to change, one line.
    pub fix: &'static str,
}

impl Mistake {
    /// The sentence a message uses once the mistake is established.
    pub fn named(&self) -> String {
        format!("known mistake: {}. {}", self.title, self.fix)
    }
}

/// The catalogue of exercise `number` (empty for a number that is no exercise).
pub fn of_exercise(number: u32) -> &'static [Mistake] {
    match number {
        1 => exercises::ex01_dataset::MISTAKES,
        2 => exercises::ex02_mean_std::MISTAKES,
        3 => exercises::ex03_transforms::MISTAKES,
        4 => exercises::ex04_augmented_dataset::MISTAKES,
        5 => exercises::ex05_split::MISTAKES,
        6 => exercises::ex06_double_conv::MISTAKES,
        7 => exercises::ex07_down::MISTAKES,
        8 => exercises::ex08_up::MISTAKES,
        9 => exercises::ex09_unet::MISTAKES,
        10 => exercises::ex10_dice_loss::MISTAKES,
        11 => exercises::ex11_unet_efficient::MISTAKES,
        _ => &[],
    }
}

/// The catalogue of the exercise whose check target is `target`.
pub fn of_target(target: &str) -> &'static [Mistake] {
    crate::grading::registry::by_slug(target).map_or(&[], |ex| of_exercise(ex.number))
}

/// The mistake `id` of `list`; panics on an unknown id (a judge's own constant).
pub fn get(list: &'static [Mistake], id: &str) -> &'static Mistake {
    list.iter()
        .find(|m| m.id == id)
        .unwrap_or_else(|| panic!("no mistake {id} in the catalogue"))
}

/// Whether `id` is a valid identifier.
pub fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::grading::registry::EXERCISES;

    #[test]
    fn every_catalogue_has_distinct_valid_entries() {
        for ex in EXERCISES {
            let list = of_exercise(ex.number);
            assert!(list.len() >= 6, "exercise {} has {}", ex.number, list.len());
            let mut ids: Vec<&str> = list.iter().map(|m| m.id).collect();
            ids.sort_unstable();
            ids.dedup();
            assert_eq!(ids.len(), list.len(), "duplicate ids in {}", ex.number);
            let mut titles: Vec<&str> = list.iter().map(|m| m.title).collect();
            titles.sort_unstable();
            titles.dedup();
            assert_eq!(
                titles.len(),
                list.len(),
                "duplicate titles in {}",
                ex.number
            );
            for m in list {
                assert!(valid_id(m.id), "{}: {}", ex.number, m.id);
                assert!(!m.title.is_empty() && !m.fix.is_empty(), "{}", m.id);
                assert!(!m.title.contains('\n') && !m.fix.contains('\n'), "{}", m.id);
                // No title inside another: a message naming one must not name both.
                for other in list.iter().filter(|o| o.id != m.id) {
                    assert!(!other.title.contains(m.title), "{} in {}", m.id, other.id);
                }
            }
            assert_eq!(of_target(ex.slug), list);
        }
    }
}
