//! `temp_scripts` records: one per script, executable or suspicious special file found where
//! attackers stage them, and one per package or build tree met there (a virtualenv,
//! `node_modules`, a Cargo `target/`, a `.git`...), summarised instead of walked.

use super::FileType;
use super::{Sha256, Timestamp};
use serde::{Deserialize, Serialize};

/// What a file is, from its content when the content says so, else from its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum DetectedType {
    /// sh, bash, zsh, ksh, dash, ash, csh...
    Shell,
    Python,
    Perl,
    Ruby,
    Php,
    Powershell,
    /// `.vbs`, `.vbe` (encoded VBScript).
    Vbscript,
    /// `.js`, `.jse` (Windows Script Host JScript), or a `#!` line naming node.
    Javascript,
    /// Windows Script File / Windows Script Host settings (`.wsf`, `.wsh`).
    WindowsScriptFile,
    /// HTML Application (`.hta`).
    Hta,
    /// `.bat`, `.cmd`.
    Batch,
    /// COM scriptlet (`.sct`), run by regsvr32 / mshta.
    Scriptlet,
    /// A `#!` line naming an interpreter not listed above.
    OtherScript,
    /// `MZ`: a Windows executable, DLL, driver, screensaver, control-panel item.
    Pe,
    /// `\x7fELF`: a Unix executable or shared object.
    Elf,
    /// Windows shortcut (`.lnk`, magic `4C 00 00 00`).
    Lnk,
    /// Windows Installer package (`.msi`/`.msp`).
    Msi,
    /// Java archive.
    Jar,
    /// Selected by name, but its content matches none of the above (or could not be read).
    Unknown,
    /// A symlink whose name matches; never followed nor opened.
    Symlink,
    /// A named pipe: `mkfifo /tmp/f; cat /tmp/f | sh -i | nc ...` is the classic reverse shell.
    Fifo,
    Socket,
    /// A device node outside `/dev`.
    Device,
    /// A package or build tree summarised as one record: see `package_tree`.
    PackageTree,
}

/// Why a file was selected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Selection {
    /// Its extension is in the profile's list.
    Extension,
    /// Its first bytes: `#!`, `MZ`, `\x7fELF`, a shortcut header.
    Content,
    /// Its file type alone (a FIFO or a device node in a temp directory).
    FileType,
    /// The directory is a package or build tree: one summary record instead of its files.
    PackageTree,
    /// It lies inside a summarised package tree but is not part of the tree's layout (see
    /// `PackageTree::foreign`): collected although the tree's own files are not.
    OutOfPlace,
}

/// What kind of package or build tree a directory is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TreeKind {
    /// A Python virtual environment (`pyvenv.cfg` at its top, or `lib/pythonX.Y/site-packages`).
    PythonVenv,
    /// `site-packages` or `dist-packages`.
    PythonPackages,
    /// `__pycache__`.
    Pycache,
    /// `node_modules`.
    NodeModules,
    /// A Cargo `target/` (`CACHEDIR.TAG`, or `debug/`/`release/` with `.fingerprint`/`deps`).
    CargoTarget,
    /// A `.git` directory (`HEAD` and `objects/`).
    Git,
    /// A Go module cache (`pkg/mod` with `cache/download`).
    GoModCache,
    /// A Maven local repository (`.m2` with `repository/`).
    MavenRepository,
}

/// Why a file inside a summarised tree is reported although the tree's files are not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ForeignReason {
    /// A script or executable at the top of the tree (for a virtualenv: also at the top of
    /// its `site-packages`) where the layout puts none: a `.sh` dropped into `site-packages`.
    UnexpectedAtTop,
    /// An active git hook (`.git/hooks/*` not named `*.sample`): git runs it.
    GitHook,
    /// A script or executable that changed well after the bulk of the tree (more than
    /// `tree_change_gap` after `PackageTree::settled_time`): planted or edited later.
    ChangedAfterTree,
    /// A FIFO or device node: no package ships one.
    SpecialFile,
}

/// One file of a summarised tree that does not belong to its layout.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ForeignFile {
    /// Path as the evidence's OS writes it.
    pub path: String,
    pub reason: ForeignReason,
    pub file_type: FileType,
    pub size: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mtime: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ctime: Option<Timestamp>,
    /// Permission bits in octal (not on Windows evidence).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    /// Its timestamps are inside the time window, so it also has a record of its own (hashed,
    /// copied) unless `max_files` cut it.
    pub in_window: bool,
}

/// The summary of a package or build tree: what it holds, and what in it does not belong.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct PackageTree {
    pub kind: TreeKind,
    /// Entries that are not directories (files, symlinks, special files).
    pub file_count: u64,
    pub dir_count: u64,
    /// Bytes of the regular files (their sizes, not their allocation).
    pub total_size: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub newest_mtime: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub newest_ctime: Option<Timestamp>,
    /// Nine in ten of the tree's files last changed (newest of the profile's `window_times`)
    /// at or before this, estimated from an evenly spaced sample of at most 4,096 of them:
    /// "changed after the tree" is measured from here.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub settled_time: Option<Timestamp>,
    /// Counting stopped at `max_tree_entries` (or a directory could not be listed): the counts
    /// are lower bounds and the rest of the tree was not looked at.
    pub count_capped: bool,
    /// Files that do not belong to the tree's layout, best first (scripts and executables,
    /// then the shallowest, then the newest); at most 256.
    pub foreign: Vec<ForeignFile>,
    /// How many such files the tree holds (`foreign` is capped).
    pub foreign_count: u64,
}

/// Which of a file's timestamps fell inside the time window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TimeField {
    Mtime,
    Ctime,
    Btime,
}

/// One file found by `temp_scripts`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct TempFileRecord {
    /// Path as the evidence's OS writes it; non-UTF-8 bytes replaced (U+FFFD).
    pub path: String,
    /// The exact path bytes, base64, when the path is not valid UTF-8.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_raw_b64: Option<String>,
    /// The staging place it was found under (`/tmp`, `C:\Users\alice\AppData\Local\Temp`).
    pub location: String,
    /// The account whose profile/home holds the location, when it is a per-user place.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// 1 for a file directly in `location`.
    pub depth: usize,
    pub file_type: FileType,
    pub detected_type: DetectedType,
    pub selected_by: Vec<Selection>,
    /// Lower-cased, without the dot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extension: Option<String>,
    pub size: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mtime: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub atime: Option<Timestamp>,
    /// Inode change time (Unix): `touch -d` cannot set it, so a recent ctime with an old
    /// mtime is a sign of timestomping.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ctime: Option<Timestamp>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub btime: Option<Timestamp>,
    /// The timestamps that put the file inside the time window (empty when the file has no
    /// timestamps at all and was kept because it could not be proven old, and for a
    /// `package_tree` summary whose directory is older than the window: a summary is written
    /// for every tree met, whatever its age).
    pub recent_by: Vec<TimeField>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uid: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gid: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner: Option<String>,
    /// Permission bits in octal, with setuid/setgid/sticky (`4755`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<String>,
    /// SHA-256 of the whole file, whatever was copied. Absent when the file was not read
    /// (special files) or a read error cut it short.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<Sha256>,
    /// Bytes read and hashed.
    pub bytes_hashed: u64,
    /// The copy in the archive.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub archive_member: Option<String>,
    pub copied: bool,
    pub copied_bytes: u64,
    /// The copy stopped at the per-file cap or at the collector's total copy budget.
    pub truncated: bool,
    /// Why nothing was copied (total copy budget spent, special file, read failure).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub not_copied_reason: Option<String>,
    /// The interpreter named by a `#!` line.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interpreter: Option<String>,
    /// First line of a script (capped, invalid UTF-8 replaced).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_line: Option<String>,
    /// For a symlink: the target it holds, as written (an absolute target on an offline
    /// root means a path inside the root).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link_target: Option<String>,
    /// What went wrong reading it (it vanished, grew, or a read failed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// For `detected_type = package_tree`: the summary of the tree (its own times, owner and
    /// mode are the directory's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub package_tree: Option<PackageTree>,
}
