#!/usr/bin/env python3
"""Import cycles between irsnap's modules: exit 1 and print them when there are any.

Two levels are checked, as ARCHITECTURE.md promises:
  - the top-level modules of the crate (`archive`, `collectors`, `detect`, ...): no cycle at all;
  - the submodules of each folder module (`source::live`, `source::root`, ...) among themselves:
    no cycle between siblings (a child using its parent's types is the normal shape of a Rust
    folder module and is not counted).
An edge A -> B is any path `crate::B...` (in `use` lines, braces included, or inline) or
`super::B` written in A's non-test code. Test modules (`#[cfg(test)] mod ...` bodies and
`tests.rs` files) are left out: tests may reach anywhere.

Usage: scripts/module-cycles.py [SRC_DIR]   (default: src next to this script's repo)
"""

import re
import sys
from pathlib import Path


def module_path(src: Path, file: Path) -> list[str]:
    rel = file.relative_to(src).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] in ("mod", "lib", "main"):
        parts = parts[:-1]
    return parts


def strip_tests_and_comments(text: str) -> str:
    # Cut at the first `#[cfg(test)]` that opens a module: by convention tests come last.
    m = re.search(r"#\[cfg\(test\)\]\s*(#\[[^\]]*\]\s*)*(pub(\([^)]*\))?\s+)?mod\s", text)
    if m:
        text = text[: m.start()]
    text = re.sub(r"//[^\n]*", "", text)
    return text


def use_targets(tree: str) -> list[list[str]]:
    """Expand a `use` tree (`crate::{a::b, c::{d, e}}`) into its paths."""
    out: list[list[str]] = []

    def walk(s: str, prefix: list[str]) -> None:
        s = s.strip()
        if not s:
            return
        # Split top-level commas.
        depth, start, pieces = 0, 0, []
        for i, ch in enumerate(s):
            if ch == "{":
                depth += 1
            elif ch == "}":
                depth -= 1
            elif ch == "," and depth == 0:
                pieces.append(s[start:i])
                start = i + 1
        pieces.append(s[start:])
        if len(pieces) > 1:
            for p in pieces:
                walk(p, prefix)
            return
        s = pieces[0].strip()
        brace = s.find("{")
        if brace >= 0 and s.endswith("}"):
            head = [p for p in s[:brace].split("::") if p.strip()]
            walk(s[brace + 1 : -1], prefix + [h.strip() for h in head])
            return
        segs = [p.strip() for p in s.split(" as ")[0].split("::") if p.strip()]
        out.append(prefix + segs)

    walk(tree, [])
    return out


def edges_of(src: Path, file: Path, text: str) -> set[tuple[str, ...]]:
    me = module_path(src, file)
    targets: set[tuple[str, ...]] = set()
    for m in re.finditer(r"\buse\s+([^;]+);", text):
        for path in use_targets(m.group(1)):
            resolved = resolve(me, file, path)
            if resolved:
                targets.add(tuple(resolved))
    for m in re.finditer(r"\bcrate::([a-z_][a-z0-9_]*)(?:::([a-z_][a-z0-9_]*))?", text):
        targets.add(tuple(p for p in (m.group(1), m.group(2)) if p))
    for m in re.finditer(r"(?<![:\w])super::([a-z_][a-z0-9_]*)", text):
        resolved = resolve(me, file, ["super", m.group(1)])
        if resolved:
            targets.add(tuple(resolved))
    return targets


def resolve(me: list[str], file: Path, path: list[str]) -> list[str] | None:
    if not path:
        return None
    # The module a file's `super` names: for `x/mod.rs` (module x) it is x's parent; for
    # `x/y.rs` (module x::y) it is x.
    if path[0] == "crate":
        return path[1:3] or None
    if path[0] == "super":
        base = me[:-1]
        rest = path[1:]
        while rest and rest[0] == "super":
            base = base[:-1]
            rest = rest[1:]
        return (base + rest)[: len(base) + 1] if rest else None
    if path[0] == "self":
        return (me + path[1:])[: len(me) + 1]
    return None


def find_cycles(nodes: set[str], edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one node (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    counter = [0]

    def strong(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in nodes:
                continue
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    sys.setrecursionlimit(10000)
    for v in sorted(nodes):
        if v not in index:
            strong(v)
    return out


def main() -> int:
    src = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent.parent / "src"
    files = [f for f in src.rglob("*.rs") if f.name != "tests.rs" and "tests" not in f.parts[len(src.parts):-1]]
    edges: dict[tuple[str, ...], set[tuple[str, ...]]] = {}
    for f in files:
        me = tuple(module_path(src, f))
        if not me:
            continue
        text = strip_tests_and_comments(f.read_text(encoding="utf-8"))
        edges.setdefault(me, set()).update(edges_of(src, f, text))

    problems: list[str] = []
    # Top level.
    top_nodes = {m[0] for m in edges}
    top_edges: dict[str, set[str]] = {}
    for a, bs in edges.items():
        for b in bs:
            if b and b[0] != a[0]:
                top_edges.setdefault(a[0], set()).add(b[0])
    for comp in find_cycles(top_nodes, top_edges):
        pairs = [f"{a} -> {b}" for a in comp for b in sorted(top_edges.get(a, ())) if b in comp]
        problems.append("top-level cycle: " + ", ".join(comp) + "\n    " + "\n    ".join(pairs))
    # Siblings inside each folder module.
    parents = {m[:-1] for m in edges if len(m) >= 2}
    for parent in sorted(parents):
        depth = len(parent) + 1
        kids = {m[:depth] for m in edges if len(m) >= depth and m[: len(parent)] == parent}
        kid_names = {".".join(k) for k in kids}
        kid_edges: dict[str, set[str]] = {}
        for a, bs in edges.items():
            if len(a) < depth or a[: len(parent)] != parent:
                continue
            ka = ".".join(a[:depth])
            for b in bs:
                if len(b) >= depth and b[: len(parent)] == parent:
                    kb = ".".join(b[:depth])
                    if kb != ka:
                        kid_edges.setdefault(ka, set()).add(kb)
        for comp in find_cycles(kid_names, kid_edges):
            pairs = [f"{a} -> {b}" for a in comp for b in sorted(kid_edges.get(a, ())) if b in comp]
            problems.append(
                f"cycle inside {'::'.join(parent)}: " + ", ".join(comp) + "\n    " + "\n    ".join(pairs)
            )
    if problems:
        print("\n".join(problems))
        print(f"{len(problems)} import cycle(s)")
        return 1
    print(f"no import cycles ({len(edges)} modules)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
