//! Syslog text lines (`/var/log/auth.log`, `secure`, `syslog`, `messages`, as rsyslog and
//! syslog-ng write them) and the facts a responder reads in them ([`facts`]).
//!
//! Two time formats: the traditional `May 11 09:12:01` (RFC 3164: local time, no year, no
//! offset) and RFC 3339 (`2024-05-11T09:12:01.123456+02:00`, rsyslog's
//! `RSYSLOG_FileFormat`), optionally after a `<PRI>`. Then the host, then the tag
//! (`sshd[1422]:`, `sudo:`, `CRON[2102]:`) and the message.
//!
//! The traditional format has no year: [`infer_year`] takes it from an anchor (the file's
//! modification time: the last line was written then), stepping back a year for dates that
//! would lie after the anchor (a file that spans New Year). A record says when it did so.
//!
//! Reference: RFC 3164 §4.1.2, RFC 5424 §6.2.3, rsyslog "Templates" (`RSYSLOG_FileFormat`,
//! `RSYSLOG_TraditionalFileFormat`).

pub mod facts;
#[cfg(test)]
#[allow(clippy::disallowed_methods)]
mod tests;

pub use facts::{
    AccountAction, AccountFact, CronFact, LogFact, ServiceFact, ServiceState, SshLoginFact,
    SshOutcome, SuFact, SudoFact, SudoOutcome, classify,
};

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, NaiveDateTime, Utc};

/// When a line says it was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineTime {
    /// RFC 3164: month (1-12), day, hour, minute, second; local time, year unknown.
    NoYear {
        month: u32,
        day: u32,
        hour: u32,
        minute: u32,
        second: u32,
    },
    /// RFC 3339 with its offset.
    Full(DateTime<FixedOffset>),
}

/// One parsed syslog line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyslogLine<'a> {
    pub time: LineTime,
    /// The time as written.
    pub time_text: &'a str,
    pub host: Option<&'a str>,
    /// The tag without the pid (`sshd`, `sudo`, `CRON`, `pam_unix(sudo:session)` stays in
    /// the message).
    pub program: &'a str,
    pub pid: Option<u32>,
    pub message: &'a str,
}

const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];

fn month_of(s: &str) -> Option<u32> {
    let s = s.get(..3)?.to_ascii_lowercase();
    MONTHS.iter().position(|m| *m == s).map(|i| i as u32 + 1)
}

/// `HH:MM:SS` (fractions ignored).
fn hms(s: &str) -> Option<(u32, u32, u32)> {
    let mut it = s.split(':');
    let h = it.next()?.parse().ok()?;
    let m = it.next()?.parse().ok()?;
    let sec: &str = it.next()?;
    let sec = sec.split('.').next()?.parse().ok()?;
    (h < 24 && m < 60 && sec < 61).then_some((h, m, sec))
}

/// Parse one line (without its newline); `None` when it is not a syslog line.
pub fn parse_line(line: &str) -> Option<SyslogLine<'_>> {
    let mut rest = line.trim_start_matches(['\u{feff}', '\0', ' ']);
    // `<PRI>` (a forwarded or raw line).
    if let Some(r) = rest.strip_prefix('<')
        && let Some(end) = r.find('>')
        && end <= 3
        && r[..end].bytes().all(|b| b.is_ascii_digit())
    {
        rest = &r[end + 1..];
    }
    let (time, time_text, after) = if rest.as_bytes().first().is_some_and(u8::is_ascii_digit) {
        let end = rest.find(' ')?;
        let t = DateTime::parse_from_rfc3339(&rest[..end]).ok()?;
        (LineTime::Full(t), &rest[..end], &rest[end..])
    } else {
        // `Mmm dd HH:MM:SS` with the day space-padded: 15 characters.
        let head = rest.get(..15)?;
        let month = month_of(head)?;
        let day: u32 = head.get(4..6)?.trim().parse().ok()?;
        let (hour, minute, second) = hms(head.get(7..15)?)?;
        if !(1..=31).contains(&day) {
            return None;
        }
        let t = LineTime::NoYear {
            month,
            day,
            hour,
            minute,
            second,
        };
        (t, head, &rest[15..])
    };
    let after = after.trim_start();
    // Host, then the tag up to `:`. A line without a host (`May 11 09:12:01 sudo: ...`) is
    // rare; the first word is then taken as the host only when a tag follows it.
    let (host, tagged) = match after.split_once(' ') {
        Some((h, t)) if !h.ends_with(':') => (Some(h), t.trim_start()),
        _ => (None, after),
    };
    let colon = tagged
        .find(": ")
        .or_else(|| tagged.strip_suffix(':').map(str::len))?;
    let tag = &tagged[..colon];
    let message = tagged.get(colon + 2..).unwrap_or("");
    if tag.is_empty() || tag.contains(' ') && !tag.contains('[') {
        return None;
    }
    let (program, pid) = match tag.split_once('[') {
        Some((p, rest)) => (p, rest.trim_end_matches(']').parse().ok()),
        None => (tag, None),
    };
    Some(SyslogLine {
        time,
        time_text,
        host,
        program,
        pid,
        message,
    })
}

/// A line's time in UTC: RFC 3339 converted; a year-less time placed in the year that puts
/// it at or before `anchor` (within a day's slack for clock skew), as wall-clock labelled
/// UTC. The flags say (local wall-clock time, year inferred).
pub fn resolve_time(t: LineTime, anchor: Option<DateTime<Utc>>) -> Option<(DateTime<Utc>, bool)> {
    match t {
        LineTime::Full(t) => Some((t.with_timezone(&Utc), false)),
        LineTime::NoYear {
            month,
            day,
            hour,
            minute,
            second,
        } => {
            let anchor = anchor?;
            infer_year(month, day, hour, minute, second, anchor).map(|n| (n.and_utc(), true))
        }
    }
}

/// The wall-clock time of a year-less line, in the year that puts it at or before `anchor`
/// (plus a day of slack for time zones and clock skew).
pub fn infer_year(
    month: u32,
    day: u32,
    hour: u32,
    minute: u32,
    second: u32,
    anchor: DateTime<Utc>,
) -> Option<NaiveDateTime> {
    let limit = anchor.naive_utc() + chrono::Duration::days(1);
    let year = anchor.year();
    for y in [year, year - 1, year - 2, year - 3, year - 4] {
        // Feb 29 exists only in leap years: try older years until one has it.
        let Some(d) = NaiveDate::from_ymd_opt(y, month, day) else {
            continue;
        };
        let t = d.and_hms_opt(hour, minute, second.min(59))?;
        if t <= limit {
            return Some(t);
        }
    }
    None
}
