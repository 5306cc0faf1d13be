//! systemd's word splitting and C-style unescaping of `ExecStart=` and similar values.

use super::WS;

pub(super) enum Word {
    Text(String),
    /// A lone `;` at these byte offsets of the value.
    Separator {
        start: usize,
        end: usize,
    },
}

/// Word splitting for Exec lines: like [`split_words`], but an unquoted, unescaped lone `;`
/// separates commands.
pub(super) fn split_words_exec(s: &str) -> (Vec<Word>, bool) {
    let mut out = Vec::new();
    let ok = split_core(s, |word, bare_semicolon, start| {
        if bare_semicolon {
            out.push(Word::Separator {
                start,
                end: start + 1,
            });
        } else {
            out.push(Word::Text(word));
        }
    });
    (out, ok)
}

/// Splits a value into words with systemd's rules (extract_first_word with UNQUOTE|CUNESCAPE|RELAX):
/// whitespace separates words, single and double quotes group, C-style backslash escapes are decoded.
/// Returns the words and false when a quote was left open (the rest is taken as the last word).
pub fn split_words(s: &str) -> (Vec<String>, bool) {
    let mut out = Vec::new();
    let ok = split_core(s, |word, _, _| out.push(word));
    (out, ok)
}

/// Calls `emit(word, is_bare_semicolon, byte offset of the word's first character)`.
fn split_core(s: &str, mut emit: impl FnMut(String, bool, usize)) -> bool {
    // Bytes taken from `s` so far (a peeked character counts as taken).
    let pulled = std::cell::Cell::new(0usize);
    let mut chars = s
        .chars()
        .inspect(|c| pulled.set(pulled.get() + c.len_utf8()))
        .peekable();
    let mut ok = true;
    loop {
        while chars.peek().is_some_and(|c| WS.contains(c)) {
            chars.next();
        }
        let Some(first) = chars.peek() else {
            break;
        };
        let start = pulled.get().saturating_sub(first.len_utf8());
        let mut word = String::new();
        let mut quote: Option<char> = None;
        // A word consisting of exactly one unquoted, unescaped ';'.
        let mut plain_semicolon = true;
        let mut len = 0usize;
        while let Some(c) = chars.next() {
            match (quote, c) {
                (None, c) if WS.contains(&c) => break,
                (None, '"' | '\'') => {
                    quote = Some(c);
                    plain_semicolon = false;
                }
                (Some(q), c) if c == q => quote = None,
                (_, '\\') => {
                    plain_semicolon = false;
                    unescape_one(&mut chars, &mut word);
                }
                (_, c) => {
                    if c != ';' {
                        plain_semicolon = false;
                    }
                    word.push(c);
                }
            }
            len += 1;
        }
        if quote.is_some() {
            ok = false;
        }
        let bare = plain_semicolon && len == 1 && word == ";";
        emit(word, bare, start);
    }
    ok
}

/// Decodes one C-style escape after a backslash (systemd cunescape, relaxed: unknown escapes keep
/// the backslash).
fn unescape_one<I: Iterator<Item = char>>(chars: &mut std::iter::Peekable<I>, out: &mut String) {
    let Some(c) = chars.next() else {
        out.push('\\');
        return;
    };
    let simple = match c {
        'a' => Some('\u{7}'),
        'b' => Some('\u{8}'),
        'f' => Some('\u{c}'),
        'n' => Some('\n'),
        'r' => Some('\r'),
        't' => Some('\t'),
        'v' => Some('\u{b}'),
        's' => Some(' '),
        '\\' | '"' | '\'' | ';' | ' ' => Some(c),
        _ => None,
    };
    if let Some(s) = simple {
        out.push(s);
        return;
    }
    let hex = |chars: &mut std::iter::Peekable<I>, n: usize, radix: u32| {
        let mut v: u32 = 0;
        let mut taken = String::new();
        for _ in 0..n {
            match chars.peek().and_then(|d| d.to_digit(radix)) {
                Some(d) => {
                    v = v.saturating_mul(radix).saturating_add(d);
                    taken.extend(chars.next());
                }
                None => return (None, taken),
            }
        }
        (char::from_u32(v), taken)
    };
    let (decoded, taken) = match c {
        'x' => hex(chars, 2, 16),
        'u' => hex(chars, 4, 16),
        'U' => hex(chars, 8, 16),
        '0'..='7' => {
            let (d, t) = hex(chars, 2, 8);
            let full = format!("{c}{t}");
            (
                d.and_then(|_| u32::from_str_radix(&full, 8).ok().and_then(char::from_u32)),
                t,
            )
        }
        _ => (None, String::new()),
    };
    match decoded {
        Some(ch) => out.push(ch),
        None => {
            out.push('\\');
            out.push(c);
            out.push_str(&taken);
        }
    }
}
