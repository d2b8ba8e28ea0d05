"""The edges the search walked, kept by id for the graph analyses (checker/liveness.py).

The deadlock and liveness analyses need, for most stored states, the successors' ids, the
transitions that reach them and (on a symmetry quotient) the group element that stored each one,
plus each state's blocked waits and pending requests. Recomputing them after the search (the
generated `succ_ids`, the canonical form, a store lookup per edge, the predicates over every state
decoded again) cost as much as the search itself: 7.9 of 20.9 s on gen_kernel 2 2 2. The search
has all of it at hand when it expands a state, so `Explicit.run` writes it down here when a graph
analysis will run (`Explicit._new_log`):

- row i (state id i, expanded in id order: BFS expands ids 0, 1, 2, ...) holds edges
  off[i]..off[i+1]-1: to state id `to[k]` by transition `ti[k]`, stored through group element
  `el[k]` (-1: the successor itself; no array without a quotient);
- `blocked[i]`: bit w set when wait w is blocked in state i;
- `pending[i]`: bit k set when request k is pending in state i.

Both masks come from one generated call a new state, `marks` (codegen.py).

It costs 6-8 bytes an edge and 5-12 a state beside the store (about 28 bytes a state on the kernel
family); for that reason it is a cache, never needed for a verdict: `Explicit.run` drops it when it
passes `SHARE` of the memory left at the search's start (`over`), and the analyses then recompute
what they need, as they did before.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, MutableSequence, Sequence
from typing import TYPE_CHECKING

from ircheck.spec.checks import DEADLOCK_CHECK
from ircheck.spec.ts import TransitionSystem

if TYPE_CHECKING:
    from ircheck.explicit import Explicit
    from ircheck.state_store import StateStore

SHARE = 0.15  # of the memory left under the ceiling when the search starts: the log's at most
MAX_EDGES = (1 << 32) - (1 << 24)  # `off` holds 32-bit offsets: the log is dropped well before they wrap


def wanted(ts: TransitionSystem) -> bool:
    """A graph analysis will read a log: per-context waits under no_deadlock, or a liveness request
    of an enabled check."""
    checks = set(ts.checks)
    return (DEADLOCK_CHECK in checks and bool(ts.waits)) or any(r.check in checks for r in ts.requests)


# a state's edges as columns: transitions, successor ids (-1: not stored), elements (None off a quotient)
Cols = tuple["Sequence[int]", "Sequence[int]", "Sequence[int] | None"]


def typecode(bits: int) -> str:
    """The smallest array typecode holding `bits`-bit masks, "" for a list (more than 63 bits)."""
    return next((c for c, b in (("B", 8), ("H", 16), ("I", 32), ("Q", 63)) if bits <= b), "")


def masks(bits: int, n: int = 0) -> MutableSequence[int]:
    """n zero masks of `bits` bits: an array of the smallest type, or a list past 63 bits."""
    code = typecode(bits)
    return array(code, bytes(array(code).itemsize * n)) if code else [0] * n


class EdgeLog:
    """Rows of edges by state id, and the blocked and pending masks (see the module docstring)."""

    def __init__(self, transitions: int, waits: int, requests: int, quotient: bool, cap_bytes: float) -> None:
        self.off = array("I", [0])
        self.to = array("I")
        self.ti = array("H" if transitions < 1 << 16 else "I")
        self.el: array[int] | None = array("h") if quotient else None
        self.blocked = masks(waits)
        self.pending = masks(requests)
        self.cap_bytes = cap_bytes

    def nbytes(self) -> int:
        """The bytes the arrays hold (lists count 8 a mask)."""
        arrays = [self.off, self.to, self.ti] + ([self.el] if self.el is not None else [])
        size = sum(len(a) * a.itemsize for a in arrays)
        for m in (self.blocked, self.pending):
            size += len(m) * (m.itemsize if isinstance(m, array) else 8)
        return size

    def over(self) -> bool:
        """The log passed its share of memory (or its 32-bit offsets' range): the search drops it."""
        return self.nbytes() > self.cap_bytes or len(self.to) > MAX_EDGES

    def drop(self) -> None:
        """Empty every array in place: the search drops the log, and its memory goes back at once
        (the search loop still holds the arrays by name)."""
        for a in (self.off, self.to, self.ti, self.el, self.blocked, self.pending):
            if a is not None:
                del a[:]

    def rows(self) -> int:
        return len(self.off) - 1

    def cols(self, i: int) -> Cols:
        """State i's edges as columns: slices of the arrays, no tuple an edge."""
        a, b = self.off[i], self.off[i + 1]
        return self.ti[a:b], self.to[a:b], self.el[a:b] if self.el is not None else None

    def out(self, i: int) -> list[tuple[int, int, int]]:
        """State i's edges: (transition, successor id, element: -1 without a quotient)."""
        a, b = self.off[i], self.off[i + 1]
        if self.el is None:
            return [(ti, j, -1) for ti, j in zip(self.ti[a:b], self.to[a:b], strict=True)]
        return list(zip(self.ti[a:b], self.to[a:b], self.el[a:b], strict=True))


def covering(eng: Explicit, n: int) -> EdgeLog | None:
    """The search's edge log when it kept one row for each of the `n` stored states, else None."""
    log = eng.log
    return log if log is not None and log.rows() == n else None


def edge_cols(eng: Explicit, store: StateStore) -> Callable[[int], Cols]:
    """State id i -> its edges as columns (`Cols`), read from the search's edge log when it kept one
    (`EdgeLog.cols`), else recomputed (`Explicit.edges`, the store's `id_of`)."""
    log = covering(eng, len(store))
    if log is not None:
        return log.cols
    id_of, state_of, edges = store.id_of, store.state_of, eng.edges

    def recompute(i: int) -> Cols:
        out = edges(state_of(i))
        return [e[0] for e in out], [id_of(e[1]) for e in out], [e[2] for e in out]
    return recompute
