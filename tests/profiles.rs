//! Profiles: listed, shown, and refused loudly when wrong, before anything is collected.

use crate::harness::{collect, irsnap};

fn refuse(text: &str, expect_line: usize, expect_words: &str) {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("bad.toml");
    std::fs::write(&p, text).unwrap();
    let out = dir.path().join("out");
    let r = irsnap(&[
        "collect",
        "-o",
        out.to_str().unwrap(),
        "--profile",
        p.to_str().unwrap(),
    ]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("bad.toml"), "{}", r.stderr);
    assert!(
        r.stderr.contains(&format!("line {expect_line}")),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains(expect_words), "{}", r.stderr);
    // Refused before anything was collected: no archive, not even a partial one.
    let left = std::fs::read_dir(&out).map(|d| d.count()).unwrap_or(0);
    assert_eq!(left, 0);
}

#[test]
fn unknown_collector_is_refused() {
    refuse(
        "name = \"x\"\ndescription = \"d\"\n\n[collectors.proceses]\n",
        4,
        "proceses",
    );
}

#[test]
fn misspelled_option_is_refused() {
    refuse(
        "name = \"x\"\ndescription = \"d\"\n[collectors.processes]\nhash_image = true\n",
        4,
        "hash_image",
    );
}

#[test]
fn bad_value_is_refused() {
    refuse(
        "name = \"x\"\ndescription = \"d\"\n[collectors.processes]\nmax_image_hash_size = \"lots\"\n",
        4,
        "invalid size",
    );
    refuse(
        "name = \"x\"\ndescription = \"d\"\n[collectors.processes]\nhash_images = \"yes\"\n",
        4,
        "boolean",
    ); // A cap of zero commands would silently record nothing.
    refuse(
        "name = \"x\"\ndescription = \"d\"\n[collectors.shell_history]\nmax_commands_per_file = 0\n",
        4,
        "nonzero",
    );
}

#[test]
fn missing_name_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("p.toml");
    std::fs::write(&p, "description = \"d\"\n").unwrap();
    let r = irsnap(&["profiles", "show", p.to_str().unwrap()]);
    assert_eq!(r.code, 1);
    assert!(r.stderr.contains("name"), "{}", r.stderr);
}

#[test]
fn list_and_show() {
    let r = irsnap(&["profiles"]);
    assert_eq!(r.code, 0);
    assert!(r.stdout.contains("triage"));
    assert!(r.stdout.contains("volatile"));
    let r = irsnap(&["profiles", "show", "volatile"]);
    assert_eq!(r.code, 0);
    assert!(r.stdout.contains("[collectors.processes]"));
}

#[test]
fn a_custom_profile_runs_only_its_collectors() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("net.toml");
    std::fs::write(
        &p,
        "name = \"net\"\ndescription = \"d\"\n[collectors.network]\n",
    )
    .unwrap();
    let (run, a) = collect(&dir.path().join("out"), &["--profile", p.to_str().unwrap()]);
    let mut a = a.unwrap_or_else(|| panic!("{}", run.stderr));
    let m = a.manifest();
    let ids: Vec<&str> = m["collectors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["network"]);
    assert_eq!(m["profile"]["name"], "net");
    let text = std::fs::read(&p).unwrap();
    use sha2::Digest;
    let want: String = sha2::Sha256::digest(&text)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(m["profile"]["sha256"], want);
}
