//! `irsnap verify`: is this archive what the collector wrote, every byte of it?
//!
//! - The file against its `.sha256` sidecar, and its `.sig` (SSH signature over the whole
//!   file) when there is one: both over the ciphertext of an age-encrypted archive, so a
//!   courier can check them without a key.
//! - The zip strictly (`zipcheck`): no byte before, after or between the members, local
//!   headers and data descriptors agreeing with the central directory, no duplicate names,
//!   the fixed fields and the zip comment exactly as irsnap writes them.
//! - Every member against `manifest.json` (content SHA-256, size, and the SHA-256 of its
//!   stored bytes), every manifest entry present; `manifest.json.sig` over the manifest.
//!
//! The verdict: `Intact` only when nothing is wrong *and* something outside an attacker's
//! reach vouches for the contents: the sidecar, or a signature by a `--trusted` key (with
//! `--trusted`, only the latter). Nothing wrong but nothing vouching is `Unauthenticated`:
//! an archive without its sidecar and signature proves only that it is self-consistent,
//! which anyone rewriting it can arrange.

mod directory;
mod vouch;
mod zipcheck;

use super::crypt::Identities;
use super::manifest::{Manifest, archive_comment};
use super::open::{Container, OpenError, authenticate, open_plaintext, sniff};
use super::sign::{MANIFEST_SIG_MEMBER, Trusted};
use crate::record::Sha256;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use vouch::{check_beside, check_inside, check_sidecar, hash_file};

#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("cannot open {path}: {cause}")]
    Open {
        path: PathBuf,
        cause: std::io::Error,
    },
}

#[derive(Debug, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum SidecarCheck {
    Absent,
    Match,
    Mismatch { expected: String, actual: Sha256 },
    Unreadable { reason: String },
}

/// What became of an SSH signature (inside over the manifest, or beside over the file).
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum SignatureCheck {
    Absent,
    /// Valid, by a key of `--trusted` (`principals` from an allowed_signers line).
    Trusted {
        signer: String,
        principals: String,
    },
    /// Valid with the key it carries, but that key is not trusted (none given, or another).
    Untrusted {
        signer: String,
    },
    /// Does not verify, or is not what irsnap writes.
    Invalid {
        reason: String,
    },
}

/// What became of the age layer of an encrypted archive.
#[derive(Debug, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum EncryptionCheck {
    /// No `--identity` was given: only the sidecar (over the encrypted bytes) was checked.
    NotDecrypted,
    /// None of the identities opens it (other keys, or a damaged recipient stanza).
    NoMatchingIdentity,
    /// The header and every chunk authenticated: the ciphertext is intact and complete.
    Authenticated,
    /// The header MAC or a chunk failed to authenticate, or the file is truncated.
    Damaged { reason: String },
}

/// What `verify` amounts to, for the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Every check passed, and the sidecar or a trusted signature vouches for it.
    Intact,
    /// Something is provably wrong: a mismatch, damage, a missing or unexpected member, a
    /// signature or sidecar that disagrees, bytes irsnap did not write.
    Damaged,
    /// Nothing is wrong as far as could be seen, but the members were not checked: the
    /// archive is encrypted and no identity (or no matching one) was given.
    NotChecked,
    /// Nothing is wrong, but nothing vouches for it either: no sidecar and no signature by a
    /// trusted key (or `--trusted` was given and no signature by it was found).
    Unauthenticated,
}

#[derive(Debug, Serialize)]
pub struct Mismatch {
    pub path: String,
    pub expected: Sha256,
    pub actual: Sha256,
    /// The stored (compressed) bytes differ, not (only) the content.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub stored: bool,
}

/// What verify is given besides the archive.
#[derive(Debug, Default)]
pub struct VerifyOptions {
    pub identities: Identities,
    /// `--trusted`: with it, only a signature by one of these keys authenticates.
    pub trusted: Option<Trusted>,
}

#[derive(Debug, Serialize)]
pub struct VerifyReport {
    pub archive: PathBuf,
    pub archive_sha256: Option<Sha256>,
    pub members_checked: usize,
    /// The zip or its manifest could not be read at all.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fatal: Option<String>,
    /// Bytes or fields of the zip that are not what irsnap writes.
    pub structure: Vec<String>,
    pub mismatches: Vec<Mismatch>,
    pub missing: Vec<String>,
    pub unexpected: Vec<String>,
    pub unreadable: Vec<(String, String)>,
    pub sidecar: SidecarCheck,
    /// `<archive>.sig`, over the whole file.
    pub signature_beside: SignatureCheck,
    /// `manifest.json.sig`, over the manifest (absent when the contents were not read).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signature_inside: Option<SignatureCheck>,
    /// SHA-256 of `manifest.json` as stored: what the signature inside covers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub manifest_sha256: Option<Sha256>,
    /// Present for an age-encrypted archive.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encryption: Option<EncryptionCheck>,
    #[serde(skip)]
    trusted_given: bool,
}

impl VerifyReport {
    fn new(path: &Path, trusted_given: bool) -> VerifyReport {
        VerifyReport {
            archive: path.to_path_buf(),
            archive_sha256: None,
            members_checked: 0,
            fatal: None,
            structure: Vec::new(),
            mismatches: Vec::new(),
            missing: Vec::new(),
            unexpected: Vec::new(),
            unreadable: Vec::new(),
            sidecar: SidecarCheck::Absent,
            signature_beside: SignatureCheck::Absent,
            signature_inside: None,
            manifest_sha256: None,
            encryption: None,
            trusted_given,
        }
    }

    /// `--trusted` was given: only a signature by one of its keys authenticates.
    pub fn trusted_given(&self) -> bool {
        self.trusted_given
    }

    pub fn ok(&self) -> bool {
        self.verdict() == Verdict::Intact
    }

    pub fn verdict(&self) -> Verdict {
        let invalid =
            |s: Option<&SignatureCheck>| matches!(s, Some(SignatureCheck::Invalid { .. }));
        let damaged = self.fatal.is_some()
            || !self.structure.is_empty()
            || !self.mismatches.is_empty()
            || !self.missing.is_empty()
            || !self.unexpected.is_empty()
            || !self.unreadable.is_empty()
            || !matches!(self.sidecar, SidecarCheck::Absent | SidecarCheck::Match)
            || invalid(Some(&self.signature_beside))
            || invalid(self.signature_inside.as_ref())
            || matches!(self.encryption, Some(EncryptionCheck::Damaged { .. }));
        if damaged {
            return Verdict::Damaged;
        }
        if matches!(
            self.encryption,
            Some(EncryptionCheck::NotDecrypted | EncryptionCheck::NoMatchingIdentity)
        ) {
            return Verdict::NotChecked;
        }
        let trusted =
            |s: Option<&SignatureCheck>| matches!(s, Some(SignatureCheck::Trusted { .. }));
        let signed =
            trusted(Some(&self.signature_beside)) || trusted(self.signature_inside.as_ref());
        let vouched =
            signed || (!self.trusted_given && matches!(self.sidecar, SidecarCheck::Match));
        if vouched {
            Verdict::Intact
        } else {
            Verdict::Unauthenticated
        }
    }
}

/// Verify a plain or age-encrypted archive.
pub fn verify(path: &Path, opts: &VerifyOptions) -> Result<VerifyReport, VerifyError> {
    let open_err = |cause| VerifyError::Open {
        path: path.to_path_buf(),
        cause,
    };
    let trusted = opts.trusted.as_ref();
    let mut report = VerifyReport::new(path, trusted.is_some());
    let sha = hash_file(path, false).map_err(open_err)?;
    let mut digest = [0u8; 32];
    digest.copy_from_slice(&sha);
    report.archive_sha256 = Some(Sha256(digest));
    report.sidecar = check_sidecar(path, report.archive_sha256);
    report.signature_beside = check_beside(path, report.archive_sha256, trusted);
    let container = match sniff(path) {
        Ok(c) => c,
        Err(OpenError::Io { path, cause }) => return Err(VerifyError::Open { path, cause }),
        Err(e) => {
            report.fatal = Some(e.to_string());
            return Ok(report);
        }
    };
    match container {
        Container::Zip => {}
        Container::AgeArmored => {
            report.fatal = Some(
                "ASCII-armored age file: decrypt it with `age -d`, then verify the zip".into(),
            );
            return Ok(report);
        }
        Container::Age if opts.identities.is_empty() => {
            report.encryption = Some(EncryptionCheck::NotDecrypted);
            return Ok(report);
        }
        Container::Age => match authenticate(path, &opts.identities) {
            Ok(_) => report.encryption = Some(EncryptionCheck::Authenticated),
            Err(OpenError::NoMatchingIdentity { .. }) => {
                report.encryption = Some(EncryptionCheck::NoMatchingIdentity);
                return Ok(report);
            }
            Err(OpenError::Io { path, cause }) => {
                return Err(VerifyError::Open { path, cause });
            }
            // Go on: the members in undamaged chunks still verify, and the list of those
            // that do not tells the analyst what the damage cost.
            Err(e) => {
                report.encryption = Some(EncryptionCheck::Damaged {
                    reason: e.to_string(),
                })
            }
        },
    }
    let mut plain = match open_plaintext(path, &opts.identities) {
        Ok(r) => r,
        Err(OpenError::Io { path, cause }) => return Err(VerifyError::Open { path, cause }),
        Err(e) => {
            report.fatal = Some(e.to_string());
            return Ok(report);
        }
    };
    let keep = |n: &str| n == "manifest.json" || n == MANIFEST_SIG_MEMBER;
    match zipcheck::scan(&mut plain, &keep) {
        Ok(layout) => check_contents(&mut report, layout, trusted),
        Err(zipcheck::Fatal(why)) => report.fatal = Some(format!("not a readable zip: {why}")),
    }
    Ok(report)
}

/// The members against the manifest, the manifest against its signature.
fn check_contents(report: &mut VerifyReport, layout: zipcheck::Layout, trusted: Option<&Trusted>) {
    report.structure = layout.problems;
    // Named whatever else fails: what the damage cost.
    for m in &layout.members {
        if let Some(why) = &m.unreadable {
            report.unreadable.push((m.name.clone(), why.clone()));
        }
    }
    let n = layout.members.len();
    let last_two: Vec<String> = layout.members[n.saturating_sub(2)..]
        .iter()
        .map(|m| m.name.clone())
        .collect();
    let last_two: Vec<&str> = last_two.iter().map(String::as_str).collect();
    let mut manifest_member = None;
    let mut sig_member = None;
    let mut others = Vec::new();
    for m in layout.members {
        match m.name.as_str() {
            "manifest.json" if manifest_member.is_none() => manifest_member = Some(m),
            MANIFEST_SIG_MEMBER if sig_member.is_none() => sig_member = Some(m),
            _ => others.push(m),
        }
    }
    let in_place = matches!(
        last_two.as_slice(),
        [.., "manifest.json"] | ["manifest.json", MANIFEST_SIG_MEMBER]
    );
    let Some(mm) = manifest_member else {
        report.fatal = Some("manifest.json missing".into());
        return;
    };
    if !in_place {
        report
            .structure
            .push("manifest.json (and its signature) are not the last members".into());
    }
    let (Some(bytes), Some(manifest_sha)) = (mm.data, mm.sha256) else {
        report.fatal = Some(format!(
            "manifest.json unreadable: {}",
            mm.unreadable.unwrap_or_else(|| "no content".into())
        ));
        return;
    };
    report.manifest_sha256 = Some(manifest_sha);
    let manifest: Manifest = match serde_json::from_slice(&bytes) {
        Ok(m) => m,
        Err(e) => {
            report.fatal = Some(format!("manifest.json unreadable: {e}"));
            return;
        }
    };
    if layout.comment != archive_comment(&manifest.tool).as_bytes() {
        report
            .structure
            .push("the zip comment is not the one irsnap writes".into());
    }
    report.signature_inside = Some(check_inside(&manifest, manifest_sha, sig_member, trusted));
    let mut expected = BTreeMap::new();
    for e in &manifest.members {
        if expected.insert(e.path.as_str(), e).is_some() {
            report
                .structure
                .push(format!("{}: listed twice in the manifest", e.path));
        }
    }
    let mut seen = BTreeSet::new();
    for m in others {
        let Some(exp) = expected.get(m.name.as_str()) else {
            report.unexpected.push(m.name);
            continue;
        };
        if !seen.insert(m.name.clone()) {
            // The duplicate itself is a structure problem already.
            continue;
        }
        report.members_checked += 1;
        if m.unreadable.is_some() {
            continue;
        }
        if let (Some(want), Some(got)) = (exp.stored_sha256, m.stored_sha256)
            && want != got
        {
            report.mismatches.push(Mismatch {
                path: m.name.clone(),
                expected: want,
                actual: got,
                stored: true,
            });
        }
        match m.sha256 {
            Some(actual) if actual != exp.sha256 => report.mismatches.push(Mismatch {
                path: m.name,
                expected: exp.sha256,
                actual,
                stored: false,
            }),
            Some(_) if m.size != exp.size => report.structure.push(format!(
                "{}: {} bytes, the manifest says {}",
                m.name, m.size, exp.size
            )),
            Some(_) => {}
            None => report.unreadable.push((m.name, "not read".into())),
        }
    }
    report.missing = expected
        .keys()
        .filter(|k| !seen.contains(**k))
        .map(|k| k.to_string())
        .collect();
}

#[cfg(test)]
mod tests;
