//! Windows Task Scheduler task definitions (Task Scheduler 1.2+ XML, "Task Scheduler Schema").
//!
//! Where it lives: one file per registered task under `C:\Windows\System32\Tasks\` (any folder
//! depth, no file extension; the folder path mirrors the task's URI). Older systems also mirror
//! them in `C:\Windows\Tasks\` as `.job` files (see `task_job`). On Linux/macOS the artifact only
//! exists inside an "offline root" copied from a Windows host.
//!
//! Attackers use scheduled tasks for execution and persistence (ATT&CK T1053.005); for triage we
//! record what the task runs (Exec command line, COM handler CLSID), as whom (principal, run
//! level), when (triggers), and the stealth-relevant settings (Hidden, enabled, battery/idle
//! conditions), plus how the file was encoded, since hand-crafted task files often have
//! unusual encodings.
//!
//! Encoding: Windows writes UTF-16 LE with BOM, but the Task Scheduler also accepts UTF-16 BE,
//! UTF-8 with or without BOM, and files whose `<?xml encoding=...?>` declaration lies (Atomic Red
//! Team ships a UTF-8+BOM file declaring UTF-16). We detect in this order: byte-order mark, then
//! the NUL-byte pattern of the first bytes, then the declaration, then UTF-8. The text is decoded
//! to a `String` first and handed to quick-xml as `&str`, so the declared encoding is never
//! honoured by the XML reader (a mismatch is recorded as a warning instead).
//!
//! Robustness choices:
//! - Elements are matched by local name (namespaces and prefixes are ignored).
//! - Text is trimmed of XML whitespace (space, tab, CR, LF) only.
//! - `<!DOCTYPE>` internal subsets are never processed: only the five predefined entities and
//!   character references are resolved; any other `&name;` reference is kept literally and a
//!   warning is recorded (so no external entity fetching and no "billion laughs").
//! - A truncated document is an error ([`TaskXmlError::Truncated`]) that still carries the
//!   partially parsed task, so a caller can report both "damaged file" and what it would run;
//!   other XML syntax errors behave the same way through [`TaskXmlError::Malformed`]'s `partial`.
//! - Dates in tasks are usually local wall-clock time without offset (e.g. `2022-03-10T15:59:03`).
//!   [`TaskTime`] keeps the raw text, the wall-clock value, and a UTC instant only when the text
//!   carries `Z` or an offset: we never guess the host's time zone.
//!
//! Reference: [MS-TSCH] "Task Scheduler Service Remoting Protocol", section 2.5 (XML schema), and
//! the Task Scheduler Schema documentation on learn.microsoft.com.

mod actions;
mod definition;
mod encoding;
mod error;
mod parser;
mod principal;
mod settings;
#[cfg(test)]
#[allow(clippy::disallowed_methods)]
mod tests;
mod time;
mod triggers;

pub use actions::{TaskAction, exec_command_line};
pub use definition::{RegistrationInfo, TaskDefinition};
pub use encoding::{DetectedEncoding, DetectionMethod, TextEncoding};
pub use error::TaskXmlError;
pub use principal::{LogonType, Principal, RunLevel};
pub use settings::{IdleSettings, MultipleInstancesPolicy, RestartOnFailure, TaskSettings};
pub use time::{TaskTime, parse_duration_secs};
pub use triggers::{CalendarSchedule, Repetition, ScheduleKind, Trigger, TriggerKind};

use encoding::detect_and_decode;
use parser::Parser;

/// Hostile documents could otherwise produce one warning per element.
const MAX_WARNINGS: usize = 256;

/// Real task files nest about 6 levels; deeper levels are tracked by a counter only.
const MAX_TRACKED_DEPTH: usize = 64;

fn is_xml_ws(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

/// Keeps warning text short when values are attacker-sized.
fn clip(s: &str) -> String {
    const MAX: usize = 120;
    if s.chars().count() <= MAX {
        s.to_string()
    } else {
        let mut out: String = s.chars().take(MAX).collect();
        out.push('…');
        out
    }
}

/// Parses a Task Scheduler XML task definition from the raw file bytes.
pub fn parse_task_xml(bytes: &[u8]) -> Result<TaskDefinition, TaskXmlError> {
    if bytes.is_empty() {
        return Err(TaskXmlError::Empty);
    }
    let mut pre_warnings = Vec::new();
    let (text, encoding) = detect_and_decode(bytes, &mut pre_warnings);
    let enc_kind = encoding.encoding.clone();
    if text.trim_matches(is_xml_ws).is_empty() {
        return Err(TaskXmlError::NoRootElement {
            encoding: enc_kind,
            detail: "document contains only whitespace".to_string(),
        });
    }

    let mut task = TaskDefinition::new(encoding);
    task.warnings = pre_warnings;
    Parser::new(task).run(&text, enc_kind)
}
