//! Word tokens and small text helpers. All offsets are byte offsets that lie on char boundaries.

use std::sync::OnceLock;

use regex::Regex;

use super::lexicon::fold;

/// A word: letters, marks and digits, with inner apostrophes ("O'Brien", "Jayden's").
#[derive(Debug, Clone)]
pub(crate) struct Token {
    pub start: usize,
    pub end: usize,
    /// Folded form of the whole token (lower case, no accents, straight apostrophes).
    pub folded: String,
    /// Folded form without a possessive "'s" / "s'".
    pub base: String,
    /// Byte end of the token without its possessive suffix.
    pub base_end: usize,
    pub possessive: bool,
    /// First char is upper case (covers "McDonald", "DeShawn", "Ōtara").
    pub cap: bool,
    /// Every letter is upper case and there are at least two letters.
    pub all_caps: bool,
    pub has_digit: bool,
    /// Number of chars.
    pub chars: usize,
}

fn word_re() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| Regex::new(r"[\p{L}\p{M}\p{N}]+(?:['’][\p{L}\p{M}\p{N}]+)*").unwrap())
}

pub(crate) fn tokenize(text: &str) -> Vec<Token> {
    let mut out = Vec::new();
    for m in word_re().find_iter(text) {
        let t = m.as_str();
        let folded = fold(t);
        let (base, base_end, possessive) = if let Some(b) = folded.strip_suffix("'s") {
            // The apostrophe may be ’ (3 bytes) or ' (1 byte); find it in the original text.
            let apos = t.rfind(['\'', '’']).unwrap_or(t.len());
            (b.to_string(), m.start() + apos, true)
        } else {
            (folded.clone(), m.end(), false)
        };
        let mut letters = 0usize;
        let mut upper = 0usize;
        let mut has_digit = false;
        let mut chars = 0usize;
        for c in t.chars() {
            chars += 1;
            if c.is_alphabetic() {
                letters += 1;
                if c.is_uppercase() {
                    upper += 1;
                }
            } else if c.is_numeric() {
                has_digit = true;
            }
        }
        let cap = t.chars().next().is_some_and(char::is_uppercase);
        out.push(Token {
            start: m.start(),
            end: m.end(),
            folded,
            base,
            base_end,
            possessive,
            cap,
            all_caps: letters >= 2 && upper == letters,
            has_digit,
            chars,
        });
    }
    out
}

impl Token {
    /// Case-sensitive comparison with the token's folded form capitalised as given.
    pub fn text_is(&self, word: &str) -> bool {
        self.cap && self.folded == word.to_lowercase() && !self.all_caps
    }
}

/// The char just before byte offset `i`, if any.
pub(crate) fn char_before(text: &str, i: usize) -> Option<char> {
    text.get(..i).and_then(|s| s.chars().next_back())
}

/// The char at byte offset `i`, if any.
pub(crate) fn char_at(text: &str, i: usize) -> Option<char> {
    text.get(i..).and_then(|s| s.chars().next())
}

/// True if nothing but whitespace lies between `a` and `b` (and there is at most one line break).
pub(crate) fn only_space(text: &str, a: usize, b: usize) -> bool {
    match text.get(a..b) {
        Some(g) => {
            !g.is_empty() && g.chars().all(char::is_whitespace) && g.matches('\n').count() <= 1
        }
        None => false,
    }
}

/// True if the token starts a sentence: at the start of the text, or after `.`, `!`, `?`, `:`,
/// `;`, a line break or a bullet, skipping spaces, quotes and opening brackets.
pub(crate) fn sentence_start(text: &str, start: usize) -> bool {
    let before = &text[..start];
    for c in before.chars().rev() {
        if c == '\n' {
            return true;
        }
        if c.is_whitespace()
            || matches!(
                c,
                '"' | '\'' | '“' | '‘' | '(' | '[' | '*' | '•' | '-' | '–' | '—' | '>'
            )
        {
            continue;
        }
        return matches!(c, '.' | '!' | '?' | ':' | ';');
    }
    true
}

/// Char-boundary-safe slice clamp.
pub(crate) fn floor_boundary(text: &str, mut i: usize) -> usize {
    if i >= text.len() {
        return text.len();
    }
    while !text.is_char_boundary(i) {
        i -= 1;
    }
    i
}

pub(crate) fn ceil_boundary(text: &str, mut i: usize) -> usize {
    if i >= text.len() {
        return text.len();
    }
    while !text.is_char_boundary(i) {
        i += 1;
    }
    i
}
