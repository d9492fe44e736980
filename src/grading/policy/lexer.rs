//! The policy's tokenizer: it splits Rust source into tokens the way rustc's lexer
//! does, as far as the rules need, and notes every character a rule about characters
//! has to look at.
//!
//! Agreeing with rustc is what matters here. A character rustc skips as whitespace
//! but this lexer took for punctuation once hid `#[path\u{200E}= "…"]` (U+200E
//! LEFT-TO-RIGHT MARK) from every rule that looks at neighbouring tokens. So:
//! - whitespace is exactly Unicode's Pattern_White_Space, rustc's definition (not
//!   `char::is_whitespace`, which adds U+00A0, U+3000, ... and lacks U+200E, U+200F);
//! - a first line rustc skips as a shebang (`#!` not followed by `[`) is skipped here
//!   too, and reported;
//! - comments, string and character literals are kept apart from code, and every
//!   character outside ASCII's printable range is reported with where it stands
//!   ([`OddChar`]), so that the policy can refuse non-ASCII code outright.
//!
//! Beyond ASCII, identifiers follow `char::is_alphabetic` / `is_alphanumeric`, close
//! to rustc's XID_Start / XID_Continue but not the same tables. That cannot change a
//! verdict: a file with a non-ASCII character in code is refused before any token
//! matters, so the split only has to be exact for ASCII.

/// A token, as far as the rules need to tell tokens apart.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Tok {
    /// An identifier or keyword; raw identifiers lose their `r#`.
    Ident(String),
    /// `::` written as one token.
    PathSep,
    Punct(char),
    /// String, character and number literals, and lifetimes: never a name.
    Literal,
}

#[derive(Debug)]
pub(super) struct Token {
    pub kind: Tok,
    pub line: usize,
    pub column: usize,
}

/// Where a character stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Place {
    Code,
    Comment,
    /// Inside a string, byte string, C string or character literal.
    Literal,
}

/// A character outside printable ASCII (tab, line feed and a carriage return before
/// a line feed aside), with its position (1-based line, column in characters).
#[derive(Debug, Clone, Copy)]
pub(super) struct OddChar {
    pub ch: char,
    pub line: usize,
    pub column: usize,
    pub place: Place,
}

/// What [`tokenize`] found.
pub(super) struct Lexed {
    pub tokens: Vec<Token>,
    /// In order of position; a byte-order mark at the very start is not listed.
    pub odd_chars: Vec<OddChar>,
    /// The first line is a shebang, which rustc skips without reading.
    pub shebang: bool,
}

/// Unicode's Pattern_White_Space: what rustc's lexer skips between tokens.
pub(super) fn is_pattern_white_space(c: char) -> bool {
    matches!(
        c,
        '\t' | '\n'
            | '\u{B}'
            | '\u{C}'
            | '\r'
            | ' '
            | '\u{85}'
            | '\u{200E}'
            | '\u{200F}'
            | '\u{2028}'
            | '\u{2029}'
    )
}

fn is_ident_start(c: char) -> bool {
    c == '_' || c.is_ascii_alphabetic() || (!c.is_ascii() && c.is_alphabetic())
}

fn is_ident_continue(c: char) -> bool {
    c == '_' || c.is_ascii_alphanumeric() || (!c.is_ascii() && c.is_alphanumeric())
}

/// Splits Rust source into tokens the way rustc's lexer does, as far as the policy
/// needs: comments and literals never yield identifiers.
pub(super) fn tokenize(text: &str) -> Lexed {
    let chars: Vec<char> = text.chars().collect();
    let mut lx = Lexer {
        chars: &chars,
        pos: 0,
        line: 1,
        column: 1,
        place: Place::Code,
        odd_chars: Vec::new(),
    };
    let mut tokens = Vec::new();

    // rustc drops a byte-order mark at the start, then a shebang line.
    if lx.peek(0) == Some('\u{FEFF}') {
        lx.pos += 1;
    }
    let shebang = lx.shebang_ahead();
    if shebang {
        lx.in_place(Place::Comment, Lexer::rest_of_line);
    }

    while let Some(c) = lx.peek(0) {
        let (line, column) = (lx.line, lx.column);
        let push = |tokens: &mut Vec<Token>, kind| tokens.push(Token { kind, line, column });
        if is_pattern_white_space(c) {
            lx.bump();
        } else if c == '/' && lx.peek(1) == Some('/') {
            lx.in_place(Place::Comment, Lexer::rest_of_line);
        } else if c == '/' && lx.peek(1) == Some('*') {
            lx.in_place(Place::Comment, Lexer::block_comment);
        } else if c == '"' {
            lx.in_place(Place::Literal, |lx| {
                lx.bump();
                lx.quoted('"');
            });
            push(&mut tokens, Tok::Literal);
        } else if c == '\'' {
            lx.char_or_lifetime();
            push(&mut tokens, Tok::Literal);
        } else if c.is_ascii_digit() {
            while lx.peek(0).is_some_and(is_ident_continue)
                || (lx.peek(0) == Some('.') && lx.peek(1).is_some_and(|c| c.is_ascii_digit()))
            {
                lx.bump();
            }
            push(&mut tokens, Tok::Literal);
        } else if is_ident_start(c) {
            let word = lx.word();
            match (word.as_str(), lx.peek(0)) {
                // Byte and C strings, byte characters.
                ("b" | "c", Some('"')) => {
                    lx.in_place(Place::Literal, |lx| {
                        lx.bump();
                        lx.quoted('"');
                    });
                    push(&mut tokens, Tok::Literal);
                }
                ("b", Some('\'')) => {
                    lx.in_place(Place::Literal, |lx| {
                        lx.bump();
                        lx.quoted('\'');
                    });
                    push(&mut tokens, Tok::Literal);
                }
                // Raw strings: r"…", r#"…"#, br##"…"##, cr"…".
                ("r" | "br" | "cr", Some('"' | '#')) if lx.raw_string_ahead() => {
                    lx.in_place(Place::Literal, Lexer::raw_string);
                    push(&mut tokens, Tok::Literal);
                }
                // Raw identifiers: r#name is the identifier `name`.
                ("r", Some('#')) if lx.peek(1).is_some_and(is_ident_start) => {
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
    Lexed {
        tokens,
        odd_chars: lx.odd_chars,
        shebang,
    }
}

struct Lexer<'a> {
    chars: &'a [char],
    pos: usize,
    line: usize,
    column: usize,
    /// Where the characters being consumed stand.
    place: Place,
    odd_chars: Vec<OddChar>,
}

impl Lexer<'_> {
    fn peek(&self, ahead: usize) -> Option<char> {
        self.chars.get(self.pos + ahead).copied()
    }

    /// Consumes one character, noting it when it is not printable ASCII.
    fn bump(&mut self) -> Option<char> {
        let c = self.peek(0)?;
        // A carriage return counts only where no line feed follows (CRLF line ends
        // are fine): a terminal printing a bare one goes back to the line's start.
        let bare_cr = c == '\r' && self.peek(1) != Some('\n');
        if bare_cr || !(c.is_ascii_graphic() || matches!(c, ' ' | '\t' | '\n' | '\r')) {
            self.odd_chars.push(OddChar {
                ch: c,
                line: self.line,
                column: self.column,
                place: self.place,
            });
        }
        self.pos += 1;
        if c == '\n' {
            self.line += 1;
            self.column = 1;
        } else {
            self.column += 1;
        }
        Some(c)
    }

    /// Runs `scan` with the characters it consumes counted as standing in `place`.
    fn in_place(&mut self, place: Place, scan: impl FnOnce(&mut Self)) {
        let outer = std::mem::replace(&mut self.place, place);
        scan(self);
        self.place = outer;
    }

    fn word(&mut self) -> String {
        let mut word = String::new();
        while let Some(c) = self.peek(0).filter(|c| is_ident_continue(*c)) {
            word.push(c);
            self.bump();
        }
        word
    }

    /// Up to the next line feed (a line comment, a shebang).
    fn rest_of_line(&mut self) {
        while self.peek(0).is_some_and(|c| c != '\n') {
            self.bump();
        }
    }

    /// rustc's rule: `#!` starts a shebang line unless the first token after it,
    /// whitespace and plain (non-doc) comments aside, is `[` (an inner attribute
    /// such as `#![allow(...)]`, possibly spread over lines).
    fn shebang_ahead(&self) -> bool {
        if self.peek(0) != Some('#') || self.peek(1) != Some('!') {
            return false;
        }
        let mut probe = Lexer {
            chars: self.chars,
            pos: self.pos + 2,
            line: self.line,
            column: self.column,
            place: Place::Comment,
            odd_chars: Vec::new(),
        };
        loop {
            match (probe.peek(0), probe.peek(1), probe.peek(2), probe.peek(3)) {
                (Some(c), ..) if is_pattern_white_space(c) => {
                    probe.bump();
                }
                // `//` but not the doc comments `///` (unless `////`) and `//!`.
                (Some('/'), Some('/'), third, fourth)
                    if !(third == Some('!') || (third == Some('/') && fourth != Some('/'))) =>
                {
                    probe.rest_of_line();
                }
                // `/*` but not the doc comments `/**` (unless `/***` or `/**/`) and `/*!`.
                (Some('/'), Some('*'), third, fourth)
                    if !(third == Some('!')
                        || (third == Some('*') && !matches!(fourth, Some('*' | '/')))) =>
                {
                    probe.block_comment();
                }
                (next, ..) => return next != Some('['),
            }
        }
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
    /// As in rustc: a quote, a character that can start a name (or a digit) and no
    /// closing quote right after it is a lifetime; anything else a character literal.
    fn char_or_lifetime(&mut self) {
        self.bump(); // the opening quote
        match (self.peek(0), self.peek(1)) {
            (Some('\\'), _) => self.in_place(Place::Literal, |lx| lx.quoted('\'')),
            (Some(_), Some('\'')) => self.in_place(Place::Literal, |lx| {
                lx.bump();
                lx.bump();
            }),
            _ => {
                self.word();
            }
        }
    }
}
