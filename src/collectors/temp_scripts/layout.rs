//! What each kind of package or build tree looks like: how one is recognised, where its tops
//! are and what its layout puts there, which of its files are hooks, which are script-like.
//!
//! A tree is recognised when the walk lists a directory (never a place itself: a
//! `pyvenv.cfg` dropped into `/tmp` must not hide `/tmp`), from its name and its entry names:
//! `node_modules`, `__pycache__`, `site-packages`/`dist-packages` by name; `.git` with `HEAD`
//! and `objects`; `target` with `CACHEDIR.TAG` or `debug`/`release` holding `.fingerprint` or
//! `deps`; `mod` with `cache/download` (Go); `.m2` with `repository`; any directory with a
//! `pyvenv.cfg`, or `lib/pythonX.Y/site-packages` (or `Lib/site-packages`) beside `bin`,
//! `Scripts`, `include` or `conda-meta`.

use super::{Run, detect};
use crate::collectors::walk::Found;
use crate::record::TreeKind;
use crate::source::{FileType, OsFamily};
use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};

/// The kind of tree `dir` is, from its name and its first entry names (sorted).
pub(super) fn detect_tree(run: &Run, dir: &Path, names: &[OsString]) -> Option<TreeKind> {
    let same = |a: &OsStr, b: &str| run.same_name(a, b);
    let has = |marker: &str| names.iter().any(|n| same(n, marker));
    let is_dir = |p: PathBuf| {
        run.ctx
            .fs
            .metadata(&p)
            .is_ok_and(|m| m.file_type == FileType::Directory)
    };
    let name = dir.file_name()?;
    if same(name, "node_modules") {
        return Some(TreeKind::NodeModules);
    }
    if same(name, "__pycache__") {
        return Some(TreeKind::Pycache);
    }
    if same(name, "site-packages") || same(name, "dist-packages") {
        return Some(TreeKind::PythonPackages);
    }
    if same(name, ".git") && has("HEAD") && has("objects") {
        return Some(TreeKind::Git);
    }
    if same(name, "target") {
        let profile_dir = |p: &str| {
            has(p) && (is_dir(dir.join(p).join(".fingerprint")) || is_dir(dir.join(p).join("deps")))
        };
        if has("CACHEDIR.TAG") || profile_dir("debug") || profile_dir("release") {
            return Some(TreeKind::CargoTarget);
        }
    }
    if same(name, "mod") && has("cache") && is_dir(dir.join("cache").join("download")) {
        return Some(TreeKind::GoModCache);
    }
    if same(name, ".m2") && has("repository") {
        return Some(TreeKind::MavenRepository);
    }
    if has("pyvenv.cfg") {
        return Some(TreeKind::PythonVenv);
    }
    let env_beside = has("bin") || has("Scripts") || has("include") || has("conda-meta");
    if env_beside && (has("lib") || has("Lib")) && has_site_packages(run, dir) {
        return Some(TreeKind::PythonVenv);
    }
    None
}

/// `lib/python*/site-packages` or `Lib/site-packages` below `dir`.
fn has_site_packages(run: &Run, dir: &Path) -> bool {
    let fs = run.ctx.fs;
    let is_dir = |p: &Path| {
        fs.metadata(p)
            .is_ok_and(|m| m.file_type == FileType::Directory)
    };
    if is_dir(&dir.join("Lib").join("site-packages")) {
        return true;
    }
    let lib = dir.join("lib");
    let Ok(listing) = fs.list_dir(&lib) else {
        return false;
    };
    // A lib directory of a venv holds one or two entries; a few dozen are looked at at most.
    listing
        .take(64)
        .filter(|n| n.to_string_lossy().starts_with("python"))
        .any(|n| is_dir(&lib.join(n).join("site-packages")))
}

impl Run<'_, '_> {
    /// A name comparison in the evidence's own terms (case-insensitive on Windows).
    pub(super) fn same_name(&self, a: &OsStr, b: &str) -> bool {
        if self.ctx.fs.os() == OsFamily::Windows {
            a.to_str().is_some_and(|a| a.eq_ignore_ascii_case(b))
        } else {
            a == b
        }
    }

    /// `.git/hooks/<name>` not named `*.sample`: git runs it.
    pub(super) fn is_active_hook(&self, rel: &[&OsStr]) -> bool {
        rel.len() >= 2
            && self.same_name(rel[0], "hooks")
            && !rel
                .last()
                .is_some_and(|n| n.to_string_lossy().ends_with(".sample"))
    }

    /// When `rel` (a path inside a `kind` tree) is directly in one of the tree's tops, the
    /// extensions its layout puts there.
    pub(super) fn top_of(&self, kind: TreeKind, rel: &[&OsStr]) -> Option<&'static [&'static str]> {
        const PYTHON: &[&str] = &["py", "pyc", "pyi", "pyd", "so", "pth"];
        let same = |a: &OsStr, b: &str| self.same_name(a, b);
        let packages = |c: &OsStr| same(c, "site-packages") || same(c, "dist-packages");
        match (kind, rel) {
            (TreeKind::PythonPackages, [_]) => Some(PYTHON),
            (TreeKind::Pycache, [_]) => Some(&["pyc"]),
            (TreeKind::PythonVenv, [_]) => Some(&["cfg"]),
            // The venv's own site-packages: lib/python3.11/site-packages/x, Lib/site-packages/x.
            (TreeKind::PythonVenv, [lib, py, sp, _])
                if (same(lib, "lib") || same(lib, "lib64"))
                    && py.to_string_lossy().starts_with("python")
                    && packages(sp) =>
            {
                Some(PYTHON)
            }
            (TreeKind::PythonVenv, [lib, sp, _]) if same(lib, "Lib") && packages(sp) => {
                Some(PYTHON)
            }
            (_, [_]) => Some(&[]),
            _ => None,
        }
    }

    /// A file the change-time rule looks at: a regular file named like a script or an
    /// executable, or with an execute bit. In a Cargo `target/` new executables are the
    /// layout (every build writes them), so there only script extensions count.
    pub(super) fn scripty(&self, kind: TreeKind, f: &Found) -> bool {
        if f.meta.file_type != FileType::Regular {
            return false;
        }
        let ext = super::places::extension_of(&f.name);
        if kind == TreeKind::CargoTarget {
            return ext
                .as_deref()
                .and_then(detect::type_for_extension)
                .is_some_and(|t| detect::is_script(t) && self.by_ext(ext.as_deref()));
        }
        self.by_ext(ext.as_deref()) || self.executable(&f.meta)
    }
}
