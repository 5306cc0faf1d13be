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

/// A time as a responder reads it: seconds, UTC.
pub(crate) fn when(t: &chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%SZ").to_string()
}

/// Where the evidence came from, in words; `path` formats an offline root's path (plain for
/// HTML, which escapes the whole text; a code span for Markdown).
pub(crate) fn source_text(m: &Manifest, path: impl Fn(&str) -> String) -> String {
    use crate::record::SourceDescription as S;
    match &m.source {
        S::Live { os } => format!("live host ({})", os.as_str()),
        S::OfflineRoot {
            os,
            path: p,
            os_detected,
        } => format!(
            "offline root {} ({}{})",
            path(p),
            os.as_str(),
            if *os_detected { "" } else { ", assumed" }
        ),
    }
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
