//! Identifiers every layer shares: which collector, which OS. A leaf module: it imports
//! nothing from the crate, so anything may use it without making an import cycle.
//!
//! The collector list is written once, in [`collector_ids!`]: the enum, [`CollectorId::ALL`]
//! and the names all come from it, so a collector cannot exist without being in `ALL`. What
//! each collector *is* (its module, options, records, observations, timeline facts, schema)
//! is the one registration table in `collectors::registry`, which an exhaustive `match` over
//! this enum ties to it: a collector missing from the table does not compile.

use serde::{Deserialize, Serialize};

macro_rules! collector_ids {
    ($( $(#[$doc:meta])* $variant:ident = $name:literal ),+ $(,)?) => {
        /// Every collector irsnap has, in order of volatility (what changes fastest is
        /// collected first). The name is the same everywhere: the profile table, the source
        /// file under `src/collectors/`, and the archive's `records/<name>.jsonl`.
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize,
            schemars::JsonSchema,
        )]
        #[serde(rename_all = "snake_case")]
        pub enum CollectorId {
            $( $(#[$doc])* $variant ),+
        }

        impl CollectorId {
            /// In order of volatility.
            pub const ALL: &'static [CollectorId] = &[$(CollectorId::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self {
                    $( CollectorId::$variant => $name ),+
                }
            }

            /// `records/<name>.jsonl`: the member that holds this collector's records.
            pub fn records_member(self) -> &'static str {
                match self {
                    $( CollectorId::$variant => concat!("records/", $name, ".jsonl") ),+
                }
            }
        }
    };
}

collector_ids! {
    /// The live process snapshot.
    Processes = "processes",
    /// Live TCP/UDP sockets with their owners.
    Network = "network",
    /// Shared objects forced into processes: ld.so.preload, LD_PRELOAD, mapped from /tmp.
    Preload = "preload",
    /// Scripts and executables staged in temp and user-writable directories.
    TempScripts = "temp_scripts",
    /// Sysmon, Security and Task Scheduler execution events.
    ExecutionEvents = "execution_events",
    /// PowerShell event logs and PSReadLine histories.
    PowershellLogs = "powershell_logs",
    /// Unix shell and interpreter histories.
    ShellHistory = "shell_history",
    /// Windows tasks, cron, anacron, at, systemd timers.
    ScheduledTasks = "scheduled_tasks",
    /// auditd logs: executions with their argv, keyed system calls, sudo and logins.
    AuditLogs = "audit_logs",
    /// Syslog text logs: sudo, su, sshd logins, cron runs, account changes, unit starts.
    AuthLogs = "auth_logs",
    /// systemd journal files, read from their binary format.
    Journal = "journal",
}

impl CollectorId {
    /// The collector of this name as the archive and profiles spell it (`temp_scripts`);
    /// `-` is accepted for `_`, as on a command line.
    pub fn from_name(name: &str) -> Option<CollectorId> {
        let name = name.replace('-', "_");
        CollectorId::ALL
            .iter()
            .copied()
            .find(|c| c.as_str() == name)
    }

    /// Every name, comma-separated, for messages.
    pub fn names() -> String {
        let names: Vec<&str> = CollectorId::ALL.iter().map(|c| c.as_str()).collect();
        names.join(", ")
    }
}

/// Where a record sits in the archive: its collector's member and its 1-based line there.
/// Findings and timeline entries point back at their record with it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RecordAt {
    pub collector: CollectorId,
    /// Which part of the collector's records: 1 is `records/<name>.jsonl`; a collector whose
    /// records fill more than one part continues in `records/<name>.2.jsonl`, and so on.
    pub part: u32,
    pub line: u64,
}

impl RecordAt {
    /// Line `line` of the collector's first (usually only) records member.
    pub fn new(collector: CollectorId, line: u64) -> RecordAt {
        RecordAt {
            collector,
            part: 1,
            line,
        }
    }

    /// The collector and part a records member name stands for (`records/x.jsonl` is part 1
    /// of `x`, `records/x.3.jsonl` part 3); `None` for any other name.
    pub fn parse_member(name: &str) -> Option<(CollectorId, u32)> {
        let stem = name.strip_prefix("records/")?.strip_suffix(".jsonl")?;
        if let Some(c) = CollectorId::from_name(stem).filter(|c| c.as_str() == stem) {
            return Some((c, 1));
        }
        let (c, part) = stem.rsplit_once('.')?;
        let c = CollectorId::from_name(c).filter(|id| id.as_str() == c)?;
        let part: u32 = part.parse().ok().filter(|p| *p >= 2)?;
        Some((c, part))
    }

    pub fn member(&self) -> std::borrow::Cow<'static, str> {
        if self.part <= 1 {
            self.collector.records_member().into()
        } else {
            format!("records/{}.{}.jsonl", self.collector.as_str(), self.part).into()
        }
    }
}

impl std::fmt::Display for CollectorId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The OS of the evidence (not necessarily of the analyst's machine).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum OsFamily {
    Linux,
    Windows,
    /// Anything else irsnap can build for (macOS, BSD): live collectors may be limited.
    Other,
}

impl OsFamily {
    pub const ALL: &'static [OsFamily] = &[OsFamily::Linux, OsFamily::Windows, OsFamily::Other];

    /// The OS irsnap was built for: the live host's.
    pub fn current() -> OsFamily {
        if cfg!(target_os = "linux") {
            OsFamily::Linux
        } else if cfg!(windows) {
            OsFamily::Windows
        } else {
            OsFamily::Other
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            OsFamily::Linux => "linux",
            OsFamily::Windows => "windows",
            OsFamily::Other => "other",
        }
    }

    pub fn from_name(name: &str) -> Option<OsFamily> {
        OsFamily::ALL
            .iter()
            .copied()
            .find(|o| o.as_str().eq_ignore_ascii_case(name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_names_are_the_names() {
        for id in CollectorId::ALL {
            let json = serde_json::to_string(id).unwrap();
            assert_eq!(json, format!("\"{}\"", id.as_str()));
            assert_eq!(CollectorId::from_name(id.as_str()), Some(*id));
        }
        for os in OsFamily::ALL {
            assert_eq!(
                serde_json::to_string(os).unwrap(),
                format!("\"{}\"", os.as_str())
            );
        }
        assert_eq!(
            CollectorId::from_name("temp-scripts"),
            Some(CollectorId::TempScripts)
        );
        assert_eq!(CollectorId::from_name("nope"), None);
    }

    #[test]
    fn records_members_round_trip() {
        for &c in CollectorId::ALL {
            for part in [1, 2, 17] {
                let at = RecordAt {
                    collector: c,
                    part,
                    line: 1,
                };
                assert_eq!(RecordAt::parse_member(&at.member()), Some((c, part)));
            }
        }
        assert_eq!(RecordAt::parse_member("records/x.jsonl"), None);
        assert_eq!(RecordAt::parse_member("records/processes.1.jsonl"), None);
        assert_eq!(RecordAt::parse_member("records/temp-scripts.jsonl"), None);
        assert_eq!(RecordAt::parse_member("timeline.jsonl"), None);
    }
}
