//! The rule engine: observations in, findings out, one at a time.
//!
//! A [`Detector`] takes the observations of a run as the records are written, in bounded
//! memory: each observation is enriched with what earlier ones know (ancestry from the process
//! snapshot or Sysmon ProcessGuids), decoded payloads are derived from it (`-EncodedCommand`,
//! `FromBase64String` literals: evaluated as script text so every script rule sees them), every
//! rule of its kind runs on it, the joins of [`super::correlate`] check it against compact
//! indexes (staged files, the process snapshot), and then it is dropped. Findings merge as they
//! come (the same command logged by 400, 403, 600 and 800 is one finding with four pieces of
//! evidence). The live process snapshot is the one set held whole: it is evaluated together,
//! since every process needs its parent, and it is bounded by the host's process count.
//! [`Engine::run`] is the same over a slice.

use super::correlate::{self, BurstIndex, GuidIndex, LogonIndex, ProcIndex, StagedIndex};
use super::decode;
use super::eval::{Ctx, eval};
pub use super::finding::{DecodedPayload, Finding, Findings, MatchedValue};
use super::finding::{FindingContext, FindingSet, MAX_FINDING_DECODED, MAX_FINDINGS, MAX_MATCHES};
use super::observation::{Derivation, Observation, ObservationKind};
use super::rules::{Condition, Rule, RuleError};
use crate::record::Timestamp;

/// Payload literals decoded per script.
const MAX_LITERALS: usize = 8;

/// The engine: a rule set plus the reference time for "recent".
pub struct Engine {
    rules: Vec<Rule>,
    now: Option<Timestamp>,
    recent: chrono::Duration,
    /// Every regex of every rule in one set: a value is scanned once for all of them, and
    /// only the patterns that can match run on it (most values match none).
    set: Option<regex::RegexSet>,
    /// The known-benign list: findings it covers are counted, not kept.
    allows: Vec<super::allow::Allow>,
}

/// Number every regex of `c` into `out` (its source, with the rule's case flag).
fn collect_patterns(c: &mut Condition, out: &mut Vec<String>) {
    match c {
        Condition::All(v) | Condition::Any(v) => {
            for c in v {
                collect_patterns(c, out);
            }
        }
        Condition::Not(c) => collect_patterns(c, out),
        Condition::Regex {
            patterns,
            case_insensitive,
            set_ids,
            ..
        } => {
            set_ids.clear();
            for re in patterns.iter() {
                set_ids.push(out.len());
                let flag = if *case_insensitive { "(?i)" } else { "" };
                out.push(format!("{flag}(?:{})", re.as_str()));
            }
        }
        _ => {}
    }
}

impl Engine {
    pub fn new(mut rules: Vec<Rule>) -> Self {
        let mut patterns = Vec::new();
        for r in &mut rules {
            collect_patterns(&mut r.when, &mut patterns);
            if let Some(u) = &mut r.unless {
                collect_patterns(u, &mut patterns);
            }
        }
        // Without the set (it could not be built within its size limit) every pattern runs
        // on every value, as before: slower, same answers.
        let set = regex::RegexSetBuilder::new(&patterns)
            .size_limit(64 << 20)
            .dfa_size_limit(8 << 20)
            .build()
            .ok();
        Engine {
            rules,
            now: None,
            recent: chrono::Duration::days(7),
            set,
            allows: Vec::new(),
        }
    }

    /// With these known-benign entries; an entry naming a rule id that no rule has is refused
    /// (a typo would silently silence nothing). Sigma ids (`sigma:...`) are not known yet
    /// when rules load and are taken as written.
    pub fn with_allows(mut self, allows: Vec<super::allow::Allow>) -> Result<Self, RuleError> {
        for a in &allows {
            for r in &a.rules {
                let known = r.ends_with('*')
                    || r.starts_with("sigma:")
                    || self.rules.iter().any(|x| &x.id == r);
                if !known {
                    return Err(RuleError {
                        origin: a.origin.clone(),
                        line: a.line,
                        reason: format!("allow `{}`: no rule has the id `{r}`", a.id),
                    });
                }
            }
        }
        self.allows = allows;
        Ok(self)
    }

    pub fn allows(&self) -> &[super::allow::Allow] {
        &self.allows
    }

    /// Drops the findings a known-benign entry covers, counting them per entry.
    pub fn apply_allowlist(&self, findings: &mut Findings) {
        if self.allows.is_empty() {
            return;
        }
        let allowed = &mut findings.allowed;
        findings
            .items
            .retain(|f| match self.allows.iter().find(|a| a.covers(f)) {
                Some(a) => {
                    *allowed.entry(a.id.clone()).or_insert(0) += 1;
                    false
                }
                None => true,
            });
    }

    /// The built-in rules only.
    pub fn builtin() -> Result<Self, RuleError> {
        Engine::with_extra_rules(&[])
    }

    /// Built-in rules plus extra rule files (`--rules`): `(origin, text)` each.
    pub fn with_extra_rules(extra: &[(String, String)]) -> Result<Self, RuleError> {
        let mut rules = super::rules::builtin_rules()?;
        let (origin, text) = super::rules::BUILTIN_ALLOW_FILE;
        let mut allows = super::allow::load_allows(text, origin)?;
        for (origin, text) in extra {
            rules.extend(super::rules::load_rules(text, origin)?);
            allows.extend(super::allow::load_allows(text, origin)?);
        }
        super::rules::check_unique(&rules)?;
        Engine::new(rules).with_allows(allows)
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

    /// Runs every rule and join over `observations`, in one [`Detector`]: all of them are
    /// indexed first, so their order does not matter.
    pub fn run(&self, observations: &[Observation]) -> Findings {
        let mut d = Detector::new(self);
        d.preindex(observations);
        let is_process = |o: &&Observation| o.kind == ObservationKind::Process;
        for o in observations.iter().filter(is_process) {
            d.observe(o.clone());
        }
        d.end_snapshot();
        for o in observations.iter().filter(|o| !is_process(o)) {
            d.observe(o.clone());
        }
        d.finish()
    }
}

/// Sysmon process creations remembered for their children's ancestry (the most recent ones:
/// a child is logged soon after its parent).
const GUID_INDEX_CAP: usize = 50_000;
/// Staged files remembered for the written-then-run join.
const STAGED_INDEX_CAP: usize = 50_000;
/// Live processes held for evaluation as one set (far above any real host's count).
const MAX_SNAPSHOT: usize = 200_000;

/// One run's detection, fed one observation at a time (see the module comment).
pub struct Detector<'e> {
    engine: &'e Engine,
    now: Timestamp,
    findings: FindingSet,
    /// The live snapshot, until [`Self::end_snapshot`] evaluates it.
    snapshot: Vec<Observation>,
    snapshot_done: bool,
    procs: ProcIndex,
    guids: GuidIndex,
    bursts: BurstIndex,
    logons: LogonIndex,
    staged: StagedIndex,
    /// The indexes were filled from the whole set up front ([`Engine::run`]).
    preindexed: bool,
    /// Observations not evaluated: past the snapshot bound.
    pub skipped: u64,
}

impl<'e> Detector<'e> {
    pub fn new(engine: &'e Engine) -> Detector<'e> {
        Detector {
            engine,
            now: engine.now.unwrap_or_else(chrono::Utc::now),
            findings: FindingSet::new(MAX_FINDINGS),
            snapshot: Vec::new(),
            snapshot_done: false,
            procs: ProcIndex::default(),
            guids: GuidIndex::new(GUID_INDEX_CAP),
            bursts: BurstIndex::default(),
            logons: LogonIndex::default(),
            staged: StagedIndex::new(STAGED_INDEX_CAP),
            preindexed: false,
            skipped: 0,
        }
    }

    /// Index a whole set before it is observed, so a child seen before its parent, or a
    /// runner before the file it runs, still joins.
    fn preindex(&mut self, observations: &[Observation]) {
        for o in observations {
            self.guids.insert(o);
            self.staged.insert(o);
        }
        self.preindexed = true;
    }

    /// Take one observation.
    pub fn observe(&mut self, mut o: Observation) {
        if o.kind == ObservationKind::Process && !self.snapshot_done {
            if self.snapshot.len() < MAX_SNAPSHOT {
                self.snapshot.push(o);
            } else {
                self.skipped += 1;
            }
            return;
        }
        self.guids.enrich(&mut o);
        self.guids.enrich_connection(&mut o);
        if !self.preindexed {
            self.guids.insert(&o);
            self.staged.insert(&o);
        }
        self.evaluate(&o);
        let mut joined = Vec::new();
        correlate::written_then_run(&o, &self.staged, &mut joined);
        joined.extend(correlate::exec_to_c2(&o, &self.procs));
        joined.extend(self.bursts.observe(&o));
        joined.extend(self.logons.observe(&o));
        for f in joined {
            self.findings.push(f);
        }
    }

    /// The live snapshot is complete: evaluate it as one set. Later process observations are
    /// evaluated one by one.
    pub fn end_snapshot(&mut self) {
        if self.snapshot_done {
            return;
        }
        self.snapshot_done = true;
        let mut snapshot = std::mem::take(&mut self.snapshot);
        correlate::enrich_snapshot(&mut snapshot);
        self.procs = ProcIndex::new(&snapshot);
        for o in &snapshot {
            self.evaluate(o);
        }
        // Files staged so far (the snapshot comes first, so at the end of a run: all of them)
        // are joined at `finish`; the snapshot is kept as compactly as the index allows.
        self.snapshot = snapshot;
    }

    fn evaluate(&mut self, o: &Observation) {
        let derived = derive_decoded(o);
        let ctx = Ctx::new(o, self.now, self.engine.recent).with_set(self.engine.set.as_ref());
        for rule in self.engine.rules.iter().filter(|r| r.applies_to(o.kind)) {
            if let Some(f) = evaluate(rule, &ctx, None, derived.first()) {
                self.findings.push(f);
            }
        }
        for d in &derived {
            let ctx = Ctx::new(d, self.now, self.engine.recent).with_set(self.engine.set.as_ref());
            for rule in self.engine.rules.iter().filter(|r| r.applies_to(d.kind)) {
                if let Some(f) = evaluate(rule, &ctx, Some(o), Some(d)) {
                    self.findings.push(f);
                }
            }
        }
    }

    /// Findings so far.
    pub fn len(&self) -> usize {
        self.findings.len()
    }

    pub fn is_empty(&self) -> bool {
        self.findings.len() == 0
    }

    /// Every finding, most severe first.
    pub fn finish(mut self) -> Findings {
        self.end_snapshot();
        let snapshot = std::mem::take(&mut self.snapshot);
        for runner in &snapshot {
            let mut joined = Vec::new();
            correlate::written_then_run(runner, &self.staged, &mut joined);
            for f in joined {
                self.findings.push(f);
            }
        }
        let mut findings = self.findings.into_findings();
        findings.staged_not_joined = self.staged.dropped;
        self.engine.apply_allowlist(&mut findings);
        findings.sort();
        findings
    }
}

/// Decoded payloads of one observation, as script observations. Nested encodings are
/// followed one more level.
fn derive_decoded(o: &Observation) -> Vec<Observation> {
    let mut out = Vec::new();
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
            out.push(d);
        }
        payloads = next;
        level += 1;
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
        context: FindingContext::of(parent.unwrap_or(o)),
    })
}
