//! Rule files are the analyst's own files, read here (the command layer) and handed to the
//! library as text.

/// Every `.yml`/`.yaml` file under a Sigma rule directory (recursively, symlinks not
/// followed, in path order), read here because rules are the analyst's files; the text of
/// one larger than `sigma::MAX_RULE_BYTES`, or not UTF-8, is refused for that file alone.
pub fn sigma_rule_files(dir: &std::path::Path) -> Vec<crate::sigma::RuleFile> {
    use crate::sigma::{MAX_RULE_BYTES, RuleFile};
    use std::io::Read;
    let mut out = Vec::new();
    let walker = walkdir::WalkDir::new(dir)
        .follow_links(false)
        .sort_by_file_name();
    for entry in walker {
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                let path = e
                    .path()
                    .map_or_else(|| dir.display().to_string(), |p| p.display().to_string());
                out.push(RuleFile {
                    path,
                    text: Err(format!("cannot list: {e}")),
                });
                continue;
            }
        };
        let path = entry.path();
        let is_yaml = path
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| e.eq_ignore_ascii_case("yml") || e.eq_ignore_ascii_case("yaml"));
        if !entry.file_type().is_file() || !is_yaml {
            continue;
        }
        let read = || -> Result<String, String> {
            let f = std::fs::File::open(path).map_err(|e| format!("cannot open: {e}"))?;
            let mut buf = Vec::new();
            f.take(MAX_RULE_BYTES as u64 + 1)
                .read_to_end(&mut buf)
                .map_err(|e| format!("cannot read: {e}"))?;
            if buf.len() > MAX_RULE_BYTES {
                return Err(format!("larger than {MAX_RULE_BYTES} bytes"));
            }
            String::from_utf8(buf).map_err(|_| "not UTF-8".to_string())
        };
        out.push(RuleFile {
            path: path.display().to_string(),
            text: read(),
        });
    }
    out
}

/// The Sigma rules under `dir`, loaded, with the load report.
pub fn load_sigma_dir(dir: &std::path::Path) -> (crate::sigma::RuleSet, crate::sigma::LoadReport) {
    crate::sigma::load_files(sigma_rule_files(dir))
}
