//! at(1) jobs waiting in the spool (`/var/spool/cron/atjobs` on Debian, `/var/spool/at` on
//! RHEL): the run time and queue from the file name, the owner from the `# atrun uid=` header
//! (else the file owner), and the user's commands. ATT&CK T1053.002.

use super::unix::regular_files;
use super::{Ingested, Run};
use crate::collectors::CollectError;
use crate::parsers::cron::{AtWarning, parse_at_filename, parse_at_job};
use crate::record::{
    ActionKind, AtDetail, ParseStatus, ScheduledAction, ScheduledKind, ScheduledTaskRecord,
    ScheduledTrigger, TriggerType,
};
use std::collections::HashMap;
use std::path::Path;

const AT_SPOOLS: [&str; 2] = ["/var/spool/cron/atjobs", "/var/spool/at"];

pub(super) fn collect(run: &mut Run) -> Result<(), CollectError> {
    let users: HashMap<u32, String> = run
        .ctx
        .fs
        .users()
        .into_iter()
        .filter_map(|u| u.uid.map(|uid| (uid, u.name)))
        .collect();
    for spool in AT_SPOOLS {
        for path in regular_files(run, Path::new(spool), false) {
            if run.stopped() {
                return Ok(());
            }
            let base = path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            // `.SEQ` is at's job counter, not a job.
            if base == ".SEQ" {
                continue;
            }
            let Some(file) = run.ingest(&path)? else {
                continue;
            };
            at_job(run, &file, &base, &users)?;
        }
    }
    Ok(())
}

fn at_job(
    run: &mut Run,
    file: &Ingested,
    base: &str,
    users: &HashMap<u32, String>,
) -> Result<(), CollectError> {
    let job = parse_at_job(&file.outcome.kept);
    let from_name = parse_at_filename(base);
    let mut rec =
        ScheduledTaskRecord::new(ScheduledKind::At, base.to_string(), file.display.clone());
    file.fill(&mut rec);
    if let Some(why) = file.incomplete() {
        rec.parse_status = ParseStatus::Partial;
        rec.parse_error = Some(why.clone());
        run.out.error(why);
    }
    // The header's uid is who atd runs the job as; the file owner is the fallback.
    let uid = job.uid.or(file.meta.uid);
    rec.run_as = match job.uid {
        Some(u) => Some(users.get(&u).cloned().unwrap_or_else(|| u.to_string())),
        None => file
            .meta
            .owner
            .clone()
            .or_else(|| file.meta.uid.map(|u| u.to_string())),
    };
    let mut trig = ScheduledTrigger::new(TriggerType::Time);
    match &from_name {
        Some((queue, number, when)) => {
            trig.start = Some(when.to_rfc3339());
            trig.start_utc = Some(*when);
            rec.schedule = if *queue == '=' {
                format!("once at {} (running now)", when.to_rfc3339())
            } else {
                format!(
                    "once at {} (queue {queue}, job {number})",
                    when.to_rfc3339()
                )
            };
        }
        None => {
            rec.schedule = "once (run time unknown: file name is not at's)".into();
            rec.warnings
                .push("file name does not follow at's <queue><job><minutes> layout".into());
        }
    }
    rec.triggers.push(trig);
    rec.enabled = Some(true);
    // A file at did not write has no command section: atd hands the whole file to the
    // shell, so the whole text is what runs.
    let whole;
    let command = if job.command.is_empty() && job.warnings.contains(&AtWarning::NoCommandSection) {
        whole = String::from_utf8_lossy(&file.outcome.kept).into_owned();
        whole.as_str()
    } else {
        job.command.as_str()
    };
    let (command, truncated) = run.clip(command);
    rec.actions.push(ScheduledAction {
        kind: ActionKind::Shell,
        command_line: command.clone(),
        command,
        arguments: None,
        working_directory: job.working_directory.clone(),
        argv: Vec::new(),
        shell: job.shebang.clone().or_else(|| Some("/bin/sh".into())),
        stdin: None,
        data: None,
        truncated,
    });
    for w in &job.warnings {
        if !matches!(w, AtWarning::InvalidUtf8) {
            rec.parse_status = ParseStatus::Partial;
        }
        rec.warnings.push(w.to_string());
    }
    rec.at_job = Some(AtDetail {
        queue: from_name.map(|(q, _, _)| q.to_string()),
        job_number: from_name.map(|(_, n, _)| n),
        run_time: from_name.map(|(_, _, t)| t),
        uid,
        job: Box::new(job),
    });
    run.emit(rec)
}
