//! What vouches for an archive from outside its zip: the `.sha256` sidecar, the SSH
//! signature beside it (`<archive>.sig`), and the one inside over the manifest.

use super::super::manifest::Manifest;
use super::super::sign::{self, MANIFEST_SIG_MEMBER, Signature, Trusted};
use super::super::writer::{sidecar_path, signature_path};
use super::zipcheck;
use super::{SidecarCheck, SignatureCheck};
use crate::record::Sha256;
use sha2::Digest;
use std::io::Read;
use std::path::Path;

pub(super) fn hash_file(path: &Path, sha512: bool) -> std::io::Result<Vec<u8>> {
    let mut f = std::fs::File::open(path)?;
    let mut buf = vec![0u8; 256 * 1024];
    let mut h256 = sha2::Sha256::new();
    let mut h512 = sha2::Sha512::new();
    loop {
        match f.read(&mut buf) {
            Ok(0) => break,
            Ok(n) if sha512 => h512.update(&buf[..n]),
            Ok(n) => h256.update(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(if sha512 {
        h512.finalize().to_vec()
    } else {
        h256.finalize().to_vec()
    })
}

pub(super) fn check_sidecar(archive: &Path, actual: Option<Sha256>) -> SidecarCheck {
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

/// A parsed signature checked against a digest and the trusted keys.
fn judge(sig: &Signature, digest: &[u8], trusted: Option<&Trusted>) -> SignatureCheck {
    if let Err(reason) = sig.verify_digest(digest) {
        return SignatureCheck::Invalid { reason };
    }
    let signer = sign::fingerprint(sig.signer());
    match trusted.and_then(|t| t.find(sig.signer())) {
        Some(p) => SignatureCheck::Trusted {
            signer,
            principals: p.to_string(),
        },
        None => SignatureCheck::Untrusted { signer },
    }
}

/// `<archive>.sig`: an SSH signature over the whole file (irsnap's, sha256, or one made with
/// `ssh-keygen -Y sign -n irsnap`, sha512).
pub(super) fn check_beside(
    archive: &Path,
    sha256: Option<Sha256>,
    trusted: Option<&Trusted>,
) -> SignatureCheck {
    let path = signature_path(archive);
    let text = match std::fs::read(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return SignatureCheck::Absent,
        Err(e) => {
            return SignatureCheck::Invalid {
                reason: format!("cannot read {}: {e}", path.display()),
            };
        }
    };
    let sig = match Signature::parse(&text, false) {
        Ok(s) => s,
        Err(reason) => return SignatureCheck::Invalid { reason },
    };
    let digest = if sig.wants_sha512() {
        hash_file(archive, true).ok()
    } else {
        sha256.map(|s| s.0.to_vec())
    };
    match digest {
        Some(d) => judge(&sig, &d, trusted),
        None => SignatureCheck::Invalid {
            reason: "the archive could not be hashed".into(),
        },
    }
}

/// `manifest.json.sig` against the manifest, and against what the manifest says of it.
pub(super) fn check_inside(
    manifest: &Manifest,
    manifest_sha: Sha256,
    member: Option<zipcheck::Member>,
    trusted: Option<&Trusted>,
) -> SignatureCheck {
    let invalid = |reason: String| SignatureCheck::Invalid { reason };
    let (declared, member) = match (&manifest.signature, member) {
        (None, None) => return SignatureCheck::Absent,
        (Some(d), None) => {
            return invalid(format!(
                "the manifest says it is signed by {}, but {MANIFEST_SIG_MEMBER} is missing",
                d.fingerprint
            ));
        }
        (None, Some(_)) => {
            return invalid(format!(
                "{MANIFEST_SIG_MEMBER} is there, but the manifest does not say it is signed"
            ));
        }
        (Some(d), Some(m)) => (d, m),
    };
    let Some(text) = member.data else {
        return invalid(format!(
            "{MANIFEST_SIG_MEMBER} unreadable: {}",
            member.unreadable.unwrap_or_default()
        ));
    };
    let sig = match Signature::parse(&text, true) {
        Ok(s) => s,
        Err(reason) => return invalid(reason),
    };
    if sig.wants_sha512() || sign::public_text(sig.signer()) != declared.public_key {
        return invalid("the signature is not by the key the manifest names".into());
    }
    judge(&sig, &manifest_sha.0, trusted)
}
