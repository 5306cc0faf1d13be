use super::*;
use std::collections::HashMap;
use std::io::Cursor;

const ARTEMIS: &str = "artemis/forensics/tests/test_data/linux/journal/\
     user-1000@e755452aab34485787b6d73f3035fb8c-000000000000068d-0005ff8ae923c73b.journal";

fn fixture(rel: &str) -> Vec<u8> {
    let p = format!(
        "{}/../shared/fixtures/linux-logs/{rel}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read(&p).unwrap_or_else(|e| panic!("{p}: {e}"))
}

fn all(_: &str) -> bool {
    true
}

fn read(data: Vec<u8>, skip: u64) -> (Vec<JournalEntry>, JournalReport) {
    let mut out = Vec::new();
    let opts = ReadOptions {
        skip_first: skip,
        wanted: &all,
    };
    let rep = read_journal(Cursor::new(data), &opts, |e| {
        out.push(e);
        ControlFlow::Continue(())
    })
    .unwrap();
    (out, rep)
}

/// The identifier journalctl prints: `SYSLOG_IDENTIFIER`, else `_COMM`.
fn identifiers(entries: &[JournalEntry]) -> HashMap<String, usize> {
    let mut m = HashMap::new();
    for e in entries {
        if let Some(v) = e.field("SYSLOG_IDENTIFIER").or_else(|| e.field("_COMM")) {
            *m.entry(String::from_utf8_lossy(v).into_owned())
                .or_default() += 1;
        }
    }
    m
}

/// SOURCES.md: 410 entries, 2023-07-03T01:16:05.559099Z → 2023-07-03T01:21:55.846390Z; top
/// identifiers systemd×186, gnome-software×82, gnome-shell×47, vboxclient.desktop×40,
/// wireplumber×15 (a compact, ZSTD-capable archived user journal).
#[test]
fn artemis_user_journal_matches_journalctl() {
    let (entries, rep) = read(fixture(ARTEMIS), 0);
    assert_eq!(entries.len(), 410);
    assert_eq!(rep.entries_read, 410);
    assert!(!rep.arrays_damaged, "{:?}", rep.notes);
    assert_eq!(rep.fields_damaged, 0, "{:?}", rep.notes);
    assert!(rep.header.compact());
    assert_eq!(rep.header.state_name(), "archived");
    assert_eq!(
        rep.first_realtime.unwrap().to_rfc3339(),
        "2023-07-03T01:16:05.559099+00:00"
    );
    assert_eq!(
        rep.last_realtime.unwrap().to_rfc3339(),
        "2023-07-03T01:21:55.846390+00:00"
    );
    let ids = identifiers(&entries);
    for (id, n) in [
        ("systemd", 186),
        ("gnome-software", 82),
        ("gnome-shell", 47),
        ("vboxclient.desktop", 40),
        ("wireplumber", 15),
    ] {
        assert_eq!(ids.get(id), Some(&n), "{id}");
    }
    assert!(entries.iter().all(|e| e.boot_id.len() == 32));
    assert!(entries.iter().any(|e| e.field("_CMDLINE").is_some()));
    // The newest 10 only.
    let (tail, rep) = read(fixture(ARTEMIS), 400);
    assert_eq!(tail.len(), 10);
    assert_eq!(rep.entries_skipped, 400);
    assert_eq!(tail[9].seqnum, entries[409].seqnum);
}

/// Offset of the header's first entry array.
fn first_array(data: &[u8]) -> usize {
    layout::le_u64(data, 176) as usize
}

#[test]
fn damaged_entry_array_falls_back_to_the_scan() {
    let mut data = fixture(ARTEMIS);
    let arr = first_array(&data);
    data[arr] = 0x55; // not an ENTRY_ARRAY any more
    let (entries, rep) = read(data, 0);
    assert!(rep.arrays_damaged);
    assert_eq!(entries.len(), 410, "{:?}", rep.notes);
    assert_eq!(rep.entries_recovered_by_scan, 410);
    // Entries come out once each, in order.
    assert!(entries.windows(2).all(|w| w[0].offset < w[1].offset));

    // An array item pointing into the void: the entries before it come from the arrays, the
    // rest from the scan, none twice.
    let mut data = fixture(ARTEMIS);
    let arr = first_array(&data);
    let item = arr + 24 + 4;
    data[item..item + 4].copy_from_slice(&0xffff_fff0u32.to_le_bytes());
    let (entries, rep) = read(data, 0);
    assert!(rep.arrays_damaged);
    assert_eq!(entries.len(), 410, "{:?}", rep.notes);
    assert_eq!(rep.entries_recovered_by_scan, 409);
}

#[test]
fn truncated_and_garbage_files_never_panic() {
    let data = fixture(ARTEMIS);
    for cut in [
        300usize,
        4096,
        data.len() / 3,
        data.len() / 2,
        data.len() - 7,
    ] {
        let (entries, rep) = read(data[..cut].to_vec(), 0);
        assert!(rep.truncated, "cut at {cut}");
        assert!(entries.len() <= 410);
    }
    // Most of this file is its data hash table; the objects come after it.
    let (entries, rep) = read(data[..data.len() * 99 / 100].to_vec(), 0);
    assert!(entries.len() > 300, "{} {:?}", entries.len(), rep.notes);
    // Noise over the arena.
    let mut noisy = data.clone();
    let mut x = 0x2545_f491_4f6c_dd1du64;
    for b in noisy.iter_mut().skip(300_000).step_by(97) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        *b = x as u8;
    }
    let (entries, rep) = read(noisy, 0);
    assert!(!entries.is_empty());
    assert!(rep.notes.len() <= 20);
    assert!(matches!(
        read_journal(
            Cursor::new(b"May 11 09:12:01 host x: text\n".to_vec()),
            &ReadOptions {
                skip_first: 0,
                wanted: &all
            },
            |_| ControlFlow::Continue(())
        ),
        Err(JournalError::NotAJournal)
    ));
}

/// A regular-layout (not compact) journal built here: LZ4, XZ and ZSTD-flagged payloads,
/// uncompressed ones, and a loop in the entry arrays.
#[test]
fn regular_layout_and_every_compression() {
    let msgs: Vec<Vec<u8>> = vec![
        b"MESSAGE=plain".to_vec(),
        lz4_object(b"MESSAGE=lz4 compressed message"),
        xz_object(b"MESSAGE=xz compressed message"),
    ];
    let flags = [0u8, layout::OBJ_COMPRESSED_LZ4, layout::OBJ_COMPRESSED_XZ];
    let data = build_regular(&msgs, &flags, false);
    let (entries, rep) = read(data, 0);
    assert!(!rep.arrays_damaged, "{:?}", rep.notes);
    let m: Vec<String> = entries
        .iter()
        .map(|e| String::from_utf8_lossy(e.field("MESSAGE").unwrap()).into_owned())
        .collect();
    assert_eq!(
        m,
        ["plain", "lz4 compressed message", "xz compressed message"]
    );
    assert_eq!(entries[0].field("_COMM"), Some(&b"sshd"[..]));
    // The array links to itself: a loop, noticed; nothing read twice.
    let data = build_regular(&msgs, &flags, true);
    let (entries, rep) = read(data, 0);
    assert_eq!(entries.len(), 3);
    assert!(
        rep.notes.iter().any(|n| n.contains("loop")),
        "{:?}",
        rep.notes
    );
    // A compressed payload that is not what its flag says: that field is damaged, the
    // entry is kept.
    let bad = vec![b"MESSAGE=x".to_vec(), b"garbage!".to_vec()];
    let data = build_regular(&bad, &[0, layout::OBJ_COMPRESSED_ZSTD], false);
    let (entries, rep) = read(data, 0);
    assert_eq!(entries.len(), 2);
    assert_eq!(entries[1].damaged_fields, 1);
    assert_eq!(rep.fields_damaged, 1);
}

fn lz4_object(payload: &[u8]) -> Vec<u8> {
    let mut v = (payload.len() as u64).to_le_bytes().to_vec();
    v.extend(lz4_flex::block::compress(payload));
    v
}

fn xz_object(payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    lzma_rs::xz_compress(&mut std::io::BufReader::new(payload), &mut out).unwrap();
    out
}

fn pad8(v: &mut Vec<u8>) {
    while !v.len().is_multiple_of(8) {
        v.push(0);
    }
}

fn object(kind: u8, flags: u8, body: &[u8]) -> Vec<u8> {
    let mut o = vec![kind, flags, 0, 0, 0, 0, 0, 0];
    o.extend(((16 + body.len()) as u64).to_le_bytes());
    o.extend(body);
    o
}

/// A journal with one entry per message (each also holding `_COMM=sshd`).
fn build_regular(msgs: &[Vec<u8>], flags: &[u8], looped: bool) -> Vec<u8> {
    let header_size = 272usize;
    let mut f = vec![0u8; header_size];
    f[..8].copy_from_slice(layout::SIGNATURE);
    let incompat = layout::INCOMPAT_LZ4 | layout::INCOMPAT_XZ | layout::INCOMPAT_ZSTD;
    f[12..16].copy_from_slice(&incompat.to_le_bytes());
    f[88..96].copy_from_slice(&(header_size as u64).to_le_bytes());
    let data_body = |payload: &[u8]| {
        let mut b = vec![0u8; 48];
        b.extend(payload);
        b
    };
    let comm = f.len() as u64;
    f.extend(object(layout::OBJECT_DATA, 0, &data_body(b"_COMM=sshd")));
    pad8(&mut f);
    let mut entries = Vec::new();
    for (i, (m, fl)) in msgs.iter().zip(flags).enumerate() {
        let d = f.len() as u64;
        f.extend(object(layout::OBJECT_DATA, *fl, &data_body(m)));
        pad8(&mut f);
        let mut body = Vec::new();
        body.extend((i as u64 + 1).to_le_bytes());
        body.extend((1_700_000_000_000_000u64 + i as u64).to_le_bytes());
        body.extend(5u64.to_le_bytes());
        body.extend([7u8; 16]);
        body.extend(0u64.to_le_bytes());
        for item in [d, comm] {
            body.extend(item.to_le_bytes());
            body.extend(0u64.to_le_bytes());
        }
        entries.push(f.len() as u64);
        f.extend(object(layout::OBJECT_ENTRY, 0, &body));
        pad8(&mut f);
    }
    let arr = f.len() as u64;
    let mut body = if looped { arr } else { 0 }.to_le_bytes().to_vec();
    for e in &entries {
        body.extend(e.to_le_bytes());
    }
    body.extend(0u64.to_le_bytes());
    f.extend(object(layout::OBJECT_ENTRY_ARRAY, 0, &body));
    pad8(&mut f);
    let arena = (f.len() - header_size) as u64;
    f[96..104].copy_from_slice(&arena.to_le_bytes());
    f[144..152].copy_from_slice(&(2 * msgs.len() as u64 + 2).to_le_bytes());
    f[152..160].copy_from_slice(&(msgs.len() as u64).to_le_bytes());
    f[176..184].copy_from_slice(&arr.to_le_bytes());
    f
}
