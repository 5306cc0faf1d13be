//! systemd journal files (`/var/log/journal/<machine-id>/*.journal`, `/run/log/journal/...`,
//! and `*.journal~`, the files journald renames aside when it finds them damaged), read from
//! their binary format directly: no `journalctl`, no libsystemd.
//!
//! A journal is a header and an arena of 8-byte-aligned objects. Each ENTRY object (one log
//! record: seqnum, realtime and monotonic times, boot id) lists the offsets of its DATA objects
//! (`FIELD=value`, compressed with XZ, LZ4 or ZSTD when large); ENTRY_ARRAY objects, chained
//! from the header, list every entry in order. Files written with `--compact` (systemd 252+)
//! use 32-bit offsets in both.
//!
//! Reading: the entry-array chain is walked with every offset, size and type checked against
//! the file; when the chain is damaged (a bad offset, a loop, an object of the wrong type, a
//! truncated file), the reader falls back to scanning the arena object by object from the last
//! entry it read, so an active, truncated or corrupt file still gives every entry that is
//! intact. A damaged entry or data object is skipped and counted, never fatal. Memory is
//! bounded: the file is read through `Read + Seek` in 64 KiB pages (a small cache), one
//! field's value is capped at [`MAX_FIELD_BYTES`] decompressed, one entry at [`MAX_ITEMS`]
//! fields; only the fields the caller asks for are kept.
//!
//! Reference: systemd `docs/JOURNAL_FILE_FORMAT.md`; `journal-def.h`; `compress.c` (an LZ4
//! payload starts with its decompressed size as a little-endian u64).

mod layout;
mod pages;
#[cfg(test)]
#[allow(clippy::disallowed_methods)]
mod tests;

pub use layout::Header;

use layout::*;
use pages::Pages;
use std::io::{Read, Seek};
use std::ops::ControlFlow;

/// A field's value kept up to this many bytes (decompressed).
pub const MAX_FIELD_BYTES: usize = 1 << 20;
/// Items (fields) of one entry read; more is a damaged or hostile entry.
pub const MAX_ITEMS: u64 = 4096;
/// Largest DATA object read (compressed size).
const MAX_OBJECT: u64 = 64 << 20;
/// Damage notes kept in a report.
const MAX_NOTES: usize = 20;

#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error("not a systemd journal file (no LPKSHHRH signature)")]
    NotAJournal,
    #[error("read error at offset {offset}: {cause}")]
    Io { offset: u64, cause: std::io::Error },
}

/// One entry: its header and the fields asked for.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct JournalEntry {
    /// Offset of the ENTRY object in the file.
    pub offset: u64,
    pub seqnum: u64,
    /// Wall-clock time of the entry (UTC, microseconds).
    pub realtime: Option<chrono::DateTime<chrono::Utc>>,
    pub monotonic_usec: u64,
    /// 32 hex characters.
    pub boot_id: String,
    /// The kept fields, in the entry's order; values as bytes (a field may be binary).
    pub fields: Vec<(String, Vec<u8>)>,
    /// Data objects of this entry that could not be read (bad offset, type, compression).
    pub damaged_fields: u32,
    /// Found by the sequential scan, not through the entry arrays.
    pub recovered_by_scan: bool,
}

impl JournalEntry {
    pub fn field(&self, name: &str) -> Option<&[u8]> {
        self.fields
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_slice())
    }
}

/// What reading one journal file found.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct JournalReport {
    pub header: Header,
    pub file_size: u64,
    /// Entries handed to the caller.
    pub entries_read: u64,
    /// Of those, found by the sequential scan.
    pub entries_recovered_by_scan: u64,
    /// Entries skipped because the caller asked for the newest only.
    pub entries_skipped: u64,
    /// ENTRY objects that could not be read.
    pub entries_damaged: u64,
    /// DATA objects that could not be read or decompressed.
    pub fields_damaged: u64,
    /// The entry-array chain was damaged; the arena was scanned.
    pub arrays_damaged: bool,
    /// The file is shorter than its header says (being written, or cut).
    pub truncated: bool,
    /// The caller stopped the read.
    pub stopped_early: bool,
    pub first_realtime: Option<chrono::DateTime<chrono::Utc>>,
    pub last_realtime: Option<chrono::DateTime<chrono::Utc>>,
    /// What was damaged, where (the first [`MAX_NOTES`]).
    pub notes: Vec<String>,
}

impl JournalReport {
    fn note(&mut self, s: String) {
        if self.notes.len() < MAX_NOTES {
            self.notes.push(s);
        }
    }
}

/// How to read.
pub struct ReadOptions<'a> {
    /// Entries of the array chain to skip before handing any over (keep the newest N of a
    /// big file: `n_entries - N`).
    pub skip_first: u64,
    /// The fields to keep (others are read for their name only).
    pub wanted: &'a dyn Fn(&str) -> bool,
}

/// Read every entry of a journal, in order, handing each to `on_entry` until it breaks.
pub fn read_journal<R: Read + Seek>(
    reader: R,
    opts: &ReadOptions,
    mut on_entry: impl FnMut(JournalEntry) -> ControlFlow<()>,
) -> Result<JournalReport, JournalError> {
    let mut pages = Pages::new(reader)?;
    let head = pages.read_at(0, 272).unwrap_or_default();
    let header = Header::parse(&head).ok_or(JournalError::NotAJournal)?;
    let mut r = Reader {
        compact: header.compact(),
        pages,
        report: JournalReport {
            file_size: 0,
            ..JournalReport::default()
        },
    };
    r.report.file_size = r.pages.len();
    r.report.header = header.clone();
    let header_size = header.header_size.max(MIN_HEADER_SIZE);
    if header_size.saturating_add(header.arena_size) > r.pages.len() {
        r.report.truncated = true;
        r.report.note(format!(
            "file is {} bytes, its header says {}: truncated or still being written",
            r.pages.len(),
            header_size.saturating_add(header.arena_size)
        ));
    }
    if header.incompatible_flags & !INCOMPAT_KNOWN != 0 {
        r.report.note(format!(
            "unknown incompatible flags {:#x}: read as far as the known layout goes",
            header.incompatible_flags
        ));
    }
    let mut emit = |r: &mut Reader<R>, e: JournalEntry| -> ControlFlow<()> {
        r.report.entries_read += 1;
        if e.recovered_by_scan {
            r.report.entries_recovered_by_scan += 1;
        }
        if let Some(t) = e.realtime {
            r.report.first_realtime = Some(r.report.first_realtime.map_or(t, |f| f.min(t)));
            r.report.last_realtime = Some(r.report.last_realtime.map_or(t, |l| l.max(t)));
        }
        on_entry(e)
    };
    let walked = r.walk_arrays(&header, opts, &mut emit)?;
    match walked {
        Walk::Stopped => r.report.stopped_early = true,
        Walk::Done { .. } if !r.report.arrays_damaged => {}
        Walk::Done { last_entry } => {
            let from = last_entry.map_or(header_size, |o| o + 1);
            if r.scan(from, header_size, opts, &mut emit)? {
                r.report.stopped_early = true;
            }
        }
    }
    Ok(r.report)
}

enum Walk {
    Stopped,
    /// The chain ended (or broke, `arrays_damaged` says); the last entry read through it.
    Done {
        last_entry: Option<u64>,
    },
}

struct Reader<R> {
    pages: Pages<R>,
    compact: bool,
    report: JournalReport,
}

impl<R: Read + Seek> Reader<R> {
    fn object_header(&mut self, off: u64) -> Option<ObjectHeader> {
        if !off.is_multiple_of(8) || off < MIN_HEADER_SIZE {
            return None;
        }
        let b = self.pages.read_at(off, OBJECT_HEADER_SIZE as usize)?;
        let h = ObjectHeader::parse(&b)?;
        (h.size >= OBJECT_HEADER_SIZE && off.saturating_add(h.size) <= self.pages.len())
            .then_some(h)
    }

    fn walk_arrays(
        &mut self,
        header: &Header,
        opts: &ReadOptions,
        emit: &mut dyn FnMut(&mut Self, JournalEntry) -> ControlFlow<()>,
    ) -> Result<Walk, JournalError> {
        let item = if self.compact { 4u64 } else { 8 };
        let mut arr = header.entry_array_offset;
        let mut index = 0u64;
        let mut last_entry: Option<u64> = None;
        let mut arrays = 0u64;
        while arr != 0 {
            arrays += 1;
            let h = match self.object_header(arr) {
                Some(h) if h.kind == OBJECT_ENTRY_ARRAY && h.size >= ENTRY_ARRAY_ITEMS_AT => h,
                _ => {
                    self.report.arrays_damaged = true;
                    self.report
                        .note(format!("entry array at offset {arr} is damaged or missing"));
                    break;
                }
            };
            let next = self.pages.read_at(arr + 16, 8).map_or(0, |b| le_u64(&b, 0));
            let n = (h.size - ENTRY_ARRAY_ITEMS_AT) / item;
            // Items in chunks: a big file's last array holds millions.
            let mut i = 0u64;
            let mut end_of_list = false;
            while i < n && !end_of_list {
                let take = (n - i).min(8192);
                let at = arr + ENTRY_ARRAY_ITEMS_AT + i * item;
                let Some(chunk) = self.pages.read_at(at, (take * item) as usize) else {
                    self.report.arrays_damaged = true;
                    self.report.note(format!("entry array at {arr} cut short"));
                    return Ok(Walk::Done { last_entry });
                };
                for k in 0..take as usize {
                    let off = if self.compact {
                        u64::from(le_u32(&chunk, k * 4))
                    } else {
                        le_u64(&chunk, k * 8)
                    };
                    if off == 0 {
                        // Unused tail of the last array.
                        end_of_list = true;
                        break;
                    }
                    // Entries are appended: their offsets only grow.
                    if last_entry.is_some_and(|l| off <= l) {
                        self.report.arrays_damaged = true;
                        self.report
                            .note(format!("entry array at {arr}: offset {off} out of order"));
                        return Ok(Walk::Done { last_entry });
                    }
                    index += 1;
                    if index <= opts.skip_first {
                        self.report.entries_skipped += 1;
                        last_entry = Some(off);
                        continue;
                    }
                    match self.read_entry(off, opts) {
                        Some(e) => {
                            last_entry = Some(off);
                            if emit(self, e).is_break() {
                                return Ok(Walk::Stopped);
                            }
                        }
                        None => {
                            // A bad offset in an array may be the array itself that is bad:
                            // the scan from the last good entry finds what follows.
                            self.report.arrays_damaged = true;
                            self.report
                                .note(format!("entry array at {arr}: no entry at offset {off}"));
                            return Ok(Walk::Done { last_entry });
                        }
                    }
                }
                i += take;
            }
            if next != 0 && (next <= arr || arrays > header.n_objects.max(1) + 1) {
                self.report.arrays_damaged = true;
                self.report.note(format!(
                    "entry array at {arr} links back to {next} (a loop)"
                ));
                break;
            }
            arr = next;
        }
        if !self.report.arrays_damaged && index < header.n_entries {
            // The header counts entries the chain does not reach (an active file whose last
            // array link was not written, or a cut file).
            self.report.arrays_damaged = true;
            self.report.note(format!(
                "header counts {} entries, the entry arrays list {index}",
                header.n_entries
            ));
        }
        Ok(Walk::Done { last_entry })
    }

    /// Scan the arena object by object from `from` (8-byte aligned), handing over every
    /// ENTRY. Returns true when the caller stopped it.
    fn scan(
        &mut self,
        from: u64,
        header_size: u64,
        opts: &ReadOptions,
        emit: &mut dyn FnMut(&mut Self, JournalEntry) -> ControlFlow<()>,
    ) -> Result<bool, JournalError> {
        let len = self.pages.len();
        let mut p = align8(from.max(header_size));
        let mut resyncs = 0u64;
        // Walk forward to the next object boundary: `from` may sit inside an entry.
        while p + OBJECT_HEADER_SIZE <= len {
            match self.object_header(p) {
                Some(h) if (OBJECT_DATA..=OBJECT_TAG).contains(&h.kind) => {
                    if h.kind == OBJECT_ENTRY {
                        match self.read_entry(p, opts) {
                            Some(mut e) => {
                                e.recovered_by_scan = true;
                                if emit(self, e).is_break() {
                                    return Ok(true);
                                }
                            }
                            None => self.report.entries_damaged += 1,
                        }
                    }
                    p = align8(p + h.size);
                }
                _ => {
                    // Garbage or zeros (a hole in an active file): step to the next aligned
                    // position until an object header reads true again.
                    resyncs += 1;
                    p += 8;
                }
            }
        }
        if resyncs > 0 {
            self.report
                .note(format!("scan stepped over {} damaged bytes", resyncs * 8));
        }
        Ok(false)
    }

    fn read_entry(&mut self, off: u64, opts: &ReadOptions) -> Option<JournalEntry> {
        let h = self.object_header(off)?;
        let item = if self.compact { 4 } else { 16 };
        if h.kind != OBJECT_ENTRY
            || h.size < ENTRY_ITEMS_AT
            || (h.size - ENTRY_ITEMS_AT) / item > MAX_ITEMS
        {
            return None;
        }
        let body = self.pages.read_at(off, h.size as usize)?;
        let realtime = le_u64(&body, 24);
        let mut e = JournalEntry {
            offset: off,
            seqnum: le_u64(&body, 16),
            realtime: i64::try_from(realtime)
                .ok()
                .filter(|t| *t > 0)
                .and_then(chrono::DateTime::from_timestamp_micros),
            monotonic_usec: le_u64(&body, 32),
            boot_id: body[40..56].iter().map(|b| format!("{b:02x}")).collect(),
            ..JournalEntry::default()
        };
        let n = ((h.size - ENTRY_ITEMS_AT) / item) as usize;
        for i in 0..n {
            let at = ENTRY_ITEMS_AT as usize + i * item as usize;
            let data = if self.compact {
                u64::from(le_u32(&body, at))
            } else {
                le_u64(&body, at)
            };
            if data == 0 {
                continue;
            }
            match self.read_data(data, opts) {
                Ok(Some(kv)) => e.fields.push(kv),
                Ok(None) => {}
                Err(why) => {
                    e.damaged_fields += 1;
                    self.report.fields_damaged += 1;
                    self.report
                        .note(format!("entry at {off}: data object at {data}: {why}"));
                }
            }
        }
        Some(e)
    }

    /// One DATA object as (name, value) when its field is wanted.
    fn read_data(
        &mut self,
        off: u64,
        opts: &ReadOptions,
    ) -> Result<Option<(String, Vec<u8>)>, String> {
        let h = self.object_header(off).ok_or("bad offset or size")?;
        let at = if self.compact {
            DATA_PAYLOAD_AT_COMPACT
        } else {
            DATA_PAYLOAD_AT
        };
        if h.kind != OBJECT_DATA || h.size < at {
            return Err(format!("object of type {} where data was expected", h.kind));
        }
        if h.size > MAX_OBJECT {
            return Err(format!("{} bytes: larger than irsnap reads", h.size));
        }
        let compressed = h.flags & (OBJ_COMPRESSED_XZ | OBJ_COMPRESSED_LZ4 | OBJ_COMPRESSED_ZSTD);
        // Uncompressed: the name is read first, the value only when wanted.
        if compressed == 0 {
            let head = self
                .pages
                .read_at(off + at, ((h.size - at) as usize).min(128))
                .ok_or("cut short")?;
            let Some(eq) = head.iter().position(|b| *b == b'=') else {
                return Err("no '=' in the field's first bytes".into());
            };
            let name = String::from_utf8_lossy(&head[..eq]).into_owned();
            if !(opts.wanted)(&name) {
                return Ok(None);
            }
            let vlen = ((h.size - at) as usize - eq - 1).min(MAX_FIELD_BYTES);
            let value = self
                .pages
                .read_at(off + at + eq as u64 + 1, vlen)
                .ok_or("cut short")?;
            return Ok(Some((name, value)));
        }
        let raw = self
            .pages
            .read_at(off + at, (h.size - at) as usize)
            .ok_or("cut short")?;
        let payload = decompress(compressed, &raw)?;
        let Some(eq) = payload.iter().position(|b| *b == b'=') else {
            return Err("no '=' in the decompressed field".into());
        };
        let name = String::from_utf8_lossy(&payload[..eq]).into_owned();
        if !(opts.wanted)(&name) {
            return Ok(None);
        }
        let mut value = payload;
        value.drain(..=eq);
        Ok(Some((name, value)))
    }
}

/// A writer that refuses to grow past [`MAX_FIELD_BYTES`] (plus the field name).
struct Capped(Vec<u8>);

impl std::io::Write for Capped {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let room = (MAX_FIELD_BYTES + 256).saturating_sub(self.0.len());
        if room == 0 {
            return Err(std::io::Error::other("field over the cap"));
        }
        let n = buf.len().min(room);
        self.0.extend_from_slice(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

fn decompress(flags: u8, raw: &[u8]) -> Result<Vec<u8>, String> {
    let cap = MAX_FIELD_BYTES + 256;
    if flags & OBJ_COMPRESSED_LZ4 != 0 {
        // An LZ4 block after its decompressed size (u64 LE).
        let size = usize::try_from(le_u64(raw, 0)).unwrap_or(usize::MAX);
        let block = raw.get(8..).ok_or("lz4: no size header")?;
        if size > cap {
            // Decompress what fits: the field's start is what names it.
            let mut out = vec![0u8; cap];
            return match lz4_flex::block::decompress_into(block, &mut out) {
                Ok(n) => {
                    out.truncate(n);
                    Ok(out)
                }
                Err(_) => Err(format!("lz4: {size} bytes, over the cap")),
            };
        }
        return lz4_flex::block::decompress(block, size).map_err(|e| format!("lz4: {e}"));
    }
    if flags & OBJ_COMPRESSED_ZSTD != 0 {
        let mut d =
            ruzstd::decoding::StreamingDecoder::new(raw).map_err(|e| format!("zstd: {e}"))?;
        let mut out = Vec::new();
        return match d.by_ref().take(cap as u64).read_to_end(&mut out) {
            Ok(_) => Ok(out),
            Err(e) if !out.is_empty() => {
                let _ = e;
                Ok(out)
            }
            Err(e) => Err(format!("zstd: {e}")),
        };
    }
    let mut out = Capped(Vec::new());
    let mut input = std::io::BufReader::new(raw);
    match lzma_rs::xz_decompress(&mut input, &mut out) {
        Ok(()) => Ok(out.0),
        // Past the cap: keep the head.
        Err(_) if out.0.len() >= MAX_FIELD_BYTES => Ok(out.0),
        Err(e) => Err(format!("xz: {e}")),
    }
}
