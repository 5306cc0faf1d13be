//! `timeline.jsonl`: every timestamped fact of an archive's records, one JSON object per line,
//! sorted by time, in the shape Timesketch imports (`message`, `datetime`, `timestamp_desc`,
//! plus flat fields). It is derived data: each line points back at the record it came from
//! (`record_member` + 1-based `record_line`), and the records stay the evidence.
//!
//! Built from the typed records: `collect` hands each record's facts (through the registration
//! table, `crate::registry`) to a [`Timeline`] as the record is written, and `irsnap export`
//! does the same from an archive's members when the archive has no `timeline.jsonl` (older
//! archives). Memory is bounded whatever the host holds: entries are serialized at once, kept
//! in sorted runs of a few MiB compressed in memory (never spilled to the suspect host's disk,
//! where an encrypted run must leave no plaintext), and merged when `timeline.jsonl` is
//! written; past the entry budget, entries are counted and left out, and the log says so.
//!
//! Times: `datetime` is RFC 3339 UTC with microseconds, `timestamp` the same instant in
//! microseconds since the Unix epoch (Timesketch reads either). Windows Task Scheduler writes
//! registration dates, trigger boundaries and `.job` last-run times as local wall-clock time
//! without an offset; such facts are kept, with the wall-clock value placed in `datetime` as
//! if it were UTC, `local_time` holding the text as written, and `timestamp_desc` ending in
//! "(local time, offset unknown)". Never read their `datetime` as UTC: the host's offset is
//! not in the evidence irsnap reads. Facts with no time (network sockets, cron and systemd
//! schedules, commands of history files without timestamps) are not in the timeline.
//!
//! Reference: Timesketch "Import from JSON or CSV" (mandatory `message`, `datetime`,
//! `timestamp_desc`).

pub mod facts;

pub use facts::State as FactState;

use crate::record::Timestamp;
use serde::{Deserialize, Serialize};

/// Archive member name.
pub const MEMBER: &str = "timeline.jsonl";

/// The `timestamp_desc` suffix of a fact whose source gives local time without an offset.
pub const LOCAL_SUFFIX: &str = " (local time, offset unknown)";

/// Every field of [`TimelineEntry`], in order: the CSV export's columns.
pub const COLUMNS: &[&str] = &[
    "message",
    "datetime",
    "timestamp",
    "timestamp_desc",
    "local_time",
    "collector",
    "record_member",
    "record_line",
    "record_kind",
    "computer",
    "event_id",
    "event_record_id",
    "channel",
    "pid",
    "ppid",
    "process_name",
    "image",
    "command_line",
    "parent_image",
    "parent_command_line",
    "process_guid",
    "user",
    "user_sid",
    "path",
    "sha256",
    "size",
    "file_type",
    "task_name",
    "service_name",
    "script_block_id",
    "shell",
    "remote_address",
    "remote_port",
    "source_path",
];

/// One line of `timeline.jsonl`. Field names are flat snake_case, the same across collectors:
/// a process start, a Sysmon 1 and a 4688 all fill `pid`, `image`, `command_line`, `user`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct TimelineEntry {
    /// A short sentence saying what happened.
    pub message: String,
    /// RFC 3339, UTC, microseconds (`2023-10-18T03:01:33.742917Z`).
    pub datetime: String,
    /// The same instant in microseconds since 1970-01-01T00:00:00Z.
    pub timestamp: i64,
    /// What the time means: `Process Start`, `Script Block Logged`, `File Modified`...
    pub timestamp_desc: String,
    /// Set only when the source wrote local time without an offset: the value as written.
    /// `datetime` then holds that wall-clock value labelled UTC and is off by the host's
    /// UTC offset at that date.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub local_time: Option<String>,
    pub collector: String,
    /// The archive member holding the record (`records/<collector>.jsonl`).
    pub record_member: String,
    /// 1-based line of the record in `record_member`.
    pub record_line: u64,
    /// What kind of record it is (`process`, `sysmon_process_create`, `script_block`,
    /// `windows_task`, `bash`...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record_kind: Option<String>,

    /// Host name an event log recorded (`Computer`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub computer: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_id: Option<u32>,
    /// `EventRecordID` of the event in its log.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_record_id: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,

    /// The process the fact is about (started, created, launched by a task, logged a block).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ppid: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub process_name: Option<String>,
    /// Executable image path.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// Process command line, a task action's command line, a history command, a service's
    /// image path, a PowerShell host application.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command_line: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_image: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_command_line: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub process_guid: Option<String>,
    /// Account name (`DOMAIN\user`, `alice`) the process or task runs as, or who acted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_sid: Option<String>,

    /// The file the fact is about: a temp file, a script block's script, a file Sysmon saw
    /// created, a scheduled task's or history's file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// SHA-256 of `path`'s content; for process facts of `image`; for script blocks of the
    /// reassembled text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    /// What a temp file's content is (`shell`, `pe`, `elf`, `fifo`...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_type: Option<String>,

    /// Task path (`\Microsoft\Windows\Defrag\ScheduledDefrag`), cron line name, unit name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub script_block_id: Option<String>,
    /// Shell or interpreter of a history entry (`bash`, `zsh`, `python`...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shell: Option<String>,
    /// Network peer of a Sysmon 3 connection.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote_address: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote_port: Option<u16>,

    /// The evidence file the record was read from (event log, history file, task file), as
    /// the evidence's OS writes it; absent for live snapshots (processes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_path: Option<String>,
}

/// What building a timeline met.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TimelineStats {
    /// Records read.
    pub records: u64,
    /// Timeline lines produced.
    pub entries: u64,
    /// Record lines that could not be read back as their collector's record type.
    pub unreadable: u64,
    /// The first such problem, for the log.
    pub first_error: Option<String>,
    /// Entries left out because the timeline had [`Timeline::max_entries`] already.
    pub dropped: u64,
}

/// Serialized entries buffered before they are sorted and compressed into a run.
const RUN_BYTES: usize = 2 << 20;
/// Entries kept by default: far more than any analyst scrolls, far less than memory allows.
pub const DEFAULT_MAX_ENTRIES: u64 = 5_000_000;

/// One sorted run: `(timestamp i64 LE, sequence u64 LE, length u32 LE, JSON)` records,
/// deflated.
struct Run {
    data: Vec<u8>,
}

/// The timeline of one archive, built entry by entry in bounded memory.
pub struct Timeline {
    state: FactState,
    buf: Vec<(i64, u64, Box<str>)>,
    buf_bytes: usize,
    runs: Vec<Run>,
    seq: u64,
    max_entries: u64,
    stats: TimelineStats,
}

impl Default for Timeline {
    fn default() -> Self {
        Timeline::new()
    }
}

impl Timeline {
    pub fn new() -> Timeline {
        Timeline::with_max_entries(DEFAULT_MAX_ENTRIES)
    }

    pub fn with_max_entries(max_entries: u64) -> Timeline {
        Timeline {
            state: FactState::default(),
            buf: Vec::new(),
            buf_bytes: 0,
            runs: Vec::new(),
            seq: 0,
            max_entries,
            stats: TimelineStats::default(),
        }
    }

    /// The state record → facts functions share while one collector's records go by.
    pub fn state(&mut self) -> &mut FactState {
        &mut self.state
    }

    /// The facts of one record (from the registration table's timeline function).
    pub fn add(&mut self, entries: impl IntoIterator<Item = TimelineEntry>) {
        self.stats.records += 1;
        for e in entries {
            self.push(e);
        }
    }

    /// A record that could not be read back (export from an edited or foreign archive).
    pub fn unreadable(&mut self, what: String) {
        self.stats.records += 1;
        self.stats.unreadable += 1;
        if self.stats.first_error.is_none() {
            self.stats.first_error = Some(what);
        }
    }

    /// A collector's records ended: the facts held back for its last record go in.
    pub fn end_collector(&mut self) {
        let state = std::mem::take(&mut self.state);
        for e in state.finish() {
            self.push(e);
        }
    }

    fn push(&mut self, e: TimelineEntry) {
        if self.stats.entries >= self.max_entries {
            self.stats.dropped += 1;
            return;
        }
        // Serializing a struct of strings and numbers cannot fail; skip rather than panic.
        let Ok(json) = serde_json::to_string(&e) else {
            return;
        };
        self.stats.entries += 1;
        self.buf_bytes += json.len() + 24;
        self.buf
            .push((e.timestamp, self.seq, json.into_boxed_str()));
        self.seq += 1;
        if self.buf_bytes >= RUN_BYTES {
            self.seal_run();
        }
    }

    /// Sort the buffer and keep it compressed as one run.
    fn seal_run(&mut self) {
        if self.buf.is_empty() {
            return;
        }
        self.buf.sort_by_key(|(t, s, _)| (*t, *s));
        // Level 2: a third smaller than level 1 on these lines, for little more CPU.
        let mut enc = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::new(2));
        for (t, s, json) in self.buf.drain(..) {
            let len = u32::try_from(json.len()).unwrap_or(u32::MAX);
            let body = &json.as_bytes()[..len as usize];
            // Writing into a Vec cannot fail.
            let _ = std::io::Write::write_all(&mut enc, &t.to_le_bytes());
            let _ = std::io::Write::write_all(&mut enc, &s.to_le_bytes());
            let _ = std::io::Write::write_all(&mut enc, &len.to_le_bytes());
            let _ = std::io::Write::write_all(&mut enc, body);
        }
        self.buf_bytes = 0;
        self.buf = Vec::new();
        if let Ok(mut data) = enc.finish() {
            // The doubling Vec may hold up to twice the run; runs live until the merge.
            data.shrink_to_fit();
            self.runs.push(Run { data });
        }
    }

    pub fn stats(&self) -> &TimelineStats {
        &self.stats
    }

    pub fn is_empty(&self) -> bool {
        self.stats.entries == 0
    }

    /// Write the JSON lines, oldest first; facts with the same time keep the order they came
    /// in (collector, then record order). Returns the stats.
    pub fn write_jsonl(mut self, out: &mut dyn std::io::Write) -> std::io::Result<TimelineStats> {
        self.end_collector();
        self.seal_run();
        let mut readers: Vec<RunReader> =
            self.runs.iter().map(|r| RunReader::new(&r.data)).collect();
        let mut heap = std::collections::BinaryHeap::new();
        for (i, r) in readers.iter_mut().enumerate() {
            if let Some(head) = r.next()? {
                heap.push(std::cmp::Reverse((head.0, head.1, i, head.2)));
            }
        }
        while let Some(std::cmp::Reverse((_, _, i, json))) = heap.pop() {
            out.write_all(&json)?;
            out.write_all(b"\n")?;
            if let Some(next) = readers[i].next()? {
                heap.push(std::cmp::Reverse((next.0, next.1, i, next.2)));
            }
        }
        Ok(self.stats)
    }

    /// The JSON lines in memory (tests and small timelines).
    pub fn into_jsonl(self) -> Vec<u8> {
        let mut out = Vec::new();
        // Writing into a Vec cannot fail.
        let _ = self.write_jsonl(&mut out);
        out
    }
}

/// Reads one run's entries back in order.
struct RunReader<'a> {
    dec: flate2::read::DeflateDecoder<&'a [u8]>,
}

impl<'a> RunReader<'a> {
    fn new(data: &'a [u8]) -> RunReader<'a> {
        RunReader {
            dec: flate2::read::DeflateDecoder::new(data),
        }
    }

    fn next(&mut self) -> std::io::Result<Option<(i64, u64, Vec<u8>)>> {
        use std::io::Read;
        let mut head = [0u8; 20];
        match self.dec.read_exact(&mut head) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
            Err(e) => return Err(e),
        }
        let mut t = [0u8; 8];
        t.copy_from_slice(&head[..8]);
        let mut s = [0u8; 8];
        s.copy_from_slice(&head[8..16]);
        let mut l = [0u8; 4];
        l.copy_from_slice(&head[16..]);
        let mut json = vec![0u8; u32::from_le_bytes(l) as usize];
        self.dec.read_exact(&mut json)?;
        Ok(Some((i64::from_le_bytes(t), u64::from_le_bytes(s), json)))
    }
}

/// `datetime` text: RFC 3339 UTC with microseconds, one fixed width so it also sorts as text.
pub fn format_datetime(t: &Timestamp) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

#[cfg(test)]
mod tests;
