//! The archive sink: one zip written front to back (streaming, never seeking, so it can
//! feed an encryptor), every member hashed as it is written, written under a `.partial` name
//! and renamed only when complete, with a `sha256sum` sidecar.
//!
//! The byte pipeline: zip stream -> [age encryptor, with `--encrypt-to`] -> hashing writer ->
//! output file. The archive's SHA-256 (sidecar, summary) is therefore always that of the
//! file on disk: the ciphertext when encrypted. With encryption, every byte that reaches the
//! disk, from the first, is ciphertext: the `.partial` file is never plaintext either.
//!
//! Nothing grows with what the host holds: records stream into a per-collector member kept
//! deflated in memory (a zip member must be written whole while raw copies stream in between)
//! and go out in parts of at most [`RECORD_PART_BYTES`] compressed (`records/<c>.jsonl`, then
//! `records/<c>.2.jsonl`, ...); the manifest's member list is kept deflated too; member names
//! are remembered by a 64-bit digest. A failed run never leaves a `.partial` behind
//! ([`ArchiveWriter::abort`], and [`ArchiveWriter::finish`] on failure).

use super::crypt::{Recipients, Sealed};
use super::manifest::{Manifest, MemberEntry, OriginalFile};
use super::names::{member_for_logical, sanitize_member};
use crate::ids::{CollectorId, OsFamily, RecordAt};
use crate::record::Sha256;
use crate::sink::{FileOutcome, FileRequest, Keep, SinkError, stream_copy_with};
use base64::Engine;
use sha2::Digest;
use std::collections::HashSet;
use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use zip::ZipWriter;
use zip::write::{SimpleFileOptions, StreamWriter};

/// Entries below this size never need zip64; a raw copy that is not marked large is capped
/// here so a file growing during the copy cannot overflow the 32-bit fields.
const SMALL_ENTRY_LIMIT: u64 = 0xF000_0000;

/// Counts and hashes every byte that passes through.
pub struct HashingWriter<W: Write> {
    inner: W,
    hasher: sha2::Sha256,
    written: u64,
}

impl<W: Write> HashingWriter<W> {
    pub fn new(inner: W) -> Self {
        HashingWriter {
            inner,
            hasher: sha2::Sha256::new(),
            written: 0,
        }
    }

    pub fn finish(self) -> (W, Sha256, u64) {
        (
            self.inner,
            Sha256(self.hasher.finalize().into()),
            self.written,
        )
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

type Zip = ZipWriter<StreamWriter<Sealed<HashingWriter<OutputFile>>>>;

/// The archive file on the output volume. The first write error is kept (it is the one worth
/// telling: "no space left", not the zip writer's "already closed" that follows) and every
/// later write is discarded, so nothing after it can mistake a broken archive for a good one
/// or print the zip library's own complaints.
pub struct OutputFile {
    file: BufWriter<File>,
    failed: std::sync::Arc<std::sync::Mutex<Option<std::io::Error>>>,
}

impl OutputFile {
    fn fail(&mut self, e: std::io::Error) -> std::io::Error {
        let copy = std::io::Error::new(e.kind(), e.to_string());
        if let Ok(mut f) = self.failed.lock()
            && f.is_none()
        {
            *f = Some(e);
        }
        copy
    }

    fn has_failed(&self) -> bool {
        self.failed.lock().map(|f| f.is_some()).unwrap_or(true)
    }
}

impl Write for OutputFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.has_failed() {
            return Ok(buf.len());
        }
        self.file.write(buf).map_err(|e| self.fail(e))
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if self.has_failed() {
            return Ok(());
        }
        self.file.flush().map_err(|e| self.fail(e))
    }
}

/// Compressed bytes of one records part held in memory before it goes into the archive.
pub const RECORD_PART_BYTES: u64 = 16 << 20;

/// The records of the collector that is running, deflated into a one-member zip in memory
/// (its raw bytes are then copied into the archive without inflating them again).
struct RecordPart {
    id: CollectorId,
    /// 1 for `records/<c>.jsonl`, then 2, 3...
    part: u32,
    name: String,
    zip: ZipWriter<std::io::Cursor<Vec<u8>>>,
    hasher: sha2::Sha256,
    size: u64,
    /// Lines in this part.
    lines: u64,
}

/// What one collector's records came to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RecordsWritten {
    pub records: u64,
    /// The members that hold them, in order (one unless the records filled several parts).
    pub members: Vec<String>,
}

/// The manifest's member list, kept as deflated JSON lines until the manifest is written.
struct MemberLog {
    enc: flate2::write::DeflateEncoder<Vec<u8>>,
    count: u64,
}

impl MemberLog {
    fn new() -> MemberLog {
        MemberLog {
            enc: flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::fast()),
            count: 0,
        }
    }

    fn push(&mut self, e: &MemberEntry) -> Result<(), SinkError> {
        serde_json::to_writer(&mut self.enc, e).map_err(SinkError::Serialize)?;
        self.enc.write_all(b"\n").map_err(SinkError::Write)?;
        self.count += 1;
        Ok(())
    }

    /// Write the entries as the elements of a JSON array, one at a time.
    fn write_array(self, out: &mut dyn Write) -> Result<(), SinkError> {
        let data = self.enc.finish().map_err(SinkError::Write)?;
        let reader = std::io::BufReader::new(flate2::read::DeflateDecoder::new(&data[..]));
        out.write_all(b"[").map_err(SinkError::Write)?;
        for (i, line) in std::io::BufRead::lines(reader).enumerate() {
            let line = line.map_err(SinkError::Write)?;
            if i > 0 {
                out.write_all(b",").map_err(SinkError::Write)?;
            }
            out.write_all(b"\n    ").map_err(SinkError::Write)?;
            out.write_all(line.as_bytes()).map_err(SinkError::Write)?;
        }
        out.write_all(b"\n  ]").map_err(SinkError::Write)?;
        Ok(())
    }
}

pub struct ArchiveWriter {
    zip: Zip,
    /// The first error of the output file, once there was one.
    failed: std::sync::Arc<std::sync::Mutex<Option<std::io::Error>>>,
    partial: PathBuf,
    final_path: PathBuf,
    os: OsFamily,
    members: MemberLog,
    /// Digests of the member names used so far (a collision only renames a member).
    names: HashSet<u64>,
    records: Option<RecordPart>,
    /// Parts already written for the running collector's records.
    record_members: Vec<String>,
    record_count: u64,
    /// Uncompressed bytes handed to the zip so far: an upper bound of what it occupies, give
    /// or take deflate's worst-case growth (accounted for in [`Self::room`]).
    written: u64,
    /// At most this many bytes of raw copies and records (profile cap and free space).
    budget: Option<u64>,
    /// The read buffer every copy reuses.
    buf: Vec<u8>,
}

/// The finished archive.
#[derive(Debug, Clone)]
pub struct Finished {
    pub path: PathBuf,
    pub sha256: Sha256,
    pub size: u64,
    pub sidecar: PathBuf,
    /// Why the sidecar could not be written, when it could not.
    pub sidecar_error: Option<String>,
}

fn zip_time(t: Option<crate::record::Timestamp>) -> zip::DateTime {
    use chrono::{Datelike, Timelike};
    t.and_then(|t| {
        zip::DateTime::from_date_and_time(
            u16::try_from(t.year()).ok()?,
            u8::try_from(t.month()).ok()?,
            u8::try_from(t.day()).ok()?,
            u8::try_from(t.hour()).ok()?,
            u8::try_from(t.minute()).ok()?,
            u8::try_from(t.second()).ok()?,
        )
        .ok()
    })
    .unwrap_or_default()
}

impl ArchiveWriter {
    /// Create `<dir>/<name>.partial`; fails if it or the final name exists already.
    pub fn create(dir: &Path, name: &str, os: OsFamily) -> std::io::Result<ArchiveWriter> {
        Self::create_sealed(dir, name, os, &Recipients::default())
    }

    /// Like [`Self::create`], encrypting everything with age to `recipients` (plain when
    /// there are none). The age header is the first thing written.
    pub fn create_sealed(
        dir: &Path,
        name: &str,
        os: OsFamily,
        recipients: &Recipients,
    ) -> std::io::Result<ArchiveWriter> {
        let final_path = dir.join(name);
        if final_path.exists() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::AlreadyExists,
                format!("{} exists already", final_path.display()),
            ));
        }
        let partial = dir.join(format!("{name}.partial"));
        let file = File::options()
            .write(true)
            .create_new(true)
            .open(&partial)?;
        let failed = std::sync::Arc::new(std::sync::Mutex::new(None));
        let out = OutputFile {
            file: BufWriter::with_capacity(1 << 20, file),
            failed: std::sync::Arc::clone(&failed),
        };
        let sealed = match recipients.seal(HashingWriter::new(out)) {
            Ok(s) => s,
            Err(e) => {
                let _ = std::fs::remove_file(&partial);
                return Err(e);
            }
        };
        let zip = ZipWriter::new_stream(sealed);
        Ok(ArchiveWriter {
            zip,
            failed,
            partial,
            final_path,
            os,
            members: MemberLog::new(),
            names: HashSet::new(),
            records: None,
            record_members: Vec::new(),
            record_count: 0,
            written: 0,
            budget: None,
            buf: Vec::new(),
        })
    }

    /// Limit what raw copies may add to the archive; beyond it files are hashed, not copied.
    pub fn set_budget(&mut self, budget: Option<u64>) {
        self.budget = budget;
    }

    /// Room left for raw copies, with 1 % slack for deflate expanding incompressible data.
    fn room(&self) -> Option<u64> {
        self.budget
            .map(|b| b.saturating_sub(self.written + self.written / 100))
    }

    pub fn partial_path(&self) -> &Path {
        &self.partial
    }

    fn name_digest(name: &str) -> u64 {
        use std::hash::{Hash, Hasher};
        // SipHash with fixed keys: the same digest on every run.
        let mut h = std::hash::DefaultHasher::new();
        name.hash(&mut h);
        h.finish()
    }

    fn unique_name(&mut self, wanted: String) -> String {
        let mut name = wanted.clone();
        let mut i = 2u64;
        while self.names.contains(&Self::name_digest(&name)) {
            name = format!("{wanted}~{i}");
            i += 1;
        }
        self.names.insert(Self::name_digest(&name));
        name
    }

    /// The first error writing the archive file, once there was one: the archive is broken
    /// and the run must end with [`Self::abort`].
    pub fn output_error(&self) -> Option<(std::io::ErrorKind, String)> {
        match self.failed.lock() {
            Ok(f) => f.as_ref().map(|e| (e.kind(), e.to_string())),
            Err(_) => Some((std::io::ErrorKind::Other, "output state lost".into())),
        }
    }

    /// Bytes of the archive on disk so far (for messages about a full volume).
    pub fn bytes_on_disk(&self) -> u64 {
        std::fs::metadata(&self.partial)
            .map(|m| m.len())
            .unwrap_or(0)
    }

    fn options(mtime: Option<crate::record::Timestamp>, large: bool) -> SimpleFileOptions {
        SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated)
            // Level 3: several times faster than the default 6 for a few percent in size;
            // a triage run is judged by its seconds.
            .compression_level(Some(3))
            .last_modified_time(zip_time(mtime))
            .unix_permissions(0o644)
            .large_file(large)
    }

    /// Store generated bytes (records, logs, reports) as a member.
    pub fn add_bytes(
        &mut self,
        name: &str,
        data: &[u8],
        collector: Option<CollectorId>,
    ) -> Result<MemberEntry, SinkError> {
        let name = self.unique_name(sanitize_member(name));
        let large = data.len() as u64 >= SMALL_ENTRY_LIMIT;
        self.zip
            .start_file(name.clone(), Self::options(Some(chrono::Utc::now()), large))?;
        let mut hw = HashingWriter::new(&mut self.zip);
        hw.write_all(data).map_err(SinkError::Write)?;
        let (_, sha256, size) = hw.finish();
        self.written += size;
        let entry = MemberEntry {
            path: name,
            size,
            sha256,
            collector,
            original: None,
        };
        self.members.push(&entry)?;
        Ok(entry)
    }

    /// Write a generated member by streaming into it (the timeline, findings, reports):
    /// `fill` writes the content and may fail; the member then holds what it wrote and the
    /// error is returned with it.
    pub fn add_stream<T>(
        &mut self,
        name: &str,
        collector: Option<CollectorId>,
        fill: impl FnOnce(&mut dyn Write) -> std::io::Result<T>,
    ) -> Result<(MemberEntry, std::io::Result<T>), SinkError> {
        let name = self.unique_name(sanitize_member(name));
        self.zip
            .start_file(name.clone(), Self::options(Some(chrono::Utc::now()), true))?;
        let mut hw = HashingWriter::new(&mut self.zip);
        let result = fill(&mut hw);
        let (_, sha256, size) = hw.finish();
        self.written += size;
        let entry = MemberEntry {
            path: name,
            size,
            sha256,
            collector,
            original: None,
        };
        self.members.push(&entry)?;
        Ok((entry, result))
    }

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
            options = options
                .compression_method(zip::CompressionMethod::Stored)
                .compression_level(None);
        }
        self.zip.start_file(name.clone(), options)?;
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
        self.members.push(&MemberEntry {
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
        })?;
        Ok(outcome)
    }

    fn start_part(&mut self, id: CollectorId, part: u32) -> Result<(), SinkError> {
        let name = RecordAt {
            collector: id,
            part,
            line: 0,
        }
        .member()
        .into_owned();
        let mut zip = ZipWriter::new(std::io::Cursor::new(Vec::new()));
        zip.start_file(name.clone(), Self::options(Some(chrono::Utc::now()), true))?;
        self.records = Some(RecordPart {
            id,
            part,
            name,
            zip,
            hasher: sha2::Sha256::new(),
            size: 0,
            lines: 0,
        });
        Ok(())
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
            .start_file(name.clone(), Self::options(req.meta.mtime, false))?;
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
        self.members.push(&MemberEntry {
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

    /// Append one serialized record (one line, without its newline) to `records/<id>.jsonl`;
    /// returns where it landed. Records of one collector come together: a record of another
    /// collector ends the previous collector's records.
    pub fn add_record(&mut self, id: CollectorId, json: &[u8]) -> Result<RecordAt, SinkError> {
        match &self.records {
            Some(r) if r.id == id => {}
            Some(_) => {
                self.end_records()?;
                self.start_part(id, 1)?;
            }
            None => self.start_part(id, 1)?,
        }
        let Some(part) = self.records.as_mut() else {
            return Err(SinkError::Write(std::io::Error::other(
                "records part missing",
            )));
        };
        part.zip.write_all(json).map_err(SinkError::Write)?;
        part.zip.write_all(b"\n").map_err(SinkError::Write)?;
        part.hasher.update(json);
        part.hasher.update(b"\n");
        part.size += json.len() as u64 + 1;
        part.lines += 1;
        self.record_count += 1;
        let at = RecordAt {
            collector: id,
            part: part.part,
            line: part.lines,
        };
        let compressed = part
            .zip
            .get_ref()
            .map(|c| c.get_ref().len() as u64)
            .unwrap_or(0);
        if compressed >= RECORD_PART_BYTES {
            let next = part.part + 1;
            self.flush_part()?;
            self.start_part(id, next)?;
        }
        Ok(at)
    }

    /// Copy the part held in memory into the archive.
    fn flush_part(&mut self) -> Result<(), SinkError> {
        let Some(part) = self.records.take() else {
            return Ok(());
        };
        let RecordPart {
            id,
            name,
            zip,
            hasher,
            size,
            ..
        } = part;
        let bytes = zip.finish()?.into_inner();
        let mut mini = zip::ZipArchive::new(std::io::Cursor::new(bytes))?;
        let file = mini.by_index_raw(0)?;
        let name = self.unique_name(name);
        self.zip.raw_copy_file_rename(file, name.clone())?;
        self.written += size;
        self.members.push(&MemberEntry {
            path: name.clone(),
            size,
            sha256: Sha256(hasher.finalize().into()),
            collector: Some(id),
            original: None,
        })?;
        self.record_members.push(name);
        Ok(())
    }

    /// The running collector's records end: its last part goes into the archive (an empty
    /// `records/<id>.jsonl` when it wrote none, so a reader can tell "ran, found nothing"
    /// from "did not run").
    pub fn end_records_of(&mut self, id: CollectorId) -> Result<RecordsWritten, SinkError> {
        if self.records.as_ref().is_none_or(|r| r.id != id) && self.record_members.is_empty() {
            self.end_records()?;
            self.start_part(id, 1)?;
        }
        self.end_records()
    }

    fn end_records(&mut self) -> Result<RecordsWritten, SinkError> {
        self.flush_part()?;
        Ok(RecordsWritten {
            records: std::mem::take(&mut self.record_count),
            members: std::mem::take(&mut self.record_members),
        })
    }

    /// Give up: close nothing, write nothing more, and remove the `.partial` file, so that a
    /// failed run never leaves something that looks like an archive. The zip writer is not
    /// dropped normally: its destructor would try to finish the archive on a broken output
    /// and print its own debugging text.
    pub fn abort(self) -> PathBuf {
        let partial = self.partial.clone();
        std::mem::forget(self.zip);
        let _ = std::fs::remove_file(&partial);
        partial
    }

    /// Write the manifest last, close the zip, make it durable, rename it, write the sidecar.
    /// `manifest.members` is ignored: the writer's own list of what it wrote goes in.
    pub fn finish(self, manifest: &Manifest) -> Result<Finished, SinkError> {
        let partial = self.partial.clone();
        let failed = std::sync::Arc::clone(&self.failed);
        let result = self.finish_inner(manifest);
        if result.is_err() {
            // A failed finish leaves nothing that claims to be an archive.
            let _ = std::fs::remove_file(&partial);
        }
        // The first output error, when there was one, is the cause worth telling.
        match (result, failed.lock().ok().and_then(|mut f| f.take())) {
            (Err(_), Some(first)) => Err(SinkError::Write(first)),
            (r, _) => r,
        }
    }

    fn finish_inner(mut self, manifest: &Manifest) -> Result<Finished, SinkError> {
        self.end_records()?;
        let mut head = manifest.clone();
        head.members = Vec::new();
        let json = serde_json::to_vec_pretty(&head).map_err(SinkError::Serialize)?;
        // The pretty printer ends with `"members": []` and the closing brace; the member list,
        // held compressed, is streamed in its place.
        let tail: &[u8] = b"\"members\": []\n}";
        let Some(prefix) = json.strip_suffix(tail) else {
            return Err(SinkError::Write(std::io::Error::other(
                "manifest layout: members is not the last field",
            )));
        };
        self.zip.start_file(
            "manifest.json",
            Self::options(Some(chrono::Utc::now()), true),
        )?;
        self.zip.write_all(prefix).map_err(SinkError::Write)?;
        self.zip
            .write_all(b"\"members\": ")
            .map_err(SinkError::Write)?;
        let members = std::mem::replace(&mut self.members, MemberLog::new());
        members.write_array(&mut self.zip)?;
        self.zip.write_all(b"\n}").map_err(SinkError::Write)?;
        let _ = self.zip.set_comment(format!(
            "{} {} triage archive; manifest.json lists every member with its SHA-256",
            env!("CARGO_PKG_NAME"),
            env!("CARGO_PKG_VERSION")
        ));
        let stream = self.zip.finish()?;
        // age's last chunk is written here: the file must not be synced or renamed before.
        let hashing = stream.into_inner().finish().map_err(SinkError::Write)?;
        let (out, sha256, size) = hashing.finish();
        if out.has_failed() {
            return Err(SinkError::Write(std::io::Error::other("the output failed")));
        }
        let file = out
            .file
            .into_inner()
            .map_err(|e| SinkError::Write(e.into_error()))?;
        file.sync_all().map_err(SinkError::Write)?;
        drop(file);
        std::fs::rename(&self.partial, &self.final_path).map_err(SinkError::Write)?;

        let sidecar = sidecar_path(&self.final_path);
        let file_name = self
            .final_path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        // The archive is complete without its sidecar; a sidecar that cannot be written (the
        // volume filled up at the very end) is said, not fatal.
        let sidecar_error = std::fs::write(&sidecar, format!("{sha256}  {file_name}\n"))
            .err()
            .map(|e| {
                let _ = std::fs::remove_file(&sidecar);
                e.to_string()
            });
        Ok(Finished {
            path: self.final_path,
            sha256,
            size,
            sidecar,
            sidecar_error,
        })
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

pub fn sidecar_path(archive: &Path) -> PathBuf {
    let mut s = archive.as_os_str().to_os_string();
    s.push(".sha256");
    PathBuf::from(s)
}

#[cfg(unix)]
fn non_utf8_bytes(p: &Path) -> Option<String> {
    use std::os::unix::ffi::OsStrExt;
    let b = p.as_os_str().as_bytes();
    std::str::from_utf8(b)
        .is_err()
        .then(|| base64::engine::general_purpose::STANDARD.encode(b))
}

#[cfg(not(unix))]
fn non_utf8_bytes(p: &Path) -> Option<String> {
    p.to_str()
        .is_none()
        .then(|| base64::engine::general_purpose::STANDARD.encode(p.to_string_lossy().as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::archive::manifest::{Manifest, ProfileInfo, RunAs, ToolInfo};
    use crate::outcome::RunStatus;
    use crate::source::{FileMeta, FileType, HostFacts, SourceDescription};

    fn meta(size: u64) -> FileMeta {
        FileMeta {
            file_type: FileType::Regular,
            size,
            mtime: None,
            atime: None,
            ctime: None,
            btime: None,
            uid: None,
            gid: None,
            mode: None,
            owner: None,
            dev: None,
            inode: None,
        }
    }

    fn manifest() -> Manifest {
        Manifest {
            schema_version: 1,
            tool: ToolInfo::current(),
            command_line: vec![],
            run_as: RunAs {
                user: None,
                uid: None,
                sid: None,
                elevated: false,
            },
            case: None,
            host: HostFacts::default(),
            source: SourceDescription::Live {
                os: OsFamily::Linux,
            },
            profile: ProfileInfo {
                name: "t".into(),
                sha256: Sha256([0; 32]),
            },
            since: None,
            deadline_secs: None,
            low_impact: false,
            encryption: None,
            started: chrono::Utc::now(),
            ended: chrono::Utc::now(),
            status: RunStatus::Complete,
            collectors: vec![],
            stages: vec![],
            members: vec![],
        }
    }

    #[test]
    fn budget_truncates_then_skips_copies_but_still_hashes() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = ArchiveWriter::create(dir.path(), "a.zip", OsFamily::Linux).unwrap();
        w.set_budget(Some(180_000));
        let data = vec![b'x'; 100_000];
        let req = |name: &'static str, m: &'static FileMeta| FileRequest {
            display: name.into(),
            logical: Path::new(name),
            meta: m,
            copy: true,
            copy_cap: u64::MAX,
            keep: 0,
            member_name: None,
            keep_tail: false,
        };
        let m: &'static FileMeta = Box::leak(Box::new(meta(100_000)));
        let a = w
            .add_file(None, &req("/a", m), &mut &data[..], &|_| false)
            .unwrap();
        assert_eq!(a.copied, 100_000);
        let b = w
            .add_file(None, &req("/b", m), &mut &data[..], &|_| false)
            .unwrap();
        assert!(b.truncated && b.copied < 100_000 && b.copied > 0, "{b:?}");
        assert_eq!(b.sha256, Some(Sha256::digest(&data)));
        let c = w
            .add_file(None, &req("/c", m), &mut &data[..], &|_| false)
            .unwrap();
        assert!(c.copy_skipped.is_some() && c.member.is_none());
        assert_eq!(c.sha256, Some(Sha256::digest(&data)));
        let done = w.finish(&manifest()).unwrap();
        assert!(done.path.exists());
        // Two raw copies, as the manifest in the archive lists them.
        let mut zip = zip::ZipArchive::new(File::open(&done.path).unwrap()).unwrap();
        let mut text = String::new();
        zip.by_name("manifest.json")
            .unwrap()
            .read_to_string(&mut text)
            .unwrap();
        let m: Manifest = serde_json::from_str(&text).unwrap();
        assert_eq!(m.members.len(), 2);
        assert!(m.members[1].original.as_ref().unwrap().truncated);
    }

    #[test]
    fn sealed_archive_is_ciphertext_from_the_first_byte_and_opens_with_the_identity() {
        use crate::archive::crypt::{AGE_MAGIC, Identities};
        use age::secrecy::ExposeSecret;
        let dir = tempfile::tempdir().unwrap();
        let id = age::x25519::Identity::generate();
        let r = Recipients::parse(&[id.to_public().to_string()]).unwrap();
        let mut w =
            ArchiveWriter::create_sealed(dir.path(), "a.zip.age", OsFamily::Linux, &r).unwrap();
        w.add_bytes("records/x.jsonl", b"{\"secret_marker\":1}\n", None)
            .unwrap();
        let done = w.finish(&manifest()).unwrap();
        let bytes = std::fs::read(&done.path).unwrap();
        assert!(bytes.starts_with(AGE_MAGIC));
        assert!(!bytes.windows(13).any(|w| w == b"manifest.json"));
        assert_eq!(done.sha256, Sha256::digest(&bytes));
        assert_eq!(done.size, bytes.len() as u64);
        let key = dir.path().join("key.txt");
        std::fs::write(&key, id.to_string().expose_secret()).unwrap();
        let ids = Identities::load(&[key]).unwrap();
        let mut zip = crate::archive::open_archive(&done.path, &ids).unwrap();
        let mut s = String::new();
        zip.by_name("records/x.jsonl")
            .unwrap()
            .read_to_string(&mut s)
            .unwrap();
        assert_eq!(s, "{\"secret_marker\":1}\n");
        assert!(zip.by_name("manifest.json").is_ok());
    }

    #[test]
    fn random_blocks_are_stored_text_is_deflated() {
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let random: Vec<u8> = (0..65536)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x >> 24) as u8
            })
            .collect();
        assert!(looks_incompressible(&random));
        assert!(!looks_incompressible(&b"#!/bin/sh\necho hi\n".repeat(4000)));
        assert!(!looks_incompressible(&random[..100]));
        let dir = tempfile::tempdir().unwrap();
        let mut w = ArchiveWriter::create(dir.path(), "a.zip", OsFamily::Linux).unwrap();
        let m = meta(random.len() as u64);
        let req = FileRequest {
            display: "/r".into(),
            logical: Path::new("/r"),
            meta: &m,
            copy: true,
            copy_cap: u64::MAX,
            keep: 10,
            member_name: None,
            keep_tail: false,
        };
        let o = w
            .add_file(None, &req, &mut &random[..], &|_| false)
            .unwrap();
        assert_eq!(o.sha256, Some(Sha256::digest(&random)));
        assert_eq!(o.kept, random[..10]);
        let done = w.finish(&manifest()).unwrap();
        let mut zip = zip::ZipArchive::new(File::open(&done.path).unwrap()).unwrap();
        let f = zip.by_name("files/r").unwrap();
        assert_eq!(f.compression(), zip::CompressionMethod::Stored);
        assert_eq!(f.size(), random.len() as u64);
    }

    #[test]
    fn refuses_to_overwrite() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.zip"), b"x").unwrap();
        assert!(ArchiveWriter::create(dir.path(), "a.zip", OsFamily::Linux).is_err());
    }
}
