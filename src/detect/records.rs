//! Observations from the archive's own records: one record in, one [`Observation`] (or a few)
//! out, each pointing at its member and 1-based line. The registration table
//! (`crate::registry`) names one function here per record type; `collect` calls it on every
//! record as it is written, and a re-read archive through the same table, so the two always
//! see the same thing.

use super::adapt;
use super::observation::{EvidenceRef, Observation, ObservationKind as K, TaskAttrs};
use crate::ids::RecordAt;
use crate::parsers::powershell::PsEventKind;
use crate::record::{
    ConnectionRecord, ExecutionEventRecord, HistoryRecord, PowershellRecord, ProcessRecord,
    ScheduledKind, ScheduledTaskRecord, SourceRef, TempFileRecord,
};

fn evidence_from(member: impl Into<String>, line: u64, src: &SourceRef) -> EvidenceRef {
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

fn temp_file_observation(rec: &TempFileRecord, ev: EvidenceRef) -> Observation {
    let mut o = Observation::new(K::TempFile, ev)
        .file(Some(rec.path.clone()), rec.sha256)
        .user(rec.owner.clone().or_else(|| rec.user.clone()))
        .timestamp(rec.mtime);
    if let Some(line) = &rec.first_line {
        o = o.script(Some(line.clone()), Some(rec.path.clone()));
    }
    o
}

/// A live process: its image hash and copy are the evidence.
pub fn process(p: &ProcessRecord, at: RecordAt, out: &mut Vec<Observation>) {
    // irsnap's own process ran from wherever the responder put it (often /tmp): not evidence.
    if p.is_irsnap {
        return;
    }
    let mut ev = EvidenceRef::new(at.member(), at.line);
    if let Some(h) = p.image_sha256 {
        ev = ev.sha256(h);
    }
    if let Some(c) = &p.image_copy {
        ev = ev.file_member(c.clone());
    }
    out.extend(adapt::from_process_record(p, ev));
}

pub fn connection(c: &ConnectionRecord, at: RecordAt, out: &mut Vec<Observation>) {
    out.extend(adapt::from_connection_record(
        c,
        EvidenceRef::new(at.member(), at.line),
    ));
}

pub fn temp_file(t: &TempFileRecord, at: RecordAt, out: &mut Vec<Observation>) {
    let mut ev = EvidenceRef::new(at.member(), at.line).source_path(t.path.clone());
    if let Some(h) = t.sha256 {
        ev = ev.sha256(h);
    }
    if let Some(a) = &t.archive_member {
        ev = ev.file_member(a.clone());
    }
    out.push(temp_file_observation(t, ev));
}

pub fn execution_event(e: &ExecutionEventRecord, at: RecordAt, out: &mut Vec<Observation>) {
    if let ExecutionEventRecord::Event(e) = e {
        out.extend(adapt::from_exec_event(
            &e.event,
            evidence_from(at.member(), at.line, &e.source),
        ));
    }
}

pub fn powershell(p: &PowershellRecord, at: RecordAt, out: &mut Vec<Observation>) {
    let (m, n) = (at.member().into_owned(), at.line);
    match p {
        // 4104 parts are read through their reassembled script block instead, so a script is
        // judged whole, and once.
        PowershellRecord::Event(e) if e.event.kind == PsEventKind::ScriptBlock => {}
        PowershellRecord::Event(e) => {
            out.extend(adapt::from_ps_event(
                &e.event,
                evidence_from(m.clone(), n, &e.source),
            ));
        }
        PowershellRecord::ScriptBlock(sb) => {
            // The evidence hash is the log file's; the script's own hash is in the record.
            let ev = evidence_from(m.clone(), n, &sb.source);
            out.push(adapt::from_script_block(&sb.block, ev));
        }
        PowershellRecord::Psreadline(h) => {
            out.push(
                Observation::new(K::HistoryCommand, evidence_from(m.clone(), n, &h.source))
                    .command_with_image(Some(h.command.clone()))
                    .user(Some(h.user.clone())),
            );
        }
        PowershellRecord::LogFile(_) => {}
    }
}

pub fn history(h: &HistoryRecord, at: RecordAt, out: &mut Vec<Observation>) {
    let mut ev = EvidenceRef::new(at.member(), at.line).source_path(h.file.clone());
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
}

pub fn scheduled_task(t: &ScheduledTaskRecord, at: RecordAt, out: &mut Vec<Observation>) {
    let mut ev = EvidenceRef::new(at.member(), at.line).source_path(t.source_path.clone());
    if let Some(a) = &t.archive_member {
        ev = ev.file_member(a.clone());
    }
    if let Some(s) = t.sha256 {
        ev = ev.sha256(s);
    }
    out.extend(scheduled(t, ev));
}

/// A staged script's text (its first bytes, read by temp_scripts or from its copy in an
/// archive) as an observation on the script's record at `at`. Text only, no script path: the
/// file being in a temp dir is the record's own finding, and reading a script is not running
/// it (the written-then-run join must not pair the file with itself).
pub fn staged_script(
    at: RecordAt,
    path: &str,
    member: Option<&str>,
    sha256: Option<crate::record::Sha256>,
    text: &str,
) -> Observation {
    let mut ev = EvidenceRef::new(at.member(), at.line).source_path(path);
    if let Some(m) = member {
        ev = ev.file_member(m);
    }
    if let Some(h) = sha256 {
        ev = ev.sha256(h);
    }
    Observation::new(K::ScriptBlock, ev).script(Some(text), None::<&str>)
}
