//! One run's detection: fed each collector's records as they are written (the same bytes the
//! archive holds), it keeps the normalized observations, evaluates Sigma rules on the events
//! they apply to, and at the end returns every finding, built-in and Sigma, in one list.

use super::finding::{Finding, Findings, MatchedValue};
use super::observation::{EvidenceRef, ObservationKind};
use super::records::observe_jsonl;
use super::rules::{Severity, Tactic};
use super::{Engine, Observation};
use crate::collectors::CollectorId;
use crate::record::{ExecutionEventRecord, PowershellRecord, ProcessRecord};
use crate::sigma::{ProcessEvent, RuleSet, SigmaEvent, SigmaFinding};
use crate::source::OsFamily;

pub struct Analysis {
    engine: Engine,
    sigma: Option<RuleSet>,
    os: OsFamily,
    observations: Vec<Observation>,
    sigma_findings: Vec<Finding>,
    /// Records that could not be read back (only with a damaged or foreign archive).
    pub unreadable: Vec<String>,
}

fn severity_of(level: Option<&str>) -> Severity {
    match level.map(str::to_ascii_lowercase).as_deref() {
        Some("critical") => Severity::Critical,
        Some("high") => Severity::High,
        Some("medium") => Severity::Medium,
        Some("low") => Severity::Low,
        _ => Severity::Informational,
    }
}

fn tactic_of(tactics: &[String]) -> Tactic {
    let has = |t: &str| tactics.iter().any(|x| x == t);
    // Execution first: it is what irsnap is about; Sigma rules often carry several.
    if has("execution") || tactics.is_empty() {
        Tactic::Execution
    } else if has("persistence") {
        Tactic::Persistence
    } else if has("privilege-escalation") || has("privilege_escalation") {
        Tactic::PrivilegeEscalation
    } else if has("defense-evasion") || has("defense_evasion") || has("stealth") {
        Tactic::DefenseEvasion
    } else if has("credential-access") || has("credential_access") {
        Tactic::CredentialAccess
    } else if has("discovery") {
        Tactic::Discovery
    } else if has("lateral-movement") || has("lateral_movement") {
        Tactic::LateralMovement
    } else if has("command-and-control") || has("command_and_control") {
        Tactic::CommandAndControl
    } else {
        Tactic::Execution
    }
}

/// A Sigma match in the shape every other finding has. The rule's id and author stay on it
/// (Detection Rule License: SigmaHQ rules are credited wherever their output goes).
fn from_sigma(f: SigmaFinding<EvidenceRef>, kind: ObservationKind) -> Finding {
    let tactic = tactic_of(&f.attack.tactics);
    let summary = f
        .matched
        .first()
        .map(|m| m.value.clone())
        .unwrap_or_default();
    let author = f.author.as_deref().unwrap_or("unknown author");
    Finding {
        rule_id: format!("sigma:{}", f.rule_id.as_deref().unwrap_or(&f.title)),
        title: f.title.clone(),
        description: f
            .description
            .clone()
            .unwrap_or_else(|| format!("Sigma rule: {}", f.title)),
        techniques: f.attack.techniques.clone(),
        tactic,
        tactic_id: tactic.id().to_string(),
        severity: severity_of(f.level.as_deref()),
        observation_kind: kind,
        summary,
        evidence: vec![f.evidence],
        occurrences: 1,
        matched: f
            .matched
            .into_iter()
            .map(|m| MatchedValue {
                field: m.field,
                value: m.value,
            })
            .collect(),
        decoded: None,
        rule_origin: format!("sigma:{} (author: {author})", f.rule_path),
    }
}

impl Analysis {
    pub fn new(engine: Engine, sigma: Option<RuleSet>, os: OsFamily) -> Analysis {
        Analysis {
            engine,
            sigma,
            os,
            observations: Vec::new(),
            sigma_findings: Vec::new(),
            unreadable: Vec::new(),
        }
    }

    fn sigma_eval(&mut self, event: &dyn SigmaEvent, ev: EvidenceRef, kind: ObservationKind) {
        if let Some(rules) = &self.sigma {
            for f in rules.evaluate(event, &ev) {
                self.sigma_findings.push(from_sigma(f, kind));
            }
        }
    }

    fn sigma_records(&mut self, collector: CollectorId, jsonl: &[u8]) {
        if self.sigma.is_none() {
            return;
        }
        let member = format!("records/{}.jsonl", collector.as_str());
        let lines = jsonl
            .split(|&b| b == b'\n')
            .enumerate()
            .filter(|(_, l)| !l.iter().all(u8::is_ascii_whitespace));
        match collector {
            CollectorId::Processes => {
                let procs: Vec<ProcessRecord> = lines
                    .filter_map(|(_, l)| serde_json::from_slice(l).ok())
                    .collect();
                let events = ProcessEvent::from_snapshot(&procs, self.os);
                let Some(rules) = self.sigma.as_ref() else {
                    return;
                };
                let mut found = Vec::new();
                // from_snapshot keeps the records' order, so index i is line i + 1.
                for (i, e) in events.iter().enumerate() {
                    let ev = EvidenceRef::new(&member, i as u64 + 1);
                    for f in rules.evaluate(e, &ev) {
                        found.push(from_sigma(f, ObservationKind::Process));
                    }
                }
                self.sigma_findings.extend(found);
            }
            CollectorId::ExecutionEvents => {
                for (i, l) in lines {
                    if let Ok(ExecutionEventRecord::Event(e)) = serde_json::from_slice(l) {
                        let ev = EvidenceRef::new(&member, i as u64 + 1)
                            .source_path(e.source.source_path.clone());
                        self.sigma_eval(&e.event, ev, ObservationKind::ProcessEvent);
                    }
                }
            }
            CollectorId::PowershellLogs => {
                for (i, l) in lines {
                    let ev = EvidenceRef::new(&member, i as u64 + 1);
                    match serde_json::from_slice(l) {
                        // Script text is judged on the reassembled block, not on its parts.
                        Ok(PowershellRecord::Event(e))
                            if e.event.kind
                                != crate::parsers::powershell::PsEventKind::ScriptBlock =>
                        {
                            let ev = ev.source_path(e.source.source_path.clone());
                            self.sigma_eval(&e.event, ev, ObservationKind::PsPipeline);
                        }
                        Ok(PowershellRecord::ScriptBlock(sb)) => {
                            let ev = ev.source_path(sb.source.source_path.clone());
                            self.sigma_eval(&sb.block, ev, ObservationKind::ScriptBlock);
                        }
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }

    /// One collector's records, exactly as written to `records/<collector>.jsonl`.
    pub fn add_records(&mut self, collector: CollectorId, jsonl: &[u8]) {
        let (obs, report) = observe_jsonl(collector, jsonl);
        self.observations.extend(obs);
        for line in report.unreadable_lines {
            self.unreadable
                .push(format!("records/{}.jsonl line {line}", collector.as_str()));
        }
        self.sigma_records(collector, jsonl);
    }

    pub fn observations(&self) -> usize {
        self.observations.len()
    }

    /// Every finding, most severe first.
    pub fn finish(self) -> Findings {
        let mut findings = self.engine.run(&self.observations);
        findings.items.extend(self.sigma_findings);
        findings
            .items
            .sort_by(|a, b| b.severity.cmp(&a.severity).then(a.rule_id.cmp(&b.rule_id)));
        findings
    }
}
