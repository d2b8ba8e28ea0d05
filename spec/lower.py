"""The lowering: a resolved `Design` -> `TransitionSystem`. Start here.

This is the only place that knows what an interrupt is; the rules of docs/semantics.md become
guarded commands over small integer variables, built in pieces:

* `build.Builder` - the only mutable state: variables, transitions, properties, requests;
* `model.Model` - every variable laid out for the design (controllers, budgets, objects, kernel
  objects, per CPU frame state), the incarnations (incarnations.py) and the questions rules ask;
* `controllers/` - the 8259A bank, the local APIC and NMI behind one protocol;
* `dispatch.py` - per CPU, every location lowered through the table of statement lowerings
  (`frames.py`: entries, IRET, int/fault; `delivery.py`: raises, INTA, EOI; `prims/`: the kernel
  primitives, one module each);
* `properties.py` - the checks' state properties and liveness requests.

The order of the pieces below is the order of the variables and transitions, and so of the state
space and of the traces.
"""

from __future__ import annotations

import gc
from collections.abc import Callable

from ircheck.grammar.diagnostics import Diagnostic, IrcheckError, did_you_mean
from ircheck.spec.build import Builder
from ircheck.spec.checks import ALL_CHECKS, BY_NAME, DEFAULT_CHECKS, PARAM_CHECKS
from ircheck.spec.context import CpuLayout, Incarnation, Layout
from ircheck.spec.delivery import lower_devices, lower_requests
from ircheck.spec.design import CheckSpec, Design
from ircheck.spec.dispatch import lower_cpu
from ircheck.spec.incarnations import NEST_CAP
from ircheck.spec.model import Model
from ircheck.spec.prims.sched import cpu_unfinished
from ircheck.spec.properties import judge_of, kernel_checks, lower_checks
from ircheck.spec.resolve import SUPPORTED_CHECKS
from ircheck.spec.symmetries import symmetries
from ircheck.spec.tags import is_strong
from ircheck.spec.ts import BOUND, And, C, Eq, Or, TransitionSystem, V
from ircheck.spec.x86 import exception_vector_warnings

__all__ = ["NEST_CAP", "CpuLayout", "Incarnation", "Layout", "check_names", "lower"]


def applies(d: Design, when: str | None) -> bool:
    """A default check the catalogue turns on only for designs with `when` (a `Design` attribute) non-empty."""
    return when is None or bool(getattr(d, when))


def select_checks(d: Design, cli: list[str] | None, diags: list[Diagnostic]) -> list[CheckSpec]:
    """The checks to decide: the model's own (or the defaults), narrowed by --check `cli`;
    unknown, unsupported or parameterless-in-the-model names become diagnostics."""
    specs = d.checks if d.explicit_checks else [CheckSpec(c, None, 0) for c in DEFAULT_CHECKS
                                                if applies(d, BY_NAME[c].when)]
    if cli is None:
        return specs
    out: list[CheckSpec] = []
    for nm in cli:
        if nm not in ALL_CHECKS:
            diags.append(Diagnostic("IRQ401", f"unknown check '{nm}' in --check", d.path, 0, 0,
                                    did_you_mean(nm, ALL_CHECKS)))
        elif nm not in SUPPORTED_CHECKS:
            diags.append(Diagnostic("IRQ901", f"check {nm} is not supported yet", d.path))
        elif nm in PARAM_CHECKS:
            mine = [c for c in d.checks if c.name == nm]
            if not mine:
                diags.append(Diagnostic("IRQ404", f"--check {nm}: the model has no `check {nm} ...` line",
                                        d.path, 0, 0, f"add e.g. `check {nm} ...` to the model"))
            out.extend(mine)
        else:
            out.append(CheckSpec(nm, None, 0))
    return out


def lower(design: Design, checks: list[str] | None = None, tick: Callable[[], None] | None = None) -> TransitionSystem:
    """Lower a resolved design; `checks` (from --check) narrows the model's own check list; `tick`
    is called once per variable and transition added (it may raise to stop a lowering that runs out
    of time).

    The cyclic garbage collector is off meanwhile: the lowering allocates millions of small objects
    (frozen expression nodes, labels, transitions) that form no cycles, and each full collection
    walks all of them - on 10,000 threads a pause of half a second between two ticks, so --timeout
    overshot by that much (issue 21 item 7); it is switched back on afterwards."""
    gc_was = gc.isenabled()
    gc.disable()
    try:
        return _lower(design, checks, tick)
    finally:
        if gc_was:
            gc.enable()


def _lower(design: Design, checks: list[str] | None, tick: Callable[[], None] | None) -> TransitionSystem:
    b = Builder(tick)
    m = Model(design, select_checks(design, checks, b.diags), b)
    for cpu in m.cpus:
        lower_cpu(m, cpu)
    lower_devices(m)
    lower_requests(m)
    lower_checks(m)
    kernel_checks(m)
    unfinished = Or(*[cpu_unfinished(m, c) for c in m.cpus])
    if b.halted is not None:
        unfinished = And(Eq(V(b.halted), C(0)), unfinished)
    if b.diags:
        raise IrcheckError(b.diags, design.source)
    names = [c.name for c in m.checks]
    ordered = [c for c in ALL_CHECKS if c in names]
    if b.uses_counters:
        ordered.append("counter_range")
    return TransitionSystem(b.vars, b.trans, b.props, b.requests, unfinished, ordered,
                            BOUND, groups=tuple(sorted({g for t in b.trans for g in t.fair})),
                            strong=frozenset(g for t in b.trans for g in t.fair if is_strong(g)),
                            meta=m.layout, judge=judge_of(m), symmetries=symmetries(m), waits=b.waits,
                            warnings=exception_vector_warnings(
                                (p.name, p.base, p.line, p.irq_base) for p in design.pics.values()),
                            tick=b.tick)


def check_names(design: Design, checks: list[str] | None = None) -> list[str]:
    """The checks `lower` would decide, in report order (for a lowering stopped by a limit)."""
    names = [c.name for c in select_checks(design, checks, [])]
    return [c for c in ALL_CHECKS if c in names]
