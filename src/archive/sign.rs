//! SSH signatures over the archive (`collect --sign KEY`, `verify --trusted FILE`), in the
//! SSHSIG format of OpenSSH (PROTOCOL.sshsig), so the standard tool checks them:
//! `ssh-keygen -Y verify -f allowed_signers -I <principal> -n irsnap -s FILE.sig < FILE`.
//!
//! Two signatures, namespace `irsnap`, hash `sha256`: one over `manifest.json`, kept inside
//! the archive as `manifest.json.sig` (the manifest lists every other member's SHA-256 and
//! stored bytes, so it covers the contents, and it survives the loss of everything beside
//! the archive); one over the whole archive file (the ciphertext when age-encrypted) beside
//! it as `<archive>.sig`. Both are made from SHA-256 digests the writer already computes while
//! streaming, so signing reads nothing twice.
//!
//! Why SSH signatures and the `ssh-key` crate: every responder already has `ssh-keygen`, and
//! allowed_signers files are how teams already pin keys; the crate is RustCrypto's pure-Rust
//! implementation (ed25519-dalek, no C), so the static musl and windows-gnu builds are as
//! before. Only unencrypted ed25519 keys sign; any key type is recognised in a trusted file.

use super::manifest::SignatureInfo;
use crate::record::Sha256;
use signature::{Signer, Verifier};
use ssh_key::public::KeyData;
use ssh_key::{Algorithm, HashAlg, LineEnding, PrivateKey, PublicKey, SshSig};
use std::path::{Path, PathBuf};

/// The SSHSIG namespace of every irsnap signature (`ssh-keygen -Y ... -n irsnap`).
pub const NAMESPACE: &str = "irsnap";
/// The member inside the archive that holds the signature over `manifest.json`.
pub const MANIFEST_SIG_MEMBER: &str = "manifest.json.sig";
/// A key or signature file is a few lines; anything larger is not one.
const MAX_KEY_FILE: u64 = 1 << 20;

#[derive(Debug, thiserror::Error)]
pub enum SignError {
    #[error("cannot read {path}: {cause}")]
    Read {
        path: PathBuf,
        cause: std::io::Error,
    },
    /// Never carries the key's text.
    #[error(
        "--sign {path}: not an OpenSSH private key ({why}); give the private key file \
         (ssh-keygen -t ed25519 writes one), not the .pub"
    )]
    NotPrivateKey { path: PathBuf, why: String },
    #[error(
        "--sign {path}: the key is passphrase-protected; irsnap cannot prompt for it: sign with \
         an unencrypted copy kept only on the responder's media (ssh-keygen -p -N '' -f COPY)"
    )]
    Encrypted { path: PathBuf },
    #[error("--sign {path}: a {algorithm} key; only ed25519 keys sign (ssh-keygen -t ed25519)")]
    Algorithm { path: PathBuf, algorithm: String },
    #[error("signing failed: {0}")]
    Sign(String),
    #[error("--trusted {path}, line {line}: {why}")]
    TrustedLine {
        path: PathBuf,
        line: usize,
        why: String,
    },
    #[error("--trusted {path}: no public key in it")]
    TrustedEmpty { path: PathBuf },
}

fn read_small(path: &Path) -> Result<String, SignError> {
    use std::io::Read;
    let err = |cause| SignError::Read {
        path: path.to_path_buf(),
        cause,
    };
    let f = std::fs::File::open(path).map_err(err)?;
    let mut text = String::new();
    f.take(MAX_KEY_FILE)
        .read_to_string(&mut text)
        .map_err(err)?;
    Ok(text)
}

/// The data an SSHSIG signs, made from the message's digest (PROTOCOL.sshsig: "SSHSIG",
/// namespace, reserved, hash algorithm, H(message), each but the first as an SSH string).
fn signed_data(namespace: &str, reserved: &[u8], alg: HashAlg, digest: &[u8]) -> Vec<u8> {
    fn string(v: &mut Vec<u8>, s: &[u8]) {
        v.extend_from_slice(&(s.len() as u32).to_be_bytes());
        v.extend_from_slice(s);
    }
    let mut v = b"SSHSIG".to_vec();
    string(&mut v, namespace.as_bytes());
    string(&mut v, reserved);
    string(&mut v, alg.as_str().as_bytes());
    string(&mut v, digest);
    v
}

/// The responder's signing key (`collect --sign`). Its text is never shown.
#[derive(Clone)]
pub struct SigningKey {
    key: PrivateKey,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SigningKey({})", self.fingerprint())
    }
}

impl SigningKey {
    /// Read an unencrypted OpenSSH ed25519 private key.
    pub fn load(path: &Path) -> Result<SigningKey, SignError> {
        let text = zeroize::Zeroizing::new(read_small(path)?);
        let key = PrivateKey::from_openssh(text.as_bytes()).map_err(|e| {
            let why = if text.trim_start().starts_with("ssh-") {
                "it is a public key".to_string()
            } else {
                e.to_string()
            };
            SignError::NotPrivateKey {
                path: path.to_path_buf(),
                why,
            }
        })?;
        if key.is_encrypted() {
            return Err(SignError::Encrypted {
                path: path.to_path_buf(),
            });
        }
        Self::from_key(key).map_err(|algorithm| SignError::Algorithm {
            path: path.to_path_buf(),
            algorithm,
        })
    }

    /// An ed25519 key; any other algorithm is refused with its name.
    pub fn from_key(key: PrivateKey) -> Result<SigningKey, String> {
        match key.algorithm() {
            Algorithm::Ed25519 => Ok(SigningKey { key }),
            other => Err(other.as_str().to_string()),
        }
    }

    /// A key made from a fixed seed (tests sign without a key file).
    #[cfg(test)]
    pub fn from_seed(seed: [u8; 32]) -> SigningKey {
        let pair = ssh_key::private::Ed25519Keypair::from_seed(&seed);
        SigningKey {
            key: PrivateKey::from(pair),
        }
    }

    /// `ssh-ed25519 AAAA...`, without the key file's comment (it may name the responder's
    /// own machine).
    pub fn public_openssh(&self) -> String {
        public_text(self.key.public_key().key_data())
    }

    /// `SHA256:...`, as `ssh-keygen -l` prints it.
    pub fn fingerprint(&self) -> String {
        fingerprint(self.key.public_key().key_data())
    }

    /// What the manifest says of the signature.
    pub fn info(&self) -> SignatureInfo {
        SignatureInfo {
            scheme: "sshsig".into(),
            namespace: NAMESPACE.into(),
            public_key: self.public_openssh(),
            fingerprint: self.fingerprint(),
        }
    }

    /// An armored SSH signature over the message whose SHA-256 is `digest`.
    pub fn sign_digest(&self, digest: &Sha256) -> Result<String, SignError> {
        let data = signed_data(NAMESPACE, &[], HashAlg::Sha256, &digest.0);
        let sig = self
            .key
            .try_sign(&data)
            .map_err(|e| SignError::Sign(e.to_string()))?;
        SshSig::new(
            self.key.public_key().key_data().clone(),
            NAMESPACE,
            HashAlg::Sha256,
            sig,
        )
        .and_then(|s| s.to_pem(LineEnding::LF))
        .map_err(|e| SignError::Sign(e.to_string()))
    }
}

pub fn public_text(key: &KeyData) -> String {
    PublicKey::new(key.clone(), "")
        .to_openssh()
        .map(|s| s.trim_end().to_string())
        .unwrap_or_else(|_| fingerprint(key))
}

pub fn fingerprint(key: &KeyData) -> String {
    key.fingerprint(HashAlg::Sha256).to_string()
}

/// A parsed signature, before it is checked.
pub struct Signature {
    sig: SshSig,
}

impl Signature {
    /// Parse an armored SSH signature. `canonical`: the text must be exactly what irsnap
    /// writes for it (the member inside the archive: so no byte of it is free to change).
    pub fn parse(pem: &[u8], canonical: bool) -> Result<Signature, String> {
        let sig = SshSig::from_pem(pem).map_err(|e| format!("not an SSH signature: {e}"))?;
        if canonical {
            let again = sig.to_pem(LineEnding::LF).map_err(|e| e.to_string())?;
            if again.as_bytes() != pem {
                return Err("the signature text is not in its canonical form".into());
            }
        }
        if sig.namespace() != NAMESPACE {
            return Err(format!(
                "signature namespace {:?}, not {NAMESPACE:?}",
                sig.namespace()
            ));
        }
        Ok(Signature { sig })
    }

    /// The hash the signature was made over (`sha256` by irsnap, `sha512` by ssh-keygen).
    pub fn wants_sha512(&self) -> bool {
        self.sig.hash_alg() == HashAlg::Sha512
    }

    pub fn signer(&self) -> &KeyData {
        self.sig.public_key()
    }

    /// Check the signature against the message's digest (SHA-256 or SHA-512, as
    /// [`Self::wants_sha512`] says), with the key it names.
    pub fn verify_digest(&self, digest: &[u8]) -> Result<(), String> {
        let data = signed_data(
            self.sig.namespace(),
            self.sig.reserved(),
            self.sig.hash_alg(),
            digest,
        );
        self.sig
            .public_key()
            .verify(&data, self.sig.signature())
            .map_err(|_| "the signature does not match the signed bytes".to_string())
    }
}

/// Keys the analyst trusts (`verify --trusted FILE`): a public key file (`ssh-ed25519 AAAA...`
/// lines) or an OpenSSH allowed_signers file (`principals [options] key`). Of the options,
/// `namespaces=` is honoured; `cert-authority` lines (certificates) are not supported and
/// refused, as are `valid-after`/`valid-before`, rather than silently ignored.
#[derive(Debug, Default)]
pub struct Trusted {
    keys: Vec<TrustedKey>,
}

#[derive(Debug)]
struct TrustedKey {
    key: KeyData,
    principals: Option<String>,
}

impl Trusted {
    pub fn load(paths: &[PathBuf]) -> Result<Trusted, SignError> {
        let mut t = Trusted::default();
        for p in paths {
            let text = read_small(p)?;
            let before = t.keys.len();
            t.parse_into(p, &text)?;
            if t.keys.len() == before {
                return Err(SignError::TrustedEmpty { path: p.clone() });
            }
        }
        Ok(t)
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    fn parse_into(&mut self, path: &Path, text: &str) -> Result<(), SignError> {
        for (i, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let bad = |why: String| SignError::TrustedLine {
                path: path.to_path_buf(),
                line: i + 1,
                why,
            };
            if let Ok(k) = PublicKey::from_openssh(line) {
                self.keys.push(TrustedKey {
                    key: k.key_data().clone(),
                    principals: None,
                });
                continue;
            }
            // allowed_signers: principals, then options (quoted values may hold spaces),
            // then the key.
            let (principals, rest) = split_field(line);
            let (options, key_text) = match PublicKey::from_openssh(rest) {
                Ok(_) => ("", rest),
                Err(_) => split_field(rest),
            };
            let key = PublicKey::from_openssh(key_text)
                .map_err(|e| bad(format!("not a public key or allowed_signers line ({e})")))?;
            let mut namespaces_ok = true;
            for opt in split_options(options) {
                let (name, value) = opt.split_once('=').unwrap_or((opt, ""));
                match name.to_ascii_lowercase().as_str() {
                    "namespaces" => {
                        namespaces_ok = value
                            .trim_matches('"')
                            .split(',')
                            .any(|n| n.trim() == NAMESPACE)
                    }
                    other => {
                        return Err(bad(format!(
                            "option {other:?} is not supported by irsnap (only namespaces=)"
                        )));
                    }
                }
            }
            if namespaces_ok {
                self.keys.push(TrustedKey {
                    key: key.key_data().clone(),
                    principals: Some(principals.to_string()),
                });
            }
        }
        Ok(())
    }

    /// The principals (or "" for a bare public key) trusting `key`, if any.
    pub fn find(&self, key: &KeyData) -> Option<&str> {
        self.keys
            .iter()
            .find(|t| &t.key == key)
            .map(|t| t.principals.as_deref().unwrap_or(""))
    }
}

/// The first whitespace-separated field (a quoted part may hold spaces) and the rest.
fn split_field(s: &str) -> (&str, &str) {
    let mut quoted = false;
    for (i, c) in s.char_indices() {
        match c {
            '"' => quoted = !quoted,
            c if c.is_whitespace() && !quoted => return (&s[..i], s[i..].trim_start()),
            _ => {}
        }
    }
    (s, "")
}

/// Comma-separated options, commas inside quotes kept.
fn split_options(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut quoted, mut start) = (false, 0);
    for (i, c) in s.char_indices() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => {
                out.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    if start < s.len() {
        out.push(&s[start..]);
    }
    out.into_iter().filter(|o| !o.is_empty()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_signature_verifies_and_a_changed_digest_does_not() {
        let key = SigningKey::from_seed([7; 32]);
        let digest = Sha256::digest(b"manifest");
        let pem = key.sign_digest(&digest).unwrap();
        assert!(pem.starts_with("-----BEGIN SSH SIGNATURE-----\n"));
        let sig = Signature::parse(pem.as_bytes(), true).unwrap();
        assert!(!sig.wants_sha512());
        sig.verify_digest(&digest.0).unwrap();
        assert!(sig.verify_digest(&Sha256::digest(b"other").0).is_err());
        assert_eq!(fingerprint(sig.signer()), key.fingerprint());
        // One more newline is not the canonical text.
        let mut longer = pem.clone().into_bytes();
        longer.push(b'\n');
        assert!(Signature::parse(&longer, true).is_err());
    }

    #[test]
    fn trusted_files_take_public_keys_and_allowed_signers_lines() {
        let key = SigningKey::from_seed([7; 32]);
        let other = SigningKey::from_seed([8; 32]);
        let pubkey = key.public_openssh();
        let mut t = Trusted::default();
        t.parse_into(Path::new("k.pub"), &format!("{pubkey} me@laptop\n"))
            .unwrap();
        let me = SshSig::from_pem(key.sign_digest(&Sha256::digest(b"x")).unwrap()).unwrap();
        assert_eq!(t.find(me.public_key()), Some(""));
        let mut t = Trusted::default();
        let text = format!(
            "# team\nir@example.org,oncall namespaces=\"git,irsnap\" {pubkey}\n\
             other@example.org namespaces=\"git\" {}\n",
            other.public_openssh()
        );
        t.parse_into(Path::new("allowed"), &text).unwrap();
        assert_eq!(t.find(me.public_key()), Some("ir@example.org,oncall"));
        let them = SshSig::from_pem(other.sign_digest(&Sha256::digest(b"x")).unwrap()).unwrap();
        assert_eq!(t.find(them.public_key()), None, "namespace git only");
        let refused = Trusted::default().parse_into(
            Path::new("allowed"),
            &format!("a valid-after=\"20250101\" {pubkey}\n"),
        );
        assert!(refused.is_err());
        assert!(
            Trusted::default()
                .parse_into(Path::new("x"), "not a key\n")
                .is_err()
        );
    }
}
