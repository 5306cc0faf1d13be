//! Typed views of `[Service]` and `[Timer]`: what runs, as whom, and when.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

use super::unit::{UnitFile, UnitWarning};
use super::words::{Word, split_words, split_words_exec};
use super::{WS, Warns, excerpt};

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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
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

/// systemd's parse_boolean.
fn parse_bool(v: &str) -> Option<bool> {
    match v.to_ascii_lowercase().as_str() {
        "1" | "yes" | "y" | "true" | "t" | "on" => Some(true),
        "0" | "no" | "n" | "false" | "f" | "off" => Some(false),
        _ => None,
    }
}

/// Collects a list setting honouring "empty assignment resets".
fn list(unit: &UnitFile, section: &str, key: &str) -> Vec<String> {
    let mut out = Vec::new();
    for e in unit.values(section, key) {
        if e.value.is_empty() {
            out.clear();
        } else {
            out.push(e.value.clone());
        }
    }
    out
}

/// Single-valued setting: last non-reset assignment wins; an empty assignment unsets it.
fn single(unit: &UnitFile, section: &str, key: &str) -> Option<String> {
    unit.last_value(section, key)
        .filter(|v| !v.is_empty())
        .map(str::to_string)
}

fn boolean(unit: &UnitFile, section: &str, key: &str, warns: &mut Warns) -> Option<bool> {
    let e = unit.values(section, key).last()?;
    if e.value.is_empty() {
        return None;
    }
    let b = parse_bool(&e.value);
    if b.is_none() {
        warns.push(UnitWarning::InvalidBoolean {
            line: e.line_number,
            key: key.to_string(),
            value: excerpt(&e.value),
        });
    }
    b
}

pub(super) fn build_timer(unit: &UnitFile, warns: &mut Warns) -> TimerSpec {
    const S: &str = "Timer";
    TimerSpec {
        on_calendar: list(unit, S, "OnCalendar"),
        on_boot_sec: list(unit, S, "OnBootSec"),
        on_startup_sec: list(unit, S, "OnStartupSec"),
        on_active_sec: list(unit, S, "OnActiveSec"),
        on_unit_active_sec: list(unit, S, "OnUnitActiveSec"),
        on_unit_inactive_sec: list(unit, S, "OnUnitInactiveSec"),
        persistent: boolean(unit, S, "Persistent", warns),
        randomized_delay_sec: single(unit, S, "RandomizedDelaySec"),
        accuracy_sec: single(unit, S, "AccuracySec"),
        wake_system: boolean(unit, S, "WakeSystem", warns),
        unit: single(unit, S, "Unit"),
    }
}

pub(super) fn build_service(unit: &UnitFile, warns: &mut Warns) -> ServiceSpec {
    const S: &str = "Service";
    let exec = |key: &str, warns: &mut Warns| -> Vec<ExecLine> {
        let mut out = Vec::new();
        for e in unit.values(S, key) {
            if e.value.is_empty() {
                out.clear();
            } else {
                out.extend(parse_exec_value(&e.value, e.line_number, key, warns));
            }
        }
        out
    };
    // Every assignment in order; a later one of the same name overrides the earlier one and
    // takes its place at the end. Deduplicated once below: removing the earlier copy at each
    // assignment (`retain`) was quadratic, and 100k distinct variables on one `Environment=`
    // line hung the parser (tests/hostile.rs `systemd_distinct_environment_is_linear`).
    let mut environment: Vec<EnvVar> = Vec::new();
    for e in unit.values(S, "Environment") {
        if e.value.is_empty() {
            environment.clear();
            continue;
        }
        let (words, ok) = split_words(&e.value);
        if !ok {
            warns.push(UnitWarning::UnterminatedQuote {
                line: e.line_number,
                key: "Environment".into(),
                text: excerpt(&e.value),
            });
        }
        for w in words {
            match w.split_once('=') {
                Some((n, v)) if !n.is_empty() => {
                    environment.push(EnvVar {
                        name: n.to_string(),
                        value: v.to_string(),
                    });
                }
                _ => warns.push(UnitWarning::InvalidEnvironment {
                    line: e.line_number,
                    word: excerpt(&w),
                }),
            }
        }
    }
    // Keep the last assignment of each name, in the order of those last assignments.
    let mut seen = HashSet::new();
    let mut environment: Vec<EnvVar> = environment
        .into_iter()
        .rev()
        .filter(|v| seen.insert(v.name.clone()))
        .collect();
    environment.reverse();
    let environment_file = list(unit, S, "EnvironmentFile")
        .into_iter()
        .map(|v| match v.strip_prefix('-') {
            Some(p) => EnvironmentFile {
                path: p.to_string(),
                optional: true,
            },
            None => EnvironmentFile {
                path: v,
                optional: false,
            },
        })
        .collect();
    let type_ = single(unit, S, "Type").map(|t| match t.as_str() {
        "simple" => ServiceType::Simple,
        "exec" => ServiceType::Exec,
        "forking" => ServiceType::Forking,
        "oneshot" => ServiceType::Oneshot,
        "dbus" => ServiceType::Dbus,
        "notify" => ServiceType::Notify,
        "notify-reload" => ServiceType::NotifyReload,
        "idle" => ServiceType::Idle,
        _ => ServiceType::Other(t),
    });
    ServiceSpec {
        exec_start: exec("ExecStart", warns),
        exec_start_pre: exec("ExecStartPre", warns),
        exec_start_post: exec("ExecStartPost", warns),
        exec_stop: exec("ExecStop", warns),
        user: single(unit, S, "User"),
        group: single(unit, S, "Group"),
        working_directory: single(unit, S, "WorkingDirectory"),
        type_,
        environment,
        environment_file,
    }
}

/// Parses one `Exec*=` value into command lines. A lone `;` word separates commands (older systemd
/// syntax, still accepted); `\;` is a literal semicolon argument.
pub(super) fn parse_exec_value(
    value: &str,
    line: usize,
    key: &str,
    warns: &mut Warns,
) -> Vec<ExecLine> {
    let (words, ok) = split_words_exec(value);
    if !ok {
        warns.push(UnitWarning::UnterminatedQuote {
            line,
            key: key.to_string(),
            text: excerpt(value),
        });
    }
    let mut out = Vec::new();
    let mut cmd: Vec<String> = Vec::new();
    // Byte offset in `value` where the current command starts. Each command keeps only its own
    // slice of the value as `raw`: a copy of the whole value per command made a 576 KiB line of
    // 64k `;`-separated commands allocate 37 GB (tests/hostile.rs
    // `systemd_exec_command_list_is_linear`).
    let mut seg_start = 0usize;
    let mut finish =
        |cmd: &mut Vec<String>, seg_start: usize, seg_end: usize, warns: &mut Warns| {
            let raw = value
                .get(seg_start..seg_end)
                .unwrap_or(value)
                .trim_matches(WS)
                .to_string();
            if cmd.is_empty() {
                return;
            }
            let mut words = std::mem::take(cmd).into_iter();
            let first = words.next().unwrap_or_default();
            let (prefixes, rest) = exec_prefixes(&first);
            let mut rest_words: Vec<String> = words.collect();
            let (path, argv) = if prefixes.contains(&ExecPrefix::Argv0) {
                let argv = rest_words;
                (rest.to_string(), argv)
            } else {
                rest_words.insert(0, rest.to_string());
                (rest.to_string(), rest_words)
            };
            if path.is_empty() {
                warns.push(UnitWarning::EmptyCommand {
                    line,
                    key: key.to_string(),
                });
            }
            out.push(ExecLine {
                raw,
                line_number: line,
                prefixes,
                path,
                argv,
            });
        };
    for w in words {
        match w {
            Word::Separator { start, end } => {
                finish(&mut cmd, seg_start, start, warns);
                seg_start = end;
            }
            Word::Text(t) => cmd.push(t),
        }
    }
    finish(&mut cmd, seg_start, value.len(), warns);
    out
}

/// Splits the special prefixes off the first word.
fn exec_prefixes(first: &str) -> (Vec<ExecPrefix>, &str) {
    let mut prefixes = Vec::new();
    let mut rest = first;
    loop {
        if let Some(r) = rest.strip_prefix("!!") {
            prefixes.push(ExecPrefix::AmbientCapabilitiesFallback);
            rest = r;
            continue;
        }
        let p = match rest.chars().next() {
            Some('@') => ExecPrefix::Argv0,
            Some('-') => ExecPrefix::IgnoreFailure,
            Some(':') => ExecPrefix::NoEnvSubstitution,
            Some('+') => ExecPrefix::FullPrivileges,
            Some('!') => ExecPrefix::NoCredentialChange,
            Some('|') => ExecPrefix::ViaShell,
            _ => break,
        };
        prefixes.push(p);
        rest = rest.get(1..).unwrap_or("");
    }
    (prefixes, rest)
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
