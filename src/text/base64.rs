//! Base64 (standard alphabet, padded) of raw name bytes that are not UTF-8, so a record can
//! carry the exact bytes next to its lossy text.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

/// Base64 of `bytes` when they are not valid UTF-8; `None` when the lossy text is exact.
pub fn encode_if_not_utf8(bytes: &[u8]) -> Option<String> {
    std::str::from_utf8(bytes)
        .is_err()
        .then(|| STANDARD.encode(bytes))
}

/// Base64 of `bytes`.
pub fn encode(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_non_utf8_is_encoded() {
        assert_eq!(encode_if_not_utf8("é😀\u{202E}".as_bytes()), None);
        assert_eq!(encode_if_not_utf8(b"a\xffb").as_deref(), Some("Yf9i"));
        assert_eq!(encode(b"a\xffb"), "Yf9i");
    }
}
