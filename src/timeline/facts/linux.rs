//! Linux log facts: audit events (`audit_logs`), syslog text facts (`auth_logs`), journal
//! entries (`journal`) and preloaded libraries (`preload`). A year-less syslog time is local
//! wall-clock time: it goes on the timeline as such (`local_time`, "(local time, offset
//! unknown)"), never as UTC.

use super::{At, MESSAGE_EXCERPT, entry, excerpt, local_entry, some_text, suffix, tag, usable};
use crate::parsers::auditd::AuditKind;
use crate::parsers::syslog::LogFact;
use crate::record::{AuditLogRecord, AuthLogRecord, JournalRecord, PreloadRecord, Timestamp};
use crate::timeline::TimelineEntry;

/// (timestamp_desc, message) of a typed fact.
fn fact_text(f: &LogFact) -> (&'static str, String) {
    match f {
        LogFact::Sudo(s) => (
            "Sudo",
            format!(
                "sudo by {} as {} ({}){}",
                excerpt(&s.user, 64),
                s.runas.as_deref().unwrap_or("root"),
                tag(&s.outcome),
                suffix(s.command.as_deref())
            ),
        ),
        LogFact::Su(s) => (
            "Su",
            format!(
                "su to {} by {} ({})",
                excerpt(&s.target_user, 64),
                s.by_user.as_deref().unwrap_or("?"),
                if s.success { "success" } else { "failed" }
            ),
        ),
        LogFact::SshLogin(s) => (
            "SSH Login",
            format!(
                "SSH login {} for {} from {}{}",
                tag(&s.outcome),
                excerpt(&s.user, 64),
                excerpt(&s.source_address, 64),
                s.method
                    .as_deref()
                    .map(|m| format!(" ({m})"))
                    .unwrap_or_default()
            ),
        ),
        LogFact::Cron(c) => (
            "Cron Job Run",
            format!(
                "cron ran a job as {}{}",
                excerpt(&c.user, 64),
                suffix(Some(&c.command))
            ),
        ),
        LogFact::Account(a) => (
            "Account Changed",
            format!(
                "account {}: {}{}",
                excerpt(&a.account, 64),
                tag(&a.action),
                a.group
                    .as_deref()
                    .map(|g| format!(" {g}"))
                    .unwrap_or_default()
            ),
        ),
        LogFact::Service(s) => (
            "Unit State",
            format!(
                "unit {}: {}",
                excerpt(s.unit.as_deref().unwrap_or(&s.description), 128),
                tag(&s.state)
            ),
        ),
    }
}

fn fill_fact(e: &mut TimelineEntry, f: &LogFact) {
    match f {
        LogFact::Sudo(s) => {
            e.user = some_text(&s.user);
            e.command_line = s.command.clone();
        }
        LogFact::Su(s) => e.user = s.by_user.clone(),
        LogFact::SshLogin(s) => {
            e.user = some_text(&s.user);
            e.remote_address = some_text(&s.source_address);
            e.remote_port = s.source_port;
        }
        LogFact::Cron(c) => {
            e.user = some_text(&c.user);
            e.command_line = some_text(&c.command);
        }
        LogFact::Account(a) => e.user = some_text(&a.account),
        LogFact::Service(s) => e.service_name = s.unit.clone(),
    }
}

pub fn auth_log(r: &AuthLogRecord, at: &At, out: &mut Vec<TimelineEntry>) {
    let AuthLogRecord::Event(l) = r else {
        return;
    };
    let Some(t) = l.timestamp.filter(usable) else {
        return;
    };
    let (desc, message) = fact_text(&l.fact);
    let kind = l.fact.kind();
    let mut e = if l.timestamp_is_local {
        local_entry(at, t.naive_utc(), &l.time_text, desc, kind, message)
    } else {
        entry(at, &t, desc, kind, message)
    };
    fill_fact(&mut e, &l.fact);
    e.computer = l.host.clone();
    e.pid = l.pid;
    e.process_name = some_text(&l.program);
    e.source_path = some_text(&l.source.source_path);
    out.push(e);
}

pub fn journal(r: &JournalRecord, at: &At, out: &mut Vec<TimelineEntry>) {
    let JournalRecord::Entry(j) = r else {
        return;
    };
    let Some(t) = j.timestamp.filter(usable) else {
        return;
    };
    let ident = j
        .syslog_identifier
        .as_deref()
        .or(j.comm.as_deref())
        .unwrap_or("?");
    let (desc, message, kind) = match &j.fact {
        Some(f) => {
            let (d, m) = fact_text(f);
            (d, m, f.kind().to_string())
        }
        None => (
            "Journal Entry",
            format!(
                "{}: {}",
                excerpt(ident, 64),
                excerpt(j.message.as_deref().unwrap_or(""), MESSAGE_EXCERPT)
            ),
            "journal_entry".to_string(),
        ),
    };
    let mut e = entry(at, &t, desc, &kind, message);
    if let Some(f) = &j.fact {
        fill_fact(&mut e, f);
    }
    e.computer = j.hostname.clone();
    e.pid = j.pid;
    e.process_name = some_text(ident);
    e.image = j.exe.clone();
    if e.command_line.is_none() {
        e.command_line = j.cmdline.clone();
    }
    if e.user.is_none() {
        e.user = j.user.clone();
    }
    e.service_name = e.service_name.take().or_else(|| j.systemd_unit.clone());
    e.source_path = some_text(&j.source.source_path);
    out.push(e);
}

pub fn audit_log(r: &AuditLogRecord, at: &At, out: &mut Vec<TimelineEntry>) {
    let AuditLogRecord::Event(a) = r else {
        return;
    };
    let ev = &a.event;
    let Some(t) = ev.timestamp.filter(usable) else {
        return;
    };
    let who = ev
        .user
        .clone()
        .or_else(|| ev.uid.map(|u| format!("uid {u}")))
        .unwrap_or_else(|| "?".into());
    let (desc, message) = match ev.kind {
        AuditKind::Execve => (
            "Process Start",
            format!(
                "audit: executed by {who}{}{}",
                ev.login_user
                    .as_deref()
                    .map(|l| format!(" (login {l})"))
                    .unwrap_or_default(),
                suffix(ev.command_line.as_deref().or(ev.exe.as_deref()))
            ),
        ),
        AuditKind::Syscall => (
            "Audited System Call",
            format!(
                "audit: {} by {who} (key {}){}",
                ev.syscall_name.as_deref().unwrap_or("syscall"),
                ev.key.as_deref().unwrap_or("?"),
                suffix(ev.paths.first().and_then(|p| p.name.as_deref()))
            ),
        ),
        AuditKind::UserCmd => (
            "Sudo",
            format!("audit: sudo command{}", suffix(ev.cmd.as_deref())),
        ),
        AuditKind::UserLogin | AuditKind::UserAuth => (
            "Login",
            format!(
                "audit: {} {} for {}",
                tag(&ev.kind),
                ev.res.as_deref().unwrap_or("?"),
                ev.acct.as_deref().unwrap_or("?")
            ),
        ),
        AuditKind::AccountChange => (
            "Account Changed",
            format!(
                "audit: {} {}",
                ev.op.as_deref().unwrap_or("account change"),
                ev.acct.as_deref().unwrap_or("")
            ),
        ),
    };
    let mut e = entry(at, &t, desc, &tag(&ev.kind), message);
    e.pid = ev.pid;
    e.ppid = ev.ppid;
    e.process_name = ev.comm.clone();
    e.image = ev.exe.clone();
    e.command_line = ev.command_line.clone();
    e.user = ev.user.clone().or_else(|| ev.acct.clone());
    e.computer = ev.node.clone();
    e.remote_address = ev.addr.clone();
    e.source_path = some_text(&a.source.source_path);
    out.push(e);
}

pub fn preload(p: &PreloadRecord, at: &At, out: &mut Vec<TimelineEntry>) {
    let Some(t): Option<Timestamp> = p.timestamp.filter(usable) else {
        return;
    };
    let (desc, message) = match p.pid {
        Some(pid) => (
            "Process Start",
            format!(
                "process {pid} has preloaded library {} ({})",
                excerpt(&p.path, MESSAGE_EXCERPT),
                tag(&p.source)
            ),
        ),
        None => (
            "File Modified",
            format!("ld.so.preload lists {}", excerpt(&p.path, MESSAGE_EXCERPT)),
        ),
    };
    let mut e = entry(at, &t, desc, &tag(&p.source), message);
    e.pid = p.pid;
    e.image = p.image.clone();
    e.user = p.user.clone();
    e.path = some_text(&p.path);
    e.sha256 = p.sha256.map(|h| h.to_hex());
    e.source_path = some_text(&p.source_path);
    out.push(e);
}
