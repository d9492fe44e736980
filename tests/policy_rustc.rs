//! The policy check against rustc on the same files (issue: grading integrity; a
//! review found U+200E LEFT-TO-RIGHT MARK read as a space by rustc and as punctuation
//! by the policy, so `#[path\u{200E}= "..."]` got past it).
//!
//! Each program below uses one forbidden construct and compiles on its own (the
//! crates it names are local modules, the file it reads is written beside it), so
//! rustc accepting a variant means the attack would work. Every candidate character
//! (Pattern_White_Space, the other White_Space, invisible and text-direction
//! characters, a few look-alikes) is put into every gap between tokens; for each
//! variant the policy must refuse the file or rustc must reject it. rustc only runs
//! on variants the policy lets through, and separately on controls that show the
//! test means something: the programs compile as written, and rustc still reads the
//! Pattern_White_Space characters as spaces (were that to change, this test says so).
use se05::grading::policy::check_source;
use std::cell::Cell;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

/// What `other.rs` holds: an item, so that `#[path]`, `mod other;` and `include!`
/// of it compile.
const OTHER: &str = "pub fn hidden() {}\n";

/// (construct the policy reports, tokens): joined with spaces, a program rustc
/// compiles; its construct is what the policy exists to refuse.
const PROGRAMS: &[(&str, &[&str])] = &[
    (
        "#[path]",
        &["#", "[", "path", "=", "\"other.rs\"", "]", "mod", "s", ";"],
    ),
    ("mod NAME;", &["pub", "mod", "other", ";"]),
    ("include!", &["include", "!", "(", "\"other.rs\"", ")", ";"]),
    (
        "include_str!",
        &[
            "const",
            "S",
            ":",
            "&",
            "str",
            "=",
            "include_str",
            "!",
            "(",
            "\"other.rs\"",
            ")",
            ";",
        ],
    ),
    (
        "std::fs",
        &[
            "pub", "fn", "f", "(", ")", "{", "let", "_", "=", "std", "::", "fs", "::", "read", "(",
            "\"x\"", ")", ";", "}",
        ],
    ),
    (
        "std::process",
        &[
            "pub", "fn", "f", "(", ")", "{", "std", "::", "process", "::", "exit", "(", "0", ")",
            "}",
        ],
    ),
    (
        "std::os",
        &[
            "use",
            "std",
            "::",
            "os",
            "::",
            "unix",
            "::",
            "fs",
            "::",
            "PermissionsExt",
            ";",
        ],
    ),
    (
        "std::net",
        &[
            "pub",
            "fn",
            "f",
            "(",
            ")",
            "{",
            "let",
            "_",
            "=",
            "std",
            "::",
            "net",
            "::",
            "TcpStream",
            "::",
            "connect",
            "(",
            "\"x:1\"",
            ")",
            ";",
            "}",
        ],
    ),
    (
        "tempfile",
        &[
            "mod", "tempfile", "{", "pub", "fn", "tempdir", "(", ")", "{", "}", "}", "pub", "fn",
            "f", "(", ")", "{", "tempfile", "::", "tempdir", "(", ")", "}",
        ],
    ),
    (
        "se05::grading",
        &[
            "mod", "se05", "{", "pub", "mod", "grading", "{", "pub", "fn", "f", "(", ")", "{", "}",
            "}", "}", "pub", "fn", "g", "(", ")", "{", "se05", "::", "grading", "::", "f", "(",
            ")", "}",
        ],
    ),
    (
        "unsafe",
        &["pub", "fn", "f", "(", ")", "{", "unsafe", "{", "}", "}"],
    ),
];

/// Unicode's Pattern_White_Space: rustc's whitespace.
const PATTERN_WHITE_SPACE: &[char] = &[
    '\t', '\n', '\u{B}', '\u{C}', '\r', ' ', '\u{85}', '\u{200E}', '\u{200F}', '\u{2028}',
    '\u{2029}',
];

/// Every candidate character: Pattern_White_Space, the rest of White_Space
/// (`char::is_whitespace`), invisible and text-direction characters, controls, and a
/// few others (letters rustc takes into identifiers, look-alikes, an emoji).
fn candidates() -> Vec<char> {
    let mut all: Vec<char> = PATTERN_WHITE_SPACE.to_vec();
    all.extend(
        (0..=0x10FFFFu32)
            .filter_map(char::from_u32)
            .filter(|c| c.is_whitespace()),
    );
    all.extend([
        '\u{AD}',
        '\u{61C}',
        '\u{180E}',
        '\u{200B}',
        '\u{200C}',
        '\u{200D}',
        '\u{202A}',
        '\u{202B}',
        '\u{202C}',
        '\u{202D}',
        '\u{202E}',
        '\u{2060}',
        '\u{2061}',
        '\u{2062}',
        '\u{2063}',
        '\u{2064}',
        '\u{2066}',
        '\u{2067}',
        '\u{2068}',
        '\u{2069}',
        '\u{FEFF}',
        '\u{E0041}',
    ]);
    all.extend([
        '\u{0}', '\u{1B}', '\u{1C}', '\u{1D}', '\u{1E}', '\u{1F}', '\u{7F}',
    ]);
    all.extend([
        '\u{E9}',
        '\u{301}',
        '\u{3164}',
        '\u{37E}',
        '\u{FF1B}',
        '\u{2215}',
        '\u{1F600}',
    ]);
    all.sort();
    all.dedup();
    all
}

/// Whether rustc compiles `source` as a library (next to `other.rs` in `dir`).
fn rustc_accepts(dir: &Path, source: &str) -> bool {
    let file = dir.join("lib.rs");
    std::fs::write(&file, source).unwrap();
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let out = Command::new(&rustc)
        .args([
            "--edition",
            "2021",
            "--crate-type",
            "lib",
            "--emit=metadata",
            "-o",
        ])
        .arg(dir.join("x.rmeta"))
        .arg(&file)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {rustc:?}: {e}"));
    out.status.success()
}

fn u(c: char) -> String {
    format!("U+{:04X}", c as u32)
}

#[test]
fn policy_refuses_whatever_rustc_would_compile() {
    let start = Instant::now();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("other.rs"), OTHER).unwrap();
    let rustc_runs = Cell::new(0usize);
    let accepts = |source: &str| {
        rustc_runs.set(rustc_runs.get() + 1);
        rustc_accepts(dir.path(), source)
    };

    // The controls. Each program compiles as written: refusing it is the policy's job.
    for (construct, tokens) in PROGRAMS {
        let program = tokens.join(" ");
        assert!(
            accepts(&program),
            "rustc refuses the {construct} program: {program}"
        );
        let found = check_source("ex.rs", &program);
        assert!(
            found.iter().any(|v| v.construct == *construct),
            "policy misses {construct} in {program:?}: {found:?}"
        );
    }
    // rustc reads every Pattern_White_Space character as a space, even where no
    // space is needed (a change would make the list above, and the lexer's, wrong).
    for &c in PATTERN_WHITE_SPACE {
        for program in [
            format!("pub fn f() -> u8 {{{c}1 }}"),
            format!("pub mod m{c}{{}}"),
        ] {
            assert!(
                accepts(&program),
                "rustc no longer skips {}: {program:?}",
                u(c)
            );
        }
    }
    // The review's attacks compile, and the policy refuses them.
    for attack in [
        "#[path\u{200E}= \"other.rs\"] mod s\u{200E};",
        "include\u{200E}!(\"other.rs\");",
        "pub fn f() { let _ = std::\u{200E}fs\u{200E}::read(\"x\"); }",
        "const S: &str = include_str\u{200E}!(\"other.rs\");",
        // A shebang line rustc skips, whose quote once hid the next line.
        "#!x \"\n#[path = r\"other.rs\"] mod s; //\"\npub use s::*;\n",
    ] {
        assert!(accepts(attack), "rustc refuses {attack:?}");
        assert!(
            !check_source("ex.rs", attack).is_empty(),
            "policy lets {attack:?} through"
        );
    }
    let controls = rustc_runs.get();

    // Every candidate in every gap, alone or between spaces.
    let candidates = candidates();
    let mut variants = 0usize;
    let mut let_through = Vec::new();
    for (construct, tokens) in PROGRAMS {
        for gap in 0..=tokens.len() {
            let (before, after) = tokens.split_at(gap);
            let (before, after) = (before.join(" "), after.join(" "));
            for &c in &candidates {
                for filler in [c.to_string(), format!(" {c} ")] {
                    let text = format!("{before}{filler}{after}");
                    variants += 1;
                    let found = check_source("ex.rs", &text);
                    if PATTERN_WHITE_SPACE.contains(&c) {
                        // Whitespace to rustc, so to the lexer: the construct is seen.
                        assert!(
                            found.iter().any(|v| v.construct == *construct),
                            "{}: policy misses {construct} in {text:?}: {found:?}",
                            u(c)
                        );
                    }
                    if found.is_empty() {
                        let_through.push(text.clone());
                        assert!(
                            !accepts(&text),
                            "{}: rustc compiles what the policy lets through: {text:?}",
                            u(c)
                        );
                    }
                }
            }
        }
    }
    eprintln!(
        "policy_rustc: {variants} variants of {} programs with {} candidate characters; \
         {} let through by the policy (all refused by rustc); {} rustc runs \
         ({controls} controls); {:.1} s",
        PROGRAMS.len(),
        candidates.len(),
        let_through.len(),
        rustc_runs.get(),
        start.elapsed().as_secs_f64()
    );
}
