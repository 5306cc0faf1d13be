//! The validated configuration of a run: the command line is parsed once into this, and
//! everything after works from it. Every refusal happens here, before anything is collected.

use crate::archive::Recipients;
use crate::cli::CollectArgs;
use crate::profile::Profile;
use crate::record::Timestamp;
use crate::source::OsFamily;
use anyhow::{Context, bail};
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug)]
pub struct CollectConfig {
    pub output_dir: PathBuf,
    pub case_id: Option<String>,
    pub examiner: Option<String>,
    pub notes: Option<String>,
    pub root: Option<PathBuf>,
    pub root_os: Option<OsFamily>,
    pub profile: Profile,
    pub since: Option<Timestamp>,
    pub deadline: Option<Duration>,
    /// Extra rule files: (origin, text), already checked to load.
    pub extra_rules: Vec<(String, String)>,
    pub sigma_dir: Option<PathBuf>,
    pub low_impact: bool,
    pub quiet: bool,
    pub json: bool,
    /// `--encrypt-to`: empty for a plain archive.
    pub encrypt_to: Recipients,
    pub command_line: Vec<String>,
}

/// The manifest records the command line; a secret key has no business in it (collect takes
/// none, but one pasted into `--notes` or a wrong flag must still not be archived).
fn redact_secrets(command_line: Vec<String>) -> Vec<String> {
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

/// `30d`, `12h`, `90m`, `45s`, `1h30m`, `2w`.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let t = s.trim();
    if t.is_empty() {
        return Err("empty duration".into());
    }
    let mut total: u64 = 0;
    let mut num = String::new();
    for c in t.chars() {
        if c.is_ascii_digit() {
            num.push(c);
            continue;
        }
        let n: u64 = num
            .parse()
            .map_err(|_| format!("invalid duration {s:?}: expected e.g. 30d, 12h, 1h30m"))?;
        num.clear();
        let unit: u64 = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            'w' => 604_800,
            _ => {
                return Err(format!(
                    "invalid duration unit {c:?} in {s:?}: use s, m, h, d, w"
                ));
            }
        };
        total = total
            .checked_add(n.checked_mul(unit).ok_or("duration too large")?)
            .ok_or("duration too large")?;
    }
    if !num.is_empty() {
        return Err(format!(
            "invalid duration {s:?}: the number {num} has no unit (s, m, h, d, w)"
        ));
    }
    Ok(Duration::from_secs(total))
}

/// A duration back from `now`, or an absolute date (RFC 3339, or `YYYY-MM-DD` as UTC midnight).
pub fn parse_since(s: &str, now: Timestamp) -> Result<Timestamp, String> {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(s.trim()) {
        return Ok(t.with_timezone(&chrono::Utc));
    }
    if let Ok(d) = chrono::NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d") {
        return Ok(d.and_time(chrono::NaiveTime::MIN).and_utc());
    }
    let d = parse_duration(s).map_err(|e| format!("{e}; or give a date like 2026-11-01"))?;
    let d = chrono::Duration::from_std(d).map_err(|e| e.to_string())?;
    now.checked_sub_signed(d)
        .ok_or_else(|| format!("--since {s:?} reaches before any representable date"))
}

/// `canonicalize` on Windows returns verbatim paths (`\\?\C:\...`); shown to a responder and
/// written in the manifest, the plain `C:\...` form is the one they expect.
fn plain(p: PathBuf) -> PathBuf {
    let s = p.to_string_lossy();
    match s.strip_prefix(r"\\?\") {
        Some(rest) if rest.as_bytes().get(1) == Some(&b':') => PathBuf::from(rest),
        _ => p,
    }
}

impl CollectConfig {
    pub fn from_args(args: CollectArgs, command_line: Vec<String>) -> anyhow::Result<Self> {
        // First, before the output directory is created: a bad key leaves no trace.
        let encrypt_to = Recipients::parse(&args.encrypt_to)?;
        let profile = Profile::load(&args.profile)?;
        let since = args
            .since
            .as_deref()
            .map(|s| parse_since(s, chrono::Utc::now()))
            .transpose()
            .map_err(|e| anyhow::anyhow!("--since: {e}"))?;
        let deadline = args
            .deadline
            .as_deref()
            .map(parse_duration)
            .transpose()
            .map_err(|e| anyhow::anyhow!("--deadline: {e}"))?;
        std::fs::create_dir_all(&args.output)
            .with_context(|| format!("cannot create output directory {}", args.output.display()))?;
        let output_dir = std::fs::canonicalize(&args.output).with_context(|| {
            format!("cannot resolve output directory {}", args.output.display())
        })?;
        let root = match args.root {
            Some(r) => {
                let r = std::fs::canonicalize(&r)
                    .map(plain)
                    .with_context(|| format!("offline root {} is not accessible", r.display()))?;
                if output_dir.starts_with(&r) {
                    bail!(
                        "the output directory {} is inside the offline root {}: irsnap never \
                         writes into the evidence; choose another --output",
                        output_dir.display(),
                        r.display()
                    );
                }
                Some(r)
            }
            None => None,
        };
        let mut extra_rules = Vec::new();
        for p in &args.rules {
            let text = std::fs::read_to_string(p)
                .with_context(|| format!("cannot read rule file {}", p.display()))?;
            extra_rules.push((p.display().to_string(), text));
        }
        // Refused now, with file, line and reason, rather than after the collection.
        crate::detect::Engine::with_extra_rules(&extra_rules)?;
        if let Some(d) = &args.sigma
            && !d.is_dir()
        {
            bail!("--sigma {}: not a directory of Sigma rules", d.display());
        }
        Ok(CollectConfig {
            extra_rules,
            sigma_dir: args.sigma,
            output_dir,
            case_id: args.case,
            examiner: args.examiner,
            notes: args.notes,
            root,
            root_os: args.root_os,
            profile,
            since,
            deadline,
            low_impact: args.low_impact,
            quiet: args.quiet,
            json: args.json,
            encrypt_to,
            command_line: redact_secrets(command_line),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verbatim_prefix_is_dropped_only_before_a_drive() {
        assert_eq!(plain(PathBuf::from(r"\\?\C:\x")), PathBuf::from(r"C:\x"));
        assert_eq!(
            plain(PathBuf::from(r"\\?\UNC\srv\s")),
            PathBuf::from(r"\\?\UNC\srv\s")
        );
        assert_eq!(plain(PathBuf::from("/tmp")), PathBuf::from("/tmp"));
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30d").unwrap().as_secs(), 30 * 86_400);
        assert_eq!(parse_duration("1h30m").unwrap().as_secs(), 5400);
        assert!(parse_duration("10").is_err());
        assert!(parse_duration("5x").is_err());
        assert!(parse_duration("99999999999999999999w").is_err());
    }

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
        assert!(parse_since("yesterday", now).is_err());
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
