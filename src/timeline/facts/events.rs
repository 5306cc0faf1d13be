//! Event-log facts: Sysmon, Security and Task Scheduler events (`execution_events`), and
//! PowerShell events, script blocks and PSReadLine files (`powershell_logs`).

use super::{At, MESSAGE_EXCERPT, State, entry, excerpt, some_text, suffix, tag, usable};
use crate::parsers::exec_events::ExecEvent;
use crate::parsers::powershell::PsEventKind;
use crate::parsers::task_xml::{exec_command_line, parse_task_xml};
use crate::record::PowershellRecord;
use crate::timeline::TimelineEntry;
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

pub(super) fn exec_event(at: &At, ev: &ExecEvent, source_path: &str, out: &mut Vec<TimelineEntry>) {
    let header = ev.header();
    let Some(t) = header.time.filter(usable) else {
        return;
    };
    let id = header.event_id;
    // The System part every row carries.
    let logged = |kind: &str, message: String| {
        let mut e = entry(at, &t, "Event Logged", kind, message);
        e.computer = some_text(&header.computer);
        e.event_id = Some(id);
        e.event_record_id = Some(header.record_id);
        e.channel = some_text(&header.channel);
        e.user_sid = header.user_sid.clone();
        e.source_path = some_text(source_path);
        e
    };
    if let Some(facts) = ev.context_facts() {
        let mut e = logged(facts.kind, facts.message);
        e.pid = facts.pid;
        e.image = ev.image().map(str::to_string);
        e.user = ev.user().map(str::to_string);
        e.path = facts.path;
        e.command_line = facts.command_line;
        e.process_guid = facts.process_guid;
        out.push(e);
        return;
    }
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
        // Described by `context_facts` above.
        _ => return,
    };
    let mut e = logged(kind, message);
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
            e.sha256 = s.hashes.get("sha256").cloned();
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
        _ => {}
    }
    out.push(e);
}

pub(super) fn powershell(
    at: &At,
    rec: &PowershellRecord,
    state: &mut State,
    out: &mut Vec<TimelineEntry>,
) {
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
                && let Some(e) = state.pending.get_mut(i)
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
            state.psreadline.insert(key, state.pending.len());
            state.pending.push(e);
        }
        PowershellRecord::LogFile(_) => {}
    }
}
