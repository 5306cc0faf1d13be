//! The report as Markdown: the same content as the HTML page, for tickets and chat.

use super::escape::{markdown as esc, shorten};
use super::{ReportData, Severity};
use std::fmt::Write;

const MAX_MD: usize = 500;

pub fn render_markdown(d: &ReportData) -> String {
    let m = &d.manifest;
    let mut out = String::new();
    let host = m.host.hostname.as_deref().unwrap_or("host");
    let _ = writeln!(out, "# irsnap triage report: {}\n", esc(host));
    let _ = writeln!(
        out,
        "- Time (UTC): {} → {}",
        m.started.format("%Y-%m-%d %H:%M:%S%.3fZ"),
        m.ended.format("%Y-%m-%d %H:%M:%S%.3fZ")
    );
    let _ = writeln!(
        out,
        "- Status: {}; profile {}; collected by {}{}",
        esc(&format!("{:?}", m.status).to_lowercase()),
        esc(&m.profile.name),
        esc(m.run_as.user.as_deref().unwrap_or("unknown")),
        if m.run_as.elevated {
            " (elevated)"
        } else {
            " (NOT elevated)"
        }
    );
    if let Some(c) = &m.case {
        if let Some(id) = &c.case_id {
            let _ = writeln!(out, "- Case: {}", esc(id));
        }
        if let Some(e) = &c.examiner {
            let _ = writeln!(out, "- Examiner: {}", esc(e));
        }
    }

    let _ = writeln!(out, "\n## Findings\n");
    if d.findings.is_empty() {
        out.push_str("No execution indicator fired.\n");
    }
    let mut fs: Vec<_> = d.findings.iter().collect();
    fs.sort_by_key(|f| std::cmp::Reverse(f.severity));
    for f in fs {
        let _ = writeln!(
            out,
            "- **{}** {} ({}; {}): {}",
            f.severity.as_str(),
            esc(&f.title),
            esc(&f.rule_id),
            esc(&f.techniques.join(", ")),
            esc(&f.description)
        );
        if !f.summary.is_empty() {
            let (v, _) = shorten(&f.summary, MAX_MD);
            let _ = writeln!(out, "  - on: {}", esc(&v));
        }
        for m in &f.matched {
            let (v, cut) = shorten(&m.value, MAX_MD);
            let cut = if cut {
                " … (cut; see the records)"
            } else {
                ""
            };
            let _ = writeln!(out, "  - {}: {}{cut}", esc(&m.field), esc(&v));
        }
        if let Some(d) = &f.decoded {
            let (v, _) = shorten(&d.decoded, MAX_MD);
            let _ = writeln!(out, "  - decoded ({}): {}", esc(&d.method), esc(&v));
        }
        for e in &f.evidence {
            let _ = writeln!(
                out,
                "  - evidence: {} line {}{}",
                esc(&e.member),
                e.line,
                e.sha256
                    .map(|h| format!(", sha256 {h}"))
                    .unwrap_or_default()
            );
        }
    }

    let _ = writeln!(out, "\n## Coverage\n");
    let _ = writeln!(out, "| collector | status | records | files | why |");
    let _ = writeln!(out, "| --- | --- | ---: | ---: | --- |");
    for c in &m.collectors {
        let why = c.reason.as_deref().unwrap_or("");
        let (why, _) = shorten(why, 200);
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {}{} |",
            esc(c.id.as_str()),
            esc(&format!("{:?}", c.status).to_lowercase()),
            c.records,
            c.files,
            esc(&why),
            match (c.cut_count, c.error_count) {
                (0, 0) => String::new(),
                (0, g) => format!(" ({g} gaps)"),
                (k, 0) => format!(" ({k} cuts)"),
                (k, g) => format!(" ({k} cuts, {g} gaps)"),
            }
        );
    }

    let flagged = d.flagged_pids();
    if !flagged.is_empty() {
        let _ = writeln!(out, "\n## Flagged processes\n");
        for p in &d.processes {
            if let Some(s) = flagged.get(&p.pid) {
                let chain: Vec<String> = p
                    .ancestry
                    .iter()
                    .map(|a| format!("{} ({})", a.name, a.pid))
                    .collect();
                let (cmd, _) = shorten(&p.command_line, MAX_MD);
                let _ = writeln!(
                    out,
                    "- {} pid {}: {} ← {}",
                    Severity::as_str(*s),
                    p.pid,
                    esc(&cmd),
                    esc(&chain.join(" ← "))
                );
            }
        }
    }
    out
}
