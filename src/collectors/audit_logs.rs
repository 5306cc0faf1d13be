//! `audit_logs`: what the Linux audit subsystem logged — the Linux counterpart of Windows
//! 4688 / Sysmon 1.
//!
//! Where: `/var/log/audit/audit.log` and its rotations (`audit.log.1`, ..., gzip-compressed
//! ones too; profile options `log_dir`, `logs`), on a live host or an offline root.
//!
//! What we record (`records/audit_logs.jsonl`, see `crate::record::AuditLogRecord`): one
//! `event` per execution (`execve`/`execveat`, or an `EXECVE` record) with its full argv
//! (hex-encoded arguments decoded, split ones reassembled), exe, comm, cwd, paths, proctitle,
//! uid/auid/euid with account names (the log's enriched names, else the evidence's
//! `/etc/passwd`), tty, session, key and success; one `event` per other system call that
//! matched a keyed rule (a watched file opened); and the user-space `USER_CMD`, `USER_LOGIN`,
//! `USER_AUTH` and account-change records. Plus one `log_file` summary per file. Every log is
//! copied raw (up to `max_copy_size`, hashed whole). `--since` filters records only.
//!
//! Reference: `crate::parsers::auditd`; ATT&CK T1059.004 (data source "Command: Command
//! Execution", "Process: Process Creation" on Linux is auditd execve).

use super::linux_logs::{
    CopyPlan, FoundLog, copy_log, find_logs, for_each_line, maybe_gunzip, not_linux, reopen,
    summary_for, uid_names,
};
use super::{CollectError, Collector, Context};
use crate::parsers::auditd::{Assembler, AuditEvent, AuditKind};
use crate::record::{AuditEventRecord, AuditLogRecord, Record};
use crate::sink::{Sink, SinkError};
use crate::source::FileSource;
use crate::units::ByteSize;
use serde::Deserialize;
use std::collections::HashMap;
use std::ops::ControlFlow;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuditLogsOptions {
    /// Folder of the audit logs (logical path).
    pub log_dir: String,
    /// File names in `log_dir`; `*` and `?` match.
    pub logs: Vec<String>,
    /// Store a raw copy of each log (up to `max_copy_size`; the whole file is hashed).
    pub copy: bool,
    pub max_copy_size: ByteSize,
    /// Logs up to this size are parsed from the copy in memory; larger ones are read again.
    pub max_in_memory: ByteSize,
    /// Records per file at most (the first ones); the rest are counted in the summary.
    pub max_events_per_file: u64,
    /// Keep system calls other than executions that matched a keyed audit rule.
    pub keyed_syscalls: bool,
}

impl Default for AuditLogsOptions {
    fn default() -> Self {
        AuditLogsOptions {
            log_dir: "/var/log/audit".into(),
            logs: vec!["audit.log*".into()],
            copy: true,
            max_copy_size: ByteSize(256 << 20),
            max_in_memory: ByteSize(32 << 20),
            max_events_per_file: 1_000_000,
            keyed_syscalls: true,
        }
    }
}

pub struct AuditLogs {
    opts: AuditLogsOptions,
}

impl AuditLogs {
    pub fn new(opts: AuditLogsOptions) -> AuditLogs {
        AuditLogs { opts }
    }
}

impl Collector for AuditLogs {
    fn not_applicable(&self, fs: &dyn FileSource) -> Option<String> {
        not_linux(fs)
    }

    fn collect(&self, ctx: &Context, out: &mut dyn Sink) -> Result<(), CollectError> {
        let logs = find_logs(ctx, &self.opts.log_dir, &self.opts.logs, out);
        if logs.is_empty() {
            out.warn(format!(
                "no audit log in {} (auditd not installed or not logging to files)",
                ctx.fs
                    .display_path(std::path::Path::new(&self.opts.log_dir))
            ));
            return Ok(());
        }
        let names = uid_names(ctx);
        for log in logs {
            if ctx.cancel.should_stop().is_some() {
                return Ok(());
            }
            self.one_log(ctx, out, &log, &names)?;
        }
        Ok(())
    }
}

/// Account names for the event's ids, where the log did not give them.
fn name_users(e: &mut AuditEvent, names: &HashMap<u32, String>) {
    let lookup = |id: Option<u32>| id.and_then(|u| names.get(&u).cloned());
    if e.user.is_none() {
        e.user = lookup(e.uid);
    }
    if e.login_user.is_none() {
        e.login_user = lookup(e.auid);
    }
    if e.effective_user.is_none() {
        e.effective_user = lookup(e.euid);
    }
}

impl AuditLogs {
    fn one_log(
        &self,
        ctx: &Context,
        out: &mut dyn Sink,
        log: &FoundLog,
        names: &HashMap<u32, String>,
    ) -> Result<(), CollectError> {
        let plan = CopyPlan {
            copy: self.opts.copy,
            max_copy_size: self.opts.max_copy_size.0,
            max_in_memory: self.opts.max_in_memory.0,
        };
        let Some(mut copied) = copy_log(ctx, out, log, plan)? else {
            return Ok(());
        };
        let mut summary = summary_for(&copied);
        let reader = match reopen(ctx, log, &mut copied) {
            Ok(r) => r,
            Err(e) => {
                out.error(format!("{}: {e}", log.display));
                summary.parse_error = Some(e);
                out.record(Record::AuditLog(AuditLogRecord::LogFile(summary)))?;
                return Ok(());
            }
        };
        let (mut lines, gz) = maybe_gunzip(reader);
        summary.gzip = gz;
        let mut asm = Assembler::new();
        let mut failed: Option<SinkError> = None;
        let mut emit = |mut e: AuditEvent| {
            if failed.is_some() {
                return;
            }
            if e.kind == AuditKind::Syscall && !self.opts.keyed_syscalls {
                summary.other += 1;
                return;
            }
            if let (Some(since), Some(t)) = (ctx.since, e.timestamp)
                && t < since
            {
                summary.before_since += 1;
                return;
            }
            if summary.records >= self.opts.max_events_per_file {
                summary.capped += 1;
                return;
            }
            if let Some(t) = e.timestamp {
                summary.first_time = Some(summary.first_time.map_or(t, |f| f.min(t)));
                summary.last_time = Some(summary.last_time.map_or(t, |l| l.max(t)));
            }
            name_users(&mut e, names);
            let rec = AuditLogRecord::Event(AuditEventRecord {
                event: e,
                source: copied.source.clone(),
            });
            match out.record(Record::AuditLog(rec)) {
                Ok(()) => summary.records += 1,
                Err(err) => failed = Some(err),
            }
        };
        let (n, cut, read_error) = for_each_line(&mut *lines, |i, line| {
            if ctx.cancel.should_stop().is_some() {
                return ControlFlow::Break(());
            }
            asm.push_line(i, line, &mut emit);
            ControlFlow::Continue(())
        });
        asm.finish(&mut emit);
        if let Some(e) = failed {
            return Err(e.into());
        }
        summary.items_read = n;
        summary.unparsed = asm.stats.unparsed_lines;
        summary.other += asm.stats.events_other;
        summary.lossy_lines = asm.stats.lossy_lines;
        if cut > 0 {
            summary
                .notes
                .push(format!("{cut} line(s) over 1 MiB were cut"));
        }
        if asm.stats.events_evicted > 0 {
            summary.notes.push(format!(
                "{} event(s) finished before their EOE record (records of more than {} \
                 events interleaved)",
                asm.stats.events_evicted,
                crate::parsers::auditd::MAX_OPEN
            ));
        }
        if let Some(e) = read_error.or(copied.read_error.clone()) {
            out.error(format!("{}: {e}", log.display));
            summary.parse_error = Some(e);
        }
        if summary.capped > 0 {
            out.cut(format!(
                "{}: {} events past max_events_per_file ({}) not recorded; the raw copy holds \
                 them",
                log.display, summary.capped, self.opts.max_events_per_file
            ));
        }
        if summary.unparsed > 0 && summary.records == 0 && n > 0 {
            out.warn(format!(
                "{}: {} line(s), none in the audit format",
                log.display, summary.unparsed
            ));
        }
        out.record(Record::AuditLog(AuditLogRecord::LogFile(summary)))?;
        Ok(())
    }
}

#[cfg(all(test, unix))]
#[allow(clippy::disallowed_methods)]
mod tests {
    use super::*;
    use crate::collectors::{Cancel, Shared};
    use crate::sink::MemorySink;
    use crate::source::RootSource;

    #[test]
    fn rotated_gzip_logs_oldest_first_with_names_from_passwd() {
        use std::io::Write;
        let d = tempfile::tempdir().unwrap();
        let r = d.path();
        std::fs::create_dir_all(r.join("var/log/audit")).unwrap();
        std::fs::create_dir_all(r.join("etc")).unwrap();
        std::fs::write(
            r.join("etc/passwd"),
            "root:x:0:0::/root:/bin/sh\nwebapp:x:1001:1001::/home/webapp:/bin/sh\n",
        )
        .unwrap();
        let old = "type=SYSCALL msg=audit(1.0:1): arch=c000003e syscall=59 success=yes \
                   exit=0 pid=9 auid=1001 uid=0 euid=0 comm=\"id\" exe=\"/usr/bin/id\"\n\
                   type=EXECVE msg=audit(1.0:1): argc=1 a0=\"id\"\ntype=EOE msg=audit(1.0:1): \n";
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(old.as_bytes()).unwrap();
        std::fs::write(r.join("var/log/audit/audit.log.1.gz"), e.finish().unwrap()).unwrap();
        std::fs::write(
            r.join("var/log/audit/audit.log"),
            "type=EXECVE msg=audit(2.0:2): argc=2 a0=\"ls\" a1=\"-la\"\r\n\0\0\0\n",
        )
        .unwrap();
        let src = RootSource::new(r.to_path_buf(), None).unwrap();
        let (cancel, shared) = (Cancel::default(), Shared::default());
        let ctx = Context::new(&src, &cancel, &shared);
        let mut sink = MemorySink::default();
        AuditLogs::new(AuditLogsOptions::default())
            .collect(&ctx, &mut sink)
            .unwrap();
        let recs: Vec<&AuditLogRecord> = sink
            .records
            .iter()
            .filter_map(|r| match r {
                Record::AuditLog(a) => Some(a),
                _ => None,
            })
            .collect();
        assert_eq!(recs.len(), 4, "{recs:?}");
        let AuditLogRecord::Event(first) = recs[0] else {
            panic!()
        };
        assert_eq!(first.event.argv, ["id"]);
        assert_eq!(first.event.login_user.as_deref(), Some("webapp"));
        assert_eq!(first.event.user.as_deref(), Some("root"));
        assert!(first.source.source_path.ends_with("audit.log.1.gz"));
        let AuditLogRecord::LogFile(s) = recs[1] else {
            panic!()
        };
        assert!(s.gzip);
        let AuditLogRecord::Event(second) = recs[2] else {
            panic!()
        };
        assert_eq!(second.event.command_line.as_deref(), Some("ls -la"));
        assert_eq!(sink.files.len(), 2);
        assert!(sink.errors.is_empty(), "{:?}", sink.errors);
    }
}
