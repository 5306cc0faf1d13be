//! The report as Markdown, for tickets, chat and `less`: the same triage order as the HTML
//! page (verdict and top rules, findings grouped by rule with who/when/where, coverage,
//! flagged processes), bounded per rule. Attacker text (command lines, paths, users, hosts)
//! is in code spans, so it is never markup and a path copied out of the file is the path;
//! our own text is escaped only where a character could start markup.

use super::escape::{code, markdown as esc, shorten};
use super::{Finding, ReportData, Severity, source_text, when};
use crate::detect::rule_summaries;
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write;

/// Characters of a value shown; the records hold it whole.
const MAX_MD: usize = 500;
/// Rules in the verdict's table.
const TOP_RULES: usize = 10;
/// Findings written per rule; the rest are counted and in `findings.jsonl`.
const PER_RULE: usize = 20;

/// A value in a code span, cut to `MAX_MD` characters with a note when it was longer.
fn val(s: &str) -> String {
    let (v, cut) = shorten(s, MAX_MD);
    let mut out = code(&v, false);
    if cut {
        let _ = write!(
            out,
            " … ({} characters; whole in the records)",
            s.chars().count()
        );
    }
    out
}

/// Who, when and where of a finding, on one line.
fn context_line(f: &Finding) -> String {
    let c = &f.context;
    let mut parts: Vec<String> = Vec::new();
    match (c.first_seen, c.last_seen) {
        (Some(a), Some(b)) if a != b => parts.push(format!("{} → {}", when(&a), when(&b))),
        (Some(a), _) => parts.push(when(&a)),
        _ => {}
    }
    let more = |n: usize| match n.saturating_sub(1) {
        0 => String::new(),
        k => format!(" (+{k})"),
    };
    if let Some(h) = &c.host {
        parts.push(format!("host {}{}", code(h, false), more(c.hosts.len())));
    }
    if let Some(u) = &c.user {
        parts.push(format!("user {}{}", code(u, false), more(c.users.len())));
    }
    match (c.pid, c.ppid) {
        (Some(p), Some(pp)) => parts.push(format!("pid {p} ← {pp}")),
        (Some(p), None) => parts.push(format!("pid {p}")),
        _ => {}
    }
    if let (Some(ch), Some(id)) = (&c.channel, c.event_id) {
        parts.push(format!("{} {id}", esc(ch)));
    }
    if parts.is_empty() {
        "(no time or place recorded)".to_string()
    } else {
        parts.join(" · ")
    }
}

fn finding(out: &mut String, n: usize, f: &Finding) {
    let _ = writeln!(out, "{n}. {}", context_line(f));
    if !f.summary.is_empty() {
        let _ = writeln!(out, "   - on: {}", val(&f.summary));
    }
    let c = &f.context;
    if let Some(i) = c.image.as_deref().filter(|i| !f.summary.contains(i)) {
        let _ = writeln!(out, "   - image: {}", val(i));
    }
    if let Some(p) = &c.parent_image {
        let _ = writeln!(out, "   - parent: {}", val(p));
    }
    for m in &f.matched {
        let _ = writeln!(out, "   - {}: {}", esc(&m.field), val(&m.value));
    }
    if let Some(d) = &f.decoded {
        let _ = writeln!(
            out,
            "   - decoded ({}): {}",
            esc(&d.method),
            val(&d.decoded)
        );
    }
    for e in &f.evidence {
        let _ = writeln!(
            out,
            "   - evidence: {} line {}{}{}",
            code(&e.member, false),
            e.line,
            e.file_member
                .as_deref()
                .map(|m| format!(", file {}", code(m, false)))
                .unwrap_or_default(),
            e.sha256
                .map(|h| format!(", sha256 {h}"))
                .unwrap_or_default()
        );
    }
}

pub fn render_markdown(d: &ReportData) -> String {
    let m = &d.manifest;
    let mut out = String::new();
    let host = m.host.hostname.as_deref().unwrap_or("(unknown host)");
    let _ = writeln!(out, "# irsnap triage report: {}\n", code(host, false));
    let gaps = m
        .collectors
        .iter()
        .fold(0u64, |n, c| n.saturating_add(c.error_count));
    let _ = writeln!(
        out,
        "- Status: **{}**{}; {}; collected {} → {}",
        format!("{:?}", m.status).to_lowercase(),
        match gaps {
            0 => String::new(),
            1 => " (1 gap, see Coverage)".into(),
            n => format!(" ({n} gaps, see Coverage)"),
        },
        source_text(m, |p| code(p, false)),
        when(&m.started),
        when(&m.ended)
    );
    let _ = writeln!(
        out,
        "- Profile {}; collected by {}{}",
        code(&m.profile.name, false),
        code(m.run_as.user.as_deref().unwrap_or("unknown"), false),
        if m.run_as.elevated {
            " (elevated)"
        } else {
            " (NOT elevated)"
        }
    );
    if let Some(c) = &m.case {
        if let Some(id) = &c.case_id {
            let _ = writeln!(out, "- Case: {}", code(id, false));
        }
        if let Some(e) = &c.examiner {
            let _ = writeln!(out, "- Examiner: {}", code(e, false));
        }
    }

    let rules = rule_summaries(&d.findings, usize::MAX);
    if d.findings.is_empty() {
        out.push_str("- Findings: none. No execution indicator fired.\n");
    } else {
        let mut counts: BTreeMap<std::cmp::Reverse<Severity>, usize> = BTreeMap::new();
        for f in &d.findings {
            *counts.entry(std::cmp::Reverse(f.severity)).or_default() += 1;
        }
        let counts: Vec<String> = counts
            .iter()
            .map(|(s, n)| format!("{n} {}", s.0.as_str()))
            .collect();
        let _ = writeln!(
            out,
            "- Findings: **{}** ({} from {} rules)",
            counts.join(", "),
            d.findings.len(),
            rules.len()
        );
        let _ = writeln!(out, "\n## Top rules\n");
        let _ = writeln!(
            out,
            "| severity | rule | techniques | findings | records | first seen | last seen |"
        );
        let _ = writeln!(out, "| --- | --- | --- | ---: | ---: | --- | --- |");
        for r in rules.iter().take(TOP_RULES) {
            let _ = writeln!(
                out,
                "| {} | {} | {} | {} | {} | {} | {} |",
                r.severity.as_str(),
                esc(&r.title),
                esc(&r.techniques.join(" ")),
                r.findings,
                r.occurrences,
                r.first_seen.as_ref().map(when).unwrap_or_default(),
                r.last_seen.as_ref().map(when).unwrap_or_default(),
            );
        }
        if rules.len() > TOP_RULES {
            let _ = writeln!(
                out,
                "\n{} more rules fired: see Findings by rule.",
                rules.len() - TOP_RULES
            );
        }

        let _ = writeln!(out, "\n## Findings by rule");
        let mut by_rule: HashMap<&str, Vec<&Finding>> = HashMap::new();
        for f in &d.findings {
            by_rule.entry(f.rule_id.as_str()).or_default().push(f);
        }
        for r in &rules {
            let Some(fs) = by_rule.get(r.rule_id.as_str()) else {
                continue;
            };
            let first = fs[0];
            let _ = writeln!(
                out,
                "\n### {}: {} ({})\n",
                r.severity.as_str(),
                esc(&r.title),
                esc(&r.techniques.join(", "))
            );
            let _ = writeln!(
                out,
                "{} finding{}, {} records. {} Rule {} from {}.\n",
                fs.len(),
                if fs.len() == 1 { "" } else { "s" },
                r.occurrences,
                esc(&first.description),
                code(&first.rule_id, false),
                code(&first.rule_origin, false)
            );
            for (n, f) in fs.iter().take(PER_RULE).enumerate() {
                finding(&mut out, n + 1, f);
            }
            if fs.len() > PER_RULE {
                let _ = writeln!(
                    out,
                    "\n… and {} more findings of this rule in `findings.jsonl`.",
                    fs.len() - PER_RULE
                );
            }
        }
    }

    let _ = writeln!(out, "\n## Coverage\n");
    let _ = writeln!(out, "| collector | status | records | files | why |");
    let _ = writeln!(out, "| --- | --- | ---: | ---: | --- |");
    for c in &m.collectors {
        let (why, _) = shorten(c.reason.as_deref().unwrap_or(""), 200);
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {}{} |",
            c.id.as_str(),
            format!("{:?}", c.status).to_lowercase(),
            c.records,
            c.files,
            if why.is_empty() {
                String::new()
            } else {
                code(&why, true)
            },
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
                let _ = writeln!(
                    out,
                    "- {} pid {}: {} ← {}",
                    Severity::as_str(*s),
                    p.pid,
                    val(&p.command_line),
                    val(&chain.join(" ← "))
                );
            }
        }
    }
    out
}
