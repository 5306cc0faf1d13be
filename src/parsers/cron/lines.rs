//! The lines cron acts on: split, decoded (lossy UTF-8 noted), and their first token.

use super::{CronWarning, Warns};

/// Splits bytes into (1-based line number, line without `\n` / trailing `\r`).
fn byte_lines(data: &[u8]) -> impl Iterator<Item = (usize, &[u8])> {
    data.split(|&b| b == b'\n').enumerate().map(|(i, l)| {
        let l = l.strip_suffix(b"\r").unwrap_or(l);
        (i + 1, l)
    })
}

/// A line cron and anacron act on: not blank, not a comment.
pub(super) struct ContentLine {
    pub(super) ln: usize,
    pub(super) line: String,
    pub(super) lossy: bool,
    nul: bool,
}

impl ContentLine {
    /// Warns about invalid UTF-8 and NUL bytes: text that is not what a reader of the raw
    /// line sees. True when the text was lossy.
    pub(super) fn note_damage(&self, warns: &mut Warns) -> bool {
        if self.lossy {
            warns.push(CronWarning::InvalidUtf8 { line: self.ln });
        }
        if self.nul {
            warns.push(CronWarning::NulByte { line: self.ln });
        }
        self.lossy
    }
}

/// The lines cron and anacron act on, decoded.
pub(super) fn content_lines(text: &[u8]) -> impl Iterator<Item = ContentLine> + '_ {
    byte_lines(text).filter_map(|(ln, bytes)| {
        let (line, lossy) = decode(bytes);
        let trimmed = line.trim_start_matches(is_blank);
        if trimmed.trim_end_matches(is_blank).is_empty() || trimmed.starts_with('#') {
            return None;
        }
        Some(ContentLine {
            ln,
            line,
            lossy,
            nul: bytes.contains(&0),
        })
    })
}

pub(super) fn decode(line: &[u8]) -> (String, bool) {
    match String::from_utf8_lossy(line) {
        std::borrow::Cow::Borrowed(s) => (s.to_string(), false),
        std::borrow::Cow::Owned(s) => (s, true),
    }
}

pub(super) fn is_blank(c: char) -> bool {
    c == ' ' || c == '\t'
}

/// Splits off the first blank-delimited token; returns (token, rest with leading blanks removed).
pub(super) fn next_token(s: &str) -> Option<(&str, &str)> {
    let s = s.trim_start_matches(is_blank);
    if s.is_empty() {
        return None;
    }
    let end = s.find(is_blank).unwrap_or(s.len());
    let (tok, rest) = s.split_at(end);
    Some((tok, rest.trim_start_matches(is_blank)))
}
