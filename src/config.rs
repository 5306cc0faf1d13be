//! The validated configuration of a run: `commands/collect.rs` converts the command line
//! into this once, and everything after works from it. Every refusal happens in that
//! conversion, before anything is collected.

use crate::archive::{Recipients, SigningKey};
use crate::detect::Engine;
use crate::ids::OsFamily;
use crate::profile::Profile;
use crate::record::Timestamp;
use crate::units::parse_duration;
use std::path::PathBuf;
use std::time::Duration;

pub struct SigmaRules {
    pub dir: PathBuf,
    pub set: crate::sigma::RuleSet,
    pub report: crate::sigma::LoadReport,
}

pub struct CollectConfig {
    /// The output directory did not exist and the conversion created it: a run interrupted
    /// before its archive exists removes it again, so it leaves nothing behind.
    pub created_output_dir: bool,
    /// The built-in rules and the `--rules` files, compiled once.
    pub engine: Engine,
    pub output_dir: PathBuf,
    pub case_id: Option<String>,
    pub examiner: Option<String>,
    pub notes: Option<String>,
    pub root: Option<PathBuf>,
    pub root_os: Option<OsFamily>,
    pub profile: Profile,
    pub since: Option<Timestamp>,
    pub deadline: Option<Duration>,
    /// `--sigma`: the rules under the directory, loaded once, with what loaded and what not.
    pub sigma: Option<SigmaRules>,
    pub low_impact: bool,
    pub quiet: bool,
    pub json: bool,
    /// `--encrypt-to`: empty for a plain archive.
    pub encrypt_to: Recipients,
    /// `--sign`: the SSH key that signs the manifest and the archive.
    pub sign: Option<SigningKey>,
    pub command_line: Vec<String>,
}

/// The manifest records the command line; a secret key has no business in it (collect takes
/// none, but one pasted into `--notes` or a wrong flag must still not be archived).
pub fn redact_secrets(command_line: Vec<String>) -> Vec<String> {
    command_line
        .into_iter()
        .map(|a| {
            if a.to_ascii_uppercase().contains("AGE-SECRET-KEY-") {
                "[redacted: age secret key]".to_string()
            } else {
                a
            }
        })
        .collect()
}

/// A duration back from `now`, or an absolute date (RFC 3339, or `YYYY-MM-DD` as UTC midnight).
pub fn parse_since(s: &str, now: Timestamp) -> Result<Timestamp, String> {
    // The start of today or yesterday, in UTC like every time irsnap records.
    let midnight = now.date_naive().and_time(chrono::NaiveTime::MIN).and_utc();
    match s.trim().to_ascii_lowercase().as_str() {
        "today" => return Ok(midnight),
        "yesterday" => return Ok(midnight - chrono::Duration::days(1)),
        _ => {}
    }
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s.trim()) {
        return Ok(t.with_timezone(&chrono::Utc));
    }
    if let Ok(d) = chrono::NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d") {
        return Ok(d.and_time(chrono::NaiveTime::MIN).and_utc());
    }
    // `-7d` reads as "seven days back", as it does in `find -mtime -7`.
    let back = s.trim().strip_prefix('-').unwrap_or(s.trim());
    let d = parse_duration(back)
        .map_err(|e| format!("{e}; or give a date like 2026-11-01, `today` or `yesterday`"))?;
    let d = chrono::Duration::from_std(d).map_err(|e| e.to_string())?;
    now.checked_sub_signed(d)
        .ok_or_else(|| format!("--since {s:?} reaches before any representable date"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_forms() {
        let now = chrono::DateTime::parse_from_rfc3339("2026-11-23T00:00:00Z")
            .unwrap()
            .with_timezone(&chrono::Utc);
        assert_eq!(
            parse_since("1d", now).unwrap().to_rfc3339(),
            "2026-11-22T00:00:00+00:00"
        );
        assert_eq!(
            parse_since("2026-11-01", now).unwrap().to_rfc3339(),
            "2026-11-01T00:00:00+00:00"
        );
        assert_eq!(
            parse_since("yesterday", now).unwrap().to_rfc3339(),
            "2026-11-22T00:00:00+00:00"
        );
        assert_eq!(parse_since("-1d", now), parse_since("1d", now));
        assert!(parse_since("fortnight", now).is_err());
        assert!(parse_since("--1d", now).is_err());
    }

    #[test]
    fn secrets_never_reach_the_recorded_command_line() {
        let cl = redact_secrets(vec![
            "irsnap".into(),
            "--notes".into(),
            "key AGE-SECRET-KEY-1QQQ".into(),
        ]);
        assert_eq!(cl[2], "[redacted: age secret key]");
        assert_eq!(cl[1], "--notes");
    }
}
