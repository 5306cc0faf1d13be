//! A Sigma rule file parsed into metadata, detection items and a condition.
//!
//! Parsing is strict about what irsnap can evaluate: anything it cannot (an unknown modifier,
//! an aggregation, a correlation or meta-filter document, a multi-document rule collection)
//! turns into [`RuleProblem::Unsupported`] with the reason, and a file that is not a valid
//! Sigma rule into [`RuleProblem::Invalid`]. Nothing is dropped silently.
//! Reference: Sigma rules specification v2 (sigma-specification, `specification/sigma-rules-
//! specification.md`).

use serde::{Deserialize, Serialize};
use serde_norway::Value;

use super::condition::{self, ConditionError, Expr};
use super::matcher::{self, ModifierError, Modifiers, Scalar, Test};

/// Rule files larger than this are refused (SigmaHQ's largest rule is ~30 KiB).
pub const MAX_RULE_BYTES: usize = 1024 * 1024;

/// The `logsource` block.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogSource {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub product: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
}

/// A rule's descriptive fields (DRL 1.1: id and author travel with every finding).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleMeta {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    pub title: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    /// `informational`, `low`, `medium`, `high` or `critical` (lower-cased).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub level: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub references: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub falsepositives: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub modified: Option<String>,
    pub logsource: LogSource,
}

/// One field test of a detection map: `CommandLine|contains|all: [...]`.
#[derive(Debug, Clone)]
pub(crate) struct FieldCond {
    /// The field name as written in the rule.
    pub(crate) field: String,
    pub(crate) mods: Modifiers,
    /// One group per rule value (`base64offset` makes three tests of one value).
    pub(crate) groups: Vec<Vec<Test>>,
}

/// A named detection item.
#[derive(Debug, Clone)]
pub(crate) enum Item {
    /// A map: every field condition holds.
    All(Vec<FieldCond>),
    /// A list: any element holds.
    Any(Vec<Item>),
    /// Keywords: any (or all, with `|all`) of the values occurs in the event's text.
    Keywords { groups: Vec<Vec<Test>>, all: bool },
}

/// A rule ready to evaluate.
#[derive(Debug, Clone)]
pub struct Rule {
    pub meta: RuleMeta,
    /// Where it was loaded from (as given to the loader).
    pub origin: String,
    pub(crate) names: Vec<String>,
    pub(crate) items: Vec<Item>,
    pub(crate) condition: Expr,
}

impl Rule {
    /// The detection item names (`selection`, `filter_main_*`, ...) in definition order.
    pub fn item_names(&self) -> &[String] {
        &self.names
    }
}

/// Why a rule file did not become a [`Rule`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuleProblem {
    /// Valid Sigma irsnap cannot evaluate; `meta` says which rule.
    Unsupported { meta: Box<RuleMeta>, reason: String },
    /// Not a valid Sigma rule.
    Invalid(String),
}

fn unsupported(meta: &RuleMeta, reason: impl Into<String>) -> RuleProblem {
    RuleProblem::Unsupported {
        meta: Box::new(meta.clone()),
        reason: reason.into(),
    }
}

fn scalar_string(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Tagged(t) => scalar_string(&t.value),
        _ => None,
    }
}

fn get<'a>(doc: &'a Value, key: &str) -> Option<&'a Value> {
    doc.as_mapping()?.get(key)
}

fn string_list(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::Sequence(s)) => s.iter().filter_map(scalar_string).collect(),
        Some(v) => scalar_string(v).into_iter().collect(),
        None => Vec::new(),
    }
}

fn meta_of(doc: &Value) -> RuleMeta {
    let s = |k: &str| get(doc, k).and_then(scalar_string);
    let ls = get(doc, "logsource");
    let lss = |k: &str| {
        ls.and_then(|l| get(l, k))
            .and_then(scalar_string)
            .map(|v| v.trim().to_ascii_lowercase())
    };
    RuleMeta {
        id: s("id"),
        title: s("title").unwrap_or_default(),
        author: s("author"),
        level: s("level").map(|l| l.trim().to_ascii_lowercase()),
        status: s("status"),
        description: s("description"),
        tags: string_list(get(doc, "tags")),
        references: string_list(get(doc, "references")),
        falsepositives: string_list(get(doc, "falsepositives")),
        date: s("date"),
        modified: s("modified"),
        logsource: LogSource {
            category: lss("category"),
            product: lss("product"),
            service: lss("service"),
        },
    }
}

/// Parse one rule file's text. `origin` names it in reports.
pub fn parse_rule(text: &str, origin: &str) -> Result<Rule, RuleProblem> {
    if text.len() > MAX_RULE_BYTES {
        return Err(RuleProblem::Invalid(format!(
            "file larger than {MAX_RULE_BYTES} bytes"
        )));
    }
    let mut docs = Vec::new();
    for d in serde_norway::Deserializer::from_str(text) {
        let v = Value::deserialize(d).map_err(|e| RuleProblem::Invalid(format!("YAML: {e}")))?;
        if !v.is_null() {
            docs.push(v);
        }
    }
    let Some(doc) = docs.first() else {
        return Err(RuleProblem::Invalid("empty file".to_string()));
    };
    if !doc.is_mapping() {
        return Err(RuleProblem::Invalid("not a YAML mapping".to_string()));
    }
    let meta = meta_of(doc);
    if docs.len() > 1 || get(doc, "action").is_some() {
        return Err(unsupported(
            &meta,
            "rule collection (multi-document YAML / action:) is not supported; split it into single rules",
        ));
    }
    if get(doc, "correlation").is_some() {
        return Err(unsupported(
            &meta,
            "correlation rule: needs many events over time",
        ));
    }
    if get(doc, "filter").is_some() && get(doc, "detection").is_none() {
        return Err(unsupported(
            &meta,
            "meta filter (Sigma filters apply to other rules in a pipeline)",
        ));
    }
    if meta.title.trim().is_empty() {
        return Err(RuleProblem::Invalid("missing title".to_string()));
    }
    let Some(Value::Mapping(det)) = get(doc, "detection") else {
        return Err(RuleProblem::Invalid(
            "missing or malformed detection".to_string(),
        ));
    };
    let mut names = Vec::new();
    let mut items = Vec::new();
    let mut cond_text: Option<Vec<String>> = None;
    for (k, v) in det {
        let Some(name) = scalar_string(k) else {
            return Err(RuleProblem::Invalid(
                "detection key is not a string".to_string(),
            ));
        };
        match name.as_str() {
            "condition" => {
                cond_text = Some(match v {
                    Value::Sequence(s) => s.iter().filter_map(scalar_string).collect(),
                    other => scalar_string(other).into_iter().collect(),
                });
            }
            // Only meaningful with aggregations, which are refused in the condition.
            "timeframe" => {}
            _ => {
                let item = parse_item(v).map_err(|e| match e {
                    ItemError::Unsupported(r) => {
                        unsupported(&meta, format!("detection item '{name}': {r}"))
                    }
                    ItemError::Invalid(r) => {
                        RuleProblem::Invalid(format!("detection item '{name}': {r}"))
                    }
                })?;
                names.push(name);
                items.push(item);
            }
        }
    }
    let conds = cond_text
        .filter(|c| !c.is_empty())
        .ok_or_else(|| RuleProblem::Invalid("detection has no condition".to_string()))?;
    // A list of conditions means any of them (Sigma v1).
    let mut exprs = Vec::new();
    for c in &conds {
        exprs.push(condition::parse(c, &names).map_err(|e| match e {
            ConditionError::Unsupported(r) => unsupported(&meta, format!("condition: {r}")),
            ConditionError::Invalid(r) => RuleProblem::Invalid(format!("condition: {r}")),
        })?);
    }
    let condition = if exprs.len() == 1 {
        exprs.remove(0)
    } else {
        Expr::Or(exprs)
    };
    Ok(Rule {
        meta,
        origin: origin.to_string(),
        names,
        items,
        condition,
    })
}

enum ItemError {
    Unsupported(String),
    Invalid(String),
}

impl From<ModifierError> for ItemError {
    fn from(e: ModifierError) -> Self {
        match e {
            ModifierError::BadValue(m) => ItemError::Invalid(m),
            other => ItemError::Unsupported(other.to_string()),
        }
    }
}

fn to_scalar(v: &Value) -> Result<Scalar, ItemError> {
    Ok(match v {
        Value::Null => Scalar::Null,
        Value::Bool(b) => Scalar::Bool(*b),
        Value::Number(n) => Scalar::Num(n.to_string()),
        Value::String(s) => Scalar::Str(s.clone()),
        Value::Tagged(t) => return to_scalar(&t.value),
        Value::Sequence(_) | Value::Mapping(_) => {
            return Err(ItemError::Invalid(
                "a value must be a scalar or a list of scalars".to_string(),
            ));
        }
    })
}

fn values(v: &Value) -> Result<Vec<Scalar>, ItemError> {
    match v {
        Value::Sequence(s) => s.iter().map(to_scalar).collect(),
        other => Ok(vec![to_scalar(other)?]),
    }
}

fn compile_values(mods: &Modifiers, v: &Value) -> Result<Vec<Vec<Test>>, ItemError> {
    let vals = values(v)?;
    if vals.is_empty() {
        return Err(ItemError::Invalid("empty value list".to_string()));
    }
    vals.iter()
        .map(|s| matcher::compile(mods, s).map_err(ItemError::from))
        .collect()
}

fn parse_item(v: &Value) -> Result<Item, ItemError> {
    match v {
        Value::Mapping(m) => {
            if m.is_empty() {
                return Err(ItemError::Invalid("empty map".to_string()));
            }
            let mut conds = Vec::new();
            for (k, val) in m {
                let key = scalar_string(k)
                    .ok_or_else(|| ItemError::Invalid("field name is not a string".to_string()))?;
                let mut parts = key.split('|');
                let field = parts.next().unwrap_or_default().to_string();
                let mods_list: Vec<&str> = parts.collect();
                let mods = Modifiers::parse(&mods_list)?;
                let groups = compile_values(&mods, val)?;
                // An empty field name (`'|contains': [...]`) searches the keyword text.
                conds.push(FieldCond {
                    field,
                    mods,
                    groups,
                });
            }
            Ok(Item::All(conds))
        }
        Value::Sequence(seq) => {
            if seq.is_empty() {
                return Err(ItemError::Invalid("empty list".to_string()));
            }
            if seq.iter().all(|x| !x.is_mapping() && !x.is_sequence()) {
                let mods = Modifiers::parse(&["contains"])?;
                let groups = compile_values(&mods, v)?;
                return Ok(Item::Keywords { groups, all: false });
            }
            let mut alts = Vec::new();
            for x in seq {
                alts.push(parse_item(x)?);
            }
            Ok(Item::Any(alts))
        }
        Value::Tagged(t) => parse_item(&t.value),
        Value::Null => Err(ItemError::Invalid("empty detection item".to_string())),
        scalar => {
            // A single keyword.
            let mods = Modifiers::parse(&["contains"])?;
            let groups = compile_values(&mods, scalar)?;
            Ok(Item::Keywords { groups, all: false })
        }
    }
}
