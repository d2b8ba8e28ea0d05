"""Lasso-shaped BMC for liveness requests, with the fairness of checker/liveness.py.

A violation of request r is a run s_0 .. s_l .. s_k with s_k = s_l (the loop
s_l .. s_k repeats for ever) where r is pending in every loop state and no loop
step delivers r, and the loop is fair, as the explicit engine judges a
strongly connected component:
- a weak group g: some loop step belongs to g, or g is disabled in some loop state;
- a strong group g (ts.strong): some loop step belongs to g, or g is disabled in
  every loop state (enabled infinitely often means taken).
The other shape, a pending state where no fair step is enabled at all, is the
"terminal" target of the BMC (smt_bmc). The loop may revisit states (a fair
loop may need to), so this unrolling has no simple-path constraints, and it
proves nothing: finding no lasso up to depth N leaves the check inconclusive.
"""

from __future__ import annotations

import z3

from ircheck.smt_bmc import Unrolling
from ircheck.smt_budget import Budget
from ircheck.smt_encode import Encoding, State


class Lasso:
    def __init__(self, enc: Encoding, budget: Budget) -> None:
        self.enc = enc
        self.budget = budget
        self.path = Unrolling(enc, "l", enc.init(enc.state("l", 0)), simple=False)

    def search(self, r: int, k: int) -> tuple[list[State], int] | None:
        """A fair lasso of k steps for request r: (states s_0..s_k, l), or None."""
        enc, ts = self.enc, self.enc.ts
        req = ts.requests[r]
        self.path.extend_to(k)
        solver = self.path.solver
        loop = [z3.Bool(f"loop{r}_{k}_{l}") for l in range(k)]
        in_loop = [z3.Or(loop[: i + 1]) for i in range(k)]
        cons: list[z3.BoolRef] = [z3.PbEq([(b, 1) for b in loop], 1)]
        sk = self.path.state(k)
        for l in range(k):
            cons.append(z3.Implies(loop[l], enc.same(sk, self.path.state(l))))
        for i in range(k):
            s = self.path.state(i)
            fired = self.path.steps[i].fired
            cons.append(z3.Implies(in_loop[i], z3.And(enc.cond(req.pending, s),
                                                      *[z3.Not(fired[d]) for d in sorted(req.delivers)])))
        for g in ts.groups:
            members = [ti for ti, t in enumerate(ts.transitions) if g in t.fair]
            moved = z3.Or([z3.And(in_loop[i], self.path.steps[i].fired[ti]) for i in range(k) for ti in members])
            off = [z3.Not(enc.enabled_any(members, self.path.state(i))) for i in range(k)]
            if g in ts.strong:
                rest = z3.And([z3.Implies(in_loop[i], off[i]) for i in range(k)])
            else:
                rest = z3.Or([z3.And(in_loop[i], off[i]) for i in range(k)])
            cons.append(z3.Or(moved, rest))
        solver.push()
        try:
            solver.add(*cons)
            if self.budget.solve(solver) == z3.unsat:
                return None
            model = solver.model()
            states = self.path.decode(model, k)
            start = next(l for l in range(k) if z3.is_true(model.eval(loop[l], model_completion=True)))
            return states, start
        finally:
            solver.pop()
