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
from dataclasses import dataclass, field
from typing import Any

Expr = tuple  # type: ignore[type-arg]

# n-ary boolean, binary arithmetic/bitwise/comparison, unary not
OPS = frozenset({"and", "or", "not", "+", "-", "&", "|", "^", "<<", ">>",
                 "==", "!=", "<", "<=", ">", ">=", "in", "ite"})

FACT = "__fact__"  # the default `TransitionSystem.fact_check` tag

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


def evaluate(e: Expr, s: tuple[int, ...]) -> int:
    """Reference interpreter for expressions: slow, obviously right."""
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
    return _apply(op, evaluate(e[1], s), evaluate(e[2], s))


def variables_of(e: Expr) -> set[int]:
    if e[0] == "v":
        return {e[1]}
    if e[0] == "c":
        return set()
    out: set[int] = set()
    for a in e[1:]:
        if isinstance(a, tuple):
            out |= variables_of(a)
    return out


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
    bound_check: str = "__bound__"  # transitions tagged with this hit a model bound
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

    def init(self) -> tuple[int, ...]:
        return tuple(v.init for v in self.vars)

    def var_index(self, name: str) -> int:
        for i, v in enumerate(self.vars):
            if v.name == name:
                return i
        raise KeyError(name)
