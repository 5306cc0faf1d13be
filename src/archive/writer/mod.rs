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
//! and go out in parts of at most [`records::RECORD_PART_BYTES`] compressed (`records/<c>.jsonl`, then
//! `records/<c>.2.jsonl`, ...); the manifest's member list is kept deflated too; member names
//! are remembered by a 64-bit digest. A failed run never leaves a `.partial` behind
//! ([`ArchiveWriter::abort`], and [`ArchiveWriter::finish`] on failure).

use super::crypt::{Recipients, Sealed};
use super::manifest::{Manifest, MemberEntry, archive_comment};
use super::names::sanitize_member;
use super::sign::{MANIFEST_SIG_MEMBER, SigningKey};
use crate::ids::{CollectorId, OsFamily};
use crate::record::Sha256;
use crate::sink::SinkError;
use std::collections::HashSet;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use zipout::{EntryOptions, Method, ZipOut};

type Zip = ZipOut<Sealed<HashingWriter<OutputFile>>>;

/// Entries below this size never need zip64; a raw copy that is not marked large is capped
/// here so a file growing during the copy cannot overflow the 32-bit fields.
const SMALL_ENTRY_LIMIT: u64 = 0xF000_0000;

/// zlib level of deflated members and record parts.
const DEFLATE_LEVEL: u32 = 3;

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
    /// Compressed bytes of records held before a part is written.
    part_bytes: u64,
    /// `--sign`: signs the manifest (inside) and the finished file (beside).
    signer: Option<SigningKey>,
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
    /// `<archive>.sig`, the SSH signature over the whole file, when signed.
    pub signature: Option<PathBuf>,
    /// Why the signature beside the archive could not be written, when it could not.
    pub signature_error: Option<String>,
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
        let zip = ZipOut::new(sealed);
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
            part_bytes: RECORD_PART_BYTES,
            signer: None,
        })
    }

    /// Write zip64 fields everywhere (tests reach the zip64 layout with small archives).
    #[cfg(test)]
    pub(crate) fn force_zip64(&mut self) {
        self.zip.force_zip64();
    }

    /// Sign the manifest and the finished file with this key.
    pub fn set_signer(&mut self, key: Option<SigningKey>) {
        self.signer = key;
    }

    /// Records held deflated in memory before a part is written (at least 4 KiB).
    pub fn set_record_part_size(&mut self, bytes: u64) {
        self.part_bytes = bytes.max(4096);
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

    /// Whether a member of this name was written (by digest: a false "yes" needs a 64-bit
    /// collision between two of irsnap's own names).
    pub fn has_member(&self, name: &str) -> bool {
        self.names.contains(&Self::name_digest(name))
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

    fn options(mtime: Option<crate::record::Timestamp>, large: bool) -> EntryOptions {
        EntryOptions {
            // Level 3: several times faster than the default 6 for a few percent in size;
            // a triage run is judged by its seconds.
            method: Method::Deflated(DEFLATE_LEVEL),
            mtime,
            large,
        }
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
            .start_file(&name, Self::options(Some(chrono::Utc::now()), large))
            .map_err(SinkError::Write)?;
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
            stored_sha256: None,
        };
        self.log_member(entry)
    }

    /// End the member being written and list it in the manifest with the SHA-256 of its
    /// stored bytes.
    fn log_member(&mut self, mut entry: MemberEntry) -> Result<MemberEntry, SinkError> {
        entry.stored_sha256 = self.zip.end_file().map_err(SinkError::Write)?;
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
            .start_file(&name, Self::options(Some(chrono::Utc::now()), true))
            .map_err(SinkError::Write)?;
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
            stored_sha256: None,
        };
        let entry = self.log_member(entry)?;
        Ok((entry, result))
    }

    /// Give up: close nothing, write nothing more, and remove the `.partial` file, so that a
    /// failed run never leaves something that looks like an archive.
    pub fn abort(self) -> PathBuf {
        let partial = self.partial.clone();
        drop(self);
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
        head.signature = self.signer.as_ref().map(SigningKey::info);
        let json = serde_json::to_vec_pretty(&head).map_err(SinkError::Serialize)?;
        // The pretty printer ends with `"members": []` and the closing brace; the member list,
        // held compressed, is streamed in its place.
        let tail: &[u8] = b"\"members\": []\n}";
        let Some(prefix) = json.strip_suffix(tail) else {
            return Err(SinkError::Write(std::io::Error::other(
                "manifest layout: members is not the last field",
            )));
        };
        // Stored, not deflated: its bytes in the file are the bytes the signature covers.
        let mut options = Self::options(Some(chrono::Utc::now()), true);
        options.method = Method::Stored;
        self.zip
            .start_file("manifest.json", options)
            .map_err(SinkError::Write)?;
        self.zip.write_all(prefix).map_err(SinkError::Write)?;
        self.zip
            .write_all(b"\"members\": ")
            .map_err(SinkError::Write)?;
        let members = std::mem::replace(&mut self.members, MemberLog::new());
        members.write_array(&mut self.zip)?;
        self.zip.write_all(b"\n}").map_err(SinkError::Write)?;
        let manifest_sha = self.zip.end_file().map_err(SinkError::Write)?;
        if let (Some(key), Some(digest)) = (&self.signer, manifest_sha) {
            let pem = key
                .sign_digest(&digest)
                .map_err(|e| SinkError::Write(std::io::Error::other(e.to_string())))?;
            let mut options = Self::options(Some(chrono::Utc::now()), false);
            options.method = Method::Stored;
            self.zip
                .start_file(MANIFEST_SIG_MEMBER, options)
                .map_err(SinkError::Write)?;
            self.zip
                .write_all(pem.as_bytes())
                .map_err(SinkError::Write)?;
        }
        let comment = archive_comment(&head.tool);
        let signer = self.signer.take();
        let sealed = self.zip.finish(&comment).map_err(SinkError::Write)?;
        // age's last chunk is written here: the file must not be synced or renamed before.
        let hashing = sealed.finish().map_err(SinkError::Write)?;
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
        // The signature over the whole file, beside it; like the sidecar, said when it fails.
        let (signature, signature_error) = match signer {
            None => (None, None),
            Some(key) => {
                let path = signature_path(&self.final_path);
                let written = key
                    .sign_digest(&sha256)
                    .map_err(|e| e.to_string())
                    .and_then(|pem| std::fs::write(&path, pem).map_err(|e| e.to_string()));
                match written {
                    Ok(()) => (Some(path), None),
                    Err(e) => {
                        let _ = std::fs::remove_file(&path);
                        (None, Some(e))
                    }
                }
            }
        };
        Ok(Finished {
            path: self.final_path,
            sha256,
            size,
            sidecar,
            sidecar_error,
            signature,
            signature_error,
        })
    }
}

pub fn sidecar_path(archive: &Path) -> PathBuf {
    let mut s = archive.as_os_str().to_os_string();
    s.push(".sha256");
    PathBuf::from(s)
}

/// `<archive>.sig`: the SSH signature over the whole archive file.
pub fn signature_path(archive: &Path) -> PathBuf {
    let mut s = archive.as_os_str().to_os_string();
    s.push(".sig");
    PathBuf::from(s)
}

mod chunks;
mod copy;
mod members;
mod output;
mod records;
pub(super) mod zipout;
pub use records::RECORD_PART_BYTES;
#[cfg(test)]
mod tests;

use members::MemberLog;
pub use output::{HashingWriter, OutputFile};
use records::RecordPart;
