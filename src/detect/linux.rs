//! Observations from the Linux log and preload records: an audit `execve`, a sudo `COMMAND=`
//! and a `USER_CMD` are logged process creations (`process_event`, so every command-line rule
//! the process snapshot gets applies), a cron log `CMD` is a `cron_command` that ran, logins
//! and user switches are `logon`, account changes `account_change`, preloaded libraries
//! `preload`. The registration table names [`audit_log`], [`auth_log`], [`journal`] and
//! [`preload`].

use super::observation::{EvidenceRef, Observation, ObservationKind as K, TaskAttrs};
use crate::ids::RecordAt;
use crate::parsers::auditd::{AuditEvent, AuditKind};
use crate::parsers::syslog::{AccountFact, LogFact, SshOutcome, SudoOutcome};
use crate::record::{
    AuditLogRecord, AuthLogRecord, JournalRecord, PreloadRecord, PreloadSource, SourceRef,
    Timestamp,
};

fn evidence(at: RecordAt, src: &SourceRef) -> EvidenceRef {
    let mut e = EvidenceRef::new(at.member(), at.line).source_path(src.source_path.clone());
    if let Some(m) = &src.source_member {
        e = e.file_member(m.clone());
    }
    if let Some(h) = src.source_sha256 {
        e = e.sha256(h);
    }
    e
}

fn snake<T: serde::Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::new(),
    }
}

/// Groups whose members may become root.
pub const ADMIN_GROUPS: &[&str] = &["sudo", "wheel", "admin", "root", "adm", "docker", "lxd"];

/// The observations of one typed log fact (text log line or journal entry).
pub fn fact_observations(
    fact: &LogFact,
    message: &str,
    t: Option<Timestamp>,
    ev: EvidenceRef,
    out: &mut Vec<Observation>,
) {
    match fact {
        LogFact::Sudo(s) => {
            let outcome = snake(&s.outcome);
            out.push(
                Observation::new(K::Logon, ev.clone())
                    .timestamp(t)
                    .user(Some(s.user.clone()))
                    .target(Some("sudo"))
                    .details(Some(outcome))
                    .command_line(Some(message)),
            );
            if let (SudoOutcome::Allowed, Some(cmd)) = (s.outcome, &s.command) {
                out.push(
                    Observation::new(K::ProcessEvent, ev)
                        .timestamp(t)
                        .command_with_image(Some(cmd.clone()))
                        .parent_image(Some("/usr/bin/sudo"))
                        .user(Some(s.runas.clone().unwrap_or_else(|| "root".into())))
                        .cwd(s.cwd.clone())
                        .details(Some(format!("sudo by {}", s.user))),
                );
            }
        }
        LogFact::Su(s) => out.push(
            Observation::new(K::Logon, ev)
                .timestamp(t)
                .user(s.by_user.clone())
                .target(Some("su"))
                .details(Some(if s.success { "success" } else { "failed" }))
                .command_line(Some(format!("su {}", s.target_user))),
        ),
        LogFact::SshLogin(s) => out.push(
            Observation::new(K::Logon, ev)
                .timestamp(t)
                .user(Some(s.user.clone()))
                .target(Some("sshd"))
                .details(Some(match s.outcome {
                    SshOutcome::Accepted => "accepted",
                    SshOutcome::Failed if s.invalid_user => "invalid_user",
                    SshOutcome::Failed => "failed",
                    SshOutcome::InvalidUser => "invalid_user",
                }))
                .remote(Some(s.source_address.clone()), s.source_port)
                .command_line(Some(message)),
        ),
        LogFact::Cron(c) => out.push(
            Observation::new(K::CronCommand, ev)
                .timestamp(t)
                .command_with_image(Some(c.command.clone()))
                .user(Some(c.user.clone()))
                .task(TaskAttrs {
                    name: Some("cron (ran, from the log)".into()),
                    run_as: Some(c.user.clone()),
                    ..TaskAttrs::default()
                }),
        ),
        LogFact::Account(a) => out.push(account(a, message, t, ev)),
        LogFact::Service(_) => {}
    }
}

fn account(a: &AccountFact, message: &str, t: Option<Timestamp>, ev: EvidenceRef) -> Observation {
    let action = snake(&a.action);
    let details = match &a.group {
        Some(g) => format!("{action} {g}"),
        None => action,
    };
    Observation::new(K::AccountChange, ev)
        .timestamp(t)
        .target(Some(a.account.clone()))
        .details(Some(details))
        .command_line(Some(message))
}

pub fn auth_log(r: &AuthLogRecord, at: RecordAt, out: &mut Vec<Observation>) {
    if let AuthLogRecord::Event(e) = r {
        fact_observations(
            &e.fact,
            &e.message,
            e.timestamp,
            evidence(at, &e.source),
            out,
        );
    }
}

pub fn journal(r: &JournalRecord, at: RecordAt, out: &mut Vec<Observation>) {
    if let JournalRecord::Entry(e) = r
        && let Some(f) = &e.fact
    {
        let msg = e.message.as_deref().unwrap_or("");
        fact_observations(f, msg, e.timestamp, evidence(at, &e.source), out);
    }
}

fn audit_user(e: &AuditEvent) -> Option<String> {
    e.user.clone().or_else(|| e.uid.map(|u| format!("uid {u}")))
}

pub fn audit_log(r: &AuditLogRecord, at: RecordAt, out: &mut Vec<Observation>) {
    let AuditLogRecord::Event(rec) = r else {
        return;
    };
    let e = &rec.event;
    let ev = evidence(at, &rec.source);
    let t = e.timestamp;
    match e.kind {
        AuditKind::Execve => {
            let mut o = Observation::new(K::ProcessEvent, ev)
                .timestamp(t)
                .pids(e.pid, e.ppid)
                .image(e.exe.clone())
                .command_line(e.command_line.clone())
                .argv(e.argv.clone())
                .user(audit_user(e))
                .cwd(e.cwd.clone())
                .details(e.key.as_ref().map(|k| format!("audit key {k}")));
            if o.image.is_none() {
                o = o.command_with_image(e.command_line.clone());
            }
            out.push(o);
        }
        AuditKind::UserCmd => {
            if let Some(cmd) = &e.cmd {
                out.push(
                    Observation::new(K::ProcessEvent, ev)
                        .timestamp(t)
                        .command_with_image(Some(cmd.clone()))
                        .parent_image(e.exe.clone().or(Some("/usr/bin/sudo".into())))
                        .user(e.login_user.clone().or_else(|| audit_user(e)))
                        .cwd(e.cwd.clone()),
                );
            }
        }
        AuditKind::UserLogin | AuditKind::UserAuth => {
            let ok = e.res.as_deref() == Some("success");
            out.push(
                Observation::new(K::Logon, ev)
                    .timestamp(t)
                    .user(e.acct.clone().or_else(|| e.login_user.clone()))
                    .target(Some("audit"))
                    .details(Some(if ok { "success" } else { "failed" }))
                    .remote(e.addr.clone(), None)
                    .image(e.exe.clone())
                    .command_line(e.op.clone()),
            );
        }
        AuditKind::AccountChange => out.push(
            Observation::new(K::AccountChange, ev)
                .timestamp(t)
                .target(e.acct.clone())
                .details(e.op.clone())
                .user(e.login_user.clone())
                .image(e.exe.clone()),
        ),
        AuditKind::Syscall => {}
    }
}

pub fn preload(p: &PreloadRecord, at: RecordAt, out: &mut Vec<Observation>) {
    let mut ev = EvidenceRef::new(at.member(), at.line).source_path(p.source_path.clone());
    if let Some(m) = &p.source_member {
        ev = ev.file_member(m.clone());
    }
    let target = match p.source {
        PreloadSource::LdSoPreload => "ld.so.preload",
        PreloadSource::EnvLdPreload => "LD_PRELOAD",
        PreloadSource::EnvLdLibraryPath => "LD_LIBRARY_PATH",
        PreloadSource::EnvLdAudit => "LD_AUDIT",
        PreloadSource::MappedObject => "maps",
    };
    out.push(
        Observation::new(K::Preload, ev)
            .timestamp(p.timestamp)
            .file(Some(p.path.clone()), p.sha256)
            .target(Some(target))
            .image(p.image.clone())
            .pids(p.pid, None)
            .user(p.user.clone())
            // A mapped object deleted since it was loaded says so where rules can see it.
            .details(if p.deleted {
                Some("deleted".to_string())
            } else {
                p.value.clone()
            }),
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::CollectorId;

    fn mapped(path: &str, deleted: bool) -> Vec<&'static str> {
        let rec = PreloadRecord {
            source: PreloadSource::MappedObject,
            user_writable: true,
            deleted,
            path: path.to_string(),
            exists: None,
            sha256: None,
            value: None,
            line_number: None,
            pid: Some(4242),
            process_name: Some("sshd".into()),
            image: Some("/usr/sbin/sshd".into()),
            user: Some("root".into()),
            source_path: "/proc/4242/maps".into(),
            source_member: None,
            timestamp: None,
        };
        let at = RecordAt {
            collector: CollectorId::Preload,
            part: 1,
            line: 1,
        };
        let mut obs = Vec::new();
        preload(&rec, at, &mut obs);
        let engine = crate::detect::Engine::builtin().unwrap();
        let mut ids: Vec<&'static str> = engine
            .run(&obs)
            .iter()
            .map(|f| match f.rule_id.as_str() {
                "preload-mapped-temp" => "temp",
                "preload-mapped-user-writable" => "home",
                _ => "other",
            })
            .collect();
        ids.sort();
        ids
    }

    #[test]
    fn mapped_objects_are_judged_by_where_they_live() {
        assert_eq!(mapped("/dev/shm/.x/libhide.so", false), ["temp"]);
        assert_eq!(mapped("/tmp/libx.so.1", false), ["temp"]);
        // Deleted since it was loaded: high wherever it was.
        assert_eq!(mapped("/home/alice/.cache/libx.so", true), ["temp"]);
        // A home or hidden directory: low, unless it is a per-user toolchain.
        assert_eq!(
            mapped("/home/alice/.local/share/.x/libhook.so", false),
            ["home"]
        );
        assert!(
            mapped(
                "/root/.rustup/toolchains/stable-x86_64-unknown-linux-gnu/lib/librustc_driver.so",
                false
            )
            .is_empty()
        );
        assert!(
            mapped(
                "/home/bob/.pyenv/versions/3.11.7/lib/libpython3.11.so.1.0",
                false
            )
            .is_empty()
        );
        assert!(
            mapped(
                "/home/bob/proj/.venv/lib/python3.11/site-packages/x.so",
                false
            )
            .is_empty()
        );
    }
}
