//! The strict reading of an archive's zip: every byte of the file is accounted for, as a
//! field the writer (`archive/writer/zipout.rs`) sets to a known value, a field repeated
//! elsewhere that must agree, or a member's stored bytes (hashed, then checked against the
//! manifest). Anything else is a problem: bytes before the first member or after the end
//! record, gaps, a local header that disagrees with the central directory, a data
//! descriptor that disagrees, an unexpected extra field, flag, method or attribute.
//!
//! One sequential pass: the end records, the central directory, then each member from its
//! local header to its data descriptor, hashing the stored bytes (SHA-256), inflating them
//! (SHA-256, CRC-32 and size of the content). Nothing is trusted from the zip crate here.

use super::super::writer::zipout as z;
use super::directory::{Central, central_entries, end_records, read_at, u16_at, u32_at, u64_at};
use crate::record::Sha256;
use crate::source::ReadSeek;
use sha2::Digest;
use std::collections::HashSet;
use std::io::{Read, SeekFrom};

/// One member as the central directory and its local header describe it, with what its
/// bytes hash to.
#[derive(Debug)]
pub struct Member {
    pub name: String,
    pub size: u64,
    /// SHA-256 of the content (inflated), when it could be read whole.
    pub sha256: Option<Sha256>,
    /// SHA-256 of the stored bytes, as they lie in the file.
    pub stored_sha256: Option<Sha256>,
    /// Why the content could not be read, when it could not.
    pub unreadable: Option<String>,
    /// The content, for the members `keep` asked for (the manifest, its signature).
    pub data: Option<Vec<u8>>,
}

#[derive(Debug, Default)]
pub struct Layout {
    pub members: Vec<Member>,
    pub comment: Vec<u8>,
    /// What breaks the layout irsnap writes, one sentence each.
    pub problems: Vec<String>,
}

pub use super::directory::Fatal;

/// The largest member kept in memory for `keep` (a manifest of a million members).
const KEEP_MAX: u64 = 1 << 30;

/// What hashing and inflating one member's stored bytes gave.
struct Content {
    stored: Sha256,
    sha256: Sha256,
    crc: u32,
    size: u64,
    data: Option<Vec<u8>>,
}

/// Read `len` stored bytes, hash them, and inflate them when `method` is deflate (the stream
/// must end exactly with the bytes).
fn content(r: &mut dyn Read, len: u64, method: u16, keep: bool) -> Result<Content, String> {
    if method != 0 && method != 8 {
        return Err(format!("compression method {method}"));
    }
    let mut stored = sha2::Sha256::new();
    let mut sha = sha2::Sha256::new();
    let mut crc = crc32fast::Hasher::new();
    let mut size = 0u64;
    let mut data = keep.then(Vec::new);
    let mut inflate = flate2::Decompress::new(false);
    let mut ended = false;
    let mut buf = vec![0u8; 64 << 10];
    let mut out = vec![0u8; 256 << 10];
    let mut left = len;
    let mut emit = |b: &[u8], data: &mut Option<Vec<u8>>| {
        sha.update(b);
        crc.update(b);
        size += b.len() as u64;
        if let Some(d) = data.as_mut()
            && (d.len() as u64) < KEEP_MAX
        {
            d.extend_from_slice(b);
        }
    };
    while left > 0 || (method == 8 && !ended) {
        let want = left.min(buf.len() as u64) as usize;
        let n = if want > 0 {
            r.read(&mut buf[..want]).map_err(|e| e.to_string())?
        } else {
            0
        };
        if want > 0 && n == 0 {
            return Err("the file ends inside the member's data".into());
        }
        left -= n as u64;
        stored.update(&buf[..n]);
        match method {
            0 => emit(&buf[..n], &mut data),
            8 => {
                let mut input = &buf[..n];
                loop {
                    if ended {
                        if !input.is_empty() || left > 0 {
                            return Err("bytes after the end of the deflate stream".into());
                        }
                        break;
                    }
                    let (bi, bo) = (inflate.total_in(), inflate.total_out());
                    let status = inflate
                        .decompress(input, &mut out, flate2::FlushDecompress::None)
                        .map_err(|e| format!("inflate: {e}"))?;
                    let used = (inflate.total_in() - bi) as usize;
                    let made = (inflate.total_out() - bo) as usize;
                    input = &input[used..];
                    emit(&out[..made], &mut data);
                    if status == flate2::Status::StreamEnd {
                        ended = true;
                        continue;
                    }
                    if input.is_empty() && made < out.len() {
                        if left == 0 && n == 0 {
                            return Err("the deflate stream ends early".into());
                        }
                        break;
                    }
                    if used == 0 && made == 0 {
                        return Err("inflate made no progress".into());
                    }
                }
            }
            other => return Err(format!("compression method {other}")),
        }
    }
    Ok(Content {
        stored: Sha256(stored.finalize().into()),
        sha256: Sha256(sha.finalize().into()),
        crc: crc.finalize(),
        size,
        data,
    })
}

/// Read the archive's zip strictly. `keep` names the members whose content is returned.
pub fn scan(r: &mut dyn ReadSeek, keep: &dyn Fn(&str) -> bool) -> Result<Layout, Fatal> {
    let mut layout = Layout::default();
    let len = r.seek(SeekFrom::End(0))?;
    let end = end_records(r, len, &mut layout.problems)?;
    layout.comment = end.comment.clone();
    let entries = central_entries(r, &end, &mut layout.problems)?;
    let mut names = HashSet::new();
    // Where the member before ended (unknown after one that could not be read).
    let mut pos = Some(0u64);
    for (i, c) in entries.iter().enumerate() {
        let name = String::from_utf8_lossy(&c.name).into_owned();
        let mut bad = |what: String| layout.problems.push(format!("{name}: {what}"));
        if std::str::from_utf8(&c.name).is_err() {
            bad("the name is not UTF-8".into());
        }
        if !names.insert(c.name.clone()) {
            bad("a second member of this name (duplicate)".into());
        }
        match pos {
            Some(p) if c.offset == p => {}
            Some(0) if i == 0 => bad(format!(
                "{} bytes before the first member (prepended data)",
                c.offset
            )),
            Some(p) if c.offset > p => bad(format!("{} bytes of gap before it", c.offset - p)),
            Some(_) => bad(format!(
                "starts inside the member before it (offset {})",
                c.offset
            )),
            None => {}
        }
        let mut member = Member {
            name: name.clone(),
            size: c.size,
            sha256: None,
            stored_sha256: None,
            unreadable: None,
            data: None,
        };
        match local(r, c, end.cd_offset, keep(&name)) {
            Ok((next, found, got)) => {
                for f in found {
                    layout.problems.push(format!("{name}: {f}"));
                }
                pos = Some(next);
                if let Some(got) = got {
                    if got.crc != c.crc || got.size != c.size {
                        member.unreadable = Some(format!(
                            "its content (CRC {:08x}, {} bytes) disagrees with the central \
                             directory (CRC {:08x}, {} bytes)",
                            got.crc, got.size, c.crc, c.size
                        ));
                    }
                    member.sha256 = Some(got.sha256);
                    member.stored_sha256 = Some(got.stored);
                    member.data = got.data;
                }
            }
            Err(why) => {
                member.unreadable = Some(why);
                pos = None;
            }
        }
        layout.members.push(member);
    }
    match pos {
        Some(p) if p == end.cd_offset => {}
        Some(0) => layout.problems.push(format!(
            "{} bytes before the central directory",
            end.cd_offset
        )),
        Some(p) => layout.problems.push(format!(
            "{} bytes between the last member and the central directory",
            end.cd_offset as i128 - p as i128
        )),
        None => {}
    }
    Ok(layout)
}

/// Check one member's local header, data and descriptor against its central entry. Returns
/// where the member ends, the disagreements found, and its content when it could be read.
fn local(
    r: &mut dyn ReadSeek,
    c: &Central,
    limit: u64,
    keep: bool,
) -> Result<(u64, Vec<String>, Option<Content>), String> {
    let mut found = Vec::new();
    let h = read_at(r, c.offset, 30).map_err(|e| format!("local header: {e}"))?;
    if u32_at(&h, 0) != z::LOCAL_SIG {
        return Err(format!("no local header at offset {}", c.offset));
    }
    let (version, flags, method) = (u16_at(&h, 4), u16_at(&h, 6), u16_at(&h, 8));
    let (time, date, crc) = (u16_at(&h, 10), u16_at(&h, 12), u32_at(&h, 14));
    let (comp32, size32) = (u32_at(&h, 18), u32_at(&h, 22));
    let (nlen, xlen) = (u16_at(&h, 26), u16_at(&h, 28));
    let var = read_at(r, c.offset + 30, usize::from(nlen) + usize::from(xlen))
        .map_err(|e| format!("local header: {e}"))?;
    let (name, extra) = var.split_at(usize::from(nlen));
    if name != c.name.as_slice() {
        found.push(format!(
            "the local header names it {:?}",
            String::from_utf8_lossy(name)
        ));
    }
    if flags != c.flags || method != c.method || time != c.time || date != c.date {
        found.push("local header flags, method or time differ from the central directory".into());
    }
    let zip64 = match extra.len() {
        0 => None,
        20 if u16_at(extra, 0) == z::ZIP64_EXTRA && u16_at(extra, 2) == 16 => {
            Some((u64_at(extra, 4), u64_at(extra, 12)))
        }
        n => {
            found.push(format!("{n} bytes of unexpected local extra fields"));
            None
        }
    };
    if version != if zip64.is_some() { 45 } else { 20 } {
        found.push(format!("local header: version needed {version}"));
    }
    let descriptor = flags & z::FLAG_DESCRIPTOR != 0;
    let sizes_ok = match (descriptor, zip64) {
        // Sizes follow the data: the header says 0 (or defers to a zip64 extra of zeros).
        (true, None) => (crc, comp32, size32) == (0, 0, 0),
        (true, Some(z64)) => (crc, comp32, size32, z64) == (0, u32::MAX, u32::MAX, (0, 0)),
        (false, None) => {
            (crc, u64::from(comp32), u64::from(size32)) == (c.crc, c.compressed, c.size)
                && comp32 != u32::MAX
        }
        (false, Some(z64)) => {
            (crc, comp32, size32, z64) == (c.crc, u32::MAX, u32::MAX, (c.size, c.compressed))
        }
    };
    if !sizes_ok {
        found.push("local header CRC or sizes differ from the central directory".into());
    }
    let data_at = c.offset + 30 + var.len() as u64;
    let desc_len = match (descriptor, zip64.is_some()) {
        (false, _) => 0,
        (true, false) => 16,
        (true, true) => 24,
    };
    let end = data_at
        .checked_add(c.compressed)
        .and_then(|e| e.checked_add(desc_len))
        .filter(|&e| e <= limit)
        .ok_or_else(|| {
            format!(
                "its {} stored bytes run past the central directory",
                c.compressed
            )
        })?;
    r.seek(SeekFrom::Start(data_at))
        .map_err(|e| e.to_string())?;
    let got = content(
        &mut (&mut *r).take(c.compressed),
        c.compressed,
        c.method,
        keep,
    )?;
    if descriptor {
        let d = read_at(r, data_at + c.compressed, desc_len as usize)
            .map_err(|e| format!("data descriptor: {e}"))?;
        let (sig, dcrc) = (u32_at(&d, 0), u32_at(&d, 4));
        let (dcomp, dsize) = if zip64.is_some() {
            (u64_at(&d, 8), u64_at(&d, 16))
        } else {
            (u64::from(u32_at(&d, 8)), u64::from(u32_at(&d, 12)))
        };
        if (sig, dcrc, dcomp, dsize) != (z::DESCRIPTOR_SIG, c.crc, c.compressed, c.size) {
            found.push("the data descriptor differs from the central directory".into());
        }
    }
    Ok((end, found, Some(got)))
}
