//! `processes`: the live process snapshot, as a tree.
//!
//! Linux: `/proc/<pid>/{stat,status,cmdline,exe,cwd}`; Windows: the process list through
//! sysinfo. Each record carries its ancestry (so a reader needs no join) and the SHA-256 of
//! its image, hashed through the process's own handle (`/proc/<pid>/exe`), which still
//! reaches images that were deleted or live only in memory; those are also copied, since
//! they exist nowhere else. Hashes are cached per file identity (device, inode, size, mtime).
//! Live only. Reference: proc(5).

use super::{CollectError, Collector, Context};
use crate::record::{Ancestor, HashStatus, ImageKind, ProcessRecord, Record, Sha256};
use crate::sink::{FileRequest, Sink};
use crate::source::SourceError;
use crate::units::ByteSize;
use serde::Deserialize;
use std::collections::{HashMap, HashSet};
use std::path::PathBuf;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ProcessOptions {
    /// Hash every process image.
    pub hash_images: bool,
    /// Images larger than this are not hashed (the record says `too_large`).
    pub max_image_hash_size: ByteSize,
    /// Copy images that exist nowhere else: deleted files and memfd (fileless) images.
    pub copy_unbacked_images: bool,
    pub max_image_copy_size: ByteSize,
}

impl Default for ProcessOptions {
    fn default() -> Self {
        ProcessOptions {
            hash_images: true,
            max_image_hash_size: ByteSize(256 << 20),
            copy_unbacked_images: true,
            max_image_copy_size: ByteSize(64 << 20),
        }
    }
}

pub struct Processes {
    opts: ProcessOptions,
}

impl Processes {
    pub fn new(opts: ProcessOptions) -> Processes {
        Processes { opts }
    }
}

/// Depth limit for ancestry chains: pid reuse can make a parent pointer cycle.
const MAX_ANCESTRY: usize = 128;

pub fn fill_ancestry(procs: &mut [ProcessRecord]) {
    let index: HashMap<u32, (Option<u32>, String, Option<String>)> = procs
        .iter()
        .map(|p| (p.pid, (p.ppid, p.name.clone(), p.image_path.clone())))
        .collect();
    for p in procs.iter_mut() {
        let mut chain = Vec::new();
        let mut seen = HashSet::from([p.pid]);
        let mut next = p.ppid;
        while let Some(pid) = next {
            if pid == 0 || !seen.insert(pid) || chain.len() >= MAX_ANCESTRY {
                break;
            }
            let Some((ppid, name, image)) = index.get(&pid) else {
                break;
            };
            chain.push(Ancestor {
                pid,
                name: name.clone(),
                image_path: image.clone(),
            });
            next = *ppid;
        }
        p.ancestry = chain;
    }
}

/// File identity used to hash each distinct image once.
type ImageKey = (Option<u64>, Option<u64>, u64, Option<i64>);

#[derive(Clone)]
struct Hashed {
    sha256: Option<Sha256>,
    size: u64,
    status: HashStatus,
    error: Option<String>,
    copy: Option<String>,
}

impl Processes {
    fn hash_image(
        &self,
        ctx: &Context,
        out: &mut dyn Sink,
        p: &ProcessRecord,
        cache: &mut HashMap<ImageKey, Hashed>,
    ) -> Option<Hashed> {
        let opened = match ctx.live().and_then(|l| l.open_process_image(p)) {
            Ok(f) => f,
            // Exec or pid reuse since the snapshot: another program; said, not hashed.
            Err(e @ SourceError::ImageChanged { .. }) => {
                out.warn(format!("{e} ({})", p.name));
                return Some(Hashed {
                    sha256: None,
                    size: 0,
                    status: HashStatus::Changed,
                    error: Some(e.to_string()),
                    copy: None,
                });
            }
            Err(e) => {
                let msg = format!("pid {} ({}): image not hashed: {e}", p.pid, p.name);
                if e.is_not_found() {
                    out.warn(format!("{msg} (process ended)"));
                } else {
                    out.error(msg);
                }
                return Some(Hashed {
                    sha256: None,
                    size: 0,
                    status: HashStatus::Unreadable,
                    error: Some(e.to_string()),
                    copy: None,
                });
            }
        };
        let meta = opened.meta.clone();
        let key: ImageKey = (
            meta.dev,
            meta.inode,
            meta.size,
            meta.mtime.map(|t| t.timestamp_nanos_opt().unwrap_or(0)),
        );
        if let Some(h) = cache.get(&key) {
            return Some(h.clone());
        }
        if meta.size > self.opts.max_image_hash_size.0 {
            let h = Hashed {
                sha256: None,
                size: meta.size,
                status: HashStatus::TooLarge,
                error: None,
                copy: None,
            };
            cache.insert(key, h.clone());
            return Some(h);
        }
        let unbacked = matches!(p.image_kind, ImageKind::Deleted | ImageKind::Memfd);
        let copy = unbacked && self.opts.copy_unbacked_images;
        let logical = PathBuf::from(format!("/proc/{}/exe", p.pid));
        let req = FileRequest {
            display: p
                .image_path
                .clone()
                .unwrap_or_else(|| logical.display().to_string()),
            logical: &logical,
            meta: &meta,
            copy,
            copy_cap: self.opts.max_image_copy_size.0,
            keep: 0,
            member_name: copy.then(|| format!("files/proc/{}/exe", p.pid)),
            keep_tail: false,
        };
        let mut file = opened.file;
        let mut h = match out.file(&req, &mut file) {
            Ok(o) => Hashed {
                sha256: o.sha256,
                size: o.bytes_read,
                status: if o.sha256.is_some() {
                    HashStatus::Hashed
                } else {
                    HashStatus::Unreadable
                },
                error: o.read_error,
                copy: o.member,
            },
            Err(e) => {
                out.error(format!("pid {}: writing image copy failed: {e}", p.pid));
                return None;
            }
        };
        // The file hashed is the one the snapshot saw (checked at open); the process must
        // still be the one too, or the record's other fields belong to something else.
        cache.insert(key, h.clone());
        if let Err(why) = ctx
            .live()
            .map_err(|e| e.to_string())
            .and_then(|l| l.process_unchanged(p))
        {
            out.warn(format!(
                "pid {} ({}): image hash dropped: {why}",
                p.pid, p.name
            ));
            h.sha256 = None;
            h.status = HashStatus::Changed;
            h.error = Some(why);
        }
        Some(h)
    }
}

impl Collector for Processes {
    fn collect(&self, ctx: &Context, out: &mut dyn Sink) -> Result<(), CollectError> {
        let mut procs = ctx.live()?.processes()?;
        fill_ancestry(&mut procs);
        let mut cache: HashMap<ImageKey, Hashed> = HashMap::new();
        let mut stopped = false;
        for p in procs.iter_mut() {
            if p.kernel_thread || p.image_kind == ImageKind::None {
                p.image_hash_status = HashStatus::NotApplicable;
                continue;
            }
            if !self.opts.hash_images {
                p.image_hash_status = HashStatus::Disabled;
                continue;
            }
            if stopped || ctx.cancel.should_stop().is_some() {
                // Cut short: the record stays, without its hash.
                stopped = true;
                p.image_hash_status = HashStatus::Disabled;
                p.notes.push("image not hashed: run was cut short".into());
                continue;
            }
            if let Some(h) = self.hash_image(ctx, out, p, &mut cache) {
                p.image_sha256 = h.sha256;
                p.image_size = Some(h.size).filter(|s| *s > 0);
                p.image_hash_status = h.status;
                p.image_hash_error = h.error;
                p.image_copy = h.copy;
            }
        }
        for p in &procs {
            out.record(Record::Process(p.clone()))?;
        }
        // Network and detection join on this snapshot; set once per run.
        let _ = ctx.shared.processes.set(procs);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::record::ImageKind;

    fn proc(pid: u32, ppid: Option<u32>, name: &str) -> ProcessRecord {
        ProcessRecord {
            pid,
            ppid,
            name: name.into(),
            image_path: None,
            image_kind: ImageKind::Unknown,
            argv: vec![],
            argv_raw_b64: None,
            command_line: String::new(),
            cwd: None,
            uid: None,
            user: None,
            user_sid: None,
            start_time: None,
            state: None,
            kernel_thread: false,
            image_sha256: None,
            image_size: None,
            image_hash_status: HashStatus::NotApplicable,
            image_hash_error: None,
            image_copy: None,
            witness: None,
            ancestry: vec![],
            notes: vec![],
            is_irsnap: false,
        }
    }

    #[test]
    fn ancestry_chains_and_cycles() {
        let mut ps = vec![
            proc(1, Some(0), "init"),
            proc(10, Some(1), "sshd"),
            proc(20, Some(10), "bash"),
            proc(30, Some(31), "a"),
            proc(31, Some(30), "b"),
        ];
        fill_ancestry(&mut ps);
        let bash = &ps[2];
        let names: Vec<&str> = bash.ancestry.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(names, ["sshd", "init"]);
        assert_eq!(ps[3].ancestry.len(), 1);
        assert!(ps[0].ancestry.is_empty());
    }
}
