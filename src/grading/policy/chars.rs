//! The policy's rules on characters, applied before any rule on tokens.
//!
//! Two rules, because a hand-written tokenizer can only be trusted on text whose
//! characters it reads exactly as rustc does:
//! - outside comments and string or character literals, code must be ASCII. Beyond
//!   ASCII, rustc reads some characters as spaces (U+200E, U+2028, ...), takes others
//!   into identifiers by Unicode tables this check does not carry, and refuses the
//!   rest; ASCII-only code leaves nothing for the two to disagree on;
//! - invisible, text-direction and control characters are refused everywhere, in
//!   comments and strings too: they make the text shown in an editor or a review
//!   differ from what the compiler reads ("Trojan Source", CVE-2021-42574).
//!
//! Ordinary non-ASCII text in comments and strings ("µ", "—", "×", accents) passes.

use super::lexer::{OddChar, Place};
use super::Violation;

/// Characters refused anywhere in the file: C0 and C1 controls other than tab, line
/// feed and a carriage return that ends a line (an escape sequence, or a carriage
/// return mid-line, can rewrite what a terminal shows; the lexer notes a carriage
/// return only where no line feed follows it),
/// every general-category Cf character of Unicode 15 (bidirectional embeddings,
/// overrides, isolates and marks, zero-width characters, the soft hyphen, a
/// byte-order mark not at the start, tag characters, ...), and the line and
/// paragraph separators U+2028, U+2029, which editors may show as line breaks that
/// the compiler does not count.
pub(super) fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{0}'..='\u{8}'
            | '\u{B}'..='\u{D}'
            | '\u{E}'..='\u{1F}'
            | '\u{7F}'..='\u{9F}'
            | '\u{AD}'
            | '\u{600}'..='\u{605}'
            | '\u{61C}'
            | '\u{6DD}'
            | '\u{70F}'
            | '\u{890}'..='\u{891}'
            | '\u{8E2}'
            | '\u{180E}'
            | '\u{200B}'..='\u{200F}'
            | '\u{2028}'..='\u{202E}'
            | '\u{2060}'..='\u{2064}'
            | '\u{2066}'..='\u{206F}'
            | '\u{FEFF}'
            | '\u{FFF9}'..='\u{FFFB}'
            | '\u{110BD}'
            | '\u{110CD}'
            | '\u{13430}'..='\u{1343F}'
            | '\u{1BCA0}'..='\u{1BCA3}'
            | '\u{1D173}'..='\u{1D17A}'
            | '\u{E0001}'
            | '\u{E0020}'..='\u{E007F}'
    )
}

/// The Unicode name of characters a message is likely to be about: invisible ones,
/// spaces, and look-alikes of ASCII punctuation that come in with pasted text.
pub(super) fn char_name(c: char) -> Option<&'static str> {
    Some(match c {
        '\u{0}' => "NULL",
        '\u{7}' => "BELL",
        '\u{8}' => "BACKSPACE",
        '\u{B}' => "LINE TABULATION",
        '\u{C}' => "FORM FEED",
        '\u{D}' => "CARRIAGE RETURN",
        '\u{1B}' => "ESCAPE",
        '\u{7F}' => "DELETE",
        '\u{85}' => "NEXT LINE",
        '\u{A0}' => "NO-BREAK SPACE",
        '\u{AD}' => "SOFT HYPHEN",
        '\u{B5}' => "MICRO SIGN",
        '\u{D7}' => "MULTIPLICATION SIGN",
        '\u{37E}' => "GREEK QUESTION MARK",
        '\u{3BC}' => "GREEK SMALL LETTER MU",
        '\u{61C}' => "ARABIC LETTER MARK",
        '\u{180E}' => "MONGOLIAN VOWEL SEPARATOR",
        '\u{1680}' => "OGHAM SPACE MARK",
        '\u{2000}' => "EN QUAD",
        '\u{2001}' => "EM QUAD",
        '\u{2002}' => "EN SPACE",
        '\u{2003}' => "EM SPACE",
        '\u{2004}' => "THREE-PER-EM SPACE",
        '\u{2005}' => "FOUR-PER-EM SPACE",
        '\u{2006}' => "SIX-PER-EM SPACE",
        '\u{2007}' => "FIGURE SPACE",
        '\u{2008}' => "PUNCTUATION SPACE",
        '\u{2009}' => "THIN SPACE",
        '\u{200A}' => "HAIR SPACE",
        '\u{200B}' => "ZERO WIDTH SPACE",
        '\u{200C}' => "ZERO WIDTH NON-JOINER",
        '\u{200D}' => "ZERO WIDTH JOINER",
        '\u{200E}' => "LEFT-TO-RIGHT MARK",
        '\u{200F}' => "RIGHT-TO-LEFT MARK",
        '\u{2010}' => "HYPHEN",
        '\u{2011}' => "NON-BREAKING HYPHEN",
        '\u{2012}' => "FIGURE DASH",
        '\u{2013}' => "EN DASH",
        '\u{2014}' => "EM DASH",
        '\u{2015}' => "HORIZONTAL BAR",
        '\u{2018}' => "LEFT SINGLE QUOTATION MARK",
        '\u{2019}' => "RIGHT SINGLE QUOTATION MARK",
        '\u{201C}' => "LEFT DOUBLE QUOTATION MARK",
        '\u{201D}' => "RIGHT DOUBLE QUOTATION MARK",
        '\u{2026}' => "HORIZONTAL ELLIPSIS",
        '\u{2028}' => "LINE SEPARATOR",
        '\u{2029}' => "PARAGRAPH SEPARATOR",
        '\u{202A}' => "LEFT-TO-RIGHT EMBEDDING",
        '\u{202B}' => "RIGHT-TO-LEFT EMBEDDING",
        '\u{202C}' => "POP DIRECTIONAL FORMATTING",
        '\u{202D}' => "LEFT-TO-RIGHT OVERRIDE",
        '\u{202E}' => "RIGHT-TO-LEFT OVERRIDE",
        '\u{202F}' => "NARROW NO-BREAK SPACE",
        '\u{205F}' => "MEDIUM MATHEMATICAL SPACE",
        '\u{2060}' => "WORD JOINER",
        '\u{2061}' => "FUNCTION APPLICATION",
        '\u{2062}' => "INVISIBLE TIMES",
        '\u{2063}' => "INVISIBLE SEPARATOR",
        '\u{2064}' => "INVISIBLE PLUS",
        '\u{2066}' => "LEFT-TO-RIGHT ISOLATE",
        '\u{2067}' => "RIGHT-TO-LEFT ISOLATE",
        '\u{2068}' => "FIRST STRONG ISOLATE",
        '\u{2069}' => "POP DIRECTIONAL ISOLATE",
        '\u{2192}' => "RIGHTWARDS ARROW",
        '\u{2212}' => "MINUS SIGN",
        '\u{2215}' => "DIVISION SLASH",
        '\u{3000}' => "IDEOGRAPHIC SPACE",
        '\u{3164}' => "HANGUL FILLER",
        '\u{FEFF}' => "ZERO WIDTH NO-BREAK SPACE",
        '\u{FF1B}' => "FULLWIDTH SEMICOLON",
        _ => return None,
    })
}

/// `U+200E (LEFT-TO-RIGHT MARK)`, or `U+4E2D` where the name is not in the table.
fn describe(c: char) -> String {
    match char_name(c) {
        Some(name) => format!("U+{:04X} ({name})", c as u32),
        None => format!("U+{:04X}", c as u32),
    }
}

/// The violations among the characters the lexer noted, in order of position, at
/// most one per line and rule.
pub(super) fn character_violations(file_label: &str, odd: &[OddChar]) -> Vec<Violation> {
    let mut out: Vec<Violation> = Vec::new();
    for c in odd {
        let (construct, message) = if is_invisible(c.ch) {
            let place = match c.place {
                Place::Code => "in code",
                Place::Comment => "in a comment",
                Place::Literal => "in a string or character literal",
            };
            (
                "invisible character",
                format!(
                    "{file_label}:{}: invisible character {} at column {}, {place}: invisible, \
                     text-direction, line-separator and control characters are not allowed \
                     anywhere in an exercise file, not even in comments or strings, because \
                     they make the text read differently from what the compiler sees; delete \
                     it (a string that needs one can spell it as an escape, such as `\\u{{{:X}}}`)",
                    c.line,
                    describe(c.ch),
                    c.column,
                    c.ch as u32,
                ),
            )
        } else if c.place == Place::Code && !c.ch.is_ascii() {
            (
                "non-ASCII character",
                format!(
                    "{file_label}:{}: non-ASCII character {} at column {}: exercise code must be \
                     ASCII outside comments and strings (beyond ASCII, some characters look like \
                     ASCII punctuation and others read as spaces to the compiler); retype it in \
                     ASCII, or keep such text in a comment or string",
                    c.line,
                    describe(c.ch),
                    c.column,
                ),
            )
        } else {
            continue;
        };
        if !out
            .iter()
            .any(|v| v.line == c.line && v.construct == construct)
        {
            out.push(Violation {
                line: c.line,
                column: c.column,
                construct,
                message,
            });
        }
    }
    out
}
