use super::extract::parse_exec_value;

use super::*;

fn fixture(rel: &str) -> Vec<u8> {
    let p = format!("{}/../shared/fixtures/{}", env!("CARGO_MANIFEST_DIR"), rel);
    std::fs::read(&p).unwrap_or_else(|e| panic!("read {p}: {e}"))
}

fn keys(u: &UnitFile) -> Vec<String> {
    let mut k: Vec<String> = u
        .sections
        .iter()
        .flat_map(|s| s.entries.iter().map(|e| e.key.clone()))
        .collect();
    k.sort();
    k
}

#[test]
fn debian_timers() {
    let dir = "linux/lib/systemd/system/";
    let u = parse_unit(&fixture(&format!("{dir}logrotate.timer")));
    assert!(u.warnings.is_empty(), "{:?}", u.warnings);
    let t = u.timer.as_ref().unwrap();
    assert_eq!(t.on_calendar, ["daily"]);
    assert_eq!(t.accuracy_sec.as_deref(), Some("1h"));
    assert_eq!(t.persistent, Some(true));
    assert_eq!(u.wanted_by, ["timers.target"]);
    assert_eq!(
        keys(&u),
        [
            "AccuracySec",
            "Description",
            "Documentation",
            "OnCalendar",
            "Persistent",
            "WantedBy"
        ]
    );
    assert_eq!(
        u.description.as_deref(),
        Some("Daily rotation of log files")
    );
    assert_eq!(timer_target_unit("logrotate.timer", t), "logrotate.service");
    assert!(u.service.is_none());

    let u = parse_unit(&fixture(&format!("{dir}e2scrub_all.timer")));
    assert!(u.warnings.is_empty(), "{:?}", u.warnings);
    let t = u.timer.as_ref().unwrap();
    assert_eq!(t.on_calendar, ["Sun *-*-* 03:10:00"]);
    assert_eq!(t.randomized_delay_sec.as_deref(), Some("60"));
    assert_eq!(
        keys(&u),
        [
            "Description",
            "OnCalendar",
            "Persistent",
            "RandomizedDelaySec",
            "WantedBy"
        ]
    );
    // The comment line inside [Timer] is not an entry.
    assert_eq!(u.sections[1].entries[0].line_number, 6);

    let u = parse_unit(&fixture(&format!("{dir}apt-daily.timer")));
    let t = u.timer.as_ref().unwrap();
    assert_eq!(t.on_calendar, ["*-*-* 6,18:00"]);
    assert_eq!(t.randomized_delay_sec.as_deref(), Some("12h"));
    assert_eq!(
        timer_target_unit("/lib/systemd/system/apt-daily.timer", t),
        "apt-daily.service"
    );

    let u = parse_unit(&fixture(&format!("{dir}anacron.timer")));
    let t = u.timer.as_ref().unwrap();
    assert_eq!(t.on_calendar, ["*-*-* 07..23:30"]);
    assert_eq!(t.randomized_delay_sec.as_deref(), Some("5m"));

    let u = parse_unit(&fixture(&format!("{dir}sysstat-collect.timer")));
    assert!(u.warnings.is_empty(), "{:?}", u.warnings);
    assert_eq!(u.timer.as_ref().unwrap().on_calendar, ["*:00/10"]);
    assert_eq!(u.timer.as_ref().unwrap().persistent, None);
    assert_eq!(u.wanted_by, ["sysstat.service"]);
    assert_eq!(keys(&u), ["Description", "OnCalendar", "WantedBy"]);
}

/// The service and timer T1053.006 test 1 writes with `echo ... >> file`, defaults substituted.
#[test]
fn atomic_t1053_006_units() {
    let yaml = String::from_utf8(fixture("atomics/T1053.006.yaml")).unwrap();
    let lines_for = |target: &str| -> String {
        let mut s = String::new();
        for l in yaml.lines() {
            let l = l.trim();
            if let Some(rest) = l.strip_prefix("echo \"")
                && let Some((content, dest)) = rest.split_once("\" >")
                && dest.trim_start_matches('>').trim() == target
            {
                s.push_str(content);
                s.push('\n');
            }
        }
        s.replace("#{systemd_service_name}", "art-timer.service")
    };
    let service = lines_for("#{path_to_systemd_service}");
    let timer = lines_for("#{path_to_systemd_timer}");
    assert_eq!(service.lines().count(), 7);
    assert_eq!(timer.lines().count(), 8);

    let s = parse_unit(service.as_bytes());
    assert!(s.warnings.is_empty(), "{:?}", s.warnings);
    let svc = s.service.unwrap();
    assert_eq!(svc.type_, Some(ServiceType::Simple));
    assert_eq!(svc.exec_start.len(), 1);
    assert_eq!(svc.exec_start[0].path, "/bin/touch");
    assert_eq!(
        svc.exec_start[0].argv,
        ["/bin/touch", "/tmp/art-systemd-timer-marker"]
    );
    assert!(svc.exec_start[0].prefixes.is_empty());
    assert_eq!(s.wanted_by, ["multi-user.target"]);

    let t = parse_unit(timer.as_bytes());
    assert!(t.warnings.is_empty(), "{:?}", t.warnings);
    let spec = t.timer.clone().unwrap();
    assert_eq!(spec.on_calendar, ["*-*-* *:*:00"]);
    assert_eq!(spec.unit.as_deref(), Some("art-timer.service"));
    assert_eq!(
        timer_target_unit("art-timer.timer", &spec),
        "art-timer.service"
    );
    assert_eq!(t.last_value("Unit", "Requires"), Some("art-timer.service"));

    // Tests 2/3: `systemd-run --unit=Atomic-Red-Team --on-calendar '*:0/1' /bin/sh -c '...'`
    // leaves a transient service whose ExecStart carries the quoted shell command.
    assert!(yaml.contains("systemd-run --unit=Atomic-Red-Team --on-calendar '*:0/1' /bin/sh -c 'echo \"$(date) $(whoami)\" >>/tmp/log'"));
    let transient =
        "[Service]\nExecStart=\"/bin/sh\" \"-c\" \"echo \\\"$(date) $(whoami)\\\" >>/tmp/log\"\n";
    let u = parse_unit(transient.as_bytes());
    let e = &u.service.unwrap().exec_start[0];
    assert_eq!(
        e.argv,
        ["/bin/sh", "-c", "echo \"$(date) $(whoami)\" >>/tmp/log"]
    );
}

#[test]
fn exec_prefixes_quoting_resets_and_continuations() {
    let t = "[Unit]\r\nDescription=x\r\n[Service]\r\nExecStart=/bin/old\r\nExecStart=\r\n\
ExecStart=-@/usr/bin/python3 py 'a b' \"c\\\"d\" e\\x41 \\\r\n\
  # interleaved comment\r\n\
  --flag\r\n\
ExecStartPre=+!!/bin/prep ; /bin/second \\; last\r\n\
Environment=\"A=1 2\" B=3\r\nEnvironment=A=9\r\nEnvironmentFile=-/etc/default/x\r\n\
User=nobody\r\nType=weird\r\nWorkingDirectory=~\r\n";
    let u = parse_unit(t.as_bytes());
    assert!(u.warnings.is_empty(), "{:?}", u.warnings);
    let s = u.service.unwrap();
    assert_eq!(s.exec_start.len(), 1);
    let e = &s.exec_start[0];
    assert_eq!(e.prefixes, [ExecPrefix::IgnoreFailure, ExecPrefix::Argv0]);
    assert_eq!(e.path, "/usr/bin/python3");
    assert_eq!(e.argv, ["py", "a b", "c\"d", "eA", "--flag"]);
    assert_eq!(e.line_number, 6);
    assert_eq!(s.exec_start_pre.len(), 2);
    assert_eq!(
        s.exec_start_pre[0].prefixes,
        [
            ExecPrefix::FullPrivileges,
            ExecPrefix::AmbientCapabilitiesFallback
        ]
    );
    assert_eq!(s.exec_start_pre[1].argv, ["/bin/second", ";", "last"]);
    assert_eq!(
        s.environment,
        [
            EnvVar {
                name: "B".into(),
                value: "3".into()
            },
            EnvVar {
                name: "A".into(),
                value: "9".into()
            }
        ]
    );
    assert_eq!(s.environment_file[0].path, "/etc/default/x");
    assert!(s.environment_file[0].optional);
    assert_eq!(s.user.as_deref(), Some("nobody"));
    assert_eq!(s.type_, Some(ServiceType::Other("weird".into())));
    assert_eq!(s.working_directory.as_deref(), Some("~"));
    let json = serde_json::to_value(&u.sections).unwrap();
    assert_eq!(json[1]["entries"][0]["key"], "ExecStart");
}

#[test]
fn templates_and_overrides() {
    let t = TimerSpec::default();
    assert_eq!(timer_target_unit("foo@bar.timer", &t), "foo@bar.service");
    assert_eq!(timer_target_unit("foo@.timer", &t), "foo@.service");
    assert_eq!(timer_target_unit("C:\\x\\odd", &t), "odd.service");
    let t = TimerSpec {
        unit: Some("evil.service".into()),
        ..TimerSpec::default()
    };
    assert_eq!(timer_target_unit("backup.timer", &t), "evil.service");
    let u = parse_unit(b"[Timer]\nOnCalendar=daily\nOnCalendar=\nOnCalendar=hourly\nOnBootSec=5min\nOnUnitActiveSec=1h\nWakeSystem=maybe\n");
    let ts = u.timer.unwrap();
    assert_eq!(ts.on_calendar, ["hourly"]);
    assert_eq!(ts.on_boot_sec, ["5min"]);
    assert_eq!(ts.on_unit_active_sec, ["1h"]);
    assert_eq!(ts.wake_system, None);
    assert!(matches!(
        u.warnings[0],
        UnitWarning::InvalidBoolean { line: 7, .. }
    ));
}

#[test]
fn hostile_units() {
    // Lines outside a section, lines without '=', bad header, unterminated quote, trailing '\'.
    let t = b"Key=before\nnot an assignment\n[Service\nExecStart=/bin/sh -c 'unterminated\n=novalue\n[Service]\nExecStart=\nExecStart=  \nUser=a\\";
    let u = parse_unit(t);
    let kinds: Vec<String> = u
        .warnings
        .iter()
        .map(|w| {
            serde_json::to_value(w).unwrap()["kind"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "outside_section",
            "missing_equals",
            "bad_section_header",
            "empty_key",
            "unterminated_continuation",
            "unterminated_quote"
        ]
    );
    let s = u.service.unwrap();
    assert!(s.exec_start.is_empty());
    assert_eq!(s.user.as_deref(), Some("a"));
    let unterminated = u.sections[0].entries[0].value.clone();
    let lines = parse_exec_value(&unterminated, 4, "ExecStart", &mut Warns::new(MAX_WARNINGS));
    assert_eq!(lines[0].argv, ["/bin/sh", "-c", "unterminated"]);

    // Binary garbage, NUL bytes, invalid UTF-8.
    let garbage: Vec<u8> = (0..8192u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 11) as u8)
        .collect();
    let u = parse_unit(&garbage);
    assert!(u.lossy_utf8);
    assert!(!u.warnings.is_empty());
    let u = parse_unit(b"[Service]\nExecStart=/bin/\x00\xff\xfe x\n");
    assert!(u.lossy_utf8);
    assert_eq!(u.service.unwrap().exec_start[0].argv.len(), 2);

    // 5 MB single line, and 5 MB of continuation lines.
    let mut big = b"[Service]\nExecStart=/bin/echo ".to_vec();
    big.extend(std::iter::repeat_n(b'A', 5 * 1024 * 1024));
    let u = parse_unit(&big);
    assert!(matches!(
        u.warnings[0],
        UnitWarning::LineTooLong { line: 2, .. }
    ));
    assert_eq!(
        u.service.unwrap().exec_start[0].argv[1].len(),
        5 * 1024 * 1024
    );
    let mut cont = b"[Service]\nExecStart=/bin/echo".to_vec();
    for _ in 0..200_000 {
        cont.extend_from_slice(b" \\\n x");
    }
    cont.push(b'\n');
    let u = parse_unit(&cont);
    assert!(u.warnings.is_empty());
    assert_eq!(u.service.unwrap().exec_start[0].argv.len(), 200_001);

    // Escape edge cases never panic.
    for s in [
        "\\",
        "\\x",
        "\\xZZ",
        "\\u12",
        "\\777",
        "\\U0011ffff",
        "'",
        "\"\\",
        "; ;",
        "@",
        "!!",
    ] {
        let _ = split_words(s);
        let _ = parse_exec_value(s, 1, "ExecStart", &mut Warns::new(MAX_WARNINGS));
    }
    assert_eq!(split_words("\\101\\x42\\u00e9").0, ["ABé"]);
}
