//! Records of the Linux log collectors: `audit_logs` (auditd events), `auth_logs` (syslog text
//! facts), `journal` (systemd journal entries) and `preload` (T1574.006 hijacks), plus the
//! per-file read summary the three log collectors share.

use super::{SourceRef, Timestamp};
use crate::parsers::auditd::AuditEvent;
use crate::parsers::syslog::LogFact;
use serde::{Deserialize, Serialize};

/// What reading one log file found: one per file, so "no events" can be told from "events
/// lost to damage".
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct LogFileSummary {
    #[serde(flatten)]
    pub source: SourceRef,
    /// File modification time (the anchor of year inference for year-less lines).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modified: Option<Timestamp>,
    /// The file is gzip-compressed (a rotated log): its lines were read decompressed.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub gzip: bool,
    /// Lines (text logs) or entries (journals) read.
    pub items_read: u64,
    /// Records written.
    pub records: u64,
    /// Items older than `--since`, left out.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub before_since: u64,
    /// Items holding nothing this collector keeps.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub other: u64,
    /// Items left out by the per-file cap (the oldest; the raw copy still holds them).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub capped: u64,
    /// Lines that are not in the log's format.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub unparsed: u64,
    /// Lines with invalid UTF-8 (replaced).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub lossy_lines: u64,
    /// Year-less times had their year inferred from the file's modification time.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub year_inferred: bool,
    /// Journal: header state (`online`, `offline`, `archived`), layout and compression.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub journal_state: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub journal_entries_in_header: Option<u64>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub journal_compact: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub journal_compression: Vec<String>,
    /// Journal: entries found by scanning the arena because the entry arrays were damaged.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub entries_recovered_by_scan: u64,
    /// Journal: entries or fields that could not be read.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub damaged: u64,
    /// The file is shorter than its header says (active or cut).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub truncated: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_time: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_time: Option<Timestamp>,
    /// Why nothing (or not everything) could be read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parse_error: Option<String>,
    /// Damage and other remarks, the first few.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// `records/audit_logs.jsonl`: one merged auditd event, or one file's summary.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "record_type", rename_all = "snake_case")]
pub enum AuditLogRecord {
    Event(AuditEventRecord),
    LogFile(LogFileSummary),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct AuditEventRecord {
    #[serde(flatten)]
    pub event: AuditEvent,
    #[serde(flatten)]
    pub source: SourceRef,
}

/// `records/auth_logs.jsonl`: one typed fact of a syslog line, or one file's summary.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "record_type", rename_all = "snake_case")]
pub enum AuthLogRecord {
    Event(LogLineRecord),
    LogFile(LogFileSummary),
}

/// One syslog line holding a fact.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct LogLineRecord {
    /// The time as written.
    pub time_text: String,
    /// The line's time. With `timestamp_is_local`, the wall-clock time labelled UTC (the
    /// host's offset is not in the line).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub timestamp_is_local: bool,
    /// The line had no year; it was inferred from the file's modification time.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub year_inferred: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    pub program: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
    pub fact: LogFact,
    /// The message as written (capped at 64 KiB).
    pub message: String,
    pub line_number: u64,
    #[serde(flatten)]
    pub source: SourceRef,
}

/// `records/journal.jsonl`: one journal entry, or one file's summary.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "record_type", rename_all = "snake_case")]
pub enum JournalRecord {
    Entry(JournalEntryRecord),
    JournalFile(LogFileSummary),
}

/// One journal entry with the fields a responder reads; `fact` when its message is one of
/// the typed facts the text logs also give (sudo, su, sshd, cron, accounts, units).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct JournalEntryRecord {
    /// The entry's wall-clock time (UTC, microseconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<Timestamp>,
    pub seqnum: u64,
    pub boot_id: String,
    pub monotonic_usec: u64,
    /// Offset of the entry in the journal file.
    pub entry_offset: u64,
    /// Found by scanning a damaged file, not through its entry arrays.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub recovered_by_scan: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub syslog_identifier: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<u8>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gid: Option<u32>,
    /// The logging process's account name (from the evidence's `/etc/passwd`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comm: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exe: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cmdline: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub systemd_unit: Option<String>,
    /// `UNIT=`: the unit systemd's own message is about.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transport: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fact: Option<LogFact>,
    /// Fields that could not be read (damaged data objects).
    #[serde(default, skip_serializing_if = "is_zero_u32")]
    pub damaged_fields: u32,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub lossy_utf8: bool,
    #[serde(flatten)]
    pub source: SourceRef,
}

fn is_zero_u32(n: &u32) -> bool {
    *n == 0
}

/// Where a preloaded library was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PreloadSource {
    /// A line of `/etc/ld.so.preload`: loaded into every dynamically linked program.
    LdSoPreload,
    /// `LD_PRELOAD` in a live process's environment.
    EnvLdPreload,
    /// `LD_LIBRARY_PATH` in a live process's environment.
    EnvLdLibraryPath,
    /// `LD_AUDIT` in a live process's environment.
    EnvLdAudit,
    /// A shared object a live process has mapped from a user-writable place.
    MappedObject,
}

/// `records/preload.jsonl`: one preloaded library or library path (T1574.006).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PreloadRecord {
    pub source: PreloadSource,
    /// The library or directory, as written (one entry of a colon- or space-separated list).
    pub path: String,
    /// The entry lies in a temp or user-writable place (`/tmp`, `/dev/shm`, a home).
    pub user_writable: bool,
    /// `ld.so.preload` entries: whether the library exists on the evidence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exists: Option<bool>,
    /// SHA-256 of the library, when it was read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<super::Sha256>,
    /// Mapped objects: the file was deleted after it was mapped.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub deleted: bool,
    /// The whole variable's value (environment entries only; other variables are never read).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    /// `ld.so.preload`: the line number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line_number: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub process_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// The file the entry was read from (`/etc/ld.so.preload`, `/proc/<pid>/environ`).
    pub source_path: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_member: Option<String>,
    /// When the evidence was seen: the file's mtime, or the process start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<Timestamp>,
}
