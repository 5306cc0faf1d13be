//! Live Windows: processes through sysinfo (the kernel's process list, never `tasklist`)
//! plus the raw command line and account names from Win32, host facts from the registry and
//! Win32, profiles from `Users\` and the ProfileList key, the system drive as the root of
//! logical paths. The only file with Windows FFI: every `unsafe` block lives in [`ffi`] below.
//!
//! Without elevation Windows hides the command line, working directory and image path of
//! other users' and protected processes (OpenProcess is refused); the record then says so
//! in `notes` instead of guessing.
//! Reference: "Process Security and Access Rights" and "GetTokenInformation" (Microsoft Learn).

use crate::record::{HashStatus, ImageKind, ProcessRecord};
use crate::source::accounts::windows_users;
use crate::source::{FileType, FsView, HostFacts, OpenedFile, SourceError, UserAccount};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

mod ffi;

const CURRENT_VERSION: &str = r"SOFTWARE\Microsoft\Windows NT\CurrentVersion";
const PROFILE_LIST: &str = r"SOFTWARE\Microsoft\Windows NT\CurrentVersion\ProfileList";

fn system_drive() -> String {
    std::env::var("SystemDrive")
        .ok()
        .filter(|d| d.len() == 2 && d.ends_with(':'))
        .unwrap_or_else(|| "C:".to_string())
}

pub fn root_view() -> FsView {
    FsView::new(PathBuf::from(format!("{}\\", system_drive())), true)
}

pub fn display_path(logical: &Path) -> String {
    let shown = crate::source::accounts::windows_display(logical);
    format!("{}{}", system_drive(), shown.get(2..).unwrap_or(""))
}

pub fn host_facts(_view: &FsView) -> HostFacts {
    HostFacts {
        hostname: sysinfo::System::host_name()
            .ok()
            .or_else(|| std::env::var("COMPUTERNAME").ok()),
        os_name: sysinfo::System::long_os_version().ok(),
        os_version: os_version(),
        kernel: kernel_version(),
        boot_time: sysinfo::System::boot_time()
            .ok()
            .and_then(|s| i64::try_from(s).ok())
            .and_then(|s| chrono::DateTime::from_timestamp(s, 0)),
        timezone: ffi::timezone(),
        // The machine's domain, not %USERDOMAIN% (the *user's* logon domain, or the
        // computer name for a local account).
        domain: ffi::dns_domain().or_else(ffi::joined_domain),
        ..HostFacts::default()
    }
}

/// "22H2, build 19045.3693": what `winver` shows, from the registry (no `ver` or `systeminfo`).
fn os_version() -> Option<String> {
    let build = ffi::reg_string(CURRENT_VERSION, "CurrentBuildNumber")
        .or_else(|| ffi::reg_string(CURRENT_VERSION, "CurrentBuild"))?;
    let build = match ffi::reg_dword(CURRENT_VERSION, "UBR") {
        Some(ubr) => format!("{build}.{ubr}"),
        None => build,
    };
    let release = ffi::reg_string(CURRENT_VERSION, "DisplayVersion")
        .or_else(|| ffi::reg_string(CURRENT_VERSION, "ReleaseId"));
    Some(match release {
        Some(r) => format!("{r}, build {build}"),
        None => format!("build {build}"),
    })
}

/// NT version as `major.minor.build`, e.g. `10.0.19045`.
fn kernel_version() -> Option<String> {
    let build = ffi::reg_string(CURRENT_VERSION, "CurrentBuildNumber")?;
    match (
        ffi::reg_dword(CURRENT_VERSION, "CurrentMajorVersionNumber"),
        ffi::reg_dword(CURRENT_VERSION, "CurrentMinorVersionNumber"),
    ) {
        (Some(major), Some(minor)) => Some(format!("{major}.{minor}.{build}")),
        // Before Windows 10 only the "6.3"-style string exists.
        _ => Some(match ffi::reg_string(CURRENT_VERSION, "CurrentVersion") {
            Some(v) => format!("{v}.{build}"),
            None => build,
        }),
    }
}

/// Every directory under `Users\`, with its SID from the ProfileList key; plus profiles the
/// ProfileList knows elsewhere on the system drive (SYSTEM's and the service accounts' under
/// `Windows\`), where attackers running as SYSTEM leave their PowerShell history.
pub fn users(view: &FsView) -> Vec<UserAccount> {
    let mut users = windows_users(view.read_dir(Path::new("/Users")).unwrap_or_default());
    let drive = system_drive();
    for (sid, image_path) in ffi::profile_list() {
        // A profile on another volume has no logical path under this source's root.
        let Some(home) = logical_on_drive(&image_path, &drive) else {
            continue;
        };
        let home_key = home.to_string_lossy().to_lowercase();
        if let Some(u) = users
            .iter_mut()
            .find(|u| u.home.to_string_lossy().to_lowercase() == home_key)
        {
            u.sid = Some(sid);
            continue;
        }
        if view
            .metadata(&home)
            .is_ok_and(|m| m.file_type == FileType::Directory)
        {
            let name = ffi::account_name(&sid).unwrap_or_else(|| {
                home.file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_else(|| sid.clone())
            });
            users.push(UserAccount {
                name,
                uid: None,
                sid: Some(sid),
                home,
                origin: "ProfileList".into(),
            });
        }
    }
    users
}

/// `C:\Users\bob` → `/Users/bob` when the path is on `drive` (case-insensitive).
fn logical_on_drive(path: &str, drive: &str) -> Option<PathBuf> {
    let path = path.strip_prefix(r"\\?\").unwrap_or(path);
    let head = path.get(..drive.len())?;
    if !head.eq_ignore_ascii_case(drive) {
        return None;
    }
    let rest = path.get(drive.len()..)?;
    let mut logical = PathBuf::from("/");
    for part in rest.split(['\\', '/']).filter(|p| !p.is_empty()) {
        if part == "." || part == ".." {
            return None;
        }
        logical.push(part);
    }
    Some(logical)
}

/// Processes with no image file: the idle process, the kernel ("System") and the minimal
/// processes the kernel creates for itself.
fn is_kernel_process(pid: u32, name: &str, has_exe: bool) -> bool {
    pid == 0
        || pid == 4
        || (!has_exe && matches!(name, "Registry" | "Memory Compression" | "Secure System"))
}

pub fn processes(_view: &FsView) -> Result<Vec<ProcessRecord>, SourceError> {
    use sysinfo::{ProcessRefreshKind, ProcessesToUpdate, System, UpdateKind};
    let mut sys = System::new().map_err(|e| SourceError::Other {
        what: "process list".into(),
        message: e.to_string(),
    })?;
    sys.refresh_processes_specifics(
        ProcessesToUpdate::All,
        true,
        ProcessRefreshKind::nothing()
            .with_exe(UpdateKind::Always)
            .with_cmd(UpdateKind::Always)
            .with_cwd(UpdateKind::Always)
            .with_user(UpdateKind::Always),
    );
    // One lookup per distinct SID: LookupAccountSid may ask a domain controller.
    let mut account_names: HashMap<String, Option<String>> = HashMap::new();
    let mut out: Vec<ProcessRecord> = sys
        .processes()
        .values()
        .map(|p| {
            let pid = p.pid().as_u32();
            let name = p.name().to_string_lossy().into_owned();
            let image_path = p.exe().map(|e| e.display().to_string());
            let kernel = is_kernel_process(pid, &name, image_path.is_some());
            let mut notes = Vec::new();
            let argv: Vec<String> = p
                .cmd()
                .iter()
                .map(|a| a.to_string_lossy().into_owned())
                .collect();
            // The string the process was started with, quoting and all: sysinfo only
            // gives it split into argv, which loses what obfuscation hides in quoting.
            let command_line = if kernel {
                String::new()
            } else {
                match ffi::command_line(pid) {
                    Ok(line) => line,
                    // Before Windows 8.1 (and under wine) the query class does not exist;
                    // without rights it is refused. argv (from the PEB) may still be there.
                    Err(e) if !argv.is_empty() => {
                        notes.push(format!(
                            "raw command line not readable ({e}); command_line rebuilt from argv"
                        ));
                        join_windows_args(&argv)
                    }
                    Err(e) => {
                        notes.push(format!("command line not readable: {e}"));
                        String::new()
                    }
                }
            };
            let sid = p.user_id().map(|u| u.to_string());
            let user = sid.as_ref().and_then(|s| {
                account_names
                    .entry(s.clone())
                    .or_insert_with(|| ffi::account_name(s))
                    .clone()
            });
            if !kernel && image_path.is_none() {
                notes.push("image path not readable (access denied, or the process ended)".into());
            }
            if !kernel && sid.is_none() {
                notes.push("user not readable (access denied)".into());
            }
            ProcessRecord {
                pid,
                // sysinfo reports the pid the process was *created from*; that pid may
                // since have ended and been reused, which the ancestry join must allow for.
                ppid: p.parent().map(|pp| pp.as_u32()),
                name,
                image_kind: if kernel {
                    ImageKind::None
                } else if image_path.is_some() {
                    ImageKind::File
                } else {
                    ImageKind::Unknown
                },
                image_path,
                command_line,
                argv,
                argv_raw_b64: None,
                cwd: p.cwd().map(|c| c.display().to_string()),
                uid: None,
                user,
                user_sid: sid,
                // 0 means sysinfo could not open the process to ask.
                start_time: Some(p.start_time())
                    .filter(|&t| t > 0)
                    .and_then(|t| i64::try_from(t).ok())
                    .and_then(|t| chrono::DateTime::from_timestamp(t, 0)),
                // Windows has no run state per process (only per thread).
                state: None,
                kernel_thread: kernel,
                image_sha256: None,
                image_size: None,
                image_hash_status: HashStatus::NotApplicable,
                image_hash_error: None,
                image_copy: None,
                witness: None,
                ancestry: Vec::new(),
                notes,
                is_irsnap: pid == std::process::id(),
            }
        })
        .collect();
    out.sort_by_key(|p| p.pid);
    Ok(out)
}

/// argv back into one command line with CommandLineToArgvW's quoting rules; only used when
/// the real command line cannot be read.
fn join_windows_args(argv: &[String]) -> String {
    let mut out = String::new();
    for (i, arg) in argv.iter().enumerate() {
        if i > 0 {
            out.push(' ');
        }
        if !arg.is_empty() && !arg.contains([' ', '\t', '"']) {
            out.push_str(arg);
            continue;
        }
        out.push('"');
        let mut backslashes = 0usize;
        for c in arg.chars() {
            match c {
                '\\' => backslashes += 1,
                '"' => {
                    out.extend(std::iter::repeat_n('\\', backslashes * 2 + 1));
                    out.push('"');
                    backslashes = 0;
                }
                _ => {
                    out.extend(std::iter::repeat_n('\\', backslashes));
                    out.push(c);
                    backslashes = 0;
                }
            }
        }
        out.extend(std::iter::repeat_n('\\', backslashes * 2));
        out.push('"');
    }
    out
}

/// No witness of a process's identity is taken on Windows yet (its image handle and
/// creation time would be): nothing to compare, so nothing is dropped.
pub fn process_unchanged(_p: &ProcessRecord) -> Result<(), String> {
    Ok(())
}

/// The image through its path, opened with full sharing (see `os::open_evidence`): a
/// running image is locked against writing and deletion, not against shared reading.
pub fn open_process_image(view: &FsView, p: &ProcessRecord) -> Result<OpenedFile, SourceError> {
    let path = p.image_path.as_deref().ok_or_else(|| SourceError::Other {
        what: format!("pid {}", p.pid),
        message: "no image path".into(),
    })?;
    view.open_host(Path::new(path), path)
}

/// Whether our token is elevated (UAC): the only question that decides what Windows lets us
/// read. A failed query counts as not elevated, the conservative answer.
pub fn is_elevated() -> bool {
    ffi::token_elevated().unwrap_or(false)
}

/// `DOMAIN\name` and SID of the account our token runs as.
pub fn token_account() -> (Option<String>, Option<String>) {
    let sid = ffi::token_user_sid();
    let name = sid.as_deref().and_then(ffi::account_name);
    (name, sid)
}

/// The account from our token, not %USERNAME% (which any parent can set).
pub fn identity() -> super::Identity {
    let (user, sid) = token_account();
    super::Identity {
        user,
        uid: None,
        sid,
        elevated: is_elevated(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_on_the_system_drive_become_logical() {
        assert_eq!(
            logical_on_drive(r"C:\Users\bob", "C:"),
            Some(PathBuf::from("/Users/bob"))
        );
        assert_eq!(
            logical_on_drive(r"c:\Windows\system32\config\systemprofile", "C:"),
            Some(PathBuf::from("/Windows/system32/config/systemprofile"))
        );
        assert_eq!(logical_on_drive(r"D:\Users\bob", "C:"), None);
        assert_eq!(logical_on_drive(r"C:\Users\..\x", "C:"), None);
    }

    // Live-host invariants: run on Windows (and under wine by scripts/wine-unit-tests.sh).
    #[test]
    fn own_process_is_listed_with_command_line_account_and_start() {
        let procs = processes(&root_view()).unwrap();
        let me = procs
            .iter()
            .find(|p| p.pid == std::process::id())
            .expect("own pid listed");
        let exe = std::env::current_exe().unwrap();
        let exe_name = exe.file_name().unwrap().to_string_lossy().to_lowercase();
        assert!(me.command_line.to_lowercase().contains(&exe_name), "{me:?}");
        assert_eq!(me.image_kind, ImageKind::File);
        assert!(me.start_time.is_some(), "{me:?}");
        let (account, sid) = token_account();
        assert!(sid.as_deref().is_some_and(|s| s.starts_with("S-1-")));
        assert_eq!(me.user_sid, sid);
        assert!(account.is_some());
        assert_eq!(me.user, account);
        // No ppid assert: a process wine starts from Linux has no Windows parent.
    }

    #[test]
    fn own_image_opens_while_running() {
        let procs = processes(&root_view()).unwrap();
        let me = procs.iter().find(|p| p.pid == std::process::id()).unwrap();
        let opened = open_process_image(&root_view(), me).unwrap();
        assert!(opened.meta.size > 0);
    }

    #[test]
    fn host_facts_come_from_the_registry_and_win32() {
        let facts = host_facts(&root_view());
        assert!(facts.hostname.is_some());
        assert!(facts.kernel.as_deref().is_some_and(|k| k.contains('.')));
        assert!(
            facts
                .os_version
                .as_deref()
                .is_some_and(|v| v.contains("build"))
        );
        assert!(facts.timezone.as_deref().is_some_and(|t| t.contains("UTC")));
        // Only that the query answers; whether it says yes depends on how the test runs.
        let _ = is_elevated();
    }

    #[test]
    fn args_are_quoted_like_commandlinetoargvw_expects() {
        let argv = [
            r"C:\Program Files\x.exe".to_string(),
            "-c".into(),
            r#"say "hi""#.into(),
            r"dir\".into(),
            String::new(),
        ];
        assert_eq!(
            join_windows_args(&argv),
            r#""C:\Program Files\x.exe" -c "say \"hi\"" dir\ """#
        );
    }
}

/// Background mode: lowest CPU and I/O priority (best effort).
pub fn lower_own_priority() {
    let _ = ffi::enter_background_mode();
}
