//! One module per subcommand. This layer uses anyhow; the library below uses thiserror.

// One of the three modules that may touch the file system (see clippy.toml).
#![allow(clippy::disallowed_methods)]

pub mod collect;
pub mod export;
pub mod profiles;
pub mod report;
pub mod schema;
pub mod stack;
pub mod verify;

use crate::cli::{Cli, Command, RootOs};
use crate::ids::OsFamily;
use crate::outcome::Exit;
use crate::signals::Interrupt;

/// Run a parsed command line; the caller turns the result into the process exit code.
/// `interrupt` counts the signals since `main` installed the handlers.
pub fn run(cli: Cli, command_line: Vec<String>, interrupt: &Interrupt) -> anyhow::Result<Exit> {
    match cli.command {
        Command::Collect(args) => collect::run(args, command_line, interrupt),
        Command::Verify(args) => verify::run(&args),
        Command::Profiles(args) => profiles::run(&args),
        Command::Report(args) => report::run(&args),
        Command::Export(args) => export::run(&args),
        Command::Stack(args) => stack::run(&args),
        Command::Schema(args) => schema::run(&args),
    }
}

/// An error and its causes, each once, joined by `: ` (what anyhow's `{:#}` prints).
pub fn error_chain(e: &dyn std::error::Error) -> String {
    let mut parts = vec![e.to_string()];
    let mut cur = e.source();
    while let Some(c) = cur {
        let text = c.to_string();
        // A message that already ends with its cause's text is not repeated.
        if !parts.last().is_some_and(|p| p.ends_with(&text)) {
            parts.push(text);
        }
        cur = c.source();
    }
    parts.join(": ")
}

fn os_family(os: RootOs) -> OsFamily {
    match os {
        RootOs::Linux => OsFamily::Linux,
        RootOs::Windows => OsFamily::Windows,
        RootOs::Other => OsFamily::Other,
    }
}

/// Make text safe for a terminal: attacker-controlled strings (paths, command lines, error
/// messages quoting them) must not carry escape sequences or line breaks to our screen.
pub fn term_safe(s: &str) -> String {
    s.chars()
        .flat_map(|c| {
            if c.is_control() {
                c.escape_default().collect::<Vec<_>>()
            } else {
                vec![c]
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn term_safe_escapes_controls() {
        assert_eq!(super::term_safe("a\u{1b}[31mb\nc"), "a\\u{1b}[31mb\\nc");
    }
}

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
