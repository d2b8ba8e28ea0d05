"""k-induction: proofs that a target is unreachable, for state spaces BMC cannot exhaust.

The induction step at k: a loop-free path t_0 .. t_k of arbitrary states (in
their domains, no initial state), each step a transition, the target good in
t_0 .. t_{k-1} and bad in t_k. Unsatisfiable, together with BMC having found
no bad state at depths 0 .. k-1 (the base case), proves the target unreachable:
every reachable bad state would end a loop-free path whose k predecessors are
good, or lie within depth k-1. The simple-path constraints make the method
complete for finite systems: k up to the longest loop-free path always works.
"""

from __future__ import annotations

import z3

from ircheck.smt_bmc import Target, Unrolling, bad_any
from ircheck.smt_budget import Budget
from ircheck.smt_encode import Encoding
from ircheck.smt_lemmas import Lemmas

STEP_CAP = 0.5  # seconds for one induction query: one that does not close quickly is retried at a larger k


def due(k: int) -> bool:
    """Depths at which induction is tried: 1-4, then every fourth (the queries grow with k, and most
    small models are decided sooner by BMC running out of loop-free paths)."""
    return k <= 4 or k % 4 == 0


class Induction:
    """One unrolling without init, shared by every target; each query is pushed and popped."""

    def __init__(self, enc: Encoding, budget: Budget) -> None:
        self.enc = enc
        self.budget = budget
        self.path = Unrolling(enc, "i", None, simple=True)
        self._bad: dict[tuple[str, int], z3.BoolRef] = {}
        self.lemmas: Lemmas | None = None

    def strengthen(self, lemmas: Lemmas) -> None:
        """From now on every state of the induction path satisfies the proved invariants (sound: they
        hold in every reachable state, and the step only needs to exclude unreachable predecessors).
        A fresh path, with its own state names: the old one's constraints cannot be taken back."""
        self.lemmas = lemmas
        k = self.path.k
        self.path = Unrolling(self.enc, "j", None, simple=True, each=lemmas.at)
        self._bad.clear()
        self.path.extend_to(k)

    def _bad_at(self, tg: Target, i: int) -> z3.BoolRef:
        key = (tg.key, i)
        if key not in self._bad:
            self._bad[key] = bad_any(self.enc, tg, self.path.state(i))
        return self._bad[key]

    def no_path(self, k: int, cap: float = STEP_CAP) -> bool:
        """No loop-free path of k steps exists at all: every k-induction step holds trivially."""
        self.path.extend_to(k)
        r = self.budget.solve(self.path.solver, cap=cap)
        if r == z3.unknown:
            self.path.reset()
        return bool(r == z3.unsat)

    def step_holds(self, tg: Target, k: int, cap: float = STEP_CAP) -> bool:
        """The induction step at k for this target (the caller has the base case from BMC)."""
        self.path.extend_to(k)
        solver = self.path.solver
        solver.push()
        try:
            for i in range(k):
                solver.add(z3.Not(self._bad_at(tg, i)))
            solver.add(self._bad_at(tg, k))
            r = self.budget.solve(solver, cap=cap)
        finally:
            solver.pop()
        if r == z3.unknown:
            self.path.reset()
        return bool(r == z3.unsat)
