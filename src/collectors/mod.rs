//! Collectors: one file each, registered here and only here. A collector reads the host only
//! through [`Source`] and writes only to a [`Sink`].

mod evtx_files;
mod execution_events;
mod network;
mod powershell_logs;
mod processes;
mod scheduled_tasks;
mod shell_history;
mod temp_scripts;
mod walk;

use crate::profile::Profile;
use crate::record::{ProcessRecord, Timestamp};
use crate::sink::Sink;
use crate::source::{Source, SourceError};
use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

/// Every collector irsnap has. The name is the same everywhere: the profile entry, the
/// source file under `src/collectors/`, and the archive's `records/<name>.jsonl`.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    clap::ValueEnum,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum CollectorId {
    Processes,
    Network,
    TempScripts,
    ExecutionEvents,
    PowershellLogs,
    ShellHistory,
    ScheduledTasks,
}

impl CollectorId {
    /// In order of volatility: what changes fastest is collected first.
    pub const ALL: &'static [CollectorId] = &[
        CollectorId::Processes,
        CollectorId::Network,
        CollectorId::TempScripts,
        CollectorId::ExecutionEvents,
        CollectorId::PowershellLogs,
        CollectorId::ShellHistory,
        CollectorId::ScheduledTasks,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            CollectorId::Processes => "processes",
            CollectorId::Network => "network",
            CollectorId::TempScripts => "temp_scripts",
            CollectorId::ExecutionEvents => "execution_events",
            CollectorId::PowershellLogs => "powershell_logs",
            CollectorId::ShellHistory => "shell_history",
            CollectorId::ScheduledTasks => "scheduled_tasks",
        }
    }

    /// Only meaningful on a live host.
    pub fn live_only(self) -> bool {
        matches!(self, CollectorId::Processes | CollectorId::Network)
    }
}

impl std::fmt::Display for CollectorId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CollectError {
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error(transparent)]
    Sink(#[from] crate::sink::SinkError),
}

/// Why a run is being cut short.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StopReason {
    Signal,
    Deadline,
}

/// Checked by collectors between items: a signal or the deadline ends them cleanly.
#[derive(Debug, Default)]
pub struct Cancel {
    pub signalled: std::sync::Arc<AtomicBool>,
    pub deadline: Option<Instant>,
}

impl Cancel {
    pub fn should_stop(&self) -> Option<StopReason> {
        if self.signalled.load(Ordering::Relaxed) {
            Some(StopReason::Signal)
        } else if self.deadline.is_some_and(|d| Instant::now() >= d) {
            Some(StopReason::Deadline)
        } else {
            None
        }
    }
}

/// State shared between collectors of one run (the process snapshot, for joins).
#[derive(Debug, Default)]
pub struct Shared {
    pub processes: OnceLock<Vec<ProcessRecord>>,
}

pub struct Context<'a> {
    pub source: &'a dyn Source,
    pub cancel: &'a Cancel,
    pub since: Option<Timestamp>,
    pub shared: &'a Shared,
    /// Host paths never to collect (irsnap's own output).
    pub exclude: Vec<PathBuf>,
}

pub trait Collector {
    fn id(&self) -> CollectorId;
    fn collect(&self, ctx: &Context, out: &mut dyn Sink) -> Result<(), CollectError>;
    /// `Some(why)` when the artifact cannot exist on this source (Windows event logs on a
    /// Linux host): the run reports the collector `skipped` with that reason, not `ok`.
    fn not_applicable(&self, _source: &dyn Source) -> Option<String> {
        None
    }
}

/// Build the collectors a profile enables, in order of volatility.
pub fn build(profile: &Profile) -> Vec<Box<dyn Collector>> {
    CollectorId::ALL
        .iter()
        .filter(|id| profile.enabled(**id))
        .map(|id| -> Box<dyn Collector> {
            match id {
                CollectorId::Processes => Box::new(processes::Processes::new(
                    profile.collectors.processes.clone().unwrap_or_default(),
                )),
                CollectorId::Network => Box::new(network::Network),
                CollectorId::TempScripts => Box::new(temp_scripts::TempScripts::new(
                    profile.collectors.temp_scripts.clone().unwrap_or_default(),
                )),
                CollectorId::ExecutionEvents => Box::new(execution_events::ExecutionEvents::new(
                    profile
                        .collectors
                        .execution_events
                        .clone()
                        .unwrap_or_default(),
                )),
                CollectorId::PowershellLogs => Box::new(powershell_logs::PowershellLogs::new(
                    profile
                        .collectors
                        .powershell_logs
                        .clone()
                        .unwrap_or_default(),
                )),
                CollectorId::ShellHistory => Box::new(shell_history::ShellHistory::new(
                    profile.collectors.shell_history.clone().unwrap_or_default(),
                )),
                CollectorId::ScheduledTasks => Box::new(scheduled_tasks::ScheduledTasks::new(
                    profile
                        .collectors
                        .scheduled_tasks
                        .clone()
                        .unwrap_or_default(),
                )),
            }
        })
        .collect()
}

pub use execution_events::ExecutionEventsOptions;
pub use powershell_logs::PowershellLogsOptions;
pub use processes::ProcessOptions;
pub use scheduled_tasks::ScheduledTasksOptions;
pub use shell_history::ShellHistoryOptions;
pub use temp_scripts::TempScriptsOptions;
