//! Observations from the archive's own records: `records/<collector>.jsonl` bytes in, one
//! [`Observation`] (or a few) per record out, each pointing at its member and 1-based line.
//! Used both by `collect` (right after each collector's records are written) and when an
//! archive is re-read, so the two always see the same thing.

use super::adapt;
use super::observation::{EvidenceRef, Observation, ObservationKind as K, TaskAttrs};
use crate::collectors::CollectorId;
use crate::parsers::powershell::PsEventKind;
use crate::record::{
    ConnectionRecord, ExecutionEventRecord, HistoryRecord, PowershellRecord, ProcessRecord,
    ScheduledKind, ScheduledTaskRecord, SourceRef, TempFileRecord,
};
use serde::de::DeserializeOwned;

/// What could not be turned into observations (a line that is not the collector's record
/// type: only possible if the archive was edited or written by another version).
#[derive(Debug, Default)]
pub struct ObserveReport {
    pub records: u64,
    pub unreadable_lines: Vec<u64>,
}

fn each<T: DeserializeOwned>(jsonl: &[u8], report: &mut ObserveReport, mut f: impl FnMut(T, u64)) {
    for (i, line) in jsonl.split(|&b| b == b'\n').enumerate() {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let n = i as u64 + 1;
        report.records += 1;
        match serde_json::from_slice::<T>(line) {
            Ok(rec) => f(rec, n),
            Err(_) => report.unreadable_lines.push(n),
        }
    }
}

fn evidence_from(member: &str, line: u64, src: &SourceRef) -> EvidenceRef {
    let mut e = EvidenceRef::new(member, line).source_path(src.source_path.clone());
    if let Some(m) = &src.source_member {
        e = e.file_member(m.clone());
    }
    if let Some(h) = src.source_sha256 {
        e = e.sha256(h);
    }
    e
}

fn scheduled(rec: &ScheduledTaskRecord, ev: EvidenceRef) -> Vec<Observation> {
    if let Some(def) = &rec.windows_task {
        return adapt::from_task_definition(def, ev);
    }
    let kind = match rec.kind {
        ScheduledKind::WindowsTask | ScheduledKind::WindowsJob => K::TaskAction,
        ScheduledKind::At => K::AtCommand,
        ScheduledKind::SystemdTimer => K::TimerCommand,
        ScheduledKind::Cron | ScheduledKind::CronScript | ScheduledKind::Anacron => K::CronCommand,
    };
    let attrs = TaskAttrs {
        name: Some(rec.name.clone()),
        hidden: rec.hidden,
        run_as: rec.run_as.clone(),
        highest_privileges: None,
        registration_time: rec.registration_date_utc,
        from_temp: None,
        schedule: (!rec.schedule.is_empty()).then(|| rec.schedule.clone()),
    };
    rec.actions
        .iter()
        .filter(|a| !a.command_line.trim().is_empty())
        .map(|a| {
            Observation::new(kind, ev.clone())
                .command_with_image(Some(a.command_line.clone()))
                .cwd(a.working_directory.clone())
                .user(rec.run_as.clone())
                .timestamp(rec.registration_date_utc)
                .task(attrs.clone())
        })
        .collect()
}

fn temp_file(rec: &TempFileRecord, ev: EvidenceRef) -> Observation {
    let mut o = Observation::new(K::TempFile, ev)
        .file(Some(rec.path.clone()), rec.sha256)
        .user(rec.owner.clone().or_else(|| rec.user.clone()))
        .timestamp(rec.mtime);
    if let Some(line) = &rec.first_line {
        o = o.script(Some(line.clone()), Some(rec.path.clone()));
    }
    o
}

/// Observations from one collector's records.
pub fn observe_jsonl(collector: CollectorId, jsonl: &[u8]) -> (Vec<Observation>, ObserveReport) {
    let member = format!("records/{}.jsonl", collector.as_str());
    let m = member.as_str();
    let mut out = Vec::new();
    let mut report = ObserveReport::default();
    let r = &mut report;
    match collector {
        CollectorId::Processes => each(jsonl, r, |p: ProcessRecord, n| {
            let mut ev = EvidenceRef::new(m, n);
            if let Some(h) = p.image_sha256 {
                ev = ev.sha256(h);
            }
            if let Some(c) = &p.image_copy {
                ev = ev.file_member(c.clone());
            }
            out.extend(adapt::from_process_record(&p, ev));
        }),
        CollectorId::Network => each(jsonl, r, |c: ConnectionRecord, n| {
            out.extend(adapt::from_connection_record(&c, EvidenceRef::new(m, n)));
        }),
        CollectorId::TempScripts => each(jsonl, r, |t: TempFileRecord, n| {
            let mut ev = EvidenceRef::new(m, n).source_path(t.path.clone());
            if let Some(h) = t.sha256 {
                ev = ev.sha256(h);
            }
            if let Some(a) = &t.archive_member {
                ev = ev.file_member(a.clone());
            }
            out.push(temp_file(&t, ev));
        }),
        CollectorId::ExecutionEvents => each(jsonl, r, |e: ExecutionEventRecord, n| {
            if let ExecutionEventRecord::Event(e) = e {
                out.extend(adapt::from_exec_event(
                    &e.event,
                    evidence_from(m, n, &e.source),
                ));
            }
        }),
        CollectorId::PowershellLogs => each(jsonl, r, |p: PowershellRecord, n| match p {
            // 4104 parts are read through their reassembled script block instead, so a
            // script is judged whole, and once.
            PowershellRecord::Event(e) if e.event.kind == PsEventKind::ScriptBlock => {}
            PowershellRecord::Event(e) => {
                out.extend(adapt::from_ps_event(
                    &e.event,
                    evidence_from(m, n, &e.source),
                ));
            }
            PowershellRecord::ScriptBlock(sb) => {
                // The evidence hash is the log file's; the script's own hash is in the record.
                let ev = evidence_from(m, n, &sb.source);
                out.push(adapt::from_script_block(&sb.block, ev));
            }
            PowershellRecord::Psreadline(h) => {
                out.push(
                    Observation::new(K::HistoryCommand, evidence_from(m, n, &h.source))
                        .command_with_image(Some(h.command.clone()))
                        .user(Some(h.user.clone())),
                );
            }
            PowershellRecord::LogFile(_) => {}
        }),
        CollectorId::ShellHistory => each(jsonl, r, |h: HistoryRecord, n| {
            let mut ev = EvidenceRef::new(m, n).source_path(h.file.clone());
            if let Some(a) = &h.archive_member {
                ev = ev.file_member(a.clone());
            }
            if let Some(s) = h.file_sha256 {
                ev = ev.sha256(s);
            }
            out.push(
                Observation::new(K::HistoryCommand, ev)
                    .timestamp(h.timestamp)
                    .command_with_image(Some(h.command.clone()))
                    .user(Some(h.user.clone())),
            );
        }),
        CollectorId::ScheduledTasks => each(jsonl, r, |t: ScheduledTaskRecord, n| {
            let mut ev = EvidenceRef::new(m, n).source_path(t.source_path.clone());
            if let Some(a) = &t.archive_member {
                ev = ev.file_member(a.clone());
            }
            if let Some(s) = t.sha256 {
                ev = ev.sha256(s);
            }
            out.extend(scheduled(&t, ev));
        }),
    }
    (out, report)
}
