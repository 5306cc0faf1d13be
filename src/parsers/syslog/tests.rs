use super::*;
use chrono::TimeZone;

fn fixture(rel: &str) -> String {
    let p = format!(
        "{}/../shared/fixtures/linux-logs/{rel}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{p}: {e}"))
}

fn facts(text: &str) -> Vec<(SyslogLine<'_>, Option<LogFact>)> {
    text.lines()
        .filter_map(parse_line)
        .map(|l| {
            let f = classify(l.program, l.message);
            (l, f)
        })
        .collect()
}

/// SOURCES.md: 10 lines; sshd×7, sudo×3; 2 Accepted, 3 Failed password; sudo COMMAND=
/// /usr/bin/apt-get update and /bin/bash.
#[test]
fn gemini_auth_log_facts() {
    let text = fixture("gemini/var/auth.log");
    let all = facts(&text);
    assert_eq!(all.len(), 10);
    assert_eq!(all.iter().filter(|(l, _)| l.program == "sshd").count(), 7);
    assert_eq!(all.iter().filter(|(l, _)| l.program == "sudo").count(), 3);
    let ssh: Vec<&SshLoginFact> = all
        .iter()
        .filter_map(|(_, f)| match f {
            Some(LogFact::SshLogin(s)) => Some(s),
            _ => None,
        })
        .collect();
    let accepted: Vec<_> = ssh
        .iter()
        .filter(|s| s.outcome == SshOutcome::Accepted)
        .collect();
    let failed: Vec<_> = ssh
        .iter()
        .filter(|s| s.outcome == SshOutcome::Failed)
        .collect();
    assert_eq!((accepted.len(), failed.len()), (2, 3));
    assert_eq!(failed[0].user, "admin");
    assert!(failed[0].invalid_user);
    assert_eq!(failed[2].user, "webapp");
    assert_eq!(accepted[0].user, "webapp");
    assert_eq!(accepted[0].source_address, "192.168.1.45");
    assert_eq!(accepted[0].source_port, Some(54340));
    assert_eq!(accepted[0].method.as_deref(), Some("password"));
    assert_eq!(accepted[1].user, "root");
    assert_eq!(accepted[1].method.as_deref(), Some("publickey"));
    assert_eq!(accepted[1].key.as_deref(), Some("RSA SHA256:vV..."));
    let sudo: Vec<&SudoFact> = all
        .iter()
        .filter_map(|(_, f)| match f {
            Some(LogFact::Sudo(s)) => Some(s),
            _ => None,
        })
        .collect();
    let commands: Vec<&str> = sudo.iter().filter_map(|s| s.command.as_deref()).collect();
    assert_eq!(commands, ["/usr/bin/apt-get update", "/bin/bash"]);
    assert_eq!(sudo[1].user, "webapp");
    assert_eq!(sudo[1].runas.as_deref(), Some("root"));
    assert_eq!(sudo[1].tty.as_deref(), Some("pts/0"));
    assert_eq!(sudo[1].cwd.as_deref(), Some("/home/webapp"));
    let (l, _) = &all[0];
    assert_eq!(l.host, Some("srv-prod"));
    assert_eq!(l.pid, Some(1422));
    let anchor = Utc.with_ymd_and_hms(2024, 5, 12, 0, 0, 0).unwrap();
    let (t, inferred) = resolve_time(l.time, Some(anchor)).unwrap();
    assert!(inferred);
    assert_eq!(t.to_rfc3339(), "2024-05-11T09:12:01+00:00");
}

#[test]
fn gemini_syslog_cron_and_systemd() {
    let text = fixture("gemini/var/log/syslog");
    let all = facts(&text);
    assert_eq!(all.len(), 7);
    let cron: Vec<&CronFact> = all
        .iter()
        .filter_map(|(_, f)| match f {
            Some(LogFact::Cron(c)) => Some(c),
            _ => None,
        })
        .collect();
    assert_eq!(cron.len(), 3);
    assert_eq!(cron[0].user, "root");
    assert_eq!(cron[0].command, "/tmp/.cache_proc");
    assert_eq!(cron[2].command, "/usr/local/bin/fix_logs.sh");
    let started: Vec<&ServiceFact> = all
        .iter()
        .filter_map(|(_, f)| match f {
            Some(LogFact::Service(s)) => Some(s),
            _ => None,
        })
        .collect();
    assert_eq!(started[1].state, ServiceState::Started);
    assert_eq!(started[1].description, "Hostname Service");
    // The text file named like a journal reads as syslog text too.
    let j = fixture("gemini/var/log/Journal/32CharacterMachineIdGoesHere/system.journal");
    let all = facts(&j);
    assert_eq!(all.len(), 10);
    assert!(all.iter().any(|(_, f)| matches!(f,
        Some(LogFact::Service(s)) if s.description == "Network Time Synchronization Helper"
            && s.state == ServiceState::Started)));
    assert!(all.iter().any(|(_, f)| matches!(f,
        Some(LogFact::Service(s)) if s.unit.as_deref() == Some("network-helper.service")
            && s.state == ServiceState::Failed)));
}

#[test]
fn sudo_refusals_su_and_accounts() {
    let cases = [
        (
            "sudo",
            "bob : 3 incorrect password attempts ; TTY=pts/1 ; PWD=/home/bob ; USER=root ; COMMAND=/usr/bin/id",
        ),
        (
            "sudo",
            "eve : user NOT in sudoers ; TTY=pts/2 ; PWD=/tmp ; USER=root ; COMMAND=/bin/sh -c 'a ; b'",
        ),
        ("su", "(to root) bob on pts/1"),
        ("su", "FAILED SU (to root) eve on pts/2"),
        (
            "useradd",
            "new user: name=backdoor, UID=0, GID=0, home=/root, shell=/bin/bash, from=/dev/pts/0",
        ),
        ("usermod", "add 'backdoor' to group 'sudo'"),
        ("groupadd", "new group: name=ops, GID=1005"),
        ("userdel", "delete user 'old'"),
        (
            "passwd",
            "pam_unix(passwd:chauthtok): password changed for bob",
        ),
        (
            "sshd",
            "message repeated 4 times: [ Failed password for root from 203.0.113.9 port 4022 ssh2]",
        ),
        ("sshd", "Invalid user oracle from 203.0.113.9 port 4100"),
        ("crond", "(alice) CMD (run-parts /etc/cron.hourly)"),
        ("systemd", "Started evil.service - Evil Helper."),
    ];
    let f: Vec<LogFact> = cases
        .iter()
        .map(|(p, m)| classify(p, m).unwrap_or_else(|| panic!("{p}: {m}")))
        .collect();
    let LogFact::Sudo(s) = &f[0] else { panic!() };
    assert_eq!(
        (s.outcome, s.attempts),
        (SudoOutcome::IncorrectPassword, Some(3))
    );
    let LogFact::Sudo(s) = &f[1] else { panic!() };
    assert_eq!(s.outcome, SudoOutcome::NotInSudoers);
    assert_eq!(s.command.as_deref(), Some("/bin/sh -c 'a ; b'"));
    let LogFact::Su(s) = &f[2] else { panic!() };
    assert!(s.success && s.target_user == "root" && s.by_user.as_deref() == Some("bob"));
    let LogFact::Su(s) = &f[3] else { panic!() };
    assert!(!s.success);
    let LogFact::Account(a) = &f[4] else { panic!() };
    assert_eq!(
        (a.action, a.account.as_str(), a.uid),
        (AccountAction::UserAdded, "backdoor", Some(0))
    );
    let LogFact::Account(a) = &f[5] else { panic!() };
    assert_eq!(a.group.as_deref(), Some("sudo"));
    let LogFact::Account(a) = &f[6] else { panic!() };
    assert_eq!(a.action, AccountAction::GroupAdded);
    let LogFact::Account(a) = &f[7] else { panic!() };
    assert_eq!(a.action, AccountAction::UserDeleted);
    let LogFact::Account(a) = &f[8] else { panic!() };
    assert_eq!(a.action, AccountAction::PasswordChanged);
    let LogFact::SshLogin(s) = &f[9] else {
        panic!()
    };
    assert_eq!((s.repeated, s.user.as_str()), (Some(4), "root"));
    let LogFact::SshLogin(s) = &f[10] else {
        panic!()
    };
    assert_eq!(s.outcome, SshOutcome::InvalidUser);
    let LogFact::Service(s) = &f[12] else {
        panic!()
    };
    assert_eq!(s.unit.as_deref(), Some("evil.service"));
    assert_eq!(s.description, "Evil Helper");
    assert!(
        classify(
            "sudo",
            "pam_unix(sudo:session): session opened for user root"
        )
        .is_none()
    );
    assert!(classify("kernel", "Accepted password for x from y").is_none());
}

#[test]
fn times_rfc3339_year_rollover_and_junk() {
    let l = parse_line("2024-05-11T09:12:01.123456+02:00 web1 sshd[9]: Accepted x").unwrap();
    let (t, inferred) = resolve_time(l.time, None).unwrap();
    assert!(!inferred);
    assert_eq!(t.to_rfc3339(), "2024-05-11T07:12:01.123456+00:00");
    assert_eq!(l.host, Some("web1"));
    let l = parse_line("<38>Dec 31 23:59:59 h sudo: x : COMMAND=/bin/id").unwrap();
    let anchor = Utc.with_ymd_and_hms(2025, 1, 2, 0, 0, 0).unwrap();
    let (t, _) = resolve_time(l.time, Some(anchor)).unwrap();
    assert_eq!(t.to_rfc3339(), "2024-12-31T23:59:59+00:00");
    let l = parse_line("Feb 29 10:00:00 h x: y").unwrap();
    let anchor = Utc.with_ymd_and_hms(2025, 3, 1, 0, 0, 0).unwrap();
    let (t, _) = resolve_time(l.time, Some(anchor)).unwrap();
    assert_eq!(t.to_rfc3339(), "2024-02-29T10:00:00+00:00");
    for junk in [
        "",
        "May",
        "May 99 10:00:00 h x: y",
        "Foo 11 09:12:01 h x: y",
        "2024-13-99T00:00:00Z h x: y",
        "May 11 09:12:01 ",
        "May 11 09:12:01 host no colon here",
        "\u{0}\u{0}May 11 09:12:01 é ü[x: \u{fffd}",
    ] {
        if let Some(l) = parse_line(junk) {
            let _ = classify(l.program, l.message);
        }
    }
}
