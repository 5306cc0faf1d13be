//! Interpreter histories: Python's `.python_history` and PowerShell's PSReadLine `ConsoleHost_history.txt`.

use super::bash::{plain_lines, vis_unescape};
use super::context::{Ctx, decode_lossy, raw_lines, strip_cr};
use super::model::HistoryWarning;

pub(super) fn parse_python(data: &[u8], ctx: &mut Ctx) {
    let lines = raw_lines(data);
    let libedit = lines
        .clone()
        .next()
        .is_some_and(|(_, l)| strip_cr(l) == b"_HiStOrY_V2_");
    if libedit {
        for (ln, raw) in lines.skip(1) {
            let line = strip_cr(raw);
            if line.is_empty() {
                continue;
            }
            let (cmd, lossy) = decode_lossy(&vis_unescape(line));
            if lossy {
                ctx.warn(HistoryWarning::InvalidUtf8 { line: ln });
            }
            ctx.push(ln, cmd, lossy, None, None);
        }
        return;
    }
    // pyrepl marks inner lines of a multi-line entry with `\r\n`; a file where every line ends in
    // CRLF is just a Windows-style file.
    let (crlf, count) = lines.clone().fold((0usize, 0usize), |(c, n), (_, l)| {
        (c + usize::from(l.ends_with(b"\r")), n + 1)
    });
    if crlf == 0 || crlf == count {
        plain_lines(data, ctx);
        return;
    }
    let mut cur: Option<(usize, Vec<u8>)> = None;
    for (ln, raw) in lines {
        let (start, mut text) = cur.take().unwrap_or((ln, Vec::new()));
        if let Some(inner) = raw.strip_suffix(b"\r") {
            text.extend_from_slice(inner);
            text.push(b'\n');
            cur = Some((start, text));
            continue;
        }
        text.extend_from_slice(raw);
        if text.is_empty() {
            continue;
        }
        let (cmd, lossy) = decode_lossy(&text);
        if lossy {
            ctx.warn(HistoryWarning::InvalidUtf8 { line: start });
        }
        ctx.push(start, cmd, lossy, None, None);
    }
    if let Some((start, text)) = cur {
        ctx.warn(HistoryWarning::UnterminatedContinuation { line: start });
        let (cmd, lossy) = decode_lossy(&text);
        ctx.push(start, cmd, lossy, None, None);
    }
}

pub(super) fn parse_psreadline(data: &[u8], ctx: &mut Ctx) {
    let mut cur: Option<(usize, String, bool)> = None;
    for (ln, raw) in raw_lines(data) {
        let (line, lossy) = decode_lossy(strip_cr(raw));
        if lossy {
            ctx.warn(HistoryWarning::InvalidUtf8 { line: ln });
        }
        let (start, mut text, mut any_lossy) = cur.take().unwrap_or((ln, String::new(), false));
        any_lossy |= lossy;
        if let Some(inner) = line.strip_suffix('`') {
            text.push_str(inner);
            text.push('\n');
            cur = Some((start, text, any_lossy));
            continue;
        }
        text.push_str(&line);
        if text.trim().is_empty() {
            continue;
        }
        ctx.push(start, text, any_lossy, None, None);
    }
    if let Some((start, mut text, lossy)) = cur {
        ctx.warn(HistoryWarning::UnterminatedContinuation { line: start });
        if text.ends_with('\n') {
            text.pop();
        }
        ctx.push(start, text, lossy, None, None);
    }
}
