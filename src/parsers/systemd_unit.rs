//! systemd unit files: timers and the services they activate (MITRE ATT&CK T1053.006 Systemd Timers,
//! T1543.002 Systemd Service).
//!
//! Where they live (Linux): system units in `/etc/systemd/system/`, `/run/systemd/system/`,
//! `/usr/lib/systemd/system/`, `/lib/systemd/system/` (plus `*.d/*.conf` drop-ins, same syntax);
//! user units in `~/.config/systemd/user/`, `/etc/systemd/user/`, `/usr/lib/systemd/user/`; transient
//! units from `systemd-run --on-calendar` in `/run/systemd/transient/` (`/run/user/<uid>/systemd/transient/`).
//!
//! What we record: every section and `Key=Value` in file order with its line number (continuation lines
//! joined), and typed views of `[Timer]` (schedules, `Unit=` override) and `[Service]` (Exec lines split
//! into prefixes, path and argv with systemd's quoting; user, group, directory, environment). List keys
//! follow systemd's rule that an empty assignment resets the list. Lines systemd would reject become
//! warnings, and parsing continues.
//!
//! References: systemd.syntax(7), systemd.unit(5), systemd.timer(5), systemd.service(5) ("Command
//! lines"), systemd.exec(5) (`Environment=`).

use std::collections::HashSet;

use serde::{Deserialize, Serialize};

/// Cap on stored warnings.
const MAX_WARNINGS: usize = 1000;
/// systemd refuses lines longer than this (LONG_LINE_MAX); we still parse them but say so.
const SYSTEMD_LINE_MAX: usize = 1024 * 1024;
/// Longest excerpt of an offending line kept in a warning.
const WARN_TEXT_MAX: usize = 200;

/// One `Key=Value` assignment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub struct UnitEntry {
    pub key: String,
    /// Value with surrounding whitespace removed and continuation lines joined; quotes untouched.
    pub value: String,
    /// First line of the assignment (1-based).
    pub line_number: usize,
}

/// A `[Section]` and its assignments in file order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub struct UnitSection {
    pub name: String,
    pub line_number: usize,
    pub entries: Vec<UnitEntry>,
}

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

/// Lines systemd would complain about; parsing continues.
#[derive(
    Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema, thiserror::Error,
)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum UnitWarning {
    #[error("line {line}: assignment outside of any section: {text:?}")]
    OutsideSection { line: usize, text: String },
    #[error("line {line}: no '=' in line: {text:?}")]
    MissingEquals { line: usize, text: String },
    #[error("line {line}: malformed section header: {text:?}")]
    BadSectionHeader { line: usize, text: String },
    #[error("line {line}: empty key: {text:?}")]
    EmptyKey { line: usize, text: String },
    #[error("line {line}: {key}= has unterminated quoting: {text:?}")]
    UnterminatedQuote {
        line: usize,
        key: String,
        text: String,
    },
    #[error("line {line}: {key}= is not a boolean: {value:?}")]
    InvalidBoolean {
        line: usize,
        key: String,
        value: String,
    },
    #[error("line {line}: Environment= word without '=': {word:?}")]
    InvalidEnvironment { line: usize, word: String },
    #[error("line {line}: {key}= has no executable")]
    EmptyCommand { line: usize, key: String },
    #[error("line {line}: {length} bytes, longer than systemd accepts")]
    LineTooLong { line: usize, length: usize },
    #[error("line {line}: invalid UTF-8 replaced")]
    InvalidUtf8 { line: usize },
    #[error("file ends inside a continued line started at line {line}")]
    UnterminatedContinuation { line: usize },
}

/// A parsed unit file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub struct UnitFile {
    pub sections: Vec<UnitSection>,
    /// `[Unit] Description=`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// `[Install] WantedBy=` (space-separated lists flattened).
    pub wanted_by: Vec<String>,
    /// Present when the file has a `[Timer]` section.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timer: Option<TimerSpec>,
    /// Present when the file has a `[Service]` section.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub service: Option<ServiceSpec>,
    pub warnings: Vec<UnitWarning>,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub warnings_suppressed: usize,
    pub lossy_utf8: bool,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

impl UnitFile {
    /// All values of `key` in every `[section]` (duplicate sections merge, as in systemd), in order,
    /// including empty resets.
    pub fn values<'a, 'b>(
        &'a self,
        section: &'b str,
        key: &'b str,
    ) -> impl Iterator<Item = &'a UnitEntry> + use<'a, 'b> {
        self.sections
            .iter()
            .filter(move |s| s.name == section)
            .flat_map(|s| s.entries.iter())
            .filter(move |e| e.key == key)
    }

    /// The last value of `key` in `[section]` (single-valued settings: last one wins).
    pub fn last_value(&self, section: &str, key: &str) -> Option<&str> {
        self.values(section, key).last().map(|e| e.value.as_str())
    }
}

type Warns = super::capped::Capped<UnitWarning>;

fn excerpt(s: &str) -> String {
    super::capped::excerpt(s, WARN_TEXT_MAX)
}

const WS: &[char] = &[' ', '\t', '\n', '\r'];

/// True when `s` ends in an unescaped backslash (systemd's continuation rule).
fn continues(s: &str) -> bool {
    s.bytes().rev().take_while(|&b| b == b'\\').count() % 2 == 1
}

/// Parses a unit file (systemd.syntax(7)).
pub fn parse_unit(text: &[u8]) -> UnitFile {
    let (full, lossy) = match String::from_utf8_lossy(text) {
        std::borrow::Cow::Borrowed(s) => (std::borrow::Cow::Borrowed(s), false),
        std::borrow::Cow::Owned(s) => (std::borrow::Cow::Owned(s), true),
    };
    let full = full.strip_prefix('\u{feff}').unwrap_or(&full);
    let mut warns = Warns::new(MAX_WARNINGS);
    let mut sections: Vec<UnitSection> = Vec::new();
    // (start line, accumulated logical line)
    let mut pending: Option<(usize, String)> = None;

    let mut lines = full.split('\n').enumerate().peekable();
    while let Some((idx, raw_line)) = lines.next() {
        let ln = idx + 1;
        if lossy && raw_line.contains('\u{fffd}') {
            warns.push(UnitWarning::InvalidUtf8 { line: ln });
        }
        if raw_line.len() > SYSTEMD_LINE_MAX {
            warns.push(UnitWarning::LineTooLong {
                line: ln,
                length: raw_line.len(),
            });
        }
        let line = raw_line.trim_end_matches(WS);
        let is_last = lines.peek().is_none();
        let (start, logical) = match pending.take() {
            Some((start, mut acc)) => {
                // Comment lines inside a continuation are skipped, as systemd does.
                let t = line.trim_start_matches(WS);
                if t.starts_with('#') || t.starts_with(';') {
                    if is_last {
                        warns.push(UnitWarning::UnterminatedContinuation { line: start });
                        (start, acc)
                    } else {
                        pending = Some((start, acc));
                        continue;
                    }
                } else if continues(line) {
                    acc.push_str(line.get(..line.len() - 1).unwrap_or(""));
                    acc.push(' ');
                    if is_last {
                        warns.push(UnitWarning::UnterminatedContinuation { line: start });
                        (start, acc)
                    } else {
                        pending = Some((start, acc));
                        continue;
                    }
                } else {
                    acc.push_str(line);
                    (start, acc)
                }
            }
            None => {
                let t = line.trim_start_matches(WS);
                if t.is_empty() || t.starts_with('#') || t.starts_with(';') {
                    continue;
                }
                if continues(line) && !t.starts_with('[') {
                    let mut acc = String::with_capacity(line.len());
                    acc.push_str(line.get(..line.len() - 1).unwrap_or(""));
                    acc.push(' ');
                    if is_last {
                        warns.push(UnitWarning::UnterminatedContinuation { line: ln });
                        (ln, acc)
                    } else {
                        pending = Some((ln, acc));
                        continue;
                    }
                } else {
                    (ln, line.to_string())
                }
            }
        };
        handle_logical_line(start, &logical, &mut sections, &mut warns);
    }

    let mut unit = UnitFile {
        sections,
        description: None,
        wanted_by: Vec::new(),
        timer: None,
        service: None,
        warnings: Vec::new(),
        warnings_suppressed: 0,
        lossy_utf8: lossy,
    };
    unit.description = unit.last_value("Unit", "Description").map(str::to_string);
    let mut wanted_by = Vec::new();
    for e in unit.values("Install", "WantedBy") {
        if e.value.is_empty() {
            wanted_by.clear();
        } else {
            wanted_by.extend(e.value.split_whitespace().map(str::to_string));
        }
    }
    unit.wanted_by = wanted_by;
    if unit.sections.iter().any(|s| s.name == "Timer") {
        unit.timer = Some(build_timer(&unit, &mut warns));
    }
    if unit.sections.iter().any(|s| s.name == "Service") {
        unit.service = Some(build_service(&unit, &mut warns));
    }
    unit.warnings = warns.list;
    unit.warnings_suppressed = warns.suppressed;
    unit
}

fn handle_logical_line(ln: usize, line: &str, sections: &mut Vec<UnitSection>, warns: &mut Warns) {
    let t = line.trim_matches(WS);
    if let Some(rest) = t.strip_prefix('[') {
        let name = match rest.strip_suffix(']') {
            Some(n) => n,
            None => {
                warns.push(UnitWarning::BadSectionHeader {
                    line: ln,
                    text: excerpt(t),
                });
                rest.split(']').next().unwrap_or(rest)
            }
        };
        sections.push(UnitSection {
            name: name.to_string(),
            line_number: ln,
            entries: Vec::new(),
        });
        return;
    }
    let Some((k, v)) = t.split_once('=') else {
        warns.push(UnitWarning::MissingEquals {
            line: ln,
            text: excerpt(t),
        });
        return;
    };
    let key = k.trim_matches(WS);
    if key.is_empty() {
        warns.push(UnitWarning::EmptyKey {
            line: ln,
            text: excerpt(t),
        });
        return;
    }
    let Some(section) = sections.last_mut() else {
        warns.push(UnitWarning::OutsideSection {
            line: ln,
            text: excerpt(t),
        });
        return;
    };
    section.entries.push(UnitEntry {
        key: key.to_string(),
        value: v.trim_matches(WS).to_string(),
        line_number: ln,
    });
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

fn build_timer(unit: &UnitFile, warns: &mut Warns) -> TimerSpec {
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

fn build_service(unit: &UnitFile, warns: &mut Warns) -> ServiceSpec {
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
fn parse_exec_value(value: &str, line: usize, key: &str, warns: &mut Warns) -> Vec<ExecLine> {
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

enum Word {
    Text(String),
    /// A lone `;` at these byte offsets of the value.
    Separator {
        start: usize,
        end: usize,
    },
}

/// Word splitting for Exec lines: like [`split_words`], but an unquoted, unescaped lone `;`
/// separates commands.
fn split_words_exec(s: &str) -> (Vec<Word>, bool) {
    let mut out = Vec::new();
    let ok = split_core(s, |word, bare_semicolon, start| {
        if bare_semicolon {
            out.push(Word::Separator {
                start,
                end: start + 1,
            });
        } else {
            out.push(Word::Text(word));
        }
    });
    (out, ok)
}

/// Splits a value into words with systemd's rules (extract_first_word with UNQUOTE|CUNESCAPE|RELAX):
/// whitespace separates words, single and double quotes group, C-style backslash escapes are decoded.
/// Returns the words and false when a quote was left open (the rest is taken as the last word).
pub fn split_words(s: &str) -> (Vec<String>, bool) {
    let mut out = Vec::new();
    let ok = split_core(s, |word, _, _| out.push(word));
    (out, ok)
}

/// Calls `emit(word, is_bare_semicolon, byte offset of the word's first character)`.
fn split_core(s: &str, mut emit: impl FnMut(String, bool, usize)) -> bool {
    // Bytes taken from `s` so far (a peeked character counts as taken).
    let pulled = std::cell::Cell::new(0usize);
    let mut chars = s
        .chars()
        .inspect(|c| pulled.set(pulled.get() + c.len_utf8()))
        .peekable();
    let mut ok = true;
    loop {
        while chars.peek().is_some_and(|c| WS.contains(c)) {
            chars.next();
        }
        let Some(first) = chars.peek() else {
            break;
        };
        let start = pulled.get().saturating_sub(first.len_utf8());
        let mut word = String::new();
        let mut quote: Option<char> = None;
        // A word consisting of exactly one unquoted, unescaped ';'.
        let mut plain_semicolon = true;
        let mut len = 0usize;
        while let Some(c) = chars.next() {
            match (quote, c) {
                (None, c) if WS.contains(&c) => break,
                (None, '"' | '\'') => {
                    quote = Some(c);
                    plain_semicolon = false;
                }
                (Some(q), c) if c == q => quote = None,
                (_, '\\') => {
                    plain_semicolon = false;
                    unescape_one(&mut chars, &mut word);
                }
                (_, c) => {
                    if c != ';' {
                        plain_semicolon = false;
                    }
                    word.push(c);
                }
            }
            len += 1;
        }
        if quote.is_some() {
            ok = false;
        }
        let bare = plain_semicolon && len == 1 && word == ";";
        emit(word, bare, start);
    }
    ok
}

/// Decodes one C-style escape after a backslash (systemd cunescape, relaxed: unknown escapes keep
/// the backslash).
fn unescape_one<I: Iterator<Item = char>>(chars: &mut std::iter::Peekable<I>, out: &mut String) {
    let Some(c) = chars.next() else {
        out.push('\\');
        return;
    };
    let simple = match c {
        'a' => Some('\u{7}'),
        'b' => Some('\u{8}'),
        'f' => Some('\u{c}'),
        'n' => Some('\n'),
        'r' => Some('\r'),
        't' => Some('\t'),
        'v' => Some('\u{b}'),
        's' => Some(' '),
        '\\' | '"' | '\'' | ';' | ' ' => Some(c),
        _ => None,
    };
    if let Some(s) = simple {
        out.push(s);
        return;
    }
    let hex = |chars: &mut std::iter::Peekable<I>, n: usize, radix: u32| {
        let mut v: u32 = 0;
        let mut taken = String::new();
        for _ in 0..n {
            match chars.peek().and_then(|d| d.to_digit(radix)) {
                Some(d) => {
                    v = v.saturating_mul(radix).saturating_add(d);
                    taken.extend(chars.next());
                }
                None => return (None, taken),
            }
        }
        (char::from_u32(v), taken)
    };
    let (decoded, taken) = match c {
        'x' => hex(chars, 2, 16),
        'u' => hex(chars, 4, 16),
        'U' => hex(chars, 8, 16),
        '0'..='7' => {
            let (d, t) = hex(chars, 2, 8);
            let full = format!("{c}{t}");
            (
                d.and_then(|_| u32::from_str_radix(&full, 8).ok().and_then(char::from_u32)),
                t,
            )
        }
        _ => (None, String::new()),
    };
    match decoded {
        Some(ch) => out.push(ch),
        None => {
            out.push('\\');
            out.push(c);
            out.push_str(&taken);
        }
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(rel: &str) -> Vec<u8> {
        let p = format!("{}/../shared/fixtures/{}", env!("CARGO_MANIFEST_DIR"), rel);
        std::fs::read(&p).unwrap_or_else(|e| panic!("read {p}: {e}"))
    }

    fn keys(u: &UnitFile) -> Vec<String> {
        let mut k: Vec<String> = u
            .sections
            .iter()
            .flat_map(|s| s.entries.iter().map(|e| e.key.clone()))
            .collect();
        k.sort();
        k
    }

    #[test]
    fn debian_timers() {
        let dir = "linux/lib/systemd/system/";
        let u = parse_unit(&fixture(&format!("{dir}logrotate.timer")));
        assert!(u.warnings.is_empty(), "{:?}", u.warnings);
        let t = u.timer.as_ref().unwrap();
        assert_eq!(t.on_calendar, ["daily"]);
        assert_eq!(t.accuracy_sec.as_deref(), Some("1h"));
        assert_eq!(t.persistent, Some(true));
        assert_eq!(u.wanted_by, ["timers.target"]);
        assert_eq!(
            keys(&u),
            [
                "AccuracySec",
                "Description",
                "Documentation",
                "OnCalendar",
                "Persistent",
                "WantedBy"
            ]
        );
        assert_eq!(
            u.description.as_deref(),
            Some("Daily rotation of log files")
        );
        assert_eq!(timer_target_unit("logrotate.timer", t), "logrotate.service");
        assert!(u.service.is_none());

        let u = parse_unit(&fixture(&format!("{dir}e2scrub_all.timer")));
        assert!(u.warnings.is_empty(), "{:?}", u.warnings);
        let t = u.timer.as_ref().unwrap();
        assert_eq!(t.on_calendar, ["Sun *-*-* 03:10:00"]);
        assert_eq!(t.randomized_delay_sec.as_deref(), Some("60"));
        assert_eq!(
            keys(&u),
            [
                "Description",
                "OnCalendar",
                "Persistent",
                "RandomizedDelaySec",
                "WantedBy"
            ]
        );
        // The comment line inside [Timer] is not an entry.
        assert_eq!(u.sections[1].entries[0].line_number, 6);

        let u = parse_unit(&fixture(&format!("{dir}apt-daily.timer")));
        let t = u.timer.as_ref().unwrap();
        assert_eq!(t.on_calendar, ["*-*-* 6,18:00"]);
        assert_eq!(t.randomized_delay_sec.as_deref(), Some("12h"));
        assert_eq!(
            timer_target_unit("/lib/systemd/system/apt-daily.timer", t),
            "apt-daily.service"
        );

        let u = parse_unit(&fixture(&format!("{dir}anacron.timer")));
        let t = u.timer.as_ref().unwrap();
        assert_eq!(t.on_calendar, ["*-*-* 07..23:30"]);
        assert_eq!(t.randomized_delay_sec.as_deref(), Some("5m"));

        let u = parse_unit(&fixture(&format!("{dir}sysstat-collect.timer")));
        assert!(u.warnings.is_empty(), "{:?}", u.warnings);
        assert_eq!(u.timer.as_ref().unwrap().on_calendar, ["*:00/10"]);
        assert_eq!(u.timer.as_ref().unwrap().persistent, None);
        assert_eq!(u.wanted_by, ["sysstat.service"]);
        assert_eq!(keys(&u), ["Description", "OnCalendar", "WantedBy"]);
    }

    /// The service and timer T1053.006 test 1 writes with `echo ... >> file`, defaults substituted.
    #[test]
    fn atomic_t1053_006_units() {
        let yaml = String::from_utf8(fixture("atomics/T1053.006.yaml")).unwrap();
        let lines_for = |target: &str| -> String {
            let mut s = String::new();
            for l in yaml.lines() {
                let l = l.trim();
                if let Some(rest) = l.strip_prefix("echo \"")
                    && let Some((content, dest)) = rest.split_once("\" >")
                    && dest.trim_start_matches('>').trim() == target
                {
                    s.push_str(content);
                    s.push('\n');
                }
            }
            s.replace("#{systemd_service_name}", "art-timer.service")
        };
        let service = lines_for("#{path_to_systemd_service}");
        let timer = lines_for("#{path_to_systemd_timer}");
        assert_eq!(service.lines().count(), 7);
        assert_eq!(timer.lines().count(), 8);

        let s = parse_unit(service.as_bytes());
        assert!(s.warnings.is_empty(), "{:?}", s.warnings);
        let svc = s.service.unwrap();
        assert_eq!(svc.type_, Some(ServiceType::Simple));
        assert_eq!(svc.exec_start.len(), 1);
        assert_eq!(svc.exec_start[0].path, "/bin/touch");
        assert_eq!(
            svc.exec_start[0].argv,
            ["/bin/touch", "/tmp/art-systemd-timer-marker"]
        );
        assert!(svc.exec_start[0].prefixes.is_empty());
        assert_eq!(s.wanted_by, ["multi-user.target"]);

        let t = parse_unit(timer.as_bytes());
        assert!(t.warnings.is_empty(), "{:?}", t.warnings);
        let spec = t.timer.clone().unwrap();
        assert_eq!(spec.on_calendar, ["*-*-* *:*:00"]);
        assert_eq!(spec.unit.as_deref(), Some("art-timer.service"));
        assert_eq!(
            timer_target_unit("art-timer.timer", &spec),
            "art-timer.service"
        );
        assert_eq!(t.last_value("Unit", "Requires"), Some("art-timer.service"));

        // Tests 2/3: `systemd-run --unit=Atomic-Red-Team --on-calendar '*:0/1' /bin/sh -c '...'`
        // leaves a transient service whose ExecStart carries the quoted shell command.
        assert!(yaml.contains("systemd-run --unit=Atomic-Red-Team --on-calendar '*:0/1' /bin/sh -c 'echo \"$(date) $(whoami)\" >>/tmp/log'"));
        let transient = "[Service]\nExecStart=\"/bin/sh\" \"-c\" \"echo \\\"$(date) $(whoami)\\\" >>/tmp/log\"\n";
        let u = parse_unit(transient.as_bytes());
        let e = &u.service.unwrap().exec_start[0];
        assert_eq!(
            e.argv,
            ["/bin/sh", "-c", "echo \"$(date) $(whoami)\" >>/tmp/log"]
        );
    }

    #[test]
    fn exec_prefixes_quoting_resets_and_continuations() {
        let t = "[Unit]\r\nDescription=x\r\n[Service]\r\nExecStart=/bin/old\r\nExecStart=\r\n\
ExecStart=-@/usr/bin/python3 py 'a b' \"c\\\"d\" e\\x41 \\\r\n\
  # interleaved comment\r\n\
  --flag\r\n\
ExecStartPre=+!!/bin/prep ; /bin/second \\; last\r\n\
Environment=\"A=1 2\" B=3\r\nEnvironment=A=9\r\nEnvironmentFile=-/etc/default/x\r\n\
User=nobody\r\nType=weird\r\nWorkingDirectory=~\r\n";
        let u = parse_unit(t.as_bytes());
        assert!(u.warnings.is_empty(), "{:?}", u.warnings);
        let s = u.service.unwrap();
        assert_eq!(s.exec_start.len(), 1);
        let e = &s.exec_start[0];
        assert_eq!(e.prefixes, [ExecPrefix::IgnoreFailure, ExecPrefix::Argv0]);
        assert_eq!(e.path, "/usr/bin/python3");
        assert_eq!(e.argv, ["py", "a b", "c\"d", "eA", "--flag"]);
        assert_eq!(e.line_number, 6);
        assert_eq!(s.exec_start_pre.len(), 2);
        assert_eq!(
            s.exec_start_pre[0].prefixes,
            [
                ExecPrefix::FullPrivileges,
                ExecPrefix::AmbientCapabilitiesFallback
            ]
        );
        assert_eq!(s.exec_start_pre[1].argv, ["/bin/second", ";", "last"]);
        assert_eq!(
            s.environment,
            [
                EnvVar {
                    name: "B".into(),
                    value: "3".into()
                },
                EnvVar {
                    name: "A".into(),
                    value: "9".into()
                }
            ]
        );
        assert_eq!(s.environment_file[0].path, "/etc/default/x");
        assert!(s.environment_file[0].optional);
        assert_eq!(s.user.as_deref(), Some("nobody"));
        assert_eq!(s.type_, Some(ServiceType::Other("weird".into())));
        assert_eq!(s.working_directory.as_deref(), Some("~"));
        let json = serde_json::to_value(&u.sections).unwrap();
        assert_eq!(json[1]["entries"][0]["key"], "ExecStart");
    }

    #[test]
    fn templates_and_overrides() {
        let t = TimerSpec::default();
        assert_eq!(timer_target_unit("foo@bar.timer", &t), "foo@bar.service");
        assert_eq!(timer_target_unit("foo@.timer", &t), "foo@.service");
        assert_eq!(timer_target_unit("C:\\x\\odd", &t), "odd.service");
        let t = TimerSpec {
            unit: Some("evil.service".into()),
            ..TimerSpec::default()
        };
        assert_eq!(timer_target_unit("backup.timer", &t), "evil.service");
        let u = parse_unit(b"[Timer]\nOnCalendar=daily\nOnCalendar=\nOnCalendar=hourly\nOnBootSec=5min\nOnUnitActiveSec=1h\nWakeSystem=maybe\n");
        let ts = u.timer.unwrap();
        assert_eq!(ts.on_calendar, ["hourly"]);
        assert_eq!(ts.on_boot_sec, ["5min"]);
        assert_eq!(ts.on_unit_active_sec, ["1h"]);
        assert_eq!(ts.wake_system, None);
        assert!(matches!(
            u.warnings[0],
            UnitWarning::InvalidBoolean { line: 7, .. }
        ));
    }

    #[test]
    fn hostile_units() {
        // Lines outside a section, lines without '=', bad header, unterminated quote, trailing '\'.
        let t = b"Key=before\nnot an assignment\n[Service\nExecStart=/bin/sh -c 'unterminated\n=novalue\n[Service]\nExecStart=\nExecStart=  \nUser=a\\";
        let u = parse_unit(t);
        let kinds: Vec<String> = u
            .warnings
            .iter()
            .map(|w| {
                serde_json::to_value(w).unwrap()["kind"]
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect();
        assert_eq!(
            kinds,
            [
                "outside_section",
                "missing_equals",
                "bad_section_header",
                "empty_key",
                "unterminated_continuation",
                "unterminated_quote"
            ]
        );
        let s = u.service.unwrap();
        assert!(s.exec_start.is_empty());
        assert_eq!(s.user.as_deref(), Some("a"));
        let unterminated = u.sections[0].entries[0].value.clone();
        let lines = parse_exec_value(&unterminated, 4, "ExecStart", &mut Warns::new(MAX_WARNINGS));
        assert_eq!(lines[0].argv, ["/bin/sh", "-c", "unterminated"]);

        // Binary garbage, NUL bytes, invalid UTF-8.
        let garbage: Vec<u8> = (0..8192u32)
            .map(|i| (i.wrapping_mul(2654435761) >> 11) as u8)
            .collect();
        let u = parse_unit(&garbage);
        assert!(u.lossy_utf8);
        assert!(!u.warnings.is_empty());
        let u = parse_unit(b"[Service]\nExecStart=/bin/\x00\xff\xfe x\n");
        assert!(u.lossy_utf8);
        assert_eq!(u.service.unwrap().exec_start[0].argv.len(), 2);

        // 5 MB single line, and 5 MB of continuation lines.
        let mut big = b"[Service]\nExecStart=/bin/echo ".to_vec();
        big.extend(std::iter::repeat_n(b'A', 5 * 1024 * 1024));
        let u = parse_unit(&big);
        assert!(matches!(
            u.warnings[0],
            UnitWarning::LineTooLong { line: 2, .. }
        ));
        assert_eq!(
            u.service.unwrap().exec_start[0].argv[1].len(),
            5 * 1024 * 1024
        );
        let mut cont = b"[Service]\nExecStart=/bin/echo".to_vec();
        for _ in 0..200_000 {
            cont.extend_from_slice(b" \\\n x");
        }
        cont.push(b'\n');
        let u = parse_unit(&cont);
        assert!(u.warnings.is_empty());
        assert_eq!(u.service.unwrap().exec_start[0].argv.len(), 200_001);

        // Escape edge cases never panic.
        for s in [
            "\\",
            "\\x",
            "\\xZZ",
            "\\u12",
            "\\777",
            "\\U0011ffff",
            "'",
            "\"\\",
            "; ;",
            "@",
            "!!",
        ] {
            let _ = split_words(s);
            let _ = parse_exec_value(s, 1, "ExecStart", &mut Warns::new(MAX_WARNINGS));
        }
        assert_eq!(split_words("\\101\\x42\\u00e9").0, ["ABé"]);
    }
}
