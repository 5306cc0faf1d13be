//! Walking the 64 KiB chunk slots and the records in each, every step behind `catch_unwind`.

use std::io::{Read, Seek, SeekFrom};
use std::ops::ControlFlow;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;

use super::bytes::{le_u64, read_full};
use super::event::Rendered;
use super::xml::{event_from_xml, is_zero_filetime};
use super::{CHUNK_SIZE, FILE_HEADER_SIZE, RawEvent, ReadReport, Skip, SkipKind};

/// A chunk header; anything shorter cannot be a chunk.
pub(super) const CHUNK_HEADER_SIZE: usize = 512;
/// Smallest possible record (24-byte header + 4-byte trailing size copy); bounds records per chunk.
const MIN_RECORD_SIZE: u64 = 28;

pub(super) const CHUNK_MAGIC: &[u8; 8] = b"ElfChnk\0";

/// Reads every chunk slot after the file header, in record order (see [`chunk_order`]):
/// zeroed runs coalesced, damaged slots listed, a truncated last chunk zero-padded.
pub(super) fn read_chunks<R: Read + Seek>(
    reader: &mut R,
    file_size: u64,
    report: &mut ReadReport,
    on_event: &mut impl FnMut(RawEvent) -> ControlFlow<()>,
) {
    let body = file_size.saturating_sub(FILE_HEADER_SIZE);
    report.chunk_slots = body.div_ceil(CHUNK_SIZE);
    let order = chunk_order(reader, report.chunk_slots);
    let settings = Arc::new(evtx::ParserSettings::new().indent(false));
    let mut zero_run: Option<(u64, u64)> = None;
    let mut buf = Vec::new();

    for slot in order {
        let offset = FILE_HEADER_SIZE + slot * CHUNK_SIZE;
        let outcome = read_slot(reader, offset, &mut buf);
        // Coalesce runs of zeroed slots into one entry so an empty preallocated file stays terse.
        let is_zero = matches!(outcome, SlotRead::Data(_)) && buf.iter().all(|b| *b == 0);
        if is_zero {
            zero_run = match zero_run {
                Some((first, last)) if last + 1 == slot => Some((first, slot)),
                other => {
                    flush_zero_run(report, other);
                    Some((slot, slot))
                }
            };
            continue;
        }
        flush_zero_run(report, zero_run.take());
        let len = match outcome {
            SlotRead::Data(len) => len,
            SlotRead::Io(e) => {
                report.push_skip(Skip {
                    chunk: Some(slot),
                    offset: Some(offset),
                    record_id: None,
                    reason: format!("I/O error reading chunk: {e}"),
                    kind: SkipKind::Io,
                });
                continue;
            }
        };
        if len < CHUNK_HEADER_SIZE {
            report.push_skip(Skip {
                chunk: Some(slot),
                offset: Some(offset),
                record_id: None,
                reason: format!(
                    "file ends {len} bytes into the chunk slot, before a full chunk header"
                ),
                kind: SkipKind::TruncatedChunk,
            });
            continue;
        }
        if buf.get(..8) != Some(CHUNK_MAGIC.as_slice()) {
            report.push_skip(Skip {
                chunk: Some(slot),
                offset: Some(offset),
                record_id: None,
                reason: format!(
                    "bad chunk magic: expected \"ElfChnk\\0\", found {:02x?}",
                    buf.get(..8).unwrap_or_default()
                ),
                kind: SkipKind::BadChunkMagic,
            });
            continue;
        }
        if len < CHUNK_SIZE as usize {
            report.push_warning(Skip {
                chunk: Some(slot),
                offset: Some(offset),
                record_id: None,
                reason: format!(
                    "truncated chunk: file has only {len} of 65536 bytes; reading the records before the cut"
                ),
                kind: SkipKind::TruncatedChunk,
            });
            // Zero padding makes the cut look like free space, so complete records are kept
            // and a record straddling the cut fails on its own.
            buf.resize(CHUNK_SIZE as usize, 0);
        }
        let data = std::mem::take(&mut buf);
        let flow = process_chunk(data, slot, offset, &settings, report, on_event);
        if flow.is_break() {
            report.stopped_early = true;
            break;
        }
    }
    flush_zero_run(report, zero_run);
}

pub(super) enum SlotRead {
    Data(usize),
    Io(std::io::Error),
}

pub(super) fn read_slot<R: Read + Seek>(
    reader: &mut R,
    offset: u64,
    buf: &mut Vec<u8>,
) -> SlotRead {
    buf.clear();
    buf.resize(CHUNK_SIZE as usize, 0);
    if let Err(e) = reader.seek(SeekFrom::Start(offset)) {
        return SlotRead::Io(e);
    }
    match read_full(reader, buf) {
        Ok(n) => {
            buf.truncate(n);
            SlotRead::Data(n)
        }
        Err(e) => SlotRead::Io(e),
    }
}

pub(super) fn flush_zero_run(report: &mut ReadReport, run: Option<(u64, u64)>) {
    if let Some((first, last)) = run {
        let reason = if first == last {
            "chunk slot is all zeros (unused or wiped)".to_string()
        } else {
            format!(
                "chunk slots {first}..={last} ({} slots) are all zeros (unused or wiped)",
                last - first + 1
            )
        };
        report.push_skip(Skip {
            chunk: Some(first),
            offset: Some(FILE_HEADER_SIZE + first * CHUNK_SIZE),
            record_id: None,
            reason,
            kind: SkipKind::ZeroedChunk,
        });
    }
}

/// Slot numbers in record order: start at the chunk whose header names the lowest first record
/// id, run to the end of the file, then wrap to slot 0. The file header's "oldest chunk" is not
/// trusted because a dirty log's header lags behind its chunks.
pub(super) fn chunk_order<R: Read + Seek>(
    reader: &mut R,
    slots: u64,
) -> std::iter::Chain<std::ops::Range<u64>, std::ops::Range<u64>> {
    let mut oldest: Option<(u64, u64)> = None;
    let mut head = [0u8; 48];
    for slot in 0..slots {
        let offset = FILE_HEADER_SIZE + slot * CHUNK_SIZE;
        if reader.seek(SeekFrom::Start(offset)).is_err() {
            break;
        }
        match read_full(reader, &mut head) {
            Ok(n) if n == head.len() => {}
            _ => continue,
        }
        if head.get(..8) != Some(CHUNK_MAGIC.as_slice()) {
            continue;
        }
        let first = le_u64(&head, 24);
        let last = le_u64(&head, 32);
        if first <= last && oldest.is_none_or(|(id, _)| first < id) {
            oldest = Some((first, slot));
        }
    }
    let start = oldest.map_or(0, |(_, slot)| slot);
    (start..slots).chain(0..start)
}

pub(super) fn process_chunk(
    data: Vec<u8>,
    slot: u64,
    offset: u64,
    settings: &Arc<evtx::ParserSettings>,
    report: &mut ReadReport,
    on_event: &mut impl FnMut(RawEvent) -> ControlFlow<()>,
) -> ControlFlow<()> {
    let skip = |record_id: Option<u64>, kind: SkipKind, reason: String| Skip {
        chunk: Some(slot),
        offset: Some(offset),
        record_id,
        reason,
        kind,
    };
    let Some(mut chunk_data) = load_chunk(data, report, &skip) else {
        return ControlFlow::Continue(());
    };
    let chunk_ref = &mut chunk_data;
    let settings = Arc::clone(settings);
    let chunk = catch_unwind(AssertUnwindSafe(move || chunk_ref.parse(settings)));
    let mut chunk = match chunk {
        Ok(Ok(c)) => c,
        Ok(Err(e)) => {
            report.push_skip(skip(
                None,
                SkipKind::BadChunkHeader,
                format!("chunk string table: {}", error_chain(&e)),
            ));
            return ControlFlow::Continue(());
        }
        Err(p) => {
            report.push_skip(skip(
                None,
                SkipKind::Panic,
                format!("evtx panicked building chunk: {}", panic_msg(&p)),
            ));
            return ControlFlow::Continue(());
        }
    };

    read_records(&mut chunk, slot, offset, report, on_event, &skip)
}

/// Reads the chunk header; checksum mismatches are warnings, since the records usually still
/// parse. `None` when the header is unusable (listed in `report`).
fn load_chunk(
    data: Vec<u8>,
    report: &mut ReadReport,
    skip: &impl Fn(Option<u64>, SkipKind, String) -> Skip,
) -> Option<evtx::EvtxChunkData> {
    let chunk_data = catch_unwind(AssertUnwindSafe(|| evtx::EvtxChunkData::new(data, false)));
    let chunk_data = match chunk_data {
        Ok(Ok(c)) => c,
        Ok(Err(e)) => {
            report.push_skip(skip(
                None,
                SkipKind::BadChunkHeader,
                format!("chunk header: {}", error_chain(&e)),
            ));
            return None;
        }
        Err(p) => {
            report.push_skip(skip(
                None,
                SkipKind::Panic,
                format!("evtx panicked on chunk header: {}", panic_msg(&p)),
            ));
            return None;
        }
    };
    report.chunks_seen += 1;
    let checks = catch_unwind(AssertUnwindSafe(|| {
        (
            chunk_data.validate_header_checksum(),
            chunk_data.validate_data_checksum(),
        )
    }));
    match checks {
        Ok((true, true)) => {}
        Ok((header_ok, data_ok)) => {
            let what = match (header_ok, data_ok) {
                (false, false) => "chunk header and records CRC32 mismatch",
                (false, true) => "chunk header CRC32 mismatch",
                _ => "chunk records CRC32 mismatch",
            };
            report.push_warning(skip(
                None,
                SkipKind::ChecksumMismatch,
                format!("{what}; records parsed anyway"),
            ));
        }
        Err(p) => {
            report.push_warning(skip(
                None,
                SkipKind::Panic,
                format!("evtx panicked on checksum: {}", panic_msg(&p)),
            ));
        }
    }
    Some(chunk_data)
}

/// Renders every record of a parsed chunk and hands it on; a record that fails is listed and
/// skipped, a panic while walking abandons the rest of the chunk.
fn read_records(
    chunk: &mut evtx::EvtxChunk<'_>,
    slot: u64,
    offset: u64,
    report: &mut ReadReport,
    on_event: &mut impl FnMut(RawEvent) -> ControlFlow<()>,
    skip: &impl Fn(Option<u64>, SkipKind, String) -> Skip,
) -> ControlFlow<()> {
    let mut iter = chunk.iter();
    let max_steps = CHUNK_SIZE / MIN_RECORD_SIZE + 16;
    let mut steps = 0u64;
    loop {
        steps += 1;
        if steps > max_steps {
            report.push_skip(skip(
                None,
                SkipKind::IterationLimit,
                format!("stopped after {max_steps} record steps in one chunk"),
            ));
            break;
        }
        let next = match catch_unwind(AssertUnwindSafe(|| iter.next())) {
            Ok(n) => n,
            Err(p) => {
                // Iterator state after a panic is unknown: abandon the rest of this chunk.
                report.push_skip(skip(
                    None,
                    SkipKind::Panic,
                    format!(
                        "evtx panicked walking records; rest of chunk abandoned: {}",
                        panic_msg(&p)
                    ),
                ));
                break;
            }
        };
        let record = match next {
            None => break,
            Some(Ok(r)) => r,
            Some(Err(e)) => {
                let mut item = skip(error_record_id(&e), SkipKind::Record, error_chain(&e));
                if let evtx::err::EvtxError::FailedToReadRecordAt { offset: at, .. } = &e {
                    item.offset = Some(offset.saturating_add(*at));
                }
                report.push_skip(item);
                continue;
            }
        };
        let record_id = record.event_record_id;
        let rendered = catch_unwind(AssertUnwindSafe(move || {
            let header_time = jiff_to_chrono(record.timestamp);
            record.into_xml().map(|r| Rendered {
                record_id,
                header_time,
                xml: r.data,
            })
        }));
        let rendered = match rendered {
            Ok(Ok(r)) => r,
            Ok(Err(e)) => {
                report.push_skip(skip(
                    Some(record_id),
                    SkipKind::Record,
                    format!("render: {}", error_chain(&e)),
                ));
                continue;
            }
            Err(p) => {
                report.push_skip(skip(
                    Some(record_id),
                    SkipKind::Panic,
                    format!("evtx panicked rendering record: {}", panic_msg(&p)),
                ));
                continue;
            }
        };
        match event_from_xml(&rendered, slot) {
            Ok(ev) => {
                report.records_ok += 1;
                if on_event(ev).is_break() {
                    return ControlFlow::Break(());
                }
            }
            Err(reason) => {
                report.push_skip(skip(Some(rendered.record_id), SkipKind::RecordXml, reason));
            }
        }
    }
    ControlFlow::Continue(())
}

fn error_record_id(e: &evtx::err::EvtxError) -> Option<u64> {
    match e {
        evtx::err::EvtxError::FailedToParseRecord { record_id, .. } => Some(*record_id),
        _ => None,
    }
}

/// The crate's top-level messages are terse ("Failed to parse record number N"); the cause
/// chain says what was actually wrong.
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    let mut depth = 0;
    while let Some(s) = cur {
        depth += 1;
        if depth > 16 {
            break;
        }
        out.push_str(": ");
        out.push_str(&s.to_string());
        cur = s.source();
    }
    out
}

fn panic_msg(p: &Box<dyn std::any::Any + Send>) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = p.downcast_ref::<String>() {
        s.clone()
    } else {
        "non-string panic payload".to_string()
    }
}

fn jiff_to_chrono(ts: evtx::Timestamp) -> Option<chrono::DateTime<chrono::Utc>> {
    let nanos = u32::try_from(ts.subsec_nanosecond()).ok()?;
    let t = chrono::DateTime::from_timestamp(ts.as_second(), nanos)?;
    (!is_zero_filetime(&t)).then_some(t)
}
