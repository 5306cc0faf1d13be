//! XML character and entity references, resolved without a DTD: only the five predefined
//! entities and numeric character references, so an attacker's document can neither fetch
//! external entities nor expand a "billion laughs". Anything else stays literal.

/// The replacement text of one of the five predefined XML entities (`lt`, `gt`, `amp`, `apos`,
/// `quot`), by name without `&` and `;`.
pub fn predefined(name: &str) -> Option<&'static str> {
    Some(match name {
        "lt" => "<",
        "gt" => ">",
        "amp" => "&",
        "quot" => "\"",
        "apos" => "'",
        _ => return None,
    })
}

/// Longest reference name looked at (`&#x10FFFF;` is 8 between `&` and `;`): a `&` followed
/// by a long run without `;` is text, not a reference.
const MAX_REFERENCE_LEN: usize = 12;

/// Resolves predefined-entity and character references in `raw`, without XML's attribute
/// whitespace normalization (which would turn tabs and newlines into spaces). Unknown or
/// invalid references stay literal, `&` included.
pub fn unescape(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(amp) = rest.find('&') {
        out.push_str(rest.get(..amp).unwrap_or(""));
        let after = rest.get(amp + 1..).unwrap_or("");
        let resolved = after
            .find(';')
            .filter(|&semi| semi <= MAX_REFERENCE_LEN)
            .and_then(|semi| {
                let name = after.get(..semi)?;
                let ch = match name.strip_prefix('#') {
                    Some(num) => {
                        let code = match num.strip_prefix('x').or_else(|| num.strip_prefix('X')) {
                            Some(hex) => u32::from_str_radix(hex, 16).ok(),
                            None => num.parse().ok(),
                        }?;
                        char::from_u32(code)?.to_string()
                    }
                    None => predefined(name)?.to_string(),
                };
                Some((ch, semi))
            });
        match resolved {
            Some((ch, semi)) => {
                out.push_str(&ch);
                rest = after.get(semi + 1..).unwrap_or("");
            }
            None => {
                out.push('&');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn predefined_entities_only() {
        assert_eq!(predefined("amp"), Some("&"));
        assert_eq!(predefined("apos"), Some("'"));
        assert_eq!(predefined("nbsp"), None);
        assert_eq!(predefined("AMP"), None);
    }

    #[test]
    fn unescape_resolves_known_references_and_keeps_the_rest() {
        assert_eq!(unescape("a &lt;b&gt; &amp;&#65;&#x42;&#X43;"), "a <b> &ABC");
        assert_eq!(unescape("tab\there\nnl"), "tab\there\nnl");
        assert_eq!(
            unescape("&unknown; &#xD800; &#; &"),
            "&unknown; &#xD800; &#; &"
        );
        assert_eq!(
            unescape("&averyveryverylongname;"),
            "&averyveryverylongname;"
        );
        // Multi-byte characters next to every delimiter.
        assert_eq!(
            unescape("é&amp;😀&lt;\u{202E}&#233;e\u{301}&"),
            "é&😀<\u{202E}ée\u{301}&"
        );
        assert_eq!(unescape("&é;&😀"), "&é;&😀");
    }
}
