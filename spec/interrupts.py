"""The design's /proc/interrupts (C1: kernel/irq/proc.c `show_interrupts`): its rows and the counts a
run leaves.

`show_interrupts` prints one row per IRQ that has an action or a nonzero count: the IRQ number, per
online CPU `kstat_irqs_cpu`, the chip's name, the descriptor's flow, the actions' names; x86's
`arch_show_interrupts` adds the `ERR`/`SPU` rows (here `SPU`: spurious IR7/15 entries, P12). A row here
is a Linux IRQ with a request_irq action (its flow handler, L0) or, in a bare-metal design, an
8259A input whose vector has a gate (no genirq flow: `-`); the 8259A's chip is `XT-PIC`
(arch/x86/kernel/i8259.c `i8259A_chip`); I/O APIC pins and MSI sources are `IO-APIC` and `PCI-MSI`
rows (`message_rows`).

`counts(layout, steps)`: what a trace leaves in each row - the number of its steps that handle that
IRQ on each CPU (`Layout.handled`, recorded by prims/kstat.py), no state needed.
"""

from __future__ import annotations

from collections.abc import Iterable

from ircheck.spec.context import Layout
from ircheck.spec.design import SPURIOUS, Design, Row, device_irq, isa_line, message_sources, message_vector
from ircheck.spec.incarnations import flow_handler

CHIP_8259 = "XT-PIC"
CHIP_IOAPIC = "IO-APIC"
CHIP_MSI = "PCI-MSI"


def rows(d: Design) -> dict[int, Row]:
    """IRQ -> its row: request_irq lines and gate-bound 8259A inputs, in IRQ order; `SPU` last when a
    device may drop its request (spurious IR7/15)."""
    out: dict[int, Row] = {}
    for n in range(16):
        line = isa_line(d.pics, n)
        if line is None:
            continue
        pic = d.pics[line[0]]
        if n in d.irqs:
            irq = d.irqs[n]
            names = tuple(a.handler or f"{a.thread} (thread)" for a in irq.actions)
            out[n] = Row(n, CHIP_8259, flow_handler(d, irq), names)
            continue
        gate = d.gates.get(pic.base + line[1])
        devs = [dv for dv in d.devices.values() if dv.kind == "pic" and (dv.pic, dv.input) == line]
        if gate is not None and devs:
            out[n] = Row(n, CHIP_8259, "-", (gate.handler,))
    out.update(message_rows(d))
    out = dict(sorted(out.items()))
    if any(dv.may_drop for dv in d.devices.values()):
        out[SPURIOUS] = Row(SPURIOUS, "", "", ("Spurious interrupts",))
    return out


def message_rows(d: Design) -> dict[int, Row]:
    """The rows of I/O APIC pins and MSI sources (A1-A4): their request_irq lines with L0's flow, and
    bare-metal sources whose vector has a gate (`-`); the chip is `IO-APIC` or `PCI-MSI`, as
    arch/x86/kernel/apic/io_apic.c `ioapic_chip` and the PCI MSI domain name them."""
    out: dict[int, Row] = {}
    for dev in message_sources(d):
        n = device_irq(d, dev)
        if n is None or n in out:
            continue
        chip = CHIP_IOAPIC if dev.kind == "ioapic" else CHIP_MSI
        irq = d.irqs.get(n)
        if irq is not None:
            out[n] = Row(n, chip, flow_handler(d, irq), tuple(a.handler or f"{a.thread} (thread)" for a in irq.actions))
            continue
        gate = d.gates.get(message_vector(d, dev))
        if gate is not None:
            out[n] = Row(n, chip, "-", (gate.handler,))
    return out


def counts(layout: Layout, steps: Iterable[int]) -> dict[int, list[int]]:
    """Per row (and per IRQ a step handles), per CPU: how many of `steps` handle it."""
    ncpu = len(layout.cpus)
    out: dict[int, list[int]] = {n: [0] * ncpu for n in layout.rows}
    for ti in steps:
        hit = layout.handled.get(ti)
        if hit is not None:
            out.setdefault(hit[0], [0] * ncpu)[hit[1]] += 1
    return dict(sorted(out.items(), key=lambda kv: (kv[0] == SPURIOUS, kv[0])))


def counts_text(layout: Layout, found: dict[int, list[int]]) -> str:
    """`IRQ 3: cpu0 0, cpu1 1 (nic_isr); SPU: cpu0 1` - one clause per row."""
    parts = []
    for n, per in found.items():
        row = layout.rows.get(n)
        who = f" ({', '.join(row.actions)})" if row is not None and n != SPURIOUS else ""
        head = "SPU" if n == SPURIOUS else f"IRQ {n}"
        parts.append(f"{head}: " + ", ".join(f"cpu{k} {c}" for k, c in enumerate(per)) + who)
    return "; ".join(parts)


def table_text(layout: Layout, found: dict[tuple[int, int], int | None], note: str = "") -> str:
    """The table as kernel/irq/proc.c `show_interrupts` prints it: a header of CPUs, then per row the
    IRQ (`%*d: `), per CPU its count (`%10u `, here also `unbounded`), the chip (` %8s`), the flow
    handler and the actions' names (`  a, b`); rows with no action and every count 0 are left out,
    as the kernel leaves them; `SPU` last."""
    ncpu = len(layout.cpus)
    irqs = sorted({n for n, _c in found} | set(layout.rows), key=lambda n: (n == SPURIOUS, n))
    out = [" " * 11 + "".join(f"CPU{k:<8d}" for k in range(ncpu))]
    for n in irqs:
        per = [found.get((n, k), 0) for k in range(ncpu)]
        row = layout.rows.get(n)
        if row is None and not any(per):
            continue
        head = "SPU" if n == SPURIOUS else f"{n:>3}"
        cells = "".join(f"{'unbounded' if c is None else c:>10} " for c in per)
        if n == SPURIOUS:
            out.append(f"{head}: {cells}  Spurious interrupts")
            continue
        chip, flow, actions = (row.chip, row.flow, row.actions) if row is not None else (CHIP_8259, "-", ())
        out.append(f"{head}: {cells}{chip:>8}  {flow}" + (f"  {', '.join(actions)}" if actions else ""))
    if note:
        out.append(note)
    return "\n".join(line.rstrip() for line in out) + "\n"
