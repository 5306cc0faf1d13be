//! Small helpers the text parsers share: a warning list that stops growing (a hostile file
//! can hold millions of bad lines), and excerpts of offending text for those warnings.

/// Keeps the first `max` items and counts the rest.
#[derive(Debug)]
pub struct Capped<T> {
    pub list: Vec<T>,
    pub suppressed: usize,
    max: usize,
}

impl<T> Capped<T> {
    pub fn new(max: usize) -> Capped<T> {
        Capped {
            list: Vec::new(),
            suppressed: 0,
            max,
        }
    }

    pub fn push(&mut self, item: T) {
        if self.list.len() < self.max {
            self.list.push(item);
        } else {
            self.suppressed = self.suppressed.saturating_add(1);
        }
    }
}

/// At most `max` bytes of `s`, cut on a character boundary, with `…` when cut.
pub fn excerpt(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while end > 0 && !s.is_char_boundary(end) {
        end -= 1;
    }
    let mut out = s.get(..end).unwrap_or("").to_string();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_and_cuts() {
        let mut c = Capped::new(2);
        for i in 0..5 {
            c.push(i);
        }
        assert_eq!(c.list, [0, 1]);
        assert_eq!(c.suppressed, 3);
        assert_eq!(excerpt("héllo", 2), "h…");
        assert_eq!(excerpt("abc", 5), "abc");
    }
}
