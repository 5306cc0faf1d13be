#!/usr/bin/env python3
"""Benchmark `irsnap collect`: median wall time, CPU time (user+sys) and peak RSS over N runs.

Padding the host to a realistic size first: the script starts extra sleeper processes and
listening sockets so that the process and socket counts match a busy server (defaults:
~350 processes, ~55 sockets). Figures go to stdout as a table and, with --json, as JSON.

    python3 scripts/bench.py --runs 9 --profile volatile
    python3 scripts/bench.py --runs 5 --profile triage --binary target/release/irsnap
"""
import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time


def count_processes():
    return sum(1 for d in os.listdir("/proc") if d.isdigit())


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--binary", default="target/release/irsnap")
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--profile", default="volatile")
    ap.add_argument("--procs", type=int, default=350, help="pad the host to this many processes")
    ap.add_argument("--sockets", type=int, default=55, help="open this many extra listening sockets")
    ap.add_argument("--extra", nargs=argparse.REMAINDER, default=[], help="extra collect arguments")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()

    if not os.path.exists(args.binary):
        subprocess.run(["cargo", "build", "--release"], check=True)

    sleepers = []
    missing = max(0, args.procs - count_processes())
    for _ in range(missing):
        sleepers.append(subprocess.Popen(["sleep", "600"]))
    socks = []
    for _ in range(args.sockets):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        s.listen()
        socks.append(s)
    time.sleep(0.2)
    procs_now = count_processes()

    out = tempfile.mkdtemp(prefix="irsnap-bench-")
    walls, cpus, rss = [], [], []
    try:
        for _ in range(args.runs):
            start = time.perf_counter()
            p = subprocess.Popen(
                [args.binary, "collect", "--quiet", "-o", out, "--profile", args.profile] + args.extra,
                stdout=subprocess.DEVNULL,
            )
            _, status, ru = os.wait4(p.pid, 0)
            walls.append(time.perf_counter() - start)
            cpus.append(ru.ru_utime + ru.ru_stime)
            rss.append(ru.ru_maxrss / 1024.0)  # KiB -> MiB on Linux
            code = os.waitstatus_to_exitcode(status)
            if code not in (0, 2):
                print(f"collect exited {code}", file=sys.stderr)
                sys.exit(1)
            for f in os.listdir(out):
                os.remove(os.path.join(out, f))
    finally:
        for s in sleepers:
            s.kill()
            s.wait()
        for s in socks:
            s.close()
        shutil.rmtree(out, ignore_errors=True)

    result = {
        "profile": args.profile,
        "runs": args.runs,
        "processes": procs_now,
        "extra_sockets": args.sockets,
        "median_wall_s": round(statistics.median(walls), 4),
        "median_cpu_s": round(statistics.median(cpus), 4),
        "median_peak_rss_mib": round(statistics.median(rss), 1),
        "max_peak_rss_mib": round(max(rss), 1),
    }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        for k, v in result.items():
            print(f"{k:22} {v}")


if __name__ == "__main__":
    main()
