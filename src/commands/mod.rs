//! One module per subcommand. This layer uses anyhow; the library below uses thiserror.

// One of the three modules that may touch the file system (see clippy.toml).
#![allow(clippy::disallowed_methods)]

/// `println!` for the commands' output: a reader that went away (`irsnap schema | head`) ends
/// the output quietly instead of panicking; standard output is informational, the archive and
/// the exit code are the result.
macro_rules! outln {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout().lock(), $($t)*);
    }};
}

/// `print!` counterpart of [`outln`].
macro_rules! out {
    ($($t:tt)*) => {{
        use std::io::Write as _;
        let _ = write!(std::io::stdout().lock(), $($t)*);
    }};
}

pub mod collect;
mod docs;
pub mod export;
pub mod hunt;
pub mod profiles;
pub mod report;
mod rules;
mod safe_json;
pub mod schema;
pub mod stack;
pub mod verify;

use crate::cli::{Cli, Command, RootOs};
use crate::ids::OsFamily;
use crate::outcome::Exit;
use crate::signals::Interrupt;
pub use rules::{load_sigma_dir, sigma_rule_files};

/// Run a parsed command line; the caller turns the result into the process exit code.
/// `interrupt` counts the signals since `main` installed the handlers.
pub fn run(cli: Cli, command_line: Vec<String>, interrupt: &Interrupt) -> anyhow::Result<Exit> {
    match cli.command {
        Command::Collect(args) => collect::run(args, command_line, interrupt),
        Command::Verify(args) => verify::run(&args),
        Command::Profiles(args) => profiles::run(&args),
        Command::Report(args) => report::run(&args),
        Command::Export(args) => export::run(&args),
        Command::Hunt(args) => hunt::run(&args),
        Command::Stack(args) => stack::run(&args),
        Command::Schema(args) => schema::run(&args),
        Command::Completions(args) => docs::completions(&args),
        Command::Manpages(args) => docs::manpages(&args),
    }
}

/// A flag whose value cannot be understood (`--since fortnight`, a malformed `--encrypt-to`,
/// an unknown built-in profile): the command line itself is wrong, so `main` exits with
/// [`Exit::Usage`] (64), as clap does for an unknown flag. Problems with what a flag names
/// (a missing root, a rule file with a bad line) are ordinary failures (exit 1).
#[derive(Debug)]
pub struct UsageError(pub String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

/// A usage error from a flag name and what is wrong with its value.
pub(crate) fn usage(flag: &str, why: impl std::fmt::Display) -> anyhow::Error {
    let why = why.to_string();
    // Some library messages name the flag already.
    let text = if why.starts_with(flag) {
        why
    } else {
        format!("{flag}: {why}")
    };
    anyhow::Error::new(UsageError(text))
}

/// The exit code an error from [`run`] amounts to.
pub fn exit_for(e: &anyhow::Error) -> Exit {
    if e.chain().any(|c| c.is::<UsageError>()) {
        Exit::Usage
    } else {
        Exit::Failed
    }
}

/// Write to standard output; a reader that went away (`| head`) is not an error: it has
/// what it wanted. (`print!` would panic there.)
pub(crate) fn write_stdout(bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
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
            // Bidi overrides and isolates reorder what follows them on screen
            // (`invoice\u{202e}fdp.exe` shows as `invoiceexe.pdf`): shown as escapes too.
            if c.is_control() || crate::report::escape::is_invisible(c) {
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
        assert_eq!(
            super::term_safe("invoice\u{202e}fdp.exe"),
            "invoice\\u{202e}fdp.exe"
        );
        assert_eq!(
            super::term_safe("a\u{200b}\u{2066}b\u{7}"),
            "a\\u{200b}\\u{2066}b\\u{7}"
        );
    }
}
