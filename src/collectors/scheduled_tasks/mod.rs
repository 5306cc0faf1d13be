//! `scheduled_tasks`: everything scheduled to run, on both OSes, as one record shape
//! ([`ScheduledTaskRecord`], told apart by `kind`). ATT&CK T1053 (.002 At, .003 Cron,
//! .005 Scheduled Task, .006 Systemd Timers).
//!
//! Windows (`windows.rs`): every file under `C:\Windows\System32\Tasks` at any depth (Task
//! Scheduler XML, parsed with `parsers::task_xml`), and legacy `C:\Windows\Tasks\*.job`
//! (`parsers::task_job`). Linux/Unix (`unix.rs`, `systemd.rs`): `/etc/crontab`,
//! `/etc/cron.d/*`, the scripts in `/etc/cron.{hourly,daily,weekly,monthly}/`, user crontabs
//! (`/var/spool/cron/crontabs/*`, `/var/spool/cron/*`, `/var/cron/tabs/*`), `/etc/anacrontab`,
//! at jobs (`/var/spool/cron/atjobs/*`, `/var/spool/at/*`), and systemd timers in the system
//! and user unit directories (including every user's `~/.config/systemd/user`), each joined to
//! the service it activates.
//!
//! What we record: one record per task, job line, script or timer: what runs (`actions`, each
//! with a full unexpanded `command_line`), as whom, when (`schedule` in words plus typed
//! `triggers`), enabled/hidden where the format says, and the evidence: source path, archive
//! member and SHA-256 of the raw file (every source file is copied), line number and raw line
//! for cron-like sources. A file that cannot be parsed is still copied, hashed and recorded
//! (`parse_status`), and counts as one error; the rest go on.
//!
//! `--since` is deliberately ignored: a task registered years ago still runs tomorrow, so no
//! scheduled item is ever dropped for its age.
//!
//! References: [MS-TSCH] 2.4/2.5; crontab(5), anacrontab(5), at(1); systemd.timer(5),
//! systemd.unit(5).

mod at;
mod jobs;
mod systemd;
mod systemd_schedule;
mod unix;
mod windows;

use super::{CollectError, Collector, Context};
use crate::record::{Record, ScheduledTaskRecord};
use crate::sink::{FileOutcome, FileRequest, Sink};
use crate::source::{DirEntry, FileMeta, OpenedFile, OsFamily, SourceError};
use crate::units::ByteSize;
use serde::Deserialize;
use std::path::Path;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ScheduledTasksOptions {
    /// Each source file (task, crontab, unit, script) is copied into the archive up to this
    /// size; the whole file is hashed regardless.
    pub max_copy_size: ByteSize,
    /// At most this much of each file is parsed (real task files and crontabs are a few KiB;
    /// a bigger one is parsed as far as this and the rest is reported).
    pub max_parse_size: ByteSize,
    /// Longest raw line or command line kept in a record; longer ones are cut and flagged
    /// (the raw copy in the archive has everything).
    pub max_field_length: ByteSize,
}

impl Default for ScheduledTasksOptions {
    fn default() -> Self {
        ScheduledTasksOptions {
            max_copy_size: ByteSize(16 << 20),
            max_parse_size: ByteSize(4 << 20),
            max_field_length: ByteSize(64 << 10),
        }
    }
}

pub struct ScheduledTasks {
    opts: ScheduledTasksOptions,
}

impl ScheduledTasks {
    pub fn new(opts: ScheduledTasksOptions) -> ScheduledTasks {
        ScheduledTasks { opts }
    }
}

impl Collector for ScheduledTasks {
    fn collect(&self, ctx: &Context, out: &mut dyn Sink) -> Result<(), CollectError> {
        let mut run = Run {
            ctx,
            out,
            opts: &self.opts,
            stop_noted: false,
        };
        match ctx.fs.os() {
            OsFamily::Windows => {
                windows::collect(&mut run)?;
                jobs::collect(&mut run)
            }
            OsFamily::Linux | OsFamily::Other => {
                unix::collect(&mut run)?;
                at::collect(&mut run)?;
                systemd::collect(&mut run)
            }
        }
    }
}

/// Parser warnings kept per record (a hostile file could produce hundreds).
pub(super) const MAX_WARNINGS: usize = 64;

/// A file read once through the sink: hashed, copied, and its first bytes kept for parsing.
pub(super) struct Ingested {
    pub display: String,
    pub meta: FileMeta,
    pub outcome: FileOutcome,
    /// uid/owner mean something: a Unix evidence, not a Windows image mounted on the
    /// analyst's machine (whose uids are the analyst's).
    unix_owner: bool,
}

impl Ingested {
    /// Fill a record's evidence pointer from this file.
    pub fn fill(&self, rec: &mut ScheduledTaskRecord) {
        rec.archive_member = self.outcome.member.clone();
        rec.sha256 = self.outcome.sha256;
        rec.file_size = Some(self.meta.size);
        rec.file_mtime = self.meta.mtime;
        if self.unix_owner {
            rec.file_owner = self.meta.owner.clone();
            rec.file_uid = self.meta.uid;
        }
    }

    /// Why the parsed bytes are not the whole file, if they are not.
    pub fn incomplete(&self) -> Option<String> {
        if self.outcome.kept_complete {
            return None;
        }
        Some(match &self.outcome.read_error {
            Some(e) => format!(
                "{}: {e}; parsed the {} bytes read",
                self.display,
                self.outcome.kept.len()
            ),
            None => format!(
                "{}: {} bytes, only the first {} were parsed (max_parse_size)",
                self.display,
                self.outcome.bytes_read,
                self.outcome.kept.len()
            ),
        })
    }
}

/// One collection pass: the context, the sink and the options, with the shared chores.
pub(super) struct Run<'a, 'c> {
    pub ctx: &'a Context<'c>,
    pub out: &'a mut dyn Sink,
    pub opts: &'a ScheduledTasksOptions,
    stop_noted: bool,
}

impl Run<'_, '_> {
    /// True once the run must end (signal or deadline); says so once.
    pub fn stopped(&mut self) -> bool {
        match self.ctx.cancel.should_stop() {
            Some(reason) => {
                if !self.stop_noted {
                    self.stop_noted = true;
                    self.out.warn(format!(
                        "stopped early ({reason:?}): the remaining scheduled items were not collected"
                    ));
                }
                true
            }
            None => false,
        }
    }

    pub fn display(&self, logical: &Path) -> String {
        self.ctx.fs.display_path(logical)
    }

    /// The error text, with the likely reason when access was refused.
    pub fn explain(&self, e: &SourceError) -> String {
        if e.is_permission_denied() && !self.ctx.elevated {
            format!("{e} (not elevated: run irsnap as root/Administrator to read it)")
        } else {
            e.to_string()
        }
    }

    /// Entries of a directory sorted by name (stable output). A missing directory is normal
    /// (`None`, silently); one that cannot be read is an error.
    pub fn list_dir(&mut self, logical: &Path) -> Option<Vec<DirEntry>> {
        match self.ctx.fs.read_dir(logical) {
            Ok(mut v) => {
                v.sort_by(|a, b| a.name.cmp(&b.name));
                Some(v)
            }
            Err(e) if e.is_not_found() => None,
            Err(e) if is_not_a_dir(&e) => {
                let shown = self.display(logical);
                self.out.warn(format!(
                    "{shown}: expected a directory, found something else"
                ));
                None
            }
            Err(e) => {
                let msg = format!(
                    "{}: cannot list: {}",
                    self.display(logical),
                    self.explain(&e)
                );
                self.out.error(msg);
                None
            }
        }
    }

    /// Open, hash, copy and keep the first `max_parse_size` bytes of one file. `None` when it
    /// could not be opened (already reported: vanished files are a warning, refusals an error).
    pub fn ingest(&mut self, logical: &Path) -> Result<Option<Ingested>, CollectError> {
        let keep = self.parse_keep();
        self.ingest_keep(logical, keep)
    }

    pub fn ingest_keep(
        &mut self,
        logical: &Path,
        keep: usize,
    ) -> Result<Option<Ingested>, CollectError> {
        match self.try_ingest(logical, keep)? {
            Ok(i) => Ok(Some(i)),
            Err(e) => {
                self.report_open_error(logical, &e);
                Ok(None)
            }
        }
    }

    /// Report why a file could not be opened: vanished files and things that are not regular
    /// files are warnings, refusals and I/O failures are errors.
    pub fn report_open_error(&mut self, logical: &Path, e: &SourceError) {
        let display = self.display(logical);
        match e {
            e if e.is_not_found() => self
                .out
                .warn(format!("{display}: vanished before it could be read")),
            SourceError::NotRegular { .. } | SourceError::SymlinkOutOfScope { .. } => {
                self.out.warn(format!("{display}: skipped: {e}"))
            }
            e => {
                let msg = format!("{display}: cannot open: {}", self.explain(e));
                self.out.error(msg);
            }
        }
    }

    /// Open and stream one file through the sink; the open error is handed back unreported.
    pub fn try_ingest(
        &mut self,
        logical: &Path,
        keep: usize,
    ) -> Result<Result<Ingested, SourceError>, CollectError> {
        match self.ctx.fs.open(logical) {
            Ok(f) => Ok(Ok(self.stream(logical, f, keep)?)),
            Err(e) => Ok(Err(e)),
        }
    }

    /// Hash, copy and keep the head of a file already opened.
    pub fn stream(
        &mut self,
        logical: &Path,
        mut opened: OpenedFile,
        keep: usize,
    ) -> Result<Ingested, CollectError> {
        let display = self.display(logical);
        let meta = opened.meta.clone();
        let req = FileRequest {
            display: display.clone(),
            logical,
            meta: &meta,
            copy: true,
            copy_cap: self.opts.max_copy_size.0,
            keep,
            member_name: None,
            keep_tail: false,
        };
        let outcome = self.out.file(&req, &mut opened.file)?;
        Ok(Ingested {
            display,
            meta,
            outcome,
            unix_owner: self.ctx.fs.os() != OsFamily::Windows,
        })
    }

    pub fn parse_keep(&self) -> usize {
        usize::try_from(self.opts.max_parse_size.0).unwrap_or(usize::MAX)
    }

    pub fn emit(&mut self, rec: ScheduledTaskRecord) -> Result<(), CollectError> {
        self.out.record(Record::ScheduledTask(rec))?;
        Ok(())
    }

    pub fn field_max(&self) -> usize {
        usize::try_from(self.opts.max_field_length.0)
            .unwrap_or(usize::MAX)
            .max(256)
    }

    /// `s` cut to the field limit on a character boundary; true when something was cut.
    pub fn clip(&self, s: &str) -> (String, bool) {
        clip(s, self.field_max())
    }
}

fn is_not_a_dir(e: &SourceError) -> bool {
    // ENOTDIR has no stable ErrorKind on every toolchain we build with; the raw code does.
    matches!(e, SourceError::Io { cause, .. } if cause.raw_os_error() == Some(20))
}

pub(super) fn clip(s: &str, max: usize) -> (String, bool) {
    if s.len() <= max {
        return (s.to_string(), false);
    }
    let mut end = max;
    while end > 0 && !s.is_char_boundary(end) {
        end -= 1;
    }
    (s.get(..end).unwrap_or("").to_string(), true)
}

/// Join an argument vector into one command line, quoting words the way systemd and sh read
/// them back (double quotes, `\"` and `\\` escaped). `$` is left bare: systemd expands
/// `$VAR` in unquoted and quoted words alike, and rules match `$VAR` as written.
pub(super) fn join_argv<'s>(words: impl IntoIterator<Item = &'s str>) -> String {
    let mut out = String::new();
    for w in words {
        if !out.is_empty() {
            out.push(' ');
        }
        let plain = !w.is_empty()
            && !w
                .chars()
                .any(|c| c.is_whitespace() || "\"'\\;*?[]{}()<>|&#~`".contains(c));
        if plain {
            out.push_str(w);
        } else {
            out.push('"');
            for c in w.chars() {
                if matches!(c, '"' | '\\') {
                    out.push('\\');
                }
                out.push(c);
            }
            out.push('"');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clip_respects_char_boundaries() {
        let (s, cut) = clip("ééé", 3);
        assert_eq!(s, "é");
        assert!(cut);
        assert_eq!(clip("abc", 10), ("abc".to_string(), false));
    }

    #[test]
    fn argv_join_quotes_only_when_needed() {
        assert_eq!(
            join_argv(["/bin/sh", "-c", "echo \"$(date)\" >>/tmp/log", ""]),
            r#"/bin/sh -c "echo \"$(date)\" >>/tmp/log" """#
        );
    }
}
