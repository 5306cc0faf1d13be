//! The normalized view detection reads: one [`Observation`] per thing that executed or may
//! execute, whatever record it came from (live process, Sysmon 1 / Security 4688, 4104 script
//! block, 4103/800/400 pipeline text, shell or PSReadLine history line, task Exec action,
//! cron / timer / at command, service install, network connection, staged temp file).
//!
//! Rules never see collector record types: adapters turn records into observations, so the
//! engine keeps working when a collector's schema grows. Every observation points back at its
//! evidence ([`EvidenceRef`]: archive member + 1-based line, source path, file hash) so a
//! finding can say exactly which record to open. The adapters from the parser types live in
//! [`super::adapt`]; this file holds the model, the builder and the path helpers every rule
//! shares (image names, user-writable locations).

use serde::{Deserialize, Serialize};

pub use super::paths::{path_in_temp, path_in_user_writable, path_tokens};
use crate::record::{Sha256, Timestamp};
use crate::text::floor_char_boundary;

/// What an observation is.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum ObservationKind {
    /// A process of the live snapshot.
    Process,
    /// A logged process creation (Sysmon 1, Security 4688).
    ProcessEvent,
    /// A 4104 script block (reassembled when it was split).
    ScriptBlock,
    /// PowerShell pipeline text: 4103 payload, 800 pipeline, 400 host application.
    PsPipeline,
    /// One command of a shell / PSReadLine / Python history.
    HistoryCommand,
    /// The Exec action of a Windows scheduled task (task file or 4698 event).
    TaskAction,
    /// A crontab / anacrontab command.
    CronCommand,
    /// The command a systemd timer's service runs.
    TimerCommand,
    /// An at(1) job's commands.
    AtCommand,
    /// A service's binary path (Security 4697): T1569.002.
    ServiceCommand,
    /// A socket with a remote end (live snapshot or Sysmon 3).
    NetworkConnection,
    /// A file written to a temp / user-writable place (temp_scripts collector, Sysmon 11).
    TempFile,
    /// A module loaded by a process (Sysmon 7): `image` loaded `file_path`.
    ImageLoad,
    /// A thread created in another process (Sysmon 8): `image` into `target`.
    RemoteThread,
    /// A handle opened on another process (Sysmon 10): `image` opened `target` with access
    /// `details`.
    ProcessAccess,
    /// A registry key or value written (Sysmon 12/13/14): `target` is the key, `details` the
    /// value data.
    RegistryWrite,
    /// A named pipe created or connected (Sysmon 17/18): `target` is the pipe name.
    Pipe,
    /// A WMI event subscription part (Sysmon 19/20/21, WMI-Activity 5860/5861): the consumer's
    /// command in `command_line` or `script_text`, the filter's query in `details`.
    WmiSubscription,
    /// A WMI operation a client ran (WMI-Activity 5857/5858): `command_line` is the operation,
    /// `file_path` a provider loaded.
    WmiOperation,
    /// A BITS job (Bits-Client 3/4/59/60/16403): `target` is the URL, `file_path` the local
    /// file, `image` the creating program.
    BitsJob,
    /// A network share access (Security 5140/5145): `target` is `\\*\SHARE`, `file_path`
    /// the object under it, `remote_address` the client.
    ShareAccess,
    /// An event log cleared (Security 1102, System 104): `target` is the log.
    LogCleared,
    /// A SQL statement or server option change (SQL Server 33205/15457): `command_line`.
    SqlStatement,
    /// A Windows Installer package installed (MsiInstaller 1040/1042/11707): `file_path`.
    MsiInstall,
    /// A login or a change of user (sshd, su, sudo, audit USER_LOGIN): `target` is the
    /// service, `details` the outcome, `user` who, `remote_address` from where.
    Logon,
    /// An account or group created, changed or deleted: `target` is the account, `details`
    /// the action (and the group).
    AccountChange,
    /// A shared object forced into processes (ld.so.preload, LD_PRELOAD, mapped from a
    /// user-writable place): `file_path` is the library, `target` where it was found.
    Preload,
}

impl ObservationKind {
    pub const ALL: [ObservationKind; 27] = [
        ObservationKind::Process,
        ObservationKind::ProcessEvent,
        ObservationKind::ScriptBlock,
        ObservationKind::PsPipeline,
        ObservationKind::HistoryCommand,
        ObservationKind::TaskAction,
        ObservationKind::CronCommand,
        ObservationKind::TimerCommand,
        ObservationKind::AtCommand,
        ObservationKind::ServiceCommand,
        ObservationKind::NetworkConnection,
        ObservationKind::TempFile,
        ObservationKind::ImageLoad,
        ObservationKind::RemoteThread,
        ObservationKind::ProcessAccess,
        ObservationKind::RegistryWrite,
        ObservationKind::Pipe,
        ObservationKind::WmiSubscription,
        ObservationKind::WmiOperation,
        ObservationKind::BitsJob,
        ObservationKind::ShareAccess,
        ObservationKind::LogCleared,
        ObservationKind::SqlStatement,
        ObservationKind::MsiInstall,
        ObservationKind::Logon,
        ObservationKind::AccountChange,
        ObservationKind::Preload,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            ObservationKind::Process => "process",
            ObservationKind::ProcessEvent => "process_event",
            ObservationKind::ScriptBlock => "script_block",
            ObservationKind::PsPipeline => "ps_pipeline",
            ObservationKind::HistoryCommand => "history_command",
            ObservationKind::TaskAction => "task_action",
            ObservationKind::CronCommand => "cron_command",
            ObservationKind::TimerCommand => "timer_command",
            ObservationKind::AtCommand => "at_command",
            ObservationKind::ServiceCommand => "service_command",
            ObservationKind::NetworkConnection => "network_connection",
            ObservationKind::TempFile => "temp_file",
            ObservationKind::ImageLoad => "image_load",
            ObservationKind::RemoteThread => "remote_thread",
            ObservationKind::ProcessAccess => "process_access",
            ObservationKind::RegistryWrite => "registry_write",
            ObservationKind::Pipe => "pipe",
            ObservationKind::WmiSubscription => "wmi_subscription",
            ObservationKind::WmiOperation => "wmi_operation",
            ObservationKind::BitsJob => "bits_job",
            ObservationKind::ShareAccess => "share_access",
            ObservationKind::LogCleared => "log_cleared",
            ObservationKind::SqlStatement => "sql_statement",
            ObservationKind::MsiInstall => "msi_install",
            ObservationKind::Logon => "logon",
            ObservationKind::AccountChange => "account_change",
            ObservationKind::Preload => "preload",
        }
    }
}

/// Where the evidence for an observation is: the record line in the archive, and the file the
/// record came from when there is one.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema,
)]
pub struct EvidenceRef {
    /// Archive member of the record, `records/<collector>.jsonl`.
    pub member: String,
    /// 1-based line of the record in `member`.
    pub line: u64,
    /// The source file as the evidence's OS writes it (`C:\Windows\System32\Tasks\GameOver`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_path: Option<String>,
    /// Archive member holding a copy of that file (`files/...`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file_member: Option<String>,
    /// SHA-256 of that file (or of the process image).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sha256: Option<Sha256>,
}

impl EvidenceRef {
    pub fn new(member: impl Into<String>, line: u64) -> Self {
        EvidenceRef {
            member: member.into(),
            line,
            source_path: None,
            file_member: None,
            sha256: None,
        }
    }

    pub fn source_path(mut self, path: impl Into<String>) -> Self {
        self.source_path = Some(path.into());
        self
    }

    pub fn file_member(mut self, member: impl Into<String>) -> Self {
        self.file_member = Some(member.into());
        self
    }

    pub fn sha256(mut self, digest: Sha256) -> Self {
        self.sha256 = Some(digest);
        self
    }
}

/// Scheduled-job attributes (tasks, cron, timers, at).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskAttrs {
    /// Task URI / crontab file / timer unit name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hidden: Option<bool>,
    /// The account the job runs as (task principal user or group, cron user field).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_as: Option<String>,
    /// Task `RunLevel` is `HighestAvailable`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub highest_privileges: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub registration_time: Option<Timestamp>,
    /// The definition itself was found in a temp / user-writable place (a staged task XML or
    /// crontab file), not where the scheduler keeps its jobs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub from_temp: Option<bool>,
    /// Schedule as written (`@reboot`, `*/5 * * * *`, `OnBootSec=5min`, trigger kinds).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schedule: Option<String>,
}

/// How a derived observation was produced from its original.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Derivation {
    /// `powershell -EncodedCommand`, `FromBase64String`, ...
    pub method: String,
    /// The encoded text as it appeared (capped).
    pub original: String,
}

/// One thing that executed or may execute, normalized. Every field but `kind` and `evidence`
/// is optional: rules on an absent field simply do not match.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Observation {
    pub kind: ObservationKind,
    pub evidence: EvidenceRef,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<Timestamp>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ppid: Option<u32>,
    /// Sysmon ProcessGuid (lets correlation rebuild ancestry across events).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub process_guid: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent_process_guid: Option<String>,
    /// Executable path as recorded.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    /// Lowercased basename of `image`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image_name: Option<String>,
    /// Lowercased `OriginalFileName` of the image's version resource (Sysmon 1): the name the
    /// binary was built with, whatever it was renamed to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub original_name: Option<String>,
    /// The process image lives only in memory (memfd) — fileless execution.
    #[serde(default, skip_serializing_if = "is_false")]
    pub image_fileless: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command_line: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub argv: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent_image: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parent_command_line: Option<String>,
    /// Lowercased image names of the ancestors, parent first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ancestry: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cwd: Option<String>,
    /// Script text (4104 block, 800/4103 pipeline, decoded payload).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub script_text: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub script_path: Option<String>,
    /// A written file (temp_file) or the file a record is about.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file_path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file_sha256: Option<Sha256>,
    /// Remote IP (or host name when only that was logged).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remote_address: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remote_port: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task: Option<TaskAttrs>,
    /// What the event acted on, by kind: the target process image (remote_thread,
    /// process_access), registry key, pipe name, BITS URL, share, cleared log.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// More about it: registry value data, granted access mask, WMI filter query.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<String>,
    /// Set on observations made by decoding another one (the decoded text is `script_text`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub derived: Option<Derivation>,
    /// The event log record it came from (Computer, channel, event id), for findings that
    /// say where and what; absent for snapshot and file records.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub origin: Option<EventOrigin>,
}

/// Where a logged observation was logged: the host that wrote it, the channel and the id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventOrigin {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub computer: Option<String>,
    pub channel: String,
    pub event_id: u32,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// Builder-style setters: `Observation::new(kind, ev).image(..).command_line(..)`. Empty or
/// blank strings are treated as absent, since Windows logs write empty fields for "unknown".
impl Observation {
    pub fn new(kind: ObservationKind, evidence: EvidenceRef) -> Self {
        Observation {
            kind,
            evidence,
            timestamp: None,
            pid: None,
            ppid: None,
            process_guid: None,
            parent_process_guid: None,
            image: None,
            image_name: None,
            original_name: None,
            image_fileless: false,
            command_line: None,
            argv: Vec::new(),
            parent_image: None,
            parent_command_line: None,
            ancestry: Vec::new(),
            user: None,
            cwd: None,
            script_text: None,
            script_path: None,
            file_path: None,
            file_sha256: None,
            remote_address: None,
            remote_port: None,
            task: None,
            target: None,
            details: None,
            derived: None,
            origin: None,
        }
    }

    /// Sets `image` and `image_name` (lowercased basename).
    pub fn image(mut self, path: Option<impl Into<String>>) -> Self {
        if let Some(p) = nonblank(path) {
            self.image_name = Some(image_name(&p));
            self.image = Some(p);
        }
        self
    }

    /// Sysmon's `OriginalFileName`; `-` and `?` (unknown) are no name.
    pub fn original_name(mut self, name: Option<impl Into<String>>) -> Self {
        self.original_name = nonblank(name)
            .map(|n| n.trim().to_lowercase())
            .filter(|n| !matches!(n.as_str(), "-" | "?" | "n/a"));
        self
    }

    /// The original name differs from the running name (ignoring `.exe` and a `.mui`
    /// resource suffix): a renamed binary.
    pub fn renamed(&self) -> Option<(&str, &str)> {
        let (orig, name) = (self.original_name.as_deref()?, self.image_name.as_deref()?);
        let base = |n: &str| -> String {
            let n = n.strip_suffix(".mui").unwrap_or(n);
            strip_exe(n).to_string()
        };
        (base(orig) != base(name)).then_some((orig, name))
    }

    /// What argv[0] of a live process claims that its image is not, if anything (see
    /// [`argv0_claim`]).
    pub fn argv0_masquerade(&self) -> Option<String> {
        if self.kind != ObservationKind::Process {
            return None;
        }
        argv0_claim(self.argv.first()?, self.image.as_deref()?)
    }

    pub fn command_line(mut self, cmd: Option<impl Into<String>>) -> Self {
        self.command_line = nonblank(cmd);
        self
    }

    /// Sets the command line and, when no image is known, takes the image from its first
    /// token (task actions, cron and history commands carry no separate image).
    pub fn command_with_image(mut self, cmd: Option<impl Into<String>>) -> Self {
        self.command_line = nonblank(cmd);
        if self.image.is_none()
            && let Some(first) = self.command_line.as_deref().and_then(first_token)
        {
            self = self.image(Some(first));
        }
        self
    }

    pub fn argv(mut self, argv: Vec<String>) -> Self {
        self.argv = argv;
        self
    }

    /// Sets `parent_image` and, when the ancestry is empty, makes the parent its first entry.
    pub fn parent_image(mut self, path: Option<impl Into<String>>) -> Self {
        if let Some(p) = nonblank(path) {
            if self.ancestry.is_empty() {
                self.ancestry.push(image_name(&p));
            }
            self.parent_image = Some(p);
        }
        self
    }

    pub fn parent_command_line(mut self, cmd: Option<impl Into<String>>) -> Self {
        self.parent_command_line = nonblank(cmd);
        self
    }

    /// Ancestor images or names, parent first (normalized to lowercased basenames).
    pub fn ancestry<S: AsRef<str>>(mut self, names: impl IntoIterator<Item = S>) -> Self {
        self.ancestry = names.into_iter().map(|n| image_name(n.as_ref())).collect();
        self
    }

    pub fn user(mut self, user: Option<impl Into<String>>) -> Self {
        self.user = nonblank(user);
        self
    }

    pub fn cwd(mut self, cwd: Option<impl Into<String>>) -> Self {
        self.cwd = nonblank(cwd);
        self
    }

    pub fn script(
        mut self,
        text: Option<impl Into<String>>,
        path: Option<impl Into<String>>,
    ) -> Self {
        self.script_text = nonblank(text);
        self.script_path = nonblank(path);
        self
    }

    pub fn file(mut self, path: Option<impl Into<String>>, sha256: Option<Sha256>) -> Self {
        self.file_path = nonblank(path);
        self.file_sha256 = sha256;
        self
    }

    pub fn remote(mut self, address: Option<impl Into<String>>, port: Option<u16>) -> Self {
        self.remote_address = nonblank(address);
        self.remote_port = port;
        self
    }

    pub fn pids(mut self, pid: Option<u32>, ppid: Option<u32>) -> Self {
        self.pid = pid;
        self.ppid = ppid;
        self
    }

    pub fn guids(mut self, guid: Option<String>, parent: Option<String>) -> Self {
        self.process_guid = nonblank(guid);
        self.parent_process_guid = nonblank(parent);
        self
    }

    pub fn timestamp(mut self, t: Option<Timestamp>) -> Self {
        self.timestamp = t;
        self
    }

    /// The logging host, channel and event id of an event-log record.
    pub fn origin(mut self, computer: &str, channel: &str, event_id: u32) -> Self {
        self.set_origin(computer, channel, event_id);
        self
    }

    pub fn set_origin(&mut self, computer: &str, channel: &str, event_id: u32) {
        self.origin = Some(EventOrigin {
            computer: nonblank(Some(computer)),
            channel: channel.to_string(),
            event_id,
        });
    }

    /// The acting process of a Sysmon event: pid, ProcessGuid, image and user together.
    pub fn actor(
        self,
        pid: Option<u32>,
        guid: &Option<String>,
        image: &Option<String>,
        user: &Option<String>,
    ) -> Self {
        self.pids(pid, None)
            .guids(guid.clone(), None)
            .image(image.clone())
            .user(user.clone())
    }

    pub fn target(mut self, target: Option<impl Into<String>>) -> Self {
        self.target = nonblank(target);
        self
    }

    pub fn details(mut self, details: Option<impl Into<String>>) -> Self {
        self.details = nonblank(details);
        self
    }

    pub fn task(mut self, attrs: TaskAttrs) -> Self {
        self.task = Some(attrs);
        self
    }

    /// A short label for reports: the command line, else the script path, file or image.
    pub fn label(&self) -> String {
        let s = self
            .command_line
            .as_deref()
            .or(self.script_path.as_deref())
            .or(self.file_path.as_deref())
            .or(self.target.as_deref())
            .or(self.image.as_deref())
            .or(self.script_text.as_deref())
            .unwrap_or("");
        snippet(s, 0, s.len(), 300)
    }
}

fn nonblank(s: Option<impl Into<String>>) -> Option<String> {
    s.map(Into::into).filter(|s| !s.trim().is_empty())
}

/// Daemon names that masquerading processes borrow (what `ps` users expect to see).
const DAEMON_NAMES: &[&str] = &[
    "sshd",
    "cron",
    "crond",
    "atd",
    "systemd",
    "systemd-journald",
    "systemd-logind",
    "systemd-udevd",
    "systemd-resolved",
    "systemd-networkd",
    "udevd",
    "init",
    "rsyslogd",
    "syslogd",
    "dbus-daemon",
    "agetty",
    "auditd",
    "polkitd",
    "networkmanager",
    "kthreadd",
    "kworker",
    "ksoftirqd",
    "kswapd0",
    "migration",
    "watchdog",
    "httpd",
    "nginx",
    "apache2",
    "mysqld",
    "postgres",
    "dockerd",
    "containerd",
    "snapd",
    "accounts-daemon",
    "irqbalance",
];

/// Multi-call binaries whose argv[0] names the applet they run.
const MULTI_CALL: &[&str] = &["busybox", "toybox", "coreutils", "bash", "dash"];

/// What argv[0] claims that the image (a full path) is not: `None` when argv[0] is the image's
/// own name (or a daemon rewriting its title as daemons do: `sshd: root@pts/0`). A claim is
/// judged only when it is a kernel-thread look-alike (`[kworker/0:1]` from a userland image),
/// a Windows program name, a well-known daemon name, or a path in a temp or user-writable
/// place, since symlinked names (`sh` → dash, `python3` → python3.11) are normal.
pub fn argv0_claim(argv0: &str, image: &str) -> Option<String> {
    let image_base = image_name(image);
    let image_base = image_base.trim_end_matches(" (deleted)");
    if !image.starts_with('/') || MULTI_CALL.contains(&image_base) {
        return None;
    }
    let claim = argv0.trim().trim_start_matches('-');
    let first = claim.split_whitespace().next().unwrap_or("");
    if first.is_empty() {
        return None;
    }
    let claimed = image_name(first.trim_end_matches(':'));
    if claimed == image_base || claimed.is_empty() {
        return None;
    }
    // A daemon title starts with its own name: `nginx: worker process`, `postgres: walwriter`.
    if claimed.starts_with(image_base) || image_base.starts_with(claimed.as_str()) {
        return None;
    }
    let kernel_like = claim.starts_with('[') && claim.ends_with(']');
    let windows_like = claimed.ends_with(".exe") || first.contains(":\\") || first.contains('\\');
    let daemon = DAEMON_NAMES.contains(&claimed.as_str());
    let staged = first.starts_with('/') && super::paths::path_in_user_writable(first);
    (kernel_like || windows_like || daemon || staged).then(|| {
        format!(
            "argv[0] {} but the image is {image}",
            snippet(claim, 0, claim.len(), 120)
        )
    })
}

/// Lowercased basename of a Windows or Unix path, without surrounding quotes.
pub fn image_name(path: &str) -> String {
    let p = path.trim().trim_matches(|c| c == '"' || c == '\'');
    let base = p.rsplit(['\\', '/']).next().unwrap_or(p);
    base.to_lowercase()
}

/// `name` without a trailing `.exe` (so `powershell` and `powershell.exe` compare equal).
pub fn strip_exe(name: &str) -> &str {
    name.strip_suffix(".exe").unwrap_or(name)
}

/// The first token of a command line: a quoted string, or up to the first whitespace.
pub fn first_token(cmd: &str) -> Option<String> {
    let t = cmd.trim_start();
    let tok = if let Some(rest) = t.strip_prefix('"') {
        rest.split('"').next().unwrap_or(rest)
    } else if let Some(rest) = t.strip_prefix('\'') {
        rest.split('\'').next().unwrap_or(rest)
    } else {
        t.split(char::is_whitespace).next().unwrap_or(t)
    };
    (!tok.is_empty()).then(|| tok.to_string())
}

/// Up to `max` characters of `s` around the byte range `start..end` (on char boundaries),
/// with `…` where it was cut.
pub fn snippet(s: &str, start: usize, end: usize, max: usize) -> String {
    let start = floor_char_boundary(s, start.min(s.len()));
    let end = floor_char_boundary(s, end.min(s.len())).max(start);
    let matched_chars = s[start..end].chars().count();
    let context = max.saturating_sub(matched_chars) / 2;
    let mut from = start;
    for _ in 0..context {
        match s[..from].chars().next_back() {
            Some(c) => from -= c.len_utf8(),
            None => break,
        }
    }
    let mut out = String::new();
    if from > 0 {
        out.push('…');
    }
    let mut to = from;
    for (taken, c) in s[from..].chars().enumerate() {
        if taken >= max {
            break;
        }
        out.push(c);
        to += c.len_utf8();
    }
    if to < s.len() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_names_normalize() {
        assert_eq!(
            image_name("\"C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\PowerShell.EXE\""),
            "powershell.exe"
        );
        assert_eq!(image_name("/usr/bin/python3"), "python3");
        assert_eq!(strip_exe("cmd.exe"), "cmd");
        assert_eq!(
            first_token("\"C:\\a b\\x.exe\" /c"),
            Some("C:\\a b\\x.exe".into())
        );
        assert_eq!(first_token("  ls -la"), Some("ls".into()));
    }

    #[test]
    fn argv0_claims_are_judged_only_when_they_lie_loudly() {
        use super::argv0_claim;
        for (argv0, image) in [
            ("[kworker/0:1]", "/usr/bin/sleep"),
            ("powershell.exe -EncodedCommand SQBFAFgA", "/usr/bin/sleep"),
            ("/usr/sbin/cron --job=update", "/usr/bin/sleep"),
            ("/tmp/.X11-unix/.kworker-5", "/usr/bin/sleep"),
            ("sshd", "/dev/shm/.x/miner"),
        ] {
            assert!(argv0_claim(argv0, image).is_some(), "{argv0} / {image}");
        }
        for (argv0, image) in [
            ("sleep", "/usr/bin/sleep"),
            ("-bash", "/usr/bin/bash"),
            ("sh", "/usr/bin/dash"),
            ("python3", "/usr/bin/python3.11"),
            ("sshd: root@pts/0", "/usr/sbin/sshd"),
            (
                "postgres: 15/main: checkpointer",
                "/usr/lib/postgresql/15/bin/postgres",
            ),
            ("nginx: worker process", "/usr/sbin/nginx"),
            ("crond -f", "/bin/busybox"),
            ("/usr/sbin/CRON -f", "/usr/sbin/cron"),
            ("(sd-pam)", "/usr/lib/systemd/systemd"),
            ("myapp worker", "/usr/bin/node"),
            ("[kworker/0:1]", "sleep"),
        ] {
            assert_eq!(argv0_claim(argv0, image), None, "{argv0} / {image}");
        }
    }

    #[test]
    fn snippets_cap_on_char_boundaries() {
        let s = "ééééé0123456789ééééé";
        let sn = snippet(s, 10, 12, 6);
        assert!(sn.contains("01"), "{sn}");
        assert!(sn.chars().count() <= 8);
        assert_eq!(snippet("abc", 0, 3, 10), "abc");
    }
}
