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

mod bash;
mod context;
mod encoding;
mod fish;
mod model;
mod repl;
#[cfg(test)]
#[allow(clippy::disallowed_methods)]
mod tests;
mod zsh;

pub use model::{
    HistoryEntry, HistoryKind, HistoryParse, HistoryWarning, TextEncoding, kind_from_file_name,
};

use std::collections::VecDeque;
use std::num::NonZeroUsize;

use bash::{parse_bash, parse_sh};
use context::{Ctx, Out};
use encoding::to_utf8;
use fish::parse_fish;
use repl::{parse_psreadline, parse_python};
use zsh::parse_zsh;

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

/// Parses a history file of the given kind, keeping the newest [`DEFAULT_MAX_COMMANDS`].
pub fn parse_history(kind: HistoryKind, bytes: &[u8]) -> HistoryParse {
    parse_history_capped(kind, bytes, DEFAULT_MAX_COMMANDS)
}

/// Parses a history file of the given kind, keeping the newest `max_commands` commands: the
/// latest commands are the ones a responder needs first.
pub fn parse_history_capped(
    kind: HistoryKind,
    bytes: &[u8],
    max_commands: NonZeroUsize,
) -> HistoryParse {
    let mut ctx = Ctx::new(Out::Keep {
        entries: VecDeque::new(),
        max: max_commands.get(),
    });
    let encoding = run(kind, bytes, &mut ctx);
    let entries = match std::mem::replace(&mut ctx.out, Out::Count) {
        Out::Keep { entries, .. } => entries.into(),
        _ => Vec::new(),
    };
    finish(kind, encoding, entries, ctx)
}

/// [`parse_history_capped`] in bounded memory: the newest `max_commands` commands are handed
/// to `on_command` one at a time, and the result holds no `entries`. The text is read twice
/// (once to count the commands, once to hand over the newest), so a history of millions of
/// commands costs one command of memory, not `max_commands` of them.
pub fn parse_history_each(
    kind: HistoryKind,
    bytes: &[u8],
    max_commands: NonZeroUsize,
    on_command: &mut dyn FnMut(HistoryEntry),
) -> HistoryParse {
    let mut count = Ctx::new(Out::Count);
    run(kind, bytes, &mut count);
    let skip = count.total.saturating_sub(max_commands.get());
    let mut ctx = Ctx::new(Out::Emit {
        skip,
        f: on_command,
    });
    let encoding = run(kind, bytes, &mut ctx);
    ctx.dropped = skip;
    finish(kind, encoding, Vec::new(), ctx)
}

fn run(kind: HistoryKind, bytes: &[u8], ctx: &mut Ctx) -> TextEncoding {
    let (data, encoding) = to_utf8(bytes, kind, ctx);
    match kind {
        HistoryKind::Bash => parse_bash(&data, ctx),
        HistoryKind::Zsh => parse_zsh(&data, ctx),
        HistoryKind::Fish => parse_fish(&data, ctx),
        HistoryKind::Sh => parse_sh(&data, ctx),
        HistoryKind::Python => parse_python(&data, ctx),
        HistoryKind::PsReadLine => parse_psreadline(&data, ctx),
    }
    ctx.finish();
    encoding
}

fn finish(
    kind: HistoryKind,
    encoding: TextEncoding,
    entries: Vec<HistoryEntry>,
    ctx: Ctx,
) -> HistoryParse {
    HistoryParse {
        kind,
        encoding,
        entries,
        warnings: ctx.warnings,
        warnings_suppressed: ctx.suppressed,
        commands_total: ctx.total,
        commands_dropped: ctx.dropped,
        lossy_utf8: ctx.lossy,
    }
}
