//! Which timestamped facts each record type holds, and how they read in a timeline.

use super::{LOCAL_SUFFIX, TimelineEntry, format_datetime};
use crate::collectors::CollectorId;
use crate::parsers::exec_events::ExecEvent;
use crate::parsers::powershell::PsEventKind;
use crate::parsers::task_xml::{TaskTime, exec_command_line, parse_task_xml};
use crate::record::{
    ExecutionEventRecord, HistoryRecord, PowershellRecord, ProcessRecord, ScheduledKind,
    ScheduledTaskRecord, TempFileRecord, Timestamp, TriggerType,
};
use chrono::NaiveDateTime;
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::collections::{HashMap, HashSet};

/// Longest command line or script excerpt quoted in a `message` (the full value is in its
/// own field).
const MESSAGE_EXCERPT: usize = 200;

/// Seconds from 1970 back to 1601-01-01, the FILETIME epoch: a time at or before it is a
/// zeroed field ("never"), not a moment.
const FILETIME_EPOCH_SECS: i64 = -11_644_473_600;

/// Where a record sits in the archive.
pub(super) struct At<'a> {
    pub collector: CollectorId,
    pub member: &'a str,
    pub line: u64,
}

/// What one pass over a records member remembers between lines.
#[derive(Default)]
pub(super) struct State {
    /// Source files whose modification time is already in the timeline (one line per
    /// crontab, not one per cron line).
    files_seen: HashSet<String>,
    /// PSReadLine history file → index of its "last written" entry, moved along to the
    /// file's last command as the lines go by.
    psreadline: HashMap<String, usize>,
}

fn parse<T: DeserializeOwned>(line: &[u8]) -> Result<T, serde_json::Error> {
    serde_json::from_slice(line)
}

/// Append the facts of one record line to `out`.
pub(super) fn record_facts(
    at: &At,
    line: &[u8],
    state: &mut State,
    out: &mut Vec<TimelineEntry>,
) -> Result<(), serde_json::Error> {
    match at.collector {
        CollectorId::Processes => process(at, &parse(line)?, out),
        // Sockets carry no time.
        CollectorId::Network => {}
        CollectorId::TempScripts => temp_file(at, &parse(line)?, out),
        CollectorId::ExecutionEvents => {
            if let ExecutionEventRecord::Event(ev) = parse(line)? {
                exec_event(at, &ev.event, &ev.source.source_path, out);
            }
        }
        CollectorId::PowershellLogs => powershell(at, parse(line)?, state, out),
        CollectorId::ShellHistory => history(at, &parse(line)?, out),
        CollectorId::ScheduledTasks => scheduled(at, &parse(line)?, state, out),
    }
    Ok(())
}

fn usable(t: &Timestamp) -> bool {
    t.timestamp() > FILETIME_EPOCH_SECS
}

fn entry(at: &At, t: &Timestamp, desc: &str, kind: &str, message: String) -> TimelineEntry {
    TimelineEntry {
        message,
        datetime: format_datetime(t),
        timestamp: t.timestamp_micros(),
        timestamp_desc: desc.to_string(),
        collector: at.collector.as_str().to_string(),
        record_member: at.member.to_string(),
        record_line: at.line,
        record_kind: Some(kind.to_string()),
        ..TimelineEntry::default()
    }
}

/// A fact whose source wrote local wall-clock time without an offset.
fn local_entry(
    at: &At,
    wall: NaiveDateTime,
    raw: &str,
    desc: &str,
    kind: &str,
    message: String,
) -> TimelineEntry {
    let mut e = entry(
        at,
        &wall.and_utc(),
        &format!("{desc}{LOCAL_SUFFIX}"),
        kind,
        message,
    );
    e.local_time = Some(raw.to_string());
    e
}

/// One line of at most `max` characters: whitespace runs (newlines included) become one
/// space, so a message never breaks a line-oriented viewer.
pub(super) fn excerpt(s: &str, max: usize) -> String {
    let mut out = String::new();
    let mut n = 0;
    for word in s.split_whitespace() {
        if n > 0 {
            out.push(' ');
            n += 1;
        }
        for c in word.chars() {
            if n >= max {
                out.push('…');
                return out;
            }
            // Other control characters (ESC...) are made visible, not passed to a terminal.
            if c.is_control() {
                out.push('\u{fffd}');
            } else {
                out.push(c);
            }
            n += 1;
        }
    }
    out
}

/// `": <excerpt>"`, or nothing when the text is empty.
fn suffix(s: Option<&str>) -> String {
    match s.map(str::trim) {
        Some(t) if !t.is_empty() => format!(": {}", excerpt(t, MESSAGE_EXCERPT)),
        _ => String::new(),
    }
}

fn some_text(s: &str) -> Option<String> {
    (!s.trim().is_empty()).then(|| s.to_string())
}

/// The serde name of a unit enum variant (`ImageKind::Memfd` → `memfd`).
fn tag<T: Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        Ok(serde_json::Value::Object(m)) => m.keys().next().cloned().unwrap_or_default(),
        _ => String::new(),
    }
}

fn process(at: &At, p: &ProcessRecord, out: &mut Vec<TimelineEntry>) {
    let Some(t) = p.start_time.filter(usable) else {
        return;
    };
    let mut e = entry(
        at,
        &t,
        "Process Start",
        "process",
        format!(
            "Process started: {} (pid {}){}",
            excerpt(&p.name, 64),
            p.pid,
            suffix(Some(&p.command_line))
        ),
    );
    e.pid = Some(p.pid);
    e.ppid = p.ppid;
    e.process_name = some_text(&p.name);
    e.image = p.image_path.clone();
    e.command_line = some_text(&p.command_line);
    e.parent_image = p.ancestry.first().and_then(|a| a.image_path.clone());
    e.user = p.user.clone();
    e.user_sid = p.user_sid.clone();
    e.sha256 = p.image_sha256.map(|h| h.to_hex());
    e.size = p.image_size;
    out.push(e);
}

fn temp_file(at: &At, f: &TempFileRecord, out: &mut Vec<TimelineEntry>) {
    let detected = tag(&f.detected_type);
    for (time, desc, verb) in [
        (f.btime, "File Created", "created"),
        (f.mtime, "File Modified", "modified"),
        (f.ctime, "Inode Changed", "inode changed"),
        (f.atime, "File Accessed", "accessed"),
    ] {
        let Some(t) = time.filter(usable) else {
            continue;
        };
        let mut e = entry(
            at,
            &t,
            desc,
            "temp_file",
            format!(
                "Staged file {verb}: {} ({detected})",
                excerpt(&f.path, MESSAGE_EXCERPT)
            ),
        );
        e.path = Some(f.path.clone());
        e.sha256 = f.sha256.map(|h| h.to_hex());
        e.size = Some(f.size);
        e.file_type = Some(detected.clone());
        e.user = f.owner.clone().or_else(|| f.user.clone());
        out.push(e);
    }
}

/// `DOMAIN\name`, `name`, or nothing for the empty and `-` placeholders Windows logs.
fn account(domain: Option<&String>, name: Option<&String>) -> Option<String> {
    let name = name
        .map(|s| s.trim())
        .filter(|s| !s.is_empty() && *s != "-")?;
    match domain
        .map(|s| s.trim())
        .filter(|s| !s.is_empty() && *s != "-")
    {
        Some(d) => Some(format!("{d}\\{name}")),
        None => Some(name.to_string()),
    }
}

/// The first action's command line of task XML logged in an event (4698/4702).
fn task_content_command(xml: &str) -> Option<String> {
    let def = match parse_task_xml(xml.as_bytes()) {
        Ok(d) => d,
        Err(e) => e.partial()?.clone(),
    };
    def.actions
        .iter()
        .map(exec_command_line)
        .find(|c| !c.is_empty())
}

fn exec_event(at: &At, ev: &ExecEvent, source_path: &str, out: &mut Vec<TimelineEntry>) {
    let header = match ev {
        ExecEvent::SysmonProcessCreate(s) => &s.header,
        ExecEvent::SysmonNetworkConnect(s) => &s.header,
        ExecEvent::SysmonFileCreate(s) => &s.header,
        ExecEvent::SecurityProcessCreate(s) => &s.header,
        ExecEvent::SecurityTask(s) => &s.header,
        ExecEvent::SecurityServiceInstall(s) => &s.header,
        ExecEvent::TaskSchedulerOp(s) => &s.header,
    };
    let Some(t) = header.time.filter(usable) else {
        return;
    };
    let id = header.event_id;
    let (kind, message) = match ev {
        ExecEvent::SysmonProcessCreate(s) => (
            "sysmon_process_create",
            format!(
                "Process created (Sysmon {id}): {}{}{}",
                s.image.as_deref().unwrap_or("?"),
                s.process_id
                    .map(|p| format!(" (pid {p})"))
                    .unwrap_or_default(),
                suffix(s.command_line.as_deref())
            ),
        ),
        ExecEvent::SysmonNetworkConnect(s) => {
            let (addr, port) = if s.initiated == Some(false) {
                (&s.source_ip, s.source_port)
            } else {
                (&s.destination_ip, s.destination_port)
            };
            (
                "sysmon_network_connect",
                format!(
                    "Network connection (Sysmon {id}): {} with {}:{}",
                    s.image.as_deref().unwrap_or("?"),
                    addr.as_deref().unwrap_or("?"),
                    port.map(|p| p.to_string()).unwrap_or_else(|| "?".into())
                ),
            )
        }
        ExecEvent::SysmonFileCreate(s) => (
            "sysmon_file_create",
            format!(
                "File created (Sysmon {id}): {} by {}",
                s.target_filename.as_deref().unwrap_or("?"),
                s.image.as_deref().unwrap_or("?")
            ),
        ),
        ExecEvent::SecurityProcessCreate(s) => (
            "security_process_create",
            format!(
                "Process created ({id}): {}{}{}",
                s.new_process_name.as_deref().unwrap_or("?"),
                s.new_process_id
                    .map(|p| format!(" (pid {p})"))
                    .unwrap_or_default(),
                suffix(s.command_line.as_deref())
            ),
        ),
        ExecEvent::SecurityTask(s) => (
            "security_task",
            format!(
                "Scheduled task {} ({id}): {}{}",
                tag(&s.action),
                s.task_name.as_deref().unwrap_or("?"),
                account(s.subject_domain_name.as_ref(), s.subject_user_name.as_ref())
                    .map(|u| format!(" by {u}"))
                    .unwrap_or_default()
            ),
        ),
        ExecEvent::SecurityServiceInstall(s) => (
            "security_service_install",
            format!(
                "Service installed ({id}): {}{}",
                s.service_name.as_deref().unwrap_or("?"),
                suffix(s.service_file_name.as_deref())
            ),
        ),
        ExecEvent::TaskSchedulerOp(s) => (
            "task_scheduler_op",
            format!(
                "Task Scheduler {id} {}: {}{}",
                tag(&s.operation).replace('_', " "),
                s.task_name.as_deref().unwrap_or("?"),
                suffix(s.path.as_deref().or(s.action_name.as_deref()))
            ),
        ),
    };
    let mut e = entry(at, &t, "Event Logged", kind, message);
    e.computer = some_text(&header.computer);
    e.event_id = Some(id);
    e.event_record_id = Some(header.record_id);
    e.channel = some_text(&header.channel);
    e.user_sid = header.user_sid.clone();
    e.source_path = some_text(source_path);
    match ev {
        ExecEvent::SysmonProcessCreate(s) => {
            e.pid = s.process_id;
            e.ppid = s.parent_process_id;
            e.image = s.image.clone();
            e.command_line = s.command_line.clone();
            e.parent_image = s.parent_image.clone();
            e.parent_command_line = s.parent_command_line.clone();
            e.process_guid = s.process_guid.clone();
            e.user = s.user.clone();
            e.sha256 = s.hashes.get("SHA256").map(|h| h.to_ascii_lowercase());
        }
        ExecEvent::SysmonNetworkConnect(s) => {
            e.pid = s.process_id;
            e.image = s.image.clone();
            e.process_guid = s.process_guid.clone();
            e.user = s.user.clone();
            if s.initiated == Some(false) {
                e.remote_address = s.source_ip.clone();
                e.remote_port = s.source_port;
            } else {
                e.remote_address = s.destination_ip.clone();
                e.remote_port = s.destination_port;
            }
        }
        ExecEvent::SysmonFileCreate(s) => {
            e.pid = s.process_id;
            e.image = s.image.clone();
            e.process_guid = s.process_guid.clone();
            e.user = s.user.clone();
            e.path = s.target_filename.clone();
        }
        ExecEvent::SecurityProcessCreate(s) => {
            e.pid = s.new_process_id;
            e.ppid = s.creator_process_id;
            e.image = s.new_process_name.clone();
            e.command_line = s.command_line.clone().filter(|c| !c.trim().is_empty());
            e.parent_image = s.parent_process_name.clone();
            // The new process's account when logged (Windows 10+), else its creator's.
            e.user = account(s.target_domain_name.as_ref(), s.target_user_name.as_ref())
                .or_else(|| account(s.subject_domain_name.as_ref(), s.subject_user_name.as_ref()));
            e.user_sid = s
                .target_user_sid
                .clone()
                .filter(|x| x != "S-1-0-0")
                .or_else(|| s.subject_user_sid.clone());
        }
        ExecEvent::SecurityTask(s) => {
            e.task_name = s.task_name.clone();
            e.user = account(s.subject_domain_name.as_ref(), s.subject_user_name.as_ref());
            e.user_sid = s.subject_user_sid.clone().or(e.user_sid);
            e.pid = s.client_process_id;
            e.ppid = s.parent_process_id;
            e.command_line = s.task_content.as_deref().and_then(task_content_command);
        }
        ExecEvent::SecurityServiceInstall(s) => {
            e.service_name = s.service_name.clone();
            e.command_line = s.service_file_name.clone();
            e.user = account(s.subject_domain_name.as_ref(), s.subject_user_name.as_ref());
            e.user_sid = s.subject_user_sid.clone().or(e.user_sid);
        }
        ExecEvent::TaskSchedulerOp(s) => {
            e.task_name = s.task_name.clone();
            e.user = s.user_context.clone().or_else(|| s.user_name.clone());
            e.pid = s.process_id;
            e.image = s.path.clone();
        }
    }
    out.push(e);
}

fn powershell(at: &At, rec: PowershellRecord, state: &mut State, out: &mut Vec<TimelineEntry>) {
    match rec {
        PowershellRecord::Event(r) => {
            let ev = &r.event;
            // 4104 parts are in the timeline through their reassembled block; 600 (provider
            // started) comes six at a time with every 400 and says nothing more.
            if matches!(
                ev.kind,
                PsEventKind::ScriptBlock | PsEventKind::ProviderStart
            ) {
                return;
            }
            let Some(t) = ev.time.filter(usable) else {
                return;
            };
            let id = ev.event_id;
            let message = match ev.kind {
                PsEventKind::ModuleLogging => format!(
                    "PowerShell module logging ({id}){}",
                    suffix(ev.command_name.as_deref().or(ev.payload.as_deref()))
                ),
                PsEventKind::PipelineExecution => format!(
                    "PowerShell pipeline executed ({id}){}",
                    suffix(ev.pipeline_text.as_deref().or(ev.command_line.as_deref()))
                ),
                PsEventKind::EngineStart => format!(
                    "PowerShell engine started ({id}){}",
                    suffix(ev.host_application.as_deref())
                ),
                PsEventKind::EngineStop => format!(
                    "PowerShell engine stopped ({id}){}",
                    suffix(ev.host_application.as_deref())
                ),
                PsEventKind::Error => format!(
                    "PowerShell error ({id}){}",
                    suffix(ev.message.as_deref().or(ev.payload.as_deref()))
                ),
                _ => format!("PowerShell session event ({id})"),
            };
            let mut e = entry(at, &t, "Event Logged", &tag(&ev.kind), message);
            e.computer = some_text(&ev.computer);
            e.event_id = Some(id);
            e.event_record_id = Some(ev.record_id);
            e.channel = some_text(&ev.channel);
            e.pid = ev.process_id;
            e.user = ev.user.clone();
            e.user_sid = ev.user_sid.clone();
            e.command_line = ev.host_application.clone();
            e.path = ev.script_name.clone().filter(|s| !s.trim().is_empty());
            e.source_path = some_text(&r.source.source_path);
            out.push(e);
        }
        PowershellRecord::ScriptBlock(r) => {
            let b = &r.block;
            let Some(t) = b.first_time.filter(usable) else {
                return;
            };
            let parts = match b.parts_expected {
                Some(n) if n > 1 || !b.complete => format!(
                    ", {} of {n} parts{}",
                    b.parts_present.len(),
                    if b.complete { "" } else { ", incomplete" }
                ),
                _ => String::new(),
            };
            let mut e = entry(
                at,
                &t,
                "Script Block Logged",
                "script_block",
                format!(
                    "PowerShell script block logged ({} chars{parts}){}{}",
                    r.text_chars,
                    b.path
                        .as_deref()
                        .map(|p| format!(" from {}", excerpt(p, MESSAGE_EXCERPT)))
                        .unwrap_or_default(),
                    suffix(Some(&b.text))
                ),
            );
            e.computer = some_text(&b.computer);
            e.event_id = Some(4104);
            e.event_record_id = Some(b.first_record_id);
            e.pid = b.process_id;
            e.user_sid = b.user_sid.clone();
            e.path = b.path.clone();
            e.sha256 = Some(r.text_sha256.to_hex());
            e.script_block_id = Some(b.script_block_id.clone());
            e.source_path = some_text(&r.source.source_path);
            out.push(e);
        }
        PowershellRecord::Psreadline(r) => {
            let Some(t) = r.file_modified.filter(usable) else {
                return;
            };
            let message = format!(
                "PSReadLine history of {} ({}) last written; last command{}",
                r.user,
                r.host,
                suffix(Some(&r.command))
            );
            let key = r.source.source_path.clone();
            if let Some(&i) = state.psreadline.get(&key)
                && let Some(e) = out.get_mut(i)
            {
                e.record_line = at.line;
                e.message = message;
                e.command_line = some_text(&r.command);
                return;
            }
            let mut e = entry(at, &t, "File Modified", "psreadline", message);
            e.user = some_text(&r.user);
            e.command_line = some_text(&r.command);
            e.path = some_text(&r.source.source_path);
            e.sha256 = r.source.source_sha256.map(|h| h.to_hex());
            e.source_path = some_text(&r.source.source_path);
            state.psreadline.insert(key, out.len());
            out.push(e);
        }
        PowershellRecord::LogFile(_) => {}
    }
}

fn history(at: &At, h: &HistoryRecord, out: &mut Vec<TimelineEntry>) {
    let Some(t) = h.timestamp.filter(usable) else {
        return;
    };
    let shell = tag(&h.shell);
    let mut e = entry(
        at,
        &t,
        "Command Executed",
        &shell,
        format!(
            "{shell} command by {}{}",
            excerpt(&h.user, 64),
            suffix(Some(&h.command))
        ),
    );
    e.user = some_text(&h.user);
    e.command_line = some_text(&h.command);
    e.shell = Some(shell);
    e.source_path = some_text(&h.file);
    out.push(e);
}

/// `"Registration"`, `"Time"`, or the native name of an unknown trigger.
fn trigger_name(t: &TriggerType) -> String {
    match t {
        TriggerType::Other(s) => s.clone(),
        other => tag(other),
    }
}

fn scheduled(at: &At, r: &ScheduledTaskRecord, state: &mut State, out: &mut Vec<TimelineEntry>) {
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
