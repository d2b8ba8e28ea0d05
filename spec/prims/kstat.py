"""/proc/interrupts counts (C1: kernel/irq/irqdesc.c `kstat_irqs_cpu`/`kstat_irqs`, kernel/irq/chip.c
`kstat_incr_irqs_this_cpu`, kernel/irq/proc.c `show_interrupts`).

A handled interrupt is counted per IRQ (sharers of a line share its row) and per CPU where the
kernel counts it: a request_irq line at the flow handler's "run the handlers" step
(`handle_level_irq` increments after its in-progress/disabled/no-action tests, so a run that only
marks PENDING, or a probe stub with no action, is not counted); a bare-metal line at the INTA entry
into its gate's handler *(inference: there is no kstat without Linux; the hardware's delivery is the
count)*. A spurious IR7/15 entry is not a handled interrupt of IRQ 7/15 (the kernel counts it as
SPU/ERR).

Guarded commands: with IRQ n's counts kept (`Model.kstat`, only when an expression reads them),
the counting step also does `irqs(n, cpuK) := irqs(n, cpuK) + 1` below its bound
(`design.kstat_cap`); at the bound the step keeps the value and is tagged as a model bound
(data.count_up: inconclusive, never a silent clamp). Every counting step is recorded in
`Layout.handled`, counts kept or not, so a counterexample's counts are read off its steps.
"""

from __future__ import annotations

from ircheck.spec.build import Builder
from ircheck.spec.model import Model
from ircheck.spec.prims.data import Effect, count_up
from ircheck.spec.ts import BOUND, Expr


def counted(m: Model, irq: int | None, cpu: int, guard: Expr, ups: dict[int, Expr], line: int) -> list[Effect]:
    """The variants of a step that handles IRQ `irq` on `cpu`: the count + 1 (or its bound)."""
    v = None if irq is None else m.kstat.get((irq, cpu))
    if v is None:
        return [(guard, ups, [])]
    return count_up(m.b, v, guard, f"an interrupt of IRQ {irq} handled on cpu{cpu}", line, ups)


def note_handled(m: Model, first: int, irq: int | None, cpu: int) -> None:
    """The transitions from `first` on handle IRQ `irq` on `cpu` (those tagged as a model bound do not)."""
    if irq is None:
        return
    b: Builder = m.b
    for i in range(first, len(b.trans)):
        if not any(tag == BOUND for tag, _msg in b.trans[i].violates):
            m.layout.handled[i] = (irq, cpu)
