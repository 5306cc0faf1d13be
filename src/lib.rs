//! irsnap: an incident-response triage collector for the MITRE ATT&CK Execution tactic.
//! See ARCHITECTURE.md for how the pieces fit.
#![deny(unsafe_code)]

pub mod archive;
pub mod cli;
pub mod collectors;
pub mod commands;
pub mod config;
pub mod detect;
pub mod ecs;
pub mod ids;
pub mod outcome;
pub mod parsers;
pub mod pipeline;
pub mod profile;
pub mod record;
pub mod registry;
pub mod report;
pub mod schema;
pub mod sigma;
pub mod signals;
pub mod sink;
pub mod source;
pub mod stack;
mod string_enum;
pub mod text;
pub mod timeline;
pub mod units;
