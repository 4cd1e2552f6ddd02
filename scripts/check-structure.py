#!/usr/bin/env python3
"""Checks three rules of ARCHITECTURE.md that the compiler does not: no source file under
crates/*/src is over 600 lines; no two files of one crate import each other, directly or
round a circle (`use crate::…`, `super::…`, and a parent file's `child::…` paths count as
imports; `mod` lines and comments do not); and `unsafe` code (`unsafe {`, `unsafe fn`,
`unsafe impl`, `unsafe trait`, `unsafe extern`, `#[unsafe(…)]`) appears in no .rs file under
crates/ but the audited modules of UNSAFE_MODULES (comments and strings that mention the word
do not count). Exits 1 and names the files if any is broken.

    scripts/check-structure.py            # the workspace's crates
"""
import os
import re
import sys

MAX_LINES = 600
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "crates")
MOD_LINE = re.compile(r"^\s*(?:pub(?:\([^)]*\))?\s+)?mod (\w+);", re.M)
INLINE_MOD = re.compile(r"^\s*(?:pub(?:\([^)]*\))?\s+)?mod \w+ \{", re.M)
PATH = re.compile(r"\b(crate|super)::((?:\w+::)*)(\{[^}]*\}|\w+|\*)")
# The only files allowed to hold `unsafe` code: audited leaf modules with a safe API (see
# "Unsafe code" in ARCHITECTURE.md), relative to the workspace root.
UNSAFE_MODULES = [
    "crates/processes/src/shm.rs",
    "crates/suite/src/region.rs",
    "crates/may/src/coroutine.rs",
]
UNSAFE_CODE = re.compile(r"\bunsafe\s*(?:\{|\(|(?:fn|impl|trait|extern)\b)")
# What is not code: comments, string and char literals (raw strings included).
NOT_CODE = re.compile(
    r'//[^\n]*|/\*.*?\*/|r(#*)".*?"\1|b?"(?:\\.|[^"\\])*"|b?\'(?:\\.|[^\'\\])\'', re.S)


def module_file(src, parts):
    """The file of the longest module path in `parts`, or None."""
    found = None
    for i in range(1, len(parts) + 1):
        base = os.path.join(src, *parts[:i])
        if os.path.isfile(base + ".rs"):
            found = base + ".rs"
        elif os.path.isfile(os.path.join(base, "mod.rs")):
            found = os.path.join(base, "mod.rs")
        else:
            break
    return found


def source(path):
    text = open(path, encoding="utf-8").read()
    text = re.sub(r"(?s)#\[cfg\(test\)\]\s*mod tests \{.*", "", text)
    return re.sub(r"//[^\n]*", "", text)


def unsafe_lines(path):
    """The line numbers of `unsafe` code in `path`, comments and literals left out."""
    text = open(path, encoding="utf-8").read()
    code = NOT_CODE.sub(lambda m: re.sub(r"[^\n]", " ", m.group(0)), text)
    return [code.count("\n", 0, m.start()) + 1 for m in UNSAFE_CODE.finditer(code)]


def unsafe_outside_allowlist():
    """`file:line` of every `unsafe` code outside UNSAFE_MODULES, under crates/."""
    workspace = os.path.normpath(os.path.join(ROOT, ".."))
    found = []
    for d, _, fs in os.walk(ROOT):
        if os.sep + "target" in d:
            continue
        for f in sorted(fs):
            if not f.endswith(".rs"):
                continue
            path = os.path.join(d, f)
            rel = os.path.relpath(path, workspace).replace(os.sep, "/")
            if rel in UNSAFE_MODULES:
                continue
            found += [f"{rel}:{line}" for line in unsafe_lines(path)]
    return sorted(found)


def graph(src):
    files = [os.path.join(d, f) for d, _, fs in os.walk(src) for f in fs if f.endswith(".rs")]
    root = os.path.join(src, "lib.rs")
    if not os.path.isfile(root):
        root = os.path.join(src, "main.rs")
    root_text = source(root) if os.path.isfile(root) else ""
    reexported = {}
    for m in re.finditer(r"pub use (\w+)::\{([^}]*)\}", root_text):
        for item in re.split(r"[,\s]+", m.group(2)):
            if item:
                reexported[item.split("::")[-1]] = m.group(1)
    for m in re.finditer(r"pub use (\w+)::(\w+);", root_text):
        reexported[m.group(2)] = m.group(1)
    edges = {f: set() for f in files}
    for f in files:
        text = source(f)
        here = os.path.dirname(f)
        if os.path.basename(f) in ("lib.rs", "main.rs", "mod.rs"):
            body = MOD_LINE.sub("", text)
            for child in MOD_LINE.findall(text):
                if re.search(r"(?<![:\w])" + child + r"::", body):
                    target = module_file(here, [child])
                    if target:
                        edges[f].add(target)
        inline = INLINE_MOD.search(text)
        for base, path, last in PATH.findall(text):
            parts = [p for p in path.split("::") if p]
            prefix = []
            if base == "super":
                parent = os.path.dirname(here) if os.path.basename(f) == "mod.rs" else here
                rel = os.path.relpath(parent, src)
                prefix = [] if rel == "." else rel.split(os.sep)
            names = [last] if not last.startswith("{") else [
                n.strip().split("::")[0] for n in last[1:-1].split(",") if n.strip()]
            for name in names:
                defined_here = re.search(
                    r"\b(fn|struct|enum|const|static|type|mod|trait)\s+" + re.escape(name) + r"\b", text)
                if base == "super" and inline and not parts and (name == "*" or defined_here):
                    continue  # `super::` inside an inline module of this same file
                target = module_file(src, prefix + parts + ([] if name in ("self", "*") else [name]))
                if target is None and not parts:
                    if not prefix and name in reexported:
                        target = module_file(src, [reexported[name]])
                    elif not prefix:
                        target = root
                    else:
                        target = module_file(src, prefix)
                if target and target != f and target in edges:
                    edges[f].add(target)
    return edges


def cycles(edges):
    """Strongly connected components of more than one file (Tarjan)."""
    index, low, stack, on, found, counter = {}, {}, [], set(), [], [0]
    sys.setrecursionlimit(10000)

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(component)

    for v in edges:
        if v not in index:
            visit(v)
    return found


def main():
    problems = []
    for crate in sorted(os.listdir(ROOT)):
        src = os.path.join(ROOT, crate, "src")
        if not os.path.isdir(src):
            continue
        for d, _, fs in os.walk(src):
            for f in fs:
                path = os.path.join(d, f)
                n = sum(1 for _ in open(path, encoding="utf-8"))
                if f.endswith(".rs") and n > MAX_LINES:
                    problems.append(f"crates/{crate}/src/{os.path.relpath(path, src)}: {n} lines (at most {MAX_LINES})")
        edges = graph(src)
        for component in cycles(edges):
            names = sorted(os.path.relpath(p, src) for p in component)
            detail = "; ".join(
                f"{os.path.relpath(a, src)} -> {os.path.relpath(b, src)}"
                for a in component for b in sorted(edges[a]) if b in component)
            problems.append(f"crates/{crate}: import circle between {', '.join(names)} ({detail})")
    for place in unsafe_outside_allowlist():
        problems.append(f"{place}: `unsafe` outside the audited modules {UNSAFE_MODULES}")
    for p in problems:
        print(p)
    if problems:
        sys.exit(1)
    print("structure: no file over 600 lines, no import circle, unsafe only in "
          + ", ".join(UNSAFE_MODULES))


if __name__ == "__main__":
    main()
