//! PowerShell event-log records: script blocks, module/pipeline logging, engine lifecycle.
//!
//! Artifact (Windows only; read from any EVTX via [`crate::parsers::evtx_read`]):
//! - `%SystemRoot%\System32\winevt\Logs\Microsoft-Windows-PowerShell%4Operational.evtx`,
//!   provider `Microsoft-Windows-PowerShell`: 4104 script block logging, 4103 module logging,
//!   4100 errors, 40961/40962/53504 console/IPC session start.
//! - `...\Windows PowerShell.evtx`, provider `PowerShell` (the classic log, PowerShell 2.0+):
//!   400 engine start, 403 engine stop, 600 provider start, 800 pipeline execution. Their payload
//!   is a string array in unnamed `Data` elements with a "Key=Value" context block, and 400 is
//!   written even with no logging policy, so it is the one record of a `-Exec Bypass`/`-Enc`
//!   launch on a default box.
//! - `...\PowerShellCore%4Operational.evtx`, provider `PowerShellCore` (PowerShell 7): same ids
//!   as the Operational log.
//!
//! Events are recognised by provider + channel + id, never by file name: exports merge logs, and
//! the same ids mean other things elsewhere (800 in TaskScheduler/Maintenance, 400 in
//! TaskScheduler/Operational). A record with an empty channel (some forwarded/exported records)
//! is accepted on provider + id alone.
//!
//! We record per event the System fields, the 4104 script-block fields, the 4103/4100 payload,
//! the parsed context block (host application = the PowerShell command line, user, runspace,
//! script name, ...), and reassemble multi-part script blocks ([`ScriptBlockAssembler`]): a
//! script longer than ~32 K characters is split over several 4104 records sharing a
//! ScriptBlockId, numbered MessageNumber 1..MessageTotal.
//!
//! References: Microsoft Docs "about_Logging_Windows"; the Microsoft-Windows-PowerShell and
//! PowerShell (classic) event manifests; FireEye/Mandiant "Greater Visibility Through PowerShell
//! Logging" (2016).

use crate::parsers::evtx_read::RawEvent;
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};

/// What a PowerShell event records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PsEventKind {
    /// 4104: script block text (logged when script block logging is on, and for
    /// "suspicious" blocks even when it is off, PowerShell 5+).
    ScriptBlock,
    /// 4103: module/pipeline logging (command invocation and parameter binding).
    ModuleLogging,
    /// 4100: error raised in a pipeline.
    Error,
    /// 400: engine state changed to Available (a PowerShell host started).
    EngineStart,
    /// 403: engine stopped.
    EngineStop,
    /// 600: provider started (Registry, Alias, FileSystem, ...).
    ProviderStart,
    /// 800: pipeline execution details (classic module logging).
    PipelineExecution,
    /// 40961 console starting, 40962 console ready, 53504 IPC listener started.
    SessionContext,
}

/// Which PowerShell log the record came from (by provider/channel, not file name).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum PsLog {
    /// Microsoft-Windows-PowerShell/Operational.
    Operational,
    /// Windows PowerShell (classic). Renamed: snake_case would split "PowerShell".
    #[serde(rename = "windows_powershell")]
    WindowsPowerShell,
    /// PowerShellCore/Operational (PowerShell 7).
    #[serde(rename = "powershell_core")]
    PowerShellCore,
}

/// One PowerShell event with its fields pulled out.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub struct PsEvent {
    pub record_id: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time: Option<chrono::DateTime<chrono::Utc>>,
    pub event_id: u32,
    pub kind: PsEventKind,
    pub log: PsLog,
    pub channel: String,
    pub provider: String,
    pub computer: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_sid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub process_id: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub thread_id: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub level: Option<u8>,

    // --- 4104
    #[serde(skip_serializing_if = "Option::is_none")]
    pub script_block_text: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub script_block_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_number: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_total: Option<u32>,
    /// Script file the block came from ("" for interactive/encoded input is mapped to None).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,

    // --- 4103 / 4100 / 800 payload and context
    /// 4103/4100: `Payload` (CommandInvocation/ParameterBinding lines, or the error text);
    /// 800: the details string (third value), which carries the same CommandInvocation lines.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub payload: Option<String>,
    /// Raw context block: 4103/4100 `ContextInfo` ("Key = Value" lines), classic events'
    /// "Key=Value" string.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub context_info: Option<String>,
    /// Every pair parsed from the context block, in order, keys as written.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub context: Vec<(String, String)>,
    /// The PowerShell host's command line (`powershell.exe -enc ...`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host_application: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host_version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub engine_version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub runspace_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pipeline_id: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub script_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command_path: Option<String>,
    /// Classic context `CommandLine=` (800: the pipeline text again).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command_line: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sequence_number: Option<u64>,
    /// 4103 `User`, classic 800 `UserId` (DOMAIN\user).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// 4103 `Connected User` (remoting).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connected_user: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shell_id: Option<String>,
    /// 4103/4100 `Severity`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub severity: Option<String>,

    // --- 800 / 4100
    /// 800: details string (CommandInvocation(...)/ParameterBinding(...) lines); 4100: Payload.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<String>,
    /// 4100: the `Error Message = ...` text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// 800: the pipeline text (first value) — what was typed or run.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pipeline_text: Option<String>,
    /// 800: `DetailSequence` / `DetailTotal` (long details are split over several 800s).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail_sequence: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail_total: Option<u32>,

    // --- 400 / 403 / 600
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new_engine_state: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous_engine_state: Option<String>,
    /// 600: provider name (Registry, Alias, Environment, FileSystem, Function, Variable, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub provider_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new_provider_state: Option<String>,

    /// Named data not mapped above (e.g. 53504 `param1` = process id, `param2` = AppDomain).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub extra: Vec<(String, String)>,
}

fn classify(ev: &RawEvent) -> Option<(PsLog, PsEventKind)> {
    let channel_ok = |prefix: &str| {
        ev.channel.is_empty()
            || ev
                .channel
                .get(..prefix.len())
                .is_some_and(|p| p.eq_ignore_ascii_case(prefix))
    };
    let modern = |id: u32| match id {
        4104 => Some(PsEventKind::ScriptBlock),
        4103 => Some(PsEventKind::ModuleLogging),
        4100 => Some(PsEventKind::Error),
        40961 | 40962 | 53504 => Some(PsEventKind::SessionContext),
        _ => None,
    };
    let provider = ev.provider.as_str();
    if provider.eq_ignore_ascii_case("Microsoft-Windows-PowerShell")
        && channel_ok("Microsoft-Windows-PowerShell/")
    {
        return modern(ev.event_id).map(|k| (PsLog::Operational, k));
    }
    if provider.eq_ignore_ascii_case("PowerShellCore") && channel_ok("PowerShellCore/") {
        return modern(ev.event_id).map(|k| (PsLog::PowerShellCore, k));
    }
    let classic_channel =
        ev.channel.is_empty() || ev.channel.eq_ignore_ascii_case("Windows PowerShell");
    if provider.eq_ignore_ascii_case("PowerShell") && classic_channel {
        let kind = match ev.event_id {
            400 => PsEventKind::EngineStart,
            403 => PsEventKind::EngineStop,
            600 => PsEventKind::ProviderStart,
            800 => PsEventKind::PipelineExecution,
            _ => return None,
        };
        return Some((PsLog::WindowsPowerShell, kind));
    }
    None
}

/// Convert a raw record into a PowerShell event; `None` when it is not one of the PowerShell
/// events listed in [`PsEventKind`] (other providers, other channels, other ids).
pub fn ps_event_from_raw(ev: &RawEvent) -> Option<PsEvent> {
    let (log, kind) = classify(ev)?;
    let mut out = PsEvent {
        record_id: ev.record_id,
        time: ev.time,
        event_id: ev.event_id,
        kind,
        log,
        channel: ev.channel.clone(),
        provider: ev.provider.clone(),
        computer: ev.computer.clone(),
        user_sid: ev.user_sid.clone(),
        process_id: ev.process_id,
        thread_id: ev.thread_id,
        level: ev.level,
        script_block_text: None,
        script_block_id: None,
        message_number: None,
        message_total: None,
        path: None,
        payload: None,
        context_info: None,
        context: Vec::new(),
        host_application: None,
        host_name: None,
        host_version: None,
        host_id: None,
        engine_version: None,
        runspace_id: None,
        pipeline_id: None,
        command_name: None,
        command_type: None,
        script_name: None,
        command_path: None,
        command_line: None,
        sequence_number: None,
        user: None,
        connected_user: None,
        shell_id: None,
        severity: None,
        details: None,
        message: None,
        pipeline_text: None,
        detail_sequence: None,
        detail_total: None,
        new_engine_state: None,
        previous_engine_state: None,
        provider_name: None,
        new_provider_state: None,
        extra: Vec::new(),
    };
    let d = &ev.data;
    let named = |name: &str| d.get(name).map(str::to_string);
    match kind {
        PsEventKind::ScriptBlock => {
            out.script_block_text = named("ScriptBlockText");
            out.script_block_id = named("ScriptBlockId").map(|s| s.trim().to_string());
            out.message_number = named("MessageNumber").and_then(|s| s.trim().parse().ok());
            out.message_total = named("MessageTotal").and_then(|s| s.trim().parse().ok());
            out.path = named("Path").filter(|p| !p.is_empty());
            // Older builds (and PowerShell 2-era forwarders) may not name the fields.
            if out.script_block_text.is_none() && d.named.is_empty() {
                let u = &d.unnamed;
                out.message_number = u.first().and_then(|s| s.trim().parse().ok());
                out.message_total = u.get(1).and_then(|s| s.trim().parse().ok());
                out.script_block_text = u.get(2).cloned();
                out.script_block_id = u.get(3).map(|s| s.trim().to_string());
                out.path = u.get(4).cloned().filter(|p| !p.is_empty());
            }
        }
        PsEventKind::ModuleLogging | PsEventKind::Error => {
            out.context_info = named("ContextInfo");
            out.payload = named("Payload");
            if kind == PsEventKind::Error {
                out.details = out.payload.clone();
                out.message = out
                    .payload
                    .as_deref()
                    .and_then(|p| {
                        parse_context(p)
                            .into_iter()
                            .find(|(k, _)| norm_key(k) == "errormessage")
                    })
                    .map(|(_, v)| v);
            }
            for (k, v) in &d.named {
                if !matches!(k.as_str(), "ContextInfo" | "Payload" | "UserData") {
                    out.extra.push((k.clone(), v.clone()));
                }
            }
        }
        PsEventKind::SessionContext => {
            out.extra = d.named.clone();
        }
        PsEventKind::EngineStart | PsEventKind::EngineStop | PsEventKind::ProviderStart => {
            // Manifest order: state/provider, state, context block.
            let u = &d.unnamed;
            if kind == PsEventKind::ProviderStart {
                out.provider_name = u.first().cloned();
                out.new_provider_state = u.get(1).cloned();
            } else {
                out.new_engine_state = u.first().cloned();
                out.previous_engine_state = u.get(1).cloned();
            }
            out.context_info = u.get(2).or_else(|| u.last()).cloned();
        }
        PsEventKind::PipelineExecution => {
            // Manifest order: pipeline text, context block, details.
            let u = &d.unnamed;
            out.pipeline_text = u.first().cloned();
            out.context_info = u.get(1).cloned();
            out.details = u.get(2).cloned();
            out.payload = out.details.clone();
        }
    }
    // Renderings that name the classic fields (some forwarders) still work.
    if out.context_info.is_none() {
        out.context_info = named("ContextInfo");
    }
    if let Some(ctx) = out.context_info.clone() {
        out.context = parse_context(&ctx);
        apply_context(&mut out);
    }
    Some(out)
}

/// Lower-case with spaces/underscores removed, so "Host Application" (4103) and
/// "HostApplication" (classic) map to the same field.
fn norm_key(k: &str) -> String {
    k.chars()
        .filter(|c| !c.is_whitespace() && *c != '_')
        .flat_map(char::to_lowercase)
        .collect()
}

fn apply_context(out: &mut PsEvent) {
    let pairs = std::mem::take(&mut out.context);
    for (k, v) in &pairs {
        let text = || Some(v.clone()).filter(|s| !s.is_empty());
        let num = || v.trim().parse::<u64>().ok();
        // First occurrence wins (context blocks do not repeat keys; a forged repeat should not
        // override the real value written first).
        macro_rules! set {
            ($field:ident, $val:expr) => {
                if out.$field.is_none() {
                    out.$field = $val;
                }
            };
        }
        match norm_key(k).as_str() {
            "hostapplication" => set!(host_application, text()),
            "hostname" => set!(host_name, text()),
            "hostversion" => set!(host_version, text()),
            "hostid" => set!(host_id, text()),
            "engineversion" => set!(engine_version, text()),
            "runspaceid" => set!(runspace_id, text()),
            "pipelineid" => set!(pipeline_id, num()),
            "commandname" => set!(command_name, text()),
            "commandtype" => set!(command_type, text()),
            "scriptname" => set!(script_name, text()),
            "commandpath" => set!(command_path, text()),
            "commandline" => set!(command_line, text()),
            "sequencenumber" => set!(sequence_number, num()),
            "user" | "userid" => set!(user, text()),
            "connecteduser" => set!(connected_user, text()),
            "shellid" => set!(shell_id, text()),
            "severity" => set!(severity, text()),
            "newenginestate" => set!(new_engine_state, text()),
            "previousenginestate" => set!(previous_engine_state, text()),
            "providername" => set!(provider_name, text()),
            "newproviderstate" => set!(new_provider_state, text()),
            "detailsequence" => set!(detail_sequence, num().and_then(|n| u32::try_from(n).ok())),
            "detailtotal" => set!(detail_total, num().and_then(|n| u32::try_from(n).ok())),
            _ => {}
        }
    }
    out.context = pairs;
}

/// Parse a PowerShell context block into (key, value) pairs, in order.
///
/// Two layouts exist: classic `\tKey=Value` lines and 4103/4100 `        Key Name = Value`
/// lines (keys localized on non-English systems). Values can span lines (a multi-line host
/// command line, the pipeline text in `CommandLine=`), so a line only starts a new key when it
/// has the same indentation as the first key line and a plausible key (letters/digits/spaces,
/// starting with a letter) before the first `=`; anything else continues the previous value.
/// `CommandLine` is always last and takes the rest of the block verbatim.
pub fn parse_context(text: &str) -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> = Vec::new();
    let mut indent: Option<&str> = None;
    let mut rest_is_value = false;
    for line in text.split_inclusive('\n') {
        let key_line = match rest_is_value {
            true => None,
            false => split_key_line(line).filter(|(lead, _, _)| indent.is_none_or(|i| i == *lead)),
        };
        if let Some((lead, key, value)) = key_line {
            indent = Some(lead);
            rest_is_value = norm_key(key) == "commandline";
            pairs.push((key.to_string(), value.to_string()));
            continue;
        }
        // Text before the first key (e.g. a localized header line) is ignored.
        if let Some((_, v)) = pairs.last_mut() {
            v.push_str(line);
        }
    }
    for (_, v) in &mut pairs {
        let trimmed = v.trim_end_matches(['\r', '\n']).len();
        v.truncate(trimmed);
    }
    pairs
}

/// `(leading whitespace, key, value-with-line-ending)` when `line` looks like `Key=Value` or
/// `Key Name = Value`.
fn split_key_line(line: &str) -> Option<(&str, &str, &str)> {
    let body_start = line.len() - line.trim_start_matches([' ', '\t']).len();
    let lead = line.get(..body_start)?;
    let body = line.get(body_start..)?;
    let eq = body.find('=')?;
    let raw_key = body.get(..eq)?;
    let key = raw_key.trim_end();
    if key.is_empty() || key.chars().count() > 48 {
        return None;
    }
    let mut chars = key.chars();
    if !chars.next().is_some_and(char::is_alphabetic) {
        return None;
    }
    if !key.chars().all(|c| c.is_alphanumeric() || c == ' ') {
        return None;
    }
    let mut value = body.get(eq + 1..)?;
    // "Key = Value": drop the single space after '=' that belongs to the separator.
    if raw_key.len() != key.len() {
        value = value.strip_prefix(' ').unwrap_or(value);
    }
    Some((lead, key, value))
}

// ---------------------------------------------------------------------------------------------
// Script block reassembly.

/// A script block reassembled from its 4104 parts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub struct ScriptBlock {
    /// ScriptBlockId as logged (GUID); `record:<id>` for a 4104 that carries none.
    pub script_block_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    /// Present parts concatenated in MessageNumber order (missing parts leave no marker, so
    /// a complete block hashes like the original script).
    pub text: String,
    /// MessageTotal (the largest value seen if parts disagree).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parts_expected: Option<u32>,
    pub parts_present: Vec<u32>,
    /// Missing part numbers (capped at [`MAX_MISSING_LISTED`]; see `missing_count`).
    pub missing_parts: Vec<u32>,
    pub missing_count: u64,
    /// Extra copies of an already-seen part number (first copy kept).
    pub duplicate_parts: u32,
    /// Parts whose MessageTotal differed from the others.
    pub inconsistent_totals: bool,
    /// All parts present and none dropped by the size cap.
    pub complete: bool,
    /// Part text was dropped because the assembler's byte cap was reached.
    pub truncated: bool,
    pub first_record_id: u64,
    pub record_ids: Vec<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_time: Option<chrono::DateTime<chrono::Utc>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_time: Option<chrono::DateTime<chrono::Utc>>,
    pub computer: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_sid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub process_id: Option<u32>,
}

/// Longest `missing_parts` list kept; a forged MessageTotal of 4 billion must not allocate.
pub const MAX_MISSING_LISTED: usize = 10_000;
/// Default cap on script text held by an assembler (all blocks together).
pub const DEFAULT_ASSEMBLY_CAP: usize = 256 * 1024 * 1024;

#[derive(Debug, Default)]
struct Part {
    number: u32,
    text: Option<String>,
    record_id: u64,
}

#[derive(Debug, Default)]
struct Pending {
    id: String,
    path: Option<String>,
    total: Option<u32>,
    inconsistent_totals: bool,
    parts: Vec<Part>,
    /// MessageNumbers in `parts`. The duplicate check was a scan of `parts`, quadratic in the
    /// part count: 200k forged parts of one ScriptBlockId hung the assembler for minutes
    /// (tests/hostile.rs `assembler_many_parts_is_linear`).
    numbers: HashSet<u32>,
    duplicates: u32,
    truncated: bool,
    first_record_id: Option<u64>,
    record_ids: Vec<u64>,
    first_time: Option<chrono::DateTime<chrono::Utc>>,
    last_time: Option<chrono::DateTime<chrono::Utc>>,
    computer: String,
    user_sid: Option<String>,
    process_id: Option<u32>,
}

/// Collects 4104 events in any order and reassembles them by ScriptBlockId.
#[derive(Debug)]
pub struct ScriptBlockAssembler {
    blocks: HashMap<String, Pending>,
    order: Vec<String>,
    cap_bytes: usize,
    held_bytes: usize,
}

impl Default for ScriptBlockAssembler {
    fn default() -> Self {
        Self::new()
    }
}

impl ScriptBlockAssembler {
    pub fn new() -> Self {
        Self::with_cap(DEFAULT_ASSEMBLY_CAP)
    }

    /// `cap_bytes`: most script text (UTF-8 bytes, all blocks) held; parts past it keep their
    /// metadata but not their text, and their block is marked `truncated`.
    pub fn with_cap(cap_bytes: usize) -> Self {
        ScriptBlockAssembler {
            blocks: HashMap::new(),
            order: Vec::new(),
            cap_bytes,
            held_bytes: 0,
        }
    }

    /// Script text bytes currently held.
    pub fn held_bytes(&self) -> usize {
        self.held_bytes
    }

    /// Add a 4104 event (by value: avoids copying multi-MB text). Returns false, ignoring the
    /// event, when it is not a script block event.
    pub fn add(&mut self, ev: PsEvent) -> bool {
        if ev.kind != PsEventKind::ScriptBlock {
            return false;
        }
        let id = match ev.script_block_id.as_deref().map(str::trim) {
            Some(id) if !id.is_empty() => id.to_ascii_lowercase(),
            _ => format!("record:{}", ev.record_id),
        };
        let pending = match self.blocks.get_mut(&id) {
            Some(p) => p,
            None => {
                self.order.push(id.clone());
                let shown = ev
                    .script_block_id
                    .clone()
                    .filter(|s| !s.trim().is_empty())
                    .unwrap_or_else(|| id.clone());
                self.blocks.entry(id.clone()).or_insert(Pending {
                    id: shown,
                    computer: ev.computer.clone(),
                    user_sid: ev.user_sid.clone(),
                    process_id: ev.process_id,
                    ..Pending::default()
                })
            }
        };
        let number = ev.message_number.unwrap_or(1);
        if let Some(total) = ev.message_total {
            match pending.total {
                Some(t) if t != total => {
                    pending.inconsistent_totals = true;
                    pending.total = Some(t.max(total));
                }
                _ => pending.total = Some(total),
            }
        }
        if pending.path.is_none() {
            pending.path = ev.path.clone();
        }
        pending.record_ids.push(ev.record_id);
        if pending.first_record_id.is_none_or(|r| ev.record_id < r) {
            pending.first_record_id = Some(ev.record_id);
        }
        if let Some(t) = ev.time {
            pending.first_time = Some(pending.first_time.map_or(t, |f| f.min(t)));
            pending.last_time = Some(pending.last_time.map_or(t, |l| l.max(t)));
        }
        if !pending.numbers.insert(number) {
            // Same part logged twice (re-run of the same block in one process, merged
            // exports): keep the first copy.
            pending.duplicates = pending.duplicates.saturating_add(1);
            return true;
        }
        let text = ev.script_block_text.unwrap_or_default();
        let text = if self.held_bytes.saturating_add(text.len()) <= self.cap_bytes {
            self.held_bytes += text.len();
            Some(text)
        } else {
            pending.truncated = true;
            None
        };
        pending.parts.push(Part {
            number,
            text,
            record_id: ev.record_id,
        });
        true
    }

    /// Add by reference (clones the text).
    pub fn add_ref(&mut self, ev: &PsEvent) -> bool {
        ev.kind == PsEventKind::ScriptBlock && self.add(ev.clone())
    }

    /// Reassemble every block, ordered by first time then first record id.
    pub fn finish(self) -> Vec<ScriptBlock> {
        let mut blocks = self.blocks;
        let mut out: Vec<ScriptBlock> = self
            .order
            .iter()
            .filter_map(|id| blocks.remove(id))
            .map(assemble)
            .collect();
        out.sort_by(|a, b| {
            (a.first_time, a.first_record_id).cmp(&(b.first_time, b.first_record_id))
        });
        out
    }
}

fn assemble(mut p: Pending) -> ScriptBlock {
    p.parts.sort_by_key(|part| (part.number, part.record_id));
    let text_len: usize = p
        .parts
        .iter()
        .filter_map(|x| x.text.as_ref())
        .map(String::len)
        .sum();
    let mut text = String::with_capacity(text_len);
    for part in &p.parts {
        if let Some(t) = &part.text {
            text.push_str(t);
        }
    }
    let parts_present: Vec<u32> = p.parts.iter().map(|x| x.number).collect();
    let mut missing_parts = Vec::new();
    let mut missing_count = 0u64;
    if let Some(total) = p.total {
        // Walk the gaps between present numbers instead of 1..=total, so a forged huge total
        // costs nothing.
        let mut expect = 1u32;
        let mut record_gap = |from: u32, to_incl: u32| {
            if from > to_incl {
                return;
            }
            missing_count += u64::from(to_incl - from) + 1;
            let mut n = from;
            while n <= to_incl && missing_parts.len() < MAX_MISSING_LISTED {
                missing_parts.push(n);
                n = match n.checked_add(1) {
                    Some(n) => n,
                    None => break,
                };
            }
        };
        for &n in &parts_present {
            if n > total {
                break;
            }
            if n >= expect {
                if n > expect {
                    record_gap(expect, n - 1);
                }
                expect = n.saturating_add(1);
            }
        }
        if expect <= total {
            record_gap(expect, total);
        }
    }
    let complete = p.total.is_some() && missing_count == 0 && !p.truncated;
    ScriptBlock {
        script_block_id: p.id,
        path: p.path,
        text,
        parts_expected: p.total,
        parts_present,
        missing_parts,
        missing_count,
        duplicate_parts: p.duplicates,
        inconsistent_totals: p.inconsistent_totals,
        complete,
        truncated: p.truncated,
        first_record_id: p.first_record_id.unwrap_or(0),
        record_ids: p.record_ids,
        first_time: p.first_time,
        last_time: p.last_time,
        computer: p.computer,
        user_sid: p.user_sid,
        process_id: p.process_id,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parsers::evtx_read::{EventData, read_events};
    use sha2::{Digest, Sha256};
    use std::ops::ControlFlow;

    const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/fixtures/evtx/");

    fn raw_events(rel: &str) -> Vec<RawEvent> {
        let bytes = std::fs::read(format!("{FIXTURES}{rel}")).unwrap();
        let mut out = Vec::new();
        read_events(std::io::Cursor::new(bytes), |ev| {
            out.push(ev);
            ControlFlow::Continue(())
        })
        .unwrap();
        out
    }

    fn ps_events(rel: &str) -> Vec<PsEvent> {
        raw_events(rel)
            .iter()
            .filter_map(ps_event_from_raw)
            .collect()
    }

    fn sha_prefix(text: &str) -> String {
        let digest = Sha256::digest(text.as_bytes());
        digest.iter().take(8).map(|b| format!("{b:02x}")).collect()
    }

    const SERVER2022: &str =
        "powershell/museum-server2022-aptsimulator/Microsoft-Windows-PowerShell%4Operational.evtx";
    const MIMIKATZ_ID: &str = "abb3c63f-e5cd-4310-8cb7-49e545a6f45b";

    fn assemble_all(events: Vec<PsEvent>) -> Vec<ScriptBlock> {
        let mut asm = ScriptBlockAssembler::new();
        for ev in events {
            asm.add(ev);
        }
        asm.finish()
    }

    #[test]
    fn server2022_script_blocks_reassemble() {
        let events = ps_events(SERVER2022);
        assert_eq!(events.len(), 168);
        let sb: Vec<PsEvent> = events
            .into_iter()
            .filter(|e| e.kind == PsEventKind::ScriptBlock)
            .collect();
        assert_eq!(sb.len(), 140);
        let blocks = assemble_all(sb);
        assert_eq!(blocks.len(), 5);
        // (id, parts, path, length in code points, sha256 prefix, starts with)
        let expected = [
            (
                MIMIKATZ_ID,
                125,
                None,
                2_204_117,
                "ebf54f745dc81e19",
                "function Invoke-Mimikatz",
            ),
            (
                "e603e1c4-24f7-4539-bc04-5cfe825aaf69",
                12,
                None,
                122_891,
                "21af35934ede3685",
                "{",
            ),
            (
                "681c77e9-bd4d-4e9e-a547-b86f688dd5ae",
                1,
                Some("C:\\TMP\\WMIBackdoor.ps1"),
                19_995,
                "611ec7bbbbc74cf6",
                "<#\nPoC WMI backdoor.",
            ),
            (
                "44c2c3a7-df05-433a-967d-83da193ea52f",
                1,
                Some("C:\\TMP\\WMIBackdoor.ps1"),
                19_995,
                "611ec7bbbbc74cf6",
                "<#\nPoC WMI backdoor.",
            ),
            (
                "54675a71-990e-46aa-9571-30bc6cc9baea",
                1,
                Some("C:\\TMP\\schtasks-backdoor.ps1"),
                7_022,
                "3752f4499ea85b40",
                "function Invoke-Tasksbackdoor {",
            ),
        ];
        for (id, parts, path, len, sha, start) in expected {
            let b = blocks
                .iter()
                .find(|b| b.script_block_id == id)
                .unwrap_or_else(|| panic!("{id} missing"));
            assert_eq!(b.parts_expected, Some(parts), "{id}");
            assert_eq!(b.parts_present, (1..=parts).collect::<Vec<_>>(), "{id}");
            assert!(
                b.missing_parts.is_empty() && b.complete && !b.truncated,
                "{id}"
            );
            assert_eq!(b.duplicate_parts, 0, "{id}");
            assert_eq!(b.path.as_deref(), path, "{id}");
            assert_eq!(b.text.chars().count(), len, "{id}");
            assert!(!b.text.contains('\r'), "{id}");
            assert_eq!(sha_prefix(&b.text), sha, "{id}");
            assert!(b.text.starts_with(start), "{id}: {:?}", &b.text[..40]);
            assert_eq!(b.record_ids.len(), parts as usize);
            assert_eq!(b.computer, "WIN-FUDU2CKJOE8");
            assert!(b.first_time.is_some() && b.first_time <= b.last_time);
        }
        let mimi = blocks
            .iter()
            .find(|b| b.script_block_id == MIMIKATZ_ID)
            .unwrap();
        // SOURCES.md: "function Invoke-Mimikatz" is in record 18, its first part.
        assert_eq!(mimi.first_record_id, 18);
        assert_eq!(
            blocks.iter().map(|b| b.record_ids.len()).sum::<usize>(),
            140
        );
    }

    #[test]
    fn missing_and_duplicate_parts_are_reported() {
        let events: Vec<PsEvent> = ps_events(SERVER2022)
            .into_iter()
            .filter(|e| e.script_block_id.as_deref() == Some(MIMIKATZ_ID))
            .collect();
        assert_eq!(events.len(), 125);
        let mut asm = ScriptBlockAssembler::new();
        // Feed in reverse order, drop parts 7 and 125, repeat part 3.
        for ev in events.iter().rev() {
            if !matches!(ev.message_number, Some(7) | Some(125)) {
                assert!(asm.add_ref(ev));
            }
        }
        let part3 = events.iter().find(|e| e.message_number == Some(3)).unwrap();
        asm.add_ref(part3);
        let blocks = asm.finish();
        assert_eq!(blocks.len(), 1);
        let b = &blocks[0];
        assert_eq!(b.missing_parts, [7, 125]);
        assert_eq!(b.missing_count, 2);
        assert_eq!(b.duplicate_parts, 1);
        assert_eq!(b.parts_present.len(), 123);
        assert!(!b.complete);
        assert!(b.text.starts_with("function Invoke-Mimikatz"));
        let p7 = events.iter().find(|e| e.message_number == Some(7)).unwrap();
        let p7_len = p7.script_block_text.as_ref().unwrap().chars().count();
        let p125_len = events
            .iter()
            .find(|e| e.message_number == Some(125))
            .unwrap()
            .script_block_text
            .as_ref()
            .unwrap()
            .chars()
            .count();
        assert_eq!(b.text.chars().count(), 2_204_117 - p7_len - p125_len);

        // Non-4104 events are refused.
        let other = ps_events(SERVER2022)
            .into_iter()
            .find(|e| e.event_id == 4100)
            .unwrap();
        assert!(!ScriptBlockAssembler::new().add(other));
    }

    #[test]
    fn assembly_cap_truncates_but_keeps_parts() {
        let events: Vec<PsEvent> = ps_events(SERVER2022)
            .into_iter()
            .filter(|e| e.script_block_id.as_deref() == Some(MIMIKATZ_ID))
            .collect();
        let mut asm = ScriptBlockAssembler::with_cap(100_000);
        for ev in events {
            asm.add(ev);
        }
        assert!(asm.held_bytes() <= 100_000);
        let b = &asm.finish()[0];
        assert!(b.truncated && !b.complete);
        assert_eq!(b.parts_present.len(), 125);
        assert!(b.missing_parts.is_empty());
        assert!(b.text.len() <= 100_000);
    }

    #[test]
    fn forged_message_total_does_not_allocate() {
        let mut asm = ScriptBlockAssembler::new();
        let mut ev = ps_events(SERVER2022)
            .into_iter()
            .find(|e| e.kind == PsEventKind::ScriptBlock)
            .unwrap();
        ev.script_block_id = Some("forged".into());
        ev.message_number = Some(2);
        ev.message_total = Some(u32::MAX);
        asm.add(ev);
        let b = &asm.finish()[0];
        assert_eq!(b.missing_count, u64::from(u32::MAX) - 1);
        assert_eq!(b.missing_parts.len(), MAX_MISSING_LISTED);
        assert_eq!(b.missing_parts[0], 1);
        assert_eq!(b.missing_parts[1], 3);
    }

    #[test]
    fn every_powershell_fixture_is_all_powershell() {
        // (file, records) — every record in these files is one of our kinds.
        for (rel, n) in [
            (
                "powershell/museum-win10-aptsimulator/Microsoft-Windows-PowerShell%4Operational.evtx",
                13,
            ),
            (
                "powershell/museum-win10-aptsimulator/Windows PowerShell.evtx",
                31,
            ),
            (SERVER2022, 168),
            (
                "powershell/museum-win10-belkasoftctf/Windows PowerShell.evtx",
                543,
            ),
            (
                "powershell/mdecrevoisier/ID4103-4104-Payload download via PowerShell.evtx",
                3,
            ),
            (
                "powershell/mdecrevoisier/ID800-4103-Interactive PipeShell over named pipe (server and client).evtx",
                30,
            ),
            (
                "powershell/mdecrevoisier/ID4103-4104-CrackMapExec payload execution.evtx",
                24,
            ),
            (
                "powershell/mdecrevoisier/ID400-800-CrackMapExec payload execution.evtx",
                13,
            ),
            (
                "powershell/mdecrevoisier/ID800-4103-4104-PowerShell BITS job started.evtx",
                11,
            ),
            (
                "powershell/mdecrevoisier/ID4103-4104 - SPN discovery (moder nPowerShell).evtx",
                21,
            ),
            (
                "powershell/mdecrevoisier/ID800-4103-4104-Clear event log attempt.evtx",
                6,
            ),
            (
                "powershell/deepbluecli/Powershell-Invoke-Obfuscation-string-menu.evtx",
                4,
            ),
            (
                "powershell/deepbluecli/Powershell-Invoke-Obfuscation-encoding-menu.evtx",
                66,
            ),
            ("powershell/evtx-attack-samples/exec_emotet_ps_4104.evtx", 1),
            (
                "powershell/evtx-attack-samples/exec_emotet_ps_800_new-object.evtx",
                1,
            ),
            (
                "powershell/evtx-attack-samples/Powershell_4104_MiniDumpWriteDump_Lsass.evtx",
                4,
            ),
            (
                "powershell/evtx-attack-samples/phish_windows_credentials_powershell_scriptblockLog_4104.evtx",
                2,
            ),
        ] {
            assert_eq!(ps_events(rel).len(), n, "{rel}");
        }
    }

    fn count_kind(events: &[PsEvent], kind: PsEventKind) -> usize {
        events.iter().filter(|e| e.kind == kind).count()
    }

    #[test]
    fn pipeshell_mixed_channels() {
        let events = ps_events(
            "powershell/mdecrevoisier/ID800-4103-Interactive PipeShell over named pipe (server and client).evtx",
        );
        assert_eq!(events.len(), 30);
        assert_eq!(count_kind(&events, PsEventKind::PipelineExecution), 13);
        assert_eq!(count_kind(&events, PsEventKind::ModuleLogging), 12);
        assert_eq!(count_kind(&events, PsEventKind::ScriptBlock), 5);
        for e in &events {
            let expected = if e.event_id == 800 {
                PsLog::WindowsPowerShell
            } else {
                PsLog::Operational
            };
            assert_eq!(e.log, expected);
        }
        let hits: Vec<u64> = events
            .iter()
            .filter(|e| {
                e.script_block_text
                    .as_deref()
                    .is_some_and(|t| t.contains("Invoke-PipeShell -mode client -server localhost"))
            })
            .map(|e| e.record_id)
            .collect();
        assert_eq!(hits, [11, 24]);
        let pipe: Vec<_> = events
            .iter()
            .filter(|e| {
                e.kind == PsEventKind::PipelineExecution
                    && e.details
                        .as_deref()
                        .is_some_and(|d| d.contains("NamedPipeServerStream"))
            })
            .collect();
        assert_eq!(pipe.len(), 1);
        assert_eq!(pipe[0].record_id, 3);
        assert_eq!(
            pipe[0].script_name.as_deref(),
            Some("C:\\TOOLS\\Invoke-PipeShell.ps1")
        );
        assert_eq!(pipe[0].user.as_deref(), Some("OFFSEC\\admmig"));
        assert_eq!(pipe[0].pipeline_id, Some(20));
        assert_eq!(pipe[0].detail_sequence, Some(1));
        assert!(
            pipe[0]
                .pipeline_text
                .as_deref()
                .unwrap()
                .contains("New-Object System.IO.Pipes.NamedPipeServerStream")
        );
        assert_eq!(
            pipe[0].command_line,
            pipe[0]
                .pipeline_text
                .as_deref()
                .map(|t| t.trim_end().to_string())
        );

        // 4103 ContextInfo with spaced keys.
        let ml = events
            .iter()
            .find(|e| e.kind == PsEventKind::ModuleLogging)
            .unwrap();
        assert_eq!(ml.host_name.as_deref(), Some("ConsoleHost"));
        assert_eq!(ml.host_version.as_deref(), Some("5.1.14393.3383"));
        assert_eq!(
            ml.host_application.as_deref(),
            Some("C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe")
        );
        assert_eq!(ml.engine_version.as_deref(), Some("5.1.14393.3383"));
        assert_eq!(
            ml.runspace_id.as_deref(),
            Some("4b5551f8-0137-4d3e-a6d3-3061a6604583")
        );
        assert_eq!(ml.pipeline_id, Some(19));
        assert_eq!(ml.command_name.as_deref(), Some("Set-StrictMode"));
        assert_eq!(ml.command_type.as_deref(), Some("Cmdlet"));
        assert_eq!(ml.command_path, None);
        assert_eq!(ml.sequence_number, Some(48));
        assert_eq!(ml.user.as_deref(), Some("OFFSEC\\admmig"));
        assert_eq!(ml.connected_user, None);
        assert_eq!(ml.shell_id.as_deref(), Some("Microsoft.PowerShell"));
        assert_eq!(ml.severity.as_deref(), Some("Informational"));
        assert!(
            ml.payload
                .as_deref()
                .unwrap()
                .starts_with("CommandInvocation(Set-StrictMode)")
        );
    }

    #[test]
    fn classic_400_host_application() {
        let events = ps_events("powershell/museum-win10-aptsimulator/Windows PowerShell.evtx");
        assert_eq!(events.len(), 31);
        assert_eq!(count_kind(&events, PsEventKind::EngineStart), 4);
        assert_eq!(count_kind(&events, PsEventKind::EngineStop), 3);
        assert_eq!(count_kind(&events, PsEventKind::ProviderStart), 24);
        // SOURCES.md: 16 records carry HostApplication=powershell.exe -Exec ByPasS (400/403/600).
        let bypass: Vec<&PsEvent> = events
            .iter()
            .filter(|e| {
                e.host_application
                    .as_deref()
                    .is_some_and(|h| h.starts_with("powershell.exe -Exec ByPasS"))
            })
            .collect();
        assert_eq!(bypass.len(), 16);
        assert_eq!(
            bypass
                .iter()
                .take(4)
                .map(|e| e.record_id)
                .collect::<Vec<_>>(),
            [16, 17, 18, 19]
        );
        assert_eq!(
            events
                .iter()
                .filter(|e| e
                    .host_application
                    .as_deref()
                    .is_some_and(|h| h.contains("Invoke-Tasksbackdoor -method cmd -ip 8.8.8.8")))
                .count(),
            8
        );
        let start = bypass
            .iter()
            .find(|e| e.kind == PsEventKind::EngineStart)
            .unwrap();
        assert_eq!(start.new_engine_state.as_deref(), Some("Available"));
        assert_eq!(start.previous_engine_state.as_deref(), Some("None"));
        assert_eq!(start.host_name.as_deref(), Some("ConsoleHost"));
        assert!(start.engine_version.is_some() && start.runspace_id.is_some());
        let prov = events
            .iter()
            .find(|e| e.kind == PsEventKind::ProviderStart)
            .unwrap();
        assert_eq!(prov.provider_name.as_deref(), Some("Registry"));
        assert_eq!(prov.new_provider_state.as_deref(), Some("Started"));
        assert_eq!(prov.sequence_number, Some(1));
        assert_eq!(prov.engine_version, None); // "EngineVersion=" is empty
    }

    #[test]
    fn classic_800_pipeline_text() {
        let events = ps_events("powershell/evtx-attack-samples/exec_emotet_ps_800_new-object.evtx");
        assert_eq!(events.len(), 1);
        let e = &events[0];
        assert_eq!(e.kind, PsEventKind::PipelineExecution);
        assert!(e.pipeline_text.as_deref().unwrap().starts_with("$Va5w3n8="));
        assert!(e.command_line.as_deref().unwrap().starts_with("$Va5w3n8="));
        assert!(e.details.as_deref().unwrap().contains("New-Object"));
        assert_eq!(e.user.as_deref(), Some("DESKTOP-RIPCLIP\\Clippy"));
        assert_eq!(e.host_version.as_deref(), Some("5.1.19041.1"));

        let events =
            ps_events("powershell/mdecrevoisier/ID400-800-CrackMapExec payload execution.evtx");
        let strict: Vec<u64> = events
            .iter()
            .filter(|e| {
                e.pipeline_text
                    .as_deref()
                    .is_some_and(|t| t.contains("Set-StrictMode -Version 1; $_.PSMessageDetails"))
            })
            .map(|e| e.record_id)
            .collect();
        assert_eq!(strict, [8]);
        assert_eq!(
            events
                .iter()
                .filter(|e| e.host_version.as_deref() == Some("5.1.19041.906"))
                .count(),
            13
        );
        let start = events
            .iter()
            .find(|e| e.kind == PsEventKind::EngineStart)
            .unwrap();
        assert!(
            start
                .host_application
                .as_deref()
                .unwrap()
                .starts_with("powershell.exe -exec bypass -noni -nop -w 1 -C & ( $PshOMe[4]")
        );
    }

    #[test]
    fn module_logging_payload() {
        let events =
            ps_events("powershell/mdecrevoisier/ID4103-4104-CrackMapExec payload execution.evtx");
        let hits: Vec<u64> = events
            .iter()
            .filter(|e| {
                e.payload
                    .as_deref()
                    .is_some_and(|p| p.contains("CommandInvocation(Invoke-Expression)"))
            })
            .map(|e| e.record_id)
            .collect();
        assert_eq!(hits, [5]);
        let e = events.iter().find(|e| e.record_id == 5).unwrap();
        assert_eq!(e.kind, PsEventKind::ModuleLogging);
        assert_eq!(e.command_name.as_deref(), Some("Invoke-Expression"));

        let events = ps_events(
            "powershell/mdecrevoisier/ID4103-4104 - SPN discovery (moder nPowerShell).evtx",
        );
        let err = events
            .iter()
            .find(|e| e.kind == PsEventKind::Error)
            .unwrap();
        assert!(err.message.is_some() && err.details.is_some());
    }

    #[test]
    fn error_4100_message() {
        let events = ps_events(SERVER2022);
        let errors: Vec<_> = events
            .iter()
            .filter(|e| e.kind == PsEventKind::Error)
            .collect();
        assert_eq!(errors.len(), 4);
        let first = errors[0];
        assert_eq!(
            first.message.as_deref(),
            Some(
                "A constructor was not found. Cannot find an appropriate constructor for type System.Byte[]."
            )
        );
        assert_eq!(first.severity.as_deref(), Some("Warning"));
        assert!(
            first
                .host_application
                .as_deref()
                .unwrap()
                .contains("powercat -c www.googleaccountsservices.com")
        );
        let session = events.iter().find(|e| e.event_id == 53504).unwrap();
        assert_eq!(session.kind, PsEventKind::SessionContext);
        assert_eq!(
            session.extra[1],
            ("param2".to_string(), "DefaultAppDomain".to_string())
        );
    }

    #[test]
    fn belkasoft_benign_baseline() {
        let events = ps_events("powershell/museum-win10-belkasoftctf/Windows PowerShell.evtx");
        assert_eq!(events.len(), 543);
        assert_eq!(count_kind(&events, PsEventKind::ProviderStart), 428);
        assert_eq!(count_kind(&events, PsEventKind::EngineStart), 63);
        assert_eq!(count_kind(&events, PsEventKind::EngineStop), 45);
        assert_eq!(count_kind(&events, PsEventKind::PipelineExecution), 7);
        let iis = events
            .iter()
            .filter(|e| {
                e.host_application.as_deref().is_some_and(|h| {
                    h.contains("Get-WindowsOptionalFeature -Online -FeatureName IIS-WebServerRole")
                })
            })
            .count();
        assert_eq!(iis, 63);
        let who = events
            .iter()
            .filter(|e| {
                e.host_application.as_deref().is_some_and(|h| {
                    h.contains("[System.Security.Principal.WindowsIdentity]::GetCurrent().Name")
                })
            })
            .count();
        assert_eq!(who, 16);
    }

    #[test]
    fn obfuscation_menu_paths() {
        let events =
            ps_events("powershell/deepbluecli/Powershell-Invoke-Obfuscation-encoding-menu.evtx");
        let blocks = assemble_all(events);
        assert_eq!(blocks.len(), 66);
        let octal = blocks
            .iter()
            .filter(|b| b.path.as_deref() == Some("C:\\Users\\student\\Desktop\\Invoke-Obfuscation-master\\Out-EncodedOctalCommand.ps1"))
            .count();
        assert_eq!(octal, 15);
        assert!(
            blocks
                .iter()
                .all(|b| b.complete && b.parts_expected == Some(1))
        );
    }

    #[test]
    fn other_providers_are_not_powershell() {
        // Task Scheduler 400/402 etc. and Security/Sysmon records are never PowerShell events.
        for rel in [
            "taskscheduler/museum-win2012r2-stolenszechuan/Microsoft-Windows-TaskScheduler%4Operational.evtx",
            "security/museum-server2022-aptsimulator/Security.evtx",
            "sysmon/evtx-attack-samples/exec_emotet_sysmon_1.evtx",
        ] {
            let raw = raw_events(rel);
            assert!(!raw.is_empty());
            assert!(raw.iter().all(|e| ps_event_from_raw(e).is_none()), "{rel}");
        }
        let raw = raw_events(
            "taskscheduler/museum-win2012r2-stolenszechuan/Microsoft-Windows-TaskScheduler%4Operational.evtx",
        );
        assert_eq!(raw.iter().filter(|e| e.event_id == 400).count(), 6);

        // Event 800 in TaskScheduler/Maintenance means something else.
        let mut ev = raw[0].clone();
        ev.event_id = 800;
        ev.provider = "Microsoft-Windows-TaskScheduler".into();
        ev.channel = "Microsoft-Windows-TaskScheduler/Maintenance".into();
        ev.data = EventData::default();
        assert!(ps_event_from_raw(&ev).is_none());
        // Right id and provider but a foreign channel: rejected too.
        ev.provider = "PowerShell".into();
        assert!(ps_event_from_raw(&ev).is_none());
        ev.channel = "Windows PowerShell".into();
        let ps = ps_event_from_raw(&ev).unwrap();
        assert_eq!(ps.kind, PsEventKind::PipelineExecution);
        assert_eq!(ps.pipeline_text, None); // no data: fields stay empty, no panic

        // PowerShell 7 uses its own provider/channel with the Operational ids.
        ev.provider = "PowerShellCore".into();
        ev.channel = "PowerShellCore/Operational".into();
        ev.event_id = 4104;
        ev.data.named = vec![
            ("MessageNumber".into(), "1".into()),
            ("MessageTotal".into(), "1".into()),
            ("ScriptBlockText".into(), "Get-Process".into()),
            ("ScriptBlockId".into(), "x".into()),
            ("Path".into(), "".into()),
        ];
        let ps = ps_event_from_raw(&ev).unwrap();
        assert_eq!(
            (ps.kind, ps.log),
            (PsEventKind::ScriptBlock, PsLog::PowerShellCore)
        );
        assert_eq!(ps.script_block_text.as_deref(), Some("Get-Process"));
        assert_eq!(ps.path, None);
    }

    #[test]
    fn context_parser_edge_cases() {
        // Classic: multi-line CommandLine takes the rest, including lines that look like keys.
        let ctx = "\tNewEngineState=Available\r\n\r\n\tSequenceNumber=13\r\n\tHostApplication=powershell -c \"a\r\nb\"\r\n\tCommandLine=$x = 1\r\n\tHostName=Evil\r\n";
        let pairs = parse_context(ctx);
        let keys: Vec<&str> = pairs.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            keys,
            [
                "NewEngineState",
                "SequenceNumber",
                "HostApplication",
                "CommandLine"
            ]
        );
        assert_eq!(pairs[0].1, "Available");
        assert_eq!(pairs[2].1, "powershell -c \"a\r\nb\"");
        assert_eq!(pairs[3].1, "$x = 1\r\n\tHostName=Evil");
        // 4103: spaced keys, empty values, continuation lines with " = " inside.
        let ctx = "        Host Application = powershell.exe -c \"\r\n$a = 5\"\r\n        Command Path = \r\n        Connected User =\r\n        Shell ID = Microsoft.PowerShell\r\n";
        let pairs = parse_context(ctx);
        assert_eq!(
            pairs[0],
            (
                "Host Application".into(),
                "powershell.exe -c \"\r\n$a = 5\"".into()
            )
        );
        assert_eq!(pairs[1], ("Command Path".into(), "".into()));
        assert_eq!(pairs[2], ("Connected User".into(), "".into()));
        assert_eq!(pairs[3], ("Shell ID".into(), "Microsoft.PowerShell".into()));
        // Localized keys are kept raw even if not mapped; junk never panics.
        let pairs = parse_context("        Hostanwendung = powershell.exe\r\n");
        assert_eq!(
            pairs,
            [("Hostanwendung".to_string(), "powershell.exe".to_string())]
        );
        for junk in [
            "",
            "=",
            "\t=\r\n",
            "é=ü",
            "\u{0}\u{ffff}=x\n",
            "a=b\nc",
            "   \t\r\n==",
        ] {
            let _ = parse_context(junk);
        }
    }
}
