//! `temp_scripts`: not implemented yet (scaffold). See the issue that covers it.

use super::{CollectError, Collector, CollectorId, Context};
use crate::sink::Sink;
use serde::Deserialize;

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TempScriptsOptions {}

pub struct TempScripts {
    #[allow(dead_code)]
    opts: TempScriptsOptions,
}

impl TempScripts {
    pub fn new(opts: TempScriptsOptions) -> TempScripts {
        TempScripts { opts }
    }
}

impl Collector for TempScripts {
    fn id(&self) -> CollectorId {
        CollectorId::TempScripts
    }

    fn collect(&self, _ctx: &Context, _out: &mut dyn Sink) -> Result<(), CollectError> {
        Ok(())
    }
}
