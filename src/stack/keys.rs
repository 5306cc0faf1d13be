//! What each record contributes to the stack: the keys (see `StackKind`) built from a
//! process, a scheduled action or a temp file, normalised by `normalize::shape`.

use super::StackKind;
use super::normalize::{cut, shape};
use crate::record::{ActionKind, ImageKind, ProcessRecord, ScheduledTaskRecord, TempFileRecord};
use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};

/// Longest example value kept per key (for the analyst's eye; the key is the shape).
const EXAMPLE_CHARS: usize = 300;
/// Distinct keys one archive may add. Our own collector stays far below; a hostile or
/// broken archive with millions of unique lines must not take the analyst's memory.
pub(super) const MAX_KEYS_PER_ARCHIVE: usize = 500_000;

/// One archive's counts, merged into the fleet's only once the archive was read whole (a
/// damaged archive contributes nothing).
#[derive(Default)]
pub(super) struct Tally {
    pub map: HashMap<(StackKind, String), Local>,
    pub records: u64,
    pub keys_dropped: u64,
    pub kinds: Vec<StackKind>,
}

#[derive(Default)]
pub(super) struct Local {
    pub occurrences: u64,
    /// Hashes of distinct parent shapes (kinds `process` and `image` only).
    pub parents: HashSet<u64>,
    pub example: Option<String>,
}

/// A fixed hasher, so the same parent hashes the same in every archive of the run.
pub(super) fn hash_str(s: &str) -> u64 {
    BuildHasherDefault::<DefaultHasher>::default().hash_one(s)
}

impl Tally {
    pub fn new(kinds: &[StackKind]) -> Tally {
        Tally {
            kinds: kinds.to_vec(),
            ..Tally::default()
        }
    }

    fn wants(&self, kind: StackKind) -> bool {
        self.kinds.is_empty() || self.kinds.contains(&kind)
    }

    fn add(&mut self, kind: StackKind, key: String, parent: Option<&str>, example: &str) {
        if !self.wants(kind) {
            return;
        }
        let k = (kind, key);
        if self.map.len() >= MAX_KEYS_PER_ARCHIVE && !self.map.contains_key(&k) {
            self.keys_dropped += 1;
            return;
        }
        let local = self.map.entry(k).or_default();
        local.occurrences += 1;
        if let Some(p) = parent {
            local.parents.insert(hash_str(p));
        }
        if local.example.is_none() && !example.is_empty() {
            local.example = Some(cut(example, EXAMPLE_CHARS));
        }
    }

    pub fn process(&mut self, r: &ProcessRecord, windows: bool) {
        self.records += 1;
        // Kernel threads are the same on every host and have no image: pure noise here.
        if r.kernel_thread || r.image_kind == ImageKind::None {
            return;
        }
        let raw_image = match (&r.image_path, r.image_kind) {
            (Some(p), ImageKind::File) => p.clone(),
            (Some(p), ImageKind::Deleted) => format!("[deleted] {p}"),
            (Some(p), ImageKind::Memfd) => format!("[memfd] {p}"),
            (None, ImageKind::Memfd) => format!("[memfd] {}", r.name),
            // No path: stack by name, bracketed so it never collides with a real path.
            _ => format!("[{}]", r.name),
        };
        let image = shape(&raw_image, windows);
        let parent = r.ancestry.first().map(|a| match &a.image_path {
            Some(p) => shape(p, windows),
            None => format!("[{}]", shape(&a.name, windows)),
        });
        let parent = parent.as_deref();
        let cmd = if r.command_line.trim().is_empty() {
            "[no command line]".to_string()
        } else {
            shape(&r.command_line, windows)
        };
        self.add(StackKind::Image, image.clone(), parent, &raw_image);
        self.add(
            StackKind::Process,
            format!("{image} | {cmd}"),
            parent,
            &r.command_line,
        );
        if let Some(p) = parent {
            let example = match r.ancestry.first() {
                Some(a) => format!(
                    "{} -> {raw_image}",
                    a.image_path.as_deref().unwrap_or(&a.name)
                ),
                None => raw_image.clone(),
            };
            self.add(
                StackKind::ParentChild,
                format!("{p} -> {image}"),
                None,
                &example,
            );
        }
        if let Some(h) = &r.image_sha256 {
            self.add(StackKind::ImageHash, h.to_hex(), None, &raw_image);
        }
    }

    pub fn scheduled(&mut self, r: &ScheduledTaskRecord, windows: bool) {
        self.records += 1;
        let scheduler = serde_name(&r.kind);
        for a in &r.actions {
            let raw = if a.command_line.trim().is_empty() {
                &a.command
            } else {
                &a.command_line
            };
            let what = match a.kind {
                // A COM handler is identified by its CLSID: collapsing it as a GUID would
                // stack every handler into one key.
                ActionKind::ComHandler => format!("com {}", a.command.trim().to_lowercase()),
                _ => shape(raw, windows),
            };
            let example = format!("{}: {raw}", r.name);
            self.add(
                StackKind::ScheduledAction,
                format!("{scheduler}: {what}"),
                None,
                &example,
            );
        }
    }

    pub fn temp_file(&mut self, r: &TempFileRecord) {
        self.records += 1;
        if let Some(h) = &r.sha256 {
            self.add(StackKind::TempScriptHash, h.to_hex(), None, &r.path);
        }
    }
}

/// The serde name of a unit enum variant (`cron`, `windows_task`), as the records write it.
fn serde_name<T: serde::Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        _ => "other".to_string(),
    }
}
