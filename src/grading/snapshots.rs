//! The reference's recorded outputs (`checks/snapshots/<target>__<name>.snap`, insta's
//! file format) and how an observation is compared with them.
use super::judge::JudgeCtx;
use super::mistakes::{self, Mistake};
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

/// Path of the snapshot `name` of check target `target` as the variant of the
/// catalogued mistake `id` computes it.
pub fn variant_path(ctx: &JudgeCtx, target: &str, name: &str, id: &str) -> PathBuf {
    path(ctx, target, &format!("{name}@{id}"))
}

/// Records what the variant of mistake `id` observed: a `<name>@<id>` snapshot when it
/// differs from the reference's, none otherwise (a stale one is removed).
fn bless_variant(
    ctx: &JudgeCtx,
    target: &str,
    name: &str,
    id: &str,
    actual: &str,
    numeric: bool,
) -> anyhow::Result<()> {
    let expected = read(ctx, target, name)?;
    let variant = variant_path(ctx, target, name, id);
    if differs(&expected, actual, numeric).is_some() {
        bless(ctx, target, &format!("{name}@{id}"), actual)
    } else {
        match std::fs::remove_file(&variant) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(anyhow::anyhow!("cannot remove {}: {e}", variant.display()))
            }
            _ => Ok(()),
        }
    }
}

/// How `actual` differs from `expected` (None: it does not). With `numeric`, numbers
/// may differ by a relative 1e-3.
fn differs(expected: &str, actual: &str, numeric: bool) -> Option<String> {
    let actual = actual.trim_end().to_string() + "\n";
    if numeric {
        return crate::grading::summary::compare_numeric_text(expected, &actual, 1e-3, 1e-5).err();
    }
    (expected != actual).then(String::new)
}

/// Compares `actual` with the reference's snapshot. On a difference the message says
/// which catalogued mistake gives exactly `actual`, or else where it differs: the
/// first differing section of a sectioned text (evaluation / training mode, or a
/// model's stages), the lines of a table.
pub fn compare(
    ctx: &JudgeCtx,
    target: &str,
    name: &str,
    actual: &str,
    numeric: bool,
) -> anyhow::Result<()> {
    if let Some(id) = &ctx.bless_mistake {
        return bless_variant(ctx, target, name, id, actual, numeric);
    }
    if ctx.bless {
        bless(ctx, target, name, actual)?;
    }
    let expected = read(ctx, target, name)?;
    if differs(&expected, actual, numeric).is_none() {
        return Ok(());
    }
    match known_mistake(ctx, target, name, actual, numeric) {
        Some(why) => anyhow::bail!("does not match the reference ({name}); {why}"),
        None => anyhow::bail!(
            "does not match the reference ({name}): {}",
            locate(&expected, actual, numeric)
        ),
    }
}

/// The catalogued mistakes whose variants observed exactly `actual` in the reference
/// comparison `name`, as a sentence; None when none did.
pub fn known_mistake(
    ctx: &JudgeCtx,
    target: &str,
    name: &str,
    actual: &str,
    numeric: bool,
) -> Option<String> {
    let known: Vec<&Mistake> = mistakes::of_target(target)
        .iter()
        .filter(|m| {
            // A variant snapshot that is missing or unreadable names nothing.
            variant_path(ctx, target, name, m.id).exists()
                && read(ctx, target, &format!("{name}@{}", m.id))
                    .is_ok_and(|v| differs(&v, actual, numeric).is_none())
        })
        .collect();
    match known.as_slice() {
        [] => None,
        [m] => Some(format!(
            "it gives exactly what the reference gives with a {}",
            m.named()
        )),
        several => Some(format!(
            "it gives exactly what the reference gives with any of these known mistakes: {}",
            several
                .iter()
                .map(|m| format!("{} ({})", m.title, m.fix))
                .collect::<Vec<_>>()
                .join("; ")
        )),
    }
}

/// Where the sectioned `actual` (one section per stage of a model, in order) first
/// differs from the snapshot `name`: "the output of up2 differs (inc, …, up1 match)"
/// with the difference; None when every stage matches.
pub fn first_differing_stage(
    ctx: &JudgeCtx,
    target: &str,
    name: &str,
    actual: &str,
) -> anyhow::Result<Option<String>> {
    let expected = read(ctx, target, name)?;
    let actual = actual.trim_end().to_string() + "\n";
    let (exp, act) = (sections(&expected), sections(&actual));
    let mut same: Vec<&str> = Vec::new();
    for (k, (stage, e)) in exp.iter().enumerate() {
        let matched = if same.is_empty() {
            String::new()
        } else {
            format!(" ({} match)", same.join(", "))
        };
        let Some((got_stage, a)) = act.get(k) else {
            return Ok(Some(format!("the stage {stage} gave no output{matched}")));
        };
        if got_stage != stage {
            return Ok(Some(format!(
                "expected the stage {stage}, got {got_stage}{matched}"
            )));
        }
        if let Err(d) = crate::grading::summary::compare_numeric_text(e, a, 1e-3, 1e-5) {
            return Ok(Some(format!(
                "the output of {stage} differs{matched}:\n  {}",
                d.replace('\n', "\n  ")
            )));
        }
        same.push(stage);
    }
    Ok(None)
}

/// A text's sections: a line without spaces ("eval", "train", "up2") starts one.
fn sections(text: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        if !line.trim().is_empty() && !line.contains(' ') {
            out.push((line.trim().to_string(), String::new()));
        } else if let Some((_, body)) = out.last_mut() {
            body.push_str(line);
            body.push('\n');
        } else {
            out.push((String::new(), format!("{line}\n")));
        }
    }
    out
}

fn section_label(name: &str) -> String {
    match name {
        "eval" => "evaluation mode (train = false)".to_string(),
        "train" => "training mode (train = true)".to_string(),
        "" => "the output".to_string(),
        other => format!("the output of {other}"),
    }
}

/// Where `actual` differs from `expected`, in words.
fn locate(expected: &str, actual: &str, numeric: bool) -> String {
    let actual = actual.trim_end().to_string() + "\n";
    if !numeric {
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
        return format!("\n{}", lines.join("\n"));
    }
    let (exp, act) = (sections(expected), sections(&actual));
    let names = |s: &[(String, String)]| s.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
    if names(&exp) != names(&act) {
        return format!(
            "expected the parts {:?}, got {:?}",
            names(&exp),
            names(&act)
        );
    }
    let mut same = Vec::new();
    for ((name, e), (_, a)) in exp.iter().zip(&act) {
        if let Err(d) = crate::grading::summary::compare_numeric_text(e, a, 1e-3, 1e-5) {
            let what = if e.lines().next() != a.lines().next() {
                "the shape differs"
            } else {
                "the values differ (same shape)"
            };
            let before = if same.is_empty() || exp.len() < 2 {
                String::new()
            } else {
                format!(
                    " ({} match{})",
                    same.join(", "),
                    if same.len() == 1 { "es" } else { "" }
                )
            };
            return format!(
                "in {}{before} {what}:\n  {}",
                section_label(name),
                d.replace('\n', "\n  ")
            ) + &later_sections(&exp, &act, name);
        }
        same.push(section_label(name));
    }
    "the texts differ".to_string()
}

/// "; training mode matches too" style note on the sections after the first that
/// differs, when there are two (the modes).
fn later_sections(exp: &[(String, String)], act: &[(String, String)], first: &str) -> String {
    let after: Vec<String> = exp
        .iter()
        .zip(act)
        .skip_while(|((n, _), _)| n != first)
        .skip(1)
        .map(|((n, e), (_, a))| {
            let ok = crate::grading::summary::compare_numeric_text(e, a, 1e-3, 1e-5).is_ok();
            format!(
                "{} {}",
                section_label(n),
                if ok { "matches" } else { "differs too" }
            )
        })
        .collect();
    if after.is_empty() {
        String::new()
    } else {
        format!("\n  ({})", after.join("; "))
    }
}
