"""Coverage after a complete explicit search (SPIN's "unreached in proctype", TLC's -coverage).

The engine knows transitions only. The specification groups them (spec/coverage.py: `table`):
each *item* is a set of transition indices with a line and a text, and an item *happens* when some
reachable state enables one of its transitions. Deciding that is cheap: the explored states are
scanned in BFS order with generated code that tests only the guards of the items not seen yet, and
the scan ends as soon as every item has happened - in a design where everything can happen, after
a few states. Only what can never happen costs a full pass, which is then one guard test per state.

`--coverage` (`counting()`) also counts, per item, the transitions fired from reachable states
(the generated successor function run once more over every state). Both need the whole, unreduced
state graph: a stopped, reduced (POR, symmetry, merge), compact or Ray (`--workers N`) search gives none.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import islice
from typing import Any

from ircheck.explicit import Explicit
from ircheck.limits import Limits
from ircheck.spec.coverage import Table, table
from ircheck.spec.expr import BinOp, Cond, Const, LNot, Member, NAry, Ref
from ircheck.spec.ts import Expr, TransitionSystem
from ircheck.spec.walker import Fold

_COUNTING: list[bool] = []


@contextmanager
def counting() -> Iterator[None]:
    """Inside the block, a complete explicit search also counts per item (`--coverage`)."""
    _COUNTING.append(True)
    try:
        yield
    finally:
        _COUNTING.pop()


@dataclass
class Warn:
    """A warning about the model: `kind` "unreached" (something can never happen) or "vacuous"
    (every check holds only because something can never happen: an error under --strict)."""

    line: int
    message: str
    kind: str = "unreached"

    def to_json(self) -> dict[str, object]:
        return {"kind": self.kind, "line": self.line, "message": self.message}


@dataclass
class Row:
    """--coverage: one item, the line it is on, and how many transitions fired from it."""

    line: int
    where: str
    fired: int

    def to_json(self) -> dict[str, object]:
        return {"line": self.line, "where": self.where, "fired": self.fired}


@dataclass
class Coverage:
    warnings: list[Warn] = field(default_factory=list)
    rows: list[Row] | None = None  # only with --coverage
    note: str = ""  # why there is nothing to say (a stopped or reduced search)


class _Source(Fold[str]):
    """Python source of an expression over the packed state `s` (our identifiers and integers only)."""

    def __init__(self, off: list[int], width: list[int]) -> None:
        self.off, self.width = off, width

    def fold_const(self, e: Const) -> str:
        return str(int(e.k))

    def fold_ref(self, e: Ref) -> str:
        i = e.i
        m = (1 << self.width[i]) - 1
        return f"((s >> {self.off[i]}) & {m})" if self.off[i] else f"(s & {m})"

    def fold_not_(self, e: LNot, a: str) -> str:
        return f"(0 if {a} else 1)"

    def fold_nary(self, e: NAry, args: Sequence[str]) -> str:
        return "(1 if (" + f" {e.op.value} ".join(args) + ") else 0)"

    def fold_binop(self, e: BinOp, a: str, b: str) -> str:
        return f"({a} {e.op.value} {b})"

    def fold_member(self, e: Member, a: str) -> str:
        return f"({a} in {sorted(int(k) for k in e.values)!r})"

    def fold_cond(self, e: Cond, c: str, a: str, b: str) -> str:
        return f"({a} if {c} else {b})"


def _expr(e: Expr, off: list[int], width: list[int]) -> str:
    """Python source of `e` over the packed state `s` (see `_Source`)."""
    return _Source(off, width).fold(e)


def _scanner(ts: TransitionSystem, off: list[int], width: list[int], groups: list[tuple[int, ...]]) -> Any:
    """A function of an iterable of packed states: the bitmask of `groups` (bit k: groups[k]) some
    state enables a transition of; it stops early once every group is seen."""
    lines = ["def scan(states):", "    r = 0", "    for s in states:"]
    for k, tis in enumerate(groups):
        guards = " or ".join(f"({_expr(ts.transitions[ti].guard, off, width)})" for ti in tis)
        lines.append(f"        if not r & {1 << k} and ({guards}):")
        lines.append(f"            r |= {1 << k}")
        lines.append(f"            if r == {(1 << len(groups)) - 1}:")
        lines.append("                return r")
    lines.append("    return r")
    namespace: dict[str, Any] = {"__builtins__": {}}
    exec(compile("\n".join(lines) + "\n", "<ircheck-coverage>", "exec"), namespace)  # noqa: S102 - our own code
    return namespace["scan"]


def happened(ts: TransitionSystem, off: list[int], width: list[int], states: Collection[int],
             groups: list[tuple[int, ...]], succ_ids: Any = None) -> set[int]:
    """Indices of `groups` that some state of `states` (BFS order) enables a transition of. First
    the search's own successor function (`succ_ids`, already compiled) over a thousand states spread
    over every depth, where nearly everything that can happen does; then, for the groups not seen
    yet, generated code testing only their guards over every state, in growing chunks."""
    seen: set[int] = set()
    it = iter(states)
    left = len(states)
    if succ_ids is not None:
        of = {ti: k for k, g in enumerate(groups) for ti in g}
        hit: set[int] = set()
        out: list[int] = []
        vio: list[int] = []
        tis: list[int] = []
        want = sum(1 for g in groups if g)
        step = max(1, left // 1024)  # about a thousand states, spread over every depth
        for n, s in enumerate(islice(states, 0, None, step), 1):
            succ_ids(s, out, vio, tis)
            hit.update(tis)
            out.clear()
            vio.clear()
            tis.clear()
            if not n & 63:
                seen = {of[ti] for ti in hit if ti in of}
                if len(seen) == want:
                    return seen
        seen = {of[ti] for ti in hit if ti in of}
    todo = [k for k, g in enumerate(groups) if g and k not in seen]
    chunk = 1024
    while todo and left > 0:
        got = _scanner(ts, off, width, [groups[k] for k in todo])(islice(it, chunk))
        left -= chunk  # a scan that returns early has seen every group it tests: the loop ends
        seen.update(k for b, k in enumerate(todo) if got >> b & 1)
        todo = [k for k in todo if k not in seen]
        chunk = min(chunk * 8, 1 << 22)
    return seen


CONFIRM_STATES = 1_000_000  # a reduced search's misses are confirmed unreduced up to this many states


def after_search(ts: TransitionSystem, eng: Any, complete: bool, reduced: bool, holds: bool,
                 images: Sequence[Sequence[int]] = ()) -> Coverage:
    """The coverage of a finished explicit search `eng` (its `seen` dict holds the explored states in
    BFS order, `pk` the packing, `code.succ_ids` the successor function with transition indices);
    `complete`: the search explored every state it had to; `reduced`: a reduction left states out,
    so what it did not see happen is confirmed by an unreduced search (capped); `holds`: every
    check holds. `images`: the search stored one state per orbit of a symmetry group whose elements
    map transition ti to images[k][ti] - transition t is enabled in some reachable state iff some
    image of it is enabled in a stored one, so each item is tested by its transitions' images and no
    unreduced search is needed."""
    if not complete:
        return Coverage(note="the search did not explore every reachable state")
    tab: Table = table(ts)
    groups = [it.transitions for it in tab.items]
    if images:
        groups = [tuple(sorted({ti for ti in g} | {img[ti] for img in images for ti in g})) for g in groups]
    got = happened(ts, eng.pk.off, eng.pk.width, eng.seen, groups, eng.code.succ_ids)
    if (reduced and len(got) < sum(1 for g in groups if g)) or (reduced and _COUNTING):
        full = Explicit(ts, Limits(max_states=CONFIRM_STATES))
        res = full.run()
        if not res.complete or res.bound_hit:
            return Coverage(note=f"the reduced search left states out and the unreduced one stopped "
                                 f"({res.stopped_by or res.bound_hit})")
        eng = full
        got |= happened(ts, eng.pk.off, eng.pk.width, eng.seen, [g if k not in got else () for k, g in
                                                                  enumerate(groups)], eng.code.succ_ids)
    cov = Coverage([Warn(f.line, f.message, "vacuous" if f.vacuous else "unreached")
                    for f in tab.warnings(got, holds)])
    if _COUNTING:
        fired = [0] * len(ts.transitions)
        succ_ids = eng.code.succ_ids
        for s in eng.seen:
            tis: list[int] = []
            succ_ids(s, [], [], tis)
            for ti in tis:
                fired[ti] += 1
        cov.rows = [Row(it.line, tab.where(k), sum(fired[ti] for ti in it.transitions))
                    for k, it in enumerate(tab.items)]
    return cov


def coverage_text(model: str, cov: Coverage | None) -> str:
    """`--coverage` in the text report: per statement `file:line`, what it is, and how often it fired."""
    if cov is None or cov.rows is None:
        why = cov.note if cov is not None and cov.note else "it needs a complete search by the explicit engine"
        return f"  coverage: not available ({why})"
    out = ["  coverage (per statement: transitions fired from reachable states; 0 = never executed):"]
    where = [f"{model}:{r.line}" for r in cov.rows]
    wide = max((len(w) for w in where), default=0)
    for w, r in zip(where, cov.rows, strict=True):
        out.append(f"    {w:<{wide}}  {r.fired:>9,}  {r.where}")
    return "\n".join(out)
