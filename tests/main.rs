//! One integration-test binary: each module tests one area by running the real `irsnap`
//! binary and opening the archive it wrote.

mod encryption;
mod execution_events;
mod foundation;
mod harness;
mod powershell_logs;
mod profiles;
mod report;
mod scheduled_tasks;
mod shell_history;
mod temp_scripts;
