#!/usr/bin/env python3
"""Write a large EVTX file by repeating the chunks of a real one (a benchmark input, not a test).

  python3 scripts/gen-big-evtx.py SOURCE.evtx OUT.evtx --chunks 4000

Each 64 KiB chunk of SOURCE that holds records is copied in turn until OUT has --chunks chunks
(at most 65,535, the header's 16-bit count). Chunks keep their own checksums, so every copy is
a valid chunk; record ids repeat, as they do in recovered or concatenated logs. The file header
gets the new chunk count and its CRC-32. Used to measure `execution_events` on a log of
hundreds of MiB: `/usr/bin/time -v irsnap collect --root ROOT ...` with OUT under the log's name.
"""

import argparse
import struct
import sys
import zlib

HEADER = 4096
CHUNK = 65536


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("source")
    ap.add_argument("out")
    ap.add_argument("--chunks", type=int, default=4000)
    a = ap.parse_args()
    n = max(1, min(a.chunks, 65535))
    with open(a.source, "rb") as f:
        data = f.read()
    if data[:8] != b"ElfFile\0":
        sys.exit(f"{a.source}: not an EVTX file")
    chunks = [data[o:o + CHUNK] for o in range(HEADER, len(data) - CHUNK + 1, CHUNK)]
    chunks = [c for c in chunks if c[:8] == b"ElfChnk\0"]
    if not chunks:
        sys.exit(f"{a.source}: no chunks")
    header = bytearray(data[:HEADER])
    struct.pack_into("<Q", header, 8, 0)  # first chunk number
    struct.pack_into("<Q", header, 16, n - 1)  # last chunk number
    struct.pack_into("<H", header, 42, n)  # chunk count
    struct.pack_into("<I", header, 120, 0)  # flags: clean
    struct.pack_into("<I", header, 124, zlib.crc32(bytes(header[:120])))
    with open(a.out, "wb") as f:
        f.write(header)
        for i in range(n):
            f.write(chunks[i % len(chunks)])
    print(f"{a.out}: {n} chunks from {len(chunks)} source chunks, {HEADER + n * CHUNK} bytes")


if __name__ == "__main__":
    main()
