//! Byte-order marks and BOM-less UTF-16: history bytes to UTF-8.

use std::borrow::Cow;

use super::context::Ctx;
use super::model::{HistoryKind, HistoryWarning, TextEncoding};
use crate::text::utf16::looks_utf16le;

/// Detects BOMs (and BOM-less UTF-16LE for PSReadLine) and returns UTF-8 bytes.
pub(super) fn to_utf8<'a>(
    bytes: &'a [u8],
    kind: HistoryKind,
    ctx: &mut Ctx,
) -> (Cow<'a, [u8]>, TextEncoding) {
    if let Some(rest) = bytes.strip_prefix(b"\xEF\xBB\xBF") {
        return (Cow::Borrowed(rest), TextEncoding::Utf8Bom);
    }
    // zsh files are metafied raw bytes; a UTF-16 guess would be wrong there.
    if kind == HistoryKind::Zsh {
        return (Cow::Borrowed(bytes), TextEncoding::Utf8);
    }
    let (enc, body, te) = if let Some(rest) = bytes.strip_prefix(b"\xFF\xFE") {
        (encoding_rs::UTF_16LE, rest, TextEncoding::Utf16Le)
    } else if let Some(rest) = bytes.strip_prefix(b"\xFE\xFF") {
        (encoding_rs::UTF_16BE, rest, TextEncoding::Utf16Be)
    } else if kind == HistoryKind::PsReadLine && looks_utf16le(bytes) {
        (encoding_rs::UTF_16LE, bytes, TextEncoding::Utf16Le)
    } else {
        return (Cow::Borrowed(bytes), TextEncoding::Utf8);
    };
    let (text, had_errors) = enc.decode_without_bom_handling(body);
    if had_errors {
        ctx.lossy = true;
        ctx.warn(HistoryWarning::DecodeErrors { encoding: te });
    }
    (Cow::Owned(text.into_owned().into_bytes()), te)
}
