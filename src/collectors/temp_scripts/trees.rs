//! Summarising a package or build tree (recognised by `layout.rs`) as a single record.
//!
//! The tree is walked with the same walker as a place (same symlink, device and exclusion
//! rules), every entry `lstat`ed and counted up to `max_tree_entries`, at most
//! [`TREE_MAX_DEPTH`] deep, and nothing opened except the few files the layout rules single
//! out ([`Run::tally`]; the rules are the collector's header comment's).

use super::rank::{Candidate, Class, Kept, Recent, What, depth16, newest_secs, place32};
use super::{Run, Selected, detect, places::recent_by};
use crate::collectors::walk::{CONTINUE, Descend, Event, Flow, Found, Problem, WalkLimits, Walker};
use crate::record::{
    DetectedType, ForeignFile, ForeignReason, PackageTree, Selection, TimeField, TreeKind,
};
use crate::sink::Sink;
use crate::source::{FileMeta, FileType, OsFamily};
use std::cmp::Reverse;
use std::ffi::OsStr;
use std::ops::ControlFlow;
use std::path::Path;

/// Directories below a tree's top that are still counted (node_modules nests deeply).
pub(super) const TREE_MAX_DEPTH: usize = 64;
/// A tree with at most this many files is walked like any directory: too small to be worth a
/// summary, and too cheap a hiding place to grant (a fake `node_modules` must at least be
/// padded past this).
pub(super) const MIN_TREE_FILES: u64 = 100;
/// Foreign files listed (and collected) per tree; `foreign_count` has the exact number.
pub(super) const FOREIGN_MAX: u64 = 256;
/// Change times sampled per tree to estimate its settled time.
const SAMPLE_MAX: usize = 4096;

/// A file of the tree singled out by a layout rule.
#[derive(Debug)]
struct Foreign {
    cand: Candidate,
    reason: ForeignReason,
    meta: FileMeta,
    in_window: bool,
}

impl PartialEq for Foreign {
    fn eq(&self, o: &Self) -> bool {
        self.cand == o.cand
    }
}
impl Eq for Foreign {}
impl PartialOrd for Foreign {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Foreign {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        self.cand.cmp(&o.cand)
    }
}

/// A script-like file of the tree, ranked by change time (newest first) and path.
#[derive(Debug)]
struct Changed {
    at: i64,
    found: Found,
}

impl PartialEq for Changed {
    fn eq(&self, o: &Self) -> bool {
        (self.at, &self.found.path) == (o.at, &o.found.path)
    }
}
impl Eq for Changed {}
impl PartialOrd for Changed {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
/// Smaller is better (kept): the newest, then the path.
impl Ord for Changed {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        (Reverse(self.at), &self.found.path).cmp(&(Reverse(o.at), &o.found.path))
    }
}

/// An evenly spaced sample of a stream, at most `SAMPLE_MAX` long: when full, every other
/// value is dropped and only every other one is taken from then on.
#[derive(Debug)]
struct Sample {
    every: u64,
    seen: u64,
    values: Vec<i64>,
}

impl Sample {
    fn new() -> Sample {
        Sample {
            every: 1,
            seen: 0,
            values: Vec::new(),
        }
    }

    fn push(&mut self, v: i64) {
        let i = self.seen;
        self.seen += 1;
        if !i.is_multiple_of(self.every) {
            return;
        }
        if self.values.len() >= SAMPLE_MAX {
            let mut k = 0;
            self.values.retain(|_| {
                k += 1;
                k % 2 == 1
            });
            self.every *= 2;
            if !i.is_multiple_of(self.every) {
                return;
            }
        }
        self.values.push(v);
    }

    /// The value at quantile `q` (0..=1) of the sample.
    fn quantile(&self, q: f64) -> Option<i64> {
        let mut v = self.values.clone();
        if v.is_empty() {
            return None;
        }
        v.sort_unstable();
        let at = ((v.len() - 1) as f64 * q).round() as usize;
        v.get(at.min(v.len() - 1)).copied()
    }
}

/// What one tree walk has seen so far.
struct Tally {
    kind: TreeKind,
    files: u64,
    dirs: u64,
    size: u64,
    newest_mtime: Option<crate::record::Timestamp>,
    newest_ctime: Option<crate::record::Timestamp>,
    newest: Option<i64>,
    sample: Sample,
    capped: bool,
    /// The first files, while there are at most `MIN_TREE_FILES`: a small tree's files are
    /// handed back to the ordinary walk.
    small: Option<Vec<Found>>,
    /// Files at a top waiting to be judged until the tree is known not to be small.
    pending_top: Vec<Found>,
    /// The entry or depth cap stopped the count (a small tree can then not be told apart).
    limit_hit: bool,
    layout: Kept<Foreign>,
    layout_count: u64,
    /// Change times of every script-like file (to count those that changed late, exactly):
    /// 8 bytes a file, bounded by `max_tree_entries`.
    scripty_times: Vec<i64>,
    /// The newest script-like files (the late changers, when there are any, are among them).
    scripty_newest: Kept<Changed>,
}

impl Run<'_, '_> {
    /// Summarise the tree at `dir` (a directory at `depth` in place `place`): one summary
    /// candidate, plus the foreign files inside the window. A tree too small to summarise is
    /// handed back to the ordinary walk. `Break` when the run was cut short.
    pub(super) fn summarize(
        &mut self,
        dir: &Path,
        depth: usize,
        kind: TreeKind,
        place: usize,
        out: &mut dyn Sink,
    ) -> ControlFlow<()> {
        let ctx = self.ctx;
        let mut walker = Walker::new(ctx.fs, &ctx.exclude, ctx.cancel);
        let limits = WalkLimits {
            max_depth: TREE_MAX_DEPTH,
            cross_mounts: self.opts.cross_mounts,
            max_entries: self.opts.max_tree_entries,
        };
        let mut t = Tally {
            kind,
            files: 0,
            dirs: 0,
            size: 0,
            newest_mtime: None,
            newest_ctime: None,
            newest: None,
            sample: Sample::new(),
            capped: false,
            small: Some(Vec::new()),
            pending_top: Vec::new(),
            limit_hit: false,
            layout: Kept::new(FOREIGN_MAX),
            layout_count: 0,
            scripty_times: Vec::new(),
            scripty_newest: Kept::new(FOREIGN_MAX),
        };
        let flow = walker.walk(dir, &limits, &mut |ev| {
            if ctx.cancel.should_stop().is_some() {
                return ControlFlow::Break(());
            }
            match ev {
                Event::Listed { .. } => t.dirs += 1,
                Event::Found(f) => self.tally(&mut t, dir, depth, place, f, out),
                Event::Problem(p @ (Problem::TooManyEntries { .. } | Problem::TooDeep { .. })) => {
                    if !t.capped {
                        out.warn(format!(
                            "{}: package tree counted in part: {}",
                            ctx.fs.display_path(dir),
                            p.message(&|p| ctx.fs.display_path(p))
                        ));
                    }
                    t.capped = true;
                    t.limit_hit = true;
                }
                Event::Problem(p) => {
                    if matches!(p, Problem::Unreadable { .. }) {
                        t.capped = true;
                    }
                    self.problem(p, TREE_MAX_DEPTH, out);
                }
            }
            CONTINUE
        });
        if flow.is_break() {
            return ControlFlow::Break(());
        }
        if let Some(small) = t.small.take().filter(|_| !t.limit_hit) {
            let max_depth = self.places[place].depth;
            for mut f in small {
                f.depth += depth;
                if f.depth <= max_depth {
                    self.found(f, place, out);
                }
            }
            return ControlFlow::Continue(());
        }
        // Ended (capped) while still small: what was put aside is judged now.
        for f in std::mem::take(&mut t.pending_top) {
            self.judge_top(&mut t, f, depth, place, out);
        }
        self.finish_tree(t, dir, depth, place, out);
        ControlFlow::Continue(())
    }

    /// One entry of a tree: counted, and checked against the layout rules.
    fn tally(
        &mut self,
        t: &mut Tally,
        dir: &Path,
        depth: usize,
        place: usize,
        f: Found,
        out: &mut dyn Sink,
    ) {
        t.files += 1;
        let m = &f.meta;
        if m.file_type == FileType::Regular {
            t.size = t.size.saturating_add(m.size);
        }
        t.newest_mtime = t.newest_mtime.max(m.mtime);
        t.newest_ctime = t.newest_ctime.max(m.ctime);
        let changed = self.changed_at(m);
        t.newest = t.newest.max(changed);
        if let Some(c) = changed {
            t.sample.push(c);
        }
        if t.small.is_some() && t.files > MIN_TREE_FILES {
            // Too big to hand back: the top files put aside are judged now.
            t.small = None;
            for f in std::mem::take(&mut t.pending_top) {
                self.judge_top(t, f, depth, place, out);
            }
        }
        if let Some(v) = &mut t.small {
            v.push(f.clone());
        }
        let rel: Vec<&OsStr> = f
            .path
            .strip_prefix(dir)
            .map(|r| r.iter().collect())
            .unwrap_or_default();
        let special = matches!(
            m.file_type,
            FileType::Fifo | FileType::CharDevice | FileType::BlockDevice
        );
        let full_depth = depth + f.depth;
        if special || (t.kind == TreeKind::Git && self.is_active_hook(&rel)) {
            let reason = if special {
                ForeignReason::SpecialFile
            } else {
                ForeignReason::GitHook
            };
            t.layout_count += 1;
            if let Some(fo) = self.foreign(f, reason, None, full_depth, place) {
                t.layout.offer(fo);
            }
            return;
        }
        if let Some(allowed) = self.top_of(t.kind, &rel) {
            let ext = super::places::extension_of(&f.name);
            if !ext.as_deref().is_some_and(|e| allowed.contains(&e)) {
                // Judging it may mean opening it: not before the tree is known to be big
                // enough to summarise (a small one is walked, and would open it again).
                if t.small.is_some() {
                    t.pending_top.push(f);
                } else {
                    self.judge_top(t, f, depth, place, out);
                }
                return;
            }
        }
        let hooks =
            t.kind == TreeKind::Git && rel.first().is_some_and(|c| self.same_name(c, "hooks"));
        if let Some(at) = changed
            && !hooks
            && self.scripty(t.kind, &f)
        {
            t.scripty_times.push(at);
            t.scripty_newest.offer(Changed { at, found: f });
        }
    }

    /// A file at a top of the tree that its layout does not put there: judged like a file of
    /// the place itself, by its name, its type and its first bytes; foreign when selected.
    /// Not selected, it is still subject to the change-time rule.
    fn judge_top(
        &mut self,
        t: &mut Tally,
        f: Found,
        depth: usize,
        place: usize,
        out: &mut dyn Sink,
    ) {
        match self.classify(&f, out) {
            Some(sel) => {
                t.layout_count += 1;
                let fd = depth + f.depth;
                if let Some(fo) =
                    self.foreign(f, ForeignReason::UnexpectedAtTop, Some(sel), fd, place)
                {
                    t.layout.offer(fo);
                }
            }
            None => {
                if let Some(at) = self.changed_at(&f.meta)
                    && self.scripty(t.kind, &f)
                {
                    t.scripty_times.push(at);
                    t.scripty_newest.offer(Changed { at, found: f });
                }
            }
        }
    }

    /// The newest of the profile's `window_times` of a file, in whole seconds.
    pub(super) fn changed_at(&self, m: &FileMeta) -> Option<i64> {
        newest_secs(self.opts.window_times.iter().map(|f| match f {
            TimeField::Mtime => m.mtime,
            TimeField::Ctime => m.ctime,
            TimeField::Btime => m.btime,
        }))
    }

    /// A foreign file as a candidate (whether or not it is inside the window); `sel` is how
    /// the ordinary rules selected it, when they were asked.
    fn foreign(
        &self,
        f: Found,
        reason: ForeignReason,
        sel: Option<Selected>,
        depth: usize,
        place: usize,
    ) -> Option<Foreign> {
        let recent = recent_by(&f.meta, self.since, &self.opts.window_times);
        let ext = super::places::extension_of(&f.name);
        let by_ext = self.by_ext(ext.as_deref());
        let what = match f.meta.file_type {
            FileType::Regular => What::Regular {
                by_ext,
                by_content: sel.is_some_and(|s| s.by_content),
                out_of_place: true,
            },
            FileType::Directory => return None,
            t => What::Special {
                file_type: t,
                by_ext,
                out_of_place: true,
            },
        };
        let runnable = matches!(reason, ForeignReason::GitHook | ForeignReason::SpecialFile)
            || self.executable(&f.meta)
            || ext
                .as_deref()
                .and_then(detect::type_for_extension)
                .is_some_and(detect::is_runnable)
            || sel.is_some_and(|s| s.class == Class::Runnable);
        Some(Foreign {
            cand: Candidate {
                class: if runnable {
                    Class::Runnable
                } else {
                    Class::Other
                },
                depth: depth16(depth),
                newest: self.changed_at(&f.meta),
                path: f.path.into_boxed_path(),
                place: place32(place),
                what,
                recent: Recent::of(recent.as_deref().unwrap_or_default()),
            },
            reason,
            meta: f.meta,
            in_window: recent.is_some(),
        })
    }

    /// The tree's summary record and its foreign files, as candidates.
    fn finish_tree(
        &mut self,
        t: Tally,
        dir: &Path,
        depth: usize,
        place: usize,
        out: &mut dyn Sink,
    ) {
        let fs = self.ctx.fs;
        let settled = t.sample.quantile(0.9);
        let late = |at: i64| {
            let gap = self.opts.tree_change_gap.0?.as_secs();
            Some(at > settled?.saturating_add(i64::try_from(gap).unwrap_or(i64::MAX)))
        };
        let late_count = t
            .scripty_times
            .iter()
            .filter(|&&at| late(at) == Some(true))
            .count() as u64;
        let mut foreign = t.layout.into_ranked();
        for c in t.scripty_newest.into_ranked() {
            if late(c.at) == Some(true) {
                let fd = depth + c.found.depth;
                let why = ForeignReason::ChangedAfterTree;
                if let Some(fo) = self.foreign(c.found, why, None, fd, place) {
                    foreign.push(fo);
                }
            }
        }
        foreign.sort();
        foreign.truncate(usize::try_from(FOREIGN_MAX).unwrap_or(usize::MAX));
        let foreign_count = t.layout_count + late_count;
        let shown = fs.display_path(dir);
        if foreign_count > foreign.len() as u64 {
            out.warn(format!(
                "{shown}: {foreign_count} files out of place in a package tree; the best {} are \
                 listed and collected",
                foreign.len()
            ));
        }
        let windows = fs.os() == OsFamily::Windows;
        let listed: Vec<ForeignFile> = foreign
            .iter()
            .map(|fo| ForeignFile {
                path: fs.display_path(&fo.cand.path),
                reason: fo.reason,
                file_type: fo.meta.file_type,
                size: fo.meta.size,
                mtime: fo.meta.mtime,
                ctime: fo.meta.ctime,
                mode: fo
                    .meta
                    .mode
                    .filter(|_| !windows)
                    .map(|m| format!("{:04o}", m & 0o7777)),
                in_window: fo.in_window,
            })
            .collect();
        let dir_meta = fs.metadata(dir).ok();
        let recent = dir_meta
            .as_ref()
            .and_then(|m| recent_by(m, self.since, &self.opts.window_times))
            .unwrap_or_default();
        let mut rec = self.base_record(dir, place, depth, None, recent.clone(), dir_meta.as_ref());
        rec.file_type = FileType::Directory;
        rec.detected_type = DetectedType::PackageTree;
        rec.selected_by = vec![Selection::PackageTree];
        rec.not_copied_reason = Some(
            "package tree: summarised, its own files not collected (package_trees = \"summarize\")"
                .into(),
        );
        rec.package_tree = Some(PackageTree {
            kind: t.kind,
            file_count: t.files,
            dir_count: t.dirs,
            total_size: t.size,
            newest_mtime: t.newest_mtime,
            newest_ctime: t.newest_ctime,
            settled_time: settled.and_then(|s| chrono::DateTime::from_timestamp(s, 0)),
            count_capped: t.capped,
            foreign: listed,
            foreign_count,
        });
        self.offer(Candidate {
            class: if foreign_count > 0 {
                Class::Runnable
            } else {
                Class::Other
            },
            depth: depth16(depth),
            newest: t.newest,
            path: dir.into(),
            place: place32(place),
            what: What::Tree(Box::new(rec)),
            recent: Recent::of(&recent),
        });
        for fo in foreign {
            if fo.in_window {
                self.offer(fo.cand);
            }
        }
    }
}

/// The visitor's answer when a listed directory is taken over.
pub(super) const TAKEN: Flow = ControlFlow::Continue(Descend::Skip);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sample_stays_evenly_spaced_and_bounded() {
        let mut s = Sample::new();
        for v in 0..100_000 {
            s.push(v);
        }
        assert!(s.values.len() <= SAMPLE_MAX, "{}", s.values.len());
        assert!(s.values.len() > SAMPLE_MAX / 2);
        // Evenly spaced: consecutive kept values are `every` apart.
        assert!(s.values.windows(2).all(|w| w[1] - w[0] == s.every as i64));
        let p90 = s.quantile(0.9).unwrap();
        assert!((89_000..=91_000).contains(&p90), "{p90}");
        assert_eq!(Sample::new().quantile(0.9), None);
        let mut one = Sample::new();
        one.push(7);
        assert_eq!(one.quantile(0.9), Some(7));
    }
}
