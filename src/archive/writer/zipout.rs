//! A streaming zip writer whose memory does not grow with the number of members.
//!
//! The zip crate's writer keeps a few hundred bytes of metadata per member until the central
//! directory is written (a file name twice, extra fields, options); 100,000 copied scripts
//! cost tens of megabytes. Here each member's central-directory header is serialized the
//! moment the member ends and kept deflated (names share long prefixes: about a fifth of the
//! raw size), then inflated straight into the output at the end. The writer never seeks, so
//! it can feed an encryptor: members whose size is not known in advance carry a data
//! descriptor. One deflate state is reused for every member.
//!
//! Every member's stored bytes (compressed, as they lie in the file) are hashed as they go
//! out: the manifest lists that hash next to the content's, so a signed manifest binds every
//! data byte of the archive, and `verify` (`archive/verify/zipcheck.rs`) accepts exactly the
//! layout written here, nothing more.
//!
//! Format: PKWARE APPNOTE 6.3 (local headers, data descriptors, zip64 extended information,
//! the zip64 end of central directory record and locator). Names are UTF-8 (flag bit 11).

use super::chunks::Chunks;
use crate::record::{Sha256, Timestamp};
use flate2::{Compress, Compression, FlushCompress, Status};
use std::io::{self, Write};

pub(crate) const LOCAL_SIG: u32 = 0x0403_4b50;
pub(crate) const CENTRAL_SIG: u32 = 0x0201_4b50;
pub(crate) const DESCRIPTOR_SIG: u32 = 0x0807_4b50;
pub(crate) const EOCD_SIG: u32 = 0x0605_4b50;
pub(crate) const ZIP64_EOCD_SIG: u32 = 0x0606_4b50;
pub(crate) const ZIP64_LOCATOR_SIG: u32 = 0x0706_4b50;
pub(crate) const ZIP64_EXTRA: u16 = 0x0001;
/// General purpose flags: sizes in a data descriptor (bit 3), UTF-8 names (bit 11).
pub(crate) const FLAG_DESCRIPTOR: u16 = 0x0008;
pub(crate) const FLAG_UTF8: u16 = 0x0800;
/// Made by Unix (3), spec 4.5 (zip64).
pub(crate) const MADE_BY: u16 = (3 << 8) | 45;
/// `-rw-r--r--`, a regular file, in the high half of the external attributes.
pub(crate) const EXTERNAL_ATTRS: u32 = 0o100_644 << 16;
pub(crate) const U32_MAX: u64 = 0xFFFF_FFFF;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Stored,
    /// Deflated at this zlib level (0–9).
    Deflated(u32),
}

impl Method {
    pub(crate) fn code(self) -> u16 {
        match self {
            Method::Stored => 0,
            Method::Deflated(_) => 8,
        }
    }
}

/// How one member is written.
#[derive(Debug, Clone, Copy)]
pub struct EntryOptions {
    pub method: Method,
    pub mtime: Option<Timestamp>,
    /// The member may reach 4 GiB: its local header announces zip64 sizes.
    pub large: bool,
}

/// MS-DOS date and time (2-second resolution, 1980–2107); 1980-01-01 when out of range.
fn dos_time(t: Option<Timestamp>) -> (u16, u16) {
    use chrono::{Datelike, Timelike};
    match t {
        Some(t) if (1980..=2107).contains(&t.year()) => {
            let date = ((t.year() - 1980) as u16) << 9 | (t.month() as u16) << 5 | t.day() as u16;
            let time = (t.hour() as u16) << 11 | (t.minute() as u16) << 5 | (t.second() / 2) as u16;
            (time, date)
        }
        _ => (0, (1 << 5) | 1),
    }
}

/// The bytes below the zip: counted, so offsets are known without seeking.
struct Counting<W: Write> {
    inner: W,
    pos: u64,
}

impl<W: Write> Counting<W> {
    fn put(&mut self, b: &[u8]) -> io::Result<()> {
        self.inner.write_all(b)?;
        self.pos += b.len() as u64;
        Ok(())
    }
}

/// The member being written.
struct Current {
    name: String,
    offset: u64,
    method: Method,
    dos: (u16, u16),
    large: bool,
    crc: crc32fast::Hasher,
    size: u64,
    /// Output position where the member's data starts.
    data_start: u64,
}

pub struct ZipOut<W: Write> {
    out: Counting<W>,
    /// Serialized central-directory headers, deflated.
    central: flate2::write::DeflateEncoder<Chunks>,
    entries: u64,
    current: Option<Current>,
    deflate: Compress,
    /// The deflate level `deflate` was made with (a member with another level gets a new one).
    level: u32,
    buf: Vec<u8>,
    /// SHA-256 of the current member's stored bytes (as they lie in the file).
    stored: sha2::Sha256,
    /// Write zip64 fields even where 32 bits would do (tests reach the zip64 paths this way).
    force_zip64: bool,
}

fn le16(v: &mut Vec<u8>, x: u16) {
    v.extend_from_slice(&x.to_le_bytes());
}
fn le32(v: &mut Vec<u8>, x: u32) {
    v.extend_from_slice(&x.to_le_bytes());
}
fn le64(v: &mut Vec<u8>, x: u64) {
    v.extend_from_slice(&x.to_le_bytes());
}

/// A local file header. With `zip64` (uncompressed, compressed) the 32-bit sizes say
/// 0xFFFFFFFF and the zip64 extra holds the real ones; otherwise `sizes32` (compressed,
/// uncompressed) are written as they are.
#[allow(clippy::too_many_arguments)]
fn local_header(
    name: &str,
    name_len: u16,
    flags: u16,
    method: Method,
    dos: (u16, u16),
    crc: u32,
    zip64: Option<(u64, u64)>,
    sizes32: (u32, u32),
) -> Vec<u8> {
    let mut h = Vec::with_capacity(30 + name.len() + 20);
    le32(&mut h, LOCAL_SIG);
    le16(&mut h, if zip64.is_some() { 45 } else { 20 });
    le16(&mut h, flags);
    le16(&mut h, method.code());
    le16(&mut h, dos.0);
    le16(&mut h, dos.1);
    le32(&mut h, crc);
    let (compressed, size) = if zip64.is_some() {
        (u32::MAX, u32::MAX)
    } else {
        sizes32
    };
    le32(&mut h, compressed);
    le32(&mut h, size);
    le16(&mut h, name_len);
    le16(&mut h, if zip64.is_some() { 20 } else { 0 });
    h.extend_from_slice(name.as_bytes());
    if let Some((size, compressed)) = zip64 {
        le16(&mut h, ZIP64_EXTRA);
        le16(&mut h, 16);
        le64(&mut h, size);
        le64(&mut h, compressed);
    }
    h
}

fn too_long(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, format!("zip: {what} too long"))
}

/// What the central directory needs of one finished member.
struct Done<'a> {
    name: &'a str,
    offset: u64,
    method: Method,
    dos: (u16, u16),
    crc: u32,
    compressed: u64,
    size: u64,
    descriptor: bool,
}

impl<W: Write> ZipOut<W> {
    pub fn new(out: W) -> ZipOut<W> {
        ZipOut {
            out: Counting { inner: out, pos: 0 },
            central: flate2::write::DeflateEncoder::new(Chunks::new(), Compression::new(2)),
            entries: 0,
            current: None,
            deflate: Compress::new(Compression::new(3), false),
            level: 3,
            buf: vec![0; 64 << 10],
            stored: sha2::Digest::new(),
            force_zip64: false,
        }
    }

    #[cfg(test)]
    pub fn force_zip64(&mut self) {
        self.force_zip64 = true;
    }

    /// End the member being written, if any, and start `name`, whose data is then written
    /// through [`Write`].
    pub fn start_file(&mut self, name: &str, opts: EntryOptions) -> io::Result<()> {
        self.end_file()?;
        let name_len = u16::try_from(name.len()).map_err(|_| too_long("member name"))?;
        let dos = dos_time(opts.mtime);
        let large = opts.large || self.force_zip64;
        let offset = self.out.pos;
        // CRC and sizes follow in the data descriptor; a large member says so with zip64
        // sizes, so the descriptor's 8-byte sizes are the ones readers expect.
        let h = local_header(
            name,
            name_len,
            FLAG_DESCRIPTOR | FLAG_UTF8,
            opts.method,
            dos,
            0,
            large.then_some((0, 0)),
            (0, 0),
        );
        self.out.put(&h)?;
        self.stored = sha2::Digest::new();
        if let Method::Deflated(level) = opts.method {
            if level != self.level {
                self.deflate = Compress::new(Compression::new(level.min(9)), false);
                self.level = level;
            } else {
                self.deflate.reset();
            }
        }
        self.current = Some(Current {
            name: name.to_string(),
            offset,
            method: opts.method,
            dos,
            large,
            crc: crc32fast::Hasher::new(),
            size: 0,
            data_start: self.out.pos,
        });
        Ok(())
    }

    /// Run the deflater over `input` (all of it) with `flush`, writing what it produces.
    fn deflate_out(&mut self, mut input: &[u8], flush: FlushCompress) -> io::Result<()> {
        loop {
            let (before_in, before_out) = (self.deflate.total_in(), self.deflate.total_out());
            let status = self
                .deflate
                .compress(input, &mut self.buf, flush)
                .map_err(io::Error::other)?;
            let consumed = (self.deflate.total_in() - before_in) as usize;
            let produced = (self.deflate.total_out() - before_out) as usize;
            input = &input[consumed..];
            sha2::Digest::update(&mut self.stored, &self.buf[..produced]);
            self.out.put(&self.buf[..produced])?;
            let finishing = matches!(flush, FlushCompress::Finish);
            if finishing && status == Status::StreamEnd {
                return Ok(());
            }
            // Input consumed and the output buffer was not filled: nothing more is pending.
            if !finishing && input.is_empty() && produced < self.buf.len() {
                return Ok(());
            }
            if consumed == 0 && produced == 0 && status == Status::BufError {
                return Err(io::Error::other("zip: the deflater made no progress"));
            }
        }
    }

    /// End the member being written: its deflate stream, data descriptor and directory entry.
    /// Returns the SHA-256 of its stored bytes (`None` when no member was open).
    pub fn end_file(&mut self) -> io::Result<Option<Sha256>> {
        let Some(cur) = self.current.take() else {
            return Ok(None);
        };
        if matches!(cur.method, Method::Deflated(_)) {
            self.deflate_out(&[], FlushCompress::Finish)?;
        }
        let compressed = self.out.pos - cur.data_start;
        if !cur.large && (cur.size >= U32_MAX || compressed >= U32_MAX) {
            return Err(io::Error::other(format!(
                "zip: {} grew past 4 GiB without zip64",
                cur.name
            )));
        }
        let crc = cur.crc.finalize();
        let mut d = Vec::with_capacity(24);
        le32(&mut d, DESCRIPTOR_SIG);
        le32(&mut d, crc);
        if cur.large {
            le64(&mut d, compressed);
            le64(&mut d, cur.size);
        } else {
            le32(&mut d, compressed as u32);
            le32(&mut d, cur.size as u32);
        }
        self.out.put(&d)?;
        self.directory_entry(Done {
            name: &cur.name,
            offset: cur.offset,
            method: cur.method,
            dos: cur.dos,
            crc,
            compressed,
            size: cur.size,
            descriptor: true,
        })?;
        let stored = std::mem::replace(&mut self.stored, sha2::Digest::new());
        Ok(Some(Sha256(sha2::Digest::finalize(stored).into())))
    }

    /// Add a member whose data is already compressed (deflated `data` of `size` bytes with
    /// CRC-32 `crc`): sizes are known, so no data descriptor. Returns the SHA-256 of `data`.
    pub fn raw_deflated(
        &mut self,
        name: &str,
        mtime: Option<Timestamp>,
        crc: u32,
        size: u64,
        data: &[u8],
    ) -> io::Result<Sha256> {
        self.end_file()?;
        let name_len = u16::try_from(name.len()).map_err(|_| too_long("member name"))?;
        let dos = dos_time(mtime);
        let compressed = data.len() as u64;
        let zip64 = self.force_zip64 || size >= U32_MAX || compressed >= U32_MAX;
        let offset = self.out.pos;
        let h = local_header(
            name,
            name_len,
            FLAG_UTF8,
            Method::Deflated(0),
            dos,
            crc,
            zip64.then_some((size, compressed)),
            (compressed as u32, size as u32),
        );
        self.out.put(&h)?;
        self.out.put(data)?;
        self.directory_entry(Done {
            name,
            offset,
            method: Method::Deflated(0),
            dos,
            crc,
            compressed,
            size,
            descriptor: false,
        })?;
        Ok(Sha256::digest(data))
    }

    fn directory_entry(&mut self, d: Done<'_>) -> io::Result<()> {
        let force = self.force_zip64;
        let big = |v: u64| force || v >= U32_MAX;
        let mut extra = Vec::new();
        // The zip64 extra holds, in this order, only the fields the header marks 0xFFFFFFFF.
        for v in [d.size, d.compressed, d.offset] {
            if big(v) {
                le64(&mut extra, v);
            }
        }
        let zip64 = !extra.is_empty();
        let narrow = |v: u64| if big(v) { u32::MAX } else { v as u32 };
        let mut h = Vec::with_capacity(46 + d.name.len() + 28);
        le32(&mut h, CENTRAL_SIG);
        le16(&mut h, MADE_BY);
        le16(&mut h, if zip64 { 45 } else { 20 });
        let flags = if d.descriptor {
            FLAG_DESCRIPTOR | FLAG_UTF8
        } else {
            FLAG_UTF8
        };
        le16(&mut h, flags);
        le16(&mut h, d.method.code());
        le16(&mut h, d.dos.0);
        le16(&mut h, d.dos.1);
        le32(&mut h, d.crc);
        le32(&mut h, narrow(d.compressed));
        le32(&mut h, narrow(d.size));
        le16(&mut h, d.name.len() as u16);
        le16(&mut h, if zip64 { extra.len() as u16 + 4 } else { 0 });
        le16(&mut h, 0); // comment
        le16(&mut h, 0); // disk number
        le16(&mut h, 0); // internal attributes
        le32(&mut h, EXTERNAL_ATTRS);
        le32(&mut h, narrow(d.offset));
        h.extend_from_slice(d.name.as_bytes());
        if zip64 {
            le16(&mut h, ZIP64_EXTRA);
            le16(&mut h, extra.len() as u16);
            h.extend_from_slice(&extra);
        }
        self.central.write_all(&h)?;
        self.entries += 1;
        Ok(())
    }

    /// End the last member, write the central directory and the end records with `comment`;
    /// returns the writer below.
    pub fn finish(mut self, comment: &str) -> io::Result<W> {
        self.end_file()?;
        let comment = crate::text::truncate_to_boundary(comment, usize::from(u16::MAX));
        let cd_offset = self.out.pos;
        let central = std::mem::replace(
            &mut self.central,
            flate2::write::DeflateEncoder::new(Chunks::new(), Compression::fast()),
        )
        .finish()?;
        let mut inflated = flate2::read::DeflateDecoder::new(central.reader());
        io::copy(&mut inflated, &mut self.out.inner)
            .map(|n| self.out.pos += n)
            .map_err(|e| io::Error::new(e.kind(), format!("zip: central directory: {e}")))?;
        let cd_size = self.out.pos - cd_offset;
        let zip64 = self.force_zip64
            || self.entries >= u64::from(u16::MAX)
            || cd_size >= U32_MAX
            || cd_offset >= U32_MAX;
        let mut e = Vec::with_capacity(98 + comment.len());
        if zip64 {
            let record_at = self.out.pos;
            le32(&mut e, ZIP64_EOCD_SIG);
            le64(&mut e, 44); // size of the rest of this record
            le16(&mut e, MADE_BY);
            le16(&mut e, 45);
            le32(&mut e, 0); // this disk
            le32(&mut e, 0); // disk of the central directory
            le64(&mut e, self.entries);
            le64(&mut e, self.entries);
            le64(&mut e, cd_size);
            le64(&mut e, cd_offset);
            le32(&mut e, ZIP64_LOCATOR_SIG);
            le32(&mut e, 0);
            le64(&mut e, record_at);
            le32(&mut e, 1); // disks
        }
        let entries16 = if zip64 { u16::MAX } else { self.entries as u16 };
        le32(&mut e, EOCD_SIG);
        le16(&mut e, 0);
        le16(&mut e, 0);
        le16(&mut e, entries16);
        le16(&mut e, entries16);
        le32(&mut e, if zip64 { u32::MAX } else { cd_size as u32 });
        le32(&mut e, if zip64 { u32::MAX } else { cd_offset as u32 });
        le16(&mut e, comment.len() as u16);
        e.extend_from_slice(comment.as_bytes());
        self.out.put(&e)?;
        self.out.inner.flush()?;
        Ok(self.out.inner)
    }
}

/// The data of the member being written.
impl<W: Write> Write for ZipOut<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        let Some(cur) = self.current.as_mut() else {
            return Err(io::Error::other("zip: no member started"));
        };
        cur.crc.update(data);
        cur.size += data.len() as u64;
        let method = cur.method;
        match method {
            Method::Stored => {
                sha2::Digest::update(&mut self.stored, data);
                self.out.put(data)?
            }
            Method::Deflated(_) => self.deflate_out(data, FlushCompress::None)?,
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Cursor, Read};

    fn opts(method: Method, large: bool) -> EntryOptions {
        EntryOptions {
            method,
            mtime: chrono::DateTime::from_timestamp(1_700_000_000, 0),
            large,
        }
    }

    fn members(bytes: Vec<u8>) -> Vec<(String, Vec<u8>)> {
        let mut z = zip::ZipArchive::new(Cursor::new(bytes)).expect("the zip crate reads it");
        (0..z.len())
            .map(|i| {
                let mut f = z.by_index(i).unwrap();
                let mut data = Vec::new();
                f.read_to_end(&mut data).unwrap();
                (f.name().unwrap().to_string(), data)
            })
            .collect()
    }

    fn sample(force: bool) -> Vec<u8> {
        let mut z = ZipOut::new(Vec::new());
        if force {
            z.force_zip64();
        }
        let text = "line é\n".repeat(10_000);
        let noise: Vec<u8> = (0..200_000u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        z.start_file("a.txt", opts(Method::Deflated(3), false))
            .unwrap();
        z.write_all(text.as_bytes()).unwrap();
        z.start_file("dir/ü.bin", opts(Method::Stored, false))
            .unwrap();
        z.write_all(&noise).unwrap();
        z.start_file("big.jsonl", opts(Method::Deflated(6), true))
            .unwrap();
        for _ in 0..100 {
            z.write_all(text.as_bytes()).unwrap();
        }
        z.start_file("empty", opts(Method::Deflated(3), false))
            .unwrap();
        let mut enc = flate2::write::DeflateEncoder::new(Vec::new(), Compression::fast());
        enc.write_all(b"raw part\n").unwrap();
        let mut crc = crc32fast::Hasher::new();
        crc.update(b"raw part\n");
        z.raw_deflated(
            "records/x.jsonl",
            None,
            crc.finalize(),
            9,
            &enc.finish().unwrap(),
        )
        .unwrap();
        z.finish("a comment").unwrap()
    }

    #[test]
    fn members_read_back_with_the_zip_crate_plain_and_zip64() {
        for force in [false, true] {
            let got = members(sample(force));
            let names: Vec<&str> = got.iter().map(|(n, _)| n.as_str()).collect();
            assert_eq!(
                names,
                [
                    "a.txt",
                    "dir/ü.bin",
                    "big.jsonl",
                    "empty",
                    "records/x.jsonl"
                ]
            );
            assert_eq!(got[0].1, "line é\n".repeat(10_000).as_bytes());
            assert_eq!(got[1].1.len(), 200_000);
            assert_eq!(got[2].1.len(), 100 * "line é\n".repeat(10_000).len());
            assert!(got[3].1.is_empty());
            assert_eq!(got[4].1, b"raw part\n");
        }
        let z = zip::ZipArchive::new(Cursor::new(sample(false))).unwrap();
        assert_eq!(z.comment(), b"a comment");
    }

    #[test]
    fn more_than_65535_members_use_the_zip64_end_record() {
        let mut z = ZipOut::new(Vec::new());
        for i in 0..70_000u32 {
            z.start_file(&format!("f/{i}"), opts(Method::Stored, false))
                .unwrap();
            z.write_all(&i.to_le_bytes()).unwrap();
        }
        let bytes = z.finish("").unwrap();
        let mut a = zip::ZipArchive::new(Cursor::new(bytes)).unwrap();
        assert_eq!(a.len(), 70_000);
        let mut last = Vec::new();
        a.by_name("f/69999")
            .unwrap()
            .read_to_end(&mut last)
            .unwrap();
        assert_eq!(last, 69_999u32.to_le_bytes());
    }

    #[test]
    fn dos_times_are_clamped_to_what_dos_can_say() {
        let t = chrono::DateTime::from_timestamp(1_700_000_001, 0);
        let (time, date) = dos_time(t);
        // 2023-11-14 22:13:21 UTC, seconds halved.
        assert_eq!(date, (43 << 9) | (11 << 5) | 14);
        assert_eq!(time, (22 << 11) | (13 << 5) | 10);
        assert_eq!(dos_time(chrono::DateTime::from_timestamp(0, 0)), (0, 33));
        assert_eq!(dos_time(None), (0, 33));
    }
}
