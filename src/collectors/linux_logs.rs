//! Linux log files, shared by `audit_logs`, `auth_logs` and `journal`: find the current and
//! rotated files (`auth.log`, `auth.log.1`, `auth.log.2.gz`, `auth.log-20240511.gz`), copy
//! each raw into the archive once (hashed whole), and hand its bytes back for parsing: from
//! memory when the file fit in `max_in_memory`, else by opening it again, so a 2 GB log costs
//! a bounded buffer, never its size. Gzip is recognized by its magic, not its name, and read
//! through a streaming decoder (`flate2`, pure Rust).
//!
//! Files are read oldest first (highest rotation number, then dated ones, then the live
//! file), so records follow the order things happened in.

use super::{CollectError, Context};
use crate::record::{LogFileSummary, SourceRef, Timestamp};
use crate::sink::{FileRequest, Sink};
use crate::source::FileType;
use crate::text::glob::file_name_match;
use std::collections::HashMap;
use std::io::{BufRead, BufReader, Cursor, Read};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

/// Longest line handed to a parser; the rest of a longer line is skipped and counted.
pub const MAX_LINE: usize = 1 << 20;

/// A log file found on the source.
#[derive(Debug, Clone)]
pub struct FoundLog {
    pub logical: PathBuf,
    pub display: String,
    pub name: String,
}

/// The rotation order key of a file name: numbered rotations (highest first), then dated
/// ones (oldest first), then the live file.
fn rotation_key(name: &str) -> (String, u8, i64, String) {
    let stem = name.strip_suffix(".gz").unwrap_or(name);
    if let Some((base, n)) = stem.rsplit_once('.')
        && let Ok(n) = n.parse::<i64>()
    {
        return (base.to_string(), 0, -n, String::new());
    }
    if let Some((base, date)) = stem.rsplit_once('-')
        && date.len() >= 8
        && date.bytes().all(|b| b.is_ascii_digit())
    {
        return (base.to_string(), 1, 0, date.to_string());
    }
    (stem.to_string(), 2, 0, String::new())
}

/// Every regular file (or in-scope link) of `dir` whose name matches one of `patterns`,
/// grouped by pattern and in rotation order. A missing folder is nothing to report (not
/// every host has auditd); an unreadable one is an error.
pub fn find_logs(
    ctx: &Context,
    dir: &str,
    patterns: &[String],
    out: &mut dyn Sink,
) -> Vec<FoundLog> {
    let logical = Path::new(dir);
    let entries = match ctx.fs.read_dir(logical) {
        Ok(e) => e,
        Err(e) if e.is_not_found() => return Vec::new(),
        Err(e) => {
            out.error(format!(
                "cannot list {}: {}",
                ctx.fs.display_path(logical),
                super::evtx_files::describe_error(ctx, &e)
            ));
            return Vec::new();
        }
    };
    let mut found: Vec<FoundLog> = Vec::new();
    for pattern in patterns {
        let mut matched: Vec<FoundLog> = entries
            .iter()
            .filter(|e| {
                e.meta
                    .as_ref()
                    .is_ok_and(|m| matches!(m.file_type, FileType::Regular | FileType::Symlink))
            })
            .filter_map(|e| {
                let name = e.name.to_string_lossy().into_owned();
                file_name_match(pattern, &name).then(|| FoundLog {
                    logical: e.path.clone(),
                    display: ctx.fs.display_path(&e.path),
                    name,
                })
            })
            .filter(|f| !ctx.exclude.iter().any(|x| x == &f.logical))
            .collect();
        matched.sort_by_key(|f| rotation_key(&f.name));
        for m in matched {
            if !found.iter().any(|f| f.logical == m.logical) {
                found.push(m);
            }
        }
    }
    found
}

/// How a collector copies its logs.
#[derive(Debug, Clone, Copy)]
pub struct CopyPlan {
    pub copy: bool,
    pub max_copy_size: u64,
    pub max_in_memory: u64,
}

/// A log copied into the archive.
pub struct CopiedLog {
    pub source: SourceRef,
    pub modified: Option<Timestamp>,
    /// The whole file, when it fit in memory.
    pub kept: Option<Vec<u8>>,
    pub read_error: Option<String>,
}

/// Hash (and copy) one log, keeping it in memory when it fits. `None` when it could not be
/// opened (already reported).
pub fn copy_log(
    ctx: &Context,
    out: &mut dyn Sink,
    log: &FoundLog,
    plan: CopyPlan,
) -> Result<Option<CopiedLog>, CollectError> {
    let mut opened = match ctx.fs.open(&log.logical) {
        Ok(f) => f,
        Err(e) if e.is_not_found() => {
            out.warn(format!("{}: vanished before it could be read", log.display));
            return Ok(None);
        }
        Err(e) => {
            out.error(format!(
                "cannot read {}: {}",
                log.display,
                super::evtx_files::describe_error(ctx, &e)
            ));
            return Ok(None);
        }
    };
    let req = FileRequest {
        display: log.display.clone(),
        logical: &log.logical,
        meta: &opened.meta,
        copy: plan.copy,
        copy_cap: plan.max_copy_size,
        keep: usize::try_from(plan.max_in_memory).unwrap_or(usize::MAX),
        member_name: None,
        keep_tail: false,
    };
    let o = out.file(&req, &mut opened.file)?;
    Ok(Some(CopiedLog {
        source: SourceRef {
            source_path: log.display.clone(),
            source_member: o.member,
            source_sha256: o.sha256,
        },
        modified: opened.meta.mtime,
        kept: o.kept_complete.then_some(o.kept),
        read_error: o.read_error,
    }))
}

/// The bytes to parse: the copy in memory, or the file opened again.
pub fn reopen(
    ctx: &Context,
    log: &FoundLog,
    copied: &mut CopiedLog,
) -> Result<Box<dyn Read + Send>, String> {
    if let Some(k) = copied.kept.take() {
        return Ok(Box::new(Cursor::new(k)));
    }
    match ctx.fs.open(&log.logical) {
        Ok(f) => Ok(Box::new(f.file)),
        Err(e) => Err(format!(
            "cannot re-open to parse: {}",
            super::evtx_files::describe_error(ctx, &e)
        )),
    }
}

/// A text reader that undoes gzip when the bytes start with its magic.
pub fn maybe_gunzip(r: Box<dyn Read + Send>) -> (Box<dyn BufRead + Send>, bool) {
    let mut b = BufReader::with_capacity(64 << 10, r);
    let gz = matches!(b.fill_buf(), Ok(head) if head.starts_with(&[0x1f, 0x8b]));
    if gz {
        let d = flate2::read::MultiGzDecoder::new(b);
        (Box::new(BufReader::with_capacity(64 << 10, d)), true)
    } else {
        (Box::new(b), false)
    }
}

/// Every line of `r` (1-based number, bytes without `\n` or a trailing `\r`), each capped at
/// [`MAX_LINE`], until `f` breaks. Returns (lines read, lines cut, read error).
pub fn for_each_line(
    r: &mut dyn BufRead,
    mut f: impl FnMut(u64, &[u8]) -> ControlFlow<()>,
) -> (u64, u64, Option<String>) {
    let mut line = Vec::new();
    let mut n = 0u64;
    let mut cut = 0u64;
    loop {
        line.clear();
        let mut too_long = false;
        // Read to the newline, keeping at most MAX_LINE bytes of it.
        loop {
            let buf = match r.fill_buf() {
                Ok(b) => b,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return (n, cut, Some(e.to_string())),
            };
            if buf.is_empty() {
                break;
            }
            let (chunk, done) = match buf.iter().position(|b| *b == b'\n') {
                Some(i) => (&buf[..i], Some(i + 1)),
                None => (buf, None),
            };
            let room = MAX_LINE.saturating_sub(line.len());
            if chunk.len() > room {
                too_long = true;
            }
            line.extend_from_slice(&chunk[..chunk.len().min(room)]);
            let used = done.unwrap_or(buf.len());
            r.consume(used);
            if done.is_some() {
                break;
            }
        }
        if line.is_empty() && !too_long {
            // End of input (an empty line in the middle still counts below).
            if let Ok([]) = r.fill_buf() {
                return (n, cut, None);
            }
        }
        n += 1;
        if too_long {
            cut += 1;
        }
        let l = line.strip_suffix(b"\r").unwrap_or(&line);
        if f(n, l).is_break() {
            return (n, cut, None);
        }
    }
}

/// uid → account name from the evidence's accounts.
pub fn uid_names(ctx: &Context) -> HashMap<u32, String> {
    ctx.fs
        .users()
        .into_iter()
        .filter_map(|u| u.uid.map(|id| (id, u.name)))
        .collect()
}

/// A summary with the file's source and time filled in.
pub fn summary_for(copied: &CopiedLog) -> LogFileSummary {
    LogFileSummary {
        source: copied.source.clone(),
        modified: copied.modified,
        ..LogFileSummary::default()
    }
}

/// Linux logs on Windows evidence: nothing to read.
pub fn not_linux(fs: &dyn crate::source::FileSource) -> Option<String> {
    (fs.os() == crate::source::OsFamily::Windows)
        .then(|| "Windows evidence: no Linux logs".to_string())
}

/// A message capped at 64 KiB on a char boundary.
pub fn cap_text(s: &str) -> String {
    crate::text::truncate_to_boundary(s, 64 << 10).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotation_order_is_oldest_first() {
        let mut names = vec![
            "auth.log",
            "auth.log.1",
            "auth.log.2.gz",
            "auth.log.10.gz",
            "secure-20240512",
            "secure-20240505.gz",
            "secure",
        ];
        names.sort_by_key(|n| rotation_key(n));
        assert_eq!(
            names,
            [
                "auth.log.10.gz",
                "auth.log.2.gz",
                "auth.log.1",
                "auth.log",
                "secure-20240505.gz",
                "secure-20240512",
                "secure"
            ]
        );
    }

    #[test]
    fn lines_are_capped_and_crlf_stripped() {
        let mut data = b"a\r\nb\n\n".to_vec();
        data.extend(vec![b'x'; MAX_LINE + 10]);
        data.extend(b"\nlast");
        let mut r: Box<dyn BufRead> = Box::new(Cursor::new(data));
        let mut got = Vec::new();
        let (n, cut, err) = for_each_line(&mut r, |i, l| {
            got.push((i, l.len()));
            ControlFlow::Continue(())
        });
        assert_eq!((n, cut, err), (5, 1, None));
        assert_eq!(got, [(1, 1), (2, 1), (3, 0), (4, MAX_LINE), (5, 4)]);
    }

    #[test]
    fn gzip_is_found_by_magic() {
        use std::io::Write;
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(b"one\ntwo\n").unwrap();
        let gz = e.finish().unwrap();
        let (mut r, is_gz) = maybe_gunzip(Box::new(Cursor::new(gz)));
        assert!(is_gz);
        let mut s = String::new();
        r.read_to_string(&mut s).unwrap();
        assert_eq!(s, "one\ntwo\n");
        let (_, is_gz) = maybe_gunzip(Box::new(Cursor::new(b"plain".to_vec())));
        assert!(!is_gz);
    }
}
