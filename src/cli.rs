//! The command line, as clap sees it. Nothing outside this file sees clap types: the
//! commands convert these flags once into their configuration.

use crate::ids::CollectorId;
use crate::stack::StackKind;
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "irsnap",
    version,
    about = "Incident-response triage for the MITRE ATT&CK Execution tactic: one static \
             binary snapshots processes, network, scheduled tasks, PowerShell and shell \
             history and staged scripts into one hashed archive.",
    after_help = "Exit codes: 0 complete (gaps, items that could not be read, are listed), \
                  1 failed (no archive; or verify could not look inside an encrypted \
                  archive), 2 partial (a collector failed or a limit cut it short), 3 verify \
                  mismatch or damage, 4 interrupted, 5 verify UNAUTHENTICATED (nothing wrong, \
                  but no sidecar and no trusted signature vouches for it), 64 usage error."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Collect a triage archive from this host (or from an offline root).
    Collect(CollectArgs),
    /// Check archives strictly: every byte of the zip, every member against the manifest,
    /// the file against its .sha256 sidecar, and the SSH signatures (exit 5 UNAUTHENTICATED
    /// when nothing vouches for an archive; worst result wins).
    Verify(VerifyArgs),
    /// List the built-in collection profiles, or print one.
    Profiles(ProfilesArgs),
    /// Render the triage report of an archive (reads only the archive).
    Report(ReportArgs),
    /// Least frequency of occurrence across many hosts' archives: what runs on few hosts,
    /// rarest first (exit 2 when some archive or record could not be read).
    Stack(StackArgs),
    /// Export an archive's timeline or records for Timesketch, spreadsheets, jq or DuckDB.
    Export(ExportArgs),
    /// Re-run detection (built-in rules, --rules, --sigma) over archives already collected,
    /// from their records and copied scripts; writes new findings and reports beside each
    /// archive and never modifies it (exit 2 when some archive could not be read).
    Hunt(HuntArgs),
    /// Print the JSON Schema of the archive's records and manifest (every archive also
    /// carries them under schema/).
    Schema(SchemaArgs),
    /// Print a shell completion script: `irsnap completions bash > /etc/bash_completion.d/irsnap`.
    Completions(CompletionsArgs),
    /// Write the manual pages (irsnap.1 and irsnap-<command>.1) into a directory.
    Manpages(ManpagesArgs),
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct ManpagesArgs {
    /// Directory to write the pages to (created if missing).
    #[arg(long, short = 'o', value_name = "DIR")]
    pub out: PathBuf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ExportFormat {
    /// The timeline, or with --collector that collector's records, as CSV with a header row
    /// (RFC 4180 quoting; any piece of a cell that a spreadsheet would run as a formula,
    /// whether `,` `;` or tab separates cells, starts with `'`; controls and bidi characters
    /// are written as escapes); a `host` column names the host of every row.
    Csv,
    /// Records as JSON lines, each with `collector` and `host` fields added.
    Jsonl,
    /// The timeline as JSON lines, in Timesketch's import shape (with `host`).
    Timesketch,
    /// Elastic Common Schema, one document per line: every timeline fact as an event and
    /// every finding as an alert (`@timestamp`, `host.*`, `event.*`, `process.*`, `file.*`,
    /// `user.*`, `rule.*`, `threat.*`).
    Ecs,
    /// The ECS documents for Elasticsearch's `_bulk` API: a `{"create":{}}` line before each.
    EsBulk,
    /// The ECS documents in Splunk HTTP Event Collector envelopes (`time`, `host`, `event`).
    SplunkHec,
}

#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The archive (.zip, or .zip.age with --identity) to export from.
    pub archive: PathBuf,
    /// age identity file to read an encrypted archive (repeatable; `-` reads standard input).
    #[arg(long, value_name = "FILE")]
    pub identity: Vec<PathBuf>,
    #[arg(long, value_enum, default_value = "timesketch")]
    pub format: ExportFormat,
    /// Write here instead of standard output.
    #[arg(short = 'o', long = "output")]
    pub output: Option<PathBuf>,
    /// Only this collector (`processes`, `scheduled_tasks`, ...).
    #[arg(long, value_name = "NAME", value_parser = parse_collector)]
    pub collector: Option<CollectorId>,
}

/// Collector names as the archive spells them (`temp_scripts`, not clap's `temp-scripts`).
fn parse_collector(s: &str) -> Result<CollectorId, String> {
    CollectorId::from_name(s)
        .ok_or_else(|| format!("unknown collector; one of: {}", CollectorId::names()))
}

/// Stack kinds as `stack` prints them.
fn parse_stack_kind(s: &str) -> Result<StackKind, String> {
    StackKind::from_name(s).ok_or_else(|| {
        let names: Vec<&str> = StackKind::ALL.iter().map(|k| k.as_str()).collect();
        format!("unknown kind; one of: {}", names.join(", "))
    })
}

/// The OS of an offline root, for `--root-os`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RootOs {
    Linux,
    Windows,
    Other,
}

#[derive(Debug, Args)]
pub struct SchemaArgs {
    /// Print only this schema (`processes`, ..., `manifest`); without it, list the names.
    pub name: Option<String>,
    /// Write every schema to DIR as `<name>.schema.json` instead.
    #[arg(long, value_name = "DIR", conflicts_with = "name")]
    pub out: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ReportFormat {
    Html,
    Md,
    Json,
}

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The archive (.zip, or .zip.age with --identity) to report on.
    pub archive: PathBuf,
    /// age identity file (AGE-SECRET-KEY-1... lines, as age-keygen writes) to read an
    /// encrypted archive; repeatable; `-` reads standard input.
    #[arg(long, value_name = "FILE")]
    pub identity: Vec<PathBuf>,
    #[arg(long, value_enum, default_value = "html")]
    pub format: ReportFormat,
    /// Write the report here instead of standard output.
    #[arg(short = 'o', long = "output")]
    pub output: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct HuntArgs {
    /// Archives (.zip, or .zip.age with --identity) to hunt in; a directory stands for every
    /// .zip and .zip.age in it.
    #[arg(required = true, value_name = "ARCHIVE")]
    pub archives: Vec<PathBuf>,
    /// age identity file to read encrypted archives (repeatable; `-` reads standard input).
    #[arg(long, value_name = "FILE")]
    pub identity: Vec<PathBuf>,
    /// Extra detection rules (irsnap's TOML rule format); repeatable.
    #[arg(long = "rules", value_name = "PATH")]
    pub rules: Vec<PathBuf>,
    /// Apply the Sigma rules under this directory (e.g. SigmaHQ's rules/windows).
    #[arg(long = "sigma", value_name = "DIR")]
    pub sigma: Option<PathBuf>,
    /// Where the results go: `<DIR>/<archive name>.hunt/` (default: beside each archive).
    #[arg(short = 'o', long = "output", value_name = "DIR")]
    pub output: Option<PathBuf>,
    /// One JSON document (a list with one summary per archive) instead of the text summary.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct StackArgs {
    /// Archives (.zip, or .zip.age with --identity) to stack; a directory stands for every
    /// .zip and .zip.age in it.
    #[arg(required = true, value_name = "ARCHIVE")]
    pub archives: Vec<PathBuf>,
    /// age identity file to read encrypted archives (repeatable; `-` reads standard input).
    #[arg(long, value_name = "FILE")]
    pub identity: Vec<PathBuf>,
    /// One JSON object per key (JSON Lines) instead of the table.
    #[arg(long)]
    pub json: bool,
    /// Only the N rarest keys.
    #[arg(long, value_name = "N")]
    pub top: Option<usize>,
    /// Only these kinds (repeatable, or comma-separated).
    #[arg(long, value_delimiter = ',', value_name = "KIND", value_parser = parse_stack_kind)]
    pub kind: Vec<StackKind>,
    /// Only keys with a finding on one of their records (the FINDING column).
    #[arg(long)]
    pub with_findings: bool,
    /// Only keys seen on at most N hosts.
    #[arg(long, value_name = "N")]
    pub max_hosts: Option<u64>,
}

#[derive(Debug, Args)]
pub struct ProfilesArgs {
    #[command(subcommand)]
    pub action: Option<ProfilesAction>,
}

#[derive(Debug, Subcommand)]
pub enum ProfilesAction {
    /// Print a profile's text (a built-in name or a path), after checking that it is valid.
    Show { name: String },
}

#[derive(Debug, Args)]
pub struct CollectArgs {
    /// Directory the archive is written to (created if missing).
    #[arg(short = 'o', long = "output", default_value = ".")]
    pub output: PathBuf,
    /// Case identifier recorded in the manifest.
    #[arg(long)]
    pub case: Option<String>,
    /// Who is collecting, recorded in the manifest.
    #[arg(long)]
    pub examiner: Option<String>,
    /// Free text recorded in the manifest.
    #[arg(long)]
    pub notes: Option<String>,
    /// Collect from an offline root (a mounted image, or a folder laid out like a system
    /// drive) instead of the live host.
    #[arg(long, value_name = "PATH")]
    pub root: Option<PathBuf>,
    /// The OS of the offline root, when its layout does not tell.
    #[arg(long, value_enum, requires = "root")]
    pub root_os: Option<RootOs>,
    /// Built-in profile name or path to a profile file.
    #[arg(long, default_value = crate::profile::DEFAULT_PROFILE)]
    pub profile: String,
    /// Only records newer than this: a duration back from now (`7d` or `-7d`, `12h`,
    /// `1h30m`), a date (`2026-11-01`, `2026-11-01T08:00:00Z`), `today` or `yesterday` (UTC).
    #[arg(long, value_name = "DURATION|DATE", allow_hyphen_values = true)]
    pub since: Option<String>,
    /// Stop collecting after this long (`90s`, `5m`) and finish the archive.
    #[arg(long, value_name = "DURATION")]
    pub deadline: Option<String>,
    /// Extra detection rules (irsnap's TOML rule format, see rules/README.md); repeatable.
    /// A bad rule file is refused with file, line and reason before anything is collected.
    #[arg(long = "rules", value_name = "PATH")]
    pub rules: Vec<PathBuf>,
    /// Apply the Sigma rules under this directory (e.g. SigmaHQ's rules/windows) to the
    /// process snapshot, Sysmon/Security/Task Scheduler events and PowerShell logs.
    #[arg(long = "sigma", value_name = "DIR")]
    pub sigma: Option<PathBuf>,
    /// Lowest CPU and I/O priority and throttled reads (16 MiB/s), for busy production hosts.
    #[arg(long)]
    pub low_impact: bool,
    /// No progress and no summary on the terminal (the archive path is still printed).
    #[arg(short, long)]
    pub quiet: bool,
    /// Print a machine-readable summary on stdout instead of the human one.
    #[arg(long)]
    pub json: bool,
    /// Encrypt the whole archive with age to this public key (age1..., from age-keygen);
    /// repeatable: any one of the matching secret keys opens it. Nothing unencrypted is
    /// written to this host's disk; the archive is named .zip.age.
    #[arg(long, value_name = "RECIPIENT")]
    pub encrypt_to: Vec<String>,
    /// Sign with this SSH key (an unencrypted OpenSSH ed25519 private key file): the
    /// manifest inside (manifest.json.sig) and the whole archive file beside it
    /// (<archive>.sig), in the format `ssh-keygen -Y verify -n irsnap` checks.
    #[arg(long, value_name = "KEY")]
    pub sign: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Archives (.zip, or .zip.age) to verify; a directory stands for every .zip and
    /// .zip.age in it.
    #[arg(required = true, value_name = "ARCHIVE")]
    pub archives: Vec<PathBuf>,
    /// Keys whose SSH signature authenticates an archive: a public key file
    /// (ssh-ed25519 AAAA...) or an OpenSSH allowed_signers file (repeatable). With it, only
    /// a signature by one of them makes an archive OK (the sidecar alone does not).
    #[arg(long, value_name = "FILE")]
    pub trusted: Vec<PathBuf>,
    /// age identity file to look inside an encrypted archive (repeatable; `-` reads standard
    /// input). Without it, only the encrypted file's sidecar hash is checked (exit 1).
    #[arg(long, value_name = "FILE")]
    pub identity: Vec<PathBuf>,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
}
