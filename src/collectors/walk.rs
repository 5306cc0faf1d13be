//! A directory walker for hostile trees (`/tmp`, `C:\Users\*\AppData\Local\Temp`), built on
//! the [`FileSource`] API only.
//!
//! What it guarantees, whatever the tree holds:
//! - it never follows a symlink: entries are `lstat`ed, and a symlinked directory is handed
//!   to the visitor as a symlink entry, never descended (not even when the link would stay
//!   in scope: a link is the attacker's choice of where we look);
//! - it never opens anything: the visitor decides what to open, and the source refuses FIFOs,
//!   sockets and devices before opening them;
//! - it stays on the walk root's device unless told otherwise (`/tmp` on a live host must not
//!   lead into a mounted share or a container's overlay);
//! - it visits each directory once, keyed by (device, inode), so bind-mount loops and
//!   overlapping roots end; plus a depth cap and an entry cap for trees built to exhaust us;
//! - it skips excluded directories (irsnap's own output);
//! - an unreadable directory or an entry that vanished mid-walk is reported and skipped;
//! - memory stays bounded by what it must remember, not by how wide a directory is: names are
//!   streamed from the open directory ([`FileSource::list_dir`]) in sorted chunks of at most
//!   [`NAME_CHUNK`] and each entry is `lstat`ed only when its turn comes, so a flat directory
//!   of 300,000 files never has 300,000 entries with their metadata in memory.
//!
//! The walk is breadth-first: every entry at depth 1 is seen before any at depth 2, so when
//! the entry cap cuts a walk, what was seen is the shallowest part of the tree. Within a
//! directory (of up to `NAME_CHUNK` entries) entries come in name order, so two runs over
//! the same tree see the same entries.

use super::Cancel;
use crate::source::{DirListing, FileMeta, FileSource, FileType, SourceError};
use std::collections::{HashMap, HashSet, VecDeque};
use std::ffi::OsString;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

/// Names of one directory read, sorted and visited at a time: a directory wider than this is
/// visited in sorted runs of this size, in the order the file system lists them.
pub const NAME_CHUNK: usize = 65_536;

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
    /// `lstat` metadata (a symlink is reported as a symlink).
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
    /// An excluded directory (irsnap's own output) was not entered, or an excluded file
    /// (irsnap's own binary) not collected.
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
                format!(
                    "{}: irsnap's own output or binary; not collected",
                    show(dir)
                )
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
pub enum Event<'a> {
    /// A directory below the walk root is about to be visited: `names` are its first entry
    /// names (sorted; all of them unless the directory holds more than [`NAME_CHUNK`]). The
    /// visitor may take the directory over by answering [`Descend::Skip`]: then none of its
    /// entries is looked at by this walk.
    Listed {
        dir: &'a Path,
        /// 1 for a directory directly in the walk root.
        depth: usize,
        names: &'a [OsString],
    },
    Found(Found),
    Problem(Problem),
}

/// The visitor's answer to a [`Event::Listed`] (ignored for other events).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Descend {
    Into,
    Skip,
}

/// What a visitor returns: `Break` stops the walk (cancellation).
pub type Flow = ControlFlow<(), Descend>;

/// Go on (and into the directory, for a `Listed` event).
pub const CONTINUE: Flow = ControlFlow::Continue(Descend::Into);

/// A visitor's answer to an event that only a `Break` can change.
fn go(flow: Flow) -> ControlFlow<()> {
    match flow {
        ControlFlow::Continue(_) => ControlFlow::Continue(()),
        ControlFlow::Break(()) => ControlFlow::Break(()),
    }
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

/// The state of one walk from one root.
struct Pass<'w> {
    root: &'w Path,
    limits: &'w WalkLimits,
    walk_id: usize,
    root_dev: Option<u64>,
    seen: u64,
    queue: VecDeque<(PathBuf, usize)>,
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

    /// A file is excluded only when it *is* an excluded path (irsnap's own binary): files
    /// inside an excluded directory are never reached unless that directory is the walk
    /// root, and then they are wanted (`-o /tmp` must not blind the collector).
    fn is_excluded_file(&self, file: &Path, meta: &FileMeta) -> bool {
        if let (Some(d), Some(i)) = (meta.dev, meta.inode)
            && self.excluded_ids.contains(&(d, i))
        {
            return true;
        }
        self.excluded_paths.iter().any(|x| {
            if self.case_insensitive {
                file.to_string_lossy().to_lowercase() == x.to_string_lossy().to_lowercase()
            } else {
                file == x
            }
        })
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
        visit: &mut dyn FnMut(Event<'_>) -> Flow,
    ) -> ControlFlow<()> {
        self.walks += 1;
        let walk_id = self.walks;
        let root_meta = match self.source.metadata(root) {
            Ok(m) => m,
            Err(e) if e.is_not_found() => return ControlFlow::Continue(()),
            Err(error) => {
                return go(visit(Event::Problem(Problem::Unreadable {
                    dir: root.to_path_buf(),
                    error,
                })));
            }
        };
        match root_meta.file_type {
            FileType::Directory => {}
            FileType::Symlink => {
                return go(visit(Event::Problem(Problem::RootIsSymlink {
                    root: root.to_path_buf(),
                })));
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
        let mut pass = Pass {
            root,
            limits,
            walk_id,
            root_dev: root_meta.dev,
            seen: 0,
            // Breadth-first with an explicit queue: a deep tree cannot overflow our stack.
            queue: VecDeque::from([(root.to_path_buf(), 0)]),
        };
        while let Some((dir, depth)) = pass.queue.pop_front() {
            if self.cancel.should_stop().is_some() {
                return ControlFlow::Break(());
            }
            match self.directory(&mut pass, dir, depth, visit)? {
                Step::Next => {}
                Step::Full => return ControlFlow::Continue(()),
            }
        }
        ControlFlow::Continue(())
    }

    /// List one directory and visit its entries, queueing its subdirectories.
    fn directory(
        &mut self,
        pass: &mut Pass,
        dir: PathBuf,
        depth: usize,
        visit: &mut dyn FnMut(Event<'_>) -> Flow,
    ) -> ControlFlow<(), Step> {
        let mut listing = match self.source.list_dir(&dir) {
            Ok(l) => l,
            Err(e) if e.is_not_found() && depth > 0 => {
                go(visit(Event::Problem(Problem::Vanished {
                    path: dir,
                    message: e.to_string(),
                })))?;
                return ControlFlow::Continue(Step::Next);
            }
            Err(error) => {
                go(visit(Event::Problem(Problem::Unreadable { dir, error })))?;
                return ControlFlow::Continue(Step::Next);
            }
        };
        let mut first = true;
        loop {
            // Never read more names than the entry cap lets us visit (plus one, to know the
            // cap was passed).
            let room = pass.limits.max_entries.saturating_sub(pass.seen);
            let take = usize::try_from(room.saturating_add(1))
                .unwrap_or(usize::MAX)
                .min(NAME_CHUNK);
            let mut names: Vec<OsString> = listing.by_ref().take(take).collect();
            if names.is_empty() && !first {
                break;
            }
            names.sort();
            if first && depth > 0 {
                let flow = visit(Event::Listed {
                    dir: &dir,
                    depth,
                    names: &names,
                });
                match flow {
                    ControlFlow::Break(()) => return ControlFlow::Break(()),
                    ControlFlow::Continue(Descend::Skip) => {
                        return ControlFlow::Continue(Step::Next);
                    }
                    ControlFlow::Continue(Descend::Into) => {}
                }
            }
            first = false;
            let short = names.len() < take;
            for name in names {
                pass.seen += 1;
                if pass.seen > pass.limits.max_entries {
                    go(visit(Event::Problem(Problem::TooManyEntries {
                        root: pass.root.to_path_buf(),
                        limit: pass.limits.max_entries,
                    })))?;
                    return ControlFlow::Continue(Step::Full);
                }
                self.entry(pass, &listing, name, depth, visit)?;
            }
            if short {
                break;
            }
        }
        ControlFlow::Continue(Step::Next)
    }

    /// `lstat` one listed entry: a file goes to the visitor, a directory to the queue.
    fn entry(
        &mut self,
        pass: &mut Pass,
        listing: &DirListing,
        name: OsString,
        depth: usize,
        visit: &mut dyn FnMut(Event<'_>) -> Flow,
    ) -> ControlFlow<()> {
        let path = listing.dir.join(&name);
        let meta = match self.source.entry_metadata(listing, &name) {
            Ok(m) => m,
            Err(e) => {
                let message = match e {
                    SourceError::Io { cause, .. } => cause.to_string(),
                    other => other.to_string(),
                };
                return go(visit(Event::Problem(Problem::Vanished { path, message })));
            }
        };
        if meta.file_type != FileType::Directory {
            if self.is_excluded_file(&path, &meta) {
                return go(visit(Event::Problem(Problem::Excluded { dir: path })));
            }
            return go(visit(Event::Found(Found {
                path,
                name,
                meta,
                depth: depth + 1,
            })));
        }
        let problem = if self.is_excluded(&path, &meta) {
            Some(Problem::Excluded { dir: path })
        } else if depth + 1 >= pass.limits.max_depth {
            Some(Problem::TooDeep { dir: path })
        } else if !pass.limits.cross_mounts && meta.dev.is_some() && meta.dev != pass.root_dev {
            Some(Problem::OtherDevice { dir: path })
        } else if !self.enter(&meta, pass.walk_id) {
            (self.visited_by(&meta) == Some(pass.walk_id)).then_some(Problem::Loop { dir: path })
        } else {
            pass.queue.push_back((path, depth + 1));
            None
        };
        match problem {
            Some(p) => go(visit(Event::Problem(p))),
            None => ControlFlow::Continue(()),
        }
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

/// After one directory: go on, or the entry cap ended this walk.
enum Step {
    Next,
    Full,
}

#[cfg(all(test, unix))]
#[allow(clippy::disallowed_methods)]
mod tests;
