//! os-release(5) (`/etc/os-release`): `KEY=value` lines, values optionally quoted. We keep
//! the OS name (`PRETTY_NAME`, else `NAME`) and version (`VERSION_ID`, else `VERSION`).

use std::collections::HashMap;

/// `(name, version)`.
pub fn parse_os_release(text: &str) -> (Option<String>, Option<String>) {
    let mut fields = HashMap::new();
    for line in text.lines() {
        if let Some((k, v)) = line.split_once('=') {
            let v = v.trim().trim_matches('"').trim_matches('\'');
            fields.insert(k.trim().to_string(), v.to_string());
        }
    }
    let name = fields
        .get("PRETTY_NAME")
        .or_else(|| fields.get("NAME"))
        .cloned();
    let version = fields
        .get("VERSION_ID")
        .or_else(|| fields.get("VERSION"))
        .cloned();
    (name, version)
}

#[cfg(test)]
mod tests {
    #[test]
    fn pretty_name_and_version_id_win() {
        let (n, v) = super::parse_os_release(
            "NAME=\"Debian GNU/Linux\"\nPRETTY_NAME=\"Debian 12\"\nVERSION_ID=\"12\"\n",
        );
        assert_eq!(n.as_deref(), Some("Debian 12"));
        assert_eq!(v.as_deref(), Some("12"));
    }
}
