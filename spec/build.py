"""The lowering's builder: the only mutable state of a lowering.

Everything the lowering produces accumulates here, in the order it is produced
(the order is part of the result: variable indices, transition numbers, BFS
order of traces):

* `vars` - the state variables (`var` appends one and returns its index);
* `trans` - the guarded commands (`add` appends one);
* `props`, `requests`, `waits` - state properties, liveness requests, per-context waits;
* `diags` - the diagnostics found while lowering (raised together at the end);
* `halted` - the shutdown variable once a triple fault is possible: from then
  on every guarded command is also guarded by `halted == 0`;
* `uses_counters` - some statement counts (the `counter_range` check is reported);
* `entries`, `entry_requests` - per incarnation the transitions that take its request (no_starvation);
* `task_steps`, `hard_entries`, `raises` - per CPU the steps of its tasks and its hard-IRQ entries,
  and the environment's steps: every device's raise and every hrtimer's expiry (no_irq_storm,
  spec/storm.py).

The rest of the lowering reads values (the design, the variables' indices, the
per-CPU frame state) and passes them; only this object changes.
"""

from __future__ import annotations

from collections.abc import Callable

from ircheck.grammar.diagnostics import Diagnostic
from ircheck.spec.ts import FALSE, And, C, Eq, Expr, Label, Request, StateProp, Transition, V, Var, Wait

Tags = tuple[tuple[str, str], ...] | list[tuple[str, str]]


class Builder:
    """Variables, transitions, properties, requests and waits, appended in order."""

    def __init__(self, tick: Callable[[], None] | None = None) -> None:
        self.tick = tick  # called per transition added: the caller's --timeout/memory watch may stop here
        self.vars: list[Var] = []
        self.trans: list[Transition] = []
        self.props: list[StateProp] = []
        self.requests: list[Request] = []
        self.waits: list[Wait] = []
        self.diags: list[Diagnostic] = []
        self.halted: int | None = None
        # X1: per CPU group, its STI-shadow variable; every step of that CPU ends the shadow
        self.sti_shadow: dict[str, int] = {}
        self.uses_counters = False
        # no_starvation: per incarnation index, the transitions that take its request, and the request
        self.entries: dict[int, list[int]] = {}
        self.entry_requests: dict[int, tuple[str, Expr, str, int]] = {}
        # L9: per IRQ, its flow ends where every handler returned IRQ_NONE, and its other flow ends
        self.flow_ends: dict[int, tuple[list[int], list[int]]] = {}
        # no_irq_storm: per CPU its tasks' steps and its hard-IRQ entries; the devices' raises, hrtimer expiries
        self.task_steps: dict[int, list[int]] = {}
        self.hard_entries: dict[int, list[int]] = {}
        self.raises: list[int] = []

    def var(self, nm: str, size: int, init: int = 0, kind: str = "int",
            names: tuple[str, ...] = (), width: int = 8) -> int:
        """A new variable with domain 0..max(size, 2)-1; returns its index."""
        self.watch()
        self.vars.append(Var(nm, max(size, 2), init, kind, names, width))
        return len(self.vars) - 1

    def watch(self) -> None:
        """One unit of work done: the caller's watch (--timeout, --max-memory) may stop the lowering
        here. Called per variable and per transition, and by loops that build per-task expressions
        before any transition (a model of 10,000 threads must stop within its --timeout)."""
        if self.tick is not None:
            self.tick()

    def add(self, label: Label, guard: Expr, updates: dict[int, Expr], group: str | None,
            violates: Tags = (), extra_fair: tuple[str, ...] = (), fair_step: bool = True) -> None:
        """One guarded command. Every CPU step is in its CPU's weak-fairness group; an interrupt
        acknowledge is also in a group of its own ("cpuN takes ..."), under strong fairness: the
        hardware samples INTR at every instruction boundary, so a request that is deliverable again
        and again (even if not continuously, as in `loop { cli; nop; sti; nop }`) is taken.

        The rule: once `halted` exists the guard is `halted == 0 and guard`; a guard that is the
        constant FALSE adds nothing; a step of a CPU with an STI-shadow variable (`sti_shadow`) that
        does not set it clears it (X1); updates `v := v` are dropped and the rest sorted by variable."""
        if self.halted is not None:
            guard = And(Eq(V(self.halted), C(0)), guard)
        if guard == FALSE:
            return
        shadow = self.sti_shadow.get(group) if group else None
        if shadow is not None and shadow not in updates:
            updates = {**updates, shadow: C(0)}  # the instruction after STI has completed (X1)
        ups = tuple(sorted((k, v) for k, v in updates.items() if v != V(k)))
        fair = ((group,) if group and fair_step else ()) + extra_fair
        self.watch()
        self.trans.append(Transition(label, guard, ups, group=group, fair=fair, violates=tuple(violates)))

    def size(self, v: int) -> int:
        """The domain size of variable v."""
        return self.vars[v].size
