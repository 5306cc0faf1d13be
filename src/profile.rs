//! Collection profiles: which collectors run and with which options. Profiles are TOML data
//! files; the built-in ones are embedded in the binary. Unknown collectors, misspelled
//! options and bad values are refused before anything is collected, with file and line.

use crate::collectors::{
    CollectorId, ExecutionEventsOptions, PowershellLogsOptions, ProcessOptions,
    ScheduledTasksOptions, ShellHistoryOptions, TempScriptsOptions,
};
use crate::record::Sha256;
use serde::Deserialize;
use std::path::Path;

/// Built-in profiles: (name, text).
pub const BUILTIN: &[(&str, &str)] = &[
    ("triage", include_str!("../profiles/triage.toml")),
    ("volatile", include_str!("../profiles/volatile.toml")),
    ("full", include_str!("../profiles/full.toml")),
];

pub const DEFAULT_PROFILE: &str = "triage";

#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    #[error(
        "unknown profile {name:?}: built-in profiles are {known}; or give a path to a .toml file"
    )]
    Unknown { name: String, known: String },
    #[error("{origin}: cannot read: {source}")]
    Read {
        origin: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{origin}, line {line}: {message}")]
    Invalid {
        origin: String,
        line: usize,
        message: String,
    },
}

/// A size: a whole number of bytes, or a string such as `"64 MiB"`, `"2GB"`, `"512k"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct ByteSize(pub u64);

impl ByteSize {
    pub fn parse(s: &str) -> Result<ByteSize, String> {
        let t = s.trim();
        let split = t
            .find(|c: char| !c.is_ascii_digit() && c != '.')
            .unwrap_or(t.len());
        let (num, unit) = t.split_at(split);
        let n: f64 = num
            .parse()
            .map_err(|_| format!("invalid size {s:?}: expected e.g. \"64 MiB\""))?;
        let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
            "" | "b" => 1,
            "k" | "kb" | "kib" => 1 << 10,
            "m" | "mb" | "mib" => 1 << 20,
            "g" | "gb" | "gib" => 1 << 30,
            "t" | "tb" | "tib" => 1 << 40,
            other => {
                return Err(format!(
                    "invalid size unit {other:?} in {s:?}: use B, KiB, MiB, GiB or TiB"
                ));
            }
        };
        let v = n * mult as f64;
        if !v.is_finite() || v < 0.0 || v > u64::MAX as f64 {
            return Err(format!("size {s:?} is out of range"));
        }
        Ok(ByteSize(v as u64))
    }
}

impl<'de> Deserialize<'de> for ByteSize {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            N(u64),
            S(String),
        }
        match Raw::deserialize(d)? {
            Raw::N(n) => Ok(ByteSize(n)),
            Raw::S(s) => ByteSize::parse(&s).map_err(serde::de::Error::custom),
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoOptions {}

/// One optional table per collector: present means enabled.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CollectorsSection {
    pub processes: Option<ProcessOptions>,
    pub network: Option<NoOptions>,
    pub temp_scripts: Option<TempScriptsOptions>,
    pub execution_events: Option<ExecutionEventsOptions>,
    pub powershell_logs: Option<PowershellLogsOptions>,
    pub shell_history: Option<ShellHistoryOptions>,
    pub scheduled_tasks: Option<ScheduledTasksOptions>,
}

/// Limits on the archive as a whole.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ArchiveOptions {
    /// Raw copies stop (files are still listed and hashed) once the archive reaches this size.
    pub max_size: Option<ByteSize>,
    /// Leave at least this much free on the output volume: copies stop before the disk fills.
    pub keep_free: ByteSize,
}

impl Default for ArchiveOptions {
    fn default() -> Self {
        ArchiveOptions {
            max_size: None,
            keep_free: ByteSize(64 << 20),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    pub name: String,
    pub description: String,
    #[serde(default)]
    pub archive: ArchiveOptions,
    #[serde(default)]
    pub collectors: CollectorsSection,
    /// SHA-256 of the exact text the profile was read from.
    #[serde(skip, default = "zero_sha")]
    pub sha256: Sha256,
}

fn zero_sha() -> Sha256 {
    Sha256([0; 32])
}

impl Profile {
    pub fn enabled(&self, id: CollectorId) -> bool {
        match id {
            CollectorId::Processes => self.collectors.processes.is_some(),
            CollectorId::Network => self.collectors.network.is_some(),
            CollectorId::TempScripts => self.collectors.temp_scripts.is_some(),
            CollectorId::ExecutionEvents => self.collectors.execution_events.is_some(),
            CollectorId::PowershellLogs => self.collectors.powershell_logs.is_some(),
            CollectorId::ShellHistory => self.collectors.shell_history.is_some(),
            CollectorId::ScheduledTasks => self.collectors.scheduled_tasks.is_some(),
        }
    }

    pub fn parse(text: &str, origin: &str) -> Result<Profile, ProfileError> {
        let mut p: Profile = toml::from_str(text).map_err(|e| {
            let line = e
                .span()
                .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1)
                .unwrap_or(0);
            ProfileError::Invalid {
                origin: origin.to_string(),
                line,
                message: e.message().to_string(),
            }
        })?;
        p.sha256 = Sha256::digest(text.as_bytes());
        Ok(p)
    }

    /// A built-in name, or a path to a profile file.
    pub fn load(name_or_path: &str) -> Result<Profile, ProfileError> {
        if let Some((name, text)) = BUILTIN.iter().find(|(n, _)| *n == name_or_path) {
            return Profile::parse(text, &format!("built-in profile {name}"));
        }
        let looks_like_path = name_or_path.contains(['/', '\\', '.']);
        if !looks_like_path {
            return Err(ProfileError::Unknown {
                name: name_or_path.to_string(),
                known: BUILTIN
                    .iter()
                    .map(|(n, _)| *n)
                    .collect::<Vec<_>>()
                    .join(", "),
            });
        }
        let text =
            std::fs::read_to_string(Path::new(name_or_path)).map_err(|e| ProfileError::Read {
                origin: name_or_path.to_string(),
                source: e,
            })?;
        Profile::parse(&text, name_or_path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtins_parse() {
        for (name, text) in BUILTIN {
            let p = Profile::parse(text, name).unwrap();
            assert_eq!(&p.name, name);
        }
    }

    #[test]
    fn the_annotated_example_is_valid_and_complete() {
        let text = include_str!("../examples/profile.toml");
        let p = Profile::parse(text, "examples/profile.toml").unwrap();
        for id in CollectorId::ALL {
            assert!(p.enabled(*id), "the example must show {id}");
        }
    }

    #[test]
    fn sizes() {
        assert_eq!(ByteSize::parse("64 MiB").unwrap().0, 64 << 20);
        assert_eq!(ByteSize::parse("2GB").unwrap().0, 2 << 30);
        assert_eq!(ByteSize::parse("100").unwrap().0, 100);
        assert!(ByteSize::parse("12 parsecs").is_err());
        assert!(ByteSize::parse("MiB").is_err());
    }

    #[test]
    fn typos_are_refused_with_line() {
        let text =
            "name = \"x\"\ndescription = \"d\"\n[collectors.processes]\nhash_imagez = true\n";
        match Profile::parse(text, "p.toml") {
            Err(ProfileError::Invalid { line, message, .. }) => {
                assert_eq!(line, 4);
                assert!(message.contains("hash_imagez"), "{message}");
            }
            other => panic!("expected Invalid, got {other:?}"),
        }
        let text = "name = \"x\"\ndescription = \"d\"\n[collectors.procesess]\n";
        assert!(matches!(
            Profile::parse(text, "p.toml"),
            Err(ProfileError::Invalid { line: 3, .. })
        ));
        let text = "name = \"x\"\ndescription = \"d\"\n[collectors.processes]\nmax_image_hash_size = \"9 parsecs\"\n";
        assert!(Profile::parse(text, "p.toml").is_err());
    }
}
