//! Unit tests of the policy: each rule catches its construct and lets ordinary code
//! through (the comparison with rustc itself is tests/policy_rustc.rs).
use super::*;
fn constructs(text: &str) -> Vec<(usize, &'static str)> {
    check_source("ex.rs", text)
        .into_iter()
        .map(|v| (v.line, v.construct))
        .collect()
}

/// Each forbidden construct, in a small program, with the line it is on.
#[test]
fn every_construct_is_caught_on_its_line() {
    let cases: &[(&str, usize, &str)] = &[
        ("#[path = \"../solutions/ex06.rs\"]\nmod s;", 1, "#[path]"),
        (
            "fn f() {}\nconst A: &str = include_str!(\"x\");",
            2,
            "include_str!",
        ),
        (
            "\n\nconst B: &[u8] = include_bytes!(\"x\");",
            3,
            "include_bytes!",
        ),
        ("include!(\"../solutions/ex06.rs\");", 1, "include!"),
        ("fn f() {\n    std::process::exit(0);\n}", 2, "std::process"),
        ("use std::{process, fmt};", 1, "std::process"),
        (
            "use std::process;\nfn f() { process::exit(0) }",
            2,
            "std::process",
        ),
        ("fn f() {\n    let x = unsafe { 1 };\n}", 2, "unsafe"),
        ("unsafe fn f() {}", 1, "unsafe"),
        ("extern \"C\" {\n    fn abort();\n}", 1, "extern"),
        ("\nextern crate std as s;", 2, "extern"),
        (
            "fn f() { std::fs::write(\"a\", \"b\").unwrap(); }",
            1,
            "std::fs",
        ),
        ("use std::fs::read_to_string;", 1, "std::fs"),
        (
            "use std::fs;\nfn f() { fs::remove_file(\"a\"); }",
            2,
            "std::fs",
        ),
        (
            "use std::io::Write;\nfn f() { let _ = File::create(\"x\"); }",
            2,
            "File",
        ),
        ("fn f() { let _ = OpenOptions::new(); }", 1, "OpenOptions"),
        (
            "fn f() { std::net::TcpStream::connect(\"x:1\"); }",
            1,
            "std::net",
        ),
        ("use std::os::unix::fs::PermissionsExt;", 1, "std::os"),
        (
            "fn f() { std::env::set_var(\"A\", \"1\"); }",
            1,
            "env::set_var",
        ),
        (
            "use std::env;\nfn f() {\n    env::remove_var(\"A\");\n}",
            3,
            "env::remove_var",
        ),
        ("fn f() { let _ = Command::new(\"sh\"); }", 1, "Command"),
        ("macro_rules! m { () => {} }", 1, "macro_rules!"),
        ("pub mod helper;", 1, "mod NAME;"),
        ("#[no_mangle]\npub fn exit() {}", 1, "#[no_mangle]"),
        ("#[export_name = \"main\"]\nfn f() {}", 1, "#[export_name]"),
        ("fn f() { std::arch::global_asm!(\"\"); }", 1, "asm!"),
        ("fn f() { let d = tempfile::tempdir(); }", 1, "tempfile"),
        ("use ureq::get;", 1, "ureq"),
        (
            "fn f() { se05::io::fsutil::write_atomic(p, b); }",
            1,
            "se05::io::fsutil",
        ),
        (
            "use se05::{data::Dataset, progress::Progress};",
            1,
            "se05::grading::progress",
        ),
        ("use se05::grading::observe;", 1, "se05::grading"),
        ("use se05::{io, data};", 1, "se05::io"),
    ];
    for &(text, line, construct) in cases {
        let found = constructs(text);
        assert!(
            found.contains(&(line, construct)),
            "{construct} on line {line} not reported for {text:?}: {found:?}"
        );
    }
}

#[test]
fn message_names_file_line_construct_and_what_to_do() {
    let v = check_source(
        "exercises/ex06_double_conv.rs",
        "use tch::Tensor;\n\n#[path = \"../solutions/ex06_double_conv.rs\"]\nmod s;\n",
    );
    assert_eq!(v.len(), 2, "{v:?}");
    assert_eq!((v[0].line, v[0].column, v[0].construct), (3, 3, "#[path]"));
    let m = &v[0].message;
    assert!(
        m.starts_with(
            "exercises/ex06_double_conv.rs:3: `#[path]` is not allowed in an exercise file"
        ),
        "{m}"
    );
    assert!(m.ends_with("remove it"), "{m}");
    assert!(m.contains("se05"), "{m}");
    assert_eq!(v[0].to_string(), *m);
    assert_eq!(v[1].construct, "mod NAME;");
}

/// The same words in comments, doc comments, strings and character literals.
#[test]
fn comments_strings_and_literals_are_not_flagged() {
    let text = r####"
// #[path = "x"] std::process::exit(0); unsafe { }
/// Do not use `include_str!` or `std::fs::write` here.
//! Inner doc: extern crate foo; Command::new
/* block: unsafe /* nested: std::process */ still comment: extern */
/** doc block: OpenOptions::new() */
fn f() -> (&'static str, &'static str, String, char, char, u8, &'static [u8]) {
    let a = "std::process::exit(0); #[path = \"x\"] unsafe";
    let b = r#"include!("x"); use std::fs; "quoted" extern"#;
    let c = format!("{}", r##"tempfile::tempdir() "# still inside"##);
    let d = '"';
    let e = '\'';
    let g = b'\'';
    let h = br#"std::net"#;
    'outer: loop { break 'outer; }
    (a, b, c, d, e, g, h)
}
#[doc = "#[path = \"x\"] set_var"]
fn process_count(path: &str, file: u32, os: u8, net: i32, fs: bool) {}
"####;
    assert_eq!(check_source("ex.rs", text), vec![]);
}

/// Ways a student might try to slip past a naive text search.
#[test]
fn bypass_attempts_are_caught() {
    let attempts: &[(&str, &str)] = &[
        ("#[ path = \"../solutions/ex06.rs\" ]\nmod s;", "#[path]"),
        ("#[path=\"../solutions/ex06.rs\"]\nmod s;", "#[path]"),
        (
            "#[cfg_attr(all(), path = \"../solutions/ex06.rs\")]\nmod s;",
            "#[path]",
        ),
        (
            "#[cfg_attr(all(), cfg_attr(all(), path = \"x.rs\"))]\nmod s;",
            "#[path]",
        ),
        ("#[\n    path\n    =\n    \"x.rs\"\n]\nmod s {}", "#[path]"),
        ("#[r#path = \"x.rs\"]\nmod s;", "#[path]"),
        ("#![path = \"x\"]", "#[path]"),
        ("#[path /* hidden */ = \"x.rs\"]\nmod s;", "#[path]"),
        (
            "use std::process as p;\nfn f() { p::exit(0) }",
            "std::process",
        ),
        ("fn f() { std :: process :: exit(0) }", "std::process"),
        ("fn f() { ::std::process::exit(0) }", "std::process"),
        ("fn f() { std::r#process::exit(0) }", "std::process"),
        ("fn f() { std::/* */process::exit(0) }", "std::process"),
        ("use std::*;\nfn f() { process::exit(0) }", "std::process"),
        (
            "use std::{self as s};\nfn f() { s::process::abort() }",
            "std::process",
        ),
        ("use std::{io, process::{exit as leave}};", "std::process"),
        ("use std::process::Command as C;", "Command"),
        (
            "fn f() { std::include_str!(\"../solutions/ex06.rs\"); }",
            "include_str!",
        ),
        ("use std::include_str as grab;", "include_str!"),
        (
            "#[doc = include_str!(\"../solutions/ex06.rs\")]\nfn f() {}",
            "include_str!",
        ),
        ("use std::include as paste;", "include!"),
        (
            "#[cfg_attr(all(), no_mangle)]\npub fn f() {}",
            "#[no_mangle]",
        ),
        ("use std::{env::set_var as sv};", "env::set_var"),
        (
            "fn f() { std::env::set_var(\"SE05_CHECK_REPORT\", \"/dev/null\") }",
            "env::set_var",
        ),
        ("use ::tempfile as t;", "tempfile"),
        ("fn f() { let d = ::tempfile::tempdir(); }", "tempfile"),
        (
            "use se05 as s;\nfn f() { s::fsutil::write_atomic(a, b); }",
            "se05::io::fsutil",
        ),
        ("use se05::io::fsutil as f;", "se05::io"),
        ("fn f() { let x = \"\\\"\"; unsafe {} }", "unsafe"),
        (
            "fn f() { let x = r#\"\"#; std::fs::write(\"a\", x); }",
            "std::fs",
        ),
        ("fn f() { let x = '\\\\'; unsafe {} }", "unsafe"),
        ("/* /* */ */ unsafe fn f() {}", "unsafe"),
        ("fn f<'a>(x: &'a str) -> &'a str { unsafe { x } }", "unsafe"),
    ];
    for &(text, construct) in attempts {
        let found = constructs(text);
        assert!(
            found.iter().any(|(_, c)| *c == construct),
            "bypass not caught, expected {construct} in {text:?}: {found:?}"
        );
    }
}

#[test]
fn ordinary_code_passes() {
    let text = r#"
#![allow(unused_imports)]
use anyhow::Result;
use crate::ex06_double_conv::DoubleConv;
use se05::data::{sample_rng, Compose, Dataset, ImageFile};
use std::path::{Path, PathBuf};
use tch::nn::{self, Module, ModuleT};
mod helpers {
    pub fn twice(x: i64) -> i64 { 2 * x }
}
#[derive(Debug)]
pub struct Up { pub conv: DoubleConv }
fn load(path: &Path, file: ImageFile) -> Result<PathBuf> {
    let process = 1; let os = 2; let include = 3;
    let v = vec![1, 2, 3];
    Ok(path.join(format!("{}", process + os + include + helpers::twice(v[0]))))
}
"#;
    assert_eq!(check_source("ex.rs", text), vec![]);
}

/// Every stub and every reference solution passes the policy.
#[test]
fn exercises_and_solutions_pass() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut seen = 0;
    // The student release has exercises/ only.
    let with_solutions = root.join("solutions").is_dir();
    // The pristine stubs (what `checker reset` restores) must pass as well.
    for folder in ["exercises", "solutions", "checker/stubs"] {
        if folder == "solutions" && !with_solutions {
            continue;
        }
        if folder == "checker/stubs" && !root.join(folder).is_dir() {
            continue;
        }
        let mut entries: Vec<_> = std::fs::read_dir(root.join(folder))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "rs"))
            .collect();
        entries.sort();
        for path in entries {
            let label = format!("{folder}/{}", path.file_name().unwrap().to_string_lossy());
            let text = std::fs::read_to_string(&path).unwrap();
            let v = check_source(&label, &text);
            assert!(v.is_empty(), "{label}: {v:#?}");
            seen += 1;
        }
    }
    let expected = if with_solutions { 22 } else { 11 };
    assert!(
        seen >= expected,
        "only {seen} exercise and solution files found"
    );
}

/// FORBIDDEN_CRATES names every dependency of Cargo.toml except tch and anyhow.
#[test]
fn forbidden_crates_follow_cargo_toml() {
    let manifest =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml")).unwrap();
    let mut section = String::new();
    let mut deps = Vec::new();
    for line in manifest.lines().map(str::trim) {
        if line.starts_with('[') {
            section = line.to_string();
        } else if section == "[dependencies]" || section == "[dev-dependencies]" {
            if let Some((name, _)) = line.split_once('=') {
                if !line.starts_with('#') {
                    deps.push(name.trim().replace('-', "_"));
                }
            }
        }
    }
    assert!(deps.len() > 10, "Cargo.toml read wrongly: {deps:?}");
    for dep in &deps {
        let allowed = dep == "tch" || dep == "anyhow";
        assert_eq!(
            FORBIDDEN_CRATES.contains(&dep.as_str()),
            !allowed,
            "dependency `{dep}`: add it to (or drop it from) policy::FORBIDDEN_CRATES"
        );
    }
    for krate in FORBIDDEN_CRATES {
        assert!(
            deps.iter().any(|d| d == krate),
            "`{krate}` is no dependency any more"
        );
    }
}

/// Unicode's Pattern_White_Space, which rustc skips between tokens, written out here
/// independently of the lexer's own list.
const PATTERN_WHITE_SPACE: &[char] = &[
    '\t', '\n', '\u{B}', '\u{C}', '\r', ' ', '\u{85}', '\u{200E}', '\u{200F}', '\u{2028}',
    '\u{2029}',
];

fn has(found: &[(usize, &'static str)], construct: &str) -> bool {
    found.iter().any(|(_, c)| *c == construct)
}

/// The review's attack: U+200E where rustc reads a space. The character is refused,
/// and the lexer, which now skips it as rustc does, sees the construct behind it.
#[test]
fn left_to_right_mark_attacks_are_caught() {
    let attacks: &[(&str, &str)] = &[
        (
            "#[path\u{200E}= \"../solutions/x.rs\"] mod s\u{200E};",
            "#[path]",
        ),
        ("pub mod s\u{200E};", "mod NAME;"),
        ("include\u{200E}!(\"../solutions/x.rs\");", "include!"),
        (
            "fn f() { let _ = std::\u{200E}fs\u{200E}::read(\"x\"); }",
            "std::fs",
        ),
        (
            "fn f() { std::\u{200E}process\u{200E}::exit(0) }",
            "std::process",
        ),
        (
            "use std::\u{200E}os\u{200E}::unix::fs::PermissionsExt;",
            "std::os",
        ),
        (
            "fn f() { std::\u{200E}net\u{200E}::TcpStream::connect(\"x:1\"); }",
            "std::net",
        ),
        (
            "fn f() { let _ = tempfile\u{200E}::tempdir(); }",
            "tempfile",
        ),
        (
            "use se05::\u{200E}grading\u{200E}::observe;",
            "se05::grading",
        ),
        ("fn f() { unsafe\u{200E}{} }", "unsafe"),
    ];
    for &(text, construct) in attacks {
        let found = constructs(text);
        assert!(
            has(&found, "invisible character") && has(&found, construct),
            "{text:?}: {found:?}"
        );
    }
}

/// Every Pattern_White_Space character separates tokens, as in rustc.
#[test]
fn pattern_white_space_separates_tokens_like_rustc() {
    for &c in PATTERN_WHITE_SPACE {
        for (text, construct) in [
            (format!("#[path{c}= \"x.rs\"]\nmod s;"), "#[path]"),
            (format!("mod{c}s{c};"), "mod NAME;"),
            (
                format!("fn f() {{ std{c}::{c}process{c}::exit(0) }}"),
                "std::process",
            ),
            (format!("include{c}!(\"x\");"), "include!"),
        ] {
            let found = constructs(&text);
            assert!(
                has(&found, construct),
                "U+{:04X}: {text:?}: {found:?}",
                c as u32
            );
        }
    }
}

/// Spaces that are White_Space but not Pattern_White_Space are no separator to rustc
/// (it refuses them); in code they are refused here too.
#[test]
fn other_spaces_in_code_are_refused() {
    for c in [
        '\u{A0}', '\u{1680}', '\u{2000}', '\u{2009}', '\u{202F}', '\u{205F}', '\u{3000}',
    ] {
        let found = constructs(&format!("fn f() {{{c}}}"));
        assert_eq!(
            found,
            vec![(1, "non-ASCII character")],
            "U+{:04X}",
            c as u32
        );
    }
}

#[test]
fn non_ascii_code_is_refused_with_position_and_name() {
    let v = check_source(
        "exercises/ex06_double_conv.rs",
        "use tch::Tensor;\n\nfn f() -> i64 { 3 \u{2212} 1 }\n",
    );
    assert_eq!(v.len(), 1, "{v:?}");
    assert_eq!(
        (v[0].line, v[0].column, v[0].construct),
        (3, 19, "non-ASCII character")
    );
    let m = &v[0].message;
    assert!(
        m.starts_with(
            "exercises/ex06_double_conv.rs:3: non-ASCII character U+2212 (MINUS SIGN) at column 19"
        ),
        "{m}"
    );
    assert!(
        m.contains("exercise code must be ASCII outside comments and strings"),
        "{m}"
    );
    assert!(m.ends_with("keep such text in a comment or string"), "{m}");

    // Identifiers, lifetimes, number suffixes; a character without a name in the table.
    for text in [
        "fn caf\u{E9}() {}",
        "fn f() { '\u{E9}t\u{E9}: loop { break; } }",
        "const X: u8 = 1\u{E9};",
        "fn \u{4E2D}() {}",
        "fn f() { let x = 1;\u{37E} }",
        "fn f() { let s = \u{201C}x\u{201D}; }",
    ] {
        assert!(
            has(&constructs(text), "non-ASCII character"),
            "{text:?}: {:?}",
            constructs(text)
        );
    }
    let v = check_source("ex.rs", "fn \u{4E2D}() {}");
    assert!(
        v[0].message.contains("U+4E2D at column 4"),
        "{}",
        v[0].message
    );
}

/// Ordinary non-ASCII text in comments, doc comments, strings and characters passes.
#[test]
fn ordinary_non_ascii_in_comments_and_strings_passes() {
    let text = "//! # Exercise 6 \u{2014} the DoubleConv block\n\
        /// A 3\u{D7}3 convolution, 5 \u{B5}m, na\u{EF}ve caf\u{E9} \u{4E2D}\u{6587} \u{1F600}\n\
        /* \u{2192} block comment \u{2026} */\n\
        pub fn f() -> (&'static str, char, &'static str) {\n\
            // \u{201C}quoted\u{201D}\n\
            (\"\u{B5} \u{2014} \u{D7}\", '\u{D7}', r#\"\u{E9}\"#)\n\
        }\n";
    assert_eq!(check_source("ex.rs", text), vec![]);
}

/// Bidirectional and invisible characters are refused everywhere: the Trojan Source
/// trick hides code inside what reads as a comment or a string.
#[test]
fn invisible_and_bidi_characters_are_refused_everywhere() {
    let v = check_source(
        "ex.rs",
        "fn f(admin: bool) {\n    /* \u{202E} } \u{2066}if admin\u{2069} \u{2066} begin admins only */\n}\n",
    );
    assert_eq!(v[0].construct, "invisible character", "{v:?}");
    assert_eq!((v[0].line, v[0].column), (2, 8));
    let m = &v[0].message;
    assert!(
        m.starts_with(
            "ex.rs:2: invisible character U+202E (RIGHT-TO-LEFT OVERRIDE) at column 8, in a comment"
        ),
        "{m}"
    );
    assert!(m.contains("not even in comments or strings"), "{m}");
    assert!(m.contains("`\\u{202E}`"), "{m}");
    assert_eq!(v.len(), 1, "one per line: {v:?}");

    for text in [
        "// a bidi mark \u{200F} in a line comment",
        "/// in a doc comment \u{2067}",
        "const S: &str = \"in a string \u{202A}\";",
        "const S: &str = r#\"in a raw string \u{200B}\"#;",
        "const C: char = '\u{200D}';",
        "// a soft\u{AD}hyphen",
        "fn f() {} // an escape sequence \u{1B}[2K",
        "const S: &str = \"a byte-order mark \u{FEFF} inside\";",
        "// a line\u{2028}separator",
        "fn f() {}\r// a carriage return that ends no line",
    ] {
        let found = constructs(text);
        assert_eq!(found, vec![(1, "invisible character")], "{text:?}");
    }

    // Windows line ends are fine.
    assert_eq!(check_source("ex.rs", "// a\r\npub fn f() {}\r\n"), vec![]);

    // Every character of the refused set, in a comment.
    let ranges: &[(u32, u32)] = &[
        (0x0, 0x8),
        (0xB, 0xD),
        (0xE, 0x1F),
        (0x7F, 0x9F),
        (0xAD, 0xAD),
        (0x600, 0x605),
        (0x61C, 0x61C),
        (0x6DD, 0x6DD),
        (0x70F, 0x70F),
        (0x890, 0x891),
        (0x8E2, 0x8E2),
        (0x180E, 0x180E),
        (0x200B, 0x200F),
        (0x2028, 0x202E),
        (0x2060, 0x2064),
        (0x2066, 0x206F),
        (0xFEFF, 0xFEFF),
        (0xFFF9, 0xFFFB),
        (0x110BD, 0x110BD),
        (0x110CD, 0x110CD),
        (0x13430, 0x1343F),
        (0x1BCA0, 0x1BCA3),
        (0x1D173, 0x1D17A),
        (0xE0001, 0xE0001),
        (0xE0020, 0xE007F),
    ];
    for &(first, last) in ranges {
        for c in (first..=last).filter_map(char::from_u32) {
            let found = constructs(&format!("fn f() {{}} // x{c}x"));
            assert_eq!(
                found,
                vec![(1, "invisible character")],
                "U+{:04X}",
                c as u32
            );
        }
    }
}

/// A byte-order mark is fine at the very start (rustc drops it), nowhere else.
#[test]
fn byte_order_mark_only_at_the_start() {
    assert_eq!(check_source("ex.rs", "\u{FEFF}pub fn f() {}\n"), vec![]);
    let v = check_source("ex.rs", "\u{FEFF}#[path = \"x.rs\"]\nmod s;");
    assert_eq!((v[0].line, v[0].column, v[0].construct), (1, 3, "#[path]"));
    assert_eq!(
        constructs("pub fn f() {}\n\u{FEFF}pub fn g() {}"),
        vec![(2, "invisible character")]
    );
    assert_eq!(
        constructs("\u{FEFF}\u{FEFF}pub fn f() {}"),
        vec![(1, "invisible character")]
    );
}

/// rustc skips a first line starting with `#!` unread unless an attribute follows
/// (`#![...]`). A quote on that line once made this check read the next lines as a
/// string while rustc compiled them.
#[test]
fn shebang_line_is_refused_and_skipped_like_rustc() {
    let text = "#!x \"\n#[path = r\"../solutions/x.rs\"] mod s; //\"\npub use s::*;\n";
    let v = check_source("ex.rs", text);
    let found: Vec<_> = v.iter().map(|v| (v.line, v.construct)).collect();
    assert!(found.contains(&(1, "#!")), "{found:?}");
    assert!(found.contains(&(2, "#[path]")), "{found:?}");
    assert!(found.contains(&(2, "mod NAME;")), "{found:?}");
    assert!(
        v[0].message
            .starts_with("ex.rs:1: a first line starting with `#!`"),
        "{}",
        v[0].message
    );
    assert!(v[0].message.ends_with("remove it"), "{}", v[0].message);

    // Inner attributes are no shebang, however they are spread out.
    for text in [
        "#![allow(unused)]\npub fn f() {}",
        "#! [allow(unused)]",
        "#!\n[allow(unused)]",
        "#!/* a comment */[allow(unused)]",
        "#!// a comment\n[allow(unused)]",
        "\u{FEFF}#![allow(unused)]",
    ] {
        assert_eq!(check_source("ex.rs", text), vec![], "{text:?}");
    }
    // A doc comment after `#!` is a token: the line is a shebang.
    for text in [
        "#!/// doc\n[allow(unused)]",
        "#!/usr/bin/env run\nfn f() {}",
    ] {
        assert!(has(&constructs(text), "#!"), "{text:?}");
    }
    // Only on the first line.
    assert_eq!(check_source("ex.rs", "\n#![allow(unused)]"), vec![]);
}

/// Forbidden characters come first: with them, the file may not read as it looks.
#[test]
fn character_violations_come_first() {
    let v = check_source(
        "ex.rs",
        "use std::process;\n#[path\u{200E}= \"x.rs\"] mod s;\nfn caf\u{E9}() {}",
    );
    let order: Vec<_> = v.iter().map(|v| (v.line, v.construct)).collect();
    assert_eq!(
        order,
        vec![
            (2, "invisible character"),
            (3, "non-ASCII character"),
            (1, "std::process"),
            (2, "#[path]"),
            (2, "mod NAME;"),
        ]
    );
}
