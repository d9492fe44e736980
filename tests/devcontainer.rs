//! `.devcontainer/devcontainer.json` (Codespaces, Dev Containers): it parses as the
//! specification's JSON with comments, runs the README's set-up when the container is
//! created, and asks for a machine the workshop fits on.
use serde_json::Value;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// `text` without its `//` and `/* */` comments and without trailing commas before
/// `}` or `]`, neither touched inside strings: plain JSON for serde_json.
fn strict_json(text: &str) -> String {
    without_trailing_commas(&without_comments(text))
}

/// Calls `other` with each character outside strings and copies strings whole.
fn outside_strings(text: &str, mut other: impl FnMut(char, &mut String, &mut Chars)) -> String {
    let mut out = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '"' {
            out.push(c);
            while let Some(c) = chars.next() {
                out.push(c);
                match c {
                    '\\' => out.extend(chars.next()),
                    '"' => break,
                    _ => {}
                }
            }
        } else {
            other(c, &mut out, &mut chars);
        }
    }
    out
}

type Chars<'a> = std::iter::Peekable<std::str::Chars<'a>>;

fn without_comments(text: &str) -> String {
    outside_strings(text, |c, out, chars| match (c, chars.peek()) {
        ('/', Some('/')) => while chars.next_if(|&c| c != '\n').is_some() {},
        ('/', Some('*')) => {
            chars.next();
            let mut last = ' ';
            for c in chars.by_ref() {
                if last == '*' && c == '/' {
                    break;
                }
                last = c;
            }
            out.push(' ');
        }
        _ => out.push(c),
    })
}

fn without_trailing_commas(text: &str) -> String {
    outside_strings(text, |c, out, chars| {
        let closes = || {
            let mut ahead = chars.clone().skip_while(|c| c.is_whitespace());
            matches!(ahead.next(), Some('}' | ']'))
        };
        if c != ',' || !closes() {
            out.push(c);
        }
    })
}

fn config() -> Value {
    let text = std::fs::read_to_string(format!("{ROOT}/.devcontainer/devcontainer.json")).unwrap();
    serde_json::from_str(&strict_json(&text)).expect("devcontainer.json is JSON with comments")
}

/// The set-up step of the README's first command (`./setup.sh && cargo run ...`).
fn readme_setup() -> String {
    let readme = std::fs::read_to_string(format!("{ROOT}/README.md")).unwrap();
    let line = readme
        .lines()
        .find(|l| l.ends_with("cargo run --bin checker -- 6") && l.contains(" && "))
        .expect("README's first command");
    line.split(" && ").next().unwrap().to_string()
}

#[test]
fn comments_and_trailing_commas_go_strings_stay() {
    let text = r#"{
  // a comment, "with quotes"
  "url": "https://example.org/*not a comment*/", /* a block
  comment */ "list": [1, 2,],
  "s": "a \" quote, }",
}"#;
    let value: Value = serde_json::from_str(&strict_json(text)).unwrap();
    assert_eq!(value["url"], "https://example.org/*not a comment*/");
    assert_eq!(value["list"], serde_json::json!([1, 2]));
    assert_eq!(value["s"], "a \" quote, }");
}

#[test]
fn the_create_command_runs_the_readme_set_up_and_builds_the_checker() {
    let config = config();
    let command = config["onCreateCommand"]
        .as_str()
        .expect("onCreateCommand, a command line");
    let setup = readme_setup();
    assert_eq!(setup, "./setup.sh");
    assert!(
        command.starts_with(&format!("{setup} && ")),
        "set-up first, and nothing after it when it fails: {command}"
    );
    for build in [
        "cargo build --bin checker",
        "cargo build --test ex06_double_conv",
    ] {
        assert!(command.contains(build), "{command}");
    }
}

#[test]
fn the_machine_and_the_tools_are_named() {
    let config = config();
    let host = &config["hostRequirements"];
    assert!(host["cpus"].as_u64().unwrap() >= 4, "{host}");
    for (key, at_least) in [("memory", 8), ("storage", 32)] {
        let gb: u64 = host[key]
            .as_str()
            .and_then(|s| s.strip_suffix("gb"))
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("hostRequirements.{key} in gb: {host}"));
        assert!(gb >= at_least, "{key}: {gb} GB");
    }
    assert!(config["image"]
        .as_str()
        .unwrap()
        .contains("devcontainers/rust"));
    let features = config["features"].as_object().unwrap();
    assert!(
        features.keys().any(|k| k.contains("features/python")),
        "{features:?}"
    );
    let extensions = &config["customizations"]["vscode"]["extensions"];
    assert!(
        extensions
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e == "rust-lang.rust-analyzer"),
        "{extensions}"
    );
}
