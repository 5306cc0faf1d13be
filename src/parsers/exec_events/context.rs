//! The other events an execution leaves in Windows logs: what a process loaded, touched and
//! opened (Sysmon 6/7/8/10/12-14/15/17/18/19-21/22), share and pipe access and log clearing
//! (Security 5140/5145/1102), services installed, started and failing (System 7045/7000/7009/
//! 7036/7040, 104), BITS transfers, WinRM sessions, WMI activity, MSSQL and MsiInstaller events
//! (Application) and Defender detections.
//!
//! These events carry flat `EventData` (or `UserData`) fields, so each struct is declared by
//! [`plain_event!`]: the field, its type and the name Windows logs it under. That one list
//! gives the typed struct (snake_case names in the record), its constructor and the Sigma field
//! lookup by the raw name, so the three cannot drift apart.
//!
//! References: Sysinternals Sysmon schema (`sysmon -s`); Microsoft "5140(S, F): A network
//! share object was accessed", "5145(S, F): A network share object was checked…", "1102(S):
//! The audit log was cleared"; Service Control Manager messages 7000/7009/7036/7040/7045;
//! Microsoft-Windows-Bits-Client, -WinRM, -WMI-Activity and Windows Defender manifests;
//! SQL Server messages 15457/15281 and audit event 33205; Windows Installer events 1033/1040/
//! 1042/11707.

use std::borrow::Cow;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::EventHeader;
use super::fields::{boolean, sysmon_time, text, time_text, uint16, uint32};
use crate::parsers::evtx_read::{EventData, RawEvent};

/// A typed field rendered back as the text Windows logged, for Sigma and keyword matching.
pub(super) trait AsText {
    fn as_text(&self) -> Cow<'_, str>;
}

impl AsText for String {
    fn as_text(&self) -> Cow<'_, str> {
        Cow::Borrowed(self.as_str())
    }
}

impl AsText for u32 {
    fn as_text(&self) -> Cow<'_, str> {
        Cow::Owned(self.to_string())
    }
}

impl AsText for u16 {
    fn as_text(&self) -> Cow<'_, str> {
        Cow::Owned(self.to_string())
    }
}

impl AsText for bool {
    fn as_text(&self) -> Cow<'_, str> {
        Cow::Borrowed(if *self { "true" } else { "false" })
    }
}

impl AsText for DateTime<Utc> {
    fn as_text(&self) -> Cow<'_, str> {
        Cow::Owned(time_text(self))
    }
}

/// The first of `names` the event has (one field was renamed across versions of a provider).
fn first<T>(names: &[&str], read: impl Fn(&str) -> Option<T>) -> Option<T> {
    names.iter().find_map(|n| read(n))
}

/// Declares a flat event struct: `field: Type = reader("LoggedName")`. Every field is
/// optional (Windows leaves fields out or empty); `header` is the System part.
macro_rules! plain_event {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $( $(#[$fmeta:meta])* $field:ident : $ty:ty = $read:ident[$($src:literal),+] ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
        #[serde(rename_all = "snake_case")]
        pub struct $name {
            pub header: EventHeader,
            $(
                $(#[$fmeta])*
                #[serde(default, skip_serializing_if = "Option::is_none")]
                pub $field: Option<$ty>,
            )*
        }

        impl $name {
            pub(super) fn from_data(ev: &RawEvent, d: &EventData) -> Self {
                $name {
                    header: EventHeader::from_raw(ev),
                    $( $field: first(&[$($src),+], |name| $read(d, name)), )*
                }
            }

            /// The field Windows logs as `key` (ASCII case-insensitive), as text.
            pub(super) fn sigma_field(&self, key: &str) -> Option<Cow<'_, str>> {
                $(
                    if [$($src),+].iter().any(|n| key.eq_ignore_ascii_case(n)) {
                        return self.$field.as_ref().map(AsText::as_text);
                    }
                )*
                None
            }
        }
    };
}

plain_event! {
    /// Sysmon 6: a driver was loaded.
    pub struct SysmonDriverLoad {
        utc_time: DateTime<Utc> = sysmon_time["UtcTime"],
        image_loaded: String = text["ImageLoaded"],
        hashes_raw: String = text["Hashes"],
        signed: bool = boolean["Signed"],
        signature: String = text["Signature"],
        signature_status: String = text["SignatureStatus"],
    }
}

plain_event! {
    /// Sysmon 7: a process loaded a module (DLL).
    pub struct SysmonImageLoad {
        rule_name: String = text["RuleName"],
        utc_time: DateTime<Utc> = sysmon_time["UtcTime"],
        process_guid: String = text["ProcessGuid"],
        process_id: u32 = uint32["ProcessId"],
        /// The loading process.
        image: String = text["Image"],
        /// The module loaded.
        image_loaded: String = text["ImageLoaded"],
        file_version: String = text["FileVersion"],
        description: String = text["Description"],
        product: String = text["Product"],
        company: String = text["Company"],
        original_file_name: String = text["OriginalFileName"],
        hashes_raw: String = text["Hashes"],
        signed: bool = boolean["Signed"],
        signature: String = text["Signature"],
        signature_status: String = text["SignatureStatus"],
        user: String = text["User"],
    }
}

plain_event! {
    /// Sysmon 8: a process created a thread in another process (injection, T1055).
    pub struct SysmonRemoteThread {
        rule_name: String = text["RuleName"],
        utc_time: DateTime<Utc> = sysmon_time["UtcTime"],
        source_process_guid: String = text["SourceProcessGuid"],
        source_process_id: u32 = uint32["SourceProcessId"],
        source_image: String = text["SourceImage"],
        target_process_guid: String = text["TargetProcessGuid"],
        target_process_id: u32 = uint32["TargetProcessId"],
        target_image: String = text["TargetImage"],
        new_thread_id: u32 = uint32["NewThreadId"],
        start_address: String = text["StartAddress"],
        start_module: String = text["StartModule"],
        start_function: String = text["StartFunction"],
        source_user: String = text["SourceUser"],
        target_user: String = text["TargetUser"],
    }
}

plain_event! {
    /// Sysmon 10: a process opened another process (handle with `granted_access`).
    pub struct SysmonProcessAccess {
        rule_name: String = text["RuleName"],
        utc_time: DateTime<Utc> = sysmon_time["UtcTime"],
        source_process_guid: String = text["SourceProcessGUID"],
        source_process_id: u32 = uint32["SourceProcessId"],
        source_thread_id: u32 = uint32["SourceThreadId"],
        source_image: String = text["SourceImage"],
        target_process_guid: String = text["TargetProcessGUID"],
        target_process_id: u32 = uint32["TargetProcessId"],
        target_image: String = text["TargetImage"],
        /// Access mask as logged (`0x1010`).
        granted_access: String = text["GrantedAccess"],
        call_trace: String = text["CallTrace"],
        source_user: String = text["SourceUser"],
        target_user: String = text["TargetUser"],
    }
}

plain_event! {
    /// Sysmon 12 (key or value created / deleted), 13 (value set), 14 (key or value renamed).
    pub struct SysmonRegistry {
        rule_name: String = text["RuleName"],
        /// `CreateKey`, `DeleteKey`, `SetValue`, `DeleteValue`, `RenameKey`.
        event_type: String = text["EventType"],
        utc_time: DateTime<Utc> = sysmon_time["UtcTime"],
        process_guid: String = text["ProcessGuid"],
        process_id: u32 = uint32["ProcessId"],
        image: String = text["Image"],
        /// `HKLM\SOFTWARE\Microsoft\Windows\CurrentVersion\Run\x`.
        target_object: String = text["TargetObject"],
        /// The value written (13), as Sysmon renders it (`DWORD (0x00000001)`, text).
        details: String = text["Details"],
        /// The new name (14).
        new_name: String = text["NewName"],
        user: String = text["User"],
    }
}

plain_event! {
    /// Sysmon 15: a named stream was created (a `Zone.Identifier` says where a download came from).
    pub struct SysmonFileStream {
        rule_name: String = text["RuleName"],
        utc_time: DateTime<Utc> = sysmon_time["UtcTime"],
        process_guid: String = text["ProcessGuid"],
        process_id: u32 = uint32["ProcessId"],
        image: String = text["Image"],
        target_filename: String = text["TargetFilename"],
        creation_utc_time: DateTime<Utc> = sysmon_time["CreationUtcTime"],
        hash: String = text["Hash"],
        /// The stream's text when Sysmon logged it (`[ZoneTransfer] ZoneId=3 HostUrl=…`).
        contents: String = text["Contents"],
        user: String = text["User"],
    }
}

plain_event! {
    /// Sysmon 23 (file deleted and archived) and 26 (file deleted).
    pub struct SysmonFileDelete {
        rule_name: String = text["RuleName"],
        utc_time: DateTime<Utc> = sysmon_time["UtcTime"],
        process_guid: String = text["ProcessGuid"],
        process_id: u32 = uint32["ProcessId"],
        user: String = text["User"],
        image: String = text["Image"],
        target_filename: String = text["TargetFilename"],
        hashes_raw: String = text["Hashes"],
        is_executable: bool = boolean["IsExecutable"],
        archived: bool = boolean["Archived"],
    }
}

plain_event! {
    /// Sysmon 17 (pipe created) and 18 (pipe connected).
    pub struct SysmonPipe {
        rule_name: String = text["RuleName"],
        event_type: String = text["EventType"],
        utc_time: DateTime<Utc> = sysmon_time["UtcTime"],
        process_guid: String = text["ProcessGuid"],
        process_id: u32 = uint32["ProcessId"],
        /// `\PSEXESVC`, `\MSSE-1234-server`.
        pipe_name: String = text["PipeName"],
        image: String = text["Image"],
        user: String = text["User"],
    }
}

plain_event! {
    /// Sysmon 19 (WMI event filter), 20 (WMI consumer), 21 (filter-to-consumer binding):
    /// permanent WMI event subscriptions (T1546.003).
    pub struct SysmonWmi {
        rule_name: String = text["RuleName"],
        event_type: String = text["EventType"],
        utc_time: DateTime<Utc> = sysmon_time["UtcTime"],
        /// `Created`, `Deleted`.
        operation: String = text["Operation"],
        user: String = text["User"],
        event_namespace: String = text["EventNamespace"],
        /// Filter or consumer name.
        name: String = text["Name"],
        /// The filter's WQL (19).
        query: String = text["Query"],
        /// Consumer type (20): `Command Line`, `Script`.
        consumer_type: String = text["Type"],
        /// What the consumer runs (20): a command line or script text.
        destination: String = text["Destination"],
        /// Consumer and filter paths (21).
        consumer: String = text["Consumer"],
        filter: String = text["Filter"],
    }
}

plain_event! {
    /// Sysmon 22: a process made a DNS query.
    pub struct SysmonDnsQuery {
        rule_name: String = text["RuleName"],
        utc_time: DateTime<Utc> = sysmon_time["UtcTime"],
        process_guid: String = text["ProcessGuid"],
        process_id: u32 = uint32["ProcessId"],
        query_name: String = text["QueryName"],
        query_status: String = text["QueryStatus"],
        query_results: String = text["QueryResults"],
        image: String = text["Image"],
        user: String = text["User"],
    }
}

plain_event! {
    /// Security 5140 (a network share was accessed) and 5145 (a share object was checked):
    /// `\\*\IPC$` + `svcctl` / `atsvc` is remote service / task creation, `ADMIN$` writes are
    /// a tool being copied over.
    pub struct SecurityShareAccess {
        subject_user_sid: String = text["SubjectUserSid"],
        subject_user_name: String = text["SubjectUserName"],
        subject_domain_name: String = text["SubjectDomainName"],
        subject_logon_id: String = text["SubjectLogonId"],
        object_type: String = text["ObjectType"],
        ip_address: String = text["IpAddress"],
        ip_port: u16 = uint16["IpPort"],
        share_name: String = text["ShareName"],
        share_local_path: String = text["ShareLocalPath"],
        /// The file or pipe under the share (5145).
        relative_target_name: String = text["RelativeTargetName"],
        access_mask: String = text["AccessMask"],
        access_list: String = text["AccessList"],
    }
}

plain_event! {
    /// Security 1102 (the audit log was cleared) and System 104 (another log was cleared).
    pub struct LogCleared {
        subject_user_sid: String = text["SubjectUserSid"],
        subject_user_name: String = text["SubjectUserName"],
        subject_domain_name: String = text["SubjectDomainName"],
        subject_logon_id: String = text["SubjectLogonId"],
        /// The log cleared (104; 1102 is Security itself).
        cleared_channel: String = text["Channel"],
        backup_path: String = text["BackupPath"],
    }
}

plain_event! {
    /// System 7045 (Service Control Manager): a service was installed.
    pub struct SystemServiceInstall {
        service_name: String = text["ServiceName"],
        /// The command the service runs.
        image_path: String = text["ImagePath"],
        service_type: String = text["ServiceType"],
        start_type: String = text["StartType"],
        account_name: String = text["AccountName"],
    }
}

plain_event! {
    /// System (Service Control Manager) 7000 (a service failed to start: param1 service,
    /// param2 error), 7009 (start timed out: param1 milliseconds, param2 service), 7034
    /// (terminated unexpectedly: param1 service), 7036 (entered a state: param1 service,
    /// param2 state), 7040 (start type changed: param1 service, param2 from, param3 to,
    /// param4 service key). A binary that is not a service fails with 7000/7009 right after
    /// 7045: PsExec-style remote execution.
    pub struct SystemServiceState {
        param1: String = text["param1"],
        param2: String = text["param2"],
        param3: String = text["param3"],
        param4: String = text["param4"],
    }
}

plain_event! {
    /// Microsoft-Windows-Bits-Client/Operational: 3 (job created: title, owner and the creating
    /// program), 4 (job transferred), 5 (cancelled), 59/60
    /// (transfer started / stopped, with the URL), 16403 (the remote and local file). BITS
    /// jobs download and run payloads and survive reboots (T1197).
    pub struct BitsEvent {
        job_title: String = text["jobTitle", "string"],
        /// The program that created the job (3; `string3` before Windows 10).
        process_path: String = text["processPath", "string3"],
        process_id: u32 = uint32["processId"],
        job_id: String = text["jobId"],
        job_owner: String = text["jobOwner", "string2"],
        user: String = text["User"],
        file_count: u32 = uint32["fileCount"],
        transfer_id: String = text["transferId"],
        name: String = text["name"],
        id: String = text["Id"],
        url: String = text["url"],
        peer: String = text["peer"],
        /// Result code as logged (60).
        hr: String = text["hr"],
        file_length: String = text["fileLength"],
        bytes_total: String = text["bytesTotal"],
        bytes_transferred: String = text["bytesTransferred"],
        remote_name: String = text["RemoteName"],
        local_name: String = text["LocalName"],
    }
}

plain_event! {
    /// Microsoft-Windows-WinRM/Operational: 6 (session created to `connection`), 91 (a shell
    /// was created for a remote client: `resourceUri`), 169 (a remote user authenticated).
    /// Remote PowerShell and `winrs` arrive here (T1021.006).
    pub struct WinRmEvent {
        connection: String = text["connection"],
        resource_uri: String = text["resourceUri"],
        shell_id: String = text["shellId"],
        username: String = text["username"],
        authentication_mechanism: String = text["authenticationMechanism"],
    }
}

plain_event! {
    /// Microsoft-Windows-WMI-Activity/Operational: 5857 (a provider was loaded into a host
    /// process), 5858 (an operation failed: the WMI query a client ran), 5860 (temporary
    /// event subscription), 5861 (permanent event subscription: filter, consumer and what
    /// it runs, in `PossibleCause`).
    pub struct WmiActivity {
        namespace: String = text["Namespace"],
        namespace_name: String = text["NamespaceName"],
        operation: String = text["Operation"],
        query: String = text["Query"],
        user: String = text["User"],
        client_machine: String = text["ClientMachine"],
        client_process_id: u32 = uint32["ClientProcessId"],
        provider_name: String = text["ProviderName"],
        provider_path: String = text["ProviderPath"],
        host_process: String = text["HostProcess"],
        ess: String = text["ESS"],
        consumer: String = text["CONSUMER"],
        possible_cause: String = text["PossibleCause"],
        result_code: u32 = uint32["ResultCode"],
    }
}

plain_event! {
    /// Microsoft-Windows-Windows Defender/Operational: 1116 (malware detected), 1117 (action
    /// taken), 1006/1007/1008/1015 (older detection ids), 5001 (real-time protection
    /// disabled), 5007 (configuration changed), 5010/5012 (scanning disabled).
    pub struct DefenderEvent {
        threat_name: String = text["Threat Name"],
        severity_name: String = text["Severity Name"],
        category_name: String = text["Category Name"],
        path: String = text["Path"],
        process_name: String = text["Process Name"],
        detection_user: String = text["Detection User"],
        action_name: String = text["Action Name"],
        old_value: String = text["Old Value"],
        new_value: String = text["New Value"],
    }
}

/// An Application-log event whose payload is unnamed `Data` strings: SQL Server
/// (`MSSQLSERVER`, `MSSQL$<instance>`: 15457 option changed, 15281 component blocked, 33205
/// audit with the statement) and Windows Installer (`MsiInstaller` 1033/1040/1042/11707:
/// a product was installed, with the package path).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub struct ApplicationEvent {
    pub header: EventHeader,
    /// Which application wrote it.
    pub source: ApplicationSource,
    /// The `Data` strings in order (named ones as `name=value`), each capped.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub data: Vec<String>,
}

/// Application-log writers we type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ApplicationSource {
    SqlServer,
    WindowsInstaller,
}

/// One `Data` string is kept up to this many bytes: a 33205 audit statement can be a whole
/// batch, and a rule needs its start.
const APPLICATION_DATA_MAX: usize = 64 * 1024;

impl ApplicationEvent {
    pub(super) fn from_data(ev: &RawEvent, d: &EventData, source: ApplicationSource) -> Self {
        let cap = |s: &str| -> String {
            let end = crate::text::floor_char_boundary(s, APPLICATION_DATA_MAX);
            s[..end].to_string()
        };
        let mut data: Vec<String> = d.unnamed.iter().map(|s| cap(s)).collect();
        data.extend(d.named.iter().map(|(k, v)| cap(&format!("{k}={v}"))));
        ApplicationEvent {
            header: EventHeader::from_raw(ev),
            source,
            data,
        }
    }

    /// The text of a 33205 audit's `statement:` (the SQL that ran), if any.
    pub fn sql_statement(&self) -> Option<&str> {
        self.data.iter().find_map(|d| {
            let at = d.find("statement:")?;
            let rest = &d[at + "statement:".len()..];
            // The audit text runs `statement:… additional_information:…`.
            let end = rest.find("\nadditional_information:").unwrap_or(rest.len());
            Some(rest[..end].trim())
        })
    }

    pub(super) fn sigma_field(&self, key: &str) -> Option<Cow<'_, str>> {
        key.eq_ignore_ascii_case("data")
            .then(|| Cow::Owned(self.data.join("\n")))
    }
}

/// SQL Server writes to Application as `MSSQLSERVER` or `MSSQL$<instance>`.
pub(super) fn is_sql_server(provider: &str) -> bool {
    let p = provider.trim();
    p.eq_ignore_ascii_case("MSSQLSERVER")
        || p.get(..6).is_some_and(|s| s.eq_ignore_ascii_case("MSSQL$"))
}
