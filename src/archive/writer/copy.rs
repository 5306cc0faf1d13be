//! Raw copies of evidence files: hashed and copied in one pass, stored rather than deflated
//! when their first block does not compress, and for the files whose newest bytes matter, the
//! copy of a file's end.

use super::super::manifest::{MemberEntry, OriginalFile};
use super::super::names::{member_for_logical, sanitize_member};
use super::{ArchiveWriter, SMALL_ENTRY_LIMIT};
use crate::ids::CollectorId;
use crate::record::Sha256;
use crate::sink::{FileOutcome, FileRequest, Keep, SinkError, stream_copy_with};
use std::io::Read;
use std::path::Path;

impl ArchiveWriter {
    /// Hash (and, when asked, copy) one source file in a single pass.
    pub fn add_file(
        &mut self,
        collector: Option<CollectorId>,
        req: &FileRequest,
        reader: &mut dyn Read,
        stop: &dyn Fn(u64) -> bool,
    ) -> Result<FileOutcome, SinkError> {
        let room = self.room();
        let wanted = req.meta.size.min(req.copy_cap);
        let keep = Keep {
            bytes: req.keep,
            tail: req.keep_tail,
        };
        if req.copy && room.is_some_and(|r| r == 0 || (wanted > r && r < 64 << 10)) {
            let mut o = stream_copy_with(&mut self.buf, reader, None, 0, keep, stop)
                .map_err(SinkError::Write)?;
            o.copy_skipped = Some(format!(
                "not copied: the archive size budget is spent ({} left)",
                room.unwrap_or(0)
            ));
            return Ok(o);
        }
        if !req.copy {
            return stream_copy_with(&mut self.buf, reader, None, 0, keep, stop)
                .map_err(SinkError::Write);
        }
        let wanted = match &req.member_name {
            Some(n) => sanitize_member(n),
            None => member_for_logical(self.os, req.logical),
        };
        let name = self.unique_name(wanted);
        let large = req.meta.size >= SMALL_ENTRY_LIMIT && req.copy_cap >= SMALL_ENTRY_LIMIT;
        let mut cap = if large {
            req.copy_cap
        } else {
            req.copy_cap.min(SMALL_ENTRY_LIMIT)
        };
        // A file larger than the room left is copied up to the room, and marked truncated.
        if let Some(r) = room {
            cap = cap.min(r);
        }
        // Deflating what does not compress (packed binaries, archives, random blobs) costs
        // half the CPU of a run for nothing: the first block decides.
        let (head, head_error) = read_head(reader, SNIFF_BYTES);
        let mut options = Self::options(req.meta.mtime, large);
        if looks_incompressible(&head) {
            options.method = super::zipout::Method::Stored;
        }
        self.zip
            .start_file(&name, options)
            .map_err(SinkError::Write)?;
        let mut replay = Replay {
            head: std::io::Cursor::new(head),
            error: head_error,
            rest: reader,
        };
        // One pass hashes the file and the member (they differ only when the copy is capped).
        let mut outcome = stream_copy_with(
            &mut self.buf,
            &mut replay,
            Some(&mut self.zip),
            cap,
            keep,
            stop,
        )
        .map_err(SinkError::Write)?;
        let member_size = outcome.copied;
        let member_sha = outcome.copy_sha256.unwrap_or_else(|| Sha256::digest(&[]));
        self.written += member_size;
        outcome.member = Some(name.clone());
        self.log_member(MemberEntry {
            path: name,
            size: member_size,
            sha256: member_sha,
            collector,
            original: Some(OriginalFile {
                path: req.display.clone(),
                path_bytes_b64: non_utf8_bytes(req.logical),
                meta: req.meta.clone(),
                sha256: outcome.sha256,
                bytes_read: outcome.bytes_read,
                truncated: outcome.truncated,
                copied_from: None,
                read_error: outcome.read_error.clone(),
            }),
            stored_sha256: None,
        })?;
        Ok(outcome)
    }

    /// Hash a file whole and copy its last `copy_cap` bytes: the newest part of an oversized
    /// history. Two reads: the first hashes everything and keeps what the collector parses,
    /// the second seeks back and copies the tail (a file that changed in between is said).
    pub fn add_file_tail(
        &mut self,
        collector: Option<CollectorId>,
        req: &FileRequest,
        reader: &mut dyn crate::source::ReadSeek,
        stop: &dyn Fn(u64) -> bool,
    ) -> Result<FileOutcome, SinkError> {
        use std::io::SeekFrom;
        let cap = req.copy_cap.min(SMALL_ENTRY_LIMIT);
        if !req.copy || req.meta.size <= cap || self.room().is_some_and(|r| r < cap) {
            return self.add_file(collector, req, reader, stop);
        }
        let keep = Keep {
            bytes: req.keep,
            tail: req.keep_tail,
        };
        let mut whole = stream_copy_with(&mut self.buf, reader, None, 0, keep, stop)
            .map_err(SinkError::Write)?;
        if whole.read_error.is_some() {
            return Ok(whole);
        }
        let from = whole.bytes_read.saturating_sub(cap);
        if let Err(e) = reader.seek(SeekFrom::Start(from)) {
            whole.read_error = Some(format!("cannot seek back to copy the tail: {e}"));
            return Ok(whole);
        }
        let name = match &req.member_name {
            Some(n) => sanitize_member(n),
            None => member_for_logical(self.os, req.logical),
        };
        let name = self.unique_name(name);
        self.zip
            .start_file(&name, Self::options(req.meta.mtime, false))
            .map_err(SinkError::Write)?;
        let tail = stream_copy_with(
            &mut self.buf,
            reader,
            Some(&mut self.zip),
            cap,
            Keep::default(),
            stop,
        )
        .map_err(SinkError::Write)?;
        self.written += tail.copied;
        let mut read_error = tail.read_error.clone();
        if read_error.is_none() && (tail.bytes_read != cap || from + cap != whole.bytes_read) {
            read_error = Some(format!(
                "the file changed while it was read ({} bytes, then {} from offset {from})",
                whole.bytes_read, tail.bytes_read
            ));
        }
        self.log_member(MemberEntry {
            path: name.clone(),
            size: tail.copied,
            sha256: tail.copy_sha256.unwrap_or_else(|| Sha256::digest(&[])),
            collector,
            original: Some(OriginalFile {
                path: req.display.clone(),
                path_bytes_b64: non_utf8_bytes(req.logical),
                meta: req.meta.clone(),
                sha256: whole.sha256,
                bytes_read: whole.bytes_read,
                truncated: true,
                copied_from: Some(from),
                read_error: read_error.clone(),
            }),
            stored_sha256: None,
        })?;
        whole.member = Some(name);
        whole.copied = tail.copied;
        whole.truncated = true;
        whole.copy_sha256 = tail.copy_sha256;
        if read_error.is_some() {
            whole.read_error = read_error;
        }
        Ok(whole)
    }
}

/// Bytes read ahead of a copy to choose stored or deflated.
const SNIFF_BYTES: usize = 64 << 10;

/// Up to `n` bytes from the start of `reader`, and the read error that stopped it early, if
/// any (it is replayed to the copy, which reports it as the file's read error).
fn read_head(reader: &mut dyn Read, n: usize) -> (Vec<u8>, Option<std::io::Error>) {
    let mut head = vec![0u8; n];
    let mut filled = 0;
    while filled < n {
        match reader.read(&mut head[filled..]) {
            Ok(0) => break,
            Ok(k) => filled += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                head.truncate(filled);
                return (head, Some(e));
            }
        }
    }
    head.truncate(filled);
    (head, None)
}

/// True when a block's bytes are near-random (Shannon entropy above 7.5 bits a byte): what
/// compressed formats, encrypted payloads and packed executables look like. Deflate would
/// gain nothing on them.
pub(crate) fn looks_incompressible(block: &[u8]) -> bool {
    if block.len() < 4096 {
        return false;
    }
    let mut counts = [0u32; 256];
    for &b in block {
        counts[usize::from(b)] += 1;
    }
    let n = block.len() as f64;
    let entropy: f64 = counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = f64::from(c) / n;
            -p * p.log2()
        })
        .sum();
    entropy > 7.5
}

/// The block read ahead, then the rest of the file (or the error that ended the read-ahead).
struct Replay<'a> {
    head: std::io::Cursor<Vec<u8>>,
    error: Option<std::io::Error>,
    rest: &'a mut dyn Read,
}

impl Read for Replay<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.head.read(buf)?;
        if n > 0 {
            return Ok(n);
        }
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        self.rest.read(buf)
    }
}

#[cfg(unix)]
fn non_utf8_bytes(p: &Path) -> Option<String> {
    use std::os::unix::ffi::OsStrExt;
    crate::text::base64::encode_if_not_utf8(p.as_os_str().as_bytes())
}

#[cfg(not(unix))]
fn non_utf8_bytes(p: &Path) -> Option<String> {
    p.to_str()
        .is_none()
        .then(|| crate::text::base64::encode(p.to_string_lossy().as_bytes()))
}
