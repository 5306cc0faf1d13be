//! The stages after the collectors, each isolated, then the log and the manifest.
//!
//! Order: detection's end (the process snapshot's joins, Sigma's snapshot rules), the
//! timeline, `findings.jsonl` and the reports, the schemas, `collection.log`, and the
//! manifest last. A second signal skips every stage but the log and the manifest: the archive
//! is finished at once with what was collected.

use super::collect::{Collected, Streaming};
use super::{Outcome, Run, RunError, run_status, stage};
use crate::archive::manifest::{
    CaseInfo, CollectorReport, EncryptionInfo, Manifest, ProfileInfo, RunAs, SCHEMA_VERSION, Stage,
    StageReport, ToolInfo,
};
use crate::config::CollectConfig;
use crate::detect::Findings;
use crate::outcome::{CollectorStatus, Exit};
use crate::record::{HostFacts, ProcessRecord, SourceDescription, Timestamp};
use crate::source::Identity;
use std::time::Instant;

/// What the run knows about itself for the manifest.
pub(super) struct RunFacts {
    pub started: Timestamp,
    pub host: HostFacts,
    pub identity: Identity,
    pub source: SourceDescription,
    pub processes: Vec<ProcessRecord>,
    /// Files and directories read without protecting their access time.
    pub atime_unprotected: u64,
}

fn ms(since: Instant) -> u64 {
    u64::try_from(since.elapsed().as_millis()).unwrap_or(u64::MAX)
}

fn report(
    stage: Stage,
    status: CollectorStatus,
    reason: Option<String>,
    t: Instant,
) -> StageReport {
    StageReport {
        stage,
        status,
        reason,
        duration_ms: ms(t),
    }
}

fn skipped(stage: Stage, why: &str) -> StageReport {
    StageReport {
        stage,
        status: CollectorStatus::Skipped,
        reason: Some(why.to_string()),
        duration_ms: 0,
    }
}

/// Why the stages after the collectors are skipped, if they are.
fn hurry(run: &Run) -> Option<&'static str> {
    (run.interrupt.count() >= 2).then_some("interrupted twice: the archive was finished at once")
}

pub(super) fn finish(
    mut run: Run,
    mut facts: RunFacts,
    collected: Collected,
) -> Result<Outcome, RunError> {
    let Collected {
        reports,
        analysis,
        timeline,
        sigma_enabled,
        progress,
    } = collected;
    // Cleared when this function returns, however it returns.
    let _spinner = progress.map(ClearOnDrop);
    let dir = run.config.output_dir.display().to_string();
    let mut stages = Vec::new();

    // Detection: its per-record work is done; the joins over the snapshot remain.
    let (mut findings, mut detection, sigma) = detect_stage(&run, analysis, sigma_enabled);
    if !findings.allowed.is_empty() {
        // Said where the report and the manifest show it: silenced, not hidden.
        let list: Vec<String> = findings
            .allowed
            .iter()
            .map(|(id, n)| format!("{id}: {n}"))
            .collect();
        let note = format!(
            "{} findings covered by the known-benign list and not kept ({})",
            findings.allowed.values().sum::<u64>(),
            list.join(", ")
        );
        run.log.info(format!("detection: {note}"));
        if detection.reason.is_none() {
            detection.reason = Some(note);
        }
    }
    // An offline Windows root has no host name of its own; its event logs name the Computer
    // that wrote them. The archive's file name was chosen before anything was read.
    if facts.host.hostname.is_none()
        && let Some(h) = findings.logged_host.clone()
    {
        run.log.info(format!(
            "host name {h:?} taken from the Computer most collected events name"
        ));
        facts.host.hostname = Some(h);
    }
    if let Some(h) = &facts.host.hostname {
        findings.default_host(h);
    }
    for s in [&detection, &sigma] {
        if s.status == CollectorStatus::Failed {
            run.log.error(format!(
                "{}: failed: {}",
                s.stage.as_str(),
                s.reason.as_deref().unwrap_or("")
            ));
        }
    }
    run.log.info(format!(
        "detection: {} findings{}",
        findings.len(),
        if findings.dropped.is_empty() {
            String::new()
        } else {
            format!(
                "; {} more not kept (budget of distinct findings reached)",
                findings.dropped.values().sum::<u64>()
            )
        }
    ));
    if findings.staged_not_joined > 0 {
        run.log.warn(format!(
            "detection: {} staged files were not joined with what ran (written-then-run \
             index full); their records are in the archive",
            findings.staged_not_joined
        ));
    }
    stages.push(detection);
    stages.push(sigma);

    stages.push(timeline_stage(&mut run, timeline));
    if run.archive.output_error().is_some() {
        return Err(run.output_failure());
    }
    if run.interrupt.count() >= 3 {
        run.archive.abort();
        return Err(RunError::Aborted);
    }

    let interrupted = run.interrupt.any();
    let ended = chrono::Utc::now();
    if facts.atime_unprotected > 0 {
        run.log.warn(format!(
            "{} files and directories were read without O_NOATIME (the kernel allows it only \
             to their owner or root): their access times may have changed (with relatime, at \
             most once a day)",
            facts.atime_unprotected
        ));
    }
    let mut manifest = manifest(run.config, &facts, reports, ended);
    manifest.stages = stages.clone();
    manifest.status = run_status(interrupted, &manifest.collectors, &stages);

    // The report shows the manifest as it will be; its own stage and the schemas' are
    // added after it.
    let report_stage = report_stage(&mut run, &manifest, facts.processes, &findings);
    stages.push(report_stage);
    let schema_stage = schema_stage(&mut run, &manifest.collectors);
    stages.push(schema_stage);
    if run.archive.output_error().is_some() {
        return Err(run.output_failure());
    }

    manifest.stages = stages;
    manifest.status = run_status(interrupted, &manifest.collectors, &manifest.stages);
    run.log.info(format!("finished: {:?}", manifest.status));
    let log = std::mem::take(&mut run.log);
    if run
        .archive
        .add_stream("collection.log", None, |w| log.write_to(w))
        .is_err()
        || run.archive.output_error().is_some()
    {
        return Err(run.output_failure());
    }
    let Run {
        archive, panics, ..
    } = run;
    panics.restore();
    let finished = match archive.finish(&manifest) {
        Ok(f) => f,
        Err(e) => {
            let message = e.to_string();
            let full = match &e {
                crate::sink::SinkError::Write(io) => super::is_full(io.kind(), &message),
                _ => false,
            };
            return Err(if full {
                RunError::OutputFull {
                    written: "the end of the run".into(),
                }
            } else {
                RunError::Output {
                    dir,
                    written: "the end of the run".into(),
                    message,
                }
            });
        }
    };
    let exit = Exit::from(manifest.status);
    let by_severity: Vec<_> = findings.by_severity().into_iter().rev().collect();
    Ok(Outcome {
        manifest,
        finished,
        exit,
        findings: by_severity,
        top_rules: findings.top_rules(super::TOP_RULES),
    })
}

fn detect_stage(
    run: &Run,
    analysis: Streaming<crate::detect::analysis::Analysis>,
    sigma_enabled: bool,
) -> (Findings, StageReport, StageReport) {
    let t = Instant::now();
    let sigma_skipped = || skipped(Stage::Sigma, "no --sigma rules given");
    if let Some(why) = hurry(run) {
        return (
            Findings::default(),
            skipped(Stage::Detection, why),
            if sigma_enabled {
                skipped(Stage::Sigma, why)
            } else {
                sigma_skipped()
            },
        );
    }
    let Streaming { stage: a, failed } = analysis;
    let result = match a {
        Some(a) => stage::isolate(&run.panics, || a.finish()).map_err(|p| format!("panicked: {p}")),
        None => Err(failed.unwrap_or_else(|| "did not run".into())),
    };
    match result {
        Ok(findings) => {
            let sigma = if sigma_enabled {
                report(Stage::Sigma, CollectorStatus::Ok, None, t)
            } else {
                sigma_skipped()
            };
            (
                findings,
                report(Stage::Detection, CollectorStatus::Ok, None, t),
                sigma,
            )
        }
        Err(why) => {
            let sigma = if sigma_enabled {
                report(
                    Stage::Sigma,
                    CollectorStatus::Failed,
                    Some("stopped with detection".into()),
                    t,
                )
            } else {
                sigma_skipped()
            };
            (
                Findings::default(),
                report(Stage::Detection, CollectorStatus::Failed, Some(why), t),
                sigma,
            )
        }
    }
}

fn timeline_stage(run: &mut Run, timeline: Streaming<crate::timeline::Timeline>) -> StageReport {
    let t = Instant::now();
    if let Some(why) = hurry(run) {
        return skipped(Stage::Timeline, why);
    }
    let Streaming { stage: tl, failed } = timeline;
    let Some(tl) = tl else {
        let why = failed.unwrap_or_else(|| "did not run".into());
        run.log.error(format!("timeline: failed: {why}"));
        return report(Stage::Timeline, CollectorStatus::Failed, Some(why), t);
    };
    let panics = run.panics.clone();
    let written = run.archive.add_stream(crate::timeline::MEMBER, None, |w| {
        stage::isolate(&panics, || tl.write_jsonl(w))
            .unwrap_or_else(|p| Err(std::io::Error::other(format!("panicked: {p}"))))
    });
    let stats = match written {
        Ok((_, Ok(stats))) => stats,
        Ok((_, Err(e))) | Err(crate::sink::SinkError::Write(e)) => {
            run.log.error(format!("timeline: failed: {e}"));
            return report(
                Stage::Timeline,
                CollectorStatus::Failed,
                Some(e.to_string()),
                t,
            );
        }
        Err(e) => {
            return report(
                Stage::Timeline,
                CollectorStatus::Failed,
                Some(e.to_string()),
                t,
            );
        }
    };
    run.log.info(format!(
        "timeline: {} entries from {} records",
        stats.entries, stats.records
    ));
    if stats.unreadable > 0 {
        run.log.warn(format!(
            "timeline: {} records could not be read back and are not in it (first: {})",
            stats.unreadable,
            stats.first_error.as_deref().unwrap_or("")
        ));
    }
    if stats.dropped > 0 {
        let why = format!(
            "{} entries left out: budget.max_timeline_entries ({}) reached",
            stats.dropped, stats.entries
        );
        run.log.warn(format!("timeline: {why}"));
        return report(Stage::Timeline, CollectorStatus::Partial, Some(why), t);
    }
    report(Stage::Timeline, CollectorStatus::Ok, None, t)
}

/// `findings.jsonl`, `report.html` and `report.md`, listed and hashed in the manifest like
/// every other member.
fn report_stage(
    run: &mut Run,
    manifest: &Manifest,
    processes: Vec<ProcessRecord>,
    findings: &Findings,
) -> StageReport {
    let t = Instant::now();
    if let Some(why) = hurry(run) {
        return skipped(Stage::Report, why);
    }
    let data = crate::report::ReportData {
        manifest: manifest.clone(),
        processes,
        findings: findings.items.clone(),
    };
    let mut problems = Vec::new();
    for name in ["findings.jsonl", "report.html", "report.md"] {
        let panics = run.panics.clone();
        let rendered = stage::isolate(&panics, || match name {
            "findings.jsonl" => findings.to_jsonl().map_err(|e| e.to_string()),
            "report.html" => Ok(crate::report::render_html(&data)),
            _ => Ok(crate::report::render_markdown(&data)),
        });
        let text = match rendered {
            Ok(Ok(text)) => text,
            Ok(Err(e)) => {
                problems.push(format!("{name}: {e}"));
                continue;
            }
            Err(p) => {
                problems.push(format!("{name}: panicked: {p}"));
                continue;
            }
        };
        if let Err(e) = run.archive.add_bytes(name, text.as_bytes(), None) {
            problems.push(format!("{name}: {e}"));
        }
    }
    if problems.is_empty() {
        report(Stage::Report, CollectorStatus::Ok, None, t)
    } else {
        for p in &problems {
            run.log.error(format!("report: {p}"));
        }
        report(
            Stage::Report,
            CollectorStatus::Failed,
            Some(problems.join("; ")),
            t,
        )
    }
}

fn schema_stage(run: &mut Run, collectors: &[CollectorReport]) -> StageReport {
    let t = Instant::now();
    if let Some(why) = hurry(run) {
        return skipped(Stage::Schema, why);
    }
    let panics = run.panics.clone();
    let docs = match stage::isolate(&panics, crate::schema::all) {
        Ok(d) => d,
        Err(p) => {
            return report(
                Stage::Schema,
                CollectorStatus::Failed,
                Some(format!("panicked: {p}")),
                t,
            );
        }
    };
    let written: Vec<String> = docs
        .iter()
        .map(|d| d.describes.clone())
        .filter(|m| run.archive.has_member(m))
        .collect();
    // The DuckDB views name this archive's own record files: every part, and none for a
    // collector that did not run (its view is empty, with the same columns).
    let files_of = |d: &crate::schema::SchemaDoc| {
        use crate::schema::duckdb::Files;
        match collectors.iter().find(|c| c.id.as_str() == d.name) {
            Some(c) if !c.record_members.is_empty() => Files::Members(c.record_members.clone()),
            Some(c) if c.status == CollectorStatus::Skipped => Files::Members(Vec::new()),
            Some(c) => Files::Members(vec![c.id.records_member().to_string()]),
            // timeline.jsonl, findings.jsonl: absent when their stage failed.
            None if written.contains(&d.describes) => Files::Members(vec![d.describes.clone()]),
            None => Files::Members(Vec::new()),
        }
    };
    let sql = match stage::isolate(&panics, || crate::schema::duckdb::script(&docs, &files_of)) {
        Ok(s) => s,
        Err(p) => {
            return report(
                Stage::Schema,
                CollectorStatus::Failed,
                Some(format!("duckdb.sql panicked: {p}")),
                t,
            );
        }
    };
    let sql_member = format!(
        "{}/{}",
        crate::schema::SCHEMA_DIR,
        crate::schema::DUCKDB_SQL
    );
    let texts = docs
        .iter()
        .map(|d| {
            (
                format!("{}/{}", crate::schema::SCHEMA_DIR, d.file_name()),
                d.to_text(),
            )
        })
        .chain(std::iter::once((sql_member, sql)));
    for (member, text) in texts {
        if let Err(e) = run.archive.add_bytes(&member, text.as_bytes(), None) {
            return report(
                Stage::Schema,
                CollectorStatus::Failed,
                Some(e.to_string()),
                t,
            );
        }
    }
    report(Stage::Schema, CollectorStatus::Ok, None, t)
}

fn manifest(
    config: &CollectConfig,
    facts: &RunFacts,
    collectors: Vec<CollectorReport>,
    ended: Timestamp,
) -> Manifest {
    let case = (config.case_id.is_some() || config.examiner.is_some() || config.notes.is_some())
        .then(|| CaseInfo {
            case_id: config.case_id.clone(),
            examiner: config.examiner.clone(),
            notes: config.notes.clone(),
        });
    Manifest {
        schema_version: SCHEMA_VERSION,
        tool: ToolInfo::current(),
        command_line: config.command_line.clone(),
        run_as: RunAs {
            user: facts.identity.user.clone(),
            uid: facts.identity.uid,
            sid: facts.identity.sid.clone(),
            elevated: facts.identity.elevated,
        },
        case,
        host: facts.host.clone(),
        source: facts.source.clone(),
        profile: ProfileInfo {
            name: config.profile.name.clone(),
            sha256: config.profile.sha256,
        },
        since: config.since,
        deadline_secs: config.deadline.map(|d| d.as_secs()),
        low_impact: config.low_impact,
        atime_unprotected: facts.atime_unprotected,
        signature: config.sign.as_ref().map(crate::archive::SigningKey::info),
        encryption: (!config.encrypt_to.is_empty()).then(|| EncryptionInfo {
            scheme: "age".into(),
            recipients: config.encrypt_to.public_keys().to_vec(),
        }),
        started: facts.started,
        ended,
        status: crate::outcome::RunStatus::Partial,
        collectors,
        stages: Vec::new(),
        members: Vec::new(),
    }
}

/// Clears the terminal's spinner when the stages are done (or one of them returned early).
struct ClearOnDrop(indicatif::ProgressBar);

impl Drop for ClearOnDrop {
    fn drop(&mut self) {
        self.0.finish_and_clear();
    }
}
