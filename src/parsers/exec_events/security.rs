//! Security log events 4688 (process created), 4697 (service installed) and 4698-4702 (scheduled task changes).

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

use super::fields::{n, s, text, uint32, uint64};
use super::{EventHeader, IntegrityLevel, TokenElevationType};
use crate::parsers::evtx_read::{EventData, RawEvent};

/// Security 4688: a new process has been created.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub struct SecurityProcessCreate {
    pub header: EventHeader,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject_user_sid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject_user_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject_domain_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject_logon_id: Option<String>,
    /// `NewProcessId` parsed from its hex text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_process_id: Option<u32>,
    /// `NewProcessId` as logged (`0x1a2c`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_process_id_raw: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_process_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_elevation_type: Option<TokenElevationType>,
    /// `ProcessId`: the creator (parent) process, parsed from hex.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub creator_process_id: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub creator_process_id_raw: Option<String>,
    /// Absent or empty when "Include command line in process creation events" is off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command_line: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_user_sid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_user_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_domain_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_logon_id: Option<String>,
    /// Only from Windows 10 / Server 2016 on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_process_name: Option<String>,
    /// Label SID (`S-1-16-12288`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mandatory_label: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub integrity_level: Option<IntegrityLevel>,
}

/// What a Security scheduled-task audit event reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TaskAuditAction {
    /// 4698
    Created,
    /// 4699
    Deleted,
    /// 4700
    Enabled,
    /// 4701
    Disabled,
    /// 4702
    Updated,
}

/// Security 4698–4702: a scheduled task was created / deleted / enabled / disabled / updated.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub struct SecurityTask {
    pub header: EventHeader,
    pub action: TaskAuditAction,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject_user_sid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject_user_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject_domain_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject_logon_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_name: Option<String>,
    /// Task XML as logged (`TaskContent`, or `TaskContentNew` for 4702); parsed elsewhere.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_content: Option<String>,
    /// Newer builds: the process that made the RPC call to the Task Scheduler.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_process_id: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_process_id: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_process_start_key: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rpc_call_client_locality: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fqdn: Option<String>,
}

/// Security 4697: a service was installed in the system.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub struct SecurityServiceInstall {
    pub header: EventHeader,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject_user_sid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject_user_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject_domain_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject_logon_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_name: Option<String>,
    /// The service's command line (ImagePath).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_file_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_start_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service_account: Option<String>,
}

pub(super) fn security_process_create(ev: &RawEvent, d: &EventData) -> SecurityProcessCreate {
    let mandatory_label = text(d, "MandatoryLabel");
    SecurityProcessCreate {
        header: EventHeader::from_raw(ev),
        subject_user_sid: text(d, "SubjectUserSid"),
        subject_user_name: text(d, "SubjectUserName"),
        subject_domain_name: text(d, "SubjectDomainName"),
        subject_logon_id: text(d, "SubjectLogonId"),
        new_process_id: uint32(d, "NewProcessId"),
        new_process_id_raw: text(d, "NewProcessId"),
        new_process_name: text(d, "NewProcessName"),
        token_elevation_type: text(d, "TokenElevationType").map(|s| TokenElevationType::parse(&s)),
        creator_process_id: uint32(d, "ProcessId"),
        creator_process_id_raw: text(d, "ProcessId"),
        command_line: text(d, "CommandLine"),
        target_user_sid: text(d, "TargetUserSid"),
        target_user_name: text(d, "TargetUserName"),
        target_domain_name: text(d, "TargetDomainName"),
        target_logon_id: text(d, "TargetLogonId"),
        parent_process_name: text(d, "ParentProcessName"),
        integrity_level: mandatory_label.as_deref().map(IntegrityLevel::parse),
        mandatory_label,
    }
}

pub(super) fn security_task(ev: &RawEvent, d: &EventData, action: TaskAuditAction) -> SecurityTask {
    let task_content = if action == TaskAuditAction::Updated {
        text(d, "TaskContentNew").or_else(|| text(d, "TaskContent"))
    } else {
        text(d, "TaskContent")
    };
    SecurityTask {
        header: EventHeader::from_raw(ev),
        action,
        subject_user_sid: text(d, "SubjectUserSid"),
        subject_user_name: text(d, "SubjectUserName"),
        subject_domain_name: text(d, "SubjectDomainName"),
        subject_logon_id: text(d, "SubjectLogonId"),
        task_name: text(d, "TaskName"),
        task_content,
        client_process_id: uint32(d, "ClientProcessId"),
        parent_process_id: uint32(d, "ParentProcessId"),
        client_process_start_key: uint64(d, "ClientProcessStartKey"),
        rpc_call_client_locality: uint32(d, "RpcCallClientLocality"),
        fqdn: text(d, "FQDN"),
    }
}

pub(super) fn security_service_install(ev: &RawEvent, d: &EventData) -> SecurityServiceInstall {
    SecurityServiceInstall {
        header: EventHeader::from_raw(ev),
        subject_user_sid: text(d, "SubjectUserSid"),
        subject_user_name: text(d, "SubjectUserName"),
        subject_domain_name: text(d, "SubjectDomainName"),
        subject_logon_id: text(d, "SubjectLogonId"),
        service_name: text(d, "ServiceName"),
        service_file_name: text(d, "ServiceFileName"),
        service_type: text(d, "ServiceType"),
        service_start_type: text(d, "ServiceStartType"),
        service_account: text(d, "ServiceAccount"),
    }
}

pub(super) fn security4688_field<'a>(
    e: &'a SecurityProcessCreate,
    key: &str,
) -> Option<Cow<'a, str>> {
    match key {
        // Sigma process_creation names.
        "image" | "newprocessname" => s(&e.new_process_name),
        "parentimage" | "parentprocessname" => s(&e.parent_process_name),
        "commandline" => s(&e.command_line),
        "user" | "subjectusername" => s(&e.subject_user_name),
        // Sigma's ProcessId is the new process; the raw 4688 ProcessId is its creator.
        "processid" => n(e.new_process_id),
        "parentprocessid" => n(e.creator_process_id),
        "integritylevel" => e
            .integrity_level
            .as_ref()
            .map(|l| Cow::Borrowed(l.as_str())),
        "logonid" | "subjectlogonid" => s(&e.subject_logon_id),
        // Raw EventData names.
        "subjectusersid" => s(&e.subject_user_sid),
        "subjectdomainname" => s(&e.subject_domain_name),
        "newprocessid" => s(&e.new_process_id_raw),
        "tokenelevationtype" => e
            .token_elevation_type
            .as_ref()
            .map(|tet| Cow::Borrowed(tet.as_str())),
        "targetusersid" => s(&e.target_user_sid),
        "targetusername" => s(&e.target_user_name),
        "targetdomainname" => s(&e.target_domain_name),
        "targetlogonid" => s(&e.target_logon_id),
        "mandatorylabel" => s(&e.mandatory_label),
        _ => None,
    }
}

pub(super) fn security_task_field<'a>(e: &'a SecurityTask, key: &str) -> Option<Cow<'a, str>> {
    match key {
        "subjectusersid" => s(&e.subject_user_sid),
        "subjectusername" | "user" => s(&e.subject_user_name),
        "subjectdomainname" => s(&e.subject_domain_name),
        "subjectlogonid" => s(&e.subject_logon_id),
        "taskname" => s(&e.task_name),
        "taskcontent" => s(&e.task_content),
        "taskcontentnew" if e.action == TaskAuditAction::Updated => s(&e.task_content),
        "clientprocessid" => n(e.client_process_id),
        "parentprocessid" => n(e.parent_process_id),
        "clientprocessstartkey" => n(e.client_process_start_key),
        "rpccallclientlocality" => n(e.rpc_call_client_locality),
        "fqdn" => s(&e.fqdn),
        _ => None,
    }
}

pub(super) fn security4697_field<'a>(
    e: &'a SecurityServiceInstall,
    key: &str,
) -> Option<Cow<'a, str>> {
    match key {
        "subjectusersid" => s(&e.subject_user_sid),
        "subjectusername" | "user" => s(&e.subject_user_name),
        "subjectdomainname" => s(&e.subject_domain_name),
        "subjectlogonid" => s(&e.subject_logon_id),
        "servicename" => s(&e.service_name),
        "servicefilename" | "imagepath" => s(&e.service_file_name),
        "servicetype" => s(&e.service_type),
        "servicestarttype" | "starttype" => s(&e.service_start_type),
        "serviceaccount" | "accountname" => s(&e.service_account),
        _ => None,
    }
}
