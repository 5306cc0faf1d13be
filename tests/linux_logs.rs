//! `audit_logs`, `auth_logs`, `journal` and `preload` on an offline root laid out like the
//! museum's intrusion host (`shared/fixtures/linux-logs/gemini`, plus the real artemis
//! journal): the facts SOURCES.md lists become typed records, the attacker's commands become
//! findings mapped to techniques, and hostile inputs (rotated gzip, CRLF, NUL bytes, invalid
//! UTF-8, a damaged journal, a large generated audit log) are read within bounds.

use crate::harness::{Archive, RootBuilder, collect, fixture};
use serde_json::Value;
use std::io::Write;
use std::path::Path;
use std::time::{Duration, SystemTime};

const MACHINE: &str = "var/log/journal/0123456789abcdef0123456789abcdef";
const ARTEMIS: &str = "linux-logs/artemis/forensics/tests/test_data/linux/journal/\
     user-1000@e755452aab34485787b6d73f3035fb8c-000000000000068d-0005ff8ae923c73b.journal";

const PROFILE: &str = "name = \"linux\"\ndescription = \"test\"\n\
    [collectors.audit_logs]\n[collectors.auth_logs]\n[collectors.journal]\n\
    [collectors.preload]\n[collectors.shell_history]\n";

/// 2024-05-12T00:00:00Z: the day after the intrusion, as the logs' modification time (the
/// anchor of the year-less syslog times).
fn may_2024() -> SystemTime {
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_715_472_000)
}

fn set_mtime(p: &Path, t: SystemTime) {
    std::fs::File::options()
        .write(true)
        .open(p)
        .unwrap()
        .set_modified(t)
        .unwrap();
}

fn intrusion_host() -> RootBuilder {
    let r = RootBuilder::new();
    let g = |rel: &str| fixture(&format!("linux-logs/gemini/{rel}"));
    r.write(
        "etc/passwd",
        b"root:x:0:0:root:/root:/bin/bash\nwebapp:x:1001:1001::/home/webapp:/bin/bash\n",
    )
    .write("etc/hostname", b"srv-prod\n")
    .write("etc/ld.so.preload", b"/dev/shm/.x/libprocesshider.so\n")
    .write("dev/shm/.x/libprocesshider.so", b"\x7fELF fake")
    .copy("var/log/auth.log", &g("var/auth.log"))
    .copy("var/log/syslog", &g("var/log/syslog"))
    .copy("var/log/audit/audit.log", &g("var/log/audit/audit.log"))
    .copy(
        &format!("{MACHINE}/system.journal"),
        &g("var/log/Journal/32CharacterMachineIdGoesHere/system.journal"),
    )
    .copy(&format!("{MACHINE}/user-1000.journal"), &fixture(ARTEMIS))
    .copy("home/webapp/.bash_history", &g(".bash_history"));
    for f in ["var/log/auth.log", "var/log/syslog"] {
        set_mtime(&r.path().join(f), may_2024());
    }
    set_mtime(&r.path().join(MACHINE).join("system.journal"), may_2024());
    r
}

fn run(root: &Path) -> (tempfile::TempDir, Archive) {
    let out = tempfile::tempdir().unwrap();
    let profile = out.path().join("p.toml");
    std::fs::write(&profile, PROFILE).unwrap();
    let (run, archive) = collect(
        &out.path().join("o"),
        &[
            "--root",
            root.to_str().unwrap(),
            "--profile",
            profile.to_str().unwrap(),
        ],
    );
    assert!(matches!(run.code, 0 | 2), "{}", run.stderr);
    (out, archive.expect("an archive"))
}

fn events<'a>(recs: &'a [Value], kind: &str) -> Vec<&'a Value> {
    recs.iter()
        .filter(|r| r["record_type"] == "event" && (r["kind"] == kind || r["fact"]["kind"] == kind))
        .collect()
}

#[test]
fn intrusion_host_logs_become_typed_records_and_findings() {
    let root = intrusion_host();
    let (_out, mut a) = run(root.path());

    // auditd: EXECVE a0 values sh, tar, curl, rm; two argc mismatches; names from passwd.
    let audit = a.records("audit_logs");
    let execs = events(&audit, "execve");
    let a0: Vec<&str> = execs
        .iter()
        .map(|e| e["argv"][0].as_str().unwrap())
        .collect();
    assert_eq!(a0, ["sh", "tar", "curl", "rm"]);
    assert_eq!(
        execs.iter().filter(|e| e["argc_mismatch"] == true).count(),
        2
    );
    assert_eq!(execs[0]["login_user"], "webapp");
    assert_eq!(execs[0]["user"], "root");
    assert_eq!(execs[0]["key"], "susp_exec");
    assert_eq!(execs[0]["timestamp"], "2024-05-11T11:15:12.441Z");
    assert!(execs[0]["source_sha256"].is_string());
    assert_eq!(
        events(&audit, "syscall")[0]["paths"][0]["name"],
        "/etc/shadow"
    );

    // auth.log: 2 accepted and 3 failed sshd logins from 192.168.1.45; sudo COMMAND= values.
    let auth = a.records("auth_logs");
    let ssh = events(&auth, "ssh_login");
    let outcome = |o: &str| ssh.iter().filter(|s| s["fact"]["outcome"] == o).count();
    assert_eq!((outcome("accepted"), outcome("failed")), (2, 3));
    assert!(
        ssh.iter()
            .all(|s| s["fact"]["source_address"] == "192.168.1.45")
    );
    let sudo: Vec<&str> = events(&auth, "sudo")
        .iter()
        .filter_map(|s| s["fact"]["command"].as_str())
        .collect();
    assert_eq!(sudo, ["/usr/bin/apt-get update", "/bin/bash"]);
    let first = ssh[0];
    assert_eq!(first["year_inferred"], true);
    assert_eq!(first["timestamp_is_local"], true);
    assert_eq!(first["timestamp"], "2024-05-11T09:12:01Z");
    assert_eq!(first["host"], "srv-prod");
    let cron: Vec<&str> = events(&auth, "cron")
        .iter()
        .map(|c| c["fact"]["command"].as_str().unwrap())
        .collect();
    assert_eq!(
        cron,
        [
            "/tmp/.cache_proc",
            "/tmp/.cache_proc",
            "/usr/local/bin/fix_logs.sh"
        ]
    );

    // journal: the real file's 410 entries (journalctl's count and time span), and the
    // museum's text "journal" read as syslog text.
    let journal = a.records("journal");
    let files: Vec<&Value> = journal
        .iter()
        .filter(|r| r["record_type"] == "journal_file")
        .collect();
    let real = files
        .iter()
        .find(|f| {
            f["source_path"]
                .as_str()
                .unwrap()
                .ends_with("user-1000.journal")
        })
        .unwrap();
    assert_eq!(real["items_read"], 410);
    assert_eq!(real["journal_entries_in_header"], 410);
    assert_eq!(real["first_time"], "2023-07-03T01:16:05.559099Z");
    assert_eq!(real["last_time"], "2023-07-03T01:21:55.846390Z");
    assert_eq!(real["journal_compression"][0], "zstd");
    let text = files
        .iter()
        .find(|f| {
            f["source_path"]
                .as_str()
                .unwrap()
                .ends_with("system.journal")
        })
        .unwrap();
    assert_eq!(text["records"], 10, "{text}");
    let entries: Vec<&Value> = journal
        .iter()
        .filter(|r| r["record_type"] == "entry")
        .collect();
    let systemd = entries
        .iter()
        .filter(|e| {
            e["syslog_identifier"] == "systemd"
                && e["source_path"]
                    .as_str()
                    .unwrap()
                    .ends_with("user-1000.journal")
        })
        .count();
    assert_eq!(systemd, 186);
    assert!(
        entries.iter().any(
            |e| e["fact"]["kind"] == "service" && e["fact"]["unit"] == "network-helper.service"
        )
    );

    // preload: the ld.so.preload entry, its library copied.
    let pre = a.records("preload");
    assert_eq!(pre.len(), 1);
    assert_eq!(pre[0]["path"], "/dev/shm/.x/libprocesshider.so");
    assert_eq!(pre[0]["exists"], true);

    // Findings: the attacker's commands mapped to techniques.
    let findings: Vec<Value> = String::from_utf8(a.member("findings.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let has = |rule: &str, technique: &str| {
        findings.iter().any(|f| {
            f["rule_id"] == rule
                && f["techniques"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|t| t == technique)
        })
    };
    for (rule, technique) in [
        ("corr-brute-force-then-success", "T1110"),
        ("sudo-root-shell", "T1548.003"),
        ("scheduled-job-from-temp", "T1053.003"),
        ("unix-crypto-miner", "T1496"),
        ("unix-shadow-access", "T1003.008"),
        ("unix-upload-to-web", "T1567"),
        ("ssh-root-login", "T1078.003"),
        ("preload-ld-so-preload", "T1574.006"),
    ] {
        assert!(has(rule, technique), "{rule} / {technique}: {findings:#?}");
    }
    let brute: Vec<&Value> = findings
        .iter()
        .filter(|f| f["rule_id"] == "corr-brute-force-then-success")
        .collect();
    assert_eq!(brute.len(), 1);
    assert_eq!(brute[0]["evidence"].as_array().unwrap().len(), 4);

    // Timeline: the year-less lines as local time, the audit events as UTC.
    let timeline = String::from_utf8(a.member("timeline.jsonl")).unwrap();
    assert!(timeline.contains("\"collector\":\"auth_logs\""));
    assert!(timeline.contains("(local time, offset unknown)"));
    assert!(timeline.contains("\"collector\":\"audit_logs\""));
    assert!(timeline.contains("\"collector\":\"journal\""));
    assert!(timeline.contains("\"collector\":\"preload\""));
    for id in ["audit_logs", "auth_logs", "journal", "preload"] {
        assert_eq!(a.collector(id)["status"], "ok", "{id}");
    }
}

/// Rotated and gzip-compressed logs, CRLF, NUL bytes, invalid UTF-8, a journal with a
/// damaged entry array, a truncated journal, and a generated audit log of 60,000 executions.
#[test]
fn hostile_and_rotated_logs_are_read_within_bounds() {
    let r = RootBuilder::new();
    r.write("etc/passwd", b"root:x:0:0::/root:/bin/sh\n");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(
        b"May 10 08:00:00 h useradd[9]: new user: name=backdoor, UID=1002, GID=1002, home=/home/backdoor, shell=/bin/bash, from=/dev/pts/0\n",
    )
    .unwrap();
    r.write("var/log/auth.log.2.gz", &gz.finish().unwrap());
    r.write(
        "var/log/auth.log.1",
        b"May 10 08:01:00 h usermod[9]: add 'backdoor' to group 'sudo'\r\n\0\0\xff\xfe garbage\r\n",
    );
    r.write(
        "var/log/auth.log",
        b"May 10 08:02:00 h sudo: backdoor : TTY=pts/0 ; PWD=/ ; USER=root ; COMMAND=/bin/sh -c \xff\r\n",
    );
    for f in [
        "var/log/auth.log.2.gz",
        "var/log/auth.log.1",
        "var/log/auth.log",
    ] {
        set_mtime(&r.path().join(f), may_2024());
    }
    // Journals: the real one with its first entry array damaged, and one cut short.
    let real = std::fs::read(fixture(ARTEMIS)).unwrap();
    let mut damaged = real.clone();
    let arr = u64::from_le_bytes(damaged[176..184].try_into().unwrap()) as usize;
    damaged[arr] = 0x55;
    r.write(&format!("{MACHINE}/damaged.journal~"), &damaged);
    r.write(
        &format!("{MACHINE}/cut.journal"),
        &real[..real.len() * 99 / 100],
    );
    // 60,000 executions (about 12 MB), interleaved with noise.
    let mut big = Vec::new();
    for i in 0..60_000u64 {
        writeln!(
            big,
            "type=SYSCALL msg=audit(1700000000.{:03}:{i}): arch=c000003e syscall=59 success=yes exit=0 ppid=1 pid={} auid=0 uid=0 comm=\"x\" exe=\"/usr/bin/x\"\n\
             type=EXECVE msg=audit(1700000000.{:03}:{i}): argc=2 a0=\"x\" a1=\"--{:08X}\"\n\
             type=CRED_ACQ msg=audit(1700000000.{:03}:{}): pid=1 msg='op=x'\n\
             type=EOE msg=audit(1700000000.{:03}:{i}): ",
            i % 1000,
            i + 100,
            i % 1000,
            i,
            i % 1000,
            i + 1_000_000,
            i % 1000
        )
        .unwrap();
    }
    r.write("var/log/audit/audit.log", &big);
    let (_out, mut a) = run(r.path());

    let auth = a.records("auth_logs");
    let order: Vec<&str> = auth
        .iter()
        .filter(|x| x["record_type"] == "event")
        .map(|x| x["fact"]["kind"].as_str().unwrap())
        .collect();
    assert_eq!(order, ["account", "account", "sudo"]);
    let files: Vec<&Value> = auth
        .iter()
        .filter(|x| x["record_type"] == "log_file")
        .collect();
    assert_eq!(files[0]["gzip"], true);
    assert_eq!(files[1]["lossy_lines"], 1);
    let findings = String::from_utf8(a.member("findings.jsonl")).unwrap();
    assert!(findings.contains("corr-new-user-then-sudo"), "{findings}");
    assert!(findings.contains("account-added-to-admin-group"));

    let journal = a.records("journal");
    let jf: Vec<&Value> = journal
        .iter()
        .filter(|x| x["record_type"] == "journal_file")
        .collect();
    let damaged = jf
        .iter()
        .find(|f| {
            f["source_path"]
                .as_str()
                .unwrap()
                .ends_with("damaged.journal~")
        })
        .unwrap();
    assert_eq!(damaged["items_read"], 410);
    assert_eq!(damaged["entries_recovered_by_scan"], 410);
    let cut = jf
        .iter()
        .find(|f| f["source_path"].as_str().unwrap().ends_with("cut.journal"))
        .unwrap();
    assert_eq!(cut["truncated"], true);
    assert!(cut["items_read"].as_u64().unwrap() > 300);

    let audit = a.records("audit_logs");
    let execs = events(&audit, "execve");
    assert_eq!(execs.len(), 60_000);
    assert_eq!(execs[59_999]["argv"][1], "--0000EA5F");
    let summary = audit
        .iter()
        .find(|x| x["record_type"] == "log_file")
        .unwrap();
    assert_eq!(summary["records"], 60_000);
    assert_eq!(summary["other"], 60_000);
}
