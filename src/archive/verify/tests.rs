//! `verify` tried the way an attacker would: every single-byte change of a small archive,
//! and each structural trick by name. Archives are built in-process with the real writer;
//! forged ones are rebuilt with the real zip writer (so only the hashes and signatures can
//! tell), the attacker recomputing every hash the manifest lists.

use super::*;
use crate::archive::manifest::{CollectorReport, ProfileInfo, RunAs, ToolInfo};
use crate::archive::sign::SigningKey;
use crate::archive::writer::sidecar_path;
use crate::archive::writer::zipout::{EntryOptions, Method, ZipOut};
use crate::archive::{ArchiveWriter, Finished};
use crate::ids::{CollectorId, OsFamily};
use crate::outcome::{CollectorStatus, RunStatus};
use crate::sink::FileRequest;
use crate::source::{FileMeta, FileType, HostFacts, SourceDescription};
use std::io::Read;
use std::io::Write;

fn key() -> SigningKey {
    SigningKey::from_seed([7; 32])
}

fn trusted() -> Trusted {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("k.pub");
    std::fs::write(&p, format!("{} test\n", key().public_openssh())).unwrap();
    Trusted::load(&[p]).unwrap()
}

fn with_trust() -> VerifyOptions {
    VerifyOptions {
        identities: Identities::default(),
        trusted: Some(trusted()),
    }
}

fn no_trust() -> VerifyOptions {
    VerifyOptions::default()
}

fn manifest() -> Manifest {
    let host = HostFacts {
        hostname: Some("web01".into()),
        ..Default::default()
    };
    let mut c = CollectorReport::new(CollectorId::Processes);
    c.status = CollectorStatus::Failed;
    Manifest {
        schema_version: 1,
        tool: ToolInfo::current(),
        command_line: vec!["irsnap".into(), "collect".into()],
        run_as: RunAs {
            user: None,
            uid: Some(0),
            sid: None,
            elevated: true,
        },
        case: None,
        host,
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
        started: chrono::DateTime::from_timestamp(1_700_000_000, 0).unwrap(),
        ended: chrono::DateTime::from_timestamp(1_700_000_009, 0).unwrap(),
        status: RunStatus::Partial,
        collectors: vec![c],
        stages: vec![],
        members: vec![],
    }
}

/// A small archive with every kind of member the writer makes: a record part (sizes in the
/// local header), a deflated member and a stored raw copy (data descriptors), the stored
/// manifest and, when signed, its signature.
fn build(dir: &Path, name: &str, signed: bool, zip64: bool) -> Finished {
    let mut w = ArchiveWriter::create(dir, name, OsFamily::Linux).unwrap();
    if zip64 {
        w.force_zip64();
    }
    w.set_signer(signed.then(key));
    w.add_record(CollectorId::Processes, br#"{"pid":1,"name":"init"}"#)
        .unwrap();
    w.end_records_of(CollectorId::Processes).unwrap();
    w.add_bytes("collection.log", b"started\nended\n", None)
        .unwrap();
    let noise: Vec<u8> = (0..300u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    let meta = FileMeta {
        file_type: FileType::Regular,
        size: noise.len() as u64,
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
    };
    let req = FileRequest {
        display: "/tmp/x.bin".into(),
        logical: Path::new("/tmp/x.bin"),
        meta: &meta,
        copy: true,
        copy_cap: u64::MAX,
        keep: 0,
        member_name: None,
        keep_tail: false,
    };
    w.add_file(None, &req, &mut &noise[..], &|_| false).unwrap();
    w.finish(&manifest()).unwrap()
}

fn verdict(path: &Path, opts: &VerifyOptions) -> Verdict {
    verify(path, opts).unwrap().verdict()
}

fn drop_beside(f: &Finished) {
    let _ = std::fs::remove_file(&f.sidecar);
    if let Some(s) = &f.signature {
        let _ = std::fs::remove_file(s);
    }
}

/// Flip every byte of `pristine` in turn (XOR `mask`), write it to `path` and verify it;
/// returns how many flips ended in each verdict.
fn flip_all(
    path: &Path,
    pristine: &[u8],
    mask: u8,
    opts: &VerifyOptions,
) -> BTreeMap<&'static str, Vec<usize>> {
    let mut out: BTreeMap<&'static str, Vec<usize>> = BTreeMap::new();
    for i in 0..pristine.len() {
        let mut b = pristine.to_vec();
        b[i] ^= mask;
        std::fs::write(path, &b).unwrap();
        let v = match verdict(path, opts) {
            Verdict::Intact => "intact",
            Verdict::Damaged => "damaged",
            Verdict::NotChecked => "not_checked",
            Verdict::Unauthenticated => "unauthenticated",
        };
        out.entry(v).or_default().push(i);
    }
    std::fs::write(path, pristine).unwrap();
    out
}

fn counts(m: &BTreeMap<&'static str, Vec<usize>>) -> String {
    m.iter()
        .map(|(k, v)| format!("{k}: {}", v.len()))
        .collect::<Vec<_>>()
        .join(", ")
}

#[test]
fn every_single_byte_flip_of_a_signed_archive_is_caught_without_the_sidecar() {
    let dir = tempfile::tempdir().unwrap();
    for zip64 in [false, true] {
        let f = build(dir.path(), &format!("s{zip64}.zip"), true, zip64);
        drop_beside(&f);
        let pristine = std::fs::read(&f.path).unwrap();
        assert_eq!(verdict(&f.path, &with_trust()), Verdict::Intact);
        assert_eq!(verdict(&f.path, &no_trust()), Verdict::Unauthenticated);
        for (mask, opts) in [
            (0x01, with_trust()),
            (0x80, with_trust()),
            (0xFF, no_trust()),
        ] {
            let got = flip_all(&f.path, &pristine, mask, &opts);
            eprintln!(
                "signed, zip64 {zip64}, no sidecar, mask {mask:#04x}, {} bytes: {}",
                pristine.len(),
                counts(&got)
            );
            assert_eq!(
                got.keys().copied().collect::<Vec<_>>(),
                ["damaged"],
                "flips not caught: {got:?}"
            );
        }
    }
}

#[test]
fn every_single_byte_flip_is_caught_with_the_sidecar_and_never_ok_without() {
    let dir = tempfile::tempdir().unwrap();
    let f = build(dir.path(), "u.zip", false, false);
    let pristine = std::fs::read(&f.path).unwrap();
    assert_eq!(verdict(&f.path, &no_trust()), Verdict::Intact);
    let got = flip_all(&f.path, &pristine, 0x01, &no_trust());
    eprintln!(
        "unsigned, with sidecar, {} bytes: {}",
        pristine.len(),
        counts(&got)
    );
    assert_eq!(got.keys().copied().collect::<Vec<_>>(), ["damaged"]);
    // Without the sidecar an unsigned archive is never OK; most flips are still damage.
    drop_beside(&f);
    assert_eq!(verdict(&f.path, &no_trust()), Verdict::Unauthenticated);
    let got = flip_all(&f.path, &pristine, 0x01, &no_trust());
    eprintln!(
        "unsigned, no sidecar, {} bytes: {}",
        pristine.len(),
        counts(&got)
    );
    assert!(!got.contains_key("intact"), "{got:?}");
    // What is left unauthenticated is text inside the manifest only (its JSON still
    // parses): nothing in the zip structure or any other member.
    let m = zip_offsets(&pristine, "manifest.json");
    for i in got.get("unauthenticated").into_iter().flatten() {
        assert!(m.contains(&(*i as u64)), "flip at {i} outside the manifest");
    }
}

/// The byte range of a member's stored data.
fn zip_offsets(bytes: &[u8], name: &str) -> std::ops::Range<u64> {
    let mut z = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    let f = z.by_name(name).unwrap();
    let start = f.data_start().unwrap();
    start..start + f.compressed_size()
}

/// Members' contents as the zip crate reads them.
fn contents(bytes: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut z = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    (0..z.len())
        .map(|i| {
            let mut f = z.by_index(i).unwrap();
            let mut d = Vec::new();
            f.read_to_end(&mut d).unwrap();
            (f.name().unwrap().to_string(), d)
        })
        .collect()
}

/// The names of the members stored rather than deflated.
fn stored_names(bytes: &[u8]) -> BTreeSet<String> {
    let mut z = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    (0..z.len())
        .filter_map(|i| {
            let f = z.by_index_raw(i).unwrap();
            (f.compression() == zip::CompressionMethod::Stored).then(|| f.name().unwrap().into())
        })
        .collect()
}

/// What makes the forged `manifest.json.sig` from the forged manifest's text (None: none).
type SigMaker<'a> = dyn Fn(&[u8]) -> Option<Vec<u8>> + 'a;

/// Rebuild an archive as irsnap's writer lays it out, after `edit` changed its members or
/// its manifest; every hash the manifest lists is recomputed, as an attacker would.
/// `sig`: what goes in as `manifest.json.sig` (the original, a new one, or none).
fn forge(
    bytes: &[u8],
    edit: impl FnOnce(&mut Vec<(String, Vec<u8>)>, &mut serde_json::Value),
    sig: Option<&SigMaker<'_>>,
) -> Vec<u8> {
    let mut members = contents(bytes);
    let manifest_at = members
        .iter()
        .position(|(n, _)| n == "manifest.json")
        .unwrap();
    let original_text = members[manifest_at].1.clone();
    let original: serde_json::Value = serde_json::from_slice(&original_text).unwrap();
    let mut manifest = original.clone();
    let stored = stored_names(bytes);
    let old_sig = members
        .iter()
        .find(|(n, _)| n == MANIFEST_SIG_MEMBER)
        .map(|(_, d)| d.clone());
    members.retain(|(n, _)| n != "manifest.json" && n != MANIFEST_SIG_MEMBER);
    edit(&mut members, &mut manifest);
    let mut z = ZipOut::new(Vec::new());
    let opts = |method, large| EntryOptions {
        method,
        mtime: chrono::DateTime::from_timestamp(1_700_000_000, 0),
        large,
    };
    let mut hashes = BTreeMap::new();
    for (name, data) in &members {
        let method = if stored.contains(name) {
            Method::Stored
        } else {
            Method::Deflated(3)
        };
        z.start_file(name, opts(method, false)).unwrap();
        z.write_all(data).unwrap();
        let stored = z.end_file().unwrap().unwrap();
        hashes.insert(name.clone(), (Sha256::digest(data), data.len(), stored));
    }
    for e in manifest["members"].as_array_mut().unwrap() {
        if let Some((sha, size, stored)) = hashes.get(e["path"].as_str().unwrap()) {
            e["sha256"] = sha.to_hex().into();
            e["size"] = (*size as u64).into();
            e["stored_sha256"] = stored.to_hex().into();
        }
    }
    // Unchanged, the manifest keeps its exact bytes (the writer's layout is not serde's).
    let text = if manifest == original {
        original_text
    } else {
        serde_json::to_vec_pretty(&manifest).unwrap()
    };
    z.start_file("manifest.json", opts(Method::Stored, true))
        .unwrap();
    z.write_all(&text).unwrap();
    z.end_file().unwrap();
    let new_sig = match sig {
        None => old_sig,
        Some(make) => make(&text),
    };
    if let Some(s) = new_sig {
        z.start_file(MANIFEST_SIG_MEMBER, opts(Method::Stored, false))
            .unwrap();
        z.write_all(&s).unwrap();
    }
    let tool: ToolInfo = serde_json::from_value(manifest["tool"].clone()).unwrap();
    z.finish(&archive_comment(&tool)).unwrap()
}

/// Write `bytes` as an archive of its own, without anything beside it.
fn alone(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

fn unsign(m: &mut serde_json::Value) {
    m.as_object_mut().unwrap().remove("signature");
}

fn no_sig() -> Option<&'static SigMaker<'static>> {
    Some(&|_: &[u8]| None)
}

#[test]
fn a_forged_archive_with_nothing_changed_still_verifies() {
    // The forging below is faithful: unchanged, its archive is accepted, so what the other
    // tests catch is the change, not the forging.
    let dir = tempfile::tempdir().unwrap();
    let f = build(dir.path(), "a.zip", true, false);
    let orig = std::fs::read(&f.path).unwrap();
    let same = alone(dir.path(), "same.zip", &forge(&orig, |_, _| {}, None));
    let r = verify(&same, &with_trust()).unwrap();
    assert_eq!(r.verdict(), Verdict::Intact, "{r:?}");
}

#[test]
fn member_changed_together_with_its_hash_in_the_manifest() {
    let dir = tempfile::tempdir().unwrap();
    let f = build(dir.path(), "a.zip", true, false);
    let orig = std::fs::read(&f.path).unwrap();
    let change = |m: &mut Vec<(String, Vec<u8>)>, _: &mut serde_json::Value| {
        let log = m.iter_mut().find(|(n, _)| n == "collection.log").unwrap();
        log.1 = b"nothing to see\n".to_vec();
    };
    // The old signature no longer covers the manifest.
    let p = alone(dir.path(), "kept-sig.zip", &forge(&orig, change, None));
    let r = verify(&p, &no_trust()).unwrap();
    assert_eq!(r.verdict(), Verdict::Damaged);
    assert!(matches!(
        r.signature_inside,
        Some(SignatureCheck::Invalid { .. })
    ));
    // The signature stripped and the manifest no longer saying it was signed: unsigned,
    // self-consistent, and so UNAUTHENTICATED, never OK.
    let p = alone(
        dir.path(),
        "stripped.zip",
        &forge(
            &orig,
            |m, v| {
                change(m, v);
                unsign(v);
            },
            no_sig(),
        ),
    );
    assert_eq!(verdict(&p, &no_trust()), Verdict::Unauthenticated);
    assert_eq!(verdict(&p, &with_trust()), Verdict::Unauthenticated);
    // ... and with the original sidecar beside it, damaged.
    std::fs::copy(&f.sidecar, sidecar_path(&p)).unwrap();
    assert_eq!(verdict(&p, &no_trust()), Verdict::Damaged);
}

#[test]
fn manifest_edited_status_hostname_and_collector_ok() {
    let dir = tempfile::tempdir().unwrap();
    let f = build(dir.path(), "a.zip", true, false);
    let orig = std::fs::read(&f.path).unwrap();
    type Edit = fn(&mut serde_json::Value);
    let edits: [(&str, Edit); 3] = [
        ("status", |m| m["status"] = "complete".into()),
        ("hostname", |m| m["host"]["hostname"] = "db02".into()),
        ("collector", |m| m["collectors"][0]["status"] = "ok".into()),
    ];
    for (what, edit) in edits {
        let p = alone(
            dir.path(),
            &format!("{what}.zip"),
            &forge(&orig, |_, m| edit(m), None),
        );
        let r = verify(&p, &no_trust()).unwrap();
        assert_eq!(r.verdict(), Verdict::Damaged, "{what}: {r:?}");
        let p = alone(
            dir.path(),
            &format!("{what}-unsigned.zip"),
            &forge(
                &orig,
                |_, m| {
                    edit(m);
                    unsign(m);
                },
                no_sig(),
            ),
        );
        assert_eq!(verdict(&p, &no_trust()), Verdict::Unauthenticated, "{what}");
    }
}

#[test]
fn signature_removed_or_made_by_another_key() {
    let dir = tempfile::tempdir().unwrap();
    let f = build(dir.path(), "a.zip", true, false);
    let orig = std::fs::read(&f.path).unwrap();
    // Removed, while the manifest still names the key: damaged.
    let p = alone(dir.path(), "gone.zip", &forge(&orig, |_, _| {}, no_sig()));
    assert_eq!(verdict(&p, &with_trust()), Verdict::Damaged);
    // Re-signed with the attacker's key, the manifest naming it: valid, but not trusted.
    let other = SigningKey::from_seed([9; 32]);
    let info = serde_json::to_value(other.info()).unwrap();
    let resign = |text: &[u8]| {
        Some(
            other
                .sign_digest(&Sha256::digest(text))
                .unwrap()
                .into_bytes(),
        )
    };
    let p = alone(
        dir.path(),
        "other.zip",
        &forge(&orig, |_, m| m["signature"] = info.clone(), Some(&resign)),
    );
    assert_eq!(verdict(&p, &with_trust()), Verdict::Unauthenticated);
    assert_eq!(verdict(&p, &no_trust()), Verdict::Unauthenticated);
}

#[test]
fn appended_bytes_are_caught() {
    let dir = tempfile::tempdir().unwrap();
    let f = build(dir.path(), "a.zip", true, false);
    let mut b = std::fs::read(&f.path).unwrap();
    b.extend_from_slice(b"appended");
    let r = verify(&alone(dir.path(), "x.zip", &b), &with_trust()).unwrap();
    assert_eq!(r.verdict(), Verdict::Damaged);
    assert!(r.structure.iter().any(|s| s.contains("appended")), "{r:?}");
}

#[test]
fn prepended_bytes_are_caught_even_with_offsets_adjusted() {
    let dir = tempfile::tempdir().unwrap();
    let f = build(dir.path(), "a.zip", true, false);
    let orig = std::fs::read(&f.path).unwrap();
    let stub = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00This program cannot be run in DOS mode.\r\r\n$";
    let mut b = stub.to_vec();
    b.extend_from_slice(&orig);
    let r = verify(&alone(dir.path(), "raw.zip", &b), &with_trust()).unwrap();
    assert_eq!(r.verdict(), Verdict::Damaged, "{r:?}");
    // As a self-extractor does it: every offset moved by the stub's length.
    let shift = stub.len() as u32;
    let eocd = (0..b.len() - 22)
        .rev()
        .find(|&i| b[i..i + 4] == [0x50, 0x4b, 0x05, 0x06])
        .unwrap();
    let cd = u32::from_le_bytes(b[eocd + 16..eocd + 20].try_into().unwrap()) as usize;
    b[eocd + 16..eocd + 20].copy_from_slice(&(cd as u32 + shift).to_le_bytes());
    let mut i = cd + shift as usize;
    while i < eocd {
        let off = u32::from_le_bytes(b[i + 42..i + 46].try_into().unwrap());
        b[i + 42..i + 46].copy_from_slice(&(off + shift).to_le_bytes());
        let var = [28, 30, 32]
            .iter()
            .map(|k| usize::from(u16::from_le_bytes([b[i + k], b[i + k + 1]])))
            .sum::<usize>();
        i += 46 + var;
    }
    let p = alone(dir.path(), "sfx.zip", &b);
    // The zip crate reads it as a valid archive...
    assert!(zip::ZipArchive::new(std::fs::File::open(&p).unwrap()).is_ok());
    // ...verify does not.
    let r = verify(&p, &with_trust()).unwrap();
    assert_eq!(r.verdict(), Verdict::Damaged);
    assert!(
        r.structure
            .iter()
            .any(|s| s.contains("before the first member")),
        "{r:?}"
    );
}

#[test]
fn duplicate_members_are_caught() {
    let dir = tempfile::tempdir().unwrap();
    let f = build(dir.path(), "a.zip", true, false);
    let orig = std::fs::read(&f.path).unwrap();
    let dup = |m: &mut Vec<(String, Vec<u8>)>, _: &mut serde_json::Value| {
        m.push(("collection.log".into(), b"a second log\n".to_vec()));
    };
    let p = alone(dir.path(), "dup.zip", &forge(&orig, dup, None));
    let r = verify(&p, &with_trust()).unwrap();
    assert_eq!(r.verdict(), Verdict::Damaged);
    assert!(r.structure.iter().any(|s| s.contains("duplicate")), "{r:?}");
}

#[test]
fn a_local_header_name_differing_from_the_central_one_is_caught() {
    let dir = tempfile::tempdir().unwrap();
    let f = build(dir.path(), "a.zip", true, false);
    let mut b = std::fs::read(&f.path).unwrap();
    // The first member's local name: "records/processes.jsonl" -> "records/processes.jsonk".
    let nlen = usize::from(u16::from_le_bytes([b[26], b[27]]));
    assert_eq!(&b[30..30 + nlen], b"records/processes.jsonl");
    b[30 + nlen - 1] = b'k';
    let r = verify(&alone(dir.path(), "x.zip", &b), &with_trust()).unwrap();
    assert_eq!(r.verdict(), Verdict::Damaged);
    assert!(
        r.structure
            .iter()
            .any(|s| s.contains("local header names it")),
        "{r:?}"
    );
}

#[test]
fn an_archive_of_the_previous_layout_still_verifies() {
    // Before signatures: a deflated manifest and no stored-bytes hashes.
    let dir = tempfile::tempdir().unwrap();
    let f = build(dir.path(), "a.zip", false, false);
    let orig = std::fs::read(&f.path).unwrap();
    let mut members = contents(&orig);
    let m = members
        .iter_mut()
        .find(|(n, _)| n == "manifest.json")
        .unwrap();
    let mut v: serde_json::Value = serde_json::from_slice(&m.1).unwrap();
    for e in v["members"].as_array_mut().unwrap() {
        e.as_object_mut().unwrap().remove("stored_sha256");
    }
    m.1 = serde_json::to_vec_pretty(&v).unwrap();
    let mut z = ZipOut::new(Vec::new());
    for (name, data) in &members {
        let o = EntryOptions {
            method: Method::Deflated(3),
            mtime: None,
            large: name == "manifest.json",
        };
        z.start_file(name, o).unwrap();
        z.write_all(data).unwrap();
    }
    let tool: ToolInfo = serde_json::from_value(v["tool"].clone()).unwrap();
    let p = alone(
        dir.path(),
        "old.zip",
        &z.finish(&archive_comment(&tool)).unwrap(),
    );
    let r = verify(&p, &no_trust()).unwrap();
    assert_eq!(r.verdict(), Verdict::Unauthenticated, "{r:?}");
}
