//! Escaping for every output that shows attacker-controlled text. Command lines, paths and
//! script text are hostile: they must never become markup, links, formulas or terminal
//! escape sequences in our outputs.

/// Values longer than this are cut in reports; the full value stays in the records.
pub const MAX_SHOWN: usize = 2000;

/// Text for HTML element content and attribute values (quoted with `"`).
pub fn html(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // Controls (other than newline and tab) and bidi overrides/isolates (which make
            // `invoice\u{202e}fdp.exe` read `invoiceexe.pdf`) are shown as escapes.
            c if (c.is_control() && c != '\n' && c != '\t') || is_invisible(c) => {
                out.push_str(&format!("\\u{{{:x}}}", c as u32))
            }
            c => out.push(c),
        }
    }
    out
}

/// Text we wrote (rule titles, descriptions) for Markdown: only the characters that could
/// start markup are backslash-escaped (CommonMark allows it before any ASCII punctuation), so
/// the file still reads plainly in a terminal. Attacker text goes through [`code`] instead.
pub fn markdown(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 16);
    let mut prev = '\0';
    for c in s.chars() {
        match c {
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '|' | '~' | '&' => {
                out.push('\\');
                out.push(c);
            }
            // GFM's extended autolinks (`http://...`, `www.`) are links without brackets.
            '/' if prev == ':' || prev == '/' => out.push_str("\\/"),
            '.' if out.ends_with("www") => out.push_str("\\."),
            '\n' | '\r' => out.push(' '),
            // Controls, and bidi overrides and zero-width characters, as in HTML.
            c if c.is_control() || is_invisible(c) => {
                out.push_str(&format!("\\u{{{:x}}}", c as u32))
            }
            c => out.push(c),
        }
        prev = c;
    }
    out
}

/// Attacker text (a command line, a path, a user name) for Markdown: one inline code span,
/// so nothing in it is markup and a path copied out of `less report.md` is the real path.
/// The fence is longer than any run of backticks inside; line breaks are shown as `⏎` (a
/// line break could otherwise start a heading or a list), controls and bidi overrides as
/// `\u{..}`. In a table cell, `|` is escaped (GFM splits cells even inside code spans).
pub fn code(s: &str, in_table: bool) -> String {
    let mut body = String::with_capacity(s.len() + 4);
    for c in s.chars() {
        match c {
            '\n' => body.push('⏎'),
            '|' if in_table => body.push_str("\\|"),
            c if c.is_control() || is_invisible(c) => {
                body.push_str(&format!("\\u{{{:x}}}", c as u32))
            }
            c => body.push(c),
        }
    }
    if body.is_empty() {
        return "(empty)".to_string();
    }
    let mut longest = 0;
    let mut run = 0;
    for c in body.chars() {
        run = if c == '`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    let fence = "`".repeat(longest + 1);
    // One space inside the fence is stripped by readers when there is one on each side, so
    // a value that starts or ends with a backtick or a space keeps its own.
    let pad = body.starts_with(['`', ' ']) || body.ends_with(['`', ' ']);
    let sp = if pad { " " } else { "" };
    format!("{fence}{sp}{body}{sp}{fence}")
}

/// Unicode's explicit directional formatting characters: embeddings, overrides, isolates and
/// marks. Shown, never applied.
pub fn is_bidi_control(c: char) -> bool {
    matches!(
        c,
        '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}' | '\u{061c}'
    )
}

/// Characters that change how the text around them reads without being seen: the bidi
/// controls, zero-width spaces and joiners, word joiners and invisible operators, the BOM.
/// Every output shows them as escapes (`\u{202e}`).
pub fn is_invisible(c: char) -> bool {
    is_bidi_control(c)
        || matches!(
            c,
            '\u{200b}'..='\u{200d}' | '\u{2060}'..='\u{2064}' | '\u{feff}' | '\u{180e}'
        )
}

/// Cut a value for display, saying so.
pub fn shorten(s: &str, max: usize) -> (String, bool) {
    if s.chars().count() <= max {
        return (s.to_string(), false);
    }
    (s.chars().take(max).collect(), true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_neutralises_markup() {
        let s = html("<script>alert(1)</script><img src=x onerror=alert(2)>\u{1b}[31m\"'&");
        assert!(!s.contains('<') && !s.contains('>'));
        assert!(s.contains("&lt;script&gt;"));
        assert!(s.contains("\\u{1b}"));
        assert!(s.ends_with("&quot;&#39;&amp;"));
    }

    #[test]
    fn markdown_neutralises_markup_and_tables() {
        let s = markdown("<b>x</b> | [a](http://e) `c` *d* see www.evil.example");
        assert!(!s.contains("<b>"));
        assert!(s.contains("\\|"));
        assert!(s.contains("\\[a\\](http:\\/\\/e)"));
        assert!(s.contains("\\`c\\`"));
        assert!(s.contains("www\\.evil"));
        // Ordinary punctuation stays as it is.
        assert_eq!(
            markdown("Encoded PowerShell (-enc), 2 + 2 = 4."),
            "Encoded PowerShell (-enc), 2 + 2 = 4."
        );
    }

    #[test]
    fn code_spans_keep_attacker_text_literal() {
        assert_eq!(code(r"C:\Users\a_b\x.ps1", false), r"`C:\Users\a_b\x.ps1`");
        assert_eq!(code("a `b` c", false), "``a `b` c``");
        assert_eq!(code("`x", false), "`` `x ``");
        assert_eq!(code("a|b", true), "`a\\|b`");
        assert_eq!(code("a|b", false), "`a|b`");
        assert_eq!(code("1\n# head", false), "`1⏎# head`");
        assert_eq!(code("inv\u{202e}fdp.exe", false), "`inv\\u{202e}fdp.exe`");
        assert_eq!(code("", false), "(empty)");
        assert!(!code("<script>", false).contains("&lt;"));
    }

    #[test]
    fn bidi_and_zero_width_characters_are_visible_in_html_and_markdown() {
        let hostile = "C:\\Users\\a\\Temp\\invoice\u{202e}fdp.exe\u{200b}\u{2066}x\u{2069}\u{61c}";
        for out in [html(hostile), markdown(hostile)] {
            assert!(!out.chars().any(is_invisible), "{out:?}");
            assert!(out.contains("invoice\\u{202e}fdp"), "{out}");
            assert!(
                out.contains("\\u{200b}") && out.contains("\\u{2066}"),
                "{out}"
            );
            assert!(out.contains("\\u{61c}"), "{out}");
        }
    }

    #[test]
    fn shorten_counts_characters() {
        assert_eq!(shorten("héllo", 3), ("hél".to_string(), true));
        assert_eq!(shorten("ab", 3), ("ab".to_string(), false));
    }
}
