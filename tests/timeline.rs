//! `timeline.jsonl` in the archive and `irsnap export`: on the live host (our own children),
//! and on an offline Windows root built from real logs and tasks (times from
//! `shared/fixtures/SOURCES.md`), with the exports read back by Python's `csv` and `json`.

use crate::harness::{Archive, collect, fixture, irsnap};
use crate::powershell_logs::{logs_root, run_profile, sha_hex};
use serde_json::Value;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command};

fn timeline(a: &mut Archive) -> Vec<Value> {
    String::from_utf8(a.member("timeline.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

/// Every line has the three fields Timesketch needs, a UTC RFC 3339 time, a pointer to its
/// record; lines are sorted.
fn check_shape(lines: &[Value]) {
    for l in lines {
        for k in [
            "message",
            "datetime",
            "timestamp_desc",
            "collector",
            "record_member",
        ] {
            assert!(
                l[k].as_str().is_some_and(|s| !s.is_empty()),
                "{k} missing: {l}"
            );
        }
        let dt = l["datetime"].as_str().unwrap();
        let parsed =
            chrono::DateTime::parse_from_rfc3339(dt).unwrap_or_else(|e| panic!("{dt}: {e}"));
        assert!(dt.ends_with('Z'), "{dt}");
        assert_eq!(parsed.timestamp_micros(), l["timestamp"].as_i64().unwrap());
        assert!(l["record_line"].as_u64().unwrap() >= 1);
    }
    for w in lines.windows(2) {
        assert!(
            w[0]["timestamp"].as_i64() <= w[1]["timestamp"].as_i64(),
            "not sorted: {} then {}",
            w[0]["datetime"],
            w[1]["datetime"]
        );
    }
}

/// The record a timeline line points at.
fn record_of(a: &mut Archive, line: &Value) -> Value {
    let data = a.member(line["record_member"].as_str().unwrap());
    let n = line["record_line"].as_u64().unwrap() as usize;
    let text = String::from_utf8(data).unwrap();
    serde_json::from_str(text.lines().nth(n - 1).unwrap()).unwrap()
}

fn python(script: &str, args: &[&str]) -> String {
    let out = Command::new("python3")
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .expect("python3");
    assert!(
        out.status.success(),
        "python failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn export(archive: &Path, out: &Path, args: &[&str]) {
    let mut all = vec![
        "export",
        archive.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ];
    all.extend_from_slice(args);
    let run = irsnap(&all);
    assert_eq!(run.code, 0, "{}", run.stderr);
}

/// Spreadsheet formulas as argv[0] of our own children: what an attacker controls.
const FORMULAS: [&str; 3] = ["=cmd|' /C calc'!A0", "@SUM(1+1)", "-2+3"];

struct Children(Vec<Child>);

impl Drop for Children {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

#[test]
fn live_timeline_and_exports() {
    let children = Children(
        FORMULAS
            .iter()
            .map(|f| Command::new("sleep").arg0(f).arg("120").spawn().unwrap())
            .collect(),
    );
    let pids: Vec<u32> = children.0.iter().map(|c| c.id()).collect();
    let out = tempfile::tempdir().unwrap();
    let profile = out.path().join("p.toml");
    std::fs::write(
        &profile,
        "name = \"t\"\ndescription = \"t\"\n[collectors.processes]\nhash_images = false\n",
    )
    .unwrap();
    let (run, archive) = collect(
        &out.path().join("a"),
        &["--profile", profile.to_str().unwrap()],
    );
    let mut a = archive.unwrap_or_else(|| panic!("no archive: {}", run.stderr));

    // Listed and hashed in the manifest like every member.
    let data = a.member("timeline.jsonl");
    let m = a.manifest();
    let entry = m["members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["path"] == "timeline.jsonl")
        .expect("timeline.jsonl in the manifest");
    assert_eq!(entry["sha256"], sha_hex(&data));
    assert_eq!(entry["size"], data.len());
    assert_eq!(irsnap(&["verify", a.path.to_str().unwrap()]).code, 0);

    let lines = timeline(&mut a);
    check_shape(&lines);
    for (pid, formula) in pids.iter().zip(FORMULAS) {
        let l = lines
            .iter()
            .find(|l| l["pid"] == *pid)
            .unwrap_or_else(|| panic!("no timeline line for our child {pid}"));
        assert_eq!(l["timestamp_desc"], "Process Start");
        assert_eq!(l["collector"], "processes");
        assert_eq!(l["record_member"], "records/processes.jsonl");
        assert_eq!(l["command_line"], format!("{formula} 120"));
        let rec = record_of(&mut a, l);
        assert_eq!(rec["pid"], *pid);
        assert_eq!(
            &rec["start_time"].as_str().unwrap()[..19],
            &l["datetime"].as_str().unwrap()[..19]
        );
    }

    // CSV of the timeline: formulas defused, and Python's csv reads back every row.
    let csv = out.path().join("t.csv");
    export(&a.path, &csv, &["--format", "csv"]);
    let script = r#"
import csv, json, sys
rows = list(csv.reader(open(sys.argv[1], newline='', encoding='utf-8')))
head = rows[0]
pids = set(sys.argv[2].split(','))
cmds = [r[head.index('command_line')] for r in rows[1:] if r[head.index('pid')] in pids]
print(json.dumps({'rows': len(rows), 'head': head[:4], 'cmds': sorted(cmds)}))
"#;
    let pid_list: Vec<String> = pids.iter().map(u32::to_string).collect();
    let got: Value = serde_json::from_str(&python(
        script,
        &[csv.to_str().unwrap(), &pid_list.join(",")],
    ))
    .unwrap();
    assert_eq!(got["rows"], lines.len() + 1, "header + one row per line");
    assert_eq!(
        got["head"],
        serde_json::json!(["message", "host", "datetime", "timestamp"])
    );
    let mut want: Vec<String> = FORMULAS.iter().map(|f| format!("'{f} 120")).collect();
    want.sort();
    assert_eq!(got["cmds"], serde_json::json!(want));
    let raw = std::fs::read_to_string(&csv).unwrap();
    assert!(raw.contains(",'=cmd|' /C calc'!A0 120,"));
    assert!(!raw.contains(",=cmd"), "no cell may start with a formula");

    // CSV of one collector's records: every record a row, formulas defused there too.
    let pcsv = out.path().join("p.csv");
    export(
        &a.path,
        &pcsv,
        &["--format", "csv", "--collector", "processes"],
    );
    let records = a.records("processes");
    let got: Value = serde_json::from_str(&python(
        r#"
import csv, json, sys
rows = list(csv.reader(open(sys.argv[1], newline='', encoding='utf-8')))
i = rows[0].index('command_line')
print(json.dumps({'rows': len(rows), 'bad': [r[i] for r in rows[1:] if r[i] and r[i][0] in '=+-@\t\r']}))
"#,
        &[pcsv.to_str().unwrap()],
    ))
    .unwrap();
    assert_eq!(got["rows"], records.len() + 1);
    assert_eq!(got["bad"], serde_json::json!([]));

    // JSON lines of all records, each with its collector.
    let jl = out.path().join("r.jsonl");
    export(&a.path, &jl, &["--format", "jsonl"]);
    let total: usize = m["collectors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["records"].as_u64().unwrap() as usize)
        .sum();
    let got: Value = serde_json::from_str(&python(
        r#"
import json, sys, collections
c = collections.Counter(json.loads(l)['collector'] for l in open(sys.argv[1], encoding='utf-8'))
print(json.dumps(c))
"#,
        &[jl.to_str().unwrap()],
    ))
    .unwrap();
    assert_eq!(got["processes"], records.len());
    assert_eq!(
        got.as_object()
            .unwrap()
            .values()
            .map(|v| v.as_u64().unwrap() as usize)
            .sum::<usize>(),
        total
    );

    // Timesketch export is the member itself, each line with its host added.
    let ts = out.path().join("t.jsonl");
    export(&a.path, &ts, &["--format", "timesketch"]);
    let exported = std::fs::read_to_string(&ts).unwrap();
    let stored = String::from_utf8(data.clone()).unwrap();
    assert_eq!(exported.lines().count(), stored.lines().count());
    for (e, s) in exported.lines().zip(stored.lines()) {
        let mut e: serde_json::Map<String, Value> = serde_json::from_str(e).unwrap();
        assert!(e.remove("host").is_some_and(|h| h.is_string()));
        let s: serde_json::Map<String, Value> = serde_json::from_str(s).unwrap();
        assert!(e == s, "export differs from the stored line beyond `host`");
    }

    duckdb_loads(&ts, lines.len());
    drop(children);
}

/// DuckDB reads the timeline with `read_json_auto`, when its Python module is installed.
fn duckdb_loads(timeline: &Path, n: usize) {
    let has = Command::new("python3")
        .args(["-c", "import duckdb"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !has {
        eprintln!(
            "SKIPPED: DuckDB check of timeline.jsonl: python3 module `duckdb` is not installed"
        );
        return;
    }
    let got = python(
        r#"
import duckdb, sys
rows = duckdb.sql(f"""select count(*), any_value(typeof(datetime))
    from read_json_auto('{sys.argv[1]}') where timestamp_desc is not null""").fetchall()
print(rows[0][0], rows[0][1])
"#,
        &[timeline.to_str().unwrap()],
    );
    // `datetime` is read as a timestamp, not as text.
    assert_eq!(got.trim(), format!("{n} TIMESTAMP WITH TIME ZONE"));
}

const SERVER2022_ARCHIVED: &str =
    "Archive-Microsoft-Windows-PowerShell%4Operational-2023-10-18-03-10-00-000.evtx";

#[test]
fn offline_windows_timeline() {
    let root = logs_root(&[
        (
            "Microsoft-Windows-PowerShell%4Operational.evtx",
            "evtx/powershell/evtx-attack-samples/exec_emotet_ps_4104.evtx",
        ),
        (
            "Windows PowerShell.evtx",
            "evtx/powershell/evtx-attack-samples/exec_emotet_ps_800_new-object.evtx",
        ),
        (
            SERVER2022_ARCHIVED,
            "evtx/powershell/museum-server2022-aptsimulator/Microsoft-Windows-PowerShell%4Operational.evtx",
        ),
        (
            "Microsoft-Windows-Sysmon%4Operational.evtx",
            "evtx/sysmon/evtx-attack-samples/exec_emotet_sysmon_1.evtx",
        ),
        (
            "Security.evtx",
            "evtx/security/mdecrevoisier/ID4698-4699-Fast created & deleted task by ATexec (susp. arg.).evtx",
        ),
    ]);
    root.copy(
        "Windows/System32/Tasks/GameOver",
        &fixture("tasks/dfir-artifact-museum/Win10/APTSimulatorVM/GameOver"),
    );
    let (_run, mut a, _dir) = run_profile(
        &root,
        &format!(
            "[collectors.execution_events]\n[collectors.scheduled_tasks]\n\
             [collectors.powershell_logs]\nlogs = [\"Microsoft-Windows-PowerShell%4Operational.evtx\", \
             \"Windows PowerShell.evtx\", \"{SERVER2022_ARCHIVED}\"]\n"
        ),
        &[],
    );
    let lines = timeline(&mut a);
    check_shape(&lines);
    let at = |prefix: &str, desc: &str| -> Vec<&Value> {
        lines
            .iter()
            .filter(|l| {
                l["datetime"].as_str().unwrap().starts_with(prefix) && l["timestamp_desc"] == desc
            })
            .collect()
    };

    // The Emotet chain on DESKTOP-RIPCLIP, one line per source, in time order: the 4104
    // launcher block (05:09:28.845), the 800 pipeline (05:09:29.115), Sysmon 1 (05:09:33.504).
    let sb = at("2020-08-26T05:09:28.845", "Script Block Logged");
    assert_eq!(sb.len(), 1, "{sb:?}");
    assert_eq!(sb[0]["computer"], "DESKTOP-RIPCLIP");
    assert_eq!(sb[0]["event_id"], 4104);
    let rec = record_of(&mut a, sb[0]);
    assert_eq!(rec["record_type"], "script_block");
    assert!(rec["text"].as_str().unwrap().contains("$Va5w3n8="));
    assert_eq!(rec["script_block_id"], sb[0]["script_block_id"]);
    assert_eq!(rec["text_sha256"], sb[0]["sha256"]);
    let p800 = at("2020-08-26T05:09:29.115", "Event Logged");
    assert_eq!(p800.len(), 1, "{p800:?}");
    assert_eq!(p800[0]["event_id"], 800);
    assert!(
        p800[0]["message"]
            .as_str()
            .unwrap()
            .contains("pipeline executed")
    );
    let s1 = at("2020-08-26T05:09:33.504", "Event Logged");
    assert_eq!(s1.len(), 1, "{s1:?}");
    assert_eq!(s1[0]["event_id"], 1);
    assert_eq!(s1[0]["record_kind"], "sysmon_process_create");
    assert!(s1[0].to_string().contains("Dyxxur4gx.exe"));
    let pos = |l: &Value| lines.iter().position(|x| x == l).unwrap();
    assert!(pos(sb[0]) < pos(p800[0]) && pos(p800[0]) < pos(s1[0]));

    // impacket atexec: 4698 created then 4699 deleted 23 ms later.
    let created = at("2021-06-10T21:21:26.383", "Event Logged");
    let deleted = at("2021-06-10T21:21:26.406", "Event Logged");
    assert_eq!(created.len(), 1);
    assert_eq!(deleted.len(), 1);
    assert_eq!(created[0]["event_id"], 4698);
    assert_eq!(created[0]["task_name"], "\\bouWFQYO");
    assert_eq!(deleted[0]["event_id"], 4699);
    assert_eq!(deleted[0]["task_name"], "\\bouWFQYO");

    // Server 2022: its five script blocks, each at its first part's time, inside the log's
    // time range; Invoke-Mimikatz reassembled from 125 parts.
    let blocks: Vec<&Value> = lines
        .iter()
        .filter(|l| {
            l["timestamp_desc"] == "Script Block Logged"
                && l["source_path"]
                    .as_str()
                    .unwrap()
                    .ends_with(SERVER2022_ARCHIVED)
        })
        .collect();
    assert_eq!(blocks.len(), 5);
    for b in &blocks {
        let dt = b["datetime"].as_str().unwrap();
        assert!(
            ("2023-10-18T02:51:46.905"..="2023-10-18T03:06:24.154").contains(&&dt[..23]),
            "{dt}"
        );
        assert_eq!(b["computer"], "WIN-FUDU2CKJOE8");
        let rec = record_of(&mut a, b);
        assert_eq!(&rec["first_time"].as_str().unwrap()[..23], &dt[..23]);
    }
    let mimikatz = blocks
        .iter()
        .find(|b| {
            b["sha256"]
                .as_str()
                .unwrap()
                .starts_with("ebf54f745dc81e19")
        })
        .expect("the Invoke-Mimikatz block");
    let msg = mimikatz["message"].as_str().unwrap();
    assert!(msg.contains("2204117 chars, 125 of 125 parts"), "{msg}");
    assert!(msg.contains("function Invoke-Mimikatz"), "{msg}");

    // The GameOver task: local times without offset, flagged as such, never passed off as UTC.
    let task: Vec<&Value> = lines
        .iter()
        .filter(|l| l["task_name"] == "\\GameOver")
        .collect();
    let reg = task
        .iter()
        .find(|l| l["timestamp_desc"] == "Task Registered (local time, offset unknown)")
        .expect("registration line");
    assert_eq!(reg["local_time"], "2022-03-10T15:59:03");
    assert_eq!(reg["datetime"], "2022-03-10T15:59:03.000000Z");
    assert!(
        reg["command_line"]
            .as_str()
            .unwrap()
            .starts_with("C:\\TMP\\mim.exe")
    );
    let trig = task
        .iter()
        .find(|l| l["timestamp_desc"] == "Trigger Start Boundary (local time, offset unknown)")
        .expect("trigger line");
    assert_eq!(trig["local_time"], "2022-03-10T15:59:00");
    assert!(
        task.iter()
            .all(|l| l["timestamp_desc"] == "File Modified" || l.get("local_time").is_some())
    );

    // Timesketch export, one collector: only its lines, unchanged.
    let out = tempfile::tempdir().unwrap();
    let ts = out.path().join("ps.jsonl");
    export(
        &a.path,
        &ts,
        &["--format", "timesketch", "--collector", "powershell_logs"],
    );
    let text = std::fs::read_to_string(&ts).unwrap();
    let n = lines
        .iter()
        .filter(|l| l["collector"] == "powershell_logs")
        .count();
    assert_eq!(text.lines().count(), n);
    assert!(
        text.lines()
            .all(|l| l.contains("\"collector\":\"powershell_logs\""))
    );

    // An archive without timeline.jsonl (written before irsnap had one): export builds the
    // same timeline from its records.
    let old = out.path().join("old.zip");
    python(
        r#"
import sys, zipfile
with zipfile.ZipFile(sys.argv[1]) as src, zipfile.ZipFile(sys.argv[2], 'w') as dst:
    for i in src.infolist():
        if i.filename != 'timeline.jsonl':
            dst.writestr(i, src.read(i))
"#,
        &[a.path.to_str().unwrap(), old.to_str().unwrap()],
    );
    let rebuilt = out.path().join("rebuilt.jsonl");
    export(&old, &rebuilt, &["--format", "timesketch"]);
    let original = out.path().join("original.jsonl");
    export(&a.path, &original, &["--format", "timesketch"]);
    let rebuilt = std::fs::read(&rebuilt).unwrap();
    assert!(
        rebuilt == std::fs::read(&original).unwrap(),
        "the timeline rebuilt from records equals the one written at collection"
    );
    // Both are the stored timeline with each line's host added.
    let stored = a.member("timeline.jsonl");
    assert_eq!(
        rebuilt.iter().filter(|&&b| b == b'\n').count(),
        stored.iter().filter(|&&b| b == b'\n').count()
    );
}
