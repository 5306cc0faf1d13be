//! Live sources on OSes irsnap has no platform code for: file-based collectors still work
//! on the live file system; processes come from sysinfo without image opening.

use crate::record::ProcessRecord;
use crate::source::{FsView, HostFacts, OpenedFile, SourceError, UserAccount};
use std::path::{Path, PathBuf};

pub fn root_view() -> FsView {
    FsView::new(PathBuf::from("/"), false)
}

pub fn display_path(logical: &Path) -> String {
    logical.display().to_string()
}

pub fn host_facts(_view: &FsView) -> HostFacts {
    HostFacts {
        hostname: sysinfo::System::host_name(),
        os_name: sysinfo::System::name(),
        os_version: sysinfo::System::os_version(),
        kernel: sysinfo::System::kernel_version(),
        ..HostFacts::default()
    }
}

pub fn users(_view: &FsView) -> Vec<UserAccount> {
    Vec::new()
}

pub fn processes(_view: &FsView) -> Result<Vec<ProcessRecord>, SourceError> {
    Err(SourceError::Unsupported {
        what: "processes",
        source_kind: "this OS",
    })
}

/// No witness of a process's identity is taken here yet: nothing to compare.
pub fn process_unchanged(_p: &ProcessRecord) -> Result<(), String> {
    Ok(())
}

pub fn open_process_image(_view: &FsView, _p: &ProcessRecord) -> Result<OpenedFile, SourceError> {
    Err(SourceError::Unsupported {
        what: "process images",
        source_kind: "this OS",
    })
}

pub fn identity() -> super::Identity {
    super::Identity {
        user: None,
        uid: None,
        sid: None,
        elevated: false,
    }
}

/// Not implemented on this OS yet: the priority stays as it was.
pub fn lower_own_priority() {}
