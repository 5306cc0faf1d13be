//! Process snapshot records seen as Sigma `process_creation` events.
//!
//! A running process is the result of a process creation, so `process_creation` rules apply
//! to the live (or offline) process list: Image, CommandLine, ParentImage (from the recorded
//! ancestry), ParentCommandLine and ParentUser (from the parent's own record when it is still
//! running), User, CurrentDirectory, ProcessId, ParentProcessId, Hashes (SHA256 of the image).
//! OriginalFileName, IntegrityLevel and company/product metadata are not in the snapshot, so
//! rules that need them do not fire here (as they would not on a 4688 event either).
//! The product is `windows` or `linux` from the evidence's OS.

use std::borrow::Cow;
use std::collections::HashMap;

use super::event::{LogSourceView, SNAPSHOT_LINUX, SNAPSHOT_WINDOWS, SigmaEvent};
use crate::record::ProcessRecord;
use crate::source::OsFamily;

/// A process record with the context Sigma needs: the OS it ran on and its parent's record.
#[derive(Debug, Clone, Copy)]
pub struct ProcessEvent<'a> {
    pub record: &'a ProcessRecord,
    pub os: OsFamily,
    /// The parent's own record, when it was in the same snapshot (for ParentCommandLine).
    pub parent: Option<&'a ProcessRecord>,
}

impl<'a> ProcessEvent<'a> {
    pub fn new(record: &'a ProcessRecord, os: OsFamily) -> Self {
        ProcessEvent {
            record,
            os,
            parent: None,
        }
    }

    /// One event per record, each linked to its parent's record when the parent is in the
    /// snapshot. A parent whose start time is after the child's is a recycled PID, not the
    /// parent, and is not linked.
    pub fn from_snapshot(records: &'a [ProcessRecord], os: OsFamily) -> Vec<ProcessEvent<'a>> {
        let by_pid: HashMap<u32, &ProcessRecord> = records.iter().map(|r| (r.pid, r)).collect();
        records
            .iter()
            .map(|r| {
                let parent = r
                    .ppid
                    .filter(|pp| *pp != r.pid)
                    .and_then(|pp| by_pid.get(&pp).copied())
                    .filter(|p| match (p.start_time, r.start_time) {
                        (Some(ps), Some(cs)) => ps <= cs,
                        _ => true,
                    });
                ProcessEvent {
                    record: r,
                    os,
                    parent,
                }
            })
            .collect()
    }
}

fn image_of(r: &ProcessRecord) -> Option<Cow<'_, str>> {
    r.image_path
        .as_deref()
        .or(Some(r.name.as_str()).filter(|n| !n.is_empty()))
        .map(Cow::Borrowed)
}

impl SigmaEvent for ProcessEvent<'_> {
    fn logsource(&self) -> LogSourceView {
        match self.os {
            OsFamily::Windows => SNAPSHOT_WINDOWS.view,
            // Other Unix-likes share the Linux field layout (paths, argv).
            OsFamily::Linux | OsFamily::Other => SNAPSHOT_LINUX.view,
        }
    }

    fn field(&self, name: &str) -> Option<Cow<'_, str>> {
        let r = self.record;
        match name.to_ascii_lowercase().as_str() {
            "image" => image_of(r),
            "commandline" => Some(Cow::Borrowed(r.command_line.as_str())),
            "parentimage" => match r.ancestry.first() {
                Some(a) => a
                    .image_path
                    .as_deref()
                    .or(Some(a.name.as_str()).filter(|n| !n.is_empty()))
                    .map(Cow::Borrowed),
                None => self.parent.and_then(image_of),
            },
            "parentcommandline" => self.parent.map(|p| Cow::Borrowed(p.command_line.as_str())),
            "parentuser" => self
                .parent
                .and_then(|p| p.user.as_deref().map(Cow::Borrowed)),
            "user" => r.user.as_deref().map(Cow::Borrowed),
            "currentdirectory" => r.cwd.as_deref().map(Cow::Borrowed),
            "processid" => Some(Cow::Owned(r.pid.to_string())),
            "parentprocessid" => r.ppid.map(|p| Cow::Owned(p.to_string())),
            "hashes" => r
                .image_sha256
                .as_ref()
                .map(|h| Cow::Owned(format!("SHA256={}", h.to_hex().to_ascii_uppercase()))),
            "sha256" => r.image_sha256.as_ref().map(|h| Cow::Owned(h.to_hex())),
            _ => None,
        }
    }

    fn keywords(&self) -> Vec<Cow<'_, str>> {
        ["CommandLine", "Image", "ParentImage"]
            .iter()
            .filter_map(|n| self.field(n))
            .collect()
    }
}
