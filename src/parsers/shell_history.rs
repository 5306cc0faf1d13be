//! Shell and interpreter command histories (MITRE ATT&CK T1059.004 Unix Shell, T1059.001 PowerShell,
//! T1059.006 Python; evidence for T1552.003 Bash History).
//!
//! Where they live:
//! - bash `~/.bash_history` (`HISTFILE`), with `#<epoch>` lines when `HISTTIMEFORMAT` was set;
//! - zsh `~/.zsh_history`, `~/.histfile`, `~/.zhistory` (plain or `EXTENDED_HISTORY` `: start:elapsed;cmd`);
//! - fish `~/.local/share/fish/fish_history` (`<session>_history` for other sessions);
//! - sh/ksh/ash/mksh `~/.sh_history`, `~/.ash_history`, `~/.ksh_history`, `~/.mksh_history`;
//! - Python REPL `~/.python_history` (GNU readline, libedit `_HiStOrY_V2_`, or Python 3.13 pyrepl);
//! - PSReadLine `ConsoleHost_history.txt`: Windows `%APPDATA%\Microsoft\Windows\PowerShell\PSReadLine\`,
//!   Unix `~/.local/share/powershell/PSReadLine/`.
//!
//! What we record: one entry per command with a 1-based ordinal, the first file line it came from,
//! the command text (multi-line commands joined with `\n`), and the timestamp / duration / paths where
//! the format stores them. Malformed parts become warnings; parsing continues.
//!
//! Multi-line commands, per format:
//! - bash without timestamps stores each physical line separately and nothing marks a continuation,
//!   so every line is its own entry. Once `#<digits>` timestamp lines appear, every line up to the next
//!   timestamp belongs to ONE command (that is how bash writes multi-line commands with `lithist`, and
//!   how its own reader joins them). Lines before the first timestamp stay one entry each (a history
//!   that predates `HISTTIMEFORMAT`). A `#` line that is not all digits is a command (a typed comment).
//! - zsh ends each continued physical line with a backslash (zsh's `readhistline`); bytes are
//!   "metafied" (0x83 then byte^0x20) and are unmetafied before UTF-8 decoding.
//! - fish escapes `\n` and `\\` inside `- cmd:` values.
//! - PSReadLine writes a trailing backtick before each embedded newline; it is removed when joining.
//! - pyrepl (Python 3.13+) ends the inner lines of a multi-line entry with `\r\n`.
//!
//! References: bash(1) HISTORY / readline `histfile.c`; zsh `Src/hist.c` (readhistfile, metafy in
//! `Src/utils.c`); fish `src/history.rs` (YAML-ish format, `escape_yaml_fishcompat`); PSReadLine
//! `History.cs` (ReadHistoryFile); CPython `Lib/_pyrepl/readline.py`; libedit `history.c` (strvis).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::collections::VecDeque;
use std::num::NonZeroUsize;

/// Commands kept per file unless the caller says otherwise: fish's own cap (`HISTORY_SAVE_MAX`,
/// 256 Ki), far above bash's and zsh's usual `HISTSIZE`. Each kept command costs a few hundred
/// bytes once it is a record, so an uncapped file of millions of one-byte lines could exhaust
/// memory on the host being triaged.
pub const DEFAULT_MAX_COMMANDS: NonZeroUsize = match NonZeroUsize::new(262_144) {
    Some(n) => n,
    None => NonZeroUsize::MIN,
};
/// Cap on stored warnings.
const MAX_WARNINGS: usize = 1000;
/// Longest excerpt of an offending line kept in a warning.
const WARN_TEXT_MAX: usize = 200;
/// zsh's Meta byte (`Src/zsh.h`).
const ZSH_META: u8 = 0x83;

/// Which history format the bytes are in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum HistoryKind {
    Bash,
    Zsh,
    Fish,
    /// `.sh_history`, ksh, ash, mksh: plain lines (binary ksh93/mksh files best-effort).
    Sh,
    /// `.python_history`: readline plain lines, libedit vis-escaped, or pyrepl `\r\n` continuation.
    Python,
    PsReadLine,
}

/// Text encoding detected for the file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TextEncoding {
    Utf8,
    Utf8Bom,
    Utf16Le,
    Utf16Be,
}

/// One command.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub struct HistoryEntry {
    /// 1-based command index.
    pub ordinal: usize,
    /// First file line of the command (1-based).
    pub line_number: usize,
    pub command: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<DateTime<Utc>>,
    /// zsh extended history: elapsed seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_secs: Option<u64>,
    /// fish: paths the command referenced (`paths:` list).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub paths: Vec<String>,
    /// True when the command had invalid UTF-8 replaced by U+FFFD.
    #[serde(default, skip_serializing_if = "is_false")]
    pub lossy_utf8: bool,
}

/// Problems found while parsing; parsing continues.
#[derive(
    Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema, thiserror::Error,
)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum HistoryWarning {
    #[error("line {line}: invalid UTF-8 replaced")]
    InvalidUtf8 { line: usize },
    #[error("line {line}: timestamp out of range: {text:?}")]
    BadTimestamp { line: usize, text: String },
    #[error("line {line}: zsh Meta byte with nothing after it (dropped)")]
    DanglingZshMeta { line: usize },
    #[error("line {line}: unexpected line in fish history: {text:?}")]
    FishUnexpectedLine { line: usize, text: String },
    #[error("line {line}: fish field before any `- cmd:`: {text:?}")]
    FishOrphanField { line: usize, text: String },
    #[error("line {line}: file ends in the middle of an entry (truncated)")]
    Truncated { line: usize },
    #[error("line {line}: file ends inside a continued command")]
    UnterminatedContinuation { line: usize },
    #[error("binary {format} history; commands extracted best-effort")]
    BinaryHistory { format: String },
    #[error("undecodable {encoding:?} text replaced")]
    DecodeErrors { encoding: TextEncoding },
}

/// Result of [`parse_history`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub struct HistoryParse {
    pub kind: HistoryKind,
    pub encoding: TextEncoding,
    pub entries: Vec<HistoryEntry>,
    pub warnings: Vec<HistoryWarning>,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub warnings_suppressed: usize,
    /// Commands found in the file in all (`entries` holds the newest of them).
    pub commands_total: usize,
    /// The oldest commands not kept because the file held more than the cap; `ordinal` in the
    /// kept ones still counts from the start of the file.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub commands_dropped: usize,
    /// True when any text had invalid bytes replaced.
    pub lossy_utf8: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// Guesses the history kind from a file name (a bare name or a full Unix/Windows path).
pub fn kind_from_file_name(name: &str) -> Option<HistoryKind> {
    let base = name.rsplit(['/', '\\']).next().unwrap_or(name);
    let lower = base.to_ascii_lowercase();
    match lower.as_str() {
        ".bash_history" => Some(HistoryKind::Bash),
        ".zsh_history" | ".histfile" | ".zhistory" => Some(HistoryKind::Zsh),
        "fish_history" => Some(HistoryKind::Fish),
        ".sh_history" | ".ash_history" | ".ksh_history" | ".mksh_history" => Some(HistoryKind::Sh),
        ".python_history" => Some(HistoryKind::Python),
        "consolehost_history.txt" => Some(HistoryKind::PsReadLine),
        // PSReadLine names the file `<HostName>_history.txt` (e.g. "Visual Studio Code Host_history.txt").
        l if l.ends_with("_history.txt") => Some(HistoryKind::PsReadLine),
        // fish sessions other than the default: `$fish_history` = NAME → NAME_history, in a fish dir.
        l if l.ends_with("_history") && (name.contains("/fish/") || name.contains("\\fish\\")) => {
            Some(HistoryKind::Fish)
        }
        _ => None,
    }
}

struct Ctx {
    /// The newest `max_entries` commands (older ones fall off the front).
    entries: VecDeque<HistoryEntry>,
    max_entries: usize,
    total: usize,
    dropped: usize,
    warnings: Vec<HistoryWarning>,
    suppressed: usize,
    lossy: bool,
}

impl Ctx {
    fn warn(&mut self, w: HistoryWarning) {
        if self.warnings.len() < MAX_WARNINGS {
            self.warnings.push(w);
        } else {
            self.suppressed = self.suppressed.saturating_add(1);
        }
    }

    fn push(
        &mut self,
        line_number: usize,
        command: String,
        lossy: bool,
        timestamp: Option<DateTime<Utc>>,
        duration_secs: Option<u64>,
    ) {
        if lossy {
            self.lossy = true;
        }
        self.total = self.total.saturating_add(1);
        let ordinal = self.total;
        if self.entries.len() >= self.max_entries {
            self.entries.pop_front();
            self.dropped += 1;
        }
        self.entries.push_back(HistoryEntry {
            ordinal,
            line_number,
            command,
            timestamp,
            duration_secs,
            paths: Vec::new(),
            lossy_utf8: lossy,
        });
    }
}

fn excerpt(s: &str) -> String {
    super::capped::excerpt(s, WARN_TEXT_MAX)
}

fn decode_lossy(b: &[u8]) -> (String, bool) {
    match String::from_utf8_lossy(b) {
        Cow::Borrowed(s) => (s.to_string(), false),
        Cow::Owned(s) => (s, true),
    }
}

/// Physical lines: (1-based number, bytes without `\n`). A final newline does not start a new
/// line. An iterator, not a list: a file of millions of short lines costs no per-line memory.
fn raw_lines(data: &[u8]) -> impl Iterator<Item = (usize, &[u8])> + Clone {
    let body = data.strip_suffix(b"\n").unwrap_or(data);
    let n = if data.is_empty() { 0 } else { usize::MAX };
    body.split(|&b| b == b'\n')
        .enumerate()
        .map(|(i, l)| (i + 1, l))
        .take(n)
}

fn strip_cr(l: &[u8]) -> &[u8] {
    l.strip_suffix(b"\r").unwrap_or(l)
}

fn epoch(secs: i64) -> Option<DateTime<Utc>> {
    DateTime::<Utc>::from_timestamp(secs, 0)
}

/// Detects BOMs (and BOM-less UTF-16LE for PSReadLine) and returns UTF-8 bytes.
fn to_utf8<'a>(bytes: &'a [u8], kind: HistoryKind, ctx: &mut Ctx) -> (Cow<'a, [u8]>, TextEncoding) {
    if let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF") {
        return (Cow::Borrowed(rest), TextEncoding::Utf8Bom);
    }
    // zsh files are metafied raw bytes; a UTF-16 guess would be wrong there.
    if kind == HistoryKind::Zsh {
        return (Cow::Borrowed(bytes), TextEncoding::Utf8);
    }
    let (enc, body, te) = if let Some(rest) = bytes.strip_prefix(b"\xFF\xFE") {
        (encoding_rs::UTF_16LE, rest, TextEncoding::Utf16Le)
    } else if let Some(rest) = bytes.strip_prefix(b"\xFE\xFF") {
        (encoding_rs::UTF_16BE, rest, TextEncoding::Utf16Be)
    } else if kind == HistoryKind::PsReadLine && looks_utf16le(bytes) {
        (encoding_rs::UTF_16LE, bytes, TextEncoding::Utf16Le)
    } else {
        return (Cow::Borrowed(bytes), TextEncoding::Utf8);
    };
    let (text, had_errors) = enc.decode_without_bom_handling(body);
    if had_errors {
        ctx.lossy = true;
        ctx.warn(HistoryWarning::DecodeErrors { encoding: te });
    }
    (Cow::Owned(text.into_owned().into_bytes()), te)
}

/// BOM-less UTF-16LE: ASCII text shows as every odd byte being zero.
fn looks_utf16le(b: &[u8]) -> bool {
    let sample = b.get(..b.len().min(64)).unwrap_or(&[]);
    sample.len() >= 4
        && sample.len() % 2 == 0
        && sample
            .chunks(2)
            .all(|c| c.get(1) == Some(&0) && c.first() != Some(&0))
}

/// Parses a history file of the given kind, keeping the newest [`DEFAULT_MAX_COMMANDS`].
pub fn parse_history(kind: HistoryKind, bytes: &[u8]) -> HistoryParse {
    parse_history_capped(kind, bytes, DEFAULT_MAX_COMMANDS)
}

/// Parses a history file of the given kind, keeping the newest `max_commands` commands: the latest commands are the ones a responder needs first.
pub fn parse_history_capped(
    kind: HistoryKind,
    bytes: &[u8],
    max_commands: NonZeroUsize,
) -> HistoryParse {
    let mut ctx = Ctx {
        entries: VecDeque::new(),
        max_entries: max_commands.get(),
        total: 0,
        dropped: 0,
        warnings: Vec::new(),
        suppressed: 0,
        lossy: false,
    };
    let (data, encoding) = to_utf8(bytes, kind, &mut ctx);
    match kind {
        HistoryKind::Bash => parse_bash(&data, &mut ctx),
        HistoryKind::Zsh => parse_zsh(&data, &mut ctx),
        HistoryKind::Fish => parse_fish(&data, &mut ctx),
        HistoryKind::Sh => parse_sh(&data, &mut ctx),
        HistoryKind::Python => parse_python(&data, &mut ctx),
        HistoryKind::PsReadLine => parse_psreadline(&data, &mut ctx),
    }
    HistoryParse {
        kind,
        encoding,
        entries: ctx.entries.into(),
        warnings: ctx.warnings,
        warnings_suppressed: ctx.suppressed,
        commands_total: ctx.total,
        commands_dropped: ctx.dropped,
        lossy_utf8: ctx.lossy,
    }
}

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

fn parse_bash(data: &[u8], ctx: &mut Ctx) {
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

fn parse_zsh(data: &[u8], ctx: &mut Ctx) {
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

fn parse_fish(data: &[u8], ctx: &mut Ctx) {
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
        let Some(entry) = ctx.entries.back_mut().filter(|_| have_entry) else {
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

fn parse_sh(data: &[u8], ctx: &mut Ctx) {
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

fn plain_lines(data: &[u8], ctx: &mut Ctx) {
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
fn vis_unescape(s: &[u8]) -> Vec<u8> {
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

fn parse_python(data: &[u8], ctx: &mut Ctx) {
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

fn parse_psreadline(data: &[u8], ctx: &mut Ctx) {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn over_the_cap_the_newest_commands_are_kept_with_their_file_ordinals() {
        let cap = NonZeroUsize::new(2).unwrap();
        let p = parse_history_capped(HistoryKind::Bash, b"a\nb\nc\nd\n", cap);
        let got: Vec<(usize, &str)> = p
            .entries
            .iter()
            .map(|e| (e.ordinal, e.command.as_str()))
            .collect();
        assert_eq!(got, [(3, "c"), (4, "d")]);
        assert_eq!((p.commands_total, p.commands_dropped), (4, 2));
        // fish fields attach to the newest entry even after older ones fell off.
        let fish = b"- cmd: a\n  when: 1\n- cmd: b\n  when: 2\n- cmd: c\n  when: 3\n";
        let p = parse_history_capped(HistoryKind::Fish, fish, cap);
        let when: Vec<i64> = p
            .entries
            .iter()
            .map(|e| e.timestamp.unwrap().timestamp())
            .collect();
        assert_eq!(when, [2, 3]);
        assert!(p.warnings.is_empty(), "{:?}", p.warnings);
    }

    #[test]
    fn line_numbers_match_the_file_with_or_without_a_final_newline() {
        for (text, want) in [
            (&b""[..], vec![]),
            (b"\n", vec![]),
            (b"a", vec![1]),
            (b"a\n", vec![1]),
            (b"a\n\nb", vec![1, 3]),
            (b"a\n\nb\n\n", vec![1, 3]),
        ] {
            let p = parse_history(HistoryKind::Sh, text);
            let lines: Vec<usize> = p.entries.iter().map(|e| e.line_number).collect();
            assert_eq!(lines, want, "{text:?}");
        }
    }

    fn fixture(rel: &str) -> Vec<u8> {
        let p = format!("{}/../shared/fixtures/{}", env!("CARGO_MANIFEST_DIR"), rel);
        std::fs::read(&p).unwrap_or_else(|e| panic!("read {p}: {e}"))
    }

    fn cmds(p: &HistoryParse) -> Vec<&str> {
        p.entries.iter().map(|e| e.command.as_str()).collect()
    }

    const PS_FIXTURE: &str =
        "history/dfir-artifact-museum/BelkasoftCTF_InsiderThreat/ConsoleHost_history.txt";

    #[test]
    fn psreadline_fixture() {
        let bytes = fixture(PS_FIXTURE);
        let p = parse_history(HistoryKind::PsReadLine, &bytes);
        assert!(p.warnings.is_empty(), "{:?}", p.warnings);
        assert_eq!(p.encoding, TextEncoding::Utf8);
        // SOURCES.md: 9 commands, line 1 holds the Chocolatey install cradle; lines 3-4 edit hosts.
        assert_eq!(p.entries.len(), 9);
        let first = &p.entries[0];
        assert_eq!((first.ordinal, first.line_number), (1, 1));
        assert!(first.command.contains(
            "iex ((New-Object System.Net.WebClient).DownloadString('https://chocolatey.org/install.ps1'))"
        ));
        assert!(
            first
                .command
                .starts_with("Set-ExecutionPolicy Bypass -Scope Process -Force;")
        );
        assert_eq!(p.entries[2].command, "nano .\\Drivers\\etc\\hosts");
        assert_eq!(p.entries[3].command, "nano .\\drivers\\etc\\hosts");
        assert_eq!(p.entries[8].command, "bsh");
        assert!(p.entries.iter().all(|e| e.timestamp.is_none()));

        // Same content as UTF-16LE with BOM, and CRLF with a UTF-8 BOM.
        let text = String::from_utf8(bytes).unwrap();
        let mut u16 = vec![0xFF, 0xFE];
        u16.extend(
            text.replace('\n', "\r\n")
                .encode_utf16()
                .flat_map(u16::to_le_bytes),
        );
        let p16 = parse_history(HistoryKind::PsReadLine, &u16);
        assert_eq!(p16.encoding, TextEncoding::Utf16Le);
        assert_eq!(cmds(&p16), cmds(&p));
        let no_bom: Vec<u8> = text.encode_utf16().flat_map(u16::to_le_bytes).collect();
        assert_eq!(
            cmds(&parse_history(HistoryKind::PsReadLine, &no_bom)),
            cmds(&p)
        );
        let mut bom8 = b"\xEF\xBB\xBF".to_vec();
        bom8.extend_from_slice(text.replace('\n', "\r\n").as_bytes());
        let p8 = parse_history(HistoryKind::PsReadLine, &bom8);
        assert_eq!(p8.encoding, TextEncoding::Utf8Bom);
        assert_eq!(cmds(&p8), cmds(&p));
    }

    #[test]
    fn psreadline_backtick_continuation() {
        let t = b"Get-Process |`\r\n  Where-Object CPU -gt 10`\r\n\r\nwhoami\r\nunfinished`";
        let p = parse_history(HistoryKind::PsReadLine, t);
        assert_eq!(
            cmds(&p),
            [
                "Get-Process |\n  Where-Object CPU -gt 10\n",
                "whoami",
                "unfinished"
            ]
        );
        assert_eq!(p.entries[1].line_number, 4);
        assert!(matches!(
            p.warnings[0],
            HistoryWarning::UnterminatedContinuation { line: 5 }
        ));
    }

    #[test]
    fn bash_plain_and_timestamped() {
        let plain = b"ls -la\n# a typed comment\n\ncurl http://x | sh\n";
        let p = parse_history(HistoryKind::Bash, plain);
        assert_eq!(
            cmds(&p),
            ["ls -la", "# a typed comment", "curl http://x | sh"]
        );
        assert_eq!(p.entries[2].line_number, 4);

        let ts = b"old-cmd\n#1700000000\nfor i in 1 2; do\n  echo $i\ndone\n#1700000060\n#not-a-timestamp\n#1700000120\nid\n";
        let p = parse_history(HistoryKind::Bash, ts);
        assert!(p.warnings.is_empty(), "{:?}", p.warnings);
        assert_eq!(
            cmds(&p),
            [
                "old-cmd",
                "for i in 1 2; do\n  echo $i\ndone",
                "#not-a-timestamp",
                "id"
            ]
        );
        assert_eq!(p.entries[0].timestamp, None);
        assert_eq!(p.entries[1].line_number, 3);
        assert_eq!(p.entries[1].timestamp.unwrap().timestamp(), 1_700_000_000);
        assert_eq!(p.entries[2].timestamp.unwrap().timestamp(), 1_700_000_060);
        assert_eq!(p.entries[3].ordinal, 4);
        let json = serde_json::to_value(&p.entries[3]).unwrap();
        assert_eq!(json["timestamp"], "2023-11-14T22:15:20Z");

        let p = parse_history(HistoryKind::Bash, b"#99999999999999999999\nx\n");
        assert!(matches!(
            p.warnings[0],
            HistoryWarning::BadTimestamp { line: 1, .. }
        ));
        assert_eq!(cmds(&p), ["x"]);
    }

    /// zsh's metafy: bytes 0x83..=0x9d... and NUL are written as Meta, byte ^ 0x20 (Src/utils.c imeta).
    fn metafy(s: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        for &b in s {
            if b == 0 || (0x83..=0xa2).contains(&b) {
                out.push(ZSH_META);
                out.push(b ^ 0x20);
            } else {
                out.push(b);
            }
        }
        out
    }

    #[test]
    fn zsh_extended_metafied_and_multiline() {
        let mut f = b": 1700000000:3;".to_vec();
        f.extend(metafy("echo héllo ☃".as_bytes()));
        f.extend_from_slice(
            b"\nplain command\n: 1700000100:0;for x in a b\\\ndo echo $x\\\ndone\n",
        );
        assert!(f.contains(&ZSH_META));
        let p = parse_history(HistoryKind::Zsh, &f);
        assert!(p.warnings.is_empty(), "{:?}", p.warnings);
        assert_eq!(
            cmds(&p),
            [
                "echo héllo ☃",
                "plain command",
                "for x in a b\ndo echo $x\ndone"
            ]
        );
        assert_eq!(p.entries[0].duration_secs, Some(3));
        assert_eq!(p.entries[0].timestamp.unwrap().timestamp(), 1_700_000_000);
        assert_eq!(p.entries[1].timestamp, None);
        assert_eq!(p.entries[2].line_number, 3);
        assert_eq!(p.entries[2].duration_secs, Some(0));
    }

    #[test]
    fn zsh_hostile() {
        // Meta as the very last byte, a continuation at EOF, invalid UTF-8 after unmetafy.
        let p = parse_history(HistoryKind::Zsh, b": 1:0;ls\necho \x83");
        assert_eq!(cmds(&p), ["ls", "echo "]);
        assert!(matches!(
            p.warnings[0],
            HistoryWarning::DanglingZshMeta { line: 2 }
        ));
        let p = parse_history(HistoryKind::Zsh, b"echo a\\\n");
        assert_eq!(cmds(&p), ["echo a"]);
        assert!(matches!(
            p.warnings[0],
            HistoryWarning::UnterminatedContinuation { .. }
        ));
        let p = parse_history(
            HistoryKind::Zsh,
            b"x \x83\xdf\xff\n: 99999999999999999:0;y\n",
        );
        assert!(p.lossy_utf8);
        assert!(p.entries[0].lossy_utf8);
        assert!(
            p.warnings
                .iter()
                .any(|w| matches!(w, HistoryWarning::BadTimestamp { line: 2, .. }))
        );
        assert_eq!(p.entries[1].command, "y");
        // Malformed extended headers are plain commands (`: ` is a shell no-op).
        let p = parse_history(HistoryKind::Zsh, b": 12;x\n: a:b;c\n");
        assert_eq!(cmds(&p), [": 12;x", ": a:b;c"]);
    }

    #[test]
    fn fish_history() {
        let t = "- cmd: echo \"a\\\\b\"\\necho two\n  when: 1700000000\n  paths:\n    - /tmp/x\n    - /etc/passwd\n- cmd: ls\n  when: 1700000005\n";
        let p = parse_history(HistoryKind::Fish, t.as_bytes());
        assert!(p.warnings.is_empty(), "{:?}", p.warnings);
        assert_eq!(cmds(&p), ["echo \"a\\b\"\necho two", "ls"]);
        assert_eq!(p.entries[0].paths, ["/tmp/x", "/etc/passwd"]);
        assert_eq!(p.entries[1].line_number, 6);
        assert_eq!(p.entries[1].timestamp.unwrap().timestamp(), 1_700_000_005);

        // Truncated mid-entry, orphan field, junk line.
        let p = parse_history(
            HistoryKind::Fish,
            b"  when: 5\n- cmd: ok\n  when: 17000\ngarbage\n- cmd: cut\n  wh",
        );
        assert_eq!(cmds(&p), ["ok", "cut"]);
        let kinds: Vec<String> = p
            .warnings
            .iter()
            .map(|w| {
                serde_json::to_value(w).unwrap()["kind"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect();
        assert_eq!(
            kinds,
            [
                "fish_orphan_field",
                "fish_unexpected_line",
                "fish_unexpected_line",
                "truncated"
            ]
        );
    }

    #[test]
    fn sh_and_python() {
        let p = parse_history(HistoryKind::Sh, b"ls\n\nwget http://x/y -O /tmp/y\n");
        assert_eq!(cmds(&p), ["ls", "wget http://x/y -O /tmp/y"]);
        assert_eq!(p.entries[1].line_number, 3);
        let p = parse_history(
            HistoryKind::Sh,
            b"\xAB\xCD\xFF\x00\x00\x00\x01ls -l\x00\xFF\x00\x00\x00\x02id\x00",
        );
        assert_eq!(cmds(&p), ["ls -l", "id"]);
        assert!(matches!(
            p.warnings[0],
            HistoryWarning::BinaryHistory { .. }
        ));

        let p = parse_history(HistoryKind::Python, b"import os\nos.system('id')\n");
        assert_eq!(cmds(&p), ["import os", "os.system('id')"]);
        let p = parse_history(
            HistoryKind::Python,
            b"_HiStOrY_V2_\nimport\\040os\nprint('a\\\\b')\n",
        );
        assert_eq!(cmds(&p), ["import os", "print('a\\b')"]);
        let p = parse_history(HistoryKind::Python, b"def f():\r\n    return 1\nf()\n");
        assert_eq!(cmds(&p), ["def f():\n    return 1", "f()"]);
        let p = parse_history(HistoryKind::Python, b"a\r\nb\r\n");
        assert_eq!(cmds(&p), ["a", "b"]);
    }

    #[test]
    fn file_names() {
        assert_eq!(
            kind_from_file_name("/home/a/.bash_history"),
            Some(HistoryKind::Bash)
        );
        assert_eq!(kind_from_file_name(".zsh_history"), Some(HistoryKind::Zsh));
        assert_eq!(
            kind_from_file_name("/root/.histfile"),
            Some(HistoryKind::Zsh)
        );
        assert_eq!(
            kind_from_file_name("/home/a/.local/share/fish/fish_history"),
            Some(HistoryKind::Fish)
        );
        assert_eq!(
            kind_from_file_name("/home/a/.local/share/fish/work_history"),
            Some(HistoryKind::Fish)
        );
        assert_eq!(kind_from_file_name(".ash_history"), Some(HistoryKind::Sh));
        assert_eq!(
            kind_from_file_name(".python_history"),
            Some(HistoryKind::Python)
        );
        assert_eq!(
            kind_from_file_name(
                "C:\\Users\\bob\\AppData\\Roaming\\Microsoft\\Windows\\PowerShell\\PSReadLine\\ConsoleHost_history.txt"
            ),
            Some(HistoryKind::PsReadLine)
        );
        assert_eq!(
            kind_from_file_name("Visual Studio Code Host_history.txt"),
            Some(HistoryKind::PsReadLine)
        );
        assert_eq!(kind_from_file_name("notes.txt"), None);
        assert_eq!(kind_from_file_name("/home/a/lesshst"), None);
    }

    #[test]
    fn hostile_all_kinds() {
        let garbage: Vec<u8> = (0..16384u32)
            .map(|i| (i.wrapping_mul(2654435761) >> 9) as u8)
            .collect();
        let mut big = b"echo ".to_vec();
        big.extend(std::iter::repeat_n(b'A', 5 * 1024 * 1024));
        let kinds = [
            HistoryKind::Bash,
            HistoryKind::Zsh,
            HistoryKind::Fish,
            HistoryKind::Sh,
            HistoryKind::Python,
            HistoryKind::PsReadLine,
        ];
        for k in kinds {
            let p = parse_history(k, &garbage);
            assert!(!p.warnings.is_empty() || p.lossy_utf8, "{k:?}");
            let p = parse_history(k, &big);
            if k != HistoryKind::Fish {
                assert_eq!(p.entries.len(), 1, "{k:?}");
                assert_eq!(p.entries[0].command.len(), big.len(), "{k:?}");
            }
            for t in [
                &b""[..],
                b"\n",
                b"\x00",
                b"\xff\xfe",
                b"\xfe\xff\x00",
                b"\x83",
                b"`",
                b"\\",
                b"- cmd:",
                b"#1\n",
            ] {
                let _ = parse_history(k, t);
            }
        }
        // Every line a bad timestamp: warnings capped.
        let t = "#99999999999999999999\n".repeat(3000);
        let p = parse_history(HistoryKind::Bash, t.as_bytes());
        assert_eq!(p.warnings.len(), MAX_WARNINGS);
        assert_eq!(p.warnings_suppressed, 2000);
    }
}
