//! Why a `.job` file could not be parsed, with the field and offset.

use thiserror::Error;

use super::JobFile;

#[derive(Debug, Clone, PartialEq, Error)]
pub enum JobError {
    #[error("too short for a .job file: {found} bytes, the fixed-length header needs {needed}")]
    TooShort { needed: usize, found: usize },
    #[error("not a .job file: {field} is {found:#06x}, expected {expected}")]
    BadHeader {
        field: &'static str,
        found: u32,
        expected: &'static str,
    },
    #[error(
        "truncated .job file: {field} at offset {offset} needs {needed} bytes, only {available} left"
    )]
    Truncated {
        field: String,
        offset: usize,
        needed: usize,
        available: usize,
        /// Everything parsed before the data ran out.
        partial: Box<JobFile>,
    },
}

impl JobError {
    pub fn partial(&self) -> Option<&JobFile> {
        match self {
            JobError::Truncated { partial, .. } => Some(partial),
            _ => None,
        }
    }
}
