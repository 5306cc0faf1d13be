//! `export --format csv` opened by a real spreadsheet: LibreOffice (headless) imports the CSV
//! with `,`, `;` (the default of many European locales) and tab as the separator, and no cell
//! may become a formula. A control CSV written without irsnap's defusing shows that the check
//! sees formulas when there are some. SKIPPED without `soffice`
//! (scripts/install-test-deps.sh installs libreoffice-calc-nogui).

use crate::harness::{RootBuilder, collect, irsnap};
use std::path::Path;
use std::process::{Command, Stdio};

fn have_soffice() -> bool {
    Command::new("soffice")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Import every CSV with `sep` (a character code) and return the formulas LibreOffice made,
/// per file.
fn formulas(work: &Path, csvs: &[&Path], sep: u8) -> Vec<(String, Vec<String>)> {
    let out = work.join(format!("ods-{sep}"));
    let profile = work.join("lo-profile");
    let st = Command::new("soffice")
        .arg(format!(
            "-env:UserInstallation=file://{}",
            profile.display()
        ))
        .args(["--headless", "--convert-to", "fods"])
        .arg(format!("--infilter=CSV:{sep},34,76,1"))
        .arg("--outdir")
        .arg(&out)
        .args(csvs)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert!(st.success());
    csvs.iter()
        .map(|csv| {
            let name = csv.file_stem().unwrap().to_str().unwrap();
            let doc = std::fs::read_to_string(out.join(format!("{name}.fods"))).unwrap();
            let found = doc
                .match_indices("table:formula=\"")
                .map(|(i, _)| {
                    let rest = &doc[i + 15..];
                    rest[..rest.find('"').unwrap_or(rest.len())].to_string()
                })
                .collect();
            (name.to_string(), found)
        })
        .collect()
}

#[test]
fn no_cell_becomes_a_formula_with_comma_semicolon_or_tab_as_the_separator() {
    if !have_soffice() {
        eprintln!("SKIPPED: soffice not installed (scripts/install-test-deps.sh)");
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let root = RootBuilder::new();
    root.write("etc/passwd", b"root:x:0:0:root:/root:/bin/bash\n");
    root.write(
        "root/.bash_history",
        "echo x;=HYPERLINK(\"http://203.0.113.9/\",\"click\")\n\
         =cmd|' /C calc'!A0\n\
         a,=1+1\n\
         @SUM(1+1)\n\
         -2+3\n\
         x\t=3+3\n\
         echo \"a\"; -1+2;+4\n\
         printf '\\e]0;title\\a'\n"
            .as_bytes(),
    );
    let out = work.path().join("out");
    let (run, archive) = collect(&out, &["--root", root.path().to_str().unwrap()]);
    let archive = archive.unwrap_or_else(|| panic!("{}{}", run.stdout, run.stderr));
    let a = archive.path.to_str().unwrap();
    let history = work.path().join("history.csv");
    let timeline = work.path().join("timeline.csv");
    for (args, file) in [
        (vec!["--collector", "shell_history"], &history),
        (vec![], &timeline),
    ] {
        let mut full = vec!["export", a, "--format", "csv", "-o", file.to_str().unwrap()];
        full.extend(args);
        let r = irsnap(&full);
        assert_eq!(r.code, 0, "{}", r.stderr);
    }
    let text = std::fs::read_to_string(&history).unwrap();
    assert!(text.contains("HYPERLINK"), "{text}");
    assert!(
        !text.contains('\u{1b}') && !text.contains('\u{7}'),
        "{text}"
    );
    // The control: the same kind of text, not defused.
    let control = work.path().join("control.csv");
    std::fs::write(&control, "a,b\r\nx;=1+1,=2+2\t=5+5\r\n").unwrap();
    for sep in [b',', b';', b'\t'] {
        let got = formulas(work.path(), &[&history, &timeline, &control], sep);
        for (name, found) in &got {
            if name == "control" {
                assert!(!found.is_empty(), "the control has no formula with {sep}");
            } else {
                assert!(
                    found.is_empty(),
                    "{name}.csv opened with {:?} as the separator has formulas: {found:?}",
                    sep as char
                );
            }
        }
    }
}
