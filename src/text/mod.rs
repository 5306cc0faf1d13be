//! Text helpers shared across the crate: UTF-16 sniffing and decoding, the XML predefined
//! entities, `*`/`?` wildcard matching, Base64 of raw name bytes, char-boundary cuts, and
//! rule regexes made ASCII-word-boundary (so they stay fast on non-ASCII text).
//!
//! A leaf module: it uses nothing from the rest of the crate, so any layer (parsers,
//! collectors, detection, Sigma, the archive) can depend on it without a cycle. Every input
//! here may be attacker text; nothing panics on it.

pub mod base64;
pub mod entities;
pub mod glob;
pub mod pattern;
pub mod utf16;

/// The largest char boundary of `s` at or below byte index `i` (`s.len()` when `i` is past the
/// end). `str::floor_char_boundary` is not stable yet; this is the same thing.
pub fn floor_char_boundary(s: &str, i: usize) -> usize {
    if i >= s.len() {
        return s.len();
    }
    let mut i = i;
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// The first at most `max` bytes of `s`, cut back to a char boundary.
pub fn truncate_to_boundary(s: &str, max: usize) -> &str {
    s.get(..floor_char_boundary(s, max)).unwrap_or("")
}

/// `s` shortened to at most `max` characters for a table cell: cut at the last space in the
/// second half of the room when there is one (never mid-word), with `…` saying it was cut.
pub fn clip_words(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let room = max.saturating_sub(1);
    let head: String = s.chars().take(room).collect();
    let cut = match head.rfind(' ') {
        Some(i) if head[..i].chars().count() >= room / 2 => head[..i].trim_end(),
        _ => head.as_str(),
    };
    format!("{cut}…")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clip_words_cuts_between_words() {
        assert_eq!(clip_words("short", 10), "short");
        assert_eq!(
            clip_words("image not hashed: Permission denied (os error 13)", 30),
            "image not hashed: Permission…"
        );
        // One long word: cut inside it rather than leave nothing.
        assert_eq!(clip_words("aaaaaaaaaaaaaaaaaaaa", 8), "aaaaaaa…");
        for n in 0..12 {
            assert!(clip_words("é é é é é é é é", n).chars().count() <= n.max(1));
        }
    }

    #[test]
    fn floor_char_boundary_never_splits_a_character() {
        let s = "aé😀\u{202E}e\u{301}";
        for i in 0..=s.len() + 2 {
            let f = floor_char_boundary(s, i);
            assert!(s.is_char_boundary(f), "{i} -> {f}");
            assert!(f <= i.min(s.len()));
        }
        assert_eq!(floor_char_boundary(s, 2), 1); // inside é
        assert_eq!(floor_char_boundary(s, 5), 3); // inside 😀
        assert_eq!(floor_char_boundary(s, 99), s.len());
        assert_eq!(floor_char_boundary("", 3), 0);
    }

    #[test]
    fn truncate_keeps_whole_characters() {
        assert_eq!(truncate_to_boundary("héllo", 2), "h");
        assert_eq!(truncate_to_boundary("héllo", 3), "hé");
        assert_eq!(truncate_to_boundary("😀", 3), "");
        assert_eq!(truncate_to_boundary("abc", 10), "abc");
    }
}
