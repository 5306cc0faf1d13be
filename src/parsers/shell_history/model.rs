//! What a history parse yields: the kinds of history, the entries, and the warnings.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::parsers::capped::{is_false, is_zero};

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
