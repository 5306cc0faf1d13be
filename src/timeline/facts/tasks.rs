//! Scheduled-task facts: registration, trigger start, legacy last run, file write.

use super::{
    At, MESSAGE_EXCERPT, State, entry, excerpt, local_entry, some_text, suffix, tag, usable,
};
use crate::parsers::task_xml::TaskTime;
use crate::record::{ScheduledKind, ScheduledTaskRecord, TriggerType};
use crate::timeline::TimelineEntry;
/// `"Registration"`, `"Time"`, or the native name of an unknown trigger.
fn trigger_name(t: &TriggerType) -> String {
    match t {
        TriggerType::Other(s) => s.clone(),
        other => tag(other),
    }
}

pub(super) fn scheduled(
    at: &At,
    r: &ScheduledTaskRecord,
    state: &mut State,
    out: &mut Vec<TimelineEntry>,
) {
    let kind = tag(&r.kind);
    let command = r
        .actions
        .iter()
        .map(|a| a.command_line.as_str())
        .find(|c| !c.trim().is_empty());
    let name = excerpt(&r.name, MESSAGE_EXCERPT);
    let fill = |mut e: TimelineEntry| {
        e.task_name = some_text(&r.name);
        e.user = r.run_as.clone();
        e.command_line = command.map(str::to_string);
        e.path = some_text(&r.source_path);
        e.sha256 = r.sha256.map(|h| h.to_hex());
        e.source_path = some_text(&r.source_path);
        e
    };

    // When it was registered.
    let registered = format!("Scheduled task registered: {name}{}", suffix(command));
    match (&r.registration_date_utc, &r.registration_date) {
        (Some(t), _) if usable(t) => {
            out.push(fill(entry(at, t, "Task Registered", &kind, registered)));
        }
        (None, Some(raw)) => {
            if let Some(wall) = TaskTime::parse(raw).wall_clock {
                out.push(fill(local_entry(
                    at,
                    wall,
                    raw,
                    "Task Registered",
                    &kind,
                    registered,
                )));
            }
        }
        _ => {}
    }

    // When its triggers start (time and calendar triggers, at jobs).
    let (desc, what) = if r.kind == ScheduledKind::At {
        ("Scheduled Run Time", "at job due to run")
    } else {
        ("Trigger Start Boundary", "trigger starts")
    };
    for trig in &r.triggers {
        let message = format!(
            "Scheduled task {what}: {name} ({}{}){}",
            trigger_name(&trig.trigger_type),
            trig.expression
                .as_deref()
                .map(|x| format!(", {}", excerpt(x, 80)))
                .unwrap_or_default(),
            suffix(command)
        );
        match (&trig.start_utc, &trig.start) {
            (Some(t), _) if usable(t) => out.push(fill(entry(at, t, desc, &kind, message))),
            (None, Some(raw)) => {
                if let Some(wall) = TaskTime::parse(raw).wall_clock {
                    out.push(fill(local_entry(at, wall, raw, desc, &kind, message)));
                }
            }
            _ => {}
        }
    }

    // A legacy .job file keeps when the task last ran (local time).
    if let Some(wall) = r.windows_job.as_ref().and_then(|j| j.last_run_time) {
        let raw = wall.format("%Y-%m-%dT%H:%M:%S%.3f").to_string();
        out.push(fill(local_entry(
            at,
            wall,
            &raw,
            "Last Run",
            &kind,
            format!("Legacy scheduled task last ran: {name}{}", suffix(command)),
        )));
    }

    // When its file was last written: once per file, not once per crontab line.
    if let Some(t) = r.file_mtime.filter(usable)
        && state.files_seen.insert(r.source_path.clone())
    {
        let mut e = fill(entry(
            at,
            &t,
            "File Modified",
            &kind,
            format!(
                "Scheduled task file modified: {}",
                excerpt(&r.source_path, MESSAGE_EXCERPT)
            ),
        ));
        // The line is about the file: its owner, not the account a job runs as.
        e.user = r.file_owner.clone();
        if r.kind != ScheduledKind::WindowsTask && r.kind != ScheduledKind::WindowsJob {
            // One crontab holds many jobs: the file is not one job.
            e.task_name = None;
            e.command_line = None;
        }
        out.push(e);
    }
}
