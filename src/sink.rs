//! Where collectors put what they find: typed records and file contents. The archive is one
//! sink; [`MemorySink`] is another, so every collector is testable without an archive.
//! Collectors never hash and never write: the sink hashes while it streams.

use crate::record::{Record, Sha256};
use crate::source::FileMeta;
use sha2::Digest;
use std::io::{Read, Write};

#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    // Each message names its cause: these errors are quoted in manifest reasons, and a cause
    // also marked `#[source]` would be printed twice in a chain.
    #[error("writing the archive failed: {0}")]
    Write(std::io::Error),
    #[error("serializing a record failed: {0}")]
    Serialize(serde_json::Error),
    #[error("zip: {0}")]
    Zip(zip::result::ZipError),
}

impl From<zip::result::ZipError> for SinkError {
    fn from(e: zip::result::ZipError) -> Self {
        SinkError::Zip(e)
    }
}

/// A file a collector hands to the sink.
pub struct FileRequest<'a> {
    /// Path as the evidence's OS writes it (`C:\Windows\...`, `/etc/crontab`).
    pub display: String,
    /// Logical path (see `source`), used to name the archive member.
    pub logical: &'a std::path::Path,
    pub meta: &'a FileMeta,
    /// Store a copy in the archive (otherwise: hash only).
    pub copy: bool,
    /// At most this many bytes are copied; the rest is still read and hashed.
    pub copy_cap: u64,
    /// Keep up to this many bytes in memory for the collector to parse (one read serves
    /// hashing, copying and parsing).
    pub keep: usize,
    /// Archive member name to use instead of the one derived from `logical`.
    pub member_name: Option<String>,
    /// Keep the *last* `keep` bytes instead of the first (histories: the newest commands);
    /// through [`Sink::file_seekable`], a file larger than `copy_cap` is also copied from its
    /// end (the whole file is still hashed).
    pub keep_tail: bool,
}

/// What happened to a file handed to the sink.
#[derive(Debug, Default)]
pub struct FileOutcome {
    /// SHA-256 of everything read from the source; `None` when a read error stopped it early.
    pub sha256: Option<Sha256>,
    pub bytes_read: u64,
    /// Archive member, when a copy was stored.
    pub member: Option<String>,
    pub copied: u64,
    /// The copy stopped at `copy_cap`.
    pub truncated: bool,
    pub kept: Vec<u8>,
    /// `kept` holds the whole file.
    pub kept_complete: bool,
    /// Offset in the file of `kept`'s first byte (not 0 only with `keep_tail`).
    pub kept_from: u64,
    /// Newlines before `kept_from`: the line number of `kept`'s first line, minus one.
    pub kept_lines_before: u64,
    /// SHA-256 of the bytes copied into the member (the file's own when the copy is whole):
    /// computed in the same pass as the file's hash, so no byte is hashed twice.
    pub copy_sha256: Option<Sha256>,
    pub read_error: Option<String>,
    /// The copy was not stored (archive size budget or output volume full); the file was
    /// still read and hashed.
    pub copy_skipped: Option<String>,
}

/// A staged script's text for detection (see [`Sink::staged_script`]).
pub struct StagedScript<'a> {
    /// The script's path as the evidence's OS writes it.
    pub path: &'a str,
    /// Archive member of its copy, when it was copied.
    pub member: Option<&'a str>,
    pub sha256: Option<Sha256>,
    pub text: &'a str,
}

pub trait Sink {
    fn record(&mut self, rec: Record) -> Result<(), SinkError>;
    fn file(&mut self, req: &FileRequest, reader: &mut dyn Read) -> Result<FileOutcome, SinkError>;
    /// Like [`Sink::file`], for a reader that can seek: with `keep_tail`, a file larger than
    /// `copy_cap` is copied from its end rather than its start.
    fn file_seekable(
        &mut self,
        req: &FileRequest,
        reader: &mut dyn crate::source::ReadSeek,
    ) -> Result<FileOutcome, SinkError> {
        self.file(req, reader)
    }
    /// The text of a staged script whose record was just written (its first bytes, within
    /// the collector's cap): detection reads it as script text, with the record and the
    /// copied file as evidence. It is not written anywhere (the file itself is the evidence).
    fn staged_script(&mut self, _text: StagedScript<'_>) {}
    /// Something worth knowing that is not a failure (a process vanished mid-read).
    fn warn(&mut self, msg: String);
    /// One item could not be read or parsed (no rights, damaged, vanished): a gap, listed in
    /// the manifest and coverage. It does not make the collector `partial`: what was there
    /// to collect was looked at, and the run can still be complete.
    fn error(&mut self, msg: String);
    /// A limit of the profile (max_files, max_entries, max_parse_size, an archive budget)
    /// left evidence out that was there to collect: the collector's status becomes `partial`.
    /// By default a cut is also counted as an error, so a sink that does not tell them apart
    /// loses nothing.
    fn cut(&mut self, msg: String) {
        self.error(msg);
    }
}

pub(crate) const CHUNK: usize = 256 * 1024;

/// What to keep of a file for the collector to parse.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Keep {
    pub bytes: usize,
    /// The last `bytes` instead of the first.
    pub tail: bool,
}

/// Read `reader` to its end once: hash everything, write up to `copy_cap` bytes to `out`,
/// keep up to `keep` bytes. A read error ends the copy and is reported, never mistaken
/// for the end of the file. `checkpoint` is called before every chunk with the bytes read so
/// far: it may sleep (throttled reads in low-impact mode) and returns true to stop, so a
/// deadline or a signal can end a multi-gigabyte copy; the outcome then says so, and carries
/// no whole-file hash.
pub fn stream_copy(
    reader: &mut dyn Read,
    out: Option<&mut dyn Write>,
    copy_cap: u64,
    keep: usize,
    checkpoint: &dyn Fn(u64) -> bool,
) -> Result<FileOutcome, std::io::Error> {
    let mut buf = Vec::new();
    let keep = Keep {
        bytes: keep,
        tail: false,
    };
    stream_copy_with(&mut buf, reader, out, copy_cap, keep, checkpoint)
}

/// [`stream_copy`] with a caller's buffer (one for the whole run, not one per file) and the
/// choice of keeping the head or the tail.
pub fn stream_copy_with(
    buf: &mut Vec<u8>,
    reader: &mut dyn Read,
    mut out: Option<&mut dyn Write>,
    copy_cap: u64,
    keep: Keep,
    checkpoint: &dyn Fn(u64) -> bool,
) -> Result<FileOutcome, std::io::Error> {
    buf.resize(CHUNK, 0);
    let mut hasher = sha2::Sha256::new();
    // The member's hash, taken from the file's hasher where the copy stopped.
    let mut copy_hash: Option<sha2::Sha256> = None;
    let mut tail: std::collections::VecDeque<u8> = std::collections::VecDeque::new();
    let mut o = FileOutcome::default();
    loop {
        if checkpoint(o.bytes_read) {
            o.read_error = Some(format!(
                "stopped after {} bytes: the run was cut short",
                o.bytes_read
            ));
            o.truncated = true;
            break;
        }
        let n = match reader.read(&mut buf[..]) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => {
                o.read_error = Some(format!("read error at offset {}: {e}", o.bytes_read));
                break;
            }
        };
        let chunk = &buf[..n];
        let mut hashed = false;
        if let Some(w) = out.as_deref_mut()
            && copy_hash.is_none()
        {
            let room = copy_cap.saturating_sub(o.copied);
            let take = usize::try_from(room).unwrap_or(usize::MAX).min(n);
            if take > 0 {
                w.write_all(&chunk[..take])?;
                o.copied += take as u64;
            }
            if take < n {
                o.truncated = true;
                hasher.update(&chunk[..take]);
                copy_hash = Some(hasher.clone());
                hasher.update(&chunk[take..]);
                hashed = true;
            }
        }
        if !hashed {
            hasher.update(chunk);
        }
        if keep.tail {
            tail.extend(chunk);
            if tail.len() > keep.bytes {
                let drop = tail.len() - keep.bytes;
                let (a, b) = tail.as_slices();
                let in_a = drop.min(a.len());
                o.kept_lines_before +=
                    count_newlines(&a[..in_a]) + count_newlines(&b[..drop - in_a]);
                tail.drain(..drop);
                o.kept_from += drop as u64;
            }
        } else {
            let room = keep.bytes.saturating_sub(o.kept.len());
            o.kept.extend_from_slice(&chunk[..room.min(n)]);
        }
        o.bytes_read += n as u64;
    }
    if keep.tail {
        // In place: no second copy of a window that may be megabytes.
        o.kept = Vec::from(tail);
    }
    if out.is_some() {
        let member = copy_hash.unwrap_or_else(|| hasher.clone());
        o.copy_sha256 = Some(Sha256(member.finalize().into()));
    }
    if o.read_error.is_none() {
        o.sha256 = Some(Sha256(hasher.finalize().into()));
    }
    o.kept_complete = o.read_error.is_none() && o.kept.len() as u64 == o.bytes_read;
    Ok(o)
}

fn count_newlines(b: &[u8]) -> u64 {
    b.iter().filter(|&&c| c == b'\n').count() as u64
}

pub struct MemoryFile {
    pub display: String,
    pub sha256: Option<Sha256>,
    pub bytes_read: u64,
    pub truncated: bool,
    pub copy: Vec<u8>,
}

/// A sink that keeps everything in memory: for tests and for library use.
#[derive(Default)]
pub struct MemorySink {
    pub records: Vec<Record>,
    pub files: Vec<MemoryFile>,
    pub warnings: Vec<String>,
    pub errors: Vec<String>,
    pub cuts: Vec<String>,
}

impl Sink for MemorySink {
    fn record(&mut self, rec: Record) -> Result<(), SinkError> {
        self.records.push(rec);
        Ok(())
    }

    fn file(&mut self, req: &FileRequest, reader: &mut dyn Read) -> Result<FileOutcome, SinkError> {
        let mut copy = Vec::new();
        let out: Option<&mut dyn Write> = if req.copy { Some(&mut copy) } else { None };
        let keep = Keep {
            bytes: req.keep,
            tail: req.keep_tail,
        };
        let mut o = stream_copy_with(&mut Vec::new(), reader, out, req.copy_cap, keep, &|_| false)
            .map_err(SinkError::Write)?;
        if req.copy {
            o.member = Some(req.display.clone());
        }
        self.files.push(MemoryFile {
            display: req.display.clone(),
            sha256: o.sha256,
            bytes_read: o.bytes_read,
            truncated: o.truncated,
            copy,
        });
        Ok(o)
    }

    fn warn(&mut self, msg: String) {
        self.warnings.push(msg);
    }

    fn error(&mut self, msg: String) {
        self.errors.push(msg);
    }

    fn cut(&mut self, msg: String) {
        self.cuts.push(msg);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct FailAfter(usize);
    impl Read for FailAfter {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            if self.0 == 0 {
                return Err(std::io::Error::other("boom"));
            }
            let n = self.0.min(buf.len());
            buf[..n].fill(b'x');
            self.0 -= n;
            Ok(n)
        }
    }

    #[test]
    fn copy_cap_hashes_whole_file() {
        let data = vec![7u8; 1_000_000];
        let mut out = Vec::new();
        let o = stream_copy(&mut &data[..], Some(&mut out), 1000, 10, &|_| false).unwrap();
        assert_eq!(o.sha256, Some(Sha256::digest(&data)));
        assert_eq!(out.len(), 1000);
        assert!(o.truncated);
        assert_eq!(o.kept.len(), 10);
        assert!(!o.kept_complete);
        assert_eq!(o.bytes_read, 1_000_000);
    }

    #[test]
    fn stop_ends_a_copy_and_says_so() {
        let data = vec![1u8; 4 * CHUNK];
        let calls = std::cell::Cell::new(0);
        let stop = |_| {
            calls.set(calls.get() + 1);
            calls.get() > 2
        };
        let mut out = Vec::new();
        let o = stream_copy(&mut &data[..], Some(&mut out), u64::MAX, 0, &stop).unwrap();
        assert_eq!(o.bytes_read, 2 * CHUNK as u64);
        assert!(o.sha256.is_none());
        assert!(o.truncated);
        assert!(o.read_error.unwrap().contains("cut short"));
    }

    #[test]
    fn one_pass_gives_the_file_hash_the_copy_hash_and_the_tail() {
        let data: Vec<u8> = (0..1_000_000u32).map(|i| (i % 251) as u8).collect();
        let mut out = Vec::new();
        let keep = Keep {
            bytes: 1000,
            tail: true,
        };
        let o = stream_copy_with(
            &mut Vec::new(),
            &mut &data[..],
            Some(&mut out),
            300_000,
            keep,
            &|_| false,
        )
        .unwrap();
        assert_eq!(o.sha256, Some(Sha256::digest(&data)));
        assert_eq!(o.copy_sha256, Some(Sha256::digest(&data[..300_000])));
        assert_eq!(out, data[..300_000]);
        assert_eq!(o.kept, data[data.len() - 1000..]);
        assert_eq!(o.kept_from, (data.len() - 1000) as u64);
        let whole = stream_copy(&mut &data[..], Some(&mut Vec::new()), u64::MAX, 0, &|_| {
            false
        })
        .unwrap();
        assert_eq!(whole.copy_sha256, whole.sha256);
        let text = b"a\nb\nc\nd\n".repeat(100_000);
        let keep = Keep {
            bytes: 8,
            tail: true,
        };
        let o =
            stream_copy_with(&mut Vec::new(), &mut &text[..], None, 0, keep, &|_| false).unwrap();
        assert_eq!(o.kept, b"c\nd\na\nb\nc\nd\n"[4..].to_vec());
        assert_eq!(o.kept_lines_before, 400_000 - 4);
    }

    #[test]
    fn read_error_is_not_end_of_file() {
        let o = stream_copy(&mut FailAfter(10), None, 0, 100, &|_| false).unwrap();
        assert!(o.sha256.is_none());
        assert_eq!(o.bytes_read, 10);
        assert!(o.read_error.unwrap().contains("offset 10"));
        assert!(!o.kept_complete);
    }
}
