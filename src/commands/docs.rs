//! `irsnap completions SHELL` and `irsnap manpages -o DIR`: shell completions and manual pages
//! generated from the command line's own definition, so they never drift from it. The one
//! place besides `cli.rs` that uses clap: these outputs are clap's description of itself.

use crate::cli::{Cli, CompletionsArgs, ManpagesArgs};
use crate::outcome::Exit;
use anyhow::Context;
use clap::CommandFactory;

pub fn completions(args: &CompletionsArgs) -> anyhow::Result<Exit> {
    let mut cmd = Cli::command();
    // Into memory first: clap_complete panics on a write error, and `| head` is one.
    let mut buf = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, "irsnap", &mut buf);
    super::write_stdout(&buf)?;
    Ok(Exit::Success)
}

pub fn manpages(args: &ManpagesArgs) -> anyhow::Result<Exit> {
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let cmd = Cli::command();
    write_page(&cmd, "irsnap", &args.out)?;
    for sub in cmd.get_subcommands() {
        let name = format!("irsnap-{}", sub.get_name());
        // Each page names itself as `irsnap-<command>`, the way git's pages do.
        let sub = sub.clone().name(name.clone());
        write_page(&sub, &name, &args.out)?;
    }
    Ok(Exit::Success)
}

fn write_page(cmd: &clap::Command, name: &str, dir: &std::path::Path) -> anyhow::Result<()> {
    let path = dir.join(format!("{name}.1"));
    let mut buf = Vec::new();
    clap_mangen::Man::new(cmd.clone())
        .render(&mut buf)
        .with_context(|| format!("rendering {name}.1"))?;
    std::fs::write(&path, buf).with_context(|| format!("writing {}", path.display()))?;
    super::write_stdout(format!("{}\n", path.display()).as_bytes())
}
