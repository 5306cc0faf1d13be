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

mod fields;
mod header;
mod security;
mod sysmon;
mod task_scheduler;
#[cfg(test)]
#[allow(clippy::disallowed_methods)]
mod tests;

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
            _ => return None,
        };
        Some(ExecEvent::SecurityTask(security_task(ev, d, action)))
    } else if is(TASK_SCHEDULER_PROVIDER, TASK_SCHEDULER_CHANNEL) {
        let op = TaskSchedulerOperation::from_event_id(ev.event_id)?;
        Some(ExecEvent::TaskSchedulerOp(task_scheduler_op(ev, d, op)))
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
        match self {
            ExecEvent::SysmonProcessCreate(e) => &e.header,
            ExecEvent::SysmonNetworkConnect(e) => &e.header,
            ExecEvent::SysmonFileCreate(e) => &e.header,
            ExecEvent::SecurityProcessCreate(e) => &e.header,
            ExecEvent::SecurityTask(e) => &e.header,
            ExecEvent::SecurityServiceInstall(e) => &e.header,
            ExecEvent::TaskSchedulerOp(e) => &e.header,
        }
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
            ExecEvent::SecurityTask(_) | ExecEvent::SecurityServiceInstall(_) => None,
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
        }
    }
}
