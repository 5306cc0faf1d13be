//! Filling `<Settings>` and its `<IdleSettings>` and `<RestartOnFailure>` blocks.

use super::{Ctx, Parser, known};
use crate::parsers::task_xml::MultipleInstancesPolicy;

const SETTINGS_LEAVES: &[&str] = &[
    "Enabled",
    "Hidden",
    "AllowStartOnDemand",
    "DisallowStartIfOnBatteries",
    "StopIfGoingOnBatteries",
    "StartWhenAvailable",
    "RunOnlyIfNetworkAvailable",
    "RunOnlyIfIdle",
    "WakeToRun",
    "AllowHardTerminate",
    "ExecutionTimeLimit",
    "Priority",
    "MultipleInstancesPolicy",
    "DeleteExpiredTaskAfter",
];

/// Schema elements under Settings with no triage value.
const SETTINGS_SKIPPED: &[&str] = &[
    "UseUnifiedSchedulingEngine",
    "DisallowStartOnRemoteAppSession",
    "MaintenanceSettings",
    "NetworkSettings",
    "Volatile",
    "NetworkProfileName",
];

pub(super) const IDLE_LEAVES: &[&str] =
    &["Duration", "WaitTimeout", "StopOnIdleEnd", "RestartOnIdle"];

pub(super) const RESTART_LEAVES: &[&str] = &["Interval", "Count"];

impl Parser {
    pub(super) fn assign_settings(&mut self, leaf: &str, v: String) {
        if let Some(b) = match leaf {
            "Enabled"
            | "Hidden"
            | "AllowStartOnDemand"
            | "DisallowStartIfOnBatteries"
            | "StopIfGoingOnBatteries"
            | "StartWhenAvailable"
            | "RunOnlyIfNetworkAvailable"
            | "RunOnlyIfIdle"
            | "WakeToRun"
            | "AllowHardTerminate" => Some(self.bool_value(leaf, &v)),
            _ => None,
        } {
            let s = &mut self.task.settings;
            let slot = match leaf {
                "Enabled" => &mut s.enabled,
                "Hidden" => &mut s.hidden,
                "AllowStartOnDemand" => &mut s.allow_start_on_demand,
                "DisallowStartIfOnBatteries" => &mut s.disallow_start_if_on_batteries,
                "StopIfGoingOnBatteries" => &mut s.stop_if_going_on_batteries,
                "StartWhenAvailable" => &mut s.start_when_available,
                "RunOnlyIfNetworkAvailable" => &mut s.run_only_if_network_available,
                "RunOnlyIfIdle" => &mut s.run_only_if_idle,
                "WakeToRun" => &mut s.wake_to_run,
                _ => &mut s.allow_hard_terminate,
            };
            if slot.is_some() {
                self.warn(format!("duplicate <{leaf}> in Settings; first kept"));
            } else {
                *slot = b;
            }
            return;
        }
        match leaf {
            "Priority" => {
                let n = self.u32_value(leaf, &v);
                self.task.settings.priority = n;
            }
            "MultipleInstancesPolicy" => {
                self.task.settings.multiple_instances_policy =
                    Some(MultipleInstancesPolicy::from_text(&v));
            }
            "ExecutionTimeLimit" => {
                let w = &mut self.task.warnings;
                Self::set_str(w, &mut self.task.settings.execution_time_limit, leaf, v)
            }
            "DeleteExpiredTaskAfter" => {
                let w = &mut self.task.warnings;
                Self::set_str(
                    w,
                    &mut self.task.settings.delete_expired_task_after,
                    leaf,
                    v,
                )
            }
            _ => {}
        }
    }
}

impl Parser {
    /// `<Settings>`: leaves, the two nested blocks, and schema elements skipped on purpose.
    pub(super) fn settings_child(&mut self, name: &str) -> Ctx {
        use Ctx::*;
        match name {
            "IdleSettings" => {
                self.task
                    .settings
                    .idle_settings
                    .get_or_insert_with(Default::default);
                IdleSettings
            }
            "RestartOnFailure" => {
                self.task
                    .settings
                    .restart_on_failure
                    .get_or_insert_with(Default::default);
                RestartOnFailure
            }
            _ => match known(name, SETTINGS_LEAVES) {
                Some(n) => Leaf(n),
                None if SETTINGS_SKIPPED.contains(&name) => Ignored,
                None => self.unknown(name, "Settings"),
            },
        }
    }

    /// A leaf of `<IdleSettings>`.
    pub(super) fn assign_idle(&mut self, leaf: &str, v: String) {
        let b = match leaf {
            "StopOnIdleEnd" | "RestartOnIdle" => self.bool_value(leaf, &v),
            _ => None,
        };
        let w = &mut self.task.warnings;
        if let Some(idle) = self.task.settings.idle_settings.as_mut() {
            match leaf {
                "Duration" => Self::set_str(w, &mut idle.duration, leaf, v),
                "WaitTimeout" => Self::set_str(w, &mut idle.wait_timeout, leaf, v),
                "StopOnIdleEnd" => idle.stop_on_idle_end = b,
                "RestartOnIdle" => idle.restart_on_idle = b,
                _ => {}
            }
        }
    }

    /// A leaf of `<RestartOnFailure>`.
    pub(super) fn assign_restart(&mut self, leaf: &str, v: String) {
        let n = if leaf == "Count" {
            self.u32_value(leaf, &v)
        } else {
            None
        };
        let w = &mut self.task.warnings;
        if let Some(r) = self.task.settings.restart_on_failure.as_mut() {
            match leaf {
                "Interval" => Self::set_str(w, &mut r.interval, leaf, v),
                "Count" => r.count = n,
                _ => {}
            }
        }
    }
}
