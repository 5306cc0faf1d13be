//! Which timestamped facts each record type holds, and how they read in a timeline: the
//! shared helpers and the Unix-side records here, event logs in `events`, scheduled tasks in
//! `tasks`.

mod events;
mod linux;
mod tasks;

use super::{LOCAL_SUFFIX, TimelineEntry, format_datetime};
use crate::ids::RecordAt;
use crate::record::{
    AuditLogRecord, AuthLogRecord, ConnectionRecord, ExecutionEventRecord, HistoryRecord,
    JournalRecord, PowershellRecord, PreloadRecord, ProcessRecord, ScheduledTaskRecord,
    TempFileRecord, Timestamp,
};
use chrono::NaiveDateTime;
use serde::Serialize;
use std::collections::{HashMap, HashSet};

/// Longest command line or script excerpt quoted in a `message` (the full value is in its
/// own field).
const MESSAGE_EXCERPT: usize = 200;

/// Seconds from 1970 back to 1601-01-01, the FILETIME epoch: a time at or before it is a
/// zeroed field ("never"), not a moment.
const FILETIME_EPOCH_SECS: i64 = -11_644_473_600;

/// Where a record sits in the archive.
pub(super) type At = RecordAt;

/// What one pass over a collector's records remembers between records.
#[derive(Default)]
pub struct State {
    /// Source files whose modification time is already in the timeline (one line per
    /// crontab, not one per cron line).
    files_seen: HashSet<String>,
    /// PSReadLine history file → its "last written" entry, held back and moved along to the
    /// file's last command as the records go by; out when the collector's records end.
    psreadline: HashMap<String, usize>,
    pending: Vec<TimelineEntry>,
}

impl State {
    /// The entries held back until the collector's last record.
    pub fn finish(self) -> Vec<TimelineEntry> {
        self.pending
    }
}

// One function per record type, named by the registration table (`crate::registry`).

pub fn process(p: &ProcessRecord, at: RecordAt, _: &mut State, out: &mut Vec<TimelineEntry>) {
    process_facts(&at, p, out);
}

/// Sockets carry no time.
pub fn connection(_: &ConnectionRecord, _: RecordAt, _: &mut State, _: &mut Vec<TimelineEntry>) {}

pub fn temp_file(f: &TempFileRecord, at: RecordAt, _: &mut State, out: &mut Vec<TimelineEntry>) {
    temp_file_facts(&at, f, out);
}

pub fn execution_event(
    r: &ExecutionEventRecord,
    at: RecordAt,
    _: &mut State,
    out: &mut Vec<TimelineEntry>,
) {
    if let ExecutionEventRecord::Event(ev) = r {
        events::exec_event(&at, &ev.event, &ev.source.source_path, out);
    }
}

pub fn powershell(
    r: &PowershellRecord,
    at: RecordAt,
    state: &mut State,
    out: &mut Vec<TimelineEntry>,
) {
    events::powershell(&at, r, state, out);
}

pub fn history(h: &HistoryRecord, at: RecordAt, _: &mut State, out: &mut Vec<TimelineEntry>) {
    history_facts(&at, h, out);
}

pub fn scheduled_task(
    r: &ScheduledTaskRecord,
    at: RecordAt,
    state: &mut State,
    out: &mut Vec<TimelineEntry>,
) {
    tasks::scheduled(&at, r, state, out);
}

pub fn audit_log(r: &AuditLogRecord, at: RecordAt, _: &mut State, out: &mut Vec<TimelineEntry>) {
    linux::audit_log(r, &at, out);
}

pub fn auth_log(r: &AuthLogRecord, at: RecordAt, _: &mut State, out: &mut Vec<TimelineEntry>) {
    linux::auth_log(r, &at, out);
}

pub fn journal(r: &JournalRecord, at: RecordAt, _: &mut State, out: &mut Vec<TimelineEntry>) {
    linux::journal(r, &at, out);
}

pub fn preload(r: &PreloadRecord, at: RecordAt, _: &mut State, out: &mut Vec<TimelineEntry>) {
    linux::preload(r, &at, out);
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
        record_member: at.member().to_string(),
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

fn process_facts(at: &At, p: &ProcessRecord, out: &mut Vec<TimelineEntry>) {
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

fn temp_file_facts(at: &At, f: &TempFileRecord, out: &mut Vec<TimelineEntry>) {
    let detected = tag(&f.detected_type);
    let times = [
        (f.btime, "File Created", "created"),
        (f.mtime, "File Modified", "modified"),
        // Not the access time: every backup, indexer and scanner moves it, and it is in
        // the record for whoever wants it.
        (f.ctime, "Inode Changed", "inode changed"),
    ];
    // Times that are the same instant make one line naming each of them ("File Created;
    // File Modified"), as MACB columns do: a dropped file's times are often equal, and three
    // identical lines per file tripled the timeline of a temp tree.
    let mut done = [false; 3];
    for i in 0..times.len() {
        let Some(t) = times[i].0.filter(usable) else {
            continue;
        };
        if done[i] {
            continue;
        }
        let same: Vec<usize> = (i..times.len())
            .filter(|&j| times[j].0 == Some(t))
            .collect();
        let desc: Vec<&str> = same.iter().map(|&j| times[j].1).collect();
        let verb: Vec<&str> = same.iter().map(|&j| times[j].2).collect();
        for &j in &same {
            done[j] = true;
        }
        let mut e = entry(
            at,
            &t,
            &desc.join("; "),
            "temp_file",
            format!(
                "Staged file {}: {} ({detected})",
                verb.join(", "),
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

fn history_facts(at: &At, h: &HistoryRecord, out: &mut Vec<TimelineEntry>) {
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
