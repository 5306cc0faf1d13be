//! `<Settings>`: the switches that matter for triage (hidden, enabled, battery and idle rules).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MultipleInstancesPolicy {
    Parallel,
    Queue,
    IgnoreNew,
    StopExisting,
    Other(String),
}

crate::string_enum::string_enum!(MultipleInstancesPolicy {
    Parallel = "parallel",
    Queue = "queue",
    IgnoreNew = "ignore_new",
    StopExisting = "stop_existing",
} else Other(String));

impl MultipleInstancesPolicy {
    pub(super) fn from_text(s: &str) -> MultipleInstancesPolicy {
        match s {
            "Parallel" => MultipleInstancesPolicy::Parallel,
            "Queue" => MultipleInstancesPolicy::Queue,
            "IgnoreNew" => MultipleInstancesPolicy::IgnoreNew,
            "StopExisting" => MultipleInstancesPolicy::StopExisting,
            other => MultipleInstancesPolicy::Other(other.to_string()),
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub struct IdleSettings {
    /// `xs:duration` text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub duration: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wait_timeout: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop_on_idle_end: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restart_on_idle: Option<bool>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub struct RestartOnFailure {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub interval: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub count: Option<u32>,
}

/// Settings that matter for triage. `None` means the element was absent (the schema default
/// applies, e.g. Hidden=false, Enabled=true); the distinction is kept because an explicit value
/// is evidence of how the task was created.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub struct TaskSettings {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hidden: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allow_start_on_demand: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disallow_start_if_on_batteries: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stop_if_going_on_batteries: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_when_available: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_only_if_network_available: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub run_only_if_idle: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub wake_to_run: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allow_hard_terminate: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub execution_time_limit: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub priority: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub multiple_instances_policy: Option<MultipleInstancesPolicy>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delete_expired_task_after: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub idle_settings: Option<IdleSettings>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub restart_on_failure: Option<RestartOnFailure>,
}
