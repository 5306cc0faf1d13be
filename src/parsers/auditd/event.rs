//! One audit event, assembled from the records that share its serial: what
//! [`super::Assembler`] hands out, and what `records/audit_logs.jsonl` holds.

use serde::{Deserialize, Serialize};

/// What an event is.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum AuditKind {
    /// A program was executed (`execve`/`execveat`, or an `EXECVE` record): the argv.
    #[default]
    Execve,
    /// Another system call that matched a rule with a key (a watched file opened, a
    /// connect): kept because someone asked auditd to watch it.
    Syscall,
    /// `USER_CMD`: a command run through sudo, as sudo reported it.
    UserCmd,
    /// `USER_LOGIN`: a login (sshd, login), successful or not.
    UserLogin,
    /// `USER_AUTH`: an authentication attempt (PAM), successful or not.
    UserAuth,
    /// `ADD_USER`, `DEL_USER`, `ADD_GROUP`, `DEL_GROUP`, `USER_MGMT`, `GRP_MGMT`,
    /// `USER_CHAUTHTOK`: an account or group created, changed or deleted.
    AccountChange,
}

/// A `PATH` record: one file the system call touched.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct AuditPath {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub item: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inode: Option<u64>,
    /// File mode in octal as written (`0100755`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ouid: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nametype: Option<String>,
}

/// One audit event: every record of one serial, merged. Absent fields were not logged.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct AuditEvent {
    pub kind: AuditKind,
    /// The event serial (`msg=audit(TIME:SERIAL)`): unique per boot of auditd's kernel side.
    pub serial: u64,
    /// When the kernel logged it (UTC, milliseconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<chrono::DateTime<chrono::Utc>>,
    /// `node=` (the host name, when auditd is set to log it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub node: Option<String>,
    /// The record types the event held, in order of first appearance (`SYSCALL`, `EXECVE`,
    /// `CWD`, `PATH`, `PROCTITLE`).
    pub record_types: Vec<String>,
    /// 1-based line of the event's first record in its file.
    pub line_number: u64,

    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arch: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub syscall: Option<u32>,
    /// The system call's name for the logged architecture, when irsnap knows it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub syscall_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub success: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exit: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ppid: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<u32>,
    /// The login uid: who logged in, whatever sudo or su made them since (absent when unset,
    /// 4294967295 in the log).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auid: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub euid: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gid: Option<u32>,
    /// Account names of `uid`, `auid`, `euid`: from the log's enriched part, else the
    /// evidence's `/etc/passwd`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub login_user: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effective_user: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tty: Option<String>,
    /// Session id (absent when unset).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ses: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comm: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exe: Option<String>,
    /// The audit rule's key (`-k`), which says why the event was logged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,

    /// `EXECVE`: the argument count the kernel logged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub argc: Option<u32>,
    /// `EXECVE`: every argument, hex-encoded ones decoded and split ones (`a1[0]`, `a1[1]`)
    /// reassembled, in index order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub argv: Vec<String>,
    /// `argc` differs from the number of arguments found (lost records, or a forged log).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub argc_mismatch: bool,
    /// Arguments were left out or cut: the event's argv is over irsnap's cap.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub argv_truncated: bool,
    /// The arguments as one line (each argument holding a space or a quote single-quoted):
    /// `argv` joined, else the proctitle, else `USER_CMD`'s command.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command_line: Option<String>,
    /// `PROCTITLE`: the process title, NUL separators as spaces (the kernel keeps 128 bytes).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub proctitle: Option<String>,
    /// `CWD`: the working directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cwd: Option<String>,
    /// `PATH` records.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub paths: Vec<AuditPath>,

    /// User-space records (`USER_CMD`, `USER_LOGIN`, ...): `op=` of their message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub op: Option<String>,
    /// `acct=`: the account acted on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acct: Option<String>,
    /// `USER_CMD`'s `cmd=` (hex decoded).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cmd: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub terminal: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub addr: Option<String>,
    /// `res=`: `success` or `failed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub res: Option<String>,
    /// Invalid UTF-8 in a decoded string was replaced (U+FFFD).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub lossy_utf8: bool,
}

/// The name of a system call irsnap cares about, by audit architecture and number.
pub fn syscall_name(arch: Option<&str>, nr: u32) -> Option<&'static str> {
    let table: &[(u32, &str)] = match arch.map(str::to_ascii_lowercase).as_deref() {
        // x86_64 (AUDIT_ARCH_X86_64); also the default when no arch was logged.
        Some("c000003e") | None => &[
            (0, "read"),
            (1, "write"),
            (2, "open"),
            (42, "connect"),
            (43, "accept"),
            (49, "bind"),
            (59, "execve"),
            (62, "kill"),
            (82, "rename"),
            (87, "unlink"),
            (90, "chmod"),
            (92, "chown"),
            (101, "ptrace"),
            (105, "setuid"),
            (165, "mount"),
            (175, "init_module"),
            (257, "openat"),
            (263, "unlinkat"),
            (264, "renameat"),
            (268, "fchmodat"),
            (313, "finit_module"),
            (322, "execveat"),
        ],
        // aarch64 (AUDIT_ARCH_AARCH64)
        Some("c00000b7") => &[
            (56, "openat"),
            (35, "unlinkat"),
            (203, "connect"),
            (221, "execve"),
            (281, "execveat"),
        ],
        // i386 (AUDIT_ARCH_I386)
        Some("40000003") => &[
            (5, "open"),
            (10, "unlink"),
            (11, "execve"),
            (358, "execveat"),
        ],
        _ => &[],
    };
    table.iter().find(|(n, _)| *n == nr).map(|(_, name)| *name)
}
