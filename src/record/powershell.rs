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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Records go out as JSON lines and come back in through the same types (detection,
    /// report): every shape must survive the trip, flattened parser fields included.
    #[test]
    fn records_round_trip() {
        let lines = [
            r#"{"record_type":"event","record_id":7,"time":"2022-03-10T19:50:55.107853200Z","event_id":400,"kind":"engine_start","log":"windows_powershell","channel":"Windows PowerShell","provider":"PowerShell","computer":"PC","process_id":0,"level":4,"context":[["HostName","ConsoleHost"],["HostApplication","powershell.exe -enc AA"]],"host_application":"powershell.exe -enc AA","host_name":"ConsoleHost","sequence_number":13,"source_path":"C:\\x.evtx","source_sha256":"593c6cb87521664c51f17785e8a06d1841e5e3af4c55bede3ac806dcebeff1db"}"#,
            r#"{"record_type":"event","record_id":22,"event_id":4104,"kind":"script_block","log":"operational","channel":"Microsoft-Windows-PowerShell/Operational","provider":"Microsoft-Windows-PowerShell","computer":"PC","script_block_id":"abb3","message_number":5,"message_total":125,"text_in_script_block":true,"part_chars":17714,"source_path":"C:\\x.evtx"}"#,
            r#"{"record_type":"script_block","script_block_id":"681c","path":"C:\\TMP\\a.ps1","text":"<#\nPoC","parts_expected":1,"parts_present":[1],"missing_parts":[],"missing_count":0,"duplicate_parts":0,"inconsistent_totals":false,"complete":true,"truncated":false,"first_record_id":14,"record_ids":[14],"first_time":"2023-10-18T03:01:33.742917400Z","last_time":"2023-10-18T03:01:33.742917400Z","computer":"PC","process_id":5060,"text_sha256":"611ec7bbbbc74cf6c8911009d881dba927288494eaa68ba5f9dc19f788278fde","text_chars":7,"source_path":"C:\\x.evtx","source_member":"files/C/x.evtx"}"#,
            r#"{"record_type":"psreadline","user":"alice","host":"ConsoleHost","ordinal":1,"line_number":1,"command":"whoami","source_path":"C:\\Users\\alice\\h.txt"}"#,
            r#"{"record_type":"log_file","source_path":"C:\\x.evtx","events_recorded":1,"events_before_since":0,"events_other":2,"header_chunk_count":1,"chunks_seen":132,"records_ok":168,"skipped":[{"chunk":132,"offset":8654848,"reason":"zeros","kind":"zeroed_chunk"}],"warnings":[],"chunk_slots":145,"file_size":9506816,"header_dirty":true,"header_checksum_ok":true,"items_dropped":0,"stopped_early":false}"#,
        ];
        for line in lines {
            let want: serde_json::Value = serde_json::from_str(line).unwrap();
            let rec: PowershellRecord =
                serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
            assert_eq!(serde_json::to_value(&rec).unwrap(), want, "{line}");
        }
    }
}
