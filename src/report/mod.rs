//! The triage report: the collection summary, what the archive does not hold and why, the
//! findings with their evidence, and the process tree. Rendered as one self-contained HTML
//! page (no scripts, no external resources, readable with JavaScript off), as Markdown, and
//! as JSON. Every attacker-controlled string goes through `escape` for its output.

pub mod escape;
mod html;
mod markdown;

pub use html::render_html;
pub use markdown::render_markdown;

use crate::archive::manifest::Manifest;
use crate::record::{ProcessRecord, Sha256};
use serde::{Deserialize, Serialize};

/// Severity of a finding, most severe last (so `Ord` sorts ascending by importance).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Informational,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Informational => "informational",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

/// Where a finding's evidence is: a record (archive member + 1-based line) and, when a file
/// is involved, its hash and raw copy.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvidenceView {
    pub member: String,
    pub line: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_member: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<Sha256>,
}

/// What the report needs of a finding (built from the detection engine's findings).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FindingView {
    pub rule_id: String,
    pub title: String,
    pub severity: Severity,
    pub techniques: Vec<String>,
    pub explanation: String,
    pub evidence: Vec<EvidenceView>,
    /// Field → matched value.
    pub matched: Vec<(String, String)>,
    /// Original and decoded payload, side by side.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decoded: Option<(String, String)>,
    /// Rule source: `builtin` or `sigma` (with the rule's author, for attribution).
    #[serde(default)]
    pub source: String,
}

/// Everything a report is rendered from; built from an archive or from a run in progress.
pub struct ReportData {
    pub manifest: Manifest,
    pub processes: Vec<ProcessRecord>,
    pub findings: Vec<FindingView>,
}

impl ReportData {
    /// Pids of processes a finding points at (by their line in `records/processes.jsonl`).
    pub fn flagged_pids(&self) -> std::collections::HashMap<u32, Severity> {
        let mut out = std::collections::HashMap::new();
        for f in &self.findings {
            for e in &f.evidence {
                if e.member == "records/processes.jsonl"
                    && let Some(p) = usize::try_from(e.line)
                        .ok()
                        .and_then(|l| l.checked_sub(1))
                        .and_then(|i| self.processes.get(i))
                {
                    let s = out.entry(p.pid).or_insert(f.severity);
                    *s = (*s).max(f.severity);
                }
            }
        }
        out
    }
}
