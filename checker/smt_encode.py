"""The TransitionSystem as Z3 bit-vector formulas: states, guards, updates, one step.

Why bit-vectors: the lowering's expressions use `& | ^ << >>` on register
variables, which integer arithmetic in Z3 cannot express without
non-linear tricks, while bit-blasting small registers is what SAT solvers do
best. Python integers are unbounded, so every expression is evaluated in one
width `W` wide enough (by an interval analysis of every subexpression) that
no intermediate value of any reachable computation overflows; comparisons are
signed and `>>` is arithmetic, which is what Python does on ints of that size.

A state at step k is one bit-vector constant per variable, as narrow as its
domain; every read widens it to `W`. A step is one Bool per transition ("this
one fired") with `fired => guard and next = updates`, and at least one fires.
Several Bools may be true at once when their transitions lead to the same
state; the decoder takes the first, and the trace is replayed by spec/step.py
anyway. Nothing here knows what an interrupt is.
"""

from __future__ import annotations

from collections.abc import Sequence

import z3

from ircheck.spec.expr import COMPARISON, BinOp, Cond, Const, LNot, Member, NAry, Op, Ref
from ircheck.spec.ts import Expr, TransitionSystem, bounds, fold_ranges, signed_bits
from ircheck.spec.walker import Visitor

State = tuple[int, ...]

MAX_WIDTH = 4096  # an expression needing more bits than this is not encoded (the engine says inconclusive);
# the constants a model writes never need it: comparisons against them are folded first (fold_ranges)


class Unsupported(Exception):
    """The TransitionSystem uses something this encoding does not handle (the check is then inconclusive)."""


def interval(e: Expr, sizes: Sequence[int], memo: dict[Expr, tuple[int, int]]) -> tuple[int, int]:
    """Bounds lo..hi of `e` over every state in the variable domains (an over-approximation)."""
    try:
        return bounds(e, sizes, memo)
    except ValueError as err:
        raise Unsupported(str(err)) from None


def _exprs(ts: TransitionSystem) -> list[Expr]:
    exprs: list[Expr] = [ts.unfinished]
    for t in ts.transitions:
        exprs.append(t.guard)
        exprs += [e for _vi, e in t.updates]
    exprs += [p.ok for p in ts.state_props]
    exprs += [r.pending for r in ts.requests]
    exprs += [w.blocked for w in ts.waits]
    return exprs


def expression_width(ts: TransitionSystem, folded: dict[Expr, Expr] | None = None) -> int:
    """The one bit-vector width every expression of `ts` is evaluated in (see the module docstring),
    once `fold_ranges` has decided the comparisons the variables' ranges decide: `c < 2**255`
    is true for a counter, and needs no 257-bit comparator."""
    sizes = [v.size for v in ts.vars]
    memo: dict[Expr, tuple[int, int]] = {}
    folded = {} if folded is None else folded
    width = max((signed_bits(0, s - 1) for s in sizes), default=2)
    for e in _exprs(ts):
        interval(fold_ranges(e, sizes, folded), sizes, memo)
    for lo, hi in memo.values():
        width = max(width, signed_bits(lo, hi))
    if width > MAX_WIDTH:
        raise Unsupported(f"expressions need {width} bits")
    return width


class Step:
    """One step's transition Bools: `fired[t]` says transition t was taken."""

    def __init__(self, fired: list[z3.BoolRef], sel: z3.BitVecRef | None = None) -> None:
        self.fired = fired
        self.sel = sel


class Encoding:
    """Builds formulas over named copies of the state (`state("s", k)` is the state at step k)."""

    def __init__(self, ts: TransitionSystem) -> None:
        self.ts = ts
        self.sizes = [v.size for v in ts.vars]
        self._folded: dict[Expr, Expr] = {}  # an expression -> the same under fold_ranges
        self.width = expression_width(ts, self._folded)
        self.vwidth = [max(1, (v.size - 1).bit_length()) for v in ts.vars]
        self._states: dict[tuple[str, int], list[z3.BitVecRef]] = {}
        # (id of the state list, expr, or ("?", expr) for its Bool, or ("whole",)) -> term
        self._memo: dict[tuple[int, object], z3.ExprRef] = {}
        # one step over template states @a -> @b with selector @sel, built on first use (see `step`)
        self._template: tuple[list[z3.BitVecRef], list[z3.BitVecRef], z3.BitVecRef, z3.BoolRef] | None = None

    # ---- states
    def state(self, prefix: str, k: int) -> list[z3.BitVecRef]:
        key = (prefix, k)
        if key not in self._states:
            self._states[key] = [z3.BitVec(f"{prefix}{k}.{v.name}#{i}", w)
                                 for i, (v, w) in enumerate(zip(self.ts.vars, self.vwidth, strict=True))]
        return self._states[key]

    def domain(self, s: list[z3.BitVecRef]) -> z3.BoolRef:
        """Every variable within 0..size-1 (only needed where the size is not a power of two)."""
        parts = [z3.ULE(x, v.size - 1) for x, v, w in zip(s, self.ts.vars, self.vwidth, strict=True)
                 if v.size != 1 << w]
        return z3.And(parts) if parts else z3.BoolVal(True)

    def equal(self, s: list[z3.BitVecRef], values: State) -> z3.BoolRef:
        return z3.And([x == z3.BitVecVal(val, x.size()) for x, val in zip(s, values, strict=True)])

    def init(self, s: list[z3.BitVecRef]) -> z3.BoolRef:
        return self.equal(s, self.ts.init())

    def whole(self, s: list[z3.BitVecRef]) -> z3.BitVecRef:
        """The state as one bit-vector (its variables concatenated): one term to compare states."""
        key = (id(s), ("whole",))
        got = self._memo.get(key)
        if got is None:
            got = self._memo[key] = s[0] if len(s) == 1 else z3.Concat(*s)
        return got

    def same(self, a: list[z3.BitVecRef], b: list[z3.BitVecRef]) -> z3.BoolRef:
        return self.whole(a) == self.whole(b) if a else z3.BoolVal(True)

    def distinct(self, a: list[z3.BitVecRef], b: list[z3.BitVecRef]) -> z3.BoolRef:
        # variable by variable: Z3's incremental QF_BV solver refuses `distinct` over concatenations
        # after a query that ran out of time ("apply simplifier before invoking translator")
        return z3.Or([x != y for x, y in zip(a, b, strict=True)]) if a else z3.BoolVal(False)

    # ---- expressions
    def _at(self, term: z3.ExprRef, s: list[z3.BitVecRef]) -> z3.ExprRef:
        """A term built over the template state @a, read in state s (see `step` for why)."""
        return z3.substitute(term, *zip(self.state("@a", 0), s, strict=True))

    def fold(self, e: Expr) -> Expr:
        """`e` with what the variables' ranges decide folded (`ts.fold_ranges`): equal in every
        state within the domains, and free of constants wider than the encoding."""
        got = self._folded.get(e)
        if got is None:
            got = self._folded[e] = fold_ranges(e, self.sizes, self._folded)
        return got

    def value(self, e: Expr, s: list[z3.BitVecRef]) -> z3.BitVecRef:
        """`e` as a W-bit term in state s."""
        return self._value(self.fold(e), s)

    def cond(self, e: Expr, s: list[z3.BitVecRef]) -> z3.BoolRef:
        """`e` as a Bool in state s (non-zero is true, as in the reference evaluator)."""
        return self._condm(self.fold(e), s)

    def _value(self, e: Expr, s: list[z3.BitVecRef]) -> z3.BitVecRef:
        key = (id(s), e)
        got = self._memo.get(key)
        if got is not None:
            return got
        tmpl = self.state("@a", 0)
        if s is not tmpl:
            got = self._memo[key] = self._at(self._value(e, tmpl), s)
            return got
        r: z3.BitVecRef = _ValueTerm(self, s).visit(e)
        self._memo[key] = r
        return r

    def _condm(self, e: Expr, s: list[z3.BitVecRef]) -> z3.BoolRef:
        key = (id(s), ("?", e))
        got = self._memo.get(key)
        if got is None:
            tmpl = self.state("@a", 0)
            got = self._memo[key] = self._cond(e, s) if s is tmpl else self._at(self._condm(e, tmpl), s)
        return got

    def _cond(self, e: Expr, s: list[z3.BitVecRef]) -> z3.BoolRef:
        return _BoolTerm(self, s).visit(e)

    # ---- transitions
    def guard(self, ti: int, s: list[z3.BitVecRef]) -> z3.BoolRef:
        return self.cond(self.ts.transitions[ti].guard, s)

    def effect(self, ti: int, s: list[z3.BitVecRef], t: list[z3.BitVecRef]) -> z3.BoolRef:
        """t is the state after firing transition ti in s (unnamed variables keep their value)."""
        new: dict[int, Expr] = dict(self.ts.transitions[ti].updates)
        parts = []
        for i, (x, y) in enumerate(zip(s, t, strict=True)):
            if i in new:
                val = self.value(new[i], s)
                w = y.size()
                parts.append(y == (val if w == self.width else z3.Extract(w - 1, 0, val)))
                # a value outside the domain would be a lowering bug: spec.step's replay refuses it
            else:
                parts.append(y == x)
        return z3.And(parts)

    def step(self, s: list[z3.BitVecRef], t: list[z3.BitVecRef], name: str) -> tuple[Step, list[z3.BoolRef]]:
        """The constraints of one step from s to t, and the Bools that say which transition fired.

        One bit-vector `sel` per step names the transition taken, so exactly one fires without a
        cardinality constraint; each variable's next value is an if-then-else over only the
        transitions that assign it (the frame condition is its default), which keeps the formula
        linear in the size of the model instead of transitions x variables.

        The formula is built once, over template states, and each step is that formula with the
        step's own constants substituted in: one call into Z3 instead of rebuilding thousands of
        terms through the Python API (which cost about a second a step on a 1,700-transition model).
        """
        n = len(self.ts.transitions)
        if n == 0:
            return Step([]), [z3.BoolVal(False)]
        if self._template is None:
            a, b = self.state("@a", 0), self.state("@b", 0)
            sel_t = z3.BitVec("@sel", max(1, (n - 1).bit_length()))
            self._template = (a, b, sel_t, z3.And(self._step_constraints(a, b, sel_t)))
        a, b, sel_t, formula = self._template
        sel = z3.BitVec(f"{name}!sel", sel_t.size())
        pairs = [*zip(a, s, strict=True), *zip(b, t, strict=True), (sel_t, sel)]
        return Step([sel == ti for ti in range(n)], sel), [z3.substitute(formula, *pairs)]

    def _step_constraints(self, s: list[z3.BitVecRef], t: list[z3.BitVecRef], sel: z3.BitVecRef) -> list[z3.BoolRef]:
        n = len(self.ts.transitions)
        fired = [sel == ti for ti in range(n)]
        cons: list[z3.BoolRef] = []
        if n != 1 << sel.size():
            cons.append(z3.ULT(sel, n))
        writers: list[list[tuple[int, Expr]]] = [[] for _ in s]
        for ti, tr in enumerate(self.ts.transitions):
            cons.append(z3.Implies(fired[ti], self.guard(ti, s)))
            for vi, e in tr.updates:
                writers[vi].append((ti, e))
        for vi, (x, y) in enumerate(zip(s, t, strict=True)):
            w = y.size()
            for ti, e in writers[vi]:
                val = self.value(e, s)
                # a value outside the domain would be a lowering bug: spec.step's replay refuses it
                cons.append(z3.Implies(fired[ti], y == (val if w == self.width else z3.Extract(w - 1, 0, val))))
            kept = [fired[ti] for ti, _e in writers[vi]]
            cons.append(z3.Implies(z3.Not(z3.Or(kept)), y == x) if kept else y == x)
        return cons

    def enabled_any(self, tis: Sequence[int], s: list[z3.BitVecRef]) -> z3.BoolRef:
        return z3.Or([self.guard(ti, s) for ti in tis]) if tis else z3.BoolVal(False)

    # ---- models back to states
    def decode(self, model: z3.ModelRef, s: list[z3.BitVecRef]) -> State:
        return tuple(model.eval(x, model_completion=True).as_long() for x in s)

    def decode_fired(self, model: z3.ModelRef, step: Step) -> int | None:
        if step.sel is None:
            return None
        return model.eval(step.sel, model_completion=True).as_long()  # type: ignore[no-any-return]


class _ValueTerm(Visitor[z3.BitVecRef]):
    """One node as a W-bit term in state s; operands through `Encoding._value`/`_condm` (memoised)."""

    def __init__(self, enc: Encoding, s: list[z3.BitVecRef]) -> None:
        self.enc, self.s = enc, s

    def visit_const(self, e: Const) -> z3.BitVecRef:
        return z3.BitVecVal(e.k, self.enc.width)

    def visit_ref(self, e: Ref) -> z3.BitVecRef:
        x, w = self.s[e.i], self.enc.width
        return x if x.size() == w else z3.ZeroExt(w - x.size(), x)

    def _boolean(self, e: Expr) -> z3.BitVecRef:
        w = self.enc.width
        return z3.If(self.enc._condm(e, self.s), z3.BitVecVal(1, w), z3.BitVecVal(0, w))

    def visit_not_(self, e: LNot) -> z3.BitVecRef:
        return self._boolean(e)

    def visit_nary(self, e: NAry) -> z3.BitVecRef:
        return self._boolean(e)

    def visit_member(self, e: Member) -> z3.BitVecRef:
        return self._boolean(e)

    def visit_cond(self, e: Cond) -> z3.BitVecRef:
        return z3.If(self.enc._condm(e.c, self.s), self.enc._value(e.a, self.s), self.enc._value(e.b, self.s))

    def visit_binop(self, e: BinOp) -> z3.BitVecRef:
        if e.op in COMPARISON:
            return self._boolean(e)
        a, b = self.enc._value(e.a, self.s), self.enc._value(e.b, self.s)
        op = e.op
        if op is Op.ADD:
            return a + b
        if op is Op.SUB:
            return a - b
        if op is Op.BAND:
            return a & b
        if op is Op.BOR:
            return a | b
        if op is Op.XOR:
            return a ^ b
        if op is Op.SHL:
            return a << b
        if op is Op.SHR:
            return a >> b  # arithmetic, as Python's >>
        raise Unsupported(f"operator {op.value!r}")


class _BoolTerm(Visitor[z3.BoolRef]):
    """One node as a Bool in state s (non-zero is true, as in the reference evaluator)."""

    def __init__(self, enc: Encoding, s: list[z3.BitVecRef]) -> None:
        self.enc, self.s = enc, s

    def _nonzero(self, e: Expr) -> z3.BoolRef:
        return self.enc._value(e, self.s) != z3.BitVecVal(0, self.enc.width)

    def visit_const(self, e: Const) -> z3.BoolRef:
        return z3.BoolVal(bool(e.k))

    def visit_ref(self, e: Ref) -> z3.BoolRef:
        return self._nonzero(e)

    def visit_not_(self, e: LNot) -> z3.BoolRef:
        return z3.Not(self.enc._condm(e.a, self.s))

    def visit_nary(self, e: NAry) -> z3.BoolRef:
        parts = [self.enc._condm(a, self.s) for a in e.args]
        return z3.And(parts) if e.op is Op.AND else z3.Or(parts)

    def visit_member(self, e: Member) -> z3.BoolRef:
        a = self.enc._value(e.a, self.s)
        return z3.Or([a == z3.BitVecVal(k, self.enc.width) for k in sorted(e.values)])

    def visit_cond(self, e: Cond) -> z3.BoolRef:
        return self._nonzero(e)

    def visit_binop(self, e: BinOp) -> z3.BoolRef:
        if e.op not in COMPARISON:
            return self._nonzero(e)
        a, b = self.enc._value(e.a, self.s), self.enc._value(e.b, self.s)
        op = e.op
        if op is Op.EQ:
            return a == b
        if op is Op.NE:
            return a != b
        if op is Op.LT:
            return a < b  # signed, as Python ints
        if op is Op.LE:
            return a <= b
        if op is Op.GT:
            return a > b
        return a >= b
