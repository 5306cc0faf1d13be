//! Sigma value matching: field modifiers compiled into tests on one field's values.
//!
//! A field key `CommandLine|base64offset|contains` carries a chain of modifiers applied left to
//! right: value transformations (`wide`/`utf16*`, `base64`, `base64offset`, `windash`), one
//! match mode (`contains`, `startswith`, `endswith`, `re`, `cidr`, `gt`/`gte`/`lt`/`lte`) and
//! flags (`all`, `cased`, `exists`, `fieldref`, and `i`/`m`/`s` for `re`). Every value becomes
//! one or more [`Test`]s; a field condition holds when any value matches (or all with `all`).
//!
//! Semantics follow the Sigma specification (v2, "Modifiers" and "Value" sections) and pySigma:
//! plain strings are case-insensitive, `*` and `?` are wildcards, `\` escapes `*`, `?` and `\`
//! and is literal before anything else; `re` is case-sensitive unless `|i`; `windash` lets a
//! leading `-` or `/` of a command-line flag be any of `-`, `/`, en dash, em dash, horizontal bar.

use std::fmt;
use std::net::IpAddr;

use super::transform::{Encoding, Tok, base64_offsets, render, tokenize, utf16, windash};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use regex::{Regex, RegexBuilder};

/// Cap on a compiled regex (wildcard patterns and `re` values): a hostile rule must not make
/// the evaluator allocate without bound.
const REGEX_SIZE_LIMIT: usize = 1 << 20;

/// Why a field key or value cannot be evaluated (reported per rule, never dropped).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModifierError {
    /// A modifier irsnap does not know or cannot evaluate (`expand` needs pipeline
    /// placeholders; future modifiers are unknown).
    Unsupported(String),
    /// The value does not fit the modifier (a wildcard under `base64`, a bad CIDR, ...).
    BadValue(String),
    /// The `re` value does not compile with Rust's regex engine (lookaround, backreferences).
    Regex(String),
}

impl fmt::Display for ModifierError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ModifierError::Unsupported(m) => write!(f, "unsupported modifier '{m}'"),
            ModifierError::BadValue(m) => write!(f, "bad value: {m}"),
            ModifierError::Regex(m) => write!(f, "regex not supported by irsnap's engine: {m}"),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    Exact,
    Contains,
    StartsWith,
    EndsWith,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Transform {
    Encode(Encoding),
    Base64,
    Base64Offset,
    Windash,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NumOp {
    Gt,
    Gte,
    Lt,
    Lte,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Str(Mode),
    Re,
    Cidr,
    Num(NumOp),
}

/// The modifiers of one field key, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Modifiers {
    kind: Kind,
    transforms: Vec<Transform>,
    pub(crate) all: bool,
    cased: bool,
    pub(crate) exists: bool,
    pub(crate) fieldref: bool,
    re_flags: (bool, bool, bool),
}

impl Modifiers {
    pub(crate) fn parse(mods: &[&str]) -> Result<Modifiers, ModifierError> {
        let mut m = Modifiers {
            kind: Kind::Str(Mode::Exact),
            transforms: Vec::new(),
            all: false,
            cased: false,
            exists: false,
            fieldref: false,
            re_flags: (false, false, false),
        };
        let mut kind_set = false;
        let mut set_kind = |m: &mut Modifiers, k: Kind, name: &str| {
            if kind_set && m.kind != k {
                return Err(ModifierError::Unsupported(format!(
                    "{name} (conflicting match modifiers)"
                )));
            }
            kind_set = true;
            m.kind = k;
            Ok(())
        };
        for raw in mods {
            let name = raw.trim().to_ascii_lowercase();
            match name.as_str() {
                "contains" => set_kind(&mut m, Kind::Str(Mode::Contains), &name)?,
                "startswith" => set_kind(&mut m, Kind::Str(Mode::StartsWith), &name)?,
                "endswith" => set_kind(&mut m, Kind::Str(Mode::EndsWith), &name)?,
                "re" => set_kind(&mut m, Kind::Re, &name)?,
                "cidr" => set_kind(&mut m, Kind::Cidr, &name)?,
                "gt" => set_kind(&mut m, Kind::Num(NumOp::Gt), &name)?,
                "gte" => set_kind(&mut m, Kind::Num(NumOp::Gte), &name)?,
                "lt" => set_kind(&mut m, Kind::Num(NumOp::Lt), &name)?,
                "lte" => set_kind(&mut m, Kind::Num(NumOp::Lte), &name)?,
                "all" => m.all = true,
                "cased" => m.cased = true,
                "exists" => m.exists = true,
                "fieldref" => m.fieldref = true,
                "i" => m.re_flags.0 = true,
                "m" => m.re_flags.1 = true,
                "s" => m.re_flags.2 = true,
                "wide" | "utf16le" => m.transforms.push(Transform::Encode(Encoding::Le)),
                "utf16be" => m.transforms.push(Transform::Encode(Encoding::Be)),
                "utf16" => m.transforms.push(Transform::Encode(Encoding::LeBom)),
                "base64" => m.transforms.push(Transform::Base64),
                "base64offset" => m.transforms.push(Transform::Base64Offset),
                "windash" => m.transforms.push(Transform::Windash),
                _ => return Err(ModifierError::Unsupported(name)),
            }
        }
        let is_re = m.kind == Kind::Re;
        if (m.re_flags != (false, false, false)) && !is_re {
            return Err(ModifierError::Unsupported(
                "i/m/s (only valid with re)".to_string(),
            ));
        }
        if !m.transforms.is_empty() && !matches!(m.kind, Kind::Str(_)) {
            return Err(ModifierError::Unsupported(
                "value transformation combined with re/cidr/gt/lt".to_string(),
            ));
        }
        let encodes = m
            .transforms
            .iter()
            .any(|t| matches!(t, Transform::Base64 | Transform::Base64Offset));
        if encodes && m.transforms.contains(&Transform::Windash) {
            return Err(ModifierError::Unsupported(
                "windash combined with base64".to_string(),
            ));
        }
        if m.transforms
            .iter()
            .any(|t| matches!(t, Transform::Encode(_)))
            && !encodes
        {
            // UTF-16 bytes only make sense as input to base64 in a text field.
            return Err(ModifierError::Unsupported(
                "wide/utf16 without base64/base64offset".to_string(),
            ));
        }
        if m.fieldref && (is_re || !m.transforms.is_empty() || !matches!(m.kind, Kind::Str(_))) {
            return Err(ModifierError::Unsupported(
                "fieldref combined with re/cidr/gt/lt or a transformation".to_string(),
            ));
        }
        Ok(m)
    }
}

/// A YAML scalar of a detection value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Scalar {
    Null,
    Bool(bool),
    Num(String),
    Str(String),
}

/// One compiled test of a field's value.
#[derive(Debug, Clone)]
pub(crate) enum Test {
    /// The field is absent or empty (`Field: null`, `Field: ''`).
    Null,
    /// `|exists: true/false`.
    Exists(bool),
    Str(StrTest),
    Regex {
        re: Regex,
        shown: String,
    },
    Cidr {
        net: IpAddr,
        prefix: u8,
        shown: String,
    },
    Num {
        op: NumOp,
        value: f64,
        shown: String,
    },
    /// `|fieldref`: compare with another field of the same event.
    FieldRef {
        field: String,
        mode: StrMode,
        cased: bool,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StrMode {
    Exact,
    Contains,
    StartsWith,
    EndsWith,
}

/// A literal string test (no wildcards), compared case-insensitively unless `cased`.
#[derive(Debug, Clone)]
pub(crate) struct StrTest {
    mode: StrMode,
    /// Lower-cased unless `cased`.
    needle: String,
    cased: bool,
    shown: String,
}

/// A field value as the evaluator sees it: original text plus a lazily lower-cased copy.
pub(crate) struct FieldText<'e> {
    pub(crate) text: std::borrow::Cow<'e, str>,
    lower: std::cell::OnceCell<String>,
}

impl<'e> FieldText<'e> {
    pub(crate) fn new(text: std::borrow::Cow<'e, str>) -> Self {
        FieldText {
            text,
            lower: std::cell::OnceCell::new(),
        }
    }

    fn lower(&self) -> &str {
        self.lower.get_or_init(|| self.text.to_lowercase())
    }
}

/// Where in a value a test matched (byte range in the original text when known).
pub(crate) type Span = Option<(usize, usize)>;

impl Test {
    /// What the rule asked for, for evidence ("contains 'IEX ('").
    pub(crate) fn shown(&self) -> String {
        match self {
            Test::Null => "null".to_string(),
            Test::Exists(b) => format!("exists: {b}"),
            Test::Str(s) => s.shown.clone(),
            Test::Regex { shown, .. } | Test::Cidr { shown, .. } | Test::Num { shown, .. } => {
                shown.clone()
            }
            Test::FieldRef { field, .. } => format!("fieldref {field}"),
        }
    }

    /// Test one present value. `Null`/`Exists`/`FieldRef` are decided by the caller, which
    /// knows whether the field exists and can look up other fields.
    pub(crate) fn matches(&self, v: &FieldText<'_>) -> Option<Span> {
        match self {
            Test::Null => v.text.is_empty().then_some(None),
            Test::Exists(b) => (*b).then_some(None),
            Test::Str(s) => s.find(v),
            Test::Regex { re, .. } => re.find(&v.text).map(|m| Some((m.start(), m.end()))),
            Test::Cidr { net, prefix, .. } => {
                let ip: IpAddr = v.text.trim().parse().ok()?;
                in_cidr(ip, *net, *prefix).then_some(None)
            }
            Test::Num { op, value, .. } => {
                let n: f64 = v.text.trim().parse().ok()?;
                let ok = match op {
                    NumOp::Gt => n > *value,
                    NumOp::Gte => n >= *value,
                    NumOp::Lt => n < *value,
                    NumOp::Lte => n <= *value,
                };
                ok.then_some(None)
            }
            Test::FieldRef { .. } => None,
        }
    }
}

impl StrTest {
    /// The literal of an exact (no modifier, no wildcard) test.
    pub(crate) fn exact_text(&self) -> Option<&str> {
        (self.mode == StrMode::Exact).then_some(self.needle.as_str())
    }

    fn find(&self, v: &FieldText<'_>) -> Option<Span> {
        let hay: &str = if self.cased { &v.text } else { v.lower() };
        let n = self.needle.as_str();
        let span = match self.mode {
            StrMode::Exact => (hay == n).then_some((0, hay.len()))?,
            StrMode::Contains => hay.find(n).map(|i| (i, i + n.len()))?,
            StrMode::StartsWith => hay.starts_with(n).then_some((0, n.len()))?,
            StrMode::EndsWith => hay.ends_with(n).then(|| (hay.len() - n.len(), hay.len()))?,
        };
        if self.cased || hay.len() == v.text.len() {
            return Some(Some(span));
        }
        // Lower-casing changed byte lengths (non-ASCII text): map through character indexes,
        // which line up unless a character lower-cased into several.
        if hay.chars().count() != v.text.chars().count() {
            return Some(None);
        }
        let to_orig = |b: usize| {
            let n = hay[..b].chars().count();
            v.text
                .char_indices()
                .nth(n)
                .map_or(v.text.len(), |(i, _)| i)
        };
        Some(Some((to_orig(span.0), to_orig(span.1))))
    }
}

/// Compare `a` (this field) with `b` (the referenced field) for `|fieldref`.
pub(crate) fn fieldref_match(a: &str, b: &str, mode: StrMode, cased: bool) -> bool {
    let (a, b) = if cased {
        (a.to_string(), b.to_string())
    } else {
        (a.to_lowercase(), b.to_lowercase())
    };
    match mode {
        StrMode::Exact => a == b,
        StrMode::Contains => a.contains(&b),
        StrMode::StartsWith => a.starts_with(&b),
        StrMode::EndsWith => a.ends_with(&b),
    }
}

fn in_cidr(ip: IpAddr, net: IpAddr, prefix: u8) -> bool {
    match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(n)) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            u32::from(a) & mask == u32::from(n) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(n)) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            u128::from(a) & mask == u128::from(n) & mask
        }
        _ => false,
    }
}

fn parse_cidr(s: &str) -> Option<(IpAddr, u8)> {
    let (addr, prefix) = match s.trim().split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (s.trim(), None),
    };
    let ip: IpAddr = addr.parse().ok()?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    let prefix = match prefix {
        Some(p) => p.trim().parse::<u8>().ok().filter(|p| *p <= max)?,
        None => max,
    };
    Some((ip, prefix))
}

/// Compile one value under the given modifiers into tests (several for `base64offset`).
pub(crate) fn compile(m: &Modifiers, value: &Scalar) -> Result<Vec<Test>, ModifierError> {
    if m.exists {
        return match value {
            Scalar::Bool(b) => Ok(vec![Test::Exists(*b)]),
            Scalar::Str(s) if s.eq_ignore_ascii_case("true") => Ok(vec![Test::Exists(true)]),
            Scalar::Str(s) if s.eq_ignore_ascii_case("false") => Ok(vec![Test::Exists(false)]),
            _ => Err(ModifierError::BadValue(
                "exists needs true or false".to_string(),
            )),
        };
    }
    let text = match value {
        Scalar::Null => return Ok(vec![Test::Null]),
        Scalar::Bool(b) => b.to_string(),
        Scalar::Num(n) => n.clone(),
        Scalar::Str(s) => s.clone(),
    };
    if m.fieldref {
        let mode = match m.kind {
            Kind::Str(Mode::Contains) => StrMode::Contains,
            Kind::Str(Mode::StartsWith) => StrMode::StartsWith,
            Kind::Str(Mode::EndsWith) => StrMode::EndsWith,
            _ => StrMode::Exact,
        };
        return Ok(vec![Test::FieldRef {
            field: text,
            mode,
            cased: m.cased,
        }]);
    }
    match m.kind {
        Kind::Re => {
            let (i, ml, s) = m.re_flags;
            // PCRE's `\b` (which Sigma follows) is ASCII; a Unicode one would also make
            // the regex slow on non-ASCII values (see `text::pattern`).
            let re = RegexBuilder::new(&crate::text::pattern::ascii_word_boundaries(&text))
                .case_insensitive(i)
                .multi_line(ml)
                .dot_matches_new_line(s)
                .size_limit(REGEX_SIZE_LIMIT)
                .build()
                .map_err(|e| ModifierError::Regex(first_line(&e.to_string())))?;
            Ok(vec![Test::Regex {
                re,
                shown: format!("re '{text}'"),
            }])
        }
        Kind::Cidr => {
            let (net, prefix) = parse_cidr(&text)
                .ok_or_else(|| ModifierError::BadValue(format!("not a CIDR: {text}")))?;
            Ok(vec![Test::Cidr {
                net,
                prefix,
                shown: format!("cidr {text}"),
            }])
        }
        Kind::Num(op) => {
            let value: f64 = text
                .trim()
                .parse()
                .map_err(|_| ModifierError::BadValue(format!("not a number: {text}")))?;
            Ok(vec![Test::Num {
                op,
                value,
                shown: format!("{op:?} {text}").to_lowercase(),
            }])
        }
        Kind::Str(mode) => compile_str(m, mode, &text),
    }
}

fn first_line(s: &str) -> String {
    s.lines()
        .rfind(|l| !l.trim().is_empty())
        .unwrap_or(s)
        .trim()
        .to_string()
}

/// The value as plain text for an encoding step; wildcards cannot be encoded.
fn plain_text(variants: &[Vec<Tok>], what: &str) -> Result<String, ModifierError> {
    let mut s = String::new();
    for t in variants.first().map(Vec::as_slice).unwrap_or_default() {
        match t {
            Tok::Lit(c) => s.push(*c),
            _ => {
                return Err(ModifierError::BadValue(format!(
                    "wildcard in a {what} value"
                )));
            }
        }
    }
    Ok(s)
}

fn compile_str(m: &Modifiers, mode: Mode, text: &str) -> Result<Vec<Test>, ModifierError> {
    let mut variants: Vec<Vec<Tok>> = vec![tokenize(text)];
    let mut bytes: Option<Vec<u8>> = None;
    for t in &m.transforms {
        match t {
            Transform::Windash => variants.iter_mut().for_each(|v| windash(v)),
            Transform::Encode(enc) => {
                let plain = plain_text(&variants, "wide/utf16")?;
                bytes = Some(utf16(&plain, *enc));
            }
            Transform::Base64 | Transform::Base64Offset => {
                let data = match bytes.take() {
                    Some(b) => b,
                    None => plain_text(&variants, "base64")?.into_bytes(),
                };
                let encoded = if *t == Transform::Base64 {
                    vec![STANDARD.encode(&data)]
                } else {
                    base64_offsets(&data)
                };
                // Base64 output has no Sigma escapes: literal characters only.
                variants = encoded
                    .iter()
                    .map(|s| s.chars().map(Tok::Lit).collect())
                    .collect();
            }
        }
    }
    let shown_mode = match mode {
        Mode::Exact => "",
        Mode::Contains => "contains ",
        Mode::StartsWith => "startswith ",
        Mode::EndsWith => "endswith ",
    };
    let mut out = Vec::with_capacity(variants.len());
    for toks in variants {
        let shown = format!("{shown_mode}'{}'", render(&toks));
        let literal: Option<String> = toks
            .iter()
            .map(|t| match t {
                Tok::Lit(c) => Some(*c),
                _ => None,
            })
            .collect();
        if let Some(lit) = literal {
            let str_mode = match mode {
                Mode::Exact => StrMode::Exact,
                Mode::Contains => StrMode::Contains,
                Mode::StartsWith => StrMode::StartsWith,
                Mode::EndsWith => StrMode::EndsWith,
            };
            let needle = if m.cased { lit } else { lit.to_lowercase() };
            out.push(Test::Str(StrTest {
                mode: str_mode,
                needle,
                cased: m.cased,
                shown,
            }));
            continue;
        }
        let mut pat = String::from("(?s)");
        if !m.cased {
            pat.push_str("(?i)");
        }
        if matches!(mode, Mode::Exact | Mode::StartsWith) {
            pat.push('^');
        }
        for t in &toks {
            match t {
                Tok::Lit(c) => pat.push_str(&regex::escape(&c.to_string())),
                Tok::Dash => pat.push_str("[-/\u{2013}\u{2014}\u{2015}]"),
                Tok::Star => pat.push_str(".*"),
                Tok::Question => pat.push('.'),
            }
        }
        if matches!(mode, Mode::Exact | Mode::EndsWith) {
            pat.push('$');
        }
        let re = RegexBuilder::new(&pat)
            .size_limit(REGEX_SIZE_LIMIT)
            .build()
            .map_err(|e| ModifierError::BadValue(first_line(&e.to_string())))?;
        out.push(Test::Regex { re, shown });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::borrow::Cow;

    fn tests(mods: &[&str], v: &str) -> Vec<Test> {
        let m = Modifiers::parse(mods).unwrap();
        compile(&m, &Scalar::Str(v.to_string())).unwrap()
    }

    fn any(mods: &[&str], v: &str, text: &str) -> bool {
        let ft = FieldText::new(Cow::Borrowed(text));
        tests(mods, v).iter().any(|t| t.matches(&ft).is_some())
    }

    #[test]
    fn plain_values_are_case_insensitive_and_exact() {
        assert!(any(&[], "C:\\Windows\\cmd.exe", "c:\\windows\\CMD.EXE"));
        assert!(!any(&[], "cmd.exe", "xcmd.exe"));
        assert!(any(&["endswith"], "\\cmd.exe", "C:\\W\\Cmd.exe"));
        assert!(any(&["startswith"], "C:\\W", "c:\\w\\x"));
        assert!(any(&["contains"], " -enc ", "ps -ENC abc"));
        assert!(!any(&["contains", "cased"], "IEX", "iex (x)"));
        assert!(any(&["contains", "cased"], "IEX", "IEX (x)"));
    }

    #[test]
    fn wildcards_and_escapes() {
        assert!(any(&[], "*\\rundll32.exe", "C:\\x\\RUNDLL32.exe"));
        assert!(any(&["contains"], "a?c", "xxABCxx"));
        assert!(!any(&["contains"], "a\\?c", "xxABCxx"));
        assert!(any(&["contains"], "a\\?c", "xxA?cxx"));
        // `\\` is one backslash; a backslash before another char is literal.
        assert!(any(&["contains"], "C:\\\\WINDOWS", "x C:\\WINDOWS"));
        assert!(any(&["contains"], "\\\\.\\pipe", "\\\\.\\pipe\\x"));
        assert!(any(&["contains"], " \\\\\\\\", "rundll32.exe \\\\host\\x"));
    }

    #[test]
    fn windash_accepts_every_dash() {
        for cl in ["x -enc y", "x /enc y", "x \u{2013}enc y", "x \u{2014}enc y"] {
            assert!(any(&["contains", "windash"], " -enc ", cl), "{cl}");
        }
        assert!(!any(&["contains", "windash"], " -enc ", "x +enc y"));
        // A dash inside a word is not a flag.
        assert!(!any(&["contains", "windash"], "a-b", "a/b"));
    }

    #[test]
    fn base64offset_finds_every_alignment() {
        use base64::Engine as _;
        for prefix in ["", "a", "ab", "abc"] {
            let enc = STANDARD.encode(format!("{prefix}IEX (New-Object Net.WebClient)"));
            assert!(
                any(&["base64offset", "contains"], "IEX (New", &enc),
                "{prefix}"
            );
        }
        assert_eq!(
            base64_offsets(b"http://"),
            vec!["aHR0cDovL", "h0dHA6Ly", "odHRwOi8v"]
        );
        let wide = tests(&["wide", "base64offset", "contains"], "IEX");
        assert_eq!(wide.len(), 3);
        let enc = STANDARD.encode(utf16("xIEX (", Encoding::Le));
        let ft = FieldText::new(Cow::Owned(enc));
        assert!(wide.iter().any(|t| t.matches(&ft).is_some()));
    }

    #[test]
    fn regex_cidr_numbers() {
        assert!(any(&["re"], "HostId=[a-z0-9-]{3}\\s+E", "HostId=ab1\n E"));
        assert!(!any(&["re"], "abc", "ABC"));
        assert!(any(&["re", "i"], "abc", "ABC"));
        assert!(any(&["cidr"], "10.0.0.0/8", "10.2.3.4"));
        assert!(!any(&["cidr"], "10.0.0.0/8", "11.2.3.4"));
        assert!(any(&["cidr"], "fe80::/10", "fe80::1"));
        assert!(any(&["gte"], "5", "5"));
        assert!(!any(&["lt"], "5", "5"));
    }

    /// `\b` is PCRE's ASCII word boundary (a Unicode one also made every `re` value slow on
    /// long non-ASCII fields).
    #[test]
    fn re_word_boundaries_are_ascii() {
        assert!(any(&["re"], r"\bcmd\b", "écmd /c"));
        assert!(!any(&["re"], r"\bcmd\b", "xcmd /c"));
        match &tests(&["re"], r"\bcmd\\b")[0] {
            Test::Regex { re, .. } => assert_eq!(re.as_str(), r"(?-u:\b)cmd\\b"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn unknown_or_invalid_modifiers_are_errors() {
        assert!(matches!(
            Modifiers::parse(&["expand"]),
            Err(ModifierError::Unsupported(_))
        ));
        assert!(Modifiers::parse(&["contains", "startswith"]).is_err());
        assert!(Modifiers::parse(&["frobnicate"]).is_err());
        let m = Modifiers::parse(&["re"]).unwrap();
        assert!(matches!(
            compile(&m, &Scalar::Str("(?<=a)b".into())),
            Err(ModifierError::Regex(_))
        ));
        let m = Modifiers::parse(&["base64", "contains"]).unwrap();
        assert!(compile(&m, &Scalar::Str("a*b".into())).is_err());
    }
}
