//! `<Principals>`: the account a task runs as, and how it logs on.

use quick_xml::events::BytesStart;
use serde::{Deserialize, Serialize};

use super::parser::{Ctx, Parser};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
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

impl LogonType {
    fn from_text(s: &str) -> LogonType {
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

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum RunLevel {
    LeastPrivilege,
    HighestAvailable,
    Other(String),
}

impl RunLevel {
    fn from_text(s: &str) -> RunLevel {
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

pub(super) const PRINCIPAL_LEAVES: &[&str] = &[
    "UserId",
    "GroupId",
    "LogonType",
    "RunLevel",
    "DisplayName",
    "ProcessTokenSidType",
];

impl Parser {
    pub(super) fn assign_principal(&mut self, leaf: &str, v: String) {
        let w = &mut self.task.warnings;
        let Some(p) = self.task.principals.last_mut() else {
            return;
        };
        match leaf {
            "UserId" => Self::set_str(w, &mut p.user_id, leaf, v),
            "GroupId" => Self::set_str(w, &mut p.group_id, leaf, v),
            "DisplayName" => Self::set_str(w, &mut p.display_name, leaf, v),
            "ProcessTokenSidType" => Self::set_str(w, &mut p.process_token_sid_type, leaf, v),
            "LogonType" => p.logon_type = Some(LogonType::from_text(&v)),
            "RunLevel" => p.run_level = Some(RunLevel::from_text(&v)),
            _ => {}
        }
    }
}

impl Parser {
    /// `<Principals>`: each `<Principal>` starts a new principal.
    pub(super) fn principals_child(&mut self, name: &str, e: &BytesStart<'_>) -> Ctx {
        use Ctx::*;
        match name {
            "Principal" => {
                let id = self.attr(e, "id");
                self.task.principals.push(self::Principal {
                    id,
                    ..Default::default()
                });
                Principal
            }
            _ => self.unknown(name, "Principals"),
        }
    }
}
