//! `irsnap collect`: turn the flags into a validated [`CollectConfig`] (every refusal happens
//! here, before anything is written), run the pipeline (`crate::pipeline`), and print what it
//! amounts to.

use super::{term_safe, usage};
use crate::archive::manifest::{CollectorReport, Manifest};
use crate::archive::{Recipients, SigningKey};
use crate::cli::CollectArgs;
use crate::config::{CollectConfig, parse_since, redact_secrets};
use crate::detect::Severity;
use crate::outcome::{Exit, RunStatus};
use crate::pipeline::{Interrupt, Outcome};
use crate::profile::Profile;
use crate::units::parse_duration;
use anyhow::{Context, bail};
use serde::Serialize;
use std::path::{Path, PathBuf};

/// `canonicalize` on Windows returns verbatim paths (`\\?\C:\...`); shown to a responder and
/// written in the manifest, the plain `C:\...` form is the one they expect.
fn plain(p: PathBuf) -> PathBuf {
    let s = p.to_string_lossy();
    match s.strip_prefix(r"\\?\") {
        Some(rest) if rest.as_bytes().get(1) == Some(&b':') => PathBuf::from(rest),
        _ => p,
    }
}

/// The absolute form of an output directory that may not exist yet: its deepest existing
/// ancestor resolved, the rest appended. Nothing is created.
fn resolve_output(p: &Path) -> anyhow::Result<(PathBuf, bool)> {
    if let Ok(c) = std::fs::canonicalize(p) {
        if !c.is_dir() {
            bail!("--output {}: exists and is not a directory", p.display());
        }
        return Ok((plain(c), false));
    }
    let mut rest = Vec::new();
    let mut cur = p.to_path_buf();
    loop {
        let parent = cur.parent().map(Path::to_path_buf);
        if let Some(name) = cur.file_name() {
            rest.push(name.to_os_string());
        }
        match parent {
            Some(par) if !par.as_os_str().is_empty() => {
                if let Ok(c) = std::fs::canonicalize(&par) {
                    if !c.is_dir() {
                        bail!(
                            "--output {}: {} is a file, not a directory",
                            p.display(),
                            par.display()
                        );
                    }
                    let mut out = plain(c);
                    for n in rest.iter().rev() {
                        out.push(n);
                    }
                    return Ok((out, true));
                }
                cur = par;
            }
            _ => {
                let mut out =
                    std::env::current_dir().context("cannot tell the current directory")?;
                for n in rest.iter().rev() {
                    out.push(n);
                }
                return Ok((out, true));
            }
        }
    }
}

/// The flags, checked and resolved into the run's configuration. The output directory is
/// created last, once everything else is known to be right: a refused run leaves no trace.
pub fn config(args: CollectArgs, command_line: Vec<String>) -> anyhow::Result<CollectConfig> {
    let encrypt_to = Recipients::parse(&args.encrypt_to).map_err(|e| usage("--encrypt-to", e))?;
    let sign = args.sign.as_deref().map(SigningKey::load).transpose()?;
    let since = args
        .since
        .as_deref()
        .map(|s| parse_since(s, chrono::Utc::now()))
        .transpose()
        .map_err(|e| usage("--since", e))?;
    let deadline = args
        .deadline
        .as_deref()
        .map(parse_duration)
        .transpose()
        .map_err(|e| usage("--deadline", e))?;
    let profile = Profile::load(&args.profile, |p| std::fs::read_to_string(p)).map_err(|e| {
        if e.is_unknown_name() {
            usage("--profile", e)
        } else {
            e.into()
        }
    })?;
    let (output_dir, missing) = resolve_output(&args.output)?;
    let root = match args.root {
        Some(r) => {
            let resolved = std::fs::canonicalize(&r)
                .map(plain)
                .with_context(|| format!("offline root {} is not accessible", r.display()))?;
            if !resolved.is_dir() {
                bail!(
                    "offline root {}: not a directory (give the folder a disk image is mounted \
                     on, or a folder laid out like a system drive)",
                    r.display()
                );
            }
            if output_dir.starts_with(&resolved) {
                bail!(
                    "the output directory {} is inside the offline root {}: irsnap never \
                     writes into the evidence; choose another --output",
                    output_dir.display(),
                    resolved.display()
                );
            }
            Some(resolved)
        }
        None => None,
    };
    let mut extra_rules = Vec::new();
    for p in &args.rules {
        let text = std::fs::read_to_string(p)
            .with_context(|| format!("cannot read rule file {}", p.display()))?;
        extra_rules.push((p.display().to_string(), text));
    }
    // Compiled once, now: refused with file, line and reason rather than after the collection.
    let engine = crate::detect::Engine::with_extra_rules(&extra_rules)?;
    if let Some(d) = &args.sigma
        && !d.is_dir()
    {
        bail!("--sigma {}: not a directory of Sigma rules", d.display());
    }
    let sigma = args.sigma.map(|dir| {
        let (set, report) = super::load_sigma_dir(&dir);
        crate::config::SigmaRules { dir, set, report }
    });
    if missing {
        std::fs::create_dir_all(&output_dir)
            .with_context(|| format!("cannot create output directory {}", output_dir.display()))?;
    }
    Ok(CollectConfig {
        created_output_dir: missing,
        engine,
        sigma,
        output_dir,
        case_id: args.case,
        examiner: args.examiner,
        notes: args.notes,
        root,
        root_os: args.root_os.map(super::os_family),
        profile,
        since,
        deadline,
        low_impact: args.low_impact,
        quiet: args.quiet,
        json: args.json,
        encrypt_to,
        sign,
        command_line: redact_secrets(command_line),
    })
}

#[derive(Serialize)]
struct JsonSummary<'a> {
    archive: String,
    sha256: String,
    status: RunStatus,
    exit_code: u8,
    /// Public keys the archive is encrypted to (absent: not encrypted).
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    encrypted_to: &'a [String],
    /// Fingerprint of the SSH key that signed it (absent: not signed).
    #[serde(skip_serializing_if = "Option::is_none")]
    signed_by: Option<&'a str>,
    collectors: &'a [CollectorReport],
    stages: &'a [crate::archive::manifest::StageReport],
    /// Findings by severity (`critical`, `high`...), for ranking hosts without opening
    /// their archives.
    findings: std::collections::BTreeMap<&'static str, usize>,
    /// The host as the archive names it, and the rules that fired most, for a fleet table.
    host: Option<&'a str>,
    top_rules: &'a [crate::detect::RuleSummary],
}

pub fn run(
    args: CollectArgs,
    command_line: Vec<String>,
    interrupt: &Interrupt,
) -> anyhow::Result<Exit> {
    let config = config(args, command_line)?;
    let outcome = match crate::pipeline::run(&config, interrupt) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("irsnap: error: {}", term_safe(&super::error_chain(&e)));
            return Ok(e.exit());
        }
    };
    print_outcome(&config, &outcome)?;
    Ok(outcome.exit)
}

fn print_outcome(config: &CollectConfig, o: &Outcome) -> anyhow::Result<()> {
    let m = &o.manifest;
    if let Some(e) = &o.finished.sidecar_error {
        eprintln!(
            "irsnap: warning: the archive is complete but its .sha256 sidecar could not be \
             written: {}",
            term_safe(e)
        );
    }
    if let Some(e) = &o.finished.signature_error {
        eprintln!(
            "irsnap: warning: the archive is complete and its manifest signed, but the \
             signature beside it (.sig) could not be written: {}",
            term_safe(e)
        );
    }
    if config.json {
        let summary = JsonSummary {
            archive: o.finished.path.display().to_string(),
            sha256: o.finished.sha256.to_hex(),
            status: m.status,
            exit_code: o.exit.code(),
            encrypted_to: config.encrypt_to.public_keys(),
            signed_by: m.signature.as_ref().map(|s| s.fingerprint.as_str()),
            collectors: &m.collectors,
            stages: &m.stages,
            findings: o
                .findings
                .iter()
                .map(|(s, n)| (severity_name(*s), *n))
                .collect(),
            host: m.host.hostname.as_deref(),
            top_rules: &o.top_rules,
        };
        outln!(
            "{}",
            super::safe_json::json_safe(&serde_json::to_string_pretty(&summary)?)
        );
    } else if config.quiet {
        outln!("{}", o.finished.path.display());
    } else {
        print_summary(m, o);
    }
    Ok(())
}

pub(crate) fn severity_name(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "critical",
        Severity::High => "high",
        Severity::Medium => "medium",
        Severity::Low => "low",
        Severity::Informational => "informational",
    }
}

/// Characters of a collector's note in the summary table; the whole text is in the manifest.
const NOTE_WIDTH: usize = 90;

fn print_summary(m: &Manifest, o: &Outcome) {
    let secs = (m.ended - m.started).num_milliseconds() as f64 / 1000.0;
    let f = &o.finished;
    outln!("archive  {}", term_safe(&f.path.display().to_string()));
    outln!("sha256   {}", f.sha256);
    outln!(
        "host     {}",
        term_safe(m.host.hostname.as_deref().unwrap_or("(unknown)"))
    );
    if let Some(e) = &m.encryption {
        outln!("age      encrypted to {}", e.recipients.join(", "));
    }
    if let Some(s) = &m.signature {
        outln!(
            "signed   {} (manifest.json.sig inside{})",
            s.fingerprint,
            if f.signature.is_some() {
                ", .sig beside"
            } else {
                ""
            }
        );
    }
    let gaps = m
        .collectors
        .iter()
        .fold(0u64, |n, r| n.saturating_add(r.error_count));
    let gap_note = match gaps {
        0 => String::new(),
        1 => " — 1 gap, listed in coverage".to_string(),
        n => format!(" — {n} gaps, listed in coverage"),
    };
    outln!(
        "status   {:?} (exit {}) in {secs:.2}s{gap_note}{}",
        m.status,
        o.exit.code(),
        if m.run_as.elevated {
            ""
        } else {
            " (not elevated: some data was not readable)"
        }
    );
    let findings: Vec<String> = o
        .findings
        .iter()
        .map(|(s, n)| format!("{n} {}", severity_name(*s)))
        .collect();
    outln!(
        "findings {}",
        if findings.is_empty() {
            "none".to_string()
        } else {
            findings.join(", ")
        }
    );
    outln!();
    outln!(
        "{:<18} {:<8} {:>8} {:>6} {:>9}  note",
        "collector",
        "status",
        "records",
        "files",
        "time"
    );
    for r in &m.collectors {
        let status = format!("{:?}", r.status).to_lowercase();
        let note = r.reason.as_deref().map(term_safe).unwrap_or_default();
        let note = crate::text::clip_words(&note, NOTE_WIDTH);
        outln!(
            "{:<18} {:<8} {:>8} {:>6} {:>8.2}s  {}",
            r.id.as_str(),
            status,
            r.records,
            r.files,
            r.duration_ms as f64 / 1000.0,
            note
        );
    }
    for s in m
        .stages
        .iter()
        .filter(|s| s.status != crate::outcome::CollectorStatus::Ok)
    {
        let status = format!("{:?}", s.status).to_lowercase();
        let note = s.reason.as_deref().map(term_safe).unwrap_or_default();
        let note = crate::text::clip_words(&note, NOTE_WIDTH);
        outln!(
            "{:<18} {:<8} {:>8} {:>6} {:>8.2}s  {}",
            format!("[{}]", s.stage.as_str()),
            status,
            "",
            "",
            s.duration_ms as f64 / 1000.0,
            note
        );
    }
    print_top_rules(&o.top_rules);
}

/// The rules that fired most, so a run with critical findings does not end like a clean one.
pub(crate) fn print_top_rules(top: &[crate::detect::RuleSummary]) {
    if top.is_empty() {
        return;
    }
    outln!();
    outln!("top findings (all in findings.jsonl and report.html)");
    for r in top {
        let span = match (r.first_seen, r.last_seen) {
            (Some(a), Some(b)) if a != b => format!(
                "{} .. {}",
                a.format("%Y-%m-%d %H:%M:%SZ"),
                b.format("%Y-%m-%d %H:%M:%SZ")
            ),
            (Some(a), _) => a.format("%Y-%m-%d %H:%M:%SZ").to_string(),
            _ => String::new(),
        };
        let example: String = term_safe(&r.example).chars().take(70).collect();
        outln!(
            "  {:<8} {} ({}, {} finding{}){}",
            severity_name(r.severity),
            term_safe(&r.title),
            r.techniques.join(" "),
            r.findings,
            if r.findings == 1 { "" } else { "s" },
            if span.is_empty() {
                String::new()
            } else {
                format!(" {span}")
            }
        );
        outln!("           {example}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verbatim_prefix_is_dropped_only_before_a_drive() {
        assert_eq!(plain(PathBuf::from(r"\\?\C:\x")), PathBuf::from(r"C:\x"));
        assert_eq!(
            plain(PathBuf::from(r"\\?\UNC\srv\s")),
            PathBuf::from(r"\\?\UNC\srv\s")
        );
        assert_eq!(plain(PathBuf::from("/tmp")), PathBuf::from("/tmp"));
    }

    #[test]
    fn a_missing_output_is_resolved_without_being_created() {
        let d = tempfile::tempdir().unwrap();
        let want = d.path().join("a/b");
        let (got, missing) = resolve_output(&want).unwrap();
        assert!(missing);
        assert!(got.ends_with("a/b"));
        assert!(!want.exists());
    }
}
