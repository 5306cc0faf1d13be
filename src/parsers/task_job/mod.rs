//! Legacy Task Scheduler 1.0 job files (`.job`).
//!
//! Where it lives: `C:\Windows\Tasks\*.job`. Windows 2000/XP/2003 keep every scheduled task
//! there; on Vista and later, tasks registered through the legacy `ITask` / `at.exe` /
//! `NetScheduleJobAdd` interfaces can still leave a `.job` file there (attackers' `at` jobs, some
//! malware), so the folder is worth collecting on every version. Linux/macOS only meet it in an offline root.
//!
//! What we record: the program and its parameters (the command line the job runs), working
//! directory, author, comment, job flags (hidden, disabled, interactive ... by name), status
//! and exit code of the last run, the last run time, and every trigger (type, begin/end date,
//! start time, repetition, type-specific schedule). The last-run SYSTEMTIME is the host's local
//! time with no zone, so it is kept as a naive date-time rather than converted to UTC.
//!
//! Robustness: the fixed 68-byte header must be present and carry file version 1, otherwise the
//! input is rejected. Every length in the variable-length section is checked against the
//! remaining bytes before anything is read or allocated (a string is at most 65535 UTF-16 units
//! and a trigger array at most 65535 * 48 bytes, both bounded by the input size). If the data
//! ends early, [`JobError::Truncated`] carries what had been parsed so far.
//!
//! Reference: [MS-TSCH] "Task Scheduler Service Remoting Protocol", section 2.4 ".JOB File
//! Format" (FIXDLEN_DATA, variable-length data section, triggers, job signature), and the
//! `TASK_TRIGGER` / `IScheduledWorkItem::SetFlags` documentation of `mstask.h`.

mod bytes;
mod error;
mod job;
#[cfg(test)]
mod tests;
mod triggers;

pub use error::JobError;
pub use job::{JobFile, JobPriority, JobSignature, JobStatus};
pub use triggers::{JobTrigger, JobTriggerType};

use bytes::{Short, flag_names, format_guid, rd16, rd32, read_unicode, take, u16_at};
use job::{JOB_FLAGS, product_version_name};
use triggers::{parse_trigger, systemtime};

/// Size of FIXDLEN_DATA.
pub const FIXED_LEN: usize = 68;
/// Size of one trigger record.
pub const TRIGGER_LEN: usize = 48;
const SIGNATURE_LEN: usize = 64;

/// Parses a Task Scheduler 1.0 `.job` file.
pub fn parse_job(bytes: &[u8]) -> Result<JobFile, JobError> {
    if bytes.len() < FIXED_LEN {
        return Err(JobError::TooShort {
            needed: FIXED_LEN,
            found: bytes.len(),
        });
    }
    let h = |o: usize| rd16(bytes, o);
    let h32 = |o: usize| rd32(bytes, o);

    let file_version = h(2);
    if file_version != 1 {
        return Err(JobError::BadHeader {
            field: "file version",
            found: u32::from(file_version),
            expected: "0x0001",
        });
    }
    let app_name_offset = usize::from(h(20));
    let trigger_offset = usize::from(h(22));
    if app_name_offset < FIXED_LEN + 2 {
        return Err(JobError::BadHeader {
            field: "application name offset",
            found: app_name_offset as u32,
            expected: "an offset past the 70-byte fixed header and running instance count",
        });
    }

    let mut warnings = Vec::new();
    let product_version = h(0);
    let status_code = h32(44);
    let flags = h32(48);
    let priority = h32(32);
    let last_run_time = systemtime(bytes.get(52..68).unwrap_or(&[]), &mut warnings);
    let mut job = JobFile {
        product_version,
        product_version_name: product_version_name(product_version).map(str::to_string),
        file_version,
        job_uuid: format_guid(bytes.get(4..20).unwrap_or(&[])),
        error_retry_count: h(24),
        error_retry_interval_minutes: h(26),
        idle_deadline_minutes: h(28),
        idle_wait_minutes: h(30),
        priority: JobPriority::from_code(priority),
        max_run_time_ms: h32(36),
        exit_code: h32(40),
        status_code,
        status: JobStatus::from_code(status_code),
        flags,
        flag_names: flag_names(flags, JOB_FLAGS),
        last_run_time,
        running_instance_count: 0,
        application_name: None,
        parameters: None,
        working_directory: None,
        author: None,
        comment: None,
        user_data_len: 0,
        start_error: None,
        task_flags: None,
        triggers: Vec::new(),
        signature: None,
        warnings: Vec::new(),
    };
    if job.product_version_name.is_none() {
        warnings.push(format!("unknown product version {product_version:#06x}"));
    }

    match parse_variable(
        bytes,
        &mut job,
        &mut warnings,
        app_name_offset,
        trigger_offset,
    ) {
        Ok(()) => {
            job.warnings = warnings;
            Ok(job)
        }
        Err(Short(field, offset, needed, available)) => {
            warnings.push(format!("data ends inside {field}"));
            job.warnings = warnings;
            Err(JobError::Truncated {
                field,
                offset,
                needed,
                available,
                partial: Box::new(job),
            })
        }
    }
}

fn parse_variable(
    bytes: &[u8],
    job: &mut JobFile,
    warnings: &mut Vec<String>,
    app_name_offset: usize,
    trigger_offset: usize,
) -> Result<(), Short> {
    job.running_instance_count = u16_at(bytes, FIXED_LEN, "running instance count")?;
    if app_name_offset != FIXED_LEN + 2 {
        warnings.push(format!(
            "application name offset is {app_name_offset}, expected {}; following the header",
            FIXED_LEN + 2
        ));
    }
    let mut pos = app_name_offset;
    let (v, next) = read_unicode(bytes, pos, "application name", warnings)?;
    job.application_name = v;
    pos = next;
    let (v, next) = read_unicode(bytes, pos, "parameters", warnings)?;
    job.parameters = v;
    pos = next;
    let (v, next) = read_unicode(bytes, pos, "working directory", warnings)?;
    job.working_directory = v;
    pos = next;
    let (v, next) = read_unicode(bytes, pos, "author", warnings)?;
    job.author = v;
    pos = next;
    let (v, next) = read_unicode(bytes, pos, "comment", warnings)?;
    job.comment = v;
    pos = next;

    let user_len = u16_at(bytes, pos, "user data length")?;
    take(bytes, pos + 2, usize::from(user_len), "user data")?;
    job.user_data_len = user_len;
    pos += 2 + usize::from(user_len);

    let reserved_len = usize::from(u16_at(bytes, pos, "reserved data length")?);
    let reserved = take(bytes, pos + 2, reserved_len, "reserved data")?;
    if reserved_len == 8 {
        job.start_error = Some(rd32(reserved, 0));
        job.task_flags = Some(rd32(reserved, 4));
    } else if reserved_len != 0 {
        warnings.push(format!(
            "reserved data is {reserved_len} bytes, expected 0 or 8; skipped"
        ));
    }
    pos += 2 + reserved_len;

    // The header's trigger offset is what the service uses; a disagreement means the strings
    // were edited by hand or the file is damaged, both worth reporting.
    if trigger_offset != pos {
        if trigger_offset >= FIXED_LEN + 2 && trigger_offset < bytes.len() {
            warnings.push(format!(
                "trigger offset in header is {trigger_offset} but the variable data ends at {pos}; using the header"
            ));
            pos = trigger_offset;
        } else {
            warnings.push(format!(
                "trigger offset in header ({trigger_offset}) is out of range; using {pos}"
            ));
        }
    }

    let count = usize::from(u16_at(bytes, pos, "trigger count")?);
    pos += 2;
    for i in 0..count {
        let rec = take(bytes, pos, TRIGGER_LEN, &format!("trigger #{i} of {count}"))?;
        job.triggers.push(parse_trigger(rec, i, warnings));
        pos += TRIGGER_LEN;
    }

    let rest = bytes.len().saturating_sub(pos);
    if rest >= 4 + SIGNATURE_LEN {
        let sig_version = u16_at(bytes, pos, "signature version")?;
        let min_client = u16_at(bytes, pos + 2, "signature minimum client version")?;
        let sig = take(bytes, pos + 4, SIGNATURE_LEN, "signature")?;
        job.signature = Some(JobSignature {
            signature_version: sig_version,
            min_client_version: min_client,
            signature_hex: sig.iter().map(|b| format!("{b:02x}")).collect(),
        });
        pos += 4 + SIGNATURE_LEN;
    }
    let trailing = bytes.len().saturating_sub(pos);
    if trailing > 0 {
        warnings.push(format!(
            "{trailing} unexpected trailing bytes after the last section"
        ));
    }
    Ok(())
}
