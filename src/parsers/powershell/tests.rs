use super::*;
use crate::parsers::evtx_read::RawEvent;
use crate::parsers::evtx_read::{EventData, read_events};
use sha2::{Digest, Sha256};
use std::ops::ControlFlow;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/fixtures/evtx/");

fn raw_events(rel: &str) -> Vec<RawEvent> {
    let bytes = std::fs::read(format!("{FIXTURES}{rel}")).unwrap();
    let mut out = Vec::new();
    read_events(std::io::Cursor::new(bytes), |ev| {
        out.push(ev);
        ControlFlow::Continue(())
    })
    .unwrap();
    out
}

fn ps_events(rel: &str) -> Vec<PsEvent> {
    raw_events(rel)
        .iter()
        .filter_map(ps_event_from_raw)
        .collect()
}

fn sha_prefix(text: &str) -> String {
    let digest = Sha256::digest(text.as_bytes());
    digest.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

const SERVER2022: &str =
    "powershell/museum-server2022-aptsimulator/Microsoft-Windows-PowerShell%4Operational.evtx";
const MIMIKATZ_ID: &str = "abb3c63f-e5cd-4310-8cb7-49e545a6f45b";

fn assemble_all(events: Vec<PsEvent>) -> Vec<ScriptBlock> {
    let mut asm = ScriptBlockAssembler::new();
    for ev in events {
        asm.add(ev);
    }
    asm.finish()
}

#[test]
fn server2022_script_blocks_reassemble() {
    let events = ps_events(SERVER2022);
    assert_eq!(events.len(), 168);
    let sb: Vec<PsEvent> = events
        .into_iter()
        .filter(|e| e.kind == PsEventKind::ScriptBlock)
        .collect();
    assert_eq!(sb.len(), 140);
    let blocks = assemble_all(sb);
    assert_eq!(blocks.len(), 5);
    // (id, parts, path, length in code points, sha256 prefix, starts with)
    let expected = [
        (
            MIMIKATZ_ID,
            125,
            None,
            2_204_117,
            "ebf54f745dc81e19",
            "function Invoke-Mimikatz",
        ),
        (
            "e603e1c4-24f7-4539-bc04-5cfe825aaf69",
            12,
            None,
            122_891,
            "21af35934ede3685",
            "{",
        ),
        (
            "681c77e9-bd4d-4e9e-a547-b86f688dd5ae",
            1,
            Some("C:\\TMP\\WMIBackdoor.ps1"),
            19_995,
            "611ec7bbbbc74cf6",
            "<#\nPoC WMI backdoor.",
        ),
        (
            "44c2c3a7-df05-433a-967d-83da193ea52f",
            1,
            Some("C:\\TMP\\WMIBackdoor.ps1"),
            19_995,
            "611ec7bbbbc74cf6",
            "<#\nPoC WMI backdoor.",
        ),
        (
            "54675a71-990e-46aa-9571-30bc6cc9baea",
            1,
            Some("C:\\TMP\\schtasks-backdoor.ps1"),
            7_022,
            "3752f4499ea85b40",
            "function Invoke-Tasksbackdoor {",
        ),
    ];
    for (id, parts, path, len, sha, start) in expected {
        let b = blocks
            .iter()
            .find(|b| b.script_block_id == id)
            .unwrap_or_else(|| panic!("{id} missing"));
        assert_eq!(b.parts_expected, Some(parts), "{id}");
        assert_eq!(b.parts_present, (1..=parts).collect::<Vec<_>>(), "{id}");
        assert!(
            b.missing_parts.is_empty() && b.complete && !b.truncated,
            "{id}"
        );
        assert_eq!(b.duplicate_parts, 0, "{id}");
        assert_eq!(b.path.as_deref(), path, "{id}");
        assert_eq!(b.text.chars().count(), len, "{id}");
        assert!(!b.text.contains('\r'), "{id}");
        assert_eq!(sha_prefix(&b.text), sha, "{id}");
        assert!(b.text.starts_with(start), "{id}: {:?}", &b.text[..40]);
        assert_eq!(b.record_ids.len(), parts as usize);
        assert_eq!(b.computer, "WIN-FUDU2CKJOE8");
        assert!(b.first_time.is_some() && b.first_time <= b.last_time);
    }
    let mimi = blocks
        .iter()
        .find(|b| b.script_block_id == MIMIKATZ_ID)
        .unwrap();
    // SOURCES.md: "function Invoke-Mimikatz" is in record 18, its first part.
    assert_eq!(mimi.first_record_id, 18);
    assert_eq!(
        blocks.iter().map(|b| b.record_ids.len()).sum::<usize>(),
        140
    );
}

#[test]
fn missing_and_duplicate_parts_are_reported() {
    let events: Vec<PsEvent> = ps_events(SERVER2022)
        .into_iter()
        .filter(|e| e.script_block_id.as_deref() == Some(MIMIKATZ_ID))
        .collect();
    assert_eq!(events.len(), 125);
    let mut asm = ScriptBlockAssembler::new();
    // Feed in reverse order, drop parts 7 and 125, repeat part 3.
    for ev in events.iter().rev() {
        if !matches!(ev.message_number, Some(7) | Some(125)) {
            assert!(asm.add_ref(ev));
        }
    }
    let part3 = events.iter().find(|e| e.message_number == Some(3)).unwrap();
    asm.add_ref(part3);
    let blocks = asm.finish();
    assert_eq!(blocks.len(), 1);
    let b = &blocks[0];
    assert_eq!(b.missing_parts, [7, 125]);
    assert_eq!(b.missing_count, 2);
    assert_eq!(b.duplicate_parts, 1);
    assert_eq!(b.parts_present.len(), 123);
    assert!(!b.complete);
    assert!(b.text.starts_with("function Invoke-Mimikatz"));
    let p7 = events.iter().find(|e| e.message_number == Some(7)).unwrap();
    let p7_len = p7.script_block_text.as_ref().unwrap().chars().count();
    let p125_len = events
        .iter()
        .find(|e| e.message_number == Some(125))
        .unwrap()
        .script_block_text
        .as_ref()
        .unwrap()
        .chars()
        .count();
    assert_eq!(b.text.chars().count(), 2_204_117 - p7_len - p125_len);

    // Non-4104 events are refused.
    let other = ps_events(SERVER2022)
        .into_iter()
        .find(|e| e.event_id == 4100)
        .unwrap();
    assert!(!ScriptBlockAssembler::new().add(other));
}

#[test]
fn assembly_cap_truncates_but_keeps_parts() {
    let events: Vec<PsEvent> = ps_events(SERVER2022)
        .into_iter()
        .filter(|e| e.script_block_id.as_deref() == Some(MIMIKATZ_ID))
        .collect();
    let mut asm = ScriptBlockAssembler::with_cap(100_000);
    for ev in events {
        asm.add(ev);
    }
    assert!(asm.held_bytes() <= 100_000);
    let b = &asm.finish()[0];
    assert!(b.truncated && !b.complete);
    assert_eq!(b.parts_present.len(), 125);
    assert!(b.missing_parts.is_empty());
    assert!(b.text.len() <= 100_000);
}

#[test]
fn forged_message_total_does_not_allocate() {
    let mut asm = ScriptBlockAssembler::new();
    let mut ev = ps_events(SERVER2022)
        .into_iter()
        .find(|e| e.kind == PsEventKind::ScriptBlock)
        .unwrap();
    ev.script_block_id = Some("forged".into());
    ev.message_number = Some(2);
    ev.message_total = Some(u32::MAX);
    asm.add(ev);
    let b = &asm.finish()[0];
    assert_eq!(b.missing_count, u64::from(u32::MAX) - 1);
    assert_eq!(b.missing_parts.len(), MAX_MISSING_LISTED);
    assert_eq!(b.missing_parts[0], 1);
    assert_eq!(b.missing_parts[1], 3);
}

#[test]
fn every_powershell_fixture_is_all_powershell() {
    // (file, records) — every record in these files is one of our kinds.
    for (rel, n) in [
        (
            "powershell/museum-win10-aptsimulator/Microsoft-Windows-PowerShell%4Operational.evtx",
            13,
        ),
        (
            "powershell/museum-win10-aptsimulator/Windows PowerShell.evtx",
            31,
        ),
        (SERVER2022, 168),
        (
            "powershell/museum-win10-belkasoftctf/Windows PowerShell.evtx",
            543,
        ),
        (
            "powershell/mdecrevoisier/ID4103-4104-Payload download via PowerShell.evtx",
            3,
        ),
        (
            "powershell/mdecrevoisier/ID800-4103-Interactive PipeShell over named pipe (server and client).evtx",
            30,
        ),
        (
            "powershell/mdecrevoisier/ID4103-4104-CrackMapExec payload execution.evtx",
            24,
        ),
        (
            "powershell/mdecrevoisier/ID400-800-CrackMapExec payload execution.evtx",
            13,
        ),
        (
            "powershell/mdecrevoisier/ID800-4103-4104-PowerShell BITS job started.evtx",
            11,
        ),
        (
            "powershell/mdecrevoisier/ID4103-4104 - SPN discovery (moder nPowerShell).evtx",
            21,
        ),
        (
            "powershell/mdecrevoisier/ID800-4103-4104-Clear event log attempt.evtx",
            6,
        ),
        (
            "powershell/deepbluecli/Powershell-Invoke-Obfuscation-string-menu.evtx",
            4,
        ),
        (
            "powershell/deepbluecli/Powershell-Invoke-Obfuscation-encoding-menu.evtx",
            66,
        ),
        ("powershell/evtx-attack-samples/exec_emotet_ps_4104.evtx", 1),
        (
            "powershell/evtx-attack-samples/exec_emotet_ps_800_new-object.evtx",
            1,
        ),
        (
            "powershell/evtx-attack-samples/Powershell_4104_MiniDumpWriteDump_Lsass.evtx",
            4,
        ),
        (
            "powershell/evtx-attack-samples/phish_windows_credentials_powershell_scriptblockLog_4104.evtx",
            2,
        ),
    ] {
        assert_eq!(ps_events(rel).len(), n, "{rel}");
    }
}

fn count_kind(events: &[PsEvent], kind: PsEventKind) -> usize {
    events.iter().filter(|e| e.kind == kind).count()
}

#[test]
fn pipeshell_mixed_channels() {
    let events = ps_events(
        "powershell/mdecrevoisier/ID800-4103-Interactive PipeShell over named pipe (server and client).evtx",
    );
    assert_eq!(events.len(), 30);
    assert_eq!(count_kind(&events, PsEventKind::PipelineExecution), 13);
    assert_eq!(count_kind(&events, PsEventKind::ModuleLogging), 12);
    assert_eq!(count_kind(&events, PsEventKind::ScriptBlock), 5);
    for e in &events {
        let expected = if e.event_id == 800 {
            PsLog::WindowsPowerShell
        } else {
            PsLog::Operational
        };
        assert_eq!(e.log, expected);
    }
    let hits: Vec<u64> = events
        .iter()
        .filter(|e| {
            e.script_block_text
                .as_deref()
                .is_some_and(|t| t.contains("Invoke-PipeShell -mode client -server localhost"))
        })
        .map(|e| e.record_id)
        .collect();
    assert_eq!(hits, [11, 24]);
    let pipe: Vec<_> = events
        .iter()
        .filter(|e| {
            e.kind == PsEventKind::PipelineExecution
                && e.details
                    .as_deref()
                    .is_some_and(|d| d.contains("NamedPipeServerStream"))
        })
        .collect();
    assert_eq!(pipe.len(), 1);
    assert_eq!(pipe[0].record_id, 3);
    assert_eq!(
        pipe[0].script_name.as_deref(),
        Some("C:\\TOOLS\\Invoke-PipeShell.ps1")
    );
    assert_eq!(pipe[0].user.as_deref(), Some("OFFSEC\\admmig"));
    assert_eq!(pipe[0].pipeline_id, Some(20));
    assert_eq!(pipe[0].detail_sequence, Some(1));
    assert!(
        pipe[0]
            .pipeline_text
            .as_deref()
            .unwrap()
            .contains("New-Object System.IO.Pipes.NamedPipeServerStream")
    );
    assert_eq!(
        pipe[0].command_line,
        pipe[0]
            .pipeline_text
            .as_deref()
            .map(|t| t.trim_end().to_string())
    );

    // 4103 ContextInfo with spaced keys.
    let ml = events
        .iter()
        .find(|e| e.kind == PsEventKind::ModuleLogging)
        .unwrap();
    assert_eq!(ml.host_name.as_deref(), Some("ConsoleHost"));
    assert_eq!(ml.host_version.as_deref(), Some("5.1.14393.3383"));
    assert_eq!(
        ml.host_application.as_deref(),
        Some("C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe")
    );
    assert_eq!(ml.engine_version.as_deref(), Some("5.1.14393.3383"));
    assert_eq!(
        ml.runspace_id.as_deref(),
        Some("4b5551f8-0137-4d3e-a6d3-3061a6604583")
    );
    assert_eq!(ml.pipeline_id, Some(19));
    assert_eq!(ml.command_name.as_deref(), Some("Set-StrictMode"));
    assert_eq!(ml.command_type.as_deref(), Some("Cmdlet"));
    assert_eq!(ml.command_path, None);
    assert_eq!(ml.sequence_number, Some(48));
    assert_eq!(ml.user.as_deref(), Some("OFFSEC\\admmig"));
    assert_eq!(ml.connected_user, None);
    assert_eq!(ml.shell_id.as_deref(), Some("Microsoft.PowerShell"));
    assert_eq!(ml.severity.as_deref(), Some("Informational"));
    assert!(
        ml.payload
            .as_deref()
            .unwrap()
            .starts_with("CommandInvocation(Set-StrictMode)")
    );
}

#[test]
fn classic_400_host_application() {
    let events = ps_events("powershell/museum-win10-aptsimulator/Windows PowerShell.evtx");
    assert_eq!(events.len(), 31);
    assert_eq!(count_kind(&events, PsEventKind::EngineStart), 4);
    assert_eq!(count_kind(&events, PsEventKind::EngineStop), 3);
    assert_eq!(count_kind(&events, PsEventKind::ProviderStart), 24);
    // SOURCES.md: 16 records carry HostApplication=powershell.exe -Exec ByPasS (400/403/600).
    let bypass: Vec<&PsEvent> = events
        .iter()
        .filter(|e| {
            e.host_application
                .as_deref()
                .is_some_and(|h| h.starts_with("powershell.exe -Exec ByPasS"))
        })
        .collect();
    assert_eq!(bypass.len(), 16);
    assert_eq!(
        bypass
            .iter()
            .take(4)
            .map(|e| e.record_id)
            .collect::<Vec<_>>(),
        [16, 17, 18, 19]
    );
    assert_eq!(
        events
            .iter()
            .filter(|e| e
                .host_application
                .as_deref()
                .is_some_and(|h| h.contains("Invoke-Tasksbackdoor -method cmd -ip 8.8.8.8")))
            .count(),
        8
    );
    let start = bypass
        .iter()
        .find(|e| e.kind == PsEventKind::EngineStart)
        .unwrap();
    assert_eq!(start.new_engine_state.as_deref(), Some("Available"));
    assert_eq!(start.previous_engine_state.as_deref(), Some("None"));
    assert_eq!(start.host_name.as_deref(), Some("ConsoleHost"));
    assert!(start.engine_version.is_some() && start.runspace_id.is_some());
    let prov = events
        .iter()
        .find(|e| e.kind == PsEventKind::ProviderStart)
        .unwrap();
    assert_eq!(prov.provider_name.as_deref(), Some("Registry"));
    assert_eq!(prov.new_provider_state.as_deref(), Some("Started"));
    assert_eq!(prov.sequence_number, Some(1));
    assert_eq!(prov.engine_version, None); // "EngineVersion=" is empty
}

#[test]
fn classic_800_pipeline_text() {
    let events = ps_events("powershell/evtx-attack-samples/exec_emotet_ps_800_new-object.evtx");
    assert_eq!(events.len(), 1);
    let e = &events[0];
    assert_eq!(e.kind, PsEventKind::PipelineExecution);
    assert!(e.pipeline_text.as_deref().unwrap().starts_with("$Va5w3n8="));
    assert!(e.command_line.as_deref().unwrap().starts_with("$Va5w3n8="));
    assert!(e.details.as_deref().unwrap().contains("New-Object"));
    assert_eq!(e.user.as_deref(), Some("DESKTOP-RIPCLIP\\Clippy"));
    assert_eq!(e.host_version.as_deref(), Some("5.1.19041.1"));

    let events =
        ps_events("powershell/mdecrevoisier/ID400-800-CrackMapExec payload execution.evtx");
    let strict: Vec<u64> = events
        .iter()
        .filter(|e| {
            e.pipeline_text
                .as_deref()
                .is_some_and(|t| t.contains("Set-StrictMode -Version 1; $_.PSMessageDetails"))
        })
        .map(|e| e.record_id)
        .collect();
    assert_eq!(strict, [8]);
    assert_eq!(
        events
            .iter()
            .filter(|e| e.host_version.as_deref() == Some("5.1.19041.906"))
            .count(),
        13
    );
    let start = events
        .iter()
        .find(|e| e.kind == PsEventKind::EngineStart)
        .unwrap();
    assert!(
        start
            .host_application
            .as_deref()
            .unwrap()
            .starts_with("powershell.exe -exec bypass -noni -nop -w 1 -C & ( $PshOMe[4]")
    );
}

#[test]
fn module_logging_payload() {
    let events =
        ps_events("powershell/mdecrevoisier/ID4103-4104-CrackMapExec payload execution.evtx");
    let hits: Vec<u64> = events
        .iter()
        .filter(|e| {
            e.payload
                .as_deref()
                .is_some_and(|p| p.contains("CommandInvocation(Invoke-Expression)"))
        })
        .map(|e| e.record_id)
        .collect();
    assert_eq!(hits, [5]);
    let e = events.iter().find(|e| e.record_id == 5).unwrap();
    assert_eq!(e.kind, PsEventKind::ModuleLogging);
    assert_eq!(e.command_name.as_deref(), Some("Invoke-Expression"));

    let events =
        ps_events("powershell/mdecrevoisier/ID4103-4104 - SPN discovery (moder nPowerShell).evtx");
    let err = events
        .iter()
        .find(|e| e.kind == PsEventKind::Error)
        .unwrap();
    assert!(err.message.is_some() && err.details.is_some());
}

#[test]
fn error_4100_message() {
    let events = ps_events(SERVER2022);
    let errors: Vec<_> = events
        .iter()
        .filter(|e| e.kind == PsEventKind::Error)
        .collect();
    assert_eq!(errors.len(), 4);
    let first = errors[0];
    assert_eq!(
        first.message.as_deref(),
        Some(
            "A constructor was not found. Cannot find an appropriate constructor for type System.Byte[]."
        )
    );
    assert_eq!(first.severity.as_deref(), Some("Warning"));
    assert!(
        first
            .host_application
            .as_deref()
            .unwrap()
            .contains("powercat -c www.googleaccountsservices.com")
    );
    let session = events.iter().find(|e| e.event_id == 53504).unwrap();
    assert_eq!(session.kind, PsEventKind::SessionContext);
    assert_eq!(
        session.extra[1],
        ("param2".to_string(), "DefaultAppDomain".to_string())
    );
}

#[test]
fn belkasoft_benign_baseline() {
    let events = ps_events("powershell/museum-win10-belkasoftctf/Windows PowerShell.evtx");
    assert_eq!(events.len(), 543);
    assert_eq!(count_kind(&events, PsEventKind::ProviderStart), 428);
    assert_eq!(count_kind(&events, PsEventKind::EngineStart), 63);
    assert_eq!(count_kind(&events, PsEventKind::EngineStop), 45);
    assert_eq!(count_kind(&events, PsEventKind::PipelineExecution), 7);
    let iis = events
        .iter()
        .filter(|e| {
            e.host_application.as_deref().is_some_and(|h| {
                h.contains("Get-WindowsOptionalFeature -Online -FeatureName IIS-WebServerRole")
            })
        })
        .count();
    assert_eq!(iis, 63);
    let who = events
        .iter()
        .filter(|e| {
            e.host_application.as_deref().is_some_and(|h| {
                h.contains("[System.Security.Principal.WindowsIdentity]::GetCurrent().Name")
            })
        })
        .count();
    assert_eq!(who, 16);
}

#[test]
fn obfuscation_menu_paths() {
    let events =
        ps_events("powershell/deepbluecli/Powershell-Invoke-Obfuscation-encoding-menu.evtx");
    let blocks = assemble_all(events);
    assert_eq!(blocks.len(), 66);
    let octal = blocks
            .iter()
            .filter(|b| b.path.as_deref() == Some("C:\\Users\\student\\Desktop\\Invoke-Obfuscation-master\\Out-EncodedOctalCommand.ps1"))
            .count();
    assert_eq!(octal, 15);
    assert!(
        blocks
            .iter()
            .all(|b| b.complete && b.parts_expected == Some(1))
    );
}

#[test]
fn other_providers_are_not_powershell() {
    // Task Scheduler 400/402 etc. and Security/Sysmon records are never PowerShell events.
    for rel in [
        "taskscheduler/museum-win2012r2-stolenszechuan/Microsoft-Windows-TaskScheduler%4Operational.evtx",
        "security/museum-server2022-aptsimulator/Security.evtx",
        "sysmon/evtx-attack-samples/exec_emotet_sysmon_1.evtx",
    ] {
        let raw = raw_events(rel);
        assert!(!raw.is_empty());
        assert!(raw.iter().all(|e| ps_event_from_raw(e).is_none()), "{rel}");
    }
    let raw = raw_events(
        "taskscheduler/museum-win2012r2-stolenszechuan/Microsoft-Windows-TaskScheduler%4Operational.evtx",
    );
    assert_eq!(raw.iter().filter(|e| e.event_id == 400).count(), 6);

    // Event 800 in TaskScheduler/Maintenance means something else.
    let mut ev = raw[0].clone();
    ev.event_id = 800;
    ev.provider = "Microsoft-Windows-TaskScheduler".into();
    ev.channel = "Microsoft-Windows-TaskScheduler/Maintenance".into();
    ev.data = EventData::default();
    assert!(ps_event_from_raw(&ev).is_none());
    // Right id and provider but a foreign channel: rejected too.
    ev.provider = "PowerShell".into();
    assert!(ps_event_from_raw(&ev).is_none());
    ev.channel = "Windows PowerShell".into();
    let ps = ps_event_from_raw(&ev).unwrap();
    assert_eq!(ps.kind, PsEventKind::PipelineExecution);
    assert_eq!(ps.pipeline_text, None); // no data: fields stay empty, no panic

    // PowerShell 7 uses its own provider/channel with the Operational ids.
    ev.provider = "PowerShellCore".into();
    ev.channel = "PowerShellCore/Operational".into();
    ev.event_id = 4104;
    ev.data.named = vec![
        ("MessageNumber".into(), "1".into()),
        ("MessageTotal".into(), "1".into()),
        ("ScriptBlockText".into(), "Get-Process".into()),
        ("ScriptBlockId".into(), "x".into()),
        ("Path".into(), "".into()),
    ];
    let ps = ps_event_from_raw(&ev).unwrap();
    assert_eq!(
        (ps.kind, ps.log),
        (PsEventKind::ScriptBlock, PsLog::PowerShellCore)
    );
    assert_eq!(ps.script_block_text.as_deref(), Some("Get-Process"));
    assert_eq!(ps.path, None);
}

#[test]
fn context_parser_edge_cases() {
    // Classic: multi-line CommandLine takes the rest, including lines that look like keys.
    let ctx = "\tNewEngineState=Available\r\n\r\n\tSequenceNumber=13\r\n\tHostApplication=powershell -c \"a\r\nb\"\r\n\tCommandLine=$x = 1\r\n\tHostName=Evil\r\n";
    let pairs = parse_context(ctx);
    let keys: Vec<&str> = pairs.iter().map(|(k, _)| k.as_str()).collect();
    assert_eq!(
        keys,
        [
            "NewEngineState",
            "SequenceNumber",
            "HostApplication",
            "CommandLine"
        ]
    );
    assert_eq!(pairs[0].1, "Available");
    assert_eq!(pairs[2].1, "powershell -c \"a\r\nb\"");
    assert_eq!(pairs[3].1, "$x = 1\r\n\tHostName=Evil");
    // 4103: spaced keys, empty values, continuation lines with " = " inside.
    let ctx = "        Host Application = powershell.exe -c \"\r\n$a = 5\"\r\n        Command Path = \r\n        Connected User =\r\n        Shell ID = Microsoft.PowerShell\r\n";
    let pairs = parse_context(ctx);
    assert_eq!(
        pairs[0],
        (
            "Host Application".into(),
            "powershell.exe -c \"\r\n$a = 5\"".into()
        )
    );
    assert_eq!(pairs[1], ("Command Path".into(), "".into()));
    assert_eq!(pairs[2], ("Connected User".into(), "".into()));
    assert_eq!(pairs[3], ("Shell ID".into(), "Microsoft.PowerShell".into()));
    // Localized keys are kept raw even if not mapped; junk never panics.
    let pairs = parse_context("        Hostanwendung = powershell.exe\r\n");
    assert_eq!(
        pairs,
        [("Hostanwendung".to_string(), "powershell.exe".to_string())]
    );
    for junk in [
        "",
        "=",
        "\t=\r\n",
        "é=ü",
        "\u{0}\u{ffff}=x\n",
        "a=b\nc",
        "   \t\r\n==",
    ] {
        let _ = parse_context(junk);
    }
}
