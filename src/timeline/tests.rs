use super::*;
use crate::ids::CollectorId;

fn add_records(t: &mut Timeline, c: CollectorId, data: &[u8]) {
    crate::registry::timeline_from_jsonl(t, c, 1, data);
    t.end_collector();
}
use serde_json::{Value, json};

fn lines(v: &[Value]) -> Vec<u8> {
    let mut out = Vec::new();
    for x in v {
        out.extend_from_slice(x.to_string().as_bytes());
        out.push(b'\n');
    }
    out
}

fn build(parts: &[(CollectorId, Vec<Value>)]) -> (Vec<Value>, TimelineStats) {
    let mut t = Timeline::new();
    for (c, recs) in parts {
        add_records(&mut t, *c, &lines(recs));
    }
    let stats = t.stats().clone();
    let out = t.into_jsonl();
    let v = String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    (v, stats)
}

fn process(pid: u32, start: &str, cmd: &str) -> Value {
    json!({"pid": pid, "ppid": 1, "name": "sleep", "image_path": "/usr/bin/sleep",
        "image_kind": "file", "argv": [cmd], "command_line": cmd, "user": "root",
        "start_time": start, "kernel_thread": false, "image_hash_status": "hashed",
        "image_sha256": "ab".repeat(32), "ancestry": [{"pid": 1, "name": "init",
        "image_path": "/sbin/init"}]})
}

#[test]
fn processes_become_sorted_process_starts_pointing_at_their_line() {
    let (v, stats) = build(&[(
        CollectorId::Processes,
        vec![
            process(20, "2024-05-01T10:00:02Z", "sleep 20"),
            json!({"pid": 2, "name": "kthreadd", "image_kind": "none", "argv": [],
                "command_line": "", "kernel_thread": true,
                "image_hash_status": "not_applicable", "ancestry": []}),
            process(10, "2024-05-01T10:00:01.5Z", "sleep\n10"),
        ],
    )]);
    assert_eq!(stats.records, 3);
    assert_eq!(
        stats.entries, 2,
        "the process without a start time has no line"
    );
    assert_eq!(v[0]["pid"], 10);
    assert_eq!(v[0]["datetime"], "2024-05-01T10:00:01.500000Z");
    assert_eq!(v[0]["timestamp"], 1_714_557_601_500_000i64);
    assert_eq!(v[0]["timestamp_desc"], "Process Start");
    assert_eq!(v[0]["record_line"], 3);
    assert_eq!(v[0]["record_member"], "records/processes.jsonl");
    assert_eq!(v[0]["collector"], "processes");
    assert_eq!(v[0]["message"], "Process started: sleep (pid 10): sleep 10");
    assert_eq!(v[0]["parent_image"], "/sbin/init");
    assert_eq!(v[0]["sha256"], "ab".repeat(32));
    assert_eq!(v[1]["pid"], 20);
    assert_eq!(v[1]["record_line"], 1);
}

#[test]
fn windows_task_local_times_are_flagged_and_utc_ones_are_not() {
    let task = json!({"kind": "windows_task", "name": "\\GameOver",
        "source_path": "C:\\Windows\\System32\\Tasks\\GameOver", "run_as": "PC\\TestUser",
        "schedule": "x", "parse_status": "ok",
        "registration_date": "2022-03-10T15:59:03",
        "file_mtime": "2022-03-10T23:00:00Z",
        "triggers": [{"type": "time", "start": "2022-03-10T15:59:00"},
                     {"type": "calendar", "start": "2016-01-01T00:00:00Z",
                      "start_utc": "2016-01-01T00:00:00Z"},
                     {"type": "boot"}],
        "actions": [{"kind": "exec", "command": "C:\\TMP\\mim.exe",
                     "command_line": "C:\\TMP\\mim.exe sekurlsa::LogonPasswords"}]});
    let (v, _) = build(&[(CollectorId::ScheduledTasks, vec![task])]);
    assert_eq!(v.len(), 4, "{v:#?}");
    let reg = v
        .iter()
        .find(|e| {
            e["timestamp_desc"]
                .as_str()
                .unwrap()
                .starts_with("Task Registered")
        })
        .unwrap();
    assert_eq!(
        reg["timestamp_desc"],
        "Task Registered (local time, offset unknown)"
    );
    assert_eq!(reg["local_time"], "2022-03-10T15:59:03");
    assert_eq!(reg["datetime"], "2022-03-10T15:59:03.000000Z");
    assert_eq!(reg["task_name"], "\\GameOver");
    assert_eq!(
        reg["command_line"],
        "C:\\TMP\\mim.exe sekurlsa::LogonPasswords"
    );
    let utc = &v[0];
    assert_eq!(utc["timestamp_desc"], "Trigger Start Boundary");
    assert!(utc.get("local_time").is_none());
    assert!(
        v.iter()
            .any(|e| e["timestamp_desc"] == "Trigger Start Boundary (local time, offset unknown)")
    );
    assert!(v.iter().any(|e| e["timestamp_desc"] == "File Modified"));
}

#[test]
fn crontab_file_time_appears_once_per_file() {
    let line = |n: usize| {
        json!({"kind": "cron", "name": format!("/etc/crontab:{n}"), "source_path": "/etc/crontab",
            "file_mtime": "2024-01-01T00:00:00Z", "schedule": "hourly", "parse_status": "ok",
            "line_number": n})
    };
    let (v, _) = build(&[(CollectorId::ScheduledTasks, vec![line(3), line(4)])]);
    assert_eq!(v.len(), 1);
    assert!(v[0].get("task_name").is_none());
}

#[test]
fn psreadline_gives_one_line_per_file_pointing_at_the_last_command() {
    let cmd = |n: u64, c: &str| {
        json!({"record_type": "psreadline", "user": "alice", "host": "ConsoleHost",
            "ordinal": n, "line_number": n, "command": c,
            "file_modified": "2021-02-14T02:00:00Z", "source_path": "C:\\h.txt"})
    };
    let (v, _) = build(&[(
        CollectorId::PowershellLogs,
        vec![cmd(1, "whoami"), cmd(2, "Get-Process")],
    )]);
    assert_eq!(v.len(), 1);
    assert_eq!(v[0]["record_line"], 2);
    assert_eq!(v[0]["command_line"], "Get-Process");
    assert_eq!(v[0]["timestamp_desc"], "File Modified");
}

#[test]
fn security_4698_names_the_task_and_its_command() {
    let ev = json!({"record_type": "event", "kind": "security_task", "action": "created",
        "header": {"record_id": 2, "time": "2021-04-21T13:30:03.029Z", "event_id": 4698,
            "channel": "Security", "provider": "Microsoft-Windows-Security-Auditing",
            "computer": "srv"},
        "subject_user_name": "admin", "subject_domain_name": "OFFSEC",
        "task_name": "\\eviltask",
        "task_content": "<?xml version=\"1.0\" encoding=\"UTF-16\"?><Task xmlns=\"http://schemas.microsoft.com/windows/2004/02/mit/task\"><Actions><Exec><Command>C:\\tools\\shell.cmd</Command></Exec></Actions></Task>",
        "source_path": "C:\\Security.evtx"});
    let (v, stats) = build(&[(CollectorId::ExecutionEvents, vec![ev])]);
    assert_eq!(stats.unreadable, 0, "{stats:?}");
    assert_eq!(v[0]["event_id"], 4698);
    assert_eq!(v[0]["timestamp_desc"], "Event Logged");
    assert_eq!(v[0]["user"], "OFFSEC\\admin");
    assert_eq!(v[0]["command_line"], "C:\\tools\\shell.cmd");
    assert_eq!(
        v[0]["message"],
        "Scheduled task created (4698): \\eviltask by OFFSEC\\admin"
    );
}

#[test]
fn temp_file_gives_one_line_per_time_and_unreadable_lines_are_counted() {
    let f = json!({"path": "/tmp/x.sh", "location": "/tmp", "depth": 1,
        "file_type": "regular", "detected_type": "shell", "selected_by": ["content"],
        "size": 10, "mtime": "2024-01-02T00:00:00Z", "ctime": "2024-01-03T00:00:00Z",
        "atime": "1601-01-01T00:00:00Z", "recent_by": ["mtime"], "bytes_hashed": 10,
        "copied": true, "copied_bytes": 10, "truncated": false});
    let mut t = Timeline::new();
    let mut data = lines(&[f]);
    data.extend_from_slice(b"{not json\n\n");
    add_records(&mut t, CollectorId::TempScripts, &data);
    assert_eq!(t.stats().unreadable, 1);
    assert!(t.stats().first_error.as_deref().unwrap().contains("line 2"));
    let text = String::from_utf8(t.into_jsonl()).unwrap();
    let v: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    // The zero FILETIME access time is "never", not a moment.
    let descs: Vec<_> = v.iter().map(|e| e["timestamp_desc"].clone()).collect();
    assert_eq!(descs, [json!("File Modified"), json!("Inode Changed")]);
    assert_eq!(v[0]["file_type"], "shell");
}

#[test]
fn equal_file_times_make_one_line_naming_each() {
    let f = json!({"path": "/tmp/x.sh", "location": "/tmp", "depth": 1,
        "file_type": "regular", "detected_type": "shell", "selected_by": ["content"],
        "size": 10, "btime": "2024-01-01T00:00:00Z", "mtime": "2024-01-02T00:00:00Z",
        "ctime": "2024-01-02T00:00:00Z", "recent_by": ["mtime"], "bytes_hashed": 10,
        "copied": true, "copied_bytes": 10, "truncated": false});
    let mut t = Timeline::new();
    add_records(&mut t, CollectorId::TempScripts, &lines(&[f]));
    let text = String::from_utf8(t.into_jsonl()).unwrap();
    let v: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let descs: Vec<_> = v.iter().map(|e| e["timestamp_desc"].clone()).collect();
    assert_eq!(
        descs,
        [json!("File Created"), json!("File Modified; Inode Changed")]
    );
    assert!(
        v[1]["message"]
            .as_str()
            .unwrap()
            .starts_with("Staged file modified, inode changed: /tmp/x.sh")
    );
}

#[test]
fn excerpt_is_one_short_line() {
    assert_eq!(facts::excerpt("a\n\tb  c", 10), "a b c");
    assert_eq!(facts::excerpt("abcdef", 3), "abc…");
    assert_eq!(facts::excerpt("a\u{1b}[31m", 10), "a\u{fffd}[31m");
}

#[test]
fn columns_name_every_field() {
    let s = Some(String::new());
    let e = TimelineEntry {
        local_time: s.clone(),
        record_kind: s.clone(),
        computer: s.clone(),
        event_id: Some(1),
        event_record_id: Some(1),
        channel: s.clone(),
        pid: Some(1),
        ppid: Some(1),
        process_name: s.clone(),
        image: s.clone(),
        command_line: s.clone(),
        parent_image: s.clone(),
        parent_command_line: s.clone(),
        process_guid: s.clone(),
        user: s.clone(),
        user_sid: s.clone(),
        path: s.clone(),
        sha256: s.clone(),
        size: Some(1),
        file_type: s.clone(),
        task_name: s.clone(),
        service_name: s.clone(),
        script_block_id: s.clone(),
        shell: s.clone(),
        remote_address: s.clone(),
        remote_port: Some(1),
        source_path: s,
        ..TimelineEntry::default()
    };
    let v = serde_json::to_value(&e).unwrap();
    let mut keys: Vec<&str> = v.as_object().unwrap().keys().map(|k| k.as_str()).collect();
    let mut want = COLUMNS.to_vec();
    keys.sort_unstable();
    want.sort_unstable();
    assert_eq!(keys, want);
}
