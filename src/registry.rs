//! The one table of collectors. Each row says, for one [`CollectorId`]: the collector type
//! and its options (the profile table `[collectors.<name>]`), whether it needs the live host,
//! the record variant it writes to `records/<name>.jsonl` and that record's type (its JSON
//! Schema, how a line is read back), and the two functions that turn one record into
//! detection observations and timeline facts. Profiles, the pipeline, detection, the timeline,
//! `report`, `export` and `schema` all come through here, so adding a collector is one file
//! under `src/collectors/` and one row below (see ARCHITECTURE.md, "How to add a collector").
//!
//! The table is a macro so that every piece is generated from the same row: the profile's
//! `CollectorsSection` (one `Option<Options>` field per collector, with serde's
//! `deny_unknown_fields`, so a misspelled table is refused with its line) and the dispatch
//! functions, each an exhaustive `match` over [`CollectorId`]: a collector without a row, or
//! a row without a collector id, does not compile.

use crate::collectors::{self, Collector};
use crate::detect::{self, Observation};
use crate::ids::{CollectorId, RecordAt};
use crate::record::{
    AuditLogRecord, AuthLogRecord, ConnectionRecord, ExecutionEventRecord, HistoryRecord,
    JournalRecord, PowershellRecord, PreloadRecord, ProcessRecord, Record, ScheduledTaskRecord,
    TempFileRecord,
};
use crate::timeline::{self, TimelineEntry};
use schemars::Schema;
use serde::Deserialize;

/// A collector without options: its profile table must be empty.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoOptions {}

/// The JSON Schema of one collector's record lines, with the words that head it.
pub struct RecordSchema {
    pub schema: Schema,
    pub title: &'static str,
    pub description: &'static str,
}

macro_rules! registry {
    ($(
        $id:ident => $section:ident {
            collector: $build:expr,
            options: $opts:ty,
            live_only: $live:expr,
            record: $variant:ident($rec:ty),
            observe: $observe:path,
            timeline: $timeline:path,
            schema: ($title:literal, $description:literal),
        }
    ),+ $(,)?) => {
        /// `[collectors]` of a profile: one optional table per collector; present means
        /// enabled. Unknown tables and misspelled options are refused with their line.
        #[derive(Debug, Clone, Default, Deserialize)]
        #[serde(deny_unknown_fields)]
        pub struct CollectorsSection {
            $( pub $section: Option<$opts>, )+
        }

        impl CollectorsSection {
            pub fn enabled(&self, id: CollectorId) -> bool {
                match id {
                    $( CollectorId::$id => self.$section.is_some(), )+
                }
            }
        }

        /// The collector of `id` configured by the profile, or `None` when the profile does
        /// not enable it.
        pub fn build(id: CollectorId, section: &CollectorsSection) -> Option<Box<dyn Collector>> {
            match id {
                $( CollectorId::$id => section.$section.clone().map(|o: $opts| {
                    let make: fn($opts) -> Box<dyn Collector> = $build;
                    make(o)
                }), )+
            }
        }

        /// Only meaningful on a live host (processes, sockets): skipped on an offline root.
        pub fn live_only(id: CollectorId) -> bool {
            match id {
                $( CollectorId::$id => $live, )+
            }
        }

        /// Which collector writes a record: the variant decides its member.
        pub fn collector_of(rec: &Record) -> CollectorId {
            match rec {
                $( Record::$variant(_) => CollectorId::$id, )+
            }
        }

        /// One line of `records/<collector>.jsonl` read back as its record type.
        pub fn parse_line(id: CollectorId, line: &[u8]) -> Result<Record, serde_json::Error> {
            match id {
                $( CollectorId::$id => serde_json::from_slice::<$rec>(line).map(Record::$variant), )+
            }
        }

        /// The detection observations of one record at `at`.
        pub fn observe(rec: &Record, at: RecordAt, out: &mut Vec<Observation>) {
            match rec {
                $( Record::$variant(r) => $observe(r, at, out), )+
            }
        }

        /// The timeline facts of one record at `at`.
        pub fn timeline_facts(
            rec: &Record,
            at: RecordAt,
            state: &mut timeline::FactState,
            out: &mut Vec<TimelineEntry>,
        ) {
            match rec {
                $( Record::$variant(r) => $timeline(r, at, state, out), )+
            }
        }

        /// The JSON Schema of one line of `records/<collector>.jsonl`, in serde's serialize
        /// contract (what irsnap writes), draft 2020-12.
        pub fn record_schema(id: CollectorId) -> RecordSchema {
            let generator = || {
                schemars::generate::SchemaSettings::draft2020_12()
                    .for_serialize()
                    .into_generator()
            };
            match id {
                $( CollectorId::$id => RecordSchema {
                    schema: generator().into_root_schema_for::<$rec>(),
                    title: $title,
                    description: $description,
                }, )+
            }
        }
    };
}

registry! {
    Processes => processes {
        collector: |o| Box::new(collectors::processes::Processes::new(o)),
        options: collectors::processes::ProcessOptions,
        live_only: true,
        record: Process(ProcessRecord),
        observe: detect::records::process,
        timeline: timeline::facts::process,
        schema: (
            "irsnap process record",
            "One line of records/processes.jsonl: one process of the live snapshot, with its \
             image hash and its ancestry."
        ),
    },
    Network => network {
        collector: |_| Box::new(collectors::network::Network),
        options: NoOptions,
        live_only: true,
        record: Connection(ConnectionRecord),
        observe: detect::records::connection,
        timeline: timeline::facts::connection,
        schema: (
            "irsnap connection record",
            "One line of records/network.jsonl: one TCP or UDP socket with its owning \
             process(es)."
        ),
    },
    Preload => preload {
        collector: |o| Box::new(collectors::preload::Preload::new(o)),
        options: collectors::preload::PreloadOptions,
        live_only: false,
        record: Preload(PreloadRecord),
        observe: detect::linux::preload,
        timeline: timeline::facts::preload,
        schema: (
            "irsnap preload record",
            "One line of records/preload.jsonl: one library or library path forced into \
             processes (an /etc/ld.so.preload entry, LD_PRELOAD / LD_LIBRARY_PATH / LD_AUDIT \
             of a live process, a shared object mapped from a user-writable place)."
        ),
    },
    TempScripts => temp_scripts {
        collector: |o| Box::new(collectors::temp_scripts::TempScripts::new(o)),
        options: collectors::temp_scripts::TempScriptsOptions,
        live_only: false,
        record: TempFile(TempFileRecord),
        observe: detect::records::temp_file,
        timeline: timeline::facts::temp_file,
        schema: (
            "irsnap staged-file record",
            "One line of records/temp_scripts.jsonl: one script, executable or special file \
             found in a staging directory."
        ),
    },
    ExecutionEvents => execution_events {
        collector: |o| Box::new(collectors::execution_events::ExecutionEvents::new(o)),
        options: collectors::execution_events::ExecutionEventsOptions,
        live_only: false,
        record: ExecutionEvent(ExecutionEventRecord),
        observe: detect::records::execution_event,
        timeline: timeline::facts::execution_event,
        schema: (
            "irsnap execution event record",
            "One line of records/execution_events.jsonl: a typed event-log event \
             (record_type = event, told apart by kind) or one log file's read summary \
             (record_type = log_file)."
        ),
    },
    PowershellLogs => powershell_logs {
        collector: |o| Box::new(collectors::powershell_logs::PowershellLogs::new(o)),
        options: collectors::powershell_logs::PowershellLogsOptions,
        live_only: false,
        record: Powershell(PowershellRecord),
        observe: detect::records::powershell,
        timeline: timeline::facts::powershell,
        schema: (
            "irsnap PowerShell record",
            "One line of records/powershell_logs.jsonl, by record_type: event, script_block \
             (a reassembled 4104 block), psreadline (one history command) or log_file."
        ),
    },
    ShellHistory => shell_history {
        collector: |o| Box::new(collectors::shell_history::ShellHistory::new(o)),
        options: collectors::shell_history::ShellHistoryOptions,
        live_only: false,
        record: History(HistoryRecord),
        observe: detect::records::history,
        timeline: timeline::facts::history,
        schema: (
            "irsnap shell history record",
            "One line of records/shell_history.jsonl: one command of a shell or interpreter \
             history file."
        ),
    },
    ScheduledTasks => scheduled_tasks {
        collector: |o| Box::new(collectors::scheduled_tasks::ScheduledTasks::new(o)),
        options: collectors::scheduled_tasks::ScheduledTasksOptions,
        live_only: false,
        record: ScheduledTask(ScheduledTaskRecord),
        observe: detect::records::scheduled_task,
        timeline: timeline::facts::scheduled_task,
        schema: (
            "irsnap scheduled task record",
            "One line of records/scheduled_tasks.jsonl: something scheduled to run (Windows \
             task or .job, cron line, cron script, anacron, at job, systemd timer), told \
             apart by kind."
        ),
    },
    AuditLogs => audit_logs {
        collector: |o| Box::new(collectors::audit_logs::AuditLogs::new(o)),
        options: collectors::audit_logs::AuditLogsOptions,
        live_only: false,
        record: AuditLog(AuditLogRecord),
        observe: detect::linux::audit_log,
        timeline: timeline::facts::audit_log,
        schema: (
            "irsnap audit log record",
            "One line of records/audit_logs.jsonl, by record_type: event (one auditd event \
             merged from the records of its serial; kind execve, syscall, user_cmd, \
             user_login, user_auth or account_change) or log_file (one file's read summary)."
        ),
    },
    AuthLogs => auth_logs {
        collector: |o| Box::new(collectors::auth_logs::AuthLogs::new(o)),
        options: collectors::auth_logs::AuthLogsOptions,
        live_only: false,
        record: AuthLog(AuthLogRecord),
        observe: detect::linux::auth_log,
        timeline: timeline::facts::auth_log,
        schema: (
            "irsnap auth log record",
            "One line of records/auth_logs.jsonl, by record_type: event (one syslog line \
             holding a typed fact: sudo, su, ssh_login, cron, account, service) or log_file \
             (one file's read summary)."
        ),
    },
    Journal => journal {
        collector: |o| Box::new(collectors::journal::Journal::new(o)),
        options: collectors::journal::JournalOptions,
        live_only: false,
        record: Journal(JournalRecord),
        observe: detect::linux::journal,
        timeline: timeline::facts::journal,
        schema: (
            "irsnap journal record",
            "One line of records/journal.jsonl, by record_type: entry (one systemd journal \
             entry, with its typed fact when it holds one) or journal_file (one file's read \
             summary)."
        ),
    },
}

/// Add the timeline facts of one records member's JSON lines (part `part` of `id`'s records)
/// to `t`: how `export` rebuilds the timeline of an archive written without one. Lines that
/// do not read back as the collector's records are counted, never fatal.
pub fn timeline_from_jsonl(t: &mut timeline::Timeline, id: CollectorId, part: u32, data: &[u8]) {
    let mut entries = Vec::new();
    for (i, line) in data.split(|&b| b == b'\n').enumerate() {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let at = RecordAt {
            collector: id,
            part,
            line: i as u64 + 1,
        };
        match parse_line(id, line) {
            Ok(rec) => {
                timeline_facts(&rec, at, t.state(), &mut entries);
                t.add(entries.drain(..));
            }
            Err(e) => t.unreadable(format!("{} line {}: {e}", at.member(), at.line)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every collector is reachable from a profile under its own name, and every record type
    /// has a schema that names its member.
    #[test]
    fn every_collector_has_a_profile_table_a_builder_and_a_schema() {
        for &id in CollectorId::ALL {
            let text = format!("[{}]\n", id.as_str());
            let section: CollectorsSection = toml::from_str(&text)
                .unwrap_or_else(|e| panic!("[{}] is not a profile table: {e}", id.as_str()));
            assert!(section.enabled(id), "{id}");
            for &other in CollectorId::ALL.iter().filter(|o| **o != id) {
                assert!(!section.enabled(other), "[{id}] enabled {other}");
            }
            assert!(build(id, &section).is_some(), "{id}");
            let s = record_schema(id);
            assert!(s.description.contains(id.records_member()), "{id}");
        }
    }
}
