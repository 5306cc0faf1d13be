//! Evaluator, loader and adapter tests on small hand-written rules.

use super::*;
use crate::record::{Ancestor, HashStatus, ImageKind, ProcessRecord};
use crate::source::OsFamily;
use std::borrow::Cow;
use std::collections::HashMap;

/// A map-backed event for evaluator tests.
struct Ev {
    view: LogSourceView,
    fields: HashMap<String, String>,
}

impl SigmaEvent for Ev {
    fn logsource(&self) -> LogSourceView {
        self.view
    }
    fn field(&self, name: &str) -> Option<Cow<'_, str>> {
        self.fields
            .get(&name.to_ascii_lowercase())
            .map(|s| Cow::Borrowed(s.as_str()))
    }
    fn keywords(&self) -> Vec<Cow<'_, str>> {
        self.fields
            .values()
            .map(|v| Cow::Borrowed(v.as_str()))
            .collect()
    }
}

fn proc_ev(pairs: &[(&str, &str)]) -> Ev {
    Ev {
        view: event::SYSMON_PROCESS.view,
        fields: pairs
            .iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), v.to_string()))
            .collect(),
    }
}

fn rule(detection: &str) -> Rule {
    let text = format!(
        "title: t\nid: 11111111-2222-3333-4444-555555555555\nauthor: a\nlevel: high\n\
         tags: [attack.execution, attack.t1059.001, attack.g0016]\n\
         logsource:\n  category: process_creation\n  product: windows\n\
         detection:\n{detection}"
    );
    load_rule(&text, "test.yml").unwrap_or_else(|e| panic!("{e:?}"))
}

fn fires(r: &Rule, ev: &Ev) -> Option<Vec<MatchedField>> {
    let set = RuleSet {
        rules: vec![r.clone()],
    };
    set.evaluate(ev, &()).pop().map(|f| f.matched)
}

#[test]
fn selections_lists_and_conditions() {
    let r = rule(
        "  selection_img:\n    - Image|endswith: '\\powershell.exe'\n    - OriginalFileName: 'PowerShell.EXE'\n\
         \x20 selection_cli:\n    CommandLine|contains|all: [' -nop', ' -w hidden']\n\
         \x20 filter:\n    ParentImage|endswith: '\\explorer.exe'\n\
         \x20 condition: all of selection_* and not filter\n",
    );
    let hit = proc_ev(&[
        ("Image", "C:\\x\\POWERSHELL.exe"),
        ("CommandLine", "powershell -NoP -nop -W HIDDEN -w hidden"),
        ("ParentImage", "C:\\Windows\\winword.exe"),
    ]);
    let m = fires(&r, &hit).expect("fires");
    assert_eq!(m.len(), 2, "{m:?}");
    assert_eq!(m[0].field, "Image");
    assert_eq!(m[1].field, "CommandLine");
    assert_eq!(m[1].matched, ["contains ' -nop'", "contains ' -w hidden'"]);
    // `all`: one value missing → no match.
    let partial = proc_ev(&[("Image", "C:\\powershell.exe"), ("CommandLine", "x -nop")]);
    assert!(fires(&r, &partial).is_none());
    // The filter excludes.
    let filtered = proc_ev(&[
        ("Image", "C:\\powershell.exe"),
        ("CommandLine", "x -nop -w hidden"),
        ("ParentImage", "C:\\Windows\\Explorer.EXE"),
    ]);
    assert!(fires(&r, &filtered).is_none());
    // The second list element (OriginalFileName) suffices for selection_img.
    let renamed = proc_ev(&[
        ("Image", "C:\\temp\\x.exe"),
        ("OriginalFileName", "PowerShell.EXE"),
        ("CommandLine", "x -nop -w hidden"),
    ]);
    assert!(fires(&r, &renamed).is_some());
}

#[test]
fn null_exists_fieldref_and_keywords() {
    let r = rule("  sel:\n    OriginalFileName: null\n  condition: sel\n");
    assert!(fires(&r, &proc_ev(&[("Image", "a")])).is_some());
    assert!(fires(&r, &proc_ev(&[("OriginalFileName", "")])).is_some());
    assert!(fires(&r, &proc_ev(&[("OriginalFileName", "x.exe")])).is_none());

    let r = rule("  sel:\n    ParentCommandLine|exists: true\n  condition: sel\n");
    assert!(fires(&r, &proc_ev(&[("ParentCommandLine", "x")])).is_some());
    assert!(fires(&r, &proc_ev(&[("Image", "x")])).is_none());

    let r = rule("  sel:\n    Image|fieldref: ParentImage\n  condition: sel\n");
    assert!(fires(&r, &proc_ev(&[("Image", "A"), ("ParentImage", "a")])).is_some());
    assert!(fires(&r, &proc_ev(&[("Image", "A"), ("ParentImage", "b")])).is_none());

    let r = rule("  keywords:\n    - 'mimikatz'\n    - 'sekurlsa::'\n  condition: keywords\n");
    let m = fires(
        &r,
        &proc_ev(&[("CommandLine", "x SEKURLSA::logonpasswords")]),
    )
    .expect("keyword");
    assert_eq!(m[0].field, "keywords");
    assert!(fires(&r, &proc_ev(&[("CommandLine", "x")])).is_none());
}

#[test]
fn findings_carry_rule_metadata_and_attack_tags() {
    let r = rule("  sel:\n    Image|endswith: '\\cmd.exe'\n  condition: sel\n");
    let set = RuleSet { rules: vec![r] };
    let f = set.evaluate(&proc_ev(&[("Image", "C:\\cmd.exe")]), &"rec-7");
    assert_eq!(f.len(), 1);
    let f = &f[0];
    assert_eq!(
        f.rule_id.as_deref(),
        Some("11111111-2222-3333-4444-555555555555")
    );
    assert_eq!(f.author.as_deref(), Some("a"));
    assert_eq!(f.level.as_deref(), Some("high"));
    assert_eq!(f.evidence, "rec-7");
    assert_eq!(f.attack.techniques, ["T1059.001"]);
    assert_eq!(f.attack.tactics, ["execution"]);
    assert_eq!(f.attack.other, ["G0016"]);
    assert_eq!(f.rule_path, "test.yml");
    // A rule for another log source is not evaluated on this event.
    let ps = Ev {
        view: event::PS_SCRIPT.view,
        fields: HashMap::from([("image".to_string(), "C:\\cmd.exe".to_string())]),
    };
    assert!(set.evaluate(&ps, &()).is_empty());
}

#[test]
fn unsupported_rules_say_why() {
    let base = "title: x\nid: i\nlogsource:\n  category: process_creation\n  product: windows\n";
    let cases = [
        (
            "detection:\n  sel:\n    Image|expand: '%x%'\n  condition: sel\n",
            "expand",
        ),
        (
            "detection:\n  sel:\n    Image: a\n  condition: sel | count() by Image > 3\n",
            "aggregation",
        ),
        (
            "detection:\n  sel:\n    Image: a\n  condition: sel near sel\n",
            "near",
        ),
        (
            "detection:\n  sel:\n    Image|re: '(?<=a)b'\n  condition: sel\n",
            "regex",
        ),
    ];
    for (det, why) in cases {
        match load_rule(&format!("{base}{det}"), "x.yml") {
            Err(RuleProblem::Unsupported { meta, reason }) => {
                assert_eq!(meta.id.as_deref(), Some("i"));
                assert!(reason.contains(why), "{reason}");
            }
            other => panic!("{why}: {other:?}"),
        }
    }
    let other_source = "title: x\nlogsource:\n  category: raw_access_thread\n  product: windows\n\
                        detection:\n  sel:\n    Device: a\n  condition: sel\n";
    assert!(matches!(
        load_rule(other_source, "x"),
        Err(RuleProblem::Unsupported { reason, .. }) if reason.contains("log source")
    ));
    let correlation = "title: c\ncorrelation:\n  type: event_count\n  rules: [a]\n";
    assert!(matches!(
        load_rule(correlation, "x"),
        Err(RuleProblem::Unsupported { reason, .. }) if reason.contains("correlation")
    ));
    let collection = "title: a\naction: global\n---\ntitle: b\n";
    assert!(matches!(
        load_rule(collection, "x"),
        Err(RuleProblem::Unsupported { .. })
    ));
    for bad in [
        "",
        "just a string",
        "title: x\nlogsource: {}\ndetection:\n  sel:\n    a: b\n",
        "title: x\nlogsource: {}\ndetection:\n  sel:\n    a: b\n  condition: nope\n",
        "title: x\ndetection: [1, 2\n",
    ] {
        assert!(
            matches!(load_rule(bad, "x"), Err(RuleProblem::Invalid(_))),
            "{bad:?}"
        );
    }
}

fn proc_record(pid: u32, ppid: u32, image: &str, cmd: &str) -> ProcessRecord {
    ProcessRecord {
        pid,
        ppid: Some(ppid),
        name: image
            .rsplit(['\\', '/'])
            .next()
            .unwrap_or(image)
            .to_string(),
        image_path: Some(image.to_string()),
        image_kind: ImageKind::File,
        argv: vec![cmd.to_string()],
        argv_raw_b64: None,
        command_line: cmd.to_string(),
        cwd: Some("C:\\Users\\u".to_string()),
        uid: None,
        user: Some("HOST\\u".to_string()),
        user_sid: None,
        start_time: None,
        state: None,
        kernel_thread: false,
        image_sha256: None,
        image_size: None,
        image_hash_status: HashStatus::NotApplicable,
        image_hash_error: None,
        image_copy: None,
        witness: None,
        ancestry: Vec::new(),
        notes: Vec::new(),
        is_irsnap: false,
    }
}

#[test]
fn process_snapshot_records_are_process_creation_events() {
    let mut word = proc_record(100, 1, "C:\\Office\\WINWORD.EXE", "winword.exe doc.docm");
    word.ancestry = vec![Ancestor {
        pid: 1,
        name: "explorer.exe".into(),
        image_path: None,
    }];
    let mut ps = proc_record(
        200,
        100,
        "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
        "powershell -enc AAAA",
    );
    ps.ancestry = vec![Ancestor {
        pid: 100,
        name: "WINWORD.EXE".into(),
        image_path: Some("C:\\Office\\WINWORD.EXE".into()),
    }];
    let records = vec![word, ps];
    let evs = ProcessEvent::from_snapshot(&records, OsFamily::Windows);
    let e = &evs[1];
    assert_eq!(e.logsource().product, "windows");
    assert_eq!(
        e.field("ParentImage").as_deref(),
        Some("C:\\Office\\WINWORD.EXE")
    );
    assert_eq!(
        e.field("ParentCommandLine").as_deref(),
        Some("winword.exe doc.docm")
    );
    assert_eq!(e.field("ProcessId").as_deref(), Some("200"));
    assert_eq!(e.field("ParentProcessId").as_deref(), Some("100"));
    assert_eq!(e.field("CurrentDirectory").as_deref(), Some("C:\\Users\\u"));
    let r = rule(
        "  sel_parent:\n    ParentImage|endswith: '\\winword.exe'\n\
         \x20 sel_child:\n    Image|endswith: '\\powershell.exe'\n  condition: all of sel_*\n",
    );
    let set = RuleSet { rules: vec![r] };
    assert_eq!(set.evaluate(e, &()).len(), 1);
    assert!(set.evaluate(&evs[0], &()).is_empty());
    // On Linux the same record is product linux, so a Windows rule does not apply.
    let lin = ProcessEvent::new(&records[1], OsFamily::Linux);
    assert_eq!(lin.logsource().product, "linux");
    assert!(set.evaluate(&lin, &()).is_empty());
}

#[test]
fn attack_tag_parsing() {
    let t = attack_tags(&[
        "attack.execution".into(),
        "attack.t1059".into(),
        "attack.T1218.011".into(),
        "attack.s0002".into(),
        "attack.defense_evasion".into(),
        "cve.2021-44228".into(),
        "detection.threat-hunting".into(),
    ]);
    assert_eq!(t.techniques, ["T1059", "T1218.011"]);
    assert_eq!(t.tactics, ["execution", "defense-evasion"]);
    assert_eq!(t.other, ["S0002"]);
}

#[test]
fn hostile_rule_files_are_refused_not_crashed() {
    let deep = format!(
        "title: x\nlogsource:\n  product: windows\ndetection:\n  sel: {}a{}\n  condition: sel\n",
        "[".repeat(1_000),
        "]".repeat(1_000)
    );
    assert!(matches!(
        load_rule(&deep, "x"),
        Err(RuleProblem::Invalid(_))
    ));
    let huge = "a".repeat(MAX_RULE_BYTES + 1);
    assert!(matches!(
        load_rule(&huge, "x"),
        Err(RuleProblem::Invalid(_))
    ));
    // A missing directory is an error in the report, not a panic.
    let (set, report) =
        crate::commands::load_sigma_dir(std::path::Path::new("/nonexistent/irsnap-sigma"));
    assert!(set.is_empty());
    assert_eq!(report.errors.len(), 1);
}
