//! Event-log files, shared by `powershell_logs` and `execution_events`: find them, copy each
//! raw into the archive once, and parse it with the recovering reader
//! ([`crate::parsers::evtx_read`]).
//!
//! Artifact: `*.evtx` under `%SystemRoot%\System32\winevt\Logs\` on Windows (logical
//! `/Windows/System32/winevt/Logs`, matched case-insensitively on a Windows root). Archived
//! logs ("Archive the log when full") sit in the same folder as
//! `Archive-<log>-<yyyy-mm-dd-hh-mm-ss-nnn>.evtx`; profiles add them with a pattern.
//! Linux has no event logs of its own.
//!
//! One read serves three purposes: the sink hashes the whole file, stores the raw copy, and
//! hands back up to `max_in_memory` bytes, which are parsed from memory. A larger log is
//! opened a second time and parsed from the file (a warning says so: on a live box the log may
//! have grown in between, and the hash is from the first read). On live Windows the event log
//! service holds the files open; the source opens them with shared read/write/delete access.
//!
//! Damage is normal on a live box (stale header chunk count, bad chunk magic, bad CRCs, a
//! truncated last chunk): the reader recovers what it can, each skip becomes a warning, and only
//! "nothing could be read at all" is an error. Reference: libevtx "Windows XML Event Log
//! (EVTX) format" (J. Metz).

use super::{CollectError, Context};
use crate::parsers::evtx_read::{EvtxReadError, RawEvent, ReadReport, Skip, SkipKind, read_events};
use crate::record::{EvtxLogSummary, SourceRef, Timestamp};
use crate::sink::{FileRequest, Sink, SinkError};
use crate::source::{FileType, SourceError};
use crate::text::glob::file_name_match;
use std::collections::{BTreeMap, BTreeSet};
use std::io::Cursor;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

/// Where Windows keeps its event logs (logical path).
pub const DEFAULT_LOG_DIR: &str = "/Windows/System32/winevt/Logs";
/// Logs up to this size are parsed from the in-memory copy.
pub const DEFAULT_MAX_IN_MEMORY: u64 = 256 << 20;
/// Skips and warnings logged per file; the summary record lists them all.
const MAX_WARNINGS_PER_FILE: usize = 20;

/// Which logs a collector reads.
pub struct LogSelection<'a> {
    /// Folder for patterns without a `/`.
    pub dir: &'a str,
    /// File names (or `/`-rooted logical paths) whose last component may hold `*` and `?`.
    pub patterns: &'a [String],
}

/// A log file found on the source.
#[derive(Debug, Clone)]
pub struct FoundLog {
    pub logical: PathBuf,
    pub display: String,
}

/// What reading one log produced, before the collector's own counts are added.
pub struct LogRead {
    pub source: SourceRef,
    pub modified: Option<Timestamp>,
    pub read_twice: bool,
    pub partial_read: bool,
    pub parse_error: Option<String>,
    pub report: ReadReport,
    messages: Vec<Message>,
}

enum Message {
    Warn(String),
    Error(String),
}

impl LogRead {
    pub fn summary(self, recorded: u64, before_since: u64, other: u64) -> EvtxLogSummary {
        EvtxLogSummary {
            source: self.source,
            modified: self.modified,
            events_recorded: recorded,
            events_before_since: before_since,
            events_other: other,
            read_twice: self.read_twice,
            partial_read: self.partial_read,
            parse_error: self.parse_error,
            report: self.report,
        }
    }
}

/// An error message that names the cause, and says "not elevated" when that is the reason.
pub fn describe_error(ctx: &super::Context, e: &SourceError) -> String {
    if e.is_permission_denied() && !ctx.elevated {
        format!("{e} (not elevated: run irsnap as Administrator/root to read it)")
    } else {
        e.to_string()
    }
}

fn has_wildcard(s: &str) -> bool {
    s.contains(['*', '?'])
}

/// Split a pattern into (folder, name pattern).
fn split_pattern(dir: &str, pattern: &str) -> (String, String) {
    let pattern = pattern.trim().replace('\\', "/");
    match pattern.rsplit_once('/') {
        Some((d, name)) if pattern.starts_with('/') => (
            if d.is_empty() { "/" } else { d }.to_string(),
            name.to_string(),
        ),
        _ => (dir.to_string(), pattern),
    }
}

/// Regular files and links of a listing, and its special files apart.
pub fn split_specials(entries: Vec<crate::source::DirEntry>) -> (Vec<(String, PathBuf)>, Specials) {
    let mut files = Vec::new();
    let mut specials = Vec::new();
    for e in entries {
        let name = e.name.to_string_lossy().into_owned();
        match e.meta.as_ref().map(|m| m.file_type) {
            Ok(FileType::Regular | FileType::Symlink) => files.push((name, e.path)),
            Ok(t) => {
                if let Some(what) = t.special() {
                    specials.push((name, e.path, what));
                }
            }
            Err(_) => {}
        }
    }
    (files, specials)
}

/// Every log the selection names, each once, in pattern order. A missing folder or an
/// absent named log is a warning (not every host has Sysmon); a folder that cannot be listed
/// is an error.
pub fn find_logs(ctx: &Context, sel: &LogSelection, out: &mut dyn Sink) -> Vec<FoundLog> {
    type Listing = Option<(Vec<(String, PathBuf)>, Specials)>;
    let mut listings: BTreeMap<String, Listing> = BTreeMap::new();
    let mut seen = BTreeSet::new();
    let mut found = Vec::new();
    for pattern in sel.patterns {
        let (dir, name_pat) = split_pattern(sel.dir, pattern);
        if name_pat.is_empty() {
            continue;
        }
        let listing = listings
            .entry(dir.clone())
            .or_insert_with(|| list_dir(ctx, &dir, out));
        let Some((entries, specials)) = listing else {
            continue;
        };
        let mut matched: Vec<&(String, PathBuf)> = entries
            .iter()
            .filter(|(name, _)| file_name_match(&name_pat, name))
            .collect();
        matched.sort();
        // A FIFO or device where a log belongs is said as what it is, never opened.
        let mut special_hit = false;
        for (name, logical, what) in specials.iter() {
            if file_name_match(&name_pat, name) && seen.insert(logical.clone()) {
                special_hit = true;
                out.warn(format!(
                    "{} is {what}; not opened",
                    ctx.fs.display_path(logical)
                ));
            }
        }
        if matched.is_empty() && !special_hit && !has_wildcard(&name_pat) {
            out.warn(format!(
                "{} not present",
                ctx.fs.display_path(&Path::new(&dir).join(&name_pat))
            ));
        }
        for (_, logical) in matched {
            if seen.insert(logical.clone()) {
                found.push(FoundLog {
                    logical: logical.clone(),
                    display: ctx.fs.display_path(logical),
                });
            }
        }
    }
    found
}

/// A folder's special files: name, logical path and what they are (`a FIFO`).
pub type Specials = Vec<(String, PathBuf, &'static str)>;

/// Files (and links, which the source follows only in scope) of one folder, and its
/// special files (FIFOs, sockets, devices), kept apart to be reported, never opened.
fn list_dir(
    ctx: &Context,
    dir: &str,
    out: &mut dyn Sink,
) -> Option<(Vec<(String, PathBuf)>, Specials)> {
    let logical = Path::new(dir);
    match ctx.fs.read_dir(logical) {
        Ok(entries) => Some(split_specials(entries)),
        Err(e) if e.is_not_found() => {
            out.warn(format!(
                "no event log folder at {}",
                ctx.fs.display_path(logical)
            ));
            None
        }
        Err(e) => {
            out.error(format!(
                "cannot list {}: {}",
                ctx.fs.display_path(logical),
                describe_error(ctx, &e)
            ));
            None
        }
    }
}

/// A log copied into the archive, with the bytes kept for parsing.
pub struct CopiedLog {
    pub source: SourceRef,
    modified: Option<Timestamp>,
    kept: Vec<u8>,
    /// `kept` is all there is to parse: the whole file, or all of it a read error left us.
    parse_kept: bool,
    partial_read: bool,
    max_in_memory: u64,
}

/// Hash and copy one log into the archive, keeping up to `max_in_memory` bytes to parse.
/// `None` when it could not be opened (already reported).
pub fn copy_log(
    ctx: &Context,
    out: &mut dyn Sink,
    log: &FoundLog,
    max_in_memory: u64,
) -> Result<Option<CopiedLog>, CollectError> {
    let mut opened = match ctx.fs.open(&log.logical) {
        Ok(f) => f,
        Err(e) if e.is_not_found() => {
            // Listed a moment ago: rotated or deleted while we ran.
            out.warn(format!("{}: vanished before it could be read", log.display));
            return Ok(None);
        }
        Err(e) => {
            out.error(format!(
                "cannot read {}: {}",
                log.display,
                describe_error(ctx, &e)
            ));
            return Ok(None);
        }
    };
    let req = FileRequest {
        display: log.display.clone(),
        logical: &log.logical,
        meta: &opened.meta,
        copy: true,
        copy_cap: u64::MAX,
        keep: usize::try_from(max_in_memory).unwrap_or(usize::MAX),
        member_name: None,
        keep_tail: false,
    };
    // A read error is reported by the sink itself (the collector becomes partial).
    let outcome = out.file(&req, &mut opened.file)?;
    Ok(Some(CopiedLog {
        source: SourceRef {
            source_path: log.display.clone(),
            source_member: outcome.member,
            source_sha256: outcome.sha256,
        },
        modified: opened.meta.mtime,
        parse_kept: outcome.kept_complete || outcome.read_error.is_some(),
        partial_read: outcome.read_error.is_some(),
        kept: outcome.kept,
        max_in_memory,
    }))
}

/// Feed every recoverable record of a copied log to `on_event`, in record order, until the
/// callback or the run's cancellation stops it. Never touches the sink, so the callback may.
pub fn parse_log(
    ctx: &Context,
    log: &FoundLog,
    copied: CopiedLog,
    mut on_event: impl FnMut(RawEvent) -> ControlFlow<()>,
) -> LogRead {
    let mut read = LogRead {
        source: copied.source,
        modified: copied.modified,
        read_twice: false,
        partial_read: copied.partial_read,
        parse_error: None,
        report: ReadReport::default(),
        messages: Vec::new(),
    };
    let mut guarded = |ev: RawEvent| {
        if ctx.cancel.should_stop().is_some() {
            return ControlFlow::Break(());
        }
        on_event(ev)
    };
    let result = if copied.parse_kept {
        read_events(Cursor::new(copied.kept), &mut guarded)
    } else {
        drop(copied.kept);
        read.read_twice = true;
        read.messages.push(Message::Warn(format!(
            "larger than max_in_memory ({} bytes): read a second time to parse (the hash is \
             of the first read)",
            copied.max_in_memory
        )));
        match ctx.fs.open(&log.logical) {
            Ok(f) => read_events(f.file, &mut guarded),
            Err(e) => {
                let msg = format!("cannot re-open to parse: {}", describe_error(ctx, &e));
                read.messages.push(Message::Error(msg.clone()));
                read.parse_error = Some(msg);
                return read;
            }
        }
    };
    match result {
        Ok(report) => read.report = report,
        Err(EvtxReadError::TooShort { len: 0 }) => {
            read.messages.push(Message::Warn("empty file".into()));
            read.parse_error = Some("empty file".into());
        }
        Err(e) => {
            read.messages
                .push(Message::Error(format!("not a readable EVTX file: {e}")));
            read.parse_error = Some(e.to_string());
        }
    }
    read
}

/// Tell the sink what reading the log ran into: warnings for damage that was read around,
/// errors for what made the log unreadable.
pub fn report_log(out: &mut dyn Sink, log: &FoundLog, read: &LogRead) {
    for m in &read.messages {
        match m {
            Message::Warn(s) => out.warn(format!("{}: {s}", log.display)),
            Message::Error(s) => out.error(format!("{}: {s}", log.display)),
        }
    }
    report_damage(out, &log.display, &read.report);
}

/// Skips are warnings (the log is damaged, what could be read was); only a log of which
/// nothing at all could be read, though it held chunks, is an error.
fn report_damage(out: &mut dyn Sink, display: &str, r: &ReadReport) {
    let lossy: Vec<&Skip> = r
        .skipped
        .iter()
        .filter(|s| s.kind != SkipKind::ZeroedChunk)
        .collect();
    if r.header_chunk_count < r.chunks_seen {
        out.warn(format!(
            "{display}: file header says {} chunk(s), {} found and read (stale header)",
            r.header_chunk_count, r.chunks_seen
        ));
    }
    let notes = lossy.iter().copied().chain(r.warnings.iter());
    let total = lossy.len() + r.warnings.len();
    for s in notes.take(MAX_WARNINGS_PER_FILE) {
        out.warn(format!("{display}: {}", describe_skip(s)));
    }
    if total > MAX_WARNINGS_PER_FILE || r.items_dropped > 0 {
        out.warn(format!(
            "{display}: {} more skip(s)/warning(s), listed in its log_file record",
            (total - total.min(MAX_WARNINGS_PER_FILE)) as u64 + r.items_dropped
        ));
    }
    if r.records_ok == 0 && !lossy.is_empty() && !r.stopped_early {
        out.error(format!(
            "{display}: no record could be recovered ({} damaged item(s))",
            lossy.len() as u64 + r.items_dropped
        ));
    }
}

fn describe_skip(s: &Skip) -> String {
    let mut at = Vec::new();
    if let Some(c) = s.chunk {
        at.push(format!("chunk {c}"));
    }
    if let Some(o) = s.offset {
        at.push(format!("offset {o}"));
    }
    if let Some(r) = s.record_id {
        at.push(format!("record {r}"));
    }
    let kind = serde_json::to_value(s.kind)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    if at.is_empty() {
        format!("{kind}: {}", s.reason)
    } else {
        format!("{} ({kind}): {}", at.join(", "), s.reason)
    }
}

/// Find the selected logs and hand each to `read_one`, stopping between logs when the run is
/// cancelled: the loop both event-log collectors share.
pub fn for_each_log(
    ctx: &Context,
    out: &mut dyn Sink,
    sel: &LogSelection,
    mut read_one: impl FnMut(&mut dyn Sink, &FoundLog) -> Result<(), CollectError>,
) -> Result<(), CollectError> {
    for log in find_logs(ctx, sel, out) {
        if ctx.cancel.should_stop().is_some() {
            return Ok(());
        }
        read_one(out, &log)?;
    }
    Ok(())
}

/// Counts of one log's events, and the first sink error, kept while `parse_log`'s callback
/// runs (it cannot return an error itself).
#[derive(Default)]
pub struct EventTally {
    pub recorded: u64,
    pub before_since: u64,
    pub other: u64,
    sink_error: Option<SinkError>,
}

impl EventTally {
    /// Record one event; a sink error stops the parse and is returned by [`Self::finish`].
    pub fn emit(&mut self, result: Result<(), SinkError>) -> ControlFlow<()> {
        match result {
            Ok(()) => {
                self.recorded += 1;
                ControlFlow::Continue(())
            }
            Err(e) => {
                self.sink_error = Some(e);
                ControlFlow::Break(())
            }
        }
    }

    /// The counts, or the sink error that cut the parse short.
    pub fn finish(self) -> Result<(u64, u64, u64), CollectError> {
        match self.sink_error {
            Some(e) => Err(e.into()),
            None => Ok((self.recorded, self.before_since, self.other)),
        }
    }
}

/// True when `time` is known and older than the `--since` window.
pub fn before_since(ctx: &Context, time: Option<Timestamp>) -> bool {
    matches!((ctx.since, time), (Some(since), Some(t)) if t < since)
}

/// Why the event-log collectors do not apply: only Windows evidence has these logs.
pub fn not_windows(source: &dyn crate::source::FileSource) -> Option<String> {
    (source.os() != crate::source::OsFamily::Windows)
        .then(|| "no Windows event logs on this source".into())
}

#[cfg(test)]
#[allow(clippy::disallowed_methods)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_match_case_insensitively() {
        assert!(file_name_match("Security.evtx", "SECURITY.EVTX"));
        assert!(file_name_match(
            "Archive-Security-*.evtx",
            "Archive-Security-2024-01-02-03-04-05-678.evtx"
        ));
        assert!(!file_name_match("Archive-Security-*.evtx", "Security.evtx"));
        assert!(file_name_match("*", "anything"));
        assert!(file_name_match("a?c*", "abcdef"));
        assert!(!file_name_match("a?c", "abcd"));
        assert!(file_name_match(
            "*%4Operational.evtx",
            "Microsoft-Windows-Sysmon%4Operational.evtx"
        ));
        assert!(!file_name_match("*.evtx", "x.evtx.bak"));
        assert!(file_name_match("**a*", "bbba"));
    }

    #[test]
    fn patterns_split_into_folder_and_name() {
        assert_eq!(
            split_pattern("/W/L", "Security.evtx"),
            ("/W/L".into(), "Security.evtx".into())
        );
        assert_eq!(
            split_pattern("/W/L", "/Exports/*.evtx"),
            ("/Exports".into(), "*.evtx".into())
        );
        assert_eq!(
            split_pattern("/W/L", "/x.evtx"),
            ("/".into(), "x.evtx".into())
        );
        assert_eq!(
            split_pattern("/W/L", "\\Exports\\a.evtx"),
            ("/Exports".into(), "a.evtx".into())
        );
    }

    fn root_with(name: &str, data: &[u8]) -> (tempfile::TempDir, crate::source::RootSource) {
        let dir = tempfile::tempdir().unwrap();
        let logs = dir.path().join("Windows/System32/winevt/Logs");
        std::fs::create_dir_all(&logs).unwrap();
        std::fs::write(logs.join(name), data).unwrap();
        let src = crate::source::RootSource::new(dir.path().to_path_buf(), None).unwrap();
        (dir, src)
    }

    fn fixture(rel: &str) -> Vec<u8> {
        std::fs::read(format!(
            "{}/../shared/fixtures/{rel}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap()
    }

    #[test]
    fn cancel_stops_the_event_loop_and_is_not_an_error() {
        let data = fixture("evtx/malformed/omerbenamram-evtx/sysmon.evtx");
        let (_dir, src) = root_with("SYSMON.EVTX", &data);
        let cancel = super::super::Cancel::default();
        let shared = super::super::Shared::default();
        let ctx = Context::new(&src, &cancel, &shared);
        let mut out = crate::sink::MemorySink::default();
        let patterns = vec!["sysmon.evtx".to_string()];
        let sel = LogSelection {
            dir: DEFAULT_LOG_DIR,
            patterns: &patterns,
        };
        let logs = find_logs(&ctx, &sel, &mut out);
        assert_eq!(logs.len(), 1);
        assert_eq!(
            logs[0].display,
            "C:\\Windows\\System32\\winevt\\Logs\\SYSMON.EVTX"
        );
        let copied = copy_log(&ctx, &mut out, &logs[0], DEFAULT_MAX_IN_MEMORY)
            .unwrap()
            .unwrap();
        let mut seen = 0;
        let read = parse_log(&ctx, &logs[0], copied, |_| {
            seen += 1;
            if seen == 10 {
                cancel.interrupt.raise();
            }
            ControlFlow::Continue(())
        });
        report_log(&mut out, &logs[0], &read);
        assert_eq!(seen, 10);
        assert!(read.report.stopped_early);
        assert!(out.errors.is_empty(), "{:?}", out.errors);
        // The raw copy was still taken whole, before parsing.
        assert_eq!(out.files[0].copy, data);
        assert_eq!(
            read.source.source_sha256,
            Some(crate::record::Sha256::digest(&data))
        );
    }

    #[test]
    fn nothing_recoverable_is_an_error() {
        // A valid file header followed by one garbage chunk slot.
        let mut data = fixture("evtx/malformed/omerbenamram-evtx/Application_no_crc32.evtx");
        data.truncate(4096 + 65536);
        for b in &mut data[4096..] {
            *b = 0x41;
        }
        let (_dir, src) = root_with("Application.evtx", &data);
        let (cancel, shared) = (
            super::super::Cancel::default(),
            super::super::Shared::default(),
        );
        let ctx = Context::new(&src, &cancel, &shared);
        let mut out = crate::sink::MemorySink::default();
        let patterns = vec!["Application.evtx".to_string(), "Missing.evtx".to_string()];
        let sel = LogSelection {
            dir: DEFAULT_LOG_DIR,
            patterns: &patterns,
        };
        let logs = find_logs(&ctx, &sel, &mut out);
        assert_eq!(logs.len(), 1);
        assert!(
            out.warnings
                .iter()
                .any(|w| w.ends_with("Missing.evtx not present"))
        );
        let copied = copy_log(&ctx, &mut out, &logs[0], 0).unwrap().unwrap();
        let read = parse_log(&ctx, &logs[0], copied, |_| ControlFlow::Continue(()));
        report_log(&mut out, &logs[0], &read);
        assert!(read.read_twice, "keep cap 0 forces the second read");
        assert_eq!(read.report.records_ok, 0);
        assert_eq!(out.errors.len(), 1, "{:?}", out.errors);
        assert!(out.errors[0].contains("no record could be recovered"));
        assert!(
            out.warnings.iter().any(|w| w.contains("bad_chunk_magic")),
            "{:?}",
            out.warnings
        );
    }
}
