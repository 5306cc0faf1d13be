//! The bytes under the zip stream: counted and hashed, and the output file that remembers its
//! first error.

use crate::record::Sha256;
use sha2::Digest;
use std::fs::File;
use std::io::{BufWriter, Write};

/// Counts and hashes every byte that passes through.
pub struct HashingWriter<W: Write> {
    inner: W,
    hasher: sha2::Sha256,
    written: u64,
}

impl<W: Write> HashingWriter<W> {
    pub fn new(inner: W) -> Self {
        HashingWriter {
            inner,
            hasher: sha2::Sha256::new(),
            written: 0,
        }
    }

    pub fn finish(self) -> (W, Sha256, u64) {
        (
            self.inner,
            Sha256(self.hasher.finalize().into()),
            self.written,
        )
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// The archive file on the output volume. The first write error is kept (it is the one worth
/// telling: "no space left", not the zip writer's "already closed" that follows) and every
/// later write is discarded, so nothing after it can mistake a broken archive for a good one
/// or print the zip library's own complaints.
pub struct OutputFile {
    pub(super) file: BufWriter<File>,
    pub(super) failed: std::sync::Arc<std::sync::Mutex<Option<std::io::Error>>>,
}

impl OutputFile {
    fn fail(&mut self, e: std::io::Error) -> std::io::Error {
        let copy = std::io::Error::new(e.kind(), e.to_string());
        if let Ok(mut f) = self.failed.lock()
            && f.is_none()
        {
            *f = Some(e);
        }
        copy
    }

    pub(super) fn has_failed(&self) -> bool {
        self.failed.lock().map(|f| f.is_some()).unwrap_or(true)
    }
}

impl Write for OutputFile {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        if self.has_failed() {
            return Ok(buf.len());
        }
        self.file.write(buf).map_err(|e| self.fail(e))
    }

    fn flush(&mut self) -> std::io::Result<()> {
        if self.has_failed() {
            return Ok(());
        }
        self.file.flush().map_err(|e| self.fail(e))
    }
}
