//! The rule engine: observations in, findings out.
//!
//! One pass: enrich observations with what only the whole set knows (ancestry from the process
//! snapshot or Sysmon ProcessGuids), derive decoded observations (`-EncodedCommand` payloads,
//! `FromBase64String` literals: evaluated as script text so every script rule sees them), run
//! every rule on every observation of the kinds it applies to, add the joins of
//! [`super::correlate`], then merge identical findings (the same command logged by 400, 403,
//! 600 and 800 is one finding with four pieces of evidence) and sort by severity.

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::sync::LazyLock;

use regex::Regex;
use serde::{Deserialize, Serialize};

use super::correlate;
use super::decode::{self, PsInvocation};
use super::observation::{
    Derivation, EvidenceRef, Observation, ObservationKind, path_in_temp, path_in_user_writable,
    path_tokens, snippet, strip_exe,
};
use super::rules::{Condition, Field, Predicate, Rule, RuleError, Severity, Tactic, TextOp};
use crate::record::Timestamp;

/// Evidence references kept per finding; the rest are counted in `occurrences`.
const MAX_EVIDENCE: usize = 100;
/// Characters of a matched value kept in a finding.
const MAX_MATCH_CHARS: usize = 200;
/// Matched values kept per finding.
const MAX_MATCHES: usize = 12;
/// Decoded text kept in a finding (the full text is re-derivable from the record).
const MAX_FINDING_DECODED: usize = 16 * 1024;
/// Payload literals decoded per script.
const MAX_LITERALS: usize = 8;

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

    fn push_merged(&mut self, index: &mut HashMap<String, usize>, f: Finding) {
        let key = format!(
            "{}\u{1f}{}\u{1f}{:?}\u{1f}{:?}",
            f.rule_id,
            f.summary,
            f.matched,
            f.decoded.as_ref().map(|d| &d.decoded)
        );
        match index.get(&key) {
            Some(&i) => {
                let existing = &mut self.items[i];
                existing.occurrences += f.occurrences;
                for e in f.evidence {
                    if existing.evidence.len() < MAX_EVIDENCE && !existing.evidence.contains(&e) {
                        existing.evidence.push(e);
                    }
                }
            }
            None => {
                index.insert(key, self.items.len());
                self.items.push(f);
            }
        }
    }

    fn sort(&mut self) {
        self.items.sort_by(|a, b| {
            b.severity
                .cmp(&a.severity)
                .then_with(|| a.rule_id.cmp(&b.rule_id))
                .then_with(|| a.evidence.first().cmp(&b.evidence.first()))
        });
    }
}

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

/// Per-observation evaluation state: lowercased text and parsed PowerShell switches, computed
/// once however many rules read them.
struct Ctx<'a> {
    obs: &'a Observation,
    lower: RefCell<HashMap<&'static str, std::rc::Rc<String>>>,
    ps: RefCell<Option<std::rc::Rc<Vec<PsInvocation>>>>,
    now: Timestamp,
    recent: chrono::Duration,
}

impl<'a> Ctx<'a> {
    fn new(obs: &'a Observation, now: Timestamp, recent: chrono::Duration) -> Self {
        Ctx {
            obs,
            lower: RefCell::new(HashMap::new()),
            ps: RefCell::new(None),
            now,
            recent,
        }
    }

    /// `(name, value)` pairs a field stands for; absent parts are skipped.
    fn values(&self, field: Field) -> Vec<(&'static str, std::borrow::Cow<'a, str>)> {
        use std::borrow::Cow;
        let o = self.obs;
        let mut v: Vec<(&'static str, Cow<'a, str>)> = Vec::new();
        let mut add = |name: &'static str, s: Option<&'a str>| {
            if let Some(s) = s {
                v.push((name, Cow::Borrowed(s)));
            }
        };
        match field {
            Field::Image => add("image", o.image.as_deref()),
            Field::ImageName => add("image_name", o.image_name.as_deref()),
            Field::CommandLine => add("command_line", o.command_line.as_deref()),
            Field::ParentImage => add("parent_image", o.parent_image.as_deref()),
            Field::ParentName => add("parent_name", o.ancestry.first().map(String::as_str)),
            Field::ParentCommandLine => {
                add("parent_command_line", o.parent_command_line.as_deref())
            }
            Field::User => add("user", o.user.as_deref()),
            Field::Cwd => add("cwd", o.cwd.as_deref()),
            Field::ScriptText => add("script_text", o.script_text.as_deref()),
            Field::ScriptPath => add("script_path", o.script_path.as_deref()),
            Field::FilePath => add("file_path", o.file_path.as_deref()),
            Field::RemoteAddress => add("remote_address", o.remote_address.as_deref()),
            Field::TaskName => add("task_name", o.task.as_ref().and_then(|t| t.name.as_deref())),
            Field::TaskRunAs => add(
                "task_run_as",
                o.task.as_ref().and_then(|t| t.run_as.as_deref()),
            ),
            Field::TaskSchedule => add(
                "task_schedule",
                o.task.as_ref().and_then(|t| t.schedule.as_deref()),
            ),
            Field::Text => {
                add("command_line", o.command_line.as_deref());
                add("script_text", o.script_text.as_deref());
            }
            Field::AnyPath => {
                add("image", o.image.as_deref());
                add("script_path", o.script_path.as_deref());
                add("file_path", o.file_path.as_deref());
            }
            Field::Argv => {
                if !o.argv.is_empty() {
                    v.push(("argv", Cow::Owned(o.argv.join(" "))));
                }
            }
        }
        v
    }

    fn lowered(&self, name: &'static str, s: &str) -> std::rc::Rc<String> {
        self.lower
            .borrow_mut()
            .entry(name)
            .or_insert_with(|| std::rc::Rc::new(s.to_ascii_lowercase()))
            .clone()
    }

    fn ps(&self) -> std::rc::Rc<Vec<PsInvocation>> {
        if let Some(p) = self.ps.borrow().as_ref() {
            return p.clone();
        }
        let p = std::rc::Rc::new(match &self.obs.command_line {
            Some(c) => decode::powershell_invocations(self.obs.image.as_deref(), c),
            None => Vec::new(),
        });
        *self.ps.borrow_mut() = Some(p.clone());
        p
    }
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

fn push_match(out: &mut Vec<MatchedValue>, field: &str, s: &str, start: usize, end: usize) {
    out.push(MatchedValue {
        field: field.to_string(),
        value: snippet(s, start, end, MAX_MATCH_CHARS),
    });
}

fn eval(c: &Condition, ctx: &Ctx, out: &mut Vec<MatchedValue>) -> bool {
    let o = ctx.obs;
    match c {
        Condition::All(v) => {
            let mut local = Vec::new();
            for c in v {
                if !eval(c, ctx, &mut local) {
                    return false;
                }
            }
            out.extend(local);
            true
        }
        Condition::Any(v) => {
            // Evaluate every branch so the finding lists everything that matched.
            let mut any = false;
            for c in v {
                any |= eval(c, ctx, out);
            }
            any
        }
        Condition::Not(c) => !eval(c, ctx, &mut Vec::new()),
        Condition::Text {
            field,
            op,
            values,
            case_sensitive,
        } => {
            let mut hit = false;
            for (name, s) in ctx.values(*field) {
                let hay = if *case_sensitive {
                    std::rc::Rc::new(s.to_string())
                } else {
                    ctx.lowered(name, &s)
                };
                let hay = hay.trim();
                // Offsets into the trimmed lowercase text equal those into the trimmed
                // original: ASCII lowercasing keeps byte lengths.
                let orig = s.trim();
                for v in values {
                    let pos = match op {
                        TextOp::Contains => hay.find(v.as_str()),
                        TextOp::StartsWith => hay.starts_with(v.as_str()).then_some(0),
                        TextOp::EndsWith => hay
                            .ends_with(v.as_str())
                            .then(|| hay.len() - v.len()),
                        TextOp::Equals => (hay == v.as_str()).then_some(0),
                    };
                    if let Some(p) = pos {
                        push_match(out, name, orig, p, p + v.len());
                        hit = true;
                        break;
                    }
                }
            }
            hit
        }
        Condition::Regex { field, patterns } => {
            let mut hit = false;
            for (name, s) in ctx.values(*field) {
                for re in patterns {
                    if let Some(m) = re.find(&s) {
                        push_match(out, name, &s, m.start(), m.end());
                        hit = true;
                        break;
                    }
                }
            }
            hit
        }
        Condition::LongerThan { field, chars } => {
            let mut hit = false;
            for (name, s) in ctx.values(*field) {
                if s.chars().count() > *chars {
                    push_match(out, name, &s, 0, 0);
                    hit = true;
                }
            }
            hit
        }
        Condition::ImageNameIn(names) => match &o.image_name {
            Some(n) if name_in(n, names) => {
                push_match(out, "image_name", n, 0, n.len());
                true
            }
            _ => false,
        },
        Condition::ParentNameIn(names) => match o.ancestry.first() {
            Some(n) if name_in(n, names) => {
                push_match(out, "parent_name", n, 0, n.len());
                true
            }
            _ => false,
        },
        Condition::AncestorNameIn(names) => match o.ancestry.iter().find(|a| name_in(a, names)) {
            Some(n) => {
                push_match(out, "ancestor", n, 0, n.len());
                true
            }
            None => false,
        },
        Condition::PathInTemp(field) => path_test(ctx, *field, out, path_in_temp),
        Condition::PathInUserWritable(field) => {
            path_test(ctx, *field, out, path_in_user_writable)
        }
        Condition::HasUrl(field) => {
            let mut hit = false;
            for (name, s) in ctx.values(*field) {
                if let Some(m) = URL.as_ref().and_then(|re| re.find(&s)) {
                    push_match(out, name, &s, m.start(), m.end());
                    hit = true;
                }
            }
            hit
        }
        Condition::RemoteIsPublic(want) => {
            let public = o
                .remote_address
                .as_deref()
                .and_then(|a| a.trim().trim_matches(['[', ']']).parse::<IpAddr>().ok())
                .is_some_and(is_public);
            if public && *want {
                let a = o.remote_address.as_deref().unwrap_or("");
                push_match(out, "remote_address", a, 0, a.len());
            }
            public == *want
        }
        Condition::Predicate(p) => predicate(*p, ctx, out),
    }
}

/// Image-name lists compare without `.exe`, so one list covers Windows and Unix names.
fn name_in(name: &str, names: &[String]) -> bool {
    let n = strip_exe(name);
    names.iter().any(|x| strip_exe(x) == n)
}

/// Path fields are tested as a whole; command lines and scripts by their path-like tokens.
fn path_test(ctx: &Ctx, field: Field, out: &mut Vec<MatchedValue>, test: fn(&str) -> bool) -> bool {
    let mut hit = false;
    let whole = matches!(
        field,
        Field::Image
            | Field::ParentImage
            | Field::ScriptPath
            | Field::FilePath
            | Field::Cwd
            | Field::AnyPath
    );
    for (name, s) in ctx.values(field) {
        if whole {
            if test(&s) {
                push_match(out, name, &s, 0, s.len());
                hit = true;
            }
        } else if let Some(tok) = path_tokens(&s).into_iter().find(|t| test(t)) {
            push_match(out, name, tok, 0, tok.len());
            hit = true;
        }
    }
    hit
}

/// A literal pattern: it always compiles (every test run checks it); `None` would only
/// disable `has_url`, never panic.
static URL: LazyLock<Option<Regex>> = LazyLock::new(|| {
    Regex::new(r#"(?i)\b(?:https?|ftps?|sftp|tftp)://[^\s'"<>`)]+"#).ok()
});

/// Not loopback, private, link-local, CGNAT, multicast, unspecified or documentation.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_multicast()
                || v4.is_broadcast()
                || v4.is_unspecified()
                || v4.is_documentation()
                || o[0] == 0
                || (o[0] == 100 && (64..128).contains(&o[1])))
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let s = v6.segments();
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00
                || (s[0] & 0xffc0) == 0xfe80
                || s[0] == 0x2001 && s[1] == 0x0db8)
        }
    }
}

fn is_system_account(s: &str) -> bool {
    let s = s.trim().to_ascii_lowercase();
    matches!(
        s.as_str(),
        "system" | "nt authority\\system" | "s-1-5-18" | "localsystem" | "root" | "0"
    ) || s.ends_with("\\system")
}

fn predicate(p: Predicate, ctx: &Ctx, out: &mut Vec<MatchedValue>) -> bool {
    let o = ctx.obs;
    let cmd = o.command_line.as_deref().unwrap_or("");
    let mut ps_flag = |name: &str, test: &dyn Fn(&PsInvocation) -> Option<String>| {
        let found = ctx.ps().iter().find_map(test);
        if let Some(v) = &found {
            out.push(MatchedValue {
                field: name.to_string(),
                value: snippet(v, 0, v.len(), MAX_MATCH_CHARS),
            });
        }
        found.is_some()
    };
    match p {
        Predicate::PsEncodedCommand => ps_flag("powershell -EncodedCommand", &|i| {
            i.encoded_command.clone()
        }),
        Predicate::PsHiddenWindow => ps_flag("powershell -WindowStyle", &|i| {
            i.hidden_window().then(|| i.window_style.clone().unwrap_or_default())
        }),
        Predicate::PsPolicyBypass => ps_flag("powershell -ExecutionPolicy", &|i| {
            i.policy_bypass()
                .then(|| i.execution_policy.clone().unwrap_or_default())
        }),
        Predicate::PsNoProfile => {
            ps_flag("powershell -NoProfile", &|i| i.no_profile.then(String::new))
        }
        Predicate::PsNonInteractive => ps_flag("powershell -NonInteractive", &|i| {
            i.non_interactive.then(String::new)
        }),
        Predicate::Base64Payload => {
            let script = o.script_text.as_deref().unwrap_or("");
            let found = decode::decode_script_literals(script, 1)
                .into_iter()
                .chain(decode::decode_script_literals(cmd, 1))
                .next();
            if let Some(d) = &found {
                out.push(MatchedValue {
                    field: "FromBase64String".into(),
                    value: snippet(&d.original, 0, 0, MAX_MATCH_CHARS),
                });
            }
            found.is_some()
        }
        Predicate::ImageFileless => o.image_fileless,
        Predicate::TaskHidden => o.task.as_ref().and_then(|t| t.hidden) == Some(true),
        Predicate::RunsAsSystem => {
            let who = o
                .task
                .as_ref()
                .and_then(|t| t.run_as.as_deref())
                .or(o.user.as_deref());
            match who {
                Some(w) if is_system_account(w) => {
                    out.push(MatchedValue {
                        field: "run_as".into(),
                        value: w.to_string(),
                    });
                    true
                }
                _ => false,
            }
        }
        Predicate::TaskRegisteredRecently => {
            match o.task.as_ref().and_then(|t| t.registration_time) {
                Some(t) if t <= ctx.now + chrono::Duration::days(1) && ctx.now - t <= ctx.recent => {
                    out.push(MatchedValue {
                        field: "registration_time".into(),
                        value: t.to_rfc3339(),
                    });
                    true
                }
                _ => false,
            }
        }
        Predicate::Decoded => o.derived.is_some(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_addresses() {
        for a in ["8.8.8.8", "2606:4700::1111", "::ffff:1.1.1.1"] {
            assert!(is_public(a.parse().unwrap()), "{a}");
        }
        for a in [
            "127.0.0.1", "10.1.2.3", "192.168.0.1", "172.16.0.1", "169.254.1.1", "100.64.0.1",
            "0.0.0.0", "::1", "fe80::1", "fd00::1", "::ffff:10.0.0.1", "224.0.0.1",
        ] {
            assert!(!is_public(a.parse().unwrap()), "{a}");
        }
    }

    #[test]
    fn system_accounts() {
        for a in ["SYSTEM", "NT AUTHORITY\\SYSTEM", "S-1-5-18", "root", "LocalSystem"] {
            assert!(is_system_account(a), "{a}");
        }
        assert!(!is_system_account("bob"));
    }
}
