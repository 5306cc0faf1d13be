//! Live Linux: processes from `/proc` (read directly, never through `ps`), host facts from
//! `/proc` and `/etc`, accounts from `/etc/passwd` plus `/home`.
//! Reference: proc(5) (`/proc/<pid>/stat` field numbers, `exe`, `cmdline`, `status`).

use crate::record::{HashStatus, ImageKind, ImageWitness, ProcessRecord, Timestamp};
use crate::source::accounts::{passwd_accounts, unix_users};
use crate::source::{FsView, HostFacts, SourceError, UserAccount};
use base64::Engine;
use std::collections::HashMap;
use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

mod image;
pub use image::{open_process_image, process_unchanged};

/// PF_KTHREAD from include/linux/sched.h: the task is a kernel thread.
const PF_KTHREAD: u64 = 0x0020_0000;

fn read_proc(path: &str) -> std::io::Result<Vec<u8>> {
    let mut f = std::fs::File::open(path)?;
    let mut buf = Vec::new();
    // /proc files are small; the cap guards against a hostile cmdline of absurd size.
    f.by_ref().take(8 << 20).read_to_end(&mut buf)?;
    Ok(buf)
}

fn read_proc_string(path: &str) -> Option<String> {
    read_proc(path)
        .ok()
        .map(|b| String::from_utf8_lossy(&b).trim().to_string())
}

fn passwd_owners() -> HashMap<u32, String> {
    let text = read_proc_string("/etc/passwd").unwrap_or_default();
    crate::parsers::passwd::parse_passwd(&text)
        .into_iter()
        .filter_map(|u| u.uid.map(|uid| (uid, u.name)))
        .collect()
}

pub fn root_view() -> FsView {
    let mut v = FsView::new(PathBuf::from("/"), false);
    v.set_owners(passwd_owners());
    v
}

pub fn display_path(logical: &Path) -> String {
    logical.display().to_string()
}

fn boot_time() -> Option<i64> {
    let stat = read_proc_string("/proc/stat")?;
    stat.lines()
        .find_map(|l| l.strip_prefix("btime "))
        .and_then(|v| v.trim().parse().ok())
}

pub fn host_facts(_view: &FsView) -> HostFacts {
    let (os_name, os_version) = read_proc_string("/etc/os-release")
        .or_else(|| read_proc_string("/usr/lib/os-release"))
        .map(|t| crate::parsers::os_release::parse_os_release(&t))
        .unwrap_or((None, None));
    let timezone = std::env::var("TZ")
        .ok()
        .filter(|s| !s.is_empty())
        .or_else(|| read_proc_string("/etc/timezone").filter(|s| !s.is_empty()))
        .or_else(|| {
            std::fs::read_link("/etc/localtime").ok().map(|p| {
                let s = p.display().to_string();
                match s.split_once("zoneinfo/") {
                    Some((_, tz)) => tz.to_string(),
                    None => s,
                }
            })
        });
    HostFacts {
        hostname: read_proc_string("/proc/sys/kernel/hostname"),
        os_name,
        os_version,
        kernel: read_proc_string("/proc/sys/kernel/osrelease"),
        architecture: None,
        boot_time: boot_time().and_then(|s| chrono::DateTime::from_timestamp(s, 0)),
        timezone,
        domain: read_proc_string("/proc/sys/kernel/domainname").filter(|d| d != "(none)"),
        ip_addresses: Vec::new(),
    }
}

pub fn users(view: &FsView) -> Vec<UserAccount> {
    let passwd = passwd_accounts(&read_proc_string("/etc/passwd").unwrap_or_default());
    unix_users(
        passwd,
        view.read_dir(Path::new("/home")).unwrap_or_default(),
    )
}

/// The effective uid from `/proc/self/status` (no unsafe code for a value the kernel also
/// publishes as text), and its name from the account database, not `$USER`: sudo and su
/// leave `$USER` pointing at someone else.
pub fn identity() -> super::Identity {
    let uid = read_proc_string("/proc/self/status").and_then(|status| {
        let line = status.lines().find_map(|l| l.strip_prefix("Uid:"))?;
        line.split_ascii_whitespace().nth(1)?.parse::<u32>().ok()
    });
    let user = uid.and_then(|uid| passwd_owners().remove(&uid));
    super::Identity {
        user,
        uid,
        sid: None,
        elevated: uid == Some(0),
    }
}

#[allow(unsafe_code)]
fn clock_ticks() -> u64 {
    // SAFETY: sysconf only reads a configuration value; it has no memory preconditions.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    u64::try_from(t).ok().filter(|t| *t > 0).unwrap_or(100)
}

/// nice 19 and the idle I/O class (ioprio_set has no libc wrapper, hence the raw syscall).
#[allow(unsafe_code)]
pub fn lower_own_priority() {
    const IOPRIO_WHO_PROCESS: libc::c_long = 1;
    const IOPRIO_CLASS_IDLE: libc::c_long = 3;
    const IOPRIO_CLASS_SHIFT: libc::c_long = 13;
    // SAFETY: setpriority and ioprio_set take plain integers and only change this process's
    // scheduling; no memory is passed.
    unsafe {
        libc::setpriority(libc::PRIO_PROCESS, 0, 19);
        libc::syscall(
            libc::SYS_ioprio_set,
            IOPRIO_WHO_PROCESS,
            0 as libc::c_long,
            IOPRIO_CLASS_IDLE << IOPRIO_CLASS_SHIFT,
        );
    }
}

/// Fields of `/proc/<pid>/stat` we use. `comm` may hold spaces and parentheses, so the
/// fields are counted from the *last* `)`.
struct Stat {
    comm: String,
    state: char,
    ppid: u32,
    flags: u64,
    start_ticks: u64,
}

fn parse_stat(raw: &[u8]) -> Option<Stat> {
    let open = raw.iter().position(|&b| b == b'(')?;
    let close = raw.iter().rposition(|&b| b == b')')?;
    if close <= open {
        return None;
    }
    let comm = String::from_utf8_lossy(&raw[open + 1..close]).into_owned();
    let rest = std::str::from_utf8(raw.get(close + 1..)?).ok()?;
    let f: Vec<&str> = rest.split_ascii_whitespace().collect();
    Some(Stat {
        comm,
        state: f.first()?.chars().next()?,
        ppid: f.get(1)?.parse().ok()?,
        flags: f.get(6)?.parse().ok()?,
        start_ticks: f.get(19)?.parse().ok()?,
    })
}

fn state_name(c: char) -> String {
    match c {
        'R' => "running",
        'S' => "sleeping",
        'D' => "disk_sleep",
        'Z' => "zombie",
        'T' => "stopped",
        't' => "tracing_stop",
        'X' | 'x' => "dead",
        'I' => "idle",
        'P' => "parked",
        'W' => "waking",
        'K' => "wakekill",
        _ => "unknown",
    }
    .to_string()
}

fn status_uids(raw: &str) -> Option<(u32, u32)> {
    let line = raw.lines().find_map(|l| l.strip_prefix("Uid:"))?;
    let mut it = line.split_ascii_whitespace();
    Some((it.next()?.parse().ok()?, it.next()?.parse().ok()?))
}

fn is_vanished(e: &std::io::Error) -> bool {
    e.kind() == std::io::ErrorKind::NotFound || e.raw_os_error() == Some(libc::ESRCH)
}

/// Split a kernel exe link target into path and kind: the kernel appends " (deleted)" when
/// the file is gone, and memfd images read `/memfd:<name> (deleted)`.
fn image_from_link(target: &[u8]) -> (String, ImageKind) {
    let s = String::from_utf8_lossy(target).into_owned();
    match s.strip_suffix(" (deleted)") {
        Some(p) if p.starts_with("/memfd:") => (p.to_string(), ImageKind::Memfd),
        Some(p) => (p.to_string(), ImageKind::Deleted),
        None => (s, ImageKind::File),
    }
}

fn split_argv(raw: &[u8]) -> (Vec<String>, Option<Vec<String>>) {
    let trimmed = raw.strip_suffix(b"\0").unwrap_or(raw);
    if trimmed.is_empty() {
        return (Vec::new(), None);
    }
    let parts: Vec<&[u8]> = trimmed.split(|&b| b == 0).collect();
    let lossy = parts
        .iter()
        .map(|p| String::from_utf8_lossy(p).into_owned())
        .collect();
    let all_utf8 = parts.iter().all(|p| std::str::from_utf8(p).is_ok());
    let raw_b64 = (!all_utf8).then(|| {
        parts
            .iter()
            .map(|p| base64::engine::general_purpose::STANDARD.encode(p))
            .collect()
    });
    (lossy, raw_b64)
}

fn read_process(
    pid: u32,
    boot: Option<i64>,
    ticks: u64,
    owners: &HashMap<u32, String>,
) -> Option<ProcessRecord> {
    let base = format!("/proc/{pid}");
    // A process gone before its stat was read is simply not part of the snapshot.
    let stat = parse_stat(&read_proc(&format!("{base}/stat")).ok()?)?;
    let mut notes = Vec::new();
    let kernel_thread = stat.flags & PF_KTHREAD != 0;

    let (argv, argv_raw_b64) = match read_proc(&format!("{base}/cmdline")) {
        Ok(raw) => split_argv(&raw),
        Err(e) => {
            notes.push(if is_vanished(&e) {
                "vanished mid-read (cmdline)".to_string()
            } else {
                format!("cmdline unreadable: {e}")
            });
            (Vec::new(), None)
        }
    };

    // The image's identity, taken around reading its path: equal before and after, the path
    // read belongs to that file (an exec in between would change it).
    let identity = |notes: &mut Vec<String>| {
        std::fs::metadata(format!("{base}/exe"))
            .map(|m| (m.dev(), m.ino()))
            .map_err(|e| {
                if !is_vanished(&e) && e.kind() != std::io::ErrorKind::PermissionDenied {
                    notes.push(format!("image identity unreadable: {e}"));
                }
            })
            .ok()
    };
    let before = (!kernel_thread).then(|| identity(&mut notes)).flatten();
    let (image_path, image_kind) = if kernel_thread {
        (None, ImageKind::None)
    } else {
        match std::fs::read_link(format!("{base}/exe")) {
            Ok(t) => {
                let (p, k) = image_from_link(t.as_os_str().as_bytes());
                (Some(p), k)
            }
            Err(e) if is_vanished(&e) && stat.state == 'Z' => (None, ImageKind::None),
            Err(e) if is_vanished(&e) => {
                notes.push("vanished mid-read (exe)".into());
                (None, ImageKind::Unknown)
            }
            Err(e) => {
                notes.push(format!("image path unreadable: {e}"));
                (None, ImageKind::Unknown)
            }
        }
    };

    let after = (!kernel_thread).then(|| identity(&mut notes)).flatten();
    let image = match (before, after) {
        (Some(b), Some(a)) if a == b => Some(a),
        (Some(_), Some(_)) => {
            notes.push("the image changed while the snapshot read it (exec)".into());
            None
        }
        _ => None,
    };
    let witness = (!kernel_thread).then_some(ImageWitness {
        image,
        start_ticks: stat.start_ticks,
    });

    let cwd = if kernel_thread {
        None
    } else {
        match std::fs::read_link(format!("{base}/cwd")) {
            Ok(p) => Some(p.display().to_string()),
            Err(e) if is_vanished(&e) => None,
            Err(e) => {
                notes.push(format!("cwd unreadable: {e}"));
                None
            }
        }
    };

    let uids = read_proc_string(&format!("{base}/status")).and_then(|s| status_uids(&s));
    if let Some((real, eff)) = uids
        && real != eff
    {
        notes.push(format!("effective uid {eff} differs from real uid {real}"));
    }
    let uid = uids.map(|(real, _)| real);

    let start_time: Option<Timestamp> = boot.and_then(|b| {
        let ms = stat.start_ticks.saturating_mul(1000) / ticks;
        let ms = i64::try_from(ms).ok()?;
        chrono::DateTime::from_timestamp_millis(b.saturating_mul(1000).saturating_add(ms))
    });

    if stat.state == 'Z' {
        notes.push("zombie: exited, not yet reaped by its parent".into());
    }

    Some(ProcessRecord {
        pid,
        ppid: Some(stat.ppid).filter(|_| pid != 1 || stat.ppid != 0),
        name: stat.comm,
        image_path,
        image_kind,
        command_line: argv.join(" "),
        argv,
        argv_raw_b64,
        cwd,
        uid,
        user: uid.and_then(|u| owners.get(&u).cloned()),
        user_sid: None,
        start_time,
        state: Some(state_name(stat.state)),
        kernel_thread,
        image_sha256: None,
        image_size: None,
        image_hash_status: HashStatus::NotApplicable,
        image_hash_error: None,
        image_copy: None,
        witness,
        ancestry: Vec::new(),
        notes,
        is_irsnap: pid == std::process::id(),
    })
}

pub fn processes(_view: &FsView) -> Result<Vec<ProcessRecord>, SourceError> {
    let rd = std::fs::read_dir("/proc").map_err(|e| SourceError::io("/proc", e))?;
    let boot = boot_time();
    let ticks = clock_ticks();
    let owners = passwd_owners();
    let mut out: Vec<ProcessRecord> = rd
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()))
        .filter_map(|pid| read_process(pid, boot, ticks, &owners))
        .collect();
    out.sort_by_key(|p| p.pid);
    Ok(out)
}

/// The variables `names` of `/proc/<pid>/environ`, and nothing else of it: the environment
/// holds secrets, so every other variable is dropped here, before anything sees it.
pub fn process_env_vars(pid: u32, names: &[&str]) -> Result<Vec<(String, String)>, SourceError> {
    let path = format!("/proc/{pid}/environ");
    let raw = read_proc(&path).map_err(|e| SourceError::io(path.clone(), e))?;
    Ok(env_vars_from(&raw, names))
}

fn env_vars_from(raw: &[u8], names: &[&str]) -> Vec<(String, String)> {
    raw.split(|b| *b == 0)
        .filter_map(|kv| {
            let eq = kv.iter().position(|b| *b == b'=')?;
            let name = std::str::from_utf8(&kv[..eq]).ok()?;
            names.contains(&name).then(|| {
                (
                    name.to_string(),
                    String::from_utf8_lossy(&kv[eq + 1..]).into_owned(),
                )
            })
        })
        .collect()
}

/// The file-backed mappings of `/proc/<pid>/maps` (the path column), each once.
pub fn process_mapped_files(pid: u32) -> Result<Vec<String>, SourceError> {
    let path = format!("/proc/{pid}/maps");
    let raw = read_proc(&path).map_err(|e| SourceError::io(path.clone(), e))?;
    Ok(mapped_files_from(&String::from_utf8_lossy(&raw)))
}

fn mapped_files_from(maps: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for line in maps.lines() {
        // address perms offset dev inode pathname
        let mut rest = line;
        for _ in 0..5 {
            rest = rest.trim_start();
            rest = rest.split_once(' ').map_or("", |(_, r)| r);
        }
        let p = rest.trim();
        if p.starts_with('/') && !out.iter().any(|o| o == p) {
            out.push(p.to_string());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stat_with_hostile_comm() {
        let raw = b"42 (a) b) (c) S 7 42 42 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 12345 0 0";
        let s = parse_stat(raw).unwrap();
        assert_eq!(s.comm, "a) b) (c");
        assert_eq!(s.state, 'S');
        assert_eq!(s.ppid, 7);
        assert_eq!(s.start_ticks, 12345);
        assert!(parse_stat(b"garbage").is_none());
        assert!(parse_stat(b"1 (x)").is_none());
    }

    #[test]
    fn environment_keeps_only_the_named_variables() {
        let raw = b"SECRET_TOKEN=abc\0LD_PRELOAD=/tmp/x.so\0PATH=/bin\0LD_AUDIT\0=weird\0";
        assert_eq!(
            env_vars_from(raw, &["LD_PRELOAD", "LD_AUDIT"]),
            [("LD_PRELOAD".to_string(), "/tmp/x.so".to_string())]
        );
        let own = process_env_vars(std::process::id(), &["NO_SUCH_VAR_IRSNAP"]).unwrap();
        assert!(own.is_empty());
        let maps = "7f00-7f01 r-xp 00000000 08:01 42   /usr/lib/libc.so.6\n\
                    7f01-7f02 r--p 00000000 08:01 42   /usr/lib/libc.so.6\n\
                    7f02-7f03 rw-p 00000000 00:00 0 \n\
                    7f03-7f04 r-xp 00000000 00:1f 9    /dev/shm/x.so (deleted)\n\
                    7ffd-7ffe rw-p 00000000 00:00 0    [stack]\n";
        assert_eq!(
            mapped_files_from(maps),
            ["/usr/lib/libc.so.6", "/dev/shm/x.so (deleted)"]
        );
        assert!(!process_mapped_files(std::process::id()).unwrap().is_empty());
    }

    #[test]
    fn exe_link_kinds() {
        assert_eq!(
            image_from_link(b"/usr/bin/x"),
            ("/usr/bin/x".into(), ImageKind::File)
        );
        assert_eq!(
            image_from_link(b"/tmp/x (deleted)"),
            ("/tmp/x".into(), ImageKind::Deleted)
        );
        assert_eq!(
            image_from_link(b"/memfd:payload (deleted)"),
            ("/memfd:payload".into(), ImageKind::Memfd)
        );
    }

    #[test]
    fn argv_keeps_non_utf8() {
        let (argv, raw) = split_argv(b"a\0b\xffc\0\0");
        assert_eq!(argv, vec!["a", "b\u{fffd}c", ""]);
        let raw = raw.unwrap();
        assert_eq!(raw[1], "Yv9j");
        assert_eq!(split_argv(b"").0.len(), 0);
    }

    #[test]
    fn low_impact_lowers_the_calling_thread() {
        // In a thread of its own: Linux priorities are per thread, so the test runner's other
        // threads keep theirs.
        let nice = std::thread::spawn(|| {
            lower_own_priority();
            let stat = std::fs::read("/proc/thread-self/stat").unwrap();
            let close = stat.iter().rposition(|&b| b == b')').unwrap();
            let rest = String::from_utf8_lossy(&stat[close + 1..]).into_owned();
            rest.split_ascii_whitespace().nth(16).unwrap().to_string()
        })
        .join()
        .unwrap();
        assert_eq!(nice, "19");
    }

    #[test]
    fn own_process_is_seen() {
        let procs = processes(&root_view()).unwrap();
        let me = procs.iter().find(|p| p.pid == std::process::id()).unwrap();
        assert!(me.start_time.is_some());
        assert_eq!(me.image_kind, ImageKind::File);
    }
}
