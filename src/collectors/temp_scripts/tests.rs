use super::*;
use crate::collectors::{Cancel, Shared};
use crate::record::Record;
use crate::sink::MemorySink;
use crate::source::{FileMeta, FileSource, RootSource, SourceError};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

pub(super) fn run_with(root: &Path, opts: TempScriptsOptions) -> MemorySink {
    let src = RootSource::new(root.to_path_buf(), None).unwrap();
    let cancel = Cancel::default();
    let shared = Shared::default();
    let ctx = Context::new(&src, &cancel, &shared);
    let mut sink = MemorySink::default();
    TempScripts::new(opts).collect(&ctx, &mut sink).unwrap();
    sink
}

pub(super) fn records(sink: &MemorySink) -> Vec<&TempFileRecord> {
    sink.records
        .iter()
        .filter_map(|r| match r {
            Record::TempFile(t) => Some(t),
            _ => None,
        })
        .collect()
}

#[test]
fn copy_budget_stops_copying_not_hashing() {
    let d = tempfile::tempdir().unwrap();
    let r = d.path();
    std::fs::create_dir_all(r.join("etc")).unwrap();
    std::fs::create_dir_all(r.join("tmp")).unwrap();
    for name in ["a.sh", "b.sh", "c.sh"] {
        write_at(&r.join("tmp").join(name), &[b'x'; 1000], 60);
    }
    // Same mtime for all three: the rank then falls back on the path, so the order is a, b, c.
    let opts = TempScriptsOptions {
        max_file_copy: ByteSize(600),
        max_total_copy: ByteSize(1000),
        window_times: vec![TimeField::Mtime],
        ..TempScriptsOptions::default()
    };
    let sink = run_with(r, opts);
    let recs = records(&sink);
    assert_eq!(recs.len(), 3);
    let want = crate::record::Sha256::digest(&[b'x'; 1000]);
    // a: capped per file; b: capped by what is left of the budget; c: hash only.
    let got: Vec<(bool, u64, bool)> = recs
        .iter()
        .map(|r| (r.copied, r.copied_bytes, r.truncated))
        .collect();
    assert_eq!(
        got,
        [(true, 600, true), (true, 400, true), (false, 0, false)]
    );
    assert!(
        recs.iter()
            .all(|r| r.sha256 == Some(want) && r.bytes_hashed == 1000)
    );
    assert_eq!(
        recs[2].not_copied_reason.as_deref(),
        Some("total copy budget spent")
    );
    // Evidence left out by a limit is a cut: the collector is partial.
    assert_eq!(sink.cuts.len(), 1, "{:?}", sink.cuts);
    assert!(sink.cuts[0].contains("1 files hashed"), "{:?}", sink.cuts);
}

/// Write `data` at `p` (parents made) with an mtime `age_secs` ago, to whole seconds.
pub(super) fn write_at(p: &Path, data: &[u8], age_secs: u64) {
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, data).unwrap();
    set_age(p, age_secs);
}

pub(super) fn set_age(p: &Path, age_secs: u64) {
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

#[test]
fn window_uses_any_timestamp_and_keeps_the_undated() {
    let t = |s: i64| chrono::DateTime::from_timestamp(s, 0);
    let meta = FileMeta {
        file_type: FileType::Regular,
        size: 0,
        mtime: t(100),
        atime: t(5000),
        ctime: t(2000),
        btime: None,
        uid: None,
        gid: None,
        mode: None,
        owner: None,
        dev: None,
        inode: None,
    };
    let all = [TimeField::Mtime, TimeField::Ctime, TimeField::Btime];
    assert_eq!(
        recent_by(&meta, t(1000), &all),
        Some(vec![TimeField::Ctime])
    );
    assert_eq!(recent_by(&meta, t(1000), &[TimeField::Mtime]), None);
    // atime never counts: reading a file (our own read, an AV scan) is not staging it.
    assert_eq!(recent_by(&meta, t(3000), &all), None);
    assert_eq!(recent_by(&meta, None, &all), Some(vec![]));
    let undated = FileMeta {
        mtime: None,
        ctime: None,
        ..meta
    };
    assert_eq!(recent_by(&undated, t(3000), &all), Some(vec![]));
}

#[test]
fn names_and_places() {
    assert_eq!(extension_of("x.PS1".as_ref()), Some("ps1".into()));
    assert_eq!(extension_of(".bashrc".as_ref()), None);
    assert_eq!(extension_of("noext".as_ref()), None);
    assert_eq!(extension_of("a.tar.".as_ref()), None);

    let d = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(d.path().join("Windows/System32")).unwrap();
    for u in ["Public", "alice"] {
        std::fs::create_dir_all(d.path().join("Users").join(u)).unwrap();
    }
    let src = RootSource::new(d.path().to_path_buf(), None).unwrap();
    let p = places(&src, &TempScriptsOptions::default());
    let shown: Vec<String> = p
        .iter()
        .map(|p| format!("{}:{}", p.path.display(), p.depth))
        .collect();
    assert_eq!(
        shown,
        [
            "/Windows/Temp:12",
            "/Users/Public:12",
            "/ProgramData:1",
            "/Users/alice/AppData/Local/Temp:12",
            "/Users/alice/Downloads:12",
            "/Users/alice/AppData/Roaming:1",
            "/Users/alice/AppData/Local:1",
        ]
    );
}

#[test]
fn window_option_parses() {
    #[derive(Deserialize)]
    struct W {
        window: Window,
    }
    let w: W = toml::from_str("window = \"7d\"").unwrap();
    assert_eq!(w.window.0, Some(Duration::from_secs(7 * 86_400)));
    let w: W = toml::from_str("window = \"off\"").unwrap();
    assert_eq!(w.window.0, None);
    assert!(toml::from_str::<W>("window = \"7 parsecs\"").is_err());
}

/// A root whose files change under the collector: `gone.sh` is deleted just before it is
/// opened, `grow.sh` grows just after; and `locked/` cannot be listed (what a non-root run
/// meets, which a test running as root cannot otherwise see).
struct Racing {
    inner: RootSource,
    root: PathBuf,
}

impl FileSource for Racing {
    fn describe(&self) -> crate::source::SourceDescription {
        self.inner.describe()
    }
    fn os(&self) -> OsFamily {
        self.inner.os()
    }
    fn display_path(&self, p: &Path) -> String {
        self.inner.display_path(p)
    }
    fn metadata(&self, p: &Path) -> Result<FileMeta, SourceError> {
        self.inner.metadata(p)
    }
    fn read_dir(&self, p: &Path) -> Result<Vec<crate::source::DirEntry>, SourceError> {
        if p.ends_with("locked") {
            let denied = std::io::Error::from(std::io::ErrorKind::PermissionDenied);
            return Err(SourceError::io(p.display().to_string(), denied));
        }
        self.inner.read_dir(p)
    }
    fn open(&self, p: &Path) -> Result<crate::source::OpenedFile, SourceError> {
        let host = self.root.join(p.strip_prefix("/").unwrap());
        if p.ends_with("gone.sh") {
            std::fs::remove_file(&host).unwrap();
        }
        let opened = self.inner.open(p)?;
        if p.ends_with("grow.sh") {
            let mut f = std::fs::OpenOptions::new()
                .append(true)
                .open(&host)
                .unwrap();
            std::io::Write::write_all(&mut f, b"echo more\n").unwrap();
        }
        Ok(opened)
    }
    fn host_facts(&self) -> crate::source::HostFacts {
        self.inner.host_facts()
    }
    fn users(&self) -> Vec<crate::source::UserAccount> {
        self.inner.users()
    }
}

fn racing_root() -> (tempfile::TempDir, Racing) {
    let d = tempfile::tempdir().unwrap();
    let r = d.path();
    std::fs::create_dir_all(r.join("etc")).unwrap();
    std::fs::create_dir_all(r.join("tmp/locked")).unwrap();
    std::fs::write(r.join("tmp/locked/hidden.sh"), b"x").unwrap();
    for name in ["a.sh", "gone.sh", "grow.sh", "z.sh"] {
        std::fs::write(r.join("tmp").join(name), b"echo start\n").unwrap();
    }
    let src = Racing {
        inner: RootSource::new(r.to_path_buf(), None).unwrap(),
        root: r.to_path_buf(),
    };
    (d, src)
}

#[test]
fn files_deleted_or_growing_during_the_walk() {
    let (_d, src) = racing_root();
    let (cancel, shared) = (Cancel::default(), Shared::default());
    let ctx = Context::new(&src, &cancel, &shared);
    let mut sink = MemorySink::default();
    TempScripts::new(TempScriptsOptions::default())
        .collect(&ctx, &mut sink)
        .unwrap();
    let mut recs = records(&sink);
    // Collected best first: same depth, same second, so by path (sorted here in case the
    // files straddle a second).
    recs.sort_by(|a, b| a.path.cmp(&b.path));
    let paths: Vec<&str> = recs.iter().map(|r| r.path.as_str()).collect();
    assert_eq!(
        paths,
        ["/tmp/a.sh", "/tmp/gone.sh", "/tmp/grow.sh", "/tmp/z.sh"]
    );
    // Deleted: still recorded by name, with what happened; a warning, not an error.
    assert!(recs[1].sha256.is_none() && recs[1].error.is_some());
    // The only error: the directory that could not be listed, named.
    assert_eq!(sink.errors.len(), 1, "{:?}", sink.errors);
    assert!(
        sink.errors[0].starts_with("cannot list directory /tmp/locked: permission denied"),
        "{:?}",
        sink.errors
    );
    assert!(sink.warnings.iter().any(|w| w.contains("gone.sh: deleted")));
    // Grown: the hash covers what was read, and the record says the size moved.
    let grown = b"echo start\necho more\n";
    assert_eq!(recs[2].bytes_hashed, grown.len() as u64);
    assert_eq!(recs[2].sha256, Some(crate::record::Sha256::digest(grown)));
    assert!(recs[2].error.as_deref().unwrap().contains("size changed"));
    // The walk went on.
    assert!(recs[3].sha256.is_some());
}

#[test]
fn cancellation_stops_between_files() {
    let (_d, src) = racing_root();
    let cancel = Cancel::default();
    cancel.interrupt.raise();
    let shared = Shared::default();
    let ctx = Context::new(&src, &cancel, &shared);
    let mut sink = MemorySink::default();
    TempScripts::new(TempScriptsOptions::default())
        .collect(&ctx, &mut sink)
        .unwrap();
    assert!(sink.records.is_empty());
    assert!(sink.files.is_empty());
}

mod trees;
