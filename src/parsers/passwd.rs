//! `/etc/passwd` (passwd(5)): `name:password:uid:gid:gecos:home:shell`, one account a line.
//! Used for the accounts of a Linux live host or root (their homes hold the histories) and
//! for the name of the account irsnap runs as. Comment lines and lines with fewer than seven
//! fields are skipped; a uid that is not a number is kept as unknown.

/// One account line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswdEntry {
    pub name: String,
    pub uid: Option<u32>,
    /// The home directory as written (`/` when the field is empty, as login(1) does).
    pub home: String,
}

pub fn parse_passwd(text: &str) -> Vec<PasswdEntry> {
    text.lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .filter_map(|line| {
            let f: Vec<&str> = line.split(':').collect();
            if f.len() < 7 || f[0].is_empty() {
                return None;
            }
            Some(PasswdEntry {
                name: f[0].to_string(),
                uid: f[2].parse().ok(),
                home: if f[5].is_empty() { "/" } else { f[5] }.to_string(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwd_parses_and_skips_junk() {
        let t =
            "root:x:0:0:root:/root:/bin/bash\n# c\nbad line\nbob:x:1000:1000::/home/bob:/bin/sh\n";
        let u = parse_passwd(t);
        assert_eq!(u.len(), 2);
        assert_eq!(u[1].name, "bob");
        assert_eq!(u[1].uid, Some(1000));
        assert_eq!(u[1].home, "/home/bob");
        assert_eq!(parse_passwd("x:x:nan:0::/h:/bin/sh")[0].uid, None);
        assert_eq!(parse_passwd("é:x:1:0:::/bin/sh")[0].home, "/");
    }
}
