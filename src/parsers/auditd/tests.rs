use super::*;

fn fixture(rel: &str) -> Vec<u8> {
    let p = format!(
        "{}/../shared/fixtures/linux-logs/{rel}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&p).unwrap_or_else(|e| panic!("{p}: {e}"))
}

fn assemble(data: &[u8]) -> (Vec<AuditEvent>, AuditStats) {
    let mut a = Assembler::new();
    let mut out = Vec::new();
    for (i, line) in data.split(|b| *b == b'\n').enumerate() {
        a.push_line(i as u64 + 1, line, &mut |e| out.push(e));
    }
    a.finish(&mut |e| out.push(e));
    (out, a.stats)
}

/// SOURCES.md: record types EXECVE×4, PATH×2, SYSCALL×5; EXECVE a0 values sh, tar, curl, rm;
/// two EXECVE records whose argc differs from the number of aN fields.
#[test]
fn gemini_audit_log_events() {
    let (events, stats) = assemble(&fixture("gemini/var/log/audit/audit.log"));
    assert_eq!(stats.unparsed_lines, 0);
    let execs: Vec<&AuditEvent> = events
        .iter()
        .filter(|e| e.kind == AuditKind::Execve)
        .collect();
    let a0: Vec<&str> = execs.iter().map(|e| e.argv[0].as_str()).collect();
    assert_eq!(a0, ["sh", "tar", "curl", "rm"]);
    assert_eq!(execs.iter().filter(|e| e.argc_mismatch).count(), 2);
    let sh = execs[0];
    assert_eq!(sh.serial, 521);
    assert_eq!(
        sh.argv,
        ["sh", "-c", "./.hidden_miner -o pool.monero.org:443"]
    );
    assert_eq!(
        sh.command_line.as_deref(),
        Some("sh -c './.hidden_miner -o pool.monero.org:443'")
    );
    assert_eq!(sh.exe.as_deref(), Some("/usr/bin/dash"));
    assert_eq!(sh.syscall_name.as_deref(), Some("execve"));
    assert_eq!((sh.uid, sh.auid, sh.ses), (Some(0), Some(1001), Some(2)));
    assert_eq!(sh.tty.as_deref(), Some("pts0"));
    assert_eq!(sh.key.as_deref(), Some("susp_exec"));
    assert_eq!(sh.success, Some(true));
    assert_eq!(sh.paths[0].name.as_deref(), Some("/tmp/.hidden_miner"));
    assert_eq!(
        sh.timestamp.map(|t| t.to_rfc3339()),
        Some("2024-05-11T11:15:12.441+00:00".into())
    );
    let tar = execs[1];
    assert_eq!(
        tar.argv,
        [
            "tar",
            "-czvf",
            "/tmp/.cache_bak.tar.gz",
            "/etc/shadow",
            "/home/webapp/.ssh/"
        ]
    );
    assert_eq!(tar.argc, Some(4));
    assert!(tar.argc_mismatch);
    // The open of /etc/shadow by vi: a keyed system call, not an execution.
    let watch = events.iter().find(|e| e.serial == 522).unwrap();
    assert_eq!(watch.kind, AuditKind::Syscall);
    assert_eq!(watch.syscall_name.as_deref(), Some("open"));
    assert_eq!(watch.key.as_deref(), Some("identity"));
    assert_eq!(watch.paths[0].name.as_deref(), Some("/etc/shadow"));
    assert_eq!(events.len(), 5);
}

#[test]
fn hex_split_and_proctitle_arguments_are_decoded() {
    let log = "type=SYSCALL msg=audit(1700000000.001:7): arch=c000003e syscall=59 success=yes \
               exit=0 ppid=1 pid=2 auid=4294967295 uid=1000 euid=0 tty=(none) ses=4294967295 \
               comm=\"bash\" exe=\"/usr/bin/bash\" key=(null)\u{1d}UID=\"alice\" EUID=\"root\"\n\
               type=EXECVE msg=audit(1700000000.001:7): argc=3 a0=\"bash\" a1=\"-c\" a2_len=10 \
               a2[0]=6563686F20 a2[1]=\"hello\"\n\
               type=CWD msg=audit(1700000000.001:7): cwd=2F746D702F612062\n\
               type=PROCTITLE msg=audit(1700000000.001:7): proctitle=62617368002D630065\n\
               type=EOE msg=audit(1700000000.001:7): \n";
    let (events, _) = assemble(log.as_bytes());
    assert_eq!(events.len(), 1);
    let e = &events[0];
    assert_eq!(e.argv, ["bash", "-c", "echo hello"]);
    assert!(!e.argc_mismatch);
    assert_eq!(e.cwd.as_deref(), Some("/tmp/a b"));
    assert_eq!(e.proctitle.as_deref(), Some("bash -c e"));
    assert_eq!((e.auid, e.ses, e.tty.as_deref()), (None, None, None));
    assert_eq!(e.user.as_deref(), Some("alice"));
    assert_eq!(e.effective_user.as_deref(), Some("root"));
    assert_eq!(e.key, None);
    assert_eq!(
        e.record_types,
        ["SYSCALL", "EXECVE", "CWD", "PROCTITLE"].map(String::from)
    );
}

#[test]
fn user_space_records_and_other_types() {
    let log = "type=USER_CMD msg=audit(1700000001.000:9): pid=5 uid=1000 auid=1000 ses=3 \
               msg='cwd=\"/home/a\" cmd=69642061 exe=\"/usr/bin/sudo\" terminal=pts/1 \
               res=success'\n\
               type=CRED_ACQ msg=audit(1700000001.000:10): pid=5 uid=0 msg='op=PAM:setcred'\n\
               type=ADD_USER msg=audit(1700000002.000:11): pid=6 uid=0 auid=1000 \
               msg='op=add-user acct=\"bob\" exe=\"/usr/sbin/useradd\" res=success'\n\
               not an audit line\n";
    let (events, stats) = assemble(log.as_bytes());
    assert_eq!(events.len(), 2);
    assert_eq!(events[0].kind, AuditKind::UserCmd);
    assert_eq!(events[0].cmd.as_deref(), Some("id a"));
    assert_eq!(events[0].command_line.as_deref(), Some("id a"));
    assert_eq!(events[0].cwd.as_deref(), Some("/home/a"));
    assert_eq!(events[0].res.as_deref(), Some("success"));
    assert_eq!(events[1].kind, AuditKind::AccountChange);
    assert_eq!(events[1].op.as_deref(), Some("add-user"));
    assert_eq!(events[1].acct.as_deref(), Some("bob"));
    assert_eq!(stats.events_other, 1);
    assert_eq!(stats.unparsed_lines, 1);
}

#[test]
fn hostile_lines_never_panic_and_memory_stays_bounded() {
    // Many open events without EOE: the window finishes the oldest.
    let mut a = Assembler::new();
    let mut n = 0u64;
    for i in 0..(MAX_OPEN as u64 + 10) {
        let l = format!("type=EXECVE msg=audit(1.0:{i}): argc=1 a0=\"x\"");
        a.push_line(i + 1, l.as_bytes(), &mut |_| n += 1);
    }
    assert_eq!(a.stats.events_evicted, 10);
    a.finish(&mut |_| n += 1);
    assert_eq!(n, MAX_OPEN as u64 + 10);
    // A huge argument is cut at the cap.
    let big = "41".repeat(MAX_ARGV_BYTES);
    let l = format!("type=EXECVE msg=audit(2.0:1): argc=2 a0={big} a1={big}\r");
    let (events, _) = assemble(l.as_bytes());
    assert!(events[0].argv_truncated);
    assert!(events[0].argv.iter().map(String::len).sum::<usize>() <= MAX_ARGV_BYTES);
    // NUL bytes, invalid UTF-8, truncated headers.
    for junk in [
        &b"type=EXECVE msg=audit(3.0:1): a0=\"\xff\xfe\" a1=FF00"[..],
        b"\0\0\0type=SYSCALL msg=audit(",
        b"type=SYSCALL msg=audit(1.5:x): ",
        b"type= msg=audit(1:1): a0",
        b"type=EXECVE msg=audit(1:1): a99999999999=\"x\" a[=1 a=2 =3",
    ] {
        let (ev, _) = assemble(junk);
        for e in ev {
            let _ = serde_json::to_string(&e).unwrap();
        }
    }
}
