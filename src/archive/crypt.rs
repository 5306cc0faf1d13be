//! age encryption of the archive (<https://age-encryption.org/v1>, the format of the `age`
//! and `rage` tools). The collector encrypts to X25519 public keys (`age1...`) while it
//! writes, so no plaintext evidence touches the suspect host's disk; the analyst decrypts
//! with identity files (`AGE-SECRET-KEY-1...` lines, as `age-keygen` writes them).
//!
//! Secrets never leave this module in text: recipients (public keys) may be printed, logged
//! and stored in the manifest; an identity is only ever named by its file and line number,
//! and a value that looks like a secret key given where a public key belongs is refused
//! without being echoed.

use age::x25519;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::str::FromStr;

/// The first bytes of a binary age file.
pub const AGE_MAGIC: &[u8] = b"age-encryption.org/";
/// The first bytes of an ASCII-armored age file (`age -a`).
pub const ARMOR_MAGIC: &[u8] = b"-----BEGIN AGE ENCRYPTED FILE-----";

/// An identity file is a few lines; anything larger is not one.
const MAX_IDENTITY_FILE: u64 = 1 << 20;

/// How much of a refused recipient the error message shows.
const SHOWN_CHARS: usize = 80;

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error(
        "--encrypt-to value #{index} is an age SECRET key, not a public key; give the public \
         key (age1..., printed by `age-keygen -y KEYFILE`) and keep the secret key off this \
         host (the value is not shown)"
    )]
    SecretAsRecipient { index: usize },
    #[error(
        "--encrypt-to {shown}: not an age X25519 public key ({why}); expected age1... as \
         printed by age-keygen"
    )]
    BadRecipient { shown: String, why: &'static str },
    #[error(
        "--encrypt-to {shown}: only age X25519 public keys (age1...) are supported, not SSH \
         keys, plugin or post-quantum recipients"
    )]
    UnsupportedRecipient { shown: String },
    #[error("cannot read identity file {path}: {cause}")]
    IdentityRead {
        path: PathBuf,
        cause: std::io::Error,
    },
    /// Never carries the offending line: it may be a damaged secret.
    #[error("identity file {path}, line {line}: {why} (the line is not shown)")]
    IdentityLine {
        path: PathBuf,
        line: usize,
        why: &'static str,
    },
    #[error("identity file {path}: {why}")]
    IdentityFile { path: PathBuf, why: &'static str },
}

/// A refused value, shown so the responder can find the typo: printable, one line, bounded.
fn shown(s: &str) -> String {
    let cut: String = s.chars().take(SHOWN_CHARS).collect();
    let more = if s.chars().count() > SHOWN_CHARS {
        "..."
    } else {
        ""
    };
    format!("{:?}{more}", cut)
}

fn looks_secret(s: &str) -> bool {
    let up = s.to_ascii_uppercase();
    up.contains("SECRET-KEY") || up.starts_with("AGE-PLUGIN-") || up.contains("PRIVATE KEY")
}

/// The public keys a collection is encrypted to (`--encrypt-to`, repeatable).
#[derive(Clone, Default)]
pub struct Recipients {
    keys: Vec<x25519::Recipient>,
    /// Canonical text of each key, in the order given, without duplicates.
    text: Vec<String>,
}

impl std::fmt::Debug for Recipients {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(&self.text).finish()
    }
}

impl Recipients {
    /// Parse and validate every value; the first bad one is refused with a message that
    /// names it (unless it looks like a secret, which is never echoed).
    pub fn parse<S: AsRef<str>>(values: &[S]) -> Result<Recipients, KeyError> {
        let mut out = Recipients::default();
        for (i, v) in values.iter().enumerate() {
            let v = v.as_ref().trim();
            if looks_secret(v) {
                return Err(KeyError::SecretAsRecipient { index: i + 1 });
            }
            // Bech32 is case-insensitive as a whole; age writes lower case.
            let lower = if v.chars().all(|c| !c.is_ascii_lowercase()) {
                v.to_ascii_lowercase()
            } else {
                v.to_string()
            };
            let key = match x25519::Recipient::from_str(&lower) {
                Ok(k) => k,
                Err(why) => {
                    let unsupported = lower.starts_with("ssh-")
                        || lower.starts_with("ecdsa-")
                        || lower.starts_with("sk-")
                        || lower.starts_with("age1pq1")
                        || lower.starts_with("age1tag1")
                        || (why == "incorrect HRP" && lower.starts_with("age1"));
                    return Err(if unsupported {
                        KeyError::UnsupportedRecipient { shown: shown(v) }
                    } else {
                        KeyError::BadRecipient {
                            shown: shown(v),
                            why,
                        }
                    });
                }
            };
            let text = key.to_string();
            if !out.text.contains(&text) {
                out.text.push(text);
                out.keys.push(key);
            }
        }
        Ok(out)
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// The public keys, as `age1...` text: what the manifest and the log record.
    pub fn public_keys(&self) -> &[String] {
        &self.text
    }

    /// Start an age stream over `out`: writes the header now; the returned writer must be
    /// finished ([`Sealed::finish`]) or the file is truncated and will not decrypt.
    pub fn seal<W: Write>(&self, out: W) -> std::io::Result<Sealed<W>> {
        if self.keys.is_empty() {
            return Ok(Sealed::Plain(out));
        }
        let enc =
            age::Encryptor::with_recipients(self.keys.iter().map(|k| k as &dyn age::Recipient))
                .map_err(|e| std::io::Error::other(format!("age: {e}")))?;
        Ok(Sealed::Age(Box::new(enc.wrap_output(out)?)))
    }
}

/// The byte stream under the zip: the file itself, or an age stream encrypting into it.
pub enum Sealed<W: Write> {
    Plain(W),
    Age(Box<age::stream::StreamWriter<W>>),
}

impl<W: Write> Sealed<W> {
    /// Write age's last chunk (an unfinished age file does not decrypt) and give back the
    /// writer underneath.
    pub fn finish(self) -> std::io::Result<W> {
        match self {
            Sealed::Plain(w) => Ok(w),
            Sealed::Age(w) => w.finish(),
        }
    }
}

impl<W: Write> Write for Sealed<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self {
            Sealed::Plain(w) => w.write(buf),
            Sealed::Age(w) => w.write(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self {
            Sealed::Plain(w) => w.flush(),
            Sealed::Age(w) => w.flush(),
        }
    }
}

/// Secret keys to read encrypted archives with (`--identity FILE`, repeatable). Its `Debug`
/// shows only how many there are.
#[derive(Clone, Default)]
pub struct Identities {
    keys: Vec<x25519::Identity>,
}

impl std::fmt::Debug for Identities {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Identities({} keys)", self.keys.len())
    }
}

impl Identities {
    pub fn none() -> Identities {
        Identities::default()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Read identity files (`-` is standard input, so a key can come from a password
    /// manager without touching the disk).
    pub fn load(paths: &[PathBuf]) -> Result<Identities, KeyError> {
        let mut out = Identities::default();
        for p in paths {
            let mut data = Vec::new();
            let read = if p.as_os_str() == "-" {
                std::io::stdin()
                    .lock()
                    .take(MAX_IDENTITY_FILE + 1)
                    .read_to_end(&mut data)
            } else {
                std::fs::File::open(p)
                    .and_then(|f| f.take(MAX_IDENTITY_FILE + 1).read_to_end(&mut data))
            };
            let parsed = read
                .map_err(|cause| KeyError::IdentityRead {
                    path: p.clone(),
                    cause,
                })
                .and_then(|_| parse_identity_file(p, &data));
            // The parsed keys wipe themselves on drop; the file's bytes are wiped here.
            zeroize::Zeroize::zeroize(&mut data);
            out.keys.extend(parsed?);
        }
        Ok(out)
    }

    pub(crate) fn iter(&self) -> impl Iterator<Item = &dyn age::Identity> {
        self.keys.iter().map(|k| k as &dyn age::Identity)
    }
}

/// The format `age-keygen` writes: `#` comments, blank lines, one `AGE-SECRET-KEY-1...` per
/// line. Errors name the line, never its text.
fn parse_identity_file(path: &Path, data: &[u8]) -> Result<Vec<x25519::Identity>, KeyError> {
    let file_err = |why| KeyError::IdentityFile {
        path: path.to_path_buf(),
        why,
    };
    if data.len() as u64 > MAX_IDENTITY_FILE {
        return Err(file_err("larger than 1 MiB: not an identity file"));
    }
    if data.starts_with(AGE_MAGIC) || data.starts_with(ARMOR_MAGIC) {
        return Err(file_err(
            "passphrase-protected identity files are not supported: decrypt it with `age -d` \
             and pass the result on standard input (--identity -)",
        ));
    }
    let text = std::str::from_utf8(data).map_err(|_| file_err("not UTF-8 text"))?;
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut keys = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line_err = |why| KeyError::IdentityLine {
            path: path.to_path_buf(),
            line: i + 1,
            why,
        };
        if line.starts_with("age1") {
            return Err(line_err(
                "a public key (recipient), not a secret identity: give the AGE-SECRET-KEY-1... \
                 file",
            ));
        }
        if line.starts_with("AGE-PLUGIN-") {
            return Err(line_err("plugin identities are not supported"));
        }
        if line.starts_with("ssh-") || line.starts_with("-----BEGIN") {
            return Err(line_err("SSH keys are not supported"));
        }
        let key = x25519::Identity::from_str(line)
            .map_err(|_| line_err("not an age X25519 identity (expected AGE-SECRET-KEY-1...)"))?;
        keys.push(key);
    }
    if keys.is_empty() {
        return Err(file_err(
            "holds no identity (expected AGE-SECRET-KEY-1... lines)",
        ));
    }
    Ok(keys)
}

#[cfg(test)]
mod tests {
    use super::*;
    use age::secrecy::ExposeSecret;

    fn pair() -> (String, String) {
        let id = x25519::Identity::generate();
        (
            id.to_string().expose_secret().to_string(),
            id.to_public().to_string(),
        )
    }

    #[test]
    fn recipients_parse_dedupe_and_accept_upper_case() {
        let (_, a) = pair();
        let (_, b) = pair();
        let r = Recipients::parse(&[a.clone(), format!("  {b} "), a.to_uppercase()]).unwrap();
        assert_eq!(r.public_keys(), &[a, b]);
    }

    #[test]
    fn a_secret_given_as_recipient_is_refused_without_echo() {
        let (secret, _) = pair();
        let e = Recipients::parse(std::slice::from_ref(&secret))
            .unwrap_err()
            .to_string();
        assert!(e.contains("SECRET key"), "{e}");
        assert!(!e.contains(&secret[15..]), "{e}");
    }

    #[test]
    fn bad_and_unsupported_recipients_are_named() {
        let e = Recipients::parse(&["age1nope"]).unwrap_err().to_string();
        assert!(e.contains("\"age1nope\""), "{e}");
        let e = Recipients::parse(&["ssh-ed25519 AAAAC3Nza user@host"])
            .unwrap_err()
            .to_string();
        assert!(e.contains("not SSH keys"), "{e}");
        let long = "x".repeat(500);
        let e = Recipients::parse(&[long]).unwrap_err().to_string();
        assert!(e.len() < 300, "{e}");
        let e = Recipients::parse(&["age1\u{1b}[31m"])
            .unwrap_err()
            .to_string();
        assert!(!e.contains('\u{1b}'), "{e}");
    }

    #[test]
    fn identity_files_with_comments_and_crlf() {
        let (s1, _) = pair();
        let (s2, _) = pair();
        let text =
            format!("\u{feff}# created: 2026-01-01\r\n# public key: age1...\r\n{s1}\r\n\r\n{s2}\n");
        let keys = parse_identity_file(Path::new("k.txt"), text.as_bytes()).unwrap();
        assert_eq!(keys.len(), 2);
    }

    fn parse_err(data: &[u8]) -> String {
        match parse_identity_file(Path::new("k.txt"), data) {
            Ok(_) => panic!("accepted"),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn identity_errors_never_show_the_line() {
        let (secret, public) = pair();
        // Always a different last character (a fixed one is a no-op for one key in 32).
        let last = if secret.ends_with('X') { 'Y' } else { 'X' };
        let damaged = format!("{}{last}", &secret[..secret.len() - 1]);
        let e = parse_err(damaged.as_bytes());
        assert!(e.contains("line 1") && !e.contains(&damaged[15..40]), "{e}");
        let e = parse_err(public.as_bytes());
        assert!(e.contains("public key"), "{e}");
        let e = parse_err(b"# only a comment\n");
        assert!(e.contains("no identity"), "{e}");
        assert!(parse_identity_file(Path::new("k"), b"age-encryption.org/v1\n").is_err());
    }

    #[test]
    fn sealed_round_trip() {
        let id = x25519::Identity::generate();
        let r = Recipients::parse(&[id.to_public().to_string()]).unwrap();
        let mut w = r.seal(Vec::new()).unwrap();
        w.write_all(b"evidence").unwrap();
        let ct = w.finish().unwrap();
        assert!(ct.starts_with(AGE_MAGIC));
        let ids = Identities { keys: vec![id] };
        let d = age::Decryptor::new(&ct[..]).unwrap();
        let mut pt = Vec::new();
        d.decrypt(ids.iter()).unwrap().read_to_end(&mut pt).unwrap();
        assert_eq!(pt, b"evidence");
        assert!(format!("{ids:?}").contains("1 keys"));
    }
}
