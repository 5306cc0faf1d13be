//! One module per subcommand. This layer uses anyhow; the library below uses thiserror.

pub mod collect;
pub mod export;
pub mod profiles;
pub mod report;
pub mod schema;
pub mod stack;
pub mod verify;

use crate::cli::{Cli, Command};
use crate::outcome::Exit;

/// Run a parsed command line; the caller turns the result into the process exit code.
pub fn run(cli: Cli, command_line: Vec<String>) -> anyhow::Result<Exit> {
    match cli.command {
        Command::Collect(args) => {
            let config = crate::config::CollectConfig::from_args(args, command_line)?;
            collect::run(&config)
        }
        Command::Verify(args) => verify::run(&args),
        Command::Profiles(args) => profiles::run(&args),
        Command::Report(args) => report::run(&args),
        Command::Export(args) => export::run(&args),
        Command::Stack(args) => stack::run(&args),
        Command::Schema(args) => schema::run(&args),
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
