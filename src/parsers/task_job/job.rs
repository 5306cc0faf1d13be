//! The job as a whole: status, priority, flags, the application it runs, and the signature block.

use chrono::NaiveDateTime;
use serde::{Deserialize, Serialize};

use super::JobTrigger;

/// Job flags (MS-TSCH 2.3.7, `TASK_FLAG_*`).
pub(super) const JOB_FLAGS: &[(u32, &str)] = &[
    (0x0000_0001, "interactive"),
    (0x0000_0002, "delete_when_done"),
    (0x0000_0004, "disabled"),
    (0x0000_0010, "start_only_if_idle"),
    (0x0000_0020, "kill_on_idle_end"),
    (0x0000_0040, "dont_start_if_on_batteries"),
    (0x0000_0080, "kill_if_going_on_batteries"),
    (0x0000_0100, "run_only_if_docked"),
    (0x0000_0200, "hidden"),
    (0x0000_0400, "run_if_connected_to_internet"),
    (0x0000_0800, "restart_on_idle_resume"),
    (0x0000_1000, "system_required"),
    (0x0000_2000, "run_only_if_logged_on"),
    (0x0100_0000, "application_name"),
];

/// Last-run status (an HRESULT, usually one of the `SCHED_S_*` codes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobStatus {
    Ready,
    Running,
    Disabled,
    HasNotRun,
    NoMoreRuns,
    NotScheduled,
    Terminated,
    NoValidTriggers,
    EventTrigger,
    /// Any other HRESULT, kept numerically.
    Other(u32),
}

crate::string_enum::string_enum!(JobStatus {
    Ready = "ready",
    Running = "running",
    Disabled = "disabled",
    HasNotRun = "has_not_run",
    NoMoreRuns = "no_more_runs",
    NotScheduled = "not_scheduled",
    Terminated = "terminated",
    NoValidTriggers = "no_valid_triggers",
    EventTrigger = "event_trigger",
} else Other(u32));

impl JobStatus {
    pub(super) fn from_code(code: u32) -> JobStatus {
        match code {
            0x0004_1300 => JobStatus::Ready,
            0x0004_1301 => JobStatus::Running,
            0x0004_1302 => JobStatus::Disabled,
            0x0004_1303 => JobStatus::HasNotRun,
            0x0004_1304 => JobStatus::NoMoreRuns,
            0x0004_1305 => JobStatus::NotScheduled,
            0x0004_1306 => JobStatus::Terminated,
            0x0004_1307 => JobStatus::NoValidTriggers,
            0x0004_1308 => JobStatus::EventTrigger,
            other => JobStatus::Other(other),
        }
    }
}

/// Process priority class the job runs at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobPriority {
    Normal,
    Idle,
    High,
    Realtime,
    Other(u32),
}

crate::string_enum::string_enum!(JobPriority {
    Normal = "normal",
    Idle = "idle",
    High = "high",
    Realtime = "realtime",
} else Other(u32));

impl JobPriority {
    pub(super) fn from_code(code: u32) -> JobPriority {
        match code {
            0x20 => JobPriority::Normal,
            0x40 => JobPriority::Idle,
            0x80 => JobPriority::High,
            0x100 => JobPriority::Realtime,
            other => JobPriority::Other(other),
        }
    }
}

/// Optional trailing job signature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub struct JobSignature {
    pub signature_version: u16,
    pub min_client_version: u16,
    /// 64 bytes, lowercase hex.
    pub signature_hex: String,
}

/// A parsed `.job` file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub struct JobFile {
    pub product_version: u16,
    /// Windows release that wrote the file, when the product version is a known one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub product_version_name: Option<String>,
    pub file_version: u16,
    /// Job UUID in registry format, e.g. `{0A0B0C0D-...}`.
    pub job_uuid: String,
    pub error_retry_count: u16,
    pub error_retry_interval_minutes: u16,
    pub idle_deadline_minutes: u16,
    pub idle_wait_minutes: u16,
    pub priority: JobPriority,
    /// Maximum run time; 0xFFFFFFFF means unlimited.
    pub max_run_time_ms: u32,
    pub exit_code: u32,
    pub status_code: u32,
    pub status: JobStatus,
    pub flags: u32,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub flag_names: Vec<String>,
    /// Local wall-clock time of the last run; `None` if it never ran (all zero) or invalid.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_run_time: Option<NaiveDateTime>,
    pub running_instance_count: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub application_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parameters: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub working_directory: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    pub user_data_len: u16,
    /// Reserved data: HRESULT of the last failed start attempt.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_error: Option<u32>,
    /// Reserved data: internal task flags.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task_flags: Option<u32>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub triggers: Vec<JobTrigger>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signature: Option<JobSignature>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

impl JobFile {
    /// What the job starts: application name plus parameters (when non-empty), unexpanded.
    pub fn command_line(&self) -> String {
        let app = self.application_name.as_deref().unwrap_or("");
        match self.parameters.as_deref() {
            Some(p) if !p.is_empty() => format!("{app} {p}"),
            _ => app.to_string(),
        }
    }

    pub fn is_hidden(&self) -> bool {
        self.flags & 0x200 != 0
    }

    pub fn is_disabled(&self) -> bool {
        self.flags & 0x4 != 0
    }
}

pub(super) fn product_version_name(v: u16) -> Option<&'static str> {
    Some(match v {
        0x0400 => "Windows NT 4.0",
        0x0500 => "Windows 2000",
        0x0501 => "Windows XP",
        0x0502 => "Windows Server 2003",
        0x0600 => "Windows Vista",
        0x0601 => "Windows 7",
        0x0602 => "Windows 8",
        0x0603 => "Windows 8.1",
        0x0A00 => "Windows 10",
        _ => return None,
    })
}
