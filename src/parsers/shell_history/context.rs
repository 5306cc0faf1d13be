//! State shared by every history reader (entries kept, warnings capped) and the line helpers they use.

use std::borrow::Cow;
use std::collections::VecDeque;

use chrono::{DateTime, Utc};

use super::model::{HistoryEntry, HistoryWarning};
use super::{MAX_WARNINGS, WARN_TEXT_MAX};

/// Where parsed commands go.
pub(super) enum Out<'f> {
    /// The newest `max` commands (older ones fall off the front).
    Keep {
        entries: VecDeque<HistoryEntry>,
        max: usize,
    },
    /// Only counted (the first of two passes).
    Count,
    /// Handed over one at a time, those after the first `skip`.
    Emit {
        skip: usize,
        f: &'f mut dyn FnMut(HistoryEntry),
    },
}

pub(super) struct Ctx<'f> {
    pub(super) out: Out<'f>,
    /// The last command read, still open to the lines that follow it (fish's `when:` and
    /// `paths:`): it goes out when the next one starts, or at the end.
    pending: Option<HistoryEntry>,
    pub(super) total: usize,
    pub(super) dropped: usize,
    pub(super) warnings: Vec<HistoryWarning>,
    pub(super) suppressed: usize,
    pub(super) lossy: bool,
}

impl<'f> Ctx<'f> {
    pub(super) fn new(out: Out<'f>) -> Ctx<'f> {
        Ctx {
            out,
            pending: None,
            total: 0,
            dropped: 0,
            warnings: Vec::new(),
            suppressed: 0,
            lossy: false,
        }
    }

    /// The command read last, for the lines that add to it.
    pub(super) fn last_mut(&mut self) -> Option<&mut HistoryEntry> {
        self.pending.as_mut()
    }

    fn flush(&mut self) {
        let Some(e) = self.pending.take() else {
            return;
        };
        match &mut self.out {
            Out::Keep { entries, max } => {
                if entries.len() >= *max {
                    entries.pop_front();
                    self.dropped += 1;
                }
                entries.push_back(e);
            }
            Out::Count => {}
            Out::Emit { skip, f } => {
                if e.ordinal > *skip {
                    f(e);
                }
            }
        }
    }

    /// The end of the file: the last command goes out.
    pub(super) fn finish(&mut self) {
        self.flush();
    }
    pub(super) fn warn(&mut self, w: HistoryWarning) {
        if self.warnings.len() < MAX_WARNINGS {
            self.warnings.push(w);
        } else {
            self.suppressed = self.suppressed.saturating_add(1);
        }
    }

    pub(super) fn push(
        &mut self,
        line_number: usize,
        command: String,
        lossy: bool,
        timestamp: Option<DateTime<Utc>>,
        duration_secs: Option<u64>,
    ) {
        if lossy {
            self.lossy = true;
        }
        self.flush();
        self.total = self.total.saturating_add(1);
        let ordinal = self.total;
        self.pending = Some(HistoryEntry {
            ordinal,
            line_number,
            command,
            timestamp,
            duration_secs,
            paths: Vec::new(),
            lossy_utf8: lossy,
        });
    }
}

pub(super) fn excerpt(s: &str) -> String {
    crate::parsers::capped::excerpt(s, WARN_TEXT_MAX)
}

pub(super) fn decode_lossy(b: &[u8]) -> (String, bool) {
    match String::from_utf8_lossy(b) {
        Cow::Borrowed(s) => (s.to_string(), false),
        Cow::Owned(s) => (s, true),
    }
}

/// Physical lines: (1-based number, bytes without `\n`). A final newline does not start a new
/// line. An iterator, not a list: a file of millions of short lines costs no per-line memory.
pub(super) fn raw_lines(data: &[u8]) -> impl Iterator<Item = (usize, &[u8])> + Clone {
    let body = data.strip_suffix(b"\n").unwrap_or(data);
    let n = if data.is_empty() { 0 } else { usize::MAX };
    body.split(|&b| b == b'\n')
        .enumerate()
        .map(|(i, l)| (i + 1, l))
        .take(n)
}

pub(super) fn strip_cr(l: &[u8]) -> &[u8] {
    l.strip_suffix(b"\r").unwrap_or(l)
}

pub(super) fn epoch(secs: i64) -> Option<DateTime<Utc>> {
    DateTime::<Utc>::from_timestamp(secs, 0)
}
