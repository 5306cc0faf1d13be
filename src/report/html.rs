//! One self-contained HTML page: inline CSS only, a Content-Security-Policy that forbids any
//! fetch or script, `<details>` for long sections (works without JavaScript).

use super::escape::{MAX_SHOWN, html as esc, shorten};
use super::{Finding, ReportData, Severity};
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
    out.push_str("<h2 id=\"summary\">Collection</h2><table>");
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
        row(out, "Boot time", &esc(&b.to_rfc3339()));
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
    row(
        out,
        "Source",
        &esc(&serde_json::to_string(&m.source).unwrap_or_default()),
    );
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
        &esc(&format!(
            "{} → {}",
            m.started.to_rfc3339(),
            m.ended.to_rfc3339()
        )),
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
    out.push_str("</table>");
}

fn coverage(out: &mut String, d: &ReportData) {
    out.push_str(
        "<h2 id=\"coverage\">Coverage: what the archive holds and what it does not</h2>\
         <table><tr><th>collector</th><th>status</th><th>records</th><th>files</th>\
         <th>time</th><th>why / errors</th></tr>",
    );
    for c in &d.manifest.collectors {
        let cls = status_class(c.status);
        let mut why = c.reason.as_deref().map(esc).unwrap_or_default();
        if c.error_count > 0 {
            let _ = write!(
                why,
                "<details><summary>{} error(s)</summary><ul>",
                c.error_count
            );
            for e in &c.errors {
                let _ = write!(why, "<li><code>{}</code></li>", esc(e));
            }
            if c.error_count as usize > c.errors.len() {
                let _ = write!(
                    why,
                    "<li class=\"muted\">… {} more in collection.log</li>",
                    c.error_count as usize - c.errors.len()
                );
            }
            why.push_str("</ul></details>");
        }
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
    out.push_str("</table>");
}

fn finding(out: &mut String, f: &Finding) {
    let sev = f.severity.as_str();
    let _ = write!(
        out,
        "<div class=\"finding\"><p><span class=\"sev {sev}\">{sev}</span> <strong>{}</strong> \
         <code>{}</code> {}</p><p>{}</p>",
        esc(&f.title),
        esc(&f.rule_id),
        f.techniques
            .iter()
            .map(|t| format!("<code>{}</code>", esc(t)))
            .collect::<Vec<_>>()
            .join(" "),
        esc(&f.description)
    );
    if !f.summary.is_empty() {
        let _ = write!(out, "<pre>{}</pre>", value(&f.summary, "the records"));
    }
    if !f.matched.is_empty() {
        out.push_str("<table>");
        for m in &f.matched {
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
        .map(|e| {
            let mut s = format!("<code>{}:{}</code>", esc(&e.member), e.line);
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
    out.push_str("</p></div>");
}

fn findings(out: &mut String, d: &ReportData) {
    out.push_str("<h2 id=\"findings\">Findings</h2>");
    if d.findings.is_empty() {
        out.push_str("<p>No execution indicator fired.</p>");
        return;
    }
    let mut counts: BTreeMap<std::cmp::Reverse<Severity>, usize> = BTreeMap::new();
    for f in &d.findings {
        *counts.entry(std::cmp::Reverse(f.severity)).or_default() += 1;
    }
    out.push_str("<p>");
    for (s, n) in &counts {
        let _ = write!(out, "<span class=\"sev {0}\">{0} {n}</span> ", s.0.as_str());
    }
    out.push_str("</p>");
    // Grouped by severity, then technique.
    let mut groups: BTreeMap<(std::cmp::Reverse<Severity>, String), Vec<&Finding>> =
        BTreeMap::new();
    for f in &d.findings {
        let tech = f.techniques.first().cloned().unwrap_or_default();
        groups
            .entry((std::cmp::Reverse(f.severity), tech))
            .or_default()
            .push(f);
    }
    for ((sev, tech), fs) in &groups {
        let _ = write!(
            out,
            "<details{}><summary><span class=\"sev {1}\">{1}</span> <code>{2}</code> — {3} \
             finding(s)</summary>",
            if sev.0 >= Severity::Medium {
                " open"
            } else {
                ""
            },
            sev.0.as_str(),
            esc(if tech.is_empty() {
                "(no technique)"
            } else {
                tech
            }),
            fs.len()
        );
        for f in fs {
            finding(out, f);
        }
        out.push_str("</details>");
    }
}

fn process_tree(out: &mut String, d: &ReportData) {
    out.push_str("<h2 id=\"processes\">Process tree</h2>");
    if d.processes.is_empty() {
        out.push_str("<p class=\"muted\">No process snapshot in this archive.</p>");
        return;
    }
    let flagged = d.flagged_pids();
    let pids: std::collections::HashSet<u32> = d.processes.iter().map(|p| p.pid).collect();
    let mut children: HashMap<Option<u32>, Vec<&ProcessRecord>> = HashMap::new();
    for p in &d.processes {
        let parent = p.ppid.filter(|pp| pids.contains(pp) && *pp != p.pid);
        children.entry(parent).or_default().push(p);
    }
    let _ = write!(
        out,
        "<p class=\"muted\">{} processes; flagged ones are marked ⚑ with the highest severity \
         that points at them.</p><ul class=\"tree\">",
        d.processes.len()
    );
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
            .map(|s| format!("<span class=\"sev {0}\">⚑ {0}</span> ", s.as_str()))
            .unwrap_or_default();
        let cmd = if p.command_line.is_empty() {
            format!("[{}]", p.name)
        } else {
            p.command_line.clone()
        };
        let (cmd, _) = shorten(&cmd, 300);
        let _ = write!(
            out,
            "<li>{flag}<code class=\"{}\">{} {}</code> <span class=\"muted\">{}{}</span>",
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
}

pub fn render_html(d: &ReportData) -> String {
    let host = d.manifest.host.hostname.as_deref().unwrap_or("host");
    let mut out = String::with_capacity(64 * 1024);
    let _ = write!(
        out,
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; \
         style-src 'unsafe-inline'; img-src data:\">\
         <meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
         <title>irsnap triage: {0}</title><style>{STYLE}</style></head><body>\
         <h1>irsnap triage report: {0}</h1>\
         <p class=\"muted\"><a href=\"#findings\">Findings</a> · <a href=\"#coverage\">Coverage</a> · \
         <a href=\"#processes\">Process tree</a></p>",
        esc(host)
    );
    summary(&mut out, d);
    findings(&mut out, d);
    coverage(&mut out, d);
    process_tree(&mut out, d);
    out.push_str("</body></html>\n");
    out
}
