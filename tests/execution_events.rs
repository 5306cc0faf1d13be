//! `execution_events` on offline Windows roots built from real logs (facts from
//! `shared/fixtures/SOURCES.md`), including damaged ones, run through the binary.

use crate::harness::{RootBuilder, fixture};
use crate::powershell_logs::{LOGS, log_file, logs_root, of_type, run_only, sha_hex};
use serde_json::Value;
use std::collections::BTreeMap;

const SYSMON: &str = "Microsoft-Windows-Sysmon%4Operational.evtx";
const TASKSCHED: &str = "Microsoft-Windows-TaskScheduler%4Operational.evtx";
const WIN10_SYSMON: &str =
    "evtx/sysmon/museum-win10-aptsimulator/Microsoft-Windows-Sysmon%4Operational.evtx";

fn kinds(recs: &[Value], suffix: &str) -> BTreeMap<(String, u64), usize> {
    let mut m = BTreeMap::new();
    for e in of_type(recs, "event") {
        if e["source_path"].as_str().unwrap().ends_with(suffix) {
            let k = (
                e["kind"].as_str().unwrap().to_string(),
                e["header"]["event_id"].as_u64().unwrap(),
            );
            *m.entry(k).or_default() += 1;
        }
    }
    m
}

fn event<'a>(recs: &'a [Value], suffix: &str, record_id: u64) -> &'a Value {
    of_type(recs, "event")
        .into_iter()
        .find(|e| {
            e["header"]["record_id"] == record_id
                && e["source_path"].as_str().unwrap().ends_with(suffix)
        })
        .unwrap_or_else(|| panic!("no event {record_id} in {suffix}"))
}

#[test]
fn sysmon_security_and_task_scheduler() {
    let root = logs_root(&[
        (SYSMON, WIN10_SYSMON),
        (
            "Security.evtx",
            "evtx/security/mdecrevoisier/ID4688-4698 Persistent scheduled task with SYSTEM privileges creation.evtx",
        ),
        (
            TASKSCHED,
            "evtx/taskscheduler/museum-win2012r2-stolenszechuan/Microsoft-Windows-TaskScheduler%4Operational.evtx",
        ),
    ]);
    let (run, mut archive, _t) = run_only(&root, "execution_events", "", &[]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert_eq!(archive.collector("execution_events")["status"], "ok");
    let recs = archive.records("execution_events");

    // Sysmon: 681 process creations out of 1402 records in 26 chunks (header says 1).
    assert_eq!(
        kinds(&recs, SYSMON),
        BTreeMap::from([(("sysmon_process_create".into(), 1), 681)])
    );
    let s = log_file(&recs, SYSMON);
    assert_eq!(
        (s["header_chunk_count"].as_u64(), s["chunks_seen"].as_u64()),
        (Some(1), Some(26))
    );
    assert_eq!(s["records_ok"], 1402);
    assert_eq!(s["events_other"], 1402 - 681);
    let game_over = event(&recs, SYSMON, 529);
    assert!(
        game_over["command_line"]
            .as_str()
            .unwrap()
            .contains("/tn GameOver /tr")
    );
    assert_eq!(game_over["image"], "C:\\Windows\\System32\\schtasks.exe");
    assert_eq!(game_over["parent_image"], "C:\\Windows\\System32\\cmd.exe");
    assert!(
        game_over["parent_command_line"]
            .as_str()
            .unwrap()
            .contains("APTSimulator.bat")
    );
    assert!(game_over["hashes"]["sha256"].as_str().is_some());
    assert!(game_over["current_directory"].as_str().is_some());
    assert!(game_over["user"].as_str().unwrap().ends_with("\\TestUser"));
    for (id, needle) in [
        (288, "powercat -c www.googleaccountsservices.com"),
        (519, "Invoke-Tasksbackdoor -method cmd"),
        (683, "UserInitMprLogonScript"),
    ] {
        let e = event(&recs, SYSMON, id);
        assert!(e["command_line"].as_str().unwrap().contains(needle), "{id}");
    }
    let bytes = std::fs::read(fixture(WIN10_SYSMON)).unwrap();
    assert_eq!(game_over["source_sha256"], sha_hex(&bytes));
    let member = game_over["source_member"].as_str().unwrap().to_string();
    assert_eq!(archive.member(&member), bytes);

    // Security: 4688 command lines and the 4698 task XML.
    assert_eq!(
        kinds(&recs, "\\Security.evtx"),
        BTreeMap::from([
            (("security_process_create".into(), 4688), 3),
            (("security_task".into(), 4698), 1)
        ])
    );
    let create = event(&recs, "\\Security.evtx", 1);
    assert!(
        create["command_line"]
            .as_str()
            .unwrap()
            .contains("/tn eviltask /tr C:\\tools\\shell.cmd /ru SYSTEM")
    );
    assert!(create["new_process_name"].as_str().is_some());
    let task = event(&recs, "\\Security.evtx", 2);
    assert_eq!(task["action"], "created");
    assert!(task["task_name"].as_str().unwrap().contains("\\eviltask"));
    assert!(task["task_content"].as_str().unwrap().contains("<Task"));

    // Task Scheduler: lifecycle events typed by id (counts from SOURCES.md).
    let ts = kinds(&recs, TASKSCHED);
    let count = |id: u64| {
        ts.iter()
            .filter(|((_, i), _)| *i == id)
            .map(|(_, n)| *n)
            .sum::<usize>()
    };
    for (id, n) in [
        (100, 95),
        (200, 95),
        (129, 80),
        (102, 69),
        (201, 69),
        (140, 56),
        (119, 47),
    ] {
        assert_eq!(count(id), n, "event {id}");
    }
    let tpm = event(&recs, TASKSCHED, 1);
    assert!(
        tpm["task_name"]
            .as_str()
            .unwrap()
            .contains("\\Microsoft\\Windows\\TPM\\Tpm-Maintenance")
    );
    assert_eq!(log_file(&recs, TASKSCHED)["records_ok"], 604);
}

#[test]
fn security_4688_without_command_line_auditing() {
    let root = logs_root(&[(
        "security.EVTX",
        "evtx/security/museum-server2022-aptsimulator/Security.evtx",
    )]);
    let (run, mut archive, _t) = run_only(&root, "execution_events", "", &[]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    let recs = archive.records("execution_events");
    let creates: Vec<_> = of_type(&recs, "event")
        .into_iter()
        .filter(|e| e["kind"] == "security_process_create")
        .collect();
    assert_eq!(creates.len(), 34);
    assert!(creates.iter().all(|e| e["command_line"].is_null()));
    let lsass: Vec<u64> = creates
        .iter()
        .filter(|e| e["new_process_name"] == "C:\\Windows\\System32\\lsass.exe")
        .map(|e| e["header"]["record_id"].as_u64().unwrap())
        .collect();
    assert!(
        lsass.iter().all(|id| [14, 131, 426].contains(id)),
        "{lsass:?}"
    );
    let s = log_file(&recs, "security.EVTX");
    assert_eq!(
        (s["header_chunk_count"].as_u64(), s["chunks_seen"].as_u64()),
        (Some(5), Some(7))
    );
    assert_eq!(s["records_ok"], 583);
}

#[test]
fn damaged_logs_are_recovered_and_skips_recorded() {
    let root = logs_root(&[
        (
            "Security.evtx",
            "evtx/malformed/omerbenamram-evtx/sample_with_a_bad_chunk_magic.evtx",
        ),
        (SYSMON, "evtx/malformed/omerbenamram-evtx/sysmon.evtx"),
        (
            "Application.evtx",
            "evtx/malformed/omerbenamram-evtx/Application_no_crc32.evtx",
        ),
        (
            "Microsoft-Windows-HelloForBusiness%4Operational.evtx",
            "evtx/malformed/omerbenamram-evtx/Microsoft-Windows-HelloForBusiness%4Operational.evtx",
        ),
    ]);
    // A truncated log: the last chunk is cut in the middle.
    let sysmon = std::fs::read(fixture(WIN10_SYSMON)).unwrap();
    let cut = 4096 + 3 * 65536 + 20_000;
    root.write(&format!("{LOGS}/{TASKSCHED}"), &sysmon[..cut]);
    let opts = format!(
        "logs = [\"Security.evtx\", \"{SYSMON}\", \"Application.evtx\", \
         \"Microsoft-Windows-HelloForBusiness%4Operational.evtx\", \"{TASKSCHED}\"]"
    );
    let (run, mut archive, _t) = run_only(&root, "execution_events", &opts, &[]);
    let c = archive.collector("execution_events");
    assert_eq!(c["status"], "ok", "{c}");
    assert_eq!(run.code, 0);
    assert!(c["warning_count"].as_u64().unwrap() > 0);
    let recs = archive.records("execution_events");
    assert_eq!(of_type(&recs, "log_file").len(), 5);

    let bad = log_file(&recs, "\\Security.evtx");
    assert!(bad["records_ok"].as_u64().unwrap() >= 267);
    let skip_kinds: Vec<&str> = bad["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .chain(bad["warnings"].as_array().unwrap())
        .map(|s| s["kind"].as_str().unwrap())
        .collect();
    assert!(skip_kinds.contains(&"bad_chunk_magic"), "{skip_kinds:?}");
    assert!(skip_kinds.contains(&"checksum_mismatch"), "{skip_kinds:?}");

    let sys = log_file(&recs, SYSMON);
    assert_eq!(sys["records_ok"], 358);
    assert_eq!(sys["chunks_seen"], 9);
    let types = kinds(&recs, SYSMON);
    assert_eq!(types[&("sysmon_process_create".to_string(), 1)], 227);
    assert_eq!(types[&("sysmon_file_create".to_string(), 11)], 34);
    assert_eq!(types[&("sysmon_network_connect".to_string(), 3)], 2);
    let pings = of_type(&recs, "event")
        .into_iter()
        .filter(|e| e["source_path"].as_str().unwrap().ends_with(SYSMON))
        .filter(|e| {
            e["command_line"]
                .as_str()
                .is_some_and(|c| c.contains("ping  -n 6 127.0.0.1"))
        })
        .count();
    assert_eq!(pings, 131);
    assert!(
        event(&recs, SYSMON, 1802)["command_line"]
            .as_str()
            .unwrap()
            .contains("Sysmon64.exe  -c sysmon.workstations.cfg")
    );

    let app = log_file(&recs, "Application.evtx");
    assert_eq!(app["records_ok"], 17);
    assert_eq!(app["events_other"], 17);
    let hello = log_file(&recs, "HelloForBusiness%4Operational.evtx");
    assert!(hello["records_ok"].as_u64().unwrap() >= 5);

    let cut_log = log_file(&recs, TASKSCHED);
    assert!(cut_log["records_ok"].as_u64().unwrap() > 0);
    assert!(
        cut_log["skipped"]
            .as_array()
            .unwrap()
            .iter()
            .chain(cut_log["warnings"].as_array().unwrap())
            .any(|s| s["kind"] == "truncated_chunk")
    );
    // The raw copy is the damaged file as it is.
    assert_eq!(cut_log["source_sha256"], sha_hex(&sysmon[..cut]));
}

#[test]
fn unreadable_log_is_an_error_naming_the_file() {
    let root = logs_root(&[]);
    root.write(
        &format!("{LOGS}/Security.evtx"),
        b"this is not an event log at all",
    );
    root.write(&format!("{LOGS}/{SYSMON}"), b"");
    let (run, mut archive, _t) = run_only(&root, "execution_events", "", &[]);
    // A damaged log is a gap, listed with its reason; the run is still complete.
    assert_eq!(run.code, 0, "{}", run.stdout);
    let c = archive.collector("execution_events");
    assert_eq!(c["status"], "ok");
    assert!(c["reason"].as_str().unwrap().contains("gap"), "{c}");
    let errors = c["errors"].to_string();
    assert!(errors.contains("Security.evtx"), "{errors}");
    assert!(errors.contains("not a readable EVTX file"), "{errors}");
    // An empty file is odd but not an error; both are still copied.
    assert!(!errors.contains("Sysmon"), "{errors}");
    assert_eq!(c["files"], 2);
}

#[test]
fn since_filters_events_but_copies_whole() {
    let root = logs_root(&[(SYSMON, WIN10_SYSMON)]);
    let since = "2022-03-10T21:00:00Z";
    let (run, mut archive, _t) = run_only(&root, "execution_events", "", &["--since", since]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    let recs = archive.records("execution_events");
    let events = of_type(&recs, "event");
    assert!(!events.is_empty() && events.len() < 681);
    assert!(
        events
            .iter()
            .all(|e| e["header"]["time"].as_str().unwrap() >= since)
    );
    let s = log_file(&recs, SYSMON);
    assert_eq!(
        s["events_before_since"].as_u64().unwrap() + events.len() as u64,
        681
    );
    let bytes = std::fs::read(fixture(WIN10_SYSMON)).unwrap();
    let m = archive.manifest();
    let entry = m["members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["path"] == s["source_member"])
        .unwrap();
    assert_eq!(entry["size"], bytes.len() as u64);
    assert_eq!(entry["sha256"], sha_hex(&bytes));
}

#[test]
fn a_windows_root_without_logs_says_so() {
    let root = RootBuilder::new();
    root.mkdir("Windows/System32");
    let (run, mut archive, _t) = run_only(&root, "execution_events", "", &[]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    let c = archive.collector("execution_events");
    assert_eq!(c["status"], "ok");
    assert_eq!(c["records"], 0);
    let log = String::from_utf8(archive.member("collection.log")).unwrap();
    assert!(
        log.contains("no event log folder at C:\\Windows\\System32\\winevt\\Logs"),
        "{log}"
    );
}
