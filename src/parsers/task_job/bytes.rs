//! Little-endian fields, GUIDs, flag tables and the length-prefixed UTF-16 strings of a `.job` file.

/// A failed bounds check: (field, offset, needed, available).
pub(super) struct Short(
    pub(super) String,
    pub(super) usize,
    pub(super) usize,
    pub(super) usize,
);

pub(super) fn take<'a>(
    bytes: &'a [u8],
    offset: usize,
    len: usize,
    field: &str,
) -> Result<&'a [u8], Short> {
    let available = bytes.len().saturating_sub(offset);
    offset
        .checked_add(len)
        .and_then(|end| bytes.get(offset..end))
        .ok_or_else(|| Short(field.to_string(), offset, len, available))
}

pub(super) fn u16_at(bytes: &[u8], offset: usize, field: &str) -> Result<u16, Short> {
    let b = take(bytes, offset, 2, field)?;
    Ok(rd16(b, 0))
}

/// Little-endian readers for slices whose length was already validated; out of range reads
/// yield 0 instead of panicking.
pub(super) fn rd16(b: &[u8], o: usize) -> u16 {
    match b.get(o..o.saturating_add(2)) {
        Some(&[x, y]) => u16::from_le_bytes([x, y]),
        _ => 0,
    }
}

pub(super) fn rd32(b: &[u8], o: usize) -> u32 {
    match b.get(o..o.saturating_add(4)) {
        Some(&[a, b2, c, d]) => u32::from_le_bytes([a, b2, c, d]),
        _ => 0,
    }
}

/// GUID in registry format; Data1..Data3 are little-endian, Data4 is a byte array.
pub(super) fn format_guid(b: &[u8]) -> String {
    let Some(tail) = b.get(8..16) else {
        return String::new();
    };
    let tail: String = tail.iter().map(|x| format!("{x:02X}")).collect();
    format!(
        "{{{:08X}-{:04X}-{:04X}-{}-{}}}",
        rd32(b, 0),
        rd16(b, 4),
        rd16(b, 6),
        tail.get(..4).unwrap_or(""),
        tail.get(4..).unwrap_or("")
    )
}

pub(super) fn flag_names(flags: u32, table: &[(u32, &str)]) -> Vec<String> {
    let mut names: Vec<String> = table
        .iter()
        .filter(|(bit, _)| flags & bit != 0)
        .map(|(_, n)| n.to_string())
        .collect();
    let known: u32 = table.iter().fold(0, |acc, (bit, _)| acc | bit);
    let unknown = flags & !known;
    if unknown != 0 {
        names.push(format!("unknown_{unknown:#x}"));
    }
    names
}

pub(super) fn bit_names(mask: u32, names: &[&str]) -> Vec<String> {
    names
        .iter()
        .enumerate()
        .filter(|(i, _)| mask & (1u32 << i) != 0)
        .map(|(_, n)| n.to_string())
        .collect()
}

/// Reads one length-prefixed UTF-16LE string (length in characters, including the NUL).
/// Returns the value (`None` for length 0) and the offset after it.
pub(super) fn read_unicode(
    bytes: &[u8],
    offset: usize,
    field: &str,
    warnings: &mut Vec<String>,
) -> Result<(Option<String>, usize), Short> {
    let chars = usize::from(u16_at(bytes, offset, &format!("{field} length"))?);
    let body_off = offset + 2;
    let body = take(bytes, body_off, chars * 2, field)?;
    if chars == 0 {
        return Ok((None, body_off));
    }
    let units: Vec<u16> = body.chunks_exact(2).map(|c| rd16(c, 0)).collect();
    let trimmed: &[u16] = match units.iter().position(|u| *u == 0) {
        Some(nul) => {
            if nul + 1 != units.len() {
                warnings.push(format!(
                    "{field}: NUL at character {nul} of {chars}; text after it dropped"
                ));
            }
            units.get(..nul).unwrap_or(&[])
        }
        None => {
            warnings.push(format!("{field}: missing terminating NUL"));
            &units
        }
    };
    let s = match String::from_utf16(trimmed) {
        Ok(s) => s,
        Err(_) => {
            warnings.push(format!("{field}: invalid UTF-16 replaced with U+FFFD"));
            String::from_utf16_lossy(trimmed)
        }
    };
    Ok((Some(s), body_off + chars * 2))
}
