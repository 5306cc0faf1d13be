use crate::record::Timestamp;
use crate::source::{FileMeta, FileType};
use std::fs::{File, Metadata, OpenOptions};
use std::os::unix::fs::{FileTypeExt, MetadataExt, OpenOptionsExt};
use std::path::Path;

/// Open read-only without following a final symlink, without blocking on FIFOs, without
/// acquiring a controlling terminal, and (when the kernel allows it: our own files, or root)
/// without updating the access time, which is evidence too. The flag says whether the access
/// time is protected (`O_NOATIME` took).
pub fn open_evidence(path: &Path) -> std::io::Result<(File, bool)> {
    let base = libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_NOCTTY | libc::O_CLOEXEC;
    open_noatime(path, base)
}

/// Open with `flags | O_NOATIME`, or, when the kernel refuses it (EPERM: `O_NOATIME` needs
/// the file's ownership or CAP_FOWNER), with `flags` alone; says which.
fn open_noatime(path: &Path, flags: libc::c_int) -> std::io::Result<(File, bool)> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        match OpenOptions::new()
            .read(true)
            .custom_flags(flags | libc::O_NOATIME)
            .open(path)
        {
            Ok(f) => return Ok((f, true)),
            Err(e) if e.raw_os_error() == Some(libc::EPERM) => {}
            Err(e) => return Err(e),
        }
    }
    OpenOptions::new()
        .read(true)
        .custom_flags(flags)
        .open(path)
        .map(|f| (f, false))
}

/// The names in a directory (without `.` and `..`), streamed from a handle opened with
/// `O_NOATIME` where the kernel allows it: `std::fs::read_dir` opens directories without it,
/// so listing a directory as root would change its access time. The flag says whether the
/// access time is protected.
pub fn read_dir_names(path: &Path) -> std::io::Result<(DirNames, bool)> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        let (file, protected) =
            open_noatime(path, libc::O_DIRECTORY | libc::O_NONBLOCK | libc::O_CLOEXEC)?;
        Ok((
            Box::new(Getdents {
                file,
                buf: vec![0; 32 << 10],
                pos: 0,
                len: 0,
                done: false,
            }),
            protected,
        ))
    }
    #[cfg(not(any(target_os = "linux", target_os = "android")))]
    {
        let rd = std::fs::read_dir(path)?;
        Ok((Box::new(rd.map(|e| e.map(|e| e.file_name()))), false))
    }
}

/// Names of a directory as they are read.
pub type DirNames = Box<dyn Iterator<Item = std::io::Result<std::ffi::OsString>> + Send>;

/// `getdents64(2)` over a directory handle this module opened.
#[cfg(any(target_os = "linux", target_os = "android"))]
struct Getdents {
    file: File,
    buf: Vec<u8>,
    pos: usize,
    len: usize,
    done: bool,
}

#[cfg(any(target_os = "linux", target_os = "android"))]
impl Iterator for Getdents {
    type Item = std::io::Result<std::ffi::OsString>;

    fn next(&mut self) -> Option<Self::Item> {
        use std::os::unix::ffi::OsStrExt;
        use std::os::unix::io::AsRawFd;
        // struct linux_dirent64: d_ino u64, d_off i64, d_reclen u16, d_type u8, d_name[].
        const NAME_AT: usize = 19;
        loop {
            if self.pos >= self.len {
                if self.done {
                    return None;
                }
                let fd = self.file.as_raw_fd();
                #[allow(unsafe_code)]
                // SAFETY: `fd` is an open directory owned by `self.file`, alive for the whole
                // call; the kernel writes at most `buf.len()` bytes into `buf`, which is valid
                // and writable for that many bytes.
                let n = unsafe {
                    libc::syscall(
                        libc::SYS_getdents64,
                        fd,
                        self.buf.as_mut_ptr(),
                        self.buf.len(),
                    )
                };
                if n < 0 {
                    let e = std::io::Error::last_os_error();
                    if e.kind() == std::io::ErrorKind::Interrupted {
                        continue;
                    }
                    self.done = true;
                    return Some(Err(e));
                }
                if n == 0 {
                    self.done = true;
                    return None;
                }
                self.len = usize::try_from(n).unwrap_or(0).min(self.buf.len());
                self.pos = 0;
            }
            let rec = &self.buf[self.pos..self.len];
            let reclen = match rec.get(16..18) {
                Some(b) => usize::from(u16::from_ne_bytes([b[0], b[1]])),
                None => 0,
            };
            if reclen <= NAME_AT || reclen > rec.len() {
                self.done = true;
                self.pos = self.len;
                return Some(Err(std::io::Error::other(
                    "getdents64: a malformed directory record",
                )));
            }
            self.pos += reclen;
            let name = rec[NAME_AT..reclen]
                .split(|&b| b == 0)
                .next()
                .unwrap_or_default();
            if name.is_empty() || name == b"." || name == b".." {
                continue;
            }
            return Some(Ok(std::ffi::OsStr::from_bytes(name).to_os_string()));
        }
    }
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
