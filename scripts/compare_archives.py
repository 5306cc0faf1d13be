#!/usr/bin/env python3
"""Compare two irsnap archives of the SAME offline root, made by two builds (Linux and
Windows-under-wine): same collectors with the same status, same copied evidence (member
names and SHA-256), and the same records in every records/*.jsonl — all record files,
whatever collectors exist, so collectors added later are covered without editing this.

Dropped before comparing (with the reason):
  * file times atime/ctime/btime: ctime and uid/gid/mode/owner/inode exist only on Unix,
    and wine reports creation time from its own bookkeeping, not the file system's birth time;
  * uid/gid/mode/owner: Unix-only metadata, absent on Windows by design;
  * the run's own facts (collection start/end, durations, tool build): not evidence.
Normalised before comparing: fractional seconds of every timestamp are cut to 7 digits,
because Windows file times are FILETIMEs (100 ns ticks) while Linux keeps nanoseconds; the
same file read through wine loses the last two digits, which is the file system's precision,
not a disagreement between the builds.
Everything else must be identical, line for line (order-insensitive).

Usage: compare_archives.py A.zip B.zip   -> exit 0 same, 1 different (diff printed).
"""
import json
import re
import sys
import zipfile

VOLATILE_KEYS = {
    "atime", "ctime", "btime", "uid", "gid", "mode", "owner", "inode", "dev",
    "collected_at", "started_at", "finished_at", "duration_ms", "elapsed_ms",
}


# RFC 3339 timestamp with a fraction: keep the 100 ns part only.
FRACTION = re.compile(r"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)\.(\d+)(Z|[+-]\d\d:\d\d)$")


def to_filetime_precision(text):
    m = FRACTION.match(text)
    if not m:
        return text
    return f"{m.group(1)}.{m.group(2)[:7].ljust(7, '0')}{m.group(3)}"


def strip(value):
    if isinstance(value, dict):
        return {k: strip(v) for k, v in value.items() if k not in VOLATILE_KEYS}
    if isinstance(value, list):
        return [strip(v) for v in value]
    if isinstance(value, str):
        return to_filetime_precision(value)
    return value


def records(z):
    out = {}
    for name in z.namelist():
        if name.startswith("records/") and name.endswith(".jsonl"):
            lines = z.read(name).decode("utf-8").splitlines()
            out[name] = sorted(
                json.dumps(strip(json.loads(l)), sort_keys=True) for l in lines if l.strip()
            )
    return out


def manifest(z):
    return json.loads(z.read("manifest.json"))


def evidence_members(m):
    """Copied evidence (files/...) by name -> sha256, from the manifest."""
    out = {}
    for member in m.get("members", []):
        name = member.get("name") or member.get("path")
        if name and name.startswith("files/"):
            out[name] = member.get("sha256")
    return out


def collectors(m):
    cs = m.get("collectors", [])
    if isinstance(cs, dict):
        cs = [dict(v, name=k) for k, v in cs.items()]
    return {c.get("name") or c.get("id"): c.get("status") for c in cs}


def main():
    a_path, b_path = sys.argv[1], sys.argv[2]
    za, zb = zipfile.ZipFile(a_path), zipfile.ZipFile(b_path)
    ma, mb = manifest(za), manifest(zb)
    failures = []

    ca, cb = collectors(ma), collectors(mb)
    if ca != cb:
        failures.append(f"collectors differ:\n  A {ca}\n  B {cb}")
    ea, eb = evidence_members(ma), evidence_members(mb)
    if ea != eb:
        only_a = sorted(set(ea) - set(eb))
        only_b = sorted(set(eb) - set(ea))
        changed = sorted(k for k in set(ea) & set(eb) if ea[k] != eb[k])
        failures.append(
            f"copied evidence differs: only A {only_a[:10]}, only B {only_b[:10]}, "
            f"hash differs {changed[:10]}"
        )

    ra, rb = records(za), records(zb)
    for name in sorted(set(ra) | set(rb)):
        la, lb = ra.get(name), rb.get(name)
        if la is None or lb is None:
            failures.append(f"{name}: only in {'B' if la is None else 'A'}")
            continue
        if la != lb:
            sa, sb = set(la), set(lb)
            msg = [f"{name}: {len(la)} vs {len(lb)} records differ"]
            for l in sorted(sa - sb)[:3]:
                msg.append(f"  only A: {l[:600]}")
            for l in sorted(sb - sa)[:3]:
                msg.append(f"  only B: {l[:600]}")
            failures.append("\n".join(msg))
        else:
            print(f"same: {name} ({len(la)} records)")
    print(f"same: collectors {sorted(ca)}" if ca == cb else "collectors differ")
    print(f"same: {len(ea)} copied evidence members" if ea == eb else "evidence differs")

    if failures:
        print("\n".join(failures), file=sys.stderr)
        return 1
    if not ra:
        # Not a failure (both builds agree there is nothing), but not a pass that proves
        # anything about parsing either: say so where CI logs show it.
        print("NOTE: no collector wrote records for this tree in either archive: "
              "no record was compared (only collectors and copied evidence)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
