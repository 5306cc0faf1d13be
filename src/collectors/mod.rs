//! Collectors: one file each, registered here and only here. A collector reads the host only
//! through [`Source`] and writes only to a [`Sink`].

pub(crate) mod audit_logs;
pub(crate) mod auth_logs;
mod evtx_files;
pub(crate) mod execution_events;
pub(crate) mod journal;
mod linux_logs;
pub(crate) mod network;
pub(crate) mod powershell_logs;
pub(crate) mod preload;
pub(crate) mod processes;
pub(crate) mod scheduled_tasks;
pub(crate) mod shell_history;
pub(crate) mod temp_scripts;
mod walk;

use crate::record::{ProcessRecord, Timestamp};
use crate::sink::Sink;
use crate::source::{FileSource, LiveHost, SourceError};
use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Instant;

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
#[derive(Debug, Default, Clone)]
pub struct Cancel {
    pub interrupt: crate::signals::Interrupt,
    pub deadline: Option<Instant>,
}

impl Cancel {
    pub fn should_stop(&self) -> Option<StopReason> {
        if self.interrupt.any() {
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
    /// The evidence's files.
    pub fs: &'a dyn FileSource,
    /// The running host, when the evidence is one (processes, sockets).
    pub live: Option<&'a dyn LiveHost>,
    /// irsnap runs with full rights (root, an elevated token): a permission error then means
    /// protected evidence, not missing rights.
    pub elevated: bool,
    pub cancel: &'a Cancel,
    pub since: Option<Timestamp>,
    pub shared: &'a Shared,
    /// Logical paths never to collect (irsnap's own output on the live host).
    pub exclude: Vec<PathBuf>,
}

impl<'a> Context<'a> {
    /// A context over the files of `fs` alone (no live host, full rights, no time filter):
    /// what tests and library users start from.
    pub fn new(fs: &'a dyn FileSource, cancel: &'a Cancel, shared: &'a Shared) -> Context<'a> {
        Context {
            fs,
            live: None,
            elevated: true,
            cancel,
            since: None,
            shared,
            exclude: Vec::new(),
        }
    }

    /// The live host, for the collectors that exist only on one.
    pub fn live(&self) -> Result<&dyn LiveHost, SourceError> {
        self.live.ok_or(SourceError::Unsupported {
            what: "live host state",
            source_kind: "an offline root",
        })
    }
}

/// A configured collector. The registration table (`crate::registry`) builds it from its
/// profile options and names its id, records and adapters.
pub trait Collector {
    fn collect(&self, ctx: &Context, out: &mut dyn Sink) -> Result<(), CollectError>;
    /// `Some(why)` when the artifact cannot exist on this source (Windows event logs on a
    /// Linux host): the run reports the collector `skipped` with that reason, not `ok`.
    fn not_applicable(&self, _files: &dyn FileSource) -> Option<String> {
        None
    }
}
