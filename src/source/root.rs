//! An offline root: a mounted image or a folder laid out like a system drive. Only the
//! file-based artifacts exist here; processes and sockets are `Unsupported`.

use super::accounts::{passwd_accounts, unix_users, windows_display, windows_users};
use super::{
    DirEntry, DirListing, FileMeta, FileSource, FsView, HostFacts, OpenedFile, OsFamily,
    SourceDescription, SourceError, UserAccount,
};
use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};

pub struct RootSource {
    view: FsView,
    os: OsFamily,
    os_detected: bool,
}

/// Guess the OS from the layout: a `Windows/System32` folder means Windows, an `etc` folder
/// means a Unix root.
pub fn detect_os(root: &Path) -> Option<OsFamily> {
    let probe = FsView::new(root.to_path_buf(), true);
    let is_dir = |p: &str| {
        probe
            .resolve(Path::new(p), true)
            .ok()
            .and_then(|h| std::fs::metadata(h).ok())
            .is_some_and(|m| m.is_dir())
    };
    if is_dir("/Windows/System32") {
        Some(OsFamily::Windows)
    } else if is_dir("/etc") {
        Some(OsFamily::Linux)
    } else {
        None
    }
}

impl RootSource {
    /// `os` overrides detection; without it, an undetectable layout is an error.
    pub fn new(root: PathBuf, os: Option<OsFamily>) -> Result<RootSource, SourceError> {
        let meta =
            std::fs::metadata(&root).map_err(|e| SourceError::io(root.display().to_string(), e))?;
        if !meta.is_dir() {
            return Err(SourceError::Other {
                what: root.display().to_string(),
                message: "an offline root must be a directory".into(),
            });
        }
        let detected = detect_os(&root);
        let (os, os_detected) = match (os, detected) {
            (Some(os), _) => (os, false),
            (None, Some(os)) => (os, true),
            (None, None) => {
                return Err(SourceError::Other {
                    what: root.display().to_string(),
                    message: "cannot tell the OS of this root (no Windows/System32, no etc/); \
                              pass --root-os windows|linux"
                        .into(),
                });
            }
        };
        let mut view = FsView::new(root, os == OsFamily::Windows);
        let mut src = RootSource {
            view: view.clone(),
            os,
            os_detected,
        };
        if os != OsFamily::Windows {
            let owners: HashMap<u32, String> = src
                .passwd()
                .into_iter()
                .filter_map(|u| u.uid.map(|uid| (uid, u.name)))
                .collect();
            view.set_owners(owners);
            src.view = view;
        }
        Ok(src)
    }

    fn read_small(&self, logical: &str, cap: u64) -> Option<String> {
        let f = self.view.open(Path::new(logical)).ok()?;
        let mut buf = Vec::new();
        f.file.take(cap).read_to_end(&mut buf).ok()?;
        Some(String::from_utf8_lossy(&buf).into_owned())
    }

    fn passwd(&self) -> Vec<UserAccount> {
        self.read_small("/etc/passwd", 4 << 20)
            .map(|t| passwd_accounts(&t))
            .unwrap_or_default()
    }
}

impl FileSource for RootSource {
    fn atime_unprotected(&self) -> u64 {
        self.view.atime_unprotected()
    }

    fn describe(&self) -> SourceDescription {
        SourceDescription::OfflineRoot {
            os: self.os,
            path: self.view.root().display().to_string(),
            os_detected: self.os_detected,
        }
    }

    fn os(&self) -> OsFamily {
        self.os
    }

    fn display_path(&self, logical: &Path) -> String {
        match self.os {
            OsFamily::Windows => windows_display(logical),
            _ => logical.display().to_string(),
        }
    }

    fn metadata(&self, logical: &Path) -> Result<FileMeta, SourceError> {
        self.view.metadata(logical)
    }

    fn read_dir(&self, logical: &Path) -> Result<Vec<DirEntry>, SourceError> {
        self.view.read_dir(logical)
    }

    fn list_dir(&self, logical: &Path) -> Result<DirListing, SourceError> {
        self.view.list_dir(logical)
    }

    fn entry_metadata(
        &self,
        listing: &DirListing,
        name: &std::ffi::OsStr,
    ) -> Result<FileMeta, SourceError> {
        self.view.entry_metadata(listing, name)
    }

    fn open(&self, logical: &Path) -> Result<OpenedFile, SourceError> {
        self.view.open(logical)
    }

    fn read_link(&self, logical: &Path) -> Result<PathBuf, SourceError> {
        self.view.read_link(logical)
    }

    fn host_facts(&self) -> HostFacts {
        let mut facts = HostFacts::default();
        match self.os {
            OsFamily::Windows => {
                facts.os_name = Some("Windows".into());
            }
            _ => {
                facts.hostname = self
                    .read_small("/etc/hostname", 4096)
                    .map(|s| s.trim().to_string())
                    .filter(|s| !s.is_empty());
                if let Some(osr) = self.read_small("/etc/os-release", 64 << 10) {
                    let (name, version) = crate::parsers::os_release::parse_os_release(&osr);
                    facts.os_name = name;
                    facts.os_version = version;
                }
                facts.timezone = self
                    .read_small("/etc/timezone", 4096)
                    .map(|s| s.trim().to_string());
            }
        }
        facts
    }

    fn users(&self) -> Vec<UserAccount> {
        match self.os {
            OsFamily::Windows => {
                windows_users(self.view.read_dir(Path::new("/Users")).unwrap_or_default())
            }
            _ => unix_users(
                self.passwd(),
                self.view.read_dir(Path::new("/home")).unwrap_or_default(),
            ),
        }
    }
}
