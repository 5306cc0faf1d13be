//! The foundation: live processes and network in a verifiable archive, exit codes, signals.

use crate::harness::{Archive, RootBuilder, collect, irsnap};
use serde_json::Value;
use sha2::Digest;
use std::io::{Read, Write};
use std::process::{Command, Stdio};

fn sha_hex(data: &[u8]) -> String {
    sha2::Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

const ODD_ARGS: &[&str] = &[
    "héllo wörld ☃",
    "\"double\" 'single' `back`",
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(2)>",
    "=cmd|' /C calc'!A0",
    "",
    "tab\there",
];

#[test]
fn live_snapshot_has_our_child_and_our_socket() {
    // A child with a long, odd argv; `; :` keeps sh from exec'ing sleep in its place.
    let mut child = Command::new("/bin/sh")
        .arg("-c")
        .arg("sleep 30; :")
        .args(ODD_ARGS)
        .spawn()
        .unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();

    let out = tempfile::tempdir().unwrap();
    let (run, archive) = collect(out.path(), &["--case", "T-1", "--examiner", "ci"]);
    child.kill().ok();
    child.wait().ok();
    assert!(
        matches!(run.code, 0 | 2),
        "exit {}: {}",
        run.code,
        run.stderr
    );
    let mut archive = archive.expect("an archive");

    let procs = archive.records("processes");
    let me = std::process::id();
    let rec = procs
        .iter()
        .find(|p| p["pid"] == child.id())
        .expect("child in snapshot");
    let mut want: Vec<Value> = vec!["/bin/sh".into(), "-c".into(), "sleep 30; :".into()];
    want.extend(ODD_ARGS.iter().map(|a| Value::from(*a)));
    assert_eq!(rec["argv"], Value::Array(want));
    assert_eq!(rec["ppid"], me);
    assert_eq!(rec["ancestry"][0]["pid"], me);
    assert!(rec["start_time"].as_str().unwrap().ends_with('Z'));
    assert_eq!(rec["image_hash_status"], "hashed");
    let image = std::fs::read(rec["image_path"].as_str().unwrap()).unwrap();
    assert_eq!(rec["image_sha256"], sha_hex(&image));
    assert!(procs.iter().any(|p| p["pid"] == me));

    let net = archive.records("network");
    let sock = net
        .iter()
        .find(|s| s["local_port"] == port && s["local_address"] == "127.0.0.1")
        .expect("our listener");
    assert_eq!(sock["state"], "listen");
    assert_eq!(sock["owners"][0]["pid"], me);
    assert!(sock.get("remote_address").is_none());
    drop(listener);

    let m = archive.manifest();
    assert_eq!(m["case"]["case_id"], "T-1");
    assert_eq!(m["tool"]["name"], "irsnap");
    assert_eq!(m["source"]["kind"], "live");
    assert!(m["host"]["hostname"].is_string());
    assert_eq!(m["profile"]["name"], "triage");
}

#[test]
fn manifest_hashes_match_and_verify_catches_a_flipped_byte() {
    let out = tempfile::tempdir().unwrap();
    let (run, archive) = collect(out.path(), &[]);
    let mut archive = archive.unwrap_or_else(|| panic!("no archive: {}", run.stderr));
    let m = archive.manifest();
    let members = m["members"].as_array().unwrap();
    assert!(members.len() >= 3);
    let names = archive.names();
    for e in members {
        let path = e["path"].as_str().unwrap();
        let data = archive.member(path);
        assert_eq!(e["sha256"], sha_hex(&data), "{path}");
        assert_eq!(e["size"], data.len() as u64, "{path}");
    }
    // Every member but the manifest itself is listed.
    assert_eq!(names.len(), members.len() + 1);

    let zip_path = archive.path.clone();
    let ok = irsnap(&["verify", zip_path.to_str().unwrap()]);
    assert_eq!(ok.code, 0, "{}", ok.stdout);

    // Rewrite the archive with one byte of one member changed (a valid zip, so only the
    // manifest hash can tell), without the sidecar.
    let tampered = out.path().join("tampered.zip");
    {
        let mut src = zip::ZipArchive::new(std::fs::File::open(&zip_path).unwrap()).unwrap();
        let mut dst = zip::ZipWriter::new(std::fs::File::create(&tampered).unwrap());
        for i in 0..src.len() {
            let mut f = src.by_index(i).unwrap();
            let name = f.name().unwrap().to_string();
            let mut data = Vec::new();
            f.read_to_end(&mut data).unwrap();
            if name == "records/processes.jsonl" {
                data[10] ^= 0x01;
            }
            dst.start_file(name, zip::write::SimpleFileOptions::default())
                .unwrap();
            dst.write_all(&data).unwrap();
        }
        dst.finish().unwrap();
    }
    let bad = irsnap(&["verify", tampered.to_str().unwrap()]);
    assert_eq!(bad.code, 3, "{}", bad.stdout);
    assert!(
        bad.stdout.contains("MISMATCH records/processes.jsonl"),
        "{}",
        bad.stdout
    );

    // Flip one raw byte inside the original file: the sidecar and the zip both notice.
    let mut raw = std::fs::read(&zip_path).unwrap();
    let i = raw.len() / 3;
    raw[i] ^= 0x40;
    std::fs::write(&zip_path, &raw).unwrap();
    let bad = irsnap(&["verify", zip_path.to_str().unwrap()]);
    assert_eq!(bad.code, 3, "{}", bad.stdout);
    assert!(bad.stdout.contains("SIDECAR MISMATCH"), "{}", bad.stdout);
}

#[test]
fn every_single_byte_flip_in_members_is_caught() {
    // Without the sidecar, every flip in a member's stored bytes must still fail verify.
    let out = tempfile::tempdir().unwrap();
    let (_, archive) = collect(out.path(), &["--profile", "volatile"]);
    let zip_path = archive.unwrap().path;
    std::fs::remove_file(format!("{}.sha256", zip_path.display())).unwrap();
    let pristine = std::fs::read(&zip_path).unwrap();
    let mut z = zip::ZipArchive::new(std::io::Cursor::new(pristine.clone())).unwrap();
    let mut ranges = Vec::new();
    for i in 0..z.len() {
        let f = z.by_index_raw(i).unwrap();
        let start = f.data_start().unwrap();
        ranges.push((start, start + f.compressed_size()));
    }
    drop(z);
    for (start, end) in ranges {
        for off in [start, (start + end) / 2, end - 1] {
            let mut raw = pristine.clone();
            raw[off as usize] ^= 0x01;
            std::fs::write(&zip_path, &raw).unwrap();
            let r = irsnap(&["verify", zip_path.to_str().unwrap()]);
            assert_eq!(r.code, 3, "flip at {off} not caught: {}", r.stdout);
        }
    }
}

#[test]
fn exit_codes() {
    assert_eq!(irsnap(&["collect", "--no-such-flag"]).code, 64);
    let out = tempfile::tempdir().unwrap();
    let o = out.path().to_str().unwrap();
    let r = irsnap(&["collect", "-o", o, "--root", "/nonexistent/root"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("/nonexistent/root"));
    // A flag's value that cannot be understood is a usage error (64), like an unknown flag.
    let r = irsnap(&["collect", "-o", o, "--profile", "nosuch"]);
    assert_eq!(r.code, 64);
    assert!(r.stderr.contains("unknown profile"), "{}", r.stderr);
    for bad in [
        ["--since", "fortnight"],
        ["--since", "--7d"],
        ["--deadline", "soon"],
        ["--encrypt-to", "age1notakey"],
    ] {
        let r = irsnap(&["collect", "-o", o, bad[0], bad[1]]);
        assert_eq!(r.code, 64, "{bad:?}: {}", r.stderr);
        assert!(r.stderr.contains(bad[0]), "{bad:?}: {}", r.stderr);
    }
    // An existing file as the output: said plainly, nothing written.
    let afile = out.path().join("afile");
    std::fs::write(&afile, b"").unwrap();
    let r = irsnap(&["collect", "-o", afile.to_str().unwrap()]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("not a directory"), "{}", r.stderr);
    std::fs::remove_file(&afile).unwrap();
    let r = irsnap(&["verify", "/nonexistent.zip"]);
    assert_eq!(r.code, 1);
    let garbage = out.path().join("garbage.zip");
    std::fs::write(&garbage, b"not a zip").unwrap();
    assert_eq!(irsnap(&["verify", garbage.to_str().unwrap()]).code, 3);
    // Nothing was left behind by the refused runs.
    let left: Vec<_> = std::fs::read_dir(out.path()).unwrap().collect();
    assert_eq!(left.len(), 1);
}

#[test]
fn output_inside_the_offline_root_is_refused() {
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(root.path().join("etc")).unwrap();
    let out = root.path().join("out");
    let r = irsnap(&[
        "collect",
        "-o",
        out.to_str().unwrap(),
        "--root",
        root.path().to_str().unwrap(),
    ]);
    assert_eq!(r.code, 1);
    assert!(
        r.stderr.contains("never writes into the evidence"),
        "{}",
        r.stderr
    );
}

#[test]
fn offline_root_skips_live_collectors_and_completes() {
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(root.path().join("etc")).unwrap();
    std::fs::write(root.path().join("etc/hostname"), "imaged-host\n").unwrap();
    let out = tempfile::tempdir().unwrap();
    let (run, archive) = collect(out.path(), &["--root", root.path().to_str().unwrap()]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let mut a = archive.unwrap();
    assert_eq!(a.collector("processes")["status"], "skipped");
    let m = a.manifest();
    assert_eq!(m["source"]["kind"], "offline_root");
    assert_eq!(m["source"]["os"], "linux");
    assert_eq!(m["host"]["hostname"], "imaged-host");
    assert!(
        a.path
            .file_name()
            .unwrap()
            .to_str()
            .unwrap()
            .starts_with("imaged-host_")
    );
}

#[cfg(unix)]
#[test]
fn sigterm_leaves_a_valid_archive_marked_interrupted() {
    // A child whose image is a 4 GiB sparse file keeps the image hashing busy for a while, so
    // the signal lands mid-run.
    let work = tempfile::tempdir().unwrap();
    let big = work.path().join("bigsleep");
    std::fs::copy("/bin/sleep", &big).unwrap();
    let f = std::fs::OpenOptions::new().write(true).open(&big).unwrap();
    f.set_len(4 << 30).unwrap();
    drop(f);
    let mut child = Command::new(&big).arg("30").spawn().unwrap();
    let profile = work.path().join("p.toml");
    std::fs::write(
        &profile,
        "name = \"big\"\ndescription = \"d\"\n[collectors.processes]\nmax_image_hash_size = \"8 GiB\"\n[collectors.network]\n",
    )
    .unwrap();
    let out = work.path().join("out");
    let run = Command::new(crate::harness::bin())
        .args([
            "collect",
            "--json",
            "-o",
            out.to_str().unwrap(),
            "--profile",
        ])
        .arg(&profile)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    // Signal once the archive exists (a signal before it ends the run with nothing written,
    // which tests/signals.rs covers), however loaded the machine is.
    let t0 = std::time::Instant::now();
    let started = || {
        std::fs::read_dir(&out)
            .map(|d| {
                d.flatten()
                    .any(|e| e.file_name().to_string_lossy().ends_with(".partial"))
            })
            .unwrap_or(false)
    };
    while t0.elapsed() < std::time::Duration::from_secs(300) && !started() {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert!(started(), "no archive was started within five minutes");
    std::thread::sleep(std::time::Duration::from_millis(100));
    let pid = run.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let output = run.wait_with_output().unwrap();
    child.kill().ok();
    child.wait().ok();
    assert_eq!(output.status.code(), Some(4));
    let v: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(v["status"], "interrupted");
    let path = v["archive"].as_str().unwrap();
    let mut a = Archive::open(std::path::Path::new(path));
    assert_eq!(a.manifest()["status"], "interrupted");
    assert_eq!(a.collector("network")["status"], "skipped");
    assert_eq!(irsnap(&["verify", path]).code, 0);
    assert!(!std::fs::read_dir(&out).unwrap().any(|e| {
        e.unwrap()
            .file_name()
            .to_string_lossy()
            .ends_with(".partial")
    }));
}

#[test]
fn runs_in_the_same_second_never_collide() {
    let root = RootBuilder::new();
    root.write("etc/crontab", b"* * * * * root true\n");
    let out = tempfile::tempdir().unwrap();
    let o = out.path().to_str().unwrap().to_string();
    let r = root.path().to_str().unwrap().to_string();
    // Several at once, so that they start within one second of each other.
    let runs: Vec<_> = (0..4)
        .map(|_| {
            let (o, r) = (o.clone(), r.clone());
            std::thread::spawn(move || irsnap(&["collect", "-q", "-o", &o, "--root", &r]))
        })
        .collect();
    for run in runs {
        let run = run.join().unwrap();
        assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    }
    let mut zips: Vec<String> = std::fs::read_dir(out.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".zip"))
        .collect();
    zips.sort();
    assert_eq!(zips.len(), 4, "{zips:?}");
    for z in &zips {
        let v = irsnap(&["verify", &format!("{o}/{z}")]);
        assert_eq!(v.code, 0, "{z}: {}", v.stdout);
    }
}

#[test]
fn completions_and_manual_pages_come_from_the_cli() {
    for shell in ["bash", "zsh", "fish", "powershell"] {
        let r = irsnap(&["completions", shell]);
        assert_eq!(r.code, 0, "{shell}: {}", r.stderr);
        assert!(
            r.stdout.contains("collect") && r.stdout.contains("encrypt-to"),
            "{shell}"
        );
    }
    let d = tempfile::tempdir().unwrap();
    let r = irsnap(&["manpages", "-o", d.path().to_str().unwrap()]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    for page in [
        "irsnap.1",
        "irsnap-collect.1",
        "irsnap-verify.1",
        "irsnap-export.1",
    ] {
        let text = std::fs::read_to_string(d.path().join(page)).unwrap();
        assert!(text.contains(".TH"), "{page}");
    }
    let collect = std::fs::read_to_string(d.path().join("irsnap-collect.1")).unwrap();
    assert!(collect.contains("since"), "the flags are documented");
}

/// A reader that goes away (`irsnap schema | head -1`) ends the output quietly: no panic.
#[test]
fn a_closed_standard_output_is_not_a_panic() {
    for args in [
        &["schema", "processes"][..],
        &["schema"][..],
        &["profiles"][..],
        &["completions", "bash"][..],
    ] {
        let mut child = Command::new(crate::harness::bin())
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        drop(child.stdout.take());
        let out = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert_eq!(out.status.code(), Some(0), "{args:?}: {stderr}");
    }
}
