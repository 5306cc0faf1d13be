//! The System part every typed event carries, and the token fields several events share.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::parsers::evtx_read::RawEvent;

/// The System part every typed event carries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub struct EventHeader {
    pub record_id: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<DateTime<Utc>>,
    pub event_id: u32,
    pub channel: String,
    pub provider: String,
    pub computer: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_sid: Option<String>,
    /// Process that wrote the event (System/Execution), not the subject of the event.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub process_id: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thread_id: Option<u32>,
}

impl EventHeader {
    pub(super) fn from_raw(ev: &RawEvent) -> Self {
        EventHeader {
            record_id: ev.record_id,
            time: ev.time,
            event_id: ev.event_id,
            channel: ev.channel.clone(),
            provider: ev.provider.clone(),
            computer: ev.computer.clone(),
            user_sid: ev.user_sid.clone(),
            process_id: ev.process_id,
            thread_id: ev.thread_id,
        }
    }
}

/// Windows mandatory integrity level, from Sysmon's `IntegrityLevel` text or a 4688
/// `MandatoryLabel` SID.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IntegrityLevel {
    Untrusted,
    Low,
    Medium,
    MediumPlus,
    High,
    System,
    Protected,
    AppContainer,
    Other(String),
}

crate::string_enum::string_enum!(IntegrityLevel {
    Untrusted = "untrusted",
    Low = "low",
    Medium = "medium",
    MediumPlus = "medium_plus",
    High = "high",
    System = "system",
    Protected = "protected",
    AppContainer = "app_container",
} else Other(String));

impl IntegrityLevel {
    /// Sysmon's spelling, also accepting the label SIDs of 4688.
    pub fn parse(s: &str) -> Self {
        let t = s.trim();
        let known = [
            ("Untrusted", "S-1-16-0", IntegrityLevel::Untrusted),
            ("Low", "S-1-16-4096", IntegrityLevel::Low),
            ("Medium", "S-1-16-8192", IntegrityLevel::Medium),
            ("MediumPlus", "S-1-16-8448", IntegrityLevel::MediumPlus),
            ("High", "S-1-16-12288", IntegrityLevel::High),
            ("System", "S-1-16-16384", IntegrityLevel::System),
            ("Protected", "S-1-16-20480", IntegrityLevel::Protected),
            ("AppContainer", "", IntegrityLevel::AppContainer),
        ];
        for (name, sid, level) in known {
            if t.eq_ignore_ascii_case(name) || (!sid.is_empty() && t.eq_ignore_ascii_case(sid)) {
                return level;
            }
        }
        IntegrityLevel::Other(t.to_string())
    }

    /// Text as Sysmon writes it, which is what Sigma rules compare against.
    pub fn as_str(&self) -> &str {
        match self {
            IntegrityLevel::Untrusted => "Untrusted",
            IntegrityLevel::Low => "Low",
            IntegrityLevel::Medium => "Medium",
            IntegrityLevel::MediumPlus => "MediumPlus",
            IntegrityLevel::High => "High",
            IntegrityLevel::System => "System",
            IntegrityLevel::Protected => "Protected",
            IntegrityLevel::AppContainer => "AppContainer",
            IntegrityLevel::Other(s) => s,
        }
    }
}

/// 4688 `TokenElevationType`: `%%1936` type 1 (full token, UAC off / built-in admin /
/// service), `%%1937` type 2 (elevated), `%%1938` type 3 (limited, not elevated).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenElevationType {
    Default,
    Full,
    Limited,
    Other(String),
}

crate::string_enum::string_enum!(TokenElevationType {
    Default = "default",
    Full = "full",
    Limited = "limited",
} else Other(String));

impl TokenElevationType {
    pub fn parse(s: &str) -> Self {
        let t = s.trim();
        // Exports rendered with messages say "TokenElevationTypeDefault (1)" instead.
        if t == "%%1936" || t.contains("TypeDefault") || t.ends_with("(1)") {
            TokenElevationType::Default
        } else if t == "%%1937" || t.contains("TypeFull") || t.ends_with("(2)") {
            TokenElevationType::Full
        } else if t == "%%1938" || t.contains("TypeLimited") || t.ends_with("(3)") {
            TokenElevationType::Limited
        } else {
            TokenElevationType::Other(t.to_string())
        }
    }

    /// The raw insertion-string form stored in the event.
    pub fn as_str(&self) -> &str {
        match self {
            TokenElevationType::Default => "%%1936",
            TokenElevationType::Full => "%%1937",
            TokenElevationType::Limited => "%%1938",
            TokenElevationType::Other(s) => s,
        }
    }
}
