//! Windows Task Scheduler task definitions (Task Scheduler 1.2+ XML, "Task Scheduler Schema").
//!
//! Where it lives: one file per registered task under `C:\Windows\System32\Tasks\` (any folder
//! depth, no file extension; the folder path mirrors the task's URI). Older systems also mirror
//! them in `C:\Windows\Tasks\` as `.job` files (see `task_job`). On Linux/macOS the artifact only
//! exists inside an "offline root" copied from a Windows host.
//!
//! Attackers use scheduled tasks for execution and persistence (ATT&CK T1053.005); for triage we
//! record what the task runs (Exec command line, COM handler CLSID), as whom (principal, run
//! level), when (triggers), and the stealth-relevant settings (Hidden, enabled, battery/idle
//! conditions), plus how the file was encoded, since hand-crafted task files often have
//! unusual encodings.
//!
//! Encoding: Windows writes UTF-16 LE with BOM, but the Task Scheduler also accepts UTF-16 BE,
//! UTF-8 with or without BOM, and files whose `<?xml encoding=...?>` declaration lies (Atomic Red
//! Team ships a UTF-8+BOM file declaring UTF-16). We detect in this order: byte-order mark, then
//! the NUL-byte pattern of the first bytes, then the declaration, then UTF-8. The text is decoded
//! to a `String` first and handed to quick-xml as `&str`, so the declared encoding is never
//! honoured by the XML reader (a mismatch is recorded as a warning instead).
//!
//! Robustness choices:
//! - Elements are matched by local name (namespaces and prefixes are ignored).
//! - Text is trimmed of XML whitespace (space, tab, CR, LF) only.
//! - `<!DOCTYPE>` internal subsets are never processed: only the five predefined entities and
//!   character references are resolved; any other `&name;` reference is kept literally and a
//!   warning is recorded (so no external entity fetching and no "billion laughs").
//! - A truncated document is an error ([`TaskXmlError::Truncated`]) that still carries the
//!   partially parsed task, so a caller can report both "damaged file" and what it would run;
//!   other XML syntax errors behave the same way through [`TaskXmlError::Malformed`]'s `partial`.
//! - Dates in tasks are usually local wall-clock time without offset (e.g. `2022-03-10T15:59:03`).
//!   [`TaskTime`] keeps the raw text, the wall-clock value, and a UTC instant only when the text
//!   carries `Z` or an offset: we never guess the host's time zone.
//!
//! Reference: [MS-TSCH] "Task Scheduler Service Remoting Protocol", section 2.5 (XML schema), and
//! the Task Scheduler Schema documentation on learn.microsoft.com.

use std::borrow::Cow;

use chrono::{DateTime, NaiveDateTime, Utc};
use quick_xml::Reader;
use quick_xml::XmlVersion;
use quick_xml::errors::{Error as XmlError, IllFormedError};
use quick_xml::events::{BytesStart, Event};
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Hostile documents could otherwise produce one warning per element.
const MAX_WARNINGS: usize = 256;
/// Real task files nest about 6 levels; deeper levels are tracked by a counter only.
const MAX_TRACKED_DEPTH: usize = 64;
/// Bytes inspected when sniffing NUL patterns and the XML declaration.
const SNIFF_LEN: usize = 1024;

// ---------------------------------------------------------------------------------------------
// Output types
// ---------------------------------------------------------------------------------------------

/// Character encoding the file was decoded with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TextEncoding {
    Utf16Le,
    Utf16Be,
    Utf8,
    /// A single/multi-byte legacy encoding named by the declaration (encoding_rs name).
    Legacy(String),
}

/// How [`TextEncoding`] was decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DetectionMethod {
    ByteOrderMark,
    NulPattern,
    Declaration,
    /// Nothing else matched; UTF-8 assumed.
    Default,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub struct DetectedEncoding {
    pub encoding: TextEncoding,
    /// A byte-order mark was present (and stripped).
    pub bom: bool,
    pub method: DetectionMethod,
    /// The `encoding` pseudo-attribute of the XML declaration, verbatim.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub declared: Option<String>,
}

/// A timestamp as written in the task (`xs:dateTime`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub struct TaskTime {
    pub raw: String,
    /// Wall-clock value as written. When `utc` is `None` this is the host's local time, whose
    /// zone is unknown to the parser.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wall_clock: Option<NaiveDateTime>,
    /// Only set when the text carried `Z` or a numeric offset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub utc: Option<DateTime<Utc>>,
}

impl TaskTime {
    pub fn parse(raw: &str) -> TaskTime {
        let raw_owned = raw.to_string();
        if let Ok(dt) = DateTime::parse_from_rfc3339(raw) {
            return TaskTime {
                raw: raw_owned,
                wall_clock: Some(dt.naive_local()),
                utc: Some(dt.with_timezone(&Utc)),
            };
        }
        let wall_clock = NaiveDateTime::parse_from_str(raw, "%Y-%m-%dT%H:%M:%S%.f")
            .or_else(|_| NaiveDateTime::parse_from_str(raw, "%Y-%m-%dT%H:%M"))
            .ok();
        TaskTime {
            raw: raw_owned,
            wall_clock,
            utc: None,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub struct RegistrationInfo {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Registration date (`<Date>`), raw plus parsed forms.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date: Option<TaskTime>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub documentation: Option<String>,
    /// SDDL string.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub security_descriptor: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum LogonType {
    S4u,
    Password,
    InteractiveToken,
    InteractiveTokenOrPassword,
    Group,
    ServiceAccount,
    None,
    Other(String),
}

impl LogonType {
    fn from_text(s: &str) -> LogonType {
        match s {
            "S4U" => LogonType::S4u,
            "Password" => LogonType::Password,
            "InteractiveToken" => LogonType::InteractiveToken,
            "InteractiveTokenOrPassword" => LogonType::InteractiveTokenOrPassword,
            "Group" => LogonType::Group,
            "ServiceAccount" => LogonType::ServiceAccount,
            "None" => LogonType::None,
            other => LogonType::Other(other.to_string()),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RunLevel {
    LeastPrivilege,
    HighestAvailable,
    Other(String),
}

impl RunLevel {
    fn from_text(s: &str) -> RunLevel {
        match s {
            "LeastPrivilege" => RunLevel::LeastPrivilege,
            "HighestAvailable" => RunLevel::HighestAvailable,
            other => RunLevel::Other(other.to_string()),
        }
    }

    /// Schema spelling, e.g. `HighestAvailable`.
    pub fn as_schema_str(&self) -> &str {
        match self {
            RunLevel::LeastPrivilege => "LeastPrivilege",
            RunLevel::HighestAvailable => "HighestAvailable",
            RunLevel::Other(s) => s,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub struct Principal {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logon_type: Option<LogonType>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_level: Option<RunLevel>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub process_token_sid_type: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub required_privileges: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum MultipleInstancesPolicy {
    Parallel,
    Queue,
    IgnoreNew,
    StopExisting,
    Other(String),
}

impl MultipleInstancesPolicy {
    fn from_text(s: &str) -> MultipleInstancesPolicy {
        match s {
            "Parallel" => MultipleInstancesPolicy::Parallel,
            "Queue" => MultipleInstancesPolicy::Queue,
            "IgnoreNew" => MultipleInstancesPolicy::IgnoreNew,
            "StopExisting" => MultipleInstancesPolicy::StopExisting,
            other => MultipleInstancesPolicy::Other(other.to_string()),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub struct IdleSettings {
    /// `xs:duration` text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wait_timeout: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop_on_idle_end: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restart_on_idle: Option<bool>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub struct RestartOnFailure {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interval: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub count: Option<u32>,
}

/// Settings that matter for triage. `None` means the element was absent (the schema default
/// applies, e.g. Hidden=false, Enabled=true); the distinction is kept because an explicit value
/// is evidence of how the task was created.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub struct TaskSettings {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hidden: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allow_start_on_demand: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disallow_start_if_on_batteries: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop_if_going_on_batteries: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_when_available: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_only_if_network_available: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_only_if_idle: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wake_to_run: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allow_hard_terminate: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub execution_time_limit: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub priority: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub multiple_instances_policy: Option<MultipleInstancesPolicy>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delete_expired_task_after: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub idle_settings: Option<IdleSettings>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restart_on_failure: Option<RestartOnFailure>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TriggerKind {
    Time,
    Calendar,
    Boot,
    Logon,
    Idle,
    Event,
    Registration,
    SessionStateChange,
    WnfStateChange,
    /// Unknown trigger element, by local name.
    Other(String),
}

impl TriggerKind {
    fn from_element(name: &str) -> TriggerKind {
        match name {
            "TimeTrigger" => TriggerKind::Time,
            "CalendarTrigger" => TriggerKind::Calendar,
            "BootTrigger" => TriggerKind::Boot,
            "LogonTrigger" => TriggerKind::Logon,
            "IdleTrigger" => TriggerKind::Idle,
            "EventTrigger" => TriggerKind::Event,
            "RegistrationTrigger" => TriggerKind::Registration,
            "SessionStateChangeTrigger" => TriggerKind::SessionStateChange,
            "WnfStateChangeTrigger" => TriggerKind::WnfStateChange,
            other => TriggerKind::Other(other.to_string()),
        }
    }

    /// The schema element name, e.g. `TimeTrigger`.
    pub fn element_name(&self) -> Cow<'_, str> {
        match self {
            TriggerKind::Time => "TimeTrigger".into(),
            TriggerKind::Calendar => "CalendarTrigger".into(),
            TriggerKind::Boot => "BootTrigger".into(),
            TriggerKind::Logon => "LogonTrigger".into(),
            TriggerKind::Idle => "IdleTrigger".into(),
            TriggerKind::Event => "EventTrigger".into(),
            TriggerKind::Registration => "RegistrationTrigger".into(),
            TriggerKind::SessionStateChange => "SessionStateChangeTrigger".into(),
            TriggerKind::WnfStateChange => "WnfStateChangeTrigger".into(),
            TriggerKind::Other(s) => Cow::Borrowed(s.as_str()),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub struct Repetition {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interval: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop_at_duration_end: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ScheduleKind {
    ByDay,
    ByWeek,
    ByMonth,
    ByMonthDayOfWeek,
}

/// Calendar trigger schedule. Day and month names are kept as the schema element names
/// (`Monday`, `January`); days of month and weeks as their text (`1`..`31`, `Last`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub struct CalendarSchedule {
    pub kind: ScheduleKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub days_interval: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weeks_interval: Option<u32>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub days_of_week: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub days_of_month: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub weeks: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub months: Vec<String>,
}

impl CalendarSchedule {
    fn new(kind: ScheduleKind) -> Self {
        CalendarSchedule {
            kind,
            days_interval: None,
            weeks_interval: None,
            days_of_week: Vec::new(),
            days_of_month: Vec::new(),
            weeks: Vec::new(),
            months: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub struct Trigger {
    pub kind: TriggerKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_boundary: Option<TaskTime>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_boundary: Option<TaskTime>,
    /// `Delay` (boot/logon/event/registration/session triggers).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delay: Option<String>,
    /// `RandomDelay` (time/calendar triggers).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub random_delay: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repetition: Option<Repetition>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub execution_time_limit: Option<String>,
    /// Logon / session-state-change triggers: the user the trigger is scoped to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// Event trigger: the event query (XML `QueryList` text, entities resolved).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub subscription: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schedule: Option<CalendarSchedule>,
    /// Session state change trigger: e.g. `ConsoleDisconnect`, `SessionLock`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state_change: Option<String>,
    /// WNF state change trigger: 64-bit WNF state name as hex text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wnf_state_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wnf_data: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wnf_data_offset: Option<String>,
}

impl Trigger {
    fn new(kind: TriggerKind, id: Option<String>) -> Self {
        Trigger {
            kind,
            id,
            enabled: None,
            start_boundary: None,
            end_boundary: None,
            delay: None,
            random_delay: None,
            repetition: None,
            execution_time_limit: None,
            user_id: None,
            subscription: None,
            schedule: None,
            state_change: None,
            wnf_state_name: None,
            wnf_data: None,
            wnf_data_offset: None,
        }
    }
}

/// One entry of `<Actions>`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum TaskAction {
    Exec {
        #[serde(skip_serializing_if = "Option::is_none")]
        id: Option<String>,
        /// Empty when the element was missing (recorded as a warning).
        command: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        arguments: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        working_directory: Option<String>,
    },
    ComHandler {
        #[serde(skip_serializing_if = "Option::is_none")]
        id: Option<String>,
        class_id: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        data: Option<String>,
    },
    /// Deprecated since Windows 8 but still parsed by the service.
    SendEmail {
        #[serde(skip_serializing_if = "Option::is_none")]
        id: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        server: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        from: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        to: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        cc: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        bcc: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        reply_to: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        subject: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        body: Option<String>,
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        attachments: Vec<String>,
    },
    /// Deprecated since Windows 8.
    ShowMessage {
        #[serde(skip_serializing_if = "Option::is_none")]
        id: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        title: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        body: Option<String>,
    },
    /// Unknown action element, by local name.
    Other {
        #[serde(skip_serializing_if = "Option::is_none")]
        id: Option<String>,
        element: String,
    },
}

/// A parsed task definition file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub struct TaskDefinition {
    pub encoding: DetectedEncoding,
    /// `<Task version="...">` (absent on many built-in tasks).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    pub registration_info: RegistrationInfo,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub principals: Vec<Principal>,
    pub settings: TaskSettings,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub triggers: Vec<Trigger>,
    /// `<Actions Context="...">`: the principal id the actions run as.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actions_context: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub actions: Vec<TaskAction>,
    /// Oddities met while parsing (unknown elements, bad values, encoding mismatches...).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

impl TaskDefinition {
    fn new(encoding: DetectedEncoding) -> Self {
        TaskDefinition {
            encoding,
            version: None,
            registration_info: RegistrationInfo::default(),
            principals: Vec::new(),
            settings: TaskSettings::default(),
            triggers: Vec::new(),
            actions_context: None,
            actions: Vec::new(),
            warnings: Vec::new(),
        }
    }

    /// The principal the actions run as: the one named by `Actions/@Context`, else the first.
    pub fn effective_principal(&self) -> Option<&Principal> {
        if let Some(ctx) = &self.actions_context
            && let Some(p) = self
                .principals
                .iter()
                .find(|p| p.id.as_deref() == Some(ctx.as_str()))
        {
            return Some(p);
        }
        self.principals.first()
    }
}

/// The command line Task Scheduler would start for an action: `command + " " + arguments`
/// (arguments omitted when empty). Environment variables and `$(Arg0)` placeholders are left
/// unexpanded, quoting is left as written. Non-Exec actions have no command line: empty string.
pub fn exec_command_line(action: &TaskAction) -> String {
    match action {
        TaskAction::Exec {
            command, arguments, ..
        } => match arguments.as_deref() {
            Some(args) if !args.is_empty() => format!("{command} {args}"),
            _ => command.clone(),
        },
        _ => String::new(),
    }
}

/// Parses an `xs:duration` such as `PT5M`, `P1D`, `PT72H`, `P3DT4H30M` into seconds.
/// Years count as 365 days and months as 30 days (Task Scheduler rarely uses either).
/// Negative or malformed durations give `None`.
pub fn parse_duration_secs(text: &str) -> Option<u64> {
    let rest = text.trim().strip_prefix('P')?;
    let mut total: u64 = 0;
    let mut in_time = false;
    let mut number = String::new();
    let mut seen_any = false;
    for c in rest.chars() {
        if c == 'T' {
            if in_time || !number.is_empty() {
                return None;
            }
            in_time = true;
            continue;
        }
        if c.is_ascii_digit() || c == '.' {
            if number.len() > 32 {
                return None;
            }
            number.push(c);
            continue;
        }
        let unit: u64 = match (in_time, c) {
            (false, 'Y') => 365 * 86_400,
            (false, 'M') => 30 * 86_400,
            (false, 'W') => 7 * 86_400,
            (false, 'D') => 86_400,
            (true, 'H') => 3_600,
            (true, 'M') => 60,
            (true, 'S') => 1,
            _ => return None,
        };
        if number.is_empty() {
            return None;
        }
        // Fractions only make sense on seconds; truncate them.
        let whole = number.split('.').next().unwrap_or("");
        if whole.is_empty() && unit != 1 {
            return None;
        }
        let n: u64 = if whole.is_empty() {
            0
        } else {
            whole.parse().ok()?
        };
        total = total.checked_add(n.checked_mul(unit)?)?;
        number.clear();
        seen_any = true;
    }
    if !number.is_empty() || !seen_any {
        return None;
    }
    Some(total)
}

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Error)]
pub enum TaskXmlError {
    #[error("empty input: a task definition needs at least a <Task> element")]
    Empty,
    #[error(
        "malformed XML at byte {position} of the decoded text (decoded as {encoding:?}): {message}"
    )]
    Malformed {
        /// Offset in the decoded UTF-8 text, not in the original bytes.
        position: u64,
        encoding: TextEncoding,
        message: String,
        /// What had been parsed before the error, when the `<Task>` root had been seen.
        partial: Option<Box<TaskDefinition>>,
    },
    #[error("root element is <{found}>, expected <Task>")]
    NotATask { found: String },
    #[error("no root element found (decoded as {encoding:?}): {detail}")]
    NoRootElement {
        encoding: TextEncoding,
        detail: String,
    },
    #[error(
        "document truncated: input ended inside <{open_element}> at nesting depth {depth} (byte {position} of decoded text)"
    )]
    Truncated {
        open_element: String,
        depth: usize,
        position: u64,
        partial: Box<TaskDefinition>,
    },
}

impl TaskXmlError {
    /// The partially parsed task carried by truncation/syntax errors, if any.
    pub fn partial(&self) -> Option<&TaskDefinition> {
        match self {
            TaskXmlError::Malformed { partial, .. } => partial.as_deref(),
            TaskXmlError::Truncated { partial, .. } => Some(partial),
            _ => None,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Encoding detection and decoding
// ---------------------------------------------------------------------------------------------

/// Extracts the `encoding` pseudo-attribute of a leading `<?xml ...?>` declaration.
fn sniff_declared_encoding(text: &str) -> Option<String> {
    let t = text.trim_start_matches(['\u{feff}', ' ', '\t', '\r', '\n']);
    let t = t.strip_prefix("<?xml")?;
    let end = t.find("?>")?;
    let decl = t.get(..end)?;
    let pos = decl.find("encoding")?;
    let after = decl.get(pos + "encoding".len()..)?.trim_start();
    let after = after.strip_prefix('=')?.trim_start();
    let quote = after.chars().next()?;
    if quote != '"' && quote != '\'' {
        return None;
    }
    let body = after.get(1..)?;
    let close = body.find(quote)?;
    let label = body.get(..close)?;
    if label.len() > 64 {
        return None;
    }
    Some(label.to_string())
}

/// Decides UTF-16 LE/BE from where the NUL bytes sit in the first bytes (ASCII markup in
/// UTF-16 has a NUL in every other byte).
fn nul_pattern(bytes: &[u8]) -> Option<TextEncoding> {
    let sample = bytes.get(..bytes.len().min(SNIFF_LEN)).unwrap_or(bytes);
    let pairs = sample.len() / 2;
    if pairs == 0 {
        return None;
    }
    let (mut zero_even, mut zero_odd) = (0usize, 0usize);
    for (i, b) in sample.iter().enumerate() {
        if *b == 0 {
            if i % 2 == 0 {
                zero_even += 1;
            } else {
                zero_odd += 1;
            }
        }
    }
    let threshold = pairs.div_ceil(2).max(1);
    if zero_odd >= threshold && zero_even * 8 < zero_odd {
        Some(TextEncoding::Utf16Le)
    } else if zero_even >= threshold && zero_odd * 8 < zero_even {
        Some(TextEncoding::Utf16Be)
    } else {
        None
    }
}

fn decode_utf16(
    body: &[u8],
    enc: &'static encoding_rs::Encoding,
    warnings: &mut Vec<String>,
) -> String {
    let body = if body.len() % 2 == 1 {
        warnings.push(format!(
            "odd UTF-16 byte length ({} bytes after any BOM): last byte dropped",
            body.len()
        ));
        body.get(..body.len() - 1).unwrap_or(&[])
    } else {
        body
    };
    let (text, had_errors) = enc.decode_without_bom_handling(body);
    if had_errors {
        warnings.push("invalid UTF-16 sequences replaced with U+FFFD".to_string());
    }
    text.into_owned()
}

fn decode_utf8(body: &[u8], warnings: &mut Vec<String>) -> String {
    match std::str::from_utf8(body) {
        Ok(s) => s.to_string(),
        Err(e) => {
            warnings.push(format!(
                "invalid UTF-8 at byte {} replaced with U+FFFD",
                e.valid_up_to()
            ));
            String::from_utf8_lossy(body).into_owned()
        }
    }
}

fn is_utf16_label(enc: &'static encoding_rs::Encoding) -> bool {
    enc == encoding_rs::UTF_16LE || enc == encoding_rs::UTF_16BE
}

/// Detects the encoding (BOM, NUL pattern, declaration, default) and decodes to a `String`.
fn detect_and_decode(bytes: &[u8], warnings: &mut Vec<String>) -> (String, DetectedEncoding) {
    let (encoding, bom, method, body): (TextEncoding, bool, DetectionMethod, &[u8]) =
        if let Some(rest) = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]) {
            (
                TextEncoding::Utf8,
                true,
                DetectionMethod::ByteOrderMark,
                rest,
            )
        } else if let Some(rest) = bytes.strip_prefix(&[0xFF, 0xFE]) {
            (
                TextEncoding::Utf16Le,
                true,
                DetectionMethod::ByteOrderMark,
                rest,
            )
        } else if let Some(rest) = bytes.strip_prefix(&[0xFE, 0xFF]) {
            (
                TextEncoding::Utf16Be,
                true,
                DetectionMethod::ByteOrderMark,
                rest,
            )
        } else if let Some(enc) = nul_pattern(bytes) {
            (enc, false, DetectionMethod::NulPattern, bytes)
        } else {
            let head =
                String::from_utf8_lossy(bytes.get(..bytes.len().min(SNIFF_LEN)).unwrap_or(bytes));
            match sniff_declared_encoding(&head)
                .and_then(|l| encoding_rs::Encoding::for_label(l.trim().as_bytes()))
            {
                Some(enc) if enc == encoding_rs::UTF_8 => (
                    TextEncoding::Utf8,
                    false,
                    DetectionMethod::Declaration,
                    bytes,
                ),
                Some(enc) if is_utf16_label(enc) => {
                    // Checked again below against the declaration: recorded as a mismatch.
                    (TextEncoding::Utf8, false, DetectionMethod::Default, bytes)
                }
                Some(enc) => (
                    TextEncoding::Legacy(enc.name().to_string()),
                    false,
                    DetectionMethod::Declaration,
                    bytes,
                ),
                None => (TextEncoding::Utf8, false, DetectionMethod::Default, bytes),
            }
        };

    let mut text = match &encoding {
        TextEncoding::Utf16Le => decode_utf16(body, encoding_rs::UTF_16LE, warnings),
        TextEncoding::Utf16Be => decode_utf16(body, encoding_rs::UTF_16BE, warnings),
        TextEncoding::Utf8 => decode_utf8(body, warnings),
        TextEncoding::Legacy(name) => {
            let enc = encoding_rs::Encoding::for_label(name.as_bytes())
                .unwrap_or(encoding_rs::WINDOWS_1252);
            let (t, had_errors) = enc.decode_without_bom_handling(body);
            if had_errors {
                warnings.push(format!("invalid {name} sequences replaced with U+FFFD"));
            }
            t.into_owned()
        }
    };
    // A second BOM (e.g. UTF-8 BOM inside UTF-16 text) would otherwise be text before the root.
    if text.starts_with('\u{feff}') {
        text.remove(0);
        warnings.push("second byte-order mark inside the decoded text ignored".to_string());
    }

    let declared = sniff_declared_encoding(&text);
    if let Some(label) = &declared {
        match encoding_rs::Encoding::for_label(label.trim().as_bytes()) {
            None => warnings.push(format!("declared encoding {label:?} is unknown; ignored")),
            Some(enc) => {
                let agrees = match &encoding {
                    TextEncoding::Utf16Le | TextEncoding::Utf16Be => is_utf16_label(enc),
                    TextEncoding::Utf8 => enc == encoding_rs::UTF_8,
                    TextEncoding::Legacy(name) => enc.name() == name,
                };
                if !agrees {
                    warnings.push(format!(
                        "declared encoding {label:?} does not match the detected {encoding:?} ({method:?}); declaration ignored"
                    ));
                }
            }
        }
    }
    (
        text,
        DetectedEncoding {
            encoding,
            bom,
            method,
            declared,
        },
    )
}

// ---------------------------------------------------------------------------------------------
// XML walking
// ---------------------------------------------------------------------------------------------

/// Where we are in the document; decides what a child element means.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ctx {
    Task,
    RegInfo,
    Principals,
    Principal,
    RequiredPrivileges,
    Settings,
    IdleSettings,
    RestartOnFailure,
    Triggers,
    Trigger,
    Repetition,
    Schedule,
    DaysOfWeek,
    Months,
    DaysOfMonth,
    Weeks,
    Actions,
    Action,
    Attachments,
    /// Element whose text we want; the `&'static str` is the canonical element name.
    Leaf(&'static str),
    /// Known element we deliberately skip, or anything below an unknown element.
    Ignored,
}

/// Maps a child's local name to a canonical static name if it is one of `names`.
fn known(name: &str, names: &[&'static str]) -> Option<&'static str> {
    names.iter().copied().find(|n| *n == name)
}

const REG_LEAVES: &[&str] = &[
    "URI",
    "Author",
    "Description",
    "Date",
    "Source",
    "Version",
    "Documentation",
    "SecurityDescriptor",
];
const PRINCIPAL_LEAVES: &[&str] = &[
    "UserId",
    "GroupId",
    "LogonType",
    "RunLevel",
    "DisplayName",
    "ProcessTokenSidType",
];
const SETTINGS_LEAVES: &[&str] = &[
    "Enabled",
    "Hidden",
    "AllowStartOnDemand",
    "DisallowStartIfOnBatteries",
    "StopIfGoingOnBatteries",
    "StartWhenAvailable",
    "RunOnlyIfNetworkAvailable",
    "RunOnlyIfIdle",
    "WakeToRun",
    "AllowHardTerminate",
    "ExecutionTimeLimit",
    "Priority",
    "MultipleInstancesPolicy",
    "DeleteExpiredTaskAfter",
];
/// Schema elements under Settings with no triage value.
const SETTINGS_SKIPPED: &[&str] = &[
    "UseUnifiedSchedulingEngine",
    "DisallowStartOnRemoteAppSession",
    "MaintenanceSettings",
    "NetworkSettings",
    "Volatile",
    "NetworkProfileName",
];
const IDLE_LEAVES: &[&str] = &["Duration", "WaitTimeout", "StopOnIdleEnd", "RestartOnIdle"];
const RESTART_LEAVES: &[&str] = &["Interval", "Count"];
const TRIGGER_LEAVES: &[&str] = &[
    "Enabled",
    "StartBoundary",
    "EndBoundary",
    "Delay",
    "RandomDelay",
    "ExecutionTimeLimit",
    "UserId",
    "Subscription",
    "StateChange",
    "StateName",
    "Data",
    "DataOffset",
];
const TRIGGER_SKIPPED: &[&str] = &["ValueQueries", "PeriodOfOccurrence", "MatchingElement"];
const REPETITION_LEAVES: &[&str] = &["Interval", "Duration", "StopAtDurationEnd"];
const SCHEDULE_LEAVES: &[&str] = &["DaysInterval", "WeeksInterval"];
const ACTION_LEAVES: &[&str] = &[
    "Command",
    "Arguments",
    "WorkingDirectory",
    "ClassId",
    "Data",
    "Server",
    "Subject",
    "To",
    "Cc",
    "Bcc",
    "ReplyTo",
    "From",
    "Body",
    "Title",
];

struct Parser {
    task: TaskDefinition,
    /// Context stack for tracked depths; beyond `MAX_TRACKED_DEPTH` only `overflow` counts.
    stack: Vec<Ctx>,
    overflow: usize,
    /// Names of open elements (parallel to `stack`), for error messages.
    names: Vec<String>,
    text: String,
    root_seen: bool,
    root_closed: bool,
    suppressed_warnings: usize,
    depth_warned: bool,
}

impl Parser {
    fn warn(&mut self, msg: String) {
        if self.task.warnings.len() < MAX_WARNINGS {
            self.task.warnings.push(msg);
        } else {
            self.suppressed_warnings += 1;
        }
    }

    fn depth(&self) -> usize {
        self.stack.len() + self.overflow
    }

    fn attr(&mut self, e: &BytesStart<'_>, wanted: &str) -> Option<String> {
        let mut found = None;
        let mut attrs = e.attributes();
        attrs.with_checks(false);
        for a in attrs {
            match a {
                Ok(a) => {
                    if a.key.local_name().as_ref() == wanted && found.is_none() {
                        let v = match a.normalized_value(XmlVersion::Implicit1_0) {
                            Ok(v) => v.into_owned(),
                            Err(err) => {
                                let raw = a.value.clone().into_owned();
                                self.warn(format!(
                                    "attribute {wanted} value {raw:?} not unescaped ({err}); kept raw"
                                ));
                                raw
                            }
                        };
                        found = Some(v.trim_matches(is_xml_ws).to_string());
                    }
                }
                Err(err) => {
                    self.warn(format!(
                        "bad attribute syntax on <{}>: {err}",
                        e.local_name().as_ref()
                    ));
                    break;
                }
            }
        }
        found
    }

    /// Decides the context of a new child element and creates the matching output object.
    fn child_ctx(&mut self, parent: Option<Ctx>, name: &str, e: &BytesStart<'_>) -> Ctx {
        use Ctx::*;
        let Some(parent) = parent else {
            return Task;
        };
        match parent {
            Task => match name {
                "RegistrationInfo" => RegInfo,
                "Principals" => Principals,
                "Settings" => Settings,
                "Triggers" => Triggers,
                "Actions" => {
                    let ctx = self.attr(e, "Context");
                    if ctx.is_some() {
                        self.task.actions_context = ctx;
                    }
                    Actions
                }
                // Free-form task data, no triage value.
                "Data" => Ignored,
                _ => self.unknown(name, "Task"),
            },
            RegInfo => match known(name, REG_LEAVES) {
                Some(n) => Leaf(n),
                None => self.unknown(name, "RegistrationInfo"),
            },
            Principals => match name {
                "Principal" => {
                    let id = self.attr(e, "id");
                    self.task.principals.push(self::Principal {
                        id,
                        ..Default::default()
                    });
                    Principal
                }
                _ => self.unknown(name, "Principals"),
            },
            Principal => match (name, known(name, PRINCIPAL_LEAVES)) {
                ("RequiredPrivileges", _) => RequiredPrivileges,
                (_, Some(n)) => Leaf(n),
                _ => self.unknown(name, "Principal"),
            },
            RequiredPrivileges => match name {
                "Privilege" => Leaf("Privilege"),
                _ => self.unknown(name, "RequiredPrivileges"),
            },
            Settings => match name {
                "IdleSettings" => {
                    self.task
                        .settings
                        .idle_settings
                        .get_or_insert_with(Default::default);
                    IdleSettings
                }
                "RestartOnFailure" => {
                    self.task
                        .settings
                        .restart_on_failure
                        .get_or_insert_with(Default::default);
                    RestartOnFailure
                }
                _ => match known(name, SETTINGS_LEAVES) {
                    Some(n) => Leaf(n),
                    None if SETTINGS_SKIPPED.contains(&name) => Ignored,
                    None => self.unknown(name, "Settings"),
                },
            },
            IdleSettings => match known(name, IDLE_LEAVES) {
                Some(n) => Leaf(n),
                None => self.unknown(name, "IdleSettings"),
            },
            RestartOnFailure => match known(name, RESTART_LEAVES) {
                Some(n) => Leaf(n),
                None => self.unknown(name, "RestartOnFailure"),
            },
            Triggers => {
                let kind = TriggerKind::from_element(name);
                if let TriggerKind::Other(n) = &kind {
                    let msg = format!("unknown trigger element <{n}>");
                    self.warn(msg);
                }
                let id = self.attr(e, "id");
                self.task.triggers.push(self::Trigger::new(kind, id));
                Trigger
            }
            Trigger => {
                let sched = match name {
                    "ScheduleByDay" => Some(ScheduleKind::ByDay),
                    "ScheduleByWeek" => Some(ScheduleKind::ByWeek),
                    "ScheduleByMonth" => Some(ScheduleKind::ByMonth),
                    "ScheduleByMonthDayOfWeek" => Some(ScheduleKind::ByMonthDayOfWeek),
                    _ => None,
                };
                if let Some(kind) = sched {
                    if let Some(t) = self.task.triggers.last_mut() {
                        if t.schedule.is_some() {
                            let msg = format!("trigger has more than one schedule; <{name}> kept");
                            self.warn(msg);
                        }
                        if let Some(t) = self.task.triggers.last_mut() {
                            t.schedule = Some(CalendarSchedule::new(kind));
                        }
                    }
                    return Schedule;
                }
                match name {
                    "Repetition" => {
                        if let Some(t) = self.task.triggers.last_mut() {
                            t.repetition.get_or_insert_with(Default::default);
                        }
                        Repetition
                    }
                    _ => match known(name, TRIGGER_LEAVES) {
                        Some(n) => Leaf(n),
                        None if TRIGGER_SKIPPED.contains(&name) => Ignored,
                        None => self.unknown(name, "trigger"),
                    },
                }
            }
            Repetition => match known(name, REPETITION_LEAVES) {
                Some(n) => Leaf(n),
                None => self.unknown(name, "Repetition"),
            },
            Schedule => match name {
                "DaysOfWeek" => DaysOfWeek,
                "Months" => Months,
                "DaysOfMonth" => DaysOfMonth,
                "Weeks" => Weeks,
                _ => match known(name, SCHEDULE_LEAVES) {
                    Some(n) => Leaf(n),
                    None => self.unknown(name, "schedule"),
                },
            },
            DaysOfWeek | Months => {
                // Days and months are empty marker elements named after the day/month.
                if let Some(s) = self
                    .task
                    .triggers
                    .last_mut()
                    .and_then(|t| t.schedule.as_mut())
                {
                    if parent == DaysOfWeek {
                        s.days_of_week.push(name.to_string());
                    } else {
                        s.months.push(name.to_string());
                    }
                }
                Ignored
            }
            DaysOfMonth => match name {
                "Day" => Leaf("Day"),
                _ => self.unknown(name, "DaysOfMonth"),
            },
            Weeks => match name {
                "Week" => Leaf("Week"),
                _ => self.unknown(name, "Weeks"),
            },
            Actions => {
                let id = self.attr(e, "id");
                let action = match name {
                    "Exec" => TaskAction::Exec {
                        id,
                        command: String::new(),
                        arguments: None,
                        working_directory: None,
                    },
                    "ComHandler" => TaskAction::ComHandler {
                        id,
                        class_id: String::new(),
                        data: None,
                    },
                    "SendEmail" => TaskAction::SendEmail {
                        id,
                        server: None,
                        from: None,
                        to: None,
                        cc: None,
                        bcc: None,
                        reply_to: None,
                        subject: None,
                        body: None,
                        attachments: Vec::new(),
                    },
                    "ShowMessage" => TaskAction::ShowMessage {
                        id,
                        title: None,
                        body: None,
                    },
                    other => {
                        let msg = format!("unknown action element <{other}>");
                        self.warn(msg);
                        TaskAction::Other {
                            id,
                            element: other.to_string(),
                        }
                    }
                };
                self.task.actions.push(action);
                Action
            }
            Action => match name {
                "Attachments" => Attachments,
                // Custom SMTP headers: no triage value.
                "HeaderFields" => Ignored,
                _ => match known(name, ACTION_LEAVES) {
                    Some(n) => Leaf(n),
                    None => self.unknown(name, "action"),
                },
            },
            Attachments => match name {
                "File" => Leaf("File"),
                _ => self.unknown(name, "Attachments"),
            },
            Leaf(leaf) => {
                let msg = format!("unexpected child element <{name}> inside <{leaf}>; ignored");
                self.warn(msg);
                Ignored
            }
            Ignored => Ignored,
        }
    }

    fn unknown(&mut self, name: &str, parent: &str) -> Ctx {
        self.warn(format!("unknown element <{name}> in <{parent}>; ignored"));
        Ctx::Ignored
    }

    fn start(&mut self, e: &BytesStart<'_>) -> Result<(), TaskXmlError> {
        let local = e.local_name();
        let name: &str = local.as_ref();
        if self.root_closed {
            let msg = format!("element <{name}> after the closing </Task>; ignored");
            self.warn(msg);
            self.overflow += 1;
            return Ok(());
        }
        if !self.root_seen {
            if name != "Task" {
                return Err(TaskXmlError::NotATask {
                    found: name.chars().take(128).collect(),
                });
            }
            self.root_seen = true;
            self.task.version = self.attr(e, "version");
        }
        if self.stack.len() >= MAX_TRACKED_DEPTH || self.overflow > 0 {
            if !self.depth_warned {
                self.depth_warned = true;
                self.warn(format!(
                    "elements nested deeper than {MAX_TRACKED_DEPTH} levels; their content is ignored"
                ));
            }
            self.overflow += 1;
            return Ok(());
        }
        let parent = self.stack.last().copied();
        let ctx = self.child_ctx(parent, name, e);
        if matches!(ctx, Ctx::Leaf(_)) {
            self.text.clear();
        }
        self.stack.push(ctx);
        self.names.push(name.chars().take(128).collect());
        Ok(())
    }

    fn end(&mut self) {
        if self.overflow > 0 {
            self.overflow -= 1;
            return;
        }
        let Some(ctx) = self.stack.pop() else {
            return;
        };
        self.names.pop();
        if self.stack.is_empty() {
            self.root_closed = true;
        }
        if let Ctx::Leaf(leaf) = ctx {
            let value = std::mem::take(&mut self.text);
            let value = value.trim_matches(is_xml_ws).to_string();
            let parent = self.stack.last().copied();
            self.assign(parent, leaf, value);
        }
    }

    fn append_text(&mut self, s: &str) {
        if self.overflow == 0 && matches!(self.stack.last(), Some(Ctx::Leaf(_))) {
            self.text.push_str(s);
        }
    }

    fn bool_value(&mut self, field: &str, v: &str) -> Option<bool> {
        match v {
            "true" | "1" => Some(true),
            "false" | "0" => Some(false),
            _ => {
                self.warn(format!("<{field}> has non-boolean value {:?}", clip(v)));
                None
            }
        }
    }

    fn u32_value(&mut self, field: &str, v: &str) -> Option<u32> {
        match v.parse::<u32>() {
            Ok(n) => Some(n),
            Err(_) => {
                self.warn(format!("<{field}> has non-numeric value {:?}", clip(v)));
                None
            }
        }
    }

    /// Stores a leaf value; first occurrence wins, later duplicates are reported.
    fn set_str(warnings: &mut Vec<String>, slot: &mut Option<String>, field: &str, v: String) {
        if let Some(old) = slot {
            if warnings.len() < MAX_WARNINGS {
                warnings.push(format!(
                    "duplicate <{field}>: kept {:?}, ignored {:?}",
                    clip(old),
                    clip(&v)
                ));
            }
        } else {
            *slot = Some(v);
        }
    }

    fn assign(&mut self, parent: Option<Ctx>, leaf: &'static str, v: String) {
        let Some(parent) = parent else { return };
        match parent {
            Ctx::RegInfo => self.assign_reg(leaf, v),
            Ctx::Principal => self.assign_principal(leaf, v),
            Ctx::RequiredPrivileges => {
                if let Some(p) = self.task.principals.last_mut() {
                    p.required_privileges.push(v);
                }
            }
            Ctx::Settings => self.assign_settings(leaf, v),
            Ctx::IdleSettings => {
                let b = match leaf {
                    "StopOnIdleEnd" | "RestartOnIdle" => self.bool_value(leaf, &v),
                    _ => None,
                };
                let w = &mut self.task.warnings;
                if let Some(idle) = self.task.settings.idle_settings.as_mut() {
                    match leaf {
                        "Duration" => Self::set_str(w, &mut idle.duration, leaf, v),
                        "WaitTimeout" => Self::set_str(w, &mut idle.wait_timeout, leaf, v),
                        "StopOnIdleEnd" => idle.stop_on_idle_end = b,
                        "RestartOnIdle" => idle.restart_on_idle = b,
                        _ => {}
                    }
                }
            }
            Ctx::RestartOnFailure => {
                let n = if leaf == "Count" {
                    self.u32_value(leaf, &v)
                } else {
                    None
                };
                let w = &mut self.task.warnings;
                if let Some(r) = self.task.settings.restart_on_failure.as_mut() {
                    match leaf {
                        "Interval" => Self::set_str(w, &mut r.interval, leaf, v),
                        "Count" => r.count = n,
                        _ => {}
                    }
                }
            }
            Ctx::Trigger => self.assign_trigger(leaf, v),
            Ctx::Repetition => {
                let b = if leaf == "StopAtDurationEnd" {
                    self.bool_value(leaf, &v)
                } else {
                    None
                };
                let w = &mut self.task.warnings;
                if let Some(r) = self
                    .task
                    .triggers
                    .last_mut()
                    .and_then(|t| t.repetition.as_mut())
                {
                    match leaf {
                        "Interval" => Self::set_str(w, &mut r.interval, leaf, v),
                        "Duration" => Self::set_str(w, &mut r.duration, leaf, v),
                        "StopAtDurationEnd" => r.stop_at_duration_end = b,
                        _ => {}
                    }
                }
            }
            Ctx::Schedule => {
                let n = self.u32_value(leaf, &v);
                if let Some(s) = self
                    .task
                    .triggers
                    .last_mut()
                    .and_then(|t| t.schedule.as_mut())
                {
                    match leaf {
                        "DaysInterval" => s.days_interval = n,
                        "WeeksInterval" => s.weeks_interval = n,
                        _ => {}
                    }
                }
            }
            Ctx::DaysOfMonth => {
                if let Some(s) = self
                    .task
                    .triggers
                    .last_mut()
                    .and_then(|t| t.schedule.as_mut())
                {
                    s.days_of_month.push(v);
                }
            }
            Ctx::Weeks => {
                if let Some(s) = self
                    .task
                    .triggers
                    .last_mut()
                    .and_then(|t| t.schedule.as_mut())
                {
                    s.weeks.push(v);
                }
            }
            Ctx::Action => self.assign_action(leaf, v),
            Ctx::Attachments => {
                if let Some(TaskAction::SendEmail { attachments, .. }) =
                    self.task.actions.last_mut()
                {
                    attachments.push(v);
                }
            }
            _ => {}
        }
    }

    fn assign_reg(&mut self, leaf: &str, v: String) {
        let w = &mut self.task.warnings;
        let r = &mut self.task.registration_info;
        match leaf {
            "URI" => Self::set_str(w, &mut r.uri, leaf, v),
            "Author" => Self::set_str(w, &mut r.author, leaf, v),
            "Description" => Self::set_str(w, &mut r.description, leaf, v),
            "Source" => Self::set_str(w, &mut r.source, leaf, v),
            "Version" => Self::set_str(w, &mut r.version, leaf, v),
            "Documentation" => Self::set_str(w, &mut r.documentation, leaf, v),
            "SecurityDescriptor" => Self::set_str(w, &mut r.security_descriptor, leaf, v),
            "Date" => {
                if r.date.is_none() {
                    let t = TaskTime::parse(&v);
                    let bad = t.wall_clock.is_none();
                    r.date = Some(t);
                    if bad {
                        self.warn(format!("<Date> {:?} is not an xs:dateTime", clip(&v)));
                    }
                } else {
                    self.warn("duplicate <Date> ignored".to_string());
                }
            }
            _ => {}
        }
    }

    fn assign_principal(&mut self, leaf: &str, v: String) {
        let w = &mut self.task.warnings;
        let Some(p) = self.task.principals.last_mut() else {
            return;
        };
        match leaf {
            "UserId" => Self::set_str(w, &mut p.user_id, leaf, v),
            "GroupId" => Self::set_str(w, &mut p.group_id, leaf, v),
            "DisplayName" => Self::set_str(w, &mut p.display_name, leaf, v),
            "ProcessTokenSidType" => Self::set_str(w, &mut p.process_token_sid_type, leaf, v),
            "LogonType" => p.logon_type = Some(LogonType::from_text(&v)),
            "RunLevel" => p.run_level = Some(RunLevel::from_text(&v)),
            _ => {}
        }
    }

    fn assign_settings(&mut self, leaf: &str, v: String) {
        if let Some(b) = match leaf {
            "Enabled"
            | "Hidden"
            | "AllowStartOnDemand"
            | "DisallowStartIfOnBatteries"
            | "StopIfGoingOnBatteries"
            | "StartWhenAvailable"
            | "RunOnlyIfNetworkAvailable"
            | "RunOnlyIfIdle"
            | "WakeToRun"
            | "AllowHardTerminate" => Some(self.bool_value(leaf, &v)),
            _ => None,
        } {
            let s = &mut self.task.settings;
            let slot = match leaf {
                "Enabled" => &mut s.enabled,
                "Hidden" => &mut s.hidden,
                "AllowStartOnDemand" => &mut s.allow_start_on_demand,
                "DisallowStartIfOnBatteries" => &mut s.disallow_start_if_on_batteries,
                "StopIfGoingOnBatteries" => &mut s.stop_if_going_on_batteries,
                "StartWhenAvailable" => &mut s.start_when_available,
                "RunOnlyIfNetworkAvailable" => &mut s.run_only_if_network_available,
                "RunOnlyIfIdle" => &mut s.run_only_if_idle,
                "WakeToRun" => &mut s.wake_to_run,
                _ => &mut s.allow_hard_terminate,
            };
            if slot.is_some() {
                self.warn(format!("duplicate <{leaf}> in Settings; first kept"));
            } else {
                *slot = b;
            }
            return;
        }
        match leaf {
            "Priority" => {
                let n = self.u32_value(leaf, &v);
                self.task.settings.priority = n;
            }
            "MultipleInstancesPolicy" => {
                self.task.settings.multiple_instances_policy =
                    Some(MultipleInstancesPolicy::from_text(&v));
            }
            "ExecutionTimeLimit" => {
                let w = &mut self.task.warnings;
                Self::set_str(w, &mut self.task.settings.execution_time_limit, leaf, v)
            }
            "DeleteExpiredTaskAfter" => {
                let w = &mut self.task.warnings;
                Self::set_str(
                    w,
                    &mut self.task.settings.delete_expired_task_after,
                    leaf,
                    v,
                )
            }
            _ => {}
        }
    }

    fn assign_trigger(&mut self, leaf: &str, v: String) {
        let enabled = if leaf == "Enabled" {
            Some(self.bool_value(leaf, &v))
        } else {
            None
        };
        let boundary = match leaf {
            "StartBoundary" | "EndBoundary" => {
                let t = TaskTime::parse(&v);
                if t.wall_clock.is_none() {
                    self.warn(format!("<{leaf}> {:?} is not an xs:dateTime", clip(&v)));
                }
                Some(t)
            }
            _ => None,
        };
        let w = &mut self.task.warnings;
        let Some(t) = self.task.triggers.last_mut() else {
            return;
        };
        match leaf {
            "Enabled" => t.enabled = enabled.flatten(),
            "StartBoundary" => t.start_boundary = boundary,
            "EndBoundary" => t.end_boundary = boundary,
            "Delay" => Self::set_str(w, &mut t.delay, leaf, v),
            "RandomDelay" => Self::set_str(w, &mut t.random_delay, leaf, v),
            "ExecutionTimeLimit" => Self::set_str(w, &mut t.execution_time_limit, leaf, v),
            "UserId" => Self::set_str(w, &mut t.user_id, leaf, v),
            "Subscription" => Self::set_str(w, &mut t.subscription, leaf, v),
            "StateChange" => Self::set_str(w, &mut t.state_change, leaf, v),
            "StateName" => Self::set_str(w, &mut t.wnf_state_name, leaf, v),
            "Data" => Self::set_str(w, &mut t.wnf_data, leaf, v),
            "DataOffset" => Self::set_str(w, &mut t.wnf_data_offset, leaf, v),
            _ => {}
        }
    }

    fn assign_action(&mut self, leaf: &str, v: String) {
        let w = &mut self.task.warnings;
        let Some(action) = self.task.actions.last_mut() else {
            return;
        };
        let misplaced = match action {
            TaskAction::Exec {
                command,
                arguments,
                working_directory,
                ..
            } => match leaf {
                "Command" => {
                    if command.is_empty() {
                        *command = v;
                    } else {
                        let mut slot = Some(command.clone());
                        Self::set_str(w, &mut slot, leaf, v);
                    }
                    false
                }
                "Arguments" => {
                    Self::set_str(w, arguments, leaf, v);
                    false
                }
                "WorkingDirectory" => {
                    Self::set_str(w, working_directory, leaf, v);
                    false
                }
                _ => true,
            },
            TaskAction::ComHandler { class_id, data, .. } => match leaf {
                "ClassId" => {
                    if class_id.is_empty() {
                        *class_id = v;
                    } else {
                        let mut slot = Some(class_id.clone());
                        Self::set_str(w, &mut slot, leaf, v);
                    }
                    false
                }
                "Data" => {
                    Self::set_str(w, data, leaf, v);
                    false
                }
                _ => true,
            },
            TaskAction::SendEmail {
                server,
                from,
                to,
                cc,
                bcc,
                reply_to,
                subject,
                body,
                ..
            } => {
                let slot = match leaf {
                    "Server" => Some(server),
                    "From" => Some(from),
                    "To" => Some(to),
                    "Cc" => Some(cc),
                    "Bcc" => Some(bcc),
                    "ReplyTo" => Some(reply_to),
                    "Subject" => Some(subject),
                    "Body" => Some(body),
                    _ => None,
                };
                match slot {
                    Some(slot) => {
                        Self::set_str(w, slot, leaf, v);
                        false
                    }
                    None => true,
                }
            }
            TaskAction::ShowMessage { title, body, .. } => match leaf {
                "Title" => {
                    Self::set_str(w, title, leaf, v);
                    false
                }
                "Body" => {
                    Self::set_str(w, body, leaf, v);
                    false
                }
                _ => true,
            },
            TaskAction::Other { .. } => false,
        };
        if misplaced {
            self.warn(format!(
                "element <{leaf}> does not belong to this action type; ignored"
            ));
        }
    }

    /// Final checks once the document is complete.
    fn finish(mut self) -> TaskDefinition {
        let mut missing = Vec::new();
        for (i, a) in self.task.actions.iter().enumerate() {
            match a {
                TaskAction::Exec { command, .. } if command.is_empty() => {
                    missing.push(format!("Exec action #{i} has no <Command>"))
                }
                TaskAction::ComHandler { class_id, .. } if class_id.is_empty() => {
                    missing.push(format!("ComHandler action #{i} has no <ClassId>"))
                }
                _ => {}
            }
        }
        for m in missing {
            self.warn(m);
        }
        if self.suppressed_warnings > 0 {
            let n = self.suppressed_warnings;
            self.task
                .warnings
                .push(format!("{n} further warnings suppressed"));
        }
        self.task
    }
}

fn is_xml_ws(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

/// Keeps warning text short when values are attacker-sized.
fn clip(s: &str) -> String {
    const MAX: usize = 120;
    if s.chars().count() <= MAX {
        s.to_string()
    } else {
        let mut out: String = s.chars().take(MAX).collect();
        out.push('…');
        out
    }
}

fn resolve_predefined(name: &str) -> Option<&'static str> {
    match name {
        "lt" => Some("<"),
        "gt" => Some(">"),
        "amp" => Some("&"),
        "apos" => Some("'"),
        "quot" => Some("\""),
        _ => None,
    }
}

/// Parses a Task Scheduler XML task definition from the raw file bytes.
pub fn parse_task_xml(bytes: &[u8]) -> Result<TaskDefinition, TaskXmlError> {
    if bytes.is_empty() {
        return Err(TaskXmlError::Empty);
    }
    let mut pre_warnings = Vec::new();
    let (text, encoding) = detect_and_decode(bytes, &mut pre_warnings);
    let enc_kind = encoding.encoding.clone();
    if text.trim_matches(is_xml_ws).is_empty() {
        return Err(TaskXmlError::NoRootElement {
            encoding: enc_kind,
            detail: "document contains only whitespace".to_string(),
        });
    }

    let mut task = TaskDefinition::new(encoding);
    task.warnings = pre_warnings;
    let mut p = Parser {
        task,
        stack: Vec::new(),
        overflow: 0,
        names: Vec::new(),
        text: String::new(),
        root_seen: false,
        root_closed: false,
        suppressed_warnings: 0,
        depth_warned: false,
    };

    let mut reader = Reader::from_str(&text);
    let mut stray_text_warned = false;
    loop {
        let event = match reader.read_event() {
            Ok(ev) => ev,
            Err(err) => {
                let position = reader.error_position();
                let truncated = matches!(
                    &err,
                    XmlError::IllFormed(IllFormedError::MissingEndTag(_))
                ) || matches!(&err, XmlError::Syntax(s) if !matches!(s, quick_xml::errors::SyntaxError::InvalidBangMarkup));
                if p.root_seen && truncated && !p.stack.is_empty() {
                    let open_element = p.names.last().cloned().unwrap_or_default();
                    let depth = p.depth();
                    p.warn(format!("document truncated: {err}"));
                    return Err(TaskXmlError::Truncated {
                        open_element,
                        depth,
                        position,
                        partial: Box::new(p.finish()),
                    });
                }
                let partial = if p.root_seen {
                    Some(Box::new(p.finish()))
                } else {
                    None
                };
                return Err(TaskXmlError::Malformed {
                    position,
                    encoding: enc_kind,
                    message: err.to_string(),
                    partial,
                });
            }
        };
        match event {
            Event::Start(e) => p.start(&e)?,
            Event::Empty(e) => {
                p.start(&e)?;
                p.end();
            }
            Event::End(_) => p.end(),
            Event::Text(t) => {
                let s = t.xml10_content();
                if !p.root_seen || p.root_closed {
                    if !stray_text_warned && !s.trim_matches(is_xml_ws).is_empty() {
                        stray_text_warned = true;
                        let where_ = if p.root_seen { "after" } else { "before" };
                        p.warn(format!("text {where_} the root element: {:?}", clip(&s)));
                    }
                } else {
                    p.append_text(&s);
                }
            }
            Event::CData(c) => {
                let s = c.xml10_content();
                p.append_text(&s);
            }
            Event::GeneralRef(r) => {
                if r.is_char_ref() {
                    match r.resolve_char_ref() {
                        Ok(Some(c)) => {
                            let mut buf = [0u8; 4];
                            p.append_text(c.encode_utf8(&mut buf));
                        }
                        _ => {
                            let raw = format!("&{};", &*r);
                            p.warn(format!(
                                "invalid character reference {raw:?} kept literally"
                            ));
                            p.append_text(&raw);
                        }
                    }
                } else if let Some(rep) = resolve_predefined(&r) {
                    p.append_text(rep);
                } else {
                    let raw = format!("&{};", clip(&r));
                    p.warn(format!(
                        "entity reference {raw} not expanded (only predefined entities are resolved)"
                    ));
                    p.append_text(&raw);
                }
            }
            Event::DocType(d) => {
                let has_entities = d.contains("ENTITY");
                p.warn(format!(
                    "<!DOCTYPE> present{}; internal subset not processed",
                    if has_entities {
                        " with ENTITY declarations"
                    } else {
                        ""
                    }
                ));
            }
            Event::Decl(_) | Event::PI(_) | Event::Comment(_) => {}
            Event::Eof => break,
        }
    }

    if !p.root_seen {
        return Err(TaskXmlError::NoRootElement {
            encoding: enc_kind,
            detail: "end of input before any element".to_string(),
        });
    }
    if !p.stack.is_empty() {
        let open_element = p.names.last().cloned().unwrap_or_default();
        let depth = p.depth();
        let position = reader.buffer_position();
        return Err(TaskXmlError::Truncated {
            open_element,
            depth,
            position,
            partial: Box::new(p.finish()),
        });
    }
    Ok(p.finish())
}

#[cfg(test)]
mod tests {
    use super::*;

    const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/fixtures/");

    fn fixture(rel: &str) -> Vec<u8> {
        std::fs::read(format!("{FIXTURES}tasks/{rel}")).unwrap()
    }

    fn parse_fixture(rel: &str) -> TaskDefinition {
        parse_task_xml(&fixture(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
    }

    fn between_backticks(cell: &str) -> Option<&str> {
        let a = cell.find('`')?;
        let b = cell.rfind('`')?;
        (b > a).then(|| &cell[a + 1..b])
    }

    struct Row {
        file: String,
        encoding: String,
        version: Option<String>,
        uri: String,
        action: String,
        triggers: Vec<String>,
        principal: String,
        hidden: String,
    }

    /// Reads the expected facts from the "Task Scheduler XML files" table of SOURCES.md.
    fn source_rows() -> Vec<Row> {
        let md = std::fs::read_to_string(format!("{FIXTURES}SOURCES.md")).unwrap();
        let start = md.find("## Task Scheduler XML files").unwrap();
        let section = &md[start..];
        let end = section[3..]
            .find("\n## ")
            .map(|i| i + 3)
            .unwrap_or(section.len());
        let mut rows = Vec::new();
        for line in section[..end].lines() {
            if !line.starts_with("| `") {
                continue;
            }
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            rows.push(Row {
                file: between_backticks(cells[1]).unwrap().to_string(),
                encoding: cells[2].to_string(),
                version: match cells[3].trim_matches('`') {
                    "(none)" => None,
                    v => Some(v.to_string()),
                },
                uri: between_backticks(cells[4]).unwrap().to_string(),
                action: cells[5].to_string(),
                triggers: if cells[6] == "(none)" {
                    Vec::new()
                } else {
                    cells[6].split(',').map(|s| s.trim().to_string()).collect()
                },
                principal: cells[7].to_string(),
                hidden: cells[8].to_string(),
            });
        }
        rows
    }

    fn walk(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(&p, out);
            } else {
                out.push(p);
            }
        }
    }

    #[test]
    fn all_fixtures_match_sources_table() {
        let rows = source_rows();
        assert_eq!(rows.len(), 26, "expected 26 rows in SOURCES.md");

        // Every file on disk is covered by the table.
        let root = std::path::PathBuf::from(format!("{FIXTURES}tasks"));
        let mut files = Vec::new();
        walk(&root, &mut files);
        assert_eq!(files.len(), 26);
        for f in &files {
            let rel = f
                .strip_prefix(&root)
                .unwrap()
                .to_string_lossy()
                .replace('\\', "/");
            assert!(
                rows.iter().any(|r| r.file == rel),
                "{rel} not in SOURCES.md"
            );
        }

        for row in &rows {
            let t = parse_fixture(&row.file);
            let f = &row.file;
            // encoding
            let (enc, bom) = match row.encoding.as_str() {
                "UTF-16LE+BOM" => (TextEncoding::Utf16Le, true),
                "UTF-8+BOM" => (TextEncoding::Utf8, true),
                other => panic!("unexpected encoding cell {other}"),
            };
            assert_eq!(t.encoding.encoding, enc, "{f}");
            assert_eq!(t.encoding.bom, bom, "{f}");
            assert_eq!(t.version, row.version, "{f}");
            assert_eq!(
                t.registration_info.uri.as_deref(),
                Some(row.uri.as_str()),
                "{f}"
            );

            // one action per file in the table
            assert_eq!(t.actions.len(), 1, "{f}");
            let expected_action = between_backticks(&row.action).unwrap();
            if row.action.starts_with("Exec ") {
                assert!(matches!(t.actions[0], TaskAction::Exec { .. }), "{f}");
                assert_eq!(exec_command_line(&t.actions[0]), expected_action, "{f}");
            } else if row.action.starts_with("ComHandler ") {
                match &t.actions[0] {
                    TaskAction::ComHandler { class_id, .. } => {
                        assert_eq!(class_id, expected_action, "{f}")
                    }
                    other => panic!("{f}: expected ComHandler, got {other:?}"),
                }
                assert_eq!(exec_command_line(&t.actions[0]), "");
            } else {
                panic!("unexpected action cell {}", row.action);
            }

            let kinds: Vec<String> = t
                .triggers
                .iter()
                .map(|tr| tr.kind.element_name().into_owned())
                .collect();
            assert_eq!(kinds, row.triggers, "{f}");
            assert!(
                t.triggers
                    .iter()
                    .all(|tr| !matches!(tr.kind, TriggerKind::Other(_)))
            );

            // principal: "[group ]WHO[ / RunLevel]"
            let p = t
                .effective_principal()
                .unwrap_or_else(|| panic!("{f}: no principal"));
            let (who, run_level) = match row.principal.find('/') {
                Some(i) => (
                    row.principal[..i].trim(),
                    Some(row.principal[i + 1..].trim()),
                ),
                None => (row.principal.trim(), None),
            };
            if let Some(g) = who.strip_prefix("group ") {
                assert_eq!(p.group_id.as_deref(), Some(g), "{f}");
                assert_eq!(p.user_id, None, "{f}");
            } else if who.is_empty() {
                assert_eq!(p.user_id, None, "{f}");
                assert_eq!(p.group_id, None, "{f}");
            } else {
                assert_eq!(p.user_id.as_deref(), Some(who), "{f}");
            }
            assert_eq!(
                p.run_level.as_ref().map(|r| r.as_schema_str()),
                run_level,
                "{f}"
            );

            let hidden = match row.hidden.as_str() {
                "true" => Some(true),
                "false" => Some(false),
                "(unset)" => None,
                other => panic!("unexpected hidden cell {other}"),
            };
            assert_eq!(t.settings.hidden, hidden, "{f}");

            // Real files: nothing unknown, nothing suppressed; only the lying declaration warns.
            for w in &t.warnings {
                assert!(
                    w.contains("declared encoding"),
                    "{f}: unexpected warning {w}"
                );
            }

            // Serializes and round-trips.
            let json = serde_json::to_string(&t).unwrap();
            let back: TaskDefinition = serde_json::from_str(&json).unwrap();
            assert_eq!(back, t, "{f}");
        }
    }

    #[test]
    fn gameover_exec_and_schedule() {
        let t = parse_fixture("dfir-artifact-museum/Win10/APTSimulatorVM/GameOver");
        assert_eq!(
            t.actions[0],
            TaskAction::Exec {
                id: None,
                command: r"C:\TMP\mim.exe".into(),
                arguments: Some(r"sekurlsa::LogonPasswords > C:\TMP\o.txt".into()),
                working_directory: None,
            }
        );
        assert_eq!(t.actions_context.as_deref(), Some("Author"));
        assert_eq!(
            t.registration_info.author.as_deref(),
            Some(r"DESKTOP-TMKU40H\TestUser")
        );
        let date = t.registration_info.date.as_ref().unwrap();
        assert_eq!(date.raw, "2022-03-10T15:59:03");
        assert_eq!(date.utc, None, "no offset: local time, not UTC");
        assert_eq!(date.wall_clock.unwrap().to_string(), "2022-03-10 15:59:03");
        let tr = &t.triggers[0];
        assert_eq!(tr.kind, TriggerKind::Time);
        assert_eq!(tr.enabled, Some(true));
        let rep = tr.repetition.as_ref().unwrap();
        assert_eq!(rep.interval.as_deref(), Some("PT5M"));
        assert_eq!(
            parse_duration_secs(rep.interval.as_deref().unwrap()),
            Some(300)
        );
        assert_eq!(rep.stop_at_duration_end, Some(false));
        let p = &t.principals[0];
        assert_eq!(p.id.as_deref(), Some("Author"));
        assert_eq!(p.logon_type, Some(LogonType::InteractiveToken));
        assert_eq!(t.settings.execution_time_limit.as_deref(), Some("PT72H"));
        assert_eq!(t.settings.priority, Some(7));
        assert_eq!(
            t.settings.multiple_instances_policy,
            Some(MultipleInstancesPolicy::IgnoreNew)
        );
        assert_eq!(t.settings.disallow_start_if_on_batteries, Some(true));
        assert!(t.warnings.is_empty(), "{:?}", t.warnings);
        assert_eq!(t.encoding.method, DetectionMethod::ByteOrderMark);
        assert_eq!(t.encoding.declared.as_deref(), Some("UTF-16"));
    }

    #[test]
    fn falshupdate22_hidden_powershell() {
        let t = parse_fixture("dfir-artifact-museum/Server2022/APTSimulatorVM/falshupdate22");
        match &t.actions[0] {
            TaskAction::Exec {
                command, arguments, ..
            } => {
                assert_eq!(command, "powershell.exe");
                assert_eq!(
                    arguments.as_deref(),
                    Some(r#"-WindowStyle Hidden -nop -c """#)
                );
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            exec_command_line(&t.actions[0]),
            r#"powershell.exe -WindowStyle Hidden -nop -c """#
        );
    }

    #[test]
    fn utf8_bom_file_declaring_utf16() {
        let t = parse_fixture("atomic-red-team/T1053_05_SCTASK_HIDDEN_ATTRIB.xml");
        assert_eq!(t.encoding.encoding, TextEncoding::Utf8);
        assert!(t.encoding.bom);
        assert_eq!(t.encoding.method, DetectionMethod::ByteOrderMark);
        assert_eq!(t.encoding.declared.as_deref(), Some("UTF-16"));
        assert!(
            t.warnings.iter().any(|w| w.contains("does not match")),
            "{:?}",
            t.warnings
        );
        assert_eq!(t.settings.hidden, Some(true));
        match &t.actions[0] {
            TaskAction::Exec {
                command, arguments, ..
            } => {
                assert_eq!(command, "C:\\Windows\\system32\\calc.exe\"");
                assert_eq!(arguments.as_deref(), Some(""));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            exec_command_line(&t.actions[0]),
            "C:\\Windows\\system32\\calc.exe\""
        );
        assert_eq!(t.triggers[0].kind, TriggerKind::Logon);
        assert_eq!(t.principals[0].user_id, None);

        // Same document without its BOM: the declaration still lies, NULs decide nothing.
        let raw = fixture("atomic-red-team/T1053_05_SCTASK_HIDDEN_ATTRIB.xml");
        let t2 = parse_task_xml(&raw[3..]).unwrap();
        assert_eq!(t2.encoding.encoding, TextEncoding::Utf8);
        assert!(!t2.encoding.bom);
        assert_eq!(
            t2.registration_info.uri.as_deref(),
            Some(r"\atomic red team")
        );
        assert!(t2.warnings.iter().any(|w| w.contains("does not match")));
    }

    #[test]
    fn com_handler_clsids_and_data() {
        let cases = [
            (
                "Microsoft/Windows/TextServicesFramework/MsCtfMonitor",
                "{01575CFE-9A55-4003-A5E1-F38D1EBDCBE1}",
            ),
            (
                "Microsoft/Windows/SoftwareProtectionPlatform/SvcRestartTask",
                "{B1AEBB5D-EAD9-4476-B375-9C3ED9F32AFC}",
            ),
            (
                "Microsoft/Windows/CertificateServicesClient/UserTask",
                "{58FB76B9-AC85-4E55-AC04-427593B1D060}",
            ),
            (
                "Microsoft/Windows/.NET Framework/.NET Framework NGEN v4.0.30319 64 Critical",
                "{613FBA38-A3DF-4AB8-9674-5604984A299A}",
            ),
        ];
        for (rel, clsid) in cases {
            let t = parse_fixture(&format!("dfir-artifact-museum/Win10/APTSimulatorVM/{rel}"));
            match &t.actions[0] {
                TaskAction::ComHandler { class_id, .. } => assert_eq!(class_id, clsid),
                other => panic!("{rel}: {other:?}"),
            }
        }
        let t = parse_fixture(
            "dfir-artifact-museum/Win10/APTSimulatorVM/Microsoft/Windows/CertificateServicesClient/UserTask",
        );
        match &t.actions[0] {
            TaskAction::ComHandler { data, .. } => assert_eq!(data.as_deref(), Some("USER")),
            other => panic!("{other:?}"),
        }
        let ev = t
            .triggers
            .iter()
            .find(|t| t.kind == TriggerKind::Event)
            .unwrap();
        let sub = ev.subscription.as_deref().unwrap();
        assert!(sub.starts_with("<QueryList><Query Id=\"0\""), "{sub}");
        assert!(sub.contains("EventID=300"));
        assert_eq!(ev.delay.as_deref(), Some("PT25M"));
        assert_eq!(ev.execution_time_limit.as_deref(), Some("PT30M"));
        assert_eq!(
            ev.repetition.as_ref().unwrap().duration.as_deref(),
            Some("PT4H")
        );
        let wnf = &t.triggers[0];
        assert_eq!(wnf.wnf_state_name.as_deref(), Some("F510BCA32A1E890D"));
        let rof = t.settings.restart_on_failure.as_ref().unwrap();
        assert_eq!(rof.count, Some(5));
        assert_eq!(rof.interval.as_deref(), Some("PT1M"));
        assert_eq!(
            t.registration_info.security_descriptor.as_deref(),
            Some("D:P(A;;FA;;;BA)(A;;FA;;;SY)(A;;FR;;;IU)")
        );
    }

    #[test]
    fn trigger_details_and_times() {
        let t = parse_fixture(
            "dfir-artifact-museum/Win10/APTSimulatorVM/Microsoft/Windows/WindowsUpdate/Scheduled Start",
        );
        let time = &t.triggers[0];
        let sb = time.start_boundary.as_ref().unwrap();
        assert_eq!(sb.raw, "2022-03-10T22:31:46Z");
        assert_eq!(sb.utc.unwrap().to_rfc3339(), "2022-03-10T22:31:46+00:00");
        assert_eq!(time.random_delay.as_deref(), Some("PT1M"));
        let states: Vec<_> = t.triggers[1..3]
            .iter()
            .map(|t| t.state_change.clone().unwrap())
            .collect();
        assert_eq!(states, ["ConsoleDisconnect", "RemoteDisconnect"]);
        let wnf = &t.triggers[3];
        assert_eq!(wnf.enabled, Some(false));
        assert_eq!(wnf.wnf_state_name.as_deref(), Some("7508BCA3380C960C"));
        assert_eq!(wnf.wnf_data.as_deref(), Some("01"));
        assert_eq!(wnf.wnf_data_offset.as_deref(), Some("0"));
        let idle = t.settings.idle_settings.as_ref().unwrap();
        assert_eq!(idle.duration.as_deref(), Some("PT10M"));
        assert_eq!(idle.wait_timeout.as_deref(), Some("PT1H"));
        assert_eq!(idle.stop_on_idle_end, Some(true));
        assert_eq!(t.settings.allow_start_on_demand, Some(false));

        let t = parse_fixture(
            "dfir-artifact-museum/Win10/APTSimulatorVM/Microsoft/Windows/Subscription/LicenseAcquisition",
        );
        let cal = &t.triggers[0];
        let sb = cal.start_boundary.as_ref().unwrap();
        assert_eq!(sb.utc.unwrap().to_rfc3339(), "2016-01-01T00:00:00+00:00");
        assert_eq!(sb.wall_clock.unwrap().to_string(), "2015-12-31 16:00:00");
        let s = cal.schedule.as_ref().unwrap();
        assert_eq!(s.kind, ScheduleKind::ByDay);
        assert_eq!(s.days_interval, Some(1));
        assert_eq!(t.settings.enabled, Some(false));
        assert_eq!(t.settings.run_only_if_network_available, Some(true));
        assert_eq!(t.actions_context.as_deref(), Some("InteractiveUser"));
    }

    // ------------------------------------------------------------------ synthetic documents

    fn utf16le_bom(s: &str) -> Vec<u8> {
        let mut v = vec![0xFF, 0xFE];
        for u in s.encode_utf16() {
            v.extend_from_slice(&u.to_le_bytes());
        }
        v
    }

    fn utf16be(s: &str, bom: bool) -> Vec<u8> {
        let mut v = if bom { vec![0xFE, 0xFF] } else { Vec::new() };
        for u in s.encode_utf16() {
            v.extend_from_slice(&u.to_be_bytes());
        }
        v
    }

    const SMALL: &str = r#"<?xml version="1.0" encoding="UTF-16"?>
<Task version="1.3" xmlns="http://schemas.microsoft.com/windows/2004/02/mit/task">
  <RegistrationInfo><URI>\Evil</URI><Description>caf&#233; &amp; more</Description></RegistrationInfo>
  <Actions Context="Author"><Exec><Command>cmd.exe</Command><Arguments>/c whoami</Arguments><WorkingDirectory>C:\</WorkingDirectory></Exec></Actions>
</Task>"#;

    #[test]
    fn utf16_variants_and_nul_detection() {
        let le_nobom: Vec<u8> = utf16le_bom(SMALL)[2..].to_vec();
        for (bytes, enc, bom, method) in [
            (
                utf16le_bom(SMALL),
                TextEncoding::Utf16Le,
                true,
                DetectionMethod::ByteOrderMark,
            ),
            (
                le_nobom,
                TextEncoding::Utf16Le,
                false,
                DetectionMethod::NulPattern,
            ),
            (
                utf16be(SMALL, true),
                TextEncoding::Utf16Be,
                true,
                DetectionMethod::ByteOrderMark,
            ),
            (
                utf16be(SMALL, false),
                TextEncoding::Utf16Be,
                false,
                DetectionMethod::NulPattern,
            ),
        ] {
            let t = parse_task_xml(&bytes).unwrap();
            assert_eq!(t.encoding.encoding, enc);
            assert_eq!(t.encoding.bom, bom);
            assert_eq!(t.encoding.method, method);
            assert_eq!(t.version.as_deref(), Some("1.3"));
            assert_eq!(
                t.registration_info.description.as_deref(),
                Some("café & more")
            );
            assert_eq!(exec_command_line(&t.actions[0]), "cmd.exe /c whoami");
            assert!(t.warnings.is_empty(), "{:?}", t.warnings);
        }
    }

    #[test]
    fn utf8_without_bom_and_legacy_declaration() {
        let doc = SMALL.replace("UTF-16", "UTF-8");
        let t = parse_task_xml(doc.as_bytes()).unwrap();
        assert_eq!(t.encoding.encoding, TextEncoding::Utf8);
        assert_eq!(t.encoding.method, DetectionMethod::Declaration);
        assert!(t.warnings.is_empty(), "{:?}", t.warnings);

        let no_decl = "<Task><Actions><Exec><Command>a.exe</Command></Exec></Actions></Task>";
        let t = parse_task_xml(no_decl.as_bytes()).unwrap();
        assert_eq!(t.encoding.method, DetectionMethod::Default);
        assert_eq!(exec_command_line(&t.actions[0]), "a.exe");

        let mut latin =
            b"<?xml version=\"1.0\" encoding=\"windows-1252\"?><Task><RegistrationInfo><Author>Ren"
                .to_vec();
        latin.push(0xE9);
        latin.extend_from_slice(b"</Author></RegistrationInfo></Task>");
        let t = parse_task_xml(&latin).unwrap();
        assert_eq!(
            t.encoding.encoding,
            TextEncoding::Legacy("windows-1252".into())
        );
        assert_eq!(t.registration_info.author.as_deref(), Some("René"));

        // Invalid UTF-8 is replaced, recorded, and parsing continues.
        let bad = b"<Task><RegistrationInfo><Author>a\xFF\xFEb</Author></RegistrationInfo></Task>";
        let t = parse_task_xml(bad).unwrap();
        assert!(t.registration_info.author.unwrap().contains('\u{FFFD}'));
        assert!(t.warnings.iter().any(|w| w.contains("invalid UTF-8")));
    }

    #[test]
    fn legacy_actions_calendar_and_oddities() {
        let doc = r#"<t:Task xmlns:t="x"><t:Triggers>
  <t:CalendarTrigger id="c1"><t:StartBoundary>2020-01-01T08:00:00.1234567</t:StartBoundary>
    <t:ScheduleByMonthDayOfWeek><t:Weeks><t:Week>1</t:Week><t:Week>Last</t:Week></t:Weeks>
      <t:DaysOfWeek><t:Monday/><t:Friday/></t:DaysOfWeek><t:Months><t:January/><t:June/></t:Months>
    </t:ScheduleByMonthDayOfWeek></t:CalendarTrigger>
  <CalendarTrigger><ScheduleByMonth><DaysOfMonth><Day>1</Day><Day>15</Day></DaysOfMonth><Months><March/></Months></ScheduleByMonth></CalendarTrigger>
  <CalendarTrigger><ScheduleByWeek><WeeksInterval>2</WeeksInterval><DaysOfWeek><Sunday/></DaysOfWeek></ScheduleByWeek></CalendarTrigger>
  <LogonTrigger><UserId>DOM\bob</UserId><Delay>PT30S</Delay></LogonTrigger>
  <FutureTrigger/>
</t:Triggers>
<Principals><Principal id="p"><LogonType>S4U</LogonType><RunLevel>Weird</RunLevel>
  <RequiredPrivileges><Privilege>SeDebugPrivilege</Privilege></RequiredPrivileges></Principal></Principals>
<Settings><Hidden>maybe</Hidden><Priority>x</Priority><DeleteExpiredTaskAfter>PT0S</DeleteExpiredTaskAfter><Bogus>1</Bogus></Settings>
<Actions>
  <Exec id="a1"><Command>first.exe</Command><Command>second.exe</Command><Arguments>x<b>y</b></Arguments></Exec>
  <SendEmail><Server>smtp</Server><To>a@b</To><Subject>s</Subject><Attachments><File>C:\x</File></Attachments></SendEmail>
  <ShowMessage><Title>T</Title><Body>B</Body></ShowMessage>
  <ComHandler><ClassId>{X}</ClassId></ComHandler>
  <Teleport/>
  <Exec/>
</Actions></t:Task>"#;
        let t = parse_task_xml(doc.as_bytes()).unwrap();
        assert_eq!(t.triggers.len(), 5);
        let c1 = &t.triggers[0];
        assert_eq!(c1.id.as_deref(), Some("c1"));
        assert_eq!(
            c1.start_boundary
                .as_ref()
                .unwrap()
                .wall_clock
                .unwrap()
                .to_string(),
            "2020-01-01 08:00:00.123456700"
        );
        let s = c1.schedule.as_ref().unwrap();
        assert_eq!(s.kind, ScheduleKind::ByMonthDayOfWeek);
        assert_eq!(s.weeks, ["1", "Last"]);
        assert_eq!(s.days_of_week, ["Monday", "Friday"]);
        assert_eq!(s.months, ["January", "June"]);
        let s = t.triggers[1].schedule.as_ref().unwrap();
        assert_eq!(s.days_of_month, ["1", "15"]);
        assert_eq!(s.months, ["March"]);
        let s = t.triggers[2].schedule.as_ref().unwrap();
        assert_eq!(
            (s.kind.clone(), s.weeks_interval),
            (ScheduleKind::ByWeek, Some(2))
        );
        assert_eq!(s.days_of_week, ["Sunday"]);
        assert_eq!(t.triggers[3].user_id.as_deref(), Some(r"DOM\bob"));
        assert_eq!(t.triggers[3].delay.as_deref(), Some("PT30S"));
        assert_eq!(
            t.triggers[4].kind,
            TriggerKind::Other("FutureTrigger".into())
        );

        let p = &t.principals[0];
        assert_eq!(p.logon_type, Some(LogonType::S4u));
        assert_eq!(p.run_level, Some(RunLevel::Other("Weird".into())));
        assert_eq!(p.required_privileges, ["SeDebugPrivilege"]);
        assert_eq!(t.settings.hidden, None);
        assert_eq!(t.settings.priority, None);
        assert_eq!(
            t.settings.delete_expired_task_after.as_deref(),
            Some("PT0S")
        );

        assert_eq!(t.actions.len(), 6);
        assert_eq!(
            t.actions[0],
            TaskAction::Exec {
                id: Some("a1".into()),
                command: "first.exe".into(),
                arguments: Some("x".into()),
                working_directory: None
            }
        );
        match &t.actions[1] {
            TaskAction::SendEmail {
                server,
                to,
                attachments,
                ..
            } => {
                assert_eq!(server.as_deref(), Some("smtp"));
                assert_eq!(to.as_deref(), Some("a@b"));
                assert_eq!(attachments, &["C:\\x".to_string()]);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(
            t.actions[2],
            TaskAction::ShowMessage {
                id: None,
                title: Some("T".into()),
                body: Some("B".into())
            }
        );
        assert_eq!(
            t.actions[4],
            TaskAction::Other {
                id: None,
                element: "Teleport".into()
            }
        );
        let w = t.warnings.join("\n");
        for needle in [
            "unknown trigger element <FutureTrigger>",
            "<Hidden> has non-boolean value",
            "<Priority> has non-numeric value",
            "unknown element <Bogus> in <Settings>",
            "duplicate <Command>",
            "unexpected child element <b> inside <Arguments>",
            "unknown action element <Teleport>",
            "Exec action #5 has no <Command>",
        ] {
            assert!(w.contains(needle), "missing warning {needle:?} in:\n{w}");
        }
    }

    // ------------------------------------------------------------------ hostile inputs

    #[test]
    fn empty_and_whitespace() {
        assert_eq!(parse_task_xml(b""), Err(TaskXmlError::Empty));
        assert!(matches!(
            parse_task_xml(b"  \r\n\t"),
            Err(TaskXmlError::NoRootElement { .. })
        ));
        assert!(matches!(
            parse_task_xml(&[0xFF, 0xFE]),
            Err(TaskXmlError::NoRootElement { .. })
        ));
        assert!(matches!(
            parse_task_xml(b"<?xml version=\"1.0\"?><!-- nothing -->"),
            Err(TaskXmlError::NoRootElement { .. })
        ));
    }

    #[test]
    fn random_bytes_never_panic_never_ok() {
        let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
        for round in 0..300 {
            let len = (round * 37) % 4096 + 1;
            let mut buf = Vec::with_capacity(len);
            for _ in 0..len {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                buf.push((state >> 24) as u8);
            }
            let r = parse_task_xml(&buf);
            assert!(r.is_err(), "random input {round} parsed as a task");
            let _ = r.unwrap_err().to_string();
        }
        assert!(parse_task_xml(b"hello world, not xml").is_err());
        assert!(parse_task_xml(b"<<<>>>&&&").is_err());
        assert!(parse_task_xml(b"<Task attr=\"unterminated></Task>").is_err());
    }

    #[test]
    fn truncated_utf16_gives_error_with_partial() {
        let raw = fixture("dfir-artifact-museum/Win10/APTSimulatorVM/GameOver");
        // Cut after the Actions block: URI and Exec already parsed.
        let text = String::from_utf16_lossy(
            &raw[2..]
                .chunks_exact(2)
                .map(|c| u16::from_le_bytes([c[0], c[1]]))
                .collect::<Vec<_>>(),
        );
        let cut_chars = text.find("</Actions>").unwrap() + "</Actions>".len();
        let cut_bytes = 2 + text[..cut_chars].encode_utf16().count() * 2;
        let err = parse_task_xml(&raw[..cut_bytes]).unwrap_err();
        match &err {
            TaskXmlError::Truncated {
                open_element,
                depth,
                partial,
                ..
            } => {
                assert_eq!(open_element, "Task");
                assert_eq!(*depth, 1);
                assert_eq!(partial.registration_info.uri.as_deref(), Some(r"\GameOver"));
                assert_eq!(
                    exec_command_line(&partial.actions[0]),
                    r"C:\TMP\mim.exe sekurlsa::LogonPasswords > C:\TMP\o.txt"
                );
            }
            other => panic!("{other:?}"),
        }
        assert!(err.partial().is_some());
        assert!(err.to_string().contains("truncated"));

        // Odd length: cut in the middle of a code unit.
        let err = parse_task_xml(&raw[..cut_bytes + 1]).unwrap_err();
        let partial = err.partial().expect("partial");
        assert!(partial.warnings.iter().any(|w| w.contains("odd UTF-16")));

        // Every cut point: never panics, never a silent Ok of a half task.
        for cut in (0..raw.len() - 40).step_by(7) {
            assert!(
                parse_task_xml(&raw[..cut]).is_err(),
                "cut at {cut} parsed Ok"
            );
        }
    }

    #[test]
    fn odd_length_utf16_complete_document() {
        let mut raw = fixture("dfir-artifact-museum/Win10/APTSimulatorVM/GameOver");
        raw.push(0x41);
        let t = parse_task_xml(&raw).unwrap();
        assert!(
            t.warnings.iter().any(|w| w.contains("odd UTF-16")),
            "{:?}",
            t.warnings
        );
        assert_eq!(t.registration_info.uri.as_deref(), Some(r"\GameOver"));
    }

    #[test]
    fn deeply_nested_elements() {
        let n = 200_000;
        let mut doc = String::from("<Task><Settings>");
        doc.push_str(&"<a>".repeat(n));
        doc.push_str(&"</a>".repeat(n));
        doc.push_str("</Settings><Actions><Exec><Command>x.exe</Command></Exec></Actions></Task>");
        let t = parse_task_xml(doc.as_bytes()).unwrap();
        assert_eq!(exec_command_line(&t.actions[0]), "x.exe");
        assert!(t.warnings.iter().any(|w| w.contains("nested deeper")));
        assert!(t.warnings.len() <= MAX_WARNINGS + 1);

        // Unclosed deep nesting is truncation, with the real depth.
        let mut doc = String::from("<Task>");
        doc.push_str(&"<a>".repeat(n));
        match parse_task_xml(doc.as_bytes()) {
            Err(TaskXmlError::Truncated { depth, .. }) => assert_eq!(depth, n + 1),
            other => panic!("{:?}", other.map(|_| ())),
        }
    }

    #[test]
    fn many_unknown_elements_warnings_are_capped() {
        let mut doc = String::from("<Task>");
        doc.push_str(&"<Junk/>".repeat(10_000));
        doc.push_str("</Task>");
        let t = parse_task_xml(doc.as_bytes()).unwrap();
        assert_eq!(t.warnings.len(), MAX_WARNINGS + 1);
        assert!(
            t.warnings
                .last()
                .unwrap()
                .contains("further warnings suppressed")
        );
    }

    #[test]
    fn ten_megabyte_description() {
        let big = "A".repeat(10 * 1024 * 1024);
        let doc = format!(
            "<Task><RegistrationInfo><Description>{big}</Description></RegistrationInfo></Task>"
        );
        let t = parse_task_xml(&utf16le_bom(&doc)).unwrap();
        assert_eq!(
            t.registration_info.description.as_ref().unwrap().len(),
            big.len()
        );
    }

    #[test]
    fn entities_are_never_expanded() {
        let mut lol =
            String::from("<?xml version=\"1.0\"?>\n<!DOCTYPE Task [\n <!ENTITY lol \"lol\">\n");
        lol.push_str(" <!ENTITY lol1 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">\n");
        for i in 2..10 {
            let prev = format!("&lol{};", i - 1);
            lol.push_str(&format!(" <!ENTITY lol{i} \"{}\">\n", prev.repeat(10)));
        }
        lol.push_str(" <!ENTITY xxe SYSTEM \"file:///etc/passwd\">\n]>\n");
        lol.push_str("<Task><RegistrationInfo><Description>&lol9;</Description><Author>&xxe;</Author></RegistrationInfo>");
        lol.push_str(
            "<Actions><Exec><Command a=\"&lol9;\">c&#x3A;\\x.exe</Command></Exec></Actions></Task>",
        );
        let t = parse_task_xml(lol.as_bytes()).unwrap();
        assert_eq!(t.registration_info.description.as_deref(), Some("&lol9;"));
        assert_eq!(t.registration_info.author.as_deref(), Some("&xxe;"));
        assert_eq!(exec_command_line(&t.actions[0]), "c:\\x.exe");
        let w = t.warnings.join("\n");
        assert!(w.contains("DOCTYPE"), "{w}");
        assert!(w.contains("not expanded"), "{w}");
    }

    #[test]
    fn non_task_root_and_syntax_errors() {
        assert_eq!(
            parse_task_xml(b"<?xml version=\"1.0\"?><html><body/></html>"),
            Err(TaskXmlError::NotATask {
                found: "html".into()
            })
        );
        assert!(matches!(
            parse_task_xml(&utf16le_bom("<Foo/>")),
            Err(TaskXmlError::NotATask { .. })
        ));
        // Mismatched end tag inside a task: Malformed with partial.
        let err =
            parse_task_xml(b"<Task><RegistrationInfo><URI>x</URI></Oops></Task>").unwrap_err();
        match &err {
            TaskXmlError::Malformed { partial, .. } => {
                assert_eq!(
                    partial.as_ref().unwrap().registration_info.uri.as_deref(),
                    Some("x")
                )
            }
            other => panic!("{other:?}"),
        }
        // Content after the root is reported, not fatal.
        let t = parse_task_xml(b"<Task></Task>trailing<Extra/>").unwrap();
        assert!(
            t.warnings.iter().any(|w| w.contains("after")),
            "{:?}",
            t.warnings
        );
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration_secs("PT5M"), Some(300));
        assert_eq!(parse_duration_secs("PT72H"), Some(259_200));
        assert_eq!(parse_duration_secs("P3D"), Some(259_200));
        assert_eq!(parse_duration_secs("P1DT1H1M1.5S"), Some(90_061));
        assert_eq!(parse_duration_secs("PT0S"), Some(0));
        assert_eq!(parse_duration_secs("P1M"), Some(30 * 86_400));
        for bad in [
            "",
            "P",
            "PT",
            "5M",
            "P5",
            "PT5X",
            "P1H",
            "-PT5M",
            "P99999999999999999999D",
        ] {
            assert_eq!(parse_duration_secs(bad), None, "{bad}");
        }
    }
}
