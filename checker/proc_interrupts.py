"""`ircheck interrupts MODEL.irq`: the design's /proc/interrupts - per row and CPU the largest count
any reachable state reaches, or `unbounded`.

No counter is added to the state: the model is explored with every check off (as `ircheck graph`
does) and the counts are read off the graph. A step that handles an interrupt carries a key (the
lowering's `Layout.handled`: its row and CPU, opaque here). A key's count is unbounded iff some
reachable cycle takes a step with that key: an edge inside a strongly connected component (a
self-loop included). Otherwise the largest count is the heaviest path from the initial state through
the condensation (the components in topological order), each edge weighing the steps of that key.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Hashable, Sequence
from typing import TypeVar

from ircheck.api import build
from ircheck.cli_args import SUBCOMMANDS, graph_command_args
from ircheck.codegen import watching
from ircheck.explicit import Explicit
from ircheck.grammar.diagnostics import IrcheckError, shown_path
from ircheck.grammar.parser import parse_file
from ircheck.limits import Limits, Stopped, phase_watch
from ircheck.spec.context import Layout
from ircheck.spec.interrupts import table_text
from ircheck.sysinfo import default_memory_limit_mb

K = TypeVar("K", bound=Hashable)
MAX_STATES = 500_000
TIMEOUT = 60.0


def components(n: int, succ: list[list[int]]) -> list[int]:
    """Tarjan's strongly connected components, iteratively: the component of each node, numbered in
    reverse topological order (a component's successors have smaller numbers)."""
    index = [-1] * n
    low = [0] * n
    comp = [-1] * n
    on: list[bool] = [False] * n
    stack: list[int] = []
    counter = 0
    ncomp = 0
    for root in range(n):
        if index[root] != -1:
            continue
        work = [(root, 0)]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on[root] = True
        while work:
            v, i = work[-1]
            if i < len(succ[v]):
                work[-1] = (v, i + 1)
                w = succ[v][i]
                if index[w] == -1:
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on[w] = True
                    work.append((w, 0))
                elif on[w]:
                    low[v] = min(low[v], index[w])
                continue
            work.pop()
            if work:
                u = work[-1][0]
                low[u] = min(low[u], low[v])
            if low[v] == index[v]:
                while True:
                    w = stack.pop()
                    on[w] = False
                    comp[w] = ncomp
                    if w == v:
                        break
                ncomp += 1
    return comp


def maxima(n: int, edges: list[tuple[int, int, K | None]], keys: Sequence[K]) -> dict[K, int | None]:
    """Per key, the largest number of edges with that key on a path from node 0 (every node is
    reachable from it), or None when a cycle has one."""
    succ: list[list[int]] = [[] for _ in range(n)]
    for a, b, _k in edges:
        succ[a].append(b)
    comp = components(n, succ)
    ncomp = max(comp, default=-1) + 1
    out: dict[K, int | None] = {}
    for key in keys:
        if any(k == key and comp[a] == comp[b] for a, b, k in edges):
            out[key] = None
            continue
        best = [0] * ncomp  # heaviest path starting in each component; successors have smaller numbers
        by_comp: list[list[tuple[int, int]]] = [[] for _ in range(ncomp)]
        for a, b, k in edges:
            if comp[a] != comp[b]:
                by_comp[comp[a]].append((comp[b], int(k == key)))
        for c in range(ncomp):
            best[c] = max((w + best[d] for d, w in by_comp[c]), default=0)
        out[key] = best[comp[0]] if n else 0
    return out


def interrupts_of_file(path: str, max_states: int = MAX_STATES, timeout: float = TIMEOUT,
                       max_memory_mb: float | None = None) -> str:
    """The /proc/interrupts table of a model (IrcheckError for a bad model; `limits.Stopped` when a
    limit stops the lowering; an incomplete search is said in the table's last line)."""
    model = parse_file(path)
    limits = Limits(max_states, timeout, max_memory_mb or default_memory_limit_mb(), time.perf_counter() + timeout)
    watch = phase_watch(limits)
    ts = build(model, [], watch)
    with watching(watch.during("code generation").tick):
        eng = Explicit(ts, limits)
    res = eng.run()
    layout = ts.meta
    assert isinstance(layout, Layout)
    index = {s: k for k, s in enumerate(eng.seen)}
    edges: list[tuple[int, int, tuple[int, int] | None]] = []
    for s, k in index.items():
        for ti, t in eng.successors_with_ids(s):
            if t in index:
                edges.append((k, index[t], layout.handled.get(ti)))
    keys = sorted({(n, c) for n in layout.rows for c in range(len(layout.cpus))}
                  | {k for _a, _b, k in edges if k is not None})
    found = maxima(len(index), edges, keys)
    note = "" if res.complete else f"(search stopped after {len(index):,} states: the counts are lower bounds)"
    return table_text(layout, found, note)


def interrupts_main(argv: Sequence[str]) -> int:
    p = argparse.ArgumentParser(prog="ircheck interrupts", description=SUBCOMMANDS["interrupts"] + ".")
    graph_command_args(p, MAX_STATES, TIMEOUT)
    try:
        args = p.parse_args(list(argv))
    except SystemExit as e:
        return 2 if e.code else 0
    try:
        out = interrupts_of_file(args.model, args.max_states, args.timeout, args.max_memory)
    except IrcheckError as e:
        print(e.render(), file=sys.stderr)
        return 2
    except Stopped as stop:
        print(f"ircheck interrupts: {shown_path(args.model)}: stopped ({stop.reason}), no table", file=sys.stderr)
        return 3
    sys.stdout.write(out)
    return 0
