//! A unit file as systemd reads it: sections of key/value entries, and the warnings met.

use serde::{Deserialize, Serialize};

use super::specs::{ServiceSpec, TimerSpec};
use crate::parsers::capped::is_zero;

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
