#!/usr/bin/env python3
"""Score irsnap's detection on folders of labelled EVTX attack samples (a benchmark, not a test).

Each sample becomes its own offline Windows root: the .evtx is copied to
`Windows/System32/winevt/Logs/<Channel>.evtx` (the file name Windows gives that channel, `/` as
`%4`), `irsnap collect --root ROOT -o OUT --json [--sigma DIR]` runs on it, and the
`findings.jsonl` of the zip it writes is scored against the sample's labels:

  right technique %   a finding names the labelled technique (T1059.001 = T1059.001; a
                      sub-technique of a label given without one, T1059.001 for T1059, counts)
  parent technique %  a finding shares the label's parent technique (T1059 for T1059.001)
  any finding %       any finding at all (every sample, labelled with a technique or not)
  high/critical %     a finding of severity high or critical (for --benign logs: false alarms)
  own rule %          SigmaHQ regression cases only, with --sigma: the case's own rule fired

Technique percentages count only samples labelled with a technique. Labels come from the paths:
a folder named `TA00xx-...` or after a tactic ("Execution", "Defense Evasion") gives the
tactic; `Txxxx[.yyy]` in a folder or file name gives a technique (`T1135.xxx` -> T1135). A
folder holding `info.yml` is one SigmaHQ regression case: its rule is looked up by id in the
rule folders (`--rule-index`) and labelled with the rule's `attack.*` tags. A sample labelled
with one of Execution's techniques (T1047, T1053, T1059, T1569, ...) counts as TA0002 too.

Channels are read with python-evtx (`pip install python-evtx`) when it is installed: the
distinct Channel values of the first records decide the file names (a file mixing channels is
copied under each). Without it, or when it cannot read a file, the sample is copied under every
log name irsnap reads; that is still fair, since irsnap types events by provider + channel in
the record, never by file name. Samples are copied (never linked) into `--work`.

  python3 scripts/score-corpus.py --binary target/profiling/irsnap \\
      /work/shared/corpus/evtx/EVTX-ATTACK-SAMPLES /work/shared/corpus/evtx/EVTX-to-MITRE-Attack \\
      /work/shared/corpus/evtx/sigma --benign /work/shared/fixtures/windows-history/eventlogs \\
      [--sigma /work/shared/corpus/sigma-rules/rules/windows] [--tactic TA0002] \\
      [--jobs 2] [--timeout 120] [--work DIR] [--keep] [--list-misses] [--json]

Prints one Markdown table (a row per corpus, then the benign row), or with --json one JSON
object with every sample's result. A timeout or an irsnap error counts as a miss and is listed.
"""

import argparse
import concurrent.futures
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
LOG_DIR = ("Windows", "System32", "winevt", "Logs")
# The logs irsnap's execution_events and powershell_logs collectors read by default.
IRSNAP_CHANNELS = [
    "Microsoft-Windows-Sysmon/Operational", "Security",
    "Microsoft-Windows-TaskScheduler/Operational", "Microsoft-Windows-PowerShell/Operational",
    "Windows PowerShell", "PowerShellCore/Operational", "System", "Application",
    "Microsoft-Windows-Bits-Client/Operational", "Microsoft-Windows-WinRM/Operational",
    "Microsoft-Windows-WMI-Activity/Operational", "Microsoft-Windows-Windows Defender/Operational",
]
TACTICS = {
    "reconnaissance": "TA0043", "resource development": "TA0042", "initial access": "TA0001",
    "execution": "TA0002", "persistence": "TA0003", "privilege escalation": "TA0004",
    "defense evasion": "TA0005", "credential access": "TA0006", "discovery": "TA0007",
    "lateral movement": "TA0008", "collection": "TA0009", "exfiltration": "TA0010",
    "command and control": "TA0011", "impact": "TA0040",
}
# Enterprise ATT&CK's Execution techniques: a sample labelled with one of them is an Execution
# sample wherever its folder puts it (PsExec's T1569.002 under Lateral Movement, T1053.005
# under Persistence), as the tactic's own technique list counts it.
EXECUTION_TECHNIQUES = {
    "T1047", "T1053", "T1059", "T1072", "T1106", "T1129", "T1203", "T1204", "T1559",
    "T1569", "T1609", "T1610", "T1648", "T1651",
}
TACTIC_ID_RE = re.compile(r"^(TA\d{4})\b", re.I)
TECH_RE = re.compile(r"(?<![A-Za-z0-9])T(\d{4})(?:\.(\d{3}))?(?![0-9])", re.I)
DEFAULT_RULE_DIRS = ["/work/shared/corpus/sigma-rules/rules", "/work/shared/fixtures/sigma/rules"]
CHANNEL_RECORDS = 200  # records read per file to find its channels

try:
    import Evtx.Evtx as python_evtx
except ImportError:
    python_evtx = None


def norm_tactic(s):
    return re.sub(r"[-_\s]+", " ", s.strip().lower())


def techniques_in(text):
    return {f"T{m[1]}" + (f".{m[2]}" if m[2] else "") for m in TECH_RE.finditer(text)}


def path_labels(parts):
    """(techniques, tactics) named by folder and file names."""
    techs, tactics = set(), set()
    for part in parts:
        m = TACTIC_ID_RE.match(part)
        if m:
            tactics.add(m[1].upper())
        elif norm_tactic(part) in TACTICS:
            tactics.add(TACTICS[norm_tactic(part)])
        techs |= techniques_in(part)
    return techs, tactics


def with_technique_tactics(labels):
    """Adds TA0002 to (techniques, tactics) when a technique is one of Execution's."""
    techs, tactics = labels
    if any(t.split(".")[0] in EXECUTION_TECHNIQUES for t in techs):
        tactics = tactics | {"TA0002"}
    return techs, tactics


def tag_labels(tags):
    techs, tactics = set(), set()
    for tag in tags:
        tag = tag.lower()
        if not tag.startswith("attack."):
            continue
        value = tag[len("attack."):]
        if re.fullmatch(r"t\d{4}(\.\d{3})?", value):
            techs.add(value.upper())
        elif norm_tactic(value) in TACTICS:
            tactics.add(TACTICS[norm_tactic(value)])
    return techs, tactics


class RuleIndex:
    """Sigma rule id -> (file, tags), read lazily from the rule folders (no YAML library)."""

    def __init__(self, dirs):
        self.dirs, self.by_id, self.by_name = dirs, None, {}

    def lookup(self, rule_id, case_name):
        if self.by_id is None:
            self.by_id = {}
            for d in self.dirs:
                for p in sorted(Path(d).rglob("*.yml")) if Path(d).is_dir() else []:
                    text = p.read_text(encoding="utf-8", errors="replace")
                    m = re.search(r"^id:\s*['\"]?([0-9a-fA-F-]{36})", text, re.M)
                    tags = re.search(r"^tags:\s*\n((?:[ \t]+-.*\n?)+)", text, re.M)
                    tags = re.findall(r"-\s*['\"]?([^'\"\s#]+)", tags[1]) if tags else []
                    if m:
                        self.by_id.setdefault(m[1].lower(), (str(p), tags))
                    self.by_name.setdefault(p.stem, (str(p), tags))
        return self.by_id.get(rule_id.lower()) or self.by_name.get(case_name)


def find_samples(corpus, rules):
    """Every sample of a corpus folder: dicts with name, evtx paths and labels."""
    corpus, samples = Path(corpus), []
    for dirpath, dirnames, filenames in os.walk(corpus):
        dirnames.sort()
        d = Path(dirpath)
        rel = d.relative_to(corpus).parts
        evtx = sorted(d / f for f in filenames if f.lower().endswith(".evtx"))
        if "info.yml" in filenames and evtx:  # one SigmaHQ regression case
            info = (d / "info.yml").read_text(encoding="utf-8", errors="replace")
            m = re.search(r"rule_metadata:\s*\n\s*-\s*id:\s*['\"]?([0-9a-fA-F-]{36})", info)
            rule_id = m[1].lower() if m else ""
            found = rules.lookup(rule_id, d.name) if rule_id else None
            techs, tactics = with_technique_tactics(
                tag_labels(found[1]) if found else (set(), set()))
            samples.append(dict(name="/".join(rel), evtx=evtx, techniques=techs,
                                tactics=tactics, rule_id=rule_id,
                                rule_file=found[0] if found else None))
            dirnames[:] = []
            continue
        for p in evtx:
            techs, tactics = with_technique_tactics(path_labels(list(rel) + [p.stem]))
            samples.append(dict(name="/".join(rel + (p.name,)), evtx=[p], techniques=techs,
                                tactics=tactics, rule_id=None))
    return samples


def evtx_channels(path):
    """Distinct Channel values of the first records, in order; [] when unknown."""
    if python_evtx is None:
        return []
    seen = []
    try:
        with python_evtx.Evtx(str(path)) as log:
            for i, rec in enumerate(log.records()):
                if i >= CHANNEL_RECORDS:
                    break
                m = re.search(r"<Channel>([^<]*)</Channel>", rec.xml())
                if m and m[1].strip() and m[1].strip() not in seen:
                    seen.append(m[1].strip())
    except Exception:  # python-evtx fails on some BinXML irsnap reads; keep what it gave
        pass
    return seen


def log_file_name(channel):
    name = channel.replace("/", "%4") + ".evtx"
    return None if "\\" in name or name.startswith(".") else name


def run_sample(sample, args, work, index):
    """Build the root, run irsnap, read the archive; the sample dict gains its results."""
    base = Path(work) / f"{index:04d}"
    logs = base.joinpath("root", *LOG_DIR)
    logs.mkdir(parents=True)
    channels, placed = [], []
    sample.update(channels=channels, placed=placed, findings=[], status="ok", unread=[],
                  typed_events=0, records_read=0, parse_errors=[])
    for src in sample["evtx"]:
        chans = evtx_channels(src) or ["?"]
        channels += [c for c in chans if c not in channels]
        for c in IRSNAP_CHANNELS if chans == ["?"] else chans:
            name = log_file_name(c)
            if name and name not in placed:
                shutil.copyfile(src, logs / name)
                placed.append(name)
    sample["unread"] = [c for c in channels if c not in IRSNAP_CHANNELS + ["?"]]
    cmd = [args.binary, "collect", "--root", str(base / "root"), "-o", str(base / "out"),
           "--json"] + (["--sigma", args.sigma] if args.sigma else [])
    t0 = time.monotonic()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=args.timeout)
    except subprocess.TimeoutExpired:
        sample["status"] = f"timeout after {args.timeout:g} s"
    else:
        sample["exit_code"] = proc.returncode
        try:
            archive = json.loads(proc.stdout)["archive"]
        except (ValueError, KeyError, TypeError):
            zips = sorted((base / "out").glob("*.zip"))
            archive = str(zips[0]) if zips else None
        if proc.returncode not in (0, 2) or not archive:
            err = (proc.stderr.strip().splitlines() or ["no archive"])[-1]
            sample["status"] = f"exit {proc.returncode}: {err[:200]}"
        if archive:
            read_archive(sample, archive)
    sample["seconds"] = round(time.monotonic() - t0, 2)
    if not args.keep:
        shutil.rmtree(base, ignore_errors=True)
    score(sample)
    return sample


def read_archive(sample, archive):
    try:
        with zipfile.ZipFile(archive) as z:
            names = z.namelist()
            if "findings.jsonl" in names:
                lines = z.read("findings.jsonl").splitlines()
                sample["findings"] = [json.loads(line) for line in lines if line.strip()]
            else:
                sample["status"] = "no findings.jsonl in the archive"
            for n in names:
                if not re.fullmatch(r"records/(execution_events|powershell_logs)(\.\d+)?\.jsonl", n):
                    continue
                for line in z.read(n).splitlines():
                    rec = json.loads(line) if line.strip() else {}
                    if rec.get("record_type") == "log_file":
                        sample["typed_events"] += rec.get("events_recorded", 0)
                        sample["records_read"] += rec.get("records_ok", 0)
                        if rec.get("parse_error"):
                            sample["parse_errors"].append(rec["parse_error"])
    except (zipfile.BadZipFile, OSError, ValueError) as e:
        sample["status"] = f"unreadable archive: {e}"


def score(s):
    """Strict: the label itself (or a sub-technique of a label without one); parent: same T1234."""
    got = sorted({t.upper() for f in s["findings"] for t in f.get("techniques") or []})
    pairs = [(g, lab) for g in got for lab in s["techniques"]]
    s["got"] = got
    s["strict"] = any(g == lab or ("." not in lab and g.startswith(lab + ".")) for g, lab in pairs)
    s["parent"] = any(g.split(".")[0] == lab.split(".")[0] for g, lab in pairs)
    s["any"] = bool(s["findings"])
    s["high"] = any(f.get("severity") in ("high", "critical") for f in s["findings"])
    s["own_rule"] = bool(s.get("rule_id")) and any(
        f.get("rule_id", "").lower() == "sigma:" + s["rule_id"] for f in s["findings"])


def pct(n, d):
    return f"{100.0 * n / d:.1f}% ({n}/{d})" if d else "–"


def summarize(name, samples, sigma):
    labelled = [s for s in samples if s["techniques"]]
    cases = [s for s in samples if s.get("rule_id")]
    return dict(
        corpus=name, samples=len(samples), with_technique=len(labelled),
        right_technique=pct(sum(s["strict"] for s in labelled), len(labelled)),
        parent_technique=pct(sum(s["parent"] for s in labelled), len(labelled)),
        any_finding=pct(sum(s["any"] for s in samples), len(samples)),
        high_critical=pct(sum(s["high"] for s in samples), len(samples)),
        own_rule=pct(sum(s["own_rule"] for s in cases), len(cases)) if sigma else "–",
        no_typed_events=sum(1 for s in samples if s["typed_events"] == 0),
        failed=sum(1 for s in samples if s["status"] != "ok"),
    )


COLUMNS = [("corpus", "corpus"), ("samples", "samples"), ("with_technique", "with technique"),
           ("right_technique", "right technique"), ("parent_technique", "parent technique"),
           ("any_finding", "any finding"), ("high_critical", "high/critical"),
           ("own_rule", "own Sigma rule"), ("no_typed_events", "no typed events"),
           ("failed", "timeouts/errors")]


def markdown(rows):
    out = ["| " + " | ".join(h for _, h in COLUMNS) + " |",
           "|" + "|".join("---" if k == "corpus" else "---:" for k, _ in COLUMNS) + "|"]
    out += ["| " + " | ".join(str(r[k]) for k, _ in COLUMNS) + " |" for r in rows]
    return "\n".join(out)


def describe_miss(s):
    why = [s["status"]] if s["status"] != "ok" else []
    if "?" in s["channels"]:
        why.append("channel unknown: copied under every log name irsnap reads")
    if s["typed_events"] == 0:
        why.append(f"no typed events ({s['records_read']} records read over all copies)")
    if s["unread"]:
        why.append("channels irsnap does not read: " + ", ".join(s["unread"]))
    label = ",".join(sorted(s["techniques"])) or ",".join(sorted(s["tactics"])) or "unlabelled"
    return (f"- {s['name']}  [{label}] got: {','.join(s['got']) or 'nothing'}"
            + (f"  ({'; '.join(why)})" if why else ""))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("corpus", nargs="*", help="folders of labelled attack samples")
    ap.add_argument("--benign", action="append", default=[], metavar="DIR",
                    help="folder of benign .evtx logs (repeatable); each log is one root")
    ap.add_argument("--binary", default=str(REPO / "target/release/irsnap"))
    ap.add_argument("--sigma", metavar="DIR", help="passed to irsnap collect --sigma")
    ap.add_argument("--rule-index", action="append", metavar="DIR",
                    help="Sigma rule folders to look regression-case rule ids up in "
                         f"(default: {', '.join(DEFAULT_RULE_DIRS)})")
    ap.add_argument("--tactic", help="keep only attack samples labelled with this tactic "
                                     "(TA0002 or a name such as execution); not --benign")
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--timeout", type=float, default=120.0, help="seconds per sample")
    ap.add_argument("--work", help="where roots and archives are built (default: a temp dir)")
    ap.add_argument("--keep", action="store_true", help="keep every root and archive")
    ap.add_argument("--list-misses", action="store_true",
                    help="list samples that missed their technique (or had no finding)")
    ap.add_argument("--json", action="store_true", help="print JSON instead of Markdown")
    args = ap.parse_args()
    if not args.corpus and not args.benign:
        ap.error("give at least one corpus folder or --benign DIR")
    if not os.access(args.binary, os.X_OK):
        ap.error(f"no irsnap binary at {args.binary} (build it, or pass --binary)")
    tactic = None
    if args.tactic:
        tactic = args.tactic.upper() if TACTIC_ID_RE.match(args.tactic) \
            else TACTICS.get(norm_tactic(args.tactic))
        if not tactic:
            ap.error(f"unknown tactic {args.tactic!r}")
    if python_evtx is None:
        print("note: python-evtx not installed; every sample goes under every log name irsnap "
              "reads", file=sys.stderr)

    rules = RuleIndex(args.rule_index or DEFAULT_RULE_DIRS)
    groups = []
    for c in args.corpus:
        samples = find_samples(c, rules)
        if tactic:
            samples = [s for s in samples if tactic in s["tactics"]]
        groups.append((Path(c).name, samples))
    for b in args.benign:
        logs = sorted(Path(b).rglob("*.evtx"))
        groups.append((f"benign: {Path(b).name}", [
            dict(name=str(p.relative_to(b)), evtx=[p], techniques=set(), tactics=set(),
                 rule_id=None) for p in logs]))

    work = args.work or tempfile.mkdtemp(prefix="irsnap-score-")
    Path(work).mkdir(parents=True, exist_ok=True)
    jobs = [s for _, samples in groups for s in samples]
    t0, done = time.monotonic(), 0
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
        futures = [pool.submit(run_sample, s, args, work, i) for i, s in enumerate(jobs)]
        for f, s in zip(futures, jobs):
            try:
                f.result()
            except Exception as e:  # a harness failure is that sample's miss, not the run's
                s["status"] = f"harness error: {e}"
                score(s)
            done += 1
            if sys.stderr.isatty():
                print(f"\r{done}/{len(jobs)} samples", end="", file=sys.stderr)
    elapsed = time.monotonic() - t0
    if sys.stderr.isatty():
        print(file=sys.stderr)
    if not args.work and not args.keep:
        shutil.rmtree(work, ignore_errors=True)

    rows = [summarize(name, samples, bool(args.sigma)) for name, samples in groups]
    if args.json:
        def clean(s):
            s = {k: v for k, v in s.items() if k != "findings"}
            s.update(evtx=[str(p) for p in s["evtx"]], techniques=sorted(s["techniques"]),
                     tactics=sorted(s["tactics"]))
            return s
        json.dump(dict(binary=args.binary, sigma=args.sigma, tactic=tactic,
                       seconds=round(elapsed, 1), summary=rows,
                       samples={n: [clean(s) for s in ss] for n, ss in groups}),
                  sys.stdout, indent=1)
        print()
        return
    flags = (f", --sigma {args.sigma}" if args.sigma else "") + (f", tactic {tactic}" if tactic else "")
    print(f"irsnap {args.binary}{flags}: {len(jobs)} roots in {elapsed:.1f} s, {args.jobs} jobs\n")
    print(markdown(rows))
    failed = [s for s in jobs if s["status"] != "ok"]
    if failed:
        print("\nTimeouts and errors (counted as misses):")
        print("\n".join(f"- {s['name']}: {s['status']}" for s in failed))
    if args.list_misses:
        for name, samples in groups:
            benign = name.startswith("benign: ")
            misses = [s for s in samples if (s["high"] if benign else
                      not (s["strict"] if s["techniques"] else s["any"]))]
            title = "high/critical findings" if benign else "misses"
            print(f"\n{name}: {len(misses)} {title}")
            print("\n".join(describe_miss(s) for s in misses))


if __name__ == "__main__":
    main()
