//! Where evidence comes from: the live host, or an offline root (a mounted image or a folder
//! laid out like a system drive). This module is the only code that touches the host.
//!
//! Collectors name files by *logical* paths: absolute, `/`-separated, relative to the
//! system root of the evidence (`/etc/crontab`, `/Windows/System32/Tasks`). The source maps
//! them to real paths, keeps every lookup inside its scope (an absolute symlink on an offline
//! root points inside the root, never at the analyst's machine), and displays them the way
//! the evidence's OS would (`C:\Windows\System32\Tasks\...` for a Windows root).

// One of the three modules that may touch the file system (see clippy.toml).
#![allow(clippy::disallowed_methods)]

mod accounts;
mod fsview;
pub mod live;
pub(crate) mod os;
mod root;

pub use fsview::FsView;
pub use live::{Identity, LiveSource, identity};
pub use root::RootSource;

pub use crate::ids::OsFamily;
use crate::record::ProcessRecord;
pub use crate::record::{FileMeta, FileType, HostFacts, SourceDescription};
use serde::{Deserialize, Serialize};
use std::ffi::{OsStr, OsString};
use std::io::{Read, Seek};
use std::net::IpAddr;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("{what} is not available from {source_kind}")]
    Unsupported {
        what: &'static str,
        source_kind: &'static str,
    },
    /// The message names the cause itself: collectors quote these errors, and a cause
    /// marked `#[source]` as well would be printed twice in a chain.
    #[error("{path}: {cause}")]
    Io { path: String, cause: std::io::Error },
    #[error("{path}: not a regular file ({file_type:?}); not opened")]
    NotRegular { path: String, file_type: FileType },
    #[error("{path}: symlink leads out of scope or loops; not followed")]
    SymlinkOutOfScope { path: String },
    #[error("{what}: {message}")]
    Other { what: String, message: String },
    /// The process or its image is not the one the snapshot saw (exec, pid reuse).
    #[error("pid {pid}: image not hashed: {why}")]
    ImageChanged { pid: u32, why: String },
}

impl SourceError {
    pub fn io(path: impl Into<String>, source: std::io::Error) -> Self {
        SourceError::Io {
            path: path.into(),
            cause: source,
        }
    }

    /// True when the error means "we lack the rights", which the manifest reports as such.
    pub fn is_permission_denied(&self) -> bool {
        matches!(self, SourceError::Io { cause, .. } if cause.kind() == std::io::ErrorKind::PermissionDenied)
    }

    pub fn is_not_found(&self) -> bool {
        matches!(self, SourceError::Io { cause, .. } if cause.kind() == std::io::ErrorKind::NotFound)
    }
}

/// One entry of a directory listing (not followed if it is a symlink).
#[derive(Debug, Clone)]
pub struct DirEntry {
    pub name: OsString,
    /// Logical path of the entry.
    pub path: PathBuf,
    pub meta: Result<FileMeta, String>,
}

/// A directory opened for listing: its entry names, read as they are asked for, and never any
/// entry's metadata (ask [`FileSource::entry_metadata`] for that). A directory of 300,000
/// files then costs what the caller keeps of its names, not 300,000 [`FileMeta`]s at once.
pub struct DirListing {
    /// Logical path of the directory.
    pub dir: PathBuf,
    names: Box<dyn Iterator<Item = OsString>>,
    /// Where the source found the directory, so that `entry_metadata` lstats an entry without
    /// resolving the directory again. Only the source that made the listing reads it.
    resolved: Option<PathBuf>,
}

impl DirListing {
    /// A listing over names already read (what a source without its own `list_dir` gives).
    pub fn from_names(dir: PathBuf, names: Vec<OsString>) -> DirListing {
        DirListing {
            dir,
            names: Box::new(names.into_iter()),
            resolved: None,
        }
    }
}

impl Iterator for DirListing {
    type Item = OsString;
    fn next(&mut self) -> Option<OsString> {
        self.names.next()
    }
}

impl std::fmt::Debug for DirListing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DirListing")
            .field("dir", &self.dir)
            .finish()
    }
}

/// Bytes of an opened evidence file: a host file today; a zip member, an NTFS stream or a
/// disk-image extent can be one too, without any collector knowing.
pub trait ReadSeek: Read + Seek + Send {}
impl<T: Read + Seek + Send + ?Sized> ReadSeek for T {}

/// A file opened read-only for evidence, with the metadata of the very handle that was opened.
pub struct OpenedFile {
    pub file: Box<dyn ReadSeek>,
    pub meta: FileMeta,
}

impl OpenedFile {
    pub fn new(file: impl ReadSeek + 'static, meta: FileMeta) -> OpenedFile {
        OpenedFile {
            file: Box::new(file),
            meta,
        }
    }
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

/// The file-system view of the evidence: everything a file-based collector reads. The live
/// host's root and an offline root implement it; so can a zip, a raw NTFS volume or a disk
/// image, without touching a collector. Paths are logical (see the module comment).
pub trait FileSource: Send + Sync {
    fn describe(&self) -> SourceDescription;
    /// The OS of the evidence (not necessarily of the analyst's machine).
    fn os(&self) -> OsFamily;
    /// How the evidence's own OS would write this logical path.
    fn display_path(&self, logical: &Path) -> String;
    /// `lstat` of a logical path: parents are resolved in scope, the last component is not followed.
    fn metadata(&self, logical: &Path) -> Result<FileMeta, SourceError>;
    /// Entries of a directory, unsorted, never following symlinks.
    fn read_dir(&self, logical: &Path) -> Result<Vec<DirEntry>, SourceError>;
    /// The names in a directory, unsorted, read lazily; metadata is asked for one entry at a
    /// time with [`FileSource::entry_metadata`]. The default reads the whole listing through
    /// `read_dir` (every entry's metadata at once); the live host and offline roots stream it.
    fn list_dir(&self, logical: &Path) -> Result<DirListing, SourceError> {
        let names = self
            .read_dir(logical)?
            .into_iter()
            .map(|e| e.name)
            .collect();
        Ok(DirListing::from_names(logical.to_path_buf(), names))
    }
    /// `lstat` of the entry `name` of a listed directory: the same as `metadata` of
    /// `listing.dir/name` (the entry itself is not followed).
    fn entry_metadata(&self, listing: &DirListing, name: &OsStr) -> Result<FileMeta, SourceError> {
        self.metadata(&listing.dir.join(name))
    }
    /// Open a regular file read-only. Symlinks are followed only while they stay in scope;
    /// FIFOs, sockets and devices are refused without being opened for reading.
    fn open(&self, logical: &Path) -> Result<OpenedFile, SourceError>;
    /// The target a symlink holds, as written (never resolved, never followed).
    fn read_link(&self, _logical: &Path) -> Result<PathBuf, SourceError> {
        Err(SourceError::Unsupported {
            what: "symlink targets",
            source_kind: "this source",
        })
    }
    /// What the files say about the host (hostname, OS release, time zone).
    fn host_facts(&self) -> HostFacts;
    /// Every user account with a home/profile on the evidence.
    fn users(&self) -> Vec<UserAccount>;
    /// Files and directories opened so far without protecting their access time (Linux:
    /// `O_NOATIME` refused to a non-owner without CAP_FOWNER).
    fn atime_unprotected(&self) -> u64 {
        0
    }
}

/// The running host itself: what exists only while it runs. Only the live source has one.
pub trait LiveHost: Send + Sync {
    /// Live processes, without image hashes or ancestry (the collector adds those).
    fn processes(&self) -> Result<Vec<ProcessRecord>, SourceError>;
    /// Open the executable image of a live process (on Linux through `/proc/<pid>/exe`, which
    /// still works when the file was deleted or lives only in memory).
    fn open_process_image(&self, process: &ProcessRecord) -> Result<OpenedFile, SourceError>;
    /// After the image was read: the process is still the one the snapshot saw (its start
    /// time unchanged); `Err` says why not. Where the OS gives no such proof, `Ok`.
    fn process_unchanged(&self, _process: &ProcessRecord) -> Result<(), String> {
        Ok(())
    }
    fn connections(&self) -> Result<Vec<RawSocket>, SourceError>;
    /// The variables `names` of a live process's environment, and only those: the rest of an
    /// environment holds secrets (tokens, passwords) and never leaves the source.
    fn process_env_vars(
        &self,
        _pid: u32,
        _names: &[&str],
    ) -> Result<Vec<(String, String)>, SourceError> {
        Err(SourceError::Unsupported {
            what: "process environments",
            source_kind: "this OS",
        })
    }
    /// The files a live process has mapped (`/proc/<pid>/maps`), each once, in address
    /// order; a deleted file keeps its ` (deleted)` suffix.
    fn process_mapped_files(&self, _pid: u32) -> Result<Vec<String>, SourceError> {
        Err(SourceError::Unsupported {
            what: "process memory maps",
            source_kind: "this OS",
        })
    }
}

/// The evidence of one run: a file-system view, and the live host when it is one.
pub enum Evidence {
    Live(LiveSource),
    Root(RootSource),
}

impl Evidence {
    pub fn files(&self) -> &dyn FileSource {
        match self {
            Evidence::Live(l) => l,
            Evidence::Root(r) => r,
        }
    }

    pub fn live(&self) -> Option<&dyn LiveHost> {
        match self {
            Evidence::Live(l) => Some(l),
            Evidence::Root(_) => None,
        }
    }

    /// The host's facts: from the running OS when live, else from the evidence's files.
    pub fn host_facts(&self) -> HostFacts {
        self.files().host_facts()
    }
}

/// Join a logical parent and a child name.
pub fn logical_join(parent: &Path, name: impl AsRef<Path>) -> PathBuf {
    parent.join(name)
}
