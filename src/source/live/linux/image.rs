//! A live process's image, opened for hashing only when it is still the file (and the
//! process still the one) that the snapshot saw: the image's device and inode through
//! `/proc/<pid>/exe`, and the process's start time. After an exec or a pid reuse it is
//! another program, whose hash must never be paired with the record's path.

use super::{parse_stat, read_proc};
use crate::record::{ImageWitness, ProcessRecord};
use crate::source::{FsView, OpenedFile, SourceError};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};

/// Why a process is not the one the snapshot saw, if it is not: another start time (the pid
/// was reused) or, with `image`, another image file (exec) than `w` witnessed.
fn changed_since(pid: u32, w: &ImageWitness, image: Option<(u64, u64)>) -> Option<String> {
    let start = read_proc(&format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|raw| parse_stat(&raw))
        .map(|s| s.start_ticks);
    match (start, image) {
        (None, _) => Some("the process ended".into()),
        (Some(s), _) if s != w.start_ticks => {
            Some("the pid now belongs to another process (pid reuse)".into())
        }
        (_, Some(id)) => match w.image {
            Some(seen) if seen != id => Some(format!(
                "its image is another file than at the snapshot (device {} inode {}, then \
                 device {} inode {}): the process exec'd",
                seen.0, seen.1, id.0, id.1
            )),
            _ => None,
        },
        _ => None,
    }
}

/// After hashing: the process is still the one the snapshot saw.
pub fn process_unchanged(p: &ProcessRecord) -> Result<(), String> {
    match &p.witness {
        Some(w) => changed_since(p.pid, w, None).map_or(Ok(()), Err),
        None => Err("the snapshot took nothing to check the process against".into()),
    }
}

/// `/proc/<pid>/exe` is a kernel "magic link": opening it reaches the image even when it
/// was deleted or exists only in memory, so it is followed on purpose (not by name). The
/// opened file must be the one the snapshot saw (same device and inode, same process start
/// time): after an exec or a pid reuse it is another program, whose hash must not be paired
/// with this record's path.
pub fn open_process_image(view: &FsView, p: &ProcessRecord) -> Result<OpenedFile, SourceError> {
    let path = format!("/proc/{}/exe", p.pid);
    // Opened first: a process whose image cannot be opened (another user's, without the
    // rights) is unreadable, as it always was, whatever the snapshot could take.
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY | libc::O_CLOEXEC)
        .open(&path)
        .map_err(|e| SourceError::io(path.clone(), e))?;
    let Some(witness) = p.witness else {
        return Err(SourceError::ImageChanged {
            pid: p.pid,
            why: "the snapshot took nothing to check the process against".into(),
        });
    };
    // A path without the identity of the file it named (unreadable, or an exec while the
    // snapshot read it) could be paired with another program's hash: refused. Without a
    // path (the kernel hides the link, as for some init processes), the hash is paired with
    // no path, and the start time still catches a pid reuse.
    if witness.image.is_none() && p.image_path.is_some() {
        return Err(SourceError::ImageChanged {
            pid: p.pid,
            why: "no image identity was taken at the snapshot for its path".into(),
        });
    }
    let m = file
        .metadata()
        .map_err(|e| SourceError::io(path.clone(), e))?;
    if let Some(why) = changed_since(p.pid, &witness, Some((m.dev(), m.ino()))) {
        return Err(SourceError::ImageChanged { pid: p.pid, why });
    }
    let meta = view.meta(&m);
    if meta.file_type != crate::source::FileType::Regular {
        return Err(SourceError::NotRegular {
            path,
            file_type: meta.file_type,
        });
    }
    Ok(OpenedFile::new(file, meta))
}

#[cfg(test)]
mod tests {
    use super::super::{boot_time, clock_ticks, read_process, root_view};
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn an_image_opened_after_an_exec_is_refused_not_hashed_as_the_old_path() {
        use std::io::Write;
        use std::process::{Command, Stdio};
        // A shell that execs sleep when told to: the snapshot sees the shell.
        let mut child = Command::new("/bin/sh")
            .args(["-c", "read x; exec /bin/sleep 30"])
            .stdin(Stdio::piped())
            .spawn()
            .unwrap();
        let pid = child.id();
        let owners = HashMap::new();
        let snap = read_process(pid, boot_time(), clock_ticks(), &owners).unwrap();
        let w = snap.witness.expect("a witness of our own child's image");
        // Unchanged: it opens, and the process is the same after.
        let opened = open_process_image(&root_view(), &snap).unwrap();
        assert_eq!(opened.meta.inode, w.image.map(|i| i.1));
        assert_eq!(process_unchanged(&snap), Ok(()));
        // Now it execs: the pid stays, the image is another program.
        child.stdin.take().unwrap().write_all(b"go\n").unwrap();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        loop {
            let now = std::fs::read_link(format!("/proc/{pid}/exe")).unwrap();
            if now.to_string_lossy().contains("sleep") {
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the child never exec'd"
            );
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        match open_process_image(&root_view(), &snap) {
            Err(SourceError::ImageChanged { pid: p, why }) => {
                assert_eq!(p, pid);
                assert!(why.contains("exec"), "{why}");
            }
            other => panic!(
                "opened another program's image: {:?}",
                other.map(|o| o.meta)
            ),
        }
        // Its start time is the same (an exec is the same process): that check alone would
        // not have caught it.
        assert_eq!(process_unchanged(&snap), Ok(()));
        // A fresh snapshot pairs the new path with the new image.
        let again = read_process(pid, boot_time(), clock_ticks(), &owners).unwrap();
        assert!(again.image_path.as_deref().unwrap_or("").contains("sleep"));
        assert!(open_process_image(&root_view(), &again).is_ok());
        // A pid whose start time differs is another process.
        let mut reused = again.clone();
        if let Some(w) = reused.witness.as_mut() {
            w.start_ticks += 1;
        }
        assert!(matches!(
            open_process_image(&root_view(), &reused),
            Err(SourceError::ImageChanged { .. })
        ));
        assert!(process_unchanged(&reused).is_err());
        let _ = child.kill();
        let _ = child.wait();
    }
}
