//! `powershell_logs`: PowerShell event logs and PSReadLine command histories (Windows).
//!
//! Artifacts, under `%SystemRoot%\System32\winevt\Logs\` (profile option `logs`):
//! - `Microsoft-Windows-PowerShell%4Operational.evtx`: 4104 script block logging, 4103
//!   module logging, 4100 errors, 40961/40962/53504 session context;
//! - `Windows PowerShell.evtx` (classic): 400/403 engine start/stop, 600 provider start,
//!   800 pipeline execution. 400 is written even without any logging policy: its
//!   `HostApplication` is the command line of every PowerShell launch (`-enc`, `-exec bypass`);
//! - `PowerShellCore%4Operational.evtx` (PowerShell 7): same ids as the Operational log.
//!
//! And every profile's PSReadLine history,
//! `Users\<user>\AppData\Roaming\Microsoft\Windows\PowerShell\PSReadLine\<host>_history.txt`,
//! plus the service profiles (`Windows\System32\config\systemprofile`, `SysWOW64`'s, and
//! `Windows\ServiceProfiles\{LocalService,NetworkService}`), where commands run as SYSTEM
//! (PsExec -s, a web shell) leave theirs.
//!
//! What we record (`records/powershell_logs.jsonl`, see `crate::record::PowershellRecord`):
//! one `event` record per PowerShell event, one `script_block` record per ScriptBlockId with
//! the parts reassembled in order (text stored once: see the record module), one `psreadline`
//! record per command, and one `log_file` summary per log. Raw files are copied whole and
//! hashed. `--since` drops event and script-block records older than the window; a script
//! block is reassembled from all its parts even when some are older, so its text stays
//! whole. PSReadLine stores no times, so its commands are always kept.
//!
//! Not a Windows source (a live Linux host, a Linux root): skipped, "no Windows event logs".
//! PowerShell 7's history on Linux (`~/.local/share/powershell/PSReadLine`) belongs to
//! `shell_history`.
//!
//! References: Microsoft Docs "about_Logging_Windows", "about_PSReadLine" (HistorySavePath);
//! Mandiant, "Greater Visibility Through PowerShell Logging" (2016).

use super::evtx_files::{self, DEFAULT_LOG_DIR, DEFAULT_MAX_IN_MEMORY, FoundLog, LogSelection};
use super::{CollectError, Collector, Context};
use crate::parsers::powershell::{PsEventKind, ScriptBlockAssembler, ps_event_from_raw};
use crate::parsers::shell_history::{DEFAULT_MAX_COMMANDS, HistoryKind, parse_history_capped};
use crate::record::{
    PowershellRecord, PsEventRecord, PsReadLineRecord, Record, ScriptBlockRecord, Sha256, SourceRef,
};
use crate::sink::{FileRequest, Sink, SinkError};
use crate::source::FileSource;
use crate::units::ByteSize;
use serde::Deserialize;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};

/// The PowerShell logs read by default.
pub const DEFAULT_LOGS: &[&str] = &[
    "Microsoft-Windows-PowerShell%4Operational.evtx",
    "Windows PowerShell.evtx",
    "PowerShellCore%4Operational.evtx",
];

/// PSReadLine's history folder inside a profile.
const PSREADLINE_DIR: &str = "AppData/Roaming/Microsoft/Windows/PowerShell/PSReadLine";
const HISTORY_SUFFIX: &str = "_history.txt";
/// Profiles of accounts that are not under `Users\`.
const SERVICE_PROFILES: &[(&str, &str)] = &[
    ("SYSTEM", "/Windows/System32/config/systemprofile"),
    ("SYSTEM (32-bit)", "/Windows/SysWOW64/config/systemprofile"),
    ("LocalService", "/Windows/ServiceProfiles/LocalService"),
    ("NetworkService", "/Windows/ServiceProfiles/NetworkService"),
];
/// History warnings logged per file.
const MAX_HISTORY_WARNINGS: usize = 10;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PowershellLogsOptions {
    /// Folder of the event logs, as a logical path on the evidence.
    pub log_dir: String,
    /// Logs to read: file names in `log_dir`, or `/`-rooted logical paths. `*` and `?`
    /// match within the last component, case-insensitively, so archived logs are added with
    /// e.g. `"Archive-Microsoft-Windows-PowerShell%4Operational-*.evtx"`. A named log that
    /// is absent is only a warning.
    pub logs: Vec<String>,
    /// Logs up to this size are parsed from the copy held in memory; a larger one is read a
    /// second time from the source to parse it.
    pub max_in_memory: ByteSize,
    /// Collect every profile's PSReadLine history.
    pub psreadline: bool,
    /// Parse at most this much of one history file (the raw copy is always whole).
    pub max_history_size: ByteSize,
    /// Records for at most this many commands per history file: the newest are kept, the
    /// count of older ones is a warning (the raw copy still holds them).
    pub max_history_commands: std::num::NonZeroUsize,
}

impl Default for PowershellLogsOptions {
    fn default() -> Self {
        PowershellLogsOptions {
            log_dir: DEFAULT_LOG_DIR.to_string(),
            logs: DEFAULT_LOGS.iter().map(|s| s.to_string()).collect(),
            max_in_memory: ByteSize(DEFAULT_MAX_IN_MEMORY),
            psreadline: true,
            max_history_size: ByteSize(64 << 20),
            max_history_commands: DEFAULT_MAX_COMMANDS,
        }
    }
}

pub struct PowershellLogs {
    opts: PowershellLogsOptions,
}

impl PowershellLogs {
    pub fn new(opts: PowershellLogsOptions) -> PowershellLogs {
        PowershellLogs { opts }
    }
}

impl Collector for PowershellLogs {
    fn not_applicable(&self, source: &dyn FileSource) -> Option<String> {
        evtx_files::not_windows(source)
    }

    fn collect(&self, ctx: &Context, out: &mut dyn Sink) -> Result<(), CollectError> {
        let sel = LogSelection {
            dir: &self.opts.log_dir,
            patterns: &self.opts.logs,
        };
        evtx_files::for_each_log(ctx, out, &sel, |out, log| {
            read_one_log(ctx, out, log, self.opts.max_in_memory.0)
        })?;
        if self.opts.psreadline {
            collect_psreadline(ctx, out, &self.opts)?;
        }
        Ok(())
    }
}

fn emit(out: &mut dyn Sink, rec: PowershellRecord) -> Result<(), SinkError> {
    out.record(Record::Powershell(rec))
}

fn read_one_log(
    ctx: &Context,
    out: &mut dyn Sink,
    log: &FoundLog,
    max_in_memory: u64,
) -> Result<(), CollectError> {
    let Some(copied) = evtx_files::copy_log(ctx, out, log, max_in_memory)? else {
        return Ok(());
    };
    let source = copied.source.clone();
    let mut assembler = ScriptBlockAssembler::new();
    let mut tally = evtx_files::EventTally::default();
    let read = evtx_files::parse_log(ctx, log, copied, |raw| {
        let Some(mut ev) = ps_event_from_raw(&raw) else {
            tally.other += 1;
            return ControlFlow::Continue(());
        };
        let old = evtx_files::before_since(ctx, ev.time);
        let mut text_in_block = false;
        let mut part_chars = None;
        if ev.kind == PsEventKind::ScriptBlock {
            // Every part goes to the assembler, even before --since: a block straddling the
            // window keeps its whole text.
            let len = ev.script_block_text.as_ref().map_or(0, String::len);
            let held_before = assembler.held_bytes();
            assembler.add_ref(&ev);
            let held = assembler.held_bytes() == held_before + len;
            if ev.message_total.is_some_and(|t| t > 1) && held && len > 0 {
                // The text lives in the script_block record; a part the assembler did not
                // keep (duplicate, over the cap) keeps its own text here.
                part_chars = ev
                    .script_block_text
                    .take()
                    .map(|t| t.chars().count() as u64);
                text_in_block = true;
            }
        }
        if old {
            tally.before_since += 1;
            return ControlFlow::Continue(());
        }
        let rec = PowershellRecord::Event(PsEventRecord {
            event: ev,
            text_in_script_block: text_in_block,
            part_chars,
            source: source.clone(),
        });
        tally.emit(emit(out, rec))
    });
    let (recorded, before_since, other) = tally.finish()?;
    let mut incomplete = 0usize;
    for block in assembler.finish() {
        if evtx_files::before_since(ctx, block.last_time) {
            continue;
        }
        if !block.complete {
            incomplete += 1;
        }
        let text_sha256 = Sha256::digest(block.text.as_bytes());
        let text_chars = block.text.chars().count() as u64;
        emit(
            out,
            PowershellRecord::ScriptBlock(ScriptBlockRecord {
                block,
                text_sha256,
                text_chars,
                source: source.clone(),
            }),
        )?;
    }
    if incomplete > 0 {
        out.warn(format!(
            "{}: {incomplete} script block(s) incomplete (parts missing or over the memory \
             cap); see missing_parts in their script_block records",
            log.display
        ));
    }
    evtx_files::report_log(out, log, &read);
    emit(
        out,
        PowershellRecord::LogFile(read.summary(recorded, before_since, other)),
    )?;
    Ok(())
}

/// Every profile to look in: the accounts the source knows and the service profiles.
fn profiles(source: &dyn FileSource) -> Vec<(String, PathBuf)> {
    let mut list: Vec<(String, PathBuf)> = source
        .users()
        .into_iter()
        .map(|u| (u.name, u.home))
        .collect();
    for (name, home) in SERVICE_PROFILES {
        let home = PathBuf::from(home);
        if !list.iter().any(|(_, h)| *h == home) {
            list.push((name.to_string(), home));
        }
    }
    list
}

fn collect_psreadline(
    ctx: &Context,
    out: &mut dyn Sink,
    opts: &PowershellLogsOptions,
) -> Result<(), CollectError> {
    for (user, home) in profiles(ctx.fs) {
        if ctx.cancel.should_stop().is_some() {
            return Ok(());
        }
        let dir = home.join(PSREADLINE_DIR);
        let entries = match ctx.fs.read_dir(&dir) {
            Ok(entries) => entries,
            // Most profiles never ran PowerShell interactively.
            Err(e) if e.is_not_found() => continue,
            Err(e) => {
                out.error(format!(
                    "cannot list {}: {}",
                    ctx.fs.display_path(&dir),
                    evtx_files::describe_error(ctx, &e)
                ));
                continue;
            }
        };
        let (files, specials) = evtx_files::split_specials(entries);
        // A FIFO or device named like a history is said as what it is, never opened.
        for (name, logical, what) in specials {
            if host_of(&name).is_some() {
                out.warn(format!(
                    "{} is {what}; not opened",
                    ctx.fs.display_path(&logical)
                ));
            }
        }
        let mut files: Vec<(String, PathBuf)> = files
            .into_iter()
            .filter(|(name, _)| host_of(name).is_some())
            .collect();
        files.sort();
        for (name, logical) in files {
            let host = host_of(&name).unwrap_or_default().to_string();
            history_file(ctx, out, &user, &host, &logical, opts)?;
        }
    }
    Ok(())
}

/// `ConsoleHost` for `ConsoleHost_history.txt`; None for other files.
fn host_of(name: &str) -> Option<&str> {
    let cut = name.len().checked_sub(HISTORY_SUFFIX.len())?;
    let (host, suffix) = (name.get(..cut)?, name.get(cut..)?);
    suffix.eq_ignore_ascii_case(HISTORY_SUFFIX).then_some(host)
}

fn history_file(
    ctx: &Context,
    out: &mut dyn Sink,
    user: &str,
    host: &str,
    logical: &Path,
    opts: &PowershellLogsOptions,
) -> Result<(), CollectError> {
    let max = opts.max_history_size.0;
    let display = ctx.fs.display_path(logical);
    let mut opened = match ctx.fs.open(logical) {
        Ok(f) => f,
        Err(e) => {
            out.error(format!(
                "cannot read {display}: {}",
                evtx_files::describe_error(ctx, &e)
            ));
            return Ok(());
        }
    };
    let req = FileRequest {
        display: display.clone(),
        logical,
        meta: &opened.meta,
        copy: true,
        copy_cap: u64::MAX,
        keep: usize::try_from(max).unwrap_or(usize::MAX),
        member_name: None,
        keep_tail: false,
    };
    let outcome = out.file(&req, &mut opened.file)?;
    if !outcome.kept_complete && outcome.read_error.is_none() {
        out.cut(format!(
            "{display}: larger than max_history_size; only the first {max} bytes were parsed"
        ));
    }
    let parsed = parse_history_capped(
        HistoryKind::PsReadLine,
        &outcome.kept,
        opts.max_history_commands,
    );
    for w in parsed.warnings.iter().take(MAX_HISTORY_WARNINGS) {
        out.warn(format!("{display}: {w}"));
    }
    if parsed.commands_dropped > 0 {
        out.cut(format!(
            "{display}: {} commands; records for the newest {} only (max_history_commands), \
             the archived copy holds them all",
            parsed.commands_total,
            parsed.entries.len()
        ));
    }
    let source = SourceRef {
        source_path: display,
        source_member: outcome.member,
        source_sha256: outcome.sha256,
    };
    for entry in parsed.entries {
        emit(
            out,
            PowershellRecord::Psreadline(PsReadLineRecord {
                user: user.to_string(),
                host: host.to_string(),
                ordinal: entry.ordinal as u64,
                line_number: entry.line_number as u64,
                command: entry.command,
                lossy_utf8: entry.lossy_utf8,
                file_modified: opened.meta.mtime,
                source: source.clone(),
            }),
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn history_file_names() {
        assert_eq!(host_of("ConsoleHost_history.txt"), Some("ConsoleHost"));
        assert_eq!(
            host_of("Visual Studio Code Host_HISTORY.TXT"),
            Some("Visual Studio Code Host")
        );
        assert_eq!(host_of("_history.txt"), Some(""));
        assert_eq!(host_of("history.txt"), None);
        assert_eq!(host_of("ConsoleHost_history.txt.bak"), None);
    }

    #[test]
    fn options_default_and_refuse_typos() {
        let o: PowershellLogsOptions = toml::from_str("").unwrap();
        assert_eq!(o.logs.len(), 3);
        assert_eq!(o.max_in_memory.0, 256 << 20);
        let o: PowershellLogsOptions =
            toml::from_str("logs = [\"Archive-*.evtx\"]\nmax_in_memory = \"1 MiB\"").unwrap();
        assert_eq!(o.logs, vec!["Archive-*.evtx".to_string()]);
        assert_eq!(o.max_in_memory.0, 1 << 20);
        assert!(toml::from_str::<PowershellLogsOptions>("log = []").is_err());
    }
}
