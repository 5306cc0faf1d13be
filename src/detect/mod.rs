//! Detection: turns what the collectors recorded into ATT&CK Execution (TA0002) findings.
//!
//! - [`observation`]: the normalized view rules read ([`Observation`]), independent of any
//!   collector's record type, with an [`EvidenceRef`] back to the archive member and line.
//! - [`adapt`]: record / parser types → observations.
//! - [`rules`]: rules as data (`rules/*.toml`, embedded; more with `--rules PATH`), loaded with
//!   file, line and reason on any mistake.
//! - [`decode`]: PowerShell switch parsing (every `-EncodedCommand` abbreviation) and Base64
//!   payload decoding; decoded text is evaluated as a derived observation.
//! - [`correlate`]: joins across observations (written-then-run, execution → C2, ancestry).
//! - [`engine`]: runs it all and returns [`Findings`], most severe first, serializable as
//!   `findings.jsonl`.
//!
//! ```no_run
//! use irsnap::detect::{Engine, EvidenceRef, Observation, ObservationKind};
//! let obs = vec![Observation::new(ObservationKind::Process, EvidenceRef::new("records/processes.jsonl", 1))
//!     .image(Some("C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe"))
//!     .command_line(Some("powershell -nop -w hidden -enc SQBFAFgA"))];
//! let findings = Engine::builtin().expect("built-in rules load").run(&obs);
//! ```

pub mod adapt;
pub mod allow;
pub mod analysis;
pub mod correlate;
pub mod decode;
pub mod engine;
mod eval;
pub mod finding;
pub mod linux;
pub mod observation;
mod paths;
pub mod records;
pub mod rules;

pub use engine::Engine;
pub use eval::is_public;
pub use finding::{
    DecodedPayload, Finding, FindingContext, Findings, MatchedValue, RuleSummary, rule_summaries,
};
pub use observation::{
    Derivation, EventOrigin, EvidenceRef, Observation, ObservationKind, TaskAttrs,
};
pub use rules::{Rule, RuleError, Severity, Tactic, builtin_rules, load_rules};
