//! `export`: every format names the host on every row, and the ECS formats are documents
//! that Elasticsearch's `_bulk` API and Splunk's HTTP Event Collector take as they are.

use crate::harness::irsnap;
use crate::powershell_logs::{logs_root, run_only};
use serde_json::{Map, Value};

const SYSMON: &str = "Microsoft-Windows-Sysmon%4Operational.evtx";
const WIN10_SYSMON: &str =
    "evtx/sysmon/museum-win10-aptsimulator/Microsoft-Windows-Sysmon%4Operational.evtx";

fn json_lines(text: &str) -> Vec<Map<String, Value>> {
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

#[test]
fn every_format_names_the_host_and_ecs_documents_are_well_formed() {
    let root = logs_root(&[(SYSMON, WIN10_SYSMON)]);
    let (run, archive, _t) = run_only(&root, "execution_events", "", &[]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    let a = archive.path.to_str().unwrap().to_string();
    let export = |format: &str, extra: &[&str]| {
        let mut args = vec!["export", "--format", format, &a];
        args.extend_from_slice(extra);
        let r = irsnap(&args);
        assert_eq!(r.code, 0, "{format}: {}", r.stderr);
        r.stdout
    };

    // Records and the Timesketch timeline: `host` on every line, from the event's Computer.
    for (format, extra) in [("jsonl", &[][..]), ("timesketch", &[][..])] {
        let rows = json_lines(&export(format, extra));
        assert!(rows.len() > 600, "{format}: {} rows", rows.len());
        for r in &rows {
            let host = r["host"]
                .as_str()
                .unwrap_or_else(|| panic!("{format}: {r:?}"));
            assert!(!host.is_empty());
        }
    }
    // CSV: a host column, filled on every row.
    let csv = export("csv", &[]);
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    let h = header
        .iter()
        .position(|c| *c == "host")
        .expect("host column");
    assert_eq!(h, 1);
    let csv_rows = export("csv", &["--collector", "execution_events"]);
    assert!(csv_rows.lines().next().unwrap().starts_with("host,"));

    // ECS: every document has the fields Elastic's integrations key on.
    let docs = json_lines(&export("ecs", &[]));
    assert!(docs.len() > 600);
    let mut alerts = 0;
    for d in &docs {
        let t = d["@timestamp"].as_str().unwrap();
        assert!(chrono::DateTime::parse_from_rfc3339(t).is_ok(), "{t}");
        assert!(d["host"]["name"].is_string(), "{d:?}");
        assert!(d["event"]["kind"].is_string());
        let cats = d["event"]["category"].as_array().unwrap();
        for c in cats {
            // ECS's allowed values for event.category.
            assert!(
                [
                    "process",
                    "network",
                    "file",
                    "configuration",
                    "host",
                    "intrusion_detection"
                ]
                .contains(&c.as_str().unwrap()),
                "{c}"
            );
        }
        assert_eq!(d["ecs"]["version"], "8.11.0");
        if d["event"]["kind"] == "alert" {
            alerts += 1;
            assert!(d["rule"]["name"].is_string());
            assert!(d["threat"]["technique"]["id"].is_array(), "{d:?}");
            assert!(d["event"]["severity"].is_u64());
        }
    }
    assert!(alerts > 0, "the findings come out as alerts");
    let starts = docs
        .iter()
        .filter(|d| d["event"]["type"][0] == "start" && d["process"]["executable"].is_string())
        .count();
    assert!(starts > 600, "{starts} process starts");

    // `_bulk`: an action line before each document, nothing else.
    let bulk = export("es-bulk", &[]);
    let lines: Vec<&str> = bulk.lines().collect();
    assert_eq!(lines.len(), docs.len() * 2);
    for pair in lines.chunks(2) {
        assert_eq!(pair[0], "{\"create\":{}}");
        assert!(pair[1].starts_with('{'));
    }
    // HEC: epoch seconds, the host, and the document as `event`.
    for e in json_lines(&export("splunk-hec", &[])) {
        assert!(e["time"].as_f64().unwrap() > 1e9, "{e:?}");
        assert!(e["host"].is_string());
        assert_eq!(e["sourcetype"], "irsnap:ecs");
        assert!(e["event"]["@timestamp"].is_string());
    }
    // One collector's facts only: no alerts.
    let only = json_lines(&export("ecs", &["--collector", "execution_events"]));
    assert!(only.iter().all(|d| d["event"]["kind"] == "event"));
}
