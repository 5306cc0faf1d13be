//! Live Windows: processes through sysinfo (NtQuerySystemInformation / PEB reads, never
//! `tasklist`), the system drive as the root of logical paths, profiles under `Users\`.

use crate::record::{HashStatus, ImageKind, ProcessRecord};
use crate::source::root::windows_users;
use crate::source::{FsView, HostFacts, OpenedFile, SourceError, UserAccount};
use std::path::{Path, PathBuf};

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
    let shown = crate::source::root::windows_display(logical);
    format!("{}{}", system_drive(), shown.get(2..).unwrap_or(""))
}

pub fn host_facts(_view: &FsView) -> HostFacts {
    HostFacts {
        hostname: sysinfo::System::host_name(),
        os_name: sysinfo::System::name(),
        os_version: sysinfo::System::long_os_version().or_else(sysinfo::System::os_version),
        kernel: sysinfo::System::kernel_version(),
        boot_time: chrono::DateTime::from_timestamp(
            i64::try_from(sysinfo::System::boot_time()).unwrap_or(0),
            0,
        ),
        domain: std::env::var("USERDOMAIN").ok(),
        ..HostFacts::default()
    }
}

pub fn users(view: &FsView) -> Vec<UserAccount> {
    windows_users(view.read_dir(Path::new("/Users")).unwrap_or_default())
}

pub fn processes(_view: &FsView) -> Result<Vec<ProcessRecord>, SourceError> {
    use sysinfo::{ProcessRefreshKind, ProcessesToUpdate, System, UpdateKind, Users};
    let mut sys = System::new();
    sys.refresh_processes_specifics(
        ProcessesToUpdate::All,
        true,
        ProcessRefreshKind::nothing()
            .with_exe(UpdateKind::Always)
            .with_cmd(UpdateKind::Always)
            .with_cwd(UpdateKind::Always)
            .with_user(UpdateKind::Always),
    );
    let users = Users::new_with_refreshed_list();
    let mut out: Vec<ProcessRecord> = sys
        .processes()
        .values()
        .map(|p| {
            let argv: Vec<String> = p
                .cmd()
                .iter()
                .map(|a| a.to_string_lossy().into_owned())
                .collect();
            let sid = p.user_id().map(|u| u.to_string());
            let user = p
                .user_id()
                .and_then(|u| users.get_user_by_id(u))
                .map(|u| u.name().to_string());
            let image_path = p.exe().map(|e| e.display().to_string());
            ProcessRecord {
                pid: p.pid().as_u32(),
                ppid: p.parent().map(|pp| pp.as_u32()),
                name: p.name().to_string_lossy().into_owned(),
                image_kind: if image_path.is_some() {
                    ImageKind::File
                } else {
                    ImageKind::Unknown
                },
                image_path,
                command_line: argv.join(" "),
                argv,
                argv_raw_b64: None,
                cwd: p.cwd().map(|c| c.display().to_string()),
                uid: None,
                user,
                user_sid: sid,
                start_time: chrono::DateTime::from_timestamp(
                    i64::try_from(p.start_time()).unwrap_or(0),
                    0,
                ),
                state: Some(p.status().to_string().to_lowercase()),
                kernel_thread: false,
                image_sha256: None,
                image_size: None,
                image_hash_status: HashStatus::NotApplicable,
                image_hash_error: None,
                image_copy: None,
                ancestry: Vec::new(),
                notes: Vec::new(),
            }
        })
        .collect();
    out.sort_by_key(|p| p.pid);
    Ok(out)
}

pub fn open_process_image(view: &FsView, p: &ProcessRecord) -> Result<OpenedFile, SourceError> {
    let path = p.image_path.as_deref().ok_or_else(|| SourceError::Other {
        what: format!("pid {}", p.pid),
        message: "no image path".into(),
    })?;
    view.open_host(Path::new(path), path)
}

/// Elevation without calling any host program: only an elevated token may open the
/// volume's raw device for reading.
pub fn is_elevated() -> bool {
    std::fs::File::open(format!("\\\\.\\{}", system_drive())).is_ok()
}

/// Not implemented on this OS yet: the priority stays as it was.
pub fn lower_own_priority() {}
