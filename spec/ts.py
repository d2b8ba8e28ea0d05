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

Expressions are the typed IR of `spec/expr.py` (frozen node classes, an operator enum, the folding
constructors `C, V, And, Or, Not, Bin, Eq, Bit, In, Ite`); what is computed over them (the
reference evaluator, depth and rebalancing, value ranges) is in `spec/expr_algebra.py`, walked with
`spec/walker.py`. This module re-exports those names: the lowering imports them from here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import InitVar, dataclass, field, replace
from typing import Any

from ircheck.spec.expr import (
    BINARY,
    FALSE,
    TRUE,
    And,
    Bin,
    Bit,
    C,
    Eq,
    Expr,
    In,
    Ite,
    Not,
    Op,
    Or,
    V,
)
from ircheck.spec.expr_algebra import (
    MAX_DEPTH,
    Balancing,
    Sum,
    balanced,
    bounds,
    depth,
    evaluate,
    fold_ranges,
    signed_bits,
    terms,
    variables_of,
)
from ircheck.spec.step_kind import StepKind
from ircheck.spec.tags import BOUND, FACT

OPS = frozenset(Op)  # every operator of the IR

__all__ = ["BINARY", "BOUND", "FACT", "FALSE", "MAX_DEPTH", "OPS", "TRUE", "And", "Balancing", "Bin", "Bit", "C",
           "Eq", "Expr", "FactViolation", "In", "Ite", "Label", "Not", "Op", "Or", "Request", "StateProp", "Sum",
           "Transition", "TransitionSystem", "V", "Var", "Wait", "balanced", "bounds", "depth", "evaluate",
           "fold_ranges", "signed_bits", "terms", "variables_of"]


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
    """Who takes a step and what it is: shown in traces, never interpreted by engines; `kind` and
    `target` say structurally what `action` says in English."""

    actor: str          # e.g. "device nic", "cpu0", "thread app", "handler nic_isr"
    action: str         # e.g. "raise IRQ 3", "eoi", "take IRQ 3 (vector 0x23)"
    line: int = 0       # source line of the statement or declaration
    cpu: int | None = None
    context: str = ""   # the code context (handler/thread name) or "" for devices
    kind: StepKind = StepKind.STATEMENT  # what the step is (spec/step_kind.py): readers decide by it
    target: str = ""    # the handler/task/lock/queue/device the step enters, wakes or acts on


# the label contexts of steps the CPU itself takes (an entry, a task switch): their actor is `cpuN`
CPU_CONTEXTS = frozenset({"entry", "switch"})


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

    With `recurs` (a Büchi condition), only a run that also fires one of `recurs` again and again
    breaks it: a run that stops, or stays pending without them, does not ("the line keeps
    interrupting and every run of its handlers returns IRQ_NONE": L9's nobody cared).
    """

    check: str
    name: str
    pending: Expr
    delivers: frozenset[int]
    message: str
    line: int = 0
    recurs: frozenset[int] = frozenset()


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
    # the statement the blocked context is at in a state: (context as a trace names it, text, line)
    at: Callable[[tuple[int, ...]], tuple[str, str, int]] | None = None


@dataclass(frozen=True)
class Symmetry:
    """A proposed automorphism of the system: variable i's value v moves to variable perm[i] as
    values[i][v] (values[i] empty, or `values` empty: v unchanged). Value maps rename what a
    variable's values name - the context owning a lock, the CPU a tasklet is scheduled on - when
    contexts or CPUs swap. `groups` renames transition groups (CPUs) and fairness groups (a name
    absent stays). `what` says in words what swaps ("cpu0 <-> cpu1")."""

    perm: tuple[int, ...]
    values: tuple[tuple[int, ...], ...] = ()
    groups: tuple[tuple[str, str], ...] = ()
    what: str = ""

    def value_map(self, i: int) -> tuple[int, ...]:
        """Variable i's value permutation (empty: identity)."""
        return self.values[i] if i < len(self.values) else ()


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
    # Symmetry hints (see `Symmetry`) under which the lowering believes the system is unchanged:
    # two identical devices, two CPUs with everything pinned to them, two identical contexts. The
    # engine's symmetry reduction (checker/symmetry.py) verifies each one and searches one state per
    # orbit; a wrong hint is dropped, never trusted.
    symmetries: list[Symmetry] = field(default_factory=list)
    # Per-context waits (see `Wait`), judged after the search for `no_deadlock`: a blocked state
    # from which no state without the block is reachable violates it.
    waits: list[Wait] = field(default_factory=list)
    # what the lowering warns about the design, (line, message): legal but almost surely a mistake
    # (X10: an 8259A whose vectors are the CPU's exception vectors)
    warnings: list[tuple[int, str]] = field(default_factory=list)
    # not kept: called once per transition while the expressions are balanced (__post_init__), so that a
    # caller's --timeout/--max-memory watch can stop that phase too (it may raise; issue 21 item 7)
    tick: InitVar[Callable[[], None] | None] = None

    def init(self) -> tuple[int, ...]:
        return tuple(v.init for v in self.vars)

    def var_index(self, name: str) -> int:
        for i, v in enumerate(self.vars):
            if v.name == name:
                return i
        raise KeyError(name)

    def __post_init__(self, tick: Callable[[], None] | None) -> None:
        """Every expression nests at most MAX_DEPTH deep (`balanced`), so that engines, exporters and
        generated code may walk expressions recursively whatever the model says: a condition of
        1,000 terms is a sum 10 deep, not 1,000. Subexpressions shared by reference (the lowering
        shares e.g. a CPU's "the current task gives way" among its task switches) are walked once:
        the cost is linear in the distinct subexpressions, not in the expressions' unshared size."""
        sh = Balancing()
        for k, t in enumerate(self.transitions):
            if tick is not None:
                tick()
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
