#!/usr/bin/env python3
"""test_layers.py - the library's layers hold (src/README.md).

Reads the layer table of src/README.md and checks, for every file of src/:
  - it is in the table, once;
  - it includes only private headers of its own layer or the layers below;
  - (from the built objects, with nm) it calls only functions defined in
    files of its own layer or below, and no two files call each other,
    directly or round a longer circle.
Prints one line per check and RESULT: N passed, M failed; exits 1 on any
failure. Run by `make check` with top_srcdir and top_builddir set."""
import os
import re
import subprocess
import sys

srcdir = os.environ.get('top_srcdir', '.')
builddir = os.environ.get('top_builddir', '.')
passed = failed = 0


def check(ok, what):
    global passed, failed
    if ok:
        passed += 1
        print('ok -', what)
    else:
        failed += 1
        print('FAIL -', what)


def layer_table():
    """{file name: (layer number, layer name)} from src/README.md."""
    table = {}
    with open(os.path.join(srcdir, 'src', 'README.md')) as f:
        for line in f:
            m = re.match(r'\|\s*(\d+)\s+([^|]+?)\s*\|([^|]*)\|([^|]*)\|', line)
            if not m:
                continue
            num, name = int(m.group(1)), m.group(2)
            for fname in re.findall(r'[\w.-]+\.[ch]\b', m.group(3) + m.group(4)):
                if fname in table:
                    check(False, '%s is in two layers of src/README.md' % fname)
                table[fname] = (num, name)
    return table


def main():
    table = layer_table()
    check(len(table) > 0, 'src/README.md has a layer table')
    files = sorted(f for f in os.listdir(os.path.join(srcdir, 'src'))
                   if f.endswith(('.c', '.h')))
    for f in files:
        check(f in table, 'src/%s has a layer in src/README.md' % f)
    for f in sorted(table):
        check(f in files, 'src/README.md names src/%s, which exists' % f)

    # Includes: only headers of the same layer or below.
    for f in files:
        if f not in table:
            continue
        with open(os.path.join(srcdir, 'src', f)) as fh:
            incs = re.findall(r'^\s*#\s*include\s+"([^"]+)"', fh.read(), re.M)
        bad = [h for h in incs if h in table and table[h][0] > table[f][0]]
        unknown = [h for h in incs if h not in table and
                   h not in ('config.h', 'mmstore.h')]
        check(not bad and not unknown,
              'src/%s (layer %d, %s) includes only its layer and below%s' %
              (f, table[f][0], table[f][1],
               ': not ' + ', '.join(bad + unknown) if bad or unknown else ''))

    # Calls, from the objects that were built.
    objdir = os.path.join(builddir, 'src', '.libs')
    if not os.path.isdir(objdir):
        objdir = os.path.join(builddir, 'src')
    objs = {}
    for o in os.listdir(objdir):
        m = re.match(r'(?:lib\w+?_la-)?(\w+)\.o$', o)
        if m and m.group(1) + '.c' in table:
            objs[m.group(1) + '.c'] = os.path.join(objdir, o)
    check(len(objs) == len([f for f in table if f.endswith('.c')]),
          'every .c file of the table has a built object in %s' % objdir)
    defs, uses = {}, {}
    for f, o in objs.items():
        out = subprocess.run(['nm', o], capture_output=True, text=True,
                             check=True).stdout
        uses[f] = set()
        for line in out.splitlines():
            p = line.split()
            if len(p) == 3 and p[1] in 'TDBR':
                defs[p[2]] = f
            elif len(p) == 2 and p[0] == 'U':
                uses[f].add(p[1])
    calls = {f: {defs[s] for s in syms if s in defs and defs[s] != f}
             for f, syms in uses.items()}
    for f in sorted(calls):
        up = sorted(g for g in calls[f] if table[g][0] > table[f][0])
        check(not up, 'src/%s calls no file of a higher layer%s' %
              (f, ': calls ' + ', '.join(up) if up else ''))
    # No circles: Tarjan's strongly connected components.
    index, low, stack, on, circles = {}, {}, [], set(), []

    def visit(v, n=[0]):
        index[v] = low[v] = n[0]
        n[0] += 1
        stack.append(v)
        on.add(v)
        for w in calls[v]:
            if w not in index:
                visit(w)
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
                circles.append(sorted(comp))
    for f in sorted(calls):
        if f not in index:
            visit(f)
    check(not circles, 'no files of src/ call each other%s' %
          ''.join('; circle: ' + ' '.join(c) for c in circles))

    print('\nRESULT: %d passed, %d failed' % (passed, failed))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
