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
use crate::record::Sha256;
use crate::source::ReadSeek;
use sha2::Digest;
use std::collections::HashSet;
use std::io::{self, Read, SeekFrom};

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

/// The zip could not be read as a zip at all.
#[derive(Debug)]
pub struct Fatal(pub String);

impl From<io::Error> for Fatal {
    fn from(e: io::Error) -> Fatal {
        Fatal(format!("read error: {e}"))
    }
}

const EOCD_LEN: u64 = 22;
const LOCATOR_LEN: u64 = 20;
const ZIP64_EOCD_LEN: u64 = 56;
/// The largest member kept in memory for `keep` (a manifest of a million members).
const KEEP_MAX: u64 = 1 << 30;

fn u16_at(b: &[u8], i: usize) -> u16 {
    u16::from_le_bytes([b[i], b[i + 1]])
}
fn u32_at(b: &[u8], i: usize) -> u32 {
    u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]])
}
fn u64_at(b: &[u8], i: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[i..i + 8]);
    u64::from_le_bytes(a)
}

fn read_at(r: &mut dyn ReadSeek, at: u64, len: usize) -> io::Result<Vec<u8>> {
    r.seek(SeekFrom::Start(at))?;
    let mut v = vec![0u8; len];
    r.read_exact(&mut v)?;
    Ok(v)
}

/// Where the central directory is, from the end records.
struct End {
    cd_offset: u64,
    cd_size: u64,
    entries: u64,
}

/// Find and check the end records; `len` is the file's length.
fn end_records(r: &mut dyn ReadSeek, len: u64, layout: &mut Layout) -> Result<End, Fatal> {
    if len < EOCD_LEN {
        return Err(Fatal(format!("{len} bytes: too short to be a zip")));
    }
    let tail_len = len.min(EOCD_LEN + u64::from(u16::MAX));
    let tail = read_at(r, len - tail_len, tail_len as usize)?;
    let sig = z::EOCD_SIG.to_le_bytes();
    // The end record whose comment ends exactly at the end of the file; failing that, the
    // last one whose comment fits (then the bytes after it were appended).
    let mut found = None;
    for i in (0..=tail.len() - EOCD_LEN as usize).rev() {
        if tail[i..i + 4] != sig {
            continue;
        }
        let clen = u16_at(&tail, i + 20) as usize;
        if i + EOCD_LEN as usize + clen == tail.len() {
            found = Some(i);
            break;
        }
        if found.is_none() && i + EOCD_LEN as usize + clen <= tail.len() {
            found = Some(i);
        }
    }
    let Some(i) = found else {
        return Err(Fatal(
            "no end of central directory record: not a zip, or its end is missing".into(),
        ));
    };
    let e = &tail[i..];
    let at = len - tail_len + i as u64;
    let clen = u16_at(e, 20) as usize;
    let end = at + EOCD_LEN + clen as u64;
    if end != len {
        layout.problems.push(format!(
            "{} bytes after the end of the zip (appended data)",
            len - end
        ));
    }
    layout.comment = e[22..22 + clen].to_vec();
    let (disk, cd_disk) = (u16_at(e, 4), u16_at(e, 6));
    let (n_disk, n) = (u16_at(e, 8), u16_at(e, 10));
    let (size32, off32) = (u32_at(e, 12), u32_at(e, 16));
    if disk != 0 || cd_disk != 0 {
        layout.problems.push(format!(
            "end record names disks {disk} and {cd_disk}, not 0"
        ));
    }
    let locator = (at >= LOCATOR_LEN)
        .then(|| read_at(r, at - LOCATOR_LEN, LOCATOR_LEN as usize))
        .transpose()?
        .filter(|l| u32_at(l, 0) == z::ZIP64_LOCATOR_SIG);
    let Some(loc) = locator else {
        if n_disk != n || n == u16::MAX || size32 == u32::MAX || off32 == u32::MAX {
            layout.problems.push(format!(
                "end record: {n_disk}/{n} entries, directory size {size32:#x}, offset \
                 {off32:#x} without a zip64 end record"
            ));
        }
        let cd_end = u64::from(off32) + u64::from(size32);
        if cd_end != at {
            layout.problems.push(format!(
                "{} bytes between the central directory and the end record",
                at as i128 - cd_end as i128
            ));
        }
        return Ok(End {
            cd_offset: u64::from(off32),
            cd_size: u64::from(size32),
            entries: u64::from(n),
        });
    };
    // zip64: the 32-bit fields all say "see the zip64 record", as irsnap writes them.
    if (n_disk, n, size32, off32) != (u16::MAX, u16::MAX, u32::MAX, u32::MAX) {
        layout
            .problems
            .push("end record: fields not deferred to the zip64 end record".into());
    }
    let (loc_disk, rec_at, disks) = (u32_at(&loc, 4), u64_at(&loc, 8), u32_at(&loc, 16));
    if loc_disk != 0 || disks != 1 {
        layout.problems.push(format!(
            "zip64 locator: disk {loc_disk} of {disks}, not 0 of 1"
        ));
    }
    let want_at = at - LOCATOR_LEN;
    if rec_at.checked_add(ZIP64_EOCD_LEN) != Some(want_at) {
        return Err(Fatal(format!(
            "zip64 locator points at {rec_at}, not at the record before it ({})",
            want_at.saturating_sub(ZIP64_EOCD_LEN)
        )));
    }
    let rec = read_at(r, rec_at, ZIP64_EOCD_LEN as usize)?;
    let fixed = (
        u32_at(&rec, 0),
        u64_at(&rec, 4),
        u16_at(&rec, 12),
        u16_at(&rec, 14),
        u32_at(&rec, 16),
        u32_at(&rec, 20),
    );
    if fixed != (z::ZIP64_EOCD_SIG, 44, z::MADE_BY, 45, 0, 0) {
        layout
            .problems
            .push("zip64 end record: a fixed field differs from what irsnap writes".into());
    }
    let (n_disk, n) = (u64_at(&rec, 24), u64_at(&rec, 32));
    let (cd_size, cd_offset) = (u64_at(&rec, 40), u64_at(&rec, 48));
    if n_disk != n {
        layout.problems.push(format!(
            "zip64 end record: {n_disk} entries on this disk of {n}"
        ));
    }
    if cd_offset.checked_add(cd_size) != Some(rec_at) {
        layout.problems.push(format!(
            "the central directory ({cd_offset} + {cd_size}) does not end where the zip64 end \
             record starts ({rec_at})"
        ));
    }
    Ok(End {
        cd_offset,
        cd_size,
        entries: n,
    })
}

/// A central directory entry, checked against the constants irsnap writes.
struct Central {
    name: Vec<u8>,
    flags: u16,
    method: u16,
    time: u16,
    date: u16,
    crc: u32,
    compressed: u64,
    size: u64,
    offset: u64,
}

fn central_entries(
    r: &mut dyn ReadSeek,
    end: &End,
    layout: &mut Layout,
) -> Result<Vec<Central>, Fatal> {
    r.seek(SeekFrom::Start(end.cd_offset))?;
    let mut cd = io::BufReader::new((&mut *r).take(end.cd_size));
    let mut out = Vec::new();
    let mut read = 0u64;
    while read < end.cd_size {
        let i = out.len();
        let mut h = [0u8; 46];
        cd.read_exact(&mut h)
            .map_err(|_| Fatal(format!("central directory entry {i}: cut short")))?;
        if u32_at(&h, 0) != z::CENTRAL_SIG {
            return Err(Fatal(format!(
                "central directory entry {i}: no signature at offset {}",
                end.cd_offset + read
            )));
        }
        let (nlen, xlen, clen) = (u16_at(&h, 28), u16_at(&h, 30), u16_at(&h, 32));
        let mut var = vec![0u8; usize::from(nlen) + usize::from(xlen) + usize::from(clen)];
        cd.read_exact(&mut var)
            .map_err(|_| Fatal(format!("central directory entry {i}: cut short")))?;
        read += 46 + var.len() as u64;
        let name = var[..usize::from(nlen)].to_vec();
        let shown = String::from_utf8_lossy(&name).into_owned();
        let mut bad = |what: String| layout.problems.push(format!("{shown}: {what}"));
        let extra = &var[usize::from(nlen)..usize::from(nlen) + usize::from(xlen)];
        let (made_by, version, flags) = (u16_at(&h, 4), u16_at(&h, 6), u16_at(&h, 8));
        let fixed = (
            made_by,
            clen,
            u16_at(&h, 34),
            u16_at(&h, 36),
            u32_at(&h, 38),
        );
        if fixed != (z::MADE_BY, 0, 0, 0, z::EXTERNAL_ATTRS) {
            bad(
                "central directory: made-by, comment, disk or attributes differ from what \
                 irsnap writes"
                    .into(),
            );
        }
        if flags != z::FLAG_UTF8 && flags != z::FLAG_UTF8 | z::FLAG_DESCRIPTOR {
            bad(format!("central directory: flags {flags:#06x}"));
        }
        let (size32, comp32, off32) = (u32_at(&h, 24), u32_at(&h, 20), u32_at(&h, 42));
        // The zip64 extra holds, in order, exactly the fields whose 32-bit value is all ones.
        let mut wide = [u64::from(size32), u64::from(comp32), u64::from(off32)];
        let deferred: Vec<usize> = (0..3).filter(|&k| wide[k] == z::U32_MAX).collect();
        let want_extra = if deferred.is_empty() {
            0
        } else {
            4 + 8 * deferred.len()
        };
        if extra.len() != want_extra
            || (want_extra > 0
                && (u16_at(extra, 0) != z::ZIP64_EXTRA
                    || usize::from(u16_at(extra, 2)) != want_extra - 4))
        {
            bad(format!(
                "central directory: {} bytes of extra fields, {want_extra} expected",
                extra.len()
            ));
        } else {
            for (j, &k) in deferred.iter().enumerate() {
                wide[k] = u64_at(extra, 4 + 8 * j);
            }
        }
        if version != if want_extra > 0 { 45 } else { 20 } {
            bad(format!("central directory: version needed {version}"));
        }
        out.push(Central {
            name,
            flags,
            method: u16_at(&h, 10),
            time: u16_at(&h, 12),
            date: u16_at(&h, 14),
            crc: u32_at(&h, 16),
            size: wide[0],
            compressed: wide[1],
            offset: wide[2],
        });
    }
    if out.len() as u64 != end.entries {
        layout.problems.push(format!(
            "the end record counts {} entries, the central directory holds {}",
            end.entries,
            out.len()
        ));
    }
    Ok(out)
}

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
    let end = end_records(r, len, &mut layout)?;
    let entries = central_entries(r, &end, &mut layout)?;
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
