"""Liveness proofs: no fair lasso exists, by liveness-to-safety (Biere, Artho, Schuppan 2002) and Spacer.

Lasso BMC (smt_liveness) finds fair loops but can never show that there is
none. Liveness-to-safety turns "no fair loop on which request r stays pending"
into the unreachability of a bad state in a larger system, which a safety
prover can settle. The larger system runs the model and, at a step of its
choosing, saves a copy of the current state; from then on every step must keep
r pending and undelivered (the loop's "stay" condition of smt_liveness), and
flags record what the loop has done for each fairness group (moved; and for a
weak group "was disabled somewhere", for a strong one "was enabled somewhere").
Bad: the current state equals the saved copy and every group is served
(weak: moved or disabled somewhere; strong: moved or disabled everywhere), i.e.
the steps since the save form exactly the loop Lasso.search looks for. So the
bad state is reachable iff a fair lasso exists, of any length.

Spacer (CHC) proves it unreachable over the relation Reach(x, saved, flags); as
in smt_spacer, its invariant is checked again by a plain solver (initial
state, each of the three rules, the bad state) before "no loop" is believed.
"""

from __future__ import annotations

import z3

from ircheck.smt_budget import Budget
from ircheck.smt_encode import Encoding
from ircheck.smt_liveness import group_members, waits
from ircheck.smt_spacer import all_unsat, query_cover

QUERY_CAP = 3.0  # seconds of the first try per request (then doubled, as Spacer's safety targets)


class LoopProver:
    """One request at a time: `proves(r, cap)` is True when no fair loop keeps r pending."""

    def __init__(self, enc: Encoding, budget: Budget) -> None:
        self.enc = enc
        self.budget = budget
        self.groups = list(enc.ts.groups)
        self.members = group_members(enc.ts)
        self.xs, self.ys = enc.state("lx", 0), enc.state("ly", 0)
        self.saved = enc.state("lsv", 0)
        # [saved?] + per group [moved, weak: off seen / strong: on seen] (+ [a `recurs` step taken] when a
        # request has a Büchi condition: then only a loop that takes one is a violation)
        self.buchi = any(req.recurs for req in enc.ts.requests)
        nflags = 1 + 2 * len(self.groups) + int(self.buchi)
        self.f0 = [z3.Bool(f"lf0_{i}") for i in range(nflags)]
        self.step, self.cons = enc.step(self.xs, self.ys, "l2s")

    def _pieces(self, r: int) -> tuple[z3.BoolRef, list[z3.BoolRef], list[z3.BoolRef]]:
        """For the step from xs: r stays pending and undelivered; per group: it moved; it is disabled
        (weak) / enabled (strong) in xs."""
        enc, ts, xs, fired = self.enc, self.enc.ts, self.xs, self.step.fired
        stay = waits(enc, r, xs, fired)
        moved = [z3.Or([fired[ti] for ti in self.members[g]]) for g in self.groups]
        seen = []
        for g in self.groups:
            on = enc.enabled_any(self.members[g], xs)
            seen.append(on if g in ts.strong else z3.Not(on))
        return stay, moved, seen

    def _rules(self, r: int) -> tuple[list[z3.ExprRef], list[tuple[list[z3.ExprRef], list[z3.BoolRef]]], z3.BoolRef]:
        """(initial arguments, [(post-state arguments, body) for each step rule], bad) of the Horn
        system; pre-state arguments are always xs + saved + f0."""
        enc, xs, ys, sv, f0 = self.enc, self.xs, self.ys, self.saved, self.f0
        stay, moved, seen = self._pieces(r)
        no = z3.BoolVal(False)
        init = [*xs, *[z3.BitVecVal(0, x.size()) for x in xs], *[no] * len(f0)]
        fresh: list[z3.ExprRef] = [z3.BoolVal(True)]
        acc: list[z3.ExprRef] = [z3.BoolVal(True)]
        for gi in range(len(self.groups)):
            fresh += [moved[gi], seen[gi]]
            acc += [z3.Or(f0[1 + 2 * gi], moved[gi]), z3.Or(f0[2 + 2 * gi], seen[gi])]
        recurs = sorted(enc.ts.requests[r].recurs)
        if self.buchi:
            took = z3.Or([self.step.fired[ti] for ti in recurs]) if recurs else z3.BoolVal(True)
            fresh.append(took)
            acc.append(z3.Or(f0[-1], took))
        step = [enc.domain(ys), *self.cons]
        rules = [([*ys, *sv, *f0], [z3.Not(f0[0]), *step]),        # run on, nothing saved
                 ([*ys, *xs, *fresh], [z3.Not(f0[0]), stay, *step]),  # save this state, the loop starts
                 ([*ys, *sv, *acc], [f0[0], stay, *step])]            # the loop goes on
        fair = []
        for gi, g in enumerate(self.groups):
            m, s = f0[1 + 2 * gi], f0[2 + 2 * gi]
            fair.append(z3.Or(m, z3.Not(s)) if g in enc.ts.strong else z3.Or(m, s))
        if self.buchi:
            fair.append(f0[-1])
        bad = z3.And(f0[0], enc.same(xs, sv), *fair)
        return init, rules, bad

    def proves(self, r: int, cap: float = QUERY_CAP) -> bool:
        self.budget.check()
        enc, xs, sv, f0 = self.enc, self.xs, self.saved, self.f0
        init, rules, bad = self._rules(r)
        pre = [*xs, *sv, *f0]
        reach = z3.Function(f"Loop{r}", *[a.sort() for a in pre], z3.BoolSort())
        fp = z3.Fixedpoint()
        fp.set(engine="spacer")
        fp.register_relation(reach)
        fp.declare_var(*xs, *self.ys, *sv, *f0, *([self.step.sel] if self.step.sel is not None else []))
        fp.rule(reach(*init), [enc.init(xs)])
        for post, body in rules:
            fp.rule(reach(*post), [reach(*pre), *body])
        cover = query_cover(fp, z3.And(reach(*pre), bad), reach, self.budget, cap)
        return cover is not None and self._certified(cover, init, rules, bad)

    def _certified(self, cover: z3.ExprRef, init: list[z3.ExprRef],
                   rules: list[tuple[list[z3.ExprRef], list[z3.BoolRef]]], bad: z3.BoolRef) -> bool:
        """Spacer's invariant, over the relation's arguments, holds initially, is kept by every rule
        and excludes the bad state: checked by a plain solver, so a Spacer bug costs a proof only."""
        enc, xs = self.enc, self.xs
        pre = [*xs, *self.saved, *self.f0]

        def inv(args: list[z3.ExprRef]) -> z3.BoolRef:
            return z3.substitute_vars(cover, *args)

        return all_unsat(self.budget, [z3.And(enc.init(xs), z3.Not(inv(init))),
                                       z3.And(inv(pre), enc.domain(xs), bad),
                                       *[z3.And(inv(pre), enc.domain(xs), *body, z3.Not(inv(post)))
                                         for post, body in rules]])
