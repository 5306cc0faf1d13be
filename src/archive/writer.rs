//! The archive sink: one zip written front to back (streaming, never seeking, so it can
//! feed an encryptor), every member hashed as it is written, written under a `.partial` name
//! and renamed only when complete, with a `sha256sum` sidecar.
//!
//! The byte pipeline: zip stream -> [age encryptor, with `--encrypt-to`] -> hashing writer ->
//! buffered file. The archive's SHA-256 (sidecar, summary) is therefore always that of the
//! file on disk: the ciphertext when encrypted. With encryption, every byte that reaches the
//! disk, from the first, is ciphertext: the `.partial` file is never plaintext either.

use super::crypt::{Recipients, Sealed};
use super::manifest::{Manifest, MemberEntry, OriginalFile};
use super::names::{member_for_logical, sanitize_member};
use crate::collectors::CollectorId;
use crate::record::{Record, Sha256};
use crate::sink::{FileOutcome, FileRequest, SinkError, stream_copy};
use crate::source::OsFamily;
use crate::timeline::{Timeline, TimelineStats};
use sha2::Digest;
use std::collections::{BTreeMap, HashSet};
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

type Zip = ZipWriter<StreamWriter<Sealed<HashingWriter<BufWriter<File>>>>>;

#[derive(Default)]
struct RecordBuffer {
    data: Vec<u8>,
    count: u64,
}

pub struct ArchiveWriter {
    zip: Zip,
    partial: PathBuf,
    final_path: PathBuf,
    os: OsFamily,
    members: Vec<MemberEntry>,
    names: HashSet<String>,
    records: BTreeMap<CollectorId, RecordBuffer>,
    /// Timestamped facts of the records flushed so far; `None` once `timeline.jsonl` is
    /// written.
    timeline: Option<Timeline>,
    /// Uncompressed bytes handed to the zip so far: an upper bound of what it occupies, give
    /// or take deflate's worst-case growth (accounted for in [`Self::over_budget`]).
    written: u64,
    /// At most this many bytes of raw copies and records (profile cap and free space).
    budget: Option<u64>,
}

/// The finished archive.
#[derive(Debug, Clone)]
pub struct Finished {
    pub path: PathBuf,
    pub sha256: Sha256,
    pub size: u64,
    pub sidecar: PathBuf,
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
        let sealed =
            match recipients.seal(HashingWriter::new(BufWriter::with_capacity(1 << 20, file))) {
                Ok(s) => s,
                Err(e) => {
                    let _ = std::fs::remove_file(&partial);
                    return Err(e);
                }
            };
        let zip = ZipWriter::new_stream(sealed);
        Ok(ArchiveWriter {
            zip,
            partial,
            final_path,
            os,
            members: Vec::new(),
            names: HashSet::new(),
            records: BTreeMap::new(),
            timeline: Some(Timeline::new()),
            written: 0,
            budget: None,
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

    fn unique_name(&mut self, wanted: String) -> String {
        let mut name = wanted.clone();
        let mut i = 2u64;
        while self.names.contains(&name) {
            name = format!("{wanted}~{i}");
            i += 1;
        }
        self.names.insert(name.clone());
        name
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
        self.members.push(entry.clone());
        Ok(entry)
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
        if req.copy && room.is_some_and(|r| r == 0 || (wanted > r && r < 64 << 10)) {
            let mut o = stream_copy(reader, None, 0, req.keep, stop).map_err(SinkError::Write)?;
            o.copy_skipped = Some(format!(
                "not copied: the archive size budget is spent ({} left)",
                room.unwrap_or(0)
            ));
            return Ok(o);
        }
        if !req.copy {
            return stream_copy(reader, None, 0, req.keep, stop).map_err(SinkError::Write);
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
        self.zip
            .start_file(name.clone(), Self::options(req.meta.mtime, large))?;
        let mut hw = HashingWriter::new(&mut self.zip);
        let mut outcome =
            stream_copy(reader, Some(&mut hw), cap, req.keep, stop).map_err(SinkError::Write)?;
        let (_, member_sha, member_size) = hw.finish();
        self.written += member_size;
        outcome.member = Some(name.clone());
        self.members.push(MemberEntry {
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
                read_error: outcome.read_error.clone(),
            }),
        });
        Ok(outcome)
    }

    /// Buffer one record; it is written when its collector ends ([`Self::flush_records`]),
    /// because a zip member must be written whole while files stream in between.
    pub fn add_record(&mut self, collector: CollectorId, rec: &Record) -> Result<(), SinkError> {
        let buf = self.records.entry(collector).or_default();
        serde_json::to_writer(&mut buf.data, rec).map_err(SinkError::Serialize)?;
        buf.data.push(b'\n');
        buf.count += 1;
        Ok(())
    }

    /// Write `records/<collector>.jsonl` (an empty member when there were no records, so a
    /// reader can tell "ran, found nothing" from "did not run").
    ///
    /// The buffer's timestamped facts go into the timeline on the way, and the bytes are
    /// returned for readers of the run's own records (detection) that should see exactly what
    /// the archive holds.
    pub fn flush_records(&mut self, collector: CollectorId) -> Result<(u64, Vec<u8>), SinkError> {
        let buf = self.records.remove(&collector).unwrap_or_default();
        let entry = self.add_bytes(
            &format!("records/{}.jsonl", collector.as_str()),
            &buf.data,
            Some(collector),
        )?;
        if let Some(t) = &mut self.timeline {
            t.add_records(collector, &entry.path, &buf.data);
        }
        Ok((buf.count, buf.data))
    }

    /// Write `timeline.jsonl` from the records flushed so far (pending buffers are flushed
    /// first). Later records are not in it; [`Self::finish`] writes it if nobody did.
    /// `None` when it was written already.
    pub fn write_timeline(&mut self) -> Result<Option<TimelineStats>, SinkError> {
        let pending: Vec<CollectorId> = self.records.keys().copied().collect();
        for c in pending {
            self.flush_records(c)?;
        }
        let Some(timeline) = self.timeline.take() else {
            return Ok(None);
        };
        let stats = timeline.stats().clone();
        self.add_bytes(crate::timeline::MEMBER, &timeline.into_jsonl(), None)?;
        Ok(Some(stats))
    }

    /// Write the manifest last, close the zip, make it durable, rename it, write the sidecar.
    pub fn finish(mut self, manifest: &mut Manifest) -> Result<Finished, SinkError> {
        // Flushes the records still buffered, then writes the timeline if nobody did.
        self.write_timeline()?;
        manifest.members = std::mem::take(&mut self.members);
        let json = serde_json::to_vec_pretty(manifest).map_err(SinkError::Serialize)?;
        self.zip.start_file(
            "manifest.json",
            Self::options(Some(chrono::Utc::now()), false),
        )?;
        self.zip.write_all(&json).map_err(SinkError::Write)?;
        let _ = self.zip.set_comment(format!(
            "{} {} triage archive; manifest.json lists every member with its SHA-256",
            env!("CARGO_PKG_NAME"),
            env!("CARGO_PKG_VERSION")
        ));
        let stream = self.zip.finish()?;
        // age's last chunk is written here: the file must not be synced or renamed before.
        let hashing = stream.into_inner().finish().map_err(SinkError::Write)?;
        let (buffered, sha256, size) = hashing.finish();
        let file = buffered
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
        std::fs::write(&sidecar, format!("{sha256}  {file_name}\n")).map_err(SinkError::Write)?;
        Ok(Finished {
            path: self.final_path,
            sha256,
            size,
            sidecar,
        })
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
    crate::text::base64::encode_if_not_utf8(p.as_os_str().as_bytes())
}

#[cfg(not(unix))]
fn non_utf8_bytes(p: &Path) -> Option<String> {
    p.to_str()
        .is_none()
        .then(|| crate::text::base64::encode(p.to_string_lossy().as_bytes()))
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
        let mut m = manifest();
        let done = w.finish(&mut m).unwrap();
        assert!(done.path.exists());
        // Two raw copies, and the (empty) timeline.
        assert_eq!(m.members.len(), 3);
        assert!(m.members[1].original.as_ref().unwrap().truncated);
        assert_eq!(m.members[2].path, crate::timeline::MEMBER);
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
        let mut m = manifest();
        let done = w.finish(&mut m).unwrap();
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
    fn refuses_to_overwrite() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.zip"), b"x").unwrap();
        assert!(ArchiveWriter::create(dir.path(), "a.zip", OsFamily::Linux).is_err());
    }
}
