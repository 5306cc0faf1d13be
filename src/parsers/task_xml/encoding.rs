//! Which character encoding a task file uses, and decoding it to text.

use serde::{Deserialize, Serialize};

use crate::text::utf16::{ByteOrder, nul_pattern};

/// Bytes inspected when sniffing the XML declaration.
const SNIFF_LEN: usize = 1024;

/// Character encoding the file was decoded with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TextEncoding {
    Utf16Le,
    Utf16Be,
    Utf8,
    /// A single/multi-byte legacy encoding named by the declaration (encoding_rs name).
    Legacy(String),
}

crate::string_enum::string_enum!(TextEncoding {
    Utf16Le = "utf16_le",
    Utf16Be = "utf16_be",
    Utf8 = "utf8",
} else Legacy(String));

impl From<ByteOrder> for TextEncoding {
    fn from(order: ByteOrder) -> TextEncoding {
        match order {
            ByteOrder::Le => TextEncoding::Utf16Le,
            ByteOrder::Be => TextEncoding::Utf16Be,
        }
    }
}

/// How [`TextEncoding`] was decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DetectionMethod {
    ByteOrderMark,
    NulPattern,
    Declaration,
    /// Nothing else matched; UTF-8 assumed.
    Default,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub struct DetectedEncoding {
    pub encoding: TextEncoding,
    /// A byte-order mark was present (and stripped).
    pub bom: bool,
    pub method: DetectionMethod,
    /// The `encoding` pseudo-attribute of the XML declaration, verbatim.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub declared: Option<String>,
}

/// Extracts the `encoding` pseudo-attribute of a leading `<?xml ...?>` declaration.
fn sniff_declared_encoding(text: &str) -> Option<String> {
    let t = text.trim_start_matches(['\u{feff}', ' ', '\t', '\r', '\n']);
    let t = t.strip_prefix("<?xml")?;
    let end = t.find("?>")?;
    let decl = t.get(..end)?;
    let pos = decl.find("encoding")?;
    let after = decl.get(pos + "encoding".len()..)?.trim_start();
    let after = after.strip_prefix('=')?.trim_start();
    let quote = after.chars().next()?;
    if quote != '"' && quote != '\'' {
        return None;
    }
    let body = after.get(1..)?;
    let close = body.find(quote)?;
    let label = body.get(..close)?;
    if label.len() > 64 {
        return None;
    }
    Some(label.to_string())
}

fn decode_utf16(
    body: &[u8],
    enc: &'static encoding_rs::Encoding,
    warnings: &mut Vec<String>,
) -> String {
    let body = if body.len() % 2 == 1 {
        warnings.push(format!(
            "odd UTF-16 byte length ({} bytes after any BOM): last byte dropped",
            body.len()
        ));
        body.get(..body.len() - 1).unwrap_or(&[])
    } else {
        body
    };
    let (text, had_errors) = enc.decode_without_bom_handling(body);
    if had_errors {
        warnings.push("invalid UTF-16 sequences replaced with U+FFFD".to_string());
    }
    text.into_owned()
}

fn decode_utf8(body: &[u8], warnings: &mut Vec<String>) -> String {
    match std::str::from_utf8(body) {
        Ok(s) => s.to_string(),
        Err(e) => {
            warnings.push(format!(
                "invalid UTF-8 at byte {} replaced with U+FFFD",
                e.valid_up_to()
            ));
            String::from_utf8_lossy(body).into_owned()
        }
    }
}

fn is_utf16_label(enc: &'static encoding_rs::Encoding) -> bool {
    enc == encoding_rs::UTF_16LE || enc == encoding_rs::UTF_16BE
}

/// Detects the encoding (BOM, NUL pattern, declaration, default) and decodes to a `String`.
pub(super) fn detect_and_decode(
    bytes: &[u8],
    warnings: &mut Vec<String>,
) -> (String, DetectedEncoding) {
    let (encoding, bom, method, body): (TextEncoding, bool, DetectionMethod, &[u8]) =
        if let Some(rest) = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]) {
            (
                TextEncoding::Utf8,
                true,
                DetectionMethod::ByteOrderMark,
                rest,
            )
        } else if let Some(rest) = bytes.strip_prefix(&[0xFF, 0xFE]) {
            (
                TextEncoding::Utf16Le,
                true,
                DetectionMethod::ByteOrderMark,
                rest,
            )
        } else if let Some(rest) = bytes.strip_prefix(&[0xFE, 0xFF]) {
            (
                TextEncoding::Utf16Be,
                true,
                DetectionMethod::ByteOrderMark,
                rest,
            )
        } else if let Some(enc) = nul_pattern(bytes).map(TextEncoding::from) {
            (enc, false, DetectionMethod::NulPattern, bytes)
        } else {
            let head =
                String::from_utf8_lossy(bytes.get(..bytes.len().min(SNIFF_LEN)).unwrap_or(bytes));
            match sniff_declared_encoding(&head)
                .and_then(|l| encoding_rs::Encoding::for_label(l.trim().as_bytes()))
            {
                Some(enc) if enc == encoding_rs::UTF_8 => (
                    TextEncoding::Utf8,
                    false,
                    DetectionMethod::Declaration,
                    bytes,
                ),
                Some(enc) if is_utf16_label(enc) => {
                    // Checked again below against the declaration: recorded as a mismatch.
                    (TextEncoding::Utf8, false, DetectionMethod::Default, bytes)
                }
                Some(enc) => (
                    TextEncoding::Legacy(enc.name().to_string()),
                    false,
                    DetectionMethod::Declaration,
                    bytes,
                ),
                None => (TextEncoding::Utf8, false, DetectionMethod::Default, bytes),
            }
        };

    let mut text = match &encoding {
        TextEncoding::Utf16Le => decode_utf16(body, encoding_rs::UTF_16LE, warnings),
        TextEncoding::Utf16Be => decode_utf16(body, encoding_rs::UTF_16BE, warnings),
        TextEncoding::Utf8 => decode_utf8(body, warnings),
        TextEncoding::Legacy(name) => {
            let enc = encoding_rs::Encoding::for_label(name.as_bytes())
                .unwrap_or(encoding_rs::WINDOWS_1252);
            let (t, had_errors) = enc.decode_without_bom_handling(body);
            if had_errors {
                warnings.push(format!("invalid {name} sequences replaced with U+FFFD"));
            }
            t.into_owned()
        }
    };
    // A second BOM (e.g. UTF-8 BOM inside UTF-16 text) would otherwise be text before the root.
    if text.starts_with('\u{feff}') {
        text.remove(0);
        warnings.push("second byte-order mark inside the decoded text ignored".to_string());
    }

    let declared = sniff_declared_encoding(&text);
    if let Some(label) = &declared {
        match encoding_rs::Encoding::for_label(label.trim().as_bytes()) {
            None => warnings.push(format!("declared encoding {label:?} is unknown; ignored")),
            Some(enc) => {
                let agrees = match &encoding {
                    TextEncoding::Utf16Le | TextEncoding::Utf16Be => is_utf16_label(enc),
                    TextEncoding::Utf8 => enc == encoding_rs::UTF_8,
                    TextEncoding::Legacy(name) => enc.name() == name,
                };
                if !agrees {
                    warnings.push(format!(
                        "declared encoding {label:?} does not match the detected {encoding:?} ({method:?}); declaration ignored"
                    ));
                }
            }
        }
    }
    (
        text,
        DetectedEncoding {
            encoding,
            bom,
            method,
            declared,
        },
    )
}
