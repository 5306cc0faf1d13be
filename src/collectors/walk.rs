//! A directory walker for hostile trees (`/tmp`, `C:\Users\*\AppData\Local\Temp`), built on
//! the [`Source`] API only.
//!
//! What it guarantees, whatever the tree holds:
//! - it never follows a symlink: `read_dir` reports links unfollowed, and a symlinked
//!   directory is handed to the visitor as a symlink entry, never descended (not even when
//!   the link would stay in scope: a link is the attacker's choice of where we look);
//! - it never opens anything: the visitor decides what to open, and the Source refuses FIFOs,
//!   sockets and devices before opening them;
//! - it stays on the walk root's device unless told otherwise (`/tmp` on a live host must not
//!   lead into a mounted share or a container's overlay);
//! - it visits each directory once, keyed by (device, inode), so bind-mount loops and
//!   overlapping roots end; plus a depth cap and an entry cap for trees built to exhaust us;
//! - it skips excluded directories (irsnap's own output);
//! - an unreadable directory or an entry that vanished mid-walk is reported and skipped.
//!
//! Entries are visited in name order, so two runs over the same tree emit the same records.

use super::Cancel;
use crate::source::{FileMeta, FileSource, FileType, SourceError};
use std::collections::{HashMap, HashSet};
use std::ffi::OsString;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

/// How far and how wide one walk goes.
#[derive(Debug, Clone)]
pub struct WalkLimits {
    /// 1 = only the entries directly in the walk root; 2 = also those one directory down...
    pub max_depth: usize,
    /// Descend into directories on another device than the walk root.
    pub cross_mounts: bool,
    /// Stop a walk after this many entries (files and directories) were seen.
    pub max_entries: u64,
}

/// A non-directory entry found by the walk (directories are only walked, never reported).
#[derive(Debug, Clone)]
pub struct Found {
    pub path: PathBuf,
    pub name: OsString,
    /// `lstat` metadata from the listing (a symlink is reported as a symlink).
    pub meta: FileMeta,
    /// 1 for entries directly in the walk root.
    pub depth: usize,
}

/// Something the walk could not do. None of these stops the walk.
#[derive(Debug)]
pub enum Problem {
    /// A directory (possibly the walk root) could not be listed.
    Unreadable { dir: PathBuf, error: SourceError },
    /// An entry was listed but could not be `lstat`ed (usually: deleted since the listing).
    Vanished { path: PathBuf, message: String },
    /// A directory on another device was not entered.
    OtherDevice { dir: PathBuf },
    /// A directory already walked in this walk (bind mount loop, hard-linked directory).
    Loop { dir: PathBuf },
    /// A directory below the depth cap was not entered.
    TooDeep { dir: PathBuf },
    /// The entry cap was reached; the rest of this walk root was not listed.
    TooManyEntries { root: PathBuf, limit: u64 },
    /// An excluded directory (irsnap's own output) was not entered.
    Excluded { dir: PathBuf },
    /// The walk root is a symlink; not followed.
    RootIsSymlink { root: PathBuf },
}

impl Problem {
    /// The message, with paths shown by `show` (the evidence's own path syntax).
    pub fn message(&self, show: &dyn Fn(&Path) -> String) -> String {
        match self {
            // The I/O error alone: the source's error would name the (logical) path twice.
            Problem::Unreadable {
                dir,
                error: SourceError::Io { cause, .. },
            } => format!("cannot list directory {}: {cause}", show(dir)),
            Problem::Unreadable { dir, error } => {
                format!("cannot list directory {}: {error}", show(dir))
            }
            Problem::Vanished { path, message } => {
                format!(
                    "{}: gone or unreadable during the walk: {message}",
                    show(path)
                )
            }
            Problem::OtherDevice { dir } => format!(
                "{}: on another file system (mount point); not entered",
                show(dir)
            ),
            Problem::Loop { dir } => format!(
                "{}: directory already walked (bind mount or link loop); not entered again",
                show(dir)
            ),
            Problem::TooDeep { dir } => {
                format!("{}: below the depth limit; not entered", show(dir))
            }
            Problem::TooManyEntries { root, limit } => format!(
                "{}: more than {limit} entries; the rest was not listed",
                show(root)
            ),
            Problem::Excluded { dir } => {
                format!("{}: irsnap's own output; not walked", show(dir))
            }
            Problem::RootIsSymlink { root } => {
                format!("{}: is a symlink; not followed", show(root))
            }
        }
    }
}

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message(&|p| p.display().to_string()))
    }
}

/// What the visitor is told.
#[derive(Debug)]
pub enum Event {
    Found(Found),
    Problem(Problem),
}

/// Walks several roots with one memory of visited directories, so a directory reachable
/// from two roots (a user's `Downloads` under `C:\Users\Public`) is listed once.
pub struct Walker<'a> {
    source: &'a dyn FileSource,
    /// Checked before each directory is listed: a tree of nothing but directories never
    /// reaches the visitor, and must still stop on a deadline or a signal.
    cancel: &'a Cancel,
    /// (device, inode) of each directory entered -> the index of the walk that entered it.
    visited: HashMap<(u64, u64), usize>,
    walks: usize,
    excluded_paths: Vec<PathBuf>,
    excluded_ids: HashSet<(u64, u64)>,
    case_insensitive: bool,
}

impl<'a> Walker<'a> {
    /// `exclude`: logical directories never to walk (irsnap's output on a live host).
    pub fn new(source: &'a dyn FileSource, exclude: &[PathBuf], cancel: &'a Cancel) -> Walker<'a> {
        let case_insensitive = source.os() == crate::source::OsFamily::Windows;
        let excluded_ids = exclude
            .iter()
            .filter_map(|p| source.metadata(p).ok())
            .filter_map(|m| Some((m.dev?, m.inode?)))
            .collect();
        Walker {
            source,
            cancel,
            visited: HashMap::new(),
            walks: 0,
            excluded_paths: exclude.to_vec(),
            excluded_ids,
            case_insensitive,
        }
    }

    fn is_excluded(&self, dir: &Path, meta: &FileMeta) -> bool {
        if let (Some(d), Some(i)) = (meta.dev, meta.inode)
            && self.excluded_ids.contains(&(d, i))
        {
            return true;
        }
        self.excluded_paths.iter().any(|x| {
            if self.case_insensitive {
                let (a, b) = (
                    dir.to_string_lossy().to_lowercase(),
                    x.to_string_lossy().to_lowercase(),
                );
                a == b || a.starts_with(&format!("{}/", b.trim_end_matches('/')))
            } else {
                dir.starts_with(x)
            }
        })
    }

    /// Walk `root`. The visitor returns `Break` to stop (cancellation); `walk` then returns
    /// `Break` too. A missing root is silently nothing: most systems lack some of the places
    /// we look.
    pub fn walk(
        &mut self,
        root: &Path,
        limits: &WalkLimits,
        visit: &mut dyn FnMut(Event) -> ControlFlow<()>,
    ) -> ControlFlow<()> {
        self.walks += 1;
        let walk_id = self.walks;
        let root_meta = match self.source.metadata(root) {
            Ok(m) => m,
            Err(e) if e.is_not_found() => return ControlFlow::Continue(()),
            Err(error) => {
                return visit(Event::Problem(Problem::Unreadable {
                    dir: root.to_path_buf(),
                    error,
                }));
            }
        };
        match root_meta.file_type {
            FileType::Directory => {}
            FileType::Symlink => {
                return visit(Event::Problem(Problem::RootIsSymlink {
                    root: root.to_path_buf(),
                }));
            }
            // A file where a directory should be is nothing to walk.
            _ => return ControlFlow::Continue(()),
        }
        // The walk root itself is walked even when the output is inside or equal to it: only
        // directories strictly below the root are excluded, so `-o /tmp` does not blind us
        // to /tmp (irsnap's archive is a zip, which nothing here selects).
        if !self.enter(&root_meta, walk_id) {
            // Already walked from another root: nothing new here.
            return ControlFlow::Continue(());
        }
        let root_dev = root_meta.dev;
        let mut seen: u64 = 0;
        // Depth-first with an explicit stack: a deep tree cannot overflow ours.
        let mut stack: Vec<(PathBuf, usize)> = vec![(root.to_path_buf(), 0)];
        while let Some((dir, depth)) = stack.pop() {
            if self.cancel.should_stop().is_some() {
                return ControlFlow::Break(());
            }
            let mut entries = match self.source.read_dir(&dir) {
                Ok(e) => e,
                Err(e) if e.is_not_found() && depth > 0 => {
                    visit(Event::Problem(Problem::Vanished {
                        path: dir,
                        message: e.to_string(),
                    }))?;
                    continue;
                }
                Err(error) => {
                    visit(Event::Problem(Problem::Unreadable { dir, error }))?;
                    continue;
                }
            };
            entries.sort_by(|a, b| a.name.cmp(&b.name));
            let mut subdirs = Vec::new();
            for entry in entries {
                seen += 1;
                if seen > limits.max_entries {
                    return visit(Event::Problem(Problem::TooManyEntries {
                        root: root.to_path_buf(),
                        limit: limits.max_entries,
                    }));
                }
                let meta = match entry.meta {
                    Ok(m) => m,
                    Err(message) => {
                        visit(Event::Problem(Problem::Vanished {
                            path: entry.path,
                            message,
                        }))?;
                        continue;
                    }
                };
                if meta.file_type != FileType::Directory {
                    visit(Event::Found(Found {
                        path: entry.path,
                        name: entry.name,
                        meta,
                        depth: depth + 1,
                    }))?;
                    continue;
                }
                let sub = entry.path;
                if self.is_excluded(&sub, &meta) {
                    visit(Event::Problem(Problem::Excluded { dir: sub }))?;
                } else if depth + 1 >= limits.max_depth {
                    visit(Event::Problem(Problem::TooDeep { dir: sub }))?;
                } else if !limits.cross_mounts && meta.dev.is_some() && meta.dev != root_dev {
                    visit(Event::Problem(Problem::OtherDevice { dir: sub }))?;
                } else if !self.enter(&meta, walk_id) {
                    if self.visited_by(&meta) == Some(walk_id) {
                        visit(Event::Problem(Problem::Loop { dir: sub }))?;
                    }
                } else {
                    subdirs.push((sub, depth + 1));
                }
            }
            // Reversed so the stack pops them in name order.
            stack.extend(subdirs.into_iter().rev());
        }
        ControlFlow::Continue(())
    }

    /// Mark a directory as walked; false if it was already. Without an identity (some
    /// Windows file systems) every directory is new and only the depth cap bounds the walk.
    fn enter(&mut self, meta: &FileMeta, walk_id: usize) -> bool {
        match (meta.dev, meta.inode) {
            (Some(d), Some(i)) => match self.visited.entry((d, i)) {
                std::collections::hash_map::Entry::Occupied(_) => false,
                std::collections::hash_map::Entry::Vacant(v) => {
                    v.insert(walk_id);
                    true
                }
            },
            _ => true,
        }
    }

    fn visited_by(&self, meta: &FileMeta) -> Option<usize> {
        self.visited.get(&(meta.dev?, meta.inode?)).copied()
    }
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use crate::source::RootSource;
    use std::os::unix::fs::symlink;

    fn collect(
        src: &dyn FileSource,
        root: &str,
        limits: &WalkLimits,
        exclude: &[PathBuf],
    ) -> (Vec<String>, Vec<String>) {
        let cancel = Cancel::default();
        let mut w = Walker::new(src, exclude, &cancel);
        let (mut found, mut problems) = (Vec::new(), Vec::new());
        let _ = w.walk(Path::new(root), limits, &mut |e| {
            match e {
                Event::Found(f) => found.push(f.path.display().to_string()),
                Event::Problem(p) => problems.push(p.to_string()),
            }
            ControlFlow::Continue(())
        });
        found.sort();
        (found, problems)
    }

    fn limits(depth: usize) -> WalkLimits {
        WalkLimits {
            max_depth: depth,
            cross_mounts: false,
            max_entries: 1000,
        }
    }

    #[test]
    fn symlinked_dirs_are_reported_not_walked_and_depth_is_capped() {
        let d = tempfile::tempdir().unwrap();
        let r = d.path();
        std::fs::create_dir_all(r.join("etc")).unwrap();
        std::fs::create_dir_all(r.join("tmp/a/b/c")).unwrap();
        std::fs::write(r.join("tmp/a/b/c/deep.sh"), b"x").unwrap();
        std::fs::write(r.join("tmp/top.sh"), b"x").unwrap();
        symlink("/tmp", r.join("tmp/a/loop")).unwrap();
        symlink("/etc", r.join("tmp/etc")).unwrap();
        let src = RootSource::new(r.to_path_buf(), None).unwrap();
        let (found, problems) = collect(&src, "/tmp", &limits(10), &[]);
        assert_eq!(
            found,
            [
                "/tmp/a/b/c/deep.sh",
                "/tmp/a/loop",
                "/tmp/etc",
                "/tmp/top.sh"
            ]
        );
        assert!(problems.is_empty(), "{problems:?}");
        let (found, problems) = collect(&src, "/tmp", &limits(2), &[]);
        assert_eq!(found, ["/tmp/a/loop", "/tmp/etc", "/tmp/top.sh"]);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].contains("/tmp/a/b"), "{problems:?}");
        let (found, _) = collect(&src, "/tmp", &limits(1), &[]);
        assert_eq!(found, ["/tmp/etc", "/tmp/top.sh"]);
    }

    #[test]
    fn excluded_dirs_and_entry_cap() {
        let d = tempfile::tempdir().unwrap();
        let r = d.path();
        std::fs::create_dir_all(r.join("etc")).unwrap();
        std::fs::create_dir_all(r.join("tmp/out")).unwrap();
        std::fs::write(r.join("tmp/out/archive.sh"), b"x").unwrap();
        std::fs::write(r.join("tmp/keep.sh"), b"x").unwrap();
        let src = RootSource::new(r.to_path_buf(), None).unwrap();
        let (found, problems) = collect(&src, "/tmp", &limits(10), &[PathBuf::from("/tmp/out")]);
        assert_eq!(found, ["/tmp/keep.sh"]);
        assert!(problems[0].contains("irsnap's own output"), "{problems:?}");
        // The walk root itself is never excluded: `-o /tmp` must not blind the collector.
        let (found, _) = collect(&src, "/tmp/out", &limits(10), &[PathBuf::from("/tmp/out")]);
        assert_eq!(found, ["/tmp/out/archive.sh"]);
        let mut few = limits(10);
        few.max_entries = 1;
        let (found, problems) = collect(&src, "/tmp", &few, &[]);
        assert_eq!(found, ["/tmp/keep.sh"]);
        assert!(problems[0].contains("more than 1 entries"), "{problems:?}");
    }

    #[test]
    fn overlapping_roots_are_walked_once_and_missing_roots_are_silent() {
        let d = tempfile::tempdir().unwrap();
        let r = d.path();
        std::fs::create_dir_all(r.join("etc")).unwrap();
        std::fs::create_dir_all(r.join("tmp/sub")).unwrap();
        std::fs::write(r.join("tmp/sub/x.sh"), b"x").unwrap();
        let src = RootSource::new(r.to_path_buf(), None).unwrap();
        let cancel = Cancel::default();
        let mut w = Walker::new(&src, &[], &cancel);
        let mut n = 0;
        let mut count = |e: Event| {
            if matches!(e, Event::Found(_)) {
                n += 1;
            }
            ControlFlow::Continue(())
        };
        let _ = w.walk(Path::new("/tmp/sub"), &limits(5), &mut count);
        let _ = w.walk(Path::new("/tmp"), &limits(5), &mut count);
        let _ = w.walk(Path::new("/nonexistent"), &limits(5), &mut count);
        assert_eq!(n, 1);
    }

    #[test]
    fn visitor_break_stops_the_walk() {
        let d = tempfile::tempdir().unwrap();
        let r = d.path();
        std::fs::create_dir_all(r.join("etc")).unwrap();
        for i in 0..5 {
            std::fs::write(r.join("etc").join(format!("f{i}")), b"x").unwrap();
        }
        let src = RootSource::new(r.to_path_buf(), None).unwrap();
        let cancel = Cancel::default();
        let mut w = Walker::new(&src, &[], &cancel);
        let mut n = 0;
        let flow = w.walk(Path::new("/etc"), &limits(5), &mut |_| {
            n += 1;
            if n == 2 {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        });
        assert!(flow.is_break());
        assert_eq!(n, 2);
    }
}
