//! Execution events from Windows event logs, with fields named plainly.
//!
//! Artifact: EVTX event logs under `%SystemRoot%\System32\winevt\Logs\` on Windows (read from
//! an offline root on Linux):
//! - `Microsoft-Windows-Sysmon%4Operational.evtx` — Sysmon 1 (process create), 3 (network
//!   connect), 11 (file create). ATT&CK's Execution guidance calls Sysmon process creation
//!   critical for execution visibility.
//! - `Security.evtx` (provider Microsoft-Windows-Security-Auditing) — 4688 process creation,
//!   4697 service installed, 4698/4699/4700/4701/4702 scheduled task created / deleted /
//!   enabled / disabled / updated.
//! - `Microsoft-Windows-TaskScheduler%4Operational.evtx` — task registration, triggers, task
//!   and action start/finish, and the process a task launched.
//! - Everything else an execution leaves in the logs (Sysmon module loads, injection,
//!   registry, pipes and WMI; Security share access and log clearing; System services; BITS,
//!   WinRM, WMI-Activity, Defender; SQL Server and Windows Installer): see [`context`].
//!
//! We record one typed struct per event with the System header (record id, time, ids,
//! computer) and the EventData fields under snake_case names; numbers that Windows renders as
//! text (hex pids, ports) are parsed, the raw text is kept where a detection rule may need it.
//! Typing is keyed on provider + channel + event id, never on the file name: event id 1 is
//! Sysmon process creation only from the Sysmon provider, and filtered exports mix channels.
//!
//! `ExecEvent::sigma_field` maps Sigma field names (process_creation taxonomy: Image,
//! CommandLine, ParentImage, …) onto both Sysmon 1 and Security 4688, so one rule matches
//! either source.
//!
//! References: Sysmon schema (Sysinternals, `sysmon -s`); Microsoft "Audit Process Creation"
//! (4688), "4698(S): A scheduled task was created" and siblings, "4697(S): A service was
//! installed in the system"; Microsoft-Windows-TaskScheduler manifest; Sigma
//! `windows-audit` / `sysmon` field mappings.

pub mod context;
mod describe;
mod fields;
mod header;
mod security;
mod sysmon;
mod task_scheduler;
#[cfg(test)]
#[allow(clippy::disallowed_methods)]
mod tests;

pub use context::{
    ApplicationEvent, ApplicationSource, BitsEvent, DefenderEvent, LogCleared, SecurityShareAccess,
    SysmonDnsQuery, SysmonDriverLoad, SysmonFileDelete, SysmonFileStream, SysmonImageLoad,
    SysmonPipe, SysmonProcessAccess, SysmonRegistry, SysmonRemoteThread, SysmonWmi,
    SystemServiceInstall, SystemServiceState, WinRmEvent, WmiActivity,
};
pub use describe::ContextFacts;
pub use fields::parse_hashes;
pub use header::{EventHeader, IntegrityLevel, TokenElevationType};
pub use security::{SecurityProcessCreate, SecurityServiceInstall, SecurityTask, TaskAuditAction};
pub use sysmon::{SysmonFileCreate, SysmonNetworkConnect, SysmonProcessCreate};
pub use task_scheduler::{TaskSchedulerOp, TaskSchedulerOperation};

use std::borrow::Cow;
use std::io::{Read, Seek};
use std::ops::ControlFlow;

use serde::{Deserialize, Serialize};

use crate::parsers::evtx_read::{EvtxReadError, RawEvent, ReadReport};

use fields::n;
use security::{
    security_process_create, security_service_install, security_task, security_task_field,
    security4688_field, security4697_field,
};
use sysmon::{
    sysmon_file_create, sysmon_network_connect, sysmon_process_create, sysmon1_field,
    sysmon3_field, sysmon11_field,
};
use task_scheduler::{task_scheduler_field, task_scheduler_op};

pub const SYSMON_PROVIDER: &str = "Microsoft-Windows-Sysmon";
pub const SYSMON_CHANNEL: &str = "Microsoft-Windows-Sysmon/Operational";
pub const SECURITY_PROVIDER: &str = "Microsoft-Windows-Security-Auditing";
pub const SECURITY_CHANNEL: &str = "Security";
pub const TASK_SCHEDULER_PROVIDER: &str = "Microsoft-Windows-TaskScheduler";
pub const TASK_SCHEDULER_CHANNEL: &str = "Microsoft-Windows-TaskScheduler/Operational";
pub const EVENTLOG_PROVIDER: &str = "Microsoft-Windows-Eventlog";
pub const SCM_PROVIDER: &str = "Service Control Manager";
pub const SYSTEM_CHANNEL: &str = "System";
pub const APPLICATION_CHANNEL: &str = "Application";
pub const MSI_PROVIDER: &str = "MsiInstaller";
pub const BITS_PROVIDER: &str = "Microsoft-Windows-Bits-Client";
pub const BITS_CHANNEL: &str = "Microsoft-Windows-Bits-Client/Operational";
pub const WINRM_PROVIDER: &str = "Microsoft-Windows-WinRM";
pub const WINRM_CHANNEL: &str = "Microsoft-Windows-WinRM/Operational";
pub const WMI_PROVIDER: &str = "Microsoft-Windows-WMI-Activity";
pub const WMI_CHANNEL: &str = "Microsoft-Windows-WMI-Activity/Operational";
pub const DEFENDER_PROVIDER: &str = "Microsoft-Windows-Windows Defender";
pub const DEFENDER_CHANNEL: &str = "Microsoft-Windows-Windows Defender/Operational";

/// Event ids typed per source (besides Sysmon 1/3/11, Security 4688/4697/4698-4702 and Task
/// Scheduler), for the Sigma log-source table and the docs.
pub const SYSMON_CONTEXT_IDS: &[u32] =
    &[6, 7, 8, 10, 12, 13, 14, 15, 17, 18, 19, 20, 21, 22, 23, 26];
pub const SECURITY_CONTEXT_IDS: &[u32] = &[1102, 5140, 5145];
pub const SYSTEM_IDS: &[u32] = &[104, 7000, 7009, 7034, 7036, 7040, 7045];
pub const SQL_SERVER_IDS: &[u32] = &[15281, 15457, 18456, 33205];
pub const MSI_IDS: &[u32] = &[1033, 1034, 1040, 1042, 11707, 11708, 11724];
/// Both of the above: what Sigma's `service: application` can see (a test keeps it in step).
pub const APPLICATION_IDS: &[u32] = &[
    1033, 1034, 1040, 1042, 11707, 11708, 11724, 15281, 15457, 18456, 33205,
];
pub const BITS_IDS: &[u32] = &[3, 4, 5, 59, 60, 16403];
pub const WINRM_IDS: &[u32] = &[6, 91, 169];
pub const WMI_IDS: &[u32] = &[5857, 5858, 5860, 5861];
pub const DEFENDER_IDS: &[u32] = &[1006, 1007, 1008, 1015, 1116, 1117, 5001, 5007, 5010, 5012];

/// A typed execution-relevant event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ExecEvent {
    SysmonProcessCreate(SysmonProcessCreate),
    SysmonNetworkConnect(SysmonNetworkConnect),
    SysmonFileCreate(SysmonFileCreate),
    SecurityProcessCreate(SecurityProcessCreate),
    SecurityTask(SecurityTask),
    SecurityServiceInstall(SecurityServiceInstall),
    TaskSchedulerOp(TaskSchedulerOp),
    SysmonDriverLoad(SysmonDriverLoad),
    SysmonImageLoad(SysmonImageLoad),
    SysmonRemoteThread(SysmonRemoteThread),
    SysmonProcessAccess(SysmonProcessAccess),
    SysmonRegistry(SysmonRegistry),
    SysmonFileStream(SysmonFileStream),
    SysmonFileDelete(SysmonFileDelete),
    SysmonPipe(SysmonPipe),
    SysmonWmi(SysmonWmi),
    SysmonDnsQuery(SysmonDnsQuery),
    SecurityShareAccess(SecurityShareAccess),
    LogCleared(LogCleared),
    SystemServiceInstall(SystemServiceInstall),
    SystemServiceState(SystemServiceState),
    Bits(BitsEvent),
    #[serde(rename = "winrm")]
    WinRm(WinRmEvent),
    WmiActivity(WmiActivity),
    Defender(DefenderEvent),
    Application(ApplicationEvent),
}

/// Calls `$body` with `$e` bound to the struct inside any variant (they all have `header`
/// and `sigma_field`).
macro_rules! each_variant {
    ($ev:expr, $e:ident => $body:expr) => {
        match $ev {
            ExecEvent::SysmonProcessCreate($e) => $body,
            ExecEvent::SysmonNetworkConnect($e) => $body,
            ExecEvent::SysmonFileCreate($e) => $body,
            ExecEvent::SecurityProcessCreate($e) => $body,
            ExecEvent::SecurityTask($e) => $body,
            ExecEvent::SecurityServiceInstall($e) => $body,
            ExecEvent::TaskSchedulerOp($e) => $body,
            ExecEvent::SysmonDriverLoad($e) => $body,
            ExecEvent::SysmonImageLoad($e) => $body,
            ExecEvent::SysmonRemoteThread($e) => $body,
            ExecEvent::SysmonProcessAccess($e) => $body,
            ExecEvent::SysmonRegistry($e) => $body,
            ExecEvent::SysmonFileStream($e) => $body,
            ExecEvent::SysmonFileDelete($e) => $body,
            ExecEvent::SysmonPipe($e) => $body,
            ExecEvent::SysmonWmi($e) => $body,
            ExecEvent::SysmonDnsQuery($e) => $body,
            ExecEvent::SecurityShareAccess($e) => $body,
            ExecEvent::LogCleared($e) => $body,
            ExecEvent::SystemServiceInstall($e) => $body,
            ExecEvent::SystemServiceState($e) => $body,
            ExecEvent::Bits($e) => $body,
            ExecEvent::WinRm($e) => $body,
            ExecEvent::WmiActivity($e) => $body,
            ExecEvent::Defender($e) => $body,
            ExecEvent::Application($e) => $body,
        }
    };
}

/// Types `ev` if it is one of the events this module knows, by provider + channel + id.
pub fn exec_event_from_raw(ev: &RawEvent) -> Option<ExecEvent> {
    let is = |provider: &str, channel: &str| {
        ev.provider.trim().eq_ignore_ascii_case(provider)
            && ev.channel.trim().eq_ignore_ascii_case(channel)
    };
    let d = &ev.data;
    if is(SYSMON_PROVIDER, SYSMON_CHANNEL) {
        match ev.event_id {
            1 => Some(ExecEvent::SysmonProcessCreate(sysmon_process_create(ev, d))),
            3 => Some(ExecEvent::SysmonNetworkConnect(sysmon_network_connect(
                ev, d,
            ))),
            11 => Some(ExecEvent::SysmonFileCreate(sysmon_file_create(ev, d))),
            6 => Some(ExecEvent::SysmonDriverLoad(SysmonDriverLoad::from_data(
                ev, d,
            ))),
            7 => Some(ExecEvent::SysmonImageLoad(SysmonImageLoad::from_data(
                ev, d,
            ))),
            8 => Some(ExecEvent::SysmonRemoteThread(
                SysmonRemoteThread::from_data(ev, d),
            )),
            10 => Some(ExecEvent::SysmonProcessAccess(
                SysmonProcessAccess::from_data(ev, d),
            )),
            12..=14 => Some(ExecEvent::SysmonRegistry(SysmonRegistry::from_data(ev, d))),
            15 => Some(ExecEvent::SysmonFileStream(SysmonFileStream::from_data(
                ev, d,
            ))),
            17 | 18 => Some(ExecEvent::SysmonPipe(SysmonPipe::from_data(ev, d))),
            19..=21 => Some(ExecEvent::SysmonWmi(SysmonWmi::from_data(ev, d))),
            22 => Some(ExecEvent::SysmonDnsQuery(SysmonDnsQuery::from_data(ev, d))),
            23 | 26 => Some(ExecEvent::SysmonFileDelete(SysmonFileDelete::from_data(
                ev, d,
            ))),
            _ => None,
        }
    } else if is(SECURITY_PROVIDER, SECURITY_CHANNEL) {
        let action = match ev.event_id {
            4688 => {
                return Some(ExecEvent::SecurityProcessCreate(security_process_create(
                    ev, d,
                )));
            }
            4697 => {
                return Some(ExecEvent::SecurityServiceInstall(security_service_install(
                    ev, d,
                )));
            }
            4698 => TaskAuditAction::Created,
            4699 => TaskAuditAction::Deleted,
            4700 => TaskAuditAction::Enabled,
            4701 => TaskAuditAction::Disabled,
            4702 => TaskAuditAction::Updated,
            5140 | 5145 => {
                return Some(ExecEvent::SecurityShareAccess(
                    SecurityShareAccess::from_data(ev, d),
                ));
            }
            _ => return None,
        };
        Some(ExecEvent::SecurityTask(security_task(ev, d, action)))
    } else if is(TASK_SCHEDULER_PROVIDER, TASK_SCHEDULER_CHANNEL) {
        let op = TaskSchedulerOperation::from_event_id(ev.event_id)?;
        Some(ExecEvent::TaskSchedulerOp(task_scheduler_op(ev, d, op)))
    } else if (is(EVENTLOG_PROVIDER, SECURITY_CHANNEL) && ev.event_id == 1102)
        || (is(EVENTLOG_PROVIDER, SYSTEM_CHANNEL) && ev.event_id == 104)
    {
        Some(ExecEvent::LogCleared(LogCleared::from_data(ev, d)))
    } else if is(SCM_PROVIDER, SYSTEM_CHANNEL) {
        match ev.event_id {
            7045 => Some(ExecEvent::SystemServiceInstall(
                SystemServiceInstall::from_data(ev, d),
            )),
            id if SYSTEM_IDS.contains(&id) => Some(ExecEvent::SystemServiceState(
                SystemServiceState::from_data(ev, d),
            )),
            _ => None,
        }
    } else if ev.channel.trim().eq_ignore_ascii_case(APPLICATION_CHANNEL) {
        let source =
            if context::is_sql_server(&ev.provider) && SQL_SERVER_IDS.contains(&ev.event_id) {
                ApplicationSource::SqlServer
            } else if ev.provider.trim().eq_ignore_ascii_case(MSI_PROVIDER)
                && MSI_IDS.contains(&ev.event_id)
            {
                ApplicationSource::WindowsInstaller
            } else {
                return None;
            };
        Some(ExecEvent::Application(ApplicationEvent::from_data(
            ev, d, source,
        )))
    } else if is(BITS_PROVIDER, BITS_CHANNEL) && BITS_IDS.contains(&ev.event_id) {
        Some(ExecEvent::Bits(BitsEvent::from_data(ev, d)))
    } else if is(WINRM_PROVIDER, WINRM_CHANNEL) && WINRM_IDS.contains(&ev.event_id) {
        Some(ExecEvent::WinRm(WinRmEvent::from_data(ev, d)))
    } else if is(WMI_PROVIDER, WMI_CHANNEL) && WMI_IDS.contains(&ev.event_id) {
        Some(ExecEvent::WmiActivity(WmiActivity::from_data(ev, d)))
    } else if is(DEFENDER_PROVIDER, DEFENDER_CHANNEL) && DEFENDER_IDS.contains(&ev.event_id) {
        Some(ExecEvent::Defender(DefenderEvent::from_data(ev, d)))
    } else {
        None
    }
}

/// Reads an EVTX stream and hands every typed execution event to `on_event`; other events
/// are skipped. Reader errors and warnings are in the returned report.
pub fn read_exec_events<R: Read + Seek>(
    reader: R,
    mut on_event: impl FnMut(ExecEvent) -> ControlFlow<()>,
) -> Result<ReadReport, EvtxReadError> {
    crate::parsers::evtx_read::read_events(reader, |raw| match exec_event_from_raw(&raw) {
        Some(ev) => on_event(ev),
        None => ControlFlow::Continue(()),
    })
}

impl ExecEvent {
    pub fn header(&self) -> &EventHeader {
        each_variant!(self, e => &e.header)
    }

    /// Sysmon 1 or Security 4688: the events Sigma's `process_creation` category covers.
    pub fn is_process_creation(&self) -> bool {
        matches!(
            self,
            ExecEvent::SysmonProcessCreate(_) | ExecEvent::SecurityProcessCreate(_)
        )
    }

    /// Command line of a created process (Sysmon 1, 4688); None elsewhere and when 4688
    /// command-line auditing was off.
    pub fn command_line(&self) -> Option<&str> {
        match self {
            ExecEvent::SysmonProcessCreate(e) => e.command_line.as_deref(),
            ExecEvent::SecurityProcessCreate(e) => e.command_line.as_deref(),
            _ => None,
        }
    }

    /// Executable of the acting or created process.
    pub fn image(&self) -> Option<&str> {
        match self {
            ExecEvent::SysmonProcessCreate(e) => e.image.as_deref(),
            ExecEvent::SysmonNetworkConnect(e) => e.image.as_deref(),
            ExecEvent::SysmonFileCreate(e) => e.image.as_deref(),
            ExecEvent::SecurityProcessCreate(e) => e.new_process_name.as_deref(),
            ExecEvent::TaskSchedulerOp(e) => e.path.as_deref(),
            ExecEvent::SysmonImageLoad(e) => e.image.as_deref(),
            ExecEvent::SysmonRemoteThread(e) => e.source_image.as_deref(),
            ExecEvent::SysmonProcessAccess(e) => e.source_image.as_deref(),
            ExecEvent::SysmonRegistry(e) => e.image.as_deref(),
            ExecEvent::SysmonFileStream(e) => e.image.as_deref(),
            ExecEvent::SysmonPipe(e) => e.image.as_deref(),
            ExecEvent::SysmonFileDelete(e) => e.image.as_deref(),
            ExecEvent::SysmonDnsQuery(e) => e.image.as_deref(),
            ExecEvent::Bits(e) => e.process_path.as_deref(),
            ExecEvent::Defender(e) => e.process_name.as_deref(),
            _ => None,
        }
    }

    pub fn parent_image(&self) -> Option<&str> {
        match self {
            ExecEvent::SysmonProcessCreate(e) => e.parent_image.as_deref(),
            ExecEvent::SecurityProcessCreate(e) => e.parent_process_name.as_deref(),
            _ => None,
        }
    }

    pub fn parent_command_line(&self) -> Option<&str> {
        match self {
            ExecEvent::SysmonProcessCreate(e) => e.parent_command_line.as_deref(),
            _ => None,
        }
    }

    /// The account behind the event: Sysmon `User`, Security `SubjectUserName`, TaskScheduler
    /// `UserContext` (else `UserName`).
    pub fn user(&self) -> Option<&str> {
        match self {
            ExecEvent::SysmonProcessCreate(e) => e.user.as_deref(),
            ExecEvent::SysmonNetworkConnect(e) => e.user.as_deref(),
            ExecEvent::SysmonFileCreate(e) => e.user.as_deref(),
            ExecEvent::SecurityProcessCreate(e) => e.subject_user_name.as_deref(),
            ExecEvent::SecurityTask(e) => e.subject_user_name.as_deref(),
            ExecEvent::SecurityServiceInstall(e) => e.subject_user_name.as_deref(),
            ExecEvent::TaskSchedulerOp(e) => e.user_context.as_deref().or(e.user_name.as_deref()),
            ExecEvent::SysmonImageLoad(e) => e.user.as_deref(),
            ExecEvent::SysmonRemoteThread(e) => e.source_user.as_deref(),
            ExecEvent::SysmonProcessAccess(e) => e.source_user.as_deref(),
            ExecEvent::SysmonRegistry(e) => e.user.as_deref(),
            ExecEvent::SysmonFileStream(e) => e.user.as_deref(),
            ExecEvent::SysmonPipe(e) => e.user.as_deref(),
            ExecEvent::SysmonFileDelete(e) => e.user.as_deref(),
            ExecEvent::SysmonWmi(e) => e.user.as_deref(),
            ExecEvent::SysmonDnsQuery(e) => e.user.as_deref(),
            ExecEvent::SecurityShareAccess(e) => e.subject_user_name.as_deref(),
            ExecEvent::LogCleared(e) => e.subject_user_name.as_deref(),
            ExecEvent::SystemServiceInstall(e) => e.account_name.as_deref(),
            ExecEvent::Bits(e) => e.job_owner.as_deref().or(e.user.as_deref()),
            ExecEvent::WinRm(e) => e.username.as_deref(),
            ExecEvent::WmiActivity(e) => e.user.as_deref(),
            ExecEvent::Defender(e) => e.detection_user.as_deref(),
            ExecEvent::SysmonDriverLoad(_)
            | ExecEvent::SystemServiceState(_)
            | ExecEvent::Application(_) => None,
        }
    }

    /// Value of a Sigma field name for this event (names compared ASCII-case-insensitively;
    /// no two fields differ only by case). Sysmon 1 and Security 4688 both answer the Sigma
    /// `process_creation` names (4688: NewProcessName→Image, ParentProcessName→ParentImage,
    /// SubjectUserName→User, NewProcessId→ProcessId, ProcessId→ParentProcessId,
    /// MandatoryLabel→IntegrityLevel); every event also answers its raw EventData names and
    /// `EventID`, `Channel`, `Provider_Name`, `Computer`.
    pub fn sigma_field(&self, name: &str) -> Option<Cow<'_, str>> {
        let key = name.to_ascii_lowercase();
        let h = self.header();
        match key.as_str() {
            "eventid" => return n(Some(h.event_id)),
            "channel" => return Some(Cow::Borrowed(h.channel.as_str())),
            "provider_name" | "provider" => return Some(Cow::Borrowed(h.provider.as_str())),
            "computer" | "computername" => return Some(Cow::Borrowed(h.computer.as_str())),
            _ => {}
        }
        match self {
            ExecEvent::SysmonProcessCreate(e) => sysmon1_field(e, &key),
            ExecEvent::SysmonNetworkConnect(e) => sysmon3_field(e, &key),
            ExecEvent::SysmonFileCreate(e) => sysmon11_field(e, &key),
            ExecEvent::SecurityProcessCreate(e) => security4688_field(e, &key),
            ExecEvent::SecurityTask(e) => security_task_field(e, &key),
            ExecEvent::SecurityServiceInstall(e) => security4697_field(e, &key),
            ExecEvent::TaskSchedulerOp(e) => task_scheduler_field(e, &key),
            ExecEvent::SysmonDriverLoad(e) => e.sigma_field(&key),
            ExecEvent::SysmonImageLoad(e) => e.sigma_field(&key),
            ExecEvent::SysmonRemoteThread(e) => e.sigma_field(&key),
            ExecEvent::SysmonProcessAccess(e) => e.sigma_field(&key),
            ExecEvent::SysmonRegistry(e) => e.sigma_field(&key),
            ExecEvent::SysmonFileStream(e) => e.sigma_field(&key),
            ExecEvent::SysmonPipe(e) => e.sigma_field(&key),
            ExecEvent::SysmonFileDelete(e) => e.sigma_field(&key),
            ExecEvent::SysmonWmi(e) => e.sigma_field(&key),
            ExecEvent::SysmonDnsQuery(e) => e.sigma_field(&key),
            ExecEvent::SecurityShareAccess(e) => e.sigma_field(&key),
            ExecEvent::LogCleared(e) => e.sigma_field(&key),
            ExecEvent::SystemServiceInstall(e) => e.sigma_field(&key),
            ExecEvent::SystemServiceState(e) => e.sigma_field(&key),
            ExecEvent::Bits(e) => e.sigma_field(&key),
            ExecEvent::WinRm(e) => e.sigma_field(&key),
            ExecEvent::WmiActivity(e) => e.sigma_field(&key),
            ExecEvent::Defender(e) => e.sigma_field(&key),
            ExecEvent::Application(e) => e.sigma_field(&key),
        }
    }
}
