"""Name resolution and well-formedness: `ast.Model` -> `Design`, or coded errors.

This phase decides whether a model means something before anything is
lowered: every name is known and of the right kind, every device sits on a line
its controller has, every vector that can fire has a gate, numbers are in
range. All problems found are reported together. Features whose semantics a
later milestone brings are refused here with IRQ9xx "not supported yet", so
nothing is ever silently ignored.

The passes, in order: names (`Scope.declare`), declarations (spec/resolve_decls.py), links
between them and request_irq (spec/resolve_bindings.py), code bodies, genirq calls and recursion
(spec/resolve_code.py). Diagnostics are sorted by line, column and code (a stable sort: the
order of the passes breaks ties). The `Design` classes live in spec/design.py and are
re-exported from here, like the statement sets of spec/language.py that other modules read.
"""

from __future__ import annotations

from ircheck.grammar import ast
from ircheck.grammar.diagnostics import IrcheckError
from ircheck.spec.checks import ALL_CHECKS, DEFAULT_CHECKS, PARAM_CHECKS
from ircheck.spec.design import (  # the Design classes are read from here too
    DEFAULT_COUNTER_MAX,
    MAX_COUNTER,
    MAX_CPUS,
    MAX_RAISES,
    Action,
    ApicInfo,
    CheckSpec,
    CodeInfo,
    Design,
    DeviceInfo,
    Gate,
    IrqLine,
    ObjectInfo,
    PicInfo,
)
from ircheck.spec.language import ACQUIRES, BARE_STATEMENTS, IRQ_CALLS, RELEASES, SPIN_PAIRS, TASK_KINDS
from ircheck.spec.resolve_bindings import bindings, request_irqs
from ircheck.spec.resolve_code import block, irq_statements, recursion
from ircheck.spec.resolve_counts import irq_counts, probes
from ircheck.spec.resolve_decls import DECLARE
from ircheck.spec.resolve_messages import number_msi_calls
from ircheck.spec.resolve_scope import Scope

# The checks, in report order, and which are on by default / take a parameter: spec/checks.py.
SUPPORTED_CHECKS = frozenset(ALL_CHECKS)

# views of spec/language.py under the names other modules import them by
SPIN_OPS = SPIN_PAIRS
LOCK_OPS = ACQUIRES | RELEASES
IRQ_OPS = IRQ_CALLS
__all__ = [
    "ALL_CHECKS", "BARE_STATEMENTS", "DEFAULT_CHECKS", "DEFAULT_COUNTER_MAX", "IRQ_OPS", "LOCK_OPS", "MAX_COUNTER",
    "MAX_CPUS", "MAX_RAISES", "PARAM_CHECKS", "SPIN_OPS", "SUPPORTED_CHECKS", "TASK_KINDS", "Action", "ApicInfo",
    "CheckSpec", "CodeInfo", "Design", "DeviceInfo", "Gate", "IrqLine", "ObjectInfo", "PicInfo", "resolve",
]


def resolve(model: ast.Model) -> Design:
    """Check a parsed model; raises IrcheckError listing every problem found."""
    s = Scope(model)
    for decl in model.decls:
        if isinstance(decl, ast.Pic):
            s.declare(decl.name, "controller", decl.span)
        elif isinstance(decl, ast.Apic | ast.IoApic):
            s.declare(decl.name, "controller", decl.span)
        elif isinstance(decl, ast.Device):
            s.declare(decl.name, "device", decl.span)
        elif isinstance(decl, ast.Object):
            s.declare(decl.name, decl.kind, decl.span)
        elif isinstance(decl, ast.Code):
            s.declare(decl.name, decl.kind, decl.span)
        elif isinstance(decl, ast.Probe):
            s.declare(decl.name, "probe", decl.span)
    for decl in sorted(model.decls, key=lambda x: not isinstance(x, ast.IoApic)):  # pins name them
        DECLARE[type(decl)](s, decl)
    bindings(s)
    request_irqs(s)
    for c in s.d.code.values():
        block(s, c, c.body, ())
    irq_statements(s)
    irq_counts(s)
    probes(s)
    recursion(s)
    if s.diags:
        s.diags.sort(key=lambda x: (x.line, x.column, x.code))
        raise IrcheckError(s.diags, model.source)
    number_msi_calls(s)
    return s.d
