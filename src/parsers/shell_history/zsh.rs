//! zsh histories: metafied bytes, `: start:elapsed;command` extended lines, backslash continuations.

use chrono::{DateTime, Utc};

use super::context::{Ctx, decode_lossy, epoch, excerpt, raw_lines, strip_cr};
use super::model::HistoryWarning;

/// zsh's Meta byte (`Src/zsh.h`).
pub(super) const ZSH_META: u8 = 0x83;

/// zsh unmetafy: Meta followed by b stands for b ^ 0x20. Returns (bytes, dangling Meta at end).
fn unmetafy(b: &[u8]) -> (Vec<u8>, bool) {
    let mut out = Vec::with_capacity(b.len());
    let mut it = b.iter();
    while let Some(&c) = it.next() {
        if c == ZSH_META {
            match it.next() {
                Some(&n) => out.push(n ^ 0x20),
                None => return (out, true),
            }
        } else {
            out.push(c);
        }
    }
    (out, false)
}

/// Parses `: <start>:<elapsed>;` at the start of an extended-history line.
fn zsh_extended(line: &[u8]) -> Option<(i64, u64, &[u8])> {
    let rest = line.strip_prefix(b": ")?;
    let colon = rest.iter().position(|&b| b == b':')?;
    let start = rest.get(..colon)?;
    let rest = rest.get(colon + 1..)?;
    let semi = rest.iter().position(|&b| b == b';')?;
    let elapsed = rest.get(..semi)?;
    let cmd = rest.get(semi + 1..)?;
    if start.is_empty()
        || elapsed.is_empty()
        || !start.iter().chain(elapsed).all(u8::is_ascii_digit)
    {
        return None;
    }
    let start: i64 = std::str::from_utf8(start).ok()?.parse().ok()?;
    let elapsed: u64 = std::str::from_utf8(elapsed).ok()?.parse().ok()?;
    Some((start, elapsed, cmd))
}

pub(super) fn parse_zsh(data: &[u8], ctx: &mut Ctx) {
    struct Pending {
        line: usize,
        text: Vec<u8>,
        ts: Option<DateTime<Utc>>,
        dur: Option<u64>,
    }
    fn flush(p: Pending, ctx: &mut Ctx) {
        let (cmd, lossy) = decode_lossy(&p.text);
        if lossy {
            ctx.warn(HistoryWarning::InvalidUtf8 { line: p.line });
        }
        ctx.push(p.line, cmd, lossy, p.ts, p.dur);
    }
    let mut cur: Option<Pending> = None;
    let lines = raw_lines(data);
    let last_ln = lines.clone().count();
    for (ln, raw) in lines {
        // zsh writes `\n` only; a `\r` is part of the command, but CRLF files from copies are common.
        let line = strip_cr(raw);
        let continued = line.last() == Some(&b'\\');
        let body = if continued {
            line.get(..line.len() - 1).unwrap_or(&[])
        } else {
            line
        };
        let (bytes, dangling) = unmetafy(body);
        if dangling {
            ctx.warn(HistoryWarning::DanglingZshMeta { line: ln });
        }
        match cur.as_mut() {
            Some(p) => {
                p.text.push(b'\n');
                p.text.extend_from_slice(&bytes);
            }
            None => {
                let (ts, dur, text) = match zsh_extended(&bytes) {
                    Some((start, elapsed, cmd)) => {
                        let ts = epoch(start);
                        if ts.is_none() {
                            ctx.warn(HistoryWarning::BadTimestamp {
                                line: ln,
                                text: excerpt(&String::from_utf8_lossy(&bytes)),
                            });
                        }
                        (ts, Some(elapsed), cmd.to_vec())
                    }
                    None => (None, None, bytes),
                };
                if text.is_empty() && ts.is_none() && !continued {
                    continue;
                }
                cur = Some(Pending {
                    line: ln,
                    text,
                    ts,
                    dur,
                });
            }
        }
        if !continued && let Some(p) = cur.take() {
            flush(p, ctx);
        }
    }
    if let Some(p) = cur.take() {
        ctx.warn(HistoryWarning::UnterminatedContinuation { line: last_ln });
        flush(p, ctx);
    }
}
