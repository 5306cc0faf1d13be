//! Bytes kept in memory in fixed-size chunks: a growing `Vec` doubles, copies itself on the
//! way and may leave half its capacity unused, which for the deflated member list and central
//! directory of 100,000 members was most of their cost.

use std::io::{self, Read, Write};

/// Size of one chunk.
const CHUNK: usize = 256 << 10;

#[derive(Default)]
pub(super) struct Chunks {
    chunks: Vec<Vec<u8>>,
}

impl Chunks {
    pub fn new() -> Chunks {
        Chunks::default()
    }

    /// The bytes, in order.
    pub fn reader(&self) -> ChunksReader<'_> {
        ChunksReader {
            chunks: &self.chunks,
            at: 0,
            offset: 0,
        }
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.chunks.iter().map(Vec::len).sum()
    }
}

impl Write for Chunks {
    fn write(&mut self, mut data: &[u8]) -> io::Result<usize> {
        let n = data.len();
        while !data.is_empty() {
            let last = match self.chunks.last_mut() {
                Some(c) if c.len() < CHUNK => c,
                _ => {
                    self.chunks.push(Vec::with_capacity(CHUNK));
                    match self.chunks.last_mut() {
                        Some(c) => c,
                        None => return Err(io::Error::other("chunk list empty")),
                    }
                }
            };
            let take = (CHUNK - last.len()).min(data.len());
            last.extend_from_slice(&data[..take]);
            data = &data[take..];
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

pub(super) struct ChunksReader<'a> {
    chunks: &'a [Vec<u8>],
    at: usize,
    offset: usize,
}

impl Read for ChunksReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        while let Some(c) = self.chunks.get(self.at) {
            let rest = c.get(self.offset..).unwrap_or(&[]);
            if rest.is_empty() {
                self.at += 1;
                self.offset = 0;
                continue;
            }
            let n = rest.len().min(buf.len());
            buf[..n].copy_from_slice(&rest[..n]);
            self.offset += n;
            return Ok(n);
        }
        Ok(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_come_back_in_order_across_chunks() {
        let mut c = Chunks::new();
        let data: Vec<u8> = (0..(3 * CHUNK + 17)).map(|i| (i % 251) as u8).collect();
        for piece in data.chunks(1000) {
            c.write_all(piece).unwrap();
        }
        assert_eq!(c.len(), data.len());
        let mut back = Vec::new();
        c.reader().read_to_end(&mut back).unwrap();
        assert_eq!(back, data);
        let mut empty = Vec::new();
        Chunks::new().reader().read_to_end(&mut empty).unwrap();
        assert!(empty.is_empty());
    }
}
