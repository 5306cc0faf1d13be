//! Script Block Logging (4104): a long script is logged in numbered parts; this puts them back together.

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};

use super::{PsEvent, PsEventKind};

/// A script block reassembled from its 4104 parts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub struct ScriptBlock {
    /// ScriptBlockId as logged (GUID); `record:<id>` for a 4104 that carries none.
    pub script_block_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Present parts concatenated in MessageNumber order (missing parts leave no marker, so
    /// a complete block hashes like the original script).
    pub text: String,
    /// MessageTotal (the largest value seen if parts disagree).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parts_expected: Option<u32>,
    pub parts_present: Vec<u32>,
    /// Missing part numbers (capped at [`MAX_MISSING_LISTED`]; see `missing_count`).
    pub missing_parts: Vec<u32>,
    pub missing_count: u64,
    /// Extra copies of an already-seen part number (first copy kept).
    pub duplicate_parts: u32,
    /// Parts whose MessageTotal differed from the others.
    pub inconsistent_totals: bool,
    /// All parts present and none dropped by the size cap.
    pub complete: bool,
    /// Part text was dropped because the assembler's byte cap was reached.
    pub truncated: bool,
    pub first_record_id: u64,
    pub record_ids: Vec<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_time: Option<chrono::DateTime<chrono::Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_time: Option<chrono::DateTime<chrono::Utc>>,
    pub computer: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_sid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub process_id: Option<u32>,
}

/// Longest `missing_parts` list kept; a forged MessageTotal of 4 billion must not allocate.
pub const MAX_MISSING_LISTED: usize = 10_000;
/// Default cap on script text held by an assembler (all blocks together).
pub const DEFAULT_ASSEMBLY_CAP: usize = 256 * 1024 * 1024;

#[derive(Debug, Default)]
struct Part {
    number: u32,
    text: Option<String>,
    record_id: u64,
}

#[derive(Debug, Default)]
struct Pending {
    id: String,
    path: Option<String>,
    total: Option<u32>,
    inconsistent_totals: bool,
    parts: Vec<Part>,
    /// MessageNumbers in `parts`. The duplicate check was a scan of `parts`, quadratic in the
    /// part count: 200k forged parts of one ScriptBlockId hung the assembler for minutes
    /// (tests/hostile.rs `assembler_many_parts_is_linear`).
    numbers: HashSet<u32>,
    duplicates: u32,
    truncated: bool,
    first_record_id: Option<u64>,
    record_ids: Vec<u64>,
    first_time: Option<chrono::DateTime<chrono::Utc>>,
    last_time: Option<chrono::DateTime<chrono::Utc>>,
    computer: String,
    user_sid: Option<String>,
    process_id: Option<u32>,
}

/// Collects 4104 events in any order and reassembles them by ScriptBlockId.
#[derive(Debug)]
pub struct ScriptBlockAssembler {
    blocks: HashMap<String, Pending>,
    order: Vec<String>,
    cap_bytes: usize,
    held_bytes: usize,
}

impl Default for ScriptBlockAssembler {
    fn default() -> Self {
        Self::new()
    }
}

impl ScriptBlockAssembler {
    pub fn new() -> Self {
        Self::with_cap(DEFAULT_ASSEMBLY_CAP)
    }

    /// `cap_bytes`: most script text (UTF-8 bytes, all blocks) held; parts past it keep their
    /// metadata but not their text, and their block is marked `truncated`.
    pub fn with_cap(cap_bytes: usize) -> Self {
        ScriptBlockAssembler {
            blocks: HashMap::new(),
            order: Vec::new(),
            cap_bytes,
            held_bytes: 0,
        }
    }

    /// Script text bytes currently held.
    pub fn held_bytes(&self) -> usize {
        self.held_bytes
    }

    /// Add a 4104 event (by value: avoids copying multi-MB text). Returns false, ignoring the
    /// event, when it is not a script block event.
    pub fn add(&mut self, ev: PsEvent) -> bool {
        if ev.kind != PsEventKind::ScriptBlock {
            return false;
        }
        let id = match ev.script_block_id.as_deref().map(str::trim) {
            Some(id) if !id.is_empty() => id.to_ascii_lowercase(),
            _ => format!("record:{}", ev.record_id),
        };
        let pending = match self.blocks.get_mut(&id) {
            Some(p) => p,
            None => {
                self.order.push(id.clone());
                let shown = ev
                    .script_block_id
                    .clone()
                    .filter(|s| !s.trim().is_empty())
                    .unwrap_or_else(|| id.clone());
                self.blocks.entry(id.clone()).or_insert(Pending {
                    id: shown,
                    computer: ev.computer.clone(),
                    user_sid: ev.user_sid.clone(),
                    process_id: ev.process_id,
                    ..Pending::default()
                })
            }
        };
        let number = ev.message_number.unwrap_or(1);
        if let Some(total) = ev.message_total {
            match pending.total {
                Some(t) if t != total => {
                    pending.inconsistent_totals = true;
                    pending.total = Some(t.max(total));
                }
                _ => pending.total = Some(total),
            }
        }
        if pending.path.is_none() {
            pending.path = ev.path.clone();
        }
        pending.record_ids.push(ev.record_id);
        if pending.first_record_id.is_none_or(|r| ev.record_id < r) {
            pending.first_record_id = Some(ev.record_id);
        }
        if let Some(t) = ev.time {
            pending.first_time = Some(pending.first_time.map_or(t, |f| f.min(t)));
            pending.last_time = Some(pending.last_time.map_or(t, |l| l.max(t)));
        }
        if !pending.numbers.insert(number) {
            // Same part logged twice (re-run of the same block in one process, merged
            // exports): keep the first copy.
            pending.duplicates = pending.duplicates.saturating_add(1);
            return true;
        }
        let text = ev.script_block_text.unwrap_or_default();
        let text = if self.held_bytes.saturating_add(text.len()) <= self.cap_bytes {
            self.held_bytes += text.len();
            Some(text)
        } else {
            pending.truncated = true;
            None
        };
        pending.parts.push(Part {
            number,
            text,
            record_id: ev.record_id,
        });
        true
    }

    /// Add by reference (clones the text).
    pub fn add_ref(&mut self, ev: &PsEvent) -> bool {
        ev.kind == PsEventKind::ScriptBlock && self.add(ev.clone())
    }

    /// Reassemble every block, ordered by first time then first record id.
    pub fn finish(self) -> Vec<ScriptBlock> {
        let mut blocks = self.blocks;
        let mut out: Vec<ScriptBlock> = self
            .order
            .iter()
            .filter_map(|id| blocks.remove(id))
            .map(assemble)
            .collect();
        out.sort_by(|a, b| {
            (a.first_time, a.first_record_id).cmp(&(b.first_time, b.first_record_id))
        });
        out
    }
}

fn assemble(mut p: Pending) -> ScriptBlock {
    p.parts.sort_by_key(|part| (part.number, part.record_id));
    let text_len: usize = p
        .parts
        .iter()
        .filter_map(|x| x.text.as_ref())
        .map(String::len)
        .sum();
    let mut text = String::with_capacity(text_len);
    for part in &p.parts {
        if let Some(t) = &part.text {
            text.push_str(t);
        }
    }
    let parts_present: Vec<u32> = p.parts.iter().map(|x| x.number).collect();
    let mut missing_parts = Vec::new();
    let mut missing_count = 0u64;
    if let Some(total) = p.total {
        // Walk the gaps between present numbers instead of 1..=total, so a forged huge total
        // costs nothing.
        let mut expect = 1u32;
        let mut record_gap = |from: u32, to_incl: u32| {
            if from > to_incl {
                return;
            }
            missing_count += u64::from(to_incl - from) + 1;
            let mut n = from;
            while n <= to_incl && missing_parts.len() < MAX_MISSING_LISTED {
                missing_parts.push(n);
                n = match n.checked_add(1) {
                    Some(n) => n,
                    None => break,
                };
            }
        };
        for &n in &parts_present {
            if n > total {
                break;
            }
            if n >= expect {
                if n > expect {
                    record_gap(expect, n - 1);
                }
                expect = n.saturating_add(1);
            }
        }
        if expect <= total {
            record_gap(expect, total);
        }
    }
    let complete = p.total.is_some() && missing_count == 0 && !p.truncated;
    ScriptBlock {
        script_block_id: p.id,
        path: p.path,
        text,
        parts_expected: p.total,
        parts_present,
        missing_parts,
        missing_count,
        duplicate_parts: p.duplicates,
        inconsistent_totals: p.inconsistent_totals,
        complete,
        truncated: p.truncated,
        first_record_id: p.first_record_id.unwrap_or(0),
        record_ids: p.record_ids,
        first_time: p.first_time,
        last_time: p.last_time,
        computer: p.computer,
        user_sid: p.user_sid,
        process_id: p.process_id,
    }
}
