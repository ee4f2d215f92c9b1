#!/usr/bin/env python3
# Usage: python3 scripts/module_cycles.py codegen/src [-v]   (also config/src, runtime/src)
"""Module import graph of a crate's src/ from `use crate::…`, `crate::…` paths,
`super::…` and `self::…`; prints edges that form cycles (strongly connected
components of more than one module)."""
import os, re, sys
root = sys.argv[1]
mods = {}
for d, _, fs in os.walk(root):
    for f in fs:
        if not f.endswith('.rs'): continue
        p = os.path.join(d, f)
        rel = os.path.relpath(p, root)[:-3]
        parts = rel.split(os.sep)
        if parts[-1] in ('mod', 'lib', 'main'): parts = parts[:-1]
        mods['::'.join(parts)] = p
def resolve(path):
    # longest module prefix of a `a::b::c` path
    segs = path.split('::')
    for n in range(len(segs), 0, -1):
        m = '::'.join(segs[:n])
        if m in mods: return m
    return None
edges = {m: set() for m in mods}
for m, p in mods.items():
    src = open(p).read()
    src = src.split('#[cfg(test)]')[0]  # unit tests may use anything
    # Comments (doc links included) are not imports.
    src = re.sub(r'//[^\n]*', '', src)
    parent = '::'.join(m.split('::')[:-1])
    for path in re.findall(r'\bcrate::([A-Za-z_][A-Za-z0-9_:]*)', src):
        t = resolve(path.rstrip(':'))
        if t and t != m and t != '': edges[m].add(t)
    for path in re.findall(r'\bsuper::([A-Za-z_][A-Za-z0-9_:]*)', src):
        full = (parent + '::' if parent else '') + path.rstrip(':')
        t = resolve(full) or (parent or None)
        if t and t != m: edges[m].add(t)
    # `use super::*` / `super::{a, b}`
    for grp in re.findall(r'\bsuper::\{([^}]*)\}', src):
        for name in re.split(r'[,\s]+', grp):
            name = name.split('::')[0]
            if not name: continue
            full = (parent + '::' if parent else '') + name
            t = resolve(full) or (parent or None)
            if t and t != m: edges[m].add(t)
    for grp in re.findall(r'\buse crate::\{([^}]*)\}', src):
        for name in re.split(r'[,\s]+', grp):
            t = resolve(name.split('::')[0]) if name else None
            if t and t != m: edges[m].add(t)
# Tarjan SCC
idx, low, st, on, out, i = {}, {}, [], set(), [], [0]
def sc(v):
    idx[v] = low[v] = i[0]; i[0] += 1; st.append(v); on.add(v)
    for w in edges[v]:
        if w not in idx: sc(w); low[v] = min(low[v], low[w])
        elif w in on: low[v] = min(low[v], idx[w])
    if low[v] == idx[v]:
        comp = []
        while True:
            w = st.pop(); on.discard(w); comp.append(w)
            if w == v: break
        out.append(comp)
sys.setrecursionlimit(10000)
for v in edges:
    if v not in idx: sc(v)
cycles = [c for c in out if len(c) > 1]
print(f"{root}: {len(mods)} modules, {sum(len(e) for e in edges.values())} edges, {len(cycles)} cycles")
for c in cycles: print("  cycle:", sorted(c))
if '-v' in sys.argv:
    for m in sorted(edges): print(f"  {m or '<lib>'} -> {', '.join(sorted(x or '<lib>' for x in edges[m]))}")
