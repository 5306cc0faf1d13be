//! Reading typed values out of `EventData`, and rendering them back as text for the detection engine.

use std::borrow::Cow;
use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDateTime, Utc};

use crate::parsers::evtx_read::EventData;

/// A field's text, or None when absent or blank (Windows writes an empty Data element for
/// fields it did not collect, e.g. 4688 CommandLine with command-line auditing off).
pub(super) fn text(d: &EventData, name: &str) -> Option<String> {
    d.get(name)
        .filter(|v| !v.trim().is_empty())
        .map(str::to_string)
}

/// Decimal or `0x` hex, as Windows mixes both for ids.
pub(super) fn parse_uint(s: &str) -> Option<u64> {
    let t = s.trim();
    if let Some(hex) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        u64::from_str_radix(hex, 16).ok()
    } else {
        t.parse::<u64>().ok()
    }
}

pub(super) fn uint64(d: &EventData, name: &str) -> Option<u64> {
    d.get(name).and_then(parse_uint)
}

pub(super) fn uint32(d: &EventData, name: &str) -> Option<u32> {
    uint64(d, name).and_then(|n| u32::try_from(n).ok())
}

pub(super) fn uint16(d: &EventData, name: &str) -> Option<u16> {
    uint64(d, name).and_then(|n| u16::try_from(n).ok())
}

/// HRESULT-style codes may be rendered unsigned, signed or hex; keep the 32-bit pattern.
pub(super) fn result_code(d: &EventData, name: &str) -> Option<u32> {
    let s = d.get(name)?.trim();
    if let Some(n) = parse_uint(s) {
        return u32::try_from(n).ok();
    }
    s.parse::<i32>().ok().map(|n| n as u32)
}

pub(super) fn boolean(d: &EventData, name: &str) -> Option<bool> {
    let v = d.get(name)?.trim();
    if v.eq_ignore_ascii_case("true") || v == "1" {
        Some(true)
    } else if v.eq_ignore_ascii_case("false") || v == "0" {
        Some(false)
    } else {
        None
    }
}

/// Sysmon's `UtcTime` format: `2019-05-21 15:32:57.276`.
pub(super) fn sysmon_time(d: &EventData, name: &str) -> Option<DateTime<Utc>> {
    let v = d.get(name)?.trim();
    NaiveDateTime::parse_from_str(v, "%Y-%m-%d %H:%M:%S%.f")
        .ok()
        .map(|t| t.and_utc())
}

/// `SHA1=..,MD5=..,SHA256=..,IMPHASH=..` → {algo: digest}, both lower case like every other
/// hash irsnap writes (Sysmon logs them upper case). Malformed pairs are skipped.
pub fn parse_hashes(raw: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    for part in raw.split(',') {
        let Some((algo, digest)) = part.split_once('=') else {
            continue;
        };
        let algo = algo.trim().to_ascii_lowercase();
        let digest = digest.trim().to_ascii_lowercase();
        if algo.is_empty() || digest.is_empty() {
            continue;
        }
        out.entry(algo).or_insert(digest);
    }
    out
}

pub(super) fn s(v: &Option<String>) -> Option<Cow<'_, str>> {
    v.as_deref().map(Cow::Borrowed)
}

pub(super) fn n<T: ToString>(v: Option<T>) -> Option<Cow<'static, str>> {
    v.map(|x| Cow::Owned(x.to_string()))
}

pub(super) fn b(v: Option<bool>) -> Option<Cow<'static, str>> {
    v.map(|x| Cow::Borrowed(if x { "true" } else { "false" }))
}

/// A time as Sysmon writes `UtcTime` (what Sigma rules compare against).
pub(super) fn time_text(t: &DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S%.3f").to_string()
}

pub(super) fn t(v: Option<DateTime<Utc>>) -> Option<Cow<'static, str>> {
    v.map(|x| Cow::Owned(time_text(&x)))
}
