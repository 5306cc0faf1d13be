//! Little-endian fields, full reads and the CRC-32 of the file header.

use std::io::Read;

pub(super) fn read_full<R: Read>(reader: &mut R, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        let Some(rest) = buf.get_mut(n..) else { break };
        match reader.read(rest) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

pub(super) fn le_bytes<const N: usize>(b: &[u8], at: usize) -> [u8; N] {
    let mut out = [0u8; N];
    if let Some(s) = at.checked_add(N).and_then(|end| b.get(at..end)) {
        out.copy_from_slice(s);
    }
    out
}
pub(super) fn le_u16(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes(le_bytes(b, at))
}
pub(super) fn le_u32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes(le_bytes(b, at))
}
pub(super) fn le_u64(b: &[u8], at: usize) -> u64 {
    u64::from_le_bytes(le_bytes(b, at))
}

/// CRC-32 (IEEE) for the file header check; the crate exposes only chunk-level checks.
pub(super) fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            let mask = (crc & 1).wrapping_neg();
            crc = (crc >> 1) ^ (0xEDB8_8320 & mask);
        }
    }
    !crc
}
