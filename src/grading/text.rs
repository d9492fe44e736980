//! Student-controlled text made safe to print.
//!
//! Panic messages, program output, compiler excerpts that quote student lines and the
//! file names of a fork all end up on a terminal, in Markdown or in a CSV. Control
//! characters in them would be obeyed there: an escape sequence can clear the screen
//! and draw a verdict the checker never gave, a carriage return can overwrite a line,
//! and bidi controls can reorder what a reader sees. [`inert`] writes each such
//! character as a visible escape instead (`\u{1b}`), so the text shows what it holds.
use std::borrow::Cow;
use std::fmt::Write;

/// `text` with every character a terminal or renderer would act on written as
/// `\u{XX}`: C0 controls other than newline and tab, DEL, the C1 controls
/// (U+0080–U+009F) and the invisible or bidi formatting characters. Borrowed when
/// there is nothing to escape.
pub fn inert(text: &str) -> Cow<'_, str> {
    if !text.chars().any(acts) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if acts(c) {
            let _ = write!(out, "\\u{{{:x}}}", c as u32);
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Makes `text` inert in place (for the fields of results).
pub fn make_inert(text: &mut String) {
    if let Cow::Owned(clean) = inert(text) {
        *text = clean;
    }
}

/// A character that does something other than show itself.
fn acts(c: char) -> bool {
    matches!(
        c,
        '\u{0}'..='\u{8}'
            | '\u{b}'..='\u{1f}'
            | '\u{7f}'..='\u{9f}'
            | '\u{61c}'
            | '\u{200b}'..='\u{200f}'
            | '\u{2028}'..='\u{202e}'
            | '\u{2066}'..='\u{2069}'
            | '\u{feff}'
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_text_is_borrowed_unchanged() {
        let text = "passed 12/12\n\tindented, ünïcödé, ✓ → 日本";
        assert!(matches!(inert(text), Cow::Borrowed(t) if t == text));
    }

    #[test]
    fn escape_sequences_print_visibly() {
        assert_eq!(
            inert("\u{1b}[2J\u{1b}[Hpassed 12/12"),
            "\\u{1b}[2J\\u{1b}[Hpassed 12/12"
        );
        assert_eq!(inert("a\rb\u{7}\u{0}"), "a\\u{d}b\\u{7}\\u{0}");
        assert_eq!(inert("x\u{7f}"), "x\\u{7f}");
    }

    #[test]
    fn every_listed_character_is_escaped_and_its_neighbours_are_not() {
        let active = ('\u{0}'..='\u{1f}')
            .filter(|c| !matches!(c, '\n' | '\t'))
            .chain(['\u{7f}'])
            .chain('\u{80}'..='\u{9f}')
            .chain('\u{202a}'..='\u{202e}')
            .chain('\u{2066}'..='\u{2069}')
            .chain('\u{200b}'..='\u{200f}')
            .chain(['\u{2028}', '\u{2029}', '\u{61c}', '\u{feff}']);
        for c in active {
            let shown = inert(&c.to_string()).into_owned();
            assert_eq!(shown, format!("\\u{{{:x}}}", c as u32), "{:x}", c as u32);
        }
        for c in [
            '\n', '\t', ' ', '~', '\u{a0}', 'é', '\u{200a}', '\u{2010}', '\u{2027}', '\u{202f}',
            '\u{2065}', '\u{206a}', '\u{61b}', '\u{fefe}',
        ] {
            assert_eq!(inert(&c.to_string()), c.to_string(), "{:x}", c as u32);
        }
    }

    #[test]
    fn in_place_form_replaces_only_when_needed() {
        let mut s = String::from("ok");
        make_inert(&mut s);
        assert_eq!(s, "ok");
        let mut s = String::from("\u{9b}31m");
        make_inert(&mut s);
        assert_eq!(s, "\\u{9b}31m");
    }
}
