"""Partial-order reduction's static facts about steps: what each transition reads and writes (bit
masks, `rw_sets`), which checks' firings count as visible (`target_checks`), and whether a step may
change a state property or another label (`changes`, `visible_steps`). checker/por.py builds the
reduced search's tables from them; its docstring says why they make the reduction sound.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ircheck.spec.expr import BinOp, Cond, Const, LNot, Member, NAry, Op, Ref, eq_var_const
from ircheck.spec.expr import conjuncts as expr_conjuncts
from ircheck.spec.ts import And, Bin, C, Expr, Ite, Not, Or, TransitionSystem, V, variables_of
from ircheck.spec.walker import Visitor


@dataclass(frozen=True)
class RW:
    """What one transition reads (guard and update right-hand sides) and writes, as bit masks over
    the variables (bit i: variable i): a model of 10,000 threads has 60,000 transitions each reading
    the same 10,000 variables, 750 bytes a mask where a set took 200 KB."""

    reads: int
    writes: int


def mask_of(vs: set[int] | frozenset[int]) -> int:
    out = 0
    for v in vs:
        out |= 1 << v
    return out


class SharedVars:
    """The variables an expression reads, as a mask (`RW`), for expressions whose conjunctions and
    disjunctions share subexpressions by reference (the lowering gives the 10,000 switch steps of
    10,000 threads one "no other task can run" predicate): each `NAry` is walked once and
    remembered by identity."""

    def __init__(self) -> None:
        self.memo: dict[int, int] = {}
        self.keep: list[Expr] = []  # the expressions remembered: alive, so their ids stay theirs

    def __call__(self, e: Expr) -> int:
        got = self.memo.get(id(e))
        if got is None:
            if type(e) is NAry:
                got = 0
                for a in e.args:
                    got |= self(a)
            else:
                got = mask_of(variables_of(e))
            self.memo[id(e)] = got
            self.keep.append(e)
        return got


def rw_sets(ts: TransitionSystem, tick: Callable[[], None] = lambda: None,
            vars_of: SharedVars | None = None) -> list[RW]:
    """Per transition, what it reads and writes; `tick` once a transition (the run's limits)."""
    vars_of = vars_of or SharedVars()
    out: list[RW] = []
    for t in ts.transitions:
        tick()
        reads = vars_of(t.guard)
        for _vi, e in t.updates:
            reads |= vars_of(e)
        # an update that assigns a variable its own value writes nothing
        out.append(RW(reads, mask_of({vi for vi, e in t.updates if e != V(vi)})))
    return out


def conjuncts(e: Expr) -> list[Expr]:
    return list(expr_conjuncts(e))


def target_checks(ts: TransitionSystem) -> set[str]:
    """The `violates` tags whose firing the search must preserve."""
    out = set(ts.checks) | {ts.bound_check}
    if ts.judge is not None:
        out.add(ts.fact_check)
    return out


class _Substitute(Visitor[Expr]):
    """An expression with variable i replaced by env[i] (when given), rebuilt with the folding
    constructors (a `Cond` with equal branches is that branch; a membership of a constant is 0/1)."""

    def __init__(self, env: dict[int, Expr]) -> None:
        self.env = env

    def visit_const(self, e: Const) -> Expr:
        return e

    def visit_ref(self, e: Ref) -> Expr:
        return self.env.get(e.i, e)

    def visit_not_(self, e: LNot) -> Expr:
        return Not(self.visit(e.a))

    def visit_nary(self, e: NAry) -> Expr:
        args = [self.visit(a) for a in e.args]
        return And(*args) if e.op is Op.AND else Or(*args)

    def visit_binop(self, e: BinOp) -> Expr:
        return Bin(e.op, self.visit(e.a), self.visit(e.b))

    def visit_member(self, e: Member) -> Expr:
        a = self.visit(e.a)
        return C(int(a.k in e.values)) if type(a) is Const else Member(a, e.values)

    def visit_cond(self, e: Cond) -> Expr:
        c, a, b = self.visit(e.c), self.visit(e.a), self.visit(e.b)
        return a if a == b else Ite(c, a, b)


def fold(e: Expr, env: dict[int, Expr]) -> Expr:
    """e with variable i replaced by env[i] (when given) and constant parts computed."""
    return _Substitute(env).visit(e)


def changes(prop: Expr, guard: Expr, updates: tuple[tuple[int, Expr], ...]) -> bool:
    """May a step with this guard and these updates change the value of `prop`? Sound "no":
    with the variables the guard pins to constants, prop before and prop after the updates
    (both written over the state before the step) fold to the same expression. A handler step
    from one statement of a routine to the next leaves "two frames inside the routine" alone."""
    return _changes(prop, pinned_by(guard), updates)


def pinned_by(guard: Expr) -> dict[int, Expr]:
    """The variables a guard's conjuncts `x == k` pin, to their constants."""
    pinned: dict[int, Expr] = {}
    for c in conjuncts(guard):
        xk = eq_var_const(c)
        if xk is not None:
            pinned[xk[0]] = C(xk[1])
    return pinned


def _changes(prop: Expr, pinned: dict[int, Expr], updates: tuple[tuple[int, Expr], ...]) -> bool:
    after = dict(pinned)
    for vi, u in updates:
        after[vi] = fold(u, pinned)
    return fold(prop, pinned) != fold(prop, after)


def visible_steps(ts: TransitionSystem, labels: list[Expr], rws: list[RW], tick: Callable[[], None],
                  known: set[int] | frozenset[int] = frozenset()) -> list[bool]:
    """Per transition: in `known` (visible for another reason), a target (`target_checks`), or a
    step that may change one of `labels` (`changes`). `changes` only reads the label's variables,
    the updates of them and the pinned variables these read, so its answer is kept under exactly
    that key: transitions that differ elsewhere (other contexts' program counters, another
    device's registers) share it. `tick`: the run's limits, once a transition (a model of 60 APIC
    lines has 11,100 transitions and 120 labels)."""
    targets = target_checks(ts)
    lv = [mask_of(variables_of(e)) for e in labels]
    memo: dict[tuple[int, tuple[tuple[int, Expr], ...], tuple[tuple[int, Expr], ...]], bool] = {}
    reads: dict[Expr, int] = {}
    out: list[bool] = []
    for i, t in enumerate(ts.transitions):
        tick()
        vis = i in known or any(c in targets for c, _m in t.violates)
        w = rws[i].writes
        pinned: dict[int, Expr] | None = None
        for k, pv in enumerate(lv):
            if vis:
                break
            if not w & pv:
                continue
            if pinned is None:
                pinned = pinned_by(t.guard)
            ups = tuple((vi, u) for vi, u in t.updates if (pv & w) >> vi & 1)
            need = pv
            for _vi, u in ups:
                got = reads.get(u)
                if got is None:
                    got = reads[u] = mask_of(variables_of(u))
                need |= got
            pins = tuple(sorted((vi, c) for vi, c in pinned.items() if need >> vi & 1))
            key = (k, pins, ups)
            hit = memo.get(key)
            if hit is None:
                hit = memo[key] = _changes(labels[k], dict(pins), ups)
            vis = hit
        out.append(vis)
    return out
