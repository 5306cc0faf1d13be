//! Typed views of `[Service]` and `[Timer]`: what runs, as whom, and when.

use serde::{Deserialize, Serialize};

/// The special executable prefixes of systemd.service(5) "Command lines".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ExecPrefix {
    /// `@`: the second word is passed as argv[0].
    Argv0,
    /// `-`: a failure exit code is ignored.
    IgnoreFailure,
    /// `:`: no environment variable substitution.
    NoEnvSubstitution,
    /// `+`: runs with full privileges (User=, sandboxing not applied).
    FullPrivileges,
    /// `!`: credentials are not changed by systemd (the program drops them itself).
    NoCredentialChange,
    /// `!!`: like `!` but only on systems without ambient capabilities.
    AmbientCapabilitiesFallback,
    /// `|`: the command line is run through the user's shell (systemd 258).
    ViaShell,
}

/// One command of an `Exec*=` setting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub struct ExecLine {
    /// The command as written: the assignment value, or for a `;`-separated command list this
    /// command's part of it.
    pub raw: String,
    pub line_number: usize,
    pub prefixes: Vec<ExecPrefix>,
    /// The executable (first word, prefixes removed).
    pub path: String,
    /// The argument vector the process gets; with `@` its argv[0] differs from `path`.
    pub argv: Vec<String>,
}

/// `Environment=` assignment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
// Two parsers have an `EnvVar`: distinct schema names instead of schemars' `EnvVar2`.
#[schemars(rename = "SystemdEnvVar")]
pub struct EnvVar {
    pub name: String,
    pub value: String,
}

/// `EnvironmentFile=` entry; a leading `-` makes a missing file acceptable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub struct EnvironmentFile {
    pub path: String,
    pub optional: bool,
}

/// Service `Type=`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServiceType {
    Simple,
    Exec,
    Forking,
    Oneshot,
    Dbus,
    Notify,
    NotifyReload,
    Idle,
    Other(String),
}

crate::string_enum::string_enum!(ServiceType {
    Simple = "simple",
    Exec = "exec",
    Forking = "forking",
    Oneshot = "oneshot",
    Dbus = "dbus",
    Notify = "notify",
    NotifyReload = "notify_reload",
    Idle = "idle",
} else Other(String));

/// Typed view of `[Timer]`. Time spans and calendar expressions stay as written (systemd.time(7)).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub struct TimerSpec {
    pub on_calendar: Vec<String>,
    pub on_boot_sec: Vec<String>,
    pub on_startup_sec: Vec<String>,
    pub on_active_sec: Vec<String>,
    pub on_unit_active_sec: Vec<String>,
    pub on_unit_inactive_sec: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub persistent: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub randomized_delay_sec: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accuracy_sec: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wake_system: Option<bool>,
    /// `Unit=` override of the activated unit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
}

/// Typed view of `[Service]`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub struct ServiceSpec {
    pub exec_start: Vec<ExecLine>,
    pub exec_start_pre: Vec<ExecLine>,
    pub exec_start_post: Vec<ExecLine>,
    pub exec_stop: Vec<ExecLine>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub working_directory: Option<String>,
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub type_: Option<ServiceType>,
    pub environment: Vec<EnvVar>,
    pub environment_file: Vec<EnvironmentFile>,
}

/// Which unit a timer activates: `Unit=` if set, otherwise the timer's own name with `.timer`
/// replaced by `.service` (templates keep their instance: `foo@bar.timer` → `foo@bar.service`).
pub fn timer_target_unit(timer_file_name: &str, timer: &TimerSpec) -> String {
    if let Some(u) = timer.unit.as_deref().filter(|u| !u.is_empty()) {
        return u.to_string();
    }
    let base = timer_file_name
        .rsplit(['/', '\\'])
        .next()
        .unwrap_or(timer_file_name);
    let stem = base.strip_suffix(".timer").unwrap_or(base);
    format!("{stem}.service")
}
