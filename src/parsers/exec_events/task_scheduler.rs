//! Microsoft-Windows-TaskScheduler/Operational events: task registered, launched, finished, ...

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

use super::EventHeader;
use super::fields::{n, result_code, s, text, uint32};
use crate::parsers::evtx_read::{EventData, RawEvent};

/// TaskScheduler Operational event ids we type.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TaskSchedulerOperation {
    /// 100
    TaskStarted,
    /// 101
    TaskStartFailed,
    /// 102
    TaskCompleted,
    /// 103
    ActionStartFailed,
    /// 106
    TaskRegistered,
    /// 107
    TriggeredOnSchedule,
    /// 108
    TriggeredOnEvent,
    /// 109
    TriggeredOnRegistration,
    /// 110
    TriggeredByUser,
    /// 111
    TaskTerminated,
    /// 118
    TriggeredOnBoot,
    /// 119
    TriggeredOnLogon,
    /// 129
    ProcessLaunched,
    /// 140
    TaskUpdated,
    /// 141
    TaskDeleted,
    /// 142
    TaskDisabled,
    /// 200
    ActionStarted,
    /// 201
    ActionCompleted,
    /// 202
    ActionFailed,
    /// 203
    ActionLaunchFailed,
}

impl TaskSchedulerOperation {
    pub fn from_event_id(id: u32) -> Option<Self> {
        use TaskSchedulerOperation as T;
        Some(match id {
            100 => T::TaskStarted,
            101 => T::TaskStartFailed,
            102 => T::TaskCompleted,
            103 => T::ActionStartFailed,
            106 => T::TaskRegistered,
            107 => T::TriggeredOnSchedule,
            108 => T::TriggeredOnEvent,
            109 => T::TriggeredOnRegistration,
            110 => T::TriggeredByUser,
            111 => T::TaskTerminated,
            118 => T::TriggeredOnBoot,
            119 => T::TriggeredOnLogon,
            129 => T::ProcessLaunched,
            140 => T::TaskUpdated,
            141 => T::TaskDeleted,
            142 => T::TaskDisabled,
            200 => T::ActionStarted,
            201 => T::ActionCompleted,
            202 => T::ActionFailed,
            203 => T::ActionLaunchFailed,
            _ => return None,
        })
    }
}

/// A Microsoft-Windows-TaskScheduler/Operational event.
///
/// Windows swaps `TaskName` and `ActionName` in some builds' 202 events; the values are kept
/// as logged.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub struct TaskSchedulerOp {
    pub header: EventHeader,
    pub operation: TaskSchedulerOperation,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_name: Option<String>,
    /// `UserContext`: the account the task runs as (100/102/106/110…).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_context: Option<String>,
    /// `UserName`: the account that made the change (140/141/142) or logged on (119).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action_name: Option<String>,
    /// `InstanceId` or `TaskInstanceId`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instance_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result_code: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub engine_pid: Option<u32>,
    /// 129: the launched process (`ProcessID`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub process_id: Option<u32>,
    /// 129: the launched image (`Path`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub priority: Option<u32>,
}

pub(super) fn task_scheduler_op(
    ev: &RawEvent,
    d: &EventData,
    op: TaskSchedulerOperation,
) -> TaskSchedulerOp {
    TaskSchedulerOp {
        header: EventHeader::from_raw(ev),
        operation: op,
        task_name: text(d, "TaskName"),
        user_context: text(d, "UserContext"),
        user_name: text(d, "UserName"),
        action_name: text(d, "ActionName"),
        instance_id: text(d, "InstanceId").or_else(|| text(d, "TaskInstanceId")),
        result_code: result_code(d, "ResultCode"),
        engine_pid: uint32(d, "EnginePID"),
        process_id: uint32(d, "ProcessID"),
        path: text(d, "Path"),
        priority: uint32(d, "Priority"),
    }
}

pub(super) fn task_scheduler_field<'a>(e: &'a TaskSchedulerOp, key: &str) -> Option<Cow<'a, str>> {
    match key {
        "taskname" => s(&e.task_name),
        "usercontext" => s(&e.user_context),
        "username" => s(&e.user_name),
        "actionname" => s(&e.action_name),
        "instanceid" | "taskinstanceid" => s(&e.instance_id),
        "resultcode" => n(e.result_code),
        "enginepid" => n(e.engine_pid),
        "processid" => n(e.process_id),
        "path" => s(&e.path),
        "priority" => n(e.priority),
        _ => None,
    }
}
