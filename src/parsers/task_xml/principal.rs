//! `<Principals>`: the account a task runs as, and how it logs on.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogonType {
    S4u,
    Password,
    InteractiveToken,
    InteractiveTokenOrPassword,
    Group,
    ServiceAccount,
    None,
    Other(String),
}

crate::string_enum::string_enum!(LogonType {
    S4u = "s4u",
    Password = "password",
    InteractiveToken = "interactive_token",
    InteractiveTokenOrPassword = "interactive_token_or_password",
    Group = "group",
    ServiceAccount = "service_account",
    None = "none",
} else Other(String));

impl LogonType {
    pub(super) fn from_text(s: &str) -> LogonType {
        match s {
            "S4U" => LogonType::S4u,
            "Password" => LogonType::Password,
            "InteractiveToken" => LogonType::InteractiveToken,
            "InteractiveTokenOrPassword" => LogonType::InteractiveTokenOrPassword,
            "Group" => LogonType::Group,
            "ServiceAccount" => LogonType::ServiceAccount,
            "None" => LogonType::None,
            other => LogonType::Other(other.to_string()),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunLevel {
    LeastPrivilege,
    HighestAvailable,
    Other(String),
}

crate::string_enum::string_enum!(RunLevel {
    LeastPrivilege = "least_privilege",
    HighestAvailable = "highest_available",
} else Other(String));

impl RunLevel {
    pub(super) fn from_text(s: &str) -> RunLevel {
        match s {
            "LeastPrivilege" => RunLevel::LeastPrivilege,
            "HighestAvailable" => RunLevel::HighestAvailable,
            other => RunLevel::Other(other.to_string()),
        }
    }

    /// Schema spelling, e.g. `HighestAvailable`.
    pub fn as_schema_str(&self) -> &str {
        match self {
            RunLevel::LeastPrivilege => "LeastPrivilege",
            RunLevel::HighestAvailable => "HighestAvailable",
            RunLevel::Other(s) => s,
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub struct Principal {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub group_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logon_type: Option<LogonType>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_level: Option<RunLevel>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub process_token_sid_type: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub required_privileges: Vec<String>,
}
