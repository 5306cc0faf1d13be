//! One record shape for "something scheduled to run", whatever scheduled it: a Windows task
//! (XML or legacy `.job`), a cron line, an anacron job, a script in `/etc/cron.daily`, an at job,
//! a systemd timer. `kind` tells them apart; the common fields (what runs, as whom, when, from
//! which file) are filled by every kind so one query covers all of them, and the full parse of
//! each format sits in its own typed, optional sub-object (`windows_task`, `cron`, `systemd`...).

use super::{Sha256, Timestamp};
use crate::parsers::cron::{AnacronPeriod, AtJob, CronSchedule, CrontabKind, EnvVar};
use crate::parsers::systemd_unit::{ServiceSpec, TimerSpec};
use crate::parsers::task_job::JobFile;
use crate::parsers::task_xml::TaskDefinition;
use serde::{Deserialize, Serialize};

/// What scheduled it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ScheduledKind {
    /// Task Scheduler 1.2+ XML under `C:\Windows\System32\Tasks`.
    WindowsTask,
    /// Legacy Task Scheduler 1.0 `.job` file under `C:\Windows\Tasks`.
    WindowsJob,
    /// A line of a system or user crontab.
    Cron,
    /// An executable dropped in `/etc/cron.{hourly,daily,weekly,monthly}/` (run by run-parts).
    CronScript,
    /// A line of `/etc/anacrontab`.
    Anacron,
    /// An at(1) job waiting in the spool.
    At,
    /// A systemd `.timer` unit, joined to the service it activates.
    SystemdTimer,
}

/// How far the source file could be parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ParseStatus {
    Ok,
    /// Damaged or cut short: the fields hold what could be read before the damage.
    Partial,
    /// Nothing could be parsed; the record still points at the (copied, hashed) file.
    Failed,
}

/// When a trigger fires, normalised across schedulers so one query finds e.g. every
/// "at boot" job on any OS.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TriggerType {
    /// A point in time (Windows TimeTrigger / .job "once", at jobs), possibly repeating.
    Time,
    /// A calendar rule: Windows CalendarTrigger, a cron expression, systemd `OnCalendar=`.
    Calendar,
    /// Every N days (anacron).
    Period,
    /// At boot: Windows BootTrigger, cron `@reboot`, systemd `OnBootSec=`.
    Boot,
    /// When the (user) service manager starts: systemd `OnStartupSec=`.
    Startup,
    Logon,
    Idle,
    /// Windows EventTrigger (an event-log subscription).
    Event,
    /// When the task is created or updated.
    Registration,
    SessionStateChange,
    WnfStateChange,
    /// systemd `OnActiveSec=`: relative to the timer's own activation.
    TimerActivated,
    /// systemd `OnUnitActiveSec=`: relative to the last activation of the service.
    UnitActive,
    /// systemd `OnUnitInactiveSec=`: relative to the last deactivation of the service.
    UnitInactive,
    /// Anything else, by its native name.
    Other(String),
}

crate::string_enum::string_enum!(TriggerType {
    Time = "time",
    Calendar = "calendar",
    Period = "period",
    Boot = "boot",
    Startup = "startup",
    Logon = "logon",
    Idle = "idle",
    Event = "event",
    Registration = "registration",
    SessionStateChange = "session_state_change",
    WnfStateChange = "wnf_state_change",
    TimerActivated = "timer_activated",
    UnitActive = "unit_active",
    UnitInactive = "unit_inactive",
} else Other(String));

/// One trigger. Values are kept as written (durations, calendar expressions, local times);
/// `start_utc` is set only when the source gives an absolute instant.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ScheduledTrigger {
    #[serde(rename = "type")]
    pub trigger_type: TriggerType,
    /// The rule as written: a cron expression, `@daily`, an `OnCalendar=` value, a Windows
    /// calendar summary, an anacron period.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expression: Option<String>,
    /// Start as written (Windows local wall-clock time, usually without zone).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_utc: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub end: Option<String>,
    /// Fixed delay after the event (Windows `Delay`, systemd `OnBootSec=` value, anacron delay).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delay: Option<String>,
    /// Random delay (Windows `RandomDelay`, systemd `RandomizedDelaySec=`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub random_delay: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repetition_interval: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub repetition_duration: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    /// The user a logon/session trigger is scoped to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Event subscription query, session state change, WNF state name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub condition: Option<String>,
}

impl ScheduledTrigger {
    pub fn new(trigger_type: TriggerType) -> ScheduledTrigger {
        ScheduledTrigger {
            trigger_type,
            expression: None,
            start: None,
            start_utc: None,
            end: None,
            delay: None,
            random_delay: None,
            repetition_interval: None,
            repetition_duration: None,
            enabled: None,
            user: None,
            condition: None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ActionKind {
    /// Starts a program with arguments.
    Exec,
    /// A command line handed to a shell (cron, anacron, at).
    Shell,
    /// Windows COM handler: `command` is the CLSID.
    ComHandler,
    SendEmail,
    ShowMessage,
    Other,
}

/// What runs. `command_line` is the whole thing as the scheduler would start it, with
/// `%VARS%`, `$VARS` and `$(Arg0)` left unexpanded: it is what detection rules match.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ScheduledAction {
    pub kind: ActionKind,
    /// Program (Exec), shell text (Shell) or CLSID (ComHandler).
    pub command: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub arguments: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub working_directory: Option<String>,
    pub command_line: String,
    /// The argument vector, when the scheduler splits it itself (systemd).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub argv: Vec<String>,
    /// The shell that runs a `Shell` action (cron's `SHELL=`, the at job's `#!`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shell: Option<String>,
    /// Text fed to the command's standard input (cron's `%`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stdin: Option<String>,
    /// COM handler data.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<String>,
    /// `command_line` (or `command`) was cut to the record's field limit; the raw file has it all.
    #[serde(default, skip_serializing_if = "is_false")]
    pub truncated: bool,
}

/// A cron or anacron line's own detail.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CronDetail {
    pub crontab: CrontabKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schedule: Option<CronSchedule>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub period: Option<AnacronPeriod>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delay_minutes: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job_identifier: Option<String>,
    /// Environment in effect for this line (last assignment of each name wins).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub environment: Vec<EnvVar>,
    /// The line had bytes that are not UTF-8 (replaced by U+FFFD in the record).
    #[serde(default, skip_serializing_if = "is_false")]
    pub lossy_utf8: bool,
}

/// A script run by run-parts from `/etc/cron.<period>/`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CronScriptDetail {
    /// `hourly`, `daily`, `weekly` or `monthly`.
    pub period: String,
    /// Any execute bit set: run-parts skips files without one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub executable: Option<bool>,
    /// Debian's run-parts only runs names made of `A-Za-z0-9_-` (no dots).
    pub debian_run_parts_name: bool,
    /// First line when it is a `#!` line.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interpreter: Option<String>,
    /// The entry is a symlink (its target, in scope, was read).
    #[serde(default, skip_serializing_if = "is_false")]
    pub symlink: bool,
}

/// An at(1) job: what the spool file name and header say.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct AtDetail {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub queue: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub job_number: Option<u32>,
    /// Run time from the file name (minutes since the epoch, UTC).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_time: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uid: Option<u32>,
    pub job: Box<AtJob>,
}

/// Where a systemd unit file was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum UnitScope {
    System,
    /// A user unit: global (`/etc/systemd/user`, `/usr/lib/systemd/user`) or one user's own.
    User,
}

/// A timer and the service it activates.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SystemdDetail {
    pub scope: UnitScope,
    /// The user whose `~/.config/systemd/user` holds it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    pub timer: TimerSpec,
    /// The unit the timer activates (`Unit=` or the timer's name with `.service`).
    pub service_unit: String,
    /// Where that service was found (display form); `None` when no unit directory has it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_archive_member: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_sha256: Option<Sha256>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service_description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service: Option<ServiceSpec>,
    /// `[Install] WantedBy=` of the timer.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub wanted_by: Vec<String>,
    /// `*.wants/` (or `.requires/`) links naming this timer: it is enabled.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub enabled_by: Vec<String>,
    /// The unit is a symlink to `/dev/null` (masked): systemd will not start it.
    #[serde(default, skip_serializing_if = "is_false")]
    pub masked: bool,
    /// A unit of the same name in a directory of higher precedence replaces this file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub overridden_by: Option<String>,
    /// Created by `systemd-run` (`/run/systemd/transient`): running now, gone at reboot.
    #[serde(default, skip_serializing_if = "is_false")]
    pub transient: bool,
    /// Drop-in files (`<unit>.d/*.conf`) applied to the timer and the service, in order: an
    /// override can replace `ExecStart=` without touching the unit file.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub drop_ins: Vec<String>,
}

/// Something scheduled to run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ScheduledTaskRecord {
    pub kind: ScheduledKind,
    /// Task path (`\Microsoft\Windows\Defrag\ScheduledDefrag`), unit name, crontab owner and
    /// line, job identifier, script name.
    pub name: String,
    /// The file it came from, as the evidence's OS writes the path.
    pub source_path: String,
    /// The raw copy in the archive.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub archive_member: Option<String>,
    /// SHA-256 of the whole source file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sha256: Option<Sha256>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file_size: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file_mtime: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file_owner: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file_uid: Option<u32>,
    /// 1-based line for line-oriented sources (cron, anacron).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line_number: Option<usize>,
    /// The line as written (lossy UTF-8), next to its parsed fields.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub raw_line: Option<String>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub raw_line_truncated: bool,
    /// Account (or Windows principal: user or group id) the actions run as.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_as: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hidden: Option<bool>,
    /// When it runs, in words.
    pub schedule: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub triggers: Vec<ScheduledTrigger>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub actions: Vec<ScheduledAction>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    /// Windows registration date as written (local time, usually without zone).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub registration_date: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub registration_date_utc: Option<Timestamp>,
    /// Windows task URI as stored in the file (may differ from its location: worth a look).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
    pub parse_status: ParseStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parse_error: Option<String>,
    /// Oddities met while parsing this item (bad fields, encoding mismatch, owner mismatch...).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub windows_task: Option<Box<TaskDefinition>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub windows_job: Option<Box<JobFile>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cron: Option<CronDetail>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cron_script: Option<CronScriptDetail>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at_job: Option<AtDetail>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub systemd: Option<Box<SystemdDetail>>,
}

impl ScheduledTaskRecord {
    /// A record with the evidence pointer filled and everything else empty.
    pub fn new(kind: ScheduledKind, name: String, source_path: String) -> ScheduledTaskRecord {
        ScheduledTaskRecord {
            kind,
            name,
            source_path,
            archive_member: None,
            sha256: None,
            file_size: None,
            file_mtime: None,
            file_owner: None,
            file_uid: None,
            line_number: None,
            raw_line: None,
            raw_line_truncated: false,
            run_as: None,
            enabled: None,
            hidden: None,
            schedule: String::new(),
            triggers: Vec::new(),
            actions: Vec::new(),
            description: None,
            author: None,
            registration_date: None,
            registration_date_utc: None,
            uri: None,
            parse_status: ParseStatus::Ok,
            parse_error: None,
            warnings: Vec::new(),
            windows_task: None,
            windows_job: None,
            cron: None,
            cron_script: None,
            at_job: None,
            systemd: None,
        }
    }
}

fn is_false(b: &bool) -> bool {
    !*b
}
