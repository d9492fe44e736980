//! A policy check on exercise files, run before they are compiled.
//!
//! Exercise files may only use the workshop's library (`se05`), `tch`, `anyhow` and
//! std's data types. This module scans the text of one file and lists every use of a
//! construct that would let it reach outside that: `#[path]` (read another file, such
//! as a reference solution), `include!`/`include_str!`/`include_bytes!`, out-of-line
//! `mod name;`, `macro_rules!` (could assemble any of these from pieces), `unsafe`,
//! `extern`, linkage attributes (`#[no_mangle]`, `#[export_name]`, `#[link_section]`),
//! inline assembly, `std::process`/`Command`, `std::fs`/`File`/`OpenOptions`,
//! `std::net`, `std::os`, changing the environment (`env::set_var`, ...), the other
//! crates the workshop depends on (`tempfile`, `ureq`, `image`, ...), and the
//! library's parts that write files or grade (`se05::io`, `se05::grading`, `se05::train`).
//!
//! The scan works on tokens, as the compiler sees them: comments (line, block,
//! nested, doc), string literals (plain, byte, C, raw with any number of `#`) and
//! character literals are skipped, and spacing does not matter (`std :: process`,
//! `#[ path = "…" ]`, `#[cfg_attr(all(), path = "…")]`, `r#process` are all seen).
//! Names are matched wherever they can still name the forbidden item after a rename:
//! `use std::process as p;` is flagged at the `use`, and a later `process::exit`
//! after a glob import is flagged where it is written.
//!
//! **This is a first line of defence, not the sandbox.** It gives a student a clear,
//! early message naming the line, and it stops the cheap attacks before they compile.
//! It cannot see what library functions do at run time (a tensor's `save`, a
//! dependency's own file access, an endless loop, a memory hog): containing those is
//! the job of the process that runs student code (its own process, read-only
//! filesystem, resource limits), never of this check.

use std::fmt;

/// One forbidden construct found in an exercise file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// 1-based line of the token that triggered the rule.
    pub line: usize,
    /// 1-based column (in characters) of that token.
    pub column: usize,
    /// Short name of the construct, e.g. "#[path]", "std::process", "unsafe".
    pub construct: &'static str,
    /// A complete message for the student: file and line, what is wrong, what to do.
    pub message: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// What every message ends with: the rule and what to do.
const RULE: &str =
    "exercises may only use the workshop's library (se05), tch and std's data types; remove it";

/// Crates the workshop depends on that an exercise file may not name (every
/// `[dependencies]` and `[dev-dependencies]` entry of Cargo.toml except `tch` and
/// `anyhow`, which the stubs use; a test keeps this list in step with Cargo.toml).
pub const FORBIDDEN_CRATES: &[&str] = &[
    "serde",
    "serde_json",
    "clap",
    "colored",
    "thiserror",
    "libtest_mimic",
    "rand",
    "rand_chacha",
    "rayon",
    "image",
    "jpeg_decoder",
    "tempfile",
    "ureq",
    "idna_adapter",
    "indicatif",
    "sha2",
    "hmac",
    "zip",
    "ctrlc",
    "notify",
    "plotters",
    "dejavu",
    "landlock",
    "libc",
    "viuer",
    "insta",
    "proptest",
];

/// Parts of the workshop's library that write files, talk to the network or run the
/// grading, with the path a message names. Groups (`se05::grading`, `se05::io`,
/// `se05::train`) are refused when named under `se05`; the modules inside them also
/// wherever they start a path (`fsutil::…` after a glob or an alias).
const FORBIDDEN_SE05_MODULES: &[(&str, &str, bool)] = &[
    ("grading", "se05::grading", true),
    ("io", "se05::io", true),
    ("train", "se05::train", true),
    ("fsutil", "se05::io::fsutil", false),
    ("download", "se05::io::download", false),
    ("isic_fetch", "se05::io::isic_fetch", false),
    ("checkpoint", "se05::io::checkpoint", false),
    ("progress", "se05::grading::progress", false),
    ("sandbox", "se05::grading::sandbox", false),
    ("observe", "se05::grading::observe", false),
];

/// Scans `text`, the content of the exercise file named `file_label` in messages, and
/// returns every forbidden construct in order of position (at most one per line and
/// construct). An empty list means the file passes.
pub fn check_source(file_label: &str, text: &str) -> Vec<Violation> {
    let tokens = tokenize(text);
    let mut found: Vec<(usize, &'static str, &'static str)> = Vec::new();
    let mut flag = |i: usize, construct: &'static str, why: &'static str| {
        found.push((i, construct, why));
    };

    let use_items = use_item_mask(&tokens);
    let attributes = attribute_mask(&tokens);

    for (i, tok) in tokens.iter().enumerate() {
        let Tok::Ident(name) = &tok.kind else {
            continue;
        };
        let name = name.as_str();
        let prev = i.checked_sub(1).map(|j| &tokens[j].kind);
        let next = tokens.get(i + 1).map(|t| &t.kind);
        let after_path_sep = matches!(prev, Some(Tok::PathSep));
        let before_path_sep = matches!(next, Some(Tok::PathSep));
        let bang = matches!(next, Some(Tok::Punct('!')));
        let in_use = use_items[i];
        // A module name can still reach its items when it is a path segment or is
        // imported (possibly renamed) by a `use`.
        let as_module = after_path_sep || before_path_sep || in_use;

        // Inside `#[...]` / `#![...]`, also through `cfg_attr`.
        if attributes[i] {
            if name == "path" && matches!(next, Some(Tok::Punct('='))) {
                flag(
                    i,
                    "#[path]",
                    "it makes the compiler read another file (such as a reference solution) that this check never sees",
                );
            }
            if let Some(&attr) = ["no_mangle", "export_name", "link_section"]
                .iter()
                .find(|a| **a == name)
            {
                flag(
                    i,
                    match attr {
                        "no_mangle" => "#[no_mangle]",
                        "export_name" => "#[export_name]",
                        _ => "#[link_section]",
                    },
                    "it changes how the program is linked and can replace functions of the grader",
                );
            }
        }

        match name {
            "include" if bang || as_module => flag(
                i,
                "include!",
                "it pastes another file into this one, out of this check's sight",
            ),
            "include_str" | "include_bytes" => flag(
                i,
                if name == "include_str" {
                    "include_str!"
                } else {
                    "include_bytes!"
                },
                "it reads another file (such as a reference solution or a snapshot) into the program",
            ),
            "macro_rules" => flag(
                i,
                "macro_rules!",
                "a macro can assemble forbidden code from pieces this check cannot see",
            ),
            "unsafe" => flag(
                i,
                "unsafe",
                "unsafe code can break the memory safety the grader relies on",
            ),
            "extern" => flag(
                i,
                "extern",
                "it links foreign code or another crate into the exercise",
            ),
            "asm" | "global_asm" | "naked_asm" => flag(
                i,
                "asm!",
                "inline assembly can do anything the machine can",
            ),
            "process" if as_module => flag(
                i,
                "std::process",
                "exercise code may not start programs or end the grader's process",
            ),
            "Command" => flag(
                i,
                "Command",
                "exercise code may not start programs",
            ),
            "fs" if as_module => flag(
                i,
                "std::fs",
                "exercise code may not read or write files directly; the library's datasets do that",
            ),
            "File" if before_path_sep || in_use => flag(
                i,
                "File",
                "exercise code may not open or create files directly; the library's datasets do that",
            ),
            "OpenOptions" => flag(
                i,
                "OpenOptions",
                "exercise code may not open or create files directly",
            ),
            "net" if as_module => flag(
                i,
                "std::net",
                "exercise code may not use the network",
            ),
            "os" if as_module => flag(
                i,
                "std::os",
                "it reaches operating-system specifics (raw file descriptors, process extensions)",
            ),
            "set_var" | "remove_var" | "set_current_dir" => flag(
                i,
                match name {
                    "set_var" => "env::set_var",
                    "remove_var" => "env::remove_var",
                    _ => "env::set_current_dir",
                },
                "exercise code may not change the grader's environment or working folder",
            ),
            // `mod name;` loads name.rs from beside the file, unchecked.
            "mod"
                if matches!(next, Some(Tok::Ident(_)))
                    && matches!(tokens.get(i + 2).map(|t| &t.kind), Some(Tok::Punct(';'))) =>
            {
                flag(
                    i,
                    "mod NAME;",
                    "a module in its own file is compiled without this check; write the module inline (`mod name { ... }`) or not at all",
                );
            }
            _ => {}
        }

        // Other crates of the workshop, as the first segment of a path or in a `use`.
        if let Some(&krate) = FORBIDDEN_CRATES.iter().find(|c| **c == name) {
            let first_segment = !after_path_sep || leading_path_sep(&tokens, i);
            if first_segment && (before_path_sep || in_use) {
                flag(
                    i,
                    krate,
                    "exercise code may not use the workshop's other dependencies",
                );
            }
        }
        // The library's own file-writing and grading modules.
        if let Some(&(_, path, group)) = FORBIDDEN_SE05_MODULES.iter().find(|m| m.0 == name) {
            if se05_member(&tokens, i) || (before_path_sep && !group) {
                flag(
                    i,
                    path,
                    "that part of the library writes files or runs the grading; exercises do not need it",
                );
            }
        }
    }

    found.sort_by_key(|&(i, construct, _)| (tokens[i].line, tokens[i].column, construct));
    let mut out: Vec<Violation> = Vec::new();
    for (i, construct, why) in found {
        let tok = &tokens[i];
        if out
            .iter()
            .any(|v| v.line == tok.line && v.construct == construct)
        {
            continue;
        }
        out.push(Violation {
            line: tok.line,
            column: tok.column,
            construct,
            message: format!(
                "{file_label}:{}: `{construct}` is not allowed in an exercise file ({why}): {RULE}",
                tok.line
            ),
        });
    }
    out
}

/// `::name` at the start of a path (`::tempfile::...`): the `::` is not preceded by
/// a path segment (an identifier that is not a keyword, or the `>` of `<T as U>`).
fn leading_path_sep(tokens: &[Token], i: usize) -> bool {
    const KEYWORDS: &[&str] = &[
        "use", "pub", "as", "in", "return", "let", "const", "static", "type", "mut", "dyn", "impl",
        "where", "for", "break", "else", "match", "if", "while", "move", "ref",
    ];
    match i.checked_sub(2).map(|j| &tokens[j].kind) {
        Some(Tok::Ident(word)) => KEYWORDS.contains(&word.as_str()),
        Some(Tok::Punct('>')) => false,
        _ => true,
    }
}

/// Whether the identifier at `i` is a direct member of `se05`: `se05::name`, or an
/// entry of a group right under it, `se05::{a, name as x, ...}`.
fn se05_member(tokens: &[Token], i: usize) -> bool {
    let is =
        |j: Option<usize>, kind: &Tok| j.and_then(|j| tokens.get(j)).map(|t| &t.kind) == Some(kind);
    let se05 = Tok::Ident("se05".to_string());
    if is(i.checked_sub(1), &Tok::PathSep) && is(i.checked_sub(2), &se05) {
        return true;
    }
    // Walk back to the `{` that opens the group holding `i`, at the same depth.
    let mut depth = 0usize;
    let mut j = i;
    while j > 0 {
        j -= 1;
        match tokens[j].kind {
            Tok::Punct('}') => depth += 1,
            Tok::Punct('{') if depth > 0 => depth -= 1,
            Tok::Punct('{') => {
                // The entry must start right after `{` or `,`.
                let starts_entry = matches!(tokens[i - 1].kind, Tok::Punct('{') | Tok::Punct(','));
                return starts_entry
                    && is(j.checked_sub(1), &Tok::PathSep)
                    && is(j.checked_sub(2), &se05);
            }
            Tok::Punct(';') => return false,
            _ => {}
        }
    }
    false
}

/// Marks the tokens of every `use` item, from `use` to its `;`.
fn use_item_mask(tokens: &[Token]) -> Vec<bool> {
    let mut mask = vec![false; tokens.len()];
    let mut i = 0;
    while i < tokens.len() {
        if tokens[i].kind == Tok::Ident("use".to_string()) {
            let mut j = i;
            while j < tokens.len() && tokens[j].kind != Tok::Punct(';') {
                mask[j] = true;
                j += 1;
            }
            i = j;
        }
        i += 1;
    }
    mask
}

/// Marks the tokens inside every attribute, `#[...]` and `#![...]`.
fn attribute_mask(tokens: &[Token]) -> Vec<bool> {
    let mut mask = vec![false; tokens.len()];
    let mut i = 0;
    while i < tokens.len() {
        if tokens[i].kind == Tok::Punct('#') {
            let mut open = i + 1;
            if tokens.get(open).map(|t| &t.kind) == Some(&Tok::Punct('!')) {
                open += 1;
            }
            if tokens.get(open).map(|t| &t.kind) == Some(&Tok::Punct('[')) {
                let mut depth = 0usize;
                let mut j = open;
                while j < tokens.len() {
                    match tokens[j].kind {
                        Tok::Punct('[') => depth += 1,
                        Tok::Punct(']') => {
                            depth -= 1;
                            if depth == 0 {
                                break;
                            }
                        }
                        _ => {}
                    }
                    mask[j] = true;
                    j += 1;
                }
                i = j;
            }
        }
        i += 1;
    }
    mask
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    /// An identifier or keyword; raw identifiers lose their `r#`.
    Ident(String),
    /// `::` written as one token.
    PathSep,
    Punct(char),
    /// String, character and number literals, and lifetimes: never a name.
    Literal,
}

#[derive(Debug)]
struct Token {
    kind: Tok,
    line: usize,
    column: usize,
}

/// Splits Rust source into tokens the way rustc's lexer does, as far as the policy
/// needs: comments and literals never yield identifiers.
fn tokenize(text: &str) -> Vec<Token> {
    let chars: Vec<char> = text.chars().collect();
    let mut lx = Lexer {
        chars: &chars,
        pos: 0,
        line: 1,
        column: 1,
    };
    let mut tokens = Vec::new();
    while let Some(c) = lx.peek(0) {
        let (line, column) = (lx.line, lx.column);
        let push = |tokens: &mut Vec<Token>, kind| tokens.push(Token { kind, line, column });
        if c.is_whitespace() {
            lx.bump();
        } else if c == '/' && lx.peek(1) == Some('/') {
            while lx.peek(0).is_some_and(|c| c != '\n') {
                lx.bump();
            }
        } else if c == '/' && lx.peek(1) == Some('*') {
            lx.block_comment();
        } else if c == '"' {
            lx.bump();
            lx.quoted('"');
            push(&mut tokens, Tok::Literal);
        } else if c == '\'' {
            lx.char_or_lifetime();
            push(&mut tokens, Tok::Literal);
        } else if c.is_ascii_digit() {
            while lx.peek(0).is_some_and(|c| c.is_alphanumeric() || c == '_')
                || (lx.peek(0) == Some('.') && lx.peek(1).is_some_and(|c| c.is_ascii_digit()))
            {
                lx.bump();
            }
            push(&mut tokens, Tok::Literal);
        } else if c == '_' || c.is_alphabetic() {
            let word = lx.word();
            match (word.as_str(), lx.peek(0)) {
                // Byte and C strings, byte characters.
                ("b" | "c", Some('"')) => {
                    lx.bump();
                    lx.quoted('"');
                    push(&mut tokens, Tok::Literal);
                }
                ("b", Some('\'')) => {
                    lx.bump();
                    lx.quoted('\'');
                    push(&mut tokens, Tok::Literal);
                }
                // Raw strings: r"…", r#"…"#, br##"…"##, cr"…".
                ("r" | "br" | "cr", Some('"' | '#')) if lx.raw_string_ahead() => {
                    lx.raw_string();
                    push(&mut tokens, Tok::Literal);
                }
                // Raw identifiers: r#name is the identifier `name`.
                ("r", Some('#')) if lx.peek(1).is_some_and(|c| c == '_' || c.is_alphabetic()) => {
                    lx.bump();
                    let name = lx.word();
                    push(&mut tokens, Tok::Ident(name));
                }
                _ => push(&mut tokens, Tok::Ident(word)),
            }
        } else if c == ':' && lx.peek(1) == Some(':') {
            lx.bump();
            lx.bump();
            push(&mut tokens, Tok::PathSep);
        } else {
            lx.bump();
            push(&mut tokens, Tok::Punct(c));
        }
    }
    tokens
}

struct Lexer<'a> {
    chars: &'a [char],
    pos: usize,
    line: usize,
    column: usize,
}

impl Lexer<'_> {
    fn peek(&self, ahead: usize) -> Option<char> {
        self.chars.get(self.pos + ahead).copied()
    }

    fn bump(&mut self) -> Option<char> {
        let c = self.peek(0)?;
        self.pos += 1;
        if c == '\n' {
            self.line += 1;
            self.column = 1;
        } else {
            self.column += 1;
        }
        Some(c)
    }

    fn word(&mut self) -> String {
        let mut word = String::new();
        while let Some(c) = self.peek(0).filter(|c| *c == '_' || c.is_alphanumeric()) {
            word.push(c);
            self.bump();
        }
        word
    }

    /// `/* … */` with nesting; the opening `/*` is next.
    fn block_comment(&mut self) {
        self.bump();
        self.bump();
        let mut depth = 1usize;
        while depth > 0 {
            match (self.peek(0), self.peek(1)) {
                (None, _) => return,
                (Some('/'), Some('*')) => {
                    self.bump();
                    self.bump();
                    depth += 1;
                }
                (Some('*'), Some('/')) => {
                    self.bump();
                    self.bump();
                    depth -= 1;
                }
                _ => {
                    self.bump();
                }
            }
        }
    }

    /// The rest of a quoted literal whose opening `quote` was consumed; backslash
    /// escapes the next character.
    fn quoted(&mut self, quote: char) {
        while let Some(c) = self.bump() {
            if c == '\\' {
                self.bump();
            } else if c == quote {
                return;
            }
        }
    }

    /// After `r`, `br` or `cr`: `#`* followed by `"`.
    fn raw_string_ahead(&self) -> bool {
        let mut k = 0;
        while self.peek(k) == Some('#') {
            k += 1;
        }
        self.peek(k) == Some('"')
    }

    /// `#`* `"` … `"` `#`* with the same number of `#`; the prefix was consumed.
    fn raw_string(&mut self) {
        let mut hashes = 0;
        while self.peek(0) == Some('#') {
            self.bump();
            hashes += 1;
        }
        self.bump(); // the opening quote
        while let Some(c) = self.bump() {
            if c == '"' && (0..hashes).all(|k| self.peek(k) == Some('#')) {
                for _ in 0..hashes {
                    self.bump();
                }
                return;
            }
        }
    }

    /// `'x'`, `'\n'`, `'\u{…}'` (character literals) or `'name` (a lifetime or label).
    fn char_or_lifetime(&mut self) {
        self.bump(); // the opening quote
        match (self.peek(0), self.peek(1)) {
            (Some('\\'), _) => self.quoted('\''),
            (Some(_), Some('\'')) => {
                self.bump();
                self.bump();
            }
            _ => {
                self.word();
            }
        }
    }
}

#[cfg(test)]
mod tests {
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
        for folder in ["exercises", "solutions"] {
            if folder == "solutions" && !with_solutions {
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
}
