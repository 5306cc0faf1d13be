//! `powershell_logs`: not implemented yet (scaffold). See the issue that covers it.

use super::{CollectError, Collector, CollectorId, Context};
use crate::sink::Sink;
use serde::Deserialize;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PowershellLogsOptions {}

pub struct PowershellLogs {
    #[allow(dead_code)]
    opts: PowershellLogsOptions,
}

impl PowershellLogs {
    pub fn new(opts: PowershellLogsOptions) -> PowershellLogs {
        PowershellLogs { opts }
    }
}

impl Collector for PowershellLogs {
    fn id(&self) -> CollectorId {
        CollectorId::PowershellLogs
    }

    fn collect(&self, _ctx: &Context, _out: &mut dyn Sink) -> Result<(), CollectError> {
        Ok(())
    }
}
