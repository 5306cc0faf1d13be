//! `irsnap stack ARCHIVE...`: least frequency of occurrence across hosts, rarest first, as a
//! table or as JSON Lines. Exit 0 when every archive was stacked whole, 2 when some archive
//! (or some record line) was skipped, 1 when no archive could be stacked at all.

use super::term_safe;
use crate::cli::StackArgs;
use crate::outcome::Exit;
use crate::stack::{StackEntry, StackOptions, StackResult, stack};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Hosts named under each row of the table (`--json` lists up to 20).
const TABLE_HOSTS: usize = 5;
/// Longest key shown in the table (`--json` has it whole).
const TABLE_KEY_CHARS: usize = 300;

/// Archives in a directory: `*.zip` and `*.zip.age`, sorted (sidecars and reports are not).
pub(crate) fn archives_in(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| {
            let name = p
                .file_name()
                .map(|n| n.to_string_lossy().to_lowercase())
                .unwrap_or_default();
            (name.ends_with(".zip") || name.ends_with(".zip.age")) && p.is_file()
        })
        .collect();
    out.sort();
    Ok(out)
}

pub fn run(args: &StackArgs) -> anyhow::Result<Exit> {
    let mut paths = Vec::new();
    let mut input_problems = 0usize;
    for p in &args.archives {
        if p.is_dir() {
            match archives_in(p) {
                Ok(found) if found.is_empty() => {
                    eprintln!(
                        "irsnap: warning: {}: no .zip archives in this directory",
                        term_safe(&p.display().to_string())
                    );
                }
                Ok(found) => paths.extend(found),
                Err(e) => {
                    eprintln!(
                        "irsnap: skipped {}: {}",
                        term_safe(&p.display().to_string()),
                        term_safe(&e.to_string())
                    );
                    input_problems += 1;
                }
            }
        } else {
            paths.push(p.clone());
        }
    }
    let opts = StackOptions {
        kinds: args.kind.clone(),
        ..StackOptions::default()
    };
    let identities = crate::archive::Identities::load(&args.identity)?;
    let result = stack(&paths, &opts, &identities);
    report_inputs(&result);

    let shown = result
        .entries
        .iter()
        .filter(|e| args.max_hosts.is_none_or(|m| e.host_count <= m))
        .filter(|e| !args.with_findings || e.finding.is_some())
        .take(args.top.unwrap_or(usize::MAX));
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let written = if args.json {
        write_jsonl(&mut out, shown)
    } else {
        write_table(&mut out, shown)
    }
    .and_then(|()| out.flush());
    match written {
        // `irsnap stack ... | head`: the reader has seen enough; not an error.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
        other => other?,
    }

    Ok(if result.archives.is_empty() {
        Exit::Failed
    } else if result.incomplete() || input_problems > 0 {
        Exit::Partial
    } else {
        Exit::Success
    })
}

/// What was read and what was not, on stderr (stdout carries only the stack).
fn report_inputs(result: &StackResult) {
    for s in &result.skipped {
        eprintln!("irsnap: skipped {}", term_safe(&s.error));
    }
    for a in &result.archives {
        if a.bad_lines > 0 {
            eprintln!(
                "irsnap: {}: {} record line(s) could not be read and were left out, e.g. {}",
                term_safe(&a.path.display().to_string()),
                a.bad_lines,
                term_safe(&a.bad_examples.join("; "))
            );
        }
        if a.keys_dropped > 0 {
            eprintln!(
                "irsnap: {}: too many distinct keys; {} occurrence(s) left out",
                term_safe(&a.path.display().to_string()),
                a.keys_dropped
            );
        }
    }
    eprintln!(
        "irsnap: stacked {} archive(s) from {} host(s); {} skipped; {} keys",
        result.archives.len(),
        result.host_count,
        result.skipped.len(),
        result.entries.len()
    );
}

fn write_jsonl<'a>(
    out: &mut impl Write,
    entries: impl Iterator<Item = &'a StackEntry>,
) -> std::io::Result<()> {
    for e in entries {
        let line = serde_json::to_string(e).map_err(std::io::Error::from)?;
        out.write_all(super::safe_json::json_safe(&line).as_bytes())?;
        out.write_all(b"\n")?;
    }
    Ok(())
}

fn write_table<'a>(
    out: &mut impl Write,
    entries: impl Iterator<Item = &'a StackEntry>,
) -> std::io::Result<()> {
    writeln!(
        out,
        "{:>5} {:>7} {:>7} {:<8}  {:<16}  KEY",
        "HOSTS", "COUNT", "PARENTS", "FINDING", "KIND"
    )?;
    for e in entries {
        let parents = match e.distinct_parents {
            Some(n) if e.distinct_parents_capped => format!("{n}+"),
            Some(n) => n.to_string(),
            None => "-".to_string(),
        };
        writeln!(
            out,
            "{:>5} {:>7} {:>7} {:<8}  {:<16}  {}",
            e.host_count,
            e.occurrences,
            parents,
            e.finding.map_or("-", |s| s.as_str()),
            e.kind.as_str(),
            term_safe(&crate::stack::normalize::cut(&e.key, TABLE_KEY_CHARS))
        )?;
        let mut on: Vec<String> = e
            .hosts
            .iter()
            .take(TABLE_HOSTS)
            .map(|h| format!("{} ({})", term_safe(&h.hostname), term_safe(&h.archive)))
            .collect();
        let named = on.len() as u64;
        if e.host_count > named {
            on.push(format!("+{} more", e.host_count - named));
        }
        writeln!(out, "{:>50}on: {}", "", on.join(", "))?;
        if e.host_count == 1
            && let Some(x) = &e.example
        {
            writeln!(out, "{:>50}e.g. {}", "", term_safe(x))?;
        }
    }
    Ok(())
}
