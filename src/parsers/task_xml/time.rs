//! Timestamps and durations as task files write them (`xs:dateTime`, `xs:duration`).

use chrono::{DateTime, NaiveDateTime, Utc};
use serde::{Deserialize, Serialize};

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
