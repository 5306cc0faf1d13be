//! Reading one archive for stacking: its manifest's host facts, then `records/*.jsonl`
//! streamed line by line (a member is never held whole in memory), each line deserialized
//! into its typed record.

use super::StackError;
use crate::archive::Identities;
use crate::source::{HostFacts, OsFamily, SourceDescription};
use serde::Deserialize;
use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::path::Path;

/// A records line longer than this is skipped (and counted): our own writer never produces
/// one, so it is damage or tampering, and it must not take the analyst's memory with it.
const MAX_LINE: usize = 16 << 20;
/// Record lines marked from one archive's findings: far above what irsnap writes (its own
/// evidence cap is 100,000), a bound on what a forged findings file can cost.
const MAX_FLAGGED_LINES: usize = 200_000;

/// The manifest fields stacking needs. Read through a minimal struct so archives from other
/// irsnap versions (new collectors, new manifest fields) still stack.
#[derive(Debug, Deserialize)]
pub(crate) struct ManifestHead {
    #[serde(default)]
    pub host: HostFacts,
    pub source: SourceDescription,
}

impl ManifestHead {
    pub fn os(&self) -> OsFamily {
        match self.source {
            SourceDescription::Live { os } | SourceDescription::OfflineRoot { os, .. } => os,
        }
    }
}

pub(crate) struct OpenArchive {
    pub zip: zip::ZipArchive<Box<dyn crate::archive::ReadSeek>>,
    pub head: ManifestHead,
}

/// Open an archive (plain, or age-encrypted with `identities`) and read its manifest.
pub(crate) fn open(path: &Path, identities: &Identities) -> Result<OpenArchive, StackError> {
    let mut zip = crate::archive::open_archive(path, identities).map_err(|e| StackError::Open {
        path: path.to_path_buf(),
        cause: e,
    })?;
    let head = {
        let member = zip
            .by_name("manifest.json")
            .map_err(|source| StackError::Manifest {
                path: path.to_path_buf(),
                reason: source.to_string(),
            })?;
        serde_json::from_reader(BufReader::new(member)).map_err(|e| StackError::Manifest {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?
    };
    Ok(OpenArchive { zip, head })
}

/// One parsed line of a records member.
pub(crate) enum Line<T> {
    /// A record, with the part of its member and its 1-based line: what findings' evidence
    /// points at.
    Record(T, u32, u64),
    /// Not a record of the expected type (damaged, cut, or longer than `MAX_LINE`).
    Bad(String),
}

/// Stream `records/<collector>.jsonl` (and its further parts, `records/<collector>.2.jsonl`
/// ...) and hand every line to `each`. A missing member is not an error (the collector did
/// not run there). A read error (a damaged deflate stream, a CRC mismatch at the end) is,
/// because the member can no longer be trusted.
pub(crate) fn each_record<T, F>(
    archive: &mut OpenArchive,
    path: &Path,
    collector: &str,
    mut each: F,
) -> Result<(), StackError>
where
    T: for<'de> Deserialize<'de>,
    F: FnMut(Line<T>),
{
    for part in 1u32.. {
        let name = if part == 1 {
            format!("records/{collector}.jsonl")
        } else {
            format!("records/{collector}.{part}.jsonl")
        };
        if !each_record_of(archive, path, &name, part, &mut each)? {
            break;
        }
    }
    Ok(())
}

/// One records member; `false` when the archive has no such member.
fn each_record_of<T, F>(
    archive: &mut OpenArchive,
    path: &Path,
    name: &str,
    part: u32,
    each: &mut F,
) -> Result<bool, StackError>
where
    T: for<'de> Deserialize<'de>,
    F: FnMut(Line<T>),
{
    let name = name.to_string();
    let member = match archive.zip.by_name(&name) {
        Ok(m) => m,
        Err(zip::result::ZipError::FileNotFound) => return Ok(false),
        Err(e) => {
            return Err(StackError::Member {
                path: path.to_path_buf(),
                member: name,
                reason: e.to_string(),
            });
        }
    };
    let mut reader = BufReader::with_capacity(64 << 10, member);
    let mut buf = Vec::new();
    let mut line_no = 0u64;
    loop {
        buf.clear();
        let complete = match read_line_capped(&mut reader, &mut buf, MAX_LINE) {
            Ok(Some(c)) => c,
            Ok(None) => break,
            Err(e) => {
                return Err(StackError::Member {
                    path: path.to_path_buf(),
                    member: name,
                    reason: e.to_string(),
                });
            }
        };
        line_no += 1;
        if !complete {
            each(Line::Bad(format!(
                "{name} line {line_no}: longer than {MAX_LINE} bytes"
            )));
            continue;
        }
        if buf.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match serde_json::from_slice::<T>(&buf) {
            Ok(r) => each(Line::Record(r, part, line_no)),
            Err(e) => each(Line::Bad(format!("{name} line {line_no}: {e}"))),
        }
    }
    Ok(true)
}

/// Read one `\n`-terminated line into `buf`, keeping at most `cap` bytes; the rest of a
/// longer line is read and dropped. `None` at end of input; `Some(false)` when cut.
fn read_line_capped(
    r: &mut impl BufRead,
    buf: &mut Vec<u8>,
    cap: usize,
) -> std::io::Result<Option<bool>> {
    let mut any = false;
    let mut complete = true;
    loop {
        let chunk = match r.fill_buf() {
            Ok(c) => c,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if chunk.is_empty() {
            return Ok(any.then_some(complete));
        }
        any = true;
        let (take, done) = match chunk.iter().position(|&b| b == b'\n') {
            Some(p) => (p, true),
            None => (chunk.len(), false),
        };
        let room = cap.saturating_sub(buf.len());
        if take > room {
            complete = false;
        }
        buf.extend_from_slice(&chunk[..take.min(room)]);
        r.consume(if done { take + 1 } else { take });
        if done {
            return Ok(Some(complete));
        }
    }
}

/// The most severe finding pointing at each record line, from `findings.jsonl`: keyed by
/// (collector, part, line). An archive without findings, or with a damaged findings file,
/// marks nothing (findings are a hint here; the counts do not depend on them).
pub(crate) fn flagged_lines(
    archive: &mut OpenArchive,
) -> HashMap<(crate::ids::CollectorId, u32, u64), crate::detect::Severity> {
    #[derive(Deserialize)]
    struct Evidence {
        member: String,
        line: u64,
    }
    #[derive(Deserialize)]
    struct FindingHead {
        severity: crate::detect::Severity,
        #[serde(default)]
        evidence: Vec<Evidence>,
    }
    let mut out = HashMap::new();
    let Ok(member) = archive.zip.by_name("findings.jsonl") else {
        return out;
    };
    let mut reader = BufReader::with_capacity(64 << 10, member);
    let mut buf = Vec::new();
    loop {
        buf.clear();
        match read_line_capped(&mut reader, &mut buf, MAX_LINE) {
            Ok(Some(true)) => {}
            Ok(Some(false)) => continue,
            Ok(None) | Err(_) => break,
        }
        let Ok(f) = serde_json::from_slice::<FindingHead>(&buf) else {
            continue;
        };
        for e in f.evidence {
            if out.len() >= MAX_FLAGGED_LINES {
                return out;
            }
            if let Some((c, part)) = crate::ids::RecordAt::parse_member(&e.member) {
                let s = out.entry((c, part, e.line)).or_insert(f.severity);
                *s = (*s).max(f.severity);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::read_line_capped;

    #[test]
    fn lines_are_capped_not_lost() {
        let data = b"short\nthis line is too long\nok";
        let mut r = std::io::BufReader::with_capacity(4, &data[..]);
        let mut buf = Vec::new();
        assert_eq!(read_line_capped(&mut r, &mut buf, 8).unwrap(), Some(true));
        assert_eq!(buf, b"short");
        buf.clear();
        assert_eq!(read_line_capped(&mut r, &mut buf, 8).unwrap(), Some(false));
        assert_eq!(buf, b"this lin");
        buf.clear();
        assert_eq!(read_line_capped(&mut r, &mut buf, 8).unwrap(), Some(true));
        assert_eq!(buf, b"ok");
        buf.clear();
        assert_eq!(read_line_capped(&mut r, &mut buf, 8).unwrap(), None);
    }
}
