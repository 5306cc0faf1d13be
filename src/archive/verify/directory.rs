//! The end records and the central directory of an archive, read strictly: every fixed
//! field as irsnap writes it (`archive/writer/zipout.rs`), every size and offset consistent.

use super::super::writer::zipout as z;
use crate::source::ReadSeek;
use std::io::{self, Read, SeekFrom};

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
pub(super) fn u16_at(b: &[u8], i: usize) -> u16 {
    u16::from_le_bytes([b[i], b[i + 1]])
}
pub(super) fn u32_at(b: &[u8], i: usize) -> u32 {
    u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]])
}
pub(super) fn u64_at(b: &[u8], i: usize) -> u64 {
    let mut a = [0u8; 8];
    a.copy_from_slice(&b[i..i + 8]);
    u64::from_le_bytes(a)
}

pub(super) fn read_at(r: &mut dyn ReadSeek, at: u64, len: usize) -> io::Result<Vec<u8>> {
    r.seek(SeekFrom::Start(at))?;
    let mut v = vec![0u8; len];
    r.read_exact(&mut v)?;
    Ok(v)
}

/// Where the central directory is, from the end records.
pub(super) struct End {
    pub cd_offset: u64,
    pub cd_size: u64,
    pub entries: u64,
    /// The zip comment.
    pub comment: Vec<u8>,
}

/// Find and check the end records; `len` is the file's length.
pub(super) fn end_records(
    r: &mut dyn ReadSeek,
    len: u64,
    problems: &mut Vec<String>,
) -> Result<End, Fatal> {
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
        problems.push(format!(
            "{} bytes after the end of the zip (appended data)",
            len - end
        ));
    }
    let comment = e[22..22 + clen].to_vec();
    let (disk, cd_disk) = (u16_at(e, 4), u16_at(e, 6));
    let (n_disk, n) = (u16_at(e, 8), u16_at(e, 10));
    let (size32, off32) = (u32_at(e, 12), u32_at(e, 16));
    if disk != 0 || cd_disk != 0 {
        problems.push(format!(
            "end record names disks {disk} and {cd_disk}, not 0"
        ));
    }
    let locator = (at >= LOCATOR_LEN)
        .then(|| read_at(r, at - LOCATOR_LEN, LOCATOR_LEN as usize))
        .transpose()?
        .filter(|l| u32_at(l, 0) == z::ZIP64_LOCATOR_SIG);
    let Some(loc) = locator else {
        if n_disk != n || n == u16::MAX || size32 == u32::MAX || off32 == u32::MAX {
            problems.push(format!(
                "end record: {n_disk}/{n} entries, directory size {size32:#x}, offset \
                 {off32:#x} without a zip64 end record"
            ));
        }
        let cd_end = u64::from(off32) + u64::from(size32);
        if cd_end != at {
            problems.push(format!(
                "{} bytes between the central directory and the end record",
                at as i128 - cd_end as i128
            ));
        }
        return Ok(End {
            cd_offset: u64::from(off32),
            cd_size: u64::from(size32),
            entries: u64::from(n),
            comment,
        });
    };
    // zip64: the 32-bit fields all say "see the zip64 record", as irsnap writes them.
    if (n_disk, n, size32, off32) != (u16::MAX, u16::MAX, u32::MAX, u32::MAX) {
        problems.push("end record: fields not deferred to the zip64 end record".into());
    }
    let (loc_disk, rec_at, disks) = (u32_at(&loc, 4), u64_at(&loc, 8), u32_at(&loc, 16));
    if loc_disk != 0 || disks != 1 {
        problems.push(format!(
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
        problems.push("zip64 end record: a fixed field differs from what irsnap writes".into());
    }
    let (n_disk, n) = (u64_at(&rec, 24), u64_at(&rec, 32));
    let (cd_size, cd_offset) = (u64_at(&rec, 40), u64_at(&rec, 48));
    if n_disk != n {
        problems.push(format!(
            "zip64 end record: {n_disk} entries on this disk of {n}"
        ));
    }
    if cd_offset.checked_add(cd_size) != Some(rec_at) {
        problems.push(format!(
            "the central directory ({cd_offset} + {cd_size}) does not end where the zip64 end \
             record starts ({rec_at})"
        ));
    }
    Ok(End {
        cd_offset,
        cd_size,
        entries: n,
        comment,
    })
}

/// A central directory entry, checked against the constants irsnap writes.
pub(super) struct Central {
    pub name: Vec<u8>,
    pub flags: u16,
    pub method: u16,
    pub time: u16,
    pub date: u16,
    pub crc: u32,
    pub compressed: u64,
    pub size: u64,
    pub offset: u64,
}

pub(super) fn central_entries(
    r: &mut dyn ReadSeek,
    end: &End,
    problems: &mut Vec<String>,
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
        let mut bad = |what: String| problems.push(format!("{shown}: {what}"));
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
        problems.push(format!(
            "the end record counts {} entries, the central directory holds {}",
            end.entries,
            out.len()
        ));
    }
    Ok(out)
}
