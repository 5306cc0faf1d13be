//! Where a path points: temp-like and user-writable locations on Windows and Unix, and the
//! path-looking tokens of a command line. Rules use these through `path_in_temp` /
//! `path_in_user_writable`; correlation uses the tokens to join files to commands.

/// Lowercase, `/` → `\`, environment-variable forms of the user-writable roots expanded to a
/// recognisable marker, so one list of needles serves Windows paths as written in tasks
/// (`%LOCALAPPDATA%\...`), in logs (`C:\Users\bob\AppData\...`) and in PowerShell (`$env:TEMP`).
fn windows_norm(path: &str) -> String {
    let mut p = path.to_lowercase().replace('/', "\\");
    for (var, rep) in [
        ("%temp%", "\\temp\\"),
        ("%tmp%", "\\temp\\"),
        ("$env:temp", "\\temp\\"),
        ("$env:tmp", "\\temp\\"),
        ("%localappdata%", "\\users\\someone\\appdata\\local\\"),
        ("$env:localappdata", "\\users\\someone\\appdata\\local\\"),
        ("%appdata%", "\\users\\someone\\appdata\\roaming\\"),
        ("$env:appdata", "\\users\\someone\\appdata\\roaming\\"),
        ("%public%", "\\users\\public\\"),
        ("$env:public", "\\users\\public\\"),
        ("%programdata%", "\\programdata\\"),
        ("$env:programdata", "\\programdata\\"),
        ("%allusersprofile%", "\\programdata\\"),
        ("%userprofile%", "\\users\\someone\\"),
        ("$env:userprofile", "\\users\\someone\\"),
    ] {
        if p.contains(var) {
            p = p.replace(var, rep);
        }
    }
    p
}

/// Temp-like Windows locations: anything written there is staged, not installed.
const WIN_TEMP: &[&str] = &[
    "\\temp\\",
    "\\tmp\\",
    "\\downloads\\",
    "\\users\\public\\",
    "\\$recycle.bin\\",
    "\\perflogs\\",
    "\\windows\\tasks\\",
    "\\windows\\tracing\\",
    "\\spool\\drivers\\color\\",
    "\\appdata\\local\\microsoft\\windows\\inetcache\\",
    "\\content.outlook\\",
];

/// Further user-writable Windows locations (installed per-user software also lives here, so
/// rules weigh them lower than temp): all of a user profile, and ProgramData.
const WIN_USER_WRITABLE: &[&str] = &["\\users\\", "\\programdata\\"];

/// Drive-root folders that keep the restrictive ACLs; any other folder created at a drive root
/// inherits "Authenticated Users: create files/folders" from the root, so users can plant or
/// replace files in it (`C:\tools\`, `C:\Python39\`, `C:\AtomicRedTeam\`).
const WIN_ROOT_PROTECTED: &[&str] = &[
    "windows",
    "program files",
    "program files (x86)",
    "programdata",
    "users",
    "documents and settings",
    "system volume information",
    "recovery",
    "boot",
    "windows.old",
    "msocache",
];

const UNIX_TEMP: &[&str] = &[
    "/tmp/",
    "/var/tmp/",
    "/dev/shm/",
    "/run/shm/",
    "/var/run/shm/",
];

/// True for a path in a temp-like place: `%TEMP%`, `C:\TMP`, Downloads, `Users\Public`,
/// `$Recycle.Bin`, `/tmp`, `/var/tmp`, `/dev/shm`, or any hidden directory under those.
pub fn path_in_temp(path: &str) -> bool {
    let p = path.trim().trim_matches(|c| c == '"' || c == '\'');
    if p.is_empty() {
        return false;
    }
    if looks_unix(p) {
        let with_slash = format!("{p}/");
        return UNIX_TEMP.iter().any(|t| with_slash.starts_with(t));
    }
    let w = windows_norm(p);
    WIN_TEMP.iter().any(|t| w.contains(t))
}

/// True for a path users can write without privileges: the temp places of [`path_in_temp`],
/// AppData, ProgramData, the desktop and documents, and hidden dot-directories in Unix homes
/// (`/home/x/.cache/...`, `/root/.x/...`) or at the root (`/.x/`).
pub fn path_in_user_writable(path: &str) -> bool {
    if path_in_temp(path) {
        return true;
    }
    let p = path.trim().trim_matches(|c| c == '"' || c == '\'');
    if looks_unix(p) {
        return unix_hidden_dir(p);
    }
    let w = windows_norm(p);
    WIN_USER_WRITABLE.iter().any(|t| w.contains(t)) || in_custom_root_folder(&w)
}

/// `x:\<folder>\...` where the folder is not one of the protected ones.
fn in_custom_root_folder(w: &str) -> bool {
    let b = w.as_bytes();
    if b.len() < 4 || !b[0].is_ascii_alphabetic() || b[1] != b':' || b[2] != b'\\' {
        return false;
    }
    let rest = &w[3..];
    match rest.split_once('\\') {
        Some((dir, file)) => {
            !dir.is_empty() && !file.is_empty() && !WIN_ROOT_PROTECTED.contains(&dir)
        }
        None => false,
    }
}

fn looks_unix(p: &str) -> bool {
    p.starts_with('/') && !p.contains('\\')
}

/// A hidden directory component in a home (`/home/u/.x/`, `/root/.x/`) or at `/.x/`.
fn unix_hidden_dir(p: &str) -> bool {
    let parts: Vec<&str> = p.split('/').filter(|s| !s.is_empty()).collect();
    // Directories only: the last component is the file itself.
    let dirs = &parts[..parts.len().saturating_sub(1)];
    let in_home = matches!(dirs.first(), Some(&"home") | Some(&"root"));
    dirs.iter().enumerate().any(|(i, d)| {
        let hidden = d.starts_with('.') && *d != "." && *d != "..";
        hidden && (i == 0 || in_home)
    })
}

/// Path-looking tokens of a command line: quoted strings and words that contain a path
/// separator or a drive letter, with surrounding punctuation trimmed.
pub fn path_tokens(cmd: &str) -> Vec<&str> {
    // Quoted strings first (they may hold spaces), then the words between them.
    let mut raw: Vec<&str> = Vec::new();
    let mut rest = cmd;
    while !rest.is_empty() {
        match rest.find('"') {
            Some(q) => {
                raw.extend(split_words(&rest[..q]));
                let after = &rest[q + 1..];
                let close = after.find('"').unwrap_or(after.len());
                raw.push(&after[..close]);
                rest = after.get(close + 1..).unwrap_or("");
            }
            None => {
                raw.extend(split_words(rest));
                break;
            }
        }
    }
    let mut out = Vec::new();
    for tok in raw {
        let t = tok.trim_matches(|c: char| {
            c.is_whitespace() || matches!(c, '=' | '`' | '{' | '}' | '[' | ']' | '(' | ')')
        });
        // `/i:C:\x.sct`-style switches carry the path after the colon.
        // Only a drive letter (ASCII) before the colon counts; `get` keeps a multi-byte
        // character there from becoming a panic.
        let t = match t.find(":\\").or_else(|| t.find(":/")) {
            Some(i)
                if i >= 2 && t.starts_with('/') && t.as_bytes()[i - 1].is_ascii_alphabetic() =>
            {
                t.get(i - 1..).unwrap_or(t)
            }
            _ => t,
        };
        let t = t.strip_prefix("file://").unwrap_or(t);
        if t.len() < 3 || t.contains("://") {
            continue;
        }
        if t.contains('\\') || t.starts_with('/') || t.contains('%') || t.contains("$env:") {
            out.push(t);
        }
    }
    out
}

fn split_words(s: &str) -> impl Iterator<Item = &str> {
    s.split(|c: char| c.is_whitespace() || matches!(c, '\'' | ',' | ';' | '|' | '&' | '<' | '>'))
        .filter(|w| !w.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_writable_paths() {
        for p in [
            "C:\\Users\\bob\\AppData\\Local\\Temp\\a.ps1",
            "%TEMP%\\x.exe",
            "C:\\TMP\\mim.exe",
            "c:/users/public/x.dll",
            "C:\\Users\\bob\\Downloads\\invoice.exe",
            "/tmp/x.sh",
            "/dev/shm/.x",
            "/var/tmp/a",
        ] {
            assert!(path_in_temp(p), "{p}");
            assert!(path_in_user_writable(p), "{p}");
        }
        for p in [
            "%LOCALAPPDATA%\\Microsoft\\OneDrive\\OneDriveStandaloneUpdater.exe",
            "C:\\ProgramData\\x\\y.exe",
            "C:\\tools\\shell.cmd",
            "D:\\AtomicRedTeam\\atomics\\x.dll",
            "/home/bob/.cache/x",
            "/root/.local/x",
            "/.hidden/x",
        ] {
            assert!(!path_in_temp(p), "{p}");
            assert!(path_in_user_writable(p), "{p}");
        }
        for p in [
            "C:\\Windows\\System32\\rundll32.exe",
            "C:\\Program Files (x86)\\Google\\Update\\GoogleUpdate.exe",
            "C:\\x.exe",
            "%windir%\\system32\\gatherNetworkInfo.vbs",
            "/usr/bin/bash",
            "/home/bob/bin/x",
            "/tmpfoo/x",
            "",
        ] {
            assert!(!path_in_user_writable(p), "{p}");
        }
    }

    #[test]
    fn path_tokens_extract() {
        let t = path_tokens(
            "regsvr32 /s /u /i:C:\\Users\\x\\AppData\\a.sct scrobj.dll \"C:\\TMP\\b c.exe\"",
        );
        assert!(t.contains(&"C:\\Users\\x\\AppData\\a.sct"), "{t:?}");
        assert!(t.contains(&"C:\\TMP\\b c.exe"), "{t:?}");
        assert!(path_tokens("curl http://x/y | sh").is_empty());
        // A multi-byte character before `:\` (a hostile argument) is not a drive letter.
        assert_eq!(
            path_tokens("/usr/bin/x /é:\\x"),
            vec!["/usr/bin/x", "/é:\\x"]
        );
        assert!(path_tokens("/é:/").len() <= 1);
    }
}
