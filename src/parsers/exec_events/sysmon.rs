//! Sysmon events 1 (process created), 3 (network connection) and 11 (file created).

use std::borrow::Cow;
use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::fields::{b, boolean, n, s, sysmon_time, t, text, uint16, uint32};
use super::{EventHeader, IntegrityLevel, parse_hashes};
use crate::parsers::evtx_read::{EventData, RawEvent};

/// Sysmon event 1: process creation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub struct SysmonProcessCreate {
    pub header: EventHeader,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub utc_time: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub process_guid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub process_id: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub company: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub original_file_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command_line: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_directory: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logon_guid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logon_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub terminal_session_id: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub integrity_level: Option<IntegrityLevel>,
    /// `Hashes` split into algorithm (`sha1`, `md5`, `sha256`, `imphash`) → hex digest, both
    /// lower case.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub hashes: BTreeMap<String, String>,
    /// `Hashes` as logged, for rules that match on the whole string.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hashes_raw: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_process_guid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_process_id: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_image: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_command_line: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_user: Option<String>,
}

/// Sysmon event 3: network connection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub struct SysmonNetworkConnect {
    pub header: EventHeader,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub utc_time: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub process_guid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub process_id: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub initiated: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_is_ipv6: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_ip: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_hostname: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_port: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_port_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destination_is_ipv6: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destination_ip: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destination_hostname: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destination_port: Option<u16>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destination_port_name: Option<String>,
}

/// Sysmon event 11: file created.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub struct SysmonFileCreate {
    pub header: EventHeader,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub utc_time: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub process_guid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub process_id: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_filename: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub creation_utc_time: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
}

pub(super) fn sysmon_process_create(ev: &RawEvent, d: &EventData) -> SysmonProcessCreate {
    let hashes_raw = text(d, "Hashes");
    SysmonProcessCreate {
        header: EventHeader::from_raw(ev),
        rule_name: text(d, "RuleName"),
        utc_time: sysmon_time(d, "UtcTime"),
        process_guid: text(d, "ProcessGuid"),
        process_id: uint32(d, "ProcessId"),
        image: text(d, "Image"),
        file_version: text(d, "FileVersion"),
        description: text(d, "Description"),
        product: text(d, "Product"),
        company: text(d, "Company"),
        original_file_name: text(d, "OriginalFileName"),
        command_line: text(d, "CommandLine"),
        current_directory: text(d, "CurrentDirectory"),
        user: text(d, "User"),
        logon_guid: text(d, "LogonGuid"),
        logon_id: text(d, "LogonId"),
        terminal_session_id: uint32(d, "TerminalSessionId"),
        integrity_level: text(d, "IntegrityLevel").map(|s| IntegrityLevel::parse(&s)),
        hashes: hashes_raw.as_deref().map(parse_hashes).unwrap_or_default(),
        hashes_raw,
        parent_process_guid: text(d, "ParentProcessGuid"),
        parent_process_id: uint32(d, "ParentProcessId"),
        parent_image: text(d, "ParentImage"),
        parent_command_line: text(d, "ParentCommandLine"),
        parent_user: text(d, "ParentUser"),
    }
}

pub(super) fn sysmon_network_connect(ev: &RawEvent, d: &EventData) -> SysmonNetworkConnect {
    SysmonNetworkConnect {
        header: EventHeader::from_raw(ev),
        rule_name: text(d, "RuleName"),
        utc_time: sysmon_time(d, "UtcTime"),
        process_guid: text(d, "ProcessGuid"),
        process_id: uint32(d, "ProcessId"),
        image: text(d, "Image"),
        user: text(d, "User"),
        protocol: text(d, "Protocol"),
        initiated: boolean(d, "Initiated"),
        source_is_ipv6: boolean(d, "SourceIsIpv6"),
        source_ip: text(d, "SourceIp"),
        source_hostname: text(d, "SourceHostname"),
        source_port: uint16(d, "SourcePort"),
        source_port_name: text(d, "SourcePortName"),
        destination_is_ipv6: boolean(d, "DestinationIsIpv6"),
        destination_ip: text(d, "DestinationIp"),
        destination_hostname: text(d, "DestinationHostname"),
        destination_port: uint16(d, "DestinationPort"),
        destination_port_name: text(d, "DestinationPortName"),
    }
}

pub(super) fn sysmon_file_create(ev: &RawEvent, d: &EventData) -> SysmonFileCreate {
    SysmonFileCreate {
        header: EventHeader::from_raw(ev),
        rule_name: text(d, "RuleName"),
        utc_time: sysmon_time(d, "UtcTime"),
        process_guid: text(d, "ProcessGuid"),
        process_id: uint32(d, "ProcessId"),
        image: text(d, "Image"),
        target_filename: text(d, "TargetFilename"),
        creation_utc_time: sysmon_time(d, "CreationUtcTime"),
        user: text(d, "User"),
    }
}

pub(super) fn sysmon1_field<'a>(e: &'a SysmonProcessCreate, key: &str) -> Option<Cow<'a, str>> {
    match key {
        "rulename" => s(&e.rule_name),
        "utctime" => t(e.utc_time),
        "processguid" => s(&e.process_guid),
        "processid" => n(e.process_id),
        "image" => s(&e.image),
        "fileversion" => s(&e.file_version),
        "description" => s(&e.description),
        "product" => s(&e.product),
        "company" => s(&e.company),
        "originalfilename" => s(&e.original_file_name),
        "commandline" => s(&e.command_line),
        "currentdirectory" => s(&e.current_directory),
        "user" => s(&e.user),
        "logonguid" => s(&e.logon_guid),
        "logonid" => s(&e.logon_id),
        "terminalsessionid" => n(e.terminal_session_id),
        "integritylevel" => e
            .integrity_level
            .as_ref()
            .map(|l| Cow::Borrowed(l.as_str())),
        "hashes" => match &e.hashes_raw {
            Some(raw) => Some(Cow::Borrowed(raw.as_str())),
            None if !e.hashes.is_empty() => Some(Cow::Owned(
                e.hashes
                    .iter()
                    .map(|(k, v)| format!("{}={}", k.to_ascii_uppercase(), v.to_ascii_uppercase()))
                    .collect::<Vec<_>>()
                    .join(","),
            )),
            None => None,
        },
        // Older Sigma rules name single digests.
        "md5" | "sha1" | "sha256" | "imphash" => e
            .hashes
            .get(key.to_ascii_lowercase().as_str())
            .map(|v| Cow::Borrowed(v.as_str())),
        "parentprocessguid" => s(&e.parent_process_guid),
        "parentprocessid" => n(e.parent_process_id),
        "parentimage" => s(&e.parent_image),
        "parentcommandline" => s(&e.parent_command_line),
        "parentuser" => s(&e.parent_user),
        _ => None,
    }
}

pub(super) fn sysmon3_field<'a>(e: &'a SysmonNetworkConnect, key: &str) -> Option<Cow<'a, str>> {
    match key {
        "rulename" => s(&e.rule_name),
        "utctime" => t(e.utc_time),
        "processguid" => s(&e.process_guid),
        "processid" => n(e.process_id),
        "image" => s(&e.image),
        "user" => s(&e.user),
        "protocol" => s(&e.protocol),
        "initiated" => b(e.initiated),
        "sourceisipv6" => b(e.source_is_ipv6),
        "sourceip" => s(&e.source_ip),
        "sourcehostname" => s(&e.source_hostname),
        "sourceport" => n(e.source_port),
        "sourceportname" => s(&e.source_port_name),
        "destinationisipv6" => b(e.destination_is_ipv6),
        "destinationip" => s(&e.destination_ip),
        "destinationhostname" => s(&e.destination_hostname),
        "destinationport" => n(e.destination_port),
        "destinationportname" => s(&e.destination_port_name),
        _ => None,
    }
}

pub(super) fn sysmon11_field<'a>(e: &'a SysmonFileCreate, key: &str) -> Option<Cow<'a, str>> {
    match key {
        "rulename" => s(&e.rule_name),
        "utctime" => t(e.utc_time),
        "processguid" => s(&e.process_guid),
        "processid" => n(e.process_id),
        "image" => s(&e.image),
        "targetfilename" => s(&e.target_filename),
        "creationutctime" => t(e.creation_utc_time),
        "user" => s(&e.user),
        _ => None,
    }
}
