//! The collectors, one after another in order of volatility, and the sink each writes to.
//!
//! Every record a collector produces goes, at once and once: serialized into its member
//! (through the archive writer), through the registration table into detection observations
//! and timeline facts, and then it is dropped. Detection and the timeline are stages of their
//! own even here: a panic in either on some record disables that stage for the rest of the
//! run (its status says so) and the collection goes on.

use super::{LOW_IMPACT_READ_RATE, Run, stage};
use crate::archive::manifest::{CollectorReport, LeftOut, SkipReason};
use crate::collectors::{Context, StopReason};
use crate::detect::Observation;
use crate::detect::analysis::Analysis;
use crate::ids::{CollectorId, RecordAt};
use crate::outcome::CollectorStatus;
use crate::record::Record;
use crate::registry;
use crate::sink::{FileOutcome, FileRequest, Sink, SinkError, StagedScript};
use crate::timeline::{Timeline, TimelineEntry};
use std::io::Read;
use std::time::Instant;

/// How many error messages per collector the manifest keeps (the count is always exact).
const MAX_ERRORS_KEPT: usize = 50;

/// Why the collectors stopped without the run finishing normally.
pub(super) enum Stop {
    /// The output failed: the archive cannot be finished.
    Output,
    /// A third signal: give up at once.
    Abort,
}

/// A stage that runs record by record beside the collectors.
pub(super) struct Streaming<T> {
    pub stage: Option<T>,
    /// Why it stopped: the panic that disabled it.
    pub failed: Option<String>,
}

impl<T> Streaming<T> {
    fn new(stage: Option<T>) -> Self {
        Streaming {
            stage,
            failed: None,
        }
    }

    /// Run `f` on the stage; a panic disables it for the rest of the run.
    fn with(&mut self, panics: &stage::Panics, f: impl FnOnce(&mut T)) {
        let Some(s) = self.stage.as_mut() else { return };
        if let Err(msg) = stage::isolate(panics, || f(s)) {
            self.stage = None;
            self.failed = Some(format!("panicked: {msg}"));
        }
    }
}

pub(super) struct Collected<'e> {
    pub reports: Vec<CollectorReport>,
    pub analysis: Streaming<Analysis<'e>>,
    pub timeline: Streaming<Timeline>,
    /// The Sigma load report's lines for the log were written; this says whether Sigma ran.
    pub sigma_enabled: bool,
    /// The terminal's spinner, kept for the stages after the collectors.
    pub progress: Option<indicatif::ProgressBar>,
}

/// The sink one collector writes to: the archive, detection, the timeline, plus its own
/// counts, budget and messages.
pub(super) struct CollectorSink<'r, 'a, 'e> {
    run: &'r mut Run<'a>,
    analysis: &'r mut Streaming<Analysis<'e>>,
    timeline: &'r mut Streaming<Timeline>,
    id: CollectorId,
    cancel: crate::collectors::Cancel,
    records: u64,
    record_bytes: u64,
    files: u64,
    errors: Vec<String>,
    error_count: u64,
    cuts: Vec<String>,
    cut_count: u64,
    warning_count: u64,
    left_out: LeftOut,
    /// Reused for each record's JSON.
    buf: Vec<u8>,
    observations: Vec<Observation>,
    entries: Vec<TimelineEntry>,
    /// Where the last record written landed (a staged script's text points at it).
    last_at: Option<RecordAt>,
    /// The terminal's spinner, told the counts now and then.
    progress: Option<indicatif::ProgressBar>,
}

impl CollectorSink<'_, '_, '_> {
    /// What the spinner says while a collector runs: a long Sigma pass over event logs is
    /// records going by, not a hang.
    fn show_progress(&self) {
        if let Some(pb) = &self.progress {
            pb.set_message(format!(
                "{}: {} records, {} files{}",
                self.id,
                self.records,
                self.files,
                match self.error_count {
                    0 => String::new(),
                    n => format!(", {n} gaps"),
                }
            ));
        }
    }

    /// `Some(limit)` when one more record of `bytes` would pass a budget.
    fn over_budget(&self, bytes: u64) -> Option<&'static str> {
        let b = &self.run.config.profile.budget;
        if self.records >= b.max_records_per_collector {
            Some("budget.max_records_per_collector")
        } else if self.record_bytes + bytes > b.max_record_bytes_per_collector.0 {
            Some("budget.max_record_bytes_per_collector")
        } else if self.run.records_written >= b.max_records {
            Some("budget.max_records")
        } else if self.run.record_bytes_written + bytes > b.max_record_bytes.0 {
            Some("budget.max_record_bytes")
        } else {
            None
        }
    }
}

impl Sink for CollectorSink<'_, '_, '_> {
    fn record(&mut self, rec: Record) -> Result<(), SinkError> {
        // The variant decides the member; a collector handing over another's records is a
        // bug, reported rather than filed under the wrong name.
        let owner = registry::collector_of(&rec);
        if owner != self.id {
            self.error(format!(
                "internal: a {owner} record from the {} collector was not written",
                self.id
            ));
            return Ok(());
        }
        self.buf.clear();
        serde_json::to_writer(&mut self.buf, &rec).map_err(SinkError::Serialize)?;
        let bytes = self.buf.len() as u64 + 1;
        if let Some(limit) = self.over_budget(bytes) {
            if self.left_out.records == 0 {
                self.left_out.reason = format!("{limit} reached");
                self.run.log.warn(format!(
                    "{}: {limit} reached: further records are counted, not written",
                    self.id
                ));
            }
            self.left_out.records += 1;
            self.left_out.bytes += bytes;
            return Ok(());
        }
        let at = self.run.archive.add_record(self.id, &self.buf)?;
        self.last_at = Some(at);
        self.records += 1;
        if self.records.is_multiple_of(256) {
            self.show_progress();
        }
        self.record_bytes += bytes;
        self.run.records_written += 1;
        self.run.record_bytes_written += bytes;
        let panics = self.run.panics.clone();
        let observations = &mut self.observations;
        self.analysis.with(&panics, |a| {
            observations.clear();
            registry::observe(&rec, at, observations);
            a.record(&rec, at, std::mem::take(observations));
        });
        let entries = &mut self.entries;
        self.timeline.with(&panics, |t| {
            entries.clear();
            registry::timeline_facts(&rec, at, t.state(), entries);
            t.add(entries.drain(..));
        });
        Ok(())
    }

    fn staged_script(&mut self, s: StagedScript<'_>) {
        let Some(at) = self.last_at else {
            return;
        };
        let o = crate::detect::records::staged_script(at, s.path, s.member, s.sha256, s.text);
        let panics = self.run.panics.clone();
        self.analysis.with(&panics, |a| a.observe(o));
    }

    fn file(&mut self, req: &FileRequest, reader: &mut dyn Read) -> Result<FileOutcome, SinkError> {
        let cancel = &self.cancel;
        let started = Instant::now();
        let rate = self.run.config.low_impact.then_some(LOW_IMPACT_READ_RATE);
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
        let o = self
            .run
            .archive
            .add_file(Some(self.id), req, reader, &stop)?;
        if o.member.is_some() {
            self.files += 1;
            self.show_progress();
        }
        if let Some(e) = &o.read_error {
            self.error(format!("{}: {e}", req.display));
        }
        if let Some(why) = &o.copy_skipped {
            self.cut(format!("{}: {why}", req.display));
        }
        Ok(o)
    }

    fn file_seekable(
        &mut self,
        req: &FileRequest,
        reader: &mut dyn crate::source::ReadSeek,
    ) -> Result<FileOutcome, SinkError> {
        if !req.keep_tail {
            return self.file(req, reader);
        }
        let cancel = &self.cancel;
        let stop = |_: u64| cancel.should_stop().is_some();
        let o = self
            .run
            .archive
            .add_file_tail(Some(self.id), req, reader, &stop)?;
        if o.member.is_some() {
            self.files += 1;
        }
        if let Some(e) = &o.read_error {
            self.error(format!("{}: {e}", req.display));
        }
        Ok(o)
    }

    fn warn(&mut self, msg: String) {
        self.warning_count += 1;
        self.run.log.warn(format!("{}: {msg}", self.id));
    }

    fn error(&mut self, msg: String) {
        self.error_count += 1;
        self.run.log.error(format!("{}: {msg}", self.id));
        if self.errors.len() < MAX_ERRORS_KEPT {
            self.errors.push(msg);
        }
    }

    fn cut(&mut self, msg: String) {
        self.cut_count += 1;
        self.run.log.warn(format!("{}: cut: {msg}", self.id));
        if self.cuts.len() < MAX_ERRORS_KEPT {
            self.cuts.push(msg);
        }
    }
}

/// Skip a collector before it starts, when it cannot or must not run.
fn skip_reason(
    ctx: &Context,
    id: CollectorId,
    collector: &dyn crate::collectors::Collector,
) -> Option<(SkipReason, String)> {
    match ctx.cancel.should_stop() {
        Some(StopReason::Signal) => {
            return Some((
                SkipReason::Interrupted,
                "interrupted before it started".into(),
            ));
        }
        Some(StopReason::Deadline) => {
            return Some((
                SkipReason::Deadline,
                "deadline reached before it started".into(),
            ));
        }
        None => {}
    }
    if registry::live_only(id) && ctx.live.is_none() {
        return Some((
            SkipReason::LiveOnly,
            "offline root: live-only collector".into(),
        ));
    }
    collector
        .not_applicable(ctx.fs)
        .map(|why| (SkipReason::NotApplicable, format!("not applicable: {why}")))
}

/// Every collector the profile enables, in order of volatility.
pub(super) fn run_collectors<'a>(run: &mut Run<'a>, ctx: &Context) -> Result<Collected<'a>, Stop> {
    let config = run.config;
    let sigma = super::load_sigma(config, &mut run.log);
    let sigma_enabled = sigma.is_some();
    let mut analysis = Streaming::new(Some(Analysis::new(&config.engine, sigma, ctx.fs.os())));
    run.log
        .info(format!("detection: {} rules", config.engine.rules().len()));
    let mut timeline = Streaming::new(Some(Timeline::with_max_entries(
        config.profile.budget.max_timeline_entries,
    )));
    let progress = (!config.quiet
        && !config.json
        && std::io::IsTerminal::is_terminal(&std::io::stderr()))
    .then(|| {
        let pb = indicatif::ProgressBar::new_spinner();
        if let Ok(style) = indicatif::ProgressStyle::with_template("{spinner} {elapsed:>4} {msg}") {
            pb.set_style(style);
        }
        pb.enable_steady_tick(std::time::Duration::from_millis(120));
        pb
    });
    let mut reports = Vec::new();
    for &id in CollectorId::ALL {
        let Some(collector) = registry::build(id, &config.profile.collectors) else {
            continue;
        };
        if run.interrupt.count() >= 3 {
            return Err(Stop::Abort);
        }
        if let Some(pb) = &progress {
            pb.set_message(format!("collecting {id}"));
        }
        let mut report = CollectorReport::new(id);
        if let Some((why, text)) = skip_reason(ctx, id, collector.as_ref()) {
            run.log.info(format!("{id}: skipped: {text}"));
            report.skipped = Some(why);
            report.reason = Some(text);
            reports.push(report);
            continue;
        }
        run.log.info(format!("{id}: started"));
        let started = Instant::now();
        let mut sink = CollectorSink {
            run: &mut *run,
            analysis: &mut analysis,
            timeline: &mut timeline,
            id,
            cancel: ctx.cancel.clone(),
            records: 0,
            record_bytes: 0,
            files: 0,
            errors: Vec::new(),
            error_count: 0,
            cuts: Vec::new(),
            cut_count: 0,
            warning_count: 0,
            left_out: LeftOut::default(),
            buf: Vec::new(),
            observations: Vec::new(),
            entries: Vec::new(),
            last_at: None,
            progress: progress.clone(),
        };
        let panics = sink.run.panics.clone();
        let result = stage::isolate(&panics, || collector.collect(ctx, &mut sink));
        let CollectorSink {
            records,
            files,
            errors,
            error_count,
            cuts,
            cut_count,
            warning_count,
            left_out,
            ..
        } = sink;
        // The records are written even when the collector failed half-way: partial evidence
        // is evidence.
        let written = match run.archive.end_records_of(id) {
            Ok(w) => w,
            Err(_) => return Err(Stop::Output),
        };
        if run.archive.output_error().is_some() {
            return Err(Stop::Output);
        }
        let panics = run.panics.clone();
        analysis.with(&panics, |a| a.end_collector(id));
        timeline.with(&panics, |t| t.end_collector());
        debug_assert_eq!(written.records, records);
        report.records = records;
        report.files = files;
        report.error_count = error_count;
        report.errors = errors;
        report.cut_count = cut_count;
        report.cuts = cuts;
        report.warning_count = warning_count;
        if written.members.len() > 1 {
            report.record_members = written.members;
        }
        let cut_by_budget = left_out.records > 0;
        if cut_by_budget {
            report.left_out = Some(left_out);
        }
        report.duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        let cut = ctx.cancel.should_stop();
        match result {
            Ok(Ok(())) => {
                // Gaps (items that could not be read) leave the collector `ok`: they are
                // listed, and a non-elevated run is not a failed one. Only a limit that left
                // evidence out, or a stop, makes it partial.
                let partial = cut.is_some() || cut_count > 0 || cut_by_budget;
                report.status = if partial {
                    CollectorStatus::Partial
                } else {
                    CollectorStatus::Ok
                };
                report.reason = match cut {
                    Some(StopReason::Deadline) => Some("deadline".into()),
                    Some(StopReason::Signal) => Some("interrupted".into()),
                    None if cut_by_budget => report
                        .left_out
                        .as_ref()
                        .map(|l| format!("{} records left out: {}", l.records, l.reason)),
                    None if cut_count > 0 => report.cuts.first().cloned(),
                    None if error_count > 0 => Some(gap_note(error_count, &report.errors)),
                    None => None,
                };
            }
            Ok(Err(e)) => {
                if run.archive.output_error().is_some() {
                    return Err(Stop::Output);
                }
                report.status = CollectorStatus::Failed;
                report.reason = Some(format!("{e:#}"));
            }
            Err(panic) => {
                report.status = CollectorStatus::Failed;
                report.reason = Some(format!("collector panicked: {panic}"));
            }
        }
        run.log.info(format!(
            "{id}: {:?}: {} records, {} files, {} gaps, {} cuts, {} ms{}",
            report.status,
            report.records,
            report.files,
            report.error_count,
            report.cut_count,
            report.duration_ms,
            report
                .reason
                .as_deref()
                .map(|r| format!(" ({r})"))
                .unwrap_or_default()
        ));
        reports.push(report);
    }
    if let Some(pb) = &progress {
        pb.set_message("detection joins, Sigma, timeline, report");
    }
    Ok(Collected {
        reports,
        analysis,
        timeline,
        sigma_enabled,
        progress,
    })
}

/// The note a collector with gaps gets: the first one, and how many more.
fn gap_note(count: u64, first: &[String]) -> String {
    let first = first.first().map(String::as_str).unwrap_or("");
    match count {
        1 => format!("1 gap: {first}"),
        n => format!("{n} gaps, first: {first}"),
    }
}
