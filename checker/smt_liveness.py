"""Lasso-shaped BMC for liveness requests, with the fairness of checker/liveness.py.

A violation of request r is a run s_0 .. s_l .. s_k with s_k = s_l (the loop
s_l .. s_k repeats for ever) where r is pending in every loop state and no loop
step delivers r (and, when r has `recurs`, some loop step is one of them), and the loop is fair, as the explicit engine judges a
strongly connected component:
- a weak group g: some loop step belongs to g, or g is disabled in some loop state;
- a strong group g (ts.strong): some loop step belongs to g, or g is disabled in
  every loop state (enabled infinitely often means taken).
The other shape, a pending state where no fair step is enabled at all, is the
"terminal" target of the BMC (smt_bmc). The loop may revisit states (a fair
loop may need to), so this unrolling has no simple-path constraints, and it
proves nothing: finding no lasso up to depth N leaves the check inconclusive
(the proof that none exists is smt_l2s's).
"""

from __future__ import annotations

import z3

from ircheck.limits import Stopped
from ircheck.smt_bmc import Unrolling, pin_least
from ircheck.smt_budget import Budget
from ircheck.smt_encode import Encoding, State
from ircheck.spec.ts import TransitionSystem

QUERY_CAP = 1.0  # seconds per lasso query: one not answered in time counts as "none found" (proves nothing)


def group_members(ts: TransitionSystem) -> dict[str, list[int]]:
    """Fairness group -> the transitions that count as its moves."""
    return {g: [ti for ti, t in enumerate(ts.transitions) if g in t.fair] for g in ts.groups}


def waits(enc: Encoding, r: int, s: list[z3.BitVecRef], fired: list[z3.BoolRef]) -> z3.BoolRef:
    """Request r is pending in state s and the step from s does not deliver it (a loop step)."""
    req = enc.ts.requests[r]
    return z3.And(enc.cond(req.pending, s), *[z3.Not(fired[d]) for d in sorted(req.delivers)])


def due(k: int) -> bool:
    """Lengths at which lassos are looked for (each query covers every shorter one too)."""
    return k <= 4 or k % 4 == 0


class Lasso:
    """One unrolling from the initial state; each search adds the loop of one length under push/pop.

    The pieces that do not depend on the loop (pending and not delivered at step i, group g moved
    at step i, g disabled in state i) are built once and shared by every length."""

    def __init__(self, enc: Encoding, budget: Budget) -> None:
        self.enc = enc
        self.budget = budget
        self.path = Unrolling(enc, "l", enc.init(enc.state("l", 0)), simple=False)
        self.members = group_members(enc.ts)
        self._cache: dict[tuple[str, int, object], z3.BoolRef] = {}

    def _piece(self, kind: str, i: int, key: object) -> z3.BoolRef:
        got = self._cache.get((kind, i, key))
        if got is not None:
            return got
        enc, s = self.enc, self.path.state(i)
        fired = self.path.steps[i].fired
        if kind == "stay":  # request `key` pending in state i and step i does not deliver it
            got = waits(enc, key, s, fired)  # type: ignore[arg-type]
        elif kind == "moved":  # step i belongs to group `key`
            got = z3.Or([fired[ti] for ti in self.members[key]])  # type: ignore[index]
        else:  # "off": group `key` has no enabled step in state i
            got = z3.Not(enc.enabled_any(self.members[key], s))  # type: ignore[index]
        self._cache[(kind, i, key)] = got
        return got

    def search(self, r: int, k: int, least: bool = False) -> tuple[list[State], int] | None:
        """A fair lasso of at most k steps for request r: (states s_0..s_e with s_e = s_l, l), or None.

        The loop runs from step l to step e <= k; the steps after e are only there because the
        unrolling has k of them (a loop can always be run again, so a lasso of e steps extends to
        k). So one query covers every length up to k and the engine can look at a few lengths only.
        """
        enc, ts = self.enc, self.enc.ts
        self.path.extend_to(k)
        solver = self.path.solver
        w = max(1, (k + 1).bit_length())
        start, end = z3.BitVec(f"loop{r}_{k}", w), z3.BitVec(f"end{r}_{k}", w)
        in_loop = [z3.And(z3.ULE(start, i), z3.ULT(i, end)) for i in range(k)]
        meet = z3.BitVec(f"meet{r}_{k}", enc.whole(self.path.state(0)).size())
        cons: list[z3.BoolRef] = [z3.ULT(start, end), z3.ULE(end, k)]
        for j in range(k + 1):
            whole = enc.whole(self.path.state(j))
            cons.append(z3.Implies(z3.Or(start == j, end == j), whole == meet))
        cons += [z3.Implies(in_loop[i], self._piece("stay", i, r)) for i in range(k)]
        recurs = sorted(ts.requests[r].recurs)
        if recurs:  # the Büchi condition: some loop step is one of them
            cons.append(z3.Or([z3.And(in_loop[i], z3.Or([self.path.steps[i].fired[ti] for ti in recurs]))
                               for i in range(k)]))
        for g in ts.groups:
            moved = z3.Or([z3.And(in_loop[i], self._piece("moved", i, g)) for i in range(k)])
            if g in ts.strong:
                rest = z3.And([z3.Implies(in_loop[i], self._piece("off", i, g)) for i in range(k)])
            else:
                rest = z3.Or([z3.And(in_loop[i], self._piece("off", i, g)) for i in range(k)])
            cons.append(z3.Or(moved, rest))
        solver.push()
        r = z3.unknown
        try:
            solver.add(*cons)
            r = self.budget.solve(solver, cap=QUERY_CAP)
            if r != z3.sat:  # unsat, or not found within the cap
                return None
            if least:
                r = self._least(start, end, k)
                if r != z3.sat:
                    return None
            model = solver.model()
            e = model.eval(end, model_completion=True).as_long()
            return self.path.decode(model, e), model.eval(start, model_completion=True).as_long()
        finally:
            solver.pop()
            if r == z3.unknown:
                self.path.reset()

    def _least(self, start: z3.BitVecRef, end: z3.BitVecRef, k: int) -> z3.CheckSatResult:
        """Pin the lexicographically least lasso of the constraints on the solver: least end, least
        loop start, then the least transition (selector) at each step up to the end. The result no
        longer depends on which model Z3 happens to return, so every run prints the same trace.
        Each value is found by binary search on its bits (one query a bit)."""
        solver = self.path.solver

        def pin(x: z3.BitVecRef, hi: int) -> z3.CheckSatResult:
            return pin_least(solver, self.budget, x, hi, QUERY_CAP)

        r = pin(end, k)
        if r != z3.sat:
            return r
        r = pin(start, k)
        if r != z3.sat:
            return r
        e = solver.model().eval(end, model_completion=True).as_long()
        for i in range(e):
            sel = self.path.steps[i].sel
            if sel is None:
                continue
            r = pin(sel, len(self.path.steps[i].fired) - 1)
            if r != z3.sat:
                return r
        return z3.sat


def canonical_lasso(enc: Encoding, budget: Budget, r: int, states: list[State],
                    start: int) -> tuple[int, list[State], int]:
    """The lasso to report for request r's check, given the one met (`states`, looping back to
    `start`): the shortest of any request of that check, searched on fresh solvers from length 1
    up, requests in model order, and of those the least one (`Lasso.search(least=True)`). Which
    lasso a run meets first depends on how far its wall-time shares let it get; this one does
    not, so `--no-timings` output is the same on every run (unless the budget ends the re-search:
    then the one met is reported)."""
    requests = enc.ts.requests
    check = requests[r].check
    same = [q for q, req in enumerate(requests) if req.check == check]
    fresh = {q: Lasso(enc, budget) for q in same}
    try:
        for k in range(1, len(states)):
            for q in same:
                got = fresh[q].search(q, k, least=True)
                if got is not None:
                    return (q, *got)
    except Stopped:
        pass
    return r, states, start
