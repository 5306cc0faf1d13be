//! One line of an audit log: `[node=N ]type=T msg=audit(SECS.MILLIS:SERIAL): k=v k=v ...`,
//! optionally followed (the `log_format = ENRICHED` of auditd.conf) by a GS character (0x1d)
//! and the interpreted names (`UID="root" AUID="alice"`).
//!
//! Values are `"quoted"` (a plain string), `'quoted'` (the nested `msg='...'` of user-space
//! records), or bare: numbers, words, and hex-encoded strings. The kernel hex-encodes an
//! untrusted string (an argument, a path, a command name, a proctitle) whenever it holds a
//! space, a quote, a control character or a byte above 0x7e; such a value is written bare, and
//! [`decode_untrusted`] turns it back into text. Reference: linux `kernel/audit.c`
//! (`audit_log_untrustedstring`, `audit_string_contains_control`), auditd.conf(5).

/// A value as written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Raw<'a> {
    /// `"..."` or `'...'`, without the quotes.
    Quoted(&'a str),
    Bare(&'a str),
}

impl<'a> Raw<'a> {
    pub fn text(self) -> &'a str {
        match self {
            Raw::Quoted(s) | Raw::Bare(s) => s,
        }
    }
}

/// The header and body of one audit line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditLine<'a> {
    pub node: Option<&'a str>,
    pub record_type: &'a str,
    pub secs: i64,
    pub millis: u32,
    pub serial: u64,
    /// Everything after `): `, without the enriched part.
    pub body: &'a str,
    /// The enriched names after the GS character, when present.
    pub enriched: Option<&'a str>,
}

/// Parse one line; `None` when it is not an audit record line.
pub fn parse_line(line: &str) -> Option<AuditLine<'_>> {
    let line = line.trim_end_matches(['\r', '\n']);
    let (line, enriched) = match line.split_once('\u{1d}') {
        Some((a, b)) => (a, Some(b)),
        None => (line, None),
    };
    let mut rest = line.trim_start();
    let mut node = None;
    if let Some(r) = rest.strip_prefix("node=") {
        let end = r.find(' ')?;
        node = Some(&r[..end]);
        rest = r[end..].trim_start();
    }
    let r = rest.strip_prefix("type=")?;
    let end = r.find(' ')?;
    let record_type = &r[..end];
    let r = r[end..].trim_start().strip_prefix("msg=audit(")?;
    let close = r.find(')')?;
    let stamp = &r[..close];
    let (time, serial) = stamp.split_once(':')?;
    let (secs, millis) = match time.split_once('.') {
        Some((s, m)) => (s, m),
        None => (time, "0"),
    };
    let secs: i64 = secs.parse().ok()?;
    let millis: u32 = millis.get(..3.min(millis.len()))?.parse().unwrap_or(0);
    let serial: u64 = serial.parse().ok()?;
    let body = r[close + 1..].trim_start_matches(':').trim_start();
    Some(AuditLine {
        node,
        record_type,
        secs,
        millis,
        serial,
        body,
        enriched,
    })
}

/// The `key=value` pairs of a body, in order. A value that opens a quote runs to the matching
/// quote (or the end of the line when it is never closed).
pub fn fields(body: &str) -> Vec<(&str, Raw<'_>)> {
    let mut out = Vec::new();
    let mut rest = body;
    loop {
        rest = rest.trim_start();
        if rest.is_empty() {
            break;
        }
        let Some(eq) = rest.find('=') else { break };
        let key = &rest[..eq];
        // A key never holds a space: text without `=` before the next space is noise.
        if let Some(sp) = key.find(' ') {
            rest = &rest[sp + 1..];
            continue;
        }
        let after = &rest[eq + 1..];
        let (value, next) = match after.chars().next() {
            Some(q @ ('"' | '\'')) => {
                let inner = &after[1..];
                match inner.find(q) {
                    Some(end) => (Raw::Quoted(&inner[..end]), &inner[end + 1..]),
                    None => (Raw::Quoted(inner), ""),
                }
            }
            _ => {
                let end = after.find(' ').unwrap_or(after.len());
                (Raw::Bare(&after[..end]), &after[end..])
            }
        };
        out.push((key, value));
        rest = next;
    }
    out
}

/// An untrusted string field (argument, path, comm, exe, proctitle, cmd): quoted is as
/// written; bare is hex when it is an even number of hex digits, else as written; `(null)`
/// is no value. The bool says that invalid UTF-8 was replaced.
pub fn decode_untrusted(raw: Raw<'_>) -> Option<(Vec<u8>, bool)> {
    match raw {
        Raw::Quoted(s) => Some((s.as_bytes().to_vec(), false)),
        Raw::Bare("(null)") | Raw::Bare("?") => None,
        Raw::Bare(s) => Some((
            hex_decode(s).unwrap_or_else(|| s.as_bytes().to_vec()),
            false,
        )),
    }
}

/// Bytes of an even-length string of hex digits.
pub fn hex_decode(s: &str) -> Option<Vec<u8>> {
    let b = s.as_bytes();
    if b.is_empty() || !b.len().is_multiple_of(2) {
        return None;
    }
    let digit = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    b.chunks_exact(2)
        .map(|p| Some(digit(p[0])? << 4 | digit(p[1])?))
        .collect()
}

/// Text of decoded bytes, and whether invalid UTF-8 was replaced.
pub fn text_of(bytes: &[u8]) -> (String, bool) {
    match std::str::from_utf8(bytes) {
        Ok(s) => (s.to_string(), false),
        Err(_) => (String::from_utf8_lossy(bytes).into_owned(), true),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_split_into_header_and_fields() {
        let l = parse_line(
            "node=web1 type=EXECVE msg=audit(1715426112.441:521): argc=3 a0=\"sh\" a1=2D63 \
             a2=\"x y\"\u{1d}UID=\"root\"",
        )
        .unwrap();
        assert_eq!(l.node, Some("web1"));
        assert_eq!(l.record_type, "EXECVE");
        assert_eq!((l.secs, l.millis, l.serial), (1715426112, 441, 521));
        assert_eq!(l.enriched, Some("UID=\"root\""));
        let f = fields(l.body);
        assert_eq!(f[0], ("argc", Raw::Bare("3")));
        assert_eq!(f[1], ("a0", Raw::Quoted("sh")));
        assert_eq!(decode_untrusted(f[2].1).unwrap().0, b"-c");
        assert_eq!(f[3], ("a2", Raw::Quoted("x y")));
        assert!(parse_line("garbage").is_none());
        assert!(parse_line("type=X msg=audit(abc:1): x").is_none());
    }

    #[test]
    fn nested_user_messages_and_unclosed_quotes() {
        let f = fields("pid=1 msg='op=PAM:session_open acct=\"root\" res=success' x=\"open");
        assert_eq!(
            f[1],
            (
                "msg",
                Raw::Quoted("op=PAM:session_open acct=\"root\" res=success")
            )
        );
        assert_eq!(f[2], ("x", Raw::Quoted("open")));
        assert_eq!(decode_untrusted(Raw::Bare("(null)")), None);
        assert_eq!(decode_untrusted(Raw::Bare("ABC")).unwrap().0, b"ABC");
        assert_eq!(hex_decode("6C73"), Some(b"ls".to_vec()));
        assert_eq!(hex_decode("6G"), None);
    }
}
