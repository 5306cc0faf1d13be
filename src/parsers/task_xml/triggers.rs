//! `<Triggers>`: when a task runs (time, calendar, boot, logon, event, ...).

use std::borrow::Cow;

use quick_xml::events::BytesStart;
use serde::{Deserialize, Serialize};

use super::parser::{Ctx, Parser, known};
use super::{TaskTime, clip};

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

pub(super) const REPETITION_LEAVES: &[&str] = &["Interval", "Duration", "StopAtDurationEnd"];

const SCHEDULE_LEAVES: &[&str] = &["DaysInterval", "WeeksInterval"];

impl Parser {
    pub(super) fn assign_trigger(&mut self, leaf: &str, v: String) {
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
}

impl Parser {
    /// `<Triggers>`: every child is a trigger, known or not.
    pub(super) fn triggers_child(&mut self, name: &str, e: &BytesStart<'_>) -> Ctx {
        use Ctx::*;
        let kind = TriggerKind::from_element(name);
        if let TriggerKind::Other(n) = &kind {
            let msg = format!("unknown trigger element <{n}>");
            self.warn(msg);
        }
        let id = self.attr(e, "id");
        self.task.triggers.push(self::Trigger::new(kind, id));
        Trigger
    }

    /// A trigger's children: at most one calendar schedule, a repetition, leaves.
    pub(super) fn trigger_child(&mut self, name: &str) -> Ctx {
        use Ctx::*;
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

    /// A calendar schedule's children.
    pub(super) fn schedule_child(&mut self, name: &str) -> Ctx {
        use Ctx::*;
        match name {
            "DaysOfWeek" => DaysOfWeek,
            "Months" => Months,
            "DaysOfMonth" => DaysOfMonth,
            "Weeks" => Weeks,
            _ => match known(name, SCHEDULE_LEAVES) {
                Some(n) => Leaf(n),
                None => self.unknown(name, "schedule"),
            },
        }
    }

    /// `<DaysOfWeek>` / `<Months>`: days and months are empty marker elements named after the day or month.
    pub(super) fn day_or_month_child(&mut self, parent: Ctx, name: &str) -> Ctx {
        use Ctx::*;
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

    /// A leaf of a trigger's `<Repetition>`.
    pub(super) fn assign_repetition(&mut self, leaf: &str, v: String) {
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

    /// A leaf of a calendar schedule (`DaysInterval`, `WeeksInterval`).
    pub(super) fn assign_schedule(&mut self, leaf: &str, v: String) {
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

    /// A `<Day>` of `<DaysOfMonth>`.
    pub(super) fn assign_day_of_month(&mut self, v: String) {
        if let Some(s) = self
            .task
            .triggers
            .last_mut()
            .and_then(|t| t.schedule.as_mut())
        {
            s.days_of_month.push(v);
        }
    }

    /// A `<Week>` of `<Weeks>`.
    pub(super) fn assign_week(&mut self, v: String) {
        if let Some(s) = self
            .task
            .triggers
            .last_mut()
            .and_then(|t| t.schedule.as_mut())
        {
            s.weeks.push(v);
        }
    }
}
