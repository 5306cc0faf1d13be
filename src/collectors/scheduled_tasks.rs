//! `scheduled_tasks`: not implemented yet (scaffold). See the issue that covers it.

use super::{CollectError, Collector, CollectorId, Context};
use crate::sink::Sink;
use serde::Deserialize;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduledTasksOptions {}

pub struct ScheduledTasks {
    #[allow(dead_code)]
    opts: ScheduledTasksOptions,
}

impl ScheduledTasks {
    pub fn new(opts: ScheduledTasksOptions) -> ScheduledTasks {
        ScheduledTasks { opts }
    }
}

impl Collector for ScheduledTasks {
    fn id(&self) -> CollectorId {
        CollectorId::ScheduledTasks
    }

    fn collect(&self, _ctx: &Context, _out: &mut dyn Sink) -> Result<(), CollectError> {
        Ok(())
    }
}
