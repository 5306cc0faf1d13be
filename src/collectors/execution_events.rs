//! `execution_events`: not implemented yet (scaffold). See the issue that covers it.

use super::{CollectError, Collector, CollectorId, Context};
use crate::sink::Sink;
use serde::Deserialize;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExecutionEventsOptions {}

pub struct ExecutionEvents {
    #[allow(dead_code)]
    opts: ExecutionEventsOptions,
}

impl ExecutionEvents {
    pub fn new(opts: ExecutionEventsOptions) -> ExecutionEvents {
        ExecutionEvents { opts }
    }
}

impl Collector for ExecutionEvents {
    fn id(&self) -> CollectorId {
        CollectorId::ExecutionEvents
    }

    fn collect(&self, _ctx: &Context, _out: &mut dyn Sink) -> Result<(), CollectError> {
        Ok(())
    }
}
