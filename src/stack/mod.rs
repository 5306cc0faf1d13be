//! Fleet stacking: least frequency of occurrence across many hosts' archives. What runs on
//! every host is the baseline; what runs on one host, once, is where a hunt starts (and a
//! program started by many distinct parents is the other signal of the guidance's hunt).
//!
//! Each archive is read on its own (manifest first, then `records/*.jsonl` streamed line by
//! line into typed records) into a per-archive tally, which is merged into the fleet counters
//! only when the whole archive was read: a damaged archive adds nothing and is reported.
//! Only counters are kept across archives (per key: host count, occurrences, up to
//! `host_list_cap` hosts, up to `PARENT_CAP` parent hashes, one example), so hundreds of
//! archives fit in memory.
//!
//! A host is its manifest's hostname (case-insensitive); two archives of one host (collected
//! twice) count as one host, their occurrences add up. An archive without a hostname is a
//! host of its own.

mod keys;
pub mod normalize;
mod read;

use crate::archive::Identities;
use crate::ids::CollectorId;
use keys::Tally;
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

/// Distinct parents tracked per key; past this the count is reported as capped.
pub const PARENT_CAP: usize = 1000;

/// What is stacked. Every key is a normalised shape (see `normalize`), so the same program
/// on different hosts lands on one key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StackKind {
    /// Process image + command-line shape (`processes`).
    Process,
    /// Process image alone, with its number of distinct parents (`processes`).
    Image,
    /// Parent image → child image (`processes`, from the ancestry).
    ParentChild,
    /// What a Windows task, cron/anacron line, cron script, at job or systemd timer runs
    /// (`scheduled_tasks`), prefixed by the scheduler.
    ScheduledAction,
    /// SHA-256 of a script or binary staged in a temp directory (`temp_scripts`).
    TempScriptHash,
    /// SHA-256 of a running process's image (`processes`).
    ImageHash,
}

impl StackKind {
    pub const ALL: &'static [StackKind] = &[
        StackKind::Process,
        StackKind::Image,
        StackKind::ParentChild,
        StackKind::ScheduledAction,
        StackKind::TempScriptHash,
        StackKind::ImageHash,
    ];

    pub fn from_name(name: &str) -> Option<StackKind> {
        let name = name.replace('-', "_");
        StackKind::ALL.iter().copied().find(|k| k.as_str() == name)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            StackKind::Process => "process",
            StackKind::Image => "image",
            StackKind::ParentChild => "parent_child",
            StackKind::ScheduledAction => "scheduled_action",
            StackKind::TempScriptHash => "temp_script_hash",
            StackKind::ImageHash => "image_hash",
        }
    }

    /// Kinds whose keys count distinct parents.
    fn counts_parents(self) -> bool {
        matches!(self, StackKind::Process | StackKind::Image)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StackError {
    /// Its message names the path already.
    #[error("{cause}")]
    Open {
        path: PathBuf,
        cause: crate::archive::open::OpenError,
    },
    #[error("{}: manifest.json: {reason}", path.display())]
    Manifest { path: PathBuf, reason: String },
    #[error("{}: {member}: {reason}", path.display())]
    Member {
        path: PathBuf,
        member: String,
        reason: String,
    },
}

#[derive(Debug, Clone)]
pub struct StackOptions {
    /// Only these kinds (empty: all).
    pub kinds: Vec<StackKind>,
    /// Hosts named per key (the count is always exact).
    pub host_list_cap: usize,
}

impl Default for StackOptions {
    fn default() -> Self {
        StackOptions {
            kinds: Vec::new(),
            host_list_cap: 20,
        }
    }
}

/// A host a key was seen on, and the archive it was seen in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostRef {
    pub hostname: String,
    pub archive: String,
}

/// One stacked key: one JSON line of `irsnap stack --json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StackEntry {
    pub kind: StackKind,
    pub key: String,
    /// Hosts it was seen on.
    pub host_count: u64,
    /// Times it was seen, over all hosts (processes, actions, files).
    pub occurrences: u64,
    /// Distinct parent images (kinds `process` and `image`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub distinct_parents: Option<u64>,
    /// More distinct parents than `PARENT_CAP` were seen; `distinct_parents` is a floor.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub distinct_parents_capped: bool,
    /// The first hosts it was seen on (at most `host_list_cap`).
    pub hosts: Vec<HostRef>,
    /// `hosts` lists fewer than `host_count`.
    pub hosts_truncated: bool,
    /// One value as recorded (before normalisation), cut to 300 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub example: Option<String>,
    /// The most severe finding on any record behind this key, in any archive: a rare key
    /// that detection also flagged is where to look first.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finding: Option<crate::detect::Severity>,
}

/// An archive that was stacked.
#[derive(Debug, Clone)]
pub struct ArchiveReport {
    pub path: PathBuf,
    pub hostname: String,
    pub records: u64,
    /// Record lines that could not be read as their type (damaged, foreign schema).
    pub bad_lines: u64,
    /// The first few of them, with member and line number.
    pub bad_examples: Vec<String>,
    /// Keys not counted because the archive passed `MAX_KEYS_PER_ARCHIVE`.
    pub keys_dropped: u64,
}

/// An archive that was not stacked, and why.
#[derive(Debug, Clone)]
pub struct Skipped {
    pub path: PathBuf,
    pub error: String,
}

#[derive(Debug, Clone)]
pub struct StackResult {
    /// Rarest first.
    pub entries: Vec<StackEntry>,
    pub archives: Vec<ArchiveReport>,
    pub skipped: Vec<Skipped>,
    pub host_count: usize,
}

impl StackResult {
    /// Something was left out: a whole archive, record lines, or keys past the cap.
    pub fn incomplete(&self) -> bool {
        !self.skipped.is_empty()
            || self
                .archives
                .iter()
                .any(|a| a.bad_lines > 0 || a.keys_dropped > 0)
    }
}

struct Counter {
    host_count: u64,
    occurrences: u64,
    /// The host that last added to it: archives of one host are merged one after the other.
    last_host: usize,
    /// Archive indexes (into `archives`), one per host, at most `host_list_cap`.
    archives: Vec<usize>,
    parents: HashSet<u64>,
    parents_capped: bool,
    example: Option<String>,
    finding: Option<crate::detect::Severity>,
}

struct Planned {
    path: PathBuf,
    host_key: String,
    hostname: String,
}

/// The file name of an archive, for display.
fn file_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

/// Stack the given archives.
pub fn stack(paths: &[PathBuf], opts: &StackOptions, identities: &Identities) -> StackResult {
    let mut skipped = Vec::new();
    // Pass 1: manifests only, to group archives of one host so each key counts it once.
    let mut planned = Vec::new();
    for path in paths {
        match read::open(path, identities) {
            Ok(a) => {
                let hostname = a
                    .head
                    .host
                    .hostname
                    .as_deref()
                    .map(str::trim)
                    .filter(|h| !h.is_empty())
                    .map(str::to_string);
                let host_key = match &hostname {
                    Some(h) => format!("host:{}", h.to_lowercase()),
                    None => format!("archive:{}", path.display()),
                };
                planned.push(Planned {
                    path: path.clone(),
                    host_key,
                    hostname: hostname.unwrap_or_else(|| "(no hostname)".to_string()),
                });
            }
            Err(e) => skipped.push(Skipped {
                path: path.clone(),
                error: e.to_string(),
            }),
        }
    }
    let mut first_seen: HashMap<String, usize> = HashMap::new();
    for (i, p) in planned.iter().enumerate() {
        first_seen.entry(p.host_key.clone()).or_insert(i);
    }
    // Stable: archives keep their command-line order within a host.
    planned.sort_by_key(|p| first_seen.get(&p.host_key).copied().unwrap_or(usize::MAX));

    let mut counters: HashMap<(StackKind, String), Counter> = HashMap::new();
    let mut archives: Vec<ArchiveReport> = Vec::new();
    let mut host_ids: HashMap<String, usize> = HashMap::new();
    for p in planned {
        let scanned = match scan(&p.path, &opts.kinds, identities) {
            Ok(t) => t,
            Err(e) => {
                skipped.push(Skipped {
                    path: p.path.clone(),
                    error: e.to_string(),
                });
                continue;
            }
        };
        let next = host_ids.len();
        let host = *host_ids.entry(p.host_key.clone()).or_insert(next);
        let archive_idx = archives.len();
        archives.push(ArchiveReport {
            path: p.path.clone(),
            hostname: p.hostname.clone(),
            records: scanned.tally.records,
            bad_lines: scanned.bad.len() as u64 + scanned.more_bad,
            bad_examples: scanned.bad,
            keys_dropped: scanned.tally.keys_dropped,
        });
        merge(
            &mut counters,
            scanned.tally,
            host,
            archive_idx,
            opts.host_list_cap,
        );
    }

    let mut entries: Vec<StackEntry> = counters
        .into_iter()
        .map(|((kind, key), c)| StackEntry {
            kind,
            key,
            host_count: c.host_count,
            occurrences: c.occurrences,
            distinct_parents: kind.counts_parents().then_some(c.parents.len() as u64),
            distinct_parents_capped: c.parents_capped,
            hosts_truncated: (c.archives.len() as u64) < c.host_count,
            hosts: c
                .archives
                .iter()
                .map(|&i| HostRef {
                    hostname: archives[i].hostname.clone(),
                    archive: file_name(&archives[i].path),
                })
                .collect(),
            example: c.example,
            finding: c.finding,
        })
        .collect();
    entries.sort_by(|a, b| {
        (a.host_count, a.occurrences, a.kind, &a.key).cmp(&(
            b.host_count,
            b.occurrences,
            b.kind,
            &b.key,
        ))
    });
    StackResult {
        entries,
        archives,
        skipped,
        host_count: host_ids.len(),
    }
}

/// Bad-line examples kept per archive.
const BAD_EXAMPLES: usize = 3;

/// One archive, read whole.
struct Scanned {
    tally: Tally,
    /// The first bad record lines.
    bad: Vec<String>,
    /// Bad lines past those.
    more_bad: u64,
}

fn scan(path: &Path, kinds: &[StackKind], identities: &Identities) -> Result<Scanned, StackError> {
    let mut archive = read::open(path, identities)?;
    let windows = archive.head.os() == crate::source::OsFamily::Windows;
    let mut tally = Tally::new(kinds);
    let mut bad: Vec<String> = Vec::new();
    let mut more_bad = 0u64;
    let mut note_bad = |why: String| {
        if bad.len() < BAD_EXAMPLES {
            bad.push(why);
        } else {
            more_bad += 1;
        }
    };
    let wants = |k: &[StackKind]| kinds.is_empty() || k.iter().any(|x| kinds.contains(x));
    use StackKind::*;
    let flagged = read::flagged_lines(&mut archive);
    let finding = |c: CollectorId, part: u32, line: u64| flagged.get(&(c, part, line)).copied();
    if wants(&[Process, Image, ParentChild, ImageHash]) {
        read::each_record(&mut archive, path, "processes", |l| match l {
            read::Line::Record(r, part, line) => {
                tally.process(&r, windows, finding(CollectorId::Processes, part, line))
            }
            read::Line::Bad(why) => note_bad(why),
        })?;
        // What ran before the snapshot: the same keys from logged process starts. Their
        // other lines (other event kinds, log summaries) are not stacked, and not bad.
        read::each_record(&mut archive, path, "execution_events", |l| match l {
            read::Line::Record(r, part, line) => tally.logged_process(
                &r,
                windows,
                finding(CollectorId::ExecutionEvents, part, line),
            ),
            read::Line::Bad(_) => {}
        })?;
        read::each_record(&mut archive, path, "audit_logs", |l| match l {
            read::Line::Record(r, part, line) => {
                tally.audited_process(&r, finding(CollectorId::AuditLogs, part, line))
            }
            read::Line::Bad(_) => {}
        })?;
    }
    if wants(&[ScheduledAction]) {
        read::each_record(&mut archive, path, "scheduled_tasks", |l| match l {
            read::Line::Record(r, part, line) => tally.scheduled(
                &r,
                windows,
                finding(CollectorId::ScheduledTasks, part, line),
            ),
            read::Line::Bad(why) => note_bad(why),
        })?;
    }
    if wants(&[TempScriptHash]) {
        read::each_record(&mut archive, path, "temp_scripts", |l| match l {
            read::Line::Record(r, part, line) => {
                tally.temp_file(&r, finding(CollectorId::TempScripts, part, line))
            }
            read::Line::Bad(why) => note_bad(why),
        })?;
    }
    Ok(Scanned {
        tally,
        bad,
        more_bad,
    })
}

fn merge(
    counters: &mut HashMap<(StackKind, String), Counter>,
    tally: Tally,
    host: usize,
    archive_idx: usize,
    host_list_cap: usize,
) {
    for (k, local) in tally.map {
        let c = counters.entry(k).or_insert_with(|| Counter {
            host_count: 0,
            occurrences: 0,
            last_host: usize::MAX,
            archives: Vec::new(),
            parents: HashSet::new(),
            parents_capped: false,
            example: None,
            finding: None,
        });
        c.finding = c.finding.max(local.finding);
        if c.last_host != host {
            c.last_host = host;
            c.host_count += 1;
            if c.archives.len() < host_list_cap {
                c.archives.push(archive_idx);
            }
        }
        c.occurrences += local.occurrences;
        for p in local.parents {
            if c.parents.len() < PARENT_CAP {
                c.parents.insert(p);
            } else if !c.parents.contains(&p) {
                c.parents_capped = true;
            }
        }
        if c.example.is_none() {
            c.example = local.example;
        }
    }
}
