//! The parsed task as a whole and its `<RegistrationInfo>`.

use serde::{Deserialize, Serialize};

use super::{DetectedEncoding, Principal, TaskAction, TaskSettings, TaskTime, Trigger};

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub struct RegistrationInfo {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Registration date (`<Date>`), raw plus parsed forms.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date: Option<TaskTime>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub documentation: Option<String>,
    /// SDDL string.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub security_descriptor: Option<String>,
}

/// A parsed task definition file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub struct TaskDefinition {
    pub encoding: DetectedEncoding,
    /// `<Task version="...">` (absent on many built-in tasks).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    pub registration_info: RegistrationInfo,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub principals: Vec<Principal>,
    pub settings: TaskSettings,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub triggers: Vec<Trigger>,
    /// `<Actions Context="...">`: the principal id the actions run as.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actions_context: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub actions: Vec<TaskAction>,
    /// Oddities met while parsing (unknown elements, bad values, encoding mismatches...).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

impl TaskDefinition {
    pub(super) fn new(encoding: DetectedEncoding) -> Self {
        TaskDefinition {
            encoding,
            version: None,
            registration_info: RegistrationInfo::default(),
            principals: Vec::new(),
            settings: TaskSettings::default(),
            triggers: Vec::new(),
            actions_context: None,
            actions: Vec::new(),
            warnings: Vec::new(),
        }
    }

    /// The principal the actions run as: the one named by `Actions/@Context`, else the first.
    pub fn effective_principal(&self) -> Option<&Principal> {
        if let Some(ctx) = &self.actions_context
            && let Some(p) = self
                .principals
                .iter()
                .find(|p| p.id.as_deref() == Some(ctx.as_str()))
        {
            return Some(p);
        }
        self.principals.first()
    }
}
