//! Windows: Task Scheduler XML under `C:\Windows\System32\Tasks` (any depth, no extension:
//! the folder path is the task's path) and legacy `.job` files under `C:\Windows\Tasks`.
//! Every file is copied; a file that does not parse is still recorded (and is one error).

use super::{Run, clip};
use crate::collectors::CollectError;
use crate::parsers::task_xml::{
    CalendarSchedule, ScheduleKind, TaskAction, TaskDefinition, Trigger, TriggerKind,
    exec_command_line, parse_task_xml,
};
use crate::record::{
    ActionKind, ParseStatus, ScheduledAction, ScheduledKind, ScheduledTaskRecord, ScheduledTrigger,
    TriggerType,
};
use crate::source::FileType;
use std::path::{Path, PathBuf};

const TASKS_DIR: &str = "/Windows/System32/Tasks";
/// Real task trees are 4-5 folders deep; a deeper tree is hostile or a loop we must not chase.
const MAX_DEPTH: usize = 32;

pub(super) fn collect(run: &mut Run) -> Result<(), CollectError> {
    let root = PathBuf::from(TASKS_DIR);
    walk(run, &root, &mut Vec::new())
}

/// Depth-first walk; `rel` is the task folder path below `Tasks` (the task's name parts).
fn walk(run: &mut Run, dir: &Path, rel: &mut Vec<String>) -> Result<(), CollectError> {
    let Some(entries) = run.list_dir(dir) else {
        return Ok(());
    };
    for e in entries {
        if run.stopped() {
            return Ok(());
        }
        let name = e.name.to_string_lossy().into_owned();
        let meta = match &e.meta {
            Ok(m) => m,
            Err(err) => {
                let shown = run.display(&e.path);
                run.out
                    .warn(format!("{shown}: cannot stat, skipped: {err}"));
                continue;
            }
        };
        match meta.file_type {
            FileType::Directory => {
                if rel.len() >= MAX_DEPTH {
                    let shown = run.display(&e.path);
                    run.out.cut(format!(
                        "{shown}: task folders nested deeper than {MAX_DEPTH}; not descended"
                    ));
                    continue;
                }
                rel.push(name);
                walk(run, &e.path, rel)?;
                rel.pop();
            }
            FileType::Regular => {
                rel.push(name);
                let task_name = format!("\\{}", rel.join("\\"));
                rel.pop();
                task_file(run, &e.path, task_name)?;
            }
            other => {
                // Symlinks and junctions are not followed: a task file is never one, and a
                // link could lead the walk out of the tree or round in a loop.
                let shown = run.display(&e.path);
                run.out
                    .warn(format!("{shown}: {other:?} in the task tree, not followed"));
            }
        }
    }
    Ok(())
}

fn task_file(run: &mut Run, logical: &Path, task_name: String) -> Result<(), CollectError> {
    let Some(file) = run.ingest(logical)? else {
        return Ok(());
    };
    let mut rec =
        ScheduledTaskRecord::new(ScheduledKind::WindowsTask, task_name, file.display.clone());
    file.fill(&mut rec);
    let incomplete = file.incomplete();
    match parse_task_xml(&file.outcome.kept) {
        Ok(def) => {
            fill_from_definition(run, &mut rec, def);
            if let Some(why) = incomplete {
                rec.parse_status = ParseStatus::Partial;
                rec.parse_error = Some(why.clone());
                run.out.error(why);
            }
        }
        Err(e) => {
            let msg = match &incomplete {
                Some(why) => format!("{e} ({why})"),
                None => e.to_string(),
            };
            match e.partial() {
                Some(def) => {
                    fill_from_definition(run, &mut rec, def.clone());
                    rec.parse_status = ParseStatus::Partial;
                    run.out.error(format!(
                        "{}: damaged task file, recorded what it would run: {msg}",
                        file.display
                    ));
                }
                None => {
                    rec.parse_status = ParseStatus::Failed;
                    rec.schedule = "unknown (file not parsed)".into();
                    run.out.error(format!(
                        "{}: not a readable task definition (copied and hashed): {msg}",
                        file.display
                    ));
                }
            }
            rec.parse_error = Some(msg);
        }
    }
    run.emit(rec)
}

fn fill_from_definition(run: &Run, rec: &mut ScheduledTaskRecord, def: TaskDefinition) {
    let max = run.field_max();
    if let Some(p) = def.effective_principal() {
        rec.run_as = p
            .user_id
            .clone()
            .or_else(|| p.group_id.clone())
            .or_else(|| p.display_name.clone());
    }
    // Schema defaults when the element is absent: Enabled=true, Hidden=false. The raw
    // (absent vs explicit) values stay in `windows_task.settings`.
    rec.enabled = Some(def.settings.enabled.unwrap_or(true));
    rec.hidden = Some(def.settings.hidden.unwrap_or(false));
    rec.triggers = def.triggers.iter().map(trigger).collect();
    rec.schedule = summarize(&def.triggers);
    rec.actions = def.actions.iter().map(|a| action(a, max)).collect();
    let ri = &def.registration_info;
    rec.author = ri.author.clone();
    rec.description = ri.description.clone();
    rec.uri = ri.uri.clone();
    if let Some(d) = &ri.date {
        rec.registration_date = Some(d.raw.clone());
        rec.registration_date_utc = d.utc;
    }
    rec.warnings = def
        .warnings
        .iter()
        .take(super::MAX_WARNINGS)
        .cloned()
        .collect();
    if def.warnings.len() > super::MAX_WARNINGS {
        rec.warnings.push(format!(
            "{} more parser warnings not kept",
            def.warnings.len() - super::MAX_WARNINGS
        ));
    }
    rec.windows_task = Some(Box::new(def));
}

fn trigger_type(k: &TriggerKind) -> TriggerType {
    match k {
        TriggerKind::Time => TriggerType::Time,
        TriggerKind::Calendar => TriggerType::Calendar,
        TriggerKind::Boot => TriggerType::Boot,
        TriggerKind::Logon => TriggerType::Logon,
        TriggerKind::Idle => TriggerType::Idle,
        TriggerKind::Event => TriggerType::Event,
        TriggerKind::Registration => TriggerType::Registration,
        TriggerKind::SessionStateChange => TriggerType::SessionStateChange,
        TriggerKind::WnfStateChange => TriggerType::WnfStateChange,
        TriggerKind::Other(s) => TriggerType::Other(s.clone()),
    }
}

fn calendar_expression(s: &CalendarSchedule) -> String {
    let list = |v: &[String]| v.join(",");
    match s.kind {
        ScheduleKind::ByDay => format!("every {} day(s)", s.days_interval.unwrap_or(1)),
        ScheduleKind::ByWeek => format!(
            "every {} week(s) on {}",
            s.weeks_interval.unwrap_or(1),
            list(&s.days_of_week)
        ),
        ScheduleKind::ByMonth => format!(
            "monthly on day(s) {} of {}",
            list(&s.days_of_month),
            if s.months.is_empty() {
                "every month".to_string()
            } else {
                list(&s.months)
            }
        ),
        ScheduleKind::ByMonthDayOfWeek => format!(
            "monthly in week(s) {} on {} of {}",
            list(&s.weeks),
            list(&s.days_of_week),
            if s.months.is_empty() {
                "every month".to_string()
            } else {
                list(&s.months)
            }
        ),
    }
}

fn trigger(t: &Trigger) -> ScheduledTrigger {
    let mut o = ScheduledTrigger::new(trigger_type(&t.kind));
    o.expression = t.schedule.as_ref().map(calendar_expression);
    o.start = t.start_boundary.as_ref().map(|s| s.raw.clone());
    o.start_utc = t.start_boundary.as_ref().and_then(|s| s.utc);
    o.end = t.end_boundary.as_ref().map(|s| s.raw.clone());
    o.delay = t.delay.clone();
    o.random_delay = t.random_delay.clone();
    if let Some(r) = &t.repetition {
        o.repetition_interval = r.interval.clone();
        o.repetition_duration = r.duration.clone();
    }
    o.enabled = t.enabled;
    o.user = t.user_id.clone();
    o.condition = t
        .subscription
        .clone()
        .or_else(|| t.state_change.clone())
        .or_else(|| t.wnf_state_name.clone());
    o
}

fn summarize_one(t: &Trigger) -> String {
    let mut s = match &t.kind {
        TriggerKind::Time => match &t.start_boundary {
            Some(b) => format!("once at {}", b.raw),
            None => "once".to_string(),
        },
        TriggerKind::Calendar => {
            let expr = t
                .schedule
                .as_ref()
                .map(calendar_expression)
                .unwrap_or_else(|| "calendar".into());
            match &t.start_boundary {
                Some(b) => format!("{expr} from {}", b.raw),
                None => expr,
            }
        }
        TriggerKind::Boot => "at boot".into(),
        TriggerKind::Logon => match &t.user_id {
            Some(u) => format!("at logon of {u}"),
            None => "at logon of any user".into(),
        },
        TriggerKind::Idle => "when the computer is idle".into(),
        TriggerKind::Event => "on an event-log event".into(),
        TriggerKind::Registration => "when registered or updated".into(),
        TriggerKind::SessionStateChange => format!(
            "on session {}",
            t.state_change.as_deref().unwrap_or("state change")
        ),
        TriggerKind::WnfStateChange => "on a WNF state change".into(),
        TriggerKind::Other(n) => format!("on {n}"),
    };
    if let Some(d) = &t.delay {
        s.push_str(&format!(", delayed {d}"));
    }
    if let Some(r) = &t.repetition
        && let Some(i) = &r.interval
    {
        s.push_str(&format!(", repeating every {i}"));
        if let Some(d) = &r.duration {
            s.push_str(&format!(" for {d}"));
        }
    }
    if t.enabled == Some(false) {
        s.push_str(" (trigger disabled)");
    }
    s
}

fn summarize(triggers: &[Trigger]) -> String {
    if triggers.is_empty() {
        return "no triggers (runs on demand or from another task)".into();
    }
    triggers
        .iter()
        .map(summarize_one)
        .collect::<Vec<_>>()
        .join("; ")
}

fn action(a: &TaskAction, max: usize) -> ScheduledAction {
    let mut o = ScheduledAction {
        kind: ActionKind::Other,
        command: String::new(),
        arguments: None,
        working_directory: None,
        command_line: String::new(),
        argv: Vec::new(),
        shell: None,
        stdin: None,
        data: None,
        truncated: false,
    };
    match a {
        TaskAction::Exec {
            command,
            arguments,
            working_directory,
            ..
        } => {
            o.kind = ActionKind::Exec;
            let (c, cut1) = clip(command, max);
            let (l, cut2) = clip(&exec_command_line(a), max);
            o.command = c;
            o.command_line = l;
            o.arguments = arguments.as_deref().map(|s| clip(s, max).0);
            o.working_directory = working_directory.clone();
            o.truncated = cut1 || cut2;
        }
        TaskAction::ComHandler { class_id, data, .. } => {
            // What runs is the COM server registered for this CLSID (in the registry, not
            // here); the CLSID is the handle a rule or an analyst looks up.
            o.kind = ActionKind::ComHandler;
            o.command = class_id.clone();
            o.command_line = class_id.clone();
            o.data = data.as_deref().map(|s| clip(s, max).0);
        }
        TaskAction::SendEmail {
            to,
            server,
            subject,
            ..
        } => {
            o.kind = ActionKind::SendEmail;
            o.command = format!(
                "send e-mail to {} via {}",
                to.as_deref().unwrap_or("?"),
                server.as_deref().unwrap_or("?")
            );
            o.data = subject.clone();
        }
        TaskAction::ShowMessage { title, body, .. } => {
            o.kind = ActionKind::ShowMessage;
            o.command = format!("show message {:?}", title.as_deref().unwrap_or(""));
            o.data = body.as_deref().map(|s| clip(s, max).0);
        }
        TaskAction::Other { element, .. } => {
            o.command = element.clone();
        }
    }
    o
}
