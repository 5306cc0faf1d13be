//! One integration-test binary: each module tests one area by running the real `irsnap`
//! binary and opening the archive it wrote. The integration tests drive a Unix host (`/bin/sh`,
//! `/proc`, FIFOs, tmpfs); Windows is smoke-tested under wine by scripts/wine-smoke.sh.
#![cfg(unix)]
// Tests build fixture trees and read what irsnap wrote: clippy.toml's file-system ban is for
// the library, not for them.
#![allow(clippy::disallowed_methods)]

mod atime;
mod budgets;
mod cli_messages;
mod context_events;
mod detect;
mod encryption;
mod execution_events;
mod export;
mod findings;
mod foundation;
mod harness;
mod hostile;
mod hunt;
mod linux_logs;
mod powershell_logs;
mod profiles;
mod report;
mod scheduled_tasks;
mod schema;
mod shell_history;
mod sigma;
mod signals;
mod signing;
mod spreadsheet;
mod stack;
mod stage_fuzz;
mod temp_scripts;
mod timeline;
