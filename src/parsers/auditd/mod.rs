//! Linux audit logs (`/var/log/audit/audit.log`, written by auditd): the records of one event
//! share a serial (`msg=audit(1715426112.441:521)`) and are merged here into one
//! [`AuditEvent`]: `SYSCALL` (who, which call, success, exe, comm, tty, session, key), `EXECVE`
//! (argc and every argument, hex-encoded ones decoded, long ones split as `a1_len=` +
//! `a1[0]=`, `a1[1]=` reassembled), `PROCTITLE` (hex, NUL-separated), `CWD` and `PATH`; and
//! the user-space records a responder reads (`USER_CMD`, `USER_LOGIN`, `USER_AUTH`, account
//! changes). Other record types are counted, not kept.
//!
//! Records of one event are usually adjacent and end with `EOE`, but not always (user-space
//! records interleave, old kernels write no `EOE`, a hand-edited or forged log can hold them
//! anywhere): events stay open until their `EOE`, and at most [`MAX_OPEN`] are held; past that
//! the oldest is finished as it is. Memory is bounded by that window and by the caps on one
//! event's arguments ([`MAX_ARGV_BYTES`], [`MAX_ARGS`]), whatever the log's size.
//!
//! References: linux `kernel/auditsc.c` (`audit_log_execve_info`), audit-userspace
//! `docs/audit.rules.7`, "Understanding Audit Log Files" (Red Hat Security Guide, 7.6).

mod event;
mod line;
#[cfg(test)]
#[allow(clippy::disallowed_methods)]
mod tests;

pub use event::{AuditEvent, AuditKind, AuditPath, syscall_name};
pub use line::{AuditLine, Raw, decode_untrusted, fields, hex_decode, parse_line};

use line::text_of;
use std::collections::{BTreeMap, HashMap, VecDeque};

/// Events held open at once, waiting for more of their records.
pub const MAX_OPEN: usize = 1024;
/// Bytes of arguments kept per event; the rest is counted (`argv_truncated`).
pub const MAX_ARGV_BYTES: usize = 256 << 10;
/// Arguments kept per event.
pub const MAX_ARGS: usize = 4096;
/// `PATH` records kept per event.
const MAX_PATHS: usize = 32;
/// `auid`/`ses` of a process that never logged in.
const UNSET: u32 = u32::MAX;

/// Record types that belong to a system call's event (they come with a `SYSCALL`).
const SYSCALL_PARTS: &[&str] = &[
    "SYSCALL",
    "EXECVE",
    "CWD",
    "PATH",
    "PROCTITLE",
    "SOCKADDR",
    "FD_PAIR",
    "MMAP",
    "BPRM_FCAPS",
    "CAPSET",
    "OBJ_PID",
    "SOCKETCALL",
    "IPC",
    "TTY",
];

/// Standalone (user-space) record types kept, with their kind.
fn standalone_kind(t: &str) -> Option<AuditKind> {
    Some(match t {
        "USER_CMD" => AuditKind::UserCmd,
        "USER_LOGIN" => AuditKind::UserLogin,
        "USER_AUTH" => AuditKind::UserAuth,
        "ADD_USER" | "DEL_USER" | "ADD_GROUP" | "DEL_GROUP" | "USER_MGMT" | "GRP_MGMT"
        | "USER_CHAUTHTOK" | "ACCT_LOCK" | "ACCT_UNLOCK" => AuditKind::AccountChange,
        _ => return None,
    })
}

/// What reading a log found besides its events.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditStats {
    pub lines: u64,
    /// Lines that are not audit records (blank lines not counted).
    pub unparsed_lines: u64,
    /// Events of kinds not kept (`CRED_ACQ`, `SERVICE_START`, unkeyed system calls, ...).
    pub events_other: u64,
    /// Events finished before their `EOE` because [`MAX_OPEN`] were open.
    pub events_evicted: u64,
    /// Lines with invalid UTF-8 (replaced).
    pub lossy_lines: u64,
}

/// An event being assembled.
#[derive(Default)]
struct Pending {
    ev: AuditEvent,
    /// Argument index → whole value, or pieces by part number.
    args: BTreeMap<u32, Arg>,
    arg_bytes: usize,
    has_syscall: bool,
    has_execve: bool,
    standalone: Option<AuditKind>,
}

#[derive(Default)]
struct Arg {
    whole: Option<Vec<u8>>,
    parts: BTreeMap<u32, Vec<u8>>,
}

/// Key of an open event: its time and serial (serials restart when the host reboots).
type Key = (i64, u32, u64);

/// Turns audit log lines into events. Feed lines in file order with [`Self::push_line`], then
/// call [`Self::finish`]; events come out through the callback as they complete.
#[derive(Default)]
pub struct Assembler {
    open: HashMap<Key, Pending>,
    order: VecDeque<Key>,
    pub stats: AuditStats,
}

impl Assembler {
    pub fn new() -> Assembler {
        Assembler::default()
    }

    /// One line (without its newline; CR, NUL and invalid UTF-8 are tolerated).
    pub fn push_line(&mut self, line_number: u64, raw: &[u8], emit: &mut dyn FnMut(AuditEvent)) {
        self.stats.lines += 1;
        let (text, lossy) = text_of(raw);
        if lossy {
            self.stats.lossy_lines += 1;
        }
        let text = text.trim_matches(|c: char| c == '\0' || c.is_whitespace());
        if text.is_empty() {
            return;
        }
        let Some(l) = parse_line(text) else {
            self.stats.unparsed_lines += 1;
            return;
        };
        let key = (l.secs, l.millis, l.serial);
        if l.record_type == "EOE" {
            if let Some(p) = self.open.remove(&key) {
                self.order.retain(|k| *k != key);
                self.complete(p, emit);
            }
            return;
        }
        let part_of_syscall = SYSCALL_PARTS.contains(&l.record_type);
        let standalone = standalone_kind(l.record_type);
        if !part_of_syscall && standalone.is_none() {
            self.stats.events_other += 1;
            return;
        }
        if !self.open.contains_key(&key) {
            if self.order.len() >= MAX_OPEN
                && let Some(old) = self.order.pop_front()
                && let Some(p) = self.open.remove(&old)
            {
                self.stats.events_evicted += 1;
                self.complete(p, emit);
            }
            let mut p = Pending::default();
            p.ev.serial = l.serial;
            p.ev.timestamp = chrono::DateTime::from_timestamp(l.secs, l.millis * 1_000_000);
            p.ev.node = l.node.map(str::to_string);
            p.ev.line_number = line_number;
            self.open.insert(key, p);
            self.order.push_back(key);
        }
        let Some(p) = self.open.get_mut(&key) else {
            return;
        };
        p.ev.lossy_utf8 |= lossy;
        if !p.ev.record_types.iter().any(|t| t == l.record_type) && p.ev.record_types.len() < 32 {
            p.ev.record_types.push(l.record_type.to_string());
        }
        apply(p, &l);
        if let Some(k) = standalone {
            p.standalone = Some(k);
            // A user-space record is the whole event.
            if let Some(p) = self.open.remove(&key) {
                self.order.retain(|k| *k != key);
                self.complete(p, emit);
            }
        }
    }

    /// Finish every event still open, oldest first.
    pub fn finish(&mut self, emit: &mut dyn FnMut(AuditEvent)) {
        while let Some(k) = self.order.pop_front() {
            if let Some(p) = self.open.remove(&k) {
                self.complete(p, emit);
            }
        }
    }

    fn complete(&mut self, p: Pending, emit: &mut dyn FnMut(AuditEvent)) {
        match finalize(p) {
            Some(ev) => emit(ev),
            None => self.stats.events_other += 1,
        }
    }
}

/// Merge one record into its event.
fn apply(p: &mut Pending, l: &AuditLine) {
    let f = fields(l.body);
    let get = |k: &str| f.iter().find(|(key, _)| *key == k).map(|(_, v)| *v);
    let num = |k: &str| get(k).and_then(|v| v.text().parse::<u32>().ok());
    let mut lossy = false;
    let mut string = |v: Option<Raw>| -> Option<String> {
        let (bytes, _) = decode_untrusted(v?)?;
        let (s, l) = text_of(&bytes);
        lossy |= l;
        Some(s)
    };
    match l.record_type {
        "SYSCALL" => {
            p.has_syscall = true;
            let ev = &mut p.ev;
            ev.arch = get("arch").map(|v| v.text().to_string());
            ev.syscall = num("syscall");
            ev.syscall_name = ev
                .syscall
                .and_then(|n| syscall_name(ev.arch.as_deref(), n))
                .map(str::to_string);
            ev.success = get("success").map(|v| v.text() == "yes");
            ev.exit = get("exit").and_then(|v| v.text().parse().ok());
            ev.pid = num("pid");
            ev.ppid = num("ppid");
            ev.uid = num("uid");
            ev.auid = num("auid").filter(|u| *u != UNSET);
            ev.euid = num("euid");
            ev.gid = num("gid");
            ev.ses = num("ses").filter(|s| *s != UNSET);
            ev.tty = get("tty")
                .map(|v| v.text().to_string())
                .filter(|t| t != "(none)");
            ev.comm = string(get("comm"));
            ev.exe = string(get("exe"));
            ev.key = string(get("key"));
            if let Some(e) = l.enriched {
                names(ev, e);
            }
        }
        "EXECVE" => {
            p.has_execve = true;
            if let Some(n) = num("argc") {
                p.ev.argc = Some(n);
            }
            for (k, v) in &f {
                let Some(rest) = k.strip_prefix('a') else {
                    continue;
                };
                if rest.ends_with("_len") {
                    continue;
                }
                let (index, part) = match rest.split_once('[') {
                    Some((i, part)) => (i, part.strip_suffix(']').and_then(|x| x.parse().ok())),
                    None => (rest, None),
                };
                let Ok(index) = index.parse::<u32>() else {
                    continue;
                };
                let Some((bytes, _)) = decode_untrusted(*v) else {
                    continue;
                };
                if p.args.len() >= MAX_ARGS && !p.args.contains_key(&index) {
                    p.ev.argv_truncated = true;
                    continue;
                }
                let room = MAX_ARGV_BYTES.saturating_sub(p.arg_bytes);
                if room == 0 {
                    p.ev.argv_truncated = true;
                    continue;
                }
                let mut bytes = bytes;
                if bytes.len() > room {
                    bytes.truncate(room);
                    p.ev.argv_truncated = true;
                }
                p.arg_bytes += bytes.len();
                let arg = p.args.entry(index).or_default();
                match part {
                    Some(n) => {
                        arg.parts.insert(n, bytes);
                    }
                    None => arg.whole = Some(bytes),
                }
            }
        }
        "PROCTITLE" => {
            if let Some((bytes, _)) = get("proctitle").and_then(decode_untrusted) {
                let joined: Vec<u8> = bytes
                    .split(|b| *b == 0)
                    .filter(|s| !s.is_empty())
                    .collect::<Vec<_>>()
                    .join(&b' ');
                let (s, l) = text_of(&joined);
                lossy |= l;
                p.ev.proctitle = Some(s);
            }
        }
        "CWD" => p.ev.cwd = string(get("cwd")),
        "PATH" if p.ev.paths.len() < MAX_PATHS => {
            let path = AuditPath {
                item: num("item"),
                name: string(get("name")),
                inode: get("inode").and_then(|v| v.text().parse().ok()),
                mode: get("mode").map(|v| v.text().to_string()),
                ouid: num("ouid"),
                nametype: get("nametype").map(|v| v.text().to_string()),
            };
            p.ev.paths.push(path);
        }
        _ if standalone_kind(l.record_type).is_some() => {
            let ev = &mut p.ev;
            ev.pid = num("pid");
            ev.uid = num("uid");
            ev.auid = num("auid").filter(|u| *u != UNSET);
            ev.ses = num("ses").filter(|s| *s != UNSET);
            if let Some(Raw::Quoted(msg)) = get("msg") {
                let inner = fields(msg);
                let iget = |k: &str| inner.iter().find(|(key, _)| *key == k).map(|(_, v)| *v);
                let plain = |k: &str| {
                    iget(k)
                        .map(|v| v.text().to_string())
                        .filter(|s| !matches!(s.as_str(), "?" | "(null)" | ""))
                };
                ev.op = plain("op");
                ev.res = plain("res");
                ev.hostname = plain("hostname");
                ev.addr = plain("addr");
                ev.terminal = plain("terminal");
                ev.acct = string(iget("acct")).or_else(|| plain("id"));
                ev.exe = string(iget("exe"));
                ev.cmd = string(iget("cmd"));
                if let Some(cwd) = string(iget("cwd")) {
                    ev.cwd = Some(cwd);
                }
            }
            if let Some(e) = l.enriched {
                names(ev, e);
            }
        }
        _ => {}
    }
    p.ev.lossy_utf8 |= lossy;
}

/// The enriched names (`UID="root" AUID="alice" EUID="root"`).
fn names(ev: &mut AuditEvent, enriched: &str) {
    for (k, v) in fields(enriched) {
        let name = Some(v.text().to_string()).filter(|n| !n.is_empty() && n != "unset");
        match k {
            "UID" => ev.user = name,
            "AUID" => ev.login_user = name,
            "EUID" => ev.effective_user = name,
            _ => {}
        }
    }
}

/// One argument as shell would read it back: single-quoted when it holds anything but
/// plain word characters.
fn quote(arg: &str) -> String {
    let plain = !arg.is_empty()
        && arg
            .chars()
            .all(|c| c.is_alphanumeric() || "-_./=:,@%+~^".contains(c));
    if plain {
        arg.to_string()
    } else {
        format!("'{}'", arg.replace('\'', "'\\''"))
    }
}

/// The event, or `None` when it is of a kind not kept.
fn finalize(mut p: Pending) -> Option<AuditEvent> {
    let mut lossy = false;
    let argv: Vec<String> = std::mem::take(&mut p.args)
        .into_values()
        .map(|a| {
            let bytes = match a.whole {
                Some(w) if a.parts.is_empty() => w,
                _ => a.parts.into_values().flatten().collect(),
            };
            let (s, l) = text_of(&bytes);
            lossy |= l;
            s
        })
        .collect();
    let ev = &mut p.ev;
    ev.lossy_utf8 |= lossy;
    if let Some(argc) = ev.argc {
        ev.argc_mismatch = argc as usize != argv.len() && !ev.argv_truncated;
    }
    ev.argv = argv;
    let is_exec = p.has_execve
        || matches!(ev.syscall_name.as_deref(), Some("execve" | "execveat")) && p.has_syscall;
    let kind = match p.standalone {
        Some(k) => k,
        None if is_exec => AuditKind::Execve,
        None if p.has_syscall && ev.key.is_some() => AuditKind::Syscall,
        None => return None,
    };
    ev.command_line = if !ev.argv.is_empty() {
        Some(
            ev.argv
                .iter()
                .map(|a| quote(a))
                .collect::<Vec<_>>()
                .join(" "),
        )
    } else {
        ev.proctitle.clone().or_else(|| ev.cmd.clone())
    };
    let mut ev = p.ev;
    ev.kind = kind;
    Some(ev)
}
