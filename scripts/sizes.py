#!/usr/bin/env python3
# Usage: N=10 python3 codegen/scripts/sizes.py codegen/src config/src macros/src
"""Lines of each .rs file before its `#[cfg(test)]` module, and the longest
functions: from a line starting (after indentation) with an optional
`pub…`/`const`/`async` and `fn `, to the first line after it that is `}` at
the same indentation (rustfmt layout)."""
import os, re, sys
files, fns = [], []
for root in sys.argv[1:]:
    for d, _, fs in os.walk(root):
        for f in fs:
            if not f.endswith('.rs'): continue
            p = os.path.join(d, f)
            lines = open(p).read().split('\n')
            body = lines
            for i, l in enumerate(lines):
                if l.startswith('#[cfg(test)]'): body = lines[:i]; break
            files.append((len(body), len(lines), p))
            pat = re.compile(r'^(\s*)(pub(\([^)]*\))?\s+)?(const\s+)?(async\s+)?fn\s+(\w+)')
            for i, l in enumerate(body):
                m = pat.match(l)
                if not m or l.rstrip().endswith(';'): continue
                ind = m.group(1)
                for j in range(i + 1, len(body)):
                    if body[j] == ind + '}' or (body[j].startswith(ind + '}') and body[j].strip() in ('}', '},', '};')):
                        fns.append((j - i + 1, f"{p}:{i+1} {m.group(6)}")); break
files.sort(reverse=True); fns.sort(reverse=True)
print("largest files (lines before tests / total):")
for n, t, p in files[:int(os.environ.get('N', 8))]: print(f"  {n:5} / {t:5}  {p}")
print("longest functions:")
for n, w in fns[:int(os.environ.get('N', 8))]: print(f"  {n:5}  {w}")
