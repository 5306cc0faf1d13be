//! Which PowerShell events we type, and the fields each carries.

use serde::{Deserialize, Serialize};

use super::context::{apply_context, norm_key};
use super::parse_context;
use crate::parsers::evtx_read::RawEvent;

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

/// The System fields of `ev`, every payload field still empty.
fn empty_event(ev: &RawEvent, log: PsLog, kind: PsEventKind) -> PsEvent {
    PsEvent {
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
    }
}

/// Convert a raw record into a PowerShell event; `None` when it is not one of the PowerShell
/// events listed in [`PsEventKind`] (other providers, other channels, other ids).
pub fn ps_event_from_raw(ev: &RawEvent) -> Option<PsEvent> {
    let (log, kind) = classify(ev)?;
    let mut out = empty_event(ev, log, kind);
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
