//! `auth_logs`: who logged in, who became root, what cron ran, which accounts appeared —
//! from the syslog text logs.
//!
//! Where: `/var/log/auth.log*` (Debian, Ubuntu), `/var/log/secure*` (RHEL, Fedora, SUSE),
//! `/var/log/syslog*`, `/var/log/messages*` — current, rotated and gzip-compressed files
//! (profile options `log_dir`, `logs`), on a live host or an offline root.
//!
//! What we record (`records/auth_logs.jsonl`, see `crate::record::AuthLogRecord`): one
//! `event` per line holding a typed fact (`crate::parsers::syslog::LogFact`): sudo commands
//! and refusals (user, runas, tty, cwd, command), su, sshd logins accepted and failed (user,
//! method, source address and port, key), `CRON[pid]: (user) CMD (...)`, useradd / usermod /
//! groupadd / userdel / passwd, and systemd unit starts; each with its time as written, its
//! time resolved (RFC 3339 as is; traditional year-less times given the year of the file's
//! modification time, `year_inferred: true`, as local wall-clock), host, program, pid and
//! message. Plus one `log_file` summary per file. Logs are copied raw (up to
//! `max_copy_size`, hashed whole). `--since` filters records only.
//!
//! Reference: `crate::parsers::syslog`; ATT&CK T1078, T1110, T1548.003, T1136.001, T1053.003.

use super::linux_logs::{
    CopyPlan, FoundLog, cap_text, copy_log, find_logs, for_each_line, maybe_gunzip, not_linux,
    reopen, summary_for,
};
use super::{CollectError, Collector, Context};
use crate::parsers::syslog::{classify, parse_line, resolve_time};
use crate::record::{AuthLogRecord, LogLineRecord, Record};
use crate::sink::{Sink, SinkError};
use crate::source::FileSource;
use crate::units::ByteSize;
use serde::Deserialize;
use std::ops::ControlFlow;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthLogsOptions {
    /// Folder of the logs (logical path).
    pub log_dir: String,
    /// File names in `log_dir`; `*` and `?` match.
    pub logs: Vec<String>,
    /// Store a raw copy of each log (up to `max_copy_size`; the whole file is hashed).
    pub copy: bool,
    pub max_copy_size: ByteSize,
    /// Logs up to this size are parsed from the copy in memory; larger ones are read again.
    pub max_in_memory: ByteSize,
    /// Records per file at most (the first ones); the rest are counted in the summary.
    pub max_records_per_file: u64,
}

impl Default for AuthLogsOptions {
    fn default() -> Self {
        AuthLogsOptions {
            log_dir: "/var/log".into(),
            logs: ["auth.log*", "secure*", "syslog*", "messages*"]
                .map(String::from)
                .to_vec(),
            copy: true,
            max_copy_size: ByteSize(256 << 20),
            max_in_memory: ByteSize(32 << 20),
            max_records_per_file: 1_000_000,
        }
    }
}

pub struct AuthLogs {
    opts: AuthLogsOptions,
}

impl AuthLogs {
    pub fn new(opts: AuthLogsOptions) -> AuthLogs {
        AuthLogs { opts }
    }
}

impl Collector for AuthLogs {
    fn not_applicable(&self, fs: &dyn FileSource) -> Option<String> {
        not_linux(fs)
    }

    fn collect(&self, ctx: &Context, out: &mut dyn Sink) -> Result<(), CollectError> {
        let logs = find_logs(ctx, &self.opts.log_dir, &self.opts.logs, out);
        if logs.is_empty() {
            out.warn(format!(
                "no auth or syslog text log in {} (journal-only host?)",
                ctx.fs
                    .display_path(std::path::Path::new(&self.opts.log_dir))
            ));
        }
        for log in logs {
            if ctx.cancel.should_stop().is_some() {
                return Ok(());
            }
            self.one_log(ctx, out, &log)?;
        }
        Ok(())
    }
}

impl AuthLogs {
    fn one_log(
        &self,
        ctx: &Context,
        out: &mut dyn Sink,
        log: &FoundLog,
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
                out.record(Record::AuthLog(AuthLogRecord::LogFile(summary)))?;
                return Ok(());
            }
        };
        let (mut lines, gz) = maybe_gunzip(reader);
        summary.gzip = gz;
        let anchor = copied.modified;
        let mut failed: Option<SinkError> = None;
        let (n, cut, read_error) = for_each_line(&mut *lines, |i, raw| {
            if ctx.cancel.should_stop().is_some() {
                return ControlFlow::Break(());
            }
            let text = match std::str::from_utf8(raw) {
                Ok(s) => std::borrow::Cow::Borrowed(s),
                Err(_) => {
                    summary.lossy_lines += 1;
                    String::from_utf8_lossy(raw)
                }
            };
            let text = text.trim_end_matches('\0');
            if text.trim().is_empty() {
                return ControlFlow::Continue(());
            }
            let Some(line) = parse_line(text) else {
                summary.unparsed += 1;
                return ControlFlow::Continue(());
            };
            let Some(fact) = classify(line.program, line.message) else {
                summary.other += 1;
                return ControlFlow::Continue(());
            };
            let resolved = resolve_time(line.time, anchor);
            let year_inferred = resolved.is_some_and(|(_, y)| y);
            summary.year_inferred |= year_inferred;
            let timestamp = resolved.map(|(t, _)| t);
            if let (Some(since), Some(t)) = (ctx.since, timestamp)
                && t < since
            {
                summary.before_since += 1;
                return ControlFlow::Continue(());
            }
            if summary.records >= self.opts.max_records_per_file {
                summary.capped += 1;
                return ControlFlow::Continue(());
            }
            if let Some(t) = timestamp {
                summary.first_time = Some(summary.first_time.map_or(t, |f| f.min(t)));
                summary.last_time = Some(summary.last_time.map_or(t, |l| l.max(t)));
            }
            let rec = LogLineRecord {
                time_text: line.time_text.to_string(),
                timestamp,
                timestamp_is_local: matches!(
                    line.time,
                    crate::parsers::syslog::LineTime::NoYear { .. }
                ),
                year_inferred,
                host: line.host.map(str::to_string),
                program: line.program.to_string(),
                pid: line.pid,
                fact,
                message: cap_text(line.message),
                line_number: i,
                source: copied.source.clone(),
            };
            match out.record(Record::AuthLog(AuthLogRecord::Event(rec))) {
                Ok(()) => {
                    summary.records += 1;
                    ControlFlow::Continue(())
                }
                Err(e) => {
                    failed = Some(e);
                    ControlFlow::Break(())
                }
            }
        });
        if let Some(e) = failed {
            return Err(e.into());
        }
        summary.items_read = n;
        if cut > 0 {
            summary
                .notes
                .push(format!("{cut} line(s) over 1 MiB were cut"));
        }
        if summary.year_inferred && anchor.is_none() {
            summary
                .notes
                .push("no modification time: year-less lines have no timestamp".into());
        }
        if let Some(e) = read_error.or(copied.read_error.clone()) {
            out.error(format!("{}: {e}", log.display));
            summary.parse_error = Some(e);
        }
        if summary.capped > 0 {
            out.cut(format!(
                "{}: {} facts past max_records_per_file ({}) not recorded; the raw copy holds \
                 them",
                log.display, summary.capped, self.opts.max_records_per_file
            ));
        }
        out.record(Record::AuthLog(AuthLogRecord::LogFile(summary)))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_default_and_refuse_typos() {
        let o: AuthLogsOptions = toml::from_str("").unwrap();
        assert!(o.logs.iter().any(|l| l == "secure*"));
        assert!(toml::from_str::<AuthLogsOptions>("max_record = 1").is_err());
    }
}
