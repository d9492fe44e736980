//! `checker reset` and `checker grade` take the untouched stubs from
//! `checker/stubs/`: every exercise must have one, and in the instructors' suite
//! (`--features solutions`, where `exercises/` holds the stubs as shipped) they must
//! equal `exercises/`. After changing a stub, refresh the copies with
//! `cargo run --bin checker -- stubs --sync`.
use se05::grading::registry::EXERCISES;
use std::path::Path;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

#[test]
fn every_exercise_has_its_pristine_stub() {
    let root = Path::new(ROOT);
    let mut problems = Vec::new();
    for ex in EXERCISES {
        let shipped = root.join(ex.exercise_file());
        let stub = root.join("checker/stubs").join(format!("{}.rs", ex.slug));
        let Ok(copy) = std::fs::read(&stub) else {
            problems.push(format!(
                "{} has no pristine copy {}",
                ex.slug,
                stub.display()
            ));
            continue;
        };
        assert!(
            String::from_utf8_lossy(&copy).contains("todo!"),
            "{} does not look like a stub (no todo!())",
            stub.display()
        );
        if cfg!(feature = "solutions") && std::fs::read(&shipped).ok() != Some(copy) {
            problems.push(format!(
                "{} differs from {}",
                stub.display(),
                shipped.display()
            ));
        }
    }
    assert!(
        problems.is_empty(),
        "{}\nAfter changing a stub in exercises/, refresh the copies: \
         cargo run --bin checker -- stubs --sync",
        problems.join("\n")
    );
}
