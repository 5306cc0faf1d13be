//! `timeline.jsonl`: every timestamped fact of an archive's records, one JSON object per line,
//! sorted by time, in the shape Timesketch imports (`message`, `datetime`, `timestamp_desc`,
//! plus flat fields). It is derived data: each line points back at the record it came from
//! (`record_member` + 1-based `record_line`), and the records stay the evidence.
//!
//! Built from the bytes of `records/<collector>.jsonl`, read back through the typed records:
//! the archive writer feeds each collector's buffer through [`Timeline::add_records`] when it
//! writes that member (so records are never held twice), and `irsnap export` does the same
//! from an archive's members when the archive has no `timeline.jsonl` (older archives).
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

mod facts;

use crate::collectors::CollectorId;
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
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
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
    /// Record lines read.
    pub records: u64,
    /// Timeline lines produced.
    pub entries: u64,
    /// Record lines that could not be read back as their collector's record type.
    pub unreadable: u64,
    /// The first such problem, for the log.
    pub first_error: Option<String>,
}

/// Timeline lines gathered so far, serialized, with their sort key.
#[derive(Debug, Default)]
pub struct Timeline {
    lines: Vec<(i64, String)>,
    stats: TimelineStats,
}

impl Timeline {
    pub fn new() -> Timeline {
        Timeline::default()
    }

    /// Add the facts of one records member (`member` is its name in the archive, `data` its
    /// JSON lines). Unreadable lines are counted, never fatal: the records are the evidence,
    /// the timeline a view of them.
    pub fn add_records(&mut self, collector: CollectorId, member: &str, data: &[u8]) {
        let mut entries = Vec::new();
        let mut state = facts::State::default();
        for (i, line) in data.split(|&b| b == b'\n').enumerate() {
            if line.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            self.stats.records += 1;
            let at = facts::At {
                collector,
                member,
                line: i as u64 + 1,
            };
            if let Err(e) = facts::record_facts(&at, line, &mut state, &mut entries) {
                self.stats.unreadable += 1;
                if self.stats.first_error.is_none() {
                    self.stats.first_error = Some(format!("{member} line {}: {e}", i + 1));
                }
            }
        }
        for e in entries {
            self.push(e);
        }
    }

    fn push(&mut self, e: TimelineEntry) {
        // Serializing a struct of strings and numbers cannot fail; skip rather than panic.
        if let Ok(json) = serde_json::to_string(&e) {
            self.stats.entries += 1;
            self.lines.push((e.timestamp, json));
        }
    }

    pub fn stats(&self) -> &TimelineStats {
        &self.stats
    }

    pub fn is_empty(&self) -> bool {
        self.lines.is_empty()
    }

    /// The JSON lines, oldest first; facts with the same time keep collector and record
    /// order (the sort is stable).
    pub fn into_jsonl(mut self) -> Vec<u8> {
        self.lines.sort_by_key(|(t, _)| *t);
        let mut out = Vec::with_capacity(self.lines.iter().map(|(_, l)| l.len() + 1).sum());
        for (_, l) in self.lines {
            out.extend_from_slice(l.as_bytes());
            out.push(b'\n');
        }
        out
    }
}

/// `datetime` text: RFC 3339 UTC with microseconds, one fixed width so it also sorts as text.
pub fn format_datetime(t: &Timestamp) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

#[cfg(test)]
mod tests;
