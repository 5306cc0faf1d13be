//! Where evidence comes from: the live host, or an offline root (a mounted image or a folder
//! laid out like a system drive). This module is the only code that touches the host.
//!
//! Collectors name files by *logical* paths: absolute, `/`-separated, relative to the
//! system root of the evidence (`/etc/crontab`, `/Windows/System32/Tasks`). The source maps
//! them to real paths, keeps every lookup inside its scope (an absolute symlink on an offline
//! root points inside the root, never at the analyst's machine), and displays them the way
//! the evidence's OS would (`C:\Windows\System32\Tasks\...` for a Windows root).

mod fsview;
pub mod live;
pub(crate) mod os;
mod root;

pub use fsview::FsView;
pub use live::LiveSource;
pub use root::RootSource;

use crate::record::{ProcessRecord, Timestamp};
use serde::{Deserialize, Serialize};
use std::ffi::OsString;
use std::fs::File;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("{what} is not available from {source_kind}")]
    Unsupported {
        what: &'static str,
        source_kind: &'static str,
    },
    #[error("{path}: {source}")]
    Io {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: not a regular file ({file_type:?}); not opened")]
    NotRegular { path: String, file_type: FileType },
    #[error("{path}: symlink leads out of scope or loops; not followed")]
    SymlinkOutOfScope { path: String },
    #[error("{what}: {message}")]
    Other { what: String, message: String },
}

impl SourceError {
    pub fn io(path: impl Into<String>, source: std::io::Error) -> Self {
        SourceError::Io {
            path: path.into(),
            source,
        }
    }

    /// True when the error means "we lack the rights", which the manifest reports as such.
    pub fn is_permission_denied(&self) -> bool {
        matches!(self, SourceError::Io { source, .. } if source.kind() == std::io::ErrorKind::PermissionDenied)
    }

    pub fn is_not_found(&self) -> bool {
        matches!(self, SourceError::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound)
    }
}

#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema, clap::ValueEnum,
)]
#[serde(rename_all = "snake_case")]
pub enum OsFamily {
    Linux,
    Windows,
    /// Anything else irsnap can build for (macOS, BSD): live collectors may be limited.
    Other,
}

impl OsFamily {
    pub fn current() -> OsFamily {
        if cfg!(target_os = "linux") {
            OsFamily::Linux
        } else if cfg!(windows) {
            OsFamily::Windows
        } else {
            OsFamily::Other
        }
    }
}

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

/// One entry of a directory listing (not followed if it is a symlink).
#[derive(Debug, Clone)]
pub struct DirEntry {
    pub name: OsString,
    /// Logical path of the entry.
    pub path: PathBuf,
    pub meta: Result<FileMeta, String>,
}

/// A file opened read-only for evidence, with the metadata of the very handle that was opened.
pub struct OpenedFile {
    pub file: File,
    pub meta: FileMeta,
}

/// A user account on the evidence: where its home is and who it is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserAccount {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uid: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    /// Logical path of the home directory / profile.
    pub home: PathBuf,
    /// Where we learned of it (`/etc/passwd`, `/home listing`, `Users listing`).
    pub origin: String,
}

/// A TCP or UDP socket as the OS reports it, before it is joined to the process snapshot.
#[derive(Debug, Clone, PartialEq)]
pub struct RawSocket {
    pub protocol: crate::record::Protocol,
    pub local_address: IpAddr,
    pub local_port: u16,
    pub remote_address: Option<IpAddr>,
    pub remote_port: Option<u16>,
    pub state: Option<String>,
    pub pids: Vec<u32>,
    pub uid: Option<u32>,
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

/// Where evidence comes from. Live-only capabilities return `SourceError::Unsupported`
/// on an offline root.
pub trait Source: Send + Sync {
    fn describe(&self) -> SourceDescription;
    /// The OS of the evidence (not necessarily of the analyst's machine).
    fn os(&self) -> OsFamily;
    fn is_live(&self) -> bool;
    /// How the evidence's own OS would write this logical path.
    fn display_path(&self, logical: &Path) -> String;
    /// `lstat` of a logical path: parents are resolved in scope, the last component is not followed.
    fn metadata(&self, logical: &Path) -> Result<FileMeta, SourceError>;
    /// Entries of a directory, unsorted, never following symlinks.
    fn read_dir(&self, logical: &Path) -> Result<Vec<DirEntry>, SourceError>;
    /// Open a regular file read-only. Symlinks are followed only while they stay in scope;
    /// FIFOs, sockets and devices are refused without being opened for reading.
    fn open(&self, logical: &Path) -> Result<OpenedFile, SourceError>;
    /// The target a symlink holds, as written (never resolved, never followed).
    fn read_link(&self, _logical: &Path) -> Result<PathBuf, SourceError> {
        Err(SourceError::Unsupported {
            what: "symlink targets",
            source_kind: match self.describe() {
                SourceDescription::Live { .. } => "this host",
                SourceDescription::OfflineRoot { .. } => "this root",
            },
        })
    }
    fn host_facts(&self) -> HostFacts;
    /// Every user account with a home/profile on the evidence.
    fn users(&self) -> Vec<UserAccount>;
    /// Live processes, without image hashes or ancestry (the collector adds those).
    fn processes(&self) -> Result<Vec<ProcessRecord>, SourceError>;
    /// Open the executable image of a live process (on Linux through `/proc/<pid>/exe`, which
    /// still works when the file was deleted or lives only in memory).
    fn open_process_image(&self, process: &ProcessRecord) -> Result<OpenedFile, SourceError>;
    fn connections(&self) -> Result<Vec<RawSocket>, SourceError>;
}

/// Join a logical parent and a child name.
pub fn logical_join(parent: &Path, name: impl AsRef<Path>) -> PathBuf {
    parent.join(name)
}

/// Parse `/etc/passwd`-format text into accounts (used for live hosts and Linux roots).
pub fn parse_passwd(text: &str) -> Vec<UserAccount> {
    text.lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .filter_map(|line| {
            let f: Vec<&str> = line.split(':').collect();
            if f.len() < 7 || f[0].is_empty() {
                return None;
            }
            Some(UserAccount {
                name: f[0].to_string(),
                uid: f[2].parse().ok(),
                sid: None,
                home: PathBuf::from(if f[5].is_empty() { "/" } else { f[5] }),
                origin: "/etc/passwd".to_string(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwd_parses_and_skips_junk() {
        let t =
            "root:x:0:0:root:/root:/bin/bash\n# c\nbad line\nbob:x:1000:1000::/home/bob:/bin/sh\n";
        let u = parse_passwd(t);
        assert_eq!(u.len(), 2);
        assert_eq!(u[1].name, "bob");
        assert_eq!(u[1].uid, Some(1000));
        assert_eq!(u[1].home, PathBuf::from("/home/bob"));
    }
}
