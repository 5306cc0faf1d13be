//! The few file-system calls whose flags or metadata differ per OS, in one place.

#[cfg(unix)]
mod unix;
#[cfg(unix)]
pub use unix::{DirNames, file_meta, open_evidence, read_dir_names};

#[cfg(windows)]
mod windows;
#[cfg(windows)]
pub use windows::{DirNames, file_meta, open_evidence, read_dir_names};

#[cfg(not(any(unix, windows)))]
compile_error!("irsnap supports Unix and Windows targets");

pub(crate) fn system_time(
    t: std::io::Result<std::time::SystemTime>,
) -> Option<crate::record::Timestamp> {
    t.ok().map(chrono::DateTime::<chrono::Utc>::from)
}
