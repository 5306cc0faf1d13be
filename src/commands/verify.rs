//! `irsnap verify ARCHIVE|DIR... [--trusted KEY] [--identity FILE] [--json]`.
//!
//! One verdict line per archive, and one exit code for all of them, the worst winning:
//! 3 something is provably wrong (a mismatch, damage, bytes irsnap did not write, a
//! signature or sidecar that disagrees); 1 an archive could not be opened, or the members of
//! an encrypted archive could not be checked (no identity, or none that opens it); 5
//! UNAUTHENTICATED: nothing is wrong, but neither the sidecar nor a trusted signature vouches
//! for it; 0 OK.

use super::term_safe;
use crate::archive::verify::{
    EncryptionCheck, SidecarCheck, SignatureCheck, Verdict, VerifyOptions, VerifyReport, verify,
};
use crate::archive::{Identities, Trusted};
use crate::cli::VerifyArgs;
use crate::outcome::Exit;
use serde::Serialize;
use std::path::PathBuf;

#[derive(Serialize)]
struct JsonOut<'a> {
    verdict: &'static str,
    exit_code: u8,
    #[serde(flatten)]
    report: &'a VerifyReport,
}

#[derive(Serialize)]
struct JsonFailed {
    archive: PathBuf,
    verdict: &'static str,
    exit_code: u8,
    error: String,
}

/// How bad an exit code is, for "the worst wins".
fn rank(e: Exit) -> u8 {
    match e {
        Exit::Success => 0,
        Exit::Unauthenticated => 1,
        Exit::Failed => 2,
        _ => 3,
    }
}

fn exit_of(v: Verdict) -> Exit {
    match v {
        Verdict::Intact => Exit::Success,
        Verdict::Damaged => Exit::VerifyMismatch,
        Verdict::NotChecked => Exit::Failed,
        Verdict::Unauthenticated => Exit::Unauthenticated,
    }
}

fn verdict_name(v: Verdict) -> &'static str {
    match v {
        Verdict::Intact => "intact",
        Verdict::Damaged => "damaged",
        Verdict::NotChecked => "not_checked",
        Verdict::Unauthenticated => "unauthenticated",
    }
}

pub fn run(args: &VerifyArgs) -> anyhow::Result<Exit> {
    let opts = VerifyOptions {
        identities: Identities::load(&args.identity)?,
        trusted: if args.trusted.is_empty() {
            None
        } else {
            Some(Trusted::load(&args.trusted)?)
        },
    };
    let mut worst = Exit::Success;
    let mut paths = Vec::new();
    let mut failures: Vec<(PathBuf, String)> = Vec::new();
    for p in &args.archives {
        if p.is_dir() {
            match super::stack::archives_in(p) {
                Ok(found) if found.is_empty() => failures.push((
                    p.clone(),
                    "no .zip or .zip.age archive in this directory".into(),
                )),
                Ok(found) => paths.extend(found),
                Err(e) => failures.push((p.clone(), format!("cannot list the directory: {e}"))),
            }
        } else {
            paths.push(p.clone());
        }
    }
    let single = paths.len() + failures.len() == 1;
    let mut json = Vec::new();
    let fail =
        |path: PathBuf, error: String, json: &mut Vec<serde_json::Result<serde_json::Value>>| {
            if args.json {
                json.push(serde_json::to_value(JsonFailed {
                    archive: path,
                    verdict: "failed",
                    exit_code: Exit::Failed.code(),
                    error,
                }));
            } else {
                outln!(
                    "FAILED {}: {}",
                    term_safe(&path.display().to_string()),
                    term_safe(&error)
                );
            }
        };
    for (p, why) in failures {
        fail(p, why, &mut json);
        worst = Exit::Failed;
    }
    for path in paths {
        let report = match verify(&path, &opts) {
            Ok(r) => r,
            Err(e) => {
                fail(path, e.to_string(), &mut json);
                if rank(Exit::Failed) > rank(worst) {
                    worst = Exit::Failed;
                }
                continue;
            }
        };
        let verdict = report.verdict();
        let exit = exit_of(verdict);
        if rank(exit) > rank(worst) {
            worst = exit;
        }
        if args.json {
            json.push(serde_json::to_value(JsonOut {
                verdict: verdict_name(verdict),
                exit_code: exit.code(),
                report: &report,
            }));
        } else {
            print_human(&report, verdict, single);
        }
    }
    if args.json {
        let list: Vec<serde_json::Value> = json.into_iter().collect::<Result<_, _>>()?;
        outln!(
            "{}",
            super::safe_json::json_safe(&serde_json::to_string_pretty(&list)?)
        );
    }
    Ok(worst)
}

fn signature_line(what: &str, s: &SignatureCheck) -> Option<String> {
    Some(match s {
        SignatureCheck::Absent => return None,
        SignatureCheck::Trusted { signer, principals } if principals.is_empty() => {
            format!("{what}: good, by trusted key {signer}")
        }
        SignatureCheck::Trusted { signer, principals } => format!(
            "{what}: good, by trusted key {signer} ({})",
            term_safe(principals)
        ),
        SignatureCheck::Untrusted { signer } => {
            format!("{what}: valid, by {signer}, a key not given with --trusted")
        }
        SignatureCheck::Invalid { reason } => {
            format!("{} BAD: {}", what.to_uppercase(), term_safe(reason))
        }
    })
}

/// Why an archive with nothing wrong is still not authenticated.
fn unauthenticated_why(report: &VerifyReport, trusted_given: bool) -> String {
    let signer = [
        report.signature_inside.as_ref(),
        Some(&report.signature_beside),
    ]
    .into_iter()
    .flatten()
    .find_map(|s| match s {
        SignatureCheck::Untrusted { signer } => Some(signer.clone()),
        _ => None,
    });
    match (signer, trusted_given) {
        (Some(s), true) => format!("signed by {s}, which is not a --trusted key"),
        (Some(s), false) => format!(
            "signed by {s}, but no sidecar and no --trusted key to check the signer against"
        ),
        (None, true) => "not signed by any --trusted key (the archive is not signed)".into(),
        (None, false) => "no sidecar and no signature: whoever rewrites an archive can make it \
                          consistent again; keep the .sha256 (or sign with collect --sign and \
                          verify with --trusted)"
            .into(),
    }
}

fn print_human(report: &VerifyReport, verdict: Verdict, single: bool) {
    let name = term_safe(&report.archive.display().to_string());
    if let Some(f) = &report.fatal {
        outln!("FAILED {name}: {}", term_safe(f));
    }
    for s in &report.structure {
        outln!("STRUCTURE {}", term_safe(s));
    }
    for m in &report.mismatches {
        outln!(
            "MISMATCH {}: manifest {} actual {}{}",
            term_safe(&m.path),
            m.expected,
            m.actual,
            if m.stored { " (stored bytes)" } else { "" }
        );
    }
    for m in &report.missing {
        outln!("MISSING {}", term_safe(m));
    }
    for m in &report.unexpected {
        outln!("UNEXPECTED {}", term_safe(m));
    }
    for (m, why) in &report.unreadable {
        outln!("UNREADABLE {}: {}", term_safe(m), term_safe(why));
    }
    match &report.sidecar {
        SidecarCheck::Absent if single => outln!("sidecar: none next to the archive"),
        SidecarCheck::Match if single => outln!("sidecar: archive SHA-256 matches"),
        SidecarCheck::Absent | SidecarCheck::Match => {}
        SidecarCheck::Mismatch { expected, actual } => outln!(
            "SIDECAR MISMATCH: sidecar says {}, archive is {actual}",
            term_safe(expected)
        ),
        SidecarCheck::Unreadable { reason } => {
            outln!("SIDECAR UNREADABLE: {}", term_safe(reason))
        }
    }
    let sigs = [
        ("signature beside (.sig)", Some(&report.signature_beside)),
        (
            "signature inside (manifest.json.sig)",
            report.signature_inside.as_ref(),
        ),
    ];
    for (what, s) in sigs {
        if let Some(line) = s.and_then(|s| signature_line(what, s))
            && (single || line.contains("BAD"))
        {
            outln!("{line}");
        }
    }
    match &report.encryption {
        None => {}
        Some(_) if !single => {}
        Some(EncryptionCheck::NotDecrypted) => {
            outln!("encrypted (age): members NOT checked: give --identity FILE to look inside")
        }
        Some(EncryptionCheck::NoMatchingIdentity) => outln!(
            "encrypted (age): members NOT checked: none of the given identities opens it \
             (encrypted to other keys, or its header is damaged)"
        ),
        Some(EncryptionCheck::Authenticated) => {
            outln!("encrypted (age): header and every chunk authenticate")
        }
        Some(EncryptionCheck::Damaged { reason }) => {
            outln!("AGE DAMAGED: {}", term_safe(reason))
        }
    }
    match verdict {
        Verdict::Intact => outln!(
            "OK {name}: {} members match the manifest",
            report.members_checked
        ),
        Verdict::Damaged => outln!("FAILED {name}"),
        Verdict::NotChecked => outln!(
            "NOT CHECKED {name}: the encrypted file {} its sidecar; its contents were not \
             verified",
            match report.sidecar {
                SidecarCheck::Match => "matches",
                _ => "has no sidecar to check against; neither",
            }
        ),
        Verdict::Unauthenticated => outln!(
            "UNAUTHENTICATED {name}: {} members match the manifest, but {}",
            report.members_checked,
            unauthenticated_why(report, report.trusted_given())
        ),
    }
}
