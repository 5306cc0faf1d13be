//! `irsnap verify`: recompute every member's SHA-256 against the manifest, and the archive's
//! against its sidecar. Any single flipped byte in any member shows up either as a hash
//! mismatch, or as an unreadable member (deflate or CRC error), or in the sidecar check.
//!
//! An age-encrypted archive is checked in three steps: the sidecar against the encrypted
//! bytes (needs no key: a courier can check a transfer); then, with an identity, a full
//! decryption pass that authenticates the age header and every 64 KiB chunk; then the
//! members against the manifest as for a plain archive, read through the decryption.

use super::crypt::Identities;
use super::manifest::Manifest;
use super::open::{Container, OpenError, authenticate, open_archive, sniff};
use super::writer::sidecar_path;
use crate::record::Sha256;
use serde::Serialize;
use sha2::Digest;
use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::{Path, PathBuf};

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
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Every check that applies passed, members included.
    Intact,
    /// Something is provably wrong: a mismatch, damage, a missing or unexpected member.
    Damaged,
    /// Nothing is wrong as far as could be seen, but the members were not checked: the
    /// archive is encrypted and no identity (or no matching one) was given.
    NotChecked,
}

#[derive(Debug, Serialize)]
pub struct Mismatch {
    pub path: String,
    pub expected: Sha256,
    pub actual: Sha256,
}

#[derive(Debug, Serialize)]
pub struct VerifyReport {
    pub archive: PathBuf,
    pub archive_sha256: Option<Sha256>,
    pub members_checked: usize,
    /// The zip or its manifest could not be read at all.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fatal: Option<String>,
    pub mismatches: Vec<Mismatch>,
    pub missing: Vec<String>,
    pub unexpected: Vec<String>,
    pub unreadable: Vec<(String, String)>,
    pub sidecar: SidecarCheck,
    /// Present for an age-encrypted archive.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub encryption: Option<EncryptionCheck>,
}

impl VerifyReport {
    pub fn ok(&self) -> bool {
        self.verdict() == Verdict::Intact
    }

    pub fn verdict(&self) -> Verdict {
        let damaged = self.fatal.is_some()
            || !self.mismatches.is_empty()
            || !self.missing.is_empty()
            || !self.unexpected.is_empty()
            || !self.unreadable.is_empty()
            || !matches!(self.sidecar, SidecarCheck::Absent | SidecarCheck::Match)
            || matches!(self.encryption, Some(EncryptionCheck::Damaged { .. }));
        if damaged {
            Verdict::Damaged
        } else if matches!(
            self.encryption,
            Some(EncryptionCheck::NotDecrypted | EncryptionCheck::NoMatchingIdentity)
        ) {
            Verdict::NotChecked
        } else {
            Verdict::Intact
        }
    }
}

fn hash_reader(r: &mut dyn Read) -> std::io::Result<Sha256> {
    let mut h = sha2::Sha256::new();
    let mut buf = vec![0u8; 256 * 1024];
    loop {
        match r.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => h.update(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(Sha256(h.finalize().into()))
}

fn check_sidecar(archive: &Path, actual: Option<Sha256>) -> SidecarCheck {
    let sidecar = sidecar_path(archive);
    let text = match std::fs::read_to_string(&sidecar) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return SidecarCheck::Absent,
        Err(e) => {
            return SidecarCheck::Unreadable {
                reason: e.to_string(),
            };
        }
    };
    let expected = text.split_whitespace().next().unwrap_or("").to_lowercase();
    match actual {
        Some(a) if a.to_hex() == expected => SidecarCheck::Match,
        Some(a) => SidecarCheck::Mismatch {
            expected,
            actual: a,
        },
        None => SidecarCheck::Unreadable {
            reason: "archive could not be hashed".into(),
        },
    }
}

/// Verify a plain or age-encrypted archive; `identities` may be empty.
pub fn verify(path: &Path, identities: &Identities) -> Result<VerifyReport, VerifyError> {
    let open = || {
        std::fs::File::open(path).map_err(|cause| VerifyError::Open {
            path: path.to_path_buf(),
            cause,
        })
    };
    let archive_sha256 = hash_reader(&mut open()?).ok();
    let mut report = VerifyReport {
        archive: path.to_path_buf(),
        archive_sha256,
        members_checked: 0,
        fatal: None,
        mismatches: Vec::new(),
        missing: Vec::new(),
        unexpected: Vec::new(),
        unreadable: Vec::new(),
        sidecar: check_sidecar(path, archive_sha256),
        encryption: None,
    };
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
        Container::Age if identities.is_empty() => {
            report.encryption = Some(EncryptionCheck::NotDecrypted);
            return Ok(report);
        }
        Container::Age => match authenticate(path, identities) {
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
    let mut zip = match open_archive(path, identities) {
        Ok(z) => z,
        Err(OpenError::Io { path, cause }) => return Err(VerifyError::Open { path, cause }),
        Err(OpenError::Zip { cause, .. }) => {
            report.fatal = Some(format!("not a readable zip: {cause}"));
            return Ok(report);
        }
        Err(e) => {
            report.fatal = Some(e.to_string());
            return Ok(report);
        }
    };
    let manifest: Manifest = match zip.by_name("manifest.json") {
        Ok(mut f) => {
            let mut buf = Vec::new();
            match f
                .read_to_end(&mut buf)
                .map_err(|e| e.to_string())
                .and_then(|_| serde_json::from_slice(&buf).map_err(|e| e.to_string()))
            {
                Ok(m) => m,
                Err(e) => {
                    report.fatal = Some(format!("manifest.json unreadable: {e}"));
                    return Ok(report);
                }
            }
        }
        Err(e) => {
            report.fatal = Some(format!("manifest.json missing: {e}"));
            return Ok(report);
        }
    };
    let expected: BTreeMap<&str, Sha256> = manifest
        .members
        .iter()
        .map(|m| (m.path.as_str(), m.sha256))
        .collect();
    let mut seen = BTreeSet::new();
    for i in 0..zip.len() {
        let mut f = match zip.by_index(i) {
            Ok(f) => f,
            Err(e) => {
                report.unreadable.push((format!("#{i}"), e.to_string()));
                continue;
            }
        };
        let name = f
            .name()
            .map(|n| n.into_owned())
            .unwrap_or_else(|_| format!("#{i}"));
        if name == "manifest.json" {
            continue;
        }
        let Some(exp) = expected.get(name.as_str()) else {
            report.unexpected.push(name);
            continue;
        };
        seen.insert(name.clone());
        report.members_checked += 1;
        match hash_reader(&mut f) {
            Ok(actual) if actual == *exp => {}
            Ok(actual) => report.mismatches.push(Mismatch {
                path: name,
                expected: *exp,
                actual,
            }),
            Err(e) => report.unreadable.push((name, e.to_string())),
        }
    }
    report.missing = expected
        .keys()
        .filter(|k| !seen.contains(**k))
        .map(|k| k.to_string())
        .collect();
    Ok(report)
}
