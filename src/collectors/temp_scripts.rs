//! `temp_scripts`: recent scripts and executables where attackers stage them.
//!
//! Where: Linux `/tmp`, `/var/tmp`, `/dev/shm`, `/run/user/*` and each user's `~/Downloads`
//! (recursive, with a depth cap). Windows `C:\Windows\Temp`, each profile's
//! `AppData\Local\Temp` and `Downloads` (recursive), the top levels of `AppData\Roaming`,
//! `AppData\Local` and `C:\ProgramData`, and `C:\Users\Public` (recursive).
//!
//! What we select: files whose extension is in the profile's list, or whose first bytes are a
//! `#!` line, `MZ`, `\x7fELF` or a shortcut header (a renamed payload is still found); FIFOs
//! (`mkfifo /tmp/f; cat /tmp/f | sh -i | nc ...`) and device nodes by their type alone;
//! symlinks and sockets only when their name matches (never followed, never opened). Only
//! files with an mtime, ctime or birth time inside the window (`--since`, else the profile's
//! `window`) are kept: a timestomped mtime does not hide a file whose ctime is recent.
//!
//! What we record: path, owner, mode, every timestamp, type, why it was selected, the first
//! line of a script, the SHA-256 of the whole file, and a copy up to a per-file cap until the
//! collector's copy budget is spent (then hash only). Each file is read once: the 4 KiB used
//! to identify it are replayed into the sink ahead of the rest.
//!
//! The walk (`walk.rs`) never follows links, stays on one file system, visits each directory
//! once and skips irsnap's own output. Reference: ATT&CK T1059, T1204.002, T1105; guidance
//! "execution from temp and user-writable paths".

mod detect;
mod places;

use super::walk::{Event, Found, Problem, WalkLimits, Walker};
use super::{CollectError, Collector, Context};
use crate::record::{DetectedType, Record, Selection, TempFileRecord, TimeField, Timestamp};
use crate::sink::{FileRequest, Sink};
use crate::source::{FileMeta, FileType, OsFamily, SourceError};
use crate::units::ByteSize;
use places::{Place, extension_of, places, raw_path_b64, recent_by};
use serde::Deserialize;
use std::io::Read;
use std::ops::ControlFlow;
use std::time::Duration;

/// How far back the time window reaches when `--since` is not given: a duration (`30d`,
/// `12h`) or `"off"` for no time filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window(pub Option<Duration>);

impl<'de> Deserialize<'de> for Window {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        if s.trim().eq_ignore_ascii_case("off") {
            return Ok(Window(None));
        }
        crate::units::parse_duration(&s)
            .map(|d| Window(Some(d)))
            .map_err(serde::de::Error::custom)
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TempScriptsOptions {
    /// Time window when `--since` is not given (`"30d"`; `"off"` keeps files of any age).
    pub window: Window,
    /// Timestamps that can put a file inside the window. On a folder *copied* from an image
    /// (not mounted) ctime and btime are the copy's, so `["mtime"]` may suit it better.
    pub window_times: Vec<TimeField>,
    /// Depth cap for the recursive places (1 = only files directly in the place).
    pub max_depth: usize,
    /// Entries listed per place before giving up on it (an error says so).
    pub max_entries: u64,
    /// Descend into other file systems mounted below a place.
    pub cross_mounts: bool,
    /// Extensions that select a file (lower case, no dot); replaces the built-in list.
    pub extensions: Vec<String>,
    /// At most this much of one file is copied; the whole file is still hashed.
    pub max_file_copy: ByteSize,
    /// Once this much was copied in total, further files are hashed and listed only.
    pub max_total_copy: ByteSize,
    /// More places to walk (logical paths such as `/var/www/uploads`), recursively.
    pub extra_paths: Vec<String>,
}

impl Default for TempScriptsOptions {
    fn default() -> Self {
        TempScriptsOptions {
            window: Window(Some(Duration::from_secs(30 * 86_400))),
            window_times: vec![TimeField::Mtime, TimeField::Ctime, TimeField::Btime],
            max_depth: 12,
            max_entries: 200_000,
            cross_mounts: false,
            extensions: detect::DEFAULT_EXTENSIONS
                .iter()
                .map(|s| s.to_string())
                .collect(),
            max_file_copy: ByteSize(32 << 20),
            max_total_copy: ByteSize(512 << 20),
            extra_paths: Vec::new(),
        }
    }
}

pub struct TempScripts {
    opts: TempScriptsOptions,
}

impl TempScripts {
    pub fn new(opts: TempScriptsOptions) -> TempScripts {
        TempScripts { opts }
    }
}

/// The walk's state for one run: budgets, and the facts every record shares.
struct Run<'a, 'c> {
    ctx: &'a Context<'c>,
    opts: &'a TempScriptsOptions,
    since: Option<Timestamp>,
    copied_total: u64,
    budget_warned: bool,
    too_deep: u64,
    elevated: bool,
}

impl Collector for TempScripts {
    fn collect(&self, ctx: &Context, out: &mut dyn Sink) -> Result<(), CollectError> {
        let since = ctx.since.or_else(|| {
            let w = chrono::Duration::from_std(self.opts.window.0?).ok()?;
            chrono::Utc::now().checked_sub_signed(w)
        });
        let mut walker = Walker::new(ctx.fs, &ctx.exclude, ctx.cancel);
        let mut run = Run {
            ctx,
            opts: &self.opts,
            since,
            copied_total: 0,
            budget_warned: false,
            too_deep: 0,
            elevated: ctx.elevated,
        };
        let mut failure: Option<CollectError> = None;
        for place in places(ctx.fs, &self.opts) {
            let limits = WalkLimits {
                max_depth: place.depth,
                cross_mounts: self.opts.cross_mounts,
                max_entries: self.opts.max_entries,
            };
            run.too_deep = 0;
            let location = ctx.fs.display_path(&place.path);
            let flow = walker.walk(&place.path, &limits, &mut |ev| {
                if ctx.cancel.should_stop().is_some() {
                    return ControlFlow::Break(());
                }
                let r = match ev {
                    Event::Found(f) => run.found(f, &place, &location, out),
                    Event::Problem(p) => {
                        run.problem(p, place.depth, out);
                        Ok(())
                    }
                };
                match r {
                    Ok(()) => ControlFlow::Continue(()),
                    Err(e) => {
                        failure = Some(e);
                        ControlFlow::Break(())
                    }
                }
            });
            if let Some(e) = failure {
                return Err(e);
            }
            if run.too_deep > 0 {
                out.warn(format!(
                    "{location}: {} directories below the depth limit ({}) not entered",
                    run.too_deep, place.depth
                ));
            }
            if flow.is_break() {
                break;
            }
        }
        Ok(())
    }
}

impl Run<'_, '_> {
    fn problem(&mut self, p: Problem, depth: usize, out: &mut dyn Sink) {
        let source = self.ctx.fs;
        let show = |p: &std::path::Path| source.display_path(p);
        match &p {
            // "Top level only" places have subdirectories by design: not worth a word.
            Problem::TooDeep { .. } if depth <= 1 => {}
            Problem::TooDeep { .. } => self.too_deep += 1,
            Problem::Unreadable { error, .. } => {
                let hint = if error.is_permission_denied() && !self.elevated {
                    " (irsnap is not elevated)"
                } else {
                    ""
                };
                out.error(format!("{}{hint}", p.message(&show)));
            }
            Problem::TooManyEntries { .. } => out.error(p.message(&show)),
            _ => out.warn(p.message(&show)),
        }
    }

    fn found(
        &mut self,
        f: Found,
        place: &Place,
        location: &str,
        out: &mut dyn Sink,
    ) -> Result<(), CollectError> {
        let Some(recent) = recent_by(&f.meta, self.since, &self.opts.window_times) else {
            return Ok(());
        };
        let ext = extension_of(&f.name);
        let by_ext = ext.as_deref().is_some_and(|e| {
            self.opts
                .extensions
                .iter()
                .any(|x| x.eq_ignore_ascii_case(e))
        });
        let mut rec = self.base_record(&f, place, location, ext.clone(), recent);
        let special = match f.meta.file_type {
            FileType::Regular => None,
            FileType::Symlink if by_ext => {
                Some((DetectedType::Symlink, vec![Selection::Extension]))
            }
            FileType::Socket if by_ext => Some((DetectedType::Socket, vec![Selection::Extension])),
            FileType::Fifo => Some((DetectedType::Fifo, selection(by_ext, false, true))),
            FileType::CharDevice | FileType::BlockDevice => {
                Some((DetectedType::Device, selection(by_ext, false, true)))
            }
            _ => return Ok(()),
        };
        if let Some((kind, sel)) = special {
            rec.detected_type = kind;
            rec.selected_by = sel;
            if kind == DetectedType::Symlink {
                rec.link_target = match self.ctx.fs.read_link(&f.path) {
                    Ok(t) => Some(t.to_string_lossy().into_owned()),
                    Err(e) => {
                        out.warn(format!("{}: {e}", rec.path));
                        None
                    }
                };
            }
            rec.not_copied_reason = Some("not a regular file; never opened".into());
            out.record(Record::TempFile(rec))?;
            return Ok(());
        }
        self.regular(f, rec, ext.as_deref(), by_ext, out)
    }

    fn regular(
        &mut self,
        f: Found,
        mut rec: TempFileRecord,
        ext: Option<&str>,
        by_ext: bool,
        out: &mut dyn Sink,
    ) -> Result<(), CollectError> {
        let source = self.ctx.fs;
        let mut opened = match source.open(&f.path) {
            Ok(o) => o,
            Err(e) => {
                if e.is_not_found() {
                    out.warn(format!("{}: deleted during the walk", rec.path));
                } else if matches!(e, SourceError::NotRegular { .. }) {
                    out.warn(format!("{}: replaced during the walk: {e}", rec.path));
                } else {
                    out.error(format!("{}: {e}", rec.path));
                }
                // Selected by its name: the record stands, without content.
                if by_ext {
                    rec.detected_type = ext
                        .and_then(detect::type_for_extension)
                        .unwrap_or(DetectedType::Unknown);
                    rec.selected_by = vec![Selection::Extension];
                    rec.error = Some(e.to_string());
                    rec.not_copied_reason = Some("could not be opened".into());
                    out.record(Record::TempFile(rec))?;
                }
                return Ok(());
            }
        };
        let mut head = Vec::with_capacity(detect::HEAD_LEN as usize);
        if let Err(e) = (&mut opened.file)
            .take(detect::HEAD_LEN)
            .read_to_end(&mut head)
        {
            out.error(format!("{}: read error: {e}", rec.path));
            rec.error = Some(format!("read error: {e}"));
        }
        let sniffed = detect::sniff(&head);
        if sniffed.is_none() && !by_ext {
            return Ok(());
        }
        rec.selected_by = selection(by_ext, sniffed.is_some(), false);
        let (kind, interpreter) = match sniffed {
            Some((k, i)) => (k, i),
            None => (
                ext.and_then(detect::type_for_extension)
                    .unwrap_or(DetectedType::Unknown),
                None,
            ),
        };
        rec.detected_type = kind;
        rec.interpreter = interpreter;
        if detect::is_script(kind) {
            rec.first_line = detect::first_line(&head);
        }
        self.fill_from_open(&mut rec, &opened.meta);
        if rec.error.is_some() {
            out.record(Record::TempFile(rec))?;
            return Ok(());
        }

        let budget = self.opts.max_total_copy.0.saturating_sub(self.copied_total);
        let copy = budget > 0;
        if !copy && !self.budget_warned {
            self.budget_warned = true;
            out.warn(format!(
                "copy budget (max_total_copy, {} bytes) spent: further files are hashed only",
                self.opts.max_total_copy.0
            ));
        }
        let req = FileRequest {
            display: rec.path.clone(),
            logical: &f.path,
            meta: &opened.meta,
            copy,
            copy_cap: self.opts.max_file_copy.0.min(budget),
            keep: 0,
            member_name: None,
            keep_tail: false,
        };
        let mut reader = std::io::Cursor::new(head).chain(&mut opened.file);
        let o = out.file(&req, &mut reader)?;
        self.copied_total = self.copied_total.saturating_add(o.copied);
        rec.sha256 = o.sha256;
        rec.bytes_hashed = o.bytes_read;
        rec.archive_member = o.member;
        rec.copied = rec.archive_member.is_some();
        rec.copied_bytes = o.copied;
        rec.truncated = o.truncated;
        if !copy {
            rec.not_copied_reason = Some("total copy budget spent".into());
        } else if let Some(why) = o.copy_skipped {
            // The archive-wide budget (profile cap or output volume) stopped this copy.
            rec.not_copied_reason = Some(why);
        }
        if let Some(e) = o.read_error {
            rec.error = Some(e);
        } else if o.bytes_read != opened.meta.size {
            let msg = format!(
                "size changed while reading: {} bytes at open, {} read",
                opened.meta.size, o.bytes_read
            );
            out.warn(format!("{}: {msg}", rec.path));
            rec.error = Some(msg);
        }
        out.record(Record::TempFile(rec))?;
        Ok(())
    }

    fn base_record(
        &self,
        f: &Found,
        place: &Place,
        location: &str,
        extension: Option<String>,
        recent_by: Vec<TimeField>,
    ) -> TempFileRecord {
        let mut rec = TempFileRecord {
            path: self.ctx.fs.display_path(&f.path),
            path_raw_b64: raw_path_b64(&f.path),
            location: location.to_string(),
            user: place.user.clone(),
            depth: f.depth,
            file_type: f.meta.file_type,
            detected_type: DetectedType::Unknown,
            selected_by: Vec::new(),
            extension,
            size: 0,
            mtime: None,
            atime: None,
            ctime: None,
            btime: None,
            recent_by,
            uid: None,
            gid: None,
            owner: None,
            mode: None,
            sha256: None,
            bytes_hashed: 0,
            archive_member: None,
            copied: false,
            copied_bytes: 0,
            truncated: false,
            not_copied_reason: None,
            interpreter: None,
            first_line: None,
            link_target: None,
            error: None,
        };
        self.fill_from_open(&mut rec, &f.meta);
        rec
    }

    /// Metadata into the record; for a regular file the opened handle's, which is the file
    /// that was actually read.
    fn fill_from_open(&self, rec: &mut TempFileRecord, m: &FileMeta) {
        rec.size = m.size;
        rec.mtime = m.mtime;
        rec.atime = m.atime;
        rec.ctime = m.ctime;
        rec.btime = m.btime;
        // On Windows evidence, Unix ownership and modes are the analyst's mount's, not the
        // evidence's: leave them out rather than mislead.
        if self.ctx.fs.os() != OsFamily::Windows {
            rec.uid = m.uid;
            rec.gid = m.gid;
            rec.owner = m.owner.clone();
            rec.mode = m.mode.map(|m| format!("{:04o}", m & 0o7777));
        }
    }
}

fn selection(by_ext: bool, by_content: bool, by_type: bool) -> Vec<Selection> {
    let mut v = Vec::new();
    if by_ext {
        v.push(Selection::Extension);
    }
    if by_content {
        v.push(Selection::Content);
    }
    if by_type {
        v.push(Selection::FileType);
    }
    v
}

#[cfg(all(test, unix))]
mod tests;
