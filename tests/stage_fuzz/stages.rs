//! One case: records of every collector generated from the schemas, then each stage in the
//! order `collect` runs them (detection and the timeline record by record, then the report,
//! the archive, `verify`), then the readers on the archive written (`stack`, `export`,
//! `report`).

use std::path::{Path, PathBuf};

use irsnap::archive::manifest::Manifest;
use irsnap::archive::{ArchiveWriter, Identities};
use irsnap::cli::{ExportArgs, ExportFormat, ReportArgs, ReportFormat};
use irsnap::detect::analysis::Analysis;
use irsnap::detect::{
    DecodedPayload, EvidenceRef, Finding, FindingContext, Findings, MatchedValue, ObservationKind,
    Severity, Tactic,
};
use irsnap::ids::{CollectorId, OsFamily, RecordAt};
use irsnap::record::{ProcessRecord, Record, SourceDescription};
use irsnap::registry;
use irsnap::sigma::{LoadReport, RuleSet};
use irsnap::timeline::Timeline;
use serde_json::Value;

use super::checks;
use super::generate::{FromSchema, Gen, Size};
use super::{Guard, Shared};

// ---- Sigma rules ----------------------------------------------------------------------------

/// Inline rules that use every modifier irsnap evaluates, with multi-byte and case-changing
/// needles (spans in lower-cased text differ from the original's when `İ` or `K` is in it).
const INLINE_RULES: &[&str] = &[
    r#"title: fuzz windash base64offset
id: 5eed0000-0000-4000-8000-000000000001
status: test
level: high
tags: [attack.execution, attack.t1059.001]
logsource: {category: process_creation, product: windows}
detection:
  sel_dash:
    CommandLine|windash|contains: [' -enc ', ' -e ', ' -nop']
  sel_b64:
    CommandLine|base64offset|contains: ['IEX', 'http://', 'é中']
  sel_wide:
    CommandLine|wide|base64offset|contains: ['IEX (', 'Invoke-']
  sel_end:
    Image|endswith: ['\powershell.exe', '\é中😀.exe', 'İ']
  condition: 1 of sel_*
"#,
    r#"title: fuzz wildcards and case
id: 5eed0000-0000-4000-8000-000000000002
level: medium
logsource: {category: process_creation, product: windows}
detection:
  sel_wild:
    CommandLine: ['*é?中*', '*\Temp\*.ps1', '*\\\\*', 'İ*', '*K*']
  sel_start:
    CommandLine|startswith: ['İ', 'powershell', '"C:\Users\']
  sel_cased:
    CommandLine|contains|cased: ['IEX', 'ẞ', 'Σ']
  sel_all:
    CommandLine|contains|all: ['é', '\u212A', '=']
  sel_re:
    CommandLine|re: '(é|中|😀)+[\\/]'
  sel_rei:
    CommandLine|re|i: '-e(nc|ncodedcommand)?\s+[a-z0-9+/=]{8,}'
  condition: 1 of sel_*
"#,
    r#"title: fuzz fieldref exists null
id: 5eed0000-0000-4000-8000-000000000003
level: low
logsource: {category: process_creation, product: windows}
detection:
  sel_ref:
    CommandLine|fieldref|contains: Image
  sel_exists:
    ParentImage|exists: false
  sel_null:
    User: null
  sel_empty:
    CurrentDirectory: ''
  condition: sel_ref or (sel_exists and not sel_null) or sel_empty
"#,
    r#"title: fuzz keywords
id: 5eed0000-0000-4000-8000-000000000004
level: informational
logsource: {category: ps_script, product: windows}
detection:
  keywords:
    - 'FromBase64String'
    - '*IEX*é*'
    - 'İ'
  sel:
    ScriptBlockText|contains: ['Invoke-Expression', '\u202E', '中']
  condition: keywords or sel
"#,
    r#"title: fuzz linux process
id: 5eed0000-0000-4000-8000-000000000005
level: high
logsource: {category: process_creation, product: linux}
detection:
  sel:
    CommandLine|contains: ['/tmp/', '| sh', 'base64 -d']
  sel_end:
    Image|endswith: ['/bash', '/sh', 'é']
  condition: sel or sel_end
"#,
    r#"title: fuzz network
id: 5eed0000-0000-4000-8000-000000000006
level: medium
logsource: {category: network_connection, product: windows}
detection:
  sel_cidr:
    DestinationIp|cidr: ['203.0.113.0/24', 'fe80::/10']
  sel_port:
    DestinationPort|gte: 4444
  sel_port2:
    DestinationPort|lt: 10
  condition: 1 of sel_*
"#,
    r#"title: fuzz ps classic
id: 5eed0000-0000-4000-8000-000000000007
level: medium
logsource: {category: ps_classic_start, product: windows}
detection:
  sel:
    Data|contains: ['HostApplication=', '-enc', 'é']
  condition: sel
"#,
];

/// The inline rules, plus every 8th SigmaHQ process-creation and PowerShell rule of the
/// shared corpus (all of them would make each event cost a thousand rules in a debug build).
pub fn sigma_rules() -> RuleSet {
    let mut set = RuleSet::default();
    let mut report = LoadReport::default();
    for (i, text) in INLINE_RULES.iter().enumerate() {
        set.add_text(text, &format!("stage_fuzz inline {i}"), &mut report);
    }
    assert!(
        report.errors.is_empty() && report.unsupported.is_empty(),
        "inline Sigma rules: {:?} {:?}",
        report.errors,
        report.unsupported
    );
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/sigma-rules/rules");
    for dir in ["windows/process_creation", "windows/powershell", "linux"] {
        let files = irsnap::commands::sigma_rule_files(&corpus.join(dir));
        for f in files.into_iter().step_by(8) {
            if let Ok(text) = &f.text {
                set.add_text(text, &f.path, &mut report);
            }
        }
    }
    set
}

// ---- records --------------------------------------------------------------------------------

/// How many generated records read back as their type, per collector: a generator that
/// drifted from the schema would fuzz nothing, silently.
#[derive(Default)]
pub struct ParseStats {
    ok: Vec<(CollectorId, u64)>,
    failed: Vec<(CollectorId, u64, String)>,
}

impl ParseStats {
    fn note(&mut self, id: CollectorId, json: &[u8], r: &Result<Record, serde_json::Error>) {
        match r {
            Ok(_) => match self.ok.iter_mut().find(|(c, _)| *c == id) {
                Some((_, n)) => *n += 1,
                None => self.ok.push((id, 1)),
            },
            Err(e) => match self.failed.iter_mut().find(|(c, _, _)| *c == id) {
                Some((_, n, _)) => *n += 1,
                None => {
                    // Where it went wrong: the JSON before the column serde names.
                    let col = e.column().saturating_sub(1).min(json.len());
                    let before = String::from_utf8_lossy(&json[col.saturating_sub(160)..col]);
                    self.failed.push((id, 1, format!("{e}, after …{before}")))
                }
            },
        }
    }

    /// Every collector's records were generated, and nearly all of them read back.
    pub fn check(&self) {
        for &id in CollectorId::ALL {
            let ok = self
                .ok
                .iter()
                .find(|(c, _)| *c == id)
                .map_or(0, |(_, n)| *n);
            let bad = self.failed.iter().find(|(c, _, _)| *c == id);
            let bad_n = bad.map_or(0, |(_, n, _)| *n);
            assert!(
                ok > 0 && bad_n * 10 <= ok + bad_n,
                "{id}: {ok} generated records read back, {bad_n} did not (first: {})",
                bad.map_or("", |(_, _, e)| e.as_str())
            );
        }
    }
}

/// One generated case.
pub struct Case {
    pub seed: u64,
    pub os: OsFamily,
    /// In collection order, with where each sits in its member.
    pub records: Vec<(RecordAt, Record)>,
    pub manifest: Manifest,
}

fn schema_of<'a>(shared: &'a Shared, name: &str) -> &'a Value {
    &shared
        .schemas
        .iter()
        .find(|d| d.name == name)
        .unwrap_or_else(|| panic!("no schema {name}"))
        .schema
}

pub fn generate_case(shared: &Shared, g: &mut Gen, seed: u64, stats: &mut ParseStats) -> Case {
    let os = *g.rng.pick(OsFamily::ALL);
    let mut records = Vec::new();
    for &id in CollectorId::ALL {
        let schema = schema_of(shared, id.as_str());
        let from = FromSchema::new(schema);
        let n = if g.rng.one_in(5) {
            0
        } else {
            1 + g.rng.below(5)
        };
        let mut line = 0;
        for _ in 0..n {
            let v = from.value(g, schema);
            let json = serde_json::to_vec(&v).expect("a generated value serializes");
            let parsed = registry::parse_line(id, &json);
            stats.note(id, &json, &parsed);
            if let Ok(rec) = parsed {
                line += 1;
                records.push((RecordAt::new(id, line), rec));
            }
        }
    }
    let schema = schema_of(shared, "manifest");
    let v = FromSchema::new(schema).value(g, schema);
    let mut manifest: Manifest = match serde_json::from_value(v) {
        Ok(m) => m,
        Err(e) => panic!("generated manifest does not read back (seed {seed:#x}): {e}"),
    };
    match &mut manifest.source {
        SourceDescription::Live { os: o } | SourceDescription::OfflineRoot { os: o, .. } => *o = os,
    }
    Case {
        seed,
        os,
        records,
        manifest,
    }
}

/// Findings no rule would write, for the writers: hostile text in every field.
fn synthetic_findings(g: &mut Gen, n: usize) -> Vec<Finding> {
    const SEVERITIES: &[Severity] = &[
        Severity::Informational,
        Severity::Low,
        Severity::Medium,
        Severity::High,
        Severity::Critical,
    ];
    const KINDS: &[ObservationKind] = &[
        ObservationKind::Process,
        ObservationKind::ProcessEvent,
        ObservationKind::ScriptBlock,
        ObservationKind::HistoryCommand,
        ObservationKind::TaskAction,
        ObservationKind::CronCommand,
    ];
    (0..n)
        .map(|_| {
            let mut ev = EvidenceRef::new(g.text(), g.rng.next() % 1000);
            if g.rng.one_in(2) {
                ev = ev.source_path(g.text());
            }
            Finding {
                rule_id: g.text(),
                title: g.text(),
                description: g.text(),
                techniques: vec![g.short(), "T1059.001".into()],
                tactic: Tactic::Execution,
                tactic_id: g.short(),
                severity: *g.rng.pick(SEVERITIES),
                observation_kind: *g.rng.pick(KINDS),
                summary: g.text(),
                evidence: vec![ev, EvidenceRef::new("records/processes.jsonl", 1)],
                occurrences: g.rng.next(),
                matched: (0..g.rng.below(4))
                    .map(|_| MatchedValue {
                        field: g.short(),
                        value: g.text(),
                    })
                    .collect(),
                decoded: g.rng.one_in(2).then(|| DecodedPayload {
                    method: g.short(),
                    original: g.text(),
                    decoded: g.text(),
                }),
                rule_origin: g.text(),
                context: FindingContext {
                    first_seen: g.rng.one_in(2).then(chrono::Utc::now),
                    last_seen: g.rng.one_in(2).then(chrono::Utc::now),
                    host: g.rng.one_in(2).then(|| g.text()),
                    user: g.rng.one_in(2).then(|| g.text()),
                    pid: g.rng.one_in(2).then(|| g.rng.next() as u32),
                    ppid: g.rng.one_in(2).then(|| g.rng.next() as u32),
                    image: g.rng.one_in(2).then(|| g.text()),
                    parent_image: g.rng.one_in(2).then(|| g.text()),
                    command_line: g.rng.one_in(2).then(|| g.text()),
                    channel: g.rng.one_in(2).then(|| g.text()),
                    event_id: g.rng.one_in(2).then(|| g.rng.next() as u32),
                    hosts: (0..g.rng.below(3)).map(|_| g.text()).collect(),
                    users: (0..g.rng.below(3)).map(|_| g.text()).collect(),
                },
            }
        })
        .collect()
}

// ---- the stages -----------------------------------------------------------------------------

pub fn run_case(shared: &Shared, guard: &mut Guard, stats: &mut ParseStats, seed: u64, tmp: &Path) {
    let mut g = Gen::new(seed);
    let Some(case) = guard.run("generate", seed, || {
        generate_case(shared, &mut g, seed, stats)
    }) else {
        return;
    };
    run_stages(shared, guard, &case, &mut g, tmp);
}

/// Every stage on one case; `g` draws the synthetic findings and the archive's options.
pub fn run_stages(shared: &Shared, guard: &mut Guard, case: &Case, g: &mut Gen, tmp: &Path) {
    let seed = case.seed;
    // Detection, record by record as `collect` feeds it, then the snapshot's joins.
    let findings = guard
        .run("detection", seed, || detect(shared, case))
        .unwrap_or_default();

    // The timeline, the same way; its lines must be JSON.
    let timeline = guard
        .run("timeline", seed, || {
            let data = timeline(case);
            for (i, line) in data.split(|b| *b == b'\n').enumerate() {
                if !line.is_empty() {
                    let v: Result<Value, _> = serde_json::from_slice(line);
                    assert!(v.is_ok(), "timeline line {} is not JSON", i + 1);
                }
            }
            data
        })
        .unwrap_or_default();

    // The writers, on the real findings plus hostile ones.
    let processes: Vec<ProcessRecord> = case
        .records
        .iter()
        .filter_map(|(_, r)| match r {
            Record::Process(p) => Some(p.clone()),
            _ => None,
        })
        .collect();
    let mut all = findings.clone();
    let n = g.rng.below(4);
    all.items.extend(synthetic_findings(g, n));
    let data = irsnap::report::ReportData {
        manifest: case.manifest.clone(),
        processes,
        findings: all.items.clone(),
    };
    let html = guard.run("report html", seed, || {
        let html = irsnap::report::render_html(&data);
        checks::html(&html);
        html
    });
    let md = guard.run("report markdown", seed, || {
        let md = irsnap::report::render_markdown(&data);
        checks::markdown(&md);
        md
    });
    let jsonl = guard.run("report json", seed, || {
        let text = all.to_jsonl().expect("findings serialize");
        checks::findings_jsonl(&text, &all.items);
        text
    });

    // The archive: every record, the outputs above, the manifest last; it must verify.
    let dir = tmp.join(format!("{seed:x}"));
    std::fs::create_dir_all(&dir).unwrap();
    let with_timeline = g.rng.below(3) != 0;
    let part_size = if g.rng.one_in(3) { Some(4096) } else { None };
    let outputs = Outputs {
        timeline: with_timeline.then_some(timeline.as_slice()),
        findings: jsonl.as_deref(),
        html: html.as_deref(),
        md: md.as_deref(),
    };
    let Some(path) = guard.run("archive", seed, || {
        write_archive(&dir, case, &outputs, part_size)
    }) else {
        return;
    };
    guard.run("verify", seed, || {
        let report = irsnap::archive::verify::verify(&path, &Default::default())
            .expect("verify reads the archive");
        assert!(report.ok(), "the archive does not verify: {report:?}");
    });

    // The readers.
    guard.run("stack", seed, || {
        let opts = irsnap::stack::StackOptions::default();
        let r = irsnap::stack::stack(&[path.clone(), path.clone()], &opts, &Identities::none());
        assert!(
            r.skipped.is_empty(),
            "stack skipped our own archive: {:?}",
            r.skipped.first().map(|s| &s.error)
        );
        for e in &r.entries {
            serde_json::to_string(e).expect("a stack entry serializes");
        }
    });
    for (format, collector) in export_forms(g) {
        let label = match collector {
            Some(c) => format!("export {format:?} --collector {c}"),
            None => format!("export {format:?}"),
        };
        guard.run(&label, seed, || {
            let out = dir.join("export.out");
            let args = ExportArgs {
                archive: path.clone(),
                identity: Vec::new(),
                format,
                output: Some(out.clone()),
                collector,
            };
            match irsnap::commands::export::run(&args) {
                Ok(_) => {}
                // Asking for a collector the archive has no records of is refused.
                Err(e) if collector.is_some() && format!("{e:#}").contains("has no records") => {
                    return;
                }
                Err(e) => panic!("export failed: {e:#}"),
            }
            let bytes = std::fs::read(&out).unwrap();
            match format {
                ExportFormat::Csv => checks::csv(&bytes),
                _ => checks::jsonl(&bytes),
            }
        });
    }
    for format in [ReportFormat::Html, ReportFormat::Md, ReportFormat::Json] {
        guard.run(&format!("report {format:?} from the archive"), seed, || {
            let out = dir.join("report.out");
            let args = ReportArgs {
                archive: path.clone(),
                identity: Vec::new(),
                format,
                output: Some(out.clone()),
            };
            irsnap::commands::report::run(&args).expect("report reads the archive");
            let text = std::fs::read_to_string(&out).unwrap();
            match format {
                ReportFormat::Html => checks::html(&text),
                ReportFormat::Md => checks::markdown(&text),
                ReportFormat::Json => {
                    let v: serde_json::Value =
                        serde_json::from_str(&text).expect("report --format json is one document");
                    assert!(v["findings"].is_array() && v["collectors"].is_array());
                }
            }
        });
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// The timeline always, plus one or two of the other forms.
fn export_forms(g: &mut Gen) -> Vec<(ExportFormat, Option<CollectorId>)> {
    let mut v = vec![(ExportFormat::Csv, None)];
    let c = *g.rng.pick(CollectorId::ALL);
    v.push(match g.rng.below(3) {
        0 => (ExportFormat::Csv, Some(c)),
        1 => (ExportFormat::Jsonl, None),
        _ => (ExportFormat::Timesketch, Some(c)),
    });
    // The ECS forms map every timeline fact and finding: all of them, every case.
    v.push(match g.rng.below(3) {
        0 => (ExportFormat::Ecs, None),
        1 => (ExportFormat::EsBulk, None),
        _ => (ExportFormat::SplunkHec, Some(c)),
    });
    v
}

fn detect(shared: &Shared, case: &Case) -> Findings {
    let mut a = Analysis::new(&shared.engine, Some(&shared.sigma), case.os);
    let mut observations = Vec::new();
    let mut last = None;
    for (at, rec) in &case.records {
        if let Some(l) = last
            && l != at.collector
        {
            a.end_collector(l);
        }
        last = Some(at.collector);
        observations.clear();
        registry::observe(rec, *at, &mut observations);
        a.record(rec, *at, std::mem::take(&mut observations));
    }
    if let Some(l) = last {
        a.end_collector(l);
    }
    a.finish()
}

fn timeline(case: &Case) -> Vec<u8> {
    let mut t = Timeline::new();
    let mut entries = Vec::new();
    let mut last = None;
    for (at, rec) in &case.records {
        if last.is_some_and(|l| l != at.collector) {
            t.end_collector();
        }
        last = Some(at.collector);
        entries.clear();
        registry::timeline_facts(rec, *at, t.state(), &mut entries);
        t.add(entries.drain(..));
    }
    t.into_jsonl()
}

struct Outputs<'a> {
    timeline: Option<&'a [u8]>,
    findings: Option<&'a str>,
    html: Option<&'a str>,
    md: Option<&'a str>,
}

fn write_archive(dir: &Path, case: &Case, out: &Outputs<'_>, part_size: Option<u64>) -> PathBuf {
    let name = format!("fuzz-{:x}.zip", case.seed);
    let mut w = ArchiveWriter::create(dir, &name, case.os).expect("create the archive");
    if let Some(p) = part_size {
        w.set_record_part_size(p);
    }
    let mut last = None;
    for (at, rec) in &case.records {
        if let Some(l) = last
            && l != at.collector
        {
            w.end_records_of(l).expect("end records");
        }
        last = Some(at.collector);
        let json = serde_json::to_vec(rec).expect("a record serializes");
        w.add_record(at.collector, &json).expect("add a record");
    }
    if let Some(l) = last {
        w.end_records_of(l).expect("end records");
    }
    if let Some(t) = out.timeline {
        w.add_bytes(irsnap::timeline::MEMBER, t, None)
            .expect("add the timeline");
    }
    for (name, text) in [
        ("findings.jsonl", out.findings),
        ("report.html", out.html),
        ("report.md", out.md),
    ] {
        if let Some(t) = text {
            w.add_bytes(name, t.as_bytes(), None).expect("add a member");
        }
    }
    w.finish(&case.manifest).expect("finish the archive").path
}

// ---- hostile text into the small public functions -------------------------------------------

pub fn text_case(guard: &mut Guard, seed: u64) {
    let mut g = Gen::new(seed);
    let size = if g.rng.one_in(50) {
        Size::Long
    } else if g.rng.one_in(3) {
        Size::Medium
    } else {
        Size::Short
    };
    let s = g.text_of(size);
    let image = g.rng.one_in(2).then(|| g.text_of(Size::Short));
    guard.run("stack normalize::shape", seed, || {
        for windows in [false, true] {
            let shape = irsnap::stack::normalize::shape(&s, windows);
            assert!(shape.chars().count() <= irsnap::stack::normalize::MAX_SHAPE_CHARS + 1);
        }
        irsnap::stack::normalize::cut(&s, g.rng.below(400));
    });
    guard.run("detect::decode", seed, || {
        use irsnap::detect::decode;
        let words = decode::split_command_line(&s);
        decode::parse_ps_switches(&words);
        decode::powershell_invocations(image.as_deref(), &s);
        decode::decode_command_line(image.as_deref(), &s);
        decode::decode_script_literals(&s, 8);
        decode::decode_base64(&s);
        decode::decode_encoded_command(&s);
    });
    guard.run("report::escape", seed, || {
        use irsnap::report::escape;
        let h = escape::html(&s);
        assert!(
            !h.contains('<') && !h.contains('>'),
            "html escape left markup"
        );
        let m = escape::markdown(&s);
        if let Some(e) = super::checks::markup_in_markdown(&format!("x {m}")) {
            panic!("markdown escape left markup: {e}");
        }
        for in_table in [false, true] {
            let c = escape::code(&s, in_table);
            if let Some(e) = super::checks::markup_in_markdown(&format!("x {c}")) {
                panic!("code span left markup: {e}");
            }
        }
        // Plain text reads back exactly out of its code span.
        let plain = !s.is_empty()
            && !s.trim().is_empty()
            && !s.chars().any(|c| c.is_control() || escape::is_invisible(c));
        if plain {
            let code = escape::code(&s, false);
            let read: String = pulldown_cmark::Parser::new(&code)
                .filter_map(|e| match e {
                    pulldown_cmark::Event::Code(t) => Some(t.into_string()),
                    _ => None,
                })
                .collect();
            assert_eq!(read, s, "a code span changed the text");
        }
        let (short, _) = escape::shorten(&s, g.rng.below(100));
        assert!(s.starts_with(&short));
        let t = irsnap::commands::term_safe(&s);
        assert!(!t.chars().any(char::is_control), "term_safe left a control");
    });
    guard.run("text helpers", seed, || {
        for _ in 0..8 {
            let i = g.rng.below(s.len() + 3);
            let f = irsnap::text::floor_char_boundary(&s, i);
            assert!(s.is_char_boundary(f) && f <= i.max(s.len()));
            let t = irsnap::text::truncate_to_boundary(&s, i);
            assert!(s.starts_with(t));
        }
        let pat = g.text_of(Size::Short);
        irsnap::text::glob::file_name_match(&pat, &s);
        irsnap::text::glob::star_match(&pat, &s);
        irsnap::text::entities::unescape(&s);
        irsnap::archive::names::sanitize_member(&s);
    });
}
