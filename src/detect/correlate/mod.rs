//! Joins across observations — what no single record shows.
//!
//! - [`enrich`]: fills parent and ancestry from the rest of the set (live snapshot by pid, Sysmon
//!   by ProcessGuid), so "script host spawned X" and "Office → shell" rules see the whole chain
//!   even when one event logged only the parent.
//! - Written then run: a staged file (temp_file observation: temp_scripts collector, Sysmon 11)
//!   that is a process image, a script argument, or named in a task / cron / timer / at /
//!   service / history command. The finding points at both records and carries the file hash.
//! - Execution → C2: a script host, shell, LOLBin, or a process running from a temp path or
//!   from memory, holding a connection to a public address (process ↔ connection by pid, or
//!   the image Sysmon 3 logged).
//!
//! The guidance this follows: "Link execution events to subsequent network connections
//! (Sysmon 3) for C2 detection"; "newly written .ps1, .vbs, .js, .bat or .exe files followed
//! quickly by execution" (TA0002 guidance, shared/guidance/000_*.txt).

use std::collections::HashMap;
use std::sync::Arc;

use super::finding::{Finding, FindingContext, MatchedValue};
use super::observation::{
    EvidenceRef, Observation, ObservationKind, image_name, path_in_user_writable, path_tokens,
    snippet, strip_exe,
};
use super::rules::{Severity, Tactic};

mod ancestry;
mod burst;
mod c2;
mod logons;

pub use ancestry::{GuidIndex, enrich_snapshot};
pub use burst::BurstIndex;
pub use c2::{ProcIndex, exec_to_c2};
pub use logons::LogonIndex;

/// Longest ancestry chain rebuilt (also guards against pid/guid loops).
const MAX_DEPTH: usize = 32;

fn norm_path(p: &str) -> String {
    p.trim()
        .trim_matches(|c| c == '"' || c == '\'')
        .to_lowercase()
        .replace('/', "\\")
}

/// Same file: equal, or one is a suffix of the other at a separator, or the same directory
/// name and file name (`%TEMP%\x.ps1` vs `C:\Users\b\AppData\Local\Temp\x.ps1`).
fn same_file(a: &str, b: &str) -> bool {
    let (a, b) = (norm_path(a), norm_path(b));
    if a == b {
        return true;
    }
    let suffix = |long: &str, short: &str| {
        long.ends_with(short) && long[..long.len() - short.len()].ends_with('\\')
    };
    if suffix(&a, &b) || suffix(&b, &a) {
        return true;
    }
    let last2 = |s: &str| -> Option<(String, String)> {
        let mut it = s.rsplit('\\');
        let f = it.next()?.to_string();
        let d = it.next()?.trim_matches('%').to_string();
        Some((d, f))
    };
    matches!((last2(&a), last2(&b)), (Some(x), Some(y)) if x == y && !x.0.is_empty())
}

/// `C:\...`, `\\server\...`, `/...`, or an environment-variable root (`%TEMP%\...`).
fn is_absolute(p: &str) -> bool {
    let p = p.trim().trim_matches(|c| c == '"' || c == '\'');
    let b = p.as_bytes();
    (b.len() > 2 && b[0].is_ascii_alphabetic() && b[1] == b':' && (b[2] == b'\\' || b[2] == b'/'))
        || p.starts_with("\\\\")
        || p.starts_with('/')
        || p.starts_with('%')
        || p.to_ascii_lowercase().starts_with("$env:")
}

/// Scripts written then run are the guidance's headline chain; binaries dropped in temp and
/// run are also how every updater works, so they weigh less unless a scheduler runs them.
fn is_script(path: &str) -> bool {
    let ext = path.rsplit('.').next().unwrap_or("").to_ascii_lowercase();
    matches!(
        ext.as_str(),
        "ps1"
            | "psm1"
            | "bat"
            | "cmd"
            | "vbs"
            | "vbe"
            | "js"
            | "jse"
            | "wsf"
            | "wsh"
            | "hta"
            | "sh"
            | "bash"
            | "py"
            | "pl"
            | "rb"
            | "php"
            | "sct"
    )
}

/// Parents whose dropped-and-started binary is a dropper's payload rather than an update.
const DROPPER_PARENTS: &[&str] = &[
    "powershell",
    "pwsh",
    "cmd",
    "wscript",
    "cscript",
    "mshta",
    "rundll32",
    "regsvr32",
    "winword",
    "excel",
    "powerpnt",
    "outlook",
    "msaccess",
    "onenote",
    "acrord32",
    "acrobat",
    "hh",
    "wmiprvse",
    "msbuild",
    "certutil",
    "bitsadmin",
];

fn dropped_by_interpreter(runner: &Observation) -> bool {
    runner
        .ancestry
        .first()
        .is_some_and(|p| DROPPER_PARENTS.contains(&strip_exe(p)))
}

fn technique_for(path: &str) -> &'static str {
    let ext = path.rsplit('.').next().unwrap_or("").to_ascii_lowercase();
    match ext.as_str() {
        "ps1" | "psm1" | "psd1" => "T1059.001",
        "bat" | "cmd" => "T1059.003",
        "sh" | "bash" | "zsh" => "T1059.004",
        "vbs" | "vbe" | "wsf" => "T1059.005",
        "py" | "pyc" => "T1059.006",
        "js" | "jse" => "T1059.007",
        "hta" => "T1218.005",
        "dll" | "cpl" | "ocx" => "T1218.011",
        _ => "T1204.002",
    }
}

/// A string kept in the index's arena: byte offset and length.
#[derive(Debug, Clone, Copy)]
struct Span(u32, u32);

/// Where a staged file's record said its source file was.
#[derive(Debug, Clone, Copy)]
enum SourcePath {
    None,
    /// The staged path itself (the common case: not stored twice).
    Same,
    Other(Span),
}

/// The archive member of a staged file's copy.
#[derive(Debug, Clone, Copy)]
enum FileMember {
    None,
    /// `files` + the path (`files/tmp/x.sh` for `/tmp/x.sh`): how Unix copies are named.
    FilesPath,
    Other(Span),
}

/// A file staged in a temp or user-writable place, as the written-then-run join needs it:
/// compact, since a temp tree can stage tens of thousands. Its strings live in the index's
/// arena, and its evidence reference is rebuilt only when a finding needs it.
struct StagedFile {
    path: Span,
    /// The records member, shared by every file of that member.
    member: Arc<str>,
    line: u64,
    source_path: SourcePath,
    file_member: FileMember,
    sha256: Option<crate::record::Sha256>,
    /// The evidence's hash when it is not the file's (rare: boxed).
    other_evidence_sha256: Option<Box<Option<crate::record::Sha256>>>,
    /// Next staged file with the same name hash (insertion order).
    next: Option<u32>,
}

/// Staged files by file name, for the written-then-run join. Bounded: past `cap` files new
/// ones are counted, not indexed (the collectors' own budgets keep real runs below it). The
/// files sit in one vector chained by name hash: no key strings, no vector per name.
pub struct StagedIndex {
    files: Vec<StagedFile>,
    /// Every indexed path and member name, end to end (no allocation per string).
    arena: String,
    /// Name hash → (first, last) file with that hash.
    chains: HashMap<u64, (u32, u32)>,
    member: Option<Arc<str>>,
    cap: usize,
    /// Staged files left out of the join because the index was full.
    pub dropped: u64,
}

fn name_hash(name: &str) -> u64 {
    use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};
    BuildHasherDefault::<DefaultHasher>::default().hash_one(name)
}

impl StagedIndex {
    pub fn new(cap: usize) -> StagedIndex {
        StagedIndex {
            // Reserved once: a doubling vector copies itself and leaves the old block to the
            // allocator's fragments; untouched reserved pages cost no memory.
            files: Vec::with_capacity(cap.min(1 << 20)),
            arena: String::new(),
            chains: HashMap::new(),
            member: None,
            // Indexes are u32.
            cap: cap.min(u32::MAX as usize),
            dropped: 0,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// Index a staged file (other observations are ignored). Only staged files count: a file
    /// written under Program Files or System32 by an installer is installation, not staging.
    pub fn insert(&mut self, o: &Observation) {
        if o.kind != ObservationKind::TempFile {
            return;
        }
        let Some(p) = o.file_path.as_deref().filter(|p| path_in_user_writable(p)) else {
            return;
        };
        let ev = &o.evidence;
        let other_source = ev.source_path.as_deref().filter(|s| *s != p);
        let member_is_files_path = ev
            .file_member
            .as_deref()
            .is_some_and(|m| m.strip_prefix("files").is_some_and(|rest| rest == p));
        let bytes = p.len()
            + ev.file_member.as_deref().map_or(0, str::len)
            + other_source.map_or(0, str::len);
        // The arena is addressed with u32 offsets.
        if self.files.len() >= self.cap || self.arena.len() + bytes > u32::MAX as usize {
            self.dropped += 1;
            return;
        }
        let member = match &self.member {
            Some(m) if **m == *ev.member => Arc::clone(m),
            _ => {
                let m: Arc<str> = Arc::from(ev.member.as_str());
                self.member = Some(Arc::clone(&m));
                m
            }
        };
        let source_path = match (ev.source_path.as_deref(), other_source) {
            (None, _) => SourcePath::None,
            (Some(_), None) => SourcePath::Same,
            (Some(_), Some(s)) => SourcePath::Other(self.keep(s)),
        };
        let path = self.keep(p);
        let file_member = match ev.file_member.as_deref() {
            None => FileMember::None,
            Some(_) if member_is_files_path => FileMember::FilesPath,
            Some(m) => FileMember::Other(self.keep(m)),
        };
        let index = self.files.len() as u32;
        self.files.push(StagedFile {
            path,
            member,
            line: ev.line,
            source_path,
            file_member,
            sha256: o.file_sha256,
            other_evidence_sha256: match ev.sha256.or(o.file_sha256) {
                h if h == o.file_sha256 => None,
                h => Some(Box::new(h)),
            },
            next: None,
        });
        let hash = name_hash(&image_name(p));
        match self.chains.get_mut(&hash) {
            Some((_, last)) => {
                let previous = *last as usize;
                *last = index;
                if let Some(f) = self.files.get_mut(previous) {
                    f.next = Some(index);
                }
            }
            None => {
                self.chains.insert(hash, (index, index));
            }
        }
    }

    fn keep(&mut self, s: &str) -> Span {
        let at = self.arena.len() as u32;
        self.arena.push_str(s);
        Span(at, s.len() as u32)
    }

    fn text(&self, span: Span) -> &str {
        let start = span.0 as usize;
        self.arena.get(start..start + span.1 as usize).unwrap_or("")
    }

    fn evidence(&self, f: &StagedFile) -> EvidenceRef {
        EvidenceRef {
            member: f.member.to_string(),
            line: f.line,
            source_path: match f.source_path {
                SourcePath::None => None,
                SourcePath::Same => Some(self.text(f.path).to_string()),
                SourcePath::Other(p) => Some(self.text(p).to_string()),
            },
            file_member: match f.file_member {
                FileMember::None => None,
                FileMember::FilesPath => Some(format!("files{}", self.text(f.path))),
                FileMember::Other(m) => Some(self.text(m).to_string()),
            },
            sha256: match &f.other_evidence_sha256 {
                Some(other) => **other,
                None => f.sha256,
            },
        }
    }

    /// The staged files named `name` (lowercased basename), in insertion order, with their
    /// indexes.
    fn named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = (u32, &'a StagedFile)> + 'a {
        let mut at = self.chains.get(&name_hash(name)).map(|(first, _)| *first);
        std::iter::from_fn(move || {
            let i = at?;
            let f = self.files.get(i as usize)?;
            at = f.next;
            Some((i, f))
        })
        // A hash collision chains two names together: the name itself decides.
        .filter(move |(_, f)| image_name(self.text(f.path)) == name)
    }
}

/// The findings of one observation that runs what a staged file is: a running image, a
/// script argument, or a task / cron / timer / at / service / history command.
pub fn written_then_run(runner: &Observation, staged: &StagedIndex, out: &mut Vec<Finding>) {
    if staged.is_empty()
        || matches!(
            runner.kind,
            ObservationKind::TempFile | ObservationKind::NetworkConnection
        )
    {
        return;
    }
    let mut candidates: Vec<&str> = Vec::new();
    candidates.extend(runner.image.as_deref());
    candidates.extend(runner.script_path.as_deref());
    if let Some(cmd) = &runner.command_line {
        candidates.extend(path_tokens(cmd));
    }
    // A bare file name matches any file of that name: only absolute paths join.
    candidates.retain(|c| is_absolute(c));
    // Each staged file joins a runner once, whichever of its paths named it.
    let mut done: Vec<u32> = Vec::new();
    for cand in candidates {
        let name = image_name(cand);
        for (id, file) in staged.named(&name) {
            let path = staged.text(file.path);
            if done.contains(&id) || !same_file(cand, path) {
                continue;
            }
            done.push(id);
            let file_ev = staged.evidence(file);
            let mut matched = vec![
                MatchedValue {
                    field: "file_path".into(),
                    value: snippet(path, 0, path.len(), 200),
                },
                MatchedValue {
                    field: format!("{}.path", runner.kind.as_str()),
                    value: snippet(cand, 0, cand.len(), 200),
                },
            ];
            if let Some(h) = file.sha256 {
                matched.push(MatchedValue {
                    field: "file_sha256".into(),
                    value: h.to_hex(),
                });
            }
            let scheduled = matches!(
                runner.kind,
                ObservationKind::TaskAction
                    | ObservationKind::CronCommand
                    | ObservationKind::TimerCommand
                    | ObservationKind::AtCommand
                    | ObservationKind::ServiceCommand
            );
            let mut techniques = vec![technique_for(path).to_string()];
            if scheduled {
                techniques.push(
                    match runner.kind {
                        ObservationKind::TaskAction => "T1053.005",
                        ObservationKind::CronCommand => "T1053.003",
                        ObservationKind::TimerCommand => "T1053.006",
                        ObservationKind::AtCommand => "T1053.002",
                        _ => "T1569.002",
                    }
                    .to_string(),
                );
            }
            out.push(code_finding(
            "corr-written-then-run",
            "File written to a temp or user-writable place, then executed",
            "A staged file is a running image, a script argument or a scheduled command: dropped-then-run is the classic execution chain.",
            techniques,
            Tactic::Execution,
            if scheduled || is_script(path) || dropped_by_interpreter(runner) {
                Severity::High
            } else {
                Severity::Low
            },
            runner,
            vec![runner.evidence.clone(), file_ev],
            matched,
        ));
        }
    }
}

#[allow(clippy::too_many_arguments)]
pub(super) fn code_finding(
    id: &str,
    title: &str,
    description: &str,
    techniques: Vec<String>,
    tactic: Tactic,
    severity: Severity,
    about: &Observation,
    evidence: Vec<EvidenceRef>,
    matched: Vec<MatchedValue>,
) -> Finding {
    Finding {
        rule_id: id.to_string(),
        title: title.to_string(),
        description: description.to_string(),
        techniques,
        tactic,
        tactic_id: tactic.id().to_string(),
        severity,
        observation_kind: about.kind,
        summary: about.label(),
        evidence,
        occurrences: 1,
        matched,
        decoded: None,
        rule_origin: "builtin:correlate".to_string(),
        context: FindingContext::of(about),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_file_matches_env_and_suffix_forms() {
        assert!(same_file(
            "%TEMP%\\x.ps1",
            "C:\\Users\\b\\AppData\\Local\\Temp\\x.ps1"
        ));
        assert!(same_file("/tmp/a.sh", "/tmp/a.sh"));
        assert!(same_file("\"C:\\TMP\\mim.exe\"", "c:\\tmp\\MIM.EXE"));
        assert!(!same_file("/tmp/a.sh", "/var/tmp/b/a.sh"));
        assert!(!same_file("a.sh", "/tmp/a.shx"));
    }
}
