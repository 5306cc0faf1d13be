//! Small helpers the text parsers share: a warning list that stops growing (a hostile file
//! can hold millions of bad lines), excerpts of offending text for those warnings, and the
//! serde `skip_serializing_if` tests that keep zero counts and `false` flags out of records.

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
    let mut out = crate::text::truncate_to_boundary(s, max).to_string();
    out.push('…');
    out
}

/// serde `skip_serializing_if`: a zero count is left out of the record.
pub fn is_zero(n: &usize) -> bool {
    *n == 0
}

/// serde `skip_serializing_if`: a `false` flag is left out of the record.
pub fn is_false(b: &bool) -> bool {
    !*b
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
