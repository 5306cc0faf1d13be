//! `powershell_logs` on offline Windows roots built from real logs (facts from
//! `shared/fixtures/SOURCES.md`), run through the binary.

use crate::harness::{Archive, RootBuilder, Run, collect, fixture};
use serde_json::Value;
use sha2::Digest;
use std::collections::BTreeMap;

pub const LOGS: &str = "Windows/System32/winevt/Logs";
const PSREADLINE: &str = "AppData/Roaming/Microsoft/Windows/PowerShell/PSReadLine";
const HISTORY: &str =
    "history/dfir-artifact-museum/BelkasoftCTF_InsiderThreat/ConsoleHost_history.txt";
const SERVER2022_OPS: &str =
    "evtx/powershell/museum-server2022-aptsimulator/Microsoft-Windows-PowerShell%4Operational.evtx";

pub fn sha_hex(data: &[u8]) -> String {
    sha2::Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A Windows root with each fixture placed at `Windows/System32/winevt/Logs/<name>`.
pub fn logs_root(logs: &[(&str, &str)]) -> RootBuilder {
    let root = RootBuilder::new();
    root.mkdir("Windows/System32");
    for (name, rel) in logs {
        root.copy(&format!("{LOGS}/{name}"), &fixture(rel));
    }
    root
}

/// Run only `collector` (with extra profile lines) on `root`.
pub fn run_only(
    root: &RootBuilder,
    collector: &str,
    options: &str,
    extra: &[&str],
) -> (Run, Archive, tempfile::TempDir) {
    run_profile(
        root,
        &format!("[collectors.{collector}]\n{options}\n"),
        extra,
    )
}

/// Run a profile made of `collectors` (TOML tables) on `root`.
pub fn run_profile(
    root: &RootBuilder,
    collectors: &str,
    extra: &[&str],
) -> (Run, Archive, tempfile::TempDir) {
    let out = tempfile::tempdir().unwrap();
    let profile = out.path().join("profile.toml");
    std::fs::write(
        &profile,
        format!("name = \"t\"\ndescription = \"t\"\n{collectors}"),
    )
    .unwrap();
    let archive_dir = out.path().join("out");
    let mut args = vec![
        "--root",
        root.path().to_str().unwrap(),
        "--profile",
        profile.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let (run, archive) = collect(&archive_dir, &args);
    let archive = archive.unwrap_or_else(|| panic!("no archive: {}\n{}", run.stdout, run.stderr));
    (run, archive, out)
}

pub fn of_type<'a>(recs: &'a [Value], t: &str) -> Vec<&'a Value> {
    recs.iter().filter(|r| r["record_type"] == t).collect()
}

pub fn log_file<'a>(recs: &'a [Value], name: &str) -> &'a Value {
    of_type(recs, "log_file")
        .into_iter()
        .find(|r| r["source_path"].as_str().unwrap().ends_with(name))
        .unwrap_or_else(|| panic!("no log_file record for {name}"))
}

fn ids_by_count(events: &[&Value]) -> BTreeMap<u64, usize> {
    let mut m = BTreeMap::new();
    for e in events {
        *m.entry(e["event_id"].as_u64().unwrap()).or_default() += 1;
    }
    m
}

fn event<'a>(recs: &'a [Value], source_suffix: &str, record_id: u64) -> &'a Value {
    of_type(recs, "event")
        .into_iter()
        .find(|r| {
            r["record_id"] == record_id
                && r["source_path"].as_str().unwrap().ends_with(source_suffix)
        })
        .unwrap_or_else(|| panic!("no event {record_id} from {source_suffix}"))
}

#[test]
fn server2022_operational_counts_and_mimikatz_reassembled() {
    let root = logs_root(&[(
        "Microsoft-Windows-PowerShell%4Operational.evtx",
        SERVER2022_OPS,
    )]);
    let (run, mut archive, _t) = run_only(&root, "powershell_logs", "", &[]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(archive.collector("powershell_logs")["status"], "ok");
    let recs = archive.records("powershell_logs");
    let events = of_type(&recs, "event");
    let want = BTreeMap::from([(4104, 140), (40961, 8), (40962, 8), (53504, 8), (4100, 4)]);
    assert_eq!(ids_by_count(&events), want);
    assert!(events.iter().all(|e| e["computer"] == "WIN-FUDU2CKJOE8"));

    // The stale header (1 chunk) did not hide the other 131.
    let summary = log_file(&recs, "Microsoft-Windows-PowerShell%4Operational.evtx");
    assert_eq!(summary["header_chunk_count"], 1);
    assert_eq!(summary["chunks_seen"], 132);
    assert_eq!(summary["records_ok"], 168);
    assert_eq!(summary["events_recorded"], 168);

    let blocks = of_type(&recs, "script_block");
    assert_eq!(blocks.len(), 5);
    let mimi = blocks
        .iter()
        .find(|b| b["script_block_id"] == "abb3c63f-e5cd-4310-8cb7-49e545a6f45b")
        .expect("Invoke-Mimikatz block");
    assert_eq!(mimi["parts_expected"], 125);
    let parts: Vec<u64> = mimi["parts_present"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_u64().unwrap())
        .collect();
    assert_eq!(parts, (1..=125).collect::<Vec<u64>>());
    assert_eq!(mimi["missing_parts"], Value::Array(vec![]));
    assert_eq!(mimi["complete"], true);
    assert_eq!(mimi["record_ids"].as_array().unwrap().len(), 125);
    assert_eq!(mimi["first_record_id"], 18);
    let text = mimi["text"].as_str().unwrap();
    assert!(text.starts_with("function Invoke-Mimikatz"));
    assert_eq!(text.chars().count(), 2_204_117);
    assert_eq!(mimi["text_chars"], 2_204_117);
    assert!(
        mimi["text_sha256"]
            .as_str()
            .unwrap()
            .starts_with("ebf54f745dc81e19")
    );
    assert_eq!(
        sha_hex(text.as_bytes()),
        mimi["text_sha256"].as_str().unwrap()
    );
    for (id, sha) in [
        ("e603e1c4-24f7-4539-bc04-5cfe825aaf69", "21af35934ede3685"),
        ("54675a71-990e-46aa-9571-30bc6cc9baea", "3752f4499ea85b40"),
    ] {
        let b = blocks.iter().find(|b| b["script_block_id"] == id).unwrap();
        assert!(b["text_sha256"].as_str().unwrap().starts_with(sha), "{id}");
    }
    let wmi: Vec<_> = blocks
        .iter()
        .filter(|b| b["path"] == "C:\\TMP\\WMIBackdoor.ps1")
        .collect();
    assert_eq!(wmi.len(), 2);

    // Multi-part text is stored once, in the block; the parts point at it.
    let parts_of_mimi: Vec<_> = events
        .iter()
        .filter(|e| e["script_block_id"] == "abb3c63f-e5cd-4310-8cb7-49e545a6f45b")
        .collect();
    assert_eq!(parts_of_mimi.len(), 125);
    assert!(parts_of_mimi.iter().all(|e| {
        e["script_block_text"].is_null()
            && e["text_in_script_block"] == true
            && e["part_chars"].as_u64().unwrap() > 0
    }));
    let chars: u64 = parts_of_mimi
        .iter()
        .map(|e| e["part_chars"].as_u64().unwrap())
        .sum();
    assert_eq!(chars, 2_204_117);
    // A single-part block keeps its text on the event too.
    let tasks = event(&recs, "Operational.evtx", 161);
    assert!(
        tasks["script_block_text"]
            .as_str()
            .unwrap()
            .contains("function Invoke-Tasksbackdoor")
    );
    assert_eq!(tasks["path"], "C:\\TMP\\schtasks-backdoor.ps1");
    // 4100 carries the error text; record 24 is a part of the block that holds it.
    let err = event(&recs, "Operational.evtx", 155);
    assert_eq!(err["event_id"], 4100);
    assert!(
        err["message"]
            .as_str()
            .unwrap()
            .contains("VirtualAlloc failed to allocate memory for PE")
    );
    assert_eq!(
        event(&recs, "Operational.evtx", 24)["text_in_script_block"],
        true
    );
    assert!(text.contains("VirtualAlloc failed to allocate memory for PE"));

    // Evidence pointers: the raw copy is in the archive, whole, with the fixture's hash.
    let fixture_bytes = std::fs::read(fixture(SERVER2022_OPS)).unwrap();
    let member = mimi["source_member"].as_str().unwrap().to_string();
    assert_eq!(mimi["source_sha256"], sha_hex(&fixture_bytes));
    assert_eq!(
        mimi["source_path"],
        "C:\\Windows\\System32\\winevt\\Logs\\Microsoft-Windows-PowerShell%4Operational.evtx"
    );
    assert_eq!(archive.member(&member), fixture_bytes);
}

#[test]
fn classic_log_host_application_and_channels_not_file_names() {
    let root = logs_root(&[
        (
            "Windows PowerShell.evtx",
            "evtx/powershell/museum-win10-aptsimulator/Windows PowerShell.evtx",
        ),
        (
            "Microsoft-Windows-PowerShell%4Operational.evtx",
            "evtx/powershell/museum-win10-aptsimulator/Microsoft-Windows-PowerShell%4Operational.evtx",
        ),
        // A merged export of both channels, under the PowerShell 7 log's name: events are
        // typed by provider + channel, not by the file they sit in.
        (
            "PowerShellCore%4Operational.evtx",
            "evtx/powershell/mdecrevoisier/ID800-4103-4104-Clear event log attempt.evtx",
        ),
    ]);
    let (run, mut archive, _t) = run_only(&root, "powershell_logs", "", &[]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    let recs = archive.records("powershell_logs");
    let from = |suffix: &str| -> Vec<&Value> {
        of_type(&recs, "event")
            .into_iter()
            .filter(|e| e["source_path"].as_str().unwrap().ends_with(suffix))
            .collect()
    };
    assert_eq!(
        ids_by_count(&from("\\Windows PowerShell.evtx")),
        BTreeMap::from([(600, 24), (400, 4), (403, 3)])
    );
    assert_eq!(
        ids_by_count(&from("\\Microsoft-Windows-PowerShell%4Operational.evtx")),
        BTreeMap::from([(40961, 4), (40962, 4), (53504, 4), (4104, 1)])
    );
    let merged = from("\\PowerShellCore%4Operational.evtx");
    assert_eq!(
        ids_by_count(&merged),
        BTreeMap::from([(800, 2), (4103, 2), (4104, 2)])
    );
    assert!(
        merged
            .iter()
            .filter(|e| e["event_id"] == 800)
            .all(|e| e["log"] == "windows_powershell")
    );
    assert!(merged.iter().any(|e| {
        serde_json::to_string(e)
            .unwrap()
            .contains("Clear-EventLog -LogName application, system")
    }));

    // 400/403/600 records 16..19 carry the -Exec Bypass launch, parsed into host_application.
    for id in 16..=19 {
        let e = event(&recs, "\\Windows PowerShell.evtx", id);
        let host = e["host_application"].as_str().unwrap();
        assert!(
            host.starts_with("powershell.exe -Exec ByPasS"),
            "{id}: {host}"
        );
        assert!(
            e["context_info"]
                .as_str()
                .unwrap()
                .contains("HostApplication=powershell.exe -Exec ByPasS")
        );
    }
    let start = of_type(&recs, "event")
        .into_iter()
        .find(|e| {
            e["event_id"] == 400
                && e["host_application"]
                    .as_str()
                    .is_some_and(|h| h.contains("-Exec ByPasS"))
        })
        .unwrap();
    assert_eq!(start["new_engine_state"], "Available");
    assert!(
        start["engine_version"]
            .as_str()
            .is_some_and(|v| !v.is_empty())
    );
    let wmi = event(
        &recs,
        "\\Microsoft-Windows-PowerShell%4Operational.evtx",
        13,
    );
    assert_eq!(wmi["path"], "C:\\TMP\\WMIBackdoor.ps1");
    assert!(
        wmi["script_block_text"]
            .as_str()
            .unwrap()
            .contains("PoC WMI backdoor")
    );
    assert_eq!(of_type(&recs, "log_file").len(), 3);
}

#[test]
fn psreadline_history_of_every_profile() {
    let root = logs_root(&[]);
    let h = fixture(HISTORY);
    root.copy(
        &format!("Users/alice/{PSREADLINE}/ConsoleHost_history.txt"),
        &h,
    );
    // Any case on disk: a mounted NTFS may show any.
    root.copy(
        "Users/Bob/appdata/ROAMING/Microsoft/Windows/PowerShell/PSReadLine/ConsoleHost_history.txt",
        &h,
    );
    root.copy(
        &format!(
            "Windows/System32/config/systemprofile/{PSREADLINE}/Visual Studio Code Host_history.txt"
        ),
        &h,
    );
    root.mkdir("Users/Public");
    let (run, mut archive, _t) = run_only(&root, "powershell_logs", "", &[]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    let recs = archive.records("powershell_logs");
    let hist = of_type(&recs, "psreadline");
    let want_sha = sha_hex(&std::fs::read(&h).unwrap());
    assert!(want_sha.starts_with("38a4d537c310"));
    for (user, host) in [
        ("alice", "ConsoleHost"),
        ("Bob", "ConsoleHost"),
        ("SYSTEM", "Visual Studio Code Host"),
    ] {
        let mine: Vec<_> = hist.iter().filter(|r| r["user"] == user).collect();
        assert_eq!(mine.len(), 9, "{user}");
        let first = mine.iter().find(|r| r["ordinal"] == 1).unwrap();
        assert_eq!(first["line_number"], 1);
        assert_eq!(first["host"], host);
        assert!(first["command"].as_str().unwrap().contains(
            "iex ((New-Object System.Net.WebClient).DownloadString('https://chocolatey.org/install.ps1'))"
        ));
        assert_eq!(first["source_sha256"], want_sha.as_str());
        let member = first["source_member"].as_str().unwrap().to_string();
        assert_eq!(archive.member(&member), std::fs::read(&h).unwrap());
    }
    let bob = hist.iter().find(|r| r["user"] == "Bob").unwrap();
    assert_eq!(
        bob["source_path"],
        "C:\\Users\\Bob\\AppData\\Roaming\\Microsoft\\Windows\\PowerShell\\PSReadLine\\ConsoleHost_history.txt"
    );
    // No event logs on this root: said, not failed.
    assert_eq!(archive.collector("powershell_logs")["status"], "ok");
    assert!(of_type(&recs, "log_file").is_empty());
}

#[test]
fn since_filters_records_but_copies_whole() {
    let root = logs_root(&[(
        "Microsoft-Windows-PowerShell%4Operational.evtx",
        SERVER2022_OPS,
    )]);
    let since = "2023-10-18T03:03:00Z";
    let (run, mut archive, _t) = run_only(&root, "powershell_logs", "", &["--since", since]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    let recs = archive.records("powershell_logs");
    let events = of_type(&recs, "event");
    assert!(!events.is_empty());
    assert!(events.iter().all(|e| e["time"].as_str().unwrap() >= since));
    let summary = log_file(&recs, "Operational.evtx");
    let before = summary["events_before_since"].as_u64().unwrap();
    assert!(before > 0);
    assert_eq!(before + events.len() as u64, 168);
    assert_eq!(summary["records_ok"], 168);
    for b in of_type(&recs, "script_block") {
        assert!(b["last_time"].as_str().unwrap() >= since);
    }
    // The raw copy is whole and hashes like the fixture.
    let bytes = std::fs::read(fixture(SERVER2022_OPS)).unwrap();
    let m = archive.manifest();
    let entry = m["members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["path"] == summary["source_member"])
        .unwrap();
    assert_eq!(entry["size"], bytes.len() as u64);
    assert_eq!(entry["sha256"], sha_hex(&bytes));
    assert_eq!(entry["original"]["sha256"], sha_hex(&bytes));
}

#[test]
fn over_memory_cap_is_read_twice_and_archives_are_found_by_pattern() {
    let root = logs_root(&[
        (
            "Microsoft-Windows-PowerShell%4Operational.evtx",
            SERVER2022_OPS,
        ),
        (
            "Archive-Microsoft-Windows-PowerShell%4Operational-2022-03-10-21-00-00-000.evtx",
            "evtx/powershell/museum-win10-aptsimulator/Microsoft-Windows-PowerShell%4Operational.evtx",
        ),
    ]);
    let opts = "logs = [\"Microsoft-Windows-PowerShell%4Operational.evtx\", \
                \"archive-microsoft-windows-powershell%4operational-*.evtx\", \"Absent.evtx\"]\n\
                max_in_memory = \"1 MiB\"\npsreadline = false";
    let (run, mut archive, _t) = run_only(&root, "powershell_logs", opts, &[]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    let c = archive.collector("powershell_logs");
    assert_eq!(c["status"], "ok");
    assert!(c["warning_count"].as_u64().unwrap() >= 2);
    let recs = archive.records("powershell_logs");
    let big = log_file(&recs, "\\Microsoft-Windows-PowerShell%4Operational.evtx");
    assert_eq!(big["read_twice"], true);
    assert_eq!(big["records_ok"], 168);
    let mimi = of_type(&recs, "script_block")
        .into_iter()
        .find(|b| b["parts_expected"] == 125)
        .unwrap();
    assert!(
        mimi["text_sha256"]
            .as_str()
            .unwrap()
            .starts_with("ebf54f745dc81e19")
    );
    let small = log_file(&recs, "-2022-03-10-21-00-00-000.evtx");
    assert!(small["read_twice"].is_null());
    assert_eq!(small["records_ok"], 13);
    let log = String::from_utf8(archive.member("collection.log")).unwrap();
    assert!(log.contains("read a second time"), "{log}");
    assert!(log.contains("Absent.evtx not present"), "{log}");
}

#[test]
fn linux_sources_are_skipped() {
    let root = RootBuilder::new();
    root.write("etc/hostname", b"box\n");
    let (run, mut archive, _t) = run_profile(
        &root,
        "[collectors.powershell_logs]\n[collectors.execution_events]\n",
        &[],
    );
    // Skipped as not applicable does not make the run partial.
    assert_eq!(run.code, 0, "{}\n{}", run.stdout, run.stderr);
    for id in ["powershell_logs", "execution_events"] {
        let c = archive.collector(id);
        assert_eq!(c["status"], "skipped", "{id}");
        assert!(
            c["reason"]
                .as_str()
                .unwrap()
                .contains("no Windows event logs on this source")
        );
    }
}

#[test]
fn special_files_at_artifact_paths_are_said_as_what_they_are() {
    let root = logs_root(&[]);
    root.mkdir(&format!("Users/alice/{PSREADLINE}"));
    root.mkdir(LOGS);
    let mkfifo = |p: std::path::PathBuf| {
        let st = std::process::Command::new("mkfifo")
            .arg(&p)
            .status()
            .unwrap();
        assert!(st.success());
    };
    mkfifo(
        root.path()
            .join(format!("Users/alice/{PSREADLINE}/ConsoleHost_history.txt")),
    );
    mkfifo(root.path().join(format!(
        "{LOGS}/Microsoft-Windows-PowerShell%4Operational.evtx"
    )));
    // A device where Windows PowerShell.evtx belongs, when this run may make one (root).
    let device = root.path().join(format!("{LOGS}/Windows PowerShell.evtx"));
    let made_device = std::process::Command::new("mknod")
        .arg(&device)
        .args(["c", "1", "3"])
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    let (run, mut archive, _t) = run_only(&root, "powershell_logs", "", &[]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let log = String::from_utf8(archive.member("collection.log")).unwrap();
    assert!(
        log.contains("PSReadLine\\ConsoleHost_history.txt is a FIFO; not opened"),
        "{log}"
    );
    assert!(
        log.contains("Microsoft-Windows-PowerShell%4Operational.evtx is a FIFO; not opened"),
        "{log}"
    );
    assert!(
        !log.contains("Microsoft-Windows-PowerShell%4Operational.evtx not present"),
        "{log}"
    );
    if made_device {
        assert!(
            log.contains("Windows PowerShell.evtx is a character device; not opened"),
            "{log}"
        );
        assert!(
            !log.contains("Windows PowerShell.evtx not present"),
            "{log}"
        );
    } else {
        eprintln!("SKIPPED: the device case (mknod needs root)");
    }
    let c = archive.collector("powershell_logs");
    assert!(c["warning_count"].as_u64().unwrap() >= 2, "{c}");
}
