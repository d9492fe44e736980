//! The reference's recorded outputs (`checks/snapshots/<target>__<name>.snap`, insta's
//! file format) and how an observation is compared with them.
use super::judge::JudgeCtx;
use std::path::PathBuf;

/// Path of the snapshot `name` of check target `target`.
pub fn path(ctx: &JudgeCtx, target: &str, name: &str) -> PathBuf {
    ctx.snapshot_dir.join(format!("{target}__{name}.snap"))
}

/// The content of a snapshot file: what follows its metadata header.
pub fn read(ctx: &JudgeCtx, target: &str, name: &str) -> anyhow::Result<String> {
    let path = path(ctx, target, name);
    let text = std::fs::read_to_string(&path).map_err(|e| {
        anyhow::anyhow!(
            "cannot read the expected values {}: {e}. Restore it with `git checkout -- checks/snapshots`, \
             or (instructors) regenerate it with `SE05_BLESS=1 cargo test --features solutions`",
            path.display()
        )
    })?;
    let body = match text
        .strip_prefix("---\n")
        .and_then(|rest| rest.split_once("\n---\n"))
    {
        Some((_, body)) => body,
        None => text.as_str(),
    };
    Ok(body.trim_end().to_string() + "\n")
}

/// Writes `text` as the snapshot (instructors, from the solutions), atomically.
fn bless(ctx: &JudgeCtx, target: &str, name: &str, text: &str) -> anyhow::Result<()> {
    let body = format!(
        "---\nsource: checks/{target}.rs\nexpression: {name}\n---\n{}\n",
        text.trim_end()
    );
    crate::io::fsutil::write_atomic(&path(ctx, target, name), body.as_bytes())
}

/// Compares `actual` with the reference's snapshot line by line and explains the
/// first lines that differ. With `numeric`, numbers may differ by a relative 1e-3.
pub fn compare(
    ctx: &JudgeCtx,
    target: &str,
    name: &str,
    actual: &str,
    numeric: bool,
) -> anyhow::Result<()> {
    if ctx.bless {
        bless(ctx, target, name, actual)?;
    }
    let expected = read(ctx, target, name)?;
    let actual = actual.trim_end().to_string() + "\n";
    if numeric {
        return crate::grading::summary::compare_numeric_text(&expected, &actual, 1e-3, 1e-5)
            .map_err(|d| anyhow::anyhow!("differs from the reference:\n{d}"));
    }
    if expected == actual {
        return Ok(());
    }
    let exp: Vec<&str> = expected.lines().collect();
    let act: Vec<&str> = actual.lines().collect();
    let mut lines = Vec::new();
    for e in exp.iter().filter(|l| !act.contains(l)).take(6) {
        lines.push(format!("  expected, missing: {e}"));
    }
    for a in act.iter().filter(|l| !exp.contains(l)).take(6) {
        lines.push(format!("  yours, unexpected: {a}"));
    }
    if lines.is_empty() {
        lines.push("  the same lines in a different order".to_string());
    }
    anyhow::bail!(
        "does not match the reference ({name}):\n{}",
        lines.join("\n")
    )
}
