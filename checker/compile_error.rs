//! What a student is shown of a compile error: rustc's message, where it is, and the
//! source lines of the student's own files only.
//!
//! A compile error can quote any file the compiler read. When code reaches a file it
//! should not (an instructor's solution through `include!`), the quoted lines would
//! carry that file into the report; and an absolute path is a path on the machine
//! that built it. So source lines are kept only under a location in `exercises/` (or
//! `solutions/` when the reference is graded), and other locations are named only
//! when they are inside the tree.

/// The folders whose files are the graded code's own.
fn own_file(path: &str, solutions: bool) -> bool {
    path.starts_with("exercises/") || (solutions && path.starts_with("solutions/"))
}

/// A path rustc reported, as shown: relative to the tree (`checks/../exercises/x.rs`
/// becomes `exercises/x.rs`), or a placeholder for anything outside it.
fn shown_path(path: &str) -> &str {
    let path = se05::io::fsutil::display_source_path(path);
    if path.starts_with('/') || path.split('/').any(|c| c == "..") || path.contains(':') {
        "<a file outside the exercise>"
    } else {
        path
    }
}

/// The first error of a `compiler-message`, shortened for a terminal: code, message,
/// location and up to 12 lines of rustc's rendering without foreign source lines.
pub fn describe(message: &serde_json::Value, solutions: bool) -> String {
    let text = message["message"].as_str().unwrap_or("error");
    let code = message["code"]["code"]
        .as_str()
        .map(|c| format!("[{c}] "))
        .unwrap_or_default();
    let span = message["spans"].as_array().and_then(|spans| {
        spans
            .iter()
            .find(|s| s["is_primary"].as_bool() == Some(true))
            .or_else(|| spans.first())
    });
    let location = span
        .map(|s| {
            let file = shown_path(s["file_name"].as_str().unwrap_or("?"));
            format!("{file}:{}:{}", s["line_start"], s["column_start"])
        })
        .unwrap_or_default();
    let rendered = message["rendered"].as_str().unwrap_or("");
    let excerpt = own_lines(rendered, solutions);
    // Its first line repeats the message, its first location header the location.
    let mut excerpt: Vec<&str> = excerpt.iter().map(String::as_str).skip(1).collect();
    if excerpt
        .first()
        .is_some_and(|l| l.trim_start().starts_with("--> "))
    {
        excerpt.remove(0);
    }
    excerpt.truncate(12);
    format!(
        "error{code}: {text}\n  --> {location}\n{}",
        excerpt.join("\n")
    )
}

/// rustc's rendering with each location header's path shown as [`shown_path`] does,
/// and the source lines (`12 | code`, `   |   ^^^`) under a location that is not the
/// graded code's own left out.
fn own_lines(rendered: &str, solutions: bool) -> Vec<String> {
    let mut out = Vec::new();
    let mut own = true;
    for line in rendered.lines() {
        let trimmed = line.trim_start();
        let header = ["--> ", "::: "]
            .iter()
            .find_map(|arrow| trimmed.strip_prefix(arrow).map(|rest| (*arrow, rest)));
        if let Some((arrow, rest)) = header {
            // `path:line:column`; the path itself may hold no colon we keep.
            let path = rest.rsplitn(3, ':').last().unwrap_or(rest);
            own = own_file(se05::io::fsutil::display_source_path(path), solutions);
            let indent = &line[..line.len() - trimmed.len()];
            let position = &rest[path.len()..];
            out.push(format!("{indent}{arrow}{}{position}", shown_path(path)));
            continue;
        }
        let source_line = trimmed
            .split_once('|')
            .is_some_and(|(before, _)| before.trim().chars().all(|c| c.is_ascii_digit()));
        if source_line && !own {
            continue;
        }
        out.push(line.to_string());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn message(file: &str, rendered: &str) -> serde_json::Value {
        json!({
            "message": "expected outer doc comment",
            "code": null,
            "spans": [{"file_name": file, "line_start": 1, "column_start": 1, "is_primary": true}],
            "rendered": rendered,
        })
    }

    #[test]
    fn lines_of_a_file_outside_the_exercise_are_not_shown() {
        let secret = "/home/teacher/se05/solutions/ex06_double_conv.rs";
        let rendered = format!(
            "error: expected outer doc comment\n --> {secret}:1:1\n  |\n1 | //! The reference DoubleConv: conv, batch norm, ReLU twice\n  | ^^^^^^^^^^^^^\n  |\n  = note: inner doc comments like this must be at the start\n"
        );
        let shown = describe(&message(secret, &rendered), false);
        assert!(!shown.contains("reference DoubleConv"), "{shown}");
        assert!(!shown.contains("/home/teacher"), "{shown}");
        assert!(
            shown.contains("<a file outside the exercise>:1:1"),
            "{shown}"
        );
        assert!(shown.contains("inner doc comments"), "{shown}");
    }

    #[test]
    fn the_student_s_own_lines_are_shown() {
        let file = "checks/../exercises/ex06_double_conv.rs";
        let rendered = format!(
            "error[E0425]: cannot find value `y` in this scope\n --> {file}:12:5\n   |\n12 |     y\n   |     ^ not found in this scope\n   |\n  ::: src/layers.rs:40:1\n   |\n40 | pub fn conv2d(...) {{\n   | ------------------ similarly named function defined here\n"
        );
        let shown = describe(&message(file, &rendered), false);
        assert!(
            shown.contains("exercises/ex06_double_conv.rs:1:1"),
            "{shown}"
        );
        assert!(shown.contains("12 |     y"), "{shown}");
        assert!(shown.contains("::: src/layers.rs:40:1"), "{shown}");
        assert!(!shown.contains("pub fn conv2d"), "{shown}");
    }
}
