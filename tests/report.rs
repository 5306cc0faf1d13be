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
    assert!(!md.contains("<script"));

    // Regenerated from the archive alone, it is the same page.
    let path = a.path.to_str().unwrap().to_string();
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
