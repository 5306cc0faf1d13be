//! Detection rules as data: the TOML schema, its typed form, and the loader.
//!
//! Rules are TOML files (`rules/*.toml`, embedded in the binary; more with `--rules PATH`),
//! deserialized with `deny_unknown_fields` into enums, so a typo in a key, a field name, a
//! severity or an observation kind fails at load with the file, the line and the reason
//! instead of silently never matching. The schema is documented in `rules/README.md` and at the
//! top of each built-in file. A rule is:
//!
//! ```toml
//! [[rule]]
//! id = "ps-encoded-command"            # unique, [a-z0-9._-]
//! title = "PowerShell with an encoded command"
//! description = "one line: why a responder should look"
//! techniques = ["T1059.001", "T1027"]
//! tactic = "execution"
//! severity = "high"                    # informational | low | medium | high | critical
//! applies_to = ["process", "process_event", "task_action"]
//! when = { all = [ { image_name_in = ["powershell.exe"] }, { predicate = "ps_encoded_command" } ] }
//! unless = { field = "command_line", contains = ["known-good"] }   # optional
//! ```
//!
//! A condition is exactly one of: `all = [..]`, `any = [..]`, `not = {..}`, a text matcher
//! `{ field = F, contains | startswith | endswith | equals | regex = [..], case_sensitive = false }`,
//! `{ field = F, longer_than = N }`, `{ image_name_in | parent_name_in | ancestor_name_in = [..] }`,
//! `{ path_in_temp | path_in_user_writable | has_url = F }`, `{ remote_is_public = true }`, or
//! `{ predicate = NAME }` (checks implemented in code where text matching is not enough).

use std::collections::HashSet;

use regex::{Regex, RegexBuilder};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::observation::ObservationKind;

/// How urgent a finding is. Ordered: `Critical` is the greatest.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Informational,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Informational => "informational",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

/// ATT&CK tactic of a rule (what the adversary achieves).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Tactic {
    Execution,
    Persistence,
    PrivilegeEscalation,
    DefenseEvasion,
    CredentialAccess,
    Discovery,
    LateralMovement,
    CommandAndControl,
}

impl Tactic {
    /// The ATT&CK tactic id (`TA0002` for execution).
    pub fn id(self) -> &'static str {
        match self {
            Tactic::Execution => "TA0002",
            Tactic::Persistence => "TA0003",
            Tactic::PrivilegeEscalation => "TA0004",
            Tactic::DefenseEvasion => "TA0005",
            Tactic::CredentialAccess => "TA0006",
            Tactic::Discovery => "TA0007",
            Tactic::LateralMovement => "TA0008",
            Tactic::CommandAndControl => "TA0011",
        }
    }
}

/// An observation field a matcher reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    Image,
    ImageName,
    CommandLine,
    /// argv joined with spaces.
    Argv,
    ParentImage,
    /// Lowercased basename of the parent image.
    ParentName,
    ParentCommandLine,
    User,
    Cwd,
    ScriptText,
    ScriptPath,
    FilePath,
    RemoteAddress,
    TaskName,
    TaskRunAs,
    TaskSchedule,
    /// What ran: the command line and the script text (each checked on its own).
    Text,
    /// Every path of the observation: image, script path, file path.
    AnyPath,
    /// The name the binary was built with (PE version resource, Sysmon `OriginalFileName`),
    /// lowercased.
    OriginalFileName,
    /// What the event acted on (target process image, registry key, pipe, URL, share, log).
    Target,
    /// More about it (registry value data, access mask, WMI query).
    Details,
}

impl Field {
    pub fn as_str(self) -> &'static str {
        match self {
            Field::Image => "image",
            Field::ImageName => "image_name",
            Field::CommandLine => "command_line",
            Field::Argv => "argv",
            Field::ParentImage => "parent_image",
            Field::ParentName => "parent_name",
            Field::ParentCommandLine => "parent_command_line",
            Field::User => "user",
            Field::Cwd => "cwd",
            Field::ScriptText => "script_text",
            Field::ScriptPath => "script_path",
            Field::FilePath => "file_path",
            Field::RemoteAddress => "remote_address",
            Field::TaskName => "task_name",
            Field::TaskRunAs => "task_run_as",
            Field::TaskSchedule => "task_schedule",
            Field::Text => "text",
            Field::AnyPath => "any_path",
            Field::OriginalFileName => "original_file_name",
            Field::Target => "target",
            Field::Details => "details",
        }
    }
}

/// Checks implemented in code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Predicate {
    /// A PowerShell invocation in the command line uses `-EncodedCommand` (any abbreviation).
    PsEncodedCommand,
    /// ... `-WindowStyle Hidden` (or `1`).
    PsHiddenWindow,
    /// ... `-ExecutionPolicy Bypass|Unrestricted`.
    PsPolicyBypass,
    PsNoProfile,
    PsNonInteractive,
    /// A `FromBase64String('...')` literal decodes to printable text.
    Base64Payload,
    /// The process image exists only in memory (memfd).
    ImageFileless,
    TaskHidden,
    /// The job runs as SYSTEM / LocalSystem / root.
    RunsAsSystem,
    /// The task was registered within the engine's "recent" window before the collection.
    TaskRegisteredRecently,
    /// The observation is a decoded payload of another one.
    Decoded,
    /// The binary's original file name (PE version resource) is not the name it runs under:
    /// a renamed system utility.
    ImageRenamed,
    /// A live process whose argv[0] claims another program than its image: a kernel-thread
    /// look-alike, a Windows name, a daemon's name or a temp path (Linux masquerading).
    Argv0Masquerade,
}

/// Text comparisons.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextOp {
    Contains,
    StartsWith,
    EndsWith,
    Equals,
}

/// A compiled condition.
#[derive(Debug, Clone)]
pub enum Condition {
    All(Vec<Condition>),
    Any(Vec<Condition>),
    Not(Box<Condition>),
    Text {
        field: Field,
        op: TextOp,
        /// Lowercased (ASCII) unless `case_sensitive`.
        values: Vec<String>,
        case_sensitive: bool,
    },
    Regex {
        field: Field,
        patterns: Vec<Regex>,
        case_insensitive: bool,
        /// Each pattern's index in the engine's [`super::engine::Engine`] pattern set, which
        /// tells in one scan of a value which patterns can match at all.
        set_ids: Vec<usize>,
    },
    LongerThan {
        field: Field,
        chars: usize,
    },
    ImageNameIn(Vec<String>),
    ParentNameIn(Vec<String>),
    AncestorNameIn(Vec<String>),
    PathInTemp(Field),
    PathInUserWritable(Field),
    HasUrl(Field),
    RemoteIsPublic(bool),
    Predicate(Predicate),
}

/// A loaded rule.
#[derive(Debug, Clone)]
pub struct Rule {
    pub id: String,
    pub title: String,
    pub description: String,
    pub techniques: Vec<String>,
    pub tactic: Tactic,
    pub severity: Severity,
    pub applies_to: Vec<ObservationKind>,
    pub when: Condition,
    pub unless: Option<Condition>,
    /// File the rule came from (`builtin:rules/powershell.toml` or the `--rules` path).
    pub origin: String,
    /// 1-based line of the rule's `[[rule]]` table.
    pub line: usize,
}

impl Rule {
    pub fn applies_to(&self, kind: ObservationKind) -> bool {
        self.applies_to.contains(&kind)
    }
}

/// A rule file that cannot be used, with where and why.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{origin}:{line}: {reason}")]
pub struct RuleError {
    pub origin: String,
    pub line: usize,
    pub reason: String,
}

// ---- the TOML schema ----------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFile {
    #[serde(default)]
    rule: Vec<toml::Spanned<RuleSpec>>,
    /// Known-benign entries (`[[allow]]`), read by [`super::allow::load_allows`].
    #[serde(default)]
    #[allow(dead_code)]
    allow: Option<serde::de::IgnoredAny>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleSpec {
    id: String,
    title: String,
    description: String,
    techniques: Vec<String>,
    tactic: Tactic,
    severity: Severity,
    applies_to: Vec<ObservationKind>,
    when: CondSpec,
    #[serde(default)]
    unless: Option<CondSpec>,
    /// Where to read more; kept for the report.
    #[serde(default)]
    #[allow(dead_code)]
    references: Vec<String>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct CondSpec {
    all: Option<Vec<CondSpec>>,
    any: Option<Vec<CondSpec>>,
    not: Option<Box<CondSpec>>,
    field: Option<Field>,
    contains: Option<Vec<String>>,
    startswith: Option<Vec<String>>,
    endswith: Option<Vec<String>>,
    equals: Option<Vec<String>>,
    regex: Option<Vec<String>>,
    longer_than: Option<usize>,
    case_sensitive: Option<bool>,
    image_name_in: Option<Vec<String>>,
    parent_name_in: Option<Vec<String>>,
    ancestor_name_in: Option<Vec<String>>,
    path_in_temp: Option<Field>,
    path_in_user_writable: Option<Field>,
    has_url: Option<Field>,
    remote_is_public: Option<bool>,
    predicate: Option<Predicate>,
}

/// Regexes in rules are user input: bound their compiled size.
const REGEX_SIZE_LIMIT: usize = 1 << 20;

pub(super) fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|b| **b == b'\n')
        .count()
        + 1
}

/// Parses one rule file. `origin` names it in errors and findings.
pub fn load_rules(text: &str, origin: &str) -> Result<Vec<Rule>, RuleError> {
    let err = |line: usize, reason: String| RuleError {
        origin: origin.to_string(),
        line,
        reason,
    };
    let file: RuleFile = toml::from_str(text).map_err(|e| {
        let line = e.span().map_or(0, |s| line_of(text, s.start));
        err(line, e.message().trim().to_string())
    })?;
    let mut seen = HashSet::new();
    let mut out = Vec::with_capacity(file.rule.len());
    for spanned in file.rule {
        let line = line_of(text, spanned.span().start);
        let spec = spanned.into_inner();
        let ctx = |reason: String| err(line, format!("rule `{}`: {reason}", spec.id));
        if spec.id.is_empty()
            || !spec
                .id
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "._-".contains(c))
        {
            return Err(ctx("id must be non-empty and use only a-z 0-9 . _ -".into()));
        }
        if !seen.insert(spec.id.clone()) {
            return Err(ctx("duplicate rule id".into()));
        }
        if spec.title.trim().is_empty() || spec.description.trim().is_empty() {
            return Err(ctx("title and description must not be empty".into()));
        }
        if spec.description.contains('\n') {
            return Err(ctx("description must be one line".into()));
        }
        if spec.techniques.is_empty() {
            return Err(ctx(
                "techniques must name at least one ATT&CK technique".into()
            ));
        }
        for t in &spec.techniques {
            if !valid_technique(t) {
                return Err(ctx(format!(
                    "technique `{t}` is not an ATT&CK id like T1059 or T1059.001"
                )));
            }
        }
        if spec.applies_to.is_empty() {
            return Err(ctx(
                "applies_to must list at least one observation kind".into()
            ));
        }
        let when = compile(&spec.when).map_err(|r| ctx(format!("when: {r}")))?;
        let unless = match &spec.unless {
            Some(u) => Some(compile(u).map_err(|r| ctx(format!("unless: {r}")))?),
            None => None,
        };
        out.push(Rule {
            id: spec.id,
            title: spec.title,
            description: spec.description,
            techniques: spec.techniques,
            tactic: spec.tactic,
            severity: spec.severity,
            applies_to: spec.applies_to,
            when,
            unless,
            origin: origin.to_string(),
            line,
        });
    }
    Ok(out)
}

fn valid_technique(t: &str) -> bool {
    let b = t.as_bytes();
    let digits = |s: &[u8]| s.iter().all(u8::is_ascii_digit);
    match b.len() {
        5 => b[0] == b'T' && digits(&b[1..5]),
        9 => b[0] == b'T' && digits(&b[1..5]) && b[5] == b'.' && digits(&b[6..9]),
        _ => false,
    }
}

fn compile(spec: &CondSpec) -> Result<Condition, String> {
    let mut kinds: Vec<&str> = Vec::new();
    let mut mark = |set: bool, name: &'static str| {
        if set {
            kinds.push(name);
        }
    };
    mark(spec.all.is_some(), "all");
    mark(spec.any.is_some(), "any");
    mark(spec.not.is_some(), "not");
    mark(spec.contains.is_some(), "contains");
    mark(spec.startswith.is_some(), "startswith");
    mark(spec.endswith.is_some(), "endswith");
    mark(spec.equals.is_some(), "equals");
    mark(spec.regex.is_some(), "regex");
    mark(spec.longer_than.is_some(), "longer_than");
    mark(spec.image_name_in.is_some(), "image_name_in");
    mark(spec.parent_name_in.is_some(), "parent_name_in");
    mark(spec.ancestor_name_in.is_some(), "ancestor_name_in");
    mark(spec.path_in_temp.is_some(), "path_in_temp");
    mark(
        spec.path_in_user_writable.is_some(),
        "path_in_user_writable",
    );
    mark(spec.has_url.is_some(), "has_url");
    mark(spec.remote_is_public.is_some(), "remote_is_public");
    mark(spec.predicate.is_some(), "predicate");
    let kind = match kinds.as_slice() {
        [one] => *one,
        [] => return Err("empty condition: expected one of all, any, not, contains, startswith, endswith, equals, regex, longer_than, image_name_in, parent_name_in, ancestor_name_in, path_in_temp, path_in_user_writable, has_url, remote_is_public, predicate".into()),
        many => return Err(format!("a condition has exactly one test, found {} (nest them in all/any)", many.join(", "))),
    };
    let text_op = matches!(
        kind,
        "contains" | "startswith" | "endswith" | "equals" | "regex" | "longer_than"
    );
    if text_op && spec.field.is_none() {
        return Err(format!("`{kind}` needs a `field`"));
    }
    if !text_op && spec.field.is_some() {
        return Err(format!("`field` does not apply to `{kind}`"));
    }
    if spec.case_sensitive.is_some() && !text_op {
        return Err(format!("`case_sensitive` does not apply to `{kind}`"));
    }
    let cs = spec.case_sensitive.unwrap_or(false);
    let field = spec.field.unwrap_or(Field::Text);
    let list = |name: &str, v: &Option<Vec<String>>| -> Result<Vec<String>, String> {
        let v = v.as_ref().map(Vec::as_slice).unwrap_or_default();
        if v.is_empty() || v.iter().any(|s| s.is_empty()) {
            return Err(format!(
                "`{name}` needs a non-empty list of non-empty strings"
            ));
        }
        Ok(v.to_vec())
    };
    let lower = |v: Vec<String>| -> Vec<String> {
        if cs {
            v
        } else {
            v.into_iter().map(|s| s.to_ascii_lowercase()).collect()
        }
    };
    let names =
        |v: Vec<String>| -> Vec<String> { v.into_iter().map(|s| s.to_lowercase()).collect() };
    let children = |v: &Option<Vec<CondSpec>>, name: &str| -> Result<Vec<Condition>, String> {
        let v = v.as_ref().map(Vec::as_slice).unwrap_or_default();
        if v.is_empty() {
            return Err(format!("`{name}` needs at least one condition"));
        }
        v.iter().map(compile).collect()
    };
    Ok(match kind {
        "all" => Condition::All(children(&spec.all, "all")?),
        "any" => Condition::Any(children(&spec.any, "any")?),
        "not" => Condition::Not(Box::new(compile(
            spec.not.as_deref().unwrap_or(&CondSpec::default()),
        )?)),
        "contains" | "startswith" | "endswith" | "equals" => {
            let (op, v) = match kind {
                "contains" => (TextOp::Contains, &spec.contains),
                "startswith" => (TextOp::StartsWith, &spec.startswith),
                "endswith" => (TextOp::EndsWith, &spec.endswith),
                _ => (TextOp::Equals, &spec.equals),
            };
            Condition::Text {
                field,
                op,
                values: lower(list(kind, v)?),
                case_sensitive: cs,
            }
        }
        "regex" => {
            let patterns = list("regex", &spec.regex)?
                .iter()
                .map(|p| {
                    // ASCII word boundaries: Unicode ones make every regex slow on
                    // non-ASCII text (see `text::pattern`).
                    RegexBuilder::new(&crate::text::pattern::ascii_word_boundaries(p))
                        .case_insensitive(!cs)
                        .size_limit(REGEX_SIZE_LIMIT)
                        .build()
                        .map_err(|e| format!("bad regex `{p}`: {e}"))
                })
                .collect::<Result<Vec<_>, _>>()?;
            Condition::Regex {
                field,
                patterns,
                case_insensitive: !cs,
                set_ids: Vec::new(),
            }
        }
        "longer_than" => Condition::LongerThan {
            field,
            chars: spec.longer_than.unwrap_or(0),
        },
        "image_name_in" => Condition::ImageNameIn(names(list(kind, &spec.image_name_in)?)),
        "parent_name_in" => Condition::ParentNameIn(names(list(kind, &spec.parent_name_in)?)),
        "ancestor_name_in" => Condition::AncestorNameIn(names(list(kind, &spec.ancestor_name_in)?)),
        "path_in_temp" => Condition::PathInTemp(spec.path_in_temp.unwrap_or(Field::AnyPath)),
        "path_in_user_writable" => {
            Condition::PathInUserWritable(spec.path_in_user_writable.unwrap_or(Field::AnyPath))
        }
        "has_url" => Condition::HasUrl(spec.has_url.unwrap_or(Field::Text)),
        "remote_is_public" => Condition::RemoteIsPublic(spec.remote_is_public.unwrap_or(true)),
        _ => Condition::Predicate(spec.predicate.unwrap_or(Predicate::Decoded)),
    })
}

/// The built-in rule files, embedded at build time: `(origin, text)`.
pub const BUILTIN_RULE_FILES: &[(&str, &str)] = &[
    (
        "builtin:rules/powershell.toml",
        include_str!("../../rules/powershell.toml"),
    ),
    (
        "builtin:rules/lolbins.toml",
        include_str!("../../rules/lolbins.toml"),
    ),
    (
        "builtin:rules/parents.toml",
        include_str!("../../rules/parents.toml"),
    ),
    (
        "builtin:rules/locations.toml",
        include_str!("../../rules/locations.toml"),
    ),
    (
        "builtin:rules/scheduled.toml",
        include_str!("../../rules/scheduled.toml"),
    ),
    (
        "builtin:rules/unix.toml",
        include_str!("../../rules/unix.toml"),
    ),
    (
        "builtin:rules/linux.toml",
        include_str!("../../rules/linux.toml"),
    ),
    (
        "builtin:rules/know_normal.toml",
        include_str!("../../rules/know_normal.toml"),
    ),
    (
        "builtin:rules/events.toml",
        include_str!("../../rules/events.toml"),
    ),
];

/// The built-in known-benign list (`[[allow]]` entries), embedded like the rules.
pub const BUILTIN_ALLOW_FILE: (&str, &str) = (
    "builtin:rules/allowlist.toml",
    include_str!("../../rules/allowlist.toml"),
);

/// All built-in rules. An error here is a bug in a shipped rule file (a test loads them).
pub fn builtin_rules() -> Result<Vec<Rule>, RuleError> {
    let mut all = Vec::new();
    for (origin, text) in BUILTIN_RULE_FILES {
        all.extend(load_rules(text, origin)?);
    }
    check_unique(&all)?;
    Ok(all)
}

/// Rule ids must be unique across every loaded file (findings are keyed by id).
pub fn check_unique(rules: &[Rule]) -> Result<(), RuleError> {
    let mut seen: HashSet<&str> = HashSet::new();
    for r in rules {
        if !seen.insert(&r.id) {
            return Err(RuleError {
                origin: r.origin.clone(),
                line: r.line,
                reason: format!("rule `{}`: id already used by another rule file", r.id),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
[[rule]]
id = "t-1"
title = "T"
description = "d"
techniques = ["T1059.001"]
tactic = "execution"
severity = "high"
applies_to = ["process"]
when = { all = [ { image_name_in = ["powershell.exe"] }, { field = "text", contains = ["IEX"] } ] }
"#;

    #[test]
    fn loads_a_rule() {
        let r = load_rules(GOOD, "x.toml").unwrap();
        assert_eq!(r.len(), 1);
        assert_eq!(r[0].line, 2);
        match &r[0].when {
            Condition::All(v) => match &v[1] {
                Condition::Text { values, .. } => assert_eq!(values, &["iex"]),
                other => panic!("{other:?}"),
            },
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn typos_fail_with_line_and_reason() {
        let bad = GOOD.replace("contains", "contain");
        let e = load_rules(&bad, "x.toml").unwrap_err();
        assert_eq!(e.origin, "x.toml");
        assert_eq!(e.line, 10, "{e}");
        assert!(e.reason.contains("contain"), "{e}");

        let bad = GOOD.replace("\"text\"", "\"txet\"");
        let e = load_rules(&bad, "x.toml").unwrap_err();
        assert_eq!(e.line, 10, "{e}");
        assert!(e.reason.contains("txet"), "{e}");

        let bad = GOOD.replace("\"high\"", "\"hihg\"");
        let e = load_rules(&bad, "x.toml").unwrap_err();
        assert_eq!(e.line, 8, "{e}");

        let bad = GOOD.replace("[\"process\"]", "[\"proces\"]");
        assert_eq!(load_rules(&bad, "x.toml").unwrap_err().line, 9);

        let bad = GOOD.replace("T1059.001", "T159");
        let e = load_rules(&bad, "x.toml").unwrap_err();
        assert_eq!(e.line, 2);
        assert!(e.reason.contains("T159"), "{e}");

        let bad = GOOD.replace(
            "contains = [\"IEX\"]",
            "contains = [\"IEX\"], regex = [\"x\"]",
        );
        let e = load_rules(&bad, "x.toml").unwrap_err();
        assert!(e.reason.contains("exactly one"), "{e}");

        let bad = GOOD.replace("contains = [\"IEX\"]", "regex = [\"(\"]");
        assert!(
            load_rules(&bad, "x.toml")
                .unwrap_err()
                .reason
                .contains("bad regex")
        );

        let twice = format!("{GOOD}{GOOD}");
        let e = load_rules(&twice, "x.toml").unwrap_err();
        assert!(e.reason.contains("duplicate"), "{e}");
        assert_eq!(e.line, 12);

        let e = load_rules("[[rule]]\nid = 1\n", "y.toml").unwrap_err();
        assert_eq!(e.line, 2, "{e}");
        assert!(e.to_string().starts_with("y.toml:2: "), "{e}");
    }

    #[test]
    fn builtin_rules_load() {
        let rules = builtin_rules().unwrap();
        assert!(rules.len() >= 30, "{}", rules.len());
    }

    /// Every regex of every built-in rule: no Unicode word boundary is left (with one, the
    /// engine's pattern set ran for seconds per 100 KB of non-ASCII command line).
    #[test]
    fn rule_regexes_have_ascii_word_boundaries() {
        fn patterns(c: &Condition, out: &mut Vec<String>) {
            match c {
                Condition::All(v) | Condition::Any(v) => v.iter().for_each(|c| patterns(c, out)),
                Condition::Not(c) => patterns(c, out),
                Condition::Regex { patterns: p, .. } => {
                    out.extend(p.iter().map(|r| r.as_str().to_string()))
                }
                _ => {}
            }
        }
        let mut all = Vec::new();
        for r in builtin_rules().unwrap() {
            patterns(&r.when, &mut all);
            if let Some(u) = &r.unless {
                patterns(u, &mut all);
            }
        }
        assert!(all.iter().any(|p| p.contains("(?-u:\\b)")));
        for p in &all {
            let bare = p.replace("(?-u:\\b)", "").replace("(?-u:\\B)", "");
            assert_eq!(
                crate::text::pattern::ascii_word_boundaries(&bare),
                bare.as_str(),
                "{p}"
            );
        }
        let text = GOOD.replace(
            "{ field = \"text\", contains = [\"IEX\"] }",
            "{ field = \"text\", regex = ['\\biex\\b'] }",
        );
        match &load_rules(&text, "x.toml").unwrap()[0].when {
            Condition::All(v) => match &v[1] {
                Condition::Regex { patterns, .. } => {
                    assert_eq!(patterns[0].as_str(), "(?-u:\\b)iex(?-u:\\b)");
                    assert!(patterns[0].is_match("é IEX ("));
                }
                other => panic!("{other:?}"),
            },
            other => panic!("{other:?}"),
        }
    }
}
