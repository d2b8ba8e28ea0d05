"""Spacer (Z3's IC3/PDR engine for constrained Horn clauses) as a further prover.

k-induction needs the property itself to be k-inductive; most invariants of
interrupt designs are not, for small k (a program counter and a nesting depth
must agree, which only a strengthening says). Spacer computes such a
strengthening: the Horn clauses

    init(x)                        -> Reach(x)
    Reach(x) and step(x, y)        -> Reach(y)
    Reach(x) and bad(x)            -> false

are satisfiable exactly when bad is unreachable. Each target is one query
with a time cap; "unknown" or Z3 giving up only means "not proved this way".
The Horn relation is over the same bit-vector state as the BMC.
"""

from __future__ import annotations

import time

import z3

from ircheck.smt_bmc import Target, bad_any
from ircheck.smt_budget import Budget, ctrl_c
from ircheck.smt_encode import Encoding

QUERY_CAP = 3.0  # seconds per target


def query_cover(fp: z3.Fixedpoint, goal: z3.BoolRef, relation: z3.FuncDeclRef, budget: Budget,
                cap: float) -> z3.ExprRef | None:
    """Spacer's invariant for `relation` (over de Bruijn variables in argument order) when `goal` is
    unreachable, else None. At most `cap` seconds (less when the run's time is nearly up)."""
    left = budget.left()
    cap = cap if left is None else max(0.05, min(left, cap))
    fp.set(timeout=int(cap * 1000))
    t = time.perf_counter()
    try:
        r = fp.query(goal)
        return fp.get_cover_delta(-1, relation) if r == z3.unsat else None
    except z3.Z3Exception:  # "canceled" on its timeout (or on Ctrl-C, which Z3 catches), or a limit
        if time.perf_counter() - t < 0.9 * cap:
            ctrl_c()
        return None
    finally:
        budget.solver_seconds += time.perf_counter() - t


def all_unsat(budget: Budget, obligations: list[z3.BoolRef]) -> bool:
    """Every formula unsatisfiable for a plain solver: how a Spacer invariant is certified."""
    for f in obligations:
        s = z3.SolverFor("QF_BV")
        s.add(f)
        if budget.solve(s, cap=QUERY_CAP) != z3.unsat:
            return False
    return True


class Spacer:
    """Spacer proofs whose invariant is checked again before it is believed.

    Each query gets a fresh `z3.Fixedpoint` (a query cut off by its time cap leaves the object
    in a state where the next query on it answered "unsat" for a reachable target in our tests).
    An "unsat" answer is a proof only when the invariant Spacer reports (`get_cover_delta` of the
    Horn relation) passes three checks by an ordinary solver: the initial state satisfies it, a
    step from a state that satisfies it leads to one that does, and no state that satisfies it is
    bad. So a Spacer bug can cost a proof, never give a wrong "holds".
    """

    def __init__(self, enc: Encoding, budget: Budget) -> None:
        self.enc = enc
        self.budget = budget
        self.xs, self.ys = enc.state("hx", 0), enc.state("hy", 0)
        self.reach = z3.Function("Reach", *[x.sort() for x in self.xs], z3.BoolSort())
        self.step, self.cons = enc.step(self.xs, self.ys, "h")
        self.invariants: list[z3.BoolRef] = []  # certified: each holds in every reachable state

    def _excluded(self, bad: z3.BoolRef) -> bool:
        """An invariant already proved excludes every bad state (e.g. "at most one frame" excludes the
        lowering's nesting bound): a proof without another Spacer query."""
        if not self.invariants:
            return False
        s = z3.SolverFor("QF_BV")
        s.add(*self.invariants, self.enc.domain(self.xs), bad)
        return bool(self.budget.solve(s, cap=QUERY_CAP) == z3.unsat)

    def _fixedpoint(self) -> z3.Fixedpoint:
        enc, xs, ys = self.enc, self.xs, self.ys
        fp = z3.Fixedpoint()
        fp.set(engine="spacer")
        fp.register_relation(self.reach)
        fp.declare_var(*xs, *ys, *([self.step.sel] if self.step.sel is not None else []))
        fp.rule(self.reach(*xs), [enc.init(xs)])
        fp.rule(self.reach(*ys), [self.reach(*xs), enc.domain(ys), *self.cons])
        return fp

    def proves(self, tg: Target, cap: float = QUERY_CAP) -> bool:
        """True: the target is unreachable (Spacer found an inductive invariant, and it checks). The
        query may take `cap` seconds (less when the run's time is nearly up)."""
        self.budget.check()
        bad = bad_any(self.enc, tg, self.xs)
        if self._excluded(bad):
            return True
        cover = query_cover(self._fixedpoint(), z3.And(self.reach(*self.xs), bad), self.reach, self.budget, cap)
        if cover is None:
            return False
        inv = z3.substitute_vars(cover, *self.xs)
        if not self._certified(inv, bad):
            return False
        self.invariants.append(inv)
        return True

    def _certified(self, inv: z3.BoolRef, bad: z3.BoolRef) -> bool:
        enc, xs, ys = self.enc, self.xs, self.ys
        inv_next = z3.substitute(inv, *zip(xs, ys, strict=True))
        return all_unsat(self.budget, [z3.And(enc.init(xs), z3.Not(inv)),
                                       z3.And(inv, enc.domain(xs), enc.domain(ys), *self.cons, z3.Not(inv_next)),
                                       z3.And(inv, enc.domain(xs), bad)])
