//! Records stream into a per-collector member kept deflated in memory, copied into the
//! archive in parts of at most [`RECORD_PART_BYTES`] compressed.

use super::super::manifest::MemberEntry;
use super::ArchiveWriter;
use crate::ids::{CollectorId, RecordAt};
use crate::record::Sha256;
use crate::sink::SinkError;
use sha2::Digest;
use std::io::Write;

/// Compressed bytes of one records part held in memory before it goes into the archive
/// (4 MiB: about 40,000 temp-file records, 80,000 history lines; held once, so it counts
/// whole against the run's memory).
pub const RECORD_PART_BYTES: u64 = 4 << 20;

/// Largest part buffer reserved up front; bigger profile part sizes grow as needed.
const PART_RESERVE_MAX: u64 = 64 << 20;
/// Room past the part size for the record that crosses it and the deflater's last output.
const PART_SLACK: usize = 1 << 20;

/// The records of the collector that is running, deflated in memory (the deflated bytes are
/// then written into the archive as they are, without inflating them again).
pub(super) struct RecordPart {
    id: CollectorId,
    /// 1 for `records/<c>.jsonl`, then 2, 3...
    part: u32,
    name: String,
    enc: flate2::write::DeflateEncoder<Vec<u8>>,
    crc: crc32fast::Hasher,
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

impl ArchiveWriter {
    fn start_part(&mut self, id: CollectorId, part: u32) -> Result<(), SinkError> {
        let name = RecordAt {
            collector: id,
            part,
            line: 0,
        }
        .member()
        .into_owned();
        // Reserved once at the part's full size (plus the deflater's last flush): a growing Vec
        // doubles past the part size and copies itself on the way, up to three times the part
        // in memory at once. Untouched reserved pages cost no memory.
        let reserve = self.part_bytes.min(PART_RESERVE_MAX) as usize + PART_SLACK;
        let enc = flate2::write::DeflateEncoder::new(
            Vec::with_capacity(reserve),
            flate2::Compression::new(super::DEFLATE_LEVEL),
        );
        self.records = Some(RecordPart {
            id,
            part,
            name,
            enc,
            crc: crc32fast::Hasher::new(),
            hasher: sha2::Sha256::new(),
            size: 0,
            lines: 0,
        });
        Ok(())
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
        part.enc.write_all(json).map_err(SinkError::Write)?;
        part.enc.write_all(b"\n").map_err(SinkError::Write)?;
        part.crc.update(json);
        part.crc.update(b"\n");
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
        let compressed = part.enc.get_ref().len() as u64;
        if compressed >= self.part_bytes {
            let next = part.part + 1;
            self.flush_part()?;
            self.start_part(id, next)?;
        }
        Ok(at)
    }

    /// Copy the part held in memory into the archive.
    pub(super) fn flush_part(&mut self) -> Result<(), SinkError> {
        let Some(part) = self.records.take() else {
            return Ok(());
        };
        let RecordPart {
            id,
            name,
            enc,
            crc,
            hasher,
            size,
            ..
        } = part;
        let bytes = enc.finish().map_err(SinkError::Write)?;
        let name = self.unique_name(name);
        let stored = self
            .zip
            .raw_deflated(
                &name,
                Some(chrono::Utc::now()),
                crc.finalize(),
                size,
                &bytes,
            )
            .map_err(SinkError::Write)?;
        self.written += size;
        self.members.push(&MemberEntry {
            path: name.clone(),
            size,
            sha256: Sha256(hasher.finalize().into()),
            collector: Some(id),
            original: None,
            stored_sha256: Some(stored),
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

    pub(super) fn end_records(&mut self) -> Result<RecordsWritten, SinkError> {
        self.flush_part()?;
        Ok(RecordsWritten {
            records: std::mem::take(&mut self.record_count),
            members: std::mem::take(&mut self.record_members),
        })
    }
}
