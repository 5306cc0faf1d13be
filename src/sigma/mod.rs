//! Sigma rule support: load SigmaHQ-format rules from a directory and match them against
//! irsnap's events (`--sigma DIR`).
//!
//! - [`load_files`] / [`load_rule`] parse rule files into a [`RuleSet`] and a [`LoadReport`]
//!   that accounts for every file: loaded, unsupported (with the rule's id/title and the
//!   reason: an unknown modifier, an aggregation, a log source or event ids irsnap does not
//!   collect, ...) or not a valid rule (file + reason). Nothing is dropped silently.
//! - [`SigmaEvent`] is what a rule is evaluated on: a log source and fields by Sigma name.
//!   It is implemented for [`ExecEvent`](crate::parsers::exec_events::ExecEvent) (Sysmon,
//!   Security, Task Scheduler), [`PsEvent`](crate::parsers::powershell::PsEvent) and
//!   [`ScriptBlock`](crate::parsers::powershell::ScriptBlock) (PowerShell), and
//!   [`ProcessEvent`] (process snapshot records).
//! - [`RuleSet::evaluate`] returns a [`SigmaFinding`] per matching rule, carrying the rule's id,
//!   title, author, level, status, ATT&CK tags, the caller's evidence reference and the values
//!   that matched.
//!
//! The evaluator is irsnap's own (not the `sigma-rust` crate) so it can match any record
//! through a field-lookup trait without building a JSON document per event, report the matched
//! values, and refuse per rule what it cannot evaluate. Rules are read at run time from the
//! analyst's directory and never embedded: SigmaHQ rules are under the Detection Rule License
//! 1.1, which asks that the rule's author and id travel with its output (they do, in every
//! finding).
//!
//! References: Sigma specification v2 (rules, modifiers, conditions, taxonomy),
//! <https://github.com/SigmaHQ/sigma-specification>; pySigma's modifier semantics.

mod condition;
mod eval;
mod event;
mod matcher;
mod process;
mod rule;
mod transform;

use serde::{Deserialize, Serialize};

pub use eval::MatchedField;
pub use event::{LogSourceView, PRODUCED_SOURCES, ProducedSource, SigmaEvent};
pub use process::ProcessEvent;
pub use rule::{LogSource, MAX_RULE_BYTES, Rule, RuleMeta, RuleProblem, parse_rule};

use condition::Expr;
use matcher::Test;
use rule::Item;

/// A rule irsnap parsed but cannot evaluate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnsupportedRule {
    pub path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub title: String,
    pub reason: String,
}

/// A file that is not a valid Sigma rule (or could not be read).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleFileError {
    pub path: String,
    pub reason: String,
}

/// What loading a rule directory did with every file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoadReport {
    /// `.yml`/`.yaml` files seen.
    pub files: usize,
    pub loaded: usize,
    pub unsupported: Vec<UnsupportedRule>,
    pub errors: Vec<RuleFileError>,
    /// Loaded rules that share an id with an earlier one (both are kept).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub duplicate_ids: Vec<String>,
}

/// Rules ready to evaluate.
#[derive(Debug, Clone, Default)]
pub struct RuleSet {
    pub rules: Vec<Rule>,
}

/// Why a rule is not usable in irsnap even though it parsed, or `None` when it is.
fn applicability(rule: &Rule) -> Option<String> {
    let ls = &rule.meta.logsource;
    let sources: Vec<&ProducedSource> = PRODUCED_SOURCES
        .iter()
        .filter(|p| logsource_matches(ls, &p.view))
        .collect();
    if sources.is_empty() {
        return Some(format!(
            "log source {} is not one irsnap collects",
            describe_logsource(ls)
        ));
    }
    let produced: Vec<u32> = sources
        .iter()
        .flat_map(|p| p.event_ids.iter().copied())
        .collect();
    let mut wanted = Vec::new();
    let impossible: Vec<bool> = rule
        .items
        .iter()
        .map(|i| item_impossible(i, &produced, &mut wanted))
        .collect();
    if possible(&rule.condition, &impossible) == Some(false) {
        wanted.sort_unstable();
        wanted.dedup();
        let ids: Vec<String> = wanted.iter().map(u32::to_string).collect();
        return Some(format!(
            "needs EventID {} which irsnap does not collect for log source {}",
            ids.join("/"),
            describe_logsource(ls)
        ));
    }
    None
}

fn describe_logsource(ls: &LogSource) -> String {
    let parts: Vec<String> = [
        ("category", &ls.category),
        ("product", &ls.product),
        ("service", &ls.service),
    ]
    .iter()
    .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}={v}")))
    .collect();
    if parts.is_empty() {
        "(empty)".to_string()
    } else {
        parts.join(",")
    }
}

fn logsource_matches(rule: &LogSource, view: &LogSourceView) -> bool {
    let eq = |want: &Option<String>, have: Option<&str>| match want {
        None => true,
        Some(w) => have.is_some_and(|h| h.eq_ignore_ascii_case(w)),
    };
    // `registry_event` is Sigma's umbrella for registry_add/delete/set/rename (Sysmon 12-14).
    let category = match (&rule.category, view.category) {
        (Some(w), Some(h)) if w.eq_ignore_ascii_case("registry_event") => {
            h.starts_with("registry_")
        }
        _ => eq(&rule.category, view.category),
    };
    category && eq(&rule.product, Some(view.product)) && eq(&rule.service, view.service)
}

/// An item that requires an EventID none of the matching log sources produce can never hold.
fn item_impossible(item: &Item, produced: &[u32], wanted: &mut Vec<u32>) -> bool {
    match item {
        Item::All(conds) => conds.iter().any(|c| {
            if !c.field.eq_ignore_ascii_case("eventid") || c.mods.all || c.mods.exists {
                return false;
            }
            let mut ids = Vec::new();
            for g in &c.groups {
                for t in g {
                    match t.exact_number() {
                        Some(n) => ids.push(n),
                        None => return false,
                    }
                }
            }
            let none_produced = !ids.iter().any(|n| produced.contains(n));
            if none_produced {
                wanted.extend(ids);
            }
            none_produced
        }),
        Item::Any(alts) => {
            let mut w = Vec::new();
            let all = alts.iter().all(|a| item_impossible(a, produced, &mut w));
            if all {
                wanted.extend(w);
            }
            all
        }
        Item::Keywords { .. } => false,
    }
}

/// Three-valued evaluation: `Some(false)` when the condition can never hold.
fn possible(e: &Expr, impossible: &[bool]) -> Option<bool> {
    let item = |i: &usize| {
        if impossible.get(*i).copied().unwrap_or(false) {
            Some(false)
        } else {
            None
        }
    };
    let and = |vals: Vec<Option<bool>>| {
        if vals.contains(&Some(false)) {
            Some(false)
        } else if vals.iter().all(|v| *v == Some(true)) {
            Some(true)
        } else {
            None
        }
    };
    let or = |vals: Vec<Option<bool>>| {
        if vals.contains(&Some(true)) {
            Some(true)
        } else if vals.iter().all(|v| *v == Some(false)) {
            Some(false)
        } else {
            None
        }
    };
    match e {
        Expr::Item(i) => item(i),
        Expr::Not(x) => possible(x, impossible).map(|b| !b),
        Expr::And(xs) => and(xs.iter().map(|x| possible(x, impossible)).collect()),
        Expr::Or(xs) => or(xs.iter().map(|x| possible(x, impossible)).collect()),
        Expr::AllOf(is) => and(is.iter().map(item).collect()),
        Expr::AnyOf(is) => or(is.iter().map(item).collect()),
    }
}

impl Test {
    /// The number an exact `EventID: 4688` test asks for.
    fn exact_number(&self) -> Option<u32> {
        match self {
            Test::Str(s) => s.exact_text()?.trim().parse().ok(),
            _ => None,
        }
    }
}

/// Parse one rule file's text and check irsnap can evaluate it.
pub fn load_rule(text: &str, origin: &str) -> Result<Rule, RuleProblem> {
    let rule = parse_rule(text, origin)?;
    if let Some(reason) = applicability(&rule) {
        return Err(RuleProblem::Unsupported {
            meta: Box::new(rule.meta),
            reason,
        });
    }
    Ok(rule)
}

/// One rule file as the command layer read it (rules are the analyst's input, not evidence:
/// `commands::sigma_rule_files` walks the directory): its path, and its text or why it
/// could not be read.
#[derive(Debug, Clone)]
pub struct RuleFile {
    pub path: String,
    pub text: Result<String, String>,
}

/// Parse rule files into a set, with the report of what loaded, what irsnap cannot evaluate
/// and why, and what was invalid.
pub fn load_files(files: impl IntoIterator<Item = RuleFile>) -> (RuleSet, LoadReport) {
    let mut set = RuleSet::default();
    let mut report = LoadReport::default();
    for f in files {
        report.files += 1;
        match f.text {
            Ok(text) => set.add(load_rule(&text, &f.path), &f.path, &mut report),
            Err(reason) => report.errors.push(RuleFileError {
                path: f.path,
                reason,
            }),
        }
    }
    (set, report)
}

/// ATT&CK references from a rule's tags.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttackTags {
    /// `T1059.001` from `attack.t1059.001`.
    pub techniques: Vec<String>,
    /// Tactic short names (`execution`, `persistence`, `defense-evasion`, ...).
    pub tactics: Vec<String>,
    /// Other `attack.*` references: groups (`G0016`), software (`S0002`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub other: Vec<String>,
}

pub fn attack_tags(tags: &[String]) -> AttackTags {
    let mut out = AttackTags::default();
    for t in tags {
        let t = t.trim().to_ascii_lowercase();
        let Some(rest) = t.strip_prefix("attack.") else {
            continue;
        };
        let mut chars = rest.chars();
        let first = chars.next();
        let is_id = matches!(first, Some('t' | 'g' | 's' | 'm'))
            && chars.next().is_some_and(|c| c.is_ascii_digit());
        if is_id && rest.starts_with('t') {
            out.techniques.push(rest.to_ascii_uppercase());
        } else if is_id {
            out.other.push(rest.to_ascii_uppercase());
        } else {
            out.tactics.push(rest.replace('_', "-"));
        }
    }
    out
}

/// A Sigma rule matching one event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SigmaFinding<E> {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule_id: Option<String>,
    pub title: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub level: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    pub tags: Vec<String>,
    pub attack: AttackTags,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub references: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub falsepositives: Vec<String>,
    /// The rule file it came from.
    pub rule_path: String,
    /// The caller's reference to the event (archive member + line, record id, ...).
    pub evidence: E,
    pub matched: Vec<MatchedField>,
}

impl RuleSet {
    fn add(&mut self, r: Result<Rule, RuleProblem>, path: &str, report: &mut LoadReport) {
        match r {
            Ok(rule) => {
                if let Some(id) = &rule.meta.id
                    && self.rules.iter().any(|r| r.meta.id.as_ref() == Some(id))
                {
                    report.duplicate_ids.push(id.clone());
                }
                report.loaded += 1;
                self.rules.push(rule);
            }
            Err(RuleProblem::Unsupported { meta, reason }) => {
                report.unsupported.push(UnsupportedRule {
                    path: path.to_string(),
                    id: meta.id,
                    title: meta.title,
                    reason,
                });
            }
            Err(RuleProblem::Invalid(reason)) => report.errors.push(RuleFileError {
                path: path.to_string(),
                reason,
            }),
        }
    }

    /// Load one rule's text into the set, accounting for it in `report`.
    pub fn add_text(&mut self, text: &str, origin: &str, report: &mut LoadReport) {
        report.files += 1;
        self.add(load_rule(text, origin), origin, report);
    }

    pub fn len(&self) -> usize {
        self.rules.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// Every rule matching `event`, with `evidence` attached to each finding.
    pub fn evaluate<E: Clone>(&self, event: &dyn SigmaEvent, evidence: &E) -> Vec<SigmaFinding<E>> {
        let view = event.logsource();
        let ctx = eval::Ctx::new(event);
        let mut out = Vec::new();
        for rule in &self.rules {
            if !logsource_matches(&rule.meta.logsource, &view) {
                continue;
            }
            if let Some(matched) = eval::evaluate(rule, &ctx) {
                out.push(finding(rule, evidence.clone(), matched));
            }
        }
        out
    }

    /// Just the matching rules (ids/titles), for callers that build their own findings.
    pub fn matching_rules(&self, event: &dyn SigmaEvent) -> Vec<&Rule> {
        let view = event.logsource();
        let ctx = eval::Ctx::new(event);
        self.rules
            .iter()
            .filter(|r| logsource_matches(&r.meta.logsource, &view))
            .filter(|r| eval::evaluate(r, &ctx).is_some())
            .collect()
    }
}

fn finding<E>(rule: &Rule, evidence: E, matched: Vec<MatchedField>) -> SigmaFinding<E> {
    let m = &rule.meta;
    SigmaFinding {
        rule_id: m.id.clone(),
        title: m.title.clone(),
        author: m.author.clone(),
        level: m.level.clone(),
        status: m.status.clone(),
        description: m.description.clone(),
        tags: m.tags.clone(),
        attack: attack_tags(&m.tags),
        references: m.references.clone(),
        falsepositives: m.falsepositives.clone(),
        rule_path: rule.origin.clone(),
        evidence,
        matched,
    }
}

#[cfg(test)]
mod tests;
