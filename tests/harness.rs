//! A tiny harness: run the built binary, find the archive it wrote, read its members.

#![allow(dead_code)]

use serde_json::Value;
use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_irsnap"))
}

/// `../shared/fixtures/<rel>`, read in place.
pub fn fixture(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/fixtures")
        .join(rel)
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn from(o: Output) -> Run {
        Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

pub fn irsnap(args: &[&str]) -> Run {
    Run::from(Command::new(bin()).args(args).output().expect("run irsnap"))
}

/// `irsnap collect --json -o <out> <extra...>`; returns the run and the archive it reports.
pub fn collect(out: &Path, extra: &[&str]) -> (Run, Option<Archive>) {
    let mut args = vec!["collect", "--json", "-o", out.to_str().unwrap()];
    args.extend_from_slice(extra);
    let run = irsnap(&args);
    let archive = serde_json::from_str::<Value>(&run.stdout)
        .ok()
        .and_then(|v| v["archive"].as_str().map(PathBuf::from))
        .map(|p| Archive::open(&p));
    (run, archive)
}

/// Build an offline root in a temp dir: `files` are (path inside the root, source file or
/// literal bytes).
pub struct RootBuilder {
    pub dir: tempfile::TempDir,
}

impl RootBuilder {
    pub fn new() -> RootBuilder {
        RootBuilder {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn copy(&self, inside: &str, from: &Path) -> &Self {
        let dst = self.dir.path().join(inside);
        std::fs::create_dir_all(dst.parent().unwrap()).unwrap();
        std::fs::copy(from, &dst).unwrap_or_else(|e| panic!("{}: {e}", from.display()));
        self
    }

    pub fn write(&self, inside: &str, data: &[u8]) -> &Self {
        let dst = self.dir.path().join(inside);
        std::fs::create_dir_all(dst.parent().unwrap()).unwrap();
        std::fs::write(&dst, data).unwrap();
        self
    }

    pub fn mkdir(&self, inside: &str) -> &Self {
        std::fs::create_dir_all(self.dir.path().join(inside)).unwrap();
        self
    }
}

pub struct Archive {
    pub path: PathBuf,
    zip: zip::ZipArchive<File>,
}

impl Archive {
    pub fn open(path: &Path) -> Archive {
        let f = File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        Archive {
            path: path.to_path_buf(),
            zip: zip::ZipArchive::new(f).expect("a readable zip"),
        }
    }

    pub fn names(&self) -> Vec<String> {
        self.zip
            .file_names()
            .map(|n| n.map(|n| n.into_owned()).unwrap_or_default())
            .collect()
    }

    pub fn member(&mut self, name: &str) -> Vec<u8> {
        let mut f = self
            .zip
            .by_name(name)
            .unwrap_or_else(|e| panic!("member {name}: {e}"));
        let mut buf = Vec::new();
        f.read_to_end(&mut buf).unwrap();
        buf
    }

    pub fn manifest(&mut self) -> Value {
        serde_json::from_slice(&self.member("manifest.json")).unwrap()
    }

    /// Every line of `records/<collector>.jsonl`, parsed, followed by the lines of its
    /// further parts (`records/<collector>.2.jsonl`, ...) when the records filled several.
    pub fn records(&mut self, collector: &str) -> Vec<Value> {
        let mut parts: Vec<(u32, String)> = self
            .names()
            .into_iter()
            .filter_map(|n| {
                let stem = n.strip_prefix("records/")?.strip_suffix(".jsonl")?;
                if stem == collector {
                    return Some((1, n.clone()));
                }
                let (c, part) = stem.rsplit_once('.')?;
                (c == collector).then(|| part.parse().ok().map(|p| (p, n.clone())))?
            })
            .collect();
        assert!(
            !parts.is_empty(),
            "member records/{collector}.jsonl: not in the archive"
        );
        parts.sort();
        let mut out = Vec::new();
        for (_, name) in parts {
            let data = self.member(&name);
            out.extend(
                String::from_utf8(data)
                    .unwrap()
                    .lines()
                    .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}"))),
            );
        }
        out
    }

    /// The manifest's entry for one collector.
    pub fn collector(&mut self, id: &str) -> Value {
        let m = self.manifest();
        m["collectors"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == id)
            .cloned()
            .unwrap_or_else(|| panic!("collector {id} not in manifest"))
    }
}
