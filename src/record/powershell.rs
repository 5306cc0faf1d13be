//! Records of the `powershell_logs` collector (`records/powershell_logs.jsonl`). One file
//! mixes four shapes, told apart by `record_type`:
//! - `event`: one PowerShell event (4103/4104/4100, 400/403/600/800, 40961/40962/53504);
//! - `script_block`: one 4104 script block reassembled from all its parts — the record a
//!   detection rule reads for script content;
//! - `psreadline`: one command of a user's PSReadLine history;
//! - `log_file`: what reading one event log found (chunks, records, skips).
//!
//! Script text is stored once: a 4104 part of a multi-part block carries no
//! `script_block_text`, only `text_in_script_block: true`, its `script_block_id` and
//! `part_chars`; the text is in the block's `script_block` record. Single-part blocks keep
//! their text on the event too (it is short, and then every 4104 event reads alone).

use super::execution_event::{EvtxLogSummary, SourceRef};
use super::{Sha256, Timestamp};
use crate::parsers::powershell::{PsEvent, ScriptBlock};
use serde::{Deserialize, Serialize};

#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "record_type", rename_all = "snake_case")]
pub enum PowershellRecord {
    Event(PsEventRecord),
    ScriptBlock(ScriptBlockRecord),
    Psreadline(PsReadLineRecord),
    LogFile(EvtxLogSummary),
}

/// One PowerShell event: System fields (`record_id`, `time`, `event_id`, `channel`,
/// `provider`, `computer`, `user_sid`, `process_id`, `thread_id`), `kind`, `log`, and the
/// parsed payload (`script_block_text`, `script_block_id`, `message_number`/`message_total`,
/// `path`, `payload`, `context`, `host_application`, `engine_version`, `command_line`, ...).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PsEventRecord {
    #[serde(flatten)]
    pub event: PsEvent,
    /// 4104 part whose text was left out here because it is in the `script_block` record
    /// with the same `script_block_id`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub text_in_script_block: bool,
    /// Length of this part's text in characters (set when the text was left out).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub part_chars: Option<u64>,
    #[serde(flatten)]
    pub source: SourceRef,
}

/// A 4104 script block reassembled from its parts (`text` = parts in MessageNumber order;
/// `parts_expected`, `parts_present`, `missing_parts`, `complete`, `record_ids`,
/// `first_time`/`last_time`, ...).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScriptBlockRecord {
    #[serde(flatten)]
    pub block: ScriptBlock,
    /// SHA-256 of `text` as UTF-8 (equals the script file's hash when the block is complete
    /// and the script was UTF-8 without CR).
    pub text_sha256: Sha256,
    /// Length of `text` in characters (Unicode scalar values).
    pub text_chars: u64,
    #[serde(flatten)]
    pub source: SourceRef,
}

/// One command of a PSReadLine history file
/// (`Users\<user>\AppData\Roaming\Microsoft\Windows\PowerShell\PSReadLine\<host>_history.txt`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PsReadLineRecord {
    /// Profile folder name (`alice`), or `SYSTEM`/`LocalService`/`NetworkService` for the
    /// service profiles under `Windows\`.
    pub user: String,
    /// PowerShell host the file belongs to (`ConsoleHost`, `Visual Studio Code Host`).
    pub host: String,
    /// 1-based position of the command in the file (oldest first).
    pub ordinal: u64,
    /// First line of the command in the file (1-based).
    pub line_number: u64,
    /// The command; lines continued with a backtick are joined with `\n`.
    pub command: String,
    /// Invalid text was replaced with U+FFFD.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub lossy_utf8: bool,
    /// Modification time of the history file: about when its last command was typed
    /// (PSReadLine stores no per-command time).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_modified: Option<Timestamp>,
    #[serde(flatten)]
    pub source: SourceRef,
}
