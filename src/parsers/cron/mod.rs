//! cron, anacron and at(1) job parsers (MITRE ATT&CK T1053.003 Cron, T1053.002 At).
//!
//! Artifacts (Linux / other Unix):
//! - system crontabs with a user field: `/etc/crontab`, `/etc/cron.d/*`;
//! - per-user crontabs without a user field: `/var/spool/cron/crontabs/<user>` (Debian/Ubuntu),
//!   `/var/spool/cron/<user>` (RHEL/cronie), `/var/cron/tabs/<user>` (BSD, macOS `/usr/lib/cron/tabs`);
//! - `/etc/anacrontab` (anacron periodic jobs);
//! - at(1) job files `/var/spool/cron/atjobs/*` (Debian) and `/var/spool/at/*` (RHEL), whose file name
//!   encodes queue, job number and run time.
//!
//! What we record: every job line with its line number, the raw text (lossy UTF-8, flagged when lossy),
//! the schedule fields as written, the user (system crontabs), the command split per cron's `%` rules
//! into command and stdin, and the environment assignments in effect for that job. Environment lines
//! are kept as their own items too. Malformed lines become warnings and parsing continues, because an
//! attacker-edited crontab is exactly the file we must not give up on.
//!
//! References: crontab(5) (Debian cron 3.0pl1 / Vixie cron, cronie), anacrontab(5), at(1) and the
//! job-file layout written by at 3.2 `at.c` (`writefile`), read back by `atd.c` (`run_file`).

mod anacron;
mod at;
mod crontab;
mod env;
mod lines;
#[cfg(test)]
#[allow(clippy::disallowed_methods)]
mod tests;

pub use anacron::{AnacronJob, AnacronPeriod, AnacrontabParse, parse_anacrontab};
pub use at::{AtJob, AtWarning, parse_at_filename, parse_at_job};
pub use crontab::{
    CronEntry, CronSchedule, CronSpecial, CronWarning, CrontabKind, CrontabParse, parse_crontab,
    parse_crontab_each,
};
pub use env::{EnvAssignment, EnvVar};

use crate::parsers::capped::{is_false, is_zero};

/// Cap on stored warnings: a garbage file must not produce a warning list larger than useful.
const MAX_WARNINGS: usize = 1000;

/// Longest excerpt of an offending line kept in a warning.
const WARN_TEXT_MAX: usize = 200;

/// Warning list with a cap.
type Warns = crate::parsers::capped::Capped<CronWarning>;

fn excerpt(s: &str) -> String {
    crate::parsers::capped::excerpt(s, WARN_TEXT_MAX)
}
