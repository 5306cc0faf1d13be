//! `NAME=value` lines: how cron and anacron recognise and unquote them, and the environment each job sees.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use super::lines::is_blank;
use super::{CronWarning, Warns, is_false};

/// Budget (bytes) for copying the effective environment into every entry. A hostile file with a huge
/// environment and many jobs would otherwise grow quadratically.
const ENV_SNAPSHOT_BUDGET: usize = 16 * 1024 * 1024;

/// A `NAME=value` pair (already unquoted).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
// Two parsers have an `EnvVar`: distinct schema names instead of schemars' `EnvVar2`.
#[schemars(rename = "CronEnvVar")]
pub struct EnvVar {
    pub name: String,
    pub value: String,
}

/// An environment line of a crontab or anacrontab.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub struct EnvAssignment {
    pub line_number: usize,
    pub name: String,
    pub value: String,
    pub raw: String,
    #[serde(default, skip_serializing_if = "is_false")]
    pub lossy_utf8: bool,
}

/// How environment values are unquoted.
#[derive(Clone, Copy, PartialEq)]
pub(super) enum EnvStyle {
    /// cron: blanks around `=` ignored, value trimmed, matching surrounding quotes removed.
    Cron,
    /// anacron: blanks around the name ignored, the value is kept verbatim.
    Anacron,
}

pub(super) enum EnvParse {
    NotEnv,
    Env(String, String),
    Unterminated,
}

/// Recognises a `NAME = value` line the way cron's `load_env` does: a name (optionally quoted) ending at
/// `=` or a blank, optional blanks, then `=`. Anything else is a job line.
pub(super) fn parse_env_line(s: &str, style: EnvStyle) -> EnvParse {
    let s = s.trim_start_matches(is_blank);
    let mut chars = s.char_indices();
    let (name, after_name): (String, &str) = match s.chars().next() {
        Some(q @ ('"' | '\'')) if style == EnvStyle::Cron => {
            let body = s.get(1..).unwrap_or("");
            match body.find(q) {
                Some(end) => (
                    body.get(..end).unwrap_or("").to_string(),
                    body.get(end + 1..).unwrap_or(""),
                ),
                None => return EnvParse::NotEnv,
            }
        }
        _ => {
            let end = chars
                .find(|&(_, c)| c == '=' || is_blank(c))
                .map(|(i, _)| i)
                .unwrap_or(s.len());
            (
                s.get(..end).unwrap_or("").to_string(),
                s.get(end..).unwrap_or(""),
            )
        }
    };
    if name.is_empty() {
        return EnvParse::NotEnv;
    }
    let after = after_name.trim_start_matches(is_blank);
    let Some(value) = after.strip_prefix('=') else {
        return EnvParse::NotEnv;
    };
    match style {
        EnvStyle::Anacron => EnvParse::Env(name, value.to_string()),
        EnvStyle::Cron => {
            let v = value.trim_matches(is_blank);
            let mut cs = v.chars();
            match cs.next() {
                Some(q @ ('"' | '\'')) => {
                    if v.len() >= 2 && v.ends_with(q) {
                        EnvParse::Env(name, v.get(1..v.len() - 1).unwrap_or("").to_string())
                    } else {
                        EnvParse::Unterminated
                    }
                }
                _ => EnvParse::Env(name, v.to_string()),
            }
        }
    }
}

/// Effective environment tracker with a memory budget for per-entry snapshots.
///
/// Lookups go through `index` and the snapshot cost is kept as a running total: a hostile
/// crontab of 200k distinct `NAME=value` lines made the former linear search (and the per-job
/// re-summing of every variable) quadratic, which hung the parser for minutes on a 2.5 MB file
/// (tests/hostile.rs `cron_distinct_env_vars_are_linear`).
pub(super) struct EnvState {
    vars: Vec<EnvVar>,
    /// Name → position in `vars`.
    index: HashMap<String, usize>,
    /// What one snapshot of `vars` costs against the budget.
    cost: usize,
    spent: usize,
    exhausted: bool,
}

fn env_cost(name: &str, value: &str) -> usize {
    name.len() + value.len() + 16
}

impl EnvState {
    pub(super) fn new() -> Self {
        EnvState {
            vars: Vec::new(),
            index: HashMap::new(),
            cost: 0,
            spent: 0,
            exhausted: false,
        }
    }
    pub(super) fn set(&mut self, name: &str, value: &str) {
        match self.index.get(name).and_then(|&i| self.vars.get_mut(i)) {
            Some(v) => {
                self.cost =
                    self.cost.saturating_sub(env_cost(&v.name, &v.value)) + env_cost(name, value);
                v.value = value.to_string();
            }
            None => {
                self.index.insert(name.to_string(), self.vars.len());
                self.cost += env_cost(name, value);
                self.vars.push(EnvVar {
                    name: name.to_string(),
                    value: value.to_string(),
                });
            }
        }
    }
    /// Returns (snapshot, truncated).
    pub(super) fn snapshot(&mut self, line: usize, warns: &mut Warns) -> (Vec<EnvVar>, bool) {
        if self.exhausted || self.spent.saturating_add(self.cost) > ENV_SNAPSHOT_BUDGET {
            if !self.exhausted {
                self.exhausted = true;
                warns.push(CronWarning::EnvironmentBudgetExceeded { line });
            }
            return (Vec::new(), !self.vars.is_empty());
        }
        self.spent += self.cost;
        (self.vars.clone(), false)
    }
}
