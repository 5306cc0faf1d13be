//! Wildcard matching: `*` is any run of characters (none included), `?` one character.
//! Linear-time backtracking on the last `*`, no recursion, so a hostile pattern such as
//! `*a*a*a*a*b` cannot blow up.

/// Sigma identifier patterns (`1 of selection_*`): `*` only, case-sensitive, as identifiers are.
pub fn star_match(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    wildcard_match(&p, &n, false)
}

/// File-name patterns: `*` and `?`, case-insensitive, as Windows matches file names.
pub fn file_name_match(pattern: &str, name: &str) -> bool {
    let p: Vec<char> = pattern.chars().flat_map(char::to_lowercase).collect();
    let n: Vec<char> = name.chars().flat_map(char::to_lowercase).collect();
    wildcard_match(&p, &n, true)
}

fn wildcard_match(p: &[char], n: &[char], question_mark: bool) -> bool {
    let (mut pi, mut ni) = (0, 0);
    // Position of the last `*` and the name index it was tried at: on a mismatch, let that
    // star swallow one more character.
    let mut star: Option<(usize, usize)> = None;
    while let Some(&c) = n.get(ni) {
        match p.get(pi) {
            Some('*') => {
                star = Some((pi, ni));
                pi += 1;
            }
            Some(&pc) if (question_mark && pc == '?') || pc == c => {
                pi += 1;
                ni += 1;
            }
            _ => match star {
                Some((sp, sn)) => {
                    pi = sp + 1;
                    ni = sn + 1;
                    star = Some((sp, sn + 1));
                }
                None => return false,
            },
        }
    }
    p.get(pi..).unwrap_or_default().iter().all(|c| *c == '*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sigma_identifiers() {
        assert!(star_match("selection*", "selection"));
        assert!(star_match("selection_*", "selection_img"));
        assert!(!star_match("selection_*", "selection"));
        assert!(star_match("*_cli_*", "sel_cli_a"));
        assert!(star_match("*", "x"));
        assert!(star_match("", ""));
        assert!(!star_match("", "x"));
        assert!(!star_match("Sel*", "sel_a"));
        // `?` is a plain character in an identifier.
        assert!(star_match("sel?", "sel?"));
        assert!(!star_match("sel?", "selx"));
        assert!(!star_match("a*a", "a"));
    }

    #[test]
    fn file_names() {
        assert!(file_name_match("Security.evtx", "SECURITY.EVTX"));
        assert!(file_name_match("a?c*", "abcdef"));
        assert!(!file_name_match("a?c", "abcd"));
        assert!(!file_name_match("*.evtx", "x.evtx.bak"));
        assert!(file_name_match("**a*", "bbba"));
        assert!(!file_name_match("*a*a*a*a*b", &"a".repeat(5000)));
    }

    #[test]
    fn multi_byte_characters_around_wildcards() {
        assert!(file_name_match("é*😀?.evtx", "É-x-😀\u{202E}.EVTX"));
        assert!(file_name_match("?", "😀"));
        assert!(!file_name_match("?", "e\u{301}")); // two chars: e + combining acute
        assert!(file_name_match("??", "e\u{301}"));
        assert!(star_match("*\u{202E}*", "a\u{202E}b"));
        assert!(star_match("é*", "é😀"));
    }
}
