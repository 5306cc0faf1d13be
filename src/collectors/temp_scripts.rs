//! `temp_scripts`: recent scripts and executables where attackers stage them.
//!
//! Where: Linux `/tmp`, `/var/tmp`, `/dev/shm`, `/run/user/*` and each user's `~/Downloads`
//! (recursive, with a depth cap). Windows `C:\Windows\Temp`, each profile's
//! `AppData\Local\Temp` and `Downloads` (recursive), the top levels of `AppData\Roaming`,
//! `AppData\Local` and `C:\ProgramData`, and `C:\Users\Public` (recursive).
//!
//! What we select: files whose extension is in the profile's list, or whose first bytes are a
//! `#!` line, `MZ`, `\x7fELF` or a shortcut header (a renamed payload is still found: an ELF
//! named `.bin`, which is no script extension); FIFOs (`mkfifo /tmp/f; cat /tmp/f | sh -i |
//! nc ...`) and device nodes by their type alone; symlinks and sockets only when their name
//! matches (never followed, never opened). Only files with an mtime, ctime or birth time
//! inside the window (`--since`, else the profile's `window`) are kept: a timestomped mtime
//! does not hide a file whose ctime is recent.
//!
//! Package and build trees (`trees.rs`): a Python virtualenv, `site-packages` /
//! `dist-packages`, `__pycache__`, `node_modules`, a Cargo `target/`, a `.git`, a Go module
//! cache or a Maven `.m2` met *below* a place (never a place itself) is not walked file by
//! file but summarised in one record (`detected_type = package_tree`: its kind, file and
//! directory counts, total size, newest mtime and ctime, settled time, and the files that do
//! not belong to its layout), unless the profile says `package_trees = "walk"`. A tree of at
//! most 100 files is walked like any directory. Inside a summarised tree every entry is still
//! listed and `lstat`ed (up to `max_tree_entries` entries and 64 directories deep; a capped
//! count says so), and a file is *foreign* (listed in the summary, at most 256 per tree, and
//! when inside the window also collected like any staged file, with `out_of_place` in its
//! `selected_by`) when it is:
//! - a FIFO or a device node;
//! - an active git hook (`.git/hooks/*` not named `*.sample`), whatever its content;
//! - directly at the tree's top (for a virtualenv also directly in its `site-packages`) and
//!   selected by the ordinary rules above (name, type, first bytes: these files are opened),
//!   unless its extension is what the layout puts there (`py`, `pyc`, `pyi`, `pyd`, `so`,
//!   `pth` at the top of `site-packages`; `pyc` in `__pycache__`; nothing at the other tops);
//! - script-like (a listed extension or an execute bit; in a Cargo `target/`, where every
//!   build writes executables, a script extension only) and changed (newest of
//!   `window_times`) more than `tree_change_gap` after the tree's settled time, the time by
//!   which nine in ten of its files had last changed (estimated from a sample).
//!
//! Nothing else in a summarised tree is opened, hashed or copied: a payload planted deep in
//! a tree without an execute bit or a script extension, or under a layout extension at the
//! time the tree was written (or in a fake tree built at once and padded past 100 files), is
//! not found. `package_trees = "walk"` walks such trees like any directory.
//!
//! Budgets (`rank.rs`): candidates are ranked scripts and executables first (with FIFOs,
//! device nodes and trees holding foreign files), then the shallowest, then the newest. The
//! walk keeps the best `max_files` of them in a bounded heap of compact entries and counts
//! the rest (an error says how many and why); the kept ones are then collected best first, so
//! the copy budget (`max_total_copy`), the run's record budget and a deadline cut the least
//! interesting. The walk is breadth-first, so the entry cap (`max_entries`) cuts the deepest
//! part of a place.
//!
//! What we record: path, owner, mode, every timestamp, type, why it was selected, the first
//! line of a script, the SHA-256 of the whole file, and a copy up to a per-file cap until the
//! collector's copy budget is spent (then hash only). A file is read once to be collected: the
//! 4 KiB used to identify it are replayed into the sink ahead of the rest (a file whose name
//! does not select it was opened once before, during the walk, for its first 8 bytes).
//!
//! The walk (`walk.rs`) never follows links, stays on one file system, visits each directory
//! once, never holds a whole huge directory listing, and skips irsnap's own output.
//! Reference: ATT&CK T1059, T1204.002, T1105; guidance "execution from temp and user-writable
//! paths".

mod detect;
mod emit;

// `irsnap hunt` judges the copied scripts of an archive the way a collection judged them.
pub(crate) use detect::is_script;
pub(crate) use emit::script_text;
mod layout;
mod places;
mod rank;
mod select;
mod trees;

use super::walk::{CONTINUE, Event, Flow, Found, Problem, WalkLimits, Walker};
use super::{CollectError, Collector, Context};
use crate::record::{FileMeta, Selection, TempFileRecord, TimeField, Timestamp};
use crate::sink::Sink;
use crate::source::{FileType, OsFamily};
use crate::units::ByteSize;
use places::{Place, extension_of, places, raw_path_b64, recent_by};
use rank::{Candidate, Kept, Recent, What};
use select::Selected;
use serde::Deserialize;
use std::ops::ControlFlow;
use std::path::Path;
use std::time::Duration;

/// How far back the time window reaches when `--since` is not given: a duration (`30d`,
/// `12h`) or `"off"` for no time filter. `tree_change_gap` is written the same way.
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

/// What to do with a package or build tree met in a place.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PackageTrees {
    /// One summary record per tree, plus its foreign files (see the module comment).
    Summarize,
    /// Walk it like any directory: every file in it is judged (and may be copied).
    Walk,
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
    /// Entries listed per place before giving up on it (an error says so). The entries of a
    /// summarised package tree count against `max_tree_entries` instead.
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
    /// Package and build trees: `"summarize"` (one record each) or `"walk"`.
    pub package_trees: PackageTrees,
    /// Candidates kept (best first, see the module comment); the rest are counted.
    pub max_files: u64,
    /// Entries counted per summarised tree before its summary says it is capped.
    pub max_tree_entries: u64,
    /// A script-like file of a summarised tree that changed this long after the tree settled
    /// is reported as foreign (`"off"`: no such rule).
    pub tree_change_gap: Window,
    /// The first bytes of each script read by detection (its rules run over the text: a
    /// staged `evil.sh` holding a reverse shell is a finding, not only "a script in /tmp").
    pub scan_bytes_per_file: ByteSize,
    /// Script text detection reads in all; past it scripts are collected, not scanned, and
    /// the count is logged.
    pub max_scan_bytes: ByteSize,
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
            package_trees: PackageTrees::Summarize,
            max_files: 100_000,
            max_tree_entries: 1_000_000,
            tree_change_gap: Window(Some(Duration::from_secs(3600))),
            scan_bytes_per_file: ByteSize(64 << 10),
            max_scan_bytes: ByteSize(64 << 20),
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

/// One collection: what the walk keeps, budgets, and the facts every record shares.
struct Run<'a, 'c> {
    ctx: &'a Context<'c>,
    opts: &'a TempScriptsOptions,
    since: Option<Timestamp>,
    places: Vec<Place>,
    /// Each place as the evidence's OS writes it.
    locations: Vec<String>,
    kept: Kept<Candidate>,
    too_deep: u64,
    elevated: bool,
    copied_total: u64,
    /// Files hashed but not copied because `max_total_copy` was spent.
    not_copied: u64,
    /// Script text handed to detection so far, and the scripts left unscanned past the cap.
    scanned_bytes: u64,
    not_scanned: u64,
}

impl Collector for TempScripts {
    fn collect(&self, ctx: &Context, out: &mut dyn Sink) -> Result<(), CollectError> {
        let since = ctx.since.or_else(|| {
            let w = chrono::Duration::from_std(self.opts.window.0?).ok()?;
            chrono::Utc::now().checked_sub_signed(w)
        });
        let places = places(ctx.fs, &self.opts);
        let mut run = Run {
            ctx,
            opts: &self.opts,
            since,
            locations: places
                .iter()
                .map(|p| ctx.fs.display_path(&p.path))
                .collect(),
            places,
            kept: Kept::new(self.opts.max_files),
            too_deep: 0,
            elevated: ctx.elevated,
            copied_total: 0,
            not_copied: 0,
            scanned_bytes: 0,
            not_scanned: 0,
        };
        run.walk_places(out);
        let dropped = run.kept.dropped;
        if dropped > 0 {
            out.cut(format!(
                "{dropped} more candidates than max_files ({}) were not collected: kept were \
                 scripts and executables first, then the shallowest, then the newest",
                self.opts.max_files
            ));
        }
        // Best first, so that whatever cuts this (the copy budget, the run's record budget,
        // a deadline) cuts the least interesting.
        let mut ranked = std::mem::replace(&mut run.kept, Kept::new(0)).into_ranked();
        let total = ranked.len();
        // Taken from the end (best last), so the vector can give its memory back as it
        // empties: the records, the timeline and the staged-file index grow meanwhile.
        ranked.reverse();
        for i in 0..total {
            let Some(c) = ranked.pop() else {
                break;
            };
            if i % 8192 == 8191 && ranked.capacity() > 2 * ranked.len() {
                ranked.shrink_to_fit();
            }
            if ctx.cancel.should_stop().is_some() {
                out.warn(format!(
                    "{} of {total} candidates not collected: the run was cut short",
                    total - i
                ));
                break;
            }
            run.collect_one(c, out)?;
        }
        if run.not_scanned > 0 {
            out.warn(format!(
                "script text budget (max_scan_bytes, {} bytes) spent: {} scripts collected \
                 but their text not read by detection",
                self.opts.max_scan_bytes.0, run.not_scanned
            ));
        }
        if run.not_copied > 0 {
            out.cut(format!(
                "copy budget (max_total_copy, {} bytes) spent: {} files hashed and listed, not \
                 copied (the best-ranked were copied first)",
                self.opts.max_total_copy.0, run.not_copied
            ));
        }
        Ok(())
    }
}

impl Run<'_, '_> {
    /// Phase one: walk every place, keeping the best candidates.
    fn walk_places(&mut self, out: &mut dyn Sink) {
        let ctx = self.ctx;
        let mut walker = Walker::new(ctx.fs, &ctx.exclude, ctx.cancel);
        for index in 0..self.places.len() {
            let place = self.places[index].clone();
            let limits = WalkLimits {
                max_depth: place.depth,
                cross_mounts: self.opts.cross_mounts,
                max_entries: self.opts.max_entries,
            };
            self.too_deep = 0;
            let flow = walker.walk(&place.path, &limits, &mut |ev| {
                if ctx.cancel.should_stop().is_some() {
                    return ControlFlow::Break(());
                }
                match ev {
                    Event::Listed { dir, depth, names } => {
                        self.listed(dir, depth, names, index, out)
                    }
                    Event::Found(f) => {
                        self.found(f, index, out);
                        CONTINUE
                    }
                    Event::Problem(p) => {
                        self.problem(p, place.depth, out);
                        CONTINUE
                    }
                }
            });
            if self.too_deep > 0 {
                out.warn(format!(
                    "{}: {} directories below the depth limit ({}) not entered",
                    self.locations[index], self.too_deep, place.depth
                ));
            }
            if flow.is_break() {
                break;
            }
        }
    }

    /// A directory below a place was listed: a package tree is summarised instead of walked.
    fn listed(
        &mut self,
        dir: &Path,
        depth: usize,
        names: &[std::ffi::OsString],
        place: usize,
        out: &mut dyn Sink,
    ) -> Flow {
        if self.opts.package_trees == PackageTrees::Walk {
            return CONTINUE;
        }
        let Some(kind) = layout::detect_tree(self, dir, names) else {
            return CONTINUE;
        };
        match self.summarize(dir, depth, kind, place, out) {
            ControlFlow::Continue(()) => trees::TAKEN,
            ControlFlow::Break(()) => ControlFlow::Break(()),
        }
    }

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
            Problem::TooManyEntries { .. } => out.cut(p.message(&show)),
            _ => out.warn(p.message(&show)),
        }
    }

    /// A walked entry: a candidate when it qualifies and is inside the window.
    fn found(&mut self, f: Found, place: usize, out: &mut dyn Sink) {
        let Some(recent) = recent_by(&f.meta, self.since, &self.opts.window_times) else {
            return;
        };
        let Some(sel) = self.classify(&f, out) else {
            return;
        };
        let what = match f.meta.file_type {
            FileType::Regular => What::Regular {
                by_ext: sel.by_ext,
                by_content: sel.by_content,
                out_of_place: false,
            },
            t => What::Special {
                file_type: t,
                by_ext: sel.by_ext,
                out_of_place: false,
            },
        };
        let c = Candidate {
            class: sel.class,
            depth: rank::depth16(f.depth),
            newest: self.changed_at(&f.meta),
            path: f.path.into_boxed_path(),
            place: rank::place32(place),
            what,
            recent: Recent::of(&recent),
        };
        self.offer(c);
    }

    fn offer(&mut self, c: Candidate) {
        self.kept.offer(c);
    }

    /// A record's common fields; `meta` is the entry's metadata when it is known.
    fn base_record(
        &self,
        path: &Path,
        place: usize,
        depth: usize,
        extension: Option<String>,
        recent_by: Vec<TimeField>,
        meta: Option<&FileMeta>,
    ) -> TempFileRecord {
        let place_info = &self.places[place];
        let mut rec = TempFileRecord {
            path: self.ctx.fs.display_path(path),
            path_raw_b64: raw_path_b64(path),
            location: self.locations[place].clone(),
            user: place_info.user.clone(),
            depth,
            file_type: meta.map_or(FileType::Other, |m| m.file_type),
            detected_type: crate::record::DetectedType::Unknown,
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
            package_tree: None,
        };
        if let Some(m) = meta {
            self.fill_from_open(&mut rec, m);
        }
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

fn selection(by_ext: bool, by_content: bool, by_type: bool, out_of_place: bool) -> Vec<Selection> {
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
    if out_of_place {
        v.push(Selection::OutOfPlace);
    }
    v
}

#[cfg(all(test, unix))]
#[allow(clippy::disallowed_methods)]
mod tests;
