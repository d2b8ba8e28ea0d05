"""Resolution of the declarations, one function per declaration class (`DECLARE` maps each
`ast` class to its function): controllers, devices, the IDT, objects, code contexts, checks.
Each checks its own numbers and settings; what depends on other declarations (cascades, lines,
request_irq) is collected on the `Scope` and judged afterwards (spec/resolve_bindings.py).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ircheck.grammar import ast
from ircheck.grammar.diagnostics import did_you_mean
from ircheck.spec.checks import ALL_CHECKS
from ircheck.spec.design import (
    DEFAULT_COUNTER_MAX,
    MAX_COUNTER,
    MAX_CPUS,
    MAX_RAISES,
    ApicInfo,
    CheckSpec,
    CodeInfo,
    DeviceInfo,
    Gate,
    IoApicInfo,
    ObjectInfo,
    PicInfo,
    ProbeInfo,
)
from ircheck.spec.language import TASK_KINDS
from ircheck.spec.resolve_code import expr
from ircheck.spec.resolve_scope import KERNEL, Scope


def decl_system(sc: Scope, d: ast.System) -> None:
    pass


def decl_cpus(sc: Scope, d: ast.Cpus) -> None:
    if d.count < 1:
        sc.err("IRQ220", "a system needs at least one CPU", d.span)
    elif d.count > MAX_CPUS:
        sc.err("IRQ220", f"cpus {d.count}: at most {MAX_CPUS} CPUs are modelled", d.span,
               "two CPUs show every cross-CPU race; more only multiply the states")
    sc.d.cpus = min(max(1, d.count), MAX_CPUS)


def decl_pic(sc: Scope, d: ast.Pic) -> None:
    if d.chip != "i8259":
        sc.err("IRQ201", f"unknown controller type '{d.chip}'", d.span,
               did_you_mean(d.chip, ["i8259"]) or "the 8259A is written `pic NAME : i8259 { ... }`")
    base, auto, mask = 0x20 if not sc.d.pics else 0x28, False, 0
    mode, rotate, cascade = "fully_nested", False, None
    for s in d.settings:
        if s.key == "base":
            assert isinstance(s.value, int)
            if not 0 <= s.value <= 0xF8 or s.value % 8:
                sc.err("IRQ202", f"base {s.value:#x} must be a multiple of 8 between 0x00 and 0xf8", s.span,
                       "the 8259A takes the top five vector bits from ICW2")
            base = s.value
        elif s.key == "mode":
            modes = ("fully_nested", "special_mask", "special_fully_nested")
            if s.value not in modes:
                sc.err("IRQ203", f"unknown mode '{s.value}'", s.span,
                       did_you_mean(str(s.value), modes) or "modes: " + ", ".join(modes))
            else:
                mode = str(s.value)
        elif s.key == "eoi":
            if s.value not in ("normal", "auto"):
                sc.err("IRQ203", f"unknown EOI mode '{s.value}'", s.span,
                       did_you_mean(str(s.value), ("normal", "auto")) or "use `eoi normal` or `eoi auto`")
            auto = s.value == "auto"
        elif s.key == "rotate":
            if s.value not in ("off", "automatic"):
                sc.err("IRQ203", f"unknown rotation '{s.value}'", s.span,
                       did_you_mean(str(s.value), ("off", "automatic")) or "use `rotate off` or `rotate automatic`")
            rotate = s.value == "automatic"
        elif s.key == "mask":
            assert isinstance(s.value, int)
            if not 0 <= s.value <= 0xFF:
                sc.err("IRQ204", f"mask {s.value:#x} does not fit the 8-bit IMR", s.span)
            mask = s.value & 0xFF
        elif s.key == "cascade":
            assert isinstance(s.value, ast.LineRef)
            cascade = s.value
    info = PicInfo(d.name, base, auto, mask, False, d.span.line, mode, rotate)
    sc.d.pics[d.name] = info
    if cascade is not None:
        sc.cascades.append((info, cascade))


def decl_apic(sc: Scope, d: ast.Apic) -> None:
    tpr = 0
    for s in d.settings:
        if s.key == "tpr":
            assert isinstance(s.value, int)
            if not 0 <= s.value <= 255:
                sc.err("IRQ204", f"tpr {s.value} does not fit the 8-bit task-priority register", s.span)
            tpr = s.value & 0xFF
    if sc.d.apics:
        sc.err("IRQ221", "one local APIC per system is modelled (one CPU)", d.span)
    sc.d.apics[d.name] = ApicInfo(d.name, tpr, d.span.line)


def decl_ioapic(sc: Scope, d: ast.IoApic) -> None:
    """A1: `ioapic NAME { pins N }` (1..240 pins; the 82093AA has 24). Its GSIs follow those of the
    I/O APICs declared before it."""
    pins = 24
    for s in d.settings:
        assert isinstance(s.value, int)
        if not 1 <= s.value <= 240:
            sc.err("IRQ230", f"an I/O APIC has 1..240 pins, not {s.value}", s.span, "the 82093AA has 24")
            return
        pins = s.value
    base = sum(io.pins for io in sc.d.ioapics.values())
    sc.d.ioapics[d.name] = IoApicInfo(d.name, pins, base, d.span.line)


def decl_message_device(sc: Scope, d: ast.Device, line: ast.LineRef | None, level: bool, raises: int | None,
                        shared: bool, cpu: int | None, kicked: bool, msi: str | None, vector: int | None) -> None:
    """An I/O APIC pin (`irq IO.N edge|level`, A1-A2) or an MSI/MSI-X source (A3): no line, no sharing
    (IRQ231), no trigger."""
    if msi is not None:
        if line is not None:
            sc.err("IRQ206", f"device '{d.name}' is an {msi.upper()} source: it writes a message, it has no "
                   "interrupt line", d.span, f"drop `irq {line}` or `{msi}`")
            return
        if shared:
            sc.err("IRQ231", f"device '{d.name}': an {msi.upper()} message has no line to share (A3)", d.span,
                   "drop `shared`: each MSI source has its own vector")
            return
        if level:
            sc.err("IRQ231", f"device '{d.name}': an {msi.upper()} message is an edge (A3), not level", d.span)
            return
        sc.d.devices[d.name] = DeviceInfo(d.name, d.name, 0, False, raises, False, d.span.line, msi,
                                          cpu=cpu, on_kick=kicked, vector=vector)
        return
    assert line is not None
    io = sc.d.ioapics[line.pic]
    if not 0 <= line.input < io.pins:
        sc.err("IRQ230", f"I/O APIC {io.name} has pins 0..{io.pins - 1}, not {line.input}", line.span)
        return
    sc.d.devices[d.name] = DeviceInfo(d.name, line.pic, line.input, level, raises, shared, d.span.line, "ioapic",
                                      cpu=cpu, on_kick=kicked, vector=vector)


def decl_device(sc: Scope, d: ast.Device) -> None:
    line: ast.LineRef | None = None
    msi: str | None = None
    pin_vector: int | None = None
    level, raises, shared = False, 1, False
    vector: int | None = None
    nmi = may_drop = False
    raises_at: ast.Span | None = None  # the `raises` setting, if any
    on_kick: ast.Span | None = None
    cpu: int | None = None
    for s in d.settings:
        if s.key == "irq":
            assert isinstance(s.value, ast.LineRef)
            line = s.value
        elif s.key == "trigger":
            level = s.value == "level"
        elif s.key == "raises":
            assert isinstance(s.value, int)
            if s.value > MAX_RAISES:
                sc.err("IRQ205", f"raises {s.value} is more than {MAX_RAISES}", s.span,
                       "use `raises any` for an unbounded source")
            raises, raises_at = min(s.value, MAX_RAISES), s.span
        elif s.key == "raises_any":
            raises, raises_at = -1, s.span
        elif s.key == "shared":
            shared = True
        elif s.key == "vector":
            assert isinstance(s.value, int)
            if not 32 <= s.value <= 255:
                sc.err("IRQ208", f"an APIC source needs a vector in 32..255, not {s.value}", s.span,
                       "vectors 0-31 are the processor's exceptions")
                return
            vector = s.value
        elif s.key == "nmi":
            nmi = True
        elif s.key in ("msi", "msix"):
            msi = s.key
        elif s.key == "pin_vector":
            assert isinstance(s.value, int)
            if not 32 <= s.value <= 255:
                sc.err("IRQ208", f"a local-APIC vector is in 32..255, not {s.value}", s.span,
                       "vectors 0-31 are the processor's exceptions")
                return
            pin_vector = s.value
        elif s.key == "may_drop":
            may_drop = True
        elif s.key == "on_kick":
            on_kick = s.span
        elif s.key == "on":
            cpu = sc.cpu_name(str(s.value), s.span)
    if on_kick is not None and raises_at is not None:
        sc.err("IRQ205", f"device '{d.name}' is on_kick: it raises once per `kick {d.name}`, so a `raises` "
               "budget does not apply", raises_at,
               "remove `raises` (the kicks bound it), or drop `on_kick` for a device that raises by itself")
    kicked = on_kick is not None
    if kicked:
        raises = -1
    if nmi:
        if line is not None or vector is not None:
            sc.err("IRQ206", f"device '{d.name}' is an NMI source and cannot also have an IRQ line", d.span)
            return
        sc.d.devices[d.name] = DeviceInfo(d.name, "", 2, False, None if raises < 0 else raises, False,
                                          d.span.line, "nmi", cpu=cpu, on_kick=kicked)
        return
    if msi is not None or (line is not None and line.pic in sc.d.ioapics):
        decl_message_device(sc, d, line, level, None if raises < 0 else raises, shared, cpu, kicked, msi, pin_vector)
        return
    if pin_vector is not None:
        sc.err("IRQ206", f"device '{d.name}': `vector V` is an I/O APIC pin's or an MSI's vector", d.span,
               "an 8259A input's vector is its base + input; a local APIC source is `irq vector V`")
        return
    if vector is not None:
        if level:
            sc.unsupported("a level-triggered `irq vector` source (a level source is an I/O APIC pin: `ioapic io0 { pins 24 }`, "
                           "`irq io0.N level`)", d.span, KERNEL)
            return
        sc.d.devices[d.name] = DeviceInfo(d.name, "", vector, False, None if raises < 0 else raises, shared,
                                          d.span.line, "apic", may_drop, cpu, kicked)
        return
    if line is None:
        sc.err("IRQ206", f"device '{d.name}' has no interrupt line", d.span,
               "add e.g. `irq master.3 edge`")
        return
    if not sc.check_line(line):
        return
    sc.d.devices[d.name] = DeviceInfo(d.name, line.pic, line.input, level,
                                      None if raises < 0 else raises, shared, d.span.line, "pic", may_drop, cpu,
                                      kicked)


def decl_idt(sc: Scope, d: ast.Idt) -> None:
    for e in d.entries:
        if not 0 <= e.vector <= 255:
            sc.err("IRQ208", f"vector {e.vector} is outside 0..255", e.span)
            continue
        if not 0 <= e.dpl <= 3:
            sc.err("IRQ209", f"dpl {e.dpl} is outside 0..3", e.span)
        if e.vector in sc.d.gates:
            sc.err("IRQ210", f"vector {e.vector:#x} has two gates (first at line {sc.d.gates[e.vector].line})",
                   e.span)
            continue
        if sc.want(e.handler, ("handler",), "handler"):
            sc.d.gates[e.vector] = Gate(e.vector, e.handler.name, e.gate == "trap_gate", e.dpl, e.span.line)


def decl_requestirq(sc: Scope, d: ast.RequestIrq) -> None:
    sc.requests.append(d)


def decl_object(sc: Scope, d: ast.Object) -> None:
    mx = 1 if d.kind == "flag" else (d.max if d.max is not None else DEFAULT_COUNTER_MAX)
    if d.kind == "counter":
        if not 1 <= mx <= MAX_COUNTER:
            sc.err("IRQ211", f"counter max {mx} must be between 1 and {MAX_COUNTER}", d.span)
            mx = 1
        if not 0 <= d.init <= mx:
            sc.err("IRQ211", f"counter starts at {d.init}, outside 0..{mx}", d.span)
    sc.d.objects[d.name] = ObjectInfo(d.kind, d.name, min(d.init, mx), mx, d.span.line)


def decl_probe(sc: Scope, d: ast.Probe) -> None:
    """`probe P for DEV` (C2): the device is judged once the lines are numbered (resolve_counts.probes)."""
    sc.d.probes[d.name] = ProbeInfo(d.name, d.device.name, d.span.line)
    sc.probe_decls.append(d)


def decl_code(sc: Scope, d: ast.Code) -> None:
    reentrant = soft = False
    cpu, cpl = 0, 0
    for s in d.options:
        if s.key == "soft":
            if d.kind != "hrtimer":
                sc.err("IRQ301", f"`soft` applies to hrtimers, not to a {d.kind}", s.span,
                       "a timer's callback already runs in softirq context")
            soft = True
        if s.key in ("reentrant", "nonreentrant"):
            if d.kind not in ("handler", "function"):
                sc.err("IRQ301", f"a {d.kind} is a single context; `reentrant` applies to handlers and "
                       "functions", s.span)
            reentrant = s.key == "reentrant"
        elif s.key == "on":
            if d.kind not in TASK_KINDS:
                sc.err("IRQ301", f"`on CPU` applies to threads, irq_threads and work, not to a {d.kind}",
                       s.span, "softirqs and tasklets run on the CPU that raised them")
            k = sc.cpu_name(str(s.value), s.span)
            cpu = k if k is not None else 0
        elif s.key == "cpl":
            if d.kind != "thread":
                sc.err("IRQ301", f"`cpl` applies to threads, not to a {d.kind}", s.span,
                       "handlers run at CPL 0")
            if s.value not in (0, 3):
                sc.err("IRQ214", f"cpl {s.value}: Linux and this checker use ring 0 or ring 3", s.span)
            cpl = int(s.value) if isinstance(s.value, int) else 0
    sc.d.code[d.name] = CodeInfo(d.kind, d.name, d.body, reentrant, cpu, cpl, d.span.line, d.end.line, soft)


def decl_check(sc: Scope, d: ast.Check) -> None:
    sc.d.explicit_checks = True
    for item in d.items:
        if item.name not in ALL_CHECKS:
            sc.err("IRQ401", f"unknown check '{item.name}'", item.span,
                   did_you_mean(item.name, ALL_CHECKS) or "checks: " + ", ".join(ALL_CHECKS))
            continue
        if item.name == "max_nesting":
            if not isinstance(item.arg, int):
                sc.err("IRQ402", "max_nesting needs a depth", item.span, "e.g. `check max_nesting 2`")
                continue
        elif item.name == "invariant":
            expr(sc, item.arg, None)  # type: ignore[arg-type]
        elif item.arg is not None:
            sc.err("IRQ403", f"check {item.name} takes no argument", item.span)
        sc.d.checks.append(CheckSpec(item.name, item.arg, item.span.line))

DECLARE: dict[type[Any], Callable[[Scope, Any], None]] = {
    ast.System: decl_system, ast.Cpus: decl_cpus, ast.Pic: decl_pic, ast.Apic: decl_apic, ast.IoApic: decl_ioapic,
    ast.Device: decl_device,
    ast.Idt: decl_idt, ast.RequestIrq: decl_requestirq, ast.Object: decl_object, ast.Code: decl_code,
    ast.Check: decl_check, ast.Probe: decl_probe,
}
