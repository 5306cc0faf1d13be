//! Sigma value transformations: wildcard tokens, `windash`, UTF-16 and base64 encodings.
//!
//! Kept apart from the matcher: these turn one rule value into the literal/wildcard sequences
//! (or several, for `base64offset`) that the matcher compiles. They never fail: refusing a value
//! that cannot be transformed (a wildcard under `base64`) is the matcher's job.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Encoding {
    Le,
    Be,
    /// UTF-16 LE with a byte-order mark (`utf16`).
    LeBom,
}

/// A Sigma string broken into literal text and wildcards.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Tok {
    Lit(char),
    /// A windash position: any of `-`, `/`, en dash, em dash, horizontal bar.
    Dash,
    Star,
    Question,
}

pub(crate) fn tokenize(s: &str) -> Vec<Tok> {
    let mut out = Vec::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.peek() {
                Some(&n) if matches!(n, '*' | '?' | '\\') => {
                    out.push(Tok::Lit(n));
                    chars.next();
                }
                _ => out.push(Tok::Lit('\\')),
            },
            '*' => out.push(Tok::Star),
            '?' => out.push(Tok::Question),
            c => out.push(Tok::Lit(c)),
        }
    }
    out
}

fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// pySigma's windash: a `-` or `/` not preceded by a word character and followed by one
/// (regex `\B[-/]\b`) becomes a dash class.
pub(crate) fn windash(toks: &mut [Tok]) {
    for i in 0..toks.len() {
        let Tok::Lit(c) = toks[i] else { continue };
        if c != '-' && c != '/' {
            continue;
        }
        let prev_word = i > 0 && matches!(toks[i - 1], Tok::Lit(p) if is_word(p));
        let next_word = matches!(toks.get(i + 1), Some(Tok::Lit(n)) if is_word(*n));
        if !prev_word && next_word {
            toks[i] = Tok::Dash;
        }
    }
}

pub(crate) fn utf16(s: &str, enc: Encoding) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len() * 2 + 2);
    if enc == Encoding::LeBom {
        out.extend_from_slice(&[0xFF, 0xFE]);
    }
    for u in s.encode_utf16() {
        let b = if enc == Encoding::Be {
            u.to_be_bytes()
        } else {
            u.to_le_bytes()
        };
        out.extend_from_slice(&b);
    }
    out
}

/// The three base64 renderings of `data` at byte offsets 0, 1, 2 of an enclosing string, with
/// the characters that depend on neighbouring bytes cut off (sigmac/pySigma algorithm).
pub(crate) fn base64_offsets(data: &[u8]) -> Vec<String> {
    let mut out = Vec::new();
    for i in 0..3usize {
        let mut buf = vec![b' '; i];
        buf.extend_from_slice(data);
        let enc = STANDARD.encode(&buf);
        let start = [0usize, 2, 3][i];
        let trim = [0usize, 3, 2][(data.len() + i) % 3];
        if let Some(s) = enc.get(start..enc.len().saturating_sub(trim))
            && !s.is_empty()
        {
            out.push(s.to_string());
        }
    }
    out
}

pub(crate) fn render(toks: &[Tok]) -> String {
    toks.iter()
        .map(|t| match t {
            Tok::Lit(c) => *c,
            Tok::Dash => '-',
            Tok::Star => '*',
            Tok::Question => '?',
        })
        .collect()
}
