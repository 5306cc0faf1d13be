#!/usr/bin/env python3
"""Check irsnap archives with the clients analysts use (run by scripts/duckdb-smoke.sh).

For every archive given:
  - zip: Python's zipfile opens it and testzip() finds no bad CRC; `unzip -t` passes;
  - schema: every records/*.jsonl line validates against the archive's own
    schema/<collector>.schema.json (JSON Schema 2020-12, date-time formats checked), and so
    does manifest.json against schema/manifest.schema.json; no line carries a field the
    schema does not name (the published schemas stay open for forward compatibility, so this
    is checked here); the archive's schemas equal the repository's schema/ when given;
  - DuckDB: read_json_auto loads every non-empty records/*.jsonl, timeline.jsonl and
    findings.jsonl (validated too once they have a schema/<name>.schema.json) with as
    many rows as lines, and answers a few analyst queries;
  - typed views: the archive's schema/duckdb.sql, run from the unzipped archive's top
    directory, makes one view per records file, timeline and findings, each with as many
    rows as the files have lines and every column its schema names (empty files and
    collectors that did not run included).

Prints a human summary; `--json-out FILE` writes the facts for the Rust test to assert on.
Exit status 0 when every check passed, 1 otherwise.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile

import duckdb
import jsonschema
from jsonschema import Draft202012Validator, FormatChecker

MAX_ERRORS = 20

# Analyst queries per member: (label, SQL over the view `t`, the columns they need).
QUERIES = {
    "records/processes.jsonl": [
        (
            "processes by user",
            'SELECT coalesce("user", \'?\') AS user, count(*) AS n FROM t GROUP BY 1 ORDER BY n DESC, user',
            ["user"],
        ),
    ],
    "records/scheduled_tasks.jsonl": [
        (
            "task actions by kind",
            "SELECT a.kind AS kind, count(*) AS n FROM (SELECT unnest(actions) AS a FROM t) GROUP BY 1 ORDER BY n DESC, kind",
            ["actions"],
        ),
        ("tasks by kind", "SELECT kind, count(*) AS n FROM t GROUP BY 1 ORDER BY n DESC, kind", ["kind"]),
    ],
    "records/execution_events.jsonl": [
        (
            "events by kind",
            "SELECT kind, count(*) AS n FROM t WHERE record_type = 'event' GROUP BY 1 ORDER BY n DESC, kind",
            ["kind", "record_type"],
        ),
    ],
    "records/powershell_logs.jsonl": [
        (
            "powershell records by type",
            "SELECT record_type, count(*) AS n FROM t GROUP BY 1 ORDER BY n DESC, record_type",
            ["record_type"],
        ),
    ],
    "records/shell_history.jsonl": [
        ("history by shell", "SELECT shell, count(*) AS n FROM t GROUP BY 1 ORDER BY n DESC, shell", ["shell"]),
    ],
    "records/temp_scripts.jsonl": [
        (
            "staged files by type",
            "SELECT detected_type, count(*) AS n FROM t GROUP BY 1 ORDER BY n DESC, detected_type",
            ["detected_type"],
        ),
    ],
    "records/network.jsonl": [
        ("sockets by protocol", "SELECT protocol, count(*) AS n FROM t GROUP BY 1 ORDER BY n DESC, protocol", ["protocol"]),
    ],
    "timeline.jsonl": [
        (
            "timeline by timestamp_desc",
            "SELECT timestamp_desc, count(*) AS n FROM t GROUP BY 1 ORDER BY n DESC, timestamp_desc",
            ["timestamp_desc"],
        ),
    ],
}


class Failures:
    def __init__(self):
        self.items = []

    def add(self, msg):
        if len(self.items) < 200:
            self.items.append(msg)
        print(f"  FAIL {msg}")


def resolve(schema, root):
    """Follow local $ref pointers (`#/$defs/Name`)."""
    seen = 0
    while isinstance(schema, dict) and "$ref" in schema and seen < 64:
        ref = schema["$ref"]
        if not ref.startswith("#/"):
            break
        target = root
        for part in ref[2:].split("/"):
            target = target[part]
        # Keep sibling keywords (2020-12 allows them next to $ref): merge, target first.
        merged = dict(target)
        for k, v in schema.items():
            if k != "$ref":
                if k == "properties":
                    merged["properties"] = {**target.get("properties", {}), **v}
                else:
                    merged[k] = v
        schema = merged
        seen += 1
    return schema


def candidates(schema, root):
    """Every subschema that may describe the same instance (branches of oneOf/anyOf/allOf)."""
    out, stack = [], [schema]
    while stack:
        s = resolve(stack.pop(), root)
        if not isinstance(s, dict):
            continue
        out.append(s)
        for key in ("oneOf", "anyOf", "allOf"):
            stack.extend(s.get(key, []))
        if "then" in s:
            stack.append(s["then"])
        if "else" in s:
            stack.append(s["else"])
    return out


def undocumented(value, schema, root, path, found):
    """Fields present in `value` that no applicable schema names: the check the open
    published schemas leave out."""
    cands = candidates(schema, root)
    if isinstance(value, dict):
        props, open_map = {}, False
        for c in cands:
            for k, v in c.get("properties", {}).items():
                props.setdefault(k, []).append(v)
            ap = c.get("additionalProperties")
            if isinstance(ap, dict) or ap is True or c.get("patternProperties"):
                open_map = True
                if isinstance(ap, dict):
                    props.setdefault("*", []).append(ap)
        for k, v in value.items():
            subs = props.get(k) or (props.get("*") if open_map else None)
            if subs is None:
                if not open_map:
                    found.append(f"{path}.{k}")
                continue
            undocumented(v, {"anyOf": subs}, root, f"{path}.{k}", found)
    elif isinstance(value, list):
        items = []
        for c in cands:
            if isinstance(c.get("items"), dict):
                items.append(c["items"])
            for i, p in enumerate(c.get("prefixItems", [])):
                if i < len(value):
                    undocumented(value[i], p, root, f"{path}[{i}]", found)
        if items:
            for i, v in enumerate(value):
                undocumented(v, {"anyOf": items}, root, f"{path}[{i}]", found)


def check_zip(path, fails, facts):
    with zipfile.ZipFile(path) as z:
        bad = z.testzip()
        facts["testzip"] = bad
        if bad is not None:
            fails.add(f"{path}: zipfile.testzip() found a bad member: {bad}")
        facts["members"] = len(z.namelist())
    unzip = shutil.which("unzip")
    if unzip is None:
        print("  SKIPPED unzip -t: unzip is not installed")
        facts["unzip_t"] = "skipped"
        return
    r = subprocess.run([unzip, "-t", "-qq", path], capture_output=True, text=True)
    facts["unzip_t"] = r.returncode
    if r.returncode != 0:
        fails.add(f"{path}: unzip -t exited {r.returncode}: {(r.stdout + r.stderr)[-500:]}")


def validate_member(name, text, schema, fails, facts):
    Draft202012Validator.check_schema(schema)
    v = Draft202012Validator(schema, format_checker=FormatChecker())
    lines = [l for l in text.split("\n") if l]
    invalid, extra = 0, 0
    for i, line in enumerate(lines, 1):
        try:
            obj = json.loads(line)
        except ValueError as e:
            invalid += 1
            fails.add(f"{name}:{i}: not JSON: {e}")
            continue
        errs = sorted(v.iter_errors(obj), key=lambda e: list(e.absolute_path))
        if errs:
            invalid += 1
            if invalid <= MAX_ERRORS:
                e = errs[0]
                where = "/".join(str(p) for p in e.absolute_path)
                fails.add(f"{name}:{i}: /{where}: {e.message[:300]}")
        found = []
        undocumented(obj, schema, schema, "", found)
        if found:
            extra += 1
            if extra <= MAX_ERRORS:
                fails.add(f"{name}:{i}: fields not in the schema: {', '.join(found[:10])}")
    facts["lines"] = len(lines)
    facts["invalid"] = invalid
    facts["undocumented"] = extra
    return len(lines)


def duck(con, name, file_path, lines, fails, facts):
    # 256 MiB: a reassembled script block can be large; the default 16 MiB would refuse it.
    # A view cannot take a prepared parameter: quote the path as a SQL string literal.
    literal = "'" + file_path.replace("'", "''") + "'"
    con.execute(f"CREATE OR REPLACE VIEW t AS SELECT * FROM read_json_auto({literal}, maximum_object_size = 268435456)")
    rows = con.execute("SELECT count(*) FROM t").fetchone()[0]
    facts["duckdb_rows"] = rows
    if rows != lines:
        fails.add(f"{name}: DuckDB read {rows} rows of {lines} lines")
    cols = {r[0] for r in con.execute("DESCRIBE t").fetchall()}
    facts["duckdb_columns"] = len(cols)
    answers = {}
    for label, sql, need in QUERIES.get(name, []):
        if not set(need) <= cols:
            answers[label] = None
            continue
        res = con.execute(sql).fetchall()
        answers[label] = [[str(c) if c is not None else None for c in row] for row in res]
        if not res:
            fails.add(f"{name}: query '{label}' answered nothing")
        shown = ", ".join(f"{r[0]}={r[1]}" for r in res[:8])
        print(f"    {label}: {shown}")
    facts["queries"] = answers


def typed_views(tmp, names, schemas, fails, facts):
    if "schema/duckdb.sql" not in names:
        fails.add("schema/duckdb.sql is missing")
        return
    views = facts.setdefault("typed_views", {})
    here = os.getcwd()
    os.chdir(tmp)  # the views name their files relative to the archive's top directory
    try:
        con = duckdb.connect()
        with open("schema/duckdb.sql", encoding="utf-8") as f:
            con.execute(f.read())
        for key in sorted(schemas):
            if key == "manifest":
                continue
            files = [n for n in names if n == f"records/{key}.jsonl" or (n.startswith(f"records/{key}.") and n.endswith(".jsonl") and n[len(f"records/{key}."):-len(".jsonl")].isdigit())]
            if key in ("timeline", "findings"):
                files = [f"{key}.jsonl"] if f"{key}.jsonl" in names else []
            lines = 0
            for n in files:
                with open(n, encoding="utf-8") as f:
                    lines += sum(1 for l in f if l.strip())
            try:
                rows = con.execute(f'SELECT count(*) FROM "{key}"').fetchone()[0]
                cols = [r[0] for r in con.execute(f'DESCRIBE "{key}"').fetchall()]
            except duckdb.Error as e:
                fails.add(f"typed view {key}: {e}")
                continue
            views[key] = {"rows": rows, "columns": len(cols)}
            if rows != lines:
                fails.add(f"typed view {key}: {rows} rows for {lines} lines")
            want = set()
            collect_props(schemas[key], schemas[key], want)
            missing = want - set(cols)
            if missing:
                fails.add(f"typed view {key}: no column for {sorted(missing)[:10]}")
        # The question that failed on an empty file before: a named column, always there.
        con.execute('SELECT pid, command_line FROM processes LIMIT 1').fetchall()
        con.close()
    except duckdb.Error as e:
        fails.add(f"schema/duckdb.sql: {e}")
    finally:
        os.chdir(here)
    shown = ", ".join(f"{k}={v['rows']}" for k, v in views.items())
    print(f"  typed views: {shown}")


def collect_props(s, root, out, depth=0):
    """The top-level property names of a line schema, over every variant."""
    if depth > 32 or not isinstance(s, dict):
        return
    ref = s.get("$ref")
    if ref:
        collect_props(root.get("$defs", {}).get(ref.rsplit("/", 1)[-1], {}), root, out, depth + 1)
    out.update(s.get("properties", {}).keys())
    for k in ("oneOf", "anyOf", "allOf"):
        for v in s.get(k, []):
            collect_props(v, root, out, depth + 1)


def check_archive(path, repo_schema, fails):
    print(f"== {path}")
    facts = {}
    check_zip(path, fails, facts)
    with tempfile.TemporaryDirectory(prefix="irsnap-check-") as tmp:
        with zipfile.ZipFile(path) as z:
            wanted = [
                n
                for n in z.namelist()
                if n == "manifest.json"
                or n in ("timeline.jsonl", "findings.jsonl")
                or (n.startswith("records/") and n.endswith(".jsonl"))
                or (n.startswith("schema/") and n.endswith(".schema.json"))
                or n == "schema/duckdb.sql"
            ]
            for n in wanted:
                z.extract(n, tmp)

        def read(rel):
            with open(os.path.join(tmp, rel), encoding="utf-8") as f:
                return f.read()

        names = set(wanted)
        schemas = {}
        for n in sorted(names):
            if n.startswith("schema/") and n.endswith(".schema.json"):
                schemas[n[len("schema/") : -len(".schema.json")]] = json.loads(read(n))
        facts["schemas"] = sorted(schemas)
        if repo_schema:
            for key, s in schemas.items():
                p = os.path.join(repo_schema, f"{key}.schema.json")
                if not os.path.exists(p):
                    fails.add(f"schema/{key}.schema.json is not in the repository's {repo_schema}")
                elif json.load(open(p, encoding="utf-8")) != s:
                    fails.add(f"schema/{key}.schema.json differs from the repository's copy")

        manifest = json.loads(read("manifest.json"))
        listed = {m["path"]: m for m in manifest.get("members", [])}
        for n in names:
            if n.startswith("schema/") and n not in listed:
                fails.add(f"{n} is not listed in the manifest")
        if "manifest" not in schemas:
            fails.add("schema/manifest.schema.json is missing")
        else:
            validate_member("manifest.json", json.dumps(manifest), schemas["manifest"], fails, facts.setdefault("manifest.json", {}))

        typed_views(tmp, names, schemas, fails, facts)

        con = duckdb.connect()
        for n in sorted(names):
            if not (n.startswith("records/") or n in ("timeline.jsonl", "findings.jsonl")):
                continue
            mf = facts.setdefault(n, {})
            text = read(n)
            key = n[len("records/") : -len(".jsonl")] if n.startswith("records/") else n[: -len(".jsonl")]
            if key in schemas:
                lines = validate_member(n, text, schemas[key], fails, mf)
            elif n.startswith("records/"):
                fails.add(f"{n} has no schema/{key}.schema.json")
                lines = sum(1 for l in text.split("\n") if l)
            else:
                lines = sum(1 for l in text.split("\n") if l)
                mf["lines"] = lines
            print(f"  {n}: {lines} lines, {mf.get('invalid', '-')} invalid")
            if lines:
                try:
                    duck(con, n, os.path.join(tmp, n), lines, fails, mf)
                except duckdb.Error as e:
                    fails.add(f"{n}: DuckDB: {e}")
        con.close()
    return facts


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("archives", nargs="+")
    ap.add_argument("--repo-schema", help="the repository's schema/ folder, to compare with")
    ap.add_argument("--json-out", help="write the facts found as JSON here")
    args = ap.parse_args()
    from importlib.metadata import version
    print(f"duckdb {version('duckdb')}, jsonschema {version('jsonschema')}")
    fails = Failures()
    facts = {}
    for a in args.archives:
        try:
            facts[a] = check_archive(a, args.repo_schema, fails)
        except (OSError, ValueError, KeyError, zipfile.BadZipFile) as e:
            fails.add(f"{a}: {type(e).__name__}: {e}")
    if args.json_out:
        with open(args.json_out, "w", encoding="utf-8") as f:
            json.dump({"archives": facts, "failures": fails.items}, f, indent=1)
    if fails.items:
        print(f"archive-check: {len(fails.items)} failure(s)")
        return 1
    print(f"archive-check: {len(args.archives)} archive(s) OK")
    return 0


if __name__ == "__main__":
    sys.exit(main())
