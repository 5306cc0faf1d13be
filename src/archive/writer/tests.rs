use super::copy::looks_incompressible;
use super::*;
use crate::archive::manifest::{Manifest, ProfileInfo, RunAs, ToolInfo};
use crate::outcome::RunStatus;
use crate::sink::FileRequest;
use crate::source::{FileMeta, FileType, HostFacts, SourceDescription};
use std::io::Read;

fn meta(size: u64) -> FileMeta {
    FileMeta {
        file_type: FileType::Regular,
        size,
        mtime: None,
        atime: None,
        ctime: None,
        btime: None,
        uid: None,
        gid: None,
        mode: None,
        owner: None,
        dev: None,
        inode: None,
    }
}

fn manifest() -> Manifest {
    Manifest {
        schema_version: 1,
        tool: ToolInfo::current(),
        command_line: vec![],
        run_as: RunAs {
            user: None,
            uid: None,
            sid: None,
            elevated: false,
        },
        case: None,
        host: HostFacts::default(),
        source: SourceDescription::Live {
            os: OsFamily::Linux,
        },
        profile: ProfileInfo {
            name: "t".into(),
            sha256: Sha256([0; 32]),
        },
        since: None,
        deadline_secs: None,
        low_impact: false,
        atime_unprotected: 0,
        encryption: None,
        signature: None,
        started: chrono::Utc::now(),
        ended: chrono::Utc::now(),
        status: RunStatus::Complete,
        collectors: vec![],
        stages: vec![],
        members: vec![],
    }
}

#[test]
fn budget_truncates_then_skips_copies_but_still_hashes() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = ArchiveWriter::create(dir.path(), "a.zip", OsFamily::Linux).unwrap();
    w.set_budget(Some(180_000));
    let data = vec![b'x'; 100_000];
    let req = |name: &'static str, m: &'static FileMeta| FileRequest {
        display: name.into(),
        logical: Path::new(name),
        meta: m,
        copy: true,
        copy_cap: u64::MAX,
        keep: 0,
        member_name: None,
        keep_tail: false,
    };
    let m: &'static FileMeta = Box::leak(Box::new(meta(100_000)));
    let a = w
        .add_file(None, &req("/a", m), &mut &data[..], &|_| false)
        .unwrap();
    assert_eq!(a.copied, 100_000);
    let b = w
        .add_file(None, &req("/b", m), &mut &data[..], &|_| false)
        .unwrap();
    assert!(b.truncated && b.copied < 100_000 && b.copied > 0, "{b:?}");
    assert_eq!(b.sha256, Some(Sha256::digest(&data)));
    let c = w
        .add_file(None, &req("/c", m), &mut &data[..], &|_| false)
        .unwrap();
    assert!(c.copy_skipped.is_some() && c.member.is_none());
    assert_eq!(c.sha256, Some(Sha256::digest(&data)));
    let done = w.finish(&manifest()).unwrap();
    assert!(done.path.exists());
    // Two raw copies, as the manifest in the archive lists them.
    let mut zip = zip::ZipArchive::new(File::open(&done.path).unwrap()).unwrap();
    let mut text = String::new();
    zip.by_name("manifest.json")
        .unwrap()
        .read_to_string(&mut text)
        .unwrap();
    let m: Manifest = serde_json::from_str(&text).unwrap();
    assert_eq!(m.members.len(), 2);
    assert!(m.members[1].original.as_ref().unwrap().truncated);
}

#[test]
fn sealed_archive_is_ciphertext_from_the_first_byte_and_opens_with_the_identity() {
    use crate::archive::crypt::{AGE_MAGIC, Identities};
    use age::secrecy::ExposeSecret;
    let dir = tempfile::tempdir().unwrap();
    let id = age::x25519::Identity::generate();
    let r = Recipients::parse(&[id.to_public().to_string()]).unwrap();
    let mut w = ArchiveWriter::create_sealed(dir.path(), "a.zip.age", OsFamily::Linux, &r).unwrap();
    w.add_bytes("records/x.jsonl", b"{\"secret_marker\":1}\n", None)
        .unwrap();
    let done = w.finish(&manifest()).unwrap();
    let bytes = std::fs::read(&done.path).unwrap();
    assert!(bytes.starts_with(AGE_MAGIC));
    assert!(!bytes.windows(13).any(|w| w == b"manifest.json"));
    assert_eq!(done.sha256, Sha256::digest(&bytes));
    assert_eq!(done.size, bytes.len() as u64);
    let key = dir.path().join("key.txt");
    std::fs::write(&key, id.to_string().expose_secret()).unwrap();
    let ids = Identities::load(&[key]).unwrap();
    let mut zip = crate::archive::open_archive(&done.path, &ids).unwrap();
    let mut s = String::new();
    zip.by_name("records/x.jsonl")
        .unwrap()
        .read_to_string(&mut s)
        .unwrap();
    assert_eq!(s, "{\"secret_marker\":1}\n");
    assert!(zip.by_name("manifest.json").is_ok());
}

#[test]
fn random_blocks_are_stored_text_is_deflated() {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let random: Vec<u8> = (0..65536)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect();
    assert!(looks_incompressible(&random));
    assert!(!looks_incompressible(&b"#!/bin/sh\necho hi\n".repeat(4000)));
    assert!(!looks_incompressible(&random[..100]));
    let dir = tempfile::tempdir().unwrap();
    let mut w = ArchiveWriter::create(dir.path(), "a.zip", OsFamily::Linux).unwrap();
    let m = meta(random.len() as u64);
    let req = FileRequest {
        display: "/r".into(),
        logical: Path::new("/r"),
        meta: &m,
        copy: true,
        copy_cap: u64::MAX,
        keep: 10,
        member_name: None,
        keep_tail: false,
    };
    let o = w
        .add_file(None, &req, &mut &random[..], &|_| false)
        .unwrap();
    assert_eq!(o.sha256, Some(Sha256::digest(&random)));
    assert_eq!(o.kept, random[..10]);
    let done = w.finish(&manifest()).unwrap();
    let mut zip = zip::ZipArchive::new(File::open(&done.path).unwrap()).unwrap();
    let f = zip.by_name("files/r").unwrap();
    assert_eq!(f.compression(), zip::CompressionMethod::Stored);
    assert_eq!(f.size(), random.len() as u64);
}

#[test]
fn refuses_to_overwrite() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("a.zip"), b"x").unwrap();
    assert!(ArchiveWriter::create(dir.path(), "a.zip", OsFamily::Linux).is_err());
}
