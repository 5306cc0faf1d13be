//! One self-contained HTML page: inline CSS only, a Content-Security-Policy that forbids any
//! fetch or script, `<details>` for long sections (works without JavaScript).

use super::escape::{MAX_SHOWN, html as esc, shorten};
use super::{Finding, ReportData, Severity};
use super::{source_text, when};
use crate::detect::{RuleSummary, rule_summaries};
use crate::outcome::CollectorStatus;
use crate::record::ProcessRecord;
use std::collections::{BTreeMap, HashMap};
use std::fmt::Write;

const STYLE: &str = "body{font:14px/1.45 system-ui,sans-serif;margin:2em auto;max-width:1200px;\
color:#1d1d1f;padding:0 1em}h1{font-size:1.6em}h2{border-bottom:2px solid #ddd;\
padding-bottom:.2em;margin-top:2em}table{border-collapse:collapse;width:100%;margin:.5em 0}\
td,th{border:1px solid #ddd;padding:.3em .5em;text-align:left;vertical-align:top}\
th{background:#f5f5f7}code,pre{font:12px/1.4 ui-monospace,monospace;white-space:pre-wrap;\
word-break:break-all}pre{background:#f5f5f7;padding:.5em;margin:.3em 0}\
.sev{display:inline-block;padding:0 .5em;border-radius:3px;color:#fff;font-weight:600}\
.critical{background:#7b1fa2}.high{background:#c62828}.medium{background:#ef6c00}\
.low{background:#1565c0}.informational{background:#607d8b}.ok{color:#2e7d32}\
.partial{color:#ef6c00}.failed{color:#c62828;font-weight:600}.skipped{color:#607d8b}\
.finding{border:1px solid #ddd;border-radius:4px;padding:.5em 1em;margin:.7em 0}\
.tree,.tree ul{list-style:none;padding-left:1.2em;margin:0}.tree li{margin:.1em 0}\
.flag{font-weight:600}.muted{color:#666}.cols{display:grid;grid-template-columns:1fr 1fr;gap:1em}";

fn status_class(s: CollectorStatus) -> &'static str {
    match s {
        CollectorStatus::Ok => "ok",
        CollectorStatus::Partial => "partial",
        CollectorStatus::Failed => "failed",
        CollectorStatus::Skipped => "skipped",
    }
}

/// A value, escaped and cut; the cut says where the whole value is.
fn value(s: &str, whole_in: &str) -> String {
    let (shown, cut) = shorten(s, MAX_SHOWN);
    let mut out = esc(&shown);
    if cut {
        let _ = write!(
            out,
            "<span class=\"muted\"> … ({} characters; the full value is in {})</span>",
            s.chars().count(),
            esc(whole_in)
        );
    }
    out
}

fn row(out: &mut String, k: &str, v: &str) {
    let _ = write!(out, "<tr><th>{}</th><td>{}</td></tr>", esc(k), v);
}

fn summary(out: &mut String, d: &ReportData) {
    let m = &d.manifest;
    out.push_str(
        "<details id=\"summary\"><summary><strong>Collection details</strong> (host, \
         source, profile, tool)</summary><table>",
    );
    let h = &m.host;
    row(
        out,
        "Host",
        &esc(h.hostname.as_deref().unwrap_or("(unknown)")),
    );
    let os = [
        h.os_name.as_deref(),
        h.os_version.as_deref(),
        h.kernel.as_deref(),
    ]
    .into_iter()
    .flatten()
    .collect::<Vec<_>>()
    .join(" · ");
    row(out, "OS", &esc(&os));
    if let Some(b) = h.boot_time {
        row(out, "Boot time", &esc(&when(&b)));
    }
    if !h.ip_addresses.is_empty() {
        row(out, "IP addresses", &esc(&h.ip_addresses.join(", ")));
    }
    if let Some(c) = &m.case {
        for (k, v) in [
            ("Case", &c.case_id),
            ("Examiner", &c.examiner),
            ("Notes", &c.notes),
        ] {
            if let Some(v) = v {
                row(out, k, &esc(v));
            }
        }
    }
    let who = format!(
        "{}{}{}",
        m.run_as.user.as_deref().unwrap_or("(unknown user)"),
        m.run_as
            .uid
            .map(|u| format!(" (uid {u})"))
            .unwrap_or_default(),
        if m.run_as.elevated {
            ", elevated"
        } else {
            ", NOT elevated: other users' data may be missing"
        }
    );
    row(out, "Collected by", &esc(&who));
    row(out, "Source", &esc(&source_text(m, str::to_string)));
    row(
        out,
        "Profile",
        &format!(
            "{} <code>sha256 {}</code>",
            esc(&m.profile.name),
            m.profile.sha256
        ),
    );
    row(
        out,
        "Time (UTC)",
        &esc(&format!("{} → {}", when(&m.started), when(&m.ended))),
    );
    row(
        out,
        "Status",
        &esc(&format!("{:?}", m.status).to_lowercase()),
    );
    row(
        out,
        "Tool",
        &esc(&format!(
            "{} {} {} {}",
            m.tool.name,
            m.tool.version,
            m.tool.git_commit.as_deref().unwrap_or(""),
            m.tool.target
        )),
    );
    out.push_str("</table></details>");
}

/// Rules listed in the verdict; the rest are in the findings section.
const TOP_RULES: usize = 10;
/// Rules whose findings are shown open (the most severe first); later ones start closed.
const OPEN_RULES: usize = 8;
/// Finding cards shown per rule before the rest are folded away.
const CARDS_SHOWN: usize = 3;
/// Finding cards rendered per rule at all; the rest are counted, and are in findings.jsonl.
const CARDS_PER_RULE: usize = 50;
/// Timeline rows shown open, and rendered at all.
const TIMELINE_SHOWN: usize = 25;
const TIMELINE_ROWS: usize = 500;
/// Processes in a tree shown open; a bigger tree starts closed (its flagged nodes are listed).
const TREE_OPEN: usize = 150;

/// The first screen: which host, what state the archive is in, how bad, and which rules.
fn verdict(
    out: &mut String,
    d: &ReportData,
    top: &[RuleSummary],
    rule_anchor: &HashMap<String, usize>,
) {
    let m = &d.manifest;
    let _ = write!(
        out,
        "<section id=\"verdict\"><p><strong>{}</strong> · {} · collected {} · status \
         <span class=\"{}\">{}</span></p>",
        esc(m.host.hostname.as_deref().unwrap_or("(unknown host)")),
        esc(&source_text(m, str::to_string)),
        esc(&when(&m.started)),
        match m.status {
            crate::outcome::RunStatus::Complete => "ok",
            _ => "partial",
        },
        esc(&format!("{:?}", m.status).to_lowercase())
    );
    let allowed = m
        .stages
        .iter()
        .find(|s| s.stage == crate::archive::manifest::Stage::Detection)
        .and_then(|s| s.reason.as_deref())
        .filter(|r| r.contains("known-benign"));
    if let Some(note) = allowed {
        let _ = write!(out, "<p class=\"muted\">Detection: {}.</p>", esc(note));
    }
    if d.findings.is_empty() {
        out.push_str("<p>No execution indicator fired.</p>");
    } else {
        let mut counts: BTreeMap<std::cmp::Reverse<Severity>, usize> = BTreeMap::new();
        for f in &d.findings {
            *counts.entry(std::cmp::Reverse(f.severity)).or_default() += 1;
        }
        out.push_str("<p>");
        for (s, n) in &counts {
            let _ = write!(out, "<span class=\"sev {0}\">{n} {0}</span> ", s.0.as_str());
        }
        let _ = write!(
            out,
            "<span class=\"muted\">{} findings from {} rules</span></p>",
            d.findings.len(),
            rule_anchor.len()
        );
        out.push_str(
            "<table><tr><th>severity</th><th>rule</th><th>techniques</th><th>findings</th>\
             <th>records</th><th>first seen</th><th>last seen</th><th>example</th></tr>",
        );
        for r in top {
            let sev = r.severity.as_str();
            let (ex, _) = shorten(&r.example, 120);
            let _ = write!(
                out,
                "<tr><td><span class=\"sev {sev}\">{sev}</span></td><td><a href=\"#r{}\">{}</a></td>\
                 <td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td></tr>",
                rule_anchor.get(&r.rule_id).copied().unwrap_or(0),
                esc(&r.title),
                esc(&r.techniques.join(" ")),
                r.findings,
                r.occurrences,
                r.first_seen.as_ref().map(when).unwrap_or_default(),
                r.last_seen.as_ref().map(when).unwrap_or_default(),
                esc(&ex)
            );
        }
        out.push_str("</table>");
        if rule_anchor.len() > top.len() {
            let _ = write!(
                out,
                "<p class=\"muted\">{} more rules fired; see <a href=\"#findings\">Findings</a>.</p>",
                rule_anchor.len() - top.len()
            );
        }
    }
    out.push_str("</section>");
}

fn coverage(out: &mut String, d: &ReportData) {
    let cs = &d.manifest.collectors;
    let count = |st: CollectorStatus| cs.iter().filter(|c| c.status == st).count();
    let troubled = count(CollectorStatus::Failed) + count(CollectorStatus::Partial) > 0;
    let _ = write!(
        out,
        "<details id=\"coverage\"{}><summary><strong>Coverage</strong>: {} collectors — \
         {} ok, {} partial, {} failed, {} skipped; {} gaps, {} cuts</summary>",
        if troubled { " open" } else { "" },
        cs.len(),
        count(CollectorStatus::Ok),
        count(CollectorStatus::Partial),
        count(CollectorStatus::Failed),
        count(CollectorStatus::Skipped),
        cs.iter().fold(0u64, |n, c| n.saturating_add(c.error_count)),
        cs.iter().fold(0u64, |n, c| n.saturating_add(c.cut_count))
    );
    out.push_str(
        "<table><tr><th>collector</th><th>status</th><th>records</th><th>files</th>\
         <th>time</th><th>why / gaps / cuts</th></tr>",
    );
    for c in cs {
        let cls = status_class(c.status);
        let mut why = c.reason.as_deref().map(esc).unwrap_or_default();
        listed(
            &mut why,
            "cut(s): a limit left evidence out",
            c.cut_count,
            &c.cuts,
        );
        listed(
            &mut why,
            "gap(s): could not be read or parsed",
            c.error_count,
            &c.errors,
        );
        let _ = write!(
            out,
            "<tr><td>{}</td><td class=\"{cls}\">{cls}</td><td>{}</td><td>{}</td>\
             <td>{:.2}s</td><td>{why}</td></tr>",
            esc(c.id.as_str()),
            c.records,
            c.files,
            c.duration_ms as f64 / 1000.0
        );
    }
    out.push_str("</table></details>");
}

/// A folded list of a collector's first messages of one kind, with how many more there were.
fn listed(out: &mut String, what: &str, count: u64, first: &[String]) {
    if count == 0 {
        return;
    }
    let _ = write!(out, "<details><summary>{count} {what}</summary><ul>");
    for e in first {
        let _ = write!(out, "<li><code>{}</code></li>", esc(e));
    }
    if count > first.len() as u64 {
        let _ = write!(
            out,
            "<li class=\"muted\">… {} more in collection.log</li>",
            count - first.len() as u64
        );
    }
    out.push_str("</ul></details>");
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
    if let Some(h) = &c.host {
        let more = c.hosts.len().saturating_sub(1);
        parts.push(if more > 0 {
            format!("host <code>{}</code> (+{more})", esc(h))
        } else {
            format!("host <code>{}</code>", esc(h))
        });
    }
    if let Some(u) = &c.user {
        let more = c.users.len().saturating_sub(1);
        parts.push(if more > 0 {
            format!("user <code>{}</code> (+{more})", esc(u))
        } else {
            format!("user <code>{}</code>", esc(u))
        });
    }
    match (c.pid, c.ppid) {
        (Some(p), Some(pp)) => parts.push(format!("pid {p} ← {pp}")),
        (Some(p), None) => parts.push(format!("pid {p}")),
        _ => {}
    }
    if let (Some(ch), Some(id)) = (&c.channel, c.event_id) {
        parts.push(format!("{} {id}", esc(ch)));
    }
    parts.join(" · ")
}

fn finding(out: &mut String, i: usize, f: &Finding, procs: &[ProcessRecord]) {
    let sev = f.severity.as_str();
    let _ = write!(
        out,
        "<div class=\"finding\" id=\"f{i}\"><p><span class=\"sev {sev}\">{sev}</span> {}</p>",
        context_line(f)
    );
    let c = &f.context;
    // The image line when it adds to the summary: a parent, or an image the command line
    // does not already show.
    let image_news = c.image.as_deref().is_some_and(|i| !f.summary.contains(i));
    if c.parent_image.is_some() || image_news {
        let _ = write!(
            out,
            "<p><code>{}</code>{}</p>",
            esc(c.image.as_deref().unwrap_or("?")),
            c.parent_image
                .as_deref()
                .map(|p| format!(
                    " <span class=\"muted\">started by</span> <code>{}</code>",
                    esc(p)
                ))
                .unwrap_or_default()
        );
    }
    if !f.summary.is_empty() {
        let _ = write!(out, "<pre>{}</pre>", value(&f.summary, "the records"));
    }
    // The matched values that add something to the summary above.
    let matched: Vec<_> = f
        .matched
        .iter()
        .filter(|m| !f.summary.contains(m.value.trim_matches('…')))
        .collect();
    if !matched.is_empty() {
        out.push_str("<table>");
        for m in matched {
            row(
                out,
                &m.field,
                &format!("<pre>{}</pre>", value(&m.value, "the records")),
            );
        }
        out.push_str("</table>");
    }
    if let Some(d) = &f.decoded {
        let _ = write!(
            out,
            "<div class=\"cols\"><div><strong>original ({})</strong><pre>{}</pre></div>\
             <div><strong>decoded</strong><pre>{}</pre></div></div>",
            esc(&d.method),
            value(&d.original, "the records"),
            value(&d.decoded, "findings.jsonl")
        );
    }
    if f.occurrences > f.evidence.len() as u64 {
        let _ = write!(
            out,
            "<p class=\"muted\">{} records carry the same; the first {} are listed.</p>",
            f.occurrences,
            f.evidence.len()
        );
    }
    out.push_str("<p class=\"muted\">evidence: ");
    let ev: Vec<String> = f
        .evidence
        .iter()
        .take(10)
        .map(|e| {
            let mut s = format!("<code>{}:{}</code>", esc(&e.member), e.line);
            if e.member == "records/processes.jsonl"
                && let Some(p) = usize::try_from(e.line)
                    .ok()
                    .and_then(|l| l.checked_sub(1))
                    .and_then(|i| procs.get(i))
            {
                let _ = write!(s, " <a href=\"#p{}\">in the tree</a>", p.pid);
            }
            if let Some(p) = &e.source_path {
                let _ = write!(s, " from <code>{}</code>", esc(p));
            }
            if let Some(fm) = &e.file_member {
                let _ = write!(s, " copy <code>{}</code>", esc(fm));
            }
            if let Some(h) = &e.sha256 {
                let _ = write!(s, " sha256 <code>{h}</code>");
            }
            s
        })
        .collect();
    out.push_str(&ev.join("; "));
    if f.evidence.len() > 10 {
        let _ = write!(out, "; {} more in findings.jsonl", f.evidence.len() - 10);
    }
    out.push_str("</p></div>");
}

/// Findings in time order: what happened when, most severe kept when there are too many.
fn timeline(out: &mut String, d: &ReportData, links: &Links) {
    let mut timed: Vec<(usize, &Finding)> = d
        .findings
        .iter()
        .enumerate()
        .filter(|(_, f)| f.context.first_seen.is_some())
        .collect();
    if timed.is_empty() {
        return;
    }
    let total = timed.len();
    if total > TIMELINE_ROWS {
        timed.sort_by_key(|(_, f)| std::cmp::Reverse(f.severity));
        timed.truncate(TIMELINE_ROWS);
    }
    timed.sort_by_key(|(i, f)| (f.context.first_seen, *i));
    let _ = write!(
        out,
        "<h2 id=\"timeline\">Timeline of findings</h2><p class=\"muted\">{total} findings with a \
         time{}.</p>",
        if total > TIMELINE_ROWS {
            format!("; the {TIMELINE_ROWS} most severe are listed")
        } else {
            String::new()
        }
    );
    let head = "<table><tr><th>first seen</th><th>severity</th><th>rule</th><th>host</th>\
                <th>user</th><th>what</th></tr>";
    out.push_str(head);
    for (n, (i, f)) in timed.iter().enumerate() {
        if n == TIMELINE_SHOWN {
            let _ = write!(
                out,
                "</table><details><summary>{} more</summary>{head}",
                timed.len() - TIMELINE_SHOWN
            );
        }
        let sev = f.severity.as_str();
        let (what, _) = shorten(&f.summary, 140);
        let _ = write!(
            out,
            "<tr><td>{}</td><td><span class=\"sev {sev}\">{sev}</span></td>\
             <td><a href=\"{}\">{}</a></td><td>{}</td><td>{}</td><td><code>{}</code></td></tr>",
            f.context.first_seen.as_ref().map(when).unwrap_or_default(),
            links.to(*i),
            esc(&f.title),
            esc(f.context.host.as_deref().unwrap_or("")),
            esc(f.context.user.as_deref().unwrap_or("")),
            esc(&what)
        );
    }
    out.push_str("</table>");
    if timed.len() > TIMELINE_SHOWN {
        out.push_str("</details>");
    }
}

/// Where a link to finding `i` goes: its card when the card is rendered, else its rule.
struct Links {
    /// Per finding: `None` when its card is rendered, else its rule's section.
    target: Vec<Option<usize>>,
}

impl Links {
    fn new(d: &ReportData, rule_anchor: &HashMap<String, usize>) -> Links {
        let mut per_rule: HashMap<&str, usize> = HashMap::new();
        let target = d
            .findings
            .iter()
            .map(|f| {
                let n = per_rule.entry(f.rule_id.as_str()).or_default();
                *n += 1;
                (*n > CARDS_PER_RULE).then(|| rule_anchor.get(&f.rule_id).copied().unwrap_or(0))
            })
            .collect();
        Links { target }
    }

    fn to(&self, i: usize) -> String {
        match self.target.get(i) {
            Some(Some(rule)) => format!("#r{rule}"),
            _ => format!("#f{i}"),
        }
    }
}

/// Findings grouped by rule, most severe rules first: the description once, a few cards
/// open, the rest folded, and past a cap only counted.
fn findings(out: &mut String, d: &ReportData, rules: &[RuleSummary]) {
    out.push_str("<h2 id=\"findings\">Findings by rule</h2>");
    if d.findings.is_empty() {
        out.push_str("<p>No execution indicator fired.</p>");
        return;
    }
    let mut by_rule: HashMap<&str, Vec<(usize, &Finding)>> = HashMap::new();
    for (i, f) in d.findings.iter().enumerate() {
        by_rule.entry(f.rule_id.as_str()).or_default().push((i, f));
    }
    for (n, r) in rules.iter().enumerate() {
        let Some(fs) = by_rule.get(r.rule_id.as_str()) else {
            continue;
        };
        let sev = r.severity.as_str();
        let first = fs[0].1;
        let _ = write!(
            out,
            "<details id=\"r{n}\"{}><summary><span class=\"sev {sev}\">{sev}</span> \
             <strong>{}</strong> {} — {} finding{}, {} records</summary>\
             <p>{} <span class=\"muted\">rule <code>{}</code> from <code>{}</code></span></p>",
            if n < OPEN_RULES && r.severity >= Severity::Medium {
                " open"
            } else {
                ""
            },
            esc(&r.title),
            r.techniques
                .iter()
                .map(|t| format!("<code>{}</code>", esc(t)))
                .collect::<Vec<_>>()
                .join(" "),
            fs.len(),
            if fs.len() == 1 { "" } else { "s" },
            r.occurrences,
            esc(&first.description),
            esc(&first.rule_id),
            esc(&first.rule_origin)
        );
        for (k, (i, f)) in fs.iter().take(CARDS_PER_RULE).enumerate() {
            if k == CARDS_SHOWN {
                let _ = write!(
                    out,
                    "<details><summary>{} more like this</summary>",
                    fs.len().min(CARDS_PER_RULE) - CARDS_SHOWN
                );
            }
            finding(out, *i, f, &d.processes);
        }
        if fs.len() > CARDS_SHOWN {
            out.push_str("</details>");
        }
        if fs.len() > CARDS_PER_RULE {
            let _ = write!(
                out,
                "<p class=\"muted\">… and {} more findings of this rule in findings.jsonl.</p>",
                fs.len() - CARDS_PER_RULE
            );
        }
        out.push_str("</details>");
    }
}

fn process_tree(out: &mut String, d: &ReportData, links: &Links) {
    out.push_str("<h2 id=\"processes\">Process tree</h2>");
    if d.processes.is_empty() {
        out.push_str("<p class=\"muted\">No process snapshot in this archive.</p>");
        return;
    }
    let flagged = d.flagged_pids();
    // The first (most severe) finding on each flagged process, for the link back.
    let mut first_finding: HashMap<u32, usize> = HashMap::new();
    for (i, f) in d.findings.iter().enumerate() {
        for e in &f.evidence {
            if e.member == "records/processes.jsonl"
                && let Some(p) = usize::try_from(e.line)
                    .ok()
                    .and_then(|l| l.checked_sub(1))
                    .and_then(|i| d.processes.get(i))
            {
                first_finding.entry(p.pid).or_insert(i);
            }
        }
    }
    let pids: std::collections::HashSet<u32> = d.processes.iter().map(|p| p.pid).collect();
    let mut children: HashMap<Option<u32>, Vec<&ProcessRecord>> = HashMap::new();
    for p in &d.processes {
        let parent = p.ppid.filter(|pp| pids.contains(pp) && *pp != p.pid);
        children.entry(parent).or_default().push(p);
    }
    let _ = write!(
        out,
        "<p class=\"muted\">{} processes; {} flagged, marked ⚑ with the highest severity that \
         points at them and linked to their finding.</p>",
        d.processes.len(),
        flagged.len()
    );
    let big = d.processes.len() > TREE_OPEN;
    if big {
        out.push_str("<details><summary>the whole tree</summary>");
    }
    out.push_str("<ul class=\"tree\">");
    // Iterative depth-first walk: a hostile or cyclic parent chain cannot overflow the stack,
    // and every process is shown once.
    enum Step<'a> {
        Open(&'a ProcessRecord),
        Close,
    }
    let mut shown = std::collections::HashSet::new();
    let mut stack: Vec<Step> = children
        .get(&None)
        .map(|v| v.iter().rev().map(|p| Step::Open(p)).collect())
        .unwrap_or_default();
    while let Some(step) = stack.pop() {
        let p = match step {
            Step::Close => {
                out.push_str("</ul></li>");
                continue;
            }
            Step::Open(p) => p,
        };
        if !shown.insert(p.pid) {
            continue;
        }
        let flag = flagged
            .get(&p.pid)
            .map(|s| {
                format!(
                    "<a class=\"sev {0}\" href=\"{1}\">⚑ {0}</a> ",
                    s.as_str(),
                    first_finding
                        .get(&p.pid)
                        .map(|i| links.to(*i))
                        .unwrap_or_else(|| "#findings".into())
                )
            })
            .unwrap_or_default();
        let cmd = if p.command_line.is_empty() {
            format!("[{}]", p.name)
        } else {
            p.command_line.clone()
        };
        let (cmd, _) = shorten(&cmd, 300);
        let _ = write!(
            out,
            "<li id=\"p{}\">{flag}<code class=\"{}\">{} {}</code> <span class=\"muted\">{}{}</span>",
            p.pid,
            if flag.is_empty() { "" } else { "flag" },
            p.pid,
            esc(&cmd),
            esc(p.user.as_deref().unwrap_or("")),
            p.start_time
                .map(|t| format!(" {}", t.format("%Y-%m-%d %H:%M:%S")))
                .unwrap_or_default()
        );
        match children.get(&Some(p.pid)) {
            Some(kids) if !kids.is_empty() => {
                out.push_str("<ul>");
                stack.push(Step::Close);
                for k in kids.iter().rev() {
                    stack.push(Step::Open(k));
                }
            }
            _ => out.push_str("</li>"),
        }
    }
    out.push_str("</ul>");
    if big {
        out.push_str("</details>");
    }
}

pub fn render_html(d: &ReportData) -> String {
    let host = d
        .manifest
        .host
        .hostname
        .as_deref()
        .unwrap_or("(unknown host)");
    let rules = rule_summaries(&d.findings, usize::MAX);
    let rule_anchor: HashMap<String, usize> = rules
        .iter()
        .enumerate()
        .map(|(i, r)| (r.rule_id.clone(), i))
        .collect();
    let mut out = String::with_capacity(64 * 1024);
    let _ = write!(
        out,
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; \
         style-src 'unsafe-inline'; img-src data:\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>irsnap triage: {0}</title><style>{STYLE}</style></head><body>\
         <h1>irsnap triage report: {0}</h1>\
         <p class=\"muted\"><a href=\"#timeline\">Timeline</a> · \
         <a href=\"#findings\">Findings by rule</a> · <a href=\"#processes\">Process tree</a> · \
         <a href=\"#coverage\">Coverage</a> · <a href=\"#summary\">Collection details</a></p>",
        esc(host)
    );
    verdict(
        &mut out,
        d,
        &rules[..rules.len().min(TOP_RULES)],
        &rule_anchor,
    );
    coverage(&mut out, d);
    summary(&mut out, d);
    let links = Links::new(d, &rule_anchor);
    timeline(&mut out, d, &links);
    findings(&mut out, d, &rules);
    process_tree(&mut out, d, &links);
    out.push_str("</body></html>\n");
    out
}
