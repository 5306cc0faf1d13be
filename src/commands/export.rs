//! `irsnap export ARCHIVE --format csv|jsonl|timesketch`: hand an archive's timeline or
//! records to the tools analysts already run (Timesketch, a spreadsheet, jq, DuckDB). Reads
//! only the archive.
//!
//! - `timesketch`: `timeline.jsonl` as stored (built from the records for archives written
//!   before irsnap had a timeline), optionally one collector's lines only.
//! - `jsonl`: the records of every collector (or one), each line with `collector` and
//!   `host` fields.
//! - `csv`: the timeline, or with `--collector` that collector's records, one column per
//!   field (nested values as JSON text), with a header row and a `host` column.
//! - `ecs`, `es-bulk`, `splunk-hec`: the timeline's facts as Elastic Common Schema events and
//!   the findings as alerts (`crate::ecs`), plain, framed for `_bulk`, or in HEC envelopes.
//!
//! Every row names its host: an event's own `Computer` where it has one, else the host the
//! manifest names (an offline root's from its events), so rows of many archives can share
//! one index or table. Quoting follows RFC 4180; a cell
//!   starting with `=`, `+`, `-`, `@`, tab or CR gets a leading `'` so that a spreadsheet
//!   shows it instead of running it (OWASP "CSV Injection"): command lines are attacker text.
//!
//! A record line that cannot be read is skipped with a message, and the exit code is 2.

use super::report::{ArchiveZip, manifest, member, open_archive};
use crate::cli::{ExportArgs, ExportFormat};
use crate::ecs::{EcsHost, EcsWrap};
use crate::ids::{CollectorId, RecordAt};
use crate::outcome::Exit;
use crate::report::escape::is_invisible;
use crate::timeline::{self, Timeline};
use anyhow::Context;
use serde_json::{Map, Value};
use std::borrow::Cow;
use std::collections::HashSet;
use std::io::Write;

pub fn run(args: &ExportArgs) -> anyhow::Result<Exit> {
    match export(args) {
        // `irsnap export ... | head`: the reader has what it wanted.
        Err(e) if is_broken_pipe(&e) => Ok(Exit::Success),
        r => r,
    }
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

fn export(args: &ExportArgs) -> anyhow::Result<Exit> {
    let identities = crate::archive::Identities::load(&args.identity)?;
    let mut zip = open_archive(&args.archive, &identities)?;
    let out: Box<dyn Write> = match &args.output {
        Some(p) => Box::new(std::io::BufWriter::new(
            std::fs::File::create(p).with_context(|| format!("creating {}", p.display()))?,
        )),
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    };
    let host = host_of(&mut zip, &args.archive);
    // JSON lines: C1 controls and bidi characters as escapes (the same values); CSV cells
    // escape their own.
    let mut out: Box<dyn Write> = match args.format {
        ExportFormat::Csv => out,
        ExportFormat::Jsonl
        | ExportFormat::Timesketch
        | ExportFormat::Ecs
        | ExportFormat::EsBulk
        | ExportFormat::SplunkHec => Box::new(super::safe_json::JsonSafeWriter::new(out)),
    };
    let skipped = match (args.format, args.collector) {
        (ExportFormat::Timesketch, only) => {
            let (data, skipped) = timeline_jsonl(&mut zip, only)?;
            let (data, bad) = with_host(&data, &host, timeline::MEMBER);
            out.write_all(&data)?;
            skipped + bad
        }
        (ExportFormat::Jsonl, only) => records_jsonl(&mut zip, only, &host, &mut out)?,
        (ExportFormat::Ecs, only) => ecs(&mut zip, only, &host, EcsWrap::Plain, &mut out)?,
        (ExportFormat::EsBulk, only) => ecs(&mut zip, only, &host, EcsWrap::Bulk, &mut out)?,
        (ExportFormat::SplunkHec, only) => {
            ecs(&mut zip, only, &host, EcsWrap::SplunkHec, &mut out)?
        }
        (ExportFormat::Csv, None) => {
            let (data, skipped) = timeline_jsonl(&mut zip, None)?;
            let (data, _) = with_host(&data, &host, timeline::MEMBER);
            let mut columns = timeline::COLUMNS.to_vec();
            columns.insert(1, "host");
            skipped + jsonl_to_csv(&data, &columns, "timeline", &mut out)?
        }
        (ExportFormat::Csv, Some(c)) => {
            let mut skipped = 0;
            let members = records_members(&mut zip, Some(c));
            let Some((_, name)) = members.first() else {
                anyhow::bail!("the archive has no records of {c}");
            };
            let data =
                member(&mut zip, name)?.with_context(|| format!("the archive has no {name}"))?;
            let (data, _) = with_host(&data, &host, name);
            skipped += jsonl_to_csv(&data, &["host"], name, &mut out)?;
            skipped
        }
    };
    out.flush().context("writing the export")?;
    if skipped > 0 {
        eprintln!("irsnap: {skipped} unreadable lines were left out of the export");
        return Ok(Exit::Partial);
    }
    Ok(Exit::Success)
}

/// The records members, in collection order: as the manifest lists them, or by their
/// standard names when the manifest cannot be read (a damaged archive is still exported).
fn records_members(zip: &mut ArchiveZip, only: Option<CollectorId>) -> Vec<(CollectorId, String)> {
    let listed: Vec<(CollectorId, String)> = match manifest(zip) {
        Ok(m) => m
            .members
            .iter()
            .filter_map(|e| {
                let (c, _) = RecordAt::parse_member(&e.path)?;
                (e.collector == Some(c)).then(|| (c, e.path.clone()))
            })
            .collect(),
        Err(e) => {
            eprintln!(
                "irsnap: warning: {}; reading records/<collector>.jsonl by name",
                super::term_safe(&format!("{e:#}"))
            );
            CollectorId::ALL
                .iter()
                .map(|c| (*c, format!("records/{}.jsonl", c.as_str())))
                .collect()
        }
    };
    listed
        .into_iter()
        .filter(|(c, _)| only.is_none_or(|o| o == *c))
        .collect()
}

/// Non-blank lines with their 1-based numbers.
fn lines(data: &[u8]) -> impl Iterator<Item = (usize, &[u8])> {
    data.split(|&b| b == b'\n')
        .enumerate()
        .map(|(i, l)| (i + 1, l.strip_suffix(b"\r").unwrap_or(l)))
        .filter(|(_, l)| !l.iter().all(u8::is_ascii_whitespace))
}

fn skip_line(name: &str, line: usize, e: &serde_json::Error) {
    eprintln!("irsnap: {name} line {line} skipped: {e}");
}

/// `timeline.jsonl` (one collector's lines, when asked), or the timeline built from the
/// records of an archive that has none. Returns the lines and how many were unreadable.
fn timeline_jsonl(
    zip: &mut ArchiveZip,
    only: Option<CollectorId>,
) -> anyhow::Result<(Vec<u8>, u64)> {
    if let Some(data) = member(zip, timeline::MEMBER)? {
        let Some(c) = only else {
            return Ok((data, 0));
        };
        let mut out = Vec::new();
        let mut skipped = 0;
        for (n, line) in lines(&data) {
            match serde_json::from_slice::<Value>(line) {
                Ok(v) if v["collector"] == c.as_str() => {
                    out.extend_from_slice(line);
                    out.push(b'\n');
                }
                Ok(_) => {}
                Err(e) => {
                    skip_line(timeline::MEMBER, n, &e);
                    skipped += 1;
                }
            }
        }
        return Ok((out, skipped));
    }
    // Archives written before irsnap had a timeline: rebuilt through the registration
    // table, as `collect` builds it.
    let mut t = Timeline::new();
    let mut last: Option<CollectorId> = None;
    for (c, name) in records_members(zip, only) {
        let part = RecordAt::parse_member(&name).map_or(1, |(_, p)| p);
        if last.is_some_and(|l| l != c) {
            t.end_collector();
        }
        last = Some(c);
        if let Some(data) = member(zip, &name)? {
            crate::registry::timeline_from_jsonl(&mut t, c, part, &data);
        }
    }
    let stats = t.stats().clone();
    if let Some(e) = &stats.first_error {
        eprintln!("irsnap: {}", super::term_safe(e));
    }
    Ok((t.into_jsonl(), stats.unreadable))
}

/// The host the archive describes, for ECS documents and the `host` of every row. A damaged
/// manifest leaves it nameless rather than stopping the export.
fn host_of(zip: &mut ArchiveZip, archive: &std::path::Path) -> EcsHost {
    let name = archive
        .file_name()
        .map(|n| n.to_string_lossy().into_owned());
    match manifest(zip) {
        Ok(m) => EcsHost::new(&m.host, &m.source, name),
        Err(_) => EcsHost::new(
            &crate::record::HostFacts::default(),
            &crate::record::SourceDescription::Live {
                os: crate::ids::OsFamily::Other,
            },
            name,
        ),
    }
}

/// JSON lines with `host` added to each (the line's own `computer` when it has one); lines
/// that are not JSON objects are left out and counted.
fn with_host(data: &[u8], host: &EcsHost, name: &str) -> (Vec<u8>, u64) {
    let mut out = Vec::with_capacity(data.len() + data.len() / 8);
    let mut bad = 0;
    for (n, line) in lines(data) {
        match serde_json::from_slice::<Map<String, Value>>(line) {
            Ok(mut m) => {
                let computer = m
                    .get("computer")
                    .and_then(Value::as_str)
                    .map(str::to_string);
                if let Some(h) = host.name_for(computer.as_deref()) {
                    m.entry("host")
                        .or_insert_with(|| Value::String(h.to_string()));
                }
                if serde_json::to_writer(&mut out, &m).is_ok() {
                    out.push(b'\n');
                }
            }
            Err(e) => {
                skip_line(name, n, &e);
                bad += 1;
            }
        }
    }
    (out, bad)
}

/// The timeline as ECS events, then (for the whole archive) the findings as alerts.
fn ecs(
    zip: &mut ArchiveZip,
    only: Option<CollectorId>,
    host: &EcsHost,
    wrap: EcsWrap,
    out: &mut dyn Write,
) -> anyhow::Result<u64> {
    let (data, mut skipped) = timeline_jsonl(zip, only)?;
    for (n, line) in lines(&data) {
        match serde_json::from_slice::<timeline::TimelineEntry>(line) {
            Ok(e) => crate::ecs::write_doc(out, &crate::ecs::event_doc(&e, host), wrap)?,
            Err(e) => {
                skip_line(timeline::MEMBER, n, &e);
                skipped += 1;
            }
        }
    }
    if only.is_some() {
        return Ok(skipped);
    }
    let started = manifest(zip)
        .map(|m| {
            m.started
                .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
        })
        .unwrap_or_default();
    let Some(findings) = member(zip, "findings.jsonl")? else {
        return Ok(skipped);
    };
    for (n, line) in lines(&findings) {
        match serde_json::from_slice::<Map<String, Value>>(line) {
            Ok(f) => crate::ecs::write_doc(out, &crate::ecs::alert_doc(&f, host, &started), wrap)?,
            Err(e) => {
                skip_line("findings.jsonl", n, &e);
                skipped += 1;
            }
        }
    }
    Ok(skipped)
}

/// Every record line of the chosen collectors, with `collector` and `host` first.
fn records_jsonl(
    zip: &mut ArchiveZip,
    only: Option<CollectorId>,
    host: &EcsHost,
    out: &mut dyn Write,
) -> anyhow::Result<u64> {
    let mut skipped = 0;
    for (c, name) in records_members(zip, only) {
        let Some(data) = member(zip, &name)? else {
            continue;
        };
        for (n, line) in lines(&data) {
            let rec = match serde_json::from_slice::<Map<String, Value>>(line) {
                Ok(r) => r,
                Err(e) => {
                    skip_line(&name, n, &e);
                    skipped += 1;
                    continue;
                }
            };
            // Records have no field of that name; should one appear, ours wins.
            let mut o = Map::with_capacity(rec.len() + 2);
            o.insert("collector".into(), Value::String(c.as_str().into()));
            let computer = rec
                .get("header")
                .and_then(|h| h.get("computer"))
                .or_else(|| rec.get("computer"))
                .and_then(Value::as_str);
            if let Some(h) = host.name_for(computer) {
                o.insert("host".into(), Value::String(h.to_string()));
            }
            o.extend(
                rec.into_iter()
                    .filter(|(k, _)| k != "collector" && k != "host"),
            );
            serde_json::to_writer(&mut *out, &o)?;
            out.write_all(b"\n")?;
        }
    }
    Ok(skipped)
}

/// JSON lines → CSV: `leading` columns first (always present, in that order), then every
/// other field in the order first seen. Two passes over the bytes instead of holding every
/// parsed line. Returns how many lines were unreadable.
fn jsonl_to_csv(
    data: &[u8],
    leading: &[&str],
    name: &str,
    out: &mut dyn Write,
) -> anyhow::Result<u64> {
    let mut columns: Vec<String> = leading.iter().map(|s| s.to_string()).collect();
    let mut seen: HashSet<String> = columns.iter().cloned().collect();
    let mut skipped = 0;
    for (n, line) in lines(data) {
        match serde_json::from_slice::<Map<String, Value>>(line) {
            Ok(m) => {
                // A new field goes right after the field before it in this line (first
                // when nothing precedes it), so the columns keep the records' field order
                // even when the first records lack optional fields.
                let mut after: Option<usize> = None;
                for k in m.keys() {
                    if seen.insert(k.clone()) {
                        let at = after.map_or(leading.len(), |i| i + 1).max(leading.len());
                        columns.insert(at, k.clone());
                        after = Some(at);
                    } else {
                        after = columns.iter().position(|c| c == k);
                    }
                }
            }
            Err(e) => {
                skip_line(name, n, &e);
                skipped += 1;
            }
        }
    }
    write_row(out, columns.iter().map(|c| Cow::Borrowed(c.as_str())))?;
    for (_, line) in lines(data) {
        let Ok(m) = serde_json::from_slice::<Map<String, Value>>(line) else {
            continue;
        };
        write_row(
            out,
            columns
                .iter()
                .map(|c| m.get(c).map(value_text).unwrap_or(Cow::Borrowed(""))),
        )?;
    }
    Ok(skipped)
}

/// A field as cell text: strings as they are, `null` empty, nested values as JSON.
fn value_text(v: &Value) -> Cow<'_, str> {
    match v {
        Value::Null => Cow::Borrowed(""),
        Value::String(s) => Cow::Borrowed(s),
        Value::Bool(b) => Cow::Owned(b.to_string()),
        Value::Number(n) => Cow::Owned(n.to_string()),
        other => Cow::Owned(other.to_string()),
    }
}

fn write_row<'a>(
    out: &mut dyn Write,
    cells: impl Iterator<Item = Cow<'a, str>>,
) -> std::io::Result<()> {
    for (i, c) in cells.enumerate() {
        if i > 0 {
            out.write_all(b",")?;
        }
        out.write_all(csv_cell(&c).as_bytes())?;
    }
    // RFC 4180 ends records with CRLF.
    out.write_all(b"\r\n")
}

/// What a spreadsheet may take for a cell separator: `,`, `;` (Excel's and LibreOffice's in
/// many European locales) and tab; a newline starts a row.
const SEPARATORS: [char; 4] = [',', ';', '\t', '\n'];

/// One CSV cell, safe however the file is opened:
/// - controls other than newline (ESC, BEL, CR, tab...) and invisible characters (bidi
///   overrides, zero-width) are written as `\u{1b}`-style escapes, never raw (a CSV printed
///   to a terminal must not drive it, and `invoice\u{202e}fdp.exe` must not read as `.pdf`);
/// - every piece that would start a cell under any separator (the cell's start, and what
///   follows each `,` `;` tab or newline, after blanks) and starts with `=` `+` `-` `@` gets
///   a `'` before it, so no locale sees a formula or a DDE payload; a lone `-` is left alone;
/// - a cell holding a separator or a quote is quoted (RFC 4180).
pub(crate) fn csv_cell(s: &str) -> Cow<'_, str> {
    let risky = |c: char| (c.is_control() && c != '\n') || is_invisible(c);
    let starts_formula = |rest: &str| {
        let piece = rest
            .trim_start_matches(' ')
            .split(SEPARATORS)
            .next()
            .unwrap_or("");
        piece.starts_with(['=', '+', '-', '@']) && piece != "-"
    };
    let needs_work = s.chars().any(risky)
        || starts_formula(s)
        || s.match_indices(SEPARATORS)
            .any(|(i, sep)| starts_formula(&s[i + sep.len()..]));
    let defused: Cow<str> = if needs_work {
        let mut out = String::with_capacity(s.len() + 8);
        let mut at_start = true;
        for (i, c) in s.char_indices() {
            if at_start && c != ' ' {
                if starts_formula(&s[i..]) {
                    out.push('\'');
                }
                at_start = false;
            }
            if risky(c) {
                out.push_str(&format!("\\u{{{:x}}}", c as u32));
            } else {
                out.push(c);
            }
            if SEPARATORS.contains(&c) {
                at_start = true;
            }
        }
        Cow::Owned(out)
    } else {
        Cow::Borrowed(s)
    };
    if defused.contains([',', ';', '"', '\n']) {
        Cow::Owned(format!("\"{}\"", defused.replace('"', "\"\"")))
    } else {
        defused
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_are_defused_and_quoted() {
        assert_eq!(csv_cell("=cmd|' /C calc'!A0"), "'=cmd|' /C calc'!A0");
        assert_eq!(csv_cell("@SUM(1+1)"), "'@SUM(1+1)");
        assert_eq!(csv_cell("-2+3"), "'-2+3");
        assert_eq!(csv_cell("+1"), "'+1");
        assert_eq!(csv_cell("\tx"), "\\u{9}x");
        assert_eq!(csv_cell("\rx"), "\\u{d}x");
        assert_eq!(
            csv_cell("=HYPERLINK(\"a,b\")"),
            "\"'=HYPERLINK(\"\"a,b\"\")\""
        );
        assert_eq!(csv_cell("a\nb"), "\"a\nb\"");
        assert_eq!(csv_cell("plain text"), "plain text");
        assert_eq!(csv_cell("a=b"), "a=b");
        // Issue 15: an empty value shown as a lone dash stays a dash.
        assert_eq!(csv_cell("-"), "-");
        assert_eq!(csv_cell("-x"), "'-x");
        assert_eq!(csv_cell(""), "");
    }

    #[test]
    fn csv_cells_hold_under_semicolon_and_tab_separators() {
        // Opened with `;` as the separator, what follows a `;` is a cell of its own.
        assert_eq!(
            csv_cell("x;=HYPERLINK(\"http://e\")"),
            "\"x;'=HYPERLINK(\"\"http://e\"\")\""
        );
        assert_eq!(
            csv_cell("a,b; @SUM(1);-2+3, +cmd|'/C calc'!A0"),
            "\"a,b; '@SUM(1);'-2+3, '+cmd|'/C calc'!A0\""
        );
        assert_eq!(csv_cell("ok;-;fine"), "\"ok;-;fine\"");
        assert_eq!(csv_cell("line\n=1+1"), "\"line\n'=1+1\"");
        assert_eq!(csv_cell("a;b"), "\"a;b\"");
        // Every piece, split by any separator, is defused.
        for cell in ["=1;=2", "x\t=1", ";=1", "1,@x;+y\n-z"] {
            let out = csv_cell(cell).into_owned();
            let inner = out.trim_matches('"').replace("\"\"", "\"");
            for piece in inner.split(SEPARATORS) {
                let p = piece.trim_start_matches(' ');
                assert!(!p.starts_with(['=', '+', '-', '@']), "{cell:?} -> {out:?}");
            }
        }
    }

    #[test]
    fn csv_cells_carry_no_raw_controls_or_bidi() {
        let out = csv_cell("\u{1b}]0;title\u{7}\u{1b}[31mred\rinvoice\u{202e}fdp.exe\u{200b}");
        assert!(
            !out.chars()
                .any(|c| (c.is_control() && c != '\n') || is_invisible(c))
        );
        assert_eq!(
            out,
            "\"\\u{1b}]0;title\\u{7}\\u{1b}[31mred\\u{d}invoice\\u{202e}fdp.exe\\u{200b}\""
        );
    }

    #[test]
    fn jsonl_becomes_csv_with_a_header_and_json_text_for_nested_values() {
        let data = b"{\"a\":1,\"b\":[1,2]}\n{\"c\":\"x,y\",\"a\":null}\nnot json\n{\"a\":2,\"d\":3,\"b\":4}\n";
        let mut out = Vec::new();
        let skipped = jsonl_to_csv(data, &["z"], "t", &mut out).unwrap();
        assert_eq!(skipped, 1);
        let text = String::from_utf8(out).unwrap();
        let rows: Vec<&str> = text.split("\r\n").collect();
        // `d` comes after `a` as in the line that has it; `c` was first in its line.
        assert_eq!(rows[0], "z,c,a,d,b");
        assert_eq!(rows[1], ",,1,,\"[1,2]\"");
        assert_eq!(rows[2], ",\"x,y\",,,");
        assert_eq!(rows[3], ",,2,3,4");
        assert_eq!(
            rows.len(),
            5,
            "three rows, a header and the final empty split"
        );
    }
}
