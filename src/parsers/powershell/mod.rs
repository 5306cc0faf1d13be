//! PowerShell event-log records: script blocks, module/pipeline logging, engine lifecycle.
//!
//! Artifact (Windows only; read from any EVTX via [`crate::parsers::evtx_read`]):
//! - `%SystemRoot%\System32\winevt\Logs\Microsoft-Windows-PowerShell%4Operational.evtx`,
//!   provider `Microsoft-Windows-PowerShell`: 4104 script block logging, 4103 module logging,
//!   4100 errors, 40961/40962/53504 console/IPC session start.
//! - `...\Windows PowerShell.evtx`, provider `PowerShell` (the classic log, PowerShell 2.0+):
//!   400 engine start, 403 engine stop, 600 provider start, 800 pipeline execution. Their payload
//!   is a string array in unnamed `Data` elements with a "Key=Value" context block, and 400 is
//!   written even with no logging policy, so it is the one record of a `-Exec Bypass`/`-Enc`
//!   launch on a default box.
//! - `...\PowerShellCore%4Operational.evtx`, provider `PowerShellCore` (PowerShell 7): same ids
//!   as the Operational log.
//!
//! Events are recognised by provider + channel + id, never by file name: exports merge logs, and
//! the same ids mean other things elsewhere (800 in TaskScheduler/Maintenance, 400 in
//! TaskScheduler/Operational). A record with an empty channel (some forwarded/exported records)
//! is accepted on provider + id alone.
//!
//! We record per event the System fields, the 4104 script-block fields, the 4103/4100 payload,
//! the parsed context block (host application = the PowerShell command line, user, runspace,
//! script name, ...), and reassemble multi-part script blocks ([`ScriptBlockAssembler`]): a
//! script longer than ~32 K characters is split over several 4104 records sharing a
//! ScriptBlockId, numbered MessageNumber 1..MessageTotal.
//!
//! References: Microsoft Docs "about_Logging_Windows"; the Microsoft-Windows-PowerShell and
//! PowerShell (classic) event manifests; FireEye/Mandiant "Greater Visibility Through PowerShell
//! Logging" (2016).

mod context;
mod event;
mod script_block;
#[cfg(test)]
#[allow(clippy::disallowed_methods)]
mod tests;

pub use context::parse_context;
pub use event::{PsEvent, PsEventKind, PsLog, ps_event_from_raw};
pub use script_block::{
    DEFAULT_ASSEMBLY_CAP, MAX_MISSING_LISTED, ScriptBlock, ScriptBlockAssembler,
};
