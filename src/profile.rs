//! Collection profiles: which collectors run and with which options. Profiles are TOML data
//! files; the built-in ones are embedded in the binary. Unknown collectors, misspelled
//! options and bad values are refused before anything is collected, with file and line.

use crate::ids::CollectorId;
use crate::record::Sha256;
pub use crate::registry::CollectorsSection;
use crate::units::ByteSize;
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
    #[error("{origin}: cannot read: {cause}")]
    Read {
        origin: String,
        cause: std::io::Error,
    },
    #[error("{origin}, line {line}: {message}")]
    Invalid {
        origin: String,
        line: usize,
        message: String,
    },
}

impl ProfileError {
    /// The name given is neither a built-in profile nor a path: a usage error.
    pub fn is_unknown_name(&self) -> bool {
        matches!(self, ProfileError::Unknown { .. })
    }
}

/// Limits on the archive as a whole.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ArchiveOptions {
    /// Raw copies stop (files are still listed and hashed) once the archive reaches this size.
    pub max_size: Option<ByteSize>,
    /// Leave at least this much free on the output volume: copies stop before the disk fills.
    pub keep_free: ByteSize,
    /// Records of one collector are held deflated in memory up to this size, then written as
    /// a part (`records/<c>.jsonl`, `records/<c>.2.jsonl`, ...): the bound on that memory.
    pub record_part_size: ByteSize,
}

impl Default for ArchiveOptions {
    fn default() -> Self {
        ArchiveOptions {
            max_size: None,
            keep_free: ByteSize(64 << 20),
            record_part_size: ByteSize(crate::archive::RECORD_PART_BYTES),
        }
    }
}

/// Limits on what the run writes as records, so that no host, however much it holds, makes a
/// run swamp its memory, its time or the output volume. Past a limit the collector is
/// `partial`, the manifest counts what was left out, and the collectors that can choose keep
/// what matters most (histories their newest commands, temp directories their shallowest and
/// newest scripts).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BudgetOptions {
    /// Records one collector may write.
    pub max_records_per_collector: u64,
    /// Bytes of records (their JSON) one collector may write.
    pub max_record_bytes_per_collector: ByteSize,
    /// Records the whole run may write.
    pub max_records: u64,
    /// Bytes of records the whole run may write.
    pub max_record_bytes: ByteSize,
    /// Entries `timeline.jsonl` may hold.
    pub max_timeline_entries: u64,
}

impl Default for BudgetOptions {
    fn default() -> Self {
        BudgetOptions {
            max_records_per_collector: 2_000_000,
            max_record_bytes_per_collector: ByteSize(1 << 30),
            max_records: 5_000_000,
            max_record_bytes: ByteSize(2 << 30),
            max_timeline_entries: 5_000_000,
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
    pub budget: BudgetOptions,
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
        self.collectors.enabled(id)
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

    /// A built-in name, or a path to a profile file read with `read` (the command layer
    /// passes the file system; the library never opens files itself).
    pub fn load(
        name_or_path: &str,
        read: impl FnOnce(&Path) -> std::io::Result<String>,
    ) -> Result<Profile, ProfileError> {
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
        let text = read(Path::new(name_or_path)).map_err(|e| ProfileError::Read {
            origin: name_or_path.to_string(),
            cause: e,
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
