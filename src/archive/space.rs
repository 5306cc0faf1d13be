//! Free space on the output volume, so irsnap stops copying before the disk is full rather
//! than failing half-way through a member. Asked of the file system holding the directory
//! itself (statvfs / GetDiskFreeSpaceEx): mount tables can omit tmpfs and bind mounts.

use std::path::Path;

/// Bytes available to us on the volume holding `dir`, if the OS tells.
pub fn available_space(dir: &Path) -> Option<u64> {
    fs4::available_space(dir).ok()
}

/// Remove an output directory irsnap created, if nothing is in it: a run that ends before
/// its archive leaves nothing behind.
pub fn remove_if_empty(dir: &Path) {
    let _ = std::fs::remove_dir(dir);
}
