//! The 48-byte trigger records: when a `.job` runs.

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use serde::{Deserialize, Serialize};

use super::TRIGGER_LEN;
use super::bytes::{bit_names, flag_names, rd16, rd32};

/// Trigger flags (`TASK_TRIGGER_FLAG_*`).
const TRIGGER_FLAGS: &[(u32, &str)] = &[
    (0x1, "has_end_date"),
    (0x2, "kill_at_duration_end"),
    (0x4, "disabled"),
];

const DAY_NAMES: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];
const MONTH_NAMES: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobTriggerType {
    Once,
    Daily,
    Weekly,
    MonthlyDate,
    MonthlyDayOfWeek,
    OnIdle,
    AtSystemStart,
    AtLogon,
    Other(u32),
}

crate::string_enum::string_enum!(JobTriggerType {
    Once = "once",
    Daily = "daily",
    Weekly = "weekly",
    MonthlyDate = "monthly_date",
    MonthlyDayOfWeek = "monthly_day_of_week",
    OnIdle = "on_idle",
    AtSystemStart = "at_system_start",
    AtLogon = "at_logon",
} else Other(u32));

impl JobTriggerType {
    fn from_code(code: u32) -> JobTriggerType {
        match code {
            0 => JobTriggerType::Once,
            1 => JobTriggerType::Daily,
            2 => JobTriggerType::Weekly,
            3 => JobTriggerType::MonthlyDate,
            4 => JobTriggerType::MonthlyDayOfWeek,
            5 => JobTriggerType::OnIdle,
            6 => JobTriggerType::AtSystemStart,
            7 => JobTriggerType::AtLogon,
            other => JobTriggerType::Other(other),
        }
    }
}

/// One 48-byte trigger record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub struct JobTrigger {
    pub trigger_type: JobTriggerType,
    /// `None` when the stored year/month/day is not a valid date.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub begin_date: Option<NaiveDate>,
    /// Only meaningful when `has_end_date` is among `flag_names`; `None` when zero/invalid.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end_date: Option<NaiveDate>,
    /// Local wall-clock start time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_time: Option<NaiveTime>,
    pub duration_minutes: u32,
    /// Repetition interval; 0 means no repetition.
    pub interval_minutes: u32,
    pub flags: u32,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub flag_names: Vec<String>,
    /// Daily: run every N days.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub days_interval: Option<u16>,
    /// Weekly: run every N weeks.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weeks_interval: Option<u16>,
    /// Weekly / monthly-day-of-week: day names.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub days_of_week: Vec<String>,
    /// Monthly-date: day numbers 1..=31.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub days_of_month: Vec<u8>,
    /// Monthly-day-of-week: 1..=4, or 5 for "last".
    #[serde(skip_serializing_if = "Option::is_none")]
    pub which_week: Option<u16>,
    /// Monthly triggers: month names.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub months: Vec<String>,
}

fn date_from(year: u16, month: u16, day: u16) -> Option<NaiveDate> {
    if year == 0 && month == 0 && day == 0 {
        return None;
    }
    NaiveDate::from_ymd_opt(i32::from(year), u32::from(month), u32::from(day))
}

/// SYSTEMTIME: year, month, weekday, day, hour, minute, second, milliseconds.
pub(super) fn systemtime(b: &[u8], warnings: &mut Vec<String>) -> Option<NaiveDateTime> {
    if b.len() < 16 {
        return None;
    }
    let w: [u16; 8] = std::array::from_fn(|i| rd16(b, i * 2));
    if w.iter().all(|x| *x == 0) {
        return None;
    }
    let [year, month, _weekday, day, hour, minute, second, millis] = w;
    let date = NaiveDate::from_ymd_opt(i32::from(year), u32::from(month), u32::from(day));
    let time = NaiveTime::from_hms_milli_opt(
        u32::from(hour),
        u32::from(minute),
        u32::from(second),
        u32::from(millis),
    );
    match (date, time) {
        (Some(d), Some(t)) => Some(NaiveDateTime::new(d, t)),
        _ => {
            warnings.push(format!(
                "last run time is not a valid SYSTEMTIME: {year}-{month}-{day} {hour}:{minute}:{second}.{millis}"
            ));
            None
        }
    }
}

pub(super) fn parse_trigger(b: &[u8], index: usize, warnings: &mut Vec<String>) -> JobTrigger {
    let w = |o: usize| rd16(b, o);
    let d = |o: usize| rd32(b, o);
    let size = w(0);
    if usize::from(size) != TRIGGER_LEN {
        warnings.push(format!(
            "trigger #{index}: size field is {size}, expected {TRIGGER_LEN}"
        ));
    }
    let begin_date = date_from(w(4), w(6), w(8));
    if begin_date.is_none() {
        warnings.push(format!(
            "trigger #{index}: invalid begin date {}-{}-{}",
            w(4),
            w(6),
            w(8)
        ));
    }
    let end_date = date_from(w(10), w(12), w(14));
    let start_time = NaiveTime::from_hms_opt(u32::from(w(16)), u32::from(w(18)), 0);
    if start_time.is_none() {
        warnings.push(format!(
            "trigger #{index}: invalid start time {}:{}",
            w(16),
            w(18)
        ));
    }
    let flags = d(28);
    let type_code = d(32);
    let (s0, s1, s2) = (w(36), w(38), w(40));
    let trigger_type = JobTriggerType::from_code(type_code);
    let mut t = JobTrigger {
        trigger_type,
        begin_date,
        end_date,
        start_time,
        duration_minutes: d(20),
        interval_minutes: d(24),
        flags,
        flag_names: flag_names(flags, TRIGGER_FLAGS),
        days_interval: None,
        weeks_interval: None,
        days_of_week: Vec::new(),
        days_of_month: Vec::new(),
        which_week: None,
        months: Vec::new(),
    };
    match t.trigger_type {
        JobTriggerType::Daily => t.days_interval = Some(s0),
        JobTriggerType::Weekly => {
            t.weeks_interval = Some(s0);
            t.days_of_week = bit_names(u32::from(s1), &DAY_NAMES);
        }
        JobTriggerType::MonthlyDate => {
            let days = u32::from(s0) | (u32::from(s1) << 16);
            t.days_of_month = (1u8..=31)
                .filter(|n| days & (1u32 << (n - 1)) != 0)
                .collect();
            t.months = bit_names(u32::from(s2), &MONTH_NAMES);
        }
        JobTriggerType::MonthlyDayOfWeek => {
            t.which_week = Some(s0);
            t.days_of_week = bit_names(u32::from(s1), &DAY_NAMES);
            t.months = bit_names(u32::from(s2), &MONTH_NAMES);
        }
        JobTriggerType::Other(code) => {
            warnings.push(format!("trigger #{index}: unknown trigger type {code}"));
        }
        _ => {}
    }
    t
}
