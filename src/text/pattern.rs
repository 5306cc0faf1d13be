//! Regex patterns from rule files, made safe to run over attacker text.
//!
//! A Unicode word boundary (`\b`, `\B`, `\b{start}`, `\<`, ...) is the one construct that
//! stops the regex crate's lazy DFA on the first non-ASCII byte of the haystack: it falls
//! back to the PikeVM, which is linear but slower by orders of magnitude with many patterns.
//! The built-in rule set (about 350 patterns in one `RegexSet`) took 12 s of release-build
//! CPU on a 700 KB command line with one `é` in every few bytes, against 9 ms for the same
//! line in ASCII: an attacker could stall detection with one long non-ASCII command line.
//! Rules mean ASCII word boundaries anyway (PCRE's `\b`, which Sigma follows, is ASCII), so
//! every word boundary is rewritten to its ASCII form, `(?-u:\b)`.
//!
//! The rewrite works on the parsed pattern (regex-syntax, the regex crate's own parser), not
//! on its text: `\\b` is a backslash and a `b`, and `[\b]` does not exist.

use regex_syntax::ast::{self, AssertionKind, Ast};
use std::borrow::Cow;

/// Byte ranges of the word-boundary assertions of a parsed pattern.
struct Boundaries(Vec<(usize, usize)>);

impl ast::Visitor for Boundaries {
    type Output = Vec<(usize, usize)>;
    type Err = std::convert::Infallible;

    fn finish(self) -> Result<Self::Output, Self::Err> {
        Ok(self.0)
    }

    fn visit_pre(&mut self, a: &Ast) -> Result<(), Self::Err> {
        if let Ast::Assertion(x) = a
            && !matches!(
                x.kind,
                AssertionKind::StartLine
                    | AssertionKind::EndLine
                    | AssertionKind::StartText
                    | AssertionKind::EndText
            )
        {
            self.0.push((x.span.start.offset, x.span.end.offset));
        }
        Ok(())
    }
}

/// `pattern` with every word boundary made ASCII-only (`\b` → `(?-u:\b)`), unchanged when it
/// has none or does not parse (the regex builder then reports the error).
pub fn ascii_word_boundaries(pattern: &str) -> Cow<'_, str> {
    let Ok(parsed) = ast::parse::Parser::new().parse(pattern) else {
        return Cow::Borrowed(pattern);
    };
    let Ok(mut spans) = ast::visit(&parsed, Boundaries(Vec::new()));
    if spans.is_empty() {
        return Cow::Borrowed(pattern);
    }
    spans.sort_unstable();
    let mut out = String::with_capacity(pattern.len() + spans.len() * 7);
    let mut copied = 0;
    for (start, end) in spans {
        // Spans come from the parser of this very text: in order, on char boundaries.
        let (Some(before), Some(assertion)) = (pattern.get(copied..start), pattern.get(start..end))
        else {
            return Cow::Borrowed(pattern);
        };
        out.push_str(before);
        out.push_str("(?-u:");
        out.push_str(assertion);
        out.push(')');
        copied = end;
    }
    out.push_str(pattern.get(copied..).unwrap_or(""));
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn word_boundaries_become_ascii() {
        assert_eq!(
            ascii_word_boundaries(r"\brundll32\b"),
            r"(?-u:\b)rundll32(?-u:\b)"
        );
        assert_eq!(ascii_word_boundaries(r"a\Bb"), r"a(?-u:\B)b");
        assert_eq!(
            ascii_word_boundaries(r"\b{start}x\>"),
            r"(?-u:\b{start})x(?-u:\>)"
        );
        // An escaped backslash followed by `b` is not a boundary; anchors stay.
        assert_eq!(ascii_word_boundaries(r"\\bin\\"), r"\\bin\\");
        assert_eq!(ascii_word_boundaries(r"^\\\b$"), r"^\\(?-u:\b)$");
        assert_eq!(ascii_word_boundaries(r"[\\b]x"), r"[\\b]x");
        // Multi-byte text around it, and patterns that do not parse, are kept as they are.
        assert_eq!(ascii_word_boundaries(r"é\b中"), r"é(?-u:\b)中");
        assert_eq!(ascii_word_boundaries(r"(\b"), r"(\b");
        assert!(matches!(ascii_word_boundaries("plain"), Cow::Borrowed(_)));
    }

    #[test]
    fn ascii_boundaries_keep_matching_ascii_words() {
        let re = regex::Regex::new(&ascii_word_boundaries(r"(?i)\bmshta\b")).unwrap();
        assert!(re.is_match("C:\\x\\MSHTA.exe http://e"));
        assert!(!re.is_match("xmshta"));
        // `é` is not an ASCII word character: a boundary sits between it and `m`.
        assert!(re.is_match("émshta"));
    }
}
