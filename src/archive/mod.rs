//! The archive: a zip with `manifest.json`, `records/*.jsonl`, `timeline.jsonl`, `files/...`
//! and `collection.log`, plus a `sha256sum` sidecar; optionally age-encrypted as a whole
//! (`.zip.age`). See README "The archive" and "Encryption".

// One of the three modules that may touch the file system (see clippy.toml).
#![allow(clippy::disallowed_methods)]

pub mod crypt;
pub mod manifest;
pub mod names;
pub mod open;
pub mod sign;
pub mod space;
pub mod verify;
mod writer;

pub use crypt::{Identities, Recipients};
pub use open::{ReadSeek, open_archive};
pub use sign::{SigningKey, Trusted};
pub use writer::{
    ArchiveWriter, Finished, HashingWriter, RECORD_PART_BYTES, sidecar_path, signature_path,
};
