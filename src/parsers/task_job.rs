//! Legacy Task Scheduler 1.0 job files (`.job`).
//!
//! Where it lives: `C:\Windows\Tasks\*.job`. Windows 2000/XP/2003 keep every scheduled task
//! there; on Vista and later, tasks registered through the legacy `ITask` / `at.exe` /
//! `NetScheduleJobAdd` interfaces can still leave a `.job` file there (attackers' `at` jobs, some
//! malware), so the folder is worth collecting on every version. Linux/macOS only meet it in an offline root.
//!
//! What we record: the program and its parameters (the command line the job runs), working
//! directory, author, comment, job flags (hidden, disabled, interactive ... by name), status
//! and exit code of the last run, the last run time, and every trigger (type, begin/end date,
//! start time, repetition, type-specific schedule). The last-run SYSTEMTIME is the host's local
//! time with no zone, so it is kept as a naive date-time rather than converted to UTC.
//!
//! Robustness: the fixed 68-byte header must be present and carry file version 1, otherwise the
//! input is rejected. Every length in the variable-length section is checked against the
//! remaining bytes before anything is read or allocated (a string is at most 65535 UTF-16 units
//! and a trigger array at most 65535 * 48 bytes, both bounded by the input size). If the data
//! ends early, [`JobError::Truncated`] carries what had been parsed so far.
//!
//! Reference: [MS-TSCH] "Task Scheduler Service Remoting Protocol", section 2.4 ".JOB File
//! Format" (FIXDLEN_DATA, variable-length data section, triggers, job signature), and the
//! `TASK_TRIGGER` / `IScheduledWorkItem::SetFlags` documentation of `mstask.h`.

use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Size of FIXDLEN_DATA.
pub const FIXED_LEN: usize = 68;
/// Size of one trigger record.
pub const TRIGGER_LEN: usize = 48;
const SIGNATURE_LEN: usize = 64;

/// Job flags (MS-TSCH 2.3.7, `TASK_FLAG_*`).
const JOB_FLAGS: &[(u32, &str)] = &[
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

// ---------------------------------------------------------------------------------------------
// Output types
// ---------------------------------------------------------------------------------------------

/// Last-run status (an HRESULT, usually one of the `SCHED_S_*` codes).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
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

impl JobStatus {
    fn from_code(code: u32) -> JobStatus {
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum JobPriority {
    Normal,
    Idle,
    High,
    Realtime,
    Other(u32),
}

impl JobPriority {
    fn from_code(code: u32) -> JobPriority {
        match code {
            0x20 => JobPriority::Normal,
            0x40 => JobPriority::Idle,
            0x80 => JobPriority::High,
            0x100 => JobPriority::Realtime,
            other => JobPriority::Other(other),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
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

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Error)]
pub enum JobError {
    #[error("too short for a .job file: {found} bytes, the fixed-length header needs {needed}")]
    TooShort { needed: usize, found: usize },
    #[error("not a .job file: {field} is {found:#06x}, expected {expected}")]
    BadHeader {
        field: &'static str,
        found: u32,
        expected: &'static str,
    },
    #[error(
        "truncated .job file: {field} at offset {offset} needs {needed} bytes, only {available} left"
    )]
    Truncated {
        field: String,
        offset: usize,
        needed: usize,
        available: usize,
        /// Everything parsed before the data ran out.
        partial: Box<JobFile>,
    },
}

impl JobError {
    pub fn partial(&self) -> Option<&JobFile> {
        match self {
            JobError::Truncated { partial, .. } => Some(partial),
            _ => None,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Parsing
// ---------------------------------------------------------------------------------------------

/// A failed bounds check: (field, offset, needed, available).
struct Short(String, usize, usize, usize);

fn take<'a>(bytes: &'a [u8], offset: usize, len: usize, field: &str) -> Result<&'a [u8], Short> {
    let available = bytes.len().saturating_sub(offset);
    offset
        .checked_add(len)
        .and_then(|end| bytes.get(offset..end))
        .ok_or_else(|| Short(field.to_string(), offset, len, available))
}

fn u16_at(bytes: &[u8], offset: usize, field: &str) -> Result<u16, Short> {
    let b = take(bytes, offset, 2, field)?;
    Ok(rd16(b, 0))
}

/// Little-endian readers for slices whose length was already validated; out of range reads
/// yield 0 instead of panicking.
fn rd16(b: &[u8], o: usize) -> u16 {
    match b.get(o..o.saturating_add(2)) {
        Some(&[x, y]) => u16::from_le_bytes([x, y]),
        _ => 0,
    }
}

fn rd32(b: &[u8], o: usize) -> u32 {
    match b.get(o..o.saturating_add(4)) {
        Some(&[a, b2, c, d]) => u32::from_le_bytes([a, b2, c, d]),
        _ => 0,
    }
}

/// GUID in registry format; Data1..Data3 are little-endian, Data4 is a byte array.
fn format_guid(b: &[u8]) -> String {
    let Some(tail) = b.get(8..16) else {
        return String::new();
    };
    let tail: String = tail.iter().map(|x| format!("{x:02X}")).collect();
    format!(
        "{{{:08X}-{:04X}-{:04X}-{}-{}}}",
        rd32(b, 0),
        rd16(b, 4),
        rd16(b, 6),
        tail.get(..4).unwrap_or(""),
        tail.get(4..).unwrap_or("")
    )
}

fn product_version_name(v: u16) -> Option<&'static str> {
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

fn flag_names(flags: u32, table: &[(u32, &str)]) -> Vec<String> {
    let mut names: Vec<String> = table
        .iter()
        .filter(|(bit, _)| flags & bit != 0)
        .map(|(_, n)| n.to_string())
        .collect();
    let known: u32 = table.iter().fold(0, |acc, (bit, _)| acc | bit);
    let unknown = flags & !known;
    if unknown != 0 {
        names.push(format!("unknown_{unknown:#x}"));
    }
    names
}

fn bit_names(mask: u32, names: &[&str]) -> Vec<String> {
    names
        .iter()
        .enumerate()
        .filter(|(i, _)| mask & (1u32 << i) != 0)
        .map(|(_, n)| n.to_string())
        .collect()
}

fn date_from(year: u16, month: u16, day: u16) -> Option<NaiveDate> {
    if year == 0 && month == 0 && day == 0 {
        return None;
    }
    NaiveDate::from_ymd_opt(i32::from(year), u32::from(month), u32::from(day))
}

/// SYSTEMTIME: year, month, weekday, day, hour, minute, second, milliseconds.
fn systemtime(b: &[u8], warnings: &mut Vec<String>) -> Option<NaiveDateTime> {
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

fn parse_trigger(b: &[u8], index: usize, warnings: &mut Vec<String>) -> JobTrigger {
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

/// Reads one length-prefixed UTF-16LE string (length in characters, including the NUL).
/// Returns the value (`None` for length 0) and the offset after it.
fn read_unicode(
    bytes: &[u8],
    offset: usize,
    field: &str,
    warnings: &mut Vec<String>,
) -> Result<(Option<String>, usize), Short> {
    let chars = usize::from(u16_at(bytes, offset, &format!("{field} length"))?);
    let body_off = offset + 2;
    let body = take(bytes, body_off, chars * 2, field)?;
    if chars == 0 {
        return Ok((None, body_off));
    }
    let units: Vec<u16> = body.chunks_exact(2).map(|c| rd16(c, 0)).collect();
    let trimmed: &[u16] = match units.iter().position(|u| *u == 0) {
        Some(nul) => {
            if nul + 1 != units.len() {
                warnings.push(format!(
                    "{field}: NUL at character {nul} of {chars}; text after it dropped"
                ));
            }
            units.get(..nul).unwrap_or(&[])
        }
        None => {
            warnings.push(format!("{field}: missing terminating NUL"));
            &units
        }
    };
    let s = match String::from_utf16(trimmed) {
        Ok(s) => s,
        Err(_) => {
            warnings.push(format!("{field}: invalid UTF-16 replaced with U+FFFD"));
            String::from_utf16_lossy(trimmed)
        }
    };
    Ok((Some(s), body_off + chars * 2))
}

/// Parses a Task Scheduler 1.0 `.job` file.
pub fn parse_job(bytes: &[u8]) -> Result<JobFile, JobError> {
    if bytes.len() < FIXED_LEN {
        return Err(JobError::TooShort {
            needed: FIXED_LEN,
            found: bytes.len(),
        });
    }
    let h = |o: usize| rd16(bytes, o);
    let h32 = |o: usize| rd32(bytes, o);

    let file_version = h(2);
    if file_version != 1 {
        return Err(JobError::BadHeader {
            field: "file version",
            found: u32::from(file_version),
            expected: "0x0001",
        });
    }
    let app_name_offset = usize::from(h(20));
    let trigger_offset = usize::from(h(22));
    if app_name_offset < FIXED_LEN + 2 {
        return Err(JobError::BadHeader {
            field: "application name offset",
            found: app_name_offset as u32,
            expected: "an offset past the 70-byte fixed header and running instance count",
        });
    }

    let mut warnings = Vec::new();
    let product_version = h(0);
    let status_code = h32(44);
    let flags = h32(48);
    let priority = h32(32);
    let last_run_time = systemtime(bytes.get(52..68).unwrap_or(&[]), &mut warnings);
    let mut job = JobFile {
        product_version,
        product_version_name: product_version_name(product_version).map(str::to_string),
        file_version,
        job_uuid: format_guid(bytes.get(4..20).unwrap_or(&[])),
        error_retry_count: h(24),
        error_retry_interval_minutes: h(26),
        idle_deadline_minutes: h(28),
        idle_wait_minutes: h(30),
        priority: JobPriority::from_code(priority),
        max_run_time_ms: h32(36),
        exit_code: h32(40),
        status_code,
        status: JobStatus::from_code(status_code),
        flags,
        flag_names: flag_names(flags, JOB_FLAGS),
        last_run_time,
        running_instance_count: 0,
        application_name: None,
        parameters: None,
        working_directory: None,
        author: None,
        comment: None,
        user_data_len: 0,
        start_error: None,
        task_flags: None,
        triggers: Vec::new(),
        signature: None,
        warnings: Vec::new(),
    };
    if job.product_version_name.is_none() {
        warnings.push(format!("unknown product version {product_version:#06x}"));
    }

    match parse_variable(
        bytes,
        &mut job,
        &mut warnings,
        app_name_offset,
        trigger_offset,
    ) {
        Ok(()) => {
            job.warnings = warnings;
            Ok(job)
        }
        Err(Short(field, offset, needed, available)) => {
            warnings.push(format!("data ends inside {field}"));
            job.warnings = warnings;
            Err(JobError::Truncated {
                field,
                offset,
                needed,
                available,
                partial: Box::new(job),
            })
        }
    }
}

fn parse_variable(
    bytes: &[u8],
    job: &mut JobFile,
    warnings: &mut Vec<String>,
    app_name_offset: usize,
    trigger_offset: usize,
) -> Result<(), Short> {
    job.running_instance_count = u16_at(bytes, FIXED_LEN, "running instance count")?;
    if app_name_offset != FIXED_LEN + 2 {
        warnings.push(format!(
            "application name offset is {app_name_offset}, expected {}; following the header",
            FIXED_LEN + 2
        ));
    }
    let mut pos = app_name_offset;
    let (v, next) = read_unicode(bytes, pos, "application name", warnings)?;
    job.application_name = v;
    pos = next;
    let (v, next) = read_unicode(bytes, pos, "parameters", warnings)?;
    job.parameters = v;
    pos = next;
    let (v, next) = read_unicode(bytes, pos, "working directory", warnings)?;
    job.working_directory = v;
    pos = next;
    let (v, next) = read_unicode(bytes, pos, "author", warnings)?;
    job.author = v;
    pos = next;
    let (v, next) = read_unicode(bytes, pos, "comment", warnings)?;
    job.comment = v;
    pos = next;

    let user_len = u16_at(bytes, pos, "user data length")?;
    take(bytes, pos + 2, usize::from(user_len), "user data")?;
    job.user_data_len = user_len;
    pos += 2 + usize::from(user_len);

    let reserved_len = usize::from(u16_at(bytes, pos, "reserved data length")?);
    let reserved = take(bytes, pos + 2, reserved_len, "reserved data")?;
    if reserved_len == 8 {
        job.start_error = Some(rd32(reserved, 0));
        job.task_flags = Some(rd32(reserved, 4));
    } else if reserved_len != 0 {
        warnings.push(format!(
            "reserved data is {reserved_len} bytes, expected 0 or 8; skipped"
        ));
    }
    pos += 2 + reserved_len;

    // The header's trigger offset is what the service uses; a disagreement means the strings
    // were edited by hand or the file is damaged, both worth reporting.
    if trigger_offset != pos {
        if trigger_offset >= FIXED_LEN + 2 && trigger_offset < bytes.len() {
            warnings.push(format!(
                "trigger offset in header is {trigger_offset} but the variable data ends at {pos}; using the header"
            ));
            pos = trigger_offset;
        } else {
            warnings.push(format!(
                "trigger offset in header ({trigger_offset}) is out of range; using {pos}"
            ));
        }
    }

    let count = usize::from(u16_at(bytes, pos, "trigger count")?);
    pos += 2;
    for i in 0..count {
        let rec = take(bytes, pos, TRIGGER_LEN, &format!("trigger #{i} of {count}"))?;
        job.triggers.push(parse_trigger(rec, i, warnings));
        pos += TRIGGER_LEN;
    }

    let rest = bytes.len().saturating_sub(pos);
    if rest >= 4 + SIGNATURE_LEN {
        let sig_version = u16_at(bytes, pos, "signature version")?;
        let min_client = u16_at(bytes, pos + 2, "signature minimum client version")?;
        let sig = take(bytes, pos + 4, SIGNATURE_LEN, "signature")?;
        job.signature = Some(JobSignature {
            signature_version: sig_version,
            min_client_version: min_client,
            signature_hex: sig.iter().map(|b| format!("{b:02x}")).collect(),
        });
        pos += 4 + SIGNATURE_LEN;
    }
    let trailing = bytes.len().saturating_sub(pos);
    if trailing > 0 {
        warnings.push(format!(
            "{trailing} unexpected trailing bytes after the last section"
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Writes a `.job` file following the MS-TSCH layout.
    struct JobBuilder {
        product_version: u16,
        file_version: u16,
        uuid: [u8; 16],
        retry_count: u16,
        retry_interval: u16,
        idle_deadline: u16,
        idle_wait: u16,
        priority: u32,
        max_run_time: u32,
        exit_code: u32,
        status: u32,
        flags: u32,
        last_run: [u16; 8],
        running: u16,
        app: &'static str,
        params: &'static str,
        workdir: &'static str,
        author: &'static str,
        comment: &'static str,
        user_data: Vec<u8>,
        reserved: Option<(u32, u32)>,
        triggers: Vec<[u8; 48]>,
        signature: bool,
        trigger_offset_override: Option<u16>,
    }

    impl Default for JobBuilder {
        fn default() -> Self {
            JobBuilder {
                product_version: 0x0501,
                file_version: 1,
                uuid: [
                    0x78, 0x56, 0x34, 0x12, 0xBC, 0x9A, 0xF0, 0xDE, 0x01, 0x02, 0x03, 0x04, 0x05,
                    0x06, 0x07, 0x08,
                ],
                retry_count: 0,
                retry_interval: 0,
                idle_deadline: 60,
                idle_wait: 10,
                priority: 0x20,
                max_run_time: 259_200_000,
                exit_code: 0,
                status: 0x0004_1300,
                flags: 0x200 | 0x0100_0000,
                last_run: [2008, 6, 3, 12, 14, 30, 5, 250],
                running: 0,
                app: r"C:\WINDOWS\system32\cmd.exe",
                params: "/c net user backdoor P@ss /add",
                workdir: r"C:\WINDOWS\system32",
                author: r"WORKGROUP\Administrator",
                comment: "Created by NetScheduleJobAdd.",
                user_data: Vec::new(),
                reserved: Some((0x0004_1303, 0)),
                triggers: vec![trigger(
                    1,
                    [2008, 6, 12],
                    [0, 0, 0],
                    (9, 30),
                    0,
                    0,
                    0,
                    [1, 0, 0],
                )],
                signature: false,
                trigger_offset_override: None,
            }
        }
    }

    fn unicode(out: &mut Vec<u8>, s: &str) {
        if s.is_empty() {
            out.extend_from_slice(&0u16.to_le_bytes());
            return;
        }
        let units: Vec<u16> = s.encode_utf16().chain(std::iter::once(0)).collect();
        out.extend_from_slice(&(units.len() as u16).to_le_bytes());
        for u in units {
            out.extend_from_slice(&u.to_le_bytes());
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn trigger(
        kind: u32,
        begin: [u16; 3],
        end: [u16; 3],
        start: (u16, u16),
        duration: u32,
        interval: u32,
        flags: u32,
        specific: [u16; 3],
    ) -> [u8; 48] {
        let mut t = Vec::with_capacity(48);
        for w in [
            48u16, 0, begin[0], begin[1], begin[2], end[0], end[1], end[2], start.0, start.1,
        ] {
            t.extend_from_slice(&w.to_le_bytes());
        }
        for d in [duration, interval, flags, kind] {
            t.extend_from_slice(&d.to_le_bytes());
        }
        for w in [specific[0], specific[1], specific[2], 0, 0, 0] {
            t.extend_from_slice(&w.to_le_bytes());
        }
        t.try_into().unwrap()
    }

    impl JobBuilder {
        fn build(&self) -> Vec<u8> {
            let mut var = Vec::new();
            var.extend_from_slice(&self.running.to_le_bytes());
            unicode(&mut var, self.app);
            unicode(&mut var, self.params);
            unicode(&mut var, self.workdir);
            unicode(&mut var, self.author);
            unicode(&mut var, self.comment);
            var.extend_from_slice(&(self.user_data.len() as u16).to_le_bytes());
            var.extend_from_slice(&self.user_data);
            match self.reserved {
                Some((a, b)) => {
                    var.extend_from_slice(&8u16.to_le_bytes());
                    var.extend_from_slice(&a.to_le_bytes());
                    var.extend_from_slice(&b.to_le_bytes());
                }
                None => var.extend_from_slice(&0u16.to_le_bytes()),
            }
            let trigger_offset = (FIXED_LEN + var.len()) as u16;
            var.extend_from_slice(&(self.triggers.len() as u16).to_le_bytes());
            for t in &self.triggers {
                var.extend_from_slice(t);
            }
            if self.signature {
                var.extend_from_slice(&1u16.to_le_bytes());
                var.extend_from_slice(&1u16.to_le_bytes());
                var.extend((0..64u8).map(|i| i.wrapping_mul(3)));
            }

            let mut out = Vec::new();
            out.extend_from_slice(&self.product_version.to_le_bytes());
            out.extend_from_slice(&self.file_version.to_le_bytes());
            out.extend_from_slice(&self.uuid);
            out.extend_from_slice(&((FIXED_LEN + 2) as u16).to_le_bytes());
            out.extend_from_slice(
                &self
                    .trigger_offset_override
                    .unwrap_or(trigger_offset)
                    .to_le_bytes(),
            );
            for w in [
                self.retry_count,
                self.retry_interval,
                self.idle_deadline,
                self.idle_wait,
            ] {
                out.extend_from_slice(&w.to_le_bytes());
            }
            for d in [
                self.priority,
                self.max_run_time,
                self.exit_code,
                self.status,
                self.flags,
            ] {
                out.extend_from_slice(&d.to_le_bytes());
            }
            for w in self.last_run {
                out.extend_from_slice(&w.to_le_bytes());
            }
            assert_eq!(out.len(), FIXED_LEN);
            out.extend_from_slice(&var);
            out
        }
    }

    #[test]
    fn parses_a_complete_job() {
        let bytes = JobBuilder::default().build();
        let j = parse_job(&bytes).unwrap();
        assert_eq!(j.product_version, 0x0501);
        assert_eq!(j.product_version_name.as_deref(), Some("Windows XP"));
        assert_eq!(j.file_version, 1);
        assert_eq!(j.job_uuid, "{12345678-9ABC-DEF0-0102-030405060708}");
        assert_eq!(j.idle_deadline_minutes, 60);
        assert_eq!(j.idle_wait_minutes, 10);
        assert_eq!(j.priority, JobPriority::Normal);
        assert_eq!(j.max_run_time_ms, 259_200_000);
        assert_eq!(j.status, JobStatus::Ready);
        assert_eq!(j.flag_names, ["hidden", "application_name"]);
        assert!(j.is_hidden());
        assert!(!j.is_disabled());
        assert_eq!(
            j.last_run_time.unwrap().to_string(),
            "2008-06-12 14:30:05.250"
        );
        assert_eq!(
            j.application_name.as_deref(),
            Some(r"C:\WINDOWS\system32\cmd.exe")
        );
        assert_eq!(
            j.parameters.as_deref(),
            Some("/c net user backdoor P@ss /add")
        );
        assert_eq!(j.working_directory.as_deref(), Some(r"C:\WINDOWS\system32"));
        assert_eq!(j.author.as_deref(), Some(r"WORKGROUP\Administrator"));
        assert_eq!(j.comment.as_deref(), Some("Created by NetScheduleJobAdd."));
        assert_eq!(
            j.command_line(),
            r"C:\WINDOWS\system32\cmd.exe /c net user backdoor P@ss /add"
        );
        assert_eq!(j.start_error, Some(0x0004_1303));
        assert_eq!(j.task_flags, Some(0));
        assert_eq!(j.triggers.len(), 1);
        let t = &j.triggers[0];
        assert_eq!(t.trigger_type, JobTriggerType::Daily);
        assert_eq!(t.begin_date.unwrap().to_string(), "2008-06-12");
        assert_eq!(t.end_date, None);
        assert_eq!(t.start_time.unwrap().to_string(), "09:30:00");
        assert_eq!(t.days_interval, Some(1));
        assert!(j.signature.is_none());
        assert!(j.warnings.is_empty(), "{:?}", j.warnings);

        let json = serde_json::to_string(&j).unwrap();
        assert!(json.contains("\"trigger_type\":\"daily\""));
        let back: JobFile = serde_json::from_str(&json).unwrap();
        assert_eq!(back, j);
    }

    #[test]
    fn trigger_types_and_signature() {
        let b = JobBuilder {
            product_version: 0x0601,
            flags: 0x4 | 0x1 | 0x8000,
            status: 0x8004_1309,
            last_run: [0; 8],
            params: "",
            comment: "",
            reserved: None,
            user_data: vec![1, 2, 3, 4, 5],
            triggers: vec![
                // weekly, every 2 weeks, Monday+Friday, 10:15, repeat every 60 min for 8 h, end date
                trigger(
                    2,
                    [2020, 1, 6],
                    [2020, 12, 31],
                    (10, 15),
                    480,
                    60,
                    0x1 | 0x2,
                    [2, 0x2 | 0x20, 0],
                ),
                // monthly date: days 1, 15, 31 in January and December
                trigger(
                    3,
                    [2020, 1, 1],
                    [0, 0, 0],
                    (0, 0),
                    0,
                    0,
                    0x4,
                    [0x4001, 0x4000, 0x801],
                ),
                // monthly day-of-week: last Sunday of June
                trigger(
                    4,
                    [2020, 1, 1],
                    [0, 0, 0],
                    (23, 59),
                    0,
                    0,
                    0,
                    [5, 0x1, 0x20],
                ),
                trigger(0, [2021, 2, 28], [0, 0, 0], (8, 0), 0, 0, 0, [0, 0, 0]),
                trigger(5, [2021, 1, 1], [0, 0, 0], (0, 0), 0, 0, 0, [0, 0, 0]),
                trigger(6, [2021, 1, 1], [0, 0, 0], (0, 0), 0, 0, 0, [0, 0, 0]),
                trigger(7, [2021, 1, 1], [0, 0, 0], (0, 0), 0, 0, 0, [0, 0, 0]),
                trigger(9, [2021, 2, 30], [0, 0, 0], (25, 0), 0, 0, 0, [0, 0, 0]),
            ],
            signature: true,
            ..Default::default()
        };
        let j = parse_job(&b.build()).unwrap();
        assert_eq!(j.product_version_name.as_deref(), Some("Windows 7"));
        assert_eq!(j.flag_names, ["interactive", "disabled", "unknown_0x8000"]);
        assert!(j.is_disabled());
        assert_eq!(j.status, JobStatus::Other(0x8004_1309));
        assert_eq!(j.last_run_time, None);
        assert_eq!(j.parameters, None);
        assert_eq!(j.comment, None);
        assert_eq!(j.user_data_len, 5);
        assert_eq!(j.start_error, None);
        assert_eq!(j.command_line(), r"C:\WINDOWS\system32\cmd.exe");

        let t = &j.triggers;
        assert_eq!(t.len(), 8);
        assert_eq!(t[0].trigger_type, JobTriggerType::Weekly);
        assert_eq!(t[0].weeks_interval, Some(2));
        assert_eq!(t[0].days_of_week, ["Monday", "Friday"]);
        assert_eq!(t[0].end_date.unwrap().to_string(), "2020-12-31");
        assert_eq!(t[0].flag_names, ["has_end_date", "kill_at_duration_end"]);
        assert_eq!((t[0].duration_minutes, t[0].interval_minutes), (480, 60));
        assert_eq!(t[1].trigger_type, JobTriggerType::MonthlyDate);
        assert_eq!(t[1].days_of_month, [1, 15, 31]);
        assert_eq!(t[1].months, ["January", "December"]);
        assert_eq!(t[1].flag_names, ["disabled"]);
        assert_eq!(t[2].trigger_type, JobTriggerType::MonthlyDayOfWeek);
        assert_eq!(t[2].which_week, Some(5));
        assert_eq!(t[2].days_of_week, ["Sunday"]);
        assert_eq!(t[2].months, ["June"]);
        assert_eq!(t[2].start_time.unwrap().to_string(), "23:59:00");
        assert_eq!(t[3].trigger_type, JobTriggerType::Once);
        assert_eq!(t[4].trigger_type, JobTriggerType::OnIdle);
        assert_eq!(t[5].trigger_type, JobTriggerType::AtSystemStart);
        assert_eq!(t[6].trigger_type, JobTriggerType::AtLogon);
        assert_eq!(t[7].trigger_type, JobTriggerType::Other(9));
        assert_eq!(t[7].begin_date, None);
        assert_eq!(t[7].start_time, None);
        let w = j.warnings.join("\n");
        assert!(w.contains("unknown trigger type 9"), "{w}");
        assert!(w.contains("invalid begin date 2021-2-30"), "{w}");
        assert!(w.contains("invalid start time 25:0"), "{w}");

        let sig = j.signature.unwrap();
        assert_eq!(sig.signature_version, 1);
        assert_eq!(sig.signature_hex.len(), 128);
        assert!(sig.signature_hex.starts_with("000306090c0f"));
    }

    #[test]
    fn non_ascii_strings_and_bad_utf16() {
        let b = JobBuilder {
            app: r"C:\Users\Jürgen\AppData\Local\Temp\платеж.exe",
            ..Default::default()
        };
        let j = parse_job(&b.build()).unwrap();
        assert_eq!(
            j.application_name.as_deref(),
            Some(r"C:\Users\Jürgen\AppData\Local\Temp\платеж.exe")
        );

        // Lone surrogate inside the author, NUL missing in the comment.
        let mut bytes = JobBuilder {
            author: "AB",
            comment: "",
            ..Default::default()
        }
        .build();
        let needle: Vec<u8> = [3u16, 'A' as u16, 'B' as u16, 0]
            .iter()
            .flat_map(|u| u.to_le_bytes())
            .collect();
        let at = bytes
            .windows(needle.len())
            .position(|w| w == needle)
            .unwrap();
        bytes[at + 2..at + 4].copy_from_slice(&0xD800u16.to_le_bytes());
        bytes[at + 6..at + 8].copy_from_slice(&('C' as u16).to_le_bytes());
        let j = parse_job(&bytes).unwrap();
        assert_eq!(j.author.as_deref(), Some("\u{FFFD}BC"));
        let w = j.warnings.join("\n");
        assert!(w.contains("author: invalid UTF-16"), "{w}");
        assert!(w.contains("author: missing terminating NUL"), "{w}");
    }

    #[test]
    fn header_errors() {
        assert_eq!(
            parse_job(&[]),
            Err(JobError::TooShort {
                needed: 68,
                found: 0
            })
        );
        let bytes = JobBuilder::default().build();
        assert!(matches!(
            parse_job(&bytes[..67]),
            Err(JobError::TooShort { found: 67, .. })
        ));
        let bad = JobBuilder {
            file_version: 2,
            ..Default::default()
        }
        .build();
        let err = parse_job(&bad).unwrap_err();
        assert!(matches!(
            err,
            JobError::BadHeader {
                field: "file version",
                found: 2,
                ..
            }
        ));
        assert!(err.to_string().contains("file version"));

        let mut bad = bytes.clone();
        bad[20..22].copy_from_slice(&4u16.to_le_bytes());
        assert!(matches!(
            parse_job(&bad),
            Err(JobError::BadHeader {
                field: "application name offset",
                ..
            })
        ));
        let text = b"This is a plain text file, definitely not a Task Scheduler job file!!";
        assert!(parse_job(text).is_err());
    }

    #[test]
    fn every_truncation_is_an_error_with_partial() {
        let bytes = JobBuilder {
            signature: false,
            ..Default::default()
        }
        .build();
        for cut in 0..bytes.len() {
            let err = parse_job(&bytes[..cut]).expect_err(&format!("cut at {cut} parsed Ok"));
            if cut >= FIXED_LEN {
                let partial = err.partial().expect("partial after header");
                assert_eq!(partial.job_uuid, "{12345678-9ABC-DEF0-0102-030405060708}");
                assert!(err.to_string().contains("truncated"));
            }
        }
        // Cut inside the trigger array: the strings are all there.
        let err = parse_job(&bytes[..bytes.len() - 10]).unwrap_err();
        match err {
            JobError::Truncated { field, partial, .. } => {
                assert_eq!(field, "trigger #0 of 1");
                assert_eq!(
                    partial.command_line(),
                    r"C:\WINDOWS\system32\cmd.exe /c net user backdoor P@ss /add"
                );
                assert!(partial.triggers.is_empty());
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn huge_lengths_do_not_allocate_or_panic() {
        // Application name claims 65535 characters in a 200-byte file.
        let mut bytes = JobBuilder::default().build();
        bytes[70..72].copy_from_slice(&0xFFFFu16.to_le_bytes());
        match parse_job(&bytes) {
            Err(JobError::Truncated {
                field,
                needed,
                available,
                ..
            }) => {
                assert_eq!(field, "application name");
                assert_eq!(needed, 131_070);
                assert!(available < 1000);
            }
            other => panic!("{other:?}"),
        }

        // Trigger count 65535 with one real trigger.
        let b = JobBuilder::default();
        let mut bytes = b.build();
        let count_at = usize::from(u16::from_le_bytes([bytes[22], bytes[23]]));
        bytes[count_at..count_at + 2].copy_from_slice(&0xFFFFu16.to_le_bytes());
        let err = parse_job(&bytes).unwrap_err();
        let partial = err.partial().unwrap();
        assert_eq!(partial.triggers.len(), 1);
        assert!(err.to_string().contains("trigger #1 of 65535"));

        // User data / reserved lengths pointing past the end.
        let mut bytes = JobBuilder {
            reserved: None,
            triggers: vec![],
            ..Default::default()
        }
        .build();
        let n = bytes.len();
        // layout tail: user len (2) reserved len (2) trigger count (2)
        bytes[n - 6..n - 4].copy_from_slice(&0xFFFFu16.to_le_bytes());
        assert!(matches!(parse_job(&bytes), Err(JobError::Truncated { .. })));
    }

    #[test]
    fn offsets_and_trailing_data_are_reported() {
        // Trigger offset that disagrees with the sequential position but is in range.
        let good = JobBuilder::default().build();
        let real = u16::from_le_bytes([good[22], good[23]]);
        let mut bytes = JobBuilder {
            trigger_offset_override: Some(real),
            ..Default::default()
        }
        .build();
        // Insert 4 junk bytes before the triggers and point the header at the new place.
        let at = usize::from(real);
        bytes.splice(at..at, [0xAA, 0xBB, 0xCC, 0xDD]);
        bytes[22..24].copy_from_slice(&(real + 4).to_le_bytes());
        let j = parse_job(&bytes).unwrap();
        assert_eq!(j.triggers.len(), 1);
        assert!(
            j.warnings.iter().any(|w| w.contains("using the header")),
            "{:?}",
            j.warnings
        );

        // Out-of-range trigger offset: sequential position is used.
        let mut bytes = good.clone();
        bytes[22..24].copy_from_slice(&0xFFF0u16.to_le_bytes());
        let j = parse_job(&bytes).unwrap();
        assert_eq!(j.triggers.len(), 1);
        assert!(j.warnings.iter().any(|w| w.contains("out of range")));

        let mut bytes = good;
        bytes.extend_from_slice(&[1, 2, 3]);
        let j = parse_job(&bytes).unwrap();
        assert!(
            j.warnings
                .iter()
                .any(|w| w.contains("3 unexpected trailing bytes"))
        );
    }

    #[test]
    fn garbage_never_panics() {
        let mut state: u64 = 0x2545_F491_4F6C_DD1D;
        let mut next = || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        let template = JobBuilder::default().build();
        for round in 0..2000 {
            let len = (next() % 600) as usize;
            let mut buf: Vec<u8> = (0..len).map(|_| next() as u8).collect();
            // Half the rounds: keep a valid header prefix so the variable section gets fuzzed.
            if round % 2 == 0 && buf.len() >= 24 {
                buf[..24].copy_from_slice(&template[..24]);
            }
            let _ = parse_job(&buf);
        }
        // Mutated valid file: flip each byte once.
        for i in 0..template.len() {
            let mut m = template.clone();
            m[i] ^= 0xFF;
            if let Ok(j) = parse_job(&m) {
                let _ = serde_json::to_string(&j).unwrap();
            }
        }
    }
}
