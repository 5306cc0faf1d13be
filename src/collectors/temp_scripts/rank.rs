//! Which candidates survive when there are more than `max_files`, and in which order the
//! survivors are collected.
//!
//! One order serves every cut: scripts and executables first, then the shallowest, then the
//! newest, then the path (so the order is total and two runs over the same tree agree). The
//! walk keeps the best `max_files` candidates in a bounded heap of compact entries (no
//! metadata, no content); they are then hashed, copied and recorded best first, so the copy
//! budget, the run's record budget and a deadline all cut the least interesting ones.

use crate::record::{TempFileRecord, TimeField, Timestamp};
use crate::source::FileType;
use std::cmp::{Ordering, Reverse};
use std::collections::BinaryHeap;
use std::path::Path;

/// Scripts, executables, FIFOs and device nodes (the staging of a reverse shell) rank before
/// everything else selected (a shortcut-named symlink, a `.url` that holds text).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Class {
    Runnable,
    Other,
}

/// What a candidate is, as much as phase two needs to collect it.
#[derive(Debug)]
pub(super) enum What {
    /// A regular file: opened, hashed, copied.
    Regular {
        by_ext: bool,
        by_content: bool,
        out_of_place: bool,
    },
    /// A symlink, socket, FIFO or device node: recorded, never opened.
    Special {
        file_type: FileType,
        by_ext: bool,
        out_of_place: bool,
    },
    /// A package tree's summary, ready to write.
    Tree(Box<TempFileRecord>),
}

/// The timestamps that put a candidate inside the window, as three bits.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) struct Recent(u8);

impl Recent {
    pub fn of(fields: &[TimeField]) -> Recent {
        Recent(fields.iter().fold(0, |b, f| b | Self::bit(*f)))
    }

    fn bit(f: TimeField) -> u8 {
        match f {
            TimeField::Mtime => 1,
            TimeField::Ctime => 2,
            TimeField::Btime => 4,
        }
    }

    pub fn fields(self) -> Vec<TimeField> {
        [TimeField::Mtime, TimeField::Ctime, TimeField::Btime]
            .into_iter()
            .filter(|f| self.0 & Self::bit(*f) != 0)
            .collect()
    }
}

/// One candidate: a logical path and what ranks it. 56 bytes plus the path (a profile may
/// keep a million of them).
#[derive(Debug)]
pub(super) struct Candidate {
    pub class: Class,
    /// 1 for an entry directly in its place (walks never go 65,535 deep; see [`depth16`]).
    pub depth: u16,
    /// Newest of the profile's `window_times`, in whole seconds: finer differences do not say
    /// which file matters more, and the path then orders them readably. `None`: undated.
    pub newest: Option<i64>,
    pub path: Box<Path>,
    /// Index of its place in the collector's list.
    pub place: u32,
    pub what: What,
    pub recent: Recent,
}

impl Candidate {
    fn key(&self) -> (Class, u16, Reverse<i64>, &Path) {
        // An undated file cannot be shown to be new: it goes after every dated one.
        let newest = self.newest.unwrap_or(i64::MIN);
        (self.class, self.depth, Reverse(newest), &self.path)
    }
}

impl PartialEq for Candidate {
    fn eq(&self, other: &Self) -> bool {
        self.key() == other.key()
    }
}

impl Eq for Candidate {}

impl PartialOrd for Candidate {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// Smaller is better: the best candidate sorts first.
impl Ord for Candidate {
    fn cmp(&self, other: &Self) -> Ordering {
        self.key().cmp(&other.key())
    }
}

/// A walk depth as a candidate keeps it (saturating: deeper than 65,535 ranks last anyway).
pub(super) fn depth16(depth: usize) -> u16 {
    u16::try_from(depth).unwrap_or(u16::MAX)
}

/// A place index as a candidate keeps it (a profile lists a handful of places).
pub(super) fn place32(place: usize) -> u32 {
    u32::try_from(place).unwrap_or(u32::MAX)
}

/// The newest of `times`, in whole seconds.
pub(super) fn newest_secs(times: impl IntoIterator<Item = Option<Timestamp>>) -> Option<i64> {
    times.into_iter().flatten().map(|t| t.timestamp()).max()
}

/// The best `cap` candidates offered, in a max-heap whose top is the worst one kept.
#[derive(Debug)]
pub(super) struct Kept<T: Ord> {
    heap: BinaryHeap<T>,
    cap: usize,
    /// Offered but not kept (worse than all `cap` kept ones when offered, or pushed out).
    pub dropped: u64,
}

impl<T: Ord> Kept<T> {
    pub fn new(cap: u64) -> Kept<T> {
        let cap = usize::try_from(cap).unwrap_or(usize::MAX);
        Kept {
            // Reserved once (see the staged-file index): untouched pages cost no memory, a
            // doubling heap copies itself and fragments the allocator.
            heap: BinaryHeap::with_capacity(cap.min(1 << 20)),
            cap,
            dropped: 0,
        }
    }

    pub fn offer(&mut self, c: T) {
        if self.heap.len() < self.cap {
            self.heap.push(c);
            return;
        }
        self.dropped += 1;
        if let Some(mut worst) = self.heap.peek_mut()
            && c < *worst
        {
            *worst = c;
        }
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.heap.len()
    }

    /// The kept ones, best first.
    pub fn into_ranked(self) -> Vec<T> {
        self.heap.into_sorted_vec()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cand(class: Class, depth: u16, newest: Option<i64>, path: &str) -> Candidate {
        Candidate {
            class,
            depth,
            newest,
            path: Path::new(path).into(),
            place: 0,
            what: What::Regular {
                by_ext: true,
                by_content: false,
                out_of_place: false,
            },
            recent: Recent::default(),
        }
    }

    #[test]
    fn runnable_then_shallow_then_new_then_path() {
        let mut v = [
            cand(Class::Other, 1, Some(900), "/tmp/a.url"),
            cand(Class::Runnable, 3, Some(900), "/tmp/x/y/deep.sh"),
            cand(Class::Runnable, 1, Some(100), "/tmp/old.sh"),
            cand(Class::Runnable, 1, None, "/tmp/undated.sh"),
            cand(Class::Runnable, 1, Some(500), "/tmp/b.sh"),
            cand(Class::Runnable, 1, Some(500), "/tmp/a.sh"),
        ];
        v.sort();
        let order: Vec<&str> = v.iter().map(|c| c.path.to_str().unwrap()).collect();
        assert_eq!(
            order,
            [
                "/tmp/a.sh",
                "/tmp/b.sh",
                "/tmp/old.sh",
                "/tmp/undated.sh",
                "/tmp/x/y/deep.sh",
                "/tmp/a.url"
            ]
        );
    }

    #[test]
    fn the_heap_keeps_the_best_whatever_the_arrival_order() {
        let mut k = Kept::new(3);
        for i in 0..100u32 {
            // Arrival order scrambled; the best are depth 1, newest (i near 99).
            let j = (i * 37) % 100;
            k.offer(cand(
                Class::Runnable,
                1 + (j % 2) as u16,
                Some(j as i64),
                &format!("/t/{j}"),
            ));
        }
        assert_eq!(k.dropped, 97);
        let kept: Vec<String> = k
            .into_ranked()
            .iter()
            .map(|c| c.path.display().to_string())
            .collect();
        assert_eq!(kept, ["/t/98", "/t/96", "/t/94"]);
        let mut none = Kept::new(0);
        none.offer(cand(Class::Runnable, 1, None, "/x"));
        assert_eq!((none.len(), none.dropped), (0, 1));
    }

    #[test]
    fn a_candidate_stays_compact() {
        // A profile may keep a million candidates: every byte here is a megabyte there.
        assert!(std::mem::size_of::<Candidate>() <= 56);
    }

    #[test]
    fn recent_bits_round_trip() {
        let f = [TimeField::Btime, TimeField::Mtime];
        assert_eq!(
            Recent::of(&f).fields(),
            [TimeField::Mtime, TimeField::Btime]
        );
        assert!(Recent::default().fields().is_empty());
    }
}
