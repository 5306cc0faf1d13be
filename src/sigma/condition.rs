//! The Sigma condition language: `selection and not 1 of filter_*`, parentheses, `all of them`.
//!
//! Grammar (Sigma specification, "Condition"), lowest precedence first:
//! ```text
//! expr    := and ("or" and)*
//! and     := unary ("and" unary)*
//! unary   := "not" unary | primary
//! primary := "(" expr ")" | ("1" | "any" | "all") "of" (pattern | "them") | identifier
//! ```
//! Identifiers name detection items; a pattern may use `*` as a wildcard. Aggregations
//! (`| count() by x > 5`) and `near` are not evaluable on single events and are reported as
//! unsupported, never ignored.

use std::fmt;

use crate::text::glob::star_match;

/// A parsed condition with identifiers resolved to detection item indexes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Expr {
    Item(usize),
    Not(Box<Expr>),
    And(Vec<Expr>),
    Or(Vec<Expr>),
    /// `1 of x*` / `1 of them` (true when any item holds).
    AnyOf(Vec<usize>),
    /// `all of x*` / `all of them`.
    AllOf(Vec<usize>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum ConditionError {
    /// Valid Sigma that irsnap cannot evaluate on one event (aggregation, `near`).
    Unsupported(String),
    /// Not valid Sigma: the rule is broken.
    Invalid(String),
}

impl fmt::Display for ConditionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConditionError::Unsupported(m) | ConditionError::Invalid(m) => f.write_str(m),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    LParen,
    RParen,
    And,
    Or,
    Not,
    Of,
    One,
    All,
    Them,
    Pipe,
    Ident(String),
}

fn lex(s: &str) -> Result<Vec<Tok>, ConditionError> {
    let mut out = Vec::new();
    let mut chars = s.char_indices().peekable();
    while let Some(&(i, c)) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
            continue;
        }
        match c {
            '(' => {
                out.push(Tok::LParen);
                chars.next();
            }
            ')' => {
                out.push(Tok::RParen);
                chars.next();
            }
            '|' => {
                out.push(Tok::Pipe);
                chars.next();
            }
            _ => {
                let mut end = i;
                while let Some(&(j, d)) = chars.peek() {
                    if d.is_whitespace() || matches!(d, '(' | ')' | '|') {
                        break;
                    }
                    end = j + d.len_utf8();
                    chars.next();
                }
                let word = &s[i..end];
                out.push(match word.to_ascii_lowercase().as_str() {
                    "and" => Tok::And,
                    "or" => Tok::Or,
                    "not" => Tok::Not,
                    "of" => Tok::Of,
                    "1" | "any" => Tok::One,
                    "all" => Tok::All,
                    "them" => Tok::Them,
                    "near" => {
                        return Err(ConditionError::Unsupported(
                            "'near' (temporal proximity) is not evaluable on single events"
                                .to_string(),
                        ));
                    }
                    _ => Tok::Ident(word.to_string()),
                });
            }
        }
    }
    Ok(out)
}

/// Deepest nesting of parentheses/`not` accepted: a hostile rule must not exhaust the stack.
const MAX_DEPTH: usize = 64;

struct Parser<'a> {
    toks: Vec<Tok>,
    pos: usize,
    names: &'a [String],
    depth: usize,
}

/// Parse `cond` against the detection item names (in definition order).
pub(crate) fn parse(cond: &str, names: &[String]) -> Result<Expr, ConditionError> {
    let toks = lex(cond)?;
    if toks.contains(&Tok::Pipe) {
        return Err(ConditionError::Unsupported(
            "aggregation ('| count() ...') needs many events; irsnap evaluates one event at a time"
                .to_string(),
        ));
    }
    if toks.is_empty() {
        return Err(ConditionError::Invalid("empty condition".to_string()));
    }
    let mut p = Parser {
        toks,
        pos: 0,
        names,
        depth: 0,
    };
    let e = p.or()?;
    if p.pos != p.toks.len() {
        return Err(ConditionError::Invalid(format!(
            "unexpected {:?} in condition '{cond}'",
            p.toks[p.pos]
        )));
    }
    Ok(e)
}

impl Parser<'_> {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }

    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.pos).cloned();
        self.pos += 1;
        t
    }

    fn or(&mut self) -> Result<Expr, ConditionError> {
        let mut parts = vec![self.and()?];
        while self.peek() == Some(&Tok::Or) {
            self.pos += 1;
            parts.push(self.and()?);
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Expr::Or(parts)
        })
    }

    fn and(&mut self) -> Result<Expr, ConditionError> {
        let mut parts = vec![self.unary()?];
        while self.peek() == Some(&Tok::And) {
            self.pos += 1;
            parts.push(self.unary()?);
        }
        Ok(if parts.len() == 1 {
            parts.remove(0)
        } else {
            Expr::And(parts)
        })
    }

    fn unary(&mut self) -> Result<Expr, ConditionError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(ConditionError::Invalid(format!(
                "condition nested deeper than {MAX_DEPTH} levels"
            )));
        }
        let e = if self.peek() == Some(&Tok::Not) {
            self.pos += 1;
            self.unary().map(|x| Expr::Not(Box::new(x)))
        } else {
            self.primary()
        };
        self.depth -= 1;
        e
    }

    fn primary(&mut self) -> Result<Expr, ConditionError> {
        match self.next() {
            Some(Tok::LParen) => {
                let e = self.or()?;
                match self.next() {
                    Some(Tok::RParen) => Ok(e),
                    _ => Err(ConditionError::Invalid("missing ')'".to_string())),
                }
            }
            Some(q @ (Tok::One | Tok::All)) => {
                if self.next() != Some(Tok::Of) {
                    return Err(ConditionError::Invalid(
                        "expected 'of' after '1'/'all'".to_string(),
                    ));
                }
                let items = match self.next() {
                    // Sigma: `them` is every item; names starting with `_` are helpers that
                    // `them` leaves out.
                    Some(Tok::Them) => (0..self.names.len())
                        .filter(|&i| !self.names[i].starts_with('_'))
                        .collect::<Vec<_>>(),
                    Some(Tok::Ident(pat)) => {
                        let v: Vec<usize> = (0..self.names.len())
                            .filter(|&i| star_match(&pat, &self.names[i]))
                            .collect();
                        if v.is_empty() {
                            return Err(ConditionError::Invalid(format!(
                                "'{pat}' matches no detection item"
                            )));
                        }
                        v
                    }
                    _ => {
                        return Err(ConditionError::Invalid(
                            "expected a pattern or 'them' after 'of'".to_string(),
                        ));
                    }
                };
                Ok(if q == Tok::One {
                    Expr::AnyOf(items)
                } else {
                    Expr::AllOf(items)
                })
            }
            Some(Tok::Ident(name)) => self
                .names
                .iter()
                .position(|n| *n == name)
                .map(Expr::Item)
                .ok_or_else(|| {
                    ConditionError::Invalid(format!("'{name}' is not a detection item"))
                }),
            Some(t) => Err(ConditionError::Invalid(format!(
                "unexpected {t:?} in condition"
            ))),
            None => Err(ConditionError::Invalid(
                "condition ends unexpectedly".to_string(),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(n: &[&str]) -> Vec<String> {
        n.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn precedence_and_quantifiers() {
        let n = names(&["selection", "filter_main_a", "filter_main_b", "filter_opt"]);
        let e = parse("selection and not 1 of filter_main_*", &n).unwrap();
        assert_eq!(
            e,
            Expr::And(vec![
                Expr::Item(0),
                Expr::Not(Box::new(Expr::AnyOf(vec![1, 2])))
            ])
        );
        let e = parse("selection or filter_opt and not selection", &n).unwrap();
        assert_eq!(
            e,
            Expr::Or(vec![
                Expr::Item(0),
                Expr::And(vec![Expr::Item(3), Expr::Not(Box::new(Expr::Item(0)))])
            ])
        );
        assert_eq!(
            parse("all of them", &n).unwrap(),
            Expr::AllOf(vec![0, 1, 2, 3])
        );
        assert_eq!(
            parse("(selection)", &n).unwrap(),
            parse("selection", &n).unwrap()
        );
    }

    #[test]
    fn errors_are_classified() {
        let n = names(&["selection"]);
        assert!(matches!(
            parse("selection | count() > 5", &n),
            Err(ConditionError::Unsupported(_))
        ));
        assert!(matches!(
            parse("selection near other", &n),
            Err(ConditionError::Unsupported(_))
        ));
        assert!(matches!(
            parse("selection and", &n),
            Err(ConditionError::Invalid(_))
        ));
        assert!(matches!(
            parse("nothing", &n),
            Err(ConditionError::Invalid(_))
        ));
        assert!(matches!(
            parse("1 of x*", &n),
            Err(ConditionError::Invalid(_))
        ));
        assert!(matches!(
            parse("(selection", &n),
            Err(ConditionError::Invalid(_))
        ));
        let deep = format!("{}selection{}", "(".repeat(100_000), ")".repeat(100_000));
        assert!(matches!(parse(&deep, &n), Err(ConditionError::Invalid(_))));
        let nots = format!("{}selection", "not ".repeat(100_000));
        assert!(matches!(parse(&nots, &n), Err(ConditionError::Invalid(_))));
        assert!(
            parse(
                &format!("{}selection{}", "(".repeat(20), ")".repeat(20)),
                &n
            )
            .is_ok()
        );
    }

    #[test]
    fn glob_matches_identifiers() {
        assert!(star_match("selection*", "selection"));
        assert!(star_match("selection_*", "selection_img"));
        assert!(!star_match("selection_*", "selection"));
        assert!(star_match("*_cli_*", "sel_cli_a"));
        assert!(star_match("*", "x"));
    }
}
