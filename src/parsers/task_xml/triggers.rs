//! `<Triggers>`: when a task runs (time, calendar, boot, logon, event, ...).

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

use super::TaskTime;

#[derive(Debug, Clone, PartialEq, Eq)]
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

crate::string_enum::string_enum!(TriggerKind {
    Time = "time",
    Calendar = "calendar",
    Boot = "boot",
    Logon = "logon",
    Idle = "idle",
    Event = "event",
    Registration = "registration",
    SessionStateChange = "session_state_change",
    WnfStateChange = "wnf_state_change",
} else Other(String));

impl TriggerKind {
    pub(super) fn from_element(name: &str) -> TriggerKind {
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
    pub(super) fn new(kind: ScheduleKind) -> Self {
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
    pub(super) fn new(kind: TriggerKind, id: Option<String>) -> Self {
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
