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


class Spacer:
    def __init__(self, enc: Encoding, budget: Budget) -> None:
        self.enc = enc
        self.budget = budget
        xs, ys = enc.state("hx", 0), enc.state("hy", 0)
        self.xs = xs
        self.reach = z3.Function("Reach", *[x.sort() for x in xs], z3.BoolSort())
        fp = z3.Fixedpoint()
        fp.set(engine="spacer")
        fp.register_relation(self.reach)
        step, cons = enc.step(xs, ys, "h")
        fp.declare_var(*xs, *ys, *([step.sel] if step.sel is not None else []))
        fp.rule(self.reach(*xs), [enc.init(xs)])
        fp.rule(self.reach(*ys), [self.reach(*xs), enc.domain(ys), *cons])
        self.fp = fp

    def proves(self, tg: Target, share: float = 0.25) -> bool:
        """True: the target is unreachable (Spacer found an inductive invariant). It may take
        `share` of the time left, at least QUERY_CAP seconds."""
        self.budget.check()
        left = self.budget.left()
        # a quarter of the time left (at least QUERY_CAP): Spacer is the only prover that can find
        # a strengthening, so it gets a real share of --timeout; without one, QUERY_CAP
        cap = QUERY_CAP if left is None else max(0.05, min(left, max(QUERY_CAP, share * left)))
        self.fp.set(timeout=int(cap * 1000))
        t = time.perf_counter()
        try:
            r = self.fp.query(z3.And(self.reach(*self.xs), bad_any(self.enc, tg, self.xs)))
        except z3.Z3Exception:  # "canceled" on its timeout (or on Ctrl-C, which Z3 catches), or a limit
            if time.perf_counter() - t < 0.9 * cap:
                ctrl_c()
            return False
        finally:
            self.budget.solver_seconds += time.perf_counter() - t
        return r == z3.unsat
