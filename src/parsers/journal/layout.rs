//! The on-disk layout of a journal file: header fields and object headers, little-endian.
//! Reference: systemd `docs/JOURNAL_FILE_FORMAT.md` ("Journal File Format"),
//! `src/libsystemd/sd-journal/journal-def.h`.

pub const SIGNATURE: &[u8; 8] = b"LPKSHHRH";

/// `incompatible_flags`.
pub const INCOMPAT_XZ: u32 = 1;
pub const INCOMPAT_LZ4: u32 = 2;
pub const INCOMPAT_KEYED_HASH: u32 = 4;
pub const INCOMPAT_ZSTD: u32 = 8;
pub const INCOMPAT_COMPACT: u32 = 16;
pub const INCOMPAT_KNOWN: u32 =
    INCOMPAT_XZ | INCOMPAT_LZ4 | INCOMPAT_KEYED_HASH | INCOMPAT_ZSTD | INCOMPAT_COMPACT;

/// Object types.
pub const OBJECT_DATA: u8 = 1;
pub const OBJECT_ENTRY: u8 = 3;
pub const OBJECT_ENTRY_ARRAY: u8 = 6;
pub const OBJECT_TAG: u8 = 7;

/// Object flags: how a DATA object's payload is compressed.
pub const OBJ_COMPRESSED_XZ: u8 = 1;
pub const OBJ_COMPRESSED_LZ4: u8 = 2;
pub const OBJ_COMPRESSED_ZSTD: u8 = 4;

pub const OBJECT_HEADER_SIZE: u64 = 16;
/// Smallest header a journal can have (systemd v187's).
pub const MIN_HEADER_SIZE: u64 = 208;
/// ENTRY: object header, seqnum, realtime, monotonic, boot id, xor hash.
pub const ENTRY_ITEMS_AT: u64 = 64;
/// ENTRY_ARRAY: object header, next array offset.
pub const ENTRY_ARRAY_ITEMS_AT: u64 = 24;
/// DATA payload offset: regular and compact layouts.
pub const DATA_PAYLOAD_AT: u64 = 64;
pub const DATA_PAYLOAD_AT_COMPACT: u64 = 72;

pub fn le_u64(b: &[u8], at: usize) -> u64 {
    b.get(at..at + 8)
        .and_then(|s| s.try_into().ok())
        .map(u64::from_le_bytes)
        .unwrap_or(0)
}

pub fn le_u32(b: &[u8], at: usize) -> u32 {
    b.get(at..at + 4)
        .and_then(|s| s.try_into().ok())
        .map(u32::from_le_bytes)
        .unwrap_or(0)
}

/// The header fields the reader uses.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Header {
    pub compatible_flags: u32,
    pub incompatible_flags: u32,
    /// 0 offline, 1 online (being written, or its writer died), 2 archived.
    pub state: u8,
    pub machine_id: [u8; 16],
    pub header_size: u64,
    pub arena_size: u64,
    pub tail_object_offset: u64,
    pub n_objects: u64,
    pub n_entries: u64,
    pub entry_array_offset: u64,
    pub head_entry_realtime: u64,
    pub tail_entry_realtime: u64,
}

impl Header {
    pub fn parse(b: &[u8]) -> Option<Header> {
        if b.len() < MIN_HEADER_SIZE as usize || &b[..8] != SIGNATURE {
            return None;
        }
        let mut machine_id = [0u8; 16];
        machine_id.copy_from_slice(&b[40..56]);
        Some(Header {
            compatible_flags: le_u32(b, 8),
            incompatible_flags: le_u32(b, 12),
            state: b[16],
            machine_id,
            header_size: le_u64(b, 88),
            arena_size: le_u64(b, 96),
            tail_object_offset: le_u64(b, 136),
            n_objects: le_u64(b, 144),
            n_entries: le_u64(b, 152),
            entry_array_offset: le_u64(b, 176),
            head_entry_realtime: le_u64(b, 184),
            tail_entry_realtime: le_u64(b, 192),
        })
    }

    pub fn compact(&self) -> bool {
        self.incompatible_flags & INCOMPAT_COMPACT != 0
    }

    pub fn state_name(&self) -> &'static str {
        match self.state {
            0 => "offline",
            1 => "online",
            2 => "archived",
            _ => "unknown",
        }
    }

    /// `xz`, `lz4`, `zstd` as the flags say data objects may be compressed.
    pub fn compression(&self) -> Vec<String> {
        let mut v = Vec::new();
        for (flag, name) in [
            (INCOMPAT_XZ, "xz"),
            (INCOMPAT_LZ4, "lz4"),
            (INCOMPAT_ZSTD, "zstd"),
        ] {
            if self.incompatible_flags & flag != 0 {
                v.push(name.to_string());
            }
        }
        v
    }
}

/// An object header: type, flags, size (the whole object's).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ObjectHeader {
    pub kind: u8,
    pub flags: u8,
    pub size: u64,
}

impl ObjectHeader {
    pub fn parse(b: &[u8]) -> Option<ObjectHeader> {
        if b.len() < OBJECT_HEADER_SIZE as usize {
            return None;
        }
        Some(ObjectHeader {
            kind: b[0],
            flags: b[1],
            size: le_u64(b, 8),
        })
    }
}

/// Objects start on 8-byte boundaries.
pub fn align8(n: u64) -> u64 {
    n.saturating_add(7) & !7
}
