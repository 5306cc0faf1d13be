//! Windows XML Event Log (EVTX) reader that recovers every readable record.
//!
//! Artifact: `*.evtx` files, the binary event logs of Windows Vista and later. They live in
//! `%SystemRoot%\System32\winevt\Logs\` (e.g. `Security.evtx`,
//! `Microsoft-Windows-PowerShell%4Operational.evtx`, `Windows PowerShell.evtx`); exported logs
//! can be anywhere. Linux/macOS have no EVTX logs of their own; there we only read files from an
//! offline Windows root or a collected copy.
//!
//! What we record: for every record the System fields (record id, time, EventID, provider,
//! channel, computer, user SID, process/thread id, level, ...) and the event payload
//! (`EventData/Data` in document order, named and unnamed, plus `UserData` as JSON), and a
//! [`ReadReport`] saying what could not be read and why.
//!
//! Why we do not just use `EvtxParser::records()`: logs copied from a live box are routinely
//! "dirty" — the file header understates the chunk count, chunks are zeroed, CRCs are stale,
//! the last chunk is cut short. We walk every 64 KiB chunk slot after the 4 KiB file header
//! ourselves (in record order: from the chunk holding the lowest record id, wrapping around, as
//! Windows reads a log that has wrapped), ignore checksums for parsing (a mismatch is only a
//! warning), zero-pad a truncated last chunk so its complete records survive, and isolate
//! every chunk and every record behind `catch_unwind` so one hostile record cannot take the
//! collector down.
//!
//! Rendering: each record is rendered by the `evtx` crate to XML and that XML is read back with
//! `quick-xml`. XML (not the crate's JSON) is used because it keeps `Data` elements in order,
//! keeps unnamed and duplicate `Data` apart, and expands string arrays into one `Data` element
//! per item, exactly as Windows' own renderer does. Consequently a value never contains an
//! array join: a BinXML string array in an unnamed `Data` becomes several `unnamed` entries
//! (classic "Windows PowerShell" 400/600/800 events), and in a named `Data` several `named`
//! entries with the same name (`EventData::get` returns the first).
//!
//! References: MS-EVEN6 (BinXml), Joachim Metz, "Windows XML Event Log (EVTX) format"
//! (libevtx documentation), and the `evtx` crate.

mod bytes;
mod chunks;
mod event;
mod report;
#[cfg(test)]
#[allow(clippy::disallowed_methods)]
mod tests;
mod xml;

pub use event::{EventData, RawEvent};
pub use report::{EvtxReadError, ReadReport, Skip, SkipKind};

use std::io::{Read, Seek, SeekFrom};
use std::ops::ControlFlow;

use bytes::{crc32, le_bytes, le_u16, le_u32, read_full};
use chunks::read_chunks;

/// Size of the file header block that precedes the first chunk.
pub const FILE_HEADER_SIZE: u64 = 4096;
/// Every chunk occupies one fixed 64 KiB slot.
pub const CHUNK_SIZE: u64 = 65536;

const FILE_MAGIC: &[u8; 8] = b"ElfFile\0";

/// Read every recoverable record of an EVTX file, calling `on_event` for each, in record order.
///
/// Only a missing/short/bad-magic file header is an `Err`; everything else is recovered around
/// and listed in the report. Memory use is bounded by one chunk's records.
pub fn read_events<R: Read + Seek>(
    mut reader: R,
    mut on_event: impl FnMut(RawEvent) -> ControlFlow<()>,
) -> Result<ReadReport, EvtxReadError> {
    let io_err = |offset| move |cause| EvtxReadError::Io { offset, cause };
    let file_size = reader.seek(SeekFrom::End(0)).map_err(io_err(0))?;
    reader.seek(SeekFrom::Start(0)).map_err(io_err(0))?;
    let mut header = vec![0u8; FILE_HEADER_SIZE as usize];
    let got = read_full(&mut reader, &mut header).map_err(io_err(0))?;
    if got < 128 {
        return Err(EvtxReadError::TooShort { len: got as u64 });
    }
    let magic: [u8; 8] = le_bytes(&header, 0);
    if &magic != FILE_MAGIC {
        return Err(EvtxReadError::BadMagic { found: magic });
    }

    let mut report = ReadReport {
        file_size,
        header_chunk_count: u64::from(le_u16(&header, 42)),
        ..ReadReport::default()
    };
    let flags = le_u32(&header, 120);
    report.header_dirty = flags & 1 != 0;
    let stored_crc = le_u32(&header, 124);
    report.header_checksum_ok =
        flags & 4 != 0 || stored_crc == crc32(header.get(..120).unwrap_or_default());
    if !report.header_checksum_ok {
        report.push_warning(Skip {
            chunk: None,
            offset: Some(0),
            record_id: None,
            reason: format!(
                "file header CRC32 mismatch (stored {stored_crc:#010x}); chunks are found by position, reading on"
            ),
            kind: SkipKind::FileHeader,
        });
    }
    if (got as u64) < FILE_HEADER_SIZE {
        report.push_warning(Skip {
            chunk: None,
            offset: Some(0),
            record_id: None,
            reason: format!("file ends inside the 4096-byte header block ({got} bytes)"),
            kind: SkipKind::FileHeader,
        });
        return Ok(report);
    }

    read_chunks(&mut reader, file_size, &mut report, &mut on_event);
    Ok(report)
}
