use super::*;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/fixtures/");

fn fixture(rel: &str) -> Vec<u8> {
    std::fs::read(format!("{FIXTURES}tasks/{rel}")).unwrap()
}

fn parse_fixture(rel: &str) -> TaskDefinition {
    parse_task_xml(&fixture(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn between_backticks(cell: &str) -> Option<&str> {
    let a = cell.find('`')?;
    let b = cell.rfind('`')?;
    (b > a).then(|| &cell[a + 1..b])
}

struct Row {
    file: String,
    encoding: String,
    version: Option<String>,
    uri: String,
    action: String,
    triggers: Vec<String>,
    principal: String,
    hidden: String,
}

/// Reads the expected facts from the "Task Scheduler XML files" table of SOURCES.md.
fn source_rows() -> Vec<Row> {
    let md = std::fs::read_to_string(format!("{FIXTURES}SOURCES.md")).unwrap();
    let start = md.find("## Task Scheduler XML files").unwrap();
    let section = &md[start..];
    let end = section[3..]
        .find("\n## ")
        .map(|i| i + 3)
        .unwrap_or(section.len());
    let mut rows = Vec::new();
    for line in section[..end].lines() {
        if !line.starts_with("| `") {
            continue;
        }
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        rows.push(Row {
            file: between_backticks(cells[1]).unwrap().to_string(),
            encoding: cells[2].to_string(),
            version: match cells[3].trim_matches('`') {
                "(none)" => None,
                v => Some(v.to_string()),
            },
            uri: between_backticks(cells[4]).unwrap().to_string(),
            action: cells[5].to_string(),
            triggers: if cells[6] == "(none)" {
                Vec::new()
            } else {
                cells[6].split(',').map(|s| s.trim().to_string()).collect()
            },
            principal: cells[7].to_string(),
            hidden: cells[8].to_string(),
        });
    }
    rows
}

fn walk(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            walk(&p, out);
        } else {
            out.push(p);
        }
    }
}

#[test]
fn all_fixtures_match_sources_table() {
    let rows = source_rows();
    assert_eq!(rows.len(), 26, "expected 26 rows in SOURCES.md");

    // Every file on disk is covered by the table.
    let root = std::path::PathBuf::from(format!("{FIXTURES}tasks"));
    let mut files = Vec::new();
    walk(&root, &mut files);
    assert_eq!(files.len(), 26);
    for f in &files {
        let rel = f
            .strip_prefix(&root)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        assert!(
            rows.iter().any(|r| r.file == rel),
            "{rel} not in SOURCES.md"
        );
    }

    for row in &rows {
        let t = parse_fixture(&row.file);
        let f = &row.file;
        // encoding
        let (enc, bom) = match row.encoding.as_str() {
            "UTF-16LE+BOM" => (TextEncoding::Utf16Le, true),
            "UTF-8+BOM" => (TextEncoding::Utf8, true),
            other => panic!("unexpected encoding cell {other}"),
        };
        assert_eq!(t.encoding.encoding, enc, "{f}");
        assert_eq!(t.encoding.bom, bom, "{f}");
        assert_eq!(t.version, row.version, "{f}");
        assert_eq!(
            t.registration_info.uri.as_deref(),
            Some(row.uri.as_str()),
            "{f}"
        );

        // one action per file in the table
        assert_eq!(t.actions.len(), 1, "{f}");
        let expected_action = between_backticks(&row.action).unwrap();
        if row.action.starts_with("Exec ") {
            assert!(matches!(t.actions[0], TaskAction::Exec { .. }), "{f}");
            assert_eq!(exec_command_line(&t.actions[0]), expected_action, "{f}");
        } else if row.action.starts_with("ComHandler ") {
            match &t.actions[0] {
                TaskAction::ComHandler { class_id, .. } => {
                    assert_eq!(class_id, expected_action, "{f}")
                }
                other => panic!("{f}: expected ComHandler, got {other:?}"),
            }
            assert_eq!(exec_command_line(&t.actions[0]), "");
        } else {
            panic!("unexpected action cell {}", row.action);
        }

        let kinds: Vec<String> = t
            .triggers
            .iter()
            .map(|tr| tr.kind.element_name().into_owned())
            .collect();
        assert_eq!(kinds, row.triggers, "{f}");
        assert!(
            t.triggers
                .iter()
                .all(|tr| !matches!(tr.kind, TriggerKind::Other(_)))
        );

        // principal: "[group ]WHO[ / RunLevel]"
        let p = t
            .effective_principal()
            .unwrap_or_else(|| panic!("{f}: no principal"));
        let (who, run_level) = match row.principal.find('/') {
            Some(i) => (
                row.principal[..i].trim(),
                Some(row.principal[i + 1..].trim()),
            ),
            None => (row.principal.trim(), None),
        };
        if let Some(g) = who.strip_prefix("group ") {
            assert_eq!(p.group_id.as_deref(), Some(g), "{f}");
            assert_eq!(p.user_id, None, "{f}");
        } else if who.is_empty() {
            assert_eq!(p.user_id, None, "{f}");
            assert_eq!(p.group_id, None, "{f}");
        } else {
            assert_eq!(p.user_id.as_deref(), Some(who), "{f}");
        }
        assert_eq!(
            p.run_level.as_ref().map(|r| r.as_schema_str()),
            run_level,
            "{f}"
        );

        let hidden = match row.hidden.as_str() {
            "true" => Some(true),
            "false" => Some(false),
            "(unset)" => None,
            other => panic!("unexpected hidden cell {other}"),
        };
        assert_eq!(t.settings.hidden, hidden, "{f}");

        // Real files: nothing unknown, nothing suppressed; only the lying declaration warns.
        for w in &t.warnings {
            assert!(
                w.contains("declared encoding"),
                "{f}: unexpected warning {w}"
            );
        }

        // Serializes and round-trips.
        let json = serde_json::to_string(&t).unwrap();
        let back: TaskDefinition = serde_json::from_str(&json).unwrap();
        assert_eq!(back, t, "{f}");
    }
}

#[test]
fn gameover_exec_and_schedule() {
    let t = parse_fixture("dfir-artifact-museum/Win10/APTSimulatorVM/GameOver");
    assert_eq!(
        t.actions[0],
        TaskAction::Exec {
            id: None,
            command: r"C:\TMP\mim.exe".into(),
            arguments: Some(r"sekurlsa::LogonPasswords > C:\TMP\o.txt".into()),
            working_directory: None,
        }
    );
    assert_eq!(t.actions_context.as_deref(), Some("Author"));
    assert_eq!(
        t.registration_info.author.as_deref(),
        Some(r"DESKTOP-TMKU40H\TestUser")
    );
    let date = t.registration_info.date.as_ref().unwrap();
    assert_eq!(date.raw, "2022-03-10T15:59:03");
    assert_eq!(date.utc, None, "no offset: local time, not UTC");
    assert_eq!(date.wall_clock.unwrap().to_string(), "2022-03-10 15:59:03");
    let tr = &t.triggers[0];
    assert_eq!(tr.kind, TriggerKind::Time);
    assert_eq!(tr.enabled, Some(true));
    let rep = tr.repetition.as_ref().unwrap();
    assert_eq!(rep.interval.as_deref(), Some("PT5M"));
    assert_eq!(
        parse_duration_secs(rep.interval.as_deref().unwrap()),
        Some(300)
    );
    assert_eq!(rep.stop_at_duration_end, Some(false));
    let p = &t.principals[0];
    assert_eq!(p.id.as_deref(), Some("Author"));
    assert_eq!(p.logon_type, Some(LogonType::InteractiveToken));
    assert_eq!(t.settings.execution_time_limit.as_deref(), Some("PT72H"));
    assert_eq!(t.settings.priority, Some(7));
    assert_eq!(
        t.settings.multiple_instances_policy,
        Some(MultipleInstancesPolicy::IgnoreNew)
    );
    assert_eq!(t.settings.disallow_start_if_on_batteries, Some(true));
    assert!(t.warnings.is_empty(), "{:?}", t.warnings);
    assert_eq!(t.encoding.method, DetectionMethod::ByteOrderMark);
    assert_eq!(t.encoding.declared.as_deref(), Some("UTF-16"));
}

#[test]
fn falshupdate22_hidden_powershell() {
    let t = parse_fixture("dfir-artifact-museum/Server2022/APTSimulatorVM/falshupdate22");
    match &t.actions[0] {
        TaskAction::Exec {
            command, arguments, ..
        } => {
            assert_eq!(command, "powershell.exe");
            assert_eq!(
                arguments.as_deref(),
                Some(r#"-WindowStyle Hidden -nop -c """#)
            );
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        exec_command_line(&t.actions[0]),
        r#"powershell.exe -WindowStyle Hidden -nop -c """#
    );
}

#[test]
fn utf8_bom_file_declaring_utf16() {
    let t = parse_fixture("atomic-red-team/T1053_05_SCTASK_HIDDEN_ATTRIB.xml");
    assert_eq!(t.encoding.encoding, TextEncoding::Utf8);
    assert!(t.encoding.bom);
    assert_eq!(t.encoding.method, DetectionMethod::ByteOrderMark);
    assert_eq!(t.encoding.declared.as_deref(), Some("UTF-16"));
    assert!(
        t.warnings.iter().any(|w| w.contains("does not match")),
        "{:?}",
        t.warnings
    );
    assert_eq!(t.settings.hidden, Some(true));
    match &t.actions[0] {
        TaskAction::Exec {
            command, arguments, ..
        } => {
            assert_eq!(command, "C:\\Windows\\system32\\calc.exe\"");
            assert_eq!(arguments.as_deref(), Some(""));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        exec_command_line(&t.actions[0]),
        "C:\\Windows\\system32\\calc.exe\""
    );
    assert_eq!(t.triggers[0].kind, TriggerKind::Logon);
    assert_eq!(t.principals[0].user_id, None);

    // Same document without its BOM: the declaration still lies, NULs decide nothing.
    let raw = fixture("atomic-red-team/T1053_05_SCTASK_HIDDEN_ATTRIB.xml");
    let t2 = parse_task_xml(&raw[3..]).unwrap();
    assert_eq!(t2.encoding.encoding, TextEncoding::Utf8);
    assert!(!t2.encoding.bom);
    assert_eq!(
        t2.registration_info.uri.as_deref(),
        Some(r"\atomic red team")
    );
    assert!(t2.warnings.iter().any(|w| w.contains("does not match")));
}

#[test]
fn com_handler_clsids_and_data() {
    let cases = [
        (
            "Microsoft/Windows/TextServicesFramework/MsCtfMonitor",
            "{01575CFE-9A55-4003-A5E1-F38D1EBDCBE1}",
        ),
        (
            "Microsoft/Windows/SoftwareProtectionPlatform/SvcRestartTask",
            "{B1AEBB5D-EAD9-4476-B375-9C3ED9F32AFC}",
        ),
        (
            "Microsoft/Windows/CertificateServicesClient/UserTask",
            "{58FB76B9-AC85-4E55-AC04-427593B1D060}",
        ),
        (
            "Microsoft/Windows/.NET Framework/.NET Framework NGEN v4.0.30319 64 Critical",
            "{613FBA38-A3DF-4AB8-9674-5604984A299A}",
        ),
    ];
    for (rel, clsid) in cases {
        let t = parse_fixture(&format!("dfir-artifact-museum/Win10/APTSimulatorVM/{rel}"));
        match &t.actions[0] {
            TaskAction::ComHandler { class_id, .. } => assert_eq!(class_id, clsid),
            other => panic!("{rel}: {other:?}"),
        }
    }
    let t = parse_fixture(
        "dfir-artifact-museum/Win10/APTSimulatorVM/Microsoft/Windows/CertificateServicesClient/UserTask",
    );
    match &t.actions[0] {
        TaskAction::ComHandler { data, .. } => assert_eq!(data.as_deref(), Some("USER")),
        other => panic!("{other:?}"),
    }
    let ev = t
        .triggers
        .iter()
        .find(|t| t.kind == TriggerKind::Event)
        .unwrap();
    let sub = ev.subscription.as_deref().unwrap();
    assert!(sub.starts_with("<QueryList><Query Id=\"0\""), "{sub}");
    assert!(sub.contains("EventID=300"));
    assert_eq!(ev.delay.as_deref(), Some("PT25M"));
    assert_eq!(ev.execution_time_limit.as_deref(), Some("PT30M"));
    assert_eq!(
        ev.repetition.as_ref().unwrap().duration.as_deref(),
        Some("PT4H")
    );
    let wnf = &t.triggers[0];
    assert_eq!(wnf.wnf_state_name.as_deref(), Some("F510BCA32A1E890D"));
    let rof = t.settings.restart_on_failure.as_ref().unwrap();
    assert_eq!(rof.count, Some(5));
    assert_eq!(rof.interval.as_deref(), Some("PT1M"));
    assert_eq!(
        t.registration_info.security_descriptor.as_deref(),
        Some("D:P(A;;FA;;;BA)(A;;FA;;;SY)(A;;FR;;;IU)")
    );
}

#[test]
fn trigger_details_and_times() {
    let t = parse_fixture(
        "dfir-artifact-museum/Win10/APTSimulatorVM/Microsoft/Windows/WindowsUpdate/Scheduled Start",
    );
    let time = &t.triggers[0];
    let sb = time.start_boundary.as_ref().unwrap();
    assert_eq!(sb.raw, "2022-03-10T22:31:46Z");
    assert_eq!(sb.utc.unwrap().to_rfc3339(), "2022-03-10T22:31:46+00:00");
    assert_eq!(time.random_delay.as_deref(), Some("PT1M"));
    let states: Vec<_> = t.triggers[1..3]
        .iter()
        .map(|t| t.state_change.clone().unwrap())
        .collect();
    assert_eq!(states, ["ConsoleDisconnect", "RemoteDisconnect"]);
    let wnf = &t.triggers[3];
    assert_eq!(wnf.enabled, Some(false));
    assert_eq!(wnf.wnf_state_name.as_deref(), Some("7508BCA3380C960C"));
    assert_eq!(wnf.wnf_data.as_deref(), Some("01"));
    assert_eq!(wnf.wnf_data_offset.as_deref(), Some("0"));
    let idle = t.settings.idle_settings.as_ref().unwrap();
    assert_eq!(idle.duration.as_deref(), Some("PT10M"));
    assert_eq!(idle.wait_timeout.as_deref(), Some("PT1H"));
    assert_eq!(idle.stop_on_idle_end, Some(true));
    assert_eq!(t.settings.allow_start_on_demand, Some(false));

    let t = parse_fixture(
        "dfir-artifact-museum/Win10/APTSimulatorVM/Microsoft/Windows/Subscription/LicenseAcquisition",
    );
    let cal = &t.triggers[0];
    let sb = cal.start_boundary.as_ref().unwrap();
    assert_eq!(sb.utc.unwrap().to_rfc3339(), "2016-01-01T00:00:00+00:00");
    assert_eq!(sb.wall_clock.unwrap().to_string(), "2015-12-31 16:00:00");
    let s = cal.schedule.as_ref().unwrap();
    assert_eq!(s.kind, ScheduleKind::ByDay);
    assert_eq!(s.days_interval, Some(1));
    assert_eq!(t.settings.enabled, Some(false));
    assert_eq!(t.settings.run_only_if_network_available, Some(true));
    assert_eq!(t.actions_context.as_deref(), Some("InteractiveUser"));
}

// ------------------------------------------------------------------ synthetic documents

fn utf16le_bom(s: &str) -> Vec<u8> {
    let mut v = vec![0xFF, 0xFE];
    for u in s.encode_utf16() {
        v.extend_from_slice(&u.to_le_bytes());
    }
    v
}

fn utf16be(s: &str, bom: bool) -> Vec<u8> {
    let mut v = if bom { vec![0xFE, 0xFF] } else { Vec::new() };
    for u in s.encode_utf16() {
        v.extend_from_slice(&u.to_be_bytes());
    }
    v
}

const SMALL: &str = r#"<?xml version="1.0" encoding="UTF-16"?>
<Task version="1.3" xmlns="http://schemas.microsoft.com/windows/2004/02/mit/task">
  <RegistrationInfo><URI>\Evil</URI><Description>caf&#233; &amp; more</Description></RegistrationInfo>
  <Actions Context="Author"><Exec><Command>cmd.exe</Command><Arguments>/c whoami</Arguments><WorkingDirectory>C:\</WorkingDirectory></Exec></Actions>
</Task>"#;

#[test]
fn utf16_variants_and_nul_detection() {
    let le_nobom: Vec<u8> = utf16le_bom(SMALL)[2..].to_vec();
    for (bytes, enc, bom, method) in [
        (
            utf16le_bom(SMALL),
            TextEncoding::Utf16Le,
            true,
            DetectionMethod::ByteOrderMark,
        ),
        (
            le_nobom,
            TextEncoding::Utf16Le,
            false,
            DetectionMethod::NulPattern,
        ),
        (
            utf16be(SMALL, true),
            TextEncoding::Utf16Be,
            true,
            DetectionMethod::ByteOrderMark,
        ),
        (
            utf16be(SMALL, false),
            TextEncoding::Utf16Be,
            false,
            DetectionMethod::NulPattern,
        ),
    ] {
        let t = parse_task_xml(&bytes).unwrap();
        assert_eq!(t.encoding.encoding, enc);
        assert_eq!(t.encoding.bom, bom);
        assert_eq!(t.encoding.method, method);
        assert_eq!(t.version.as_deref(), Some("1.3"));
        assert_eq!(
            t.registration_info.description.as_deref(),
            Some("café & more")
        );
        assert_eq!(exec_command_line(&t.actions[0]), "cmd.exe /c whoami");
        assert!(t.warnings.is_empty(), "{:?}", t.warnings);
    }
}

#[test]
fn utf8_without_bom_and_legacy_declaration() {
    let doc = SMALL.replace("UTF-16", "UTF-8");
    let t = parse_task_xml(doc.as_bytes()).unwrap();
    assert_eq!(t.encoding.encoding, TextEncoding::Utf8);
    assert_eq!(t.encoding.method, DetectionMethod::Declaration);
    assert!(t.warnings.is_empty(), "{:?}", t.warnings);

    let no_decl = "<Task><Actions><Exec><Command>a.exe</Command></Exec></Actions></Task>";
    let t = parse_task_xml(no_decl.as_bytes()).unwrap();
    assert_eq!(t.encoding.method, DetectionMethod::Default);
    assert_eq!(exec_command_line(&t.actions[0]), "a.exe");

    let mut latin =
        b"<?xml version=\"1.0\" encoding=\"windows-1252\"?><Task><RegistrationInfo><Author>Ren"
            .to_vec();
    latin.push(0xE9);
    latin.extend_from_slice(b"</Author></RegistrationInfo></Task>");
    let t = parse_task_xml(&latin).unwrap();
    assert_eq!(
        t.encoding.encoding,
        TextEncoding::Legacy("windows-1252".into())
    );
    assert_eq!(t.registration_info.author.as_deref(), Some("René"));

    // Invalid UTF-8 is replaced, recorded, and parsing continues.
    let bad = b"<Task><RegistrationInfo><Author>a\xFF\xFEb</Author></RegistrationInfo></Task>";
    let t = parse_task_xml(bad).unwrap();
    assert!(t.registration_info.author.unwrap().contains('\u{FFFD}'));
    assert!(t.warnings.iter().any(|w| w.contains("invalid UTF-8")));
}

#[test]
fn legacy_actions_calendar_and_oddities() {
    let doc = r#"<t:Task xmlns:t="x"><t:Triggers>
  <t:CalendarTrigger id="c1"><t:StartBoundary>2020-01-01T08:00:00.1234567</t:StartBoundary>
    <t:ScheduleByMonthDayOfWeek><t:Weeks><t:Week>1</t:Week><t:Week>Last</t:Week></t:Weeks>
      <t:DaysOfWeek><t:Monday/><t:Friday/></t:DaysOfWeek><t:Months><t:January/><t:June/></t:Months>
    </t:ScheduleByMonthDayOfWeek></t:CalendarTrigger>
  <CalendarTrigger><ScheduleByMonth><DaysOfMonth><Day>1</Day><Day>15</Day></DaysOfMonth><Months><March/></Months></ScheduleByMonth></CalendarTrigger>
  <CalendarTrigger><ScheduleByWeek><WeeksInterval>2</WeeksInterval><DaysOfWeek><Sunday/></DaysOfWeek></ScheduleByWeek></CalendarTrigger>
  <LogonTrigger><UserId>DOM\bob</UserId><Delay>PT30S</Delay></LogonTrigger>
  <FutureTrigger/>
</t:Triggers>
<Principals><Principal id="p"><LogonType>S4U</LogonType><RunLevel>Weird</RunLevel>
  <RequiredPrivileges><Privilege>SeDebugPrivilege</Privilege></RequiredPrivileges></Principal></Principals>
<Settings><Hidden>maybe</Hidden><Priority>x</Priority><DeleteExpiredTaskAfter>PT0S</DeleteExpiredTaskAfter><Bogus>1</Bogus></Settings>
<Actions>
  <Exec id="a1"><Command>first.exe</Command><Command>second.exe</Command><Arguments>x<b>y</b></Arguments></Exec>
  <SendEmail><Server>smtp</Server><To>a@b</To><Subject>s</Subject><Attachments><File>C:\x</File></Attachments></SendEmail>
  <ShowMessage><Title>T</Title><Body>B</Body></ShowMessage>
  <ComHandler><ClassId>{X}</ClassId></ComHandler>
  <Teleport/>
  <Exec/>
</Actions></t:Task>"#;
    let t = parse_task_xml(doc.as_bytes()).unwrap();
    assert_eq!(t.triggers.len(), 5);
    let c1 = &t.triggers[0];
    assert_eq!(c1.id.as_deref(), Some("c1"));
    assert_eq!(
        c1.start_boundary
            .as_ref()
            .unwrap()
            .wall_clock
            .unwrap()
            .to_string(),
        "2020-01-01 08:00:00.123456700"
    );
    let s = c1.schedule.as_ref().unwrap();
    assert_eq!(s.kind, ScheduleKind::ByMonthDayOfWeek);
    assert_eq!(s.weeks, ["1", "Last"]);
    assert_eq!(s.days_of_week, ["Monday", "Friday"]);
    assert_eq!(s.months, ["January", "June"]);
    let s = t.triggers[1].schedule.as_ref().unwrap();
    assert_eq!(s.days_of_month, ["1", "15"]);
    assert_eq!(s.months, ["March"]);
    let s = t.triggers[2].schedule.as_ref().unwrap();
    assert_eq!(
        (s.kind.clone(), s.weeks_interval),
        (ScheduleKind::ByWeek, Some(2))
    );
    assert_eq!(s.days_of_week, ["Sunday"]);
    assert_eq!(t.triggers[3].user_id.as_deref(), Some(r"DOM\bob"));
    assert_eq!(t.triggers[3].delay.as_deref(), Some("PT30S"));
    assert_eq!(
        t.triggers[4].kind,
        TriggerKind::Other("FutureTrigger".into())
    );

    let p = &t.principals[0];
    assert_eq!(p.logon_type, Some(LogonType::S4u));
    assert_eq!(p.run_level, Some(RunLevel::Other("Weird".into())));
    assert_eq!(p.required_privileges, ["SeDebugPrivilege"]);
    assert_eq!(t.settings.hidden, None);
    assert_eq!(t.settings.priority, None);
    assert_eq!(
        t.settings.delete_expired_task_after.as_deref(),
        Some("PT0S")
    );

    assert_eq!(t.actions.len(), 6);
    assert_eq!(
        t.actions[0],
        TaskAction::Exec {
            id: Some("a1".into()),
            command: "first.exe".into(),
            arguments: Some("x".into()),
            working_directory: None
        }
    );
    match &t.actions[1] {
        TaskAction::SendEmail {
            server,
            to,
            attachments,
            ..
        } => {
            assert_eq!(server.as_deref(), Some("smtp"));
            assert_eq!(to.as_deref(), Some("a@b"));
            assert_eq!(attachments, &["C:\\x".to_string()]);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        t.actions[2],
        TaskAction::ShowMessage {
            id: None,
            title: Some("T".into()),
            body: Some("B".into())
        }
    );
    assert_eq!(
        t.actions[4],
        TaskAction::Other {
            id: None,
            element: "Teleport".into()
        }
    );
    let w = t.warnings.join("\n");
    for needle in [
        "unknown trigger element <FutureTrigger>",
        "<Hidden> has non-boolean value",
        "<Priority> has non-numeric value",
        "unknown element <Bogus> in <Settings>",
        "duplicate <Command>",
        "unexpected child element <b> inside <Arguments>",
        "unknown action element <Teleport>",
        "Exec action #5 has no <Command>",
    ] {
        assert!(w.contains(needle), "missing warning {needle:?} in:\n{w}");
    }
}

// ------------------------------------------------------------------ hostile inputs

#[test]
fn empty_and_whitespace() {
    assert_eq!(parse_task_xml(b""), Err(TaskXmlError::Empty));
    assert!(matches!(
        parse_task_xml(b"  \r\n\t"),
        Err(TaskXmlError::NoRootElement { .. })
    ));
    assert!(matches!(
        parse_task_xml(&[0xFF, 0xFE]),
        Err(TaskXmlError::NoRootElement { .. })
    ));
    assert!(matches!(
        parse_task_xml(b"<?xml version=\"1.0\"?><!-- nothing -->"),
        Err(TaskXmlError::NoRootElement { .. })
    ));
}

#[test]
fn random_bytes_never_panic_never_ok() {
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    for round in 0..300 {
        let len = (round * 37) % 4096 + 1;
        let mut buf = Vec::with_capacity(len);
        for _ in 0..len {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            buf.push((state >> 24) as u8);
        }
        let r = parse_task_xml(&buf);
        assert!(r.is_err(), "random input {round} parsed as a task");
        let _ = r.unwrap_err().to_string();
    }
    assert!(parse_task_xml(b"hello world, not xml").is_err());
    assert!(parse_task_xml(b"<<<>>>&&&").is_err());
    assert!(parse_task_xml(b"<Task attr=\"unterminated></Task>").is_err());
}

#[test]
fn truncated_utf16_gives_error_with_partial() {
    let raw = fixture("dfir-artifact-museum/Win10/APTSimulatorVM/GameOver");
    // Cut after the Actions block: URI and Exec already parsed.
    let text = String::from_utf16_lossy(
        &raw[2..]
            .chunks_exact(2)
            .map(|c| u16::from_le_bytes([c[0], c[1]]))
            .collect::<Vec<_>>(),
    );
    let cut_chars = text.find("</Actions>").unwrap() + "</Actions>".len();
    let cut_bytes = 2 + text[..cut_chars].encode_utf16().count() * 2;
    let err = parse_task_xml(&raw[..cut_bytes]).unwrap_err();
    match &err {
        TaskXmlError::Truncated {
            open_element,
            depth,
            partial,
            ..
        } => {
            assert_eq!(open_element, "Task");
            assert_eq!(*depth, 1);
            assert_eq!(partial.registration_info.uri.as_deref(), Some(r"\GameOver"));
            assert_eq!(
                exec_command_line(&partial.actions[0]),
                r"C:\TMP\mim.exe sekurlsa::LogonPasswords > C:\TMP\o.txt"
            );
        }
        other => panic!("{other:?}"),
    }
    assert!(err.partial().is_some());
    assert!(err.to_string().contains("truncated"));

    // Odd length: cut in the middle of a code unit.
    let err = parse_task_xml(&raw[..cut_bytes + 1]).unwrap_err();
    let partial = err.partial().expect("partial");
    assert!(partial.warnings.iter().any(|w| w.contains("odd UTF-16")));

    // Every cut point: never panics, never a silent Ok of a half task.
    for cut in (0..raw.len() - 40).step_by(7) {
        assert!(
            parse_task_xml(&raw[..cut]).is_err(),
            "cut at {cut} parsed Ok"
        );
    }
}

#[test]
fn odd_length_utf16_complete_document() {
    let mut raw = fixture("dfir-artifact-museum/Win10/APTSimulatorVM/GameOver");
    raw.push(0x41);
    let t = parse_task_xml(&raw).unwrap();
    assert!(
        t.warnings.iter().any(|w| w.contains("odd UTF-16")),
        "{:?}",
        t.warnings
    );
    assert_eq!(t.registration_info.uri.as_deref(), Some(r"\GameOver"));
}

#[test]
fn deeply_nested_elements() {
    let n = 200_000;
    let mut doc = String::from("<Task><Settings>");
    doc.push_str(&"<a>".repeat(n));
    doc.push_str(&"</a>".repeat(n));
    doc.push_str("</Settings><Actions><Exec><Command>x.exe</Command></Exec></Actions></Task>");
    let t = parse_task_xml(doc.as_bytes()).unwrap();
    assert_eq!(exec_command_line(&t.actions[0]), "x.exe");
    assert!(t.warnings.iter().any(|w| w.contains("nested deeper")));
    assert!(t.warnings.len() <= MAX_WARNINGS + 1);

    // Unclosed deep nesting is truncation, with the real depth.
    let mut doc = String::from("<Task>");
    doc.push_str(&"<a>".repeat(n));
    match parse_task_xml(doc.as_bytes()) {
        Err(TaskXmlError::Truncated { depth, .. }) => assert_eq!(depth, n + 1),
        other => panic!("{:?}", other.map(|_| ())),
    }
}

#[test]
fn many_unknown_elements_warnings_are_capped() {
    let mut doc = String::from("<Task>");
    doc.push_str(&"<Junk/>".repeat(10_000));
    doc.push_str("</Task>");
    let t = parse_task_xml(doc.as_bytes()).unwrap();
    assert_eq!(t.warnings.len(), MAX_WARNINGS + 1);
    assert!(
        t.warnings
            .last()
            .unwrap()
            .contains("further warnings suppressed")
    );
}

#[test]
fn ten_megabyte_description() {
    let big = "A".repeat(10 * 1024 * 1024);
    let doc = format!(
        "<Task><RegistrationInfo><Description>{big}</Description></RegistrationInfo></Task>"
    );
    let t = parse_task_xml(&utf16le_bom(&doc)).unwrap();
    assert_eq!(
        t.registration_info.description.as_ref().unwrap().len(),
        big.len()
    );
}

#[test]
fn entities_are_never_expanded() {
    let mut lol =
        String::from("<?xml version=\"1.0\"?>\n<!DOCTYPE Task [\n <!ENTITY lol \"lol\">\n");
    lol.push_str(" <!ENTITY lol1 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">\n");
    for i in 2..10 {
        let prev = format!("&lol{};", i - 1);
        lol.push_str(&format!(" <!ENTITY lol{i} \"{}\">\n", prev.repeat(10)));
    }
    lol.push_str(" <!ENTITY xxe SYSTEM \"file:///etc/passwd\">\n]>\n");
    lol.push_str("<Task><RegistrationInfo><Description>&lol9;</Description><Author>&xxe;</Author></RegistrationInfo>");
    lol.push_str(
        "<Actions><Exec><Command a=\"&lol9;\">c&#x3A;\\x.exe</Command></Exec></Actions></Task>",
    );
    let t = parse_task_xml(lol.as_bytes()).unwrap();
    assert_eq!(t.registration_info.description.as_deref(), Some("&lol9;"));
    assert_eq!(t.registration_info.author.as_deref(), Some("&xxe;"));
    assert_eq!(exec_command_line(&t.actions[0]), "c:\\x.exe");
    let w = t.warnings.join("\n");
    assert!(w.contains("DOCTYPE"), "{w}");
    assert!(w.contains("not expanded"), "{w}");
}

#[test]
fn non_task_root_and_syntax_errors() {
    assert_eq!(
        parse_task_xml(b"<?xml version=\"1.0\"?><html><body/></html>"),
        Err(TaskXmlError::NotATask {
            found: "html".into()
        })
    );
    assert!(matches!(
        parse_task_xml(&utf16le_bom("<Foo/>")),
        Err(TaskXmlError::NotATask { .. })
    ));
    // Mismatched end tag inside a task: Malformed with partial.
    let err = parse_task_xml(b"<Task><RegistrationInfo><URI>x</URI></Oops></Task>").unwrap_err();
    match &err {
        TaskXmlError::Malformed { partial, .. } => {
            assert_eq!(
                partial.as_ref().unwrap().registration_info.uri.as_deref(),
                Some("x")
            )
        }
        other => panic!("{other:?}"),
    }
    // Content after the root is reported, not fatal.
    let t = parse_task_xml(b"<Task></Task>trailing<Extra/>").unwrap();
    assert!(
        t.warnings.iter().any(|w| w.contains("after")),
        "{:?}",
        t.warnings
    );
}

#[test]
fn durations() {
    assert_eq!(parse_duration_secs("PT5M"), Some(300));
    assert_eq!(parse_duration_secs("PT72H"), Some(259_200));
    assert_eq!(parse_duration_secs("P3D"), Some(259_200));
    assert_eq!(parse_duration_secs("P1DT1H1M1.5S"), Some(90_061));
    assert_eq!(parse_duration_secs("PT0S"), Some(0));
    assert_eq!(parse_duration_secs("P1M"), Some(30 * 86_400));
    for bad in [
        "",
        "P",
        "PT",
        "5M",
        "P5",
        "PT5X",
        "P1H",
        "-PT5M",
        "P99999999999999999999D",
    ] {
        assert_eq!(parse_duration_secs(bad), None, "{bad}");
    }
}
