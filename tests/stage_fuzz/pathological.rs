//! One pathological input per shape, a few units long ([`unit`]), through every stage: a call
//! over [`CPU_LIMIT`] of thread CPU is printed as SLOW (a hang hits the watchdog). The inputs
//! are what makes a careless algorithm quadratic: a run of one delimiter (backslashes, quotes, dashes), deeply
//! nested parentheses, a marker repeated (`/tmp/`, `\Users\`, `powershell`, `FromBase64String(`),
//! multi-byte text throughout.

use std::time::Duration;

use serde_json::Value;

use super::generate::Gen;
use super::stages::{self, Case};
use super::{Guard, shared};
use irsnap::ids::{CollectorId, OsFamily, RecordAt};
use irsnap::record::Record;

/// A debug build handles each of these inputs in a few seconds on an idle machine; a
/// quadratic algorithm takes hours. The margin is for a CI box busy with other builds.
const CPU_LIMIT: Duration = Duration::from_secs(40);

/// About `bytes` of `unit` repeated.
fn rep(unit: &str, bytes: usize) -> String {
    unit.repeat(bytes / unit.len().max(1))
}

/// The size unit of the inputs, from `IRSNAP_FUZZ_UNIT_KIB` (default 256 KiB: the suite's
/// debug build runs the whole set in well under a minute; a quadratic step still takes
/// minutes at this size). `IRSNAP_FUZZ_UNIT_KIB=1024` is the deeper run.
fn unit() -> usize {
    super::env_u64("IRSNAP_FUZZ_UNIT_KIB", 256).clamp(1, 64 * 1024) as usize * 1024
}

fn inputs() -> Vec<(&'static str, String)> {
    let mb = unit();
    let mut backslashes = String::from("C:\\Windows\\System32\\cmd.exe /c ");
    backslashes.push_str(&"\\".repeat(mb / 10));
    backslashes.push_str(&rep("\\x\\é\\\"", 5 * mb - backslashes.len()));
    vec![
        ("5 units of command line, a run of backslashes", backslashes),
        (
            "nested parentheses",
            format!(
                "powershell -c {}IEX{}",
                "(".repeat(mb / 10),
                ")".repeat(mb / 10)
            ),
        ),
        ("powershell words", rep("powershell ", 2 * mb)),
        ("pwsh switches", format!("pwsh {}", rep("-nop -e ", 2 * mb))),
        ("temp markers", rep("/tmp/a1B2 ", 2 * mb)),
        ("windows temp markers", rep("\\Temp\\x1\\Temp\\", 2 * mb)),
        ("user profiles", rep("C:\\Users\\é\\", 2 * mb)),
        (
            "guids",
            rep("{2c1f8f0e-1a2b-4c3d-9e8f-0123456789ab}", 2 * mb),
        ),
        (
            "FromBase64String literals",
            rep("[Convert]::FromBase64String('QUJDRA", 2 * mb),
        ),
        ("quotes", rep("\"'", 2 * mb)),
        ("multi-byte", rep("é中😀e\u{301}İ\u{212A}\u{202E}", 2 * mb)),
        ("newlines", rep("a\r\n", 2 * mb)),
        (
            "encoded command",
            format!("powershell -enc {}", rep("SQBFAFgAIAAoA", 3 * mb)),
        ),
        ("url run", rep("http://203.0.113.7/", 2 * mb)),
    ]
}

/// Keys whose string values the pathological text replaces (command lines, scripts, paths).
const TEXT_KEYS: &[&str] = &[
    "command_line",
    "command",
    "arguments",
    "text",
    "image",
    "image_path",
    "name",
    "path",
    "raw_line",
    "first_line",
    "parent_command_line",
    "payload",
];

fn has_key(v: &Value, key: &str) -> bool {
    match v {
        Value::Object(m) => m.contains_key(key) || m.values().any(|v| has_key(v, key)),
        Value::Array(a) => a.iter().any(|v| has_key(v, key)),
        _ => false,
    }
}

fn replace(v: &mut Value, text: &str) {
    match v {
        Value::Object(m) => {
            for (k, v) in m.iter_mut() {
                if TEXT_KEYS.contains(&k.as_str()) && v.is_string() {
                    *v = Value::String(text.to_string());
                } else {
                    replace(v, text);
                }
            }
        }
        Value::Array(a) => a.iter_mut().for_each(|v| replace(v, text)),
        _ => {}
    }
}

/// A generated record of `id` that has `key` somewhere (found by trying seeds), as JSON.
fn template(id: CollectorId, key: &str) -> Value {
    let shared = shared();
    let schema = &shared
        .schemas
        .iter()
        .find(|d| d.name == id.as_str())
        .expect("a schema")
        .schema;
    let from = super::generate::FromSchema::new(schema);
    for seed in 0..10_000 {
        let mut g = Gen::new(seed);
        g.huge_left = 0;
        let v = from.value(&mut g, schema);
        if has_key(&v, key)
            && irsnap::registry::parse_line(id, &serde_json::to_vec(&v).unwrap()).is_ok()
        {
            return v;
        }
    }
    panic!("no generated {id} record has {key}");
}

pub fn run() {
    let templates = [
        (
            CollectorId::Processes,
            template(CollectorId::Processes, "command_line"),
        ),
        (
            CollectorId::ExecutionEvents,
            template(CollectorId::ExecutionEvents, "parent_command_line"),
        ),
        (
            CollectorId::PowershellLogs,
            template(CollectorId::PowershellLogs, "text"),
        ),
        (
            CollectorId::ShellHistory,
            template(CollectorId::ShellHistory, "command"),
        ),
        (
            CollectorId::ScheduledTasks,
            template(CollectorId::ScheduledTasks, "command_line"),
        ),
        (
            CollectorId::TempScripts,
            template(CollectorId::TempScripts, "path"),
        ),
    ];
    let mut guard = Guard::new("pathological").cpu_limit(CPU_LIMIT);
    let dir = tempfile::tempdir().unwrap();
    let mut manifest_gen = Gen::new(1);
    for (i, (label, text)) in inputs().into_iter().enumerate() {
        let seed = i as u64;
        let mut records = Vec::new();
        for (id, t) in &templates {
            let mut v = t.clone();
            replace(&mut v, &text);
            let rec: Record = irsnap::registry::parse_line(*id, &serde_json::to_vec(&v).unwrap())
                .unwrap_or_else(|e| panic!("{id}: {e}"));
            records.push((RecordAt::new(*id, 1), rec));
        }
        let manifest =
            stages::generate_case(shared(), &mut manifest_gen, seed, &mut Default::default())
                .manifest;
        let case = Case {
            seed,
            os: if i % 2 == 0 {
                OsFamily::Windows
            } else {
                OsFamily::Linux
            },
            records,
            manifest,
        };
        let started = std::time::Instant::now();
        stages::run_stages(shared(), &mut guard, &case, &mut Gen::new(seed), dir.path());
        guard.run(&format!("normalize::shape ({label})"), seed, || {
            irsnap::stack::normalize::shape(&text, true);
            irsnap::stack::normalize::shape(&text, false);
        });
        guard.run(&format!("decode ({label})"), seed, || {
            irsnap::detect::decode::decode_command_line(Some("powershell.exe"), &text);
            irsnap::detect::decode::decode_script_literals(&text, 8);
        });
        println!(
            "stage_fuzz pathological: {label}: {:.1?}",
            started.elapsed()
        );
    }
    guard.finish();
}
