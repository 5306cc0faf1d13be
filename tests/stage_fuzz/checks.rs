//! What the outputs promise, checked on every case: the report carries attacker text only as
//! text, CSV cells never start a formula, JSON reads back.

use irsnap::detect::Finding;
use serde_json::Value;

/// Elements `report::render_html` writes itself; anything else is markup that came in.
const HTML_TAGS: &[&str] = &[
    "a", "body", "code", "details", "div", "h1", "h2", "head", "html", "li", "meta", "p", "pre",
    "section", "span", "strong", "style", "summary", "table", "td", "th", "title", "tr", "ul",
];
/// Attributes it writes (all with fixed or escaped values).
const HTML_ATTRS: &[&str] = &[
    "charset",
    "class",
    "content",
    "href",
    "http-equiv",
    "id",
    "lang",
    "name",
    "open",
];

/// Every tag is one of ours with only our attributes; no `<script`, no attacker tag, no
/// `href` other than our own anchors; no raw control character.
pub fn html(doc: &str) {
    let lower = doc.to_ascii_lowercase();
    assert!(!lower.contains("<script"), "a <script> in the HTML report");
    assert!(
        !doc.chars().any(invisible),
        "a raw bidi or zero-width character in the HTML report"
    );
    assert!(
        !lower.contains("<x-evil"),
        "attacker markup in the HTML report"
    );
    let mut rest = doc;
    while let Some(lt) = rest.find('<') {
        let after = &rest[lt + 1..];
        let end = after
            .find('>')
            .unwrap_or_else(|| panic!("an unclosed '<' in the HTML report: {}", head(after)));
        let tag = &after[..end];
        rest = &after[end + 1..];
        if tag.starts_with("!DOCTYPE") {
            continue;
        }
        let tag = tag.strip_prefix('/').unwrap_or(tag);
        let name_end = tag.find(char::is_whitespace).unwrap_or(tag.len());
        let name = &tag[..name_end];
        assert!(
            HTML_TAGS.contains(&name),
            "a foreign element <{}> in the HTML report",
            head(tag)
        );
        for (attr, value) in attributes(&tag[name_end..]) {
            assert!(
                HTML_ATTRS.contains(&attr),
                "a foreign attribute {attr} in <{}>",
                head(tag)
            );
            if attr == "href" {
                assert!(
                    value.starts_with('#'),
                    "an href that is not our anchor: <{}>",
                    head(tag)
                );
            }
        }
    }
    assert!(
        !doc.chars()
            .any(|c| c.is_control() && c != '\n' && c != '\t'),
        "a raw control character in the HTML report"
    );
}

/// `name="value"` pairs of a tag (values are double-quoted and escaped, so hold no `"`).
fn attributes(mut s: &str) -> Vec<(&str, &str)> {
    let mut out = Vec::new();
    loop {
        s = s.trim_start();
        if s.is_empty() {
            return out;
        }
        let name_end = s
            .find(|c: char| c == '=' || c.is_whitespace())
            .unwrap_or(s.len());
        let name = &s[..name_end];
        s = &s[name_end..];
        let Some(v) = s.strip_prefix("=\"") else {
            out.push((name, ""));
            continue;
        };
        let close = v
            .find('"')
            .unwrap_or_else(|| panic!("an unclosed attribute {name}"));
        out.push((name, &v[..close]));
        s = &v[close + 1..];
    }
}

/// Markdown, read the way a CommonMark reader (with GFM tables) reads it, holds no HTML,
/// link or image: attacker text is in code spans, our own text escaped. Raw `<script>` may
/// appear in the file, inside a code span, where it is text.
pub fn markdown(doc: &str) {
    if let Some(e) = markup_in_markdown(doc) {
        panic!("markup in the Markdown report: {e}");
    }
    assert!(
        !doc.chars().any(|c| c.is_control() && c != '\n'),
        "a raw control character in the Markdown report"
    );
    assert!(
        !doc.chars().any(invisible),
        "a raw bidi or zero-width character in the Markdown report"
    );
}

/// Bidi controls and zero-width characters: never raw in a report or an export.
fn invisible(c: char) -> bool {
    irsnap::report::escape::is_invisible(c)
}

/// The first HTML, link or image a CommonMark reader would make of `md`, if any.
pub fn markup_in_markdown(md: &str) -> Option<String> {
    use pulldown_cmark::{Event, Options, Parser, Tag};
    let opts = Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH;
    Parser::new_ext(md, opts).find_map(|e| match e {
        Event::Html(h) | Event::InlineHtml(h) => Some(format!("html {}", head(&h))),
        Event::Start(Tag::Link { dest_url, .. }) => Some(format!("link {}", head(&dest_url))),
        Event::Start(Tag::Image { dest_url, .. }) => Some(format!("image {}", head(&dest_url))),
        _ => None,
    })
}

/// `findings.jsonl` reads back as the findings it was written from.
pub fn findings_jsonl(text: &str, findings: &[Finding]) {
    let back: Vec<Finding> = text
        .lines()
        .map(|l| serde_json::from_str(l).expect("a findings.jsonl line reads back"))
        .collect();
    assert_eq!(back.len(), findings.len());
    for (a, b) in back.iter().zip(findings) {
        assert!(
            a == b,
            "a finding changed through findings.jsonl: {}",
            a.rule_id
        );
    }
}

/// Every non-blank line is a JSON object.
pub fn jsonl(bytes: &[u8]) {
    for (i, line) in bytes.split(|b| *b == b'\n').enumerate() {
        if line.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        let v: Value = serde_json::from_slice(line)
            .unwrap_or_else(|e| panic!("line {} is not JSON: {e}", i + 1));
        assert!(v.is_object(), "line {} is not an object", i + 1);
    }
}

/// RFC 4180 CSV: it parses, every row has the header's width, and no cell starts with what
/// `export`'s guard defuses (`=`, `+`, `-`, `@`, tab, CR: a spreadsheet formula).
pub fn csv(bytes: &[u8]) {
    let text = std::str::from_utf8(bytes).expect("the CSV is UTF-8");
    let rows = parse_csv(text);
    let Some(header) = rows.first() else {
        return;
    };
    for (i, row) in rows.iter().enumerate() {
        assert_eq!(
            row.len(),
            header.len(),
            "CSV row {} has {} cells, the header {}",
            i + 1,
            row.len(),
            header.len()
        );
        for cell in row {
            // Under any separator (`,`, `;`, tab) no piece starts a formula (a lone `-` is
            // not one), and nothing raw can drive a terminal or reorder text.
            for piece in cell.split([',', ';', '\t', '\n']) {
                let p = piece.trim_start_matches(' ');
                assert!(
                    p == "-" || !p.starts_with(['=', '+', '-', '@', '\t', '\r']),
                    "CSV row {}: a piece starts a formula: {}",
                    i + 1,
                    head(cell)
                );
            }
            assert!(
                !cell
                    .chars()
                    .any(|c| (c.is_control() && c != '\n') || invisible(c)),
                "CSV row {}: a raw control or invisible character: {}",
                i + 1,
                head(cell)
            );
        }
    }
}

/// Rows of RFC 4180 text (CRLF ends a record; quoted cells may hold anything).
fn parse_csv(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut cell = String::new();
    let mut chars = text.chars().peekable();
    let mut quoted = false;
    let mut at_start = true;
    while let Some(c) = chars.next() {
        if quoted {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    cell.push('"');
                }
                '"' => quoted = false,
                c => cell.push(c),
            }
            continue;
        }
        match c {
            '"' if at_start => {
                quoted = true;
                at_start = false;
            }
            ',' => {
                row.push(std::mem::take(&mut cell));
                at_start = true;
            }
            '\r' if chars.peek() == Some(&'\n') => {
                chars.next();
                row.push(std::mem::take(&mut cell));
                rows.push(std::mem::take(&mut row));
                at_start = true;
            }
            c => {
                assert!(
                    c != '"' && c != '\n' && c != '\r',
                    "an unquoted {c:?} in a CSV cell"
                );
                cell.push(c);
                at_start = false;
            }
        }
    }
    assert!(!quoted, "the CSV ends inside a quoted cell");
    if !row.is_empty() || !cell.is_empty() {
        row.push(cell);
        rows.push(row);
    }
    rows
}

/// The start of a long text, for a message.
fn head(s: &str) -> String {
    s.chars()
        .take(120)
        .collect::<String>()
        .escape_debug()
        .to_string()
}
