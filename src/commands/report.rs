//! `irsnap report ARCHIVE`: regenerate the report from an archive on the analyst's machine.

use crate::archive::Identities;
use crate::archive::manifest::Manifest;
use crate::cli::{ReportArgs, ReportFormat};
use crate::outcome::Exit;
use crate::record::ProcessRecord;
use crate::report::{Finding, ReportData, render_html, render_markdown};
use anyhow::Context;
use std::io::{Read, Seek};
use std::path::Path;

/// An archive opened for reading by `report` and `export`: plain or age-encrypted.
pub(crate) type ArchiveZip = zip::ZipArchive<Box<dyn crate::archive::ReadSeek>>;

/// Open an archive for reading (plain, or age-encrypted with `identities`): the one place
/// `report` and `export` open archives.
pub(crate) fn open_archive(path: &Path, identities: &Identities) -> anyhow::Result<ArchiveZip> {
    Ok(crate::archive::open_archive(path, identities)?)
}

/// A member's bytes; `None` when the archive has no such member.
pub(crate) fn member<R: Read + Seek>(
    zip: &mut zip::ZipArchive<R>,
    name: &str,
) -> anyhow::Result<Option<Vec<u8>>> {
    match zip.by_name(name) {
        Ok(mut f) => {
            let mut buf = Vec::new();
            f.read_to_end(&mut buf)
                .with_context(|| format!("reading {name}"))?;
            Ok(Some(buf))
        }
        Err(zip::result::ZipError::FileNotFound) => Ok(None),
        Err(e) => Err(e).with_context(|| format!("reading {name}")),
    }
}

/// Every non-blank line of a JSON-lines member, parsed as `T`.
pub(crate) fn jsonl<T: serde::de::DeserializeOwned>(
    data: &[u8],
    name: &str,
) -> anyhow::Result<Vec<T>> {
    String::from_utf8_lossy(data)
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| serde_json::from_str(l).with_context(|| format!("{name} line {}", i + 1)))
        .collect()
}

/// The archive's manifest.
pub(crate) fn manifest<R: Read + Seek>(zip: &mut zip::ZipArchive<R>) -> anyhow::Result<Manifest> {
    serde_json::from_slice(
        &member(zip, "manifest.json")?.context("the archive has no manifest.json")?,
    )
    .context("manifest.json")
}

/// Read what a report needs from an archive (plain, or age-encrypted with `identities`).
pub fn load(path: &Path, identities: &Identities) -> anyhow::Result<ReportData> {
    let mut zip = open_archive(path, identities)?;
    let manifest = manifest(&mut zip)?;
    let mut processes: Vec<ProcessRecord> = Vec::new();
    for part in 1u32.. {
        let at = crate::ids::RecordAt {
            collector: crate::ids::CollectorId::Processes,
            part,
            line: 0,
        };
        let name = at.member();
        match member(&mut zip, &name)? {
            Some(d) => processes.extend(jsonl::<ProcessRecord>(&d, &name)?),
            None => break,
        }
    }
    let findings: Vec<Finding> = match member(&mut zip, "findings.jsonl")? {
        Some(d) => jsonl(&d, "findings.jsonl")?,
        None => Vec::new(),
    };
    Ok(ReportData {
        manifest,
        processes,
        findings,
    })
}

pub fn render(data: &ReportData, format: ReportFormat) -> anyhow::Result<String> {
    Ok(match format {
        ReportFormat::Html => render_html(data),
        ReportFormat::Md => render_markdown(data),
        ReportFormat::Json => {
            let mut s =
                super::safe_json::json_safe(&serde_json::to_string_pretty(&JsonReport::new(data))?)
                    .into_owned();
            s.push('\n');
            s
        }
    })
}

/// `report --format json`: one JSON document (not JSON lines) with what the HTML report's
/// first screen says and every finding, for `jq` and scripts.
#[derive(serde::Serialize)]
struct JsonReport<'a> {
    host: &'a crate::record::HostFacts,
    source: &'a crate::record::SourceDescription,
    status: crate::outcome::RunStatus,
    started: crate::record::Timestamp,
    ended: crate::record::Timestamp,
    /// Findings by severity (`critical`, `high`...).
    counts: std::collections::BTreeMap<&'static str, usize>,
    /// Every rule that fired, most severe and most frequent first.
    rules: Vec<crate::detect::RuleSummary>,
    collectors: Vec<JsonCoverage<'a>>,
    findings: &'a [Finding],
}

#[derive(serde::Serialize)]
struct JsonCoverage<'a> {
    id: crate::ids::CollectorId,
    status: crate::outcome::CollectorStatus,
    records: u64,
    files: u64,
    gaps: u64,
    cuts: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<&'a str>,
}

impl<'a> JsonReport<'a> {
    fn new(d: &'a ReportData) -> JsonReport<'a> {
        let m = &d.manifest;
        let mut counts = std::collections::BTreeMap::new();
        for f in &d.findings {
            *counts
                .entry(super::collect::severity_name(f.severity))
                .or_insert(0) += 1;
        }
        JsonReport {
            host: &m.host,
            source: &m.source,
            status: m.status,
            started: m.started,
            ended: m.ended,
            counts,
            rules: crate::detect::rule_summaries(&d.findings, usize::MAX),
            collectors: m
                .collectors
                .iter()
                .map(|c| JsonCoverage {
                    id: c.id,
                    status: c.status,
                    records: c.records,
                    files: c.files,
                    gaps: c.error_count,
                    cuts: c.cut_count,
                    reason: c.reason.as_deref(),
                })
                .collect(),
            findings: &d.findings,
        }
    }
}

pub fn run(args: &ReportArgs) -> anyhow::Result<Exit> {
    let identities = Identities::load(&args.identity)?;
    let data = load(&args.archive, &identities)?;
    let text = render(&data, args.format)?;
    match &args.output {
        Some(p) => std::fs::write(p, text).with_context(|| format!("writing {}", p.display()))?,
        None => out!("{text}"),
    }
    Ok(Exit::Success)
}
