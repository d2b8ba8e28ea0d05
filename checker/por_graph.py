"""Partial-order reduction inside the plain BFS (`Explicit` with `por` set), for runs with deadlock or
liveness checks: the graph analyses then read the reduced graph. What is sound and why is in
checker/por.py's docstring (`por_tables(..., graph=True)`), with the proof.

- `ample_fn(tables)`: the choice in one state, a function of the state alone (so the analyses can
  recompute it): the successors of the CPU group with the fewest enabled steps among the groups that
  are closed there (`PorTables.marks`), have no visible enabled step and do not hold every
  successor; none while a request is pending (`PorTables.busy_bit` of `marks`).
- `PorStep`: one state's expansion in the search - the ample successors first, stored; if one of
  them was stored before the level being built (the BFS cycle proviso: every cycle of the reduced
  graph then has a fully expanded state) the rest follow. The edge log gets the edges taken; `full`
  keeps, by state id, whether the state was expanded in full, so that `Explicit.edges` gives the
  same edges when the log was dropped.
- The trial: the successors that the reduced expansions of the first `TRIAL` states left out, and
  that were not stored then, are kept; when state 2 * `TRIAL` is expanded, those still not stored
  are counted (`pruned`: the states the reduction saved so far, most left-out successors being
  reached by another path within a level or two). Below `KEEP` of `TRIAL`, the search expands every
  later state in full (`stopped`) - always sound - and no longer pays the choice's cost
  (gen_kernel 2 2 2: 1.7% fewer states for 20-25% more time; 3 2 2: 3.7% fewer, the trial saw 2.8%).
"""

from __future__ import annotations

from array import array
from collections.abc import Callable
from typing import TYPE_CHECKING

from ircheck.por import PorTables
from ircheck.state_store import StateStore

if TYPE_CHECKING:
    from ircheck.edge_log import EdgeLog
    from ircheck.symmetry_group import Quotient

TRIAL = 1 << 15  # the states whose reduced expansions' left-out successors are counted (`PorStep.pruned`)
# ... the reduction goes on past state 2 * TRIAL when it saved this share of TRIAL states: choosing
# costs 20-25% more time a state (gen_kernel 2 2 2), so it must save about as much to pay
KEEP = 0.15

Ample = Callable[[int, list[int]], "list[int] | None"]


def ample_fn(tables: PorTables) -> Ample:
    """ample(s, tis) -> the positions in s's successor list (transitions `tis`, in the generated
    order) of an ample proper subset, or None: expand s in full."""
    marks, groups, always, busy = tables.marks, tables.mark_groups, tables.always, tables.busy_bit
    # per transition: its CPU group g when it is invisible, -1 for the environment, -2 - g when visible
    code = [g if g < 0 or not vis else -2 - g for g, vis in zip(tables.group_of, tables.visible, strict=True)]
    # the marks' closed bits -> the groups' mask
    shut_of = [always | sum(1 << g for j, g in enumerate(groups) if (m >> j) & 1) for m in range(1 << len(groups))]
    low = (1 << len(groups)) - 1

    def ample(s: int, tis: list[int]) -> list[int] | None:
        m = marks(s)
        shut = shut_of[m & low]  # the groups closed in s: most states have none, and then nothing else is looked at
        if not shut or m & busy:
            return None
        n = len(tis)
        mine: dict[int, list[int]] = {}
        bad = 0
        for k, ti in enumerate(tis):
            g = code[ti]
            if g >= 0 and (shut >> g) & 1:
                ks = mine.get(g)
                if ks is None:
                    mine[g] = [k]
                else:
                    ks.append(k)
            elif g < -1:
                bad |= 1 << (-2 - g)
        best: list[int] | None = None
        for g in sorted(mine):  # ties go to the lowest group: the choice does not hang on the steps' order
            ks = mine[g]
            if len(ks) < n and not (bad >> g) & 1 and (best is None or len(ks) < len(best)):
                best = ks
        return best
    return ample


class PorStep:
    """One state's expansion in `Explicit.run` under POR (see the module docstring)."""

    def __init__(self, tables: PorTables, succ_ids: Callable[[int, list[int], list[int], list[int]], int],
                 store: StateStore, quotient: Quotient | None) -> None:
        self.ample = ample_fn(tables)
        self.succ_ids = succ_ids
        self.store = store
        self.canon = quotient.canon if quotient is not None else None
        self.canon_log = quotient.canon_log if quotient is not None else None
        self.full = bytearray()   # by state id: 1 when expanded in full (ids past its end: all in full)
        self.reduced = 0          # expansions that stayed reduced
        self.reexpanded = 0       # reduced expansions redone in full by the cycle proviso
        self.left_out: list[int] = []  # in the trial: successors left out that were not stored then
        self.pruned = -1          # how many of those were still not stored at 2 * TRIAL (-1: not judged)
        self.stopped = False      # the trial found too little to prune: the search expands in full from now on
        self._ids = array("I")

    def __call__(self, s: int, sid: int, vio: list[int], old: int, log: EdgeLog | None) -> tuple[int, int, list[int]]:
        """Expand state s (id sid): (its CPU successors' count, its successors' count, the states
        stored new). `old`: the first id of the level being built."""
        out: list[int] = []
        tis: list[int] = []
        ncpu = self.succ_ids(s, out, vio, tis)
        total = len(out)
        if sid == 2 * TRIAL:  # the trial's judgement: the states the left-out successors would have added
            id_of = self.store.id_of
            self.pruned = sum(1 for t in self.left_out if id_of(t) < 0)
            self.left_out = []
            self.stopped = self.pruned < KEEP * TRIAL
        pos = self.ample(s, tis) if ncpu and total > 1 and not self.stopped else None
        if pos is None:
            self.full.append(1)
            new = self._put(out, tis, sid, log, None)
        else:  # the ample successors first; the rest too if one of them closes a cycle (the proviso)
            chosen = set(pos)
            rest = [k for k in range(total) if k not in chosen]
            ids = log.to if log is not None else self._ids
            if log is None:
                del ids[:]
            at = len(ids)
            new = self._put([out[k] for k in pos], [tis[k] for k in pos], sid, log, ids)
            left = [out[k] for k in rest]
            if min(ids[at:]) < old:  # an end stored before this level: expand s in full
                new += self._put(left, [tis[k] for k in rest], sid, log, None)
                self.full.append(1)
                self.reexpanded += 1
            else:
                self.full.append(0)
                self.reduced += 1
                if sid < TRIAL:
                    self._count(left)
        if log is not None:
            log.off.append(len(log.to))
        return ncpu, total, new

    def _put(self, states: list[int], tis: list[int], sid: int, log: EdgeLog | None,
             ids: array[int] | None) -> list[int]:
        """Store successors `states` (by transitions `tis`) of state sid, canonical on a quotient; with
        the edge log, their transitions, elements and ids go into it; else their ids into `ids`."""
        if log is None:
            canon = self.canon
            return self.store.add([canon(t) for t in states] if canon is not None else states, sid, ids)
        log.ti.extend(tis)
        ends = self.canon_log(states, log.el) if self.canon_log is not None else states
        return self.store.add(ends, sid, log.to)

    def _count(self, rest: list[int]) -> None:
        """The trial: the successors a reduced expansion left out that are not stored (yet)."""
        canon, id_of = self.canon, self.store.id_of
        for t in rest:
            c = canon(t) if canon is not None else t
            if id_of(c) < 0:
                self.left_out.append(c)

    def edges(self, s: int, out: list[int], tis: list[int]) -> tuple[list[int], list[int]]:
        """The successors (and transitions) the search took from stored state s, given all of them in
        the generated order: all when s was expanded in full, else the ample ones then."""
        i = self.store.id_of(s)
        if i >= len(self.full) or self.full[i]:
            return out, tis
        pos = self.ample(s, tis)
        assert pos is not None, "a reduced expansion has an ample set"
        return [out[k] for k in pos], [tis[k] for k in pos]
