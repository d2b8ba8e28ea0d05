"""The hardware repairs of the `--suggest` catalogue (8259A, x86): the missing EOI (P7, P11), an
interrupt gate for a trap gate (X2), an early EOI moved to the end (P5, P8), `ack` of a level line
before its EOI (P2), no EOI for a spurious IR7 (P12), DPL 3 on a gate user code calls (X3), the
gate a device's vector lacks (X10).
Each function yields `Candidate`s; spec/repairs.py lists them in catalogue order.
"""

from __future__ import annotations

from collections.abc import Iterator

from ircheck.grammar import ast
from ircheck.spec.repair_edits import Candidate, Edit, Source
from ircheck.spec.repair_model import Facts, arg_name, simples


def missing_eoi(src: Source, d: Facts) -> Iterator[Candidate]:
    """P7/P11: a gate handler of an 8259A line that never sends EOI leaves its level in service for
    ever; a slave's handler needs two, slave then master. Append what is missing at the end."""
    for code in d.codes:
        if code.kind != "handler" or code.name in d.requested:
            continue
        lines = d.lines_of(code.name)
        eois = simples(code, "eoi")
        if not lines:
            if d.apic_vectors(code.name) and not eois:  # X9: the in-service vector ends only with an EOI
                yield Candidate(f"eoi:{code.name}", f"handler {code.name}: add the missing `eoi` at its end",
                                code.end.line, (src.append(code, "eoi"),))
            continue
        if d.auto_eoi(lines[0][1].pic):
            continue
        pic = lines[0][1].pic
        master = d.master_of.get(pic)
        to_masters = [e for e in eois if isinstance(e.arg, ast.Name) and e.arg.name == master
                      or isinstance(e.arg, ast.LineRef) and e.arg.pic == master]
        own = [e for e in eois if e not in to_masters]
        if not eois:
            text = f"eoi; eoi {master}" if master else "eoi"
            yield Candidate(f"eoi:{code.name}", f"handler {code.name}: add the missing `{text}` at its end",
                            code.end.line, (src.append(code, text),))
        elif master and own and not to_masters:
            yield Candidate(f"eoi_master:{code.name}",
                            f"handler {code.name}: add `eoi {master}` after the slave's EOI (a cascade needs both)",
                            code.end.line, (src.append(code, f"eoi {master}"),))


def trap_gate(src: Source, d: Facts) -> Iterator[Candidate]:
    """X2: a trap gate keeps IF=1, so the handler's own or another line nests into it."""
    for e in d.gates:
        if e.gate == "trap_gate":
            ed = src.replace_word(e.span, "trap_gate", "interrupt_gate")
            if ed is not None:
                yield Candidate(f"interrupt_gate:{e.handler.name}",
                                f"idt {e.vector:#x} -> {e.handler.name}: trap_gate -> interrupt_gate",
                                e.span.line, (ed,))


def early_eoi(src: Source, d: Facts) -> Iterator[Candidate]:
    """P5/P8: an EOI before the work (with `sti`, or under a trap gate) lets the handler's own line
    in again while it runs; move the EOI to the end of the handler. With two EOIs (P7: the second
    ends some other level), drop the early one instead."""
    for code in d.codes:
        if code.kind != "handler" or code.name in d.requested:
            continue
        top = list(code.body)
        eois = [st for st in top if isinstance(st, ast.Simple) and st.op == "eoi"]
        if not eois or top[-1] is eois[-1] and len(eois) == 1:
            continue
        first = eois[0]
        twice = [e for e in eois[1:] if arg_name(e) == arg_name(first)]
        if twice:
            yield Candidate(f"drop_eoi:{code.name}", f"handler {code.name}: remove the early `eoi` (it is sent twice)",
                            first.span.line, (src.delete_stmt(first.span),))
            continue
        if len(eois) > 1 or top.index(first) == len(top) - 1:
            continue
        yield Candidate(f"late_eoi:{code.name}",
                        f"handler {code.name}: move the early `eoi` to the end of the handler",
                        first.span.line, (src.delete_stmt(first.span), src.append(code, "eoi")))
        i = top.index(first)
        nxt = top[i + 1]
        if isinstance(nxt, ast.Simple) and nxt.op == "sti" and i + 2 < len(top):
            # `eoi; sti` first: after a late EOI, IF=1 still lets the line in before the IRET. The
            # IRET restores IF anyway, so the `sti` goes.
            yield Candidate(f"late_eoi_no_sti:{code.name}",
                            f"handler {code.name}: move the early `eoi; sti` to the end of the handler as `eoi` "
                            "(IRET restores IF)",
                            first.span.line, (src.delete_stmt(first.span), src.delete_stmt(nxt.span),
                                              src.append(code, "eoi")))


def level_ack(src: Source, d: Facts) -> Iterator[Candidate]:
    """P2: a level line stays high until the device is told; without `ack DEV` before the EOI the
    controller interrupts again at once, for ever (no_irq_storm). The same for a request_irq
    handler or irq thread: the flow handler's unmask lets the still-asserted line in again (L2)."""
    for code in d.codes:
        if code.kind not in ("handler", "irq_thread"):
            continue
        acked = {arg_name(s) for s in simples(code, "ack")}
        lines = d.request_lines(code.name) if code.name in d.requested or code.kind == "irq_thread" \
            else d.lines_of(code.name)
        for dev, _ref, trig in lines:
            if trig != "level" or dev.name in acked:
                continue
            eois = [st for st in code.body if isinstance(st, ast.Simple) and st.op == "eoi"]
            ed = src.insert_before(eois[0].span, f"ack {dev.name}") if eois else src.append(code, f"ack {dev.name}")
            yield Candidate(f"ack:{code.name}:{dev.name}",
                            f"{code.kind} {code.name}: add `ack {dev.name}`" + (" before the EOI" if eois else "")
                            + " (a level line stays high)",
                            eois[0].span.line if eois else code.end.line, (ed,))


def spurious(src: Source, d: Facts) -> Iterator[Candidate]:
    """P12: the IR7 (IR15) entry of a request that dropped before INTA has no ISR bit; an
    unconditional EOI ends some other level. Send it only `if in_service`."""
    for code in d.codes:
        if code.kind != "handler" or any(isinstance(s, ast.If) and isinstance(s.cond, ast.InService)
                                         for s in ast.walk(code.body)):
            continue
        if not any(ref.input == 7 and d.may_drop(dev) for dev, ref, _ in d.lines_of(code.name)):
            continue
        for st in code.body:
            if isinstance(st, ast.Simple) and st.op == "eoi" and st.arg is None:
                sp = st.span
                yield Candidate(f"in_service:{code.name}",
                                f"handler {code.name}: `eoi` -> `if in_service {{ eoi }}` (no EOI for a spurious IRQ7)",
                                sp.line, (Edit(sp.line, sp.column, sp.end_line, sp.end_column,
                                               "if in_service { eoi }"),))


def gate_dpl(src: Source, d: Facts) -> Iterator[Candidate]:
    """X3: `int V` from CPL 3 through a DPL 0 gate is #GP; a system-call gate has DPL 3."""
    user_ints = {s.arg.value for c in d.codes if c.kind == "thread"
                 and any(o.key == "cpl" and o.value == 3 for o in c.options)
                 for s in simples(c, "int") if isinstance(s.arg, ast.Num)}
    for e in d.gates:
        if e.vector in user_ints and e.dpl == 0:
            text = src.line(e.span.line)
            i = text.find("dpl", e.span.column - 1)
            j = text.find("0", i) if i >= 0 else -1
            if i >= 0 and j >= 0 and not text[i + 3:j].strip():
                yield Candidate(f"dpl3:{e.handler.name}", f"idt {e.vector:#x} -> {e.handler.name}: dpl 0 -> dpl 3 "
                                "(user code calls it with `int`)", e.span.line,
                                (Edit(e.span.line, j + 1, e.span.line, j + 2, "3"),))


def missing_gate(src: Source, d: Facts) -> Iterator[Candidate]:
    """X10: a device's vector with no IDT gate faults with #NP when delivered. Install an interrupt
    gate and a handler that EOIs (slave then master on a cascade; the local APIC for a vector),
    on the lines after the device. Models with request_irq are left alone: genirq installs its gates."""
    if d.requests:
        return
    have = {e.vector for e in d.gates}
    taken = {c.name for c in d.codes}
    for dev in d.devices:
        for s in dev.settings:
            if s.key == "irq" and isinstance(s.value, ast.LineRef) and s.value.pic in d.base:
                vec = d.base[s.value.pic] + s.value.input
                master = d.master_of.get(s.value.pic)
                eoi = f"eoi; eoi {master}" if master else "eoi"
            elif s.key == "vector" and isinstance(s.value, int):
                vec, eoi = s.value, "eoi"
            else:
                continue
            name = f"{dev.name}_isr"
            if vec in have or name in taken:
                continue
            eol = len(src.line(dev.span.end_line)) + 1
            text = f"\nidt {{ {vec:#x} -> {name} interrupt_gate dpl 0 }}\nhandler {name} {{ {eoi} }}"
            yield Candidate(f"gate:{dev.name}", f"device {dev.name}: add the gate for vector {vec:#x} and its handler "
                            f"(without one its interrupt faults with #NP)", dev.span.line,
                            (Edit(dev.span.end_line, eol, dev.span.end_line, eol, text),))
