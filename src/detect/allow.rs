//! The known-benign list: `[[allow]]` entries that silence a rule's findings on activity known
//! to be normal (Windows Update's own use of a proxy-execution switch, say), as data beside the
//! rules (`rules/allowlist.toml`, and `[[allow]]` tables in `--rules` files).
//!
//! An entry names the rules it covers and regexes on the finding's who/what (image, parent
//! image, command line, user, host); every listed field must match. It judges the finding,
//! not the observation, so it applies alike to built-in rules, joins and Sigma. Silenced
//! findings are never dropped without a trace: they are counted per entry in the run's log and
//! the report.

use regex::{Regex, RegexBuilder};
use serde::Deserialize;

use super::finding::Finding;
use super::rules::{RuleError, line_of};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AllowFile {
    #[serde(default)]
    allow: Vec<toml::Spanned<AllowSpec>>,
    /// The rules of the same file (read by `load_rules`).
    #[serde(default)]
    #[allow(dead_code)]
    rule: Option<serde::de::IgnoredAny>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AllowSpec {
    id: String,
    /// Why this is benign, in one line: shown in the report next to the count.
    why: String,
    /// Rule ids it covers; `prefix*` covers every id starting with `prefix`.
    rules: Vec<String>,
    #[serde(default)]
    image: Vec<String>,
    #[serde(default)]
    parent_image: Vec<String>,
    #[serde(default)]
    command_line: Vec<String>,
    #[serde(default)]
    user: Vec<String>,
    #[serde(default)]
    host: Vec<String>,
}

/// One known-benign entry, compiled.
#[derive(Debug, Clone)]
pub struct Allow {
    pub id: String,
    pub why: String,
    pub rules: Vec<String>,
    image: Vec<Regex>,
    parent_image: Vec<Regex>,
    command_line: Vec<Regex>,
    user: Vec<Regex>,
    host: Vec<Regex>,
    pub origin: String,
    pub line: usize,
}

/// Each list: absent means "any"; present means one of its patterns matches the value (an
/// absent value never matches).
fn field_matches(patterns: &[Regex], value: Option<&str>) -> bool {
    patterns.is_empty() || value.is_some_and(|v| patterns.iter().any(|p| p.is_match(v)))
}

impl Allow {
    pub fn covers_rule(&self, rule_id: &str) -> bool {
        self.rules.iter().any(|r| match r.strip_suffix('*') {
            Some(prefix) => rule_id.starts_with(prefix),
            None => r == rule_id,
        })
    }

    /// The finding is one this entry knows to be benign.
    pub fn covers(&self, f: &Finding) -> bool {
        let c = &f.context;
        // A finding without a command line (a file, a task) is judged on its summary.
        let command = c.command_line.as_deref().or(Some(f.summary.as_str()));
        self.covers_rule(&f.rule_id)
            && field_matches(&self.image, c.image.as_deref())
            && field_matches(&self.parent_image, c.parent_image.as_deref())
            && field_matches(&self.command_line, command)
            && field_matches(&self.user, c.user.as_deref())
            && field_matches(&self.host, c.host.as_deref())
    }
}

/// Every `[[allow]]` entry of one rule file; `origin` names it in errors.
pub fn load_allows(text: &str, origin: &str) -> Result<Vec<Allow>, RuleError> {
    let err = |line: usize, reason: String| RuleError {
        origin: origin.to_string(),
        line,
        reason,
    };
    let file: AllowFile = toml::from_str(text).map_err(|e| {
        let line = e.span().map_or(0, |s| line_of(text, s.start));
        err(line, e.message().trim().to_string())
    })?;
    let mut out = Vec::new();
    for spanned in file.allow {
        let line = line_of(text, spanned.span().start);
        let s = spanned.into_inner();
        let ctx = |reason: String| err(line, format!("allow `{}`: {reason}", s.id));
        if s.id.trim().is_empty() || s.why.trim().is_empty() || s.why.contains('\n') {
            return Err(ctx("id and a one-line why are required".into()));
        }
        if s.rules.is_empty() || s.rules.iter().any(|r| r.is_empty() || r == "*") {
            return Err(ctx(
                "rules must name the rule ids (or id prefixes ending in *) it covers".into(),
            ));
        }
        // An entry with no condition would silence a rule everywhere: that is deleting the
        // rule, which should be done in the rule file, visibly.
        if [&s.image, &s.parent_image, &s.command_line, &s.user, &s.host]
            .iter()
            .all(|v| v.is_empty())
        {
            return Err(ctx(
                "name at least one of image, parent_image, command_line, user, host".into(),
            ));
        }
        let compile = |field: &str, v: &[String]| -> Result<Vec<Regex>, RuleError> {
            v.iter()
                .map(|p| {
                    RegexBuilder::new(p)
                        .case_insensitive(true)
                        .size_limit(1 << 20)
                        .build()
                        .map_err(|e| ctx(format!("{field}: bad regex {p:?}: {e}")))
                })
                .collect()
        };
        out.push(Allow {
            image: compile("image", &s.image)?,
            parent_image: compile("parent_image", &s.parent_image)?,
            command_line: compile("command_line", &s.command_line)?,
            user: compile("user", &s.user)?,
            host: compile("host", &s.host)?,
            id: s.id,
            why: s.why,
            rules: s.rules,
            origin: origin.to_string(),
            line,
        });
    }
    Ok(out)
}
