//! The rule engine: observations in, findings out.
//!
//! One pass: enrich observations with what only the whole set knows (ancestry from the process
//! snapshot or Sysmon ProcessGuids), derive decoded observations (`-EncodedCommand` payloads,
//! `FromBase64String` literals: evaluated as script text so every script rule sees them), run
//! every rule on every observation of the kinds it applies to, add the joins of
//! [`super::correlate`], then merge identical findings (the same command logged by 400, 403,
//! 600 and 800 is one finding with four pieces of evidence) and sort by severity.

use std::collections::HashMap;

use super::correlate;
use super::decode;
use super::eval::{Ctx, eval};
pub use super::finding::{DecodedPayload, Finding, Findings, MatchedValue};
use super::finding::{MAX_FINDING_DECODED, MAX_MATCHES};
use super::observation::{Derivation, Observation, ObservationKind};
use super::rules::{Rule, RuleError};
use crate::record::Timestamp;

/// Payload literals decoded per script.
const MAX_LITERALS: usize = 8;

/// The engine: a rule set plus the reference time for "recent".
pub struct Engine {
    rules: Vec<Rule>,
    now: Option<Timestamp>,
    recent: chrono::Duration,
}

impl Engine {
    pub fn new(rules: Vec<Rule>) -> Self {
        Engine {
            rules,
            now: None,
            recent: chrono::Duration::days(7),
        }
    }

    /// The built-in rules only.
    pub fn builtin() -> Result<Self, RuleError> {
        Ok(Engine::new(super::rules::builtin_rules()?))
    }

    /// Built-in rules plus extra rule files (`--rules`): `(origin, text)` each.
    pub fn with_extra_rules(extra: &[(String, String)]) -> Result<Self, RuleError> {
        let mut rules = super::rules::builtin_rules()?;
        for (origin, text) in extra {
            rules.extend(super::rules::load_rules(text, origin)?);
        }
        super::rules::check_unique(&rules)?;
        Ok(Engine::new(rules))
    }

    /// The collection time: "registered recently" is measured back from it.
    pub fn now(mut self, t: Timestamp) -> Self {
        self.now = Some(t);
        self
    }

    /// How far back "recently" reaches (default 7 days).
    pub fn recent_window(mut self, d: chrono::Duration) -> Self {
        self.recent = d;
        self
    }

    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// Runs every rule and join over `observations`.
    pub fn run(&self, observations: &[Observation]) -> Findings {
        let mut obs = observations.to_vec();
        correlate::enrich(&mut obs);
        let derived = derive_decoded(&obs);
        // The first payload decoded from each original: findings on the original (the
        // encoded-command rule itself) show it next to the encoded text.
        let mut first_decoded: HashMap<usize, &Observation> = HashMap::new();
        for (d, p) in &derived {
            first_decoded.entry(*p).or_insert(d);
        }
        let now = self.now.unwrap_or_else(chrono::Utc::now);
        let mut findings = Findings::default();
        let mut index = HashMap::new();
        let originals = obs
            .iter()
            .enumerate()
            .map(|(i, o)| (o, None, first_decoded.get(&i).copied()));
        let decoded = derived.iter().map(|(d, p)| (d, Some(&obs[*p]), Some(d)));
        for (o, parent, payload) in originals.chain(decoded) {
            let ctx = Ctx::new(o, now, self.recent);
            for rule in self.rules.iter().filter(|r| r.applies_to(o.kind)) {
                if let Some(f) = evaluate(rule, &ctx, parent, payload) {
                    findings.push_merged(&mut index, f);
                }
            }
        }
        for f in correlate::correlate(&obs) {
            findings.push_merged(&mut index, f);
        }
        findings.sort();
        findings
    }
}

/// Decoded payloads as script observations, each with the index of its original. Nested
/// encodings are followed one more level.
fn derive_decoded(obs: &[Observation]) -> Vec<(Observation, usize)> {
    let mut out = Vec::new();
    for (i, o) in obs.iter().enumerate() {
        let mut payloads = Vec::new();
        if let Some(cmd) = &o.command_line {
            payloads.extend(decode::decode_command_line(o.image.as_deref(), cmd));
        }
        if let Some(script) = &o.script_text {
            payloads.extend(decode::decode_script_literals(script, MAX_LITERALS));
        }
        let mut level = 0;
        while !payloads.is_empty() && level < 2 {
            let mut next = Vec::new();
            for p in payloads {
                next.extend(decode::decode_command_line(None, &p.text));
                next.extend(decode::decode_script_literals(&p.text, MAX_LITERALS));
                let mut d = Observation::new(ObservationKind::ScriptBlock, o.evidence.clone());
                d.timestamp = o.timestamp;
                d.pid = o.pid;
                d.image = o.image.clone();
                d.image_name = o.image_name.clone();
                d.parent_image = o.parent_image.clone();
                d.ancestry = o.ancestry.clone();
                d.user = o.user.clone();
                d.task = o.task.clone();
                d.script_text = Some(p.text);
                d.derived = Some(Derivation {
                    method: p.method.to_string(),
                    original: p.original.chars().take(4096).collect(),
                });
                out.push((d, i));
            }
            payloads = next;
            level += 1;
        }
    }
    out
}

/// `parent`: the original when `ctx.obs` is a decoded payload; `payload`: the decoded
/// observation to show with the finding (itself, or the first payload of an original).
fn evaluate(
    rule: &Rule,
    ctx: &Ctx,
    parent: Option<&Observation>,
    payload: Option<&Observation>,
) -> Option<Finding> {
    let mut matched = Vec::new();
    if !eval(&rule.when, ctx, &mut matched) {
        return None;
    }
    if let Some(u) = &rule.unless
        && eval(u, ctx, &mut Vec::new())
    {
        return None;
    }
    matched.sort();
    matched.dedup();
    matched.truncate(MAX_MATCHES);
    let o = ctx.obs;
    let decoded = payload.and_then(|p| {
        let d = p.derived.as_ref()?;
        Some(DecodedPayload {
            method: d.method.clone(),
            original: d.original.clone(),
            decoded: p
                .script_text
                .as_deref()
                .unwrap_or("")
                .chars()
                .take(MAX_FINDING_DECODED)
                .collect(),
        })
    });
    Some(Finding {
        rule_id: rule.id.clone(),
        title: rule.title.clone(),
        description: rule.description.clone(),
        techniques: rule.techniques.clone(),
        tactic: rule.tactic,
        tactic_id: rule.tactic.id().to_string(),
        severity: rule.severity,
        observation_kind: parent.map_or(o.kind, |p| p.kind),
        summary: parent.unwrap_or(o).label(),
        evidence: vec![o.evidence.clone()],
        occurrences: 1,
        matched,
        decoded,
        rule_origin: rule.origin.clone(),
    })
}
