//! Records of the `execution_events` collector (`records/execution_events.jsonl`), and the two
//! pieces every event-log record shares: where its evidence is ([`SourceRef`]) and the
//! per-file read summary ([`EvtxLogSummary`]).

use super::{Sha256, Timestamp};
use crate::parsers::evtx_read::ReadReport;
use crate::parsers::exec_events::ExecEvent;
use serde::{Deserialize, Serialize};

/// Where a record's evidence is: the source file as the evidence's OS writes it, its raw copy
/// in the archive, and the SHA-256 of the whole source file.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SourceRef {
    /// `C:\Windows\System32\winevt\Logs\Security.evtx`.
    pub source_path: String,
    /// Archive member holding the raw copy (`files/...`); absent when no copy was stored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_member: Option<String>,
    /// SHA-256 of the whole source file as read; absent when a read error cut the read short.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_sha256: Option<Sha256>,
}

/// What reading one event log found: one per log file, so an analyst can tell "no events"
/// from "events lost to a damaged chunk". The reader's report is flattened in
/// (`header_chunk_count`, `chunks_seen`, `records_ok`, `skipped`, `warnings`, ...).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct EvtxLogSummary {
    #[serde(flatten)]
    pub source: SourceRef,
    /// File modification time (when the log was last written, on most file systems).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modified: Option<Timestamp>,
    /// Typed events written as records.
    pub events_recorded: u64,
    /// Typed events left out because they are older than `--since`.
    pub events_before_since: u64,
    /// Records of other providers or event ids, not typed by this collector.
    pub events_other: u64,
    /// The log was larger than the in-memory cap and was read a second time for parsing
    /// (`source_sha256` is from the first read; a live log may have grown in between).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub read_twice: bool,
    /// Only the first bytes could be read (a read error stopped the copy); the parse saw those.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub partial_read: bool,
    /// Why nothing could be parsed (not an EVTX file, I/O error on the second read).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parse_error: Option<String>,
    #[serde(flatten)]
    pub report: ReadReport,
}

/// One typed event (`record_type: "event"`, `kind` says which: `sysmon_process_create`,
/// `security_process_create`, `security_task`, `task_scheduler_op`, ...), with its System
/// header under `header`, or one log summary (`record_type: "log_file"`).
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "record_type", rename_all = "snake_case")]
pub enum ExecutionEventRecord {
    Event(ExecEventRecord),
    LogFile(EvtxLogSummary),
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ExecEventRecord {
    #[serde(flatten)]
    pub event: ExecEvent,
    #[serde(flatten)]
    pub source: SourceRef,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parsers::exec_events::{EventHeader, SecurityTask, TaskAuditAction};

    #[test]
    fn event_record_round_trips_with_both_tags() {
        let rec = ExecutionEventRecord::Event(ExecEventRecord {
            event: ExecEvent::SecurityTask(SecurityTask {
                header: EventHeader {
                    record_id: 2,
                    time: None,
                    event_id: 4698,
                    channel: "Security".into(),
                    provider: "Microsoft-Windows-Security-Auditing".into(),
                    computer: "pc".into(),
                    user_sid: None,
                    process_id: Some(4),
                    thread_id: None,
                },
                action: TaskAuditAction::Created,
                subject_user_sid: None,
                subject_user_name: Some("bob".into()),
                subject_domain_name: None,
                subject_logon_id: None,
                task_name: Some("\\evil".into()),
                task_content: Some("<Task/>".into()),
                client_process_id: None,
                parent_process_id: None,
                client_process_start_key: None,
                rpc_call_client_locality: None,
                fqdn: None,
            }),
            source: SourceRef {
                source_path: "C:\\Windows\\System32\\winevt\\Logs\\Security.evtx".into(),
                source_member: Some("files/C/Windows/x".into()),
                source_sha256: Some(Sha256::digest(b"x")),
            },
        });
        let json = serde_json::to_value(&rec).unwrap();
        assert_eq!(json["record_type"], "event");
        assert_eq!(json["kind"], "security_task");
        assert_eq!(json["header"]["event_id"], 4698);
        assert_eq!(json["task_name"], "\\evil");
        assert_eq!(json["source_member"], "files/C/Windows/x");
        let back: ExecutionEventRecord = serde_json::from_value(json).unwrap();
        assert_eq!(back, rec);
    }
}
