use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    // First, before anything else: a signal from here on is counted, never fatal.
    let (interrupt, problems) = irsnap::signals::Interrupt::install();
    for p in problems {
        eprintln!("irsnap: warning: cannot handle {p}");
    }
    let command_line: Vec<String> = std::env::args_os()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let cli = match irsnap::cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(irsnap::outcome::Exit::Usage.code())
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    match irsnap::commands::run(cli, command_line, &interrupt) {
        Ok(exit) => ExitCode::from(exit.code()),
        Err(e) => {
            eprintln!(
                "irsnap: error: {}",
                irsnap::commands::term_safe(&format!("{e:#}"))
            );
            ExitCode::from(irsnap::commands::exit_for(&e).code())
        }
    }
}
