//! Unix schedulers other than systemd: cron (system and user crontabs), the run-parts
//! directories, anacron and at. One record per job line, script or job file; every source
//! file is copied. Lines cron would reject are reported, never fatal.

use super::{Ingested, Run};
use crate::collectors::CollectError;
use crate::parsers::cron::{
    AnacronPeriod, CronEntry, CronSchedule, CronSpecial, CronWarning, CrontabKind, EnvVar,
    parse_anacrontab, parse_crontab_each,
};
use crate::record::{
    ActionKind, CronDetail, CronScriptDetail, ParseStatus, ScheduledAction, ScheduledKind,
    ScheduledTaskRecord, ScheduledTrigger, TriggerType,
};
use crate::source::FileType;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

/// Line-level warnings about lines that produced no job, reported per file before summarising.
const MAX_LINE_WARNINGS: usize = 20;
/// The run-parts directories and the schedule /etc/crontab (or anacron) gives them.
const PERIODS: [&str; 4] = ["hourly", "daily", "weekly", "monthly"];
/// User crontab spools: Debian, RHEL/cronie, BSD.
const USER_SPOOLS: [&str; 3] = [
    "/var/spool/cron/crontabs",
    "/var/spool/cron",
    "/var/cron/tabs",
];
/// at job heads worth parsing: the header and the user's commands of any real job.
const SCRIPT_HEAD: usize = 4096;

pub(super) fn collect(run: &mut Run) -> Result<(), CollectError> {
    crontab(run, Path::new("/etc/crontab"), CrontabKind::System, None)?;
    for e in regular_files(run, Path::new("/etc/cron.d"), true) {
        if run.stopped() {
            return Ok(());
        }
        crontab(run, &e, CrontabKind::System, None)?;
    }
    for period in PERIODS {
        cron_scripts(run, period)?;
    }
    for spool in USER_SPOOLS {
        // cron itself refuses a crontab that is a symlink, so only regular files count.
        for e in regular_files(run, Path::new(spool), false) {
            if run.stopped() {
                return Ok(());
            }
            let owner = e
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            crontab(run, &e, CrontabKind::User, Some(owner))?;
        }
    }
    anacrontab(run)
}

/// Regular files of a directory, sorted; with `follow_links`, symlinks too (opened in scope).
/// Directories are skipped silently (spools hold sub-spools), anything else with a warning.
pub(super) fn regular_files(run: &mut Run, dir: &Path, follow_links: bool) -> Vec<PathBuf> {
    let Some(entries) = run.list_dir(dir) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for e in entries {
        match e.meta.as_ref().map(|m| m.file_type) {
            Ok(FileType::Regular) => out.push(e.path),
            Ok(FileType::Symlink) if follow_links => out.push(e.path),
            Ok(FileType::Directory) => {}
            Ok(other) => {
                let shown = run.display(&e.path);
                run.out.warn(format!("{shown}: {other:?}, skipped"));
            }
            Err(err) => {
                let shown = run.display(&e.path);
                run.out
                    .warn(format!("{shown}: cannot stat, skipped: {err}"));
            }
        }
    }
    out
}

fn warning_line(w: &CronWarning) -> usize {
    match w {
        CronWarning::TooFewFields { line, .. }
        | CronWarning::InvalidField { line, .. }
        | CronWarning::UnknownSpecial { line, .. }
        | CronWarning::InvalidUtf8 { line }
        | CronWarning::NulByte { line }
        | CronWarning::UnterminatedQuote { line, .. }
        | CronWarning::EnvironmentBudgetExceeded { line }
        | CronWarning::InvalidLine { line, .. } => *line,
    }
}

fn shell_of(env: &[EnvVar]) -> String {
    env.iter()
        .rev()
        .find(|v| v.name == "SHELL")
        .map(|v| v.value.clone())
        .unwrap_or_else(|| "/bin/sh".into())
}

fn shell_action(run: &Run, command: &str, env: &[EnvVar]) -> ScheduledAction {
    let (command, truncated) = run.clip(command);
    ScheduledAction {
        kind: ActionKind::Shell,
        command_line: command.clone(),
        command,
        arguments: None,
        working_directory: None,
        argv: Vec::new(),
        shell: Some(shell_of(env)),
        stdin: None,
        data: None,
        truncated,
    }
}

fn describe_fields(fields: [&str; 5]) -> String {
    if fields.iter().all(|f| *f == "*") {
        return "every minute".into();
    }
    let names = ["minute", "hour", "day of month", "month", "day of week"];
    let parts: Vec<String> = names
        .iter()
        .zip(fields)
        .filter(|(_, f)| *f != "*")
        .map(|(n, f)| format!("{n} {f}"))
        .collect();
    format!("cron: {}", parts.join(", "))
}

fn special_words(s: &CronSpecial) -> (TriggerType, String, String) {
    match s {
        CronSpecial::Reboot => (TriggerType::Boot, "@reboot".into(), "at boot".into()),
        CronSpecial::Yearly => (
            TriggerType::Calendar,
            "@yearly".into(),
            "yearly (Jan 1, 00:00)".into(),
        ),
        CronSpecial::Monthly => (
            TriggerType::Calendar,
            "@monthly".into(),
            "monthly (day 1, 00:00)".into(),
        ),
        CronSpecial::Weekly => (
            TriggerType::Calendar,
            "@weekly".into(),
            "weekly (Sunday 00:00)".into(),
        ),
        CronSpecial::Daily => (
            TriggerType::Calendar,
            "@daily".into(),
            "daily at 00:00".into(),
        ),
        CronSpecial::Hourly => (
            TriggerType::Calendar,
            "@hourly".into(),
            "hourly at minute 0".into(),
        ),
        CronSpecial::Other(w) => (
            TriggerType::Other(w.clone()),
            w.clone(),
            format!("{w} (unknown to cron: never runs)"),
        ),
    }
}

fn crontab(
    run: &mut Run,
    logical: &Path,
    kind: CrontabKind,
    owner: Option<String>,
) -> Result<(), CollectError> {
    let display = run.display(logical);
    // A missing /etc/crontab is normal: check before opening so it is not a warning.
    match run.ctx.fs.metadata(logical) {
        Err(e) if e.is_not_found() => return Ok(()),
        _ => {}
    }
    let Some(file) = run.ingest(logical)? else {
        return Ok(());
    };
    if let Some(why) = file.incomplete() {
        run.out.error(why);
    }
    let mut owner_warning = None;
    if let (Some(name), Some(file_owner)) = (&owner, &file.meta.owner)
        && name != file_owner
    {
        owner_warning = Some(format!(
            "crontab is named {name:?} but the file belongs to {file_owner:?} (cron refuses a crontab whose owner does not match)"
        ));
    }
    // Each job becomes a record as soon as its line is parsed: a crontab of a million lines
    // costs one job of memory.
    let mut failed: Option<CollectError> = None;
    let mut job_lines: HashSet<usize> = HashSet::new();
    let parsed = parse_crontab_each(&file.outcome.kept, kind, |entry, warnings| {
        if failed.is_some() {
            return;
        }
        let mut rec = cron_record(run, &file, &entry, kind, owner.as_deref());
        if !warnings.is_empty() {
            job_lines.insert(entry.line_number);
        }
        rec.warnings.extend(warnings.iter().map(|w| w.to_string()));
        rec.warnings.extend(owner_warning.clone());
        if !rec.warnings.is_empty() && rec.warnings.iter().any(|w| !w.contains("UTF-8")) {
            rec.parse_status = ParseStatus::Partial;
        }
        if let Err(e) = run.emit(rec) {
            failed = Some(e);
        }
    });
    if let Some(e) = failed {
        return Err(e);
    }
    let mut by_line: HashMap<usize, Vec<String>> = HashMap::new();
    for w in &parsed.warnings {
        let line = warning_line(w);
        if !job_lines.contains(&line) {
            by_line.entry(line).or_default().push(w.to_string());
        }
    }
    // What is left are lines that produced no job: cron skips them too, but they are
    // evidence of tampering, so each is reported.
    let mut left: Vec<(usize, Vec<String>)> = by_line.into_iter().collect();
    left.sort_by_key(|(l, _)| *l);
    let total = left.len() + parsed.warnings_suppressed;
    for (_, ws) in left.iter().take(MAX_LINE_WARNINGS) {
        for w in ws {
            run.out.warn(format!("{display}: {w}"));
        }
    }
    if total > MAX_LINE_WARNINGS {
        run.out.warn(format!(
            "{display}: {} more lines with problems not listed",
            total - MAX_LINE_WARNINGS
        ));
    }
    Ok(())
}

fn cron_record(
    run: &Run,
    file: &Ingested,
    entry: &CronEntry,
    kind: CrontabKind,
    owner: Option<&str>,
) -> ScheduledTaskRecord {
    let name = format!("{}:{}", file.display, entry.line_number);
    let mut rec = ScheduledTaskRecord::new(ScheduledKind::Cron, name, file.display.clone());
    file.fill(&mut rec);
    rec.line_number = Some(entry.line_number);
    let (raw, cut) = run.clip(&entry.raw);
    rec.raw_line = Some(raw);
    rec.raw_line_truncated = cut;
    rec.run_as = match kind {
        CrontabKind::System => entry.user.clone(),
        CrontabKind::User => owner.map(str::to_string),
    };
    let mut trig;
    match &entry.schedule {
        CronSchedule::Fields {
            minute,
            hour,
            day_of_month,
            month,
            day_of_week,
        } => {
            let f = [
                minute.as_str(),
                hour.as_str(),
                day_of_month.as_str(),
                month.as_str(),
                day_of_week.as_str(),
            ];
            trig = ScheduledTrigger::new(TriggerType::Calendar);
            trig.expression = Some(f.join(" "));
            rec.schedule = describe_fields(f);
        }
        CronSchedule::Special(s) => {
            let (ty, expr, words) = special_words(s);
            trig = ScheduledTrigger::new(ty);
            trig.expression = Some(expr);
            rec.schedule = words;
        }
    }
    rec.triggers.push(trig);
    let mut action = shell_action(run, &entry.command, &entry.environment);
    action.stdin = entry.stdin.as_deref().map(|s| run.clip(s).0);
    rec.actions.push(action);
    rec.cron = Some(CronDetail {
        crontab: kind,
        schedule: Some(entry.schedule.clone()),
        period: None,
        delay_minutes: None,
        job_identifier: None,
        environment: entry.environment.clone(),
        lossy_utf8: entry.lossy_utf8,
    });
    rec
}

fn cron_scripts(run: &mut Run, period: &str) -> Result<(), CollectError> {
    let dir = PathBuf::from(format!("/etc/cron.{period}"));
    let Some(entries) = run.list_dir(&dir) else {
        return Ok(());
    };
    for e in entries {
        if run.stopped() {
            return Ok(());
        }
        let symlink = match e.meta.as_ref().map(|m| m.file_type) {
            Ok(FileType::Regular) => false,
            // run-parts runs what a link points at; the source keeps it inside the scope.
            Ok(FileType::Symlink) => true,
            // run-parts does not descend into directories.
            Ok(FileType::Directory) => continue,
            Ok(other) => {
                let shown = run.display(&e.path);
                run.out.warn(format!("{shown}: {other:?}, skipped"));
                continue;
            }
            Err(err) => {
                let shown = run.display(&e.path);
                run.out
                    .warn(format!("{shown}: cannot stat, skipped: {err}"));
                continue;
            }
        };
        let Some(file) = run.ingest_keep(&e.path, SCRIPT_HEAD)? else {
            continue;
        };
        let base = e.name.to_string_lossy().into_owned();
        let mut rec = ScheduledTaskRecord::new(
            ScheduledKind::CronScript,
            format!("cron.{period}/{base}"),
            file.display.clone(),
        );
        file.fill(&mut rec);
        let executable = file.meta.mode.map(|m| m & 0o111 != 0);
        let debian_name = !base.is_empty()
            && base
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
        rec.run_as = Some("root".into());
        rec.enabled = executable;
        if executable == Some(false) {
            rec.warnings
                .push("not executable: run-parts skips it".into());
        }
        if !debian_name {
            rec.warnings.push(
                "name has characters Debian's run-parts skips (only A-Za-z0-9_- run there)".into(),
            );
        }
        rec.schedule = format!(
            "{period} via run-parts {} (from /etc/crontab or anacron)",
            run.display(&dir)
        );
        let mut trig = ScheduledTrigger::new(TriggerType::Calendar);
        trig.expression = Some(format!("@{period}"));
        rec.triggers.push(trig);
        let interpreter = file.outcome.kept.strip_prefix(b"#!").map(|rest| {
            let end = rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len());
            String::from_utf8_lossy(&rest[..end]).trim().to_string()
        });
        rec.actions.push(ScheduledAction {
            kind: ActionKind::Exec,
            command: file.display.clone(),
            arguments: None,
            working_directory: None,
            command_line: file.display.clone(),
            argv: vec![file.display.clone()],
            shell: None,
            stdin: None,
            data: None,
            truncated: false,
        });
        rec.cron_script = Some(CronScriptDetail {
            period: period.to_string(),
            executable,
            debian_run_parts_name: debian_name,
            interpreter,
            symlink,
        });
        run.emit(rec)?;
    }
    Ok(())
}

fn anacrontab(run: &mut Run) -> Result<(), CollectError> {
    let logical = Path::new("/etc/anacrontab");
    if matches!(run.ctx.fs.metadata(logical), Err(e) if e.is_not_found()) {
        return Ok(());
    }
    let Some(file) = run.ingest(logical)? else {
        return Ok(());
    };
    if let Some(why) = file.incomplete() {
        run.out.error(why);
    }
    let parsed = parse_anacrontab(&file.outcome.kept);
    let mut by_line: HashMap<usize, Vec<String>> = HashMap::new();
    for w in &parsed.warnings {
        by_line
            .entry(warning_line(w))
            .or_default()
            .push(w.to_string());
    }
    for job in &parsed.jobs {
        let mut rec = ScheduledTaskRecord::new(
            ScheduledKind::Anacron,
            job.job_identifier.clone(),
            file.display.clone(),
        );
        file.fill(&mut rec);
        rec.line_number = Some(job.line_number);
        let (raw, cut) = run.clip(&job.raw);
        rec.raw_line = Some(raw);
        rec.raw_line_truncated = cut;
        // The system anacron runs its jobs as root.
        rec.run_as = Some("root".into());
        let (expr, words) = match &job.period {
            AnacronPeriod::Days(n) => (n.to_string(), format!("every {n} day(s)")),
            AnacronPeriod::Daily => ("@daily".into(), "daily".into()),
            AnacronPeriod::Weekly => ("@weekly".into(), "weekly".into()),
            AnacronPeriod::Monthly => ("@monthly".into(), "monthly".into()),
            AnacronPeriod::Yearly => ("@yearly".into(), "yearly".into()),
            AnacronPeriod::Other(s) => (s.clone(), format!("period {s:?} (invalid)")),
        };
        let mut trig = ScheduledTrigger::new(TriggerType::Period);
        trig.expression = Some(expr);
        trig.delay = job.delay_minutes.map(|m| format!("{m}min"));
        rec.triggers.push(trig);
        rec.schedule = match job.delay_minutes {
            Some(m) => format!("{words} (anacron), {m} min after anacron starts"),
            None => format!("{words} (anacron)"),
        };
        rec.actions
            .push(shell_action(run, &job.command, &job.environment));
        if let Some(ws) = by_line.remove(&job.line_number) {
            rec.warnings.extend(ws);
            rec.parse_status = ParseStatus::Partial;
        }
        rec.cron = Some(CronDetail {
            crontab: CrontabKind::System,
            schedule: None,
            period: Some(job.period.clone()),
            delay_minutes: job.delay_minutes,
            job_identifier: Some(job.job_identifier.clone()),
            environment: job.environment.clone(),
            lossy_utf8: job.lossy_utf8,
        });
        run.emit(rec)?;
    }
    for ws in by_line.values().take(MAX_LINE_WARNINGS) {
        for w in ws {
            run.out.warn(format!("{}: {w}", file.display));
        }
    }
    Ok(())
}
