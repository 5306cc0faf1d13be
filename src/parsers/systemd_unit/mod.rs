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

mod extract;
mod specs;
#[cfg(test)]
#[allow(clippy::disallowed_methods)]
mod tests;
mod unit;
mod words;

pub use specs::{
    EnvVar, EnvironmentFile, ExecLine, ExecPrefix, ServiceSpec, ServiceType, TimerSpec,
    timer_target_unit,
};
pub use unit::{UnitEntry, UnitFile, UnitSection, UnitWarning};
pub use words::split_words;

use extract::{build_service, build_timer};

/// Cap on stored warnings.
const MAX_WARNINGS: usize = 1000;
/// systemd refuses lines longer than this (LONG_LINE_MAX); we still parse them but say so.
const SYSTEMD_LINE_MAX: usize = 1024 * 1024;
/// Longest excerpt of an offending line kept in a warning.
const WARN_TEXT_MAX: usize = 200;

type Warns = crate::parsers::capped::Capped<UnitWarning>;

fn excerpt(s: &str) -> String {
    crate::parsers::capped::excerpt(s, WARN_TEXT_MAX)
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

    typed_unit(sections, lossy, warns)
}

/// The unit with the settings triage reads (description, `WantedBy=`, `[Timer]`, `[Service]`)
/// taken out of its sections.
fn typed_unit(sections: Vec<UnitSection>, lossy: bool, mut warns: Warns) -> UnitFile {
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
