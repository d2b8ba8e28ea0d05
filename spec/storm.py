"""no_irq_storm: interrupts that sustain themselves and keep a CPU from its tasks.

The rule (docs/semantics.md, "no_irq_storm"): a storm is a fair run whose loop, on some CPU,

* takes hard interrupts again and again (the Büchi condition: one of the CPU's hard-IRQ entries
  fires in the loop),
* never runs a step of the CPU's tasks (threads, irq threads, work items), although one of them
  could run in every state of the loop (pending: `sched.task_runnable` - neither done nor asleep,
  nor waiting on a mutex or in synchronize_irq),
* and in which the environment does not act: no device raises anywhere in the loop, and no hrtimer
  expires (time passing is the environment's choice too, D6; a periodic hrtimer is not a storm).

That is what the kernel's spurious-interrupt detector exists for (kernel/irq/spurious.c
`note_interrupt`: a line that keeps interrupting while nobody handles it) and what a driver causes
when its handler never quiets a level-triggered device, when a threaded handler on a level line
lacks IRQF_ONESHOT (the line is unmasked before the thread ran, kernel/irq/chip.c
`handle_level_irq`/`cond_unmask_irq`), or when the EOI lets a still-asserted level line in again.
A device that merely keeps raising (`raises any`, an edge per raise) is the environment's choice,
not a storm: its raises are in the loop.

One liveness `Request` per CPU that has tasks: pending = some task of the CPU is runnable;
delivered by any step of the CPU's tasks or of the environment (`Builder.raises`); recurs on the
CPU's hard-IRQ entries from controllers (checker/liveness.py judges it like every request: weak fairness per CPU, strong fairness
for interrupt acknowledge).

Only models with a level-triggered line get the requests: without one every hard-IRQ entry takes
an IRR bit (8259A or local APIC) that only a raise sets (an edge per raise, P1, X9; genirq's
PENDING replay runs inside one frame and is set by a raise too, L3), so a loop of entries always
contains raises and no storm exists. That keeps the graph analysis away from edge-only models.
"""

from __future__ import annotations

from ircheck.spec.model import Model
from ircheck.spec.prims.sched import task_runnable
from ircheck.spec.ts import Or, Request


def storm_requests(m: Model) -> None:
    """The no_irq_storm requests (the module docstring), one per CPU with tasks and hard-IRQ entries."""
    levels = [dev for dev in m.d.devices.values() if dev.level]
    if not levels:
        return
    sources = ", ".join(sorted(dev.name for dev in levels))
    raises = frozenset(m.b.raises)
    for cpu in m.cpus:
        entries = frozenset(m.b.hard_entries.get(cpu.index, ()))
        if not cpu.tasks or not entries:
            continue
        runnable = Or(*[task_runnable(m, t) for t in cpu.tasks])
        names = ", ".join(t.label for t in cpu.tasks)
        m.b.requests.append(Request(
            "no_irq_storm", f"cpu{cpu.index}", runnable,
            frozenset(m.b.task_steps.get(cpu.index, ())) | raises,
            f"interrupt storm on cpu{cpu.index}: interrupts keep arriving with no device acting (level-triggered: "
            f"{sources}), so {names} never run{'s' if len(cpu.tasks) == 1 else ''} again although "
            f"{'it could' if len(cpu.tasks) == 1 else 'one of them could'}",
            min(t.code.line for t in cpu.tasks), recurs=entries))
