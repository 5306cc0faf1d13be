//! fish histories: the YAML-like `- cmd:` / `when:` / `paths:` records.

use super::context::{Ctx, decode_lossy, epoch, excerpt, raw_lines, strip_cr};
use super::model::HistoryWarning;

/// fish's YAML-ish unescape: only `\\` and `\n` are escapes.
fn fish_unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.peek() {
                Some('\\') => {
                    chars.next();
                    out.push('\\');
                }
                Some('n') => {
                    chars.next();
                    out.push('\n');
                }
                _ => out.push('\\'),
            }
        } else {
            out.push(c);
        }
    }
    out
}

pub(super) fn parse_fish(data: &[u8], ctx: &mut Ctx) {
    let mut have_entry = false;
    let mut in_paths = false;
    let mut last_ln = 1;
    for (ln, raw) in raw_lines(data) {
        last_ln = ln;
        let (line, lossy) = decode_lossy(strip_cr(raw));
        if lossy {
            ctx.warn(HistoryWarning::InvalidUtf8 { line: ln });
        }
        if let Some(rest) = line.strip_prefix("- cmd:") {
            let cmd = fish_unescape(rest.strip_prefix(' ').unwrap_or(rest));
            ctx.push(ln, cmd, lossy, None, None);
            have_entry = true;
            in_paths = false;
            continue;
        }
        if line.trim().is_empty() {
            continue;
        }
        let Some(entry) = ctx.last_mut().filter(|_| have_entry) else {
            ctx.warn(HistoryWarning::FishOrphanField {
                line: ln,
                text: excerpt(&line),
            });
            continue;
        };
        if lossy {
            entry.lossy_utf8 = true;
        }
        if let Some(v) = line.strip_prefix("  when:") {
            in_paths = false;
            let v = v.trim();
            match v.parse::<i64>().ok().and_then(epoch) {
                Some(ts) => entry.timestamp = Some(ts),
                None => ctx.warn(HistoryWarning::BadTimestamp {
                    line: ln,
                    text: excerpt(&line),
                }),
            }
        } else if line.trim_end() == "  paths:" {
            in_paths = true;
        } else if let Some(p) = line.strip_prefix("    - ").filter(|_| in_paths) {
            entry.paths.push(fish_unescape(p));
        } else {
            ctx.warn(HistoryWarning::FishUnexpectedLine {
                line: ln,
                text: excerpt(&line),
            });
        }
    }
    // fish ends every record with a newline; without it the last record was cut.
    if !data.is_empty() && !data.ends_with(b"\n") {
        ctx.warn(HistoryWarning::Truncated { line: last_ln });
    }
}
