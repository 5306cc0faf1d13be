//! `collect` as a pipeline of isolated, bounded stages.
//!
//! 1. Before the archive exists: the evidence is opened and the output volume checked; a
//!    signal here ends the run with nothing written (exit 4), a failure with nothing left
//!    behind (exit 1).
//! 2. Collectors, one after another in order of volatility ([`collect`]): each under
//!    `catch_unwind`; its records stream to the archive, to detection and to the timeline as
//!    they are produced ([`collect::CollectorSink`]), within the profile's budgets.
//! 3. Stages after the collectors ([`finish`]): detection's joins and Sigma's snapshot rules,
//!    `findings.jsonl` and the reports, `timeline.jsonl`, the schemas, the log, and the
//!    manifest last. Each stage is isolated: an error or a panic becomes its `failed` status
//!    in the manifest and the run is `partial`; the archive is still finished.
//!
//! A failure of the output itself (a full volume, a vanished USB stick) is the one thing no
//! stage survives: the archive is then removed ([`ArchiveWriter::abort`]) and the error says
//! in one line what happened and what to do.

mod collect;
mod finish;
mod log;
mod stage;

pub use crate::signals::Interrupt;
pub use log::RunLog;

use crate::archive::manifest::{CollectorReport, Manifest, StageReport};
use crate::archive::{ArchiveWriter, Finished};
use crate::collectors::{Cancel, Shared};
use crate::config::CollectConfig;
use crate::outcome::{CollectorStatus, Exit, RunStatus};
use crate::record::Timestamp;
use crate::sigma::RuleSet;
use crate::source::{Evidence, LiveSource, RootSource, SourceError};
use std::path::PathBuf;
use std::time::Instant;

/// Read rate for `--low-impact`: slow enough to leave a busy server's disk to its work.
const LOW_IMPACT_READ_RATE: u64 = 16 << 20;

/// Why a run ended without an archive. Every variant leaves nothing in the output directory.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error("interrupted before collection started: nothing was written")]
    InterruptedEarly,
    #[error("interrupted three times: stopped before the archive was finished; nothing was kept")]
    Aborted,
    #[error("cannot use offline root {path}")]
    Root {
        path: String,
        #[source]
        source: SourceError,
    },
    #[error(
        "only {free_mib} MiB free on the output volume of {dir} (the profile keeps \
         {keep_mib} MiB free): free space or use -o elsewhere"
    )]
    NoSpace {
        dir: String,
        free_mib: u64,
        keep_mib: u64,
    },
    #[error("cannot create the archive in {dir}")]
    Create {
        dir: String,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "output volume full after {written}: free space or use -o elsewhere (the unfinished \
         archive was removed)"
    )]
    OutputFull { written: String },
    #[error(
        "writing the archive to {dir} failed after {written}: {message} (the unfinished archive was removed)"
    )]
    Output {
        dir: String,
        written: String,
        message: String,
    },
}

impl RunError {
    /// The exit code this ending means.
    pub fn exit(&self) -> Exit {
        match self {
            RunError::InterruptedEarly | RunError::Aborted => Exit::Interrupted,
            _ => Exit::Failed,
        }
    }
}

/// What a finished run hands back to the command that prints it.
pub struct Outcome {
    pub manifest: Manifest,
    pub finished: Finished,
    pub exit: Exit,
    /// Counts of the findings by severity, most severe first, for the summary.
    pub findings: Vec<(crate::detect::Severity, usize)>,
    /// The rules that fired, most severe and most frequent first (at most [`TOP_RULES`]).
    pub top_rules: Vec<crate::detect::RuleSummary>,
}

/// Rules listed after a collection (terminal and `--json`).
pub const TOP_RULES: usize = 5;

/// Sizes for messages: `48.1 MiB`.
fn mib(bytes: u64) -> String {
    format!("{:.1} MiB", bytes as f64 / f64::from(1u32 << 20))
}

/// True when an I/O error means the output volume (or the user's quota, or the file size
/// limit) is full: the one-line message then says what to do.
fn is_full(kind: std::io::ErrorKind, message: &str) -> bool {
    use std::io::ErrorKind as K;
    matches!(kind, K::StorageFull | K::QuotaExceeded | K::FileTooLarge)
        || message.contains("No space left")
        || message.contains("os error 28")
        || message.contains("os error 112")
}

/// The run's state from the moment the archive exists.
pub(crate) struct Run<'a> {
    pub config: &'a CollectConfig,
    pub interrupt: &'a Interrupt,
    pub archive: ArchiveWriter,
    pub log: RunLog,
    pub panics: stage::Panics,
    pub records_written: u64,
    pub record_bytes_written: u64,
}

impl Run<'_> {
    /// The first output error, as the run's ending: the archive is removed.
    fn output_failure(self) -> RunError {
        let written = mib(self.archive.bytes_on_disk());
        let dir = self.config.output_dir.display().to_string();
        let (kind, message) = self
            .archive
            .output_error()
            .unwrap_or((std::io::ErrorKind::Other, "unknown error".into()));
        self.archive.abort();
        self.panics.restore();
        if is_full(kind, &message) {
            RunError::OutputFull { written }
        } else {
            RunError::Output {
                dir,
                written,
                message,
            }
        }
    }
}

fn open_evidence(config: &CollectConfig) -> Result<Evidence, RunError> {
    Ok(match &config.root {
        Some(root) => Evidence::Root(RootSource::new(root.clone(), config.root_os).map_err(
            |source| RunError::Root {
                path: root.display().to_string(),
                source,
            },
        )?),
        None => Evidence::Live(LiveSource::new()),
    })
}

/// The output directory, removed again when this run created it and left it empty.
fn leave_nothing_behind(config: &CollectConfig) {
    if config.created_output_dir {
        crate::archive::space::remove_if_empty(&config.output_dir);
    }
}

fn archive_name(hostname: Option<&str>, started: Timestamp) -> String {
    let host: String = hostname
        .unwrap_or("host")
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '.' {
                c
            } else {
                '_'
            }
        })
        .take(64)
        .collect();
    let host = if host.is_empty() || host.starts_with('.') {
        format!("host{host}")
    } else {
        host
    };
    format!("{host}_{}.zip", started.format("%Y%m%dT%H%M%SZ"))
}

/// `web01_20261123T101500Z.zip`, or for a later attempt `web01_20261123T101500Z-2.zip`.
fn numbered(base: &str, attempt: u32) -> String {
    match (attempt, base.strip_suffix(".zip")) {
        (1, _) | (_, None) => base.to_string(),
        (n, Some(stem)) => format!("{stem}-{n}.zip"),
    }
}

/// Run the collection `config` describes. `interrupt` counts the signals since `main`
/// started.
pub fn run(config: &CollectConfig, interrupt: &Interrupt) -> Result<Outcome, RunError> {
    let started = chrono::Utc::now();
    let early = || {
        leave_nothing_behind(config);
        RunError::InterruptedEarly
    };
    if interrupt.any() {
        return Err(early());
    }
    if config.low_impact {
        crate::source::live::lower_own_priority();
    }
    let evidence = match open_evidence(config) {
        Ok(e) => e,
        Err(e) => {
            leave_nothing_behind(config);
            return Err(e);
        }
    };
    let host = evidence.host_facts();
    let identity = crate::source::identity();
    let cancel = Cancel {
        interrupt: interrupt.clone(),
        deadline: config.deadline.map(|d| Instant::now() + d),
    };

    // What raw copies may add: the profile's cap, and what the output volume can take while
    // keeping `keep_free` free. Checked before anything is written.
    let keep_free = config.profile.archive.keep_free.0;
    let free = crate::archive::space::available_space(&config.output_dir);
    if let Some(free) = free
        && free < keep_free
    {
        leave_nothing_behind(config);
        return Err(RunError::NoSpace {
            dir: config.output_dir.display().to_string(),
            free_mib: free >> 20,
            keep_mib: keep_free >> 20,
        });
    }
    let budget = match (config.profile.archive.max_size, free) {
        (Some(max), Some(free)) => Some(max.0.min(free - keep_free)),
        (Some(max), None) => Some(max.0),
        (None, Some(free)) => Some(free - keep_free),
        (None, None) => None,
    };

    let base = archive_name(host.hostname.as_deref(), started);
    if interrupt.any() {
        return Err(early());
    }
    let files = evidence.files();
    // Two runs in the same second (a fleet script, a retry) must not collide: the second
    // takes the next free `-2`, `-3`... name rather than failing.
    let mut attempt = 1u32;
    let mut archive = loop {
        let mut name = numbered(&base, attempt);
        if !config.encrypt_to.is_empty() {
            name.push_str(".age");
        }
        match ArchiveWriter::create_sealed(
            &config.output_dir,
            &name,
            files.os(),
            &config.encrypt_to,
        ) {
            Ok(a) => break a,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && attempt < 1000 => {
                attempt += 1;
            }
            Err(source) => {
                leave_nothing_behind(config);
                return Err(RunError::Create {
                    dir: config.output_dir.display().to_string(),
                    source,
                });
            }
        }
    };
    archive.set_budget(budget);
    archive.set_signer(config.sign.clone());
    archive.set_record_part_size(config.profile.archive.record_part_size.0);

    let mut run = Run {
        config,
        interrupt,
        archive,
        log: RunLog::default(),
        panics: stage::Panics::install(),
        records_written: 0,
        record_bytes_written: 0,
    };
    run.log.info(format!(
        "output volume: {} free; raw copies may add {}",
        free.map(|f| format!("{} MiB", f >> 20))
            .unwrap_or_else(|| "unknown".into()),
        budget
            .map(|b| format!("{} MiB", b >> 20))
            .unwrap_or_else(|| "no limit".into())
    ));
    run.log.info(format!(
        "irsnap {} starting: source {:?}, profile {}, output {}",
        env!("CARGO_PKG_VERSION"),
        files.describe(),
        config.profile.name,
        run.archive.partial_path().display()
    ));
    if !config.encrypt_to.is_empty() {
        run.log.info(format!(
            "archive encrypted with age to {}",
            config.encrypt_to.public_keys().join(", ")
        ));
    }
    if let Some(k) = &config.sign {
        run.log.info(format!(
            "signing the manifest and the archive with SSH key {} (namespace irsnap)",
            k.fingerprint()
        ));
    }
    if !identity.elevated {
        run.log.warn(
            "not elevated: other users' process images, sockets and protected files may be \
             unreadable",
        );
    }

    let shared = Shared::default();
    // On a live host, irsnap's output and its own binary (often dropped in /tmp or %TEMP% by
    // the responder or a rollout) are not evidence: walks skip them and say so.
    let exclude: Vec<PathBuf> = match evidence.live() {
        Some(_) => std::iter::once(config.output_dir.clone())
            .chain(std::env::current_exe().ok())
            .map(|p| crate::source::live::host_to_logical(&p))
            .collect(),
        None => Vec::new(),
    };
    let ctx = crate::collectors::Context {
        fs: files,
        live: evidence.live(),
        elevated: identity.elevated,
        cancel: &cancel,
        since: config.since,
        shared: &shared,
        exclude,
    };
    let collected = match collect::run_collectors(&mut run, &ctx) {
        Ok(c) => c,
        Err(collect::Stop::Output) => return Err(run.output_failure()),
        Err(collect::Stop::Abort) => {
            run.archive.abort();
            run.panics.restore();
            return Err(RunError::Aborted);
        }
    };

    let facts = finish::RunFacts {
        started,
        host,
        identity,
        source: files.describe(),
        processes: shared.processes.get().cloned().unwrap_or_default(),
        atime_unprotected: files.atime_unprotected(),
    };
    finish::finish(run, facts, collected)
}

/// The `--sigma` rules, with what loaded and what irsnap cannot evaluate in the log.
fn load_sigma<'c>(config: &'c CollectConfig, log: &mut RunLog) -> Option<&'c RuleSet> {
    let sigma = config.sigma.as_ref()?;
    let (dir, set, report) = (&sigma.dir, &sigma.set, &sigma.report);
    log.info(format!(
        "sigma: {} rule files under {}: {} loaded, {} not evaluable, {} invalid",
        report.files,
        dir.display(),
        report.loaded,
        report.unsupported.len(),
        report.errors.len()
    ));
    for u in &report.unsupported {
        log.warn(format!(
            "sigma: {} ({}): not evaluated: {}",
            u.path, u.title, u.reason
        ));
    }
    for e in &report.errors {
        log.warn(format!("sigma: {}: invalid: {}", e.path, e.reason));
    }
    Some(set)
}

/// The run status the collectors and stages amount to.
fn run_status(interrupted: bool, reports: &[CollectorReport], stages: &[StageReport]) -> RunStatus {
    if interrupted {
        RunStatus::Interrupted
    } else if reports
        .iter()
        .all(|r| r.status == CollectorStatus::Ok || r.not_applicable())
        && stages
            .iter()
            .all(|s| matches!(s.status, CollectorStatus::Ok | CollectorStatus::Skipped))
    {
        RunStatus::Complete
    } else {
        RunStatus::Partial
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn archive_names_are_safe() {
        let t = chrono::DateTime::parse_from_rfc3339("2026-11-23T10:15:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        assert_eq!(archive_name(Some("web01"), t), "web01_20261123T101500Z.zip");
        assert_eq!(
            archive_name(Some("../../evil host"), t),
            "host.._.._evil_host_20261123T101500Z.zip"
        );
        assert_eq!(archive_name(None, t), "host_20261123T101500Z.zip");
        assert_eq!(numbered("h_1Z.zip", 1), "h_1Z.zip");
        assert_eq!(numbered("h_1Z.zip", 3), "h_1Z-3.zip");
    }

    #[test]
    fn full_volumes_are_recognised() {
        assert!(is_full(std::io::ErrorKind::StorageFull, ""));
        assert!(is_full(
            std::io::ErrorKind::Other,
            "No space left on device (os error 28)"
        ));
        assert!(!is_full(std::io::ErrorKind::PermissionDenied, "denied"));
        assert_eq!(mib(50_436_096), "48.1 MiB");
    }
}
