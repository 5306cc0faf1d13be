//! Random reads of a `Read + Seek` through a small page cache: a journal's objects point all
//! over the file, and a 2 GB file must never be held whole.

use super::JournalError;
use std::collections::{HashMap, VecDeque};
use std::io::{Read, Seek, SeekFrom};

const PAGE: u64 = 64 << 10;
/// Pages kept (4 MiB).
const PAGES: usize = 64;
/// Reads larger than this bypass the cache.
const DIRECT: usize = 256 << 10;

pub struct Pages<R> {
    r: R,
    len: u64,
    cache: HashMap<u64, Vec<u8>>,
    order: VecDeque<u64>,
}

impl<R: Read + Seek> Pages<R> {
    pub fn new(mut r: R) -> Result<Pages<R>, JournalError> {
        let len = r
            .seek(SeekFrom::End(0))
            .map_err(|cause| JournalError::Io { offset: 0, cause })?;
        Ok(Pages {
            r,
            len,
            cache: HashMap::new(),
            order: VecDeque::new(),
        })
    }

    pub fn len(&self) -> u64 {
        self.len
    }

    /// `n` bytes at `off`, or `None` when they are not all in the file (or cannot be read).
    pub fn read_at(&mut self, off: u64, n: usize) -> Option<Vec<u8>> {
        let end = off.checked_add(n as u64)?;
        if end > self.len {
            return None;
        }
        if n > DIRECT {
            let mut out = vec![0u8; n];
            self.r.seek(SeekFrom::Start(off)).ok()?;
            self.r.read_exact(&mut out).ok()?;
            return Some(out);
        }
        let mut out = Vec::with_capacity(n);
        let mut at = off;
        while at < end {
            let page = at / PAGE;
            let data = self.page(page)?;
            let start = (at - page * PAGE) as usize;
            let stop = ((end - page * PAGE) as usize).min(data.len());
            if start >= stop {
                return None;
            }
            out.extend_from_slice(&data[start..stop]);
            at = page * PAGE + stop as u64;
        }
        Some(out)
    }

    fn page(&mut self, page: u64) -> Option<&Vec<u8>> {
        if !self.cache.contains_key(&page) {
            let start = page * PAGE;
            let n = (self.len - start).min(PAGE) as usize;
            let mut buf = vec![0u8; n];
            self.r.seek(SeekFrom::Start(start)).ok()?;
            self.r.read_exact(&mut buf).ok()?;
            if self.order.len() >= PAGES
                && let Some(old) = self.order.pop_front()
            {
                self.cache.remove(&old);
            }
            self.cache.insert(page, buf);
            self.order.push_back(page);
        }
        self.cache.get(&page)
    }
}
