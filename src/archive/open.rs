//! Opening an archive for reading, plain (`.zip`) or age-encrypted (`.zip.age`): the one
//! entry point for `verify`, `report` and `export`.
//!
//! An encrypted archive is never decrypted to disk or into memory as a whole: age's
//! payload is a sequence of independently authenticated 64 KiB chunks, and its reader
//! seeks by decrypting only the chunk it lands in, so the zip reader gets a seekable view
//! of the plaintext straight over the ciphertext file. Nothing of the plaintext touches the
//! analyst's disk either, memory stays flat for any size, and every chunk that is read is
//! authenticated (a damaged chunk is a read error, never silently wrong bytes).

use super::crypt::{AGE_MAGIC, ARMOR_MAGIC, Identities};
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};
use zip::ZipArchive;

/// What the zip reader needs: the same seekable byte stream sources hand to collectors.
pub use crate::source::ReadSeek;

#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    // The messages name their causes (printed once: no `#[source]` besides).
    #[error("cannot open {path}: {cause}")]
    Io {
        path: PathBuf,
        cause: std::io::Error,
    },
    #[error(
        "{path} is encrypted with age: give --identity FILE (a secret key whose public key it \
         was encrypted to)"
    )]
    NeedIdentity { path: PathBuf },
    #[error(
        "{path}: none of the given identities can decrypt it (it was encrypted to other keys, \
         or its header is damaged)"
    )]
    NoMatchingIdentity { path: PathBuf },
    #[error("{path}: the age encryption is damaged: {reason}")]
    Damaged { path: PathBuf, reason: String },
    #[error("{path} is ASCII-armored age: decrypt it with `age -d` first, or re-encrypt it binary")]
    Armored { path: PathBuf },
    #[error("{path} is not a readable zip: {cause}")]
    Zip {
        path: PathBuf,
        cause: zip::result::ZipError,
    },
}

impl OpenError {
    /// The file is provably damaged (as opposed to: we were not given what reads it).
    pub fn is_damage(&self) -> bool {
        matches!(self, OpenError::Damaged { .. } | OpenError::Zip { .. })
    }
}

/// What a file holds, from its first bytes (not its name: a renamed archive still opens).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Container {
    Zip,
    Age,
    AgeArmored,
}

pub fn sniff(path: &Path) -> Result<Container, OpenError> {
    let mut head = [0u8; 40];
    let mut f = File::open(path).map_err(|source| io_err(path, source))?;
    let mut n = 0;
    while n < head.len() {
        match f.read(&mut head[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(io_err(path, e)),
        }
    }
    let head = &head[..n];
    Ok(if head.starts_with(AGE_MAGIC) {
        Container::Age
    } else if head.starts_with(ARMOR_MAGIC) {
        Container::AgeArmored
    } else {
        Container::Zip
    })
}

fn io_err(path: &Path, source: std::io::Error) -> OpenError {
    OpenError::Io {
        path: path.to_path_buf(),
        cause: source,
    }
}

fn decrypt_error(path: &Path, e: age::DecryptError) -> OpenError {
    match e {
        age::DecryptError::NoMatchingKeys => OpenError::NoMatchingIdentity {
            path: path.to_path_buf(),
        },
        other => OpenError::Damaged {
            path: path.to_path_buf(),
            reason: other.to_string(),
        },
    }
}

/// Start decrypting an age file: checks the header (its MAC) and that an identity fits.
fn age_reader(
    path: &Path,
    identities: &Identities,
) -> Result<age::stream::StreamReader<BufReader<File>>, OpenError> {
    if identities.is_empty() {
        return Err(OpenError::NeedIdentity {
            path: path.to_path_buf(),
        });
    }
    let f = File::open(path).map_err(|source| io_err(path, source))?;
    let d = age::Decryptor::new_buffered(BufReader::with_capacity(1 << 17, f))
        .map_err(|e| decrypt_error(path, e))?;
    d.decrypt(identities.iter())
        .map_err(|e| decrypt_error(path, e))
}

/// The archive's plaintext (the zip bytes) as a seekable reader.
pub fn open_plaintext(
    path: &Path,
    identities: &Identities,
) -> Result<Box<dyn ReadSeek>, OpenError> {
    match sniff(path)? {
        Container::Zip => Ok(Box::new(BufReader::new(
            File::open(path).map_err(|source| io_err(path, source))?,
        ))),
        Container::Age => Ok(Box::new(age_reader(path, identities)?)),
        Container::AgeArmored => Err(OpenError::Armored {
            path: path.to_path_buf(),
        }),
    }
}

/// Open an archive for reading, decrypting it on the fly when it is age-encrypted.
/// `identities` may be empty for a plain archive.
pub fn open_archive(
    path: &Path,
    identities: &Identities,
) -> Result<ZipArchive<Box<dyn ReadSeek>>, OpenError> {
    let r = open_plaintext(path, identities)?;
    ZipArchive::new(r).map_err(|source| {
        // A damaged age chunk surfaces from the zip reader as an I/O error.
        OpenError::Zip {
            path: path.to_path_buf(),
            cause: source,
        }
    })
}

/// Decrypt the whole file front to back, discarding the plaintext: proves the header and
/// every chunk authentic and the file not truncated (a seeking reader only checks the
/// chunks it visits). Returns the plaintext size.
pub fn authenticate(path: &Path, identities: &Identities) -> Result<u64, OpenError> {
    let mut r = age_reader(path, identities)?;
    std::io::copy(&mut r, &mut std::io::sink()).map_err(|e| OpenError::Damaged {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })
}
