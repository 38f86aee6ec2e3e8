#!/usr/bin/env python3
"""Folder-level include graph of the project, from the compiler's dependency output.

    scripts/include_graph.py [BUILD_DIR] [--level=1|2] [--dot] [--root=DIR] [--deps=FILE]
                             [--allow=A<->B ...]

Reads `ninja -C BUILD_DIR -t deps` (the headers the compiler actually opened for every object
it built), keeps the project's own files (under the repository, outside the build tree; include
roots of symbolic links are resolved), and reads the direct `#include "..."` lines of those files
for the edges (the deps list is transitive, so a header-only folder's own includes would be lost
otherwise; every edge's target must be a file of the deps set). Prints the edges between folders
with a count and one example, then every cycle (a strongly connected group of folders), and exits
1 when there is one, 0 otherwise, 2 on bad use.

Folders: --level 1 = the top folder (physics, host, validation, ...), --level 2 = two components
(physics/vmc, physics/ed, host/ops; files directly in a top folder count as that folder). By
default both levels are checked. --root: the repository (default: this script's parent folder);
--deps: read the `ninja -t deps` text from FILE instead of running ninja (tests). --allow: a
known cycle (its folders joined by <->, in any order) that is reported but does not fail. Run
in CI as the unit test IncludeGraph.NoFolderCycle (tests/unit/test_include_graph.cpp, which
also checks that a synthetic cycle is found).
"""
import os
import re
import subprocess
import sys

INCLUDE = re.compile(r'^\s*#\s*include\s*"([^"]+)"', re.M)


def fail_usage(msg):
    print(f"include_graph.py: {msg}", file=sys.stderr)
    sys.exit(2)


def deps_files(build, root, deps_file):
    """Project files (relative to root) named in the build's dependency log."""
    if deps_file:
        try:
            with open(deps_file, encoding="utf-8") as fh:
                out = fh.read()
        except OSError as e:
            fail_usage(f"cannot read '{deps_file}': {e}")
    else:
        try:
            out = subprocess.run(["ninja", "-C", build, "-t", "deps"], check=True,
                                 capture_output=True, text=True).stdout
        except (OSError, subprocess.CalledProcessError) as e:
            fail_usage(f"cannot read the dependency log of '{build}': {e}")
    build_real = os.path.realpath(build)
    files = set()
    for line in out.splitlines():
        if not line.startswith(" ") or not line.strip():
            continue
        path = line.strip()
        if not os.path.isabs(path):
            path = os.path.join(build, path)
        real = os.path.realpath(path)
        if not real.startswith(root + os.sep) or real.startswith(build_real + os.sep):
            continue
        files.add(os.path.relpath(real, root))
    if not files:
        fail_usage(f"no project files in the dependency log of '{build}' (not built yet?)")
    return files


def folder(path, level):
    parts = path.split("/")[:-1]
    if not parts:
        return "."
    return "/".join(parts[:level])


def strongly_connected(nodes, edges):
    """Tarjan's algorithm; returns the groups of more than one node."""
    index, low, on_stack, stack, groups = {}, {}, set(), [], []
    counter = [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            group = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                group.append(w)
                if w == v:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    sys.setrecursionlimit(10000)
    for v in sorted(nodes):
        if v not in index:
            visit(v)
    return groups


def main(argv):
    args = [a for a in argv if not a.startswith("--")]
    levels = [1, 2]
    dot = False
    root = os.path.realpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    deps_file = None
    allowed = []
    for a in argv:
        if not a.startswith("--"):
            continue
        key, _, value = a.partition("=")
        if key == "--level" and value in ("1", "2"):
            levels = [int(value)]
        elif key == "--dot" and not value:
            dot = True
        elif key == "--root" and value:
            root = os.path.realpath(value)
        elif key == "--deps" and value:
            deps_file = value
        elif key == "--allow" and "<->" in value:
            allowed.append(sorted(value.split("<->")))
        else:
            fail_usage(f"'{a}' is not allowed (allowed: --level=1|2, --dot, --root=DIR, "
                       "--deps=FILE, --allow=A<->B)")
    if len(args) > 1:
        fail_usage("give at most one build directory")
    build = args[0] if args else os.path.join(root, "build-cpu")
    files = deps_files(build, root, deps_file)
    cycles = 0
    for level in levels:
        edges, examples = {}, {}
        for f in sorted(files):
            with open(os.path.join(root, f), encoding="utf-8", errors="replace") as fh:
                text = fh.read()
            for inc in INCLUDE.findall(text):
                if inc not in files:  # system, generated or not from the root: not a project edge
                    continue
                a, b = folder(f, level), folder(inc, level)
                if a == b:
                    continue
                edges.setdefault(a, set()).add(b)
                examples.setdefault((a, b), []).append(f"{f} -> {inc}")
        nodes = set(edges) | {b for bs in edges.values() for b in bs}
        print(f"# folder include graph, level {level}: {len(nodes)} folders, "
              f"{sum(len(v) for v in edges.values())} edges")
        if dot:
            print("digraph includes {")
        for a in sorted(edges):
            for b in sorted(edges[a]):
                ex = examples[(a, b)]
                if dot:
                    print(f'  "{a}" -> "{b}"; // {len(ex)} includes')
                else:
                    print(f"{a} -> {b}  ({len(ex)} includes, e.g. {ex[0]})")
        if dot:
            print("}")
        for group in strongly_connected(nodes, edges):
            known = group in allowed
            cycles += 0 if known else 1
            print(f"{'known cycle' if known else 'CYCLE'} (level {level}): {' <-> '.join(group)}")
            for a in group:
                for b in sorted(edges.get(a, ())):
                    if b in group:
                        print(f"  {a} -> {b}: {examples[(a, b)][0]}")
    if cycles:
        print(f"include_graph.py: {cycles} folder cycle(s)", file=sys.stderr)
        return 1
    print("no folder cycle")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
