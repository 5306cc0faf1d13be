//! JSON that cannot drive a terminal or reorder what it shows. serde_json escapes the C0
//! controls but writes C1 controls (U+0080–U+009F, which some terminals act on: U+009B is a
//! CSI) and bidi or zero-width characters as they are. Inside JSON they can only stand in
//! strings, where `\uXXXX` means the same character: the value read back is identical.

use crate::report::escape::is_invisible;
use std::borrow::Cow;
use std::io::{self, Write};

fn risky(c: char) -> bool {
    (c.is_control() && !c.is_ascii()) || is_invisible(c)
}

/// `s` (JSON text) with C1 controls and invisible characters as `\uXXXX` escapes.
pub fn json_safe(s: &str) -> Cow<'_, str> {
    if !s.chars().any(risky) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        if risky(c) {
            // Every such character is in the Basic Multilingual Plane: one escape.
            out.push_str(&format!("\\u{:04x}", c as u32));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// A writer of JSON lines that passes each complete line through [`json_safe`].
pub struct JsonSafeWriter<W: Write> {
    inner: W,
    line: Vec<u8>,
}

impl<W: Write> JsonSafeWriter<W> {
    pub fn new(inner: W) -> Self {
        JsonSafeWriter {
            inner,
            line: Vec::new(),
        }
    }

    fn emit(&mut self) -> io::Result<()> {
        match std::str::from_utf8(&self.line) {
            Ok(s) => self.inner.write_all(json_safe(s).as_bytes())?,
            // Not text: passed on as it is (JSON is always UTF-8).
            Err(_) => self.inner.write_all(&self.line)?,
        }
        self.line.clear();
        Ok(())
    }
}

impl<W: Write> Write for JsonSafeWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut rest = buf;
        while let Some(i) = rest.iter().position(|&b| b == b'\n') {
            self.line.extend_from_slice(&rest[..=i]);
            self.emit()?;
            rest = &rest[i + 1..];
        }
        self.line.extend_from_slice(rest);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        if !self.line.is_empty() {
            self.emit()?;
        }
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn c1_controls_and_bidi_become_escapes_and_the_value_stays_the_same() {
        let v = serde_json::json!({"cmd": "a\u{9b}31mb invoice\u{202e}fdp.exe\u{200b}\u{1b}"});
        let raw = serde_json::to_string(&v).unwrap();
        let safe = json_safe(&raw).into_owned();
        assert!(
            !safe.chars().any(|c| c.is_control() || is_invisible(c)),
            "{safe}"
        );
        assert!(
            safe.contains("\\u009b") && safe.contains("\\u202e"),
            "{safe}"
        );
        let back: serde_json::Value = serde_json::from_str(&safe).unwrap();
        assert_eq!(back, v);
        // Through the writer, in pieces that split characters and lines.
        let mut w = JsonSafeWriter::new(Vec::new());
        let text = format!("{raw}\n{raw}");
        for chunk in text.as_bytes().chunks(3) {
            w.write_all(chunk).unwrap();
        }
        w.flush().unwrap();
        assert_eq!(
            String::from_utf8(w.inner).unwrap(),
            format!("{safe}\n{safe}")
        );
    }
}
