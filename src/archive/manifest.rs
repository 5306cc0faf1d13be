//! `manifest.json`: what the archive holds and how it came to be. Written last; `verify`
//! checks every other member against it.

use crate::ids::CollectorId;
use crate::outcome::{CollectorStatus, RunStatus};
use crate::record::{FileMeta, HostFacts, SourceDescription};
use crate::record::{Sha256, Timestamp};
use serde::{Deserialize, Serialize};

/// Bumped whenever a field of the manifest or a record changes meaning or name.
pub const SCHEMA_VERSION: u32 = 1;

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Manifest {
    pub schema_version: u32,
    pub tool: ToolInfo,
    pub command_line: Vec<String>,
    pub run_as: RunAs,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub case: Option<CaseInfo>,
    pub host: HostFacts,
    pub source: SourceDescription,
    pub profile: ProfileInfo,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub since: Option<Timestamp>,
    /// `--deadline`, in seconds.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deadline_secs: Option<u64>,
    #[serde(default)]
    pub low_impact: bool,
    /// Files and directories irsnap read without protecting their access time: Linux allows
    /// `O_NOATIME` only to a file's owner or root (CAP_FOWNER), so a run that is not root
    /// may change the access times of other users' files (with `relatime`, at most once a
    /// day). 0 (absent) when every one was protected.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub atime_unprotected: u64,
    /// `--encrypt-to`: the archive file is age-encrypted to these public keys (never a
    /// secret key: those are not given to `collect`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encryption: Option<EncryptionInfo>,
    /// `--sign`: the key whose SSH signature over this manifest is the member
    /// `manifest.json.sig` (and over the whole file, `<archive>.sig` beside it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<SignatureInfo>,
    pub started: Timestamp,
    pub ended: Timestamp,
    pub status: RunStatus,
    pub collectors: Vec<CollectorReport>,
    /// Detection, Sigma, timeline, report and schema, each with its own status.
    #[serde(default)]
    pub stages: Vec<StageReport>,
    /// Last, by design: the writer streams the list in place of the empty array.
    pub members: Vec<MemberEntry>,
}

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct EncryptionInfo {
    /// `age` (<https://age-encryption.org/v1>), binary, X25519 recipients.
    pub scheme: String,
    /// Public keys (`age1...`) whose secret key opens the archive.
    pub recipients: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SignatureInfo {
    /// `sshsig`: OpenSSH's signature format (PROTOCOL.sshsig), hash `sha256`.
    pub scheme: String,
    /// The SSHSIG namespace (`irsnap`; `ssh-keygen -Y verify -n irsnap`).
    pub namespace: String,
    /// The signer's public key, `ssh-ed25519 AAAA...`.
    pub public_key: String,
    /// Its fingerprint as `ssh-keygen -l` prints it (`SHA256:...`).
    pub fingerprint: String,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// The zip comment of every archive: fixed text naming the tool, so `verify` can require
/// exactly it (no byte of the file is left free to change).
pub fn archive_comment(tool: &ToolInfo) -> String {
    format!(
        "{} {} triage archive; manifest.json lists every member with its SHA-256",
        tool.name, tool.version
    )
}

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ToolInfo {
    pub name: String,
    pub version: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub git_commit: Option<String>,
    pub target: String,
}

impl ToolInfo {
    pub fn current() -> ToolInfo {
        ToolInfo {
            name: env!("CARGO_PKG_NAME").to_string(),
            version: env!("CARGO_PKG_VERSION").to_string(),
            git_commit: option_env!("IRSNAP_GIT_COMMIT")
                .filter(|c| !c.is_empty())
                .map(str::to_string),
            target: env!("IRSNAP_TARGET").to_string(),
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct RunAs {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uid: Option<u32>,
    /// Windows: the SID of irsnap's token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    pub elevated: bool,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CaseInfo {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub case_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub examiner: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notes: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ProfileInfo {
    pub name: String,
    /// SHA-256 of the profile's exact text, so the run can be reproduced.
    pub sha256: Sha256,
}

#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CollectorReport {
    pub id: CollectorId,
    pub status: CollectorStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Why it did not run, when it was skipped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skipped: Option<SkipReason>,
    pub records: u64,
    pub files: u64,
    pub duration_ms: u64,
    /// Gaps: items that could not be read or parsed (no rights, damaged, vanished). They are
    /// listed here and in the report's coverage; they do not make the collector partial.
    pub error_count: u64,
    /// The first errors, capped; `error_count` has the total.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<String>,
    /// Cuts: evidence that was there but a profile limit (max_files, max_entries,
    /// max_parse_size, the archive budget) left out. Any cut makes the collector partial.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub cut_count: u64,
    /// The first cuts, capped; `cut_count` has the total.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cuts: Vec<String>,
    pub warning_count: u64,
    /// What the run's budgets left out of this collector's records.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub left_out: Option<LeftOut>,
    /// The members holding its records, when they fill more than `records/<id>.jsonl`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub record_members: Vec<String>,
}

impl CollectorReport {
    pub fn new(id: CollectorId) -> CollectorReport {
        CollectorReport {
            id,
            status: CollectorStatus::Skipped,
            reason: None,
            skipped: None,
            records: 0,
            files: 0,
            duration_ms: 0,
            error_count: 0,
            errors: Vec::new(),
            cut_count: 0,
            cuts: Vec::new(),
            warning_count: 0,
            left_out: None,
            record_members: Vec::new(),
        }
    }

    /// Skipped because it cannot apply here (a live-only collector on an offline root,
    /// Windows logs on Linux): that does not make a run partial.
    pub fn not_applicable(&self) -> bool {
        self.status == CollectorStatus::Skipped
            && matches!(
                self.skipped,
                Some(SkipReason::LiveOnly | SkipReason::NotApplicable)
            )
    }
}

/// Why a collector did not run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SkipReason {
    /// It reads the running host (processes, sockets) and the source is an offline root.
    LiveOnly,
    /// The artifact cannot exist on this source (Windows event logs on a Linux host).
    NotApplicable,
    /// A signal arrived before it started.
    Interrupted,
    /// The deadline passed before it started.
    Deadline,
}

/// Records a budget left out: how many, and which limit.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct LeftOut {
    pub records: u64,
    pub bytes: u64,
    pub reason: String,
}

/// A step of the run after (or beside) the collectors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// Built-in and `--rules` rules, and the joins, over every record.
    Detection,
    /// `--sigma` rules.
    Sigma,
    /// `timeline.jsonl`.
    Timeline,
    /// `findings.jsonl`, `report.html`, `report.md`.
    Report,
    /// `schema/*.schema.json`.
    Schema,
}

impl Stage {
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Detection => "detection",
            Stage::Sigma => "sigma",
            Stage::Timeline => "timeline",
            Stage::Report => "report",
            Stage::Schema => "schema",
        }
    }
}

/// How a stage fared. A failed stage costs only its own output: the archive is finished and
/// the run is `partial`.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct StageReport {
    pub stage: Stage,
    pub status: CollectorStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub duration_ms: u64,
}

/// One member of the archive other than `manifest.json`.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct MemberEntry {
    pub path: String,
    pub size: u64,
    pub sha256: Sha256,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub collector: Option<CollectorId>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub original: Option<OriginalFile>,
    /// SHA-256 of the member's bytes as stored in the zip (compressed): with the manifest
    /// signed, every data byte of the archive is bound to the signature.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stored_sha256: Option<Sha256>,
}

/// Where a raw copy came from.
#[derive(Debug, Clone, Serialize, Deserialize, schemars::JsonSchema)]
pub struct OriginalFile {
    /// Path as the evidence's OS writes it (lossy if the name is not valid text).
    pub path: String,
    /// The name's exact bytes, base64, when they are not valid UTF-8.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path_bytes_b64: Option<String>,
    #[serde(flatten)]
    pub meta: FileMeta,
    /// Hash of the whole source file (differs from the member's when the copy was capped).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sha256: Option<Sha256>,
    pub bytes_read: u64,
    #[serde(default)]
    pub truncated: bool,
    /// The copy starts at this offset of the file: a file over the copy cap whose newest
    /// bytes matter most (a shell history) is copied from its end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub copied_from: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub read_error: Option<String>,
}
