//! What is known about the evidence itself, shared by sources, records and the manifest:
//! a file's type and metadata, the host's facts, and which source the evidence came from.

use super::Timestamp;
use crate::ids::OsFamily;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum FileType {
    Regular,
    Directory,
    Symlink,
    Fifo,
    Socket,
    CharDevice,
    BlockDevice,
    Other,
}

impl FileType {
    /// What a special file (never opened: reading a FIFO blocks, a device may have side
    /// effects) is, for the log: `a FIFO`; `None` for files, directories and links.
    pub fn special(self) -> Option<&'static str> {
        match self {
            FileType::Regular | FileType::Directory | FileType::Symlink => None,
            FileType::Fifo => Some("a FIFO"),
            FileType::Socket => Some("a socket"),
            FileType::CharDevice => Some("a character device"),
            FileType::BlockDevice => Some("a block device"),
            FileType::Other => Some("a special file"),
        }
    }
}

/// What `lstat` tells about a file, in portable form.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct FileMeta {
    pub file_type: FileType,
    pub size: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mtime: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub atime: Option<Timestamp>,
    /// Inode change time (Unix only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ctime: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub btime: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uid: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gid: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mode: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    #[serde(skip)]
    pub dev: Option<u64>,
    #[serde(skip)]
    pub inode: Option<u64>,
}

/// Facts about the host for the manifest. Everything is optional: an offline root may not say.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct HostFacts {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub os_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub os_version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kernel: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub architecture: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub boot_time: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timezone: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub domain: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ip_addresses: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SourceDescription {
    Live {
        os: OsFamily,
    },
    OfflineRoot {
        os: OsFamily,
        path: String,
        os_detected: bool,
    },
}
