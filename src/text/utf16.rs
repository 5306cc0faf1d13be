//! UTF-16 without a byte-order mark: telling it from bytes, and decoding it.
//!
//! Two sniffers, for two questions. [`looks_utf16le`] is strict: every code unit of the
//! first 64 bytes must be a non-NUL ASCII-range byte followed by NUL, which is what ASCII text
//! saved as UTF-16LE looks like (PSReadLine history, `-EncodedCommand` payloads). [`nul_pattern`]
//! is statistical and answers LE or BE from where most NULs sit in the first KiB, so markup
//! with some non-ASCII text (a task file with a localized description) is still recognised.

/// Bytes inspected by [`nul_pattern`].
pub const NUL_PATTERN_SAMPLE: usize = 1024;
/// Bytes inspected by [`looks_utf16le`].
const STRICT_SAMPLE: usize = 64;

/// Byte order of UTF-16 text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ByteOrder {
    Le,
    Be,
}

/// BOM-less UTF-16LE ASCII text: in the first 64 bytes (at least 4, whole code units only),
/// every even byte is non-zero and every odd byte is zero.
pub fn looks_utf16le(b: &[u8]) -> bool {
    let sample = b.get(..b.len().min(STRICT_SAMPLE)).unwrap_or(&[]);
    sample.len() >= 4
        && sample.len() % 2 == 0
        && sample
            .chunks(2)
            .all(|c| c.get(1) == Some(&0) && c.first() != Some(&0))
}

/// Decides UTF-16 LE/BE from where the NUL bytes sit in the first [`NUL_PATTERN_SAMPLE`]
/// bytes (ASCII markup in UTF-16 has a NUL in every other byte): at least half the code
/// units must have their NUL on one side, and the other side at most an eighth as many.
pub fn nul_pattern(bytes: &[u8]) -> Option<ByteOrder> {
    let sample = bytes
        .get(..bytes.len().min(NUL_PATTERN_SAMPLE))
        .unwrap_or(bytes);
    let pairs = sample.len() / 2;
    if pairs == 0 {
        return None;
    }
    let (mut zero_even, mut zero_odd) = (0usize, 0usize);
    for (i, b) in sample.iter().enumerate() {
        if *b == 0 {
            if i % 2 == 0 {
                zero_even += 1;
            } else {
                zero_odd += 1;
            }
        }
    }
    let threshold = pairs.div_ceil(2).max(1);
    if zero_odd >= threshold && zero_even * 8 < zero_odd {
        Some(ByteOrder::Le)
    } else if zero_even >= threshold && zero_odd * 8 < zero_even {
        Some(ByteOrder::Be)
    } else {
        None
    }
}

/// `bytes` read as UTF-16LE, unpaired surrogates replaced with U+FFFD and a trailing odd byte
/// dropped; `None` when there is not one whole code unit.
pub fn decode_le_lossy(bytes: &[u8]) -> Option<String> {
    let units: Vec<u16> = bytes
        .chunks_exact(2)
        .map(|p| u16::from_le_bytes([p[0], p[1]]))
        .collect();
    (!units.is_empty()).then(|| String::from_utf16_lossy(&units))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn le(s: &str) -> Vec<u8> {
        s.encode_utf16().flat_map(u16::to_le_bytes).collect()
    }
    fn be(s: &str) -> Vec<u8> {
        s.encode_utf16().flat_map(u16::to_be_bytes).collect()
    }

    #[test]
    fn strict_sniffer_wants_ascii_utf16le() {
        assert!(looks_utf16le(&le("Get-Process")));
        assert!(!looks_utf16le(&le("Get")[..5])); // odd length
        assert!(!looks_utf16le(b"a\0")); // shorter than 4
        assert!(!looks_utf16le(b"Get-Process")); // UTF-8
        assert!(!looks_utf16le(&[0, 0, 0, 0])); // NUL code units are not text
        assert!(!looks_utf16le(&be("Get-Process")));
        // A non-ASCII code unit in the first 64 bytes (😀 is D83D DE00) fails the strict test.
        assert!(!looks_utf16le(&le("a😀bcdefgh")));
        // Past the first 64 bytes anything goes.
        assert!(looks_utf16le(&le(&format!(
            "{}é😀\u{202E}",
            "x".repeat(32)
        ))));
    }

    #[test]
    fn nul_pattern_finds_the_byte_order() {
        let xml =
            "<?xml version=\"1.0\"?><Task><Description>é😀\u{202E}e\u{301}</Description></Task>";
        assert_eq!(nul_pattern(&le(xml)), Some(ByteOrder::Le));
        assert_eq!(nul_pattern(&be(xml)), Some(ByteOrder::Be));
        assert_eq!(nul_pattern(xml.as_bytes()), None);
        assert_eq!(nul_pattern(b""), None);
        assert_eq!(nul_pattern(b"x"), None);
        assert_eq!(nul_pattern(&[0u8; 64]), None);
    }

    #[test]
    fn decode_drops_an_odd_byte_and_replaces_lone_surrogates() {
        assert_eq!(decode_le_lossy(&le("héllo😀")).as_deref(), Some("héllo😀"));
        let mut odd = le("ab");
        odd.push(b'c');
        assert_eq!(decode_le_lossy(&odd).as_deref(), Some("ab"));
        assert_eq!(decode_le_lossy(&[0x3D, 0xD8]).as_deref(), Some("\u{FFFD}"));
        assert_eq!(decode_le_lossy(b"x"), None);
    }
}
