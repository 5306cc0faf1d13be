//! Findings: what a rule or join reports, and the set of them a run returns.
//!
//! One finding per (rule, thing): the same command logged by 400, 403 and 800 merges into one
//! finding carrying every record as evidence. `Findings::to_jsonl` is `findings.jsonl`.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use super::observation::{EvidenceRef, Observation, ObservationKind};
use super::rules::{Severity, Tactic};
use crate::record::Timestamp;

/// Evidence references kept per finding; the rest are counted in `occurrences`.
pub(crate) const MAX_EVIDENCE: usize = 100;
/// Characters of a matched value kept in a finding.
pub(crate) const MAX_MATCH_CHARS: usize = 200;
/// Matched values kept per finding.
pub(crate) const MAX_MATCHES: usize = 12;
/// Decoded text kept in a finding (the full text is re-derivable from the record).
pub(crate) const MAX_FINDING_DECODED: usize = 16 * 1024;
/// Distinct findings kept per run; past it, findings are counted per rule (see
/// [`Findings::dropped`]). Far above what a responder reads, far below what would swamp memory
/// when every line of a hostile history matches a rule.
pub(crate) const MAX_FINDINGS: usize = 10_000;
/// Evidence references kept over all findings: past it, occurrences are still counted.
pub(crate) const MAX_EVIDENCE_TOTAL: usize = 100_000;

/// One value that made a rule match.
#[derive(
    Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, schemars::JsonSchema,
)]
pub struct MatchedValue {
    pub field: String,
    /// The match with some context, capped.
    pub value: String,
}

/// A payload decoded from the observation, shown next to its original.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct DecodedPayload {
    pub method: String,
    pub original: String,
    pub decoded: String,
}

/// What a responder reads: which rule, which technique, how bad, why, and where the evidence is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Finding {
    pub rule_id: String,
    pub title: String,
    /// One-line explanation.
    pub description: String,
    pub techniques: Vec<String>,
    pub tactic: Tactic,
    pub tactic_id: String,
    pub severity: Severity,
    pub observation_kind: ObservationKind,
    /// What it fired on (command line, script path, file), capped.
    pub summary: String,
    /// The records it fired on (first [`MAX_EVIDENCE`]).
    pub evidence: Vec<EvidenceRef>,
    /// How many records carried the same thing (≥ `evidence.len()`).
    pub occurrences: u64,
    pub matched: Vec<MatchedValue>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decoded: Option<DecodedPayload>,
    /// Rule file (`builtin:rules/...` or a `--rules` path), or `builtin:correlate`.
    pub rule_origin: String,
    /// Who, when and where: the first occurrence's process and event, and the span and
    /// hosts/users of all of them.
    #[serde(flatten)]
    pub context: FindingContext,
}

/// Bytes of a rule's example finding kept in its summary.
const MAX_EXAMPLE: usize = 200;

/// One rule's findings in a run, summed up.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuleSummary {
    pub rule_id: String,
    pub title: String,
    /// The most severe of its findings.
    pub severity: Severity,
    pub techniques: Vec<String>,
    /// Distinct findings (things) it fired on, and the records behind them.
    pub findings: usize,
    pub occurrences: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_seen: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_seen: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hosts: Vec<String>,
    /// The first finding's summary, capped.
    pub example: String,
}

/// Hosts or users kept per finding; more are counted in the occurrences only.
pub(crate) const MAX_CONTEXT_NAMES: usize = 16;
/// Bytes of the first occurrence's command line kept in the context.
const MAX_CONTEXT_COMMAND: usize = 2_000;

/// The context a responder reads a finding by (Hayabusa's timestamp, computer, channel, event
/// id; the process, its parent and its user), flattened into the finding's JSON so that jq and
/// DuckDB see plain columns. Taken from the first occurrence; `first_seen`/`last_seen`,
/// `hosts` and `users` cover every merged occurrence.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct FindingContext {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_seen: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_seen: Option<Timestamp>,
    /// The host the evidence names (an event's Computer), else the collected host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pid: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ppid: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_image: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command_line: Option<String>,
    /// Event log channel and id when the evidence is a logged event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channel: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_id: Option<u32>,
    /// Every host and user over the merged occurrences (capped).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hosts: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub users: Vec<String>,
}

impl FindingContext {
    pub fn of(o: &Observation) -> FindingContext {
        let origin = o.origin.as_ref();
        let host = origin.and_then(|g| g.computer.clone());
        let mut c = FindingContext {
            first_seen: o.timestamp,
            last_seen: o.timestamp,
            host: host.clone(),
            user: o.user.clone(),
            pid: o.pid,
            ppid: o.ppid,
            image: o.image.clone(),
            parent_image: o.parent_image.clone(),
            command_line: o
                .command_line
                .as_deref()
                .map(|c| crate::text::truncate_to_boundary(c, MAX_CONTEXT_COMMAND).to_string()),
            channel: origin.map(|g| g.channel.clone()),
            event_id: origin.map(|g| g.event_id),
            hosts: Vec::new(),
            users: Vec::new(),
        };
        c.hosts.extend(host);
        c.users.extend(o.user.clone());
        c
    }

    /// Folds another occurrence's context in: the span widens, new hosts and users are added.
    pub(crate) fn merge(&mut self, other: &FindingContext) {
        if let Some(t) = other.first_seen {
            self.first_seen = Some(self.first_seen.map_or(t, |s| s.min(t)));
        }
        if let Some(t) = other.last_seen {
            self.last_seen = Some(self.last_seen.map_or(t, |s| s.max(t)));
        }
        add_names(&mut self.hosts, &other.hosts);
        add_names(&mut self.users, &other.users);
    }

    /// The collected host for findings whose evidence does not name one (snapshot and file
    /// records).
    pub(crate) fn default_host(&mut self, host: &str) {
        if self.host.is_none() {
            self.host = Some(host.to_string());
        }
        if self.hosts.is_empty() {
            self.hosts.push(host.to_string());
        }
    }
}

fn add_names(into: &mut Vec<String>, from: &[String]) {
    for n in from {
        if into.len() >= MAX_CONTEXT_NAMES {
            return;
        }
        if !into.contains(n) {
            into.push(n.clone());
        }
    }
}

/// All findings of a run, most severe first.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Findings {
    pub items: Vec<Finding>,
    /// Findings not kept because the run had [`MAX_FINDINGS`] already, by rule id.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub dropped: BTreeMap<String, u64>,
    /// Staged files left out of the written-then-run join because its index was full.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub staged_not_joined: u64,
    /// Findings left out because a known-benign entry covers them, by entry id.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub allowed: BTreeMap<String, u64>,
    /// The Computer most logged events name: the host's name when the source itself does
    /// not tell (an offline Windows root has no live host name).
    #[serde(skip)]
    pub logged_host: Option<String>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl Findings {
    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub fn iter(&self) -> std::slice::Iter<'_, Finding> {
        self.items.iter()
    }

    /// Counts by severity.
    pub fn by_severity(&self) -> BTreeMap<Severity, usize> {
        let mut m = BTreeMap::new();
        for f in &self.items {
            *m.entry(f.severity).or_insert(0) += 1;
        }
        m
    }

    /// `findings.jsonl`: one finding per line.
    pub fn to_jsonl(&self) -> Result<String, serde_json::Error> {
        let mut out = String::new();
        for f in &self.items {
            out.push_str(&serde_json::to_string(f)?);
            out.push('\n');
        }
        Ok(out)
    }

    /// The findings grouped by rule, most severe first, then most findings: the "top rules ×
    /// count × first/last seen" a responder reads first. At most `n` rules.
    pub fn top_rules(&self, n: usize) -> Vec<RuleSummary> {
        rule_summaries(&self.items, n)
    }

    /// Findings whose evidence names no host (snapshot and file records) get the collected
    /// host's name.
    pub fn default_host(&mut self, host: &str) {
        for f in &mut self.items {
            f.context.default_host(host);
        }
    }

    pub(crate) fn sort(&mut self) {
        self.items.sort_by(|a, b| {
            b.severity
                .cmp(&a.severity)
                .then_with(|| a.rule_id.cmp(&b.rule_id))
                .then_with(|| a.evidence.first().cmp(&b.evidence.first()))
        });
    }
}

/// Findings grouped by rule, most severe first, then most findings; at most `n` rules.
pub fn rule_summaries(items: &[Finding], n: usize) -> Vec<RuleSummary> {
    let mut by_rule: BTreeMap<&str, RuleSummary> = BTreeMap::new();
    for f in items {
        let r = by_rule
            .entry(f.rule_id.as_str())
            .or_insert_with(|| RuleSummary {
                rule_id: f.rule_id.clone(),
                title: f.title.clone(),
                severity: f.severity,
                techniques: f.techniques.clone(),
                findings: 0,
                occurrences: 0,
                first_seen: None,
                last_seen: None,
                hosts: Vec::new(),
                example: crate::text::truncate_to_boundary(&f.summary, MAX_EXAMPLE).to_string(),
            });
        r.findings += 1;
        r.occurrences = r.occurrences.saturating_add(f.occurrences);
        r.severity = r.severity.max(f.severity);
        if let Some(t) = f.context.first_seen {
            r.first_seen = Some(r.first_seen.map_or(t, |s| s.min(t)));
        }
        if let Some(t) = f.context.last_seen {
            r.last_seen = Some(r.last_seen.map_or(t, |s| s.max(t)));
        }
        add_names(&mut r.hosts, &f.context.hosts);
    }
    let mut out: Vec<RuleSummary> = by_rule.into_values().collect();
    out.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then(b.findings.cmp(&a.findings))
            .then_with(|| a.rule_id.cmp(&b.rule_id))
    });
    out.truncate(n);
    out
}

/// Findings as they come, merged: one per (rule, thing), however many records carry it. The
/// merge key is kept as a digest so that a finding on a multi-megabyte script costs its
/// finding, not a second copy of the script.
pub(crate) struct FindingSet {
    items: Vec<Finding>,
    index: HashMap<[u8; 16], usize>,
    cap: usize,
    dropped: BTreeMap<String, u64>,
    evidence: usize,
}

impl FindingSet {
    pub(crate) fn new(cap: usize) -> FindingSet {
        FindingSet {
            items: Vec::new(),
            index: HashMap::new(),
            cap,
            dropped: BTreeMap::new(),
            evidence: 0,
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.items.len()
    }

    fn key(f: &Finding) -> [u8; 16] {
        use sha2::Digest;
        let mut h = sha2::Sha256::new();
        let mut field = |b: &[u8]| {
            h.update((b.len() as u64).to_le_bytes());
            h.update(b);
        };
        field(f.rule_id.as_bytes());
        field(f.summary.as_bytes());
        for m in &f.matched {
            field(m.field.as_bytes());
            field(m.value.as_bytes());
        }
        match &f.decoded {
            Some(d) => field(d.decoded.as_bytes()),
            None => field(b"\xff"),
        }
        let d = h.finalize();
        let mut k = [0u8; 16];
        k.copy_from_slice(&d[..16]);
        k
    }

    pub(crate) fn push(&mut self, f: Finding) {
        let key = Self::key(&f);
        match self.index.get(&key) {
            Some(&i) => {
                let existing = &mut self.items[i];
                existing.occurrences = existing.occurrences.saturating_add(f.occurrences);
                existing.context.merge(&f.context);
                for e in f.evidence {
                    if existing.evidence.len() < MAX_EVIDENCE
                        && self.evidence < MAX_EVIDENCE_TOTAL
                        && !existing.evidence.contains(&e)
                    {
                        existing.evidence.push(e);
                        self.evidence += 1;
                    }
                }
            }
            None if self.items.len() >= self.cap => {
                *self.dropped.entry(f.rule_id).or_insert(0) += f.occurrences;
            }
            None => {
                self.evidence += f.evidence.len();
                self.index.insert(key, self.items.len());
                self.items.push(f);
            }
        }
    }

    pub(crate) fn into_findings(self) -> Findings {
        Findings {
            items: self.items,
            dropped: self.dropped,
            staged_not_joined: 0,
            allowed: BTreeMap::new(),
            logged_host: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::detect::observation::ObservationKind as K;

    fn occurrence(line: u64, minute: u32, user: &str, host: &str) -> Finding {
        let t = chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, 2026, 1, 2, 3, minute, 0).single();
        let o = Observation::new(K::ProcessEvent, EvidenceRef::new("records/x.jsonl", line))
            .timestamp(t)
            .user(Some(user))
            .origin(host, "Security", 4688)
            .command_line(Some("cmd /c whoami"));
        Finding {
            rule_id: "r".into(),
            title: "t".into(),
            description: "d".into(),
            techniques: vec![],
            tactic: Tactic::Execution,
            tactic_id: "TA0002".into(),
            severity: Severity::High,
            observation_kind: K::ProcessEvent,
            summary: o.label(),
            evidence: vec![o.evidence.clone()],
            occurrences: 1,
            matched: vec![],
            decoded: None,
            rule_origin: "test".into(),
            context: FindingContext::of(&o),
        }
    }

    #[test]
    fn merged_occurrences_widen_the_span_and_list_every_user_and_host() {
        let mut set = FindingSet::new(10);
        set.push(occurrence(1, 30, "a", "WS1"));
        set.push(occurrence(2, 10, "b", "WS1"));
        set.push(occurrence(3, 50, "a", "WS2"));
        for i in 0..40 {
            set.push(occurrence(4 + i, 20, &format!("u{i}"), &format!("H{i}")));
        }
        let f = set.into_findings();
        assert_eq!(f.len(), 1);
        let c = &f.items[0].context;
        assert_eq!(f.items[0].occurrences, 43);
        assert_eq!(c.first_seen.unwrap().format("%M").to_string(), "10");
        assert_eq!(c.last_seen.unwrap().format("%M").to_string(), "50");
        // The first occurrence's process and event stay the finding's own.
        assert_eq!(c.user.as_deref(), Some("a"));
        assert_eq!(c.host.as_deref(), Some("WS1"));
        assert_eq!(c.event_id, Some(4688));
        assert_eq!(&c.users[..3], ["a", "b", "u0"]);
        assert_eq!(c.users.len(), MAX_CONTEXT_NAMES);
        assert_eq!(&c.hosts[..3], ["WS1", "WS2", "H0"]);
        assert_eq!(c.hosts.len(), MAX_CONTEXT_NAMES);
    }

    #[test]
    fn findings_without_a_logged_host_get_the_collected_one() {
        let mut f = Findings {
            items: vec![occurrence(1, 0, "a", "")],
            ..Default::default()
        };
        f.default_host("web01");
        assert_eq!(f.items[0].context.host.as_deref(), Some("web01"));
        assert_eq!(f.items[0].context.hosts, ["web01"]);
        let mut g = Findings {
            items: vec![occurrence(1, 0, "a", "DC1")],
            ..Default::default()
        };
        g.default_host("web01");
        assert_eq!(g.items[0].context.host.as_deref(), Some("DC1"));
    }
}
