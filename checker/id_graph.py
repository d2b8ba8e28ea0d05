"""The graph analyses' view of the stored states by id (checker/state_store.py), in flat arrays.

The liveness and deadlock analyses (checker/liveness.py) walk subsets of the explored states that
can be most of them (every state where a request is pending, every blocked state). Held as dicts
and sets of Python ints with lists of successor tuples, that took 100+ bytes a state on top of
the store; here a subset is a range of local indices 0..m-1 (in BFS order), its edges are in
compressed rows (`Rows`: offsets, targets, transition indices: 4 bytes each, 8 an edge), and
Tarjan's algorithm keeps its numbers in arrays. Only the components an analysis reports are
turned back into states.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from ircheck.limits import NO_LIMIT, Ticker
from ircheck.state_store import ROOT, StateStore


def store_of(seen: Iterable[int], bits: int) -> StateStore:
    """The engine's `seen` as a StateStore: itself, or one built from the dict of the engines that
    gather states from workers (same BFS order)."""
    if isinstance(seen, StateStore):
        return seen
    store = StateStore(bits)
    store.add(list(seen), ROOT)
    return store


@dataclass
class Rows:
    """Edges between local nodes 0..m-1 in compressed rows: node v's edges are k in
    off[v]..off[v+1]-1, to node `to[k]` by transition `ti[k]`."""

    off: array[int]
    to: array[int]
    ti: array[int]

    def of(self, v: int) -> Iterator[tuple[int, int]]:
        for k in range(self.off[v], self.off[v + 1]):
            yield self.ti[k], self.to[k]


def components(m: int, g: Rows, budget: Ticker = NO_LIMIT) -> Iterator[list[int]]:
    """The strongly connected components of nodes 0..m-1 over `g` (iterative Tarjan, roots in
    index order), each as a list of local nodes, as they complete."""
    index = array("i", [-1]) * m
    low = array("i", [0]) * m
    on = bytearray(m)
    stack = array("I")
    work_v, work_k = array("I"), array("I")  # the DFS: node, next edge
    off, to = g.off, g.to
    counter = 0
    tick = budget.tick
    for root in range(m):
        if index[root] >= 0:
            continue
        tick()
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on[root] = 1
        work_v.append(root)
        work_k.append(off[root])
        while work_v:
            v = work_v[-1]
            k = work_k[-1]
            if k < off[v + 1]:
                work_k[-1] = k + 1
                w = to[k]
                if index[w] < 0:
                    if not counter & 0xFFF:
                        tick()
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on[w] = 1
                    work_v.append(w)
                    work_k.append(off[w])
                elif on[w] and index[w] < low[v]:
                    low[v] = index[w]
            else:
                work_v.pop()
                work_k.pop()
                if work_v:
                    u = work_v[-1]
                    if low[v] < low[u]:
                        low[u] = low[v]
                if low[v] == index[v]:
                    comp = []
                    while True:
                        w = stack.pop()
                        on[w] = 0
                        comp.append(w)
                        if w == v:
                            break
                    yield comp
