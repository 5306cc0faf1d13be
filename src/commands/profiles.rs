//! `irsnap profiles` and `irsnap profiles show NAME`.

use crate::cli::{ProfilesAction, ProfilesArgs};
use crate::outcome::Exit;
use crate::profile::{BUILTIN, DEFAULT_PROFILE, Profile};

pub fn run(args: &ProfilesArgs) -> anyhow::Result<Exit> {
    match &args.action {
        None => {
            for (name, text) in BUILTIN {
                let p = Profile::parse(text, name)?;
                let default = if *name == DEFAULT_PROFILE {
                    " (default)"
                } else {
                    ""
                };
                outln!("{name:<10} {}{default}", p.description);
            }
        }
        Some(ProfilesAction::Show { name }) => {
            // Validate first: `show` on a broken file reports the error, like `collect` would.
            Profile::load(name, |p| std::fs::read_to_string(p))?;
            let text = match BUILTIN.iter().find(|(n, _)| n == name) {
                Some((_, t)) => (*t).to_string(),
                None => std::fs::read_to_string(name)?,
            };
            out!("{text}");
        }
    }
    Ok(Exit::Success)
}
