//! `irsnap verify ARCHIVE [--identity FILE]`.
//!
//! Exit codes: 0 every check passed; 3 something is provably wrong (a mismatch, damage,
//! a missing or unexpected member, a sidecar that disagrees); 1 nothing was found wrong but
//! the members of an encrypted archive could not be checked (no identity, or none that
//! opens it) — the sidecar over the encrypted bytes was still checked.

use super::term_safe;
use crate::archive::Identities;
use crate::archive::verify::{EncryptionCheck, SidecarCheck, Verdict, VerifyReport, verify};
use crate::cli::VerifyArgs;
use crate::outcome::Exit;
use serde::Serialize;

#[derive(Serialize)]
struct JsonOut<'a> {
    verdict: &'static str,
    #[serde(flatten)]
    report: &'a VerifyReport,
}

pub fn run(args: &VerifyArgs) -> anyhow::Result<Exit> {
    let identities = Identities::load(&args.identity)?;
    let report = verify(&args.archive, &identities)?;
    let verdict = report.verdict();
    if args.json {
        let out = JsonOut {
            verdict: match verdict {
                Verdict::Intact => "intact",
                Verdict::Damaged => "damaged",
                Verdict::NotChecked => "not_checked",
            },
            report: &report,
        };
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        print_human(args, &report, verdict);
    }
    Ok(match verdict {
        Verdict::Intact => Exit::Success,
        Verdict::Damaged => Exit::VerifyMismatch,
        Verdict::NotChecked => Exit::Failed,
    })
}

fn print_human(args: &VerifyArgs, report: &VerifyReport, verdict: Verdict) {
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
    match &report.encryption {
        None => {}
        Some(EncryptionCheck::NotDecrypted) => {
            println!("encrypted (age): members NOT checked: give --identity FILE to look inside")
        }
        Some(EncryptionCheck::NoMatchingIdentity) => println!(
            "encrypted (age): members NOT checked: none of the given identities opens it \
             (encrypted to other keys, or its header is damaged)"
        ),
        Some(EncryptionCheck::Authenticated) => {
            println!("encrypted (age): header and every chunk authenticate")
        }
        Some(EncryptionCheck::Damaged { reason }) => {
            println!("AGE DAMAGED: {}", term_safe(reason))
        }
    }
    match verdict {
        Verdict::Intact => println!(
            "OK {name}: {} members match the manifest",
            report.members_checked
        ),
        Verdict::Damaged => println!("FAILED {name}"),
        Verdict::NotChecked => println!(
            "NOT CHECKED {name}: the encrypted file {} its sidecar; its contents were not \
             verified",
            match report.sidecar {
                SidecarCheck::Match => "matches",
                _ => "has no sidecar to check against; neither",
            }
        ),
    }
}
