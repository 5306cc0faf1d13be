//! `irsnap hunt ARCHIVE...`: detection again over archives already collected, when the rules
//! changed (a new SigmaHQ checkout, a rule written for this case) and the host may be gone.
//! Every record line is read back through the registry exactly as the collection handed it to
//! detection (same observations, same record lines as evidence), the copied scripts' first
//! bytes are judged again, and the results go beside the archive in `<archive>.hunt/`:
//! `findings.jsonl`, `report.html`, `report.md`, and `hunt.json` saying which rules ran over
//! what. The archive itself is only read, so its sidecar and signatures keep verifying.

use super::collect::{print_top_rules, severity_name};
use super::report::{ArchiveZip, manifest, member, open_archive};
use super::term_safe;
use crate::archive::Identities;
use crate::archive::manifest::Manifest;
use crate::cli::HuntArgs;
use crate::detect::analysis::Analysis;
use crate::detect::{Engine, Findings, RuleSummary};
use crate::ids::{CollectorId, OsFamily, RecordAt};
use crate::outcome::Exit;
use crate::record::{ProcessRecord, Record, SourceDescription};
use crate::report::{ReportData, render_html, render_markdown};
use crate::sigma::RuleSet;
use anyhow::{Context, bail};
use serde::Serialize;
use std::collections::BTreeMap;
use std::io::{BufRead, Read};
use std::path::{Path, PathBuf};

/// Bytes of one copied script judged again, and of all of them in one archive: the
/// collection's own defaults (temp_scripts `scan_bytes_per_file`, `max_scan_bytes`).
const SCAN_BYTES_PER_FILE: u64 = 64 * 1024;
const MAX_SCAN_BYTES: u64 = 64 * 1024 * 1024;
/// Bytes of one record line read; a longer line is counted as unreadable (the collector
/// never writes one: records are capped far below).
const MAX_LINE: u64 = 64 * 1024 * 1024;
/// Rules listed per archive in the text summary.
const TOP_RULES: usize = 5;

/// What one archive's hunt found, as `hunt.json` and the `--json` output carry it.
#[derive(Serialize)]
struct HuntSummary {
    archive: String,
    archive_sha256: String,
    host: Option<String>,
    results: String,
    tool_version: &'static str,
    hunted_at: crate::record::Timestamp,
    builtin_rules: usize,
    rule_files: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sigma: Option<SigmaUsed>,
    records_read: u64,
    /// Record lines that did not parse (a newer or damaged archive); each is skipped.
    records_unreadable: u64,
    scripts_rescanned: u64,
    findings: BTreeMap<&'static str, usize>,
    /// What the archive's own findings.jsonl held, for "what do the new rules add".
    findings_at_collection: BTreeMap<&'static str, usize>,
    top_rules: Vec<RuleSummary>,
}

#[derive(Serialize)]
struct SigmaUsed {
    dir: String,
    loaded: usize,
    not_evaluable: usize,
    invalid: usize,
}

pub fn run(args: &HuntArgs) -> anyhow::Result<Exit> {
    let mut extra = Vec::new();
    for p in &args.rules {
        let text = std::fs::read_to_string(p)
            .with_context(|| format!("cannot read rule file {}", p.display()))?;
        extra.push((p.display().to_string(), text));
    }
    let engine = Engine::with_extra_rules(&extra)?;
    let sigma = match &args.sigma {
        Some(d) if !d.is_dir() => bail!("--sigma {}: not a directory of Sigma rules", d.display()),
        Some(d) => {
            let (set, report) = super::rules::load_sigma_dir(d);
            Some((d.clone(), set, report))
        }
        None => None,
    };
    if let Some(o) = &args.output
        && o.exists()
        && !o.is_dir()
    {
        bail!("--output {}: not a directory", o.display());
    }
    let identities = Identities::load(&args.identity)?;

    let mut paths = Vec::new();
    let mut problems = 0usize;
    for p in &args.archives {
        if p.is_dir() {
            match super::stack::archives_in(p) {
                Ok(found) if found.is_empty() => eprintln!(
                    "irsnap: warning: {}: no .zip archives in this directory",
                    term_safe(&p.display().to_string())
                ),
                Ok(found) => paths.extend(found),
                Err(e) => {
                    eprintln!(
                        "irsnap: skipped {}: {}",
                        term_safe(&p.display().to_string()),
                        term_safe(&e.to_string())
                    );
                    problems += 1;
                }
            }
        } else {
            paths.push(p.clone());
        }
    }

    let ctx = Hunt {
        engine: &engine,
        sigma: sigma.as_ref().map(|(d, set, report)| {
            (
                set,
                SigmaUsed {
                    dir: d.display().to_string(),
                    loaded: report.loaded,
                    not_evaluable: report.unsupported.len(),
                    invalid: report.errors.len(),
                },
            )
        }),
        rule_files: args.rules.iter().map(|p| p.display().to_string()).collect(),
        identities: &identities,
        output: args.output.as_deref(),
    };
    let mut summaries = Vec::new();
    for path in &paths {
        // One archive failing (damaged, wrong key, a bug) never costs the others.
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| ctx.one(path)))
            .unwrap_or_else(|p| {
                let what = p
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| p.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_default();
                Err(anyhow::anyhow!("hunt panicked: {what}"))
            });
        match result {
            Ok(s) => {
                if !args.json {
                    print_summary(&s);
                }
                summaries.push(s);
            }
            Err(e) => {
                eprintln!(
                    "irsnap: skipped {}: {}",
                    term_safe(&path.display().to_string()),
                    term_safe(&format!("{e:#}"))
                );
                problems += 1;
            }
        }
    }
    if args.json {
        outln!(
            "{}",
            super::safe_json::json_safe(&serde_json::to_string_pretty(&summaries)?)
        );
    }
    Ok(if problems > 0 {
        Exit::Partial
    } else {
        Exit::Success
    })
}

struct Hunt<'a> {
    engine: &'a Engine,
    sigma: Option<(&'a RuleSet, SigmaUsed)>,
    rule_files: Vec<String>,
    identities: &'a Identities,
    output: Option<&'a Path>,
}

fn os_of(m: &Manifest) -> OsFamily {
    match m.source {
        SourceDescription::Live { os } | SourceDescription::OfflineRoot { os, .. } => os,
    }
}

fn counts(f: &[crate::detect::Finding]) -> BTreeMap<&'static str, usize> {
    let mut m = BTreeMap::new();
    for x in f {
        *m.entry(severity_name(x.severity)).or_insert(0) += 1;
    }
    m
}

/// A copied script to judge once its collector's member has been read.
struct Pending {
    at: RecordAt,
    path: String,
    member: String,
    sha256: Option<crate::record::Sha256>,
}

impl Hunt<'_> {
    fn one(&self, path: &Path) -> anyhow::Result<HuntSummary> {
        let archive_sha256 = sha256_file(path)?;
        let mut zip = open_archive(path, self.identities)?;
        let manifest = manifest(&mut zip)?;
        let before: Vec<crate::detect::Finding> = match member(&mut zip, "findings.jsonl")? {
            Some(d) => super::report::jsonl(&d, "findings.jsonl").unwrap_or_default(),
            None => Vec::new(),
        };
        let mut analysis = Analysis::new(
            self.engine,
            self.sigma.as_ref().map(|s| s.0),
            os_of(&manifest),
        );
        let mut processes: Vec<ProcessRecord> = Vec::new();
        let (mut read, mut unreadable, mut rescanned) = (0u64, 0u64, 0u64);
        let mut scan_left = MAX_SCAN_BYTES;
        for &id in CollectorId::ALL {
            let mut pending = Vec::new();
            for part in 1u32.. {
                let name = RecordAt {
                    collector: id,
                    part,
                    line: 0,
                }
                .member();
                let entry = match zip.by_name(&name) {
                    Ok(e) => e,
                    Err(zip::result::ZipError::FileNotFound) => break,
                    Err(e) => return Err(e).with_context(|| format!("reading {name}")),
                };
                let mut lines = std::io::BufReader::new(entry);
                let mut buf = Vec::new();
                for n in 1u64.. {
                    buf.clear();
                    let got = (&mut lines)
                        .take(MAX_LINE)
                        .read_until(b'\n', &mut buf)
                        .with_context(|| format!("reading {name}"))?;
                    if got == 0 {
                        break;
                    }
                    if buf.iter().all(u8::is_ascii_whitespace) {
                        continue;
                    }
                    let at = RecordAt {
                        collector: id,
                        part,
                        line: n,
                    };
                    let Ok(rec) = crate::registry::parse_line(id, &buf) else {
                        unreadable += 1;
                        if buf.last() != Some(&b'\n') {
                            // A line past MAX_LINE: skip the rest of it.
                            let mut rest = Vec::new();
                            let _ = lines.read_until(b'\n', &mut rest);
                        }
                        continue;
                    };
                    read += 1;
                    let mut obs = Vec::new();
                    crate::registry::observe(&rec, at, &mut obs);
                    analysis.record(&rec, at, obs);
                    match rec {
                        Record::Process(p) => processes.push(p),
                        Record::TempFile(t)
                            if crate::collectors::temp_scripts::is_script(t.detected_type) =>
                        {
                            if let Some(m) = t.archive_member {
                                pending.push(Pending {
                                    at,
                                    path: t.path,
                                    member: m,
                                    sha256: t.sha256,
                                });
                            }
                        }
                        _ => {}
                    }
                }
            }
            for p in pending {
                if scan_left == 0 {
                    break;
                }
                let want = SCAN_BYTES_PER_FILE.min(scan_left);
                let Some(head) = head_of(&mut zip, &p.member, want) else {
                    continue;
                };
                scan_left = scan_left.saturating_sub(head.len() as u64);
                rescanned += 1;
                let text = crate::collectors::temp_scripts::script_text(&head);
                analysis.observe(crate::detect::records::staged_script(
                    p.at,
                    &p.path,
                    Some(&p.member),
                    p.sha256,
                    &text,
                ));
            }
            analysis.end_collector(id);
        }
        let mut findings: Findings = analysis.finish();
        let host = manifest
            .host
            .hostname
            .clone()
            .or_else(|| findings.logged_host.clone());
        if let Some(h) = &host {
            findings.default_host(h);
        }

        let dir = self.results_dir(path)?;
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
        let top_rules = findings.top_rules(TOP_RULES);
        let summary = HuntSummary {
            archive: path.display().to_string(),
            archive_sha256,
            host,
            results: dir.display().to_string(),
            tool_version: env!("CARGO_PKG_VERSION"),
            hunted_at: chrono::Utc::now(),
            builtin_rules: self.engine.rules().len(),
            rule_files: self.rule_files.clone(),
            sigma: self.sigma.as_ref().map(|(_, u)| SigmaUsed {
                dir: u.dir.clone(),
                loaded: u.loaded,
                not_evaluable: u.not_evaluable,
                invalid: u.invalid,
            }),
            records_read: read,
            records_unreadable: unreadable,
            scripts_rescanned: rescanned,
            findings: counts(&findings.items),
            findings_at_collection: counts(&before),
            top_rules,
        };
        let write = |name: &str, data: &[u8]| -> anyhow::Result<()> {
            let p = dir.join(name);
            std::fs::write(&p, data).with_context(|| format!("cannot write {}", p.display()))
        };
        write("findings.jsonl", findings.to_jsonl()?.as_bytes())?;
        let data = ReportData {
            manifest,
            processes,
            findings: findings.items,
        };
        write("report.html", render_html(&data).as_bytes())?;
        write("report.md", render_markdown(&data).as_bytes())?;
        write(
            "hunt.json",
            format!("{}\n", serde_json::to_string_pretty(&summary)?).as_bytes(),
        )?;
        Ok(summary)
    }

    /// `<output or the archive's directory>/<archive file name>.hunt`.
    fn results_dir(&self, archive: &Path) -> anyhow::Result<PathBuf> {
        let name = archive
            .file_name()
            .with_context(|| format!("{}: not a file name", archive.display()))?;
        let mut dir_name = name.to_os_string();
        dir_name.push(".hunt");
        let parent = match self.output {
            Some(o) => o.to_path_buf(),
            None => archive
                .parent()
                .map(Path::to_path_buf)
                .unwrap_or_else(|| PathBuf::from(".")),
        };
        Ok(parent.join(dir_name))
    }
}

/// The first `max` bytes of a member, `None` when it is missing or unreadable.
fn head_of(zip: &mut ArchiveZip, name: &str, max: u64) -> Option<Vec<u8>> {
    let entry = zip.by_name(name).ok()?;
    let mut head = Vec::new();
    entry.take(max).read_to_end(&mut head).ok()?;
    Some(head)
}

fn sha256_file(path: &Path) -> anyhow::Result<String> {
    use sha2::Digest;
    let mut f =
        std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut h = sha2::Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f
            .read(&mut buf)
            .with_context(|| format!("reading {}", path.display()))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(crate::record::Sha256(h.finalize().into()).to_hex())
}

fn print_summary(s: &HuntSummary) {
    let line = |m: &BTreeMap<&'static str, usize>| -> String {
        let order = ["critical", "high", "medium", "low", "informational"];
        let parts: Vec<String> = order
            .iter()
            .filter_map(|k| m.get(k).map(|n| format!("{n} {k}")))
            .collect();
        if parts.is_empty() {
            "none".into()
        } else {
            parts.join(", ")
        }
    };
    outln!("archive  {}", term_safe(&s.archive));
    outln!(
        "host     {}",
        term_safe(s.host.as_deref().unwrap_or("(unknown)"))
    );
    outln!(
        "read     {} records{}, {} copied scripts judged again",
        s.records_read,
        if s.records_unreadable > 0 {
            format!(" ({} lines unreadable, skipped)", s.records_unreadable)
        } else {
            String::new()
        },
        s.scripts_rescanned
    );
    outln!(
        "findings {} (at collection: {})",
        line(&s.findings),
        line(&s.findings_at_collection)
    );
    outln!("results  {}", term_safe(&s.results));
    print_top_rules(&s.top_rules);
    outln!();
}
