//! One event record as the rest of irsnap sees it: the System fields and the payload; and the
//! record as the crate rendered it, before its XML is read back.

use serde::{Deserialize, Serialize};

/// One event record, with the fields a triage report needs.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub struct RawEvent {
    /// The record header's record id. Normally equal to `System/EventRecordID`, but filtered
    /// exports ("Save Filtered Log File As") renumber headers 1..N and keep the original id in
    /// the XML: see `system_record_id`.
    pub record_id: u64,
    /// `System/TimeCreated/@SystemTime`, else the record header's write time. A zero FILETIME
    /// (1601-01-01T00:00:00Z, seen on broken records) counts as absent.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time: Option<chrono::DateTime<chrono::Utc>>,
    /// `System/EventID`; 0 when absent or not a number.
    pub event_id: u32,
    /// `System/Provider/@Name`, "" if absent.
    pub provider: String,
    /// `System/Channel`, "" if absent.
    pub channel: String,
    /// `System/Computer`, "" if absent.
    pub computer: String,
    /// `System/Security/@UserID`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_sid: Option<String>,
    /// `System/Execution/@ProcessID` (the process that wrote the event).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub process_id: Option<u32>,
    /// `System/Execution/@ThreadID`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub thread_id: Option<u32>,
    /// `System/Level` (1 critical .. 5 verbose, 0 log-always).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub level: Option<u8>,
    /// The payload.
    pub data: EventData,
    /// `System/EventID/@Qualifiers` (classic event-log providers).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub qualifiers: Option<u32>,
    /// `System/Task`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub task: Option<u16>,
    /// `System/Opcode`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub opcode: Option<u8>,
    /// `System/Keywords` as rendered (hex string).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub keywords: Option<String>,
    /// `System/Correlation/@ActivityID`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub activity_id: Option<String>,
    /// `time` came from the record header because `TimeCreated` was absent, unparsable or zero.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub time_from_header: bool,
    /// `System/EventRecordID` as rendered (the original id in a filtered export).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub system_record_id: Option<u64>,
    /// Slot number of the chunk the record was read from (0 = first chunk after the header).
    pub chunk: u64,
}

/// Event payload.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub struct EventData {
    /// `EventData/Data[@Name]` in document order, values as text. A string array becomes
    /// several entries with the same name. Other named children of `EventData` (e.g.
    /// `ComplexData`) appear under their element name.
    pub named: Vec<(String, String)>,
    /// `EventData/Data` without a Name, in order (one entry per array item).
    pub unnamed: Vec<String>,
    /// The `UserData` subtree (or another non-`EventData` payload element such as
    /// `ProcessingErrorData`), as JSON: `{"ElementName": {...}}`, attributes under
    /// `"#attributes"`, text under `"#text"` when mixed with children, repeated children as arrays.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_data: Option<serde_json::Value>,
    /// Leaf elements of `user_data` flattened to (name, text) in document order, so callers
    /// can use [`EventData::get`] on events like 1102 whose fields live in `UserData`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub user_fields: Vec<(String, String)>,
    /// `EventData/Binary` (hex text as rendered).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub binary: Option<String>,
}

impl EventData {
    /// Value of the first named field called `name`: exact match first, then ASCII
    /// case-insensitive, then the same two passes over `user_fields`.
    pub fn get(&self, name: &str) -> Option<&str> {
        fn find<'a>(list: &'a [(String, String)], name: &str) -> Option<&'a str> {
            list.iter()
                .find(|(k, _)| k == name)
                .or_else(|| list.iter().find(|(k, _)| k.eq_ignore_ascii_case(name)))
                .map(|(_, v)| v.as_str())
        }
        find(&self.named, name).or_else(|| find(&self.user_fields, name))
    }

    /// All values of named fields called `name` (exact match), in order.
    pub fn get_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.named
            .iter()
            .filter(move |(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A record rendered by the crate, before we read its XML back.
pub(super) struct Rendered {
    pub(super) record_id: u64,
    pub(super) header_time: Option<chrono::DateTime<chrono::Utc>>,
    pub(super) xml: String,
}
