//! What a syslog message says, typed: sudo (commands and refusals), su, sshd logins, cron's
//! own execution lines, account changes (useradd, usermod, groupadd, userdel, passwd) and
//! systemd unit starts. The same messages reach the systemd journal, whose reader uses the
//! same [`classify`] on `SYSLOG_IDENTIFIER` and `MESSAGE`.
//!
//! References: sudo `logging.c` (`TTY=... ; PWD=... ; USER=... ; COMMAND=...`), OpenSSH
//! `auth.c` (`auth_log`: "Accepted/Failed %s for %s%.100s from %.200s port %d"), shadow-utils
//! `useradd.c`/`usermod.c`/`groupadd.c` (SYSLOG lines), cron `do_command.c`
//! (`(user) CMD (command)`), util-linux `su-common.c`.

use serde::{Deserialize, Serialize};

/// One typed fact of a log message (`kind` says which).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum LogFact {
    /// sudo ran (or refused) a command.
    Sudo(SudoFact),
    /// su switched user (or failed to).
    Su(SuFact),
    /// An sshd login: accepted, failed, or an invalid user.
    SshLogin(SshLoginFact),
    /// cron ran a job's command (`CRON[pid]: (user) CMD (command)`).
    Cron(CronFact),
    /// An account or group created, changed or deleted.
    Account(AccountFact),
    /// systemd started, stopped or failed a unit.
    Service(ServiceFact),
}

impl LogFact {
    /// The serde tag (`sudo`, `ssh_login`, ...).
    pub fn kind(&self) -> &'static str {
        match self {
            LogFact::Sudo(_) => "sudo",
            LogFact::Su(_) => "su",
            LogFact::SshLogin(_) => "ssh_login",
            LogFact::Cron(_) => "cron",
            LogFact::Account(_) => "account",
            LogFact::Service(_) => "service",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SudoOutcome {
    /// The command was run.
    Allowed,
    /// `N incorrect password attempts`.
    IncorrectPassword,
    /// `user NOT in sudoers`.
    NotInSudoers,
    /// `command not allowed`, `user NOT authorized on host`.
    NotAllowed,
    /// Another refusal (`a password is required`, ...), in `reason`.
    Refused,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SudoFact {
    /// Who ran sudo.
    pub user: String,
    pub outcome: SudoOutcome,
    /// `USER=`: the account the command runs as.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runas: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub runas_group: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tty: Option<String>,
    /// `PWD=`: the working directory.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cwd: Option<String>,
    /// `COMMAND=`: the command line as sudo logged it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    /// `N incorrect password attempts`: N.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attempts: Option<u32>,
    /// The refusal as written (`user NOT in sudoers`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SuFact {
    /// The account switched to.
    pub target_user: String,
    /// Who ran su, when logged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by_user: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tty: Option<String>,
    pub success: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SshOutcome {
    Accepted,
    Failed,
    /// `Invalid user X from ...`: a name that does not exist was tried.
    InvalidUser,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SshLoginFact {
    pub outcome: SshOutcome,
    /// `password`, `publickey`, `keyboard-interactive/pam`, `none`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub method: Option<String>,
    pub user: String,
    /// The name tried does not exist on the host (`for invalid user X`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub invalid_user: bool,
    pub source_address: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_port: Option<u16>,
    /// The key's type and fingerprint (`RSA SHA256:...`) of a public-key login.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// `message repeated N times: [ ... ]`: the line stands for N attempts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repeated: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CronFact {
    pub user: String,
    pub command: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AccountAction {
    UserAdded,
    GroupAdded,
    UserDeleted,
    GroupDeleted,
    /// `add 'bob' to group 'sudo'`.
    GroupMemberAdded,
    /// Shell, home, name, lock or expiry changed.
    UserModified,
    PasswordChanged,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct AccountFact {
    pub action: AccountAction,
    /// The account (or group, for group actions) acted on.
    pub account: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gid: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub home: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shell: Option<String>,
    /// The group a member was added to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ServiceState {
    Starting,
    Started,
    Stopping,
    Stopped,
    Failed,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ServiceFact {
    pub state: ServiceState,
    /// The unit (`network-helper.service`) when the message or the journal names it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    /// The unit's description as logged (`Network Time Synchronization Helper`).
    pub description: String,
}

/// The fact of one message logged by `program` (the syslog tag or `SYSLOG_IDENTIFIER`), if
/// it holds one.
pub fn classify(program: &str, message: &str) -> Option<LogFact> {
    let message = message.trim_end_matches(['\r', '\n', '\0']);
    match program.to_ascii_lowercase().as_str() {
        "sudo" => sudo(message).map(LogFact::Sudo),
        "su" | "su-l" => su(message).map(LogFact::Su),
        "sshd" | "sshd-session" => ssh(message).map(LogFact::SshLogin),
        "cron" | "crond" => cron(message).map(LogFact::Cron),
        "useradd" | "usermod" | "userdel" | "groupadd" | "groupdel" | "groupmod" | "passwd"
        | "chpasswd" | "adduser" | "gpasswd" | "chsh" => account(message).map(LogFact::Account),
        "systemd" => service(message, None).map(LogFact::Service),
        _ => None,
    }
}

fn nonempty(s: &str) -> Option<String> {
    let s = s.trim();
    (!s.is_empty()).then(|| s.to_string())
}

fn sudo(m: &str) -> Option<SudoFact> {
    // `user : [reason ; ]TTY=... ; PWD=... ; USER=... ; COMMAND=...`
    let (user, rest) = m.split_once(" : ")?;
    let user = user.trim();
    if user.is_empty() || user.contains(' ') {
        return None;
    }
    // COMMAND= runs to the end of the line (a command may hold " ; ").
    let (head, command) = match rest.find("COMMAND=") {
        Some(i) => (&rest[..i], Some(rest[i + "COMMAND=".len()..].trim())),
        None => (rest, None),
    };
    let mut f = SudoFact {
        user: user.to_string(),
        outcome: SudoOutcome::Allowed,
        runas: None,
        runas_group: None,
        tty: None,
        cwd: None,
        command: command.and_then(nonempty),
        attempts: None,
        reason: None,
    };
    let mut any_key = command.is_some();
    for seg in head.split(';').map(str::trim).filter(|s| !s.is_empty()) {
        match seg.split_once('=') {
            Some(("TTY", v)) => f.tty = nonempty(v).filter(|t| t != "unknown"),
            Some(("PWD", v)) => f.cwd = nonempty(v),
            Some(("USER", v)) => f.runas = nonempty(v),
            Some(("GROUP", v)) => f.runas_group = nonempty(v),
            Some(("ENV" | "TSID" | "CHROOT" | "CWD", _)) => {}
            _ => {
                let lower = seg.to_ascii_lowercase();
                f.outcome = if lower.contains("incorrect password attempt") {
                    f.attempts = seg.split_whitespace().next().and_then(|n| n.parse().ok());
                    SudoOutcome::IncorrectPassword
                } else if lower.contains("not in sudoers") {
                    SudoOutcome::NotInSudoers
                } else if lower.contains("not allowed") || lower.contains("not authorized") {
                    SudoOutcome::NotAllowed
                } else {
                    SudoOutcome::Refused
                };
                f.reason = Some(seg.to_string());
                continue;
            }
        }
        any_key = true;
    }
    any_key.then_some(f)
}

fn su(m: &str) -> Option<SuFact> {
    // Debian: `(to root) bob on pts/0`, `FAILED SU (to root) bob on pts/0`;
    // older: `Successful su for root by bob`, `FAILED su for root by bob`.
    let (success, rest) = match m.strip_prefix("FAILED SU ") {
        Some(r) => (false, r),
        None => (true, m),
    };
    if let Some(r) = rest.strip_prefix("(to ") {
        let (target, r) = r.split_once(')')?;
        let mut words = r.split_whitespace();
        let by = words.next().map(str::to_string);
        let tty = match (words.next(), words.next()) {
            (Some("on"), Some(t)) => Some(t.to_string()),
            _ => None,
        };
        return Some(SuFact {
            target_user: target.trim().to_string(),
            by_user: by,
            tty,
            success,
        });
    }
    let (success, r) = if let Some(r) = m.strip_prefix("Successful su for ") {
        (true, r)
    } else {
        (false, m.strip_prefix("FAILED su for ")?)
    };
    let (target, by) = match r.split_once(" by ") {
        Some((t, b)) => (t, Some(b.trim().to_string())),
        None => (r, None),
    };
    Some(SuFact {
        target_user: target.trim().to_string(),
        by_user: by,
        tty: None,
        success,
    })
}

fn ssh(m: &str) -> Option<SshLoginFact> {
    // rsyslog folds repeats: `message repeated 5 times: [ Failed password for root from ...]`.
    let (repeated, m) = match m.strip_prefix("message repeated ") {
        Some(r) => {
            let (n, rest) = r.split_once(" times: [")?;
            (
                n.trim().parse().ok(),
                rest.trim().trim_end_matches(']').trim(),
            )
        }
        None => (None, m),
    };
    let (outcome, rest) = if let Some(r) = m.strip_prefix("Accepted ") {
        (SshOutcome::Accepted, r)
    } else if let Some(r) = m.strip_prefix("Failed ") {
        (SshOutcome::Failed, r)
    } else if let Some(r) = m.strip_prefix("Invalid user ") {
        let (user, from) = r.rsplit_once(" from ")?;
        let (addr, port) = address_port(from)?;
        return Some(SshLoginFact {
            outcome: SshOutcome::InvalidUser,
            method: None,
            user: user.trim().to_string(),
            invalid_user: true,
            source_address: addr,
            source_port: port,
            key: None,
            repeated,
        });
    } else {
        return None;
    };
    // `METHOD for [invalid user ]USER from ADDR port N ssh2[: KEY]`
    let (method, rest) = rest.split_once(" for ")?;
    let (who, from) = rest.rsplit_once(" from ")?;
    let (from, key) = match from.split_once(": ") {
        Some((a, k)) => (a, nonempty(k)),
        None => (from, None),
    };
    let (addr, port) = address_port(from)?;
    let mut invalid_user = false;
    let user = if let Some(u) = who.strip_prefix("invalid user ") {
        invalid_user = true;
        u
    } else {
        // Some generators (and the museum's synthetic log) write `for user NAME`; sshd writes
        // `for NAME`. A single word is the name (`user` may be one).
        who.strip_prefix("user ")
            .filter(|u| !u.is_empty())
            .unwrap_or(who)
    };
    Some(SshLoginFact {
        outcome,
        method: nonempty(method),
        user: user.trim().to_string(),
        invalid_user,
        source_address: addr,
        source_port: port,
        key,
        repeated,
    })
}

/// `192.168.1.45 port 54322 ssh2` → address and port.
fn address_port(s: &str) -> Option<(String, Option<u16>)> {
    let mut words = s.split_whitespace();
    let addr = words.next()?.to_string();
    let port = match (words.next(), words.next()) {
        (Some("port"), Some(p)) => p.parse().ok(),
        _ => None,
    };
    Some((addr, port))
}

fn cron(m: &str) -> Option<CronFact> {
    // `(root) CMD (/tmp/.cache_proc)`
    let r = m.strip_prefix('(')?;
    let (user, r) = r.split_once(") ")?;
    let r = r.strip_prefix("CMD (")?;
    let command = r.strip_suffix(')').unwrap_or(r);
    Some(CronFact {
        user: user.to_string(),
        command: nonempty(command)?,
    })
}

/// `name=bob, UID=1002, GID=1002, home=/home/bob, shell=/bin/bash, from=/dev/pts/0`.
fn key_values(s: &str) -> Vec<(&str, &str)> {
    s.split(',')
        .filter_map(|kv| kv.trim().split_once('='))
        .map(|(k, v)| (k.trim(), v.trim()))
        .collect()
}

/// Quoted names: `add 'bob' to group 'sudo'` → [bob, sudo].
fn quoted(s: &str) -> Vec<&str> {
    s.split('\'').skip(1).step_by(2).collect()
}

fn account(m: &str) -> Option<AccountFact> {
    let blank = |action, account: &str| AccountFact {
        action,
        account: account.to_string(),
        uid: None,
        gid: None,
        home: None,
        shell: None,
        group: None,
    };
    let lower = m.to_ascii_lowercase();
    if let Some(r) = m
        .strip_prefix("new user: ")
        .or_else(|| m.strip_prefix("new account: "))
    {
        let kv = key_values(r);
        let get = |k: &str| kv.iter().find(|(x, _)| *x == k).map(|(_, v)| *v);
        let mut f = blank(AccountAction::UserAdded, get("name")?);
        f.uid = get("UID").and_then(|v| v.parse().ok());
        f.gid = get("GID").and_then(|v| v.parse().ok());
        f.home = get("home").and_then(nonempty);
        f.shell = get("shell").and_then(nonempty);
        return Some(f);
    }
    if let Some(r) = m
        .strip_prefix("new group: ")
        .or_else(|| m.strip_prefix("group added to /etc/group: "))
    {
        let kv = key_values(r);
        let get = |k: &str| kv.iter().find(|(x, _)| *x == k).map(|(_, v)| *v);
        let mut f = blank(AccountAction::GroupAdded, get("name")?);
        f.gid = get("GID").and_then(|v| v.parse().ok());
        return Some(f);
    }
    let q = quoted(m);
    if lower.starts_with("add '") && lower.contains(" to ") && q.len() >= 2 {
        let mut f = blank(AccountAction::GroupMemberAdded, q[0]);
        f.group = Some(q[1].to_string());
        return Some(f);
    }
    if lower.starts_with("delete user '") && !q.is_empty() {
        return Some(blank(AccountAction::UserDeleted, q[0]));
    }
    if (lower.starts_with("group '") && lower.contains("removed"))
        || lower.starts_with("removed group '")
    {
        return q.first().map(|g| blank(AccountAction::GroupDeleted, g));
    }
    if let Some(r) = m.split("password changed for ").nth(1) {
        return nonempty(r).map(|u| blank(AccountAction::PasswordChanged, &u));
    }
    if lower.starts_with("change user '") && lower.contains("password") && !q.is_empty() {
        return Some(blank(AccountAction::PasswordChanged, q[0]));
    }
    if (lower.starts_with("change user '")
        || lower.starts_with("lock user '")
        || lower.starts_with("unlock user '"))
        && !q.is_empty()
    {
        let mut f = blank(AccountAction::UserModified, q[0]);
        if lower.contains(" shell ") {
            f.shell = q.last().map(|s| s.to_string());
        }
        return Some(f);
    }
    None
}

/// A systemd unit message (`Started Hostname Service.`, `Started foo.service - Foo.`,
/// `foo.service: Failed with result 'signal'.`); `unit` is the journal's `UNIT=` when known.
pub fn service(m: &str, unit: Option<&str>) -> Option<ServiceFact> {
    let m = m.trim().trim_end_matches('.');
    let mut unit = unit.map(str::to_string);
    let (state, desc) = if let Some(d) = m.strip_prefix("Started ") {
        (ServiceState::Started, d)
    } else if let Some(d) = m.strip_prefix("Starting ") {
        (ServiceState::Starting, d.trim_end_matches('.'))
    } else if let Some(d) = m.strip_prefix("Stopped ") {
        (ServiceState::Stopped, d)
    } else if let Some(d) = m.strip_prefix("Stopping ") {
        (ServiceState::Stopping, d.trim_end_matches('.'))
    } else if let Some(d) = m.strip_prefix("Failed to start ") {
        (ServiceState::Failed, d)
    } else if let Some((u, rest)) = m.split_once(": ")
        && rest.starts_with("Failed with result")
        && is_unit_name(u)
    {
        unit = Some(u.to_string());
        (ServiceState::Failed, rest)
    } else {
        return None;
    };
    // Newer systemd: `Started foo.service - Description`.
    let desc = match desc.split_once(" - ") {
        Some((u, d)) if is_unit_name(u) => {
            unit.get_or_insert_with(|| u.to_string());
            d
        }
        _ => desc,
    };
    Some(ServiceFact {
        state,
        unit,
        description: desc.trim().to_string(),
    })
}

fn is_unit_name(s: &str) -> bool {
    !s.contains(' ')
        && [
            ".service", ".timer", ".socket", ".mount", ".path", ".target", ".scope",
        ]
        .iter()
        .any(|ext| s.ends_with(ext))
}
