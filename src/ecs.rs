//! Elastic Common Schema (ECS) documents from an archive: every timeline fact as an event
//! and every finding as an alert, with `@timestamp`, `host.*`, `event.*`, `process.*`,
//! `file.*`, `user.*`, `destination.*`, `rule.*` and `threat.*` where the fact has them, and
//! irsnap's own pointers (archive member and line) under `irsnap.*`. Elasticsearch, Elastic
//! Agent / Filebeat, OpenSearch and Splunk (HEC, `_json` sourcetype) take these as they are;
//! [`EcsWrap`] adds the bulk action line or the HEC envelope.
//!
//! Reference: <https://www.elastic.co/guide/en/ecs/current/ecs-field-reference.html>
//! (field set and the categorization fields `event.kind`, `event.category`, `event.type`,
//! whose allowed values are fixed lists: only those are used here).

use crate::ids::OsFamily;
use crate::record::{HostFacts, SourceDescription};
use crate::timeline::TimelineEntry;
use serde_json::{Map, Value, json};

/// The ECS version the documents follow.
pub const ECS_VERSION: &str = "8.11.0";

/// The host every document of one archive describes.
#[derive(Debug, Clone, Default)]
pub struct EcsHost {
    name: Option<String>,
    os_family: Option<&'static str>,
    os_name: Option<String>,
    os_version: Option<String>,
    kernel: Option<String>,
    architecture: Option<String>,
    ips: Vec<String>,
    /// The archive's file name, so documents from many archives can be told apart.
    archive: Option<String>,
}

impl EcsHost {
    pub fn new(host: &HostFacts, source: &SourceDescription, archive: Option<String>) -> EcsHost {
        let os = match source {
            SourceDescription::Live { os } | SourceDescription::OfflineRoot { os, .. } => *os,
        };
        EcsHost {
            name: host.hostname.clone(),
            os_family: match os {
                OsFamily::Linux => Some("linux"),
                OsFamily::Windows => Some("windows"),
                OsFamily::Other => None,
            },
            os_name: host.os_name.clone(),
            os_version: host.os_version.clone(),
            kernel: host.kernel.clone(),
            architecture: host.architecture.clone(),
            // `192.0.2.2/24` → `192.0.2.2`: ECS `host.ip` is an ip field.
            ips: host
                .ip_addresses
                .iter()
                .map(|a| a.split('/').next().unwrap_or(a).to_string())
                .filter(|a| a.parse::<std::net::IpAddr>().is_ok())
                .collect(),
            archive,
        }
    }

    /// The host name for a row: an event's own `Computer` when it has one, else the host's.
    pub fn name_for<'a>(&'a self, computer: Option<&'a str>) -> Option<&'a str> {
        computer.filter(|c| !c.is_empty()).or(self.name.as_deref())
    }

    fn to_value(&self, computer: Option<&str>) -> Value {
        let mut h = Map::new();
        if let Some(n) = self.name_for(computer) {
            h.insert("name".into(), n.into());
            h.insert("hostname".into(), n.into());
        }
        let mut os = Map::new();
        put(&mut os, "family", self.os_family.map(str::to_string));
        put(&mut os, "type", self.os_family.map(str::to_string));
        put(&mut os, "name", self.os_name.clone());
        put(&mut os, "version", self.os_version.clone());
        put(&mut os, "kernel", self.kernel.clone());
        if !os.is_empty() {
            h.insert("os".into(), Value::Object(os));
        }
        put(&mut h, "architecture", self.architecture.clone());
        if !self.ips.is_empty() {
            h.insert("ip".into(), json!(self.ips));
        }
        Value::Object(h)
    }
}

/// How the documents are framed on output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EcsWrap {
    /// One document per line (Filebeat/Elastic Agent, `jq`, Splunk's `_json` sourcetype).
    Plain,
    /// Elasticsearch `_bulk`: a `{"create":{}}` line before each document (`create` is what
    /// data streams require; a plain index takes it too).
    Bulk,
    /// Splunk HTTP Event Collector: `{"time", "host", "source", "sourcetype", "event"}`.
    SplunkHec,
}

/// Write one document framed as `wrap` asks, each piece on its own line.
pub fn write_doc(out: &mut dyn std::io::Write, doc: &Value, wrap: EcsWrap) -> std::io::Result<()> {
    match wrap {
        EcsWrap::Plain => serde_json::to_writer(&mut *out, doc)?,
        EcsWrap::Bulk => {
            out.write_all(b"{\"create\":{}}\n")?;
            serde_json::to_writer(&mut *out, doc)?;
        }
        EcsWrap::SplunkHec => {
            let time = doc["@timestamp"]
                .as_str()
                .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
                .map(|t| t.timestamp_micros() as f64 / 1e6);
            let mut env = Map::new();
            if let Some(t) = time {
                env.insert("time".into(), json!(t));
            }
            if let Some(h) = doc["host"]["name"].as_str() {
                env.insert("host".into(), h.into());
            }
            env.insert("source".into(), "irsnap".into());
            env.insert("sourcetype".into(), "irsnap:ecs".into());
            env.insert("event".into(), doc.clone());
            serde_json::to_writer(&mut *out, &Value::Object(env))?;
        }
    }
    out.write_all(b"\n")
}

fn put(m: &mut Map<String, Value>, key: &str, v: Option<String>) {
    if let Some(v) = v.filter(|v| !v.is_empty()) {
        m.insert(key.into(), Value::String(v));
    }
}

fn put_num<T: Into<Value>>(m: &mut Map<String, Value>, key: &str, v: Option<T>) {
    if let Some(v) = v {
        m.insert(key.into(), v.into());
    }
}

fn obj_if(m: Map<String, Value>) -> Option<Value> {
    (!m.is_empty()).then_some(Value::Object(m))
}

/// `DOMAIN\user` → (`DOMAIN`, `user`); `alice` → (none, `alice`).
fn split_user(u: &str) -> (Option<&str>, &str) {
    match u.split_once('\\') {
        Some((d, n)) if !d.is_empty() && !n.is_empty() => (Some(d), n),
        _ => (None, u),
    }
}

fn user_value(name: Option<&str>, sid: Option<&str>) -> Option<Value> {
    let mut u = Map::new();
    if let Some(name) = name.filter(|n| !n.is_empty()) {
        let (domain, n) = split_user(name);
        u.insert("name".into(), n.into());
        put(&mut u, "domain", domain.map(str::to_string));
    }
    put(&mut u, "id", sid.map(str::to_string));
    obj_if(u)
}

/// The last path component of a Windows or Unix path.
fn base_name(p: &str) -> &str {
    p.rsplit(['/', '\\']).next().unwrap_or(p)
}

/// `event.category` and `event.type` (ECS allowed values only) for a timeline fact.
fn categorize(e: &TimelineEntry) -> (&'static str, &'static str) {
    let kind = e.record_kind.as_deref().unwrap_or("");
    let desc = e.timestamp_desc.to_ascii_lowercase();
    let file_type = if desc.contains("creat") {
        "creation"
    } else if desc.contains("delet") {
        "deletion"
    } else if desc.contains("modif") || desc.contains("change") {
        "change"
    } else {
        "info"
    };
    match e.collector.as_str() {
        "processes" => ("process", "start"),
        "network" => ("network", "connection"),
        "temp_scripts" => ("file", file_type),
        "scheduled_tasks" => ("configuration", file_type),
        "shell_history" | "powershell_logs" => ("process", "info"),
        _ if kind.contains("process_create") || desc.contains("process start") => {
            ("process", "start")
        }
        _ if kind.contains("network") || e.remote_address.is_some() => ("network", "connection"),
        _ if kind.contains("file_create") => ("file", "creation"),
        _ if kind.contains("service") || kind.contains("task") => ("configuration", "creation"),
        _ => ("host", "info"),
    }
}

/// A lower-case, dash-separated `event.action` from a timestamp description.
fn action(desc: &str) -> String {
    let mut out = String::with_capacity(desc.len());
    for c in desc.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
    }
    out.trim_end_matches('-').to_string()
}

/// One timeline fact as an ECS event document.
pub fn event_doc(e: &TimelineEntry, host: &EcsHost) -> Value {
    let (category, etype) = categorize(e);
    let mut doc = Map::new();
    doc.insert("@timestamp".into(), e.datetime.clone().into());
    doc.insert("message".into(), e.message.clone().into());
    doc.insert("ecs".into(), json!({ "version": ECS_VERSION }));
    let mut ev = Map::new();
    ev.insert("kind".into(), "event".into());
    ev.insert("category".into(), json!([category]));
    ev.insert("type".into(), json!([etype]));
    ev.insert("action".into(), action(&e.timestamp_desc).into());
    ev.insert("module".into(), "irsnap".into());
    ev.insert("dataset".into(), format!("irsnap.{}", e.collector).into());
    put(&mut ev, "provider", e.channel.clone());
    put(&mut ev, "code", e.event_id.map(|i| i.to_string()));
    put_num(&mut ev, "sequence", e.event_record_id);
    doc.insert("event".into(), Value::Object(ev));
    doc.insert("host".into(), host.to_value(e.computer.as_deref()));

    let mut p = Map::new();
    put_num(&mut p, "pid", e.pid);
    put(
        &mut p,
        "name",
        e.process_name
            .clone()
            .or_else(|| e.image.as_deref().map(|i| base_name(i).to_string())),
    );
    put(&mut p, "executable", e.image.clone());
    put(&mut p, "command_line", e.command_line.clone());
    put(&mut p, "entity_id", e.process_guid.clone());
    let mut parent = Map::new();
    put_num(&mut parent, "pid", e.ppid);
    put(&mut parent, "executable", e.parent_image.clone());
    put(
        &mut parent,
        "name",
        e.parent_image.as_deref().map(|i| base_name(i).to_string()),
    );
    put(&mut parent, "command_line", e.parent_command_line.clone());
    if let Some(parent) = obj_if(parent) {
        p.insert("parent".into(), parent);
    }
    if let Some(p) = obj_if(p) {
        doc.insert("process".into(), p);
    }
    if let Some(u) = user_value(e.user.as_deref(), e.user_sid.as_deref()) {
        doc.insert("user".into(), u);
    }
    let mut f = Map::new();
    if let Some(path) = &e.path {
        f.insert("path".into(), path.clone().into());
        f.insert("name".into(), base_name(path).into());
    }
    if let Some(h) = &e.sha256 {
        f.insert("hash".into(), json!({ "sha256": h }));
    }
    put_num(&mut f, "size", e.size);
    if e.path.is_some()
        && let Some(f) = obj_if(f)
    {
        doc.insert("file".into(), f);
    } else if let (Some(h), Some(p)) = (&e.sha256, doc.get_mut("process")) {
        // A process fact's hash is its image's.
        p["hash"] = json!({ "sha256": h });
    }
    if let Some(addr) = &e.remote_address {
        let mut d = Map::new();
        d.insert("address".into(), addr.clone().into());
        if addr.parse::<std::net::IpAddr>().is_ok() {
            d.insert("ip".into(), addr.clone().into());
        }
        put_num(&mut d, "port", e.remote_port);
        doc.insert("destination".into(), Value::Object(d));
    }
    let mut related = Map::new();
    if let Some(h) = &e.sha256 {
        related.insert("hash".into(), json!([h]));
    }
    if let Some(u) = &e.user {
        related.insert("user".into(), json!([split_user(u).1]));
    }
    if let Some(a) = e
        .remote_address
        .as_ref()
        .filter(|a| a.parse::<std::net::IpAddr>().is_ok())
    {
        related.insert("ip".into(), json!([a]));
    }
    if let Some(r) = obj_if(related) {
        doc.insert("related".into(), r);
    }
    let mut own = Map::new();
    own.insert("collector".into(), e.collector.clone().into());
    own.insert("record_member".into(), e.record_member.clone().into());
    own.insert("record_line".into(), e.record_line.into());
    put(&mut own, "record_kind", e.record_kind.clone());
    put(&mut own, "timestamp_desc", Some(e.timestamp_desc.clone()));
    put(&mut own, "local_time", e.local_time.clone());
    put(&mut own, "file_type", e.file_type.clone());
    put(&mut own, "task_name", e.task_name.clone());
    put(&mut own, "service_name", e.service_name.clone());
    put(&mut own, "script_block_id", e.script_block_id.clone());
    put(&mut own, "shell", e.shell.clone());
    put(&mut own, "source_path", e.source_path.clone());
    put(&mut own, "archive", host.archive.clone());
    doc.insert("irsnap".into(), Value::Object(own));
    Value::Object(doc)
}

/// ECS `event.severity` for irsnap's severities (Elastic's detection-rule scale).
fn severity_number(s: &str) -> u64 {
    match s {
        "critical" => 99,
        "high" => 73,
        "medium" => 47,
        "low" => 21,
        _ => 1,
    }
}

/// One line of `findings.jsonl` as an ECS alert document. `fallback_time` (the collection's
/// start) stands in when the finding has no time of its own.
pub fn alert_doc(f: &Map<String, Value>, host: &EcsHost, fallback_time: &str) -> Value {
    let s = |k: &str| f.get(k).and_then(Value::as_str).map(str::to_string);
    let first = s("first_seen").unwrap_or_else(|| fallback_time.to_string());
    let title = s("title").unwrap_or_default();
    let severity = s("severity").unwrap_or_default();
    let mut doc = Map::new();
    doc.insert("@timestamp".into(), first.clone().into());
    let summary = s("summary").unwrap_or_default();
    doc.insert(
        "message".into(),
        if summary.is_empty() {
            title.clone()
        } else {
            format!("{title}: {summary}")
        }
        .into(),
    );
    doc.insert("ecs".into(), json!({ "version": ECS_VERSION }));
    let mut ev = Map::new();
    ev.insert("kind".into(), "alert".into());
    ev.insert("category".into(), json!(["intrusion_detection"]));
    ev.insert("type".into(), json!(["indicator"]));
    ev.insert("module".into(), "irsnap".into());
    ev.insert("dataset".into(), "irsnap.findings".into());
    ev.insert("severity".into(), severity_number(&severity).into());
    ev.insert("start".into(), first.into());
    put(&mut ev, "end", s("last_seen"));
    put(&mut ev, "provider", s("channel"));
    put(
        &mut ev,
        "code",
        f.get("event_id")
            .and_then(Value::as_u64)
            .map(|n| n.to_string()),
    );
    doc.insert("event".into(), Value::Object(ev));
    doc.insert("host".into(), host.to_value(s("host").as_deref()));
    let mut rule = Map::new();
    put(&mut rule, "id", s("rule_id"));
    rule.insert("name".into(), title.into());
    put(&mut rule, "description", s("description"));
    put(&mut rule, "ruleset", s("rule_origin"));
    put(&mut rule, "author", s("sigma_author"));
    doc.insert("rule".into(), Value::Object(rule));
    let techniques: Vec<Value> = f
        .get("techniques")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let mut threat = Map::new();
    threat.insert("framework".into(), "MITRE ATT&CK".into());
    if !techniques.is_empty() {
        threat.insert("technique".into(), json!({ "id": techniques }));
    }
    let mut tactic = Map::new();
    if let Some(id) = s("tactic_id") {
        tactic.insert("id".into(), json!([id]));
    }
    if let Some(n) = s("tactic") {
        tactic.insert("name".into(), json!([n]));
    }
    if let Some(t) = obj_if(tactic) {
        threat.insert("tactic".into(), t);
    }
    doc.insert("threat".into(), Value::Object(threat));
    let mut p = Map::new();
    put_num(&mut p, "pid", f.get("pid").and_then(Value::as_u64));
    put(&mut p, "executable", s("image"));
    put(
        &mut p,
        "name",
        s("image").as_deref().map(|i| base_name(i).to_string()),
    );
    put(&mut p, "command_line", s("command_line"));
    let mut parent = Map::new();
    put_num(&mut parent, "pid", f.get("ppid").and_then(Value::as_u64));
    put(&mut parent, "executable", s("parent_image"));
    if let Some(parent) = obj_if(parent) {
        p.insert("parent".into(), parent);
    }
    if let Some(p) = obj_if(p) {
        doc.insert("process".into(), p);
    }
    if let Some(u) = user_value(s("user").as_deref(), None) {
        doc.insert("user".into(), u);
    }
    let mut own = Map::new();
    for k in [
        "occurrences",
        "evidence",
        "hosts",
        "users",
        "matched",
        "observation_kind",
    ] {
        if let Some(v) = f.get(k) {
            own.insert(k.into(), v.clone());
        }
    }
    put(&mut own, "severity", Some(severity));
    put(&mut own, "archive", host.archive.clone());
    doc.insert("irsnap".into(), Value::Object(own));
    Value::Object(doc)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host() -> EcsHost {
        let facts = HostFacts {
            hostname: Some("web01".into()),
            ip_addresses: vec!["192.0.2.2/24".into(), "fe80::1/64".into()],
            ..Default::default()
        };
        EcsHost::new(
            &facts,
            &SourceDescription::Live {
                os: OsFamily::Linux,
            },
            Some("a.zip".into()),
        )
    }

    #[test]
    fn a_process_start_maps_to_ecs_process_fields() {
        let e = TimelineEntry {
            message: "Process started".into(),
            datetime: "2026-11-23T10:15:00.000000Z".into(),
            timestamp_desc: "Process Start".into(),
            collector: "execution_events".into(),
            record_member: "records/execution_events.jsonl".into(),
            record_line: 4,
            record_kind: Some("sysmon_process_create".into()),
            computer: Some("WIN-01".into()),
            event_id: Some(1),
            channel: Some("Microsoft-Windows-Sysmon/Operational".into()),
            pid: Some(10),
            ppid: Some(9),
            image: Some(r"C:\Windows\System32\cmd.exe".into()),
            command_line: Some("cmd /c whoami".into()),
            parent_image: Some(r"C:\Program Files\Office\WINWORD.EXE".into()),
            user: Some(r"CORP\alice".into()),
            sha256: Some("ab".repeat(32)),
            ..Default::default()
        };
        let d = event_doc(&e, &host());
        assert_eq!(d["@timestamp"], "2026-11-23T10:15:00.000000Z");
        assert_eq!(d["event"]["category"], json!(["process"]));
        assert_eq!(d["event"]["type"], json!(["start"]));
        assert_eq!(d["event"]["action"], "process-start");
        assert_eq!(d["event"]["code"], "1");
        assert_eq!(d["host"]["name"], "WIN-01", "the event's Computer wins");
        assert_eq!(d["host"]["ip"], json!(["192.0.2.2", "fe80::1"]));
        assert_eq!(d["process"]["name"], "cmd.exe");
        assert_eq!(d["process"]["parent"]["name"], "WINWORD.EXE");
        assert_eq!(d["process"]["hash"]["sha256"], "ab".repeat(32));
        assert_eq!(d["user"]["name"], "alice");
        assert_eq!(d["user"]["domain"], "CORP");
        assert_eq!(d["irsnap"]["record_line"], 4);
        assert!(d.get("file").is_none());
    }

    #[test]
    fn a_finding_is_an_alert_with_rule_and_threat() {
        let f: Map<String, Value> = serde_json::from_str(
            r#"{"rule_id":"r1","title":"Encoded PowerShell","severity":"high",
                "techniques":["T1059.001"],"tactic":"execution","tactic_id":"TA0002",
                "first_seen":"2026-11-23T10:00:00Z","pid":5,"image":"/usr/bin/pwsh",
                "evidence":[{"member":"records/processes.jsonl","line":3}]}"#,
        )
        .unwrap();
        let d = alert_doc(&f, &host(), "2026-11-23T11:00:00Z");
        assert_eq!(d["event"]["kind"], "alert");
        assert_eq!(d["event"]["severity"], 73);
        assert_eq!(d["rule"]["id"], "r1");
        assert_eq!(d["threat"]["technique"]["id"], json!(["T1059.001"]));
        assert_eq!(d["threat"]["tactic"]["id"], json!(["TA0002"]));
        assert_eq!(d["host"]["name"], "web01");
        assert_eq!(d["process"]["name"], "pwsh");
        assert_eq!(d["irsnap"]["evidence"][0]["line"], 3);
    }

    #[test]
    fn framing() {
        let d = json!({"@timestamp": "2026-11-23T10:15:00.5Z", "host": {"name": "h"}});
        let mut out = Vec::new();
        write_doc(&mut out, &d, EcsWrap::Bulk).unwrap();
        write_doc(&mut out, &d, EcsWrap::SplunkHec).unwrap();
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "{\"create\":{}}");
        let hec: Value = serde_json::from_str(lines[2]).unwrap();
        assert_eq!(hec["time"], 1_795_428_900.5);
        assert_eq!(hec["host"], "h");
        assert_eq!(hec["event"]["host"]["name"], "h");
    }
}
