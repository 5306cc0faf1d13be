//! Findings: what a rule or join reports, and the set of them a run returns.
//!
//! One finding per (rule, thing): the same command logged by 400, 403 and 800 merges into one
//! finding carrying every record as evidence. `Findings::to_jsonl` is `findings.jsonl`.

use std::collections::{BTreeMap, HashMap};

use serde::{Deserialize, Serialize};

use super::observation::{EvidenceRef, ObservationKind};
use super::rules::{Severity, Tactic};

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
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct MatchedValue {
    pub field: String,
    /// The match with some context, capped.
    pub value: String,
}

/// A payload decoded from the observation, shown next to its original.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DecodedPayload {
    pub method: String,
    pub original: String,
    pub decoded: String,
}

/// What a responder reads: which rule, which technique, how bad, why, and where the evidence is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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

    pub(crate) fn sort(&mut self) {
        self.items.sort_by(|a, b| {
            b.severity
                .cmp(&a.severity)
                .then_with(|| a.rule_id.cmp(&b.rule_id))
                .then_with(|| a.evidence.first().cmp(&b.evidence.first()))
        });
    }
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
                existing.occurrences += f.occurrences;
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
        }
    }
}
