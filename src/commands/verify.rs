//! `irsnap verify ARCHIVE`.

use super::term_safe;
use crate::archive::verify::{SidecarCheck, verify};
use crate::cli::VerifyArgs;
use crate::outcome::Exit;

pub fn run(args: &VerifyArgs) -> anyhow::Result<Exit> {
    let report = verify(&args.archive)?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        let name = term_safe(&args.archive.display().to_string());
        if let Some(f) = &report.fatal {
            println!("FAILED {name}: {}", term_safe(f));
        }
        for m in &report.mismatches {
            println!(
                "MISMATCH {}: manifest {} actual {}",
                term_safe(&m.path),
                m.expected,
                m.actual
            );
        }
        for m in &report.missing {
            println!("MISSING {}", term_safe(m));
        }
        for m in &report.unexpected {
            println!("UNEXPECTED {}", term_safe(m));
        }
        for (m, why) in &report.unreadable {
            println!("UNREADABLE {}: {}", term_safe(m), term_safe(why));
        }
        match &report.sidecar {
            SidecarCheck::Absent => println!("sidecar: none next to the archive"),
            SidecarCheck::Match => println!("sidecar: archive SHA-256 matches"),
            SidecarCheck::Mismatch { expected, actual } => println!(
                "SIDECAR MISMATCH: sidecar says {}, archive is {actual}",
                term_safe(expected)
            ),
            SidecarCheck::Unreadable { reason } => {
                println!("SIDECAR UNREADABLE: {}", term_safe(reason))
            }
        }
        if report.ok() {
            println!(
                "OK {name}: {} members match the manifest",
                report.members_checked
            );
        } else {
            println!("FAILED {name}");
        }
    }
    Ok(if report.ok() {
        Exit::Success
    } else {
        Exit::VerifyMismatch
    })
}
