//! Reading the typed `[Service]` and `[Timer]` views out of a unit's sections, with systemd's
//! rules: an empty assignment resets a list, the last assignment of a single-valued setting
//! wins, booleans are systemd's parse_boolean.
//!
//! Kept apart from the types in `specs`, which `UnitFile` holds: this reads a `UnitFile`.

use std::collections::HashSet;

use super::specs::{
    EnvVar, EnvironmentFile, ExecLine, ExecPrefix, ServiceSpec, ServiceType, TimerSpec,
};
use super::unit::{UnitFile, UnitWarning};
use super::words::{Word, split_words, split_words_exec};
use super::{WS, Warns, excerpt};

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
