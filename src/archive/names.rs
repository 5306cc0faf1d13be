//! Archive member names for raw copies. A name is never absolute, never holds `..`, a drive
//! colon, a backslash or a control character, and stays reversible: every byte that cannot
//! stand as is (bytes that are not UTF-8, and a `%` that two hex digits follow) becomes `%XX`.

use crate::source::OsFamily;
use std::path::{Component, Path};

fn escape_component(raw: &[u8], out: &mut String) {
    if raw == b"." || raw == b".." {
        for _ in raw {
            out.push_str("%2E");
        }
        return;
    }
    let mut rest = raw;
    while !rest.is_empty() {
        match std::str::from_utf8(rest) {
            Ok(s) => {
                escape_str(s, out);
                break;
            }
            Err(e) => {
                let (good, bad) = rest.split_at(e.valid_up_to());
                // valid_up_to guarantees `good` is UTF-8.
                escape_str(std::str::from_utf8(good).unwrap_or_default(), out);
                let bad_len = e.error_len().unwrap_or(bad.len()).max(1);
                for b in &bad[..bad_len.min(bad.len())] {
                    out.push_str(&format!("%{b:02X}"));
                }
                rest = &bad[bad_len.min(bad.len())..];
            }
        }
    }
}

fn escape_str(s: &str, out: &mut String) {
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        // `%` stays as it is unless two hex digits follow it (which `unescape` would read
        // as an escape): event logs are named `Microsoft-Windows-Sysmon%4Operational.evtx`,
        // and an unzipped archive should hold that name, not `%254`.
        let escape_percent = c == '%' && {
            let mut next = chars.clone();
            next.next().is_some_and(|a| a.is_ascii_hexdigit())
                && next.next().is_some_and(|b| b.is_ascii_hexdigit())
        };
        let bad = c.is_control()
            || escape_percent
            || matches!(c, ':' | '\\' | '/' | '*' | '?' | '"' | '<' | '>' | '|');
        if bad {
            let mut b = [0u8; 4];
            for byte in c.encode_utf8(&mut b).bytes() {
                out.push_str(&format!("%{byte:02X}"));
            }
        } else {
            out.push(c);
        }
    }
}

#[cfg(unix)]
fn component_bytes(c: &std::ffi::OsStr) -> Vec<u8> {
    use std::os::unix::ffi::OsStrExt;
    c.as_bytes().to_vec()
}

#[cfg(not(unix))]
fn component_bytes(c: &std::ffi::OsStr) -> Vec<u8> {
    c.to_string_lossy().into_owned().into_bytes()
}

/// `files/<path>` for a logical path; Windows evidence gets the drive as first folder
/// (`files/C/Windows/...`).
pub fn member_for_logical(os: OsFamily, logical: &Path) -> String {
    let mut out = String::from("files");
    if os == OsFamily::Windows {
        out.push_str("/C");
    }
    for c in logical.components() {
        let raw = match c {
            Component::Normal(n) => component_bytes(n),
            Component::ParentDir => b"..".to_vec(),
            _ => continue,
        };
        out.push('/');
        escape_component(&raw, &mut out);
    }
    out
}

/// Any caller-chosen member name, made safe the same way, component by component.
pub fn sanitize_member(name: &str) -> String {
    let mut out = String::new();
    for part in name.split(['/', '\\']).filter(|p| !p.is_empty()) {
        if !out.is_empty() {
            out.push('/');
        }
        escape_component(part.as_bytes(), &mut out);
    }
    if out.is_empty() {
        out.push_str("unnamed");
    }
    out
}

/// Undo the escaping: the original bytes of a member path (without the `files/` prefix
/// handling, which the manifest keeps anyway).
pub fn unescape(name: &str) -> Vec<u8> {
    let b = name.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && let Some(hex) = b.get(i + 1..i + 3)
            && hex.iter().all(u8::is_ascii_hexdigit)
            && let Ok(s) = std::str::from_utf8(hex)
            && let Ok(v) = u8::from_str_radix(s, 16)
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    out
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;

    #[test]
    fn hostile_names_are_safe_and_reversible() {
        let m = member_for_logical(OsFamily::Linux, Path::new("/tmp/../a:b\\c%d\u{7}e"));
        assert_eq!(m, "files/tmp/%2E%2E/a%3Ab%5Cc%d%07e");
        assert_eq!(unescape("a%3Ab%5Cc%d%07e"), b"a:b\\c%d\x07e");
        let w = member_for_logical(OsFamily::Windows, Path::new("/Windows/System32/Tasks/x y"));
        assert_eq!(w, "files/C/Windows/System32/Tasks/x y");
        assert_eq!(
            sanitize_member("/../../etc/passwd"),
            "%2E%2E/%2E%2E/etc/passwd"
        );
        assert_eq!(sanitize_member("C:\\x"), "C%3A/x");
    }

    #[test]
    fn event_log_names_keep_their_percent_and_every_name_round_trips() {
        let m = member_for_logical(
            OsFamily::Windows,
            Path::new("/Windows/System32/winevt/Logs/Microsoft-Windows-Sysmon%4Operational.evtx"),
        );
        assert!(
            m.ends_with("/Microsoft-Windows-Sysmon%4Operational.evtx"),
            "{m}"
        );
        for name in [
            "a%41", "%%41", "%", "x%4", "%+1", "%ff%", "%4O", "100%", "%2E%2E",
        ] {
            let e = sanitize_member(name);
            assert_eq!(unescape(&e), name.as_bytes(), "{name} -> {e}");
        }
        assert_eq!(sanitize_member("a%41"), "a%2541");
        assert_eq!(unescape("%+1"), b"%+1");
    }

    #[test]
    fn non_utf8_bytes_are_escaped() {
        use std::os::unix::ffi::OsStrExt;
        let p = Path::new(std::ffi::OsStr::from_bytes(b"/tmp/\xff\xfeok\xc3\xa9"));
        let m = member_for_logical(OsFamily::Linux, p);
        assert_eq!(m, "files/tmp/%FF%FEoké");
        assert_eq!(unescape("%FF%FEoké"), b"\xff\xfeok\xc3\xa9");
    }
}
