//! The README's exercise table is the registry's, and its commands are the ones CI runs.
#[test]
fn readme_lists_the_registry() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let table = se05::grading::registry::markdown_table();
    assert!(
        readme.contains(&table),
        "README.md's exercise table is out of date; replace it with:\n\n{table}"
    );
}

#[test]
fn ci_runs_the_readme_test_command() {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let ci = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/.ci/run")).unwrap();
    let command = "./setup.sh && cargo test --features solutions";
    assert!(
        readme.contains(command),
        "README.md should give the test command `{command}`"
    );
    assert!(
        ci.contains(command),
        ".ci/run should run the README's test command `{command}`"
    );
}
