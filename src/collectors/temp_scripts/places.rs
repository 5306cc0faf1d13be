//! Where `temp_scripts` looks, and the per-file tests that do not need the file's content:
//! the time window and the extension.

use super::TempScriptsOptions;
use crate::record::{TimeField, Timestamp};
use crate::source::{FileMeta, FileSource, FileType, OsFamily};
use std::path::{Path, PathBuf};

/// One staging place to walk.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Place {
    pub path: PathBuf,
    /// 1 = top level only.
    pub depth: usize,
    pub user: Option<String>,
}

pub(super) fn places(source: &dyn FileSource, opts: &TempScriptsOptions) -> Vec<Place> {
    let deep = opts.max_depth.max(1);
    let place = |p: &str, depth: usize, user: Option<&str>| Place {
        path: PathBuf::from(p),
        depth,
        user: user.map(str::to_string),
    };
    let mut out = Vec::new();
    let users = source.users();
    if source.os() == OsFamily::Windows {
        out.push(place("/Windows/Temp", deep, None));
        out.push(place("/Users/Public", deep, None));
        out.push(place("/ProgramData", 1, None));
        for u in &users {
            let h = u.home.to_string_lossy();
            let name = Some(u.name.as_str());
            out.push(place(&format!("{h}/AppData/Local/Temp"), deep, name));
            out.push(place(&format!("{h}/Downloads"), deep, name));
            out.push(place(&format!("{h}/AppData/Roaming"), 1, name));
            out.push(place(&format!("{h}/AppData/Local"), 1, name));
        }
    } else {
        for p in ["/tmp", "/var/tmp", "/dev/shm"] {
            out.push(place(p, deep, None));
        }
        // /run/user/<uid>: each logged-in user's runtime directory (tmpfs).
        let mut runtime = source.read_dir(Path::new("/run/user")).unwrap_or_default();
        runtime.sort_by(|a, b| a.name.cmp(&b.name));
        for e in runtime {
            if e.meta
                .as_ref()
                .is_ok_and(|m| m.file_type == FileType::Directory)
            {
                let uid: Option<u32> = e.name.to_str().and_then(|s| s.parse().ok());
                let name = uid.and_then(|uid| users.iter().find(|u| u.uid == Some(uid)));
                out.push(Place {
                    path: e.path,
                    depth: deep,
                    user: name.map(|u| u.name.clone()),
                });
            }
        }
        for u in &users {
            out.push(Place {
                path: u.home.join("Downloads"),
                depth: deep,
                user: Some(u.name.clone()),
            });
        }
    }
    for p in &opts.extra_paths {
        out.push(place(p, deep, None));
    }
    // A place inside another recursive place is covered by it (C:\Users\Public\Downloads
    // under C:\Users\Public); where directory identities exist the walker would also catch
    // it, but not every file system gives one.
    let ci = source.os() == OsFamily::Windows;
    let key = |p: &Path| {
        let s = p.to_string_lossy().trim_end_matches('/').to_string();
        if ci { s.to_lowercase() } else { s }
    };
    let mut kept: Vec<Place> = Vec::new();
    for p in out {
        let k = key(&p.path);
        let covered = kept.iter().any(|q| {
            let qk = key(&q.path);
            qk == k || (q.depth > 1 && k.starts_with(&format!("{qk}/")))
        });
        if !covered {
            kept.push(p);
        }
    }
    kept
}

/// Which of `fields` are at or after `since`; `None` when the file is provably older.
pub(super) fn recent_by(
    meta: &FileMeta,
    since: Option<Timestamp>,
    fields: &[TimeField],
) -> Option<Vec<TimeField>> {
    let Some(since) = since else {
        return Some(Vec::new());
    };
    let mut hits = Vec::new();
    let mut known = false;
    for f in fields {
        let t = match f {
            TimeField::Mtime => meta.mtime,
            TimeField::Ctime => meta.ctime,
            TimeField::Btime => meta.btime,
        };
        if let Some(t) = t {
            known = true;
            if t >= since {
                hits.push(*f);
            }
        }
    }
    // A file without any timestamp cannot be proven old: keep it.
    (!known || !hits.is_empty()).then_some(hits)
}

pub(super) fn extension_of(name: &std::ffi::OsStr) -> Option<String> {
    let name = name.to_string_lossy();
    let (stem, ext) = name.rsplit_once('.')?;
    // `.bashrc` is a name, not an extension.
    (!stem.is_empty() && !ext.is_empty()).then(|| ext.to_lowercase())
}

#[cfg(unix)]
pub(super) fn raw_path_b64(p: &Path) -> Option<String> {
    use std::os::unix::ffi::OsStrExt;
    crate::text::base64::encode_if_not_utf8(p.as_os_str().as_bytes())
}

#[cfg(not(unix))]
pub(super) fn raw_path_b64(_: &Path) -> Option<String> {
    None
}
