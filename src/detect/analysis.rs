//! One run's detection: fed each record as it is written, with its observations (from the
//! registration table), it runs the built-in and `--rules` rules through a [`Detector`] and
//! Sigma rules on the events they apply to, in bounded memory, and at the end returns every
//! finding, built-in and Sigma, in one list.

use super::engine::Detector;
use super::finding::{Finding, FindingContext, FindingSet, Findings, MAX_FINDINGS, MatchedValue};
use super::observation::{EvidenceRef, ObservationKind};
use super::rules::{Severity, Tactic};
use super::{Engine, Observation};
use crate::ids::{CollectorId, RecordAt};
use crate::record::{ExecutionEventRecord, PowershellRecord, ProcessRecord, Record};
use crate::sigma::{ProcessEvent, RuleSet, SigmaEvent, SigmaFinding};
use crate::source::OsFamily;

pub struct Analysis<'e> {
    engine: &'e Engine,
    detector: Detector<'e>,
    sigma: Option<&'e RuleSet>,
    os: OsFamily,
    /// The process snapshot, for Sigma (its events need their parents); only with `--sigma`.
    sigma_processes: Vec<(ProcessRecord, RecordAt, FindingContext)>,
    /// Merged like built-in findings: one per (rule, thing), capped at [`MAX_FINDINGS`].
    sigma_findings: FindingSet,
    /// Events per logging Computer (at most [`MAX_COMPUTERS`] names).
    computers: std::collections::HashMap<String, u64>,
}

/// Distinct Computer names counted: a real host's logs name one or a few; past this, more
/// names cannot change which one is the most common by much.
const MAX_COMPUTERS: usize = 64;

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
fn from_sigma(
    f: SigmaFinding<EvidenceRef>,
    kind: ObservationKind,
    context: FindingContext,
) -> Finding {
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
        context,
    }
}

impl<'e> Analysis<'e> {
    pub fn new(engine: &'e Engine, sigma: Option<&'e RuleSet>, os: OsFamily) -> Analysis<'e> {
        Analysis {
            engine,
            detector: Detector::new(engine),
            sigma,
            os,
            sigma_processes: Vec::new(),
            sigma_findings: FindingSet::new(MAX_FINDINGS),
            computers: Default::default(),
        }
    }

    fn sigma_eval(
        &mut self,
        event: &dyn SigmaEvent,
        ev: EvidenceRef,
        kind: ObservationKind,
        context: &FindingContext,
    ) {
        let Some(rules) = self.sigma else { return };
        for f in rules.evaluate(event, &ev) {
            self.sigma_findings
                .push(from_sigma(f, kind, context.clone()));
        }
    }

    /// An observation that is not any record's own (a staged script's text).
    pub fn observe(&mut self, o: Observation) {
        self.detector.observe(o);
    }

    /// One record as written at `at`, with its observations.
    pub fn record(&mut self, rec: &Record, at: RecordAt, observations: Vec<Observation>) {
        // A Sigma finding on the record reads its who/when/where from the record's own
        // observation (Sigma sees the raw event fields, not these).
        let context = match (self.sigma, observations.first()) {
            (Some(_), Some(o)) => FindingContext::of(o),
            _ => FindingContext::default(),
        };
        if let Some(c) = observations
            .first()
            .and_then(|o| o.origin.as_ref()?.computer.as_ref())
        {
            let full = self.computers.len() >= MAX_COMPUTERS;
            match self.computers.get_mut(c) {
                Some(n) => *n += 1,
                None if !full => {
                    self.computers.insert(c.clone(), 1);
                }
                None => {}
            }
        }
        for o in observations {
            self.detector.observe(o);
        }
        if self.sigma.is_none() {
            return;
        }
        let ev = || EvidenceRef::new(at.member(), at.line);
        match rec {
            Record::Process(p) if p.is_irsnap => {}
            Record::Process(p) => self.sigma_processes.push((p.clone(), at, context)),
            Record::ExecutionEvent(ExecutionEventRecord::Event(e)) => {
                let ev = ev().source_path(e.source.source_path.clone());
                self.sigma_eval(&e.event, ev, ObservationKind::ProcessEvent, &context);
            }
            // Script text is judged on the reassembled block, not on its parts.
            Record::Powershell(PowershellRecord::Event(e))
                if e.event.kind != crate::parsers::powershell::PsEventKind::ScriptBlock =>
            {
                let ev = ev().source_path(e.source.source_path.clone());
                self.sigma_eval(&e.event, ev, ObservationKind::PsPipeline, &context);
            }
            Record::Powershell(PowershellRecord::ScriptBlock(sb)) => {
                let ev = ev().source_path(sb.source.source_path.clone());
                self.sigma_eval(&sb.block, ev, ObservationKind::ScriptBlock, &context);
            }
            _ => {}
        }
    }

    /// A collector wrote its last record: the process snapshot is evaluated as one set.
    pub fn end_collector(&mut self, id: CollectorId) {
        if id != CollectorId::Processes {
            return;
        }
        self.detector.end_snapshot();
        let procs = std::mem::take(&mut self.sigma_processes);
        if procs.is_empty() {
            return;
        }
        let mut records = Vec::with_capacity(procs.len());
        let mut places = Vec::with_capacity(procs.len());
        for (r, at, context) in procs {
            records.push(r);
            places.push((at, context));
        }
        let events = ProcessEvent::from_snapshot(&records, self.os);
        // from_snapshot keeps the records' order.
        for (e, (at, context)) in events.iter().zip(places) {
            self.sigma_eval(
                e,
                EvidenceRef::new(at.member(), at.line),
                ObservationKind::Process,
                &context,
            );
        }
    }

    /// Every finding, most severe first.
    pub fn finish(mut self) -> Findings {
        self.end_collector(CollectorId::Processes);
        let mut findings = self.detector.finish();
        findings.logged_host = self
            .computers
            .iter()
            .max_by(|a, b| a.1.cmp(b.1).then_with(|| b.0.cmp(a.0)))
            .map(|(c, _)| c.clone());
        let mut sigma = self.sigma_findings.into_findings();
        self.engine.apply_allowlist(&mut sigma);
        for (id, n) in sigma.allowed {
            *findings.allowed.entry(id).or_insert(0) += n;
        }
        findings.items.extend(sigma.items);
        for (rule, n) in sigma.dropped {
            *findings.dropped.entry(rule).or_insert(0) += n;
        }
        findings
            .items
            .sort_by(|a, b| b.severity.cmp(&a.severity).then(a.rule_id.cmp(&b.rule_id)));
        findings
    }
}
