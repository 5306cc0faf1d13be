//! Evaluating a parsed rule on one event, and recording which values made it match.

use std::cell::{OnceCell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;

use serde::{Deserialize, Serialize};

use super::condition::Expr;
use super::event::SigmaEvent;
use super::matcher::{FieldText, Span, Test, fieldref_match};
use super::rule::{FieldCond, Item, Rule};
use crate::text::floor_char_boundary;

/// Longest matched value kept in a finding; longer values (a whole script block) are cut to a
/// window around the match. The full value stays in the record the caller references.
const SNIPPET_BYTES: usize = 400;

/// A field value that made a rule match.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MatchedField {
    /// Field name as the rule writes it; `keywords` for keyword searches.
    pub field: String,
    /// The event's value (a window around the match when long, marked with `…`).
    pub value: String,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub value_truncated: bool,
    /// What the rule asked for that matched (`contains 'IEX ('`).
    pub matched: Vec<String>,
}

/// One event's field values, looked up once and shared by every rule evaluated on it.
pub(crate) struct Ctx<'e> {
    ev: &'e dyn SigmaEvent,
    fields: RefCell<HashMap<String, Rc<Vec<FieldText<'e>>>>>,
    keywords: OnceCell<Rc<Vec<FieldText<'e>>>>,
}

impl<'e> Ctx<'e> {
    pub(crate) fn new(ev: &'e dyn SigmaEvent) -> Self {
        Ctx {
            ev,
            fields: RefCell::new(HashMap::new()),
            keywords: OnceCell::new(),
        }
    }

    fn values(&self, field: &str) -> Rc<Vec<FieldText<'e>>> {
        if field.is_empty() {
            return self
                .keywords
                .get_or_init(|| {
                    Rc::new(self.ev.keywords().into_iter().map(FieldText::new).collect())
                })
                .clone();
        }
        let key = field.to_ascii_lowercase();
        if let Some(v) = self.fields.borrow().get(&key) {
            return v.clone();
        }
        let vals: Rc<Vec<FieldText<'e>>> = Rc::new(
            self.ev
                .field_values(field)
                .into_iter()
                .map(FieldText::new)
                .collect(),
        );
        self.fields.borrow_mut().insert(key, vals.clone());
        vals
    }
}

/// Evaluate `rule` on the event; `Some(matched values)` when it fires.
pub(crate) fn evaluate(rule: &Rule, ctx: &Ctx<'_>) -> Option<Vec<MatchedField>> {
    let mut memo: Vec<Option<bool>> = vec![None; rule.items.len()];
    if !eval_expr(&rule.condition, rule, ctx, &mut memo) {
        return None;
    }
    let mut out = Vec::new();
    collect(&rule.condition, true, rule, ctx, &mut memo, &mut out);
    Some(out)
}

fn item_value(i: usize, rule: &Rule, ctx: &Ctx<'_>, memo: &mut [Option<bool>]) -> bool {
    if let Some(v) = memo.get(i).copied().flatten() {
        return v;
    }
    let v = rule
        .items
        .get(i)
        .is_some_and(|item| eval_item(item, ctx, None));
    if let Some(m) = memo.get_mut(i) {
        *m = Some(v);
    }
    v
}

fn eval_expr(e: &Expr, rule: &Rule, ctx: &Ctx<'_>, memo: &mut [Option<bool>]) -> bool {
    match e {
        Expr::Item(i) => item_value(*i, rule, ctx, memo),
        Expr::Not(x) => !eval_expr(x, rule, ctx, memo),
        Expr::And(xs) => xs.iter().all(|x| eval_expr(x, rule, ctx, memo)),
        Expr::Or(xs) => xs.iter().any(|x| eval_expr(x, rule, ctx, memo)),
        Expr::AnyOf(is) => is.iter().any(|i| item_value(*i, rule, ctx, memo)),
        Expr::AllOf(is) => is.iter().all(|i| item_value(*i, rule, ctx, memo)),
    }
}

/// Gather the values of the items that hold on the positive side of the condition (what a
/// `not filter` excluded is not evidence).
fn collect(
    e: &Expr,
    positive: bool,
    rule: &Rule,
    ctx: &Ctx<'_>,
    memo: &mut [Option<bool>],
    out: &mut Vec<MatchedField>,
) {
    let take = |i: usize, memo: &mut [Option<bool>], out: &mut Vec<MatchedField>| {
        if positive
            && item_value(i, rule, ctx, memo)
            && let Some(item) = rule.items.get(i)
        {
            eval_item(item, ctx, Some(out));
        }
    };
    match e {
        Expr::Item(i) => take(*i, memo, out),
        Expr::Not(x) => collect(x, !positive, rule, ctx, memo, out),
        Expr::And(xs) | Expr::Or(xs) => {
            for x in xs {
                collect(x, positive, rule, ctx, memo, out);
            }
        }
        Expr::AnyOf(is) | Expr::AllOf(is) => {
            for i in is {
                take(*i, memo, out);
            }
        }
    }
}

fn eval_item(item: &Item, ctx: &Ctx<'_>, mut capture: Option<&mut Vec<MatchedField>>) -> bool {
    match item {
        Item::All(conds) => {
            if !conds.iter().all(|c| eval_cond(c, ctx, None)) {
                return false;
            }
            if let Some(out) = capture {
                for c in conds {
                    eval_cond(c, ctx, Some(out));
                }
            }
            true
        }
        Item::Any(alts) => match alts.iter().find(|a| eval_item(a, ctx, None)) {
            Some(a) => {
                if let Some(out) = capture.as_deref_mut() {
                    eval_item(a, ctx, Some(out));
                }
                true
            }
            None => false,
        },
        Item::Keywords { groups, all } => {
            let vals = ctx.values("");
            match_groups("keywords", groups, *all, &vals, ctx, capture)
        }
    }
}

fn eval_cond(c: &FieldCond, ctx: &Ctx<'_>, capture: Option<&mut Vec<MatchedField>>) -> bool {
    let vals = ctx.values(&c.field);
    let label = if c.field.is_empty() {
        "keywords"
    } else {
        c.field.as_str()
    };
    match_groups(label, &c.groups, c.mods.all, &vals, ctx, capture)
}

/// One hit: which value (index into the field's values; `None` when the test is about
/// absence) matched which test, where.
struct Hit {
    value: Option<usize>,
    span: Span,
    shown: String,
}

fn group_hit(group: &[Test], vals: &[FieldText<'_>], ctx: &Ctx<'_>) -> Option<Hit> {
    for t in group {
        match t {
            Test::Null => {
                if vals.is_empty() {
                    return Some(Hit {
                        value: None,
                        span: None,
                        shown: t.shown(),
                    });
                }
                if let Some(i) = vals.iter().position(|v| v.text.is_empty()) {
                    return Some(Hit {
                        value: Some(i),
                        span: None,
                        shown: t.shown(),
                    });
                }
            }
            Test::Exists(want) => {
                if *want != vals.is_empty() {
                    return Some(Hit {
                        value: (!vals.is_empty()).then_some(0),
                        span: None,
                        shown: t.shown(),
                    });
                }
            }
            Test::FieldRef { field, mode, cased } => {
                let other = ctx.values(field);
                for (i, v) in vals.iter().enumerate() {
                    if other
                        .iter()
                        .any(|o| fieldref_match(&v.text, &o.text, *mode, *cased))
                    {
                        return Some(Hit {
                            value: Some(i),
                            span: None,
                            shown: t.shown(),
                        });
                    }
                }
            }
            _ => {
                for (i, v) in vals.iter().enumerate() {
                    if let Some(span) = t.matches(v) {
                        return Some(Hit {
                            value: Some(i),
                            span,
                            shown: t.shown(),
                        });
                    }
                }
            }
        }
    }
    None
}

fn match_groups(
    label: &str,
    groups: &[Vec<Test>],
    all: bool,
    vals: &[FieldText<'_>],
    ctx: &Ctx<'_>,
    capture: Option<&mut Vec<MatchedField>>,
) -> bool {
    let Some(out) = capture else {
        return if all {
            groups.iter().all(|g| group_hit(g, vals, ctx).is_some())
        } else {
            groups.iter().any(|g| group_hit(g, vals, ctx).is_some())
        };
    };
    let mut hits = Vec::new();
    for g in groups {
        match group_hit(g, vals, ctx) {
            Some(h) => {
                hits.push(h);
                if !all {
                    break;
                }
            }
            None if all => return false,
            None => {}
        }
    }
    if hits.is_empty() {
        return false;
    }
    for h in hits {
        let (value, truncated) = match h.value.and_then(|i| vals.get(i)) {
            Some(v) => snippet(&v.text, h.span),
            None => (String::new(), false),
        };
        match out
            .iter_mut()
            .find(|m| m.field == label && (m.value == value || value.is_empty()))
        {
            Some(m) => {
                if !m.matched.contains(&h.shown) {
                    m.matched.push(h.shown);
                }
            }
            None => out.push(MatchedField {
                field: label.to_string(),
                value,
                value_truncated: truncated,
                matched: vec![h.shown],
            }),
        }
    }
    true
}

/// The value, or a window of it around the match when it is long.
fn snippet(text: &str, span: Span) -> (String, bool) {
    if text.len() <= SNIPPET_BYTES {
        return (text.to_string(), false);
    }
    let center = span.map_or(0, |(s, _)| s);
    let start = floor_char_boundary(text, center.saturating_sub(SNIPPET_BYTES / 4));
    let end = floor_char_boundary(text, (start + SNIPPET_BYTES).min(text.len()));
    let mut s = String::with_capacity(end - start + 8);
    if start > 0 {
        s.push('…');
    }
    s.push_str(&text[start..end]);
    if end < text.len() {
        s.push('…');
    }
    (s, true)
}
