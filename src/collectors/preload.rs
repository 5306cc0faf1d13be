//! `preload`: shared objects forced into processes — dynamic-linker hijacking (ATT&CK
//! T1574.006), the way Linux rootkits and credential stealers (Jynx, Azazel, Symbiote) load.
//!
//! Where:
//! - `/etc/ld.so.preload` (live host and offline root): every library listed there is loaded
//!   into every dynamically linked program; each entry is a record, the file is copied and
//!   each listed library that exists is copied too (hashed);
//! - live hosts only, through the source's `LiveHost` side: `LD_PRELOAD`, `LD_LIBRARY_PATH`
//!   and `LD_AUDIT` in each process's environment (only those variables are ever read out of
//!   an environment: the rest holds secrets), and the shared objects a process has mapped
//!   from a user-writable place (`/tmp`, `/var/tmp`, `/dev/shm`, `/run/user`, homes, hidden
//!   dot-directories), from `/proc/<pid>/maps`, deleted ones included.
//!
//! What we record (`records/preload.jsonl`, see `crate::record::PreloadRecord`): one record
//! per library or path entry, with the process (pid, name, image, user) where there is one.
//!
//! Reference: ld.so(8) ("/etc/ld.so.preload", "LD_PRELOAD", "LD_AUDIT"); proc(5)
//! (`/proc/<pid>/environ`, `/proc/<pid>/maps`); ATT&CK T1574.006.

use super::{CollectError, Collector, Context};
use crate::record::{PreloadRecord, PreloadSource, ProcessRecord, Record};
use crate::sink::{FileRequest, Sink};
use crate::source::{FileSource, OsFamily, SourceError};
use crate::units::ByteSize;
use serde::Deserialize;
use std::io::Read;
use std::path::Path;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PreloadOptions {
    /// Read `/etc/ld.so.preload` and copy the libraries it lists.
    pub ld_so_preload: bool,
    /// Live hosts: `LD_PRELOAD`, `LD_LIBRARY_PATH`, `LD_AUDIT` of each process.
    pub process_environment: bool,
    /// Live hosts: shared objects mapped from user-writable places.
    pub mapped_objects: bool,
    /// Libraries named by `/etc/ld.so.preload` are copied up to this size.
    pub max_library_copy: ByteSize,
}

impl Default for PreloadOptions {
    fn default() -> Self {
        PreloadOptions {
            ld_so_preload: true,
            process_environment: true,
            mapped_objects: true,
            max_library_copy: ByteSize(64 << 20),
        }
    }
}

pub struct Preload {
    opts: PreloadOptions,
}

impl Preload {
    pub fn new(opts: PreloadOptions) -> Preload {
        Preload { opts }
    }
}

const PRELOAD_FILE: &str = "/etc/ld.so.preload";
const ENV_VARS: &[&str] = &["LD_PRELOAD", "LD_LIBRARY_PATH", "LD_AUDIT"];

/// A place any user (or the user who owns it) can write: where a planted library lives.
pub fn user_writable(path: &str) -> bool {
    let p = path.trim_end_matches(" (deleted)");
    let prefixes = [
        "/tmp/",
        "/var/tmp/",
        "/dev/shm/",
        "/run/shm/",
        "/run/user/",
        "/home/",
        "/root/",
        "/var/www/",
    ];
    prefixes.iter().any(|x| p.starts_with(x))
        || p.split('/')
            .any(|c| c.len() > 1 && c.starts_with('.') && c != "..")
}

/// Entries of `/etc/ld.so.preload`: separated by whitespace or `:`, `#` comments.
fn preload_entries(text: &str) -> Vec<(u64, String)> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("");
        for e in line
            .split(|c: char| c == ':' || c.is_whitespace() || c.is_control())
            .filter(|e| !e.is_empty())
        {
            out.push((i as u64 + 1, e.to_string()));
        }
    }
    out
}

impl Collector for Preload {
    fn not_applicable(&self, fs: &dyn FileSource) -> Option<String> {
        (fs.os() == OsFamily::Windows).then(|| "Windows evidence: no ld.so preloading".into())
    }

    fn collect(&self, ctx: &Context, out: &mut dyn Sink) -> Result<(), CollectError> {
        if self.opts.ld_so_preload {
            self.preload_file(ctx, out)?;
        }
        if !(self.opts.process_environment || self.opts.mapped_objects) {
            return Ok(());
        }
        let Ok(live) = ctx.live() else {
            return Ok(());
        };
        let procs: Vec<ProcessRecord> = match ctx.shared.processes.get() {
            Some(p) => p.clone(),
            None => match live.processes() {
                Ok(p) => p,
                Err(e) => {
                    out.error(format!("process list: {e}"));
                    return Ok(());
                }
            },
        };
        let mut unsupported = false;
        for p in procs.iter().filter(|p| !p.kernel_thread && !p.is_irsnap) {
            if ctx.cancel.should_stop().is_some() {
                break;
            }
            let base = |source, path: String, value: Option<String>| PreloadRecord {
                source,
                user_writable: user_writable(&path),
                deleted: path.ends_with(" (deleted)"),
                path: path.trim_end_matches(" (deleted)").to_string(),
                exists: None,
                sha256: None,
                value,
                line_number: None,
                pid: Some(p.pid),
                process_name: Some(p.name.clone()),
                image: p.image_path.clone(),
                user: p.user.clone(),
                source_path: String::new(),
                source_member: None,
                timestamp: p.start_time,
            };
            if self.opts.process_environment {
                match live.process_env_vars(p.pid, ENV_VARS) {
                    Ok(vars) => {
                        for (name, value) in vars {
                            let source = match name.as_str() {
                                "LD_PRELOAD" => PreloadSource::EnvLdPreload,
                                "LD_AUDIT" => PreloadSource::EnvLdAudit,
                                _ => PreloadSource::EnvLdLibraryPath,
                            };
                            for entry in value.split([':', ' ']).filter(|e| !e.is_empty()) {
                                let mut r = base(source, entry.to_string(), Some(value.clone()));
                                r.source_path = format!("/proc/{}/environ", p.pid);
                                out.record(Record::Preload(r))?;
                            }
                        }
                    }
                    Err(SourceError::Unsupported { .. }) => unsupported = true,
                    // Gone, or another user's process without rights: not evidence lost.
                    Err(_) => {}
                }
            }
            if self.opts.mapped_objects {
                match live.process_mapped_files(p.pid) {
                    Ok(files) => {
                        for f in files.into_iter().filter(|f| user_writable(f)) {
                            let mut r = base(PreloadSource::MappedObject, f, None);
                            r.source_path = format!("/proc/{}/maps", p.pid);
                            out.record(Record::Preload(r))?;
                        }
                    }
                    Err(SourceError::Unsupported { .. }) => unsupported = true,
                    Err(_) => {}
                }
            }
            if unsupported {
                out.warn("process environments and maps are not readable on this OS".into());
                break;
            }
        }
        Ok(())
    }
}

impl Preload {
    fn preload_file(&self, ctx: &Context, out: &mut dyn Sink) -> Result<(), CollectError> {
        let logical = Path::new(PRELOAD_FILE);
        let display = ctx.fs.display_path(logical);
        let mut opened = match ctx.fs.open(logical) {
            Ok(f) => f,
            Err(e) if e.is_not_found() => return Ok(()),
            Err(e) => {
                out.error(format!("{display}: {e}"));
                return Ok(());
            }
        };
        let req = FileRequest {
            display: display.clone(),
            logical,
            meta: &opened.meta,
            copy: true,
            copy_cap: 1 << 20,
            keep: 1 << 20,
            member_name: None,
            keep_tail: false,
        };
        let o = out.file(&req, &mut opened.file)?;
        let text = String::from_utf8_lossy(&o.kept).into_owned();
        for (line, entry) in preload_entries(&text) {
            let lib = Path::new(&entry);
            let (exists, sha256) = if entry.starts_with('/') {
                self.copy_library(ctx, out, lib)?
            } else {
                (None, None)
            };
            let r = PreloadRecord {
                source: PreloadSource::LdSoPreload,
                user_writable: user_writable(&entry),
                path: entry,
                exists,
                sha256,
                deleted: false,
                value: None,
                line_number: Some(line),
                pid: None,
                process_name: None,
                image: None,
                user: None,
                source_path: display.clone(),
                source_member: o.member.clone(),
                timestamp: opened.meta.mtime,
            };
            out.record(Record::Preload(r))?;
        }
        Ok(())
    }

    /// Copy (and hash) a library `ld.so.preload` names: (exists, its hash).
    fn copy_library(
        &self,
        ctx: &Context,
        out: &mut dyn Sink,
        lib: &Path,
    ) -> Result<(Option<bool>, Option<crate::record::Sha256>), CollectError> {
        let mut f = match ctx.fs.open(lib) {
            Ok(f) => f,
            Err(e) if e.is_not_found() => return Ok((Some(false), None)),
            Err(e) => {
                out.warn(format!("{}: {e}", ctx.fs.display_path(lib)));
                return Ok((None, None));
            }
        };
        let req = FileRequest {
            display: ctx.fs.display_path(lib),
            logical: lib,
            meta: &f.meta,
            copy: true,
            copy_cap: self.opts.max_library_copy.0,
            keep: 0,
            member_name: None,
            keep_tail: false,
        };
        let reader: &mut dyn Read = &mut f.file;
        let o = out.file(&req, reader)?;
        Ok((Some(true), o.sha256))
    }
}

#[cfg(all(test, unix))]
#[allow(clippy::disallowed_methods)]
mod tests {
    use super::*;
    use crate::collectors::{Cancel, Shared};
    use crate::sink::MemorySink;
    use crate::source::RootSource;

    #[test]
    fn ld_so_preload_entries_are_records_and_libraries_are_copied() {
        let d = tempfile::tempdir().unwrap();
        let r = d.path();
        std::fs::create_dir_all(r.join("etc")).unwrap();
        std::fs::create_dir_all(r.join("dev/shm")).unwrap();
        std::fs::write(
            r.join("etc/ld.so.preload"),
            "# comment\n/dev/shm/.x/libhide.so /usr/lib/libgood.so\r\n\0\n",
        )
        .unwrap();
        std::fs::create_dir_all(r.join("dev/shm/.x")).unwrap();
        std::fs::write(r.join("dev/shm/.x/libhide.so"), b"\x7fELF").unwrap();
        let src = RootSource::new(r.to_path_buf(), None).unwrap();
        let (cancel, shared) = (Cancel::default(), Shared::default());
        let ctx = Context::new(&src, &cancel, &shared);
        let mut sink = MemorySink::default();
        Preload::new(PreloadOptions::default())
            .collect(&ctx, &mut sink)
            .unwrap();
        let recs: Vec<&PreloadRecord> = sink
            .records
            .iter()
            .filter_map(|r| match r {
                Record::Preload(p) => Some(p),
                _ => None,
            })
            .collect();
        assert_eq!(recs.len(), 2, "{recs:?}");
        assert_eq!(recs[0].path, "/dev/shm/.x/libhide.so");
        assert!(recs[0].user_writable);
        assert_eq!(recs[0].exists, Some(true));
        assert!(recs[0].sha256.is_some());
        assert_eq!(recs[1].exists, Some(false));
        assert!(!recs[1].user_writable);
        assert_eq!(sink.files.len(), 2);
    }

    #[test]
    fn user_writable_places() {
        assert!(user_writable("/tmp/x.so"));
        assert!(user_writable("/dev/shm/x.so (deleted)"));
        assert!(user_writable("/home/a/lib.so"));
        assert!(user_writable("/opt/.hidden/lib.so"));
        assert!(!user_writable("/usr/lib/x86_64-linux-gnu/libc.so.6"));
        assert!(!user_writable("/lib/../lib/x.so"));
    }
}
