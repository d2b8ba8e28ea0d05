"""Resolution of the message sources (A1-A4): I/O APIC pins and MSI/MSI-X devices once every
declaration is read - a model with an I/O APIC has no 8259A and no `apic` (IRQ232: one IRQ numbering,
each CPU's local APIC belongs to the I/O APIC model), pins shared only by `shared` devices of one
trigger (IRQ216), and what a `request_irq` names: a GSI
(`request_irq 11`) or an MSI device (`request_irq nvme`, IRQ233 otherwise).
"""

from __future__ import annotations

from dataclasses import replace

from ircheck.grammar import ast
from ircheck.grammar.diagnostics import Diagnostic
from ircheck.spec.design import DeviceInfo, device_irq, gsi_pin, message_sources
from ircheck.spec.language import IRQ_CALLS
from ircheck.spec.resolve_scope import Scope


def message_bindings(sc: Scope) -> None:
    """The checks above on every message source. A bare-metal source whose vector has no gate is no
    error: it is delivered and faults at run time (X10)."""
    d = sc.d
    if not d.ioapics and not any(dev.kind in ("msi", "msix") for dev in d.devices.values()):
        return
    if d.pics or d.apics:
        first = min([p.line for p in d.pics.values()] + [a.line for a in d.apics.values()])
        sc.diags.append(Diagnostic("IRQ232", "a model with an I/O APIC or MSI sources has one local APIC per CPU "
                                   "and numbers its IRQs by GSI: it cannot also declare an 8259A or an `apic`",
                                   sc.path, first, 1, "route the legacy devices through the I/O APIC pins "
                                   "(ISA IRQ n is GSI n)"))
        return
    seen: dict[tuple[str, int], DeviceInfo] = {}
    for dev in message_sources(d):
        if dev.kind == "ioapic":
            other = seen.get((dev.pic, dev.input))
            if other is not None and not (other.shared and dev.shared):
                sc.diags.append(Diagnostic("IRQ216", f"pin {dev.pic}.{dev.input} is used by '{other.name}' and "
                                           f"'{dev.name}'", sc.path, dev.line, 1, "mark both devices `shared`"))
            elif other is not None and not (other.level and dev.level):
                sc.diags.append(Diagnostic("IRQ216", f"pin {dev.pic}.{dev.input} is shared but not level: only "
                                           "a level pin is a wired OR (A2, P2)", sc.path, dev.line, 1))
            seen.setdefault((dev.pic, dev.input), dev)


def request_target(sc: Scope, r: ast.RequestIrq, quiet: bool = False) -> tuple[str, int] | None:
    """(chip, input) of a request_irq on a message source: the I/O APIC pin of GSI `r.irq`, or
    (DEVICE, 0) for `request_irq DEVICE` on an MSI device; None when it names neither (reported
    unless `quiet`)."""
    if r.source is not None:
        dev = sc.d.devices.get(r.source.name)
        if dev is None or dev.kind not in ("msi", "msix"):
            refused = dev is None and sc.kind_of(r.source.name) == "device"  # its declaration was reported
            if not quiet and not refused:
                sc.err("IRQ233", f"request_irq {r.source.name}: only an MSI/MSI-X device is requested by its name",
                       r.source.span, "request an 8259A input or an I/O APIC pin by its IRQ number (GSI)")
            return None
        return dev.name, 0
    return gsi_pin(sc.d, r.irq)


def request_number(sc: Scope, r: ast.RequestIrq) -> int:
    """The Linux IRQ number a request_irq binds: its number, or an MSI device's (`device_irq`)."""
    dev = None if r.source is None else sc.d.devices.get(r.source.name)
    if dev is None or dev.kind not in ("msi", "msix"):
        return r.irq  # -1 for a name that is no MSI device (request_target reports it)
    number = device_irq(sc.d, dev)
    assert number is not None
    return number


def irq_name_arg(sc: Scope, st: ast.Simple) -> int | None:
    """A genirq call naming an MSI device (`disable_irq nvme`): that device's IRQ number (IRQ233 for
    any other name)."""
    assert isinstance(st.arg, ast.Name)
    dev = sc.d.devices.get(st.arg.name)
    if dev is None or dev.kind not in ("msi", "msix"):
        sc.err("IRQ233", f"{st.op} {st.arg.name}: genirq calls name an MSI device or an IRQ number", st.arg.span,
               "an I/O APIC pin is named by its GSI, an 8259A input by its IRQ number")
        return None
    return device_irq(sc.d, dev)


def number_calls(body: tuple[ast.Stmt, ...], numbers: dict[str, int]) -> tuple[ast.Stmt, ...]:
    """`body` with every genirq call that names an MSI device (`disable_irq nvme`) given that device's
    IRQ number, as the lowering reads IRQ operands (the span, so messages point at the source, is kept)."""
    out: list[ast.Stmt] = []
    for st in body:
        if isinstance(st, ast.Simple) and isinstance(st.arg, ast.Name) and st.op in IRQ_CALLS \
                and st.arg.name in numbers:
            st = replace(st, arg=ast.Num(numbers[st.arg.name], st.arg.span))
        elif isinstance(st, ast.If):
            st = replace(st, then=number_calls(st.then, numbers), orelse=number_calls(st.orelse, numbers))
        elif isinstance(st, ast.While | ast.Loop):
            st = replace(st, body=number_calls(st.body, numbers))
        elif isinstance(st, ast.Choose):
            st = replace(st, branches=tuple(number_calls(b, numbers) for b in st.branches))
        out.append(st)
    return tuple(out)


def number_msi_calls(sc: Scope) -> None:
    """Every code body's genirq calls on MSI devices by number (`number_calls`)."""
    numbers = {dev.name: n for dev in sc.d.devices.values() if dev.kind in ("msi", "msix")
               and (n := device_irq(sc.d, dev)) is not None}
    if numbers:
        for c in sc.d.code.values():
            c.body = number_calls(c.body, numbers)
