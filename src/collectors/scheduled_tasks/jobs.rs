//! Legacy Task Scheduler 1.0 `.job` files in `C:\Windows\Tasks` (XP/2003, and `at.exe` or
//! `NetScheduleJobAdd` jobs on later versions): copied, parsed with `parsers::task_job`, one
//! record each; a file that does not parse is still recorded.

use super::MAX_WARNINGS;
use super::{Ingested, Run, clip};
use crate::collectors::CollectError;
use crate::parsers::task_job::{JobFile, JobTrigger, JobTriggerType, parse_job};
use crate::record::{
    ActionKind, ParseStatus, ScheduledAction, ScheduledKind, ScheduledTaskRecord, ScheduledTrigger,
    TriggerType,
};
use crate::source::FileType;
use std::path::Path;

const JOBS_DIR: &str = "/Windows/Tasks";

pub(super) fn collect(run: &mut Run) -> Result<(), CollectError> {
    let Some(entries) = run.list_dir(Path::new(JOBS_DIR)) else {
        return Ok(());
    };
    for e in entries {
        if run.stopped() {
            return Ok(());
        }
        let name = e.name.to_string_lossy().into_owned();
        if !name.to_ascii_lowercase().ends_with(".job") {
            continue;
        }
        match e.meta.as_ref().map(|m| m.file_type) {
            Ok(FileType::Regular) => {
                if let Some(file) = run.ingest(&e.path)? {
                    job_file(run, &file, name)?;
                }
            }
            Ok(other) => {
                let shown = run.display(&e.path);
                run.out.warn(format!(
                    "{shown}: {other:?}, not a regular .job file; skipped"
                ));
            }
            Err(err) => {
                let shown = run.display(&e.path);
                run.out
                    .warn(format!("{shown}: cannot stat, skipped: {err}"));
            }
        }
    }
    Ok(())
}

fn job_file(run: &mut Run, file: &Ingested, name: String) -> Result<(), CollectError> {
    let mut rec = ScheduledTaskRecord::new(ScheduledKind::WindowsJob, name, file.display.clone());
    file.fill(&mut rec);
    match parse_job(&file.outcome.kept) {
        Ok(job) => {
            fill_from_job(run, &mut rec, job);
            if let Some(why) = file.incomplete() {
                rec.parse_status = ParseStatus::Partial;
                rec.parse_error = Some(why.clone());
                run.out.error(why);
            }
        }
        Err(e) => {
            match e.partial() {
                Some(job) => {
                    fill_from_job(run, &mut rec, job.clone());
                    rec.parse_status = ParseStatus::Partial;
                    run.out.error(format!(
                        "{}: damaged .job file, recorded what it would run: {e}",
                        file.display
                    ));
                }
                None => {
                    rec.parse_status = ParseStatus::Failed;
                    rec.schedule = "unknown (file not parsed)".into();
                    run.out.error(format!(
                        "{}: not a readable .job file (copied and hashed): {e}",
                        file.display
                    ));
                }
            }
            rec.parse_error = Some(e.to_string());
        }
    }
    run.emit(rec)
}

fn fill_from_job(run: &Run, rec: &mut ScheduledTaskRecord, job: JobFile) {
    let max = run.field_max();
    rec.enabled = Some(!job.is_disabled());
    rec.hidden = Some(job.is_hidden());
    rec.author = job.author.clone();
    rec.description = job.comment.clone();
    rec.triggers = job.triggers.iter().map(job_trigger).collect();
    rec.schedule = if rec.triggers.is_empty() {
        "no triggers".into()
    } else {
        job.triggers
            .iter()
            .map(job_summary)
            .collect::<Vec<_>>()
            .join("; ")
    };
    if job.application_name.is_some() {
        let (command, cut1) = clip(job.application_name.as_deref().unwrap_or(""), max);
        let (line, cut2) = clip(&job.command_line(), max);
        rec.actions.push(ScheduledAction {
            kind: ActionKind::Exec,
            command,
            arguments: job.parameters.clone().filter(|p| !p.is_empty()),
            working_directory: job.working_directory.clone().filter(|w| !w.is_empty()),
            command_line: line,
            argv: Vec::new(),
            shell: None,
            stdin: None,
            data: None,
            truncated: cut1 || cut2,
        });
    }
    rec.warnings = job.warnings.iter().take(MAX_WARNINGS).cloned().collect();
    rec.windows_job = Some(Box::new(job));
}

fn job_trigger(t: &JobTrigger) -> ScheduledTrigger {
    let ty = match &t.trigger_type {
        JobTriggerType::Once => TriggerType::Time,
        JobTriggerType::Daily
        | JobTriggerType::Weekly
        | JobTriggerType::MonthlyDate
        | JobTriggerType::MonthlyDayOfWeek => TriggerType::Calendar,
        JobTriggerType::OnIdle => TriggerType::Idle,
        JobTriggerType::AtSystemStart => TriggerType::Boot,
        JobTriggerType::AtLogon => TriggerType::Logon,
        JobTriggerType::Other(n) => TriggerType::Other(format!("job trigger type {n}")),
    };
    let mut o = ScheduledTrigger::new(ty);
    o.expression = job_expression(t);
    o.start = match (t.begin_date, t.start_time) {
        (Some(d), Some(tm)) => Some(format!("{d}T{tm}")),
        (Some(d), None) => Some(d.to_string()),
        _ => None,
    };
    if t.flag_names.iter().any(|f| f == "has_end_date") {
        o.end = t.end_date.map(|d| d.to_string());
    }
    if t.interval_minutes > 0 {
        o.repetition_interval = Some(format!("{} min", t.interval_minutes));
        o.repetition_duration = Some(format!("{} min", t.duration_minutes));
    }
    o.enabled = Some(!t.flag_names.iter().any(|f| f == "disabled"));
    o
}

fn job_expression(t: &JobTrigger) -> Option<String> {
    match &t.trigger_type {
        JobTriggerType::Daily => Some(format!("every {} day(s)", t.days_interval.unwrap_or(1))),
        JobTriggerType::Weekly => Some(format!(
            "every {} week(s) on {}",
            t.weeks_interval.unwrap_or(1),
            t.days_of_week.join(",")
        )),
        JobTriggerType::MonthlyDate => Some(format!(
            "monthly on day(s) {} of {}",
            t.days_of_month
                .iter()
                .map(u8::to_string)
                .collect::<Vec<_>>()
                .join(","),
            t.months.join(",")
        )),
        JobTriggerType::MonthlyDayOfWeek => Some(format!(
            "monthly in week {} on {} of {}",
            t.which_week.map(|w| w.to_string()).unwrap_or_default(),
            t.days_of_week.join(","),
            t.months.join(",")
        )),
        _ => None,
    }
}

fn job_summary(t: &JobTrigger) -> String {
    let start = match (t.begin_date, t.start_time) {
        (Some(d), Some(tm)) => format!("{d}T{tm}"),
        _ => String::new(),
    };
    let mut s = match &t.trigger_type {
        JobTriggerType::Once => format!("once at {start}"),
        JobTriggerType::OnIdle => "when idle".into(),
        JobTriggerType::AtSystemStart => "at boot".into(),
        JobTriggerType::AtLogon => "at logon".into(),
        JobTriggerType::Other(n) => format!("trigger type {n}"),
        _ => format!(
            "{} from {start}",
            job_expression(t).unwrap_or_else(|| "calendar".into())
        ),
    };
    if t.interval_minutes > 0 {
        s.push_str(&format!(", repeating every {} min", t.interval_minutes));
    }
    s
}
