//! Who is running irsnap, and with which rights: the manifest records it, and it explains
//! what a non-elevated run could not see.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Identity {
    pub user: Option<String>,
    pub uid: Option<u32>,
    /// Windows: the SID of the token irsnap ran with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    pub elevated: bool,
}

#[cfg(target_os = "linux")]
fn effective_uid() -> Option<u32> {
    // /proc/self/status rather than geteuid(): no unsafe code for a value the kernel
    // also publishes as text.
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find_map(|l| l.strip_prefix("Uid:"))?;
    line.split_ascii_whitespace().nth(1)?.parse().ok()
}

#[cfg(not(target_os = "linux"))]
fn effective_uid() -> Option<u32> {
    None
}

/// Windows: whether the token is elevated (TokenElevation), not whether the account is an
/// administrator: under UAC an administrator's unelevated token reads no more than a user's.
#[cfg(windows)]
pub fn is_elevated() -> bool {
    crate::source::live::windows_is_elevated()
}

/// Windows: `DOMAIN\name` and SID from our token, not %USERNAME% (which any parent can set).
#[cfg(windows)]
fn token_account() -> (Option<String>, Option<String>) {
    crate::source::live::windows_token_account()
}

#[cfg(not(windows))]
fn token_account() -> (Option<String>, Option<String>) {
    (None, None)
}

#[cfg(not(windows))]
pub fn is_elevated() -> bool {
    effective_uid() == Some(0)
}

pub fn current() -> Identity {
    let uid = effective_uid();
    // The account database, not $USER: sudo and su leave $USER pointing at someone else.
    let from_passwd = uid.and_then(|uid| {
        let text = std::fs::read_to_string("/etc/passwd").ok()?;
        crate::source::parse_passwd(&text)
            .into_iter()
            .find(|u| u.uid == Some(uid))
            .map(|u| u.name)
    });
    let (token_user, sid) = token_account();
    let user = from_passwd
        .or(token_user)
        .or_else(|| std::env::var("USERNAME").ok());
    Identity {
        user,
        uid,
        sid,
        elevated: is_elevated(),
    }
}
