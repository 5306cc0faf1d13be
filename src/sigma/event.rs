//! What a Sigma rule sees of an event: its log source and its fields by Sigma name.
//!
//! [`SigmaEvent`] is the only thing the evaluator needs, so any record can be matched once it
//! says which log source it belongs to and maps Sigma field names onto its own fields. Here it
//! is implemented for Windows execution events (Sysmon 1/3/11, Security 4688/4697/4698-4702,
//! Task Scheduler Operational), PowerShell events (4104 script blocks, reassembled blocks,
//! 4103 module logging, classic 400/403/600/800) and process snapshot records.
//!
//! Log source names follow the Sigma taxonomy (sigma-specification, "Sigma Taxonomy"):
//! `process_creation`, `network_connection`, `file_event`, `ps_script`, `ps_module`,
//! `ps_classic_start`, `ps_classic_provider_start`, `ps_classic_script`; services `sysmon`,
//! `security`, `taskscheduler`, `powershell`, `powershell-classic`.

use std::borrow::Cow;

use crate::parsers::exec_events::{self, ExecEvent};
use crate::parsers::powershell::{PsEvent, PsEventKind, ScriptBlock};

/// The Sigma log source an event belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogSourceView {
    pub category: Option<&'static str>,
    pub product: &'static str,
    pub service: Option<&'static str>,
}

const fn view(
    category: Option<&'static str>,
    product: &'static str,
    service: Option<&'static str>,
) -> LogSourceView {
    LogSourceView {
        category,
        product,
        service,
    }
}

/// An event a Sigma rule can be evaluated on.
pub trait SigmaEvent {
    fn logsource(&self) -> LogSourceView;
    /// The value of a field by its Sigma name (ASCII case-insensitive), `None` when the event
    /// does not have it.
    fn field(&self, name: &str) -> Option<Cow<'_, str>>;
    /// Every value of a field that holds several (a classic PowerShell event's `Data`
    /// array); a field matches when any of its values does.
    fn field_values(&self, name: &str) -> Vec<Cow<'_, str>> {
        self.field(name).into_iter().collect()
    }
    /// The text that Sigma keyword searches (detection lists without field names) look at.
    fn keywords(&self) -> Vec<Cow<'_, str>>;
}

/// A log source irsnap produces events for, and the event ids those events can carry.
#[derive(Debug, Clone, Copy)]
pub struct ProducedSource {
    pub view: LogSourceView,
    pub event_ids: &'static [u32],
}

const TASK_SCHEDULER_IDS: &[u32] = &[
    100, 101, 102, 103, 106, 107, 108, 109, 110, 111, 118, 119, 129, 140, 141, 142, 200, 201, 202,
    203,
];

pub const SYSMON_PROCESS: ProducedSource = ProducedSource {
    view: view(Some("process_creation"), "windows", Some("sysmon")),
    event_ids: &[1],
};
pub const SECURITY_PROCESS: ProducedSource = ProducedSource {
    view: view(Some("process_creation"), "windows", Some("security")),
    event_ids: &[4688],
};
pub const SYSMON_NETWORK: ProducedSource = ProducedSource {
    view: view(Some("network_connection"), "windows", Some("sysmon")),
    event_ids: &[3],
};
pub const SYSMON_FILE: ProducedSource = ProducedSource {
    view: view(Some("file_event"), "windows", Some("sysmon")),
    event_ids: &[11],
};
pub const SECURITY: ProducedSource = ProducedSource {
    view: view(None, "windows", Some("security")),
    event_ids: &[1102, 4697, 4698, 4699, 4700, 4701, 4702, 5140, 5145],
};
const fn sysmon(category: &'static str, event_ids: &'static [u32]) -> ProducedSource {
    ProducedSource {
        view: view(Some(category), "windows", Some("sysmon")),
        event_ids,
    }
}
pub const SYSMON_DRIVER_LOAD: ProducedSource = sysmon("driver_load", &[6]);
pub const SYSMON_IMAGE_LOAD: ProducedSource = sysmon("image_load", &[7]);
pub const SYSMON_REMOTE_THREAD: ProducedSource = sysmon("create_remote_thread", &[8]);
pub const SYSMON_PROCESS_ACCESS: ProducedSource = sysmon("process_access", &[10]);
pub const SYSMON_REGISTRY_ADD: ProducedSource = sysmon("registry_add", &[12]);
pub const SYSMON_REGISTRY_DELETE: ProducedSource = sysmon("registry_delete", &[12]);
pub const SYSMON_REGISTRY_SET: ProducedSource = sysmon("registry_set", &[13]);
pub const SYSMON_REGISTRY_RENAME: ProducedSource = sysmon("registry_rename", &[14]);
pub const SYSMON_STREAM_HASH: ProducedSource = sysmon("create_stream_hash", &[15]);
pub const SYSMON_PIPE: ProducedSource = sysmon("pipe_created", &[17, 18]);
pub const SYSMON_WMI: ProducedSource = sysmon("wmi_event", &[19, 20, 21]);
pub const SYSMON_DNS: ProducedSource = sysmon("dns_query", &[22]);
pub const SYSMON_FILE_DELETE: ProducedSource = sysmon("file_delete", &[23, 26]);
pub const SYSTEM: ProducedSource = ProducedSource {
    view: view(None, "windows", Some("system")),
    event_ids: exec_events::SYSTEM_IDS,
};
pub const APPLICATION: ProducedSource = ProducedSource {
    view: view(None, "windows", Some("application")),
    event_ids: exec_events::APPLICATION_IDS,
};
pub const BITS: ProducedSource = ProducedSource {
    view: view(None, "windows", Some("bits-client")),
    event_ids: exec_events::BITS_IDS,
};
pub const WINRM: ProducedSource = ProducedSource {
    view: view(None, "windows", Some("winrm")),
    event_ids: exec_events::WINRM_IDS,
};
pub const WMI: ProducedSource = ProducedSource {
    view: view(None, "windows", Some("wmi")),
    event_ids: exec_events::WMI_IDS,
};
pub const DEFENDER: ProducedSource = ProducedSource {
    view: view(None, "windows", Some("windefend")),
    event_ids: exec_events::DEFENDER_IDS,
};
pub const TASK_SCHEDULER: ProducedSource = ProducedSource {
    view: view(None, "windows", Some("taskscheduler")),
    event_ids: TASK_SCHEDULER_IDS,
};
pub const PS_SCRIPT: ProducedSource = ProducedSource {
    view: view(Some("ps_script"), "windows", Some("powershell")),
    event_ids: &[4104],
};
pub const PS_MODULE: ProducedSource = ProducedSource {
    view: view(Some("ps_module"), "windows", Some("powershell")),
    event_ids: &[4103],
};
pub const POWERSHELL: ProducedSource = ProducedSource {
    view: view(None, "windows", Some("powershell")),
    event_ids: &[4100, 40961, 40962, 53504],
};
pub const PS_CLASSIC_START: ProducedSource = ProducedSource {
    view: view(
        Some("ps_classic_start"),
        "windows",
        Some("powershell-classic"),
    ),
    event_ids: &[400],
};
pub const PS_CLASSIC_PROVIDER: ProducedSource = ProducedSource {
    view: view(
        Some("ps_classic_provider_start"),
        "windows",
        Some("powershell-classic"),
    ),
    event_ids: &[600],
};
pub const PS_CLASSIC_SCRIPT: ProducedSource = ProducedSource {
    view: view(
        Some("ps_classic_script"),
        "windows",
        Some("powershell-classic"),
    ),
    event_ids: &[800],
};
pub const POWERSHELL_CLASSIC: ProducedSource = ProducedSource {
    view: view(None, "windows", Some("powershell-classic")),
    event_ids: &[403],
};
// Process snapshots (live or offline): no event id, no service.
pub const SNAPSHOT_WINDOWS: ProducedSource = ProducedSource {
    view: view(Some("process_creation"), "windows", None),
    event_ids: &[],
};
pub const SNAPSHOT_LINUX: ProducedSource = ProducedSource {
    view: view(Some("process_creation"), "linux", None),
    event_ids: &[],
};

/// Every log source the adapters in this module can produce. A rule whose log source matches
/// none of these can never fire in irsnap and is reported as unsupported.
pub const PRODUCED_SOURCES: &[ProducedSource] = &[
    SYSMON_PROCESS,
    SECURITY_PROCESS,
    SYSMON_NETWORK,
    SYSMON_FILE,
    SECURITY,
    TASK_SCHEDULER,
    SYSMON_DRIVER_LOAD,
    SYSMON_IMAGE_LOAD,
    SYSMON_REMOTE_THREAD,
    SYSMON_PROCESS_ACCESS,
    SYSMON_REGISTRY_ADD,
    SYSMON_REGISTRY_DELETE,
    SYSMON_REGISTRY_SET,
    SYSMON_REGISTRY_RENAME,
    SYSMON_STREAM_HASH,
    SYSMON_PIPE,
    SYSMON_WMI,
    SYSMON_DNS,
    SYSMON_FILE_DELETE,
    SYSTEM,
    APPLICATION,
    BITS,
    WINRM,
    WMI,
    DEFENDER,
    PS_SCRIPT,
    PS_MODULE,
    POWERSHELL,
    PS_CLASSIC_START,
    PS_CLASSIC_PROVIDER,
    PS_CLASSIC_SCRIPT,
    POWERSHELL_CLASSIC,
    SNAPSHOT_WINDOWS,
    SNAPSHOT_LINUX,
];

fn cow(v: &Option<String>) -> Option<Cow<'_, str>> {
    v.as_deref().map(Cow::Borrowed)
}

fn num<T: ToString>(v: Option<T>) -> Option<Cow<'static, str>> {
    v.map(|x| Cow::Owned(x.to_string()))
}

/// Keyword text of an event: the named fields that carry free text.
fn keyword_fields<'a, E: SigmaEvent + ?Sized>(e: &'a E, names: &[&str]) -> Vec<Cow<'a, str>> {
    names.iter().filter_map(|n| e.field(n)).collect()
}

// ---- Windows execution events -----------------------------------------------------------

impl SigmaEvent for ExecEvent {
    fn logsource(&self) -> LogSourceView {
        match self {
            ExecEvent::SysmonProcessCreate(_) => SYSMON_PROCESS.view,
            ExecEvent::SecurityProcessCreate(_) => SECURITY_PROCESS.view,
            ExecEvent::SysmonNetworkConnect(_) => SYSMON_NETWORK.view,
            ExecEvent::SysmonFileCreate(_) => SYSMON_FILE.view,
            ExecEvent::SecurityTask(_)
            | ExecEvent::SecurityServiceInstall(_)
            | ExecEvent::SecurityShareAccess(_) => SECURITY.view,
            ExecEvent::TaskSchedulerOp(_) => TASK_SCHEDULER.view,
            ExecEvent::SysmonDriverLoad(_) => SYSMON_DRIVER_LOAD.view,
            ExecEvent::SysmonImageLoad(_) => SYSMON_IMAGE_LOAD.view,
            ExecEvent::SysmonRemoteThread(_) => SYSMON_REMOTE_THREAD.view,
            ExecEvent::SysmonProcessAccess(_) => SYSMON_PROCESS_ACCESS.view,
            ExecEvent::SysmonRegistry(r) => match r.header.event_id {
                13 => SYSMON_REGISTRY_SET.view,
                14 => SYSMON_REGISTRY_RENAME.view,
                _ if r
                    .event_type
                    .as_deref()
                    .is_some_and(|t| t.trim().eq_ignore_ascii_case("CreateKey")) =>
                {
                    SYSMON_REGISTRY_ADD.view
                }
                _ => SYSMON_REGISTRY_DELETE.view,
            },
            ExecEvent::SysmonFileStream(_) => SYSMON_STREAM_HASH.view,
            ExecEvent::SysmonPipe(_) => SYSMON_PIPE.view,
            ExecEvent::SysmonWmi(_) => SYSMON_WMI.view,
            ExecEvent::SysmonDnsQuery(_) => SYSMON_DNS.view,
            ExecEvent::SysmonFileDelete(_) => SYSMON_FILE_DELETE.view,
            // 1102 is written to Security; 104 to System.
            ExecEvent::LogCleared(c) if c.header.event_id == 1102 => SECURITY.view,
            ExecEvent::LogCleared(_)
            | ExecEvent::SystemServiceInstall(_)
            | ExecEvent::SystemServiceState(_) => SYSTEM.view,
            ExecEvent::Application(_) => APPLICATION.view,
            ExecEvent::Bits(_) => BITS.view,
            ExecEvent::WinRm(_) => WINRM.view,
            ExecEvent::WmiActivity(_) => WMI.view,
            ExecEvent::Defender(_) => DEFENDER.view,
        }
    }

    fn field(&self, name: &str) -> Option<Cow<'_, str>> {
        self.sigma_field(name)
    }

    /// Application events keep their payload in unnamed `Data` strings; Sigma matches `Data`
    /// against each of them.
    fn field_values(&self, name: &str) -> Vec<Cow<'_, str>> {
        match self {
            ExecEvent::Application(a) if name.eq_ignore_ascii_case("data") => {
                a.data.iter().map(|d| Cow::Borrowed(d.as_str())).collect()
            }
            _ => self.field(name).into_iter().collect(),
        }
    }

    fn keywords(&self) -> Vec<Cow<'_, str>> {
        let names: &[&str] = match self {
            ExecEvent::SysmonProcessCreate(_) | ExecEvent::SecurityProcessCreate(_) => &[
                "CommandLine",
                "Image",
                "ParentImage",
                "ParentCommandLine",
                "OriginalFileName",
                "User",
            ],
            ExecEvent::SysmonNetworkConnect(_) => &[
                "Image",
                "DestinationIp",
                "DestinationHostname",
                "SourceIp",
                "User",
            ],
            ExecEvent::SysmonFileCreate(_) => &["Image", "TargetFilename", "User"],
            ExecEvent::SecurityTask(_) => &["TaskName", "TaskContent", "SubjectUserName"],
            ExecEvent::SecurityServiceInstall(_) => {
                &["ServiceName", "ServiceFileName", "ServiceAccount"]
            }
            ExecEvent::TaskSchedulerOp(_) => &["TaskName", "ActionName", "Path", "UserContext"],
            ExecEvent::SysmonDriverLoad(_) => &["ImageLoaded", "Signature"],
            ExecEvent::SysmonImageLoad(_) => &["Image", "ImageLoaded", "OriginalFileName"],
            ExecEvent::SysmonRemoteThread(_) | ExecEvent::SysmonProcessAccess(_) => {
                &["SourceImage", "TargetImage", "CallTrace"]
            }
            ExecEvent::SysmonRegistry(_) => &["Image", "TargetObject", "Details", "NewName"],
            ExecEvent::SysmonFileStream(_) => &["Image", "TargetFilename", "Contents"],
            ExecEvent::SysmonPipe(_) => &["Image", "PipeName"],
            ExecEvent::SysmonWmi(_) => &["Name", "Query", "Destination", "Consumer", "Filter"],
            ExecEvent::SysmonDnsQuery(_) => &["Image", "QueryName", "QueryResults"],
            ExecEvent::SysmonFileDelete(_) => &["Image", "TargetFilename"],
            ExecEvent::SecurityShareAccess(_) => &["ShareName", "RelativeTargetName", "IpAddress"],
            ExecEvent::LogCleared(_) => &["SubjectUserName", "Channel"],
            ExecEvent::SystemServiceInstall(_) => &["ServiceName", "ImagePath", "AccountName"],
            ExecEvent::SystemServiceState(_) => &["param1", "param2", "param3", "param4"],
            ExecEvent::Bits(_) => &["jobTitle", "url", "processPath", "RemoteName", "LocalName"],
            ExecEvent::WinRm(_) => &["connection", "resourceUri", "username"],
            ExecEvent::WmiActivity(_) => &["Operation", "Query", "CONSUMER", "PossibleCause"],
            ExecEvent::Defender(_) => &["Threat Name", "Path", "Process Name"],
            ExecEvent::Application(_) => return self.field_values("Data"),
        };
        keyword_fields(self, names)
    }
}

// ---- PowerShell --------------------------------------------------------------------------

impl SigmaEvent for PsEvent {
    fn logsource(&self) -> LogSourceView {
        match self.kind {
            PsEventKind::ScriptBlock => PS_SCRIPT,
            PsEventKind::ModuleLogging => PS_MODULE,
            PsEventKind::Error | PsEventKind::SessionContext => POWERSHELL,
            PsEventKind::EngineStart => PS_CLASSIC_START,
            PsEventKind::ProviderStart => PS_CLASSIC_PROVIDER,
            PsEventKind::PipelineExecution => PS_CLASSIC_SCRIPT,
            PsEventKind::EngineStop => POWERSHELL_CLASSIC,
        }
        .view
    }

    fn field(&self, name: &str) -> Option<Cow<'_, str>> {
        let key = name.to_ascii_lowercase();
        let common = match key.as_str() {
            "eventid" => num(Some(self.event_id)),
            "channel" => Some(Cow::Borrowed(self.channel.as_str())),
            "provider_name" | "provider" => Some(Cow::Borrowed(self.provider.as_str())),
            "computer" | "computername" => Some(Cow::Borrowed(self.computer.as_str())),
            _ => None,
        };
        if common.is_some() {
            return common;
        }
        if key == "data" {
            let parts = self.field_values(name);
            return (!parts.is_empty()).then(|| Cow::Owned(parts.join("\n")));
        }
        match key.as_str() {
            "scriptblocktext" => cow(&self.script_block_text),
            "scriptblockid" => cow(&self.script_block_id),
            "messagenumber" => num(self.message_number),
            "messagetotal" => num(self.message_total),
            "path" => cow(&self.path),
            "payload" => cow(&self.payload),
            "contextinfo" => cow(&self.context_info),
            "hostapplication" => cow(&self.host_application),
            "hostname" => cow(&self.host_name),
            "hostversion" => cow(&self.host_version),
            "hostid" => cow(&self.host_id),
            "engineversion" => cow(&self.engine_version),
            "runspaceid" => cow(&self.runspace_id),
            "pipelineid" => num(self.pipeline_id),
            "commandname" => cow(&self.command_name),
            "commandtype" => cow(&self.command_type),
            "scriptname" => cow(&self.script_name),
            "commandpath" => cow(&self.command_path),
            "commandline" => cow(&self.command_line),
            "sequencenumber" => num(self.sequence_number),
            "user" | "userid" => cow(&self.user),
            "connecteduser" => cow(&self.connected_user),
            "shellid" => cow(&self.shell_id),
            "severity" => cow(&self.severity),
            "message" => cow(&self.message),
            "newenginestate" => cow(&self.new_engine_state),
            "previousenginestate" => cow(&self.previous_engine_state),
            "providername" => cow(&self.provider_name),
            "newproviderstate" => cow(&self.new_provider_state),
            _ => self
                .extra
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .map(|(_, v)| Cow::Borrowed(v.as_str())),
        }
    }

    /// Classic events keep their payload in unnamed `Data` elements; Sigma's
    /// `ps_classic_*` rules match `Data` against each element (manifest order).
    fn field_values(&self, name: &str) -> Vec<Cow<'_, str>> {
        if !name.eq_ignore_ascii_case("data") {
            return self.field(name).into_iter().collect();
        }
        let parts: [&Option<String>; 3] = match self.kind {
            PsEventKind::EngineStart | PsEventKind::EngineStop => [
                &self.new_engine_state,
                &self.previous_engine_state,
                &self.context_info,
            ],
            PsEventKind::ProviderStart => [
                &self.provider_name,
                &self.new_provider_state,
                &self.context_info,
            ],
            PsEventKind::PipelineExecution => {
                [&self.pipeline_text, &self.context_info, &self.details]
            }
            _ => return Vec::new(),
        };
        parts.into_iter().filter_map(cow).collect()
    }

    fn keywords(&self) -> Vec<Cow<'_, str>> {
        match self.kind {
            PsEventKind::ScriptBlock => keyword_fields(self, &["ScriptBlockText", "Path"]),
            PsEventKind::ModuleLogging | PsEventKind::Error => {
                keyword_fields(self, &["Payload", "ContextInfo"])
            }
            _ => {
                let mut v = self.field_values("Data");
                v.extend(keyword_fields(self, &["HostApplication"]));
                v
            }
        }
    }
}

/// A reassembled script block is what a 4104 rule should see: the whole script, so a pattern
/// split across two 4104 parts still matches.
impl SigmaEvent for ScriptBlock {
    fn logsource(&self) -> LogSourceView {
        PS_SCRIPT.view
    }

    fn field(&self, name: &str) -> Option<Cow<'_, str>> {
        match name.to_ascii_lowercase().as_str() {
            "eventid" => Some(Cow::Borrowed("4104")),
            "scriptblocktext" => Some(Cow::Borrowed(self.text.as_str())),
            "scriptblockid" => Some(Cow::Borrowed(self.script_block_id.as_str())),
            "path" => cow(&self.path),
            "messagetotal" => num(self.parts_expected),
            "computer" | "computername" => Some(Cow::Borrowed(self.computer.as_str())),
            _ => None,
        }
    }

    fn keywords(&self) -> Vec<Cow<'_, str>> {
        keyword_fields(self, &["ScriptBlockText", "Path"])
    }
}
