//! End to end: an offline root laid out like a Linux system drive, every file the collectors
//! read filled with hostile generated text (and hostile file names), collected by the real
//! binary. The run may be partial (exit 2) but never fails or panics, and the archive always
//! verifies; `report`, `export` and `stack` then read it.

use std::time::Instant;

use super::generate::{Gen, Size};
use crate::harness::{RootBuilder, collect, irsnap};

/// A command-ish line: hostile text, sometimes after a real program.
fn command(g: &mut Gen) -> String {
    let size = if g.rng.one_in(30) {
        Size::Long
    } else {
        Size::Short
    };
    g.text_of(size).replace('\n', " ")
}

/// A file name: hostile text without `/` and NUL (what a Linux name cannot hold).
fn file_name(g: &mut Gen) -> String {
    let mut n: String = g
        .text_of(Size::Short)
        .chars()
        .filter(|c| *c != '/' && *c != '\0')
        .take(60)
        .collect();
    if n.is_empty() || n == "." || n == ".." {
        n = "é中😀".into();
    }
    n
}

fn hostile_root(seed: u64) -> RootBuilder {
    let mut g = Gen::new(seed);
    let r = RootBuilder::new();
    let host: String = g.text_of(Size::Short).chars().take(40).collect();
    r.write("etc/hostname", format!("{host}\n").as_bytes());
    r.write("etc/os-release", b"ID=debian\nNAME=\"Debian \xc3\xa9\"\n");
    let mut passwd = String::from("root:x:0:0:root:/root:/bin/bash\nu:x:1000:1000:");
    passwd.push_str(&g.text_of(Size::Short).replace(['\n', ':'], " "));
    passwd.push_str(":/home/u:/bin/bash\n");
    for _ in 0..4 {
        passwd.push_str(&g.text_of(Size::Short));
        passwd.push('\n');
    }
    r.write("etc/passwd", passwd.as_bytes());

    let mut crontab = String::from("SHELL=/bin/sh\n");
    for _ in 0..20 {
        match g.rng.below(4) {
            0 => crontab.push_str(&format!("X{}={}\n", g.rng.below(100), command(&mut g))),
            1 => crontab.push_str(&format!("@reboot root {}\n", command(&mut g))),
            2 => crontab.push_str(&g.text_of(Size::Short)),
            _ => crontab.push_str(&format!("*/5 * * * * root {}\n", command(&mut g))),
        }
    }
    r.write("etc/crontab", crontab.as_bytes());
    r.write(
        "etc/cron.d/é中",
        format!("* * * * * u {}\n", command(&mut g)).as_bytes(),
    );
    r.write(
        "var/spool/cron/crontabs/u",
        format!("0 3 * * * {}\n", command(&mut g)).as_bytes(),
    );
    r.write(
        "etc/cron.hourly/job",
        format!("#!/bin/sh\n{}\n", command(&mut g)).as_bytes(),
    );
    r.write(
        "var/spool/cron/atjobs/a0000101a2b3c4",
        format!(
            "#!/bin/sh\n# atrun uid=1000 gid=1000\n# mail u 0\numask 22\n{}\n",
            command(&mut g)
        )
        .as_bytes(),
    );
    r.write(
        "etc/systemd/system/evil.timer",
        format!(
            "[Timer]\nOnCalendar={}\nUnit=evil.service\n",
            command(&mut g)
        )
        .as_bytes(),
    );
    r.write(
        "etc/systemd/system/evil.service",
        format!(
            "[Service]\nExecStart=/bin/sh -c '{}'\nEnvironment=\"A={}\"\n",
            command(&mut g),
            command(&mut g)
        )
        .as_bytes(),
    );

    let mut bash = String::new();
    for i in 0..40 {
        if g.rng.one_in(3) {
            bash.push_str(&format!("#{}\n", 1_700_000_000 + i * 60));
        }
        bash.push_str(&command(&mut g));
        bash.push('\n');
    }
    r.write("home/u/.bash_history", bash.as_bytes());
    r.write("root/.bash_history", g.text_of(Size::Medium).as_bytes());
    let mut zsh = String::new();
    for i in 0..10 {
        zsh.push_str(&format!(
            ": {}:{};{}\n",
            1_700_000_000 + i,
            i,
            command(&mut g)
        ));
    }
    r.write("home/u/.zsh_history", zsh.as_bytes());
    r.write(
        "home/u/.local/share/fish/fish_history",
        format!(
            "- cmd: {}\n  when: 1700000300\n  paths:\n    - {}\n",
            command(&mut g),
            command(&mut g)
        )
        .as_bytes(),
    );
    r.write("home/u/.python_history", g.text_of(Size::Medium).as_bytes());
    r.write(
        "home/u/.local/share/powershell/PSReadLine/ConsoleHost_history.txt",
        g.text_of(Size::Medium).as_bytes(),
    );

    // Staged scripts with hostile names and bodies.
    for dir in ["tmp", "var/tmp", "dev/shm", "tmp/.cache"] {
        for ext in ["sh", "ps1", "py", ""] {
            let mut name = file_name(&mut g);
            if !ext.is_empty() {
                name = format!("{name}.{ext}");
            }
            let body = format!("#!/bin/sh\n{}\n", g.text());
            r.write(&format!("{dir}/{name}"), body.as_bytes());
        }
    }
    r.write("tmp/big.ps1", g.text_of(Size::Huge).as_bytes());
    r
}

pub fn run(roots: u64) {
    let started = Instant::now();
    let first = super::first_seed();
    for i in 0..roots {
        let seed = first.wrapping_add(0x1000).wrapping_add(i);
        let root = hostile_root(seed);
        let out = tempfile::tempdir().unwrap();
        let (run, archive) = collect(
            out.path(),
            &["--root", root.path().to_str().unwrap(), "--profile", "full"],
        );
        assert!(
            run.code == 0 || run.code == 2,
            "seed {seed:#x}: collect exited {}: {}{}",
            run.code,
            run.stdout,
            run.stderr
        );
        let mut archive =
            archive.unwrap_or_else(|| panic!("seed {seed:#x}: no archive: {}", run.stderr));
        let path = archive.path.to_str().unwrap().to_string();
        let v = irsnap(&["verify", &path]);
        assert_eq!(
            v.code, 0,
            "seed {seed:#x}: verify: {}{}",
            v.stdout, v.stderr
        );

        // No stage of the run failed (a panic would be a failed stage with the run partial).
        let manifest = archive.manifest();
        for s in manifest["stages"].as_array().into_iter().flatten() {
            assert_ne!(
                s["status"], "failed",
                "seed {seed:#x}: stage {} failed: {}",
                s["stage"], s["reason"]
            );
        }
        for c in manifest["collectors"].as_array().into_iter().flatten() {
            let reason = c["reason"].as_str().unwrap_or("");
            assert!(
                !reason.contains("panicked"),
                "seed {seed:#x}: collector {} panicked: {reason}",
                c["collector"]
            );
        }
        let html = String::from_utf8(archive.member("report.html")).unwrap();
        super::checks::html(&html);
        let md = String::from_utf8(archive.member("report.md")).unwrap();
        super::checks::markdown(&md);

        let csv = out.path().join("t.csv");
        let e = irsnap(&[
            "export",
            &path,
            "--format",
            "csv",
            "-o",
            csv.to_str().unwrap(),
        ]);
        assert_eq!(e.code, 0, "seed {seed:#x}: export: {}", e.stderr);
        super::checks::csv(&std::fs::read(&csv).unwrap());
        for collector in ["shell_history", "scheduled_tasks", "temp_scripts"] {
            let e = irsnap(&[
                "export",
                &path,
                "--format",
                "csv",
                "--collector",
                collector,
                "-o",
                csv.to_str().unwrap(),
            ]);
            assert_eq!(
                e.code, 0,
                "seed {seed:#x}: export {collector}: {}",
                e.stderr
            );
            super::checks::csv(&std::fs::read(&csv).unwrap());
        }
        let r = irsnap(&["report", &path, "--format", "md"]);
        assert_eq!(r.code, 0, "seed {seed:#x}: report: {}", r.stderr);
        super::checks::markdown(&r.stdout);

        // The table goes to a terminal: no escape sequence of the attacker's may reach it.
        for extra in [&[][..], &["--json"][..]] {
            let mut args = vec!["stack", path.as_str()];
            args.extend_from_slice(extra);
            let s = irsnap(&args);
            assert_eq!(s.code, 0, "seed {seed:#x}: stack: {}", s.stderr);
            assert!(
                !s.stdout.contains('\x1b') && !s.stderr.contains('\x1b'),
                "seed {seed:#x}: an escape sequence reached the terminal"
            );
        }
    }
    println!(
        "stage_fuzz offline roots: {roots} roots in {:.1?}",
        started.elapsed()
    );
}
