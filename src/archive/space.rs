//! Free space on the output volume, so irsnap stops copying before the disk is full rather
//! than failing half-way through a member.

use std::path::Path;

/// Bytes available to us on the volume holding `dir`, if the OS tells.
pub fn available_space(dir: &Path) -> Option<u64> {
    let disks = sysinfo::Disks::new_with_refreshed_list().ok()?;
    disks
        .iter()
        .filter(|d| dir.starts_with(d.mount_point()))
        .max_by_key(|d| d.mount_point().as_os_str().len())
        .map(|d| d.available_space())
}
