"""What is computed over expressions (spec/expr.py): values, variables, depth and rebalancing, value
ranges, and the folding of what the variables' ranges decide.

- `evaluate(e, s)`: the reference interpreter, lazy like the generated code (`and`/`or` stop at the
  first operand that decides, `Cond` evaluates one branch); a chain of binary operations down the
  left operand (what `a + b + c + ...` lowers to) is walked in a loop, not recursively.
- `depth`, `terms`, `Sum`, `balanced`: long sums rebalanced, so that every expression of a
  TransitionSystem nests at most `MAX_DEPTH` deep.
- `bounds`, `fold_ranges`: lo..hi of an expression over the variables' domains, and the expression
  with what those ranges decide replaced by constants (for engines of a fixed width).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from ircheck.spec.expr import (
    ARITHMETIC,
    COMPARISON,
    Bin,
    BinOp,
    C,
    Cond,
    Const,
    Expr,
    In,
    Ite,
    LNot,
    Member,
    NAry,
    Op,
    Ref,
    apply,
    children,
    is_leaf,
)
from ircheck.spec.walker import Fold, Visitor

MAX_DEPTH = 40  # expressions nested deeper than this are rebalanced when a TransitionSystem is built


class _Evaluate(Visitor[int]):
    def __init__(self, s: Sequence[int]) -> None:
        self.s = s

    def visit_const(self, e: Const) -> int:
        return e.k

    def visit_ref(self, e: Ref) -> int:
        return self.s[e.i]

    def visit_not_(self, e: LNot) -> int:
        return int(not self.visit(e.a))

    def visit_nary(self, e: NAry) -> int:
        if e.op is Op.AND:
            return int(all(self.visit(a) for a in e.args))
        return int(any(self.visit(a) for a in e.args))

    def visit_binop(self, e: BinOp) -> int:
        spine: list[BinOp] = []
        x: Expr = e
        while type(x) is BinOp:
            spine.append(x)
            x = x.a
        v = self.visit(x)
        for b in reversed(spine):
            v = apply(b.op, v, self.visit(b.b))
        return v

    def visit_member(self, e: Member) -> int:
        return int(self.visit(e.a) in e.values)

    def visit_cond(self, e: Cond) -> int:
        return self.visit(e.a) if self.visit(e.c) else self.visit(e.b)


def evaluate(e: Expr, s: Sequence[int]) -> int:
    """Reference interpreter for expressions: slow, obviously right (see the module docstring)."""
    return _Evaluate(s).visit(e)


def variables_of(e: Expr) -> set[int]:
    """The variables e reads, without recursion."""
    out: set[int] = set()
    work = [e]
    while work:
        x = work.pop()
        if type(x) is Ref:
            out.add(x.i)
        else:
            work.extend(children(x))
    return out


# ---- deep expressions: long sums rebalanced ---------------------------------------------------------

class _Depth(Fold[int]):
    def fold_const(self, e: Const) -> int:
        return 1

    def fold_ref(self, e: Ref) -> int:
        return 1

    def fold_not_(self, e: LNot, a: int) -> int:
        return 1 + a

    def fold_nary(self, e: NAry, args: Sequence[int]) -> int:
        return 1 + max(args)

    def fold_binop(self, e: BinOp, a: int, b: int) -> int:
        return 1 + max(a, b)

    def fold_member(self, e: Member, a: int) -> int:
        return 1 + a

    def fold_cond(self, e: Cond, c: int, a: int, b: int) -> int:
        return 1 + max(c, a, b)


_DEPTH = _Depth()


def depth(e: Expr, memo: dict[int, int] | None = None) -> int:
    """How deeply `e` nests (a constant or a variable: 1), without recursion. `memo` (by id) may be
    shared between calls over expressions that stay alive meanwhile: a subexpression shared by many
    expressions is then walked once."""
    return _DEPTH.fold(e, memo)


def terms(e: Expr) -> tuple[list[Expr], list[Expr], int]:
    """A tree of `+` and `-` as (added terms, subtracted terms, constant), without recursion."""
    pos: list[Expr] = []
    neg: list[Expr] = []
    k = 0
    work: list[tuple[Expr, int]] = [(e, 1)]
    while work:
        x, sign = work.pop()
        if type(x) is BinOp and x.op in ARITHMETIC:
            work.append((x.b, sign if x.op is Op.ADD else -sign))
            work.append((x.a, sign))
        elif type(x) is Const:
            k += sign * x.k
        else:
            (pos if sign > 0 else neg).append(x)
    return pos, neg, k


def Sum(pos: Sequence[Expr], neg: Sequence[Expr] = (), k: int = 0) -> Expr:
    """pos[0] + pos[1] + ... - neg[0] - ... + k as a balanced tree: a sum of n terms nests log2(n)
    deep, so every engine and exporter can walk it recursively (Python ints: any grouping is exact)."""
    def tree(xs: Sequence[Expr]) -> Expr:
        if len(xs) == 1:
            return xs[0]
        mid = len(xs) // 2
        return Bin(Op.ADD, tree(xs[:mid]), tree(xs[mid:]))

    out = tree(pos) if pos else C(0)
    if neg:
        out = Bin(Op.SUB, out, tree(neg))
    if k:
        out = Bin(Op.ADD, out, C(k)) if k > 0 or type(out) is Const else Bin(Op.SUB, out, C(-k))
    return out


@dataclass
class Balancing:
    """The memos `balanced` shares between the expressions of one TransitionSystem."""

    depths: dict[int, int] = field(default_factory=dict)
    rebuilt: dict[int, Expr] = field(default_factory=dict)
    keep: list[Expr] = field(default_factory=list)


def _flat(e: NAry) -> list[Expr]:
    """The operands of nested `and` (or `or`) nodes of the same operator, without recursion."""
    out: list[Expr] = []
    work: list[Expr] = [e]
    while work:
        x = work.pop()
        if type(x) is NAry and x.op is e.op:
            work.extend(reversed(x.args))
        else:
            out.append(x)
    return out


class _Rebalance(Visitor[Expr]):
    """Sums rebuilt as balanced `Sum`s and nested `and`/`or` flattened; nothing else folded."""

    def __init__(self, memo: dict[int, Expr]) -> None:
        self.memo = memo

    def visit(self, e: Expr) -> Expr:
        got = self.memo.get(id(e))
        if got is None:
            got = self.memo[id(e)] = super().visit(e)
        return got

    def visit_const(self, e: Const) -> Expr:
        return e

    def visit_ref(self, e: Ref) -> Expr:
        return e

    def visit_not_(self, e: LNot) -> Expr:
        return LNot(self.visit(e.a))

    def visit_nary(self, e: NAry) -> Expr:
        return NAry(e.op, tuple(self.visit(a) for a in _flat(e)))  # not And/Or: they may return an operand

    def visit_binop(self, e: BinOp) -> Expr:
        if e.op in ARITHMETIC:
            pos, neg, k = terms(e)
            return Sum([self.visit(a) for a in pos], [self.visit(a) for a in neg], k)
        return BinOp(e.op, self.visit(e.a), self.visit(e.b))

    def visit_member(self, e: Member) -> Expr:
        return Member(self.visit(e.a), e.values)

    def visit_cond(self, e: Cond) -> Expr:
        return Cond(self.visit(e.c), self.visit(e.a), self.visit(e.b))


def balanced(e: Expr, limit: int = MAX_DEPTH, shared: Balancing | None = None) -> Expr:
    """`e`, or when it nests deeper than `limit` the same function with every chain of `+`/`-`
    as a balanced `Sum` and nested `and`/`or` flattened (the lowering folds `a + b + c` to the left).
    With `shared`, the memos live across calls: a subexpression shared by reference between many
    expressions is measured and rebuilt once, and stays shared in the results."""
    if shared is not None:
        shared.keep.append(e)  # the memos are by id: what they describe must stay alive
    if depth(e, shared.depths if shared is not None else None) <= limit:
        return e
    return _Rebalance(shared.rebuilt if shared is not None else {}).visit(e)


# ---- value ranges, and what they decide ---------------------------------------------------------------

class _Bounds(Visitor[tuple[int, int]]):
    def __init__(self, sizes: Sequence[int], memo: dict[Expr, tuple[int, int]]) -> None:
        self.sizes = sizes
        self.memo = memo

    def visit(self, e: Expr) -> tuple[int, int]:
        got = self.memo.get(e)
        if got is None:
            got = self.memo[e] = super().visit(e)
        return got

    def _boolean(self, e: Expr) -> tuple[int, int]:
        for a in children(e):
            self.visit(a)
        return (0, 1)

    def visit_const(self, e: Const) -> tuple[int, int]:
        return (e.k, e.k)

    def visit_ref(self, e: Ref) -> tuple[int, int]:
        return (0, self.sizes[e.i] - 1)

    def visit_not_(self, e: LNot) -> tuple[int, int]:
        return self._boolean(e)

    def visit_nary(self, e: NAry) -> tuple[int, int]:
        return self._boolean(e)

    def visit_member(self, e: Member) -> tuple[int, int]:
        return self._boolean(e)

    def visit_cond(self, e: Cond) -> tuple[int, int]:
        self.visit(e.c)
        a, b = self.visit(e.a), self.visit(e.b)
        return (min(a[0], b[0]), max(a[1], b[1]))

    def visit_binop(self, e: BinOp) -> tuple[int, int]:
        op = e.op
        if op in COMPARISON:
            return self._boolean(e)
        (alo, ahi), (blo, bhi) = self.visit(e.a), self.visit(e.b)
        if op is Op.ADD:
            return (alo + blo, ahi + bhi)
        if op is Op.SUB:
            return (alo - bhi, ahi - blo)
        if op in (Op.BAND, Op.BOR, Op.XOR):
            if alo >= 0 and blo >= 0:
                return (0, min(ahi, bhi) if op is Op.BAND else (1 << max(ahi.bit_length(), bhi.bit_length())) - 1)
            n = max(signed_bits(alo, ahi), signed_bits(blo, bhi))
            return (-(1 << n), (1 << n) - 1)
        if blo < 0:
            raise ValueError(f"a shift by a possibly negative amount ({e!r})")
        if op is Op.SHL and bhi > 4096:
            raise ValueError("a shift by more than 4096 bits")
        corners = [(a << b) if op is Op.SHL else (a >> b) for a in (alo, ahi) for b in (blo, bhi)]
        return (min(corners), max(corners))


def bounds(e: Expr, sizes: Sequence[int], memo: dict[Expr, tuple[int, int]] | None = None) -> tuple[int, int]:
    """lo..hi of `e` over every state with variable i in 0..sizes[i]-1 (an over-approximation).
    Raises ValueError for a shift by a possibly negative amount (Python refuses it too)."""
    return _Bounds(sizes, {} if memo is None else memo).visit(e)


def signed_bits(lo: int, hi: int) -> int:
    """Two's complement bits that hold every value in lo..hi."""
    return max(lo.bit_length(), hi.bit_length(), (-lo - 1).bit_length() if lo < 0 else 0) + 1


def _decide(op: Op, a: tuple[int, int], b: tuple[int, int]) -> int | None:
    """The value of `x op y` for every x in a and y in b, when the ranges decide it (else None)."""
    (alo, ahi), (blo, bhi) = a, b
    if op is Op.GT or op is Op.GE:
        op, (alo, ahi), (blo, bhi) = (Op.LT if op is Op.GT else Op.LE), b, a
    if op is Op.LT:
        return 1 if ahi < blo else 0 if alo >= bhi else None
    if op is Op.LE:
        return 1 if ahi <= blo else 0 if alo > bhi else None
    same = alo == ahi == blo == bhi
    apart = ahi < blo or bhi < alo
    if op is Op.EQ:
        return 1 if same else 0 if apart else None
    return 0 if same else 1 if apart else None


def _logic(op: Op, args: list[Expr]) -> Expr:
    """`and`/`or` of args with constant operands decided; unlike And/Or, always 0/1 valued."""
    absorbing = 0 if op is Op.AND else 1
    if any(type(a) is Const and bool(a.k) == bool(absorbing) for a in args):
        return C(absorbing)
    rest = [a for a in args if type(a) is not Const]
    return NAry(op, tuple(rest)) if rest else C(1 - absorbing)


class _FoldRanges(Visitor[Expr]):
    def __init__(self, sizes: Sequence[int], memo: dict[Expr, Expr]) -> None:
        self.sizes = sizes
        self.memo = memo
        self.rng: dict[Expr, tuple[int, int]] = {}

    def visit(self, e: Expr) -> Expr:
        got = self.memo.get(e)
        if got is not None:
            return got
        r = super().visit(e)
        if not is_leaf(r):
            lo, hi = bounds(r, self.sizes, self.rng)
            if lo == hi:
                r = C(lo)
        self.memo[e] = r
        return r

    def visit_const(self, e: Const) -> Expr:
        return e

    def visit_ref(self, e: Ref) -> Expr:
        return e

    def visit_not_(self, e: LNot) -> Expr:
        a = self.visit(e.a)
        return C(0 if a.k else 1) if type(a) is Const else LNot(a)

    def visit_nary(self, e: NAry) -> Expr:
        return _logic(e.op, [self.visit(a) for a in e.args])

    def visit_cond(self, e: Cond) -> Expr:
        return Ite(self.visit(e.c), self.visit(e.a), self.visit(e.b))

    def visit_member(self, e: Member) -> Expr:
        a = self.visit(e.a)
        lo, hi = bounds(a, self.sizes, self.rng)
        return In(a, {k for k in e.values if lo <= k <= hi})

    def visit_binop(self, e: BinOp) -> Expr:
        if e.op in ARITHMETIC:
            pos, neg, k = terms(e)
            return Sum([self.visit(a) for a in pos], [self.visit(a) for a in neg], k)
        if e.op in COMPARISON:
            pos, neg, k = terms(BinOp(Op.SUB, e.a, e.b))  # e.a - e.b op 0
            left, right = [self.visit(a) for a in pos], [self.visit(a) for a in neg]
            a, b = Sum(left, (), max(k, 0)), Sum(right, (), max(-k, 0))
            got = _decide(e.op, bounds(a, self.sizes, self.rng), bounds(b, self.sizes, self.rng))
            return C(got) if got is not None else Bin(e.op, a, b)
        return Bin(e.op, self.visit(e.a), self.visit(e.b))


def fold_ranges(e: Expr, sizes: Sequence[int], memo: dict[Expr, Expr] | None = None) -> Expr:
    """`e` simplified for engines whose numbers have a fixed width (Z3 bit-vectors, Promela's int):
    equal to `e` in every state whose variables lie in their domains 0..size-1 (the reachable
    ones). Constants of a sum are added up, a comparison's constant moves to one side, and a
    comparison or membership the ranges decide becomes 0/1: `c < 2**255` with c in 0..255 is 1,
    `c == 4294967297` is 0. What is left compares values within the variables' ranges."""
    return _FoldRanges(sizes, {} if memo is None else memo).visit(e)
