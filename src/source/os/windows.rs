use crate::source::{FileMeta, FileType};
use std::fs::{File, Metadata, OpenOptions};
use std::os::windows::fs::OpenOptionsExt;
use std::path::Path;

const FILE_SHARE_READ: u32 = 0x1;
const FILE_SHARE_WRITE: u32 = 0x2;
const FILE_SHARE_DELETE: u32 = 0x4;
const FILE_FLAG_OPEN_REPARSE_POINT: u32 = 0x0020_0000;

/// Open read-only with full sharing, so files the OS holds open (event logs, registry hives
/// in use) can still be read, and without following a final reparse point.
/// The flag: whether the access time is protected. On Windows, last-access updates are the
/// volume's policy (NtfsDisableLastAccessUpdate, on by default since Vista), not a flag of
/// the open: reported as protected, as README says.
pub fn open_evidence(path: &Path) -> std::io::Result<(File, bool)> {
    OpenOptions::new()
        .read(true)
        .share_mode(FILE_SHARE_READ | FILE_SHARE_WRITE | FILE_SHARE_DELETE)
        .custom_flags(FILE_FLAG_OPEN_REPARSE_POINT)
        .open(path)
        .map(|f| (f, true))
}

/// Names of a directory as they are read.
pub type DirNames = Box<dyn Iterator<Item = std::io::Result<std::ffi::OsString>> + Send>;

/// The names in a directory; the flag as for [`open_evidence`].
pub fn read_dir_names(path: &Path) -> std::io::Result<(DirNames, bool)> {
    let rd = std::fs::read_dir(path)?;
    Ok((Box::new(rd.map(|e| e.map(|e| e.file_name()))), true))
}

pub fn file_meta(m: &Metadata) -> FileMeta {
    let ft = m.file_type();
    let file_type = if ft.is_symlink() {
        FileType::Symlink
    } else if ft.is_file() {
        FileType::Regular
    } else if ft.is_dir() {
        FileType::Directory
    } else {
        FileType::Other
    };
    FileMeta {
        file_type,
        size: m.len(),
        mtime: super::system_time(m.modified()),
        atime: super::system_time(m.accessed()),
        ctime: None,
        btime: super::system_time(m.created()),
        uid: None,
        gid: None,
        mode: None,
        owner: None,
        dev: None,
        inode: None,
    }
}
