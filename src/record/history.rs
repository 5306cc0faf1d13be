//! `shell_history` records: one per command found in a shell or interpreter history file.

use super::{Sha256, Timestamp};
use serde::{Deserialize, Serialize};

/// Which program wrote the history.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum HistoryShell {
    Bash,
    Zsh,
    Fish,
    /// `.sh_history`, ksh, ash, mksh.
    Sh,
    /// The Python REPL.
    Python,
    /// PSReadLine (PowerShell 7 on Unix).
    Powershell,
}

/// One command of a history file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct HistoryRecord {
    /// The account whose home holds the file.
    pub user: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<u32>,
    /// Other accounts with the same home (the file is read once, under the first account).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub home_shared_with: Vec<String>,
    pub shell: HistoryShell,
    /// The history file, as the evidence's OS writes it.
    pub file: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub archive_member: Option<String>,
    /// SHA-256 of the whole history file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_sha256: Option<Sha256>,
    /// 1-based position of the command among those parsed: from the start of the file, or,
    /// for a file over `max_parse_size`, from the start of its newest part that was parsed.
    pub ordinal: u64,
    /// First line of the file the command came from (1-based; for binary ksh/mksh files, the
    /// record index).
    pub line_number: u64,
    /// The command; multi-line commands are joined with `\n`. A command over 64 KiB keeps
    /// its first and last 32 KiB around a marker (`command_bytes` says how long it was).
    pub command: String,
    /// The command's length in bytes, when `command` was shortened.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command_bytes: Option<u64>,
    /// When the command was run (UTC), where the format stores it (bash with `#<epoch>`
    /// lines, zsh extended history, fish).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<Timestamp>,
    /// zsh extended history: how long the command ran, in seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub duration_secs: Option<u64>,
    /// fish: the paths the command referenced.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub paths: Vec<String>,
    /// Invalid UTF-8 in the command was replaced (U+FFFD).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub lossy_utf8: bool,
}
