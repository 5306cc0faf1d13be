//! Accounts and paths as the evidence's OS knows them, shared by the live host and offline
//! roots: who has a home (from `/etc/passwd`, `/home`, `C:\\Users`), and how a logical path is
//! written on Windows.

use super::{DirEntry, FileType, UserAccount};
use crate::parsers::passwd::PasswdEntry;
use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// Accounts of `/etc/passwd` text.
pub(crate) fn passwd_accounts(text: &str) -> Vec<UserAccount> {
    crate::parsers::passwd::parse_passwd(text)
        .into_iter()
        .map(|PasswdEntry { name, uid, home }| UserAccount {
            name,
            uid,
            sid: None,
            home: PathBuf::from(home),
            origin: "/etc/passwd".to_string(),
        })
        .collect()
}

/// Users of a Unix tree: `/etc/passwd` plus homes under `/home` that it does not list
/// (an attacker may delete the passwd line but not the home).
pub(crate) fn unix_users(passwd: Vec<UserAccount>, home_dirs: Vec<DirEntry>) -> Vec<UserAccount> {
    let mut users = passwd;
    let known: HashSet<PathBuf> = users.iter().map(|u| u.home.clone()).collect();
    for e in home_dirs {
        let is_dir = e
            .meta
            .as_ref()
            .is_ok_and(|m| m.file_type == FileType::Directory);
        if is_dir && !known.contains(&e.path) {
            users.push(UserAccount {
                name: e.name.to_string_lossy().into_owned(),
                uid: e.meta.as_ref().ok().and_then(|m| m.uid),
                sid: None,
                home: e.path.clone(),
                origin: "/home listing".into(),
            });
        }
    }
    users
}

/// Users of a Windows tree: every real directory under `Users\` (junctions such as
/// `All Users` and `Default User` are links, not profiles).
pub(crate) fn windows_users(entries: Vec<DirEntry>) -> Vec<UserAccount> {
    let mut users: Vec<UserAccount> = entries
        .into_iter()
        .filter(|e| {
            e.meta
                .as_ref()
                .is_ok_and(|m| m.file_type == FileType::Directory)
        })
        .map(|e| UserAccount {
            name: e.name.to_string_lossy().into_owned(),
            uid: None,
            sid: None,
            home: e.path,
            origin: "Users listing".into(),
        })
        .collect();
    users.sort_by(|a, b| a.name.cmp(&b.name));
    users
}

pub(crate) fn windows_display(logical: &Path) -> String {
    let mut s = String::from("C:");
    for c in logical.components() {
        if let std::path::Component::Normal(n) = c {
            s.push('\\');
            s.push_str(&n.to_string_lossy());
        }
    }
    if s == "C:" {
        s.push('\\');
    }
    s
}
