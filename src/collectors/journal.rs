//! `journal`: the systemd journal, read from its binary files (never through `journalctl`).
//!
//! Where: `/var/log/journal/<machine-id>/*.journal` (persistent), `/run/log/journal/...`
//! (volatile, live hosts), and `*.journal~` (files journald set aside as damaged); profile
//! option `dirs`. Live host and offline root alike; an active file is read as it is.
//!
//! What we record (`records/journal.jsonl`, see `crate::record::JournalRecord`): one `entry`
//! per journal entry (all of them, or with `all_entries = false` only those holding a typed
//! fact), with its time, boot id, seqnum, `SYSLOG_IDENTIFIER`, `MESSAGE`, `PRIORITY`, `_PID`,
//! `_UID` (and the account name), `_GID`, `_COMM`, `_EXE`, `_CMDLINE`, `_SYSTEMD_UNIT`,
//! `UNIT`, `_HOSTNAME`, `_TRANSPORT`, and the same typed fact the text logs give (sudo, su,
//! sshd logins, cron runs, account changes, unit starts); plus one `journal_file` summary
//! per file (header state, layout, compression, entries read, recovered by scanning, damaged,
//! first and last time). At most `max_entries_per_file` entries per file, the newest. Files
//! are copied raw up to `max_copy_size` (hashed whole). A file named like a journal that is
//! syslog text (as some exports and the museum's sample are) is read as text and says so.
//!
//! Reference: `crate::parsers::journal` (systemd "Journal File Format").

use super::linux_logs::{
    CopyPlan, FoundLog, cap_text, copy_log, for_each_line, not_linux, summary_for, uid_names,
};
use super::{CollectError, Collector, Context};
use crate::parsers::journal::{Header, JournalEntry, JournalError, ReadOptions, read_journal};
use crate::parsers::syslog::{self, classify, parse_line, resolve_time};
use crate::record::{JournalEntryRecord, JournalRecord, LogFileSummary, Record, SourceRef};
use crate::sink::{Sink, SinkError};
use crate::source::{FileSource, FileType, ReadSeek};
use crate::units::ByteSize;
use serde::Deserialize;
use std::collections::HashMap;
use std::io::{BufReader, Cursor, Read, Seek, SeekFrom};
use std::ops::ControlFlow;
use std::path::Path;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct JournalOptions {
    /// Journal folders (logical paths): their files and their machine-id subfolders' files.
    pub dirs: Vec<String>,
    /// A record for every entry; `false`: only entries holding a typed fact.
    pub all_entries: bool,
    /// Entries read per file at most: the newest.
    pub max_entries_per_file: u64,
    pub copy: bool,
    pub max_copy_size: ByteSize,
    /// Files up to this size are parsed from the copy in memory; larger ones are read again.
    pub max_in_memory: ByteSize,
}

impl Default for JournalOptions {
    fn default() -> Self {
        JournalOptions {
            dirs: vec!["/var/log/journal".into(), "/run/log/journal".into()],
            all_entries: true,
            max_entries_per_file: 200_000,
            copy: true,
            max_copy_size: ByteSize(256 << 20),
            max_in_memory: ByteSize(32 << 20),
        }
    }
}

pub struct Journal {
    opts: JournalOptions,
}

impl Journal {
    pub fn new(opts: JournalOptions) -> Journal {
        Journal { opts }
    }
}

/// The fields kept from each entry.
const WANTED: &[&str] = &[
    "MESSAGE",
    "SYSLOG_IDENTIFIER",
    "PRIORITY",
    "_PID",
    "_UID",
    "_GID",
    "_COMM",
    "_EXE",
    "_CMDLINE",
    "_SYSTEMD_UNIT",
    "UNIT",
    "_HOSTNAME",
    "_TRANSPORT",
];

fn wanted(name: &str) -> bool {
    WANTED.contains(&name)
}

fn is_journal_name(name: &str) -> bool {
    name.ends_with(".journal") || name.ends_with(".journal~")
}

/// Journal files under the configured folders, in name order per folder.
fn find_journals(ctx: &Context, dirs: &[String], out: &mut dyn Sink) -> Vec<FoundLog> {
    let mut found = Vec::new();
    let visit = |dir: &Path, depth: u8, found: &mut Vec<FoundLog>, out: &mut dyn Sink| {
        let mut stack = vec![(dir.to_path_buf(), depth)];
        while let Some((d, depth)) = stack.pop() {
            let mut entries = match ctx.fs.read_dir(&d) {
                Ok(e) => e,
                Err(e) if e.is_not_found() => continue,
                Err(e) => {
                    out.error(format!(
                        "cannot list {}: {}",
                        ctx.fs.display_path(&d),
                        super::evtx_files::describe_error(ctx, &e)
                    ));
                    continue;
                }
            };
            entries.sort_by(|a, b| a.name.cmp(&b.name));
            for e in entries {
                let name = e.name.to_string_lossy().into_owned();
                match e.meta.as_ref().map(|m| m.file_type) {
                    Ok(FileType::Directory) if depth > 0 => stack.push((e.path, depth - 1)),
                    Ok(FileType::Regular | FileType::Symlink) if is_journal_name(&name) => found
                        .push(FoundLog {
                            display: ctx.fs.display_path(&e.path),
                            logical: e.path,
                            name,
                        }),
                    _ => {}
                }
            }
        }
    };
    for d in dirs {
        visit(Path::new(d), 1, &mut found, out);
    }
    found
}

impl Collector for Journal {
    fn not_applicable(&self, fs: &dyn FileSource) -> Option<String> {
        not_linux(fs)
    }

    fn collect(&self, ctx: &Context, out: &mut dyn Sink) -> Result<(), CollectError> {
        let files = find_journals(ctx, &self.opts.dirs, out);
        if files.is_empty() {
            out.warn("no systemd journal file found (journald not persistent?)".into());
            return Ok(());
        }
        let names = uid_names(ctx);
        for f in files {
            if ctx.cancel.should_stop().is_some() {
                return Ok(());
            }
            self.one_file(ctx, out, &f, &names)?;
        }
        Ok(())
    }
}

fn text(v: Option<&[u8]>, lossy: &mut bool) -> Option<String> {
    let v = v?;
    let s = match std::str::from_utf8(v) {
        Ok(s) => s.to_string(),
        Err(_) => {
            *lossy = true;
            String::from_utf8_lossy(v).into_owned()
        }
    };
    Some(cap_text(s.trim_end_matches(['\n', '\0'])))
}

/// An entry as a record.
fn entry_record(
    e: JournalEntry,
    source: &SourceRef,
    names: &HashMap<u32, String>,
) -> JournalEntryRecord {
    let mut lossy = false;
    let num = |k: &str| -> Option<u32> {
        e.field(k)
            .and_then(|v| std::str::from_utf8(v).ok())
            .and_then(|s| s.trim().parse().ok())
    };
    let mut r = JournalEntryRecord {
        timestamp: e.realtime,
        seqnum: e.seqnum,
        boot_id: e.boot_id.clone(),
        monotonic_usec: e.monotonic_usec,
        entry_offset: e.offset,
        recovered_by_scan: e.recovered_by_scan,
        syslog_identifier: text(e.field("SYSLOG_IDENTIFIER"), &mut lossy),
        message: text(e.field("MESSAGE"), &mut lossy),
        priority: num("PRIORITY").and_then(|p| u8::try_from(p).ok()),
        pid: num("_PID"),
        uid: num("_UID"),
        gid: num("_GID"),
        user: None,
        comm: text(e.field("_COMM"), &mut lossy),
        exe: text(e.field("_EXE"), &mut lossy),
        cmdline: text(e.field("_CMDLINE"), &mut lossy),
        systemd_unit: text(e.field("_SYSTEMD_UNIT"), &mut lossy),
        unit: text(e.field("UNIT"), &mut lossy),
        hostname: text(e.field("_HOSTNAME"), &mut lossy),
        transport: text(e.field("_TRANSPORT"), &mut lossy),
        fact: None,
        damaged_fields: e.damaged_fields,
        lossy_utf8: false,
        source: source.clone(),
    };
    r.lossy_utf8 = lossy;
    r.user = r.uid.and_then(|u| names.get(&u).cloned());
    let program = r.syslog_identifier.as_deref().or(r.comm.as_deref());
    if let (Some(p), Some(m)) = (program, r.message.as_deref()) {
        r.fact = if p == "systemd" && r.unit.is_some() {
            syslog::facts::service(m, r.unit.as_deref()).map(syslog::LogFact::Service)
        } else {
            classify(p, m)
        };
    }
    r
}

impl Journal {
    fn one_file(
        &self,
        ctx: &Context,
        out: &mut dyn Sink,
        log: &FoundLog,
        names: &HashMap<u32, String>,
    ) -> Result<(), CollectError> {
        let plan = CopyPlan {
            copy: self.opts.copy,
            max_copy_size: self.opts.max_copy_size.0,
            max_in_memory: self.opts.max_in_memory.0,
        };
        let Some(mut copied) = copy_log(ctx, out, log, plan)? else {
            return Ok(());
        };
        let mut summary = summary_for(&copied);
        let mut reader: Box<dyn ReadSeek> = match copied.kept.take() {
            Some(k) => Box::new(Cursor::new(k)),
            None => match ctx.fs.open(&log.logical) {
                Ok(f) => f.file,
                Err(e) => {
                    let msg = format!(
                        "cannot re-open to parse: {}",
                        super::evtx_files::describe_error(ctx, &e)
                    );
                    out.error(format!("{}: {msg}", log.display));
                    summary.parse_error = Some(msg);
                    out.record(Record::Journal(JournalRecord::JournalFile(summary)))?;
                    return Ok(());
                }
            },
        };
        // The header, for the entry count (the newest entries are the ones kept).
        let mut head = vec![0u8; 272];
        let got = read_up_to(&mut reader, &mut head);
        head.truncate(got);
        let _ = reader.seek(SeekFrom::Start(0));
        let Some(header) = Header::parse(&head) else {
            return self.text_fallback(ctx, out, log, reader, summary, copied.modified, names);
        };
        let skip = header
            .n_entries
            .saturating_sub(self.opts.max_entries_per_file);
        let mut failed: Option<SinkError> = None;
        let source = copied.source.clone();
        let opts = ReadOptions {
            skip_first: skip,
            wanted: &wanted,
        };
        let mut read = 0u64;
        let result = read_journal(reader, &opts, |e| {
            if ctx.cancel.should_stop().is_some() {
                return ControlFlow::Break(());
            }
            read += 1;
            if read > self.opts.max_entries_per_file {
                summary.capped += 1;
                return ControlFlow::Continue(());
            }
            if let (Some(since), Some(t)) = (ctx.since, e.realtime)
                && t < since
            {
                summary.before_since += 1;
                return ControlFlow::Continue(());
            }
            let rec = entry_record(e, &source, names);
            if rec.fact.is_none() && !self.opts.all_entries {
                summary.other += 1;
                return ControlFlow::Continue(());
            }
            match out.record(Record::Journal(JournalRecord::Entry(rec))) {
                Ok(()) => {
                    summary.records += 1;
                    ControlFlow::Continue(())
                }
                Err(err) => {
                    failed = Some(err);
                    ControlFlow::Break(())
                }
            }
        });
        if let Some(e) = failed {
            return Err(e.into());
        }
        match result {
            Ok(rep) => {
                summary.items_read = rep.entries_read;
                summary.capped += rep.entries_skipped;
                summary.journal_state = Some(rep.header.state_name().to_string());
                summary.journal_entries_in_header = Some(rep.header.n_entries);
                summary.journal_compact = rep.header.compact();
                summary.journal_compression = rep.header.compression();
                summary.entries_recovered_by_scan = rep.entries_recovered_by_scan;
                summary.damaged = rep.entries_damaged + rep.fields_damaged;
                summary.truncated = rep.truncated;
                summary.first_time = rep.first_realtime;
                summary.last_time = rep.last_realtime;
                for n in rep.notes.iter().take(10) {
                    out.warn(format!("{}: {n}", log.display));
                }
                summary.notes = rep.notes;
                if rep.arrays_damaged {
                    out.warn(format!(
                        "{}: entry arrays damaged; {} entries recovered by scanning the file",
                        log.display, rep.entries_recovered_by_scan
                    ));
                }
                if summary.capped > 0 {
                    out.cut(format!(
                        "{}: {} entries over max_entries_per_file ({}); the newest were kept, \
                         the raw copy holds the rest",
                        log.display, summary.capped, self.opts.max_entries_per_file
                    ));
                }
            }
            Err(e) => {
                out.error(format!("{}: {e}", log.display));
                summary.parse_error = Some(e.to_string());
            }
        }
        if let Some(e) = &copied.read_error {
            out.error(format!("{}: {e}", log.display));
        }
        out.record(Record::Journal(JournalRecord::JournalFile(summary)))?;
        Ok(())
    }

    /// A file named like a journal without the journal signature: syslog text is read as
    /// such (each line an entry); anything else is reported.
    #[allow(clippy::too_many_arguments)]
    fn text_fallback(
        &self,
        ctx: &Context,
        out: &mut dyn Sink,
        log: &FoundLog,
        reader: Box<dyn ReadSeek>,
        mut summary: LogFileSummary,
        anchor: Option<crate::record::Timestamp>,
        names: &HashMap<u32, String>,
    ) -> Result<(), CollectError> {
        let _ = names;
        let mut lines = BufReader::new(reader);
        let mut failed: Option<SinkError> = None;
        let source = summary.source.clone();
        let (n, _, err) = for_each_line(&mut lines, |i, raw| {
            let t = String::from_utf8_lossy(raw);
            let Some(l) = parse_line(&t) else {
                if !t.trim().is_empty() {
                    summary.unparsed += 1;
                }
                return ControlFlow::Continue(());
            };
            if summary.records >= self.opts.max_entries_per_file {
                summary.capped += 1;
                return ControlFlow::Continue(());
            }
            let resolved = resolve_time(l.time, anchor);
            summary.year_inferred |= resolved.is_some_and(|(_, y)| y);
            let fact = classify(l.program, l.message);
            if fact.is_none() && !self.opts.all_entries {
                summary.other += 1;
                return ControlFlow::Continue(());
            }
            let timestamp = resolved.map(|(t, _)| t);
            if let (Some(since), Some(t)) = (ctx.since, timestamp)
                && t < since
            {
                summary.before_since += 1;
                return ControlFlow::Continue(());
            }
            let rec = JournalEntryRecord {
                timestamp,
                seqnum: i,
                syslog_identifier: Some(l.program.to_string()),
                message: Some(cap_text(l.message)),
                pid: l.pid,
                hostname: l.host.map(str::to_string),
                fact,
                source: source.clone(),
                ..JournalEntryRecord::default()
            };
            match out.record(Record::Journal(JournalRecord::Entry(rec))) {
                Ok(()) => {
                    summary.records += 1;
                    ControlFlow::Continue(())
                }
                Err(e) => {
                    failed = Some(e);
                    ControlFlow::Break(())
                }
            }
        });
        if let Some(e) = failed {
            return Err(e.into());
        }
        summary.items_read = n;
        let why = JournalError::NotAJournal.to_string();
        if summary.records > 0 {
            out.warn(format!(
                "{}: {why}; it is syslog text and was read as such",
                log.display
            ));
            summary.notes.push("read as syslog text".into());
        } else {
            out.warn(format!("{}: {why}", log.display));
        }
        summary.parse_error = Some(why);
        if let Some(e) = err {
            out.error(format!("{}: {e}", log.display));
        }
        out.record(Record::Journal(JournalRecord::JournalFile(summary)))?;
        Ok(())
    }
}

fn read_up_to(r: &mut dyn Read, buf: &mut [u8]) -> usize {
    let mut got = 0;
    while got < buf.len() {
        match r.read(&mut buf[got..]) {
            Ok(0) | Err(_) => break,
            Ok(n) => got += n,
        }
    }
    got
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_and_names() {
        let o: JournalOptions = toml::from_str("all_entries = false").unwrap();
        assert!(!o.all_entries);
        assert!(toml::from_str::<JournalOptions>("dir = []").is_err());
        assert!(is_journal_name("system@abc-1.journal~"));
        assert!(!is_journal_name("system.journal.gz"));
    }
}
