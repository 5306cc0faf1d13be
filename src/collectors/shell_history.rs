//! `shell_history`: not implemented yet (scaffold). See the issue that covers it.

use super::{CollectError, Collector, CollectorId, Context};
use crate::sink::Sink;
use serde::Deserialize;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ShellHistoryOptions {}

pub struct ShellHistory {
    #[allow(dead_code)]
    opts: ShellHistoryOptions,
}

impl ShellHistory {
    pub fn new(opts: ShellHistoryOptions) -> ShellHistory {
        ShellHistory { opts }
    }
}

impl Collector for ShellHistory {
    fn id(&self) -> CollectorId {
        CollectorId::ShellHistory
    }

    fn collect(&self, _ctx: &Context, _out: &mut dyn Sink) -> Result<(), CollectError> {
        Ok(())
    }
}
