//! Format parsers. Each takes bytes or a `Read + Seek`, never a host path, and turns hostile
//! input into errors or warnings, never panics. Collectors feed them what the source read.

pub mod auditd;
pub mod capped;
pub mod cron;
pub mod evtx_read;
pub mod exec_events;
pub mod journal;
pub mod os_release;
pub mod passwd;
pub mod powershell;
pub mod shell_history;
pub mod syslog;
pub mod systemd_unit;
pub mod task_job;
pub mod task_xml;

#[cfg(test)]
mod multibyte_tests;
