//! `/etc/anacrontab`: period, delay, job id and command per line.

use serde::{Deserialize, Serialize};

use super::env::{EnvParse, EnvState, EnvStyle, parse_env_line};
use super::lines::{ContentLine, content_lines, is_blank, next_token};
use super::{CronWarning, EnvAssignment, EnvVar, MAX_WARNINGS, Warns, excerpt, is_false, is_zero};

/// anacron period: days, or one of the `@` names. Serialized as one string (`7d`, `daily`,
/// `weekly`, `monthly`, `yearly`, or an unparseable period as written), the same type as a
/// run-parts script's `period`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AnacronPeriod {
    Days(u32),
    Daily,
    Weekly,
    Monthly,
    Yearly,
    /// Unparseable period, kept as written.
    Other(String),
}

impl AnacronPeriod {
    /// The value as it is serialized.
    pub fn as_text(&self) -> std::borrow::Cow<'_, str> {
        match self {
            AnacronPeriod::Days(n) => format!("{n}d").into(),
            AnacronPeriod::Daily => "daily".into(),
            AnacronPeriod::Weekly => "weekly".into(),
            AnacronPeriod::Monthly => "monthly".into(),
            AnacronPeriod::Yearly => "yearly".into(),
            AnacronPeriod::Other(s) => s.as_str().into(),
        }
    }
}

impl Serialize for AnacronPeriod {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.as_text())
    }
}

impl<'de> Deserialize<'de> for AnacronPeriod {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // Archives from before this was one string wrote `{"days": 7}` and `{"other": "x"}`.
        let v = serde_json::Value::deserialize(d)?;
        if let Some(n) = v.get("days").and_then(serde_json::Value::as_u64) {
            return Ok(AnacronPeriod::Days(u32::try_from(n).unwrap_or(u32::MAX)));
        }
        let s = crate::string_enum::wire_text(v)
            .ok_or_else(|| serde::de::Error::custom("not an anacron period"))?;
        let days = s
            .strip_suffix('d')
            .filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|n| n.parse().ok());
        Ok(match (days, s.as_str()) {
            (Some(n), _) => AnacronPeriod::Days(n),
            (None, "daily") => AnacronPeriod::Daily,
            (None, "weekly") => AnacronPeriod::Weekly,
            (None, "monthly") => AnacronPeriod::Monthly,
            (None, "yearly") => AnacronPeriod::Yearly,
            (None, _) => AnacronPeriod::Other(s),
        })
    }
}

impl schemars::JsonSchema for AnacronPeriod {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "AnacronPeriod".into()
    }
    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "description": "A number of days (`7d`), `daily`, `weekly`, `monthly`, `yearly`, \
                or an unparseable period as written.",
            "examples": ["1d", "7d", "daily", "monthly"]
        })
    }
}

/// One anacrontab job line: `period delay job-identifier command`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub struct AnacronJob {
    pub line_number: usize,
    pub raw: String,
    #[serde(default, skip_serializing_if = "is_false")]
    pub lossy_utf8: bool,
    pub period: AnacronPeriod,
    /// Delay in minutes; None when the field was not a number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delay_minutes: Option<u32>,
    pub job_identifier: String,
    pub command: String,
    pub environment: Vec<EnvVar>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub environment_truncated: bool,
}

/// Result of [`parse_anacrontab`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub struct AnacrontabParse {
    pub jobs: Vec<AnacronJob>,
    /// Every environment line (START_HOURS_RANGE, RANDOM_DELAY, SHELL, PATH, ...).
    pub environment: Vec<EnvAssignment>,
    pub warnings: Vec<CronWarning>,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub warnings_suppressed: usize,
    pub lossy_utf8: bool,
}

/// Parses `/etc/anacrontab` per anacrontab(5).
pub fn parse_anacrontab(text: &[u8]) -> AnacrontabParse {
    let mut warns = Warns::new(MAX_WARNINGS);
    let mut jobs = Vec::new();
    let mut environment = Vec::new();
    let mut env = EnvState::new();
    let mut any_lossy = false;

    for content in content_lines(text) {
        any_lossy |= content.note_damage(&mut warns);
        let ContentLine {
            ln, line, lossy, ..
        } = content;
        let trimmed = line.trim_start_matches(is_blank);
        // anacron tries the job pattern first (`period delay id command`); env lines are `NAME=value`.
        let toks = next_token(trimmed).and_then(|(p, r)| {
            next_token(r).and_then(|(d, r)| next_token(r).map(|(id, cmd)| (p, d, id, cmd)))
        });
        let job_like = toks
            .map(|(p, _, _, cmd)| !p.contains('=') && !cmd.trim_matches(is_blank).is_empty())
            .unwrap_or(false);
        if !job_like {
            if let EnvParse::Env(name, value) = parse_env_line(trimmed, EnvStyle::Anacron) {
                env.set(&name, &value);
                environment.push(EnvAssignment {
                    line_number: ln,
                    name,
                    value,
                    raw: line.clone(),
                    lossy_utf8: lossy,
                });
            } else {
                warns.push(CronWarning::InvalidLine {
                    line: ln,
                    reason: "neither a job (period delay id command) nor NAME=value".into(),
                    text: excerpt(&line),
                });
            }
            continue;
        }
        let Some((p, d, id, cmd)) = toks else {
            continue;
        };
        let period = match p {
            "@daily" => AnacronPeriod::Daily,
            "@weekly" => AnacronPeriod::Weekly,
            "@monthly" => AnacronPeriod::Monthly,
            "@yearly" | "@annually" => AnacronPeriod::Yearly,
            _ => match p.parse::<u32>() {
                Ok(n) if p.bytes().all(|b| b.is_ascii_digit()) => AnacronPeriod::Days(n),
                _ => {
                    warns.push(CronWarning::InvalidField {
                        line: ln,
                        field: "period".into(),
                        value: p.to_string(),
                        reason: "not a number of days or @daily/@weekly/@monthly/@yearly".into(),
                    });
                    AnacronPeriod::Other(p.to_string())
                }
            },
        };
        let delay_minutes = match d.parse::<u32>() {
            Ok(n) if d.bytes().all(|b| b.is_ascii_digit()) => Some(n),
            _ => {
                warns.push(CronWarning::InvalidField {
                    line: ln,
                    field: "delay".into(),
                    value: d.to_string(),
                    reason: "not a number of minutes".into(),
                });
                None
            }
        };
        if id.contains('/') {
            warns.push(CronWarning::InvalidField {
                line: ln,
                field: "job_identifier".into(),
                value: id.to_string(),
                reason: "contains a slash".into(),
            });
        }
        let (environment, environment_truncated) = env.snapshot(ln, &mut warns);
        jobs.push(AnacronJob {
            line_number: ln,
            raw: line.clone(),
            lossy_utf8: lossy,
            period,
            delay_minutes,
            job_identifier: id.to_string(),
            command: cmd.to_string(),
            environment,
            environment_truncated,
        });
    }
    AnacrontabParse {
        jobs,
        environment,
        warnings: warns.list,
        warnings_suppressed: warns.suppressed,
        lossy_utf8: any_lossy,
    }
}
