//! State shared by every history reader (entries kept, warnings capped) and the line helpers they use.

use std::borrow::Cow;
use std::collections::VecDeque;

use chrono::{DateTime, Utc};

use super::model::{HistoryEntry, HistoryWarning};
use super::{MAX_WARNINGS, WARN_TEXT_MAX};

pub(super) struct Ctx {
    /// The newest `max_entries` commands (older ones fall off the front).
    pub(super) entries: VecDeque<HistoryEntry>,
    pub(super) max_entries: usize,
    pub(super) total: usize,
    pub(super) dropped: usize,
    pub(super) warnings: Vec<HistoryWarning>,
    pub(super) suppressed: usize,
    pub(super) lossy: bool,
}

impl Ctx {
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
        self.total = self.total.saturating_add(1);
        let ordinal = self.total;
        if self.entries.len() >= self.max_entries {
            self.entries.pop_front();
            self.dropped += 1;
        }
        self.entries.push_back(HistoryEntry {
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
