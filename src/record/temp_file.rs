//! `temp_scripts` records: one per script, executable or suspicious special file found where
//! attackers stage them.

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
    /// timestamps at all and was kept because it could not be proven old).
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
}
