//! `irsnap collect`: run the profile's collectors against the live host or an offline root,
//! one after another in order of volatility, and write one archive.

use super::term_safe;
use crate::archive::ArchiveWriter;
use crate::archive::manifest::{
    CaseInfo, CollectorReport, EncryptionInfo, Manifest, ProfileInfo, RunAs, SCHEMA_VERSION,
    ToolInfo,
};
use crate::collectors::{self, Cancel, Collector, CollectorId, Context, Shared, StopReason};
use crate::config::CollectConfig;
use crate::detect::analysis::Analysis;
use crate::outcome::{CollectorStatus, Exit, RunStatus};
use crate::record::{Record, Timestamp};
use crate::sink::{FileOutcome, FileRequest, Sink, SinkError};
use crate::source::{LiveSource, RootSource, Source};
use anyhow::Context as _;
use serde::Serialize;
use std::io::{IsTerminal, Read};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// Read rate for `--low-impact`: slow enough to leave a busy server's disk to its work.
const LOW_IMPACT_READ_RATE: u64 = 16 << 20;

/// How many error messages per collector the manifest keeps (the count is always exact).
const MAX_ERRORS_KEPT: usize = 50;

/// `collection.log`: what happened, in order, with timestamps.
#[derive(Default)]
struct RunLog {
    lines: Vec<String>,
}

impl RunLog {
    fn log(&mut self, level: &str, msg: impl AsRef<str>) {
        let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        // One line per event, whatever the message holds.
        let msg = msg.as_ref().replace(['\n', '\r'], " ");
        self.lines.push(format!("{now} {level:5} {msg}"));
    }
}

/// The sink one collector writes to: the archive, plus its own counts and messages.
struct CollectorSink<'a> {
    archive: &'a mut ArchiveWriter,
    cancel: &'a Cancel,
    /// Bytes per second for reads in low-impact mode.
    throttle: Option<u64>,
    log: &'a mut RunLog,
    id: CollectorId,
    records: u64,
    files: u64,
    errors: Vec<String>,
    error_count: u64,
    warning_count: u64,
}

impl Sink for CollectorSink<'_> {
    fn record(&mut self, rec: Record) -> Result<(), SinkError> {
        self.archive.add_record(self.id, &rec)?;
        self.records += 1;
        Ok(())
    }

    fn file(&mut self, req: &FileRequest, reader: &mut dyn Read) -> Result<FileOutcome, SinkError> {
        let cancel = self.cancel;
        let started = Instant::now();
        let rate = self.throttle;
        let stop = |done: u64| {
            if let Some(rate) = rate {
                // Pace reads: sleep until `done` bytes are no longer ahead of the rate.
                let due = std::time::Duration::from_secs_f64(done as f64 / rate as f64);
                if let Some(ahead) = due.checked_sub(started.elapsed()) {
                    std::thread::sleep(ahead.min(std::time::Duration::from_secs(1)));
                }
            }
            cancel.should_stop().is_some()
        };
        let o = self.archive.add_file(Some(self.id), req, reader, &stop)?;
        if o.member.is_some() {
            self.files += 1;
        }
        if let Some(e) = &o.read_error {
            self.error(format!("{}: {e}", req.display));
        }
        if let Some(why) = &o.copy_skipped {
            self.error(format!("{}: {why}", req.display));
        }
        Ok(o)
    }

    fn warn(&mut self, msg: String) {
        self.warning_count += 1;
        self.log.log("WARN", format!("{}: {msg}", self.id));
    }

    fn error(&mut self, msg: String) {
        self.error_count += 1;
        self.log.log("ERROR", format!("{}: {msg}", self.id));
        if self.errors.len() < MAX_ERRORS_KEPT {
            self.errors.push(msg);
        }
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

/// Panics inside a collector are caught and reported; this hook keeps their message for the
/// log instead of printing a backtrace notice in the middle of the responder's screen.
fn install_panic_capture() -> Arc<Mutex<Vec<String>>> {
    let captured = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&captured);
    std::panic::set_hook(Box::new(move |info| {
        if let Ok(mut v) = sink.lock() {
            v.push(info.to_string());
        }
    }));
    captured
}

fn open_source(config: &CollectConfig) -> anyhow::Result<Box<dyn Source>> {
    Ok(match &config.root {
        Some(root) => Box::new(
            RootSource::new(root.clone(), config.root_os)
                .with_context(|| format!("cannot use offline root {}", root.display()))?,
        ),
        None => Box::new(LiveSource::new()),
    })
}

#[derive(Serialize)]
struct JsonSummary<'a> {
    archive: String,
    sha256: String,
    status: RunStatus,
    exit_code: u8,
    /// Public keys the archive is encrypted to (absent: not encrypted).
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    encrypted_to: &'a [String],
    collectors: &'a [CollectorReport],
}

struct RunState<'a> {
    source: &'a dyn Source,
    cancel: &'a Cancel,
    shared: &'a Shared,
    config: &'a CollectConfig,
    panics: Arc<Mutex<Vec<String>>>,
}

fn run_one(
    state: &RunState,
    collector: &dyn Collector,
    archive: &mut ArchiveWriter,
    log: &mut RunLog,
    analysis: &mut Analysis,
) -> anyhow::Result<CollectorReport> {
    let id = collector.id();
    let started = Instant::now();
    let mut report = CollectorReport {
        id,
        status: CollectorStatus::Skipped,
        reason: None,
        records: 0,
        files: 0,
        duration_ms: 0,
        error_count: 0,
        errors: Vec::new(),
        warning_count: 0,
    };
    if let Some(why) = state.cancel.should_stop() {
        report.reason = Some(match why {
            StopReason::Signal => "interrupted before it started".into(),
            StopReason::Deadline => "deadline reached before it started".into(),
        });
        log.log(
            "INFO",
            format!("{id}: skipped: {}", report.reason.as_deref().unwrap_or("")),
        );
        return Ok(report);
    }
    if id.live_only() && !state.source.is_live() {
        report.reason = Some("offline root: live-only collector".into());
        log.log("INFO", format!("{id}: skipped: offline root"));
        return Ok(report);
    }
    if let Some(why) = collector.not_applicable(state.source) {
        log.log("INFO", format!("{id}: skipped: {why}"));
        report.reason = Some(format!("{NOT_APPLICABLE}: {why}"));
        return Ok(report);
    }
    log.log("INFO", format!("{id}: started"));
    let ctx = Context {
        source: state.source,
        cancel: state.cancel,
        since: state.config.since,
        shared: state.shared,
        exclude: vec![state.config.output_dir.clone()],
    };
    let mut sink = CollectorSink {
        archive,
        cancel: state.cancel,
        throttle: state.config.low_impact.then_some(LOW_IMPACT_READ_RATE),
        log,
        id,
        records: 0,
        files: 0,
        errors: Vec::new(),
        error_count: 0,
        warning_count: 0,
    };
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        collector.collect(&ctx, &mut sink)
    }));
    let (records, files, errors, error_count, warning_count) = (
        sink.records,
        sink.files,
        std::mem::take(&mut sink.errors),
        sink.error_count,
        sink.warning_count,
    );
    // The records are written even when the collector failed half-way: partial evidence is
    // evidence.
    let (written, jsonl) = archive.flush_records(id).context("writing records")?;
    debug_assert_eq!(written, records);
    analysis.add_records(id, &jsonl);
    report.records = records;
    report.files = files;
    report.error_count = error_count;
    report.errors = errors;
    report.warning_count = warning_count;
    report.duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    let cut = state.cancel.should_stop();
    match result {
        Ok(Ok(())) => {
            report.status = if cut.is_some() || error_count > 0 {
                CollectorStatus::Partial
            } else {
                CollectorStatus::Ok
            };
            report.reason = match cut {
                Some(StopReason::Deadline) => Some("deadline".into()),
                Some(StopReason::Signal) => Some("interrupted".into()),
                None if error_count > 0 => report.errors.first().cloned(),
                None => None,
            };
        }
        Ok(Err(e)) => {
            report.status = CollectorStatus::Failed;
            report.reason = Some(format!("{e:#}"));
        }
        Err(panic) => {
            let detail = state
                .panics
                .lock()
                .ok()
                .and_then(|mut v| v.pop())
                .unwrap_or_else(|| crate::source::live::panic_message(&*panic));
            report.status = CollectorStatus::Failed;
            report.reason = Some(format!("collector panicked: {detail}"));
        }
    }
    log.log(
        "INFO",
        format!(
            "{id}: {:?}: {} records, {} files, {} errors, {} ms{}",
            report.status,
            report.records,
            report.files,
            report.error_count,
            report.duration_ms,
            report
                .reason
                .as_deref()
                .map(|r| format!(" ({r})"))
                .unwrap_or_default()
        ),
    );
    Ok(report)
}

pub fn run(config: &CollectConfig) -> anyhow::Result<Exit> {
    let started = chrono::Utc::now();
    if config.low_impact {
        crate::source::live::lower_own_priority();
    }
    let source = open_source(config)?;
    let host = source.host_facts();
    let identity = crate::privilege::current();

    let signalled = Arc::new(AtomicBool::new(false));
    // Windows turns Ctrl-C into SIGINT and Ctrl-Break into SIGBREAK; Unix sends SIGTERM.
    #[cfg(windows)]
    let signals = [
        signal_hook::consts::SIGINT,
        signal_hook::consts::SIGTERM,
        signal_hook::consts::SIGBREAK,
    ];
    #[cfg(not(windows))]
    let signals = [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM];
    for sig in signals {
        // A second signal while the first is being handled ends the process at once.
        signal_hook::flag::register_conditional_shutdown(sig, 130, Arc::clone(&signalled))
            .context("installing signal handlers")?;
        signal_hook::flag::register(sig, Arc::clone(&signalled))
            .context("installing signal handlers")?;
    }
    let cancel = Cancel {
        signalled,
        deadline: config.deadline.map(|d| Instant::now() + d),
    };

    // What raw copies may add: the profile's cap, and what the output volume can take while
    // keeping `keep_free` free. Checked before anything is written.
    let keep_free = config.profile.archive.keep_free.0;
    let free = crate::archive::space::available_space(&config.output_dir);
    if let Some(free) = free
        && free < keep_free
    {
        anyhow::bail!(
            "only {} MiB free on the output volume of {} (the profile keeps {} MiB free);              choose another --output",
            free >> 20,
            config.output_dir.display(),
            keep_free >> 20
        );
    }
    let budget = match (config.profile.archive.max_size, free) {
        (Some(max), Some(free)) => Some(max.0.min(free - keep_free)),
        (Some(max), None) => Some(max.0),
        (None, Some(free)) => Some(free - keep_free),
        (None, None) => None,
    };

    let mut name = archive_name(host.hostname.as_deref(), started);
    if !config.encrypt_to.is_empty() {
        name.push_str(".age");
    }
    let mut archive =
        ArchiveWriter::create_sealed(&config.output_dir, &name, source.os(), &config.encrypt_to)
            .with_context(|| {
                format!(
                    "cannot create the archive in {}",
                    config.output_dir.display()
                )
            })?;
    archive.set_budget(budget);

    let mut log = RunLog::default();
    log.log(
        "INFO",
        format!(
            "output volume: {} free; raw copies may add {}",
            free.map(|f| format!("{} MiB", f >> 20))
                .unwrap_or_else(|| "unknown".into()),
            budget
                .map(|b| format!("{} MiB", b >> 20))
                .unwrap_or_else(|| "no limit".into())
        ),
    );
    log.log(
        "INFO",
        format!(
            "irsnap {} starting: source {:?}, profile {}, output {}",
            env!("CARGO_PKG_VERSION"),
            source.describe(),
            config.profile.name,
            archive.partial_path().display()
        ),
    );
    if !config.encrypt_to.is_empty() {
        log.log(
            "INFO",
            format!(
                "archive encrypted with age to {}",
                config.encrypt_to.public_keys().join(", ")
            ),
        );
    }
    if !identity.elevated {
        log.log(
            "WARN",
            "not elevated: other users' process images, sockets and protected files may be \
             unreadable",
        );
    }

    let progress = (!config.quiet && !config.json && std::io::stderr().is_terminal()).then(|| {
        let pb = indicatif::ProgressBar::new_spinner();
        pb.enable_steady_tick(std::time::Duration::from_millis(120));
        pb
    });

    let shared = Shared::default();
    let state = RunState {
        source: source.as_ref(),
        cancel: &cancel,
        shared: &shared,
        config,
        panics: install_panic_capture(),
    };
    let mut analysis = new_analysis(config, source.os(), &mut log)?;
    let mut reports = Vec::new();
    for collector in collectors::build(&config.profile) {
        if let Some(pb) = &progress {
            pb.set_message(format!("collecting {}", collector.id()));
        }
        reports.push(run_one(
            &state,
            collector.as_ref(),
            &mut archive,
            &mut log,
            &mut analysis,
        )?);
    }
    let _ = std::panic::take_hook();
    if let Some(pb) = progress {
        pb.finish_and_clear();
    }
    write_timeline(&mut archive, &mut log)?;

    let interrupted = cancel.signalled.load(std::sync::atomic::Ordering::Relaxed);
    let status = if interrupted {
        RunStatus::Interrupted
    } else if reports
        .iter()
        .all(|r| matches!(r.status, CollectorStatus::Ok) || is_not_applicable(r))
    {
        RunStatus::Complete
    } else {
        RunStatus::Partial
    };
    let ended = chrono::Utc::now();
    log.log("INFO", format!("finished: {status:?}"));
    let mut log_text = log.lines.join("\n");
    log_text.push('\n');
    archive
        .add_bytes("collection.log", log_text.as_bytes(), None)
        .context("writing collection.log")?;

    let case = (config.case_id.is_some() || config.examiner.is_some() || config.notes.is_some())
        .then(|| CaseInfo {
            case_id: config.case_id.clone(),
            examiner: config.examiner.clone(),
            notes: config.notes.clone(),
        });
    let mut manifest = Manifest {
        schema_version: SCHEMA_VERSION,
        tool: ToolInfo::current(),
        command_line: config.command_line.clone(),
        run_as: RunAs {
            user: identity.user.clone(),
            uid: identity.uid,
            sid: identity.sid.clone(),
            elevated: identity.elevated,
        },
        case,
        host,
        source: source.describe(),
        profile: ProfileInfo {
            name: config.profile.name.clone(),
            sha256: config.profile.sha256,
        },
        since: config.since,
        deadline_secs: config.deadline.map(|d| d.as_secs()),
        low_impact: config.low_impact,
        encryption: (!config.encrypt_to.is_empty()).then(|| EncryptionInfo {
            scheme: "age".into(),
            recipients: config.encrypt_to.public_keys().to_vec(),
        }),
        started,
        ended,
        status,
        collectors: reports,
        members: Vec::new(),
    };
    let findings = analysis.finish();
    write_report(&mut archive, &manifest, &shared, findings)?;
    crate::schema::write_to_archive(&mut archive).context("writing schema/")?;
    let finished = archive
        .finish(&mut manifest)
        .context("finishing the archive")?;
    let exit = Exit::from(status);

    if config.json {
        let summary = JsonSummary {
            archive: finished.path.display().to_string(),
            sha256: finished.sha256.to_hex(),
            status,
            exit_code: exit.code(),
            encrypted_to: config.encrypt_to.public_keys(),
            collectors: &manifest.collectors,
        };
        println!("{}", serde_json::to_string_pretty(&summary)?);
    } else if config.quiet {
        println!("{}", finished.path.display());
    } else {
        print_summary(&manifest, &finished, exit, started, ended);
    }
    Ok(exit)
}

/// `timeline.jsonl`, from the records written; what it met goes to the log.
fn write_timeline(archive: &mut ArchiveWriter, log: &mut RunLog) -> anyhow::Result<()> {
    let Some(stats) = archive.write_timeline().context("writing timeline.jsonl")? else {
        return Ok(());
    };
    log.log(
        "INFO",
        format!(
            "timeline: {} entries from {} records",
            stats.entries, stats.records
        ),
    );
    if stats.unreadable > 0 {
        log.log(
            "WARN",
            format!(
                "timeline: {} records could not be read back and are not in it (first: {})",
                stats.unreadable,
                stats.first_error.as_deref().unwrap_or("")
            ),
        );
    }
    Ok(())
}

/// `report.html`, `report.md` and `findings.jsonl`, written before the manifest so that they
/// are listed and hashed in it like every other member.
fn write_report(
    archive: &mut ArchiveWriter,
    manifest: &Manifest,
    shared: &Shared,
    findings: crate::detect::Findings,
) -> anyhow::Result<()> {
    use crate::cli::ReportFormat;
    let data = crate::report::ReportData {
        manifest: manifest.clone(),
        processes: shared.processes.get().cloned().unwrap_or_default(),
        findings: findings.items,
    };
    for (name, format) in [
        ("findings.jsonl", ReportFormat::Json),
        ("report.html", ReportFormat::Html),
        ("report.md", ReportFormat::Md),
    ] {
        let text = super::report::render(&data, format)?;
        archive
            .add_bytes(name, text.as_bytes(), None)
            .with_context(|| format!("writing {name}"))?;
    }
    Ok(())
}

/// Reason prefix of a collector whose artifact cannot exist on the source.
const NOT_APPLICABLE: &str = "not applicable";

/// The detection for this run: built-in rules, `--rules` files, and `--sigma` rules, whose
/// load report (what loaded, what irsnap cannot evaluate and why) goes to the log.
fn new_analysis(
    config: &CollectConfig,
    os: crate::source::OsFamily,
    log: &mut RunLog,
) -> anyhow::Result<Analysis> {
    let engine =
        crate::detect::Engine::with_extra_rules(&config.extra_rules)?.now(chrono::Utc::now());
    log.log("INFO", format!("detection: {} rules", engine.rules().len()));
    let sigma = config.sigma_dir.as_ref().map(|dir| {
        let (set, report) = crate::sigma::load_dir(dir);
        log.log(
            "INFO",
            format!(
                "sigma: {} rule files under {}: {} loaded, {} not evaluable, {} invalid",
                report.files,
                dir.display(),
                report.loaded,
                report.unsupported.len(),
                report.errors.len()
            ),
        );
        for u in &report.unsupported {
            log.log(
                "WARN",
                format!(
                    "sigma: {} ({}): not evaluated: {}",
                    u.path, u.title, u.reason
                ),
            );
        }
        for e in &report.errors {
            log.log("WARN", format!("sigma: {}: invalid: {}", e.path, e.reason));
        }
        set
    });
    Ok(Analysis::new(engine, sigma, os))
}

/// A collector skipped because it does not apply (offline root, another OS) does not make a
/// run partial.
fn is_not_applicable(r: &CollectorReport) -> bool {
    r.status == CollectorStatus::Skipped
        && r.reason
            .as_deref()
            .is_some_and(|s| s.starts_with("offline root") || s.starts_with(NOT_APPLICABLE))
}

fn print_summary(
    m: &Manifest,
    f: &crate::archive::Finished,
    exit: Exit,
    started: Timestamp,
    ended: Timestamp,
) {
    let secs = (ended - started).num_milliseconds() as f64 / 1000.0;
    println!("archive  {}", term_safe(&f.path.display().to_string()));
    println!("sha256   {}", f.sha256);
    if let Some(e) = &m.encryption {
        println!("age      encrypted to {}", e.recipients.join(", "));
    }
    println!(
        "status   {:?} (exit {}) in {secs:.2}s{}",
        m.status,
        exit.code(),
        if m.run_as.elevated {
            ""
        } else {
            " — not elevated: some data was not readable"
        }
    );
    println!();
    println!(
        "{:<18} {:<8} {:>8} {:>6} {:>9}  note",
        "collector", "status", "records", "files", "time"
    );
    for r in &m.collectors {
        let status = format!("{:?}", r.status).to_lowercase();
        let note = r.reason.as_deref().map(term_safe).unwrap_or_default();
        let note: String = note.chars().take(80).collect();
        println!(
            "{:<18} {:<8} {:>8} {:>6} {:>8.2}s  {}",
            r.id.as_str(),
            status,
            r.records,
            r.files,
            r.duration_ms as f64 / 1000.0,
            note
        );
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
    }
}
