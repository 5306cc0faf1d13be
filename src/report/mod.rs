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
pub use crate::detect::{Finding, Severity};
use crate::record::ProcessRecord;

/// Everything a report is rendered from; built from an archive or from a run in progress.
pub struct ReportData {
    pub manifest: Manifest,
    pub processes: Vec<ProcessRecord>,
    pub findings: Vec<Finding>,
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
