//! bash (with `#epoch` timestamp lines), POSIX sh and mksh histories.

use chrono::{DateTime, Utc};

use super::context::{Ctx, decode_lossy, epoch, excerpt, raw_lines, strip_cr};
use super::model::HistoryWarning;

/// `#` followed only by digits: bash's timestamp line (HIST_TIMESTAMP_START, made strict).
fn bash_timestamp(line: &[u8]) -> Option<&[u8]> {
    let digits = line.strip_prefix(b"#")?;
    let digits = digits.strip_suffix(b" ").unwrap_or(digits);
    (!digits.is_empty() && digits.iter().all(u8::is_ascii_digit)).then_some(digits)
}

fn parse_epoch_digits(d: &[u8]) -> Option<DateTime<Utc>> {
    std::str::from_utf8(d)
        .ok()?
        .parse::<i64>()
        .ok()
        .and_then(epoch)
}

pub(super) fn parse_bash(data: &[u8], ctx: &mut Ctx) {
    struct Pending {
        line: usize,
        text: Vec<u8>,
        ts: Option<DateTime<Utc>>,
    }
    fn flush(p: Option<Pending>, ctx: &mut Ctx) {
        if let Some(mut p) = p {
            // Blank lines before the next timestamp are not part of the command.
            while p.text.last() == Some(&b'\n') {
                p.text.pop();
            }
            if p.text.is_empty() {
                return;
            }
            let (cmd, lossy) = decode_lossy(&p.text);
            if lossy {
                ctx.warn(HistoryWarning::InvalidUtf8 { line: p.line });
            }
            ctx.push(p.line, cmd, lossy, p.ts, None);
        }
    }
    let mut timestamped = false;
    let mut pending_ts: Option<Option<DateTime<Utc>>> = None;
    let mut cur: Option<Pending> = None;
    for (ln, raw) in raw_lines(data) {
        let line = strip_cr(raw);
        if let Some(d) = bash_timestamp(line) {
            flush(cur.take(), ctx);
            timestamped = true;
            let ts = parse_epoch_digits(d);
            if ts.is_none() {
                ctx.warn(HistoryWarning::BadTimestamp {
                    line: ln,
                    text: excerpt(&String::from_utf8_lossy(line)),
                });
            }
            pending_ts = Some(ts);
            continue;
        }
        if timestamped {
            match cur.as_mut() {
                Some(p) => {
                    p.text.push(b'\n');
                    p.text.extend_from_slice(line);
                }
                None => {
                    cur = Some(Pending {
                        line: ln,
                        text: line.to_vec(),
                        ts: pending_ts.take().flatten(),
                    });
                }
            }
        } else if !line.is_empty() {
            flush(
                Some(Pending {
                    line: ln,
                    text: line.to_vec(),
                    ts: None,
                }),
                ctx,
            );
        }
    }
    flush(cur, ctx);
}

pub(super) fn parse_sh(data: &[u8], ctx: &mut Ctx) {
    if let Some(body) = data.strip_prefix(b"\xAB\xCD") {
        ctx.warn(HistoryWarning::BinaryHistory {
            format: "mksh".into(),
        });
        parse_mksh(body, ctx);
        return;
    }
    // ksh93 (magic 0x81 0x01) keeps a binary file with NUL-terminated commands; other NUL-laden
    // files are handled the same way: split on NUL and newline, enough to see the commands.
    let binary = if let Some(rest) = data.strip_prefix(b"\x81\x01") {
        Some(("ksh93", rest))
    } else if data.contains(&0) {
        Some(("NUL-separated", data))
    } else {
        None
    };
    let Some((format, body)) = binary else {
        plain_lines(data, ctx);
        return;
    };
    ctx.warn(HistoryWarning::BinaryHistory {
        format: format.to_string(),
    });
    for (i, seg) in body.split(|&b| b == 0 || b == b'\n').enumerate() {
        let seg = strip_cr(seg);
        if seg.iter().all(|b| b.is_ascii_whitespace()) {
            continue;
        }
        let (cmd, lossy) = decode_lossy(seg);
        ctx.push(i + 1, cmd, lossy, None, None);
    }
}

/// pdksh/mksh/OpenBSD ksh binary history: after the 0xAB 0xCD magic, records of 0xFF, a 4-byte
/// big-endian line number, the command, NUL. `line_number` is the record's index in the file.
fn parse_mksh(body: &[u8], ctx: &mut Ctx) {
    let mut rest = body;
    let mut record = 0usize;
    while !rest.is_empty() {
        // Resynchronise on the next record marker after damage.
        let Some(pos) = rest.iter().position(|&b| b == 0xFF) else {
            break;
        };
        record += 1;
        let Some(after) = rest.get(pos + 5..) else {
            ctx.warn(HistoryWarning::Truncated { line: record });
            break;
        };
        let end = after.iter().position(|&b| b == 0).unwrap_or(after.len());
        let cmd = after.get(..end).unwrap_or(&[]);
        if after.get(end).is_none() {
            ctx.warn(HistoryWarning::Truncated { line: record });
        }
        if !cmd.is_empty() {
            let (cmd, lossy) = decode_lossy(cmd);
            ctx.push(record, cmd, lossy, None, None);
        }
        rest = after.get(end + 1..).unwrap_or(&[]);
    }
}

pub(super) fn plain_lines(data: &[u8], ctx: &mut Ctx) {
    for (ln, raw) in raw_lines(data) {
        let line = strip_cr(raw);
        if line.is_empty() {
            continue;
        }
        let (cmd, lossy) = decode_lossy(line);
        if lossy {
            ctx.warn(HistoryWarning::InvalidUtf8 { line: ln });
        }
        ctx.push(ln, cmd, lossy, None, None);
    }
}

/// libedit strvis(VIS_WHITE) decoding: `\NNN` octal and `\\`; other escapes kept as written.
pub(super) fn vis_unescape(s: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0usize;
    while let Some(&c) = s.get(i) {
        if c == b'\\' {
            let oct = s
                .get(i + 1..i + 4)
                .filter(|d| d.iter().all(|b| (b'0'..=b'7').contains(b)));
            if let Some(d) = oct {
                let v = d.iter().fold(0u32, |acc, &b| acc * 8 + u32::from(b - b'0'));
                if let Ok(byte) = u8::try_from(v) {
                    out.push(byte);
                    i += 4;
                    continue;
                }
            }
            if s.get(i + 1) == Some(&b'\\') {
                out.push(b'\\');
                i += 2;
                continue;
            }
        }
        out.push(c);
        i += 1;
    }
    out
}
