"""Bounded model checking: the unrolling from the initial state, deepened one step at a time.

One incremental solver holds init(s0), step(s0,s1) ... step(s_{k-1},s_k) and the
simple-path constraints (all states pairwise different). A query at depth k
asks, under push/pop, whether some open target is bad in s_k: since depths are
tried in order, the first answer is a shortest counterexample (shortest paths
are simple, so the simple-path constraints never hide one). They buy
completeness: when the unrolling alone is unsatisfiable at depth k, no
loop-free path of k steps exists, every reachable state lies at depth < k,
and every target not found is unreachable (the recurrence diameter).

Lengths match the explicit engine: a state-property target at s_k is a trace
of k steps, a "transition enabled" target at s_k one of k+1 (the bad step
itself). Phase A (state targets) is queried before phase B at each depth.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import z3

from ircheck.codegen import Compiled
from ircheck.smt_budget import Budget
from ircheck.smt_encode import Encoding, State, Step
from ircheck.spec.checks import DEADLOCK_CHECK
from ircheck.spec.ts import TransitionSystem, evaluate

EXHAUST_CAP = 1.0  # seconds for one "is there a loop-free path of k steps" query


@dataclass
class Target:
    """Something BMC looks for and induction tries to prove unreachable.

    kind: "check" (a safety check: its state properties and its tagged transitions), "fact" (a
    fact-tagged transition is enabled), "bound" (a step runs into the model's bound), "quiet" (no
    CPU step and something unfinished: a deadlock candidate), "wait" (`ts.waits[request]` is
    blocked: a deadlock candidate when no state without the block can follow), "terminal" (a liveness request
    pending where no fair step is enabled), "pending" (a request is pending at all: when that is
    unreachable, the request holds trivially; found, it only means the proof must go elsewhere).
    """

    key: str
    kind: str
    name: str                       # check name, fact key, or request check
    props: list[int] = field(default_factory=list)   # state property indices (phase A)
    trans: list[int] = field(default_factory=list)   # transitions whose being enabled is bad (phase B)
    request: int | None = None
    blocked: list[State] = field(default_factory=list)  # quiet: candidates shown to escape

    @property
    def phase_a(self) -> bool:
        return bool(self.props) or self.kind in ("quiet", "wait", "terminal", "pending")

    @property
    def phase_b(self) -> bool:
        return bool(self.trans)


def bad_state(enc: Encoding, tg: Target, s: list[z3.BitVecRef], with_blocked: bool = True) -> z3.BoolRef:
    """Phase A: the target's state predicate is bad in s."""
    ts = enc.ts
    if tg.kind == "quiet":
        cpu = [ti for ti, t in enumerate(ts.transitions) if t.group is not None]
        parts = [enc.cond(ts.unfinished, s), z3.Not(enc.enabled_any(cpu, s))]
        if with_blocked:
            parts += [z3.Not(enc.equal(s, q)) for q in tg.blocked]
        return z3.And(parts)
    if tg.kind == "wait":
        assert tg.request is not None
        parts = [enc.cond(ts.waits[tg.request].blocked, s)]
        if with_blocked:
            parts += [z3.Not(enc.equal(s, q)) for q in tg.blocked]
        return z3.And(parts)
    if tg.kind == "pending":
        assert tg.request is not None
        return enc.cond(ts.requests[tg.request].pending, s)
    if tg.kind == "terminal":
        assert tg.request is not None
        fair = [ti for ti, t in enumerate(ts.transitions) if t.fair]
        return z3.And(enc.cond(ts.requests[tg.request].pending, s), z3.Not(enc.enabled_any(fair, s)))
    return z3.Or([z3.Not(enc.cond(ts.state_props[p].ok, s)) for p in tg.props])


def bad_step(enc: Encoding, tg: Target, s: list[z3.BitVecRef]) -> z3.BoolRef:
    """Phase B: one of the target's transitions is enabled in s."""
    return enc.enabled_any(tg.trans, s)


def bad_any(enc: Encoding, tg: Target, s: list[z3.BitVecRef]) -> z3.BoolRef:
    """Either phase (for induction: the invariant is the negation, without the blocked candidates)."""
    parts = []
    if tg.phase_a:
        parts.append(bad_state(enc, tg, s, with_blocked=False))
    if tg.phase_b:
        parts.append(bad_step(enc, tg, s))
    return z3.Or(parts) if parts else z3.BoolVal(False)


@dataclass
class Hit:
    """A target found at some depth: the states s_0..s_k and, for phase B, the bad transition."""

    target: Target
    states: list[State]
    last: int | None = None


class Unrolling:
    """A path of steps over named states, with optional init and simple-path constraints."""

    def __init__(self, enc: Encoding, prefix: str, start: z3.BoolRef | State | None, simple: bool,
                 each: Callable[[list[z3.BitVecRef]], z3.BoolRef] | None = None) -> None:
        self.enc = enc
        self.prefix = prefix
        self.solver = z3.SolverFor("QF_BV")
        self.simple = simple
        self.each = each  # a constraint on every state of the path (k-induction's proved invariants)
        self.steps: list[Step] = []
        self.added: list[z3.BoolRef] = []  # every permanent constraint, to rebuild the solver
        s0 = enc.state(prefix, 0)
        self.add(enc.domain(s0))
        if each is not None:
            self.add(each(s0))
        if isinstance(start, tuple):
            self.add(enc.equal(s0, start))
        elif start is not None:
            self.add(start)
        self.k = 0

    def add(self, *cons: z3.BoolRef) -> None:
        self.added += cons
        self.solver.add(*cons)

    def reset(self) -> None:
        """A fresh solver with the same constraints. Needed after a query cut off by its time cap:
        Z3's incremental QF_BV solver then refuses the next push ("apply simplifier before
        invoking translator")."""
        self.solver = z3.SolverFor("QF_BV")
        self.solver.add(*self.added)

    def state(self, i: int) -> list[z3.BitVecRef]:
        return self.enc.state(self.prefix, i)

    def extend_to(self, k: int) -> None:
        enc = self.enc
        while self.k < k:
            a, b = self.state(self.k), self.state(self.k + 1)
            step, cons = enc.step(a, b, f"{self.prefix}{self.k}")
            self.steps.append(step)
            self.add(enc.domain(b), *cons)
            if self.each is not None:
                self.add(self.each(b))
            if self.simple:
                for i in range(self.k + 1):
                    self.add(enc.distinct(self.state(i), b))
            self.k += 1

    def decode(self, model: z3.ModelRef, upto: int) -> list[State]:
        return [self.enc.decode(model, self.state(i)) for i in range(upto + 1)]


class Bmc:
    """Shortest counterexamples by deepening; `exhausted(k)` says no loop-free path of k steps exists."""

    def __init__(self, enc: Encoding, budget: Budget) -> None:
        self.enc = enc
        self.budget = budget
        self.path = Unrolling(enc, "s", enc.init(enc.state("s", 0)), simple=False)
        self.simple = Unrolling(enc, "s", enc.init(enc.state("s", 0)), simple=True)

    def exhausted(self, k: int, cap: float = EXHAUST_CAP) -> bool:
        """No loop-free path of k steps from the initial state (a query that does not finish within
        its cap says nothing: finding long loop-free paths gets hard long before they run out)."""
        self.simple.extend_to(k)
        r = self.budget.solve(self.simple.solver, cap=cap)
        if r == z3.unknown:
            self.simple.reset()
        return bool(r == z3.unsat)

    def search(self, targets: list[Target], k: int, phase: str) -> list[Hit]:
        """Every target of `targets` bad at depth k in this phase ("a" states, "b" enabled steps)."""
        enc, solver = self.enc, self.path.solver
        self.path.extend_to(k)
        s = self.path.state(k)
        mine = [t for t in targets if (t.phase_a if phase == "a" else t.phase_b)]
        hits: list[Hit] = []
        while mine:
            preds = {t.key: (bad_state(enc, t, s) if phase == "a" else bad_step(enc, t, s)) for t in mine}
            solver.push()
            try:
                solver.add(z3.Or(list(preds.values())))
                if self.budget.solve(solver) == z3.unsat:
                    break
                model = solver.model()
                states = self.path.decode(model, k)
                got = [t for t in mine if z3.is_true(model.eval(preds[t.key], model_completion=True))]
            finally:
                solver.pop()
            for t in got:
                states_t = self.least(preds[t.key], k) or states
                last = None
                if phase == "b":
                    last = next(ti for ti in t.trans if evaluate(enc.ts.transitions[ti].guard, states_t[-1]))
                hits.append(Hit(t, states_t, last))
            mine = [t for t in mine if t not in got]
            if not got:  # cannot happen (the model satisfies the disjunction); never loop for ever
                break
        order = {t.key: i for i, t in enumerate(targets)}
        return sorted(hits, key=lambda h: order[h.target.key])

    def least(self, bad: z3.BoolRef, k: int) -> list[State] | None:
        """The least path of k steps to `bad` (least transition at each step): the trace no longer
        depends on which model Z3 returns, so every run prints the same one. None if the budget
        cut a query off (then the model's path is kept)."""
        solver = self.path.solver
        solver.push()
        try:
            solver.add(bad)
            for i in range(k):
                sel = self.path.steps[i].sel
                if sel is not None and pin_least(solver, self.budget, sel, len(self.path.steps[i].fired) - 1) \
                        != z3.sat:
                    return None
            if self.budget.solve(solver) != z3.sat:
                return None
            return self.path.decode(solver.model(), k)
        finally:
            solver.pop()


def pin_least(solver: z3.Solver, budget: Budget, x: z3.BitVecRef, hi: int, cap: float | None = None) -> z3.CheckSatResult:
    """Add `x == v` for the least v <= hi the constraints allow (binary search, one query a bit);
    the constraints must allow some v <= hi. unknown when a query is cut off."""
    lo = 0
    while lo < hi:
        mid = (lo + hi) // 2
        solver.push()
        solver.add(z3.ULE(x, mid))
        r = budget.solve(solver, cap=cap)
        solver.pop()
        if r == z3.unknown:
            return r
        if r == z3.sat:
            hi = mid
        else:
            lo = mid + 1
    solver.add(x == lo)
    return budget.solve(solver, cap=cap)


def quiet_escapes(enc: Encoding, q: State, budget: Budget, max_depth: int, wait: int | None = None) -> bool | None:
    """From quiet state q, can a state that is not quiet be reached (through quiet states)?
    With `wait`: "quiet" is "ts.waits[wait] is blocked" (can the waiter ever be released?).

    True: yes (q is no deadlock); False: no, proved by exhausting the loop-free paths through quiet
    states; None: undecided within max_depth steps.
    """
    ts = enc.ts
    cpu = [ti for ti, t in enumerate(ts.transitions) if t.group is not None]
    path = Unrolling(enc, f"q{abs(hash(q))}_{wait}_", q, simple=True)

    def quiet(s: list[z3.BitVecRef]) -> z3.BoolRef:
        if wait is not None:
            return enc.cond(ts.waits[wait].blocked, s)
        return z3.And(enc.cond(ts.unfinished, s), z3.Not(enc.enabled_any(cpu, s)))

    path.add(quiet(path.state(0)))
    for j in range(1, max_depth + 1):
        path.extend_to(j)
        sj = path.state(j)
        path.solver.push()
        path.solver.add(z3.Not(quiet(sj)))
        r = budget.solve(path.solver)
        path.solver.pop()
        if r == z3.sat:
            return True
        path.add(quiet(sj))
        if budget.solve(path.solver) == z3.unsat:
            return False
    return None


REGION_CAP = 200_000  # states of a deadlock candidate's quiet/blocked region explored before Z3 is asked


def region_escapes(code: Compiled, s0: int, wait: int | None, budget: Budget) -> bool | None:
    """The escape question for the packed candidate s0 answered by exploring, with the compiled
    successor function, the quiet (blocked on `wait`) states reachable from it: True at the first
    successor outside them, False when they are exhausted (exact), None past REGION_CAP states
    (then the Z3 escape query `quiet_escapes` decides). A candidate's region is often small even
    when the model is not, while the Z3 query has to exhaust its loop-free paths."""

    def inside(x: int) -> bool:
        if wait is not None:
            return bool(code.blocked(x) >> wait & 1)
        return code.succ(x, [], []) == 0 and bool(code.unfinished(x))

    seen, todo = {s0}, [s0]
    while todo:
        if len(seen) % 1024 == 0:
            budget.check()
        out: list[int] = []
        code.succ(todo.pop(), out, [])
        for x in out:
            if x in seen:
                continue
            if not inside(x):
                return True
            if len(seen) >= REGION_CAP:
                return None
            seen.add(x)
            todo.append(x)
    return False


def targets_of(ts: TransitionSystem) -> list[Target]:
    """What the Z3 engine looks for, per enabled check: the state properties and violating
    transitions of each check ("check:NAME"), the model bound ("bound"), each lockdep fact
    ("fact:KEY"), quiet states and each wait blocked for ever for the deadlock check ("quiet",
    "wait:k"), and per liveness request a pending state with no fair step ("terminal:r") and one
    pending at all ("pending:r")."""
    checks = set(ts.checks)
    tg: dict[str, Target] = {}
    for pi, p in enumerate(ts.state_props):
        if p.check in checks:
            tg.setdefault("check:" + p.check, Target("check:" + p.check, "check", p.check)).props.append(pi)
    for ti, t in enumerate(ts.transitions):
        for check, msg in t.violates:
            if check == ts.bound_check:
                tg.setdefault("bound", Target("bound", "bound", msg)).trans.append(ti)
            elif check == ts.fact_check:
                tg.setdefault("fact:" + msg, Target("fact:" + msg, "fact", msg)).trans.append(ti)
            elif check in checks:
                t_ = tg.setdefault("check:" + check, Target("check:" + check, "check", check))
                if ti not in t_.trans:
                    t_.trans.append(ti)
    if DEADLOCK_CHECK in checks:
        tg["quiet"] = Target("quiet", "quiet", DEADLOCK_CHECK)
        for w in range(len(ts.waits)):
            tg[f"wait:{w}"] = Target(f"wait:{w}", "wait", DEADLOCK_CHECK, request=w)
    for r, req in enumerate(ts.requests):
        if req.check in checks:
            if not req.recurs:  # with a Büchi condition, a run that stops breaks nothing
                tg[f"terminal:{r}"] = Target(f"terminal:{r}", "terminal", req.check, request=r)
            tg[f"pending:{r}"] = Target(f"pending:{r}", "pending", req.check, request=r)
    return list(tg.values())
