//! Budgets: a deadline cuts a long run into a valid partial archive; a small output volume
//! stops copies before it fills.

use crate::harness::{RootBuilder, collect, irsnap};
use std::process::Command;

/// A Linux root whose /tmp holds `n` small scripts in 100 folders.
fn big_tmp(n: usize) -> RootBuilder {
    let root = RootBuilder::new();
    root.write("etc/hostname", b"bulk\n");
    for i in 0..n {
        let p = root.path().join(format!("tmp/d{:03}/s{i}.sh", i % 100));
        if i < 100 {
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        }
        std::fs::write(&p, format!("#!/bin/sh\necho {i}\n")).unwrap();
    }
    root
}

#[test]
fn deadline_returns_a_valid_partial_archive() {
    let root = big_tmp(40_000);
    let out = tempfile::tempdir().unwrap();
    let (run, archive) = collect(
        out.path(),
        &["--root", root.path().to_str().unwrap(), "--deadline", "1s"],
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    let mut a = archive.unwrap();
    let t = a.collector("temp_scripts");
    assert_eq!(t["status"], "partial");
    assert_eq!(t["reason"], "deadline");
    let got = a.records("temp_scripts").len();
    assert!(
        got < 40_000,
        "the deadline did not cut the walk ({got} records)"
    );
    // Collectors after the deadline did not start, and say so.
    let later = a.collector("scheduled_tasks");
    assert_eq!(later["status"], "skipped");
    assert!(later["reason"].as_str().unwrap().contains("deadline"));
    assert_eq!(a.manifest()["deadline_secs"], 1);
    assert_eq!(irsnap(&["verify", a.path.to_str().unwrap()]).code, 0);
}

#[cfg(target_os = "linux")]
#[test]
fn a_small_output_volume_stops_copies_not_the_run() {
    let mnt = tempfile::tempdir().unwrap();
    let ok = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=6m", "tmpfs"])
        .arg(mnt.path())
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    if !ok {
        eprintln!("SKIPPED: cannot mount a tmpfs here (not root?)");
        return;
    }
    struct Unmount<'a>(&'a std::path::Path);
    impl Drop for Unmount<'_> {
        fn drop(&mut self) {
            let _ = Command::new("umount").arg(self.0).status();
        }
    }
    let _guard = Unmount(mnt.path());

    // 12 MiB of incompressible scripts on a 6 MiB volume.
    let root = RootBuilder::new();
    root.write("etc/hostname", b"fulldisk\n");
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    for i in 0..12 {
        let mut data = b"#!/bin/sh\n".to_vec();
        while data.len() < 1 << 20 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            data.extend_from_slice(&seed.to_le_bytes());
        }
        root.write(&format!("tmp/blob{i}.sh"), &data);
    }
    // The default keeps 64 MiB free: refused before anything is written.
    let out = mnt.path().join("out");
    let r = irsnap(&[
        "collect",
        "-o",
        out.to_str().unwrap(),
        "--root",
        root.path().to_str().unwrap(),
    ]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("free on the output volume"),
        "{}",
        r.stderr
    );

    // Keeping 1 MiB free: copies stop, every file is still hashed, the archive is valid.
    let profile = root.path().parent().unwrap().join("small.toml");
    std::fs::write(
        &profile,
        "name = \"small\"\ndescription = \"d\"\n[archive]\nkeep_free = \"1 MiB\"\n\
         [collectors.temp_scripts]\nmax_file_copy = \"4 MiB\"\n",
    )
    .unwrap();
    let (run, archive) = collect(
        &out,
        &[
            "--root",
            root.path().to_str().unwrap(),
            "--profile",
            profile.to_str().unwrap(),
        ],
    );
    assert_eq!(run.code, 2, "{}", run.stderr);
    let mut a = archive.unwrap();
    let recs = a.records("temp_scripts");
    assert_eq!(recs.len(), 12);
    assert!(recs.iter().all(|r| r["sha256"].is_string()));
    let copied = recs.iter().filter(|r| r["copied"] == true).count();
    assert!(copied < 12, "everything was copied onto a 6 MiB volume?");
    let t = a.collector("temp_scripts");
    assert_eq!(t["status"], "partial");
    // A limit that left evidence out is a cut (partial), not a gap.
    assert!(t["cuts"].to_string().contains("budget"), "{}", t["cuts"]);
    assert!(t["cut_count"].as_u64().unwrap() > 0, "{t}");
    assert_eq!(irsnap(&["verify", a.path.to_str().unwrap()]).code, 0);
}

/// Records held in memory are bounded by `record_part_size`: past it they go out in parts,
/// and every reader (verify, export, stack, the harness) reads all of them, in order.
#[test]
fn records_over_the_part_size_go_out_in_parts_that_every_reader_follows() {
    let root = RootBuilder::new();
    let mut crontab = String::new();
    for i in 0..3000 {
        crontab.push_str(&format!(
            "{} {} * * * root /usr/local/bin/job{i} --key {i:08x}\n",
            i % 60,
            i % 24
        ));
    }
    root.write("etc/hostname", b"parts\n")
        .write("etc/crontab", crontab.as_bytes());
    let work = tempfile::tempdir().unwrap();
    let profile = work.path().join("p.toml");
    std::fs::write(
        &profile,
        "name = \"p\"\ndescription = \"d\"\n[archive]\nrecord_part_size = \"16 KiB\"\n[collectors.scheduled_tasks]\n",
    )
    .unwrap();
    let out = work.path().join("out");
    let (run, archive) = collect(
        &out,
        &[
            "--root",
            root.path().to_str().unwrap(),
            "--profile",
            profile.to_str().unwrap(),
        ],
    );
    assert_eq!(run.code, 0, "{}", run.stderr);
    let mut a = archive.unwrap();
    let c = a.collector("scheduled_tasks");
    let parts = c["record_members"]
        .as_array()
        .expect("several parts")
        .clone();
    assert!(parts.len() > 1, "{c}");
    assert_eq!(parts[0], "records/scheduled_tasks.jsonl");
    assert_eq!(parts[1], "records/scheduled_tasks.2.jsonl");
    let recs = a.records("scheduled_tasks");
    assert_eq!(recs.len(), 3000);
    assert_eq!(c["records"], 3000);
    // In order across the parts.
    for (i, r) in recs.iter().enumerate() {
        assert!(
            r["raw_line"]
                .as_str()
                .unwrap()
                .contains(&format!("/job{i} ")),
            "record {i}: {r}"
        );
    }
    let path = a.path.to_str().unwrap().to_string();
    let v = irsnap(&["verify", &path]);
    assert_eq!(v.code, 0, "{}{}", v.stdout, v.stderr);
    let e = irsnap(&[
        "export",
        &path,
        "--format",
        "jsonl",
        "--collector",
        "scheduled_tasks",
    ]);
    assert_eq!(e.code, 0, "{}", e.stderr);
    assert_eq!(e.stdout.lines().count(), 3000);
    let s = irsnap(&["stack", &path, "--json", "--kind", "scheduled_action"]);
    assert_eq!(s.code, 0, "{}", s.stderr);
    let keys: u64 = s
        .stdout
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap())
        .map(|v| v["occurrences"].as_u64().unwrap_or(0))
        .sum();
    assert_eq!(keys, 3000);
}
