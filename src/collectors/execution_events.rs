//! `execution_events`: process, task, service and related events from Windows event logs.
//!
//! Artifacts, under `%SystemRoot%\System32\winevt\Logs\` (profile option `logs`):
//! - `Microsoft-Windows-Sysmon%4Operational.evtx`: Sysmon 1 process create (image, command
//!   line, parent image and command line, user, hashes, current directory), 3 network
//!   connect, 11 file create — "critical for execution visibility" (ATT&CK TA0002 guidance);
//! - `Security.evtx`: 4688 process creation (command line when its auditing is on), 4697
//!   service installed, 4698/4699/4700/4701/4702 scheduled task created / deleted / enabled /
//!   disabled / updated, with the task XML;
//! - `Microsoft-Windows-TaskScheduler%4Operational.evtx`: task registered (106), updated (140),
//!   deleted (141), action started/completed (200/201), process launched (129), and the
//!   other task-lifecycle ids `crate::parsers::exec_events` types;
//! - the logs that say what else an execution did (`crate::parsers::exec_events::context`):
//!   Sysmon 6-8/10/12-15/17-23/26 (module loads, injection, registry, pipes, WMI, DNS),
//!   Security 5140/5145/1102, `System.evtx` (7045 service installed, 7000/7009/7034/7036/7040,
//!   104), `Application.evtx` (SQL Server and Windows Installer), and the BITS-Client, WinRM,
//!   WMI-Activity and Windows Defender Operational logs.
//!
//! What we record (`records/execution_events.jsonl`, see `crate::record::ExecutionEventRecord`):
//! one `event` record per typed event (`kind` names it; fields named plainly, System fields
//! under `header`), each pointing at its log (path, archive member, SHA-256) and record id,
//! plus one `log_file` summary per log (chunks seen vs. the header's count, records
//! recovered, every skip and why). Events are typed by provider + channel + id, never by
//! file name. Raw logs are copied whole and hashed; `--since` filters records only.
//!
//! Not a Windows source (a live Linux host, a Linux root): skipped, "no Windows event logs".
//!
//! References: Sysinternals Sysmon schema; Microsoft "4688(S): A new process has been
//! created", "4698(S): A scheduled task was created"; Microsoft-Windows-TaskScheduler manifest.

use super::evtx_files::{self, DEFAULT_LOG_DIR, DEFAULT_MAX_IN_MEMORY, FoundLog, LogSelection};
use super::{CollectError, Collector, Context};
use crate::parsers::exec_events::exec_event_from_raw;
use crate::record::{ExecEventRecord, ExecutionEventRecord, Record};
use crate::sink::Sink;
use crate::source::FileSource;
use crate::units::ByteSize;
use serde::Deserialize;
use std::ops::ControlFlow;

/// The logs read by default.
pub const DEFAULT_LOGS: &[&str] = &[
    "Microsoft-Windows-Sysmon%4Operational.evtx",
    "Security.evtx",
    "Microsoft-Windows-TaskScheduler%4Operational.evtx",
    "System.evtx",
    "Application.evtx",
    "Microsoft-Windows-Bits-Client%4Operational.evtx",
    "Microsoft-Windows-WinRM%4Operational.evtx",
    "Microsoft-Windows-WMI-Activity%4Operational.evtx",
    "Microsoft-Windows-Windows Defender%4Operational.evtx",
];

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ExecutionEventsOptions {
    /// Folder of the event logs, as a logical path on the evidence.
    pub log_dir: String,
    /// Logs to read: file names in `log_dir`, or `/`-rooted logical paths. `*` and `?`
    /// match within the last component, case-insensitively, so archived logs are added with
    /// e.g. `"Archive-Security-*.evtx"`. A named log that is absent is only a warning (Sysmon
    /// is often not installed).
    pub logs: Vec<String>,
    /// Logs up to this size are parsed from the copy held in memory; a larger one (a busy
    /// Security log) is read a second time from the source to parse it.
    pub max_in_memory: ByteSize,
}

impl Default for ExecutionEventsOptions {
    fn default() -> Self {
        ExecutionEventsOptions {
            log_dir: DEFAULT_LOG_DIR.to_string(),
            logs: DEFAULT_LOGS.iter().map(|s| s.to_string()).collect(),
            max_in_memory: ByteSize(DEFAULT_MAX_IN_MEMORY),
        }
    }
}

pub struct ExecutionEvents {
    opts: ExecutionEventsOptions,
}

impl ExecutionEvents {
    pub fn new(opts: ExecutionEventsOptions) -> ExecutionEvents {
        ExecutionEvents { opts }
    }
}

impl Collector for ExecutionEvents {
    fn not_applicable(&self, source: &dyn FileSource) -> Option<String> {
        evtx_files::not_windows(source)
    }

    fn collect(&self, ctx: &Context, out: &mut dyn Sink) -> Result<(), CollectError> {
        let sel = LogSelection {
            dir: &self.opts.log_dir,
            patterns: &self.opts.logs,
        };
        evtx_files::for_each_log(ctx, out, &sel, |out, log| {
            read_one_log(ctx, out, log, self.opts.max_in_memory.0)
        })
    }
}

fn read_one_log(
    ctx: &Context,
    out: &mut dyn Sink,
    log: &FoundLog,
    max_in_memory: u64,
) -> Result<(), CollectError> {
    let Some(copied) = evtx_files::copy_log(ctx, out, log, max_in_memory)? else {
        return Ok(());
    };
    let source = copied.source.clone();
    let mut tally = evtx_files::EventTally::default();
    let read = evtx_files::parse_log(ctx, log, copied, |raw| {
        let Some(event) = exec_event_from_raw(&raw) else {
            tally.other += 1;
            return ControlFlow::Continue(());
        };
        if evtx_files::before_since(ctx, event.header().time) {
            tally.before_since += 1;
            return ControlFlow::Continue(());
        }
        let rec = ExecutionEventRecord::Event(ExecEventRecord {
            event,
            source: source.clone(),
        });
        tally.emit(out.record(Record::ExecutionEvent(rec)))
    });
    let (recorded, before_since, other) = tally.finish()?;
    evtx_files::report_log(out, log, &read);
    out.record(Record::ExecutionEvent(ExecutionEventRecord::LogFile(
        read.summary(recorded, before_since, other),
    )))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_default_and_refuse_typos() {
        let o: ExecutionEventsOptions = toml::from_str("").unwrap();
        assert_eq!(o.log_dir, "/Windows/System32/winevt/Logs");
        assert!(o.logs.iter().any(|l| l == "Security.evtx"));
        assert!(toml::from_str::<ExecutionEventsOptions>("max_in_mem = 1").is_err());
    }
}
