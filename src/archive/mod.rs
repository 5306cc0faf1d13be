//! The archive: a zip with `manifest.json`, `records/*.jsonl`, `timeline.jsonl`, `files/...`
//! and `collection.log`, plus a `sha256sum` sidecar. See README "The archive".

pub mod manifest;
pub mod names;
pub mod space;
pub mod verify;
mod writer;

pub use writer::{ArchiveWriter, Finished, HashingWriter, sidecar_path};
