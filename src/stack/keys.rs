//! What each record contributes to the stack: the keys (see `StackKind`) built from a
//! process (the snapshot, and the history Sysmon 1, Security 4688 and auditd execve logged),
//! a scheduled action or a temp file, normalised by `normalize::shape`. irsnap's own process
//! is never stacked.

use super::StackKind;
use super::normalize::{cut, shape};
use crate::detect::Severity;
use crate::parsers::exec_events::ExecEvent;
use crate::record::{
    ActionKind, AuditLogRecord, ExecutionEventRecord, ImageKind, ProcessRecord,
    ScheduledTaskRecord, TempFileRecord,
};
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
    /// The most severe finding on a record behind this key.
    pub finding: Option<Severity>,
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

    fn add(
        &mut self,
        kind: StackKind,
        key: String,
        parent: Option<&str>,
        example: &str,
        finding: Option<Severity>,
    ) {
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
        local.finding = local.finding.max(finding);
        if let Some(p) = parent {
            local.parents.insert(hash_str(p));
        }
        if local.example.is_none() && !example.is_empty() {
            local.example = Some(cut(example, EXAMPLE_CHARS));
        }
    }

    pub fn process(&mut self, r: &ProcessRecord, windows: bool, finding: Option<Severity>) {
        self.records += 1;
        // Kernel threads are the same on every host and have no image: pure noise here. The
        // responder's own irsnap is not what ran on the host.
        if r.kernel_thread || r.image_kind == ImageKind::None || r.is_irsnap {
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
        let parent = r.ancestry.first().map(|a| match &a.image_path {
            Some(p) => p.clone(),
            None => format!("[{}]", a.name),
        });
        self.one_process(
            &raw_image,
            &r.command_line,
            parent.as_deref(),
            r.image_sha256.map(|h| h.to_hex()).as_deref(),
            windows,
            finding,
        );
    }

    /// A process start an event log recorded (Sysmon 1, Security 4688): the same keys as a
    /// running process, so a program that ran last week on one host stacks with the rest.
    pub fn logged_process(
        &mut self,
        r: &ExecutionEventRecord,
        windows: bool,
        finding: Option<Severity>,
    ) {
        self.records += 1;
        let ExecutionEventRecord::Event(e) = r else {
            return;
        };
        match &e.event {
            ExecEvent::SysmonProcessCreate(p) => {
                let Some(image) = p.image.as_deref().filter(|i| !i.is_empty()) else {
                    return;
                };
                self.one_process(
                    image,
                    p.command_line.as_deref().unwrap_or(""),
                    p.parent_image.as_deref().filter(|i| !i.is_empty()),
                    p.hashes.get("sha256").map(String::as_str),
                    windows,
                    finding,
                );
            }
            ExecEvent::SecurityProcessCreate(p) => {
                let Some(image) = p.new_process_name.as_deref().filter(|i| !i.is_empty()) else {
                    return;
                };
                self.one_process(
                    image,
                    p.command_line.as_deref().unwrap_or(""),
                    p.parent_process_name.as_deref().filter(|i| !i.is_empty()),
                    None,
                    windows,
                    finding,
                );
            }
            _ => {}
        }
    }

    /// A program auditd saw executed (`execve`): image and argv; auditd names no parent image.
    pub fn audited_process(&mut self, r: &AuditLogRecord, finding: Option<Severity>) {
        self.records += 1;
        let AuditLogRecord::Event(e) = r else {
            return;
        };
        let e = &e.event;
        if e.kind != crate::parsers::auditd::AuditKind::Execve {
            return;
        }
        let Some(image) = e.exe.as_deref().filter(|i| !i.is_empty()) else {
            return;
        };
        let cmd = e
            .command_line
            .clone()
            .or_else(|| (!e.argv.is_empty()).then(|| e.argv.join(" ")))
            .unwrap_or_default();
        self.one_process(image, &cmd, None, None, false, finding);
    }

    fn one_process(
        &mut self,
        raw_image: &str,
        command_line: &str,
        raw_parent: Option<&str>,
        sha256: Option<&str>,
        windows: bool,
        finding: Option<Severity>,
    ) {
        let image = shape(raw_image, windows);
        let parent = raw_parent.map(|p| shape(p, windows));
        let parent = parent.as_deref();
        let cmd = if command_line.trim().is_empty() {
            "[no command line]".to_string()
        } else {
            shape(command_line, windows)
        };
        self.add(StackKind::Image, image.clone(), parent, raw_image, finding);
        self.add(
            StackKind::Process,
            format!("{image} | {cmd}"),
            parent,
            command_line,
            finding,
        );
        if let Some(p) = parent {
            let example = format!("{} -> {raw_image}", raw_parent.unwrap_or(p));
            self.add(
                StackKind::ParentChild,
                format!("{p} -> {image}"),
                None,
                &example,
                finding,
            );
        }
        if let Some(h) = sha256 {
            self.add(
                StackKind::ImageHash,
                h.to_ascii_lowercase(),
                None,
                raw_image,
                finding,
            );
        }
    }

    pub fn scheduled(&mut self, r: &ScheduledTaskRecord, windows: bool, finding: Option<Severity>) {
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
                finding,
            );
        }
    }

    pub fn temp_file(&mut self, r: &TempFileRecord, finding: Option<Severity>) {
        self.records += 1;
        if let Some(h) = &r.sha256 {
            self.add(
                StackKind::TempScriptHash,
                h.to_hex(),
                None,
                &r.path,
                finding,
            );
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
