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
//! Characters come first. The tokenizer ([`lexer`]) reads whitespace, comments and
//! literals as rustc does, and the policy refuses what a tokenizer could still
//! misread or a reader could not see: any non-ASCII character outside comments and
//! string or character literals (some read as spaces to rustc, others look like ASCII
//! punctuation), and invisible, text-direction and control characters anywhere, in
//! comments and strings too (the "Trojan Source" class, CVE-2021-42574, where text
//! shows one program and the compiler reads another). A shebang line, which rustc
//! skips unread, is refused as well.
//!
//! **This is a first line of defence, not the sandbox.** It gives a student a clear,
//! early message naming the line, and it stops the cheap attacks before they compile.
//! It cannot see what library functions do at run time (a tensor's `save`, a
//! dependency's own file access, an endless loop, a memory hog): containing those is
//! the job of the process that runs student code (its own process, read-only
//! filesystem, resource limits), never of this check.

mod chars;
mod lexer;
#[cfg(test)]
mod tests;

use lexer::{Tok, Token};
use std::fmt;

/// One forbidden construct found in an exercise file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// 1-based line of the token that triggered the rule.
    pub line: usize,
    /// 1-based column (in characters) of that token.
    pub column: usize,
    /// Short name of the construct, e.g. "#[path]", "std::process", "unsafe",
    /// "non-ASCII character", "invisible character".
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
    "base64",
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
/// returns every forbidden construct (at most one per line and construct): first the
/// forbidden characters, since with them the file may not read as it looks, then the
/// rest, each group in order of position. An empty list means the file passes.
pub fn check_source(file_label: &str, text: &str) -> Vec<Violation> {
    let lexed = lexer::tokenize(text);
    let mut out = chars::character_violations(file_label, &lexed.odd_chars);
    if lexed.shebang {
        out.push(Violation {
            line: 1,
            column: 1,
            construct: "#!",
            message: format!(
                "{file_label}:1: a first line starting with `#!` is not allowed in an exercise file \
                 (the compiler skips it unread, so it can hide code from this check): {RULE}"
            ),
        });
    }
    let tokens = lexed.tokens;
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
