//! Golden-file test of what the command line says for the common mistakes: each message names
//! its cause once, says what to do, and exits with the documented code. The expected text is
//! `tests/golden/cli_messages.txt`; `IRSNAP_BLESS=1 cargo test cli_messages` rewrites it after
//! a deliberate change (review the diff).

use crate::harness::bin;
use std::path::Path;
use std::process::Command;

fn case(work: &Path, args: &[&str]) -> String {
    let o = Command::new(bin())
        .args(args)
        .current_dir(work)
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let w = work.to_str().unwrap();
    let shown: Vec<String> = args.iter().map(|a| a.replace(w, "<TMP>")).collect();
    let stderr = String::from_utf8_lossy(&o.stderr).replace(w, "<TMP>");
    let stdout = String::from_utf8_lossy(&o.stdout).replace(w, "<TMP>");
    let mut out = format!(
        "$ irsnap {}\nexit {}\n",
        shown.join(" "),
        o.status.code().unwrap_or(-1)
    );
    for line in stdout.lines() {
        out.push_str(&format!("stdout: {line}\n"));
    }
    for line in stderr.lines() {
        out.push_str(&format!("stderr: {line}\n"));
    }
    out
}

#[test]
fn messages_for_common_mistakes() {
    let d = tempfile::tempdir().unwrap();
    let w = d.path();
    let p = |rel: &str| w.join(rel).to_str().unwrap().to_string();
    std::fs::write(
        w.join("typo.toml"),
        "name = \"x\"\ndescription = \"d\"\n[collectors.procesess]\n",
    )
    .unwrap();
    std::fs::write(
        w.join("badopt.toml"),
        "name = \"x\"\ndescription = \"d\"\n[collectors.processes]\nhash_imagez = true\n",
    )
    .unwrap();
    std::fs::write(w.join("notzip.zip"), b"this is not a zip").unwrap();
    std::fs::write(w.join("afile"), b"x").unwrap();
    std::fs::create_dir_all(w.join("ro")).unwrap();
    let cases: Vec<Vec<String>> = vec![
        vec![
            "collect".into(),
            "--since".into(),
            "fortnight".into(),
            "-o".into(),
            p("out"),
        ],
        vec![
            "collect".into(),
            "--deadline".into(),
            "10".into(),
            "-o".into(),
            p("out"),
        ],
        vec![
            "collect".into(),
            "--profile".into(),
            "trage".into(),
            "-o".into(),
            p("out"),
        ],
        vec![
            "collect".into(),
            "--profile".into(),
            p("typo.toml"),
            "-o".into(),
            p("out"),
        ],
        vec![
            "collect".into(),
            "--profile".into(),
            p("badopt.toml"),
            "-o".into(),
            p("out"),
        ],
        vec![
            "collect".into(),
            "--profile".into(),
            p("missing.toml"),
            "-o".into(),
            p("out"),
        ],
        vec!["collect".into(), "-o".into(), p("afile/sub")],
        vec![
            "collect".into(),
            "--root".into(),
            p("no-such-root"),
            "-o".into(),
            p("out"),
        ],
        vec![
            "collect".into(),
            "--root".into(),
            p("afile"),
            "-o".into(),
            p("out"),
        ],
        vec![
            "collect".into(),
            "--encrypt-to".into(),
            "garbage".into(),
            "-o".into(),
            p("out"),
        ],
        vec![
            "collect".into(),
            "--root".into(),
            p("ro"),
            "-o".into(),
            p("ro/out"),
        ],
        vec![
            "collect".into(),
            "--sign".into(),
            p("afile"),
            "-o".into(),
            p("out"),
        ],
        vec!["verify".into(), p("notzip.zip")],
        vec![
            "verify".into(),
            "--trusted".into(),
            p("afile"),
            p("notzip.zip"),
        ],
        vec!["verify".into(), p("missing.zip")],
        vec!["report".into(), p("notzip.zip")],
        vec!["report".into(), p("missing.zip")],
        vec!["export".into(), p("missing.zip")],
        vec!["collect".into(), "--bogus".into()],
    ];
    let mut got = String::new();
    for c in &cases {
        let args: Vec<&str> = c.iter().map(String::as_str).collect();
        got.push_str(&case(w, &args));
        got.push('\n');
    }
    // No refused run leaves an output directory behind.
    assert!(
        !w.join("out").exists(),
        "a refused run created its output directory"
    );
    let golden = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/cli_messages.txt");
    if std::env::var_os("IRSNAP_BLESS").is_some() {
        std::fs::create_dir_all(golden.parent().unwrap()).unwrap();
        std::fs::write(&golden, &got).unwrap();
        return;
    }
    let want = std::fs::read_to_string(&golden).unwrap_or_default();
    if want != got {
        panic!(
            "CLI messages differ from {} (IRSNAP_BLESS=1 rewrites it):\n--- want\n{want}\n--- got\n{got}",
            golden.display()
        );
    }
}
