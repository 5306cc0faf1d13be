//! Typed records: what collectors emit, what the archive stores as JSON lines, and what
//! detection and the report read back. Field names are stable: they are the archive's schema.

mod evidence;
mod execution_event;
mod history;
mod linux_log;
mod network;
mod powershell;
mod process;
mod scheduled_task;
mod temp_file;

pub use evidence::{FileMeta, FileType, HostFacts, SourceDescription};
pub use execution_event::{EvtxLogSummary, ExecEventRecord, ExecutionEventRecord, SourceRef};
pub use history::{HistoryRecord, HistoryShell};
pub use linux_log::{
    AuditEventRecord, AuditLogRecord, AuthLogRecord, JournalEntryRecord, JournalRecord,
    LogFileSummary, LogLineRecord, PreloadRecord, PreloadSource,
};
pub use network::{ConnectionRecord, OwnerStatus, Protocol, SocketOwner};
pub use powershell::{PowershellRecord, PsEventRecord, PsReadLineRecord, ScriptBlockRecord};
pub use process::{Ancestor, HashStatus, ImageKind, ImageWitness, ProcessRecord};
pub use scheduled_task::{
    ActionKind, AtDetail, CronDetail, CronScriptDetail, ParseStatus, ScheduledAction,
    ScheduledKind, ScheduledTaskRecord, ScheduledTrigger, SystemdDetail, TriggerType, UnitScope,
};
pub use temp_file::{
    DetectedType, ForeignFile, ForeignReason, PackageTree, Selection, TempFileRecord, TimeField,
    TreeKind,
};

use serde::{Deserialize, Serialize};
use std::fmt;

/// All timestamps in records are UTC and serialize as RFC 3339.
pub type Timestamp = chrono::DateTime<chrono::Utc>;

/// A SHA-256 digest. Serialized as 64 lowercase hex characters.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Sha256(pub [u8; 32]);

impl Sha256 {
    pub fn to_hex(&self) -> String {
        let mut s = String::with_capacity(64);
        for b in self.0 {
            s.push(char::from_digit(u32::from(b >> 4), 16).unwrap_or('0'));
            s.push(char::from_digit(u32::from(b & 0xf), 16).unwrap_or('0'));
        }
        s
    }

    pub fn from_hex(s: &str) -> Option<Sha256> {
        let bytes = s.as_bytes();
        if bytes.len() != 64 {
            return None;
        }
        let mut out = [0u8; 32];
        for (i, pair) in bytes.chunks_exact(2).enumerate() {
            let hi = (pair[0] as char).to_digit(16)?;
            let lo = (pair[1] as char).to_digit(16)?;
            out[i] = u8::try_from(hi * 16 + lo).ok()?;
        }
        Some(Sha256(out))
    }

    /// Hash a whole in-memory buffer (for small things; files go through the streaming hasher).
    pub fn digest(data: &[u8]) -> Sha256 {
        use sha2::Digest;
        Sha256(sha2::Sha256::digest(data).into())
    }
}

impl fmt::Display for Sha256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for Sha256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sha256({})", self.to_hex())
    }
}

impl Serialize for Sha256 {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for Sha256 {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Sha256::from_hex(&s).ok_or_else(|| serde::de::Error::custom("expected 64 hex characters"))
    }
}

// Hand-written because `Serialize` is: the digest goes out as a hex string, not 32 numbers.
impl schemars::JsonSchema for Sha256 {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Sha256".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "A SHA-256 digest: 64 lowercase hex characters.",
            "type": "string",
            "pattern": "^[0-9a-f]{64}$"
        })
    }
}

/// One record of any collector. The variant decides the archive member
/// (`records/<collector>.jsonl`); the payload is serialized without a tag.
// Records move once, from collector to sink; boxing the large variants would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum Record {
    Process(ProcessRecord),
    Connection(ConnectionRecord),
    TempFile(TempFileRecord),
    ExecutionEvent(ExecutionEventRecord),
    Powershell(PowershellRecord),
    History(HistoryRecord),
    ScheduledTask(ScheduledTaskRecord),
    AuditLog(AuditLogRecord),
    AuthLog(AuthLogRecord),
    Journal(JournalRecord),
    Preload(PreloadRecord),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha256_hex_round_trip() {
        let d = Sha256::digest(b"abc");
        assert_eq!(
            d.to_hex(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(Sha256::from_hex(&d.to_hex()), Some(d));
        assert_eq!(Sha256::from_hex("zz"), None);
        assert_eq!(Sha256::from_hex(&"g".repeat(64)), None);
    }
}
