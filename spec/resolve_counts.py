"""Resolution of the /proc/interrupts counts (C1) and of IRQ probing (C2), checked once the lines are
numbered (after `resolve_bindings.bindings`). C1: `irqs(X)` and `irqs(X, cpuK)` in conditions and
invariants:

* the word before the parenthesis is `irqs` (IRQ316 otherwise);
* X is a device with a Linux IRQ number (`design.device_irq`: IRQ103 for another kind of name,
  IRQ316 for a source with no IRQ number: a local-APIC vector, NMI), or an IRQ number some 8259A
  input of the model has (IRQ316);
* cpuK is a CPU of the system (IRQ213).

Each IRQ read is recorded in `Design.counted`: only those counts are kept in the state. C2: see
`probes`.
"""

from __future__ import annotations

from ircheck.grammar import ast
from ircheck.spec.design import device_irq, isa_line, probe_lines
from ircheck.spec.resolve_scope import Scope


def irq_counts(sc: Scope) -> None:
    for e in sc.irq_counts:
        irq = count_irq(sc, e)
        if irq is not None:
            sc.d.counted.add(irq)
        if e.cpu is not None:
            k = sc.cpu_name(e.cpu.name, e.cpu.span)
            if k is not None and k >= sc.d.cpus:
                sc.err("IRQ213", f"`irqs(..., {e.cpu.name})`: the system has {sc.d.cpus} CPU(s)", e.cpu.span)


def count_irq(sc: Scope, e: ast.IrqCount) -> int | None:
    """The Linux IRQ number `irqs(X)` counts, or None (with its diagnostic)."""
    if e.fn != "irqs":
        sc.err("IRQ316", f"unknown function '{e.fn}': the only one is `irqs(X)` (/proc/interrupts, C1)", e.span,
               "write `irqs(DEVICE)` or `irqs(DEVICE, cpuK)`")
        return None
    what = e.what
    if isinstance(what, ast.Num):
        if isa_line(sc.d.pics, what.value) is None:
            sc.err("IRQ316", f"`irqs({what.value})`: no 8259A input of the model is IRQ {what.value}", what.span,
                   "the master's inputs are IRQ 0-7, its slave's IRQ 8-15")
            return None
        return what.value
    if not sc.want(what, ("device",), "device"):
        return None
    dev = sc.d.devices.get(what.name)
    if dev is None:
        return None
    irq = device_irq(sc.d, dev)
    if irq is None:
        sc.err("IRQ316", f"`irqs({what.name})`: device '{what.name}' has no Linux IRQ number (a local-APIC vector "
               "or NMI is not a /proc/interrupts row of its own)", what.span)
    return irq


def probes(sc: Scope) -> None:
    """C2: `probe P for DEV` names a device with a Linux IRQ number (IRQ102/IRQ103, IRQ317);
    `probe_irq_on` needs a `probe` declaration (IRQ317). The probed lines (`design.probe_lines`) start
    masked, as Linux leaves a line no driver requested (its 8259A IMR bit is then a variable; an I/O APIC
pin's mask bit, controllers/ioapic.py)."""
    for p in sc.probe_decls:
        if not sc.want(p.device, ("device",), "device"):
            continue
        dev = sc.d.devices.get(p.device.name)
        if dev is not None and device_irq(sc.d, dev) is None:
            sc.err("IRQ317", f"`probe {p.name} for {p.device.name}`: device '{p.device.name}' has no Linux IRQ "
                   "number for probe_irq_off to return", p.device.span)
    if not sc.d.probes:
        for c in sc.d.code.values():
            for st in ast.walk(c.body):
                if isinstance(st, ast.Simple) and st.op == "probe_irq_on":
                    sc.err("IRQ317", "`probe_irq_on` with no `probe P for DEV` declaration: what should "
                           "probe_irq_off find?", st.span, "declare e.g. `probe found for DEV`")
        return
    for n in probe_lines(sc.d):
        line = isa_line(sc.d.pics, n)
        if line is None:
            continue  # an I/O APIC pin: its mask bit starts set (controllers/ioapic.py)
        pic = sc.d.pics[line[0]]
        pic.mask |= 1 << line[1]
        pic.masked_ever = True
