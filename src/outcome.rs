//! What a run amounts to, and the exit codes that say so. Only `main` turns an outcome into
//! a process exit code.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CollectorStatus {
    /// Everything the collector looked for was collected.
    Ok,
    /// Some of it: items failed, rights were missing, or the deadline or a signal cut it short.
    Partial,
    /// Nothing usable: the collector returned an error or panicked.
    Failed,
    /// Not run: not applicable to this source, disabled, or the run was interrupted first.
    Skipped,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    Complete,
    Partial,
    Interrupted,
}

/// Process exit codes (documented in the README; tested in tests/).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Exit {
    /// The archive is complete / verification passed.
    Success = 0,
    /// Nothing was produced: bad arguments, unwritable output, unusable root.
    Failed = 1,
    /// An archive was written, but some collector failed, was cut short, or lacked rights.
    Partial = 2,
    /// `verify` found a mismatch, a missing or unexpected member, or an unreadable archive.
    VerifyMismatch = 3,
    /// SIGINT/SIGTERM: the archive was finished early and is marked `interrupted`.
    Interrupted = 4,
    /// `verify` found nothing wrong, but nothing vouches for the archive either: no sidecar
    /// and no signature by a trusted key (with `--trusted`: no signature by one of those
    /// keys). Printed as UNAUTHENTICATED, never as OK.
    Unauthenticated = 5,
    /// Command-line usage error.
    Usage = 64,
}

impl Exit {
    pub fn code(self) -> u8 {
        self as u8
    }
}

impl From<RunStatus> for Exit {
    fn from(s: RunStatus) -> Exit {
        match s {
            RunStatus::Complete => Exit::Success,
            RunStatus::Partial => Exit::Partial,
            RunStatus::Interrupted => Exit::Interrupted,
        }
    }
}
