//! Filling `<Triggers>`: each trigger, its repetition and its calendar schedule.

use quick_xml::events::BytesStart;

use super::{Ctx, Parser, known};
use crate::parsers::task_xml::{
    CalendarSchedule, ScheduleKind, TaskTime, Trigger, TriggerKind, clip,
};

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
