"""The catalogue of standard repairs for interrupt designs (`ircheck --suggest`).

A repair is the fix a kernel or firmware reviewer would propose for a known
class of bug - take the lock with `spin_lock_irqsave`, send the missing EOI,
use an interrupt gate, test-and-sleep with `wait_event` - expressed as **text
edits at AST spans** of the user's `.irq` source. Editing the text (instead of
reprinting the AST) keeps the user's comments and layout, so the unified diff
shown to the user is exactly the change and nothing else; the candidate model
that `checker/suggest.py` re-checks is `parse(apply(source, edits))`, so what
is checked is what is shown.

This module only proposes; it never decides whether a repair works (the model
checker does) and it never executes anything from the model. It lives in
spec/ because it knows what the constructs mean: which handler a gate enters,
which controller is a slave, that a `request_irq` handler must not EOI (L1),
that a level line needs its device acked (P2), that a spurious IRQ7 must not be
EOIed (P12). Rule numbers refer to docs/semantics.md.

The catalogue is split by subject: spec/repair_edits.py (text edits), spec/repair_model.py (what
the repairs read of a model), spec/repairs_hardware.py, spec/repairs_locks.py and
spec/repairs_contexts.py, spec/repairs_waits.py (the repairs); this module gives their order and `candidates`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from ircheck.grammar import ast
from ircheck.spec.repair_edits import Candidate, Edit, EditConflict, Source, apply_edits, combine
from ircheck.spec.repair_model import Facts
from ircheck.spec.repairs_contexts import (
    deferred_to_work,
    genirq_eoi,
    nosync,
    oneshot_level,
    set_before_wake,
    threaded,
    timer_nowait,
    unbalanced_enable,
    wait_event,
)
from ircheck.spec.repairs_hardware import (
    early_eoi,
    gate_dpl,
    level_ack,
    missing_eoi,
    missing_gate,
    spurious,
    trap_gate,
)
from ircheck.spec.repairs_locks import (
    atomic_counter,
    lock_flavour,
    lock_order,
    protect_data,
    seqcount_irqs_off,
    sleep_outside_lock,
)
from ircheck.spec.repairs_waits import prepare_first, reinit_first

__all__ = ["Candidate", "Edit", "EditConflict", "apply_edits", "candidates", "combine"]

_REPAIRS: tuple[Callable[[Source, Facts], Iterator[Candidate]], ...] = (
    lock_flavour, missing_eoi, trap_gate, early_eoi, wait_event, nosync, threaded, deferred_to_work, genirq_eoi,
    level_ack, spurious, unbalanced_enable, lock_order, sleep_outside_lock, gate_dpl, protect_data, set_before_wake,
    missing_gate, oneshot_level, atomic_counter, prepare_first, reinit_first, timer_nowait,
    seqcount_irqs_off)


def candidates(model: ast.Model) -> list[Candidate]:
    """Every single repair the catalogue proposes for this model, in a stable order (catalogue
    order, then source order). Needs `model.source` (the parser sets it)."""
    src = Source(model.source)
    d = Facts(model)
    out: list[Candidate] = []
    seen: set[str] = set()
    for rule in _REPAIRS:
        for c in rule(src, d):
            if c.key not in seen:
                seen.add(c.key)
                out.append(c)
    return out
