use crate::record::Timestamp;
use crate::source::{FileMeta, FileType};
use std::fs::{File, Metadata, OpenOptions};
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt};
use std::path::Path;

/// Open read-only without following a final symlink, without blocking on FIFOs, without
/// acquiring a controlling terminal, and (when the kernel allows it: our own files, or root)
/// without updating the access time, which is evidence too.
pub fn open_evidence(path: &Path) -> std::io::Result<File> {
    let base = libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_NOCTTY | libc::O_CLOEXEC;
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        match OpenOptions::new()
            .read(true)
            .custom_flags(base | libc::O_NOATIME)
            .open(path)
        {
            Ok(f) => return Ok(f),
            // EPERM: O_NOATIME needs ownership or CAP_FOWNER; fall back to a plain open.
            Err(e) if e.raw_os_error() == Some(libc::EPERM) => {}
            Err(e) => return Err(e),
        }
    }
    OpenOptions::new().read(true).custom_flags(base).open(path)
}

fn ts(secs: i64, nsecs: i64) -> Option<Timestamp> {
    chrono::DateTime::from_timestamp(secs, u32::try_from(nsecs).unwrap_or(0))
}

pub fn file_meta(m: &Metadata) -> FileMeta {
    let ft = m.file_type();
    let file_type = if ft.is_file() {
        FileType::Regular
    } else if ft.is_dir() {
        FileType::Directory
    } else if ft.is_symlink() {
        FileType::Symlink
    } else if ft.is_fifo() {
        FileType::Fifo
    } else if ft.is_socket() {
        FileType::Socket
    } else if ft.is_char_device() {
        FileType::CharDevice
    } else if ft.is_block_device() {
        FileType::BlockDevice
    } else {
        FileType::Other
    };
    FileMeta {
        file_type,
        size: m.len(),
        mtime: ts(m.mtime(), m.mtime_nsec()),
        atime: ts(m.atime(), m.atime_nsec()),
        ctime: ts(m.ctime(), m.ctime_nsec()),
        btime: super::system_time(m.created()),
        uid: Some(m.uid()),
        gid: Some(m.gid()),
        mode: Some(m.mode()),
        owner: None,
        dev: Some(m.dev()),
        inode: Some(m.ino()),
    }
}
