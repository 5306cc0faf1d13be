//! Crontabs (system `/etc/crontab`, `/etc/cron.d/*`, and per-user spools): schedules, users, commands.

use serde::{Deserialize, Serialize};

use super::env::{EnvParse, EnvState, EnvStyle, parse_env_line};
use super::lines::{ContentLine, content_lines, is_blank, next_token};
use super::{EnvAssignment, EnvVar, MAX_WARNINGS, Warns, excerpt, is_false, is_zero};

/// Which crontab flavour the bytes come from: decides whether a user field is expected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CrontabKind {
    /// `/etc/crontab`, `/etc/cron.d/*`: six fields before the command, the sixth is the user.
    System,
    /// `/var/spool/cron/crontabs/<user>`, `/var/spool/cron/<user>`: no user field.
    User,
}

/// The `@` shorthands of crontab(5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CronSpecial {
    Reboot,
    /// `@yearly` or `@annually`.
    Yearly,
    Monthly,
    Weekly,
    /// `@daily` or `@midnight`.
    Daily,
    Hourly,
    /// An `@word` cron does not know (cron rejects it; kept for the record).
    Other(String),
}

crate::string_enum::string_enum!(CronSpecial {
    Reboot = "reboot",
    Yearly = "yearly",
    Monthly = "monthly",
    Weekly = "weekly",
    Daily = "daily",
    Hourly = "hourly",
} else Other(String));

/// When a crontab job runs, as written.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CronSchedule {
    /// The five time fields as raw strings (`*/5`, `mon-fri`, `1,15`, ...).
    Fields {
        minute: String,
        hour: String,
        day_of_month: String,
        month: String,
        day_of_week: String,
    },
    Special(CronSpecial),
}

/// One crontab job line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub struct CronEntry {
    pub line_number: usize,
    /// The original line (lossy UTF-8, without the line terminator).
    pub raw: String,
    /// True when `raw` had invalid UTF-8 replaced by U+FFFD.
    #[serde(default, skip_serializing_if = "is_false")]
    pub lossy_utf8: bool,
    pub schedule: CronSchedule,
    /// The user field (system crontabs only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// The command up to the first unescaped `%`, with `\%` turned into `%`.
    pub command: String,
    /// Text after the first unescaped `%`, fed to the command's stdin; further `%` became newlines.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stdin: Option<String>,
    /// Environment in effect for this job (last assignment of each name wins), in file order.
    pub environment: Vec<EnvVar>,
    /// True when the environment snapshot was dropped to bound memory (huge hostile files only).
    #[serde(default, skip_serializing_if = "is_false")]
    pub environment_truncated: bool,
}

/// Something wrong with one line; the parse goes on.
#[derive(
    Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema, thiserror::Error,
)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum CronWarning {
    #[error("line {line}: expected at least {expected} fields, found {found}: {text:?}")]
    TooFewFields {
        line: usize,
        expected: usize,
        found: usize,
        text: String,
    },
    #[error("line {line}: invalid {field} field {value:?}: {reason}")]
    InvalidField {
        line: usize,
        field: String,
        value: String,
        reason: String,
    },
    #[error("line {line}: unknown special schedule {value:?}")]
    UnknownSpecial { line: usize, value: String },
    #[error("line {line}: invalid UTF-8 replaced")]
    InvalidUtf8 { line: usize },
    #[error("line {line}: contains NUL bytes")]
    NulByte { line: usize },
    #[error("line {line}: unterminated quote in environment assignment {text:?}")]
    UnterminatedQuote { line: usize, text: String },
    #[error("environment snapshots dropped from line {line} on to bound memory")]
    EnvironmentBudgetExceeded { line: usize },
    #[error("line {line}: {reason}: {text:?}")]
    InvalidLine {
        line: usize,
        reason: String,
        text: String,
    },
}

/// Result of [`parse_crontab`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub struct CrontabParse {
    pub kind: CrontabKind,
    pub entries: Vec<CronEntry>,
    /// Every environment line, in file order.
    pub environment: Vec<EnvAssignment>,
    pub warnings: Vec<CronWarning>,
    /// Warnings not stored because of the cap.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub warnings_suppressed: usize,
    /// True when any line had invalid UTF-8.
    pub lossy_utf8: bool,
}

/// Applies crontab(5) `%` rules: the first unescaped `%` ends the command, the rest is stdin with
/// every further unescaped `%` turned into a newline; `\%` is a literal percent (backslash dropped),
/// any other backslash is left for the shell.
fn split_percent(cmd: &str) -> (String, Option<String>) {
    let mut command = String::with_capacity(cmd.len());
    let mut stdin = String::new();
    let mut in_stdin = false;
    let mut chars = cmd.chars().peekable();
    while let Some(c) = chars.next() {
        let out = if in_stdin { &mut stdin } else { &mut command };
        match c {
            '\\' if chars.peek() == Some(&'%') => {
                chars.next();
                out.push('%');
            }
            '%' if in_stdin => out.push('\n'),
            '%' => in_stdin = true,
            _ => out.push(c),
        }
    }
    (command, in_stdin.then_some(stdin))
}

const MONTHS: [&str; 12] = [
    "jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec",
];
const DAYS: [&str; 7] = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"];

fn field_value(
    tok: &str,
    min: u32,
    max: u32,
    names: &[&str],
    name_base: u32,
) -> Result<u32, String> {
    if tok.is_empty() {
        return Err("empty value".into());
    }
    if tok.bytes().all(|b| b.is_ascii_digit()) {
        let v: u32 = tok
            .parse()
            .map_err(|_| format!("number {tok:?} out of range"))?;
        if v < min || v > max {
            return Err(format!("{v} outside {min}-{max}"));
        }
        return Ok(v);
    }
    let lower = tok.to_ascii_lowercase();
    names
        .iter()
        .position(|n| *n == lower)
        .and_then(|p| u32::try_from(p).ok())
        .map(|p| p + name_base)
        .ok_or_else(|| format!("{tok:?} is not a number or known name"))
}

/// Light validation of one time field: lists, ranges, steps, names, cronie's `~` random ranges.
fn validate_field(
    field: &str,
    min: u32,
    max: u32,
    names: &[&str],
    name_base: u32,
) -> Result<(), String> {
    // cronie lets a leading `-` on the minute field mean "do not log"; it is not part of the value.
    for item in field.split(',') {
        let (base, step) = match item.split_once('/') {
            Some((b, s)) => (b, Some(s)),
            None => (item, None),
        };
        if let Some(step) = step {
            let n: u32 = step
                .parse()
                .map_err(|_| format!("step {step:?} is not a number"))?;
            if n == 0 {
                return Err("step of 0".into());
            }
        }
        if base == "*" {
            continue;
        }
        let sep = if base.contains('~') { '~' } else { '-' };
        match base.split_once(sep) {
            Some((a, b)) => {
                // cronie allows `~` with either side empty.
                let lo = if a.is_empty() && sep == '~' {
                    min
                } else {
                    field_value(a, min, max, names, name_base)?
                };
                let hi = if b.is_empty() && sep == '~' {
                    max
                } else {
                    field_value(b, min, max, names, name_base)?
                };
                if lo > hi && sep == '-' {
                    // Vixie cron rejects reversed ranges.
                    return Err(format!("range {lo}-{hi} is reversed"));
                }
            }
            None => {
                field_value(base, min, max, names, name_base)?;
            }
        }
    }
    Ok(())
}

fn special_from(tok: &str) -> CronSpecial {
    match tok {
        "@reboot" => CronSpecial::Reboot,
        "@yearly" | "@annually" => CronSpecial::Yearly,
        "@monthly" => CronSpecial::Monthly,
        "@weekly" => CronSpecial::Weekly,
        "@daily" | "@midnight" => CronSpecial::Daily,
        "@hourly" => CronSpecial::Hourly,
        other => CronSpecial::Other(other.to_string()),
    }
}

/// Parses a crontab. `kind` decides whether a user field is expected.
pub fn parse_crontab(text: &[u8], kind: CrontabKind) -> CrontabParse {
    let mut entries = Vec::new();
    let mut parsed = parse_crontab_each(text, kind, |e, _| entries.push(e));
    parsed.entries = entries;
    parsed
}

/// [`parse_crontab`] one job at a time: `on_job` gets each job as soon as its line is read,
/// with the warnings that line raised, and the result holds no `entries`. A crontab of a
/// million lines then costs one line of memory, not a million jobs.
pub fn parse_crontab_each(
    text: &[u8],
    kind: CrontabKind,
    mut on_job: impl FnMut(CronEntry, &[CronWarning]),
) -> CrontabParse {
    let mut warns = Warns::new(MAX_WARNINGS);
    let mut environment = Vec::new();
    let mut env = EnvState::new();
    let mut any_lossy = false;

    for content in content_lines(text) {
        let before = warns.list.len();
        any_lossy |= content.note_damage(&mut warns);
        let ContentLine {
            ln, line, lossy, ..
        } = content;
        let trimmed = line.trim_start_matches(is_blank);
        match parse_env_line(trimmed, EnvStyle::Cron) {
            EnvParse::Env(name, value) => {
                env.set(&name, &value);
                environment.push(EnvAssignment {
                    line_number: ln,
                    name,
                    value,
                    raw: line.clone(),
                    lossy_utf8: lossy,
                });
                continue;
            }
            EnvParse::Unterminated => {
                warns.push(CronWarning::UnterminatedQuote {
                    line: ln,
                    text: excerpt(&line),
                });
                continue;
            }
            EnvParse::NotEnv => {}
        }
        if let Some(entry) = parse_cron_job(ln, &line, lossy, kind, &mut env, &mut warns) {
            on_job(entry, &warns.list[before.min(warns.list.len())..]);
        }
    }

    CrontabParse {
        kind,
        entries: Vec::new(),
        environment,
        warnings: warns.list,
        warnings_suppressed: warns.suppressed,
        lossy_utf8: any_lossy,
    }
}

/// Warns about each of the five schedule fields that cron would refuse (the job is kept).
fn check_fields(ln: usize, f: &[&str], warns: &mut Warns) {
    let names: [&str; 5] = ["minute", "hour", "day_of_month", "month", "day_of_week"];
    let limits: [(u32, u32, &[&str], u32); 5] = [
        (0, 59, &[], 0),
        (0, 23, &[], 0),
        (1, 31, &[], 0),
        (1, 12, &MONTHS, 1),
        (0, 7, &DAYS, 0),
    ];
    for (i, ((lo, hi, nm, base), fname)) in limits.iter().zip(names).enumerate() {
        let mut val = f.get(i).copied().unwrap_or("");
        if i == 0 {
            val = val.strip_prefix('-').unwrap_or(val);
        }
        if let Err(reason) = validate_field(val, *lo, *hi, nm, *base) {
            warns.push(CronWarning::InvalidField {
                line: ln,
                field: fname.to_string(),
                value: f.get(i).copied().unwrap_or("").to_string(),
                reason,
            });
        }
    }
}

fn parse_cron_job(
    ln: usize,
    line: &str,
    lossy: bool,
    kind: CrontabKind,
    env: &mut EnvState,
    warns: &mut Warns,
) -> Option<CronEntry> {
    let needed_after_schedule = match kind {
        CrontabKind::System => 2,
        CrontabKind::User => 1,
    };
    let (first, mut rest) = next_token(line)?;
    let schedule = if first.starts_with('@') {
        let sp = special_from(first);
        if let CronSpecial::Other(v) = &sp {
            warns.push(CronWarning::UnknownSpecial {
                line: ln,
                value: v.clone(),
            });
        }
        CronSchedule::Special(sp)
    } else {
        let mut f: Vec<&str> = vec![first];
        while f.len() < 5 {
            match next_token(rest) {
                Some((t, r)) => {
                    f.push(t);
                    rest = r;
                }
                None => break,
            }
        }
        if f.len() < 5 {
            warns.push(CronWarning::TooFewFields {
                line: ln,
                expected: 5 + needed_after_schedule,
                found: f.len(),
                text: excerpt(line),
            });
            return None;
        }
        check_fields(ln, &f, warns);
        CronSchedule::Fields {
            minute: f.first().copied().unwrap_or("").to_string(),
            hour: f.get(1).copied().unwrap_or("").to_string(),
            day_of_month: f.get(2).copied().unwrap_or("").to_string(),
            month: f.get(3).copied().unwrap_or("").to_string(),
            day_of_week: f.get(4).copied().unwrap_or("").to_string(),
        }
    };
    let fields_before = match schedule {
        CronSchedule::Special(_) => 1,
        CronSchedule::Fields { .. } => 5,
    };
    let user = match kind {
        CrontabKind::System => match next_token(rest) {
            Some((u, r)) => {
                rest = r;
                Some(u.to_string())
            }
            None => {
                warns.push(CronWarning::TooFewFields {
                    line: ln,
                    expected: fields_before + 2,
                    found: fields_before,
                    text: excerpt(line),
                });
                return None;
            }
        },
        CrontabKind::User => None,
    };
    if rest.trim_matches(is_blank).is_empty() {
        warns.push(CronWarning::TooFewFields {
            line: ln,
            expected: fields_before + needed_after_schedule,
            found: fields_before + needed_after_schedule - 1,
            text: excerpt(line),
        });
        return None;
    }
    let (command, stdin) = split_percent(rest);
    let (environment, environment_truncated) = env.snapshot(ln, warns);
    Some(CronEntry {
        line_number: ln,
        raw: line.to_string(),
        lossy_utf8: lossy,
        schedule,
        user,
        command,
        stdin,
        environment,
        environment_truncated,
    })
}
