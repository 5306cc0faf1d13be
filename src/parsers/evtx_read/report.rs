//! What a read recovered, skipped and flagged, and the one error that stops a read.

use serde::{Deserialize, Serialize};

/// Keep the skip/warning lists bounded on a hostile multi-GB file; the rest is only counted.
const MAX_REPORT_ITEMS: usize = 10_000;

/// Why something was skipped or flagged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SkipKind {
    /// Chunk slot(s) entirely zero: unused or wiped space, no records lost.
    ZeroedChunk,
    /// Slot does not start with `ElfChnk\0`: garbage or overwritten data.
    BadChunkMagic,
    /// The chunk header or its string table could not be parsed.
    BadChunkHeader,
    /// Header or records CRC32 mismatch; records were still parsed (a warning).
    ChecksumMismatch,
    /// The file ends inside this chunk; complete records before the cut were kept.
    TruncatedChunk,
    /// A record that could not be read or rendered.
    Record,
    /// The rendered record could not be read back.
    RecordXml,
    /// The `evtx` crate panicked; converted to a skip.
    Panic,
    /// Reading the input failed.
    Io,
    /// Guard against a parser that stops making progress.
    IterationLimit,
    /// The file header itself is damaged (bad CRC, short header block).
    FileHeader,
}

/// One skipped item (or warning) and why.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub struct Skip {
    /// Chunk slot number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chunk: Option<u64>,
    /// File offset of the chunk (or of the record, when known).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub offset: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub record_id: Option<u64>,
    pub reason: String,
    pub kind: SkipKind,
}

/// What a read found.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub struct ReadReport {
    /// The file header's chunk count (often stale on a live/dirty log).
    pub header_chunk_count: u64,
    /// Slots that held a chunk with a valid magic and were parsed.
    pub chunks_seen: u64,
    /// Records delivered to the callback.
    pub records_ok: u64,
    /// Data that could not be read (chunks, records), with reasons.
    pub skipped: Vec<Skip>,
    /// Anomalies that did not lose data: checksum mismatches, damaged file header.
    pub warnings: Vec<Skip>,
    /// Slots in the file after the header (a trailing partial slot counts).
    pub chunk_slots: u64,
    /// Input size in bytes.
    pub file_size: u64,
    /// File header DIRTY flag (log not closed cleanly — expected on a live box).
    pub header_dirty: bool,
    /// File header CRC32 valid (or NO_CRC32 set).
    pub header_checksum_ok: bool,
    /// Items not stored in `skipped`/`warnings` because of the list cap.
    pub items_dropped: u64,
    /// The callback returned `ControlFlow::Break`.
    pub stopped_early: bool,
}

impl ReadReport {
    pub(super) fn push_skip(&mut self, skip: Skip) {
        if self.skipped.len() < MAX_REPORT_ITEMS {
            self.skipped.push(skip);
        } else {
            self.items_dropped += 1;
        }
    }
    pub(super) fn push_warning(&mut self, skip: Skip) {
        if self.warnings.len() < MAX_REPORT_ITEMS {
            self.warnings.push(skip);
        } else {
            self.items_dropped += 1;
        }
    }
}

/// The input is not an EVTX file at all.
#[derive(Debug, thiserror::Error)]
pub enum EvtxReadError {
    #[error("input too short for an EVTX file header: {len} bytes, need at least 128")]
    TooShort { len: u64 },
    #[error("bad EVTX file magic at offset 0: expected \"ElfFile\\0\", found {found:02x?}")]
    BadMagic { found: [u8; 8] },
    // The message names its cause: collectors quote this error, and a cause also marked
    // `#[source]` (as a field called `source` is implicitly) would be printed twice in a chain.
    #[error("I/O error while reading the EVTX file header at offset {offset}: {cause}")]
    Io { offset: u64, cause: std::io::Error },
}
