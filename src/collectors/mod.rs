//! Collectors: one file each, registered here and only here. A collector reads the host only
//! through [`Source`] and writes only to a [`Sink`].

mod network;
mod processes;

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
)]
#[serde(rename_all = "snake_case")]
pub enum CollectorId {
    Processes,
    Network,
}

impl CollectorId {
    /// In order of volatility: what changes fastest is collected first.
    pub const ALL: &'static [CollectorId] = &[CollectorId::Processes, CollectorId::Network];

    pub fn as_str(self) -> &'static str {
        match self {
            CollectorId::Processes => "processes",
            CollectorId::Network => "network",
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
            }
        })
        .collect()
}

pub use processes::ProcessOptions;
