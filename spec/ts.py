"""The TransitionSystem: what every engine consumes.

A state is a tuple of small non-negative integers, one per `Var`. A
`Transition` is a guarded command: when `guard` holds in a state, all `updates`
are evaluated in that state and assigned at once (variables not named keep
their value). Properties are predicates over states (`StateProp`), over
transitions (`Transition.violates`: taking the transition breaks the check),
or liveness requests (`Request`) judged on the state graph under weak fairness
of each fairness group (one per CPU). Nothing here knows what an interrupt is:
the vocabulary is variables, guards and updates, so the explicit engine, the
Z3 engine and the exporters all read the same object.

Expressions are nested tuples, cheap to build and hashable:
    ("c", k)            constant
    ("v", i)            value of variable i
    (op, a, b, ...)     op in OPS below; booleans are 0/1
    ("in", a, frozenset) membership in a constant set
    ("ite", c, a, b)    if-then-else
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

Expr = tuple  # type: ignore[type-arg]

# n-ary boolean, binary arithmetic/bitwise/comparison, unary not
OPS = frozenset({"and", "or", "not", "+", "-", "&", "|", "^", "<<", ">>",
                 "==", "!=", "<", "<=", ">", ">=", "in", "ite"})

FACT = "__fact__"  # the default `TransitionSystem.fact_check` tag
BOUND = "__bound__"  # the default `TransitionSystem.bound_check` tag: a step runs into a model bound

TRUE: Expr = ("c", 1)
FALSE: Expr = ("c", 0)


def C(k: int) -> Expr:
    return ("c", int(k))


def V(i: int) -> Expr:
    return ("v", i)


def And(*args: Expr) -> Expr:
    parts: list[Expr] = []
    for a in args:
        if a == TRUE:
            continue
        if a == FALSE:
            return FALSE
        parts.extend(a[1:] if a[0] == "and" else (a,))
    if not parts:
        return TRUE
    return parts[0] if len(parts) == 1 else ("and", *parts)


def Or(*args: Expr) -> Expr:
    parts: list[Expr] = []
    for a in args:
        if a == FALSE:
            continue
        if a == TRUE:
            return TRUE
        parts.extend(a[1:] if a[0] == "or" else (a,))
    if not parts:
        return FALSE
    return parts[0] if len(parts) == 1 else ("or", *parts)


def Not(a: Expr) -> Expr:
    if a[0] == "c":
        return C(0 if a[1] else 1)
    if a[0] == "not":
        return a[1]  # type: ignore[no-any-return]
    return ("not", a)


def Bin(op: str, a: Expr, b: Expr) -> Expr:
    """A binary operation, folded when both sides are constants."""
    if a[0] == "c" and b[0] == "c":
        return C(_apply(op, a[1], b[1]))
    return (op, a, b)


def Eq(a: Expr, b: Expr) -> Expr:
    return Bin("==", a, b)


def Bit(a: Expr, n: int) -> Expr:
    """Bit n of a register expression, as 0/1."""
    return Bin("&", Bin(">>", a, C(n)), C(1)) if n else Bin("&", a, C(1))


def In(a: Expr, values: frozenset[int] | set[int]) -> Expr:
    vals = frozenset(values)
    if not vals:
        return FALSE
    if len(vals) == 1:
        return Eq(a, C(next(iter(vals))))
    return ("in", a, vals)


def Ite(c: Expr, a: Expr, b: Expr) -> Expr:
    if c[0] == "c":
        return a if c[1] else b
    return ("ite", c, a, b)


def _apply(op: str, x: int, y: int) -> int:
    if op == "+":
        return x + y
    if op == "-":
        return x - y
    if op == "&":
        return x & y
    if op == "|":
        return x | y
    if op == "^":
        return x ^ y
    if op == "<<":
        return x << y
    if op == ">>":
        return x >> y
    if op == "==":
        return int(x == y)
    if op == "!=":
        return int(x != y)
    if op == "<":
        return int(x < y)
    if op == "<=":
        return int(x <= y)
    if op == ">":
        return int(x > y)
    if op == ">=":
        return int(x >= y)
    raise ValueError(f"unknown operator {op!r}")


BINARY = frozenset({"+", "-", "&", "|", "^", "<<", ">>", "==", "!=", "<", "<=", ">", ">="})
MAX_DEPTH = 40  # expressions nested deeper than this are rebalanced when a TransitionSystem is built


def evaluate(e: Expr, s: tuple[int, ...]) -> int:
    """Reference interpreter for expressions: slow, obviously right.

    A chain of binary operations down the left operand (what `a + b + c + ...` lowers to) is
    walked in a loop, so a long sum does not recurse once per term."""
    op = e[0]
    if op == "c":
        return int(e[1])
    if op == "v":
        return s[e[1]]
    if op == "and":
        return int(all(evaluate(a, s) for a in e[1:]))
    if op == "or":
        return int(any(evaluate(a, s) for a in e[1:]))
    if op == "not":
        return int(not evaluate(e[1], s))
    if op == "in":
        return int(evaluate(e[1], s) in e[2])
    if op == "ite":
        return evaluate(e[2], s) if evaluate(e[1], s) else evaluate(e[3], s)
    spine: list[Expr] = []
    while e[0] in BINARY:
        spine.append(e)
        e = e[1]
    x = evaluate(e, s)
    for b in reversed(spine):
        x = _apply(b[0], x, evaluate(b[2], s))
    return x


def variables_of(e: Expr) -> set[int]:
    out: set[int] = set()
    work = [e]
    while work:
        x = work.pop()
        if x[0] == "v":
            out.add(x[1])
        elif x[0] != "c":
            work.extend(a for a in x[1:] if isinstance(a, tuple))
    return out


# ---- deep expressions: long sums rebalanced, constants folded against the variables' ranges ---------

def depth(e: Expr, memo: dict[int, int] | None = None) -> int:
    """How deeply `e` nests (a constant or a variable: 1), without recursion. `memo` (by id) may be
    shared between calls over expressions that stay alive meanwhile: a subexpression shared by many
    expressions is then walked once."""
    memo = {} if memo is None else memo
    work: list[tuple[Expr, bool]] = [(e, False)]
    while work:
        x, done = work.pop()
        if id(x) in memo:
            continue
        kids = [a for a in x[1:] if isinstance(a, tuple)] if x[0] not in ("c", "v") else []
        if done or not kids:
            memo[id(x)] = 1 + max((memo[id(a)] for a in kids), default=0)
        else:
            work.append((x, True))
            work.extend((a, False) for a in kids if id(a) not in memo)
    return memo[id(e)]


def terms(e: Expr) -> tuple[list[Expr], list[Expr], int]:
    """A tree of `+` and `-` as (added terms, subtracted terms, constant), without recursion."""
    pos: list[Expr] = []
    neg: list[Expr] = []
    k = 0
    work: list[tuple[Expr, int]] = [(e, 1)]
    while work:
        x, sign = work.pop()
        if x[0] in ("+", "-"):
            work.append((x[2], sign if x[0] == "+" else -sign))
            work.append((x[1], sign))
        elif x[0] == "c":
            k += sign * int(x[1])
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
        return Bin("+", tree(xs[:mid]), tree(xs[mid:]))

    out = tree(pos) if pos else C(0)
    if neg:
        out = Bin("-", out, tree(neg))
    if k:
        out = Bin("+", out, C(k)) if k > 0 or out[0] == "c" else Bin("-", out, C(-k))
    return out


def balanced(e: Expr, limit: int = MAX_DEPTH, shared: Balancing | None = None) -> Expr:
    """`e`, or when it nests deeper than `limit` the same function with every chain of `+`/`-`
    as a balanced `Sum` and nested `and`/`or` flattened (the lowering folds `a + b + c` to the left).
    With `shared`, the memos live across calls: a subexpression shared by reference between many
    expressions is measured and rebuilt once, and stays shared in the results."""
    if shared is not None:
        shared.keep.append(e)  # the memos are by id: what they describe must stay alive
    if depth(e, shared.depths if shared is not None else None) <= limit:
        return e
    memo: dict[int, Expr] = shared.rebuilt if shared is not None else {}

    def go(x: Expr) -> Expr:
        got = memo.get(id(x))
        if got is not None:
            return got
        op = x[0]
        r: Expr
        if op in ("c", "v"):
            r = x
        elif op in ("+", "-"):
            pos, neg, k = terms(x)
            r = Sum([go(a) for a in pos], [go(a) for a in neg], k)
        elif op in ("and", "or"):
            r = (op, *(go(a) for a in _flat(x)))  # not And/Or: they may return an operand, not 0/1
        elif op == "in":
            r = ("in", go(x[1]), x[2])
        else:
            r = (op, *(go(a) for a in x[1:]))
        memo[id(x)] = r
        return r

    return go(e)


@dataclass
class Balancing:
    """The memos `balanced` shares between the expressions of one TransitionSystem."""

    depths: dict[int, int] = field(default_factory=dict)
    rebuilt: dict[int, Expr] = field(default_factory=dict)
    keep: list[Expr] = field(default_factory=list)


def _flat(e: Expr) -> list[Expr]:
    """The operands of nested `and` (or `or`) nodes of the same operator, without recursion."""
    out: list[Expr] = []
    work = [e]
    while work:
        x = work.pop()
        if x[0] == e[0]:
            work.extend(reversed(x[1:]))
        else:
            out.append(x)
    return out


def bounds(e: Expr, sizes: Sequence[int], memo: dict[Expr, tuple[int, int]] | None = None) -> tuple[int, int]:
    """lo..hi of `e` over every state with variable i in 0..sizes[i]-1 (an over-approximation).
    Raises ValueError for a shift by a possibly negative amount (Python refuses it too)."""
    memo = {} if memo is None else memo
    got = memo.get(e)
    if got is not None:
        return got
    op = e[0]
    r: tuple[int, int]
    if op == "c":
        r = (int(e[1]), int(e[1]))
    elif op == "v":
        r = (0, sizes[e[1]] - 1)
    elif op in ("and", "or", "not", "==", "!=", "<", "<=", ">", ">=", "in"):
        for a in e[1:]:
            if isinstance(a, tuple):
                bounds(a, sizes, memo)
        r = (0, 1)
    elif op == "ite":
        bounds(e[1], sizes, memo)
        a, b = bounds(e[2], sizes, memo), bounds(e[3], sizes, memo)
        r = (min(a[0], b[0]), max(a[1], b[1]))
    else:
        (alo, ahi), (blo, bhi) = bounds(e[1], sizes, memo), bounds(e[2], sizes, memo)
        if op == "+":
            r = (alo + blo, ahi + bhi)
        elif op == "-":
            r = (alo - bhi, ahi - blo)
        elif op in ("&", "|", "^"):
            if alo >= 0 and blo >= 0:
                r = (0, min(ahi, bhi) if op == "&" else (1 << max(ahi.bit_length(), bhi.bit_length())) - 1)
            else:
                n = max(signed_bits(alo, ahi), signed_bits(blo, bhi))
                r = (-(1 << n), (1 << n) - 1)
        elif op in ("<<", ">>"):
            if blo < 0:
                raise ValueError(f"a shift by a possibly negative amount ({e!r})")
            if op == "<<" and bhi > 4096:
                raise ValueError("a shift by more than 4096 bits")
            corners = [(a << b) if op == "<<" else (a >> b) for a in (alo, ahi) for b in (blo, bhi)]
            r = (min(corners), max(corners))
        else:
            raise ValueError(f"unknown operator {op!r}")
    memo[e] = r
    return r


def signed_bits(lo: int, hi: int) -> int:
    """Two's complement bits that hold every value in lo..hi."""
    return max(lo.bit_length(), hi.bit_length(), (-lo - 1).bit_length() if lo < 0 else 0) + 1


def _decide(op: str, a: tuple[int, int], b: tuple[int, int]) -> int | None:
    """The value of `x op y` for every x in a and y in b, when the ranges decide it (else None)."""
    (alo, ahi), (blo, bhi) = a, b
    if op in (">", ">="):
        op, (alo, ahi), (blo, bhi) = {">": "<", ">=": "<="}[op], b, a
    if op == "<":
        return 1 if ahi < blo else 0 if alo >= bhi else None
    if op == "<=":
        return 1 if ahi <= blo else 0 if alo > bhi else None
    same = alo == ahi == blo == bhi
    apart = ahi < blo or bhi < alo
    if op == "==":
        return 1 if same else 0 if apart else None
    return 0 if same else 1 if apart else None


def _logic(op: str, args: list[Expr]) -> Expr:
    """`and`/`or` of args with constant operands decided; unlike And/Or, always 0/1 valued."""
    absorbing = 0 if op == "and" else 1
    if any(a[0] == "c" and bool(a[1]) == bool(absorbing) for a in args):
        return C(absorbing)
    rest = [a for a in args if a[0] != "c"]
    return (op, *rest) if rest else C(1 - absorbing)


def fold_ranges(e: Expr, sizes: Sequence[int], memo: dict[Expr, Expr] | None = None) -> Expr:
    """`e` simplified for engines whose numbers have a fixed width (Z3 bit-vectors, Promela's int):
    equal to `e` in every state whose variables lie in their domains 0..size-1 (the reachable
    ones). Constants of a sum are added up, a comparison's constant moves to one side, and a
    comparison or membership the ranges decide becomes 0/1: `c < 2**255` with c in 0..255 is 1,
    `c == 4294967297` is 0. What is left compares values within the variables' ranges."""
    memo = {} if memo is None else memo
    rng: dict[Expr, tuple[int, int]] = {}

    def go(x: Expr) -> Expr:
        got = memo.get(x)
        if got is not None:
            return got
        op = x[0]
        r: Expr
        if op in ("c", "v"):
            r = x
        elif op in ("and", "or"):
            r = _logic(op, [go(a) for a in x[1:]])
        elif op == "not":
            a = go(x[1])
            r = C(0 if a[1] else 1) if a[0] == "c" else ("not", a)
        elif op == "ite":
            r = Ite(go(x[1]), go(x[2]), go(x[3]))
        elif op == "in":
            a = go(x[1])
            lo, hi = bounds(a, sizes, rng)
            r = In(a, {k for k in x[2] if lo <= k <= hi})
        elif op in ("+", "-"):
            pos, neg, k = terms(x)
            r = Sum([go(a) for a in pos], [go(a) for a in neg], k)
        elif op in ("==", "!=", "<", "<=", ">", ">="):
            pos, neg, k = terms(("-", x[1], x[2]))  # x[1] - x[2] op 0
            left, right = [go(a) for a in pos], [go(a) for a in neg]
            a, b = Sum(left, (), max(k, 0)), Sum(right, (), max(-k, 0))
            got2 = _decide(op, bounds(a, sizes, rng), bounds(b, sizes, rng))
            r = C(got2) if got2 is not None else Bin(op, a, b)
        else:
            r = Bin(op, go(x[1]), go(x[2]))
        if r[0] not in ("c", "v"):
            lo, hi = bounds(r, sizes, rng)
            if lo == hi:
                r = C(lo)
        memo[x] = r
        return r

    return go(e)


@dataclass(frozen=True)
class Var:
    """A state variable with domain 0..size-1.

    `kind` tells the presenter how to show it ("bool", "int", "bits", "loc": a
    program counter, hidden in trace changes; "enum": named values, shown);
    `names` gives a display name per value for "loc" and "enum" variables.
    """

    name: str
    size: int
    init: int = 0
    kind: str = "int"
    names: tuple[str, ...] = ()
    width: int = 8  # for "bits": how many bits to show

    def show(self, value: int) -> str:
        if self.kind == "bool":
            return str(value)
        if self.kind in ("loc", "enum") and 0 <= value < len(self.names):
            return self.names[value]
        if self.kind == "bits":
            return format(value, f"0{self.width}b")
        return str(value)


@dataclass(frozen=True)
class Label:
    """Who takes a step and what it is: shown in traces, never interpreted by engines."""

    actor: str          # e.g. "device nic", "cpu0", "thread app", "handler nic_isr"
    action: str         # e.g. "raise IRQ 3", "eoi", "take IRQ 3 (vector 0x23)"
    line: int = 0       # source line of the statement or declaration
    cpu: int | None = None
    context: str = ""   # the code context (handler/thread name) or "" for devices


@dataclass(frozen=True)
class Transition:
    label: Label
    guard: Expr
    updates: tuple[tuple[int, Expr], ...]
    group: str | None = None  # the CPU that takes this step; None for the environment (devices)
    fair: tuple[str, ...] = ()  # weak-fairness groups this step belongs to (its CPU, its IRQ's delivery)
    violates: tuple[tuple[str, str], ...] = ()  # (check, message) broken by taking this step


@dataclass(frozen=True)
class StateProp:
    """`ok` must hold in every reachable state, else `check` is violated."""

    check: str
    ok: Expr
    message: str
    line: int = 0


@dataclass(frozen=True)
class Request:
    """Liveness: whenever `pending` holds, one of `delivers` must eventually fire.

    Judged under weak fairness of every fairness group: a run in which a group
    stays enabled for ever but never moves is not a run.
    """

    check: str
    name: str
    pending: Expr
    delivers: frozenset[int]
    message: str
    line: int = 0


@dataclass(frozen=True)
class Wait:
    """no_deadlock per context: a context that can be `blocked` (waiting for a resource).

    Violated in a reachable state where `blocked` holds and holds in every state reachable from
    it: whatever the other contexts, CPUs and devices do, the resource is never released to the
    waiter. That is decidable on the explored graph (no escape from the blocked states to a state
    where `blocked` is false), needs no fairness, and is not hidden by unrelated activity that
    keeps some CPU busy. `explain(state)` tells why, in the user's words, for the state where it
    is found (who holds what, and whether the holder finished, waits itself, or closes a cycle).
    """

    who: str
    blocked: Expr
    message: str
    line: int = 0
    explain: Callable[[tuple[int, ...]], str] | None = None
    # implies "blocked for ever" in the state alone (a sound, incomplete part of the rule, for
    # exports to tools that cannot judge every continuation, such as SPIN's assertions)
    surely: Expr = FALSE


@dataclass(frozen=True)
class FactViolation:
    """A check broken by a combination of facts (see `TransitionSystem.judge`).

    `witness` names the fact whose shortest trace is shown; the message tells
    the other facts in the user's words (lockdep reports two usages this way).
    """

    check: str
    message: str
    witness: str
    line: int = 0


@dataclass
class TransitionSystem:
    vars: list[Var]
    transitions: list[Transition]
    state_props: list[StateProp] = field(default_factory=list)
    requests: list[Request] = field(default_factory=list)
    unfinished: Expr = FALSE  # some context has not finished (for the deadlock check)
    checks: list[str] = field(default_factory=list)  # enabled checks, in report order
    bound_check: str = BOUND  # transitions tagged with this hit a model bound
    deadlock_message: str = "no step is possible although some context has not finished"
    groups: tuple[str, ...] = ()
    strong: frozenset[str] = frozenset()  # groups under strong fairness (enabled infinitely often -> taken)
    meta: Any = None  # the lowering's presentation data (opaque to engines)
    # Facts: a transition tagged (fact_check, KEY) in `violates` makes fact KEY true when it is
    # enabled in a reachable state; it breaks nothing by itself. After the search, `judge` gets
    # every fact reached and says which checks the combination breaks. This is how lockdep's
    # rules are judged over all reachable usages, not only over the runs that go wrong.
    fact_check: str = FACT
    judge: Callable[[Sequence[str]], list[FactViolation]] | None = None  # facts in discovery order
    # Symmetry hints: permutations of variable indices (perm[i] = j: variable i's value moves to
    # variable j) under which the lowering believes the system is unchanged, e.g. two identical
    # devices. The engine's symmetry reduction (checker/symmetry.py) verifies each one and searches
    # one state per orbit; a wrong hint is dropped, never trusted.
    symmetries: list[tuple[int, ...]] = field(default_factory=list)
    # Per-context waits (see `Wait`), judged after the search for `no_deadlock`: a blocked state
    # from which no state without the block is reachable violates it.
    waits: list[Wait] = field(default_factory=list)

    def init(self) -> tuple[int, ...]:
        return tuple(v.init for v in self.vars)

    def var_index(self, name: str) -> int:
        for i, v in enumerate(self.vars):
            if v.name == name:
                return i
        raise KeyError(name)

    def __post_init__(self) -> None:
        """Every expression nests at most MAX_DEPTH deep (`balanced`), so that engines, exporters and
        generated code may walk expressions recursively whatever the model says: a condition of
        1,000 terms is a sum 10 deep, not 1,000. Subexpressions shared by reference (the lowering
        shares e.g. a CPU's "the current task gives way" among its task switches) are walked once:
        the cost is linear in the distinct subexpressions, not in the expressions' unshared size."""
        sh = Balancing()
        for k, t in enumerate(self.transitions):
            g = balanced(t.guard, MAX_DEPTH, sh)
            ups = tuple((vi, balanced(e, MAX_DEPTH, sh)) for vi, e in t.updates)
            if g is not t.guard or any(a[1] is not b[1] for a, b in zip(ups, t.updates, strict=True)):
                self.transitions[k] = replace(t, guard=g, updates=ups)
        for k, p in enumerate(self.state_props):
            ok = balanced(p.ok, MAX_DEPTH, sh)
            if ok is not p.ok:
                self.state_props[k] = replace(p, ok=ok)
        for k, r in enumerate(self.requests):
            pending = balanced(r.pending, MAX_DEPTH, sh)
            if pending is not r.pending:
                self.requests[k] = replace(r, pending=pending)
        self.unfinished = balanced(self.unfinished, MAX_DEPTH, sh)
