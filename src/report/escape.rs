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

/// Text for Markdown: no inline HTML, no emphasis, links, headings or table breaks.
pub fn markdown(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 16);
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\\' | '`' | '*' | '_' | '{' | '}' | '[' | ']' | '(' | ')' | '#' | '+' | '-' | '.'
            | '!' | '|' | '~' | '=' | '"' | '\'' | '@' | ':' => {
                out.push('\\');
                out.push(c);
            }
            '\n' => out.push_str("<br>"),
            // Controls, and bidi overrides and zero-width characters, as in HTML.
            c if c.is_control() || is_invisible(c) => {
                out.push_str(&format!("\\u{{{:x}}}", c as u32))
            }
            c => out.push(c),
        }
    }
    out
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
        let s = markdown("<b>x</b> | [a](http://e) `c` =1+2");
        assert!(!s.contains('<'));
        assert!(s.contains("\\|"));
        assert!(s.contains("\\[a\\]\\(http\\://e\\)"));
        assert!(s.contains("\\`c\\`"));
        assert!(s.contains("\\=1\\+2"));
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
