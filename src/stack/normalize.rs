//! Command-line and path SHAPES: the same program run on different hosts must stack into one
//! key even though its command line carries a PID, a temp-file name, a GUID or the user's
//! profile path. The rules, applied in this order (documented in the README too):
//!
//! 1. Windows evidence is lowercased whole (its paths and most of its switches are
//!    case-insensitive: `C:\Windows\System32\CMD.EXE` and `c:\windows\system32\cmd.exe` are
//!    one program). Linux evidence keeps its case.
//! 2. Runs of whitespace become one space; the ends are trimmed.
//! 3. GUIDs (`8-4-4-4-12` hex, braces kept) become `<guid>`.
//! 4. The profile segment after `\Users\`, `/Users/`, `/home/` and
//!    `\Documents and Settings\` becomes `<user>` (except shared ones: `Public`, `Default`,
//!    `Default User`, `All Users`). A user name with a space is cut at the space: only its
//!    first word is replaced (stable across hosts anyway, since the rest stays).
//! 5. Inside a temp directory (`/tmp/`, `/var/tmp/`, `/dev/shm/`, `\Temp\`, `\Tmp\`,
//!    `%TEMP%\`, `$env:TEMP\`, `\INetCache\`), up to the end of that path, every
//!    alphanumeric run of 4+ characters that holds a digit or mixes upper and lower case is a
//!    random name: `<rand>` (`tmp.Xa8Kq2Lm0P`, `7zS8A2B.tmp`, `_MEI48562`).
//! 6. Everywhere, alphanumeric runs are then classified: `0x`+hex → `<hex>`; all digits →
//!    `<n>` (PIDs, ports, IP octets, versions, timestamps); 8+ hex characters with a digit →
//!    `<hex>` (hashes, ids); `tmp` + 1–8 hex with a digit → `tmp<rand>` (GetTempFileName);
//!    a run of 4+ digits glued to letters → `<n>` there (`session12345` → `session<n>`).
//!    Short digit runs glued to letters stay (`python3`, `win32`, `sha256sum`): they name
//!    programs.
//! 7. The result is cut at 1024 characters (`…` marks the cut).
//!
//! Only the first 64 KiB of the text are read: a shape is at most 1024 characters, and a
//! megabyte command line must cost what a short one does (two lines that differ only past
//! 64 KiB stack together).
//!
//! What this costs: two different IPs or ports in the same tool's command line stack
//! together (the rest of the line still has to match), and long base64 payloads are kept
//! verbatim (they make a key unique, which is what a hunt wants to see).

/// Longest shape kept, in characters.
pub const MAX_SHAPE_CHARS: usize = 1024;

/// Profile segments that are not a person's name and so stay as written.
const SHARED_PROFILES: &[&str] = &["public", "default", "default user", "all users"];

/// Bytes of the text a shape is made from (see the module comment).
pub const MAX_INPUT_BYTES: usize = 64 * 1024;

/// The shape of a command line or path from evidence of the given OS.
pub fn shape(text: &str, windows: bool) -> String {
    let text = crate::text::truncate_to_boundary(text, MAX_INPUT_BYTES);
    let text = if windows {
        text.to_lowercase()
    } else {
        text.to_string()
    };
    let text = collapse_whitespace(&text);
    let text = replace_guids(&text);
    let text = replace_users(&text);
    let text = classify_tokens(&text);
    cap(text)
}

fn collapse_whitespace(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut space = false;
    for c in s.trim().chars() {
        if c.is_whitespace() {
            space = true;
        } else {
            if space {
                out.push(' ');
                space = false;
            }
            out.push(c);
        }
    }
    out
}

fn is_hex(b: u8) -> bool {
    b.is_ascii_hexdigit()
}

/// `xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx` at byte `i`, not glued to more hex on either side.
fn guid_at(b: &[u8], i: usize) -> bool {
    const GROUPS: [usize; 5] = [8, 4, 4, 4, 12];
    if i > 0 && is_hex(b[i - 1]) {
        return false;
    }
    let mut j = i;
    for (g, len) in GROUPS.iter().enumerate() {
        if g > 0 {
            if b.get(j) != Some(&b'-') {
                return false;
            }
            j += 1;
        }
        for _ in 0..*len {
            match b.get(j) {
                Some(&c) if is_hex(c) => j += 1,
                _ => return false,
            }
        }
    }
    !b.get(j).is_some_and(|&c| is_hex(c))
}

fn replace_guids(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    let mut copied = 0;
    while i < b.len() {
        if guid_at(b, i) {
            out.push_str(&s[copied..i]);
            out.push_str("<guid>");
            i += 36;
            copied = i;
        } else {
            i += 1;
        }
    }
    out.push_str(&s[copied..]);
    out
}

/// Characters that end a path segment in a command line.
fn ends_segment(c: char) -> bool {
    matches!(
        c,
        '\\' | '/' | '"' | '\'' | ';' | ',' | '|' | '&' | '<' | '>' | '(' | ')' | '='
    ) || c.is_whitespace()
}

fn replace_users(s: &str) -> String {
    const MARKERS: &[&str] = &[
        "\\users\\",
        "/users/",
        "/home/",
        "\\documents and settings\\",
    ];
    let lower = s.to_ascii_lowercase();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        let marker = MARKERS.iter().find(|m| lower[i..].starts_with(*m));
        let Some(m) = marker else {
            // `i` only ever stops on char boundaries: markers are ASCII.
            let c = s[i..].chars().next().unwrap_or(' ');
            out.push(c);
            i += c.len_utf8();
            continue;
        };
        let start = i + m.len();
        out.push_str(&s[i..start]);
        let rest = &s[start..];
        // A shared profile may hold a space ("All Users"): compare before cutting at one.
        if let Some(shared) = SHARED_PROFILES.iter().find(|p| {
            rest.len() >= p.len()
                && rest.is_char_boundary(p.len())
                && rest[..p.len()].eq_ignore_ascii_case(p)
                && rest[p.len()..].chars().next().is_none_or(ends_segment)
        }) {
            out.push_str(&rest[..shared.len()]);
            i = start + shared.len();
            continue;
        }
        let seg_len = rest.find(ends_segment).unwrap_or(rest.len());
        if seg_len > 0 {
            out.push_str("<user>");
        }
        i = start + seg_len;
    }
    out
}

/// Byte ranges of `s` that lie inside a temp directory path (after the marker, up to the end
/// of that path).
fn temp_ranges(s: &str) -> Vec<(usize, usize)> {
    const MARKERS: &[&str] = &[
        "/tmp/",
        "/var/tmp/",
        "/dev/shm/",
        "\\temp\\",
        "\\tmp\\",
        "/temp/",
        "%temp%\\",
        "%tmp%\\",
        "$env:temp\\",
        "$env:tmp\\",
        "\\inetcache\\",
    ];
    let lower = s.to_ascii_lowercase();
    let mut ranges = Vec::new();
    let mut i = 0;
    while i < lower.len() {
        match MARKERS.iter().find(|m| lower[i..].starts_with(*m)) {
            Some(m) => {
                let start = i + m.len();
                let end = s[start..]
                    .find(|c: char| c.is_whitespace() || matches!(c, '"' | '\'' | ';' | '|' | '&'))
                    .map_or(s.len(), |e| start + e);
                ranges.push((start, end));
                i = end.max(start);
            }
            None => i += lower[i..].chars().next().map_or(1, char::len_utf8),
        }
    }
    ranges
}

/// Placeholders inserted by earlier steps (`<guid>`, `<user>`) must not be re-read as tokens.
fn placeholder_at(s: &str, i: usize) -> Option<usize> {
    ["<guid>", "<user>"]
        .iter()
        .find(|p| s[i..].starts_with(*p))
        .map(|p| p.len())
}

fn classify_tokens(s: &str) -> String {
    let temp = temp_ranges(s);
    // The ranges are sorted and tokens are visited left to right: a cursor, not a scan of
    // every range per token (that was quadratic on a line of `/tmp/x ` repeated).
    let mut next_range = 0;
    let mut in_temp = |i: usize| {
        while temp.get(next_range).is_some_and(|&(_, end)| end <= i) {
            next_range += 1;
        }
        temp.get(next_range).is_some_and(|&(a, b)| i >= a && i < b)
    };
    let b = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < b.len() {
        if let Some(len) = placeholder_at(s, i) {
            out.push_str(&s[i..i + len]);
            i += len;
            continue;
        }
        if b[i].is_ascii_alphanumeric() {
            // `_` joins a token (`x86_64`, `python3_11`): split there, its digits would
            // read as a number and `x86_64` would become `x86_<n>`.
            let end = b[i..]
                .iter()
                .position(|&c| !(c.is_ascii_alphanumeric() || c == b'_'))
                .map_or(b.len(), |p| i + p);
            out.push_str(&token_shape(&s[i..end], in_temp(i)));
            i = end;
        } else {
            // Copy one whole (possibly multi-byte) character.
            let c = s[i..].chars().next().unwrap_or(' ');
            out.push(c);
            i += c.len_utf8();
        }
    }
    out
}

fn token_shape(t: &str, in_temp: bool) -> String {
    let b = t.as_bytes();
    let digits = b.iter().filter(|c| c.is_ascii_digit()).count();
    let upper = b.iter().filter(|c| c.is_ascii_uppercase()).count();
    let lower = b.iter().filter(|c| c.is_ascii_lowercase()).count();
    if digits == b.len() {
        return "<n>".into();
    }
    if b.len() > 2
        && (t.starts_with("0x") || t.starts_with("0X"))
        && b[2..].iter().all(|&c| is_hex(c))
    {
        return "<hex>".into();
    }
    if in_temp && b.len() >= 4 && (digits > 0 || (upper > 0 && lower > 0 && upper + lower > 1)) {
        // A file named `Setup.exe` in a temp dir is not random; `tmp.Xa8Kq2Lm0P` is. Mixed
        // case alone counts only past the first letter (`Setup` is capitalised, not random).
        let inner_upper = b[1..].iter().filter(|c| c.is_ascii_uppercase()).count();
        if digits > 0 || (inner_upper > 0 && lower > 0) {
            return "<rand>".into();
        }
    }
    if b.len() >= 8 && digits > 0 && b.iter().all(|&c| is_hex(c)) {
        return "<hex>".into();
    }
    let lower_t = t.to_ascii_lowercase();
    if let Some(rest) = lower_t.strip_prefix("tmp")
        && (1..=8).contains(&rest.len())
        && rest.bytes().all(is_hex)
        && rest.bytes().any(|c| c.is_ascii_digit())
    {
        return format!("{}<rand>", &t[..3]);
    }
    long_digit_runs(t)
}

/// Replace runs of 4+ digits inside a mixed token with `<n>`.
fn long_digit_runs(t: &str) -> String {
    let b = t.as_bytes();
    let mut out = String::with_capacity(t.len());
    let mut i = 0;
    while i < b.len() {
        if b[i].is_ascii_digit() {
            let end = b[i..]
                .iter()
                .position(|c| !c.is_ascii_digit())
                .map_or(b.len(), |p| i + p);
            if end - i >= 4 {
                out.push_str("<n>");
            } else {
                out.push_str(&t[i..end]);
            }
            i = end;
        } else {
            out.push(char::from(b[i]));
            i += 1;
        }
    }
    out
}

fn cap(s: String) -> String {
    match s.char_indices().nth(MAX_SHAPE_CHARS) {
        Some((cut, _)) => {
            let mut s = s;
            s.truncate(cut);
            s.push('…');
            s
        }
        None => s,
    }
}

/// Cut an example value to `max` characters (examples are for the analyst's eye only).
pub fn cut(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::shape;

    #[test]
    fn windows_is_lowercased_and_users_collapse() {
        assert_eq!(
            shape(
                r#""C:\Users\Alice\AppData\Local\Temp\7zS8A2B.tmp\Setup.exe"  /S"#,
                true
            ),
            r#""c:\users\<user>\appdata\local\temp\<rand>.tmp\setup.exe" /s"#
        );
        assert_eq!(
            shape(
                r"C:\Users\bob\AppData\Local\Temp\7zSFF01.tmp\setup.exe /s",
                true
            ),
            shape(
                r"c:\users\CAROL\appdata\local\temp\7zs0c3d.tmp\SETUP.EXE /S",
                true
            )
        );
    }

    #[test]
    fn shared_profiles_stay() {
        assert_eq!(
            shape(r"C:\Users\Public\x.exe", true),
            r"c:\users\public\x.exe"
        );
        assert_eq!(
            shape(r"C:\Documents and Settings\All Users\x.exe", true),
            r"c:\documents and settings\all users\x.exe"
        );
    }

    #[test]
    fn linux_keeps_case_and_collapses_homes_numbers_guids() {
        assert_eq!(
            shape("/home/alice/.venv/bin/python3 -m http.server 8080", false),
            "/home/<user>/.venv/bin/python3 -m http.server <n>"
        );
        assert_eq!(
            shape(
                "/usr/bin/Foo --id 0c1f2a3b-4d5e-6f70-8192-a3b4c5d6e7f8 --pid 4242",
                false
            ),
            "/usr/bin/Foo --id <guid> --pid <n>"
        );
        assert_eq!(
            shape(
                "svchost.exe -k netsvcs -p -s {0C1F2A3B-4D5E-6F70-8192-A3B4C5D6E7F8}",
                true
            ),
            "svchost.exe -k netsvcs -p -s {<guid>}"
        );
    }

    #[test]
    fn temp_names_are_random_only_inside_temp_dirs() {
        assert_eq!(
            shape("/bin/sh /tmp/tmp.Xa8Kq2Lm0P/run.sh", false),
            "/bin/sh /tmp/tmp.<rand>/run.sh"
        );
        assert_eq!(
            shape("/bin/sh /tmp/tmp.Qz3bN7wPcd/run.sh", false),
            "/bin/sh /tmp/tmp.<rand>/run.sh"
        );
        // Outside temp dirs, short digit runs glued to letters name programs.
        assert_eq!(
            shape("/usr/bin/sha256sum /etc/x86_64.conf", false),
            "/usr/bin/sha256sum /etc/x86_64.conf"
        );
        assert_eq!(
            shape("/usr/lib/x86_64-linux-gnu/ld.so --pid 31337", false),
            "/usr/lib/x86_64-linux-gnu/ld.so --pid <n>"
        );
        // A long digit run inside an identifier is still a number.
        assert_eq!(shape("/opt/job_20261207 run", false), "/opt/job_<n> run");
        // A capitalised plain word in a temp dir is a name, not noise.
        assert_eq!(shape("/tmp/Setup.sh", false), "/tmp/Setup.sh");
        // The temp context ends with the path.
        assert_eq!(
            shape("/tmp/abc1 session12345 python3", false),
            "/tmp/<rand> session<n> python3"
        );
    }

    #[test]
    fn hex_and_windows_temp_files() {
        assert_eq!(
            shape("x --key 0x1F --hash deadbeef00", false),
            "x --key <hex> --hash <hex>"
        );
        assert_eq!(
            shape(r"C:\Windows\tmpA3F2.tmp", true),
            r"c:\windows\tmp<rand>.tmp"
        );
        assert_eq!(
            shape("systemd-tmpfiles --clean", false),
            "systemd-tmpfiles --clean"
        );
    }

    #[test]
    fn only_the_first_64_kib_make_the_shape() {
        // A line of temp paths repeated: every token is in a temp range.
        let line = "/tmp/a1B2 ".repeat(20_000);
        let head = crate::text::truncate_to_boundary(&line, super::MAX_INPUT_BYTES);
        assert_eq!(shape(&line, false), shape(head, false));
        assert!(shape(&line, false).starts_with("/tmp/<rand> /tmp/<rand> "));
        let multi = "é".repeat(super::MAX_INPUT_BYTES);
        assert_eq!(
            shape(&multi, true).chars().count(),
            super::MAX_SHAPE_CHARS + 1
        );
    }

    #[test]
    fn hostile_text_is_capped_and_never_panics() {
        let long = "a".repeat(5000);
        let s = shape(&long, false);
        assert_eq!(s.chars().count(), super::MAX_SHAPE_CHARS + 1);
        for t in [
            "/home/",
            "\\users\\é",
            "/tmp/",
            "ü/home/ü",
            "{0c1f2a3b-4d5e",
            "0x",
            "tmp",
        ] {
            let _ = shape(t, true);
            let _ = shape(t, false);
        }
    }
}
