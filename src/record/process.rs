use super::{Sha256, Timestamp};
use serde::{Deserialize, Serialize};

/// One process of the live snapshot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ProcessRecord {
    pub pid: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ppid: Option<u32>,
    pub name: String,
    /// Path of the executable image as the OS reports it (without Linux's " (deleted)" suffix).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image_path: Option<String>,
    pub image_kind: ImageKind,
    /// Arguments exactly as the process holds them. Non-UTF-8 bytes are replaced (U+FFFD)
    /// here and kept verbatim, base64-encoded, in `argv_raw_b64`.
    pub argv: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub argv_raw_b64: Option<Vec<String>>,
    /// `argv` joined with spaces (Linux), or the command line the OS stores (Windows).
    pub command_line: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cwd: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uid: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_sid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_time: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    #[serde(default)]
    pub kernel_thread: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image_sha256: Option<Sha256>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image_size: Option<u64>,
    pub image_hash_status: HashStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image_hash_error: Option<String>,
    /// Archive member holding a copy of the image, when irsnap copied it (deleted or
    /// memory-only images, which exist nowhere else once the process ends).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image_copy: Option<String>,
    /// Parent first, then its parent, up to the root of the tree; so no join is needed.
    pub ancestry: Vec<Ancestor>,
    /// What could not be read and why (permission denied, vanished mid-read, ...).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
    /// The image's identity at the snapshot (not part of the record).
    #[serde(skip)]
    pub witness: Option<ImageWitness>,
    /// This is irsnap itself, collecting: listed as what ran, never judged or stacked.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub is_irsnap: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Ancestor {
    pub pid: u32,
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image_path: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ImageKind {
    /// A file on disk.
    File,
    /// The file was deleted (or replaced) after the process started.
    Deleted,
    /// An anonymous memory file (memfd_create): fileless execution.
    Memfd,
    /// Kernel threads have no image.
    None,
    /// The image could not be determined (permission denied, vanished).
    Unknown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum HashStatus {
    Hashed,
    /// Larger than the configured cap; `image_size` says how large.
    TooLarge,
    Unreadable,
    NotApplicable,
    Disabled,
    /// The process's image was another file when it was opened for hashing than at the
    /// snapshot, or the process itself changed (exec, pid reuse): not hashed, so no record
    /// pairs one program's path with another program's hash. `image_hash_error` says which.
    Changed,
}

/// What the snapshot saw of a process's image, so that what is hashed later can be proven
/// to be the same file of the same process (Linux: the image's device and inode through
/// `/proc/<pid>/exe`, and the process's start time). Never serialized.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ImageWitness {
    /// The image's (device, inode), when the snapshot could take it.
    pub image: Option<(u64, u64)>,
    pub start_ticks: u64,
}
