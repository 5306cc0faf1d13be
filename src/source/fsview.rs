//! Path resolution that never leaves its scope. Used by both the live host (scope `/`) and
//! offline roots (scope = the root folder), so both follow exactly the same rules:
//! `..` stops at the scope's top, absolute symlinks restart at the scope's top, at most
//! [`MAX_LINK_HOPS`] symlinks per lookup (cycles end there), and optional case-insensitive
//! matching for Windows roots (a mounted NTFS may show any case).

use super::{DirEntry, DirListing, FileMeta, FileType, OpenedFile, SourceError, os};
use std::collections::{HashMap, VecDeque};
use std::ffi::{OsStr, OsString};
use std::path::{Component, Path, PathBuf};

/// Linux's own limit (MAXSYMLINKS) on links followed during one lookup.
pub const MAX_LINK_HOPS: usize = 40;

#[derive(Debug, Clone)]
pub struct FsView {
    /// Host path of the scope's top.
    root: PathBuf,
    case_insensitive: bool,
    /// uid -> account name *of the evidence* (its /etc/passwd), not of the analyst's machine.
    owners: HashMap<u32, String>,
    /// Files and directories opened without `O_NOATIME` (the kernel refuses it to a
    /// non-owner without CAP_FOWNER): their access times may have changed.
    atime_unprotected: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl FsView {
    pub fn new(root: PathBuf, case_insensitive: bool) -> FsView {
        FsView {
            root,
            case_insensitive,
            owners: HashMap::new(),
            atime_unprotected: Default::default(),
        }
    }

    /// How many files and directories were opened without protecting their access time.
    pub fn atime_unprotected(&self) -> u64 {
        self.atime_unprotected
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    fn count_atime(&self, protected: bool) {
        if !protected {
            self.atime_unprotected
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
    }

    /// A directory's names, read without changing its access time where the OS allows.
    fn names(&self, host: &Path) -> std::io::Result<os::DirNames> {
        let (names, protected) = os::read_dir_names(host)?;
        self.count_atime(protected);
        Ok(names)
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn set_owners(&mut self, owners: HashMap<u32, String>) {
        self.owners = owners;
    }

    pub fn owner_name(&self, uid: u32) -> Option<&str> {
        self.owners.get(&uid).map(String::as_str)
    }

    fn host_path(&self, comps: &[OsString]) -> PathBuf {
        let mut p = self.root.clone();
        for c in comps {
            p.push(c);
        }
        p
    }

    /// Resolve a logical path to a host path inside the scope. With `follow_last` false the
    /// last component is returned as is (for lstat and for refusing symlinks).
    pub fn resolve(&self, logical: &Path, follow_last: bool) -> Result<PathBuf, SourceError> {
        let mut pending: VecDeque<OsString> = components(logical).into();
        let mut done: Vec<OsString> = Vec::new();
        let mut hops = 0usize;
        while let Some(comp) = pending.pop_front() {
            if comp == ".." {
                done.pop();
                continue;
            }
            let is_last = pending.is_empty();
            let mut candidate = done.clone();
            candidate.push(comp.clone());
            let mut host = self.host_path(&candidate);
            let meta = match std::fs::symlink_metadata(&host) {
                Ok(m) => Some(m),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound && self.case_insensitive => {
                    match self.find_case_insensitive(&done, &comp) {
                        Some(real) => {
                            candidate.pop();
                            candidate.push(real);
                            host = self.host_path(&candidate);
                            std::fs::symlink_metadata(&host).ok()
                        }
                        None => None,
                    }
                }
                Err(_) => None,
            };
            let is_link = meta.as_ref().is_some_and(|m| m.file_type().is_symlink());
            if is_link && (!is_last || follow_last) {
                hops += 1;
                if hops > MAX_LINK_HOPS {
                    return Err(SourceError::SymlinkOutOfScope {
                        path: logical.display().to_string(),
                    });
                }
                let target = std::fs::read_link(&host)
                    .map_err(|e| SourceError::io(host.display().to_string(), e))?;
                let target_comps = components(&target);
                for c in target_comps.into_iter().rev() {
                    pending.push_front(c);
                }
                if target.has_root() {
                    done.clear();
                }
                continue;
            }
            done = candidate;
        }
        Ok(self.host_path(&done))
    }

    fn find_case_insensitive(&self, dir: &[OsString], name: &OsStr) -> Option<OsString> {
        let wanted = name.to_str()?.to_lowercase();
        let mut names = self.names(&self.host_path(dir)).ok()?;
        names
            .by_ref()
            .filter_map(Result::ok)
            .find(|n| n.to_str().is_some_and(|s| s.to_lowercase() == wanted))
    }

    pub fn metadata(&self, logical: &Path) -> Result<FileMeta, SourceError> {
        let host = self.resolve(logical, false)?;
        let m = std::fs::symlink_metadata(&host)
            .map_err(|e| SourceError::io(logical.display().to_string(), e))?;
        Ok(self.meta(&m))
    }

    pub fn meta(&self, m: &std::fs::Metadata) -> FileMeta {
        let mut meta = os::file_meta(m);
        if let Some(uid) = meta.uid {
            meta.owner = self.owner_name(uid).map(str::to_string);
        }
        meta
    }

    pub fn read_dir(&self, logical: &Path) -> Result<Vec<DirEntry>, SourceError> {
        let host = self.resolve(logical, true)?;
        let names = self
            .names(&host)
            .map_err(|e| SourceError::io(logical.display().to_string(), e))?;
        let mut out = Vec::new();
        for name in names {
            let name = match name {
                Ok(n) => n,
                // An entry that cannot be read: skip it, the walk goes on.
                Err(_) => continue,
            };
            let meta = std::fs::symlink_metadata(host.join(&name))
                .map(|m| self.meta(&m))
                .map_err(|e| e.to_string());
            out.push(DirEntry {
                path: logical.join(&name),
                name,
                meta,
            });
        }
        Ok(out)
    }

    /// The names of a directory, streamed from the open directory handle: nothing of the
    /// listing is held here, and no entry is stat'ed (see [`FsView::entry_metadata`]).
    pub fn list_dir(&self, logical: &Path) -> Result<DirListing, SourceError> {
        let host = self.resolve(logical, true)?;
        let names = self
            .names(&host)
            .map_err(|e| SourceError::io(logical.display().to_string(), e))?;
        // An entry that fails to read is skipped, as in `read_dir`: the walk goes on.
        let names = names.filter_map(Result::ok);
        Ok(DirListing {
            dir: logical.to_path_buf(),
            names: Box::new(names),
            resolved: Some(host),
        })
    }

    /// `lstat` of one entry of a listing: the directory's resolved host path joined with the
    /// name, exactly what `read_dir` stats, so the scope rules are the same (the entry is
    /// never followed; the directory was resolved in scope when it was listed).
    pub fn entry_metadata(
        &self,
        listing: &DirListing,
        name: &OsStr,
    ) -> Result<FileMeta, SourceError> {
        let logical = listing.dir.join(name);
        let Some(host) = &listing.resolved else {
            return self.metadata(&logical);
        };
        let m = std::fs::symlink_metadata(host.join(name))
            .map_err(|e| SourceError::io(logical.display().to_string(), e))?;
        Ok(self.meta(&m))
    }

    /// The target stored in a symlink; the link itself is not followed.
    pub fn read_link(&self, logical: &Path) -> Result<PathBuf, SourceError> {
        let host = self.resolve(logical, false)?;
        std::fs::read_link(&host).map_err(|e| SourceError::io(logical.display().to_string(), e))
    }

    pub fn open(&self, logical: &Path) -> Result<OpenedFile, SourceError> {
        let shown = logical.display().to_string();
        let host = self.resolve(logical, true)?;
        self.open_host(&host, &shown)
    }

    /// Open a host path that was already resolved in scope (or a kernel magic link such as
    /// `/proc/<pid>/exe`, which must be followed by the kernel itself).
    pub fn open_host(&self, host: &Path, shown: &str) -> Result<OpenedFile, SourceError> {
        // Refuse anything but a regular file *before* opening it: opening a FIFO can block
        // and opening a device can have side effects (tape rewind, serial line control).
        let pre = std::fs::metadata(host).map_err(|e| SourceError::io(shown, e))?;
        let pre = self.meta(&pre);
        if pre.file_type != FileType::Regular {
            return Err(SourceError::NotRegular {
                path: shown.to_string(),
                file_type: pre.file_type,
            });
        }
        let (file, protected) = os::open_evidence(host).map_err(|e| SourceError::io(shown, e))?;
        self.count_atime(protected);
        let m = file.metadata().map_err(|e| SourceError::io(shown, e))?;
        let meta = self.meta(&m);
        // The path may have been swapped between the check and the open.
        if meta.file_type != FileType::Regular {
            return Err(SourceError::NotRegular {
                path: shown.to_string(),
                file_type: meta.file_type,
            });
        }
        Ok(OpenedFile::new(file, meta))
    }
}

/// Logical components, ignoring the root, `.` and prefixes; `..` is kept for the resolver.
fn components(p: &Path) -> Vec<OsString> {
    p.components()
        .filter_map(|c| match c {
            Component::Normal(s) => Some(s.to_os_string()),
            Component::ParentDir => Some(OsString::from("..")),
            _ => None,
        })
        .collect()
}

#[cfg(all(test, unix))]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    #[test]
    fn absolute_symlink_stays_in_root() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path();
        std::fs::create_dir_all(root.join("etc")).unwrap();
        std::fs::write(root.join("etc/shadow"), b"inside").unwrap();
        std::fs::create_dir_all(root.join("tmp")).unwrap();
        symlink("/etc/shadow", root.join("tmp/link")).unwrap();
        let v = FsView::new(root.to_path_buf(), false);
        let resolved = v.resolve(Path::new("/tmp/link"), true).unwrap();
        assert_eq!(resolved, root.join("etc/shadow"));
        assert_eq!(
            v.read_link(Path::new("/tmp/link")).unwrap(),
            Path::new("/etc/shadow")
        );
        let mut f = v.open(Path::new("/tmp/link")).unwrap();
        let mut s = String::new();
        std::io::Read::read_to_string(&mut f.file, &mut s).unwrap();
        assert_eq!(s, "inside");
    }

    #[test]
    fn dotdot_cannot_escape_and_loops_end() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path();
        std::fs::create_dir_all(root.join("a")).unwrap();
        symlink("../../../../..", root.join("a/up")).unwrap();
        symlink("loop2", root.join("a/loop1")).unwrap();
        symlink("loop1", root.join("a/loop2")).unwrap();
        let v = FsView::new(root.to_path_buf(), false);
        assert_eq!(v.resolve(Path::new("/a/up"), true).unwrap(), root);
        assert!(matches!(
            v.resolve(Path::new("/a/loop1"), true),
            Err(SourceError::SymlinkOutOfScope { .. })
        ));
        assert_eq!(
            v.resolve(Path::new("/../../x"), true).unwrap(),
            root.join("x")
        );
    }

    #[test]
    fn listing_streams_names_and_stats_entries_unfollowed() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path();
        std::fs::create_dir_all(root.join("etc")).unwrap();
        std::fs::write(root.join("etc/shadow"), b"inside").unwrap();
        std::fs::create_dir_all(root.join("tmp/sub")).unwrap();
        std::fs::write(root.join("tmp/a.sh"), b"x").unwrap();
        symlink("/etc", root.join("tmp/etc")).unwrap();
        // Reached through a symlinked parent: resolved in scope, like every lookup.
        symlink("tmp", root.join("t")).unwrap();
        let v = FsView::new(root.to_path_buf(), false);
        let listing = v.list_dir(Path::new("/t")).unwrap();
        assert_eq!(listing.dir, Path::new("/t"));
        let mut names: Vec<OsString> = v.list_dir(Path::new("/t")).unwrap().collect();
        names.sort();
        assert_eq!(names, ["a.sh", "etc", "sub"]);
        let kind = |n: &str| {
            v.entry_metadata(&listing, OsStr::new(n))
                .map(|m| m.file_type)
        };
        assert_eq!(kind("etc").unwrap(), FileType::Symlink);
        assert_eq!(kind("sub").unwrap(), FileType::Directory);
        assert_eq!(kind("a.sh").unwrap(), FileType::Regular);
        std::fs::remove_file(root.join("tmp/a.sh")).unwrap();
        let gone = v.entry_metadata(&listing, OsStr::new("a.sh")).unwrap_err();
        assert!(gone.is_not_found(), "{gone}");
        // The error names the logical path, never the host's.
        assert!(gone.to_string().starts_with("/t/a.sh:"), "{gone}");
        assert!(
            v.list_dir(Path::new("/missing"))
                .unwrap_err()
                .is_not_found()
        );
    }

    #[test]
    fn case_insensitive_lookup() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(d.path().join("Windows/System32")).unwrap();
        let v = FsView::new(d.path().to_path_buf(), true);
        let p = v.resolve(Path::new("/WINDOWS/system32"), true).unwrap();
        assert_eq!(p, d.path().join("Windows/System32"));
    }

    #[test]
    fn fifo_is_refused_without_blocking() {
        let d = tempfile::tempdir().unwrap();
        let fifo = d.path().join("f");
        let c = std::ffi::CString::new(fifo.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: a valid NUL-terminated path; mkfifo has no other preconditions.
        #[allow(unsafe_code)]
        let rc = unsafe { libc::mkfifo(c.as_ptr(), 0o600) };
        assert_eq!(rc, 0);
        let v = FsView::new(d.path().to_path_buf(), false);
        assert!(matches!(
            v.open(Path::new("/f")),
            Err(SourceError::NotRegular {
                file_type: FileType::Fifo,
                ..
            })
        ));
    }
}
