"""Name resolution and well-formedness: `ast.Model` -> `Design`, or coded errors.

This phase decides whether a model means something before anything is
lowered: every name is known and of the right kind, every device sits on a line
its controller has, every vector that can fire has a gate, numbers are in
range. All problems found are reported together. Features whose semantics a
later milestone brings are refused here with IRQ9xx "not supported yet", so
nothing is ever silently ignored.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from ircheck.grammar import ast
from ircheck.grammar.diagnostics import Diagnostic, IrcheckError, did_you_mean
from ircheck.spec.checks import ALL_CHECKS, DEFAULT_CHECKS, PARAM_CHECKS  # noqa: F401 - also read from here

# The checks, in report order, and which are on by default / take a parameter: spec/checks.py.
SUPPORTED_CHECKS = frozenset(ALL_CHECKS)

BARE_STATEMENTS = frozenset({"cli", "sti", "iret", "nop", "eoi", "mask", "unmask", "ack", "read", "write",
                             "set", "clear", "inc", "dec", "call", "int", "fault"})
SPIN_OPS = {"spin_lock": "spin_unlock", "spin_lock_irqsave": "spin_unlock_irqrestore",
            "spin_lock_irq": "spin_unlock_irq", "spin_lock_bh": "spin_unlock_bh"}
LOCK_OPS = frozenset(SPIN_OPS) | frozenset(SPIN_OPS.values()) | {"mutex_lock", "mutex_unlock"}
IRQ_OPS = frozenset({"disable_irq", "disable_irq_nosync", "enable_irq", "free_irq", "synchronize_irq"})
TASK_KINDS = frozenset({"thread", "irq_thread", "work"})  # process context: scheduled, may sleep
MAX_CPUS = 4
MAX_RAISES = 64
MAX_COUNTER = 1023
DEFAULT_COUNTER_MAX = 255


@dataclass
class PicInfo:
    name: str
    base: int
    auto_eoi: bool
    mask: int
    masked_ever: bool  # some statement masks/unmasks a line: IMR is a variable
    line: int
    mode: str = "fully_nested"  # fully_nested | special_mask | special_fully_nested
    rotate: bool = False        # automatic rotation: the level just serviced becomes lowest
    cascade: tuple[str, int] | None = None  # a slave: the master input its INT drives


@dataclass
class ApicInfo:
    name: str
    tpr: int
    line: int


@dataclass
class DeviceInfo:
    name: str
    pic: str            # controller name ("" for NMI sources)
    input: int          # 8259A input, or the vector for an APIC source, or 2 for NMI
    level: bool
    raises: int | None  # None = any
    shared: bool
    line: int
    kind: str = "pic"   # pic | apic | nmi
    may_drop: bool = False  # the request may fall before INTA (spurious IRQ7/15)
    cpu: int | None = None  # `on cpuK`: only that CPU takes it; None = any CPU


@dataclass
class Gate:
    vector: int
    handler: str
    trap: bool
    dpl: int
    line: int


@dataclass
class Action:
    """One `request_irq` on a line: the primary handler (None = NULL: the default one that wakes
    the thread) and its flags."""

    handler: str | None
    shared: bool
    dev_id: str | None
    thread: str | None
    oneshot: bool
    line: int


@dataclass
class IrqLine:
    """A Linux IRQ number with handlers bound through request_irq (genirq, L1-L9)."""

    irq: int
    pic: str
    input: int
    actions: list[Action] = field(default_factory=list)

    @property
    def oneshot(self) -> bool:
        return any(a.oneshot for a in self.actions)


@dataclass
class CodeInfo:
    kind: str
    name: str
    body: tuple[ast.Stmt, ...]
    reentrant: bool
    cpu: int
    cpl: int
    line: int
    end_line: int


@dataclass
class ObjectInfo:
    kind: str
    name: str
    init: int
    max: int
    line: int


@dataclass
class CheckSpec:
    name: str
    arg: int | ast.Expr | None
    line: int


@dataclass
class Design:
    """A resolved model: everything the lowering needs, by name."""

    path: str
    source: str
    cpus: int = 1
    pics: dict[str, PicInfo] = field(default_factory=dict)
    apics: dict[str, ApicInfo] = field(default_factory=dict)
    devices: dict[str, DeviceInfo] = field(default_factory=dict)
    gates: dict[int, Gate] = field(default_factory=dict)
    code: dict[str, CodeInfo] = field(default_factory=dict)
    objects: dict[str, ObjectInfo] = field(default_factory=dict)
    checks: list[CheckSpec] = field(default_factory=list)
    explicit_checks: bool = False
    irqs: dict[int, IrqLine] = field(default_factory=dict)  # request_irq bindings by IRQ number


def _unsupported(what: str, path: str, span: ast.Span, milestone: str) -> Diagnostic:
    return Diagnostic("IRQ901", f"{what} is not supported yet", path, span.line, span.column,
                      f"it arrives with {milestone}")


X86 = "the x86 milestone (cascade, APIC, NMI, exceptions, privilege)"
KERNEL = "the Linux kernel milestone (SMP, locks, genirq, deferred work, wake-ups)"


class _Resolver:
    def __init__(self, model: ast.Model) -> None:
        self.m = model
        self.path = model.path
        self.diags: list[Diagnostic] = []
        self.d = Design(model.path, model.source)
        self.names: dict[str, tuple[str, ast.Span]] = {}
        self.cascades: list[tuple[PicInfo, ast.LineRef]] = []
        self.requests: list[ast.RequestIrq] = []
        self.irq_uses: list[tuple[ast.Simple, CodeInfo]] = []  # disable_irq N ... checked after bindings

    def err(self, code: str, msg: str, span: ast.Span, hint: str = "") -> None:
        self.diags.append(Diagnostic(code, msg, self.path, span.line, span.column, hint))

    def unsupported(self, what: str, span: ast.Span, milestone: str) -> None:
        self.diags.append(_unsupported(what, self.path, span, milestone))

    # ---- pass 1: names ------------------------------------------------------------
    def declare(self, name: str, kind: str, span: ast.Span) -> None:
        if name in self.names:
            k, first = self.names[name]
            self.err("IRQ101", f"'{name}' is already declared as a {k} at line {first.line}", span,
                     "each controller, device, object and code context needs its own name")
            return
        self.names[name] = (kind, span)

    def kind_of(self, name: str) -> str | None:
        e = self.names.get(name)
        return e[0] if e else None

    def want(self, ref: ast.Name, kinds: tuple[str, ...], what: str) -> bool:
        k = self.kind_of(ref.name)
        if k is None:
            self.err("IRQ102", f"unknown {what} '{ref.name}'", ref.span, self.name_hint(ref.name, kinds, what))
            return False
        if k not in kinds:
            self.err("IRQ103", f"'{ref.name}' is a {k}, not a {what}", ref.span, self.name_hint(ref.name, kinds, what))
            return False
        return True

    def name_hint(self, name: str, kinds: tuple[str, ...], what: str) -> str:
        """Did you mean one of the declared names of the right kind - else which there are, or how to
        declare one."""
        cands = sorted(n for n, (kk, _) in self.names.items() if kk in kinds and n != name)
        close = did_you_mean(name, cands)
        if close:
            return close
        if cands:
            shown = ", ".join(cands[:8]) + (f" ... ({len(cands) - 8} more)" if len(cands) > 8 else "")
            return f"the declared {what}s: {shown}"
        decl = {"data object": "data NAME", "flag or counter": "flag NAME", "controller": "pic NAME : i8259 { base 0x20 }",
                "device": "device NAME { irq PIC.N edge }"}.get(what, f"{kinds[0]} NAME")
        return f"no {what} is declared: declare it with `{decl}`"

    # ---- driver -----------------------------------------------------------------
    def run(self) -> Design:
        for decl in self.m.decls:
            if isinstance(decl, ast.Pic):
                self.declare(decl.name, "controller", decl.span)
            elif isinstance(decl, ast.Apic):
                self.declare(decl.name, "controller", decl.span)
            elif isinstance(decl, ast.Device):
                self.declare(decl.name, "device", decl.span)
            elif isinstance(decl, ast.Object):
                self.declare(decl.name, decl.kind, decl.span)
            elif isinstance(decl, ast.Code):
                self.declare(decl.name, decl.kind, decl.span)
        for decl in self.m.decls:
            getattr(self, "decl_" + type(decl).__name__.lower())(decl)
        self.bindings()
        self.request_irqs()
        for c in self.d.code.values():
            self.block(c, c.body, ())
        self.irq_statements()
        self.recursion()
        if self.diags:
            self.diags.sort(key=lambda x: (x.line, x.column, x.code))
            raise IrcheckError(self.diags, self.m.source)
        return self.d

    # ---- declarations ---------------------------------------------------------------
    def decl_system(self, d: ast.System) -> None:
        pass

    def decl_cpus(self, d: ast.Cpus) -> None:
        if d.count < 1:
            self.err("IRQ220", "a system needs at least one CPU", d.span)
        elif d.count > MAX_CPUS:
            self.err("IRQ220", f"cpus {d.count}: at most {MAX_CPUS} CPUs are modelled", d.span,
                     "two CPUs show every cross-CPU race; more only multiply the states")
        self.d.cpus = min(max(1, d.count), MAX_CPUS)

    def decl_pic(self, d: ast.Pic) -> None:
        if d.chip != "i8259":
            self.err("IRQ201", f"unknown controller type '{d.chip}'", d.span,
                     did_you_mean(d.chip, ["i8259"]) or "the 8259A is written `pic NAME : i8259 { ... }`")
        base, auto, mask = 0x20 if not self.d.pics else 0x28, False, 0
        mode, rotate, cascade = "fully_nested", False, None
        for s in d.settings:
            if s.key == "base":
                assert isinstance(s.value, int)
                if not 0 <= s.value <= 0xF8 or s.value % 8:
                    self.err("IRQ202", f"base {s.value:#x} must be a multiple of 8 between 0x00 and 0xf8", s.span,
                             "the 8259A takes the top five vector bits from ICW2")
                base = s.value
            elif s.key == "mode":
                modes = ("fully_nested", "special_mask", "special_fully_nested")
                if s.value not in modes:
                    self.err("IRQ203", f"unknown mode '{s.value}'", s.span,
                             did_you_mean(str(s.value), modes) or "modes: " + ", ".join(modes))
                else:
                    mode = str(s.value)
            elif s.key == "eoi":
                if s.value not in ("normal", "auto"):
                    self.err("IRQ203", f"unknown EOI mode '{s.value}'", s.span,
                             did_you_mean(str(s.value), ("normal", "auto")) or "use `eoi normal` or `eoi auto`")
                auto = s.value == "auto"
            elif s.key == "rotate":
                if s.value not in ("off", "automatic"):
                    self.err("IRQ203", f"unknown rotation '{s.value}'", s.span,
                             did_you_mean(str(s.value), ("off", "automatic")) or "use `rotate off` or `rotate automatic`")
                rotate = s.value == "automatic"
            elif s.key == "mask":
                assert isinstance(s.value, int)
                if not 0 <= s.value <= 0xFF:
                    self.err("IRQ204", f"mask {s.value:#x} does not fit the 8-bit IMR", s.span)
                mask = s.value & 0xFF
            elif s.key == "cascade":
                assert isinstance(s.value, ast.LineRef)
                cascade = s.value
        info = PicInfo(d.name, base, auto, mask, False, d.span.line, mode, rotate)
        self.d.pics[d.name] = info
        if cascade is not None:
            self.cascades.append((info, cascade))

    def decl_apic(self, d: ast.Apic) -> None:
        tpr = 0
        for s in d.settings:
            if s.key == "tpr":
                assert isinstance(s.value, int)
                if not 0 <= s.value <= 255:
                    self.err("IRQ204", f"tpr {s.value} does not fit the 8-bit task-priority register", s.span)
                tpr = s.value & 0xFF
        if self.d.apics:
            self.err("IRQ221", "one local APIC per system is modelled (one CPU)", d.span)
        self.d.apics[d.name] = ApicInfo(d.name, tpr, d.span.line)

    def decl_device(self, d: ast.Device) -> None:
        line: ast.LineRef | None = None
        level, raises, shared = False, 1, False
        vector: int | None = None
        nmi = may_drop = False
        have_raises = False
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
                    self.err("IRQ205", f"raises {s.value} is more than {MAX_RAISES}", s.span,
                             "use `raises any` for an unbounded source")
                raises, have_raises = min(s.value, MAX_RAISES), True
            elif s.key == "raises_any":
                raises, have_raises = -1, True
            elif s.key == "shared":
                shared = True
            elif s.key == "vector":
                assert isinstance(s.value, int)
                if not 32 <= s.value <= 255:
                    self.err("IRQ208", f"an APIC source needs a vector in 32..255, not {s.value}", s.span,
                             "vectors 0-31 are the processor's exceptions")
                    return
                vector = s.value
            elif s.key == "nmi":
                nmi = True
            elif s.key == "may_drop":
                may_drop = True
            elif s.key == "on":
                cpu = self.cpu_name(str(s.value), s.span)
        del have_raises
        if nmi:
            if line is not None or vector is not None:
                self.err("IRQ206", f"device '{d.name}' is an NMI source and cannot also have an IRQ line", d.span)
                return
            self.d.devices[d.name] = DeviceInfo(d.name, "", 2, False, None if raises < 0 else raises, False,
                                                d.span.line, "nmi", cpu=cpu)
            return
        if vector is not None:
            if level:
                self.unsupported("level-triggered APIC sources (IOAPIC remote IRR)", d.span, KERNEL)
                return
            self.d.devices[d.name] = DeviceInfo(d.name, "", vector, False, None if raises < 0 else raises, shared,
                                                d.span.line, "apic", may_drop, cpu)
            return
        if line is None:
            self.err("IRQ206", f"device '{d.name}' has no interrupt line", d.span,
                     "add e.g. `irq master.3 edge`")
            return
        if not self.check_line(line):
            return
        self.d.devices[d.name] = DeviceInfo(d.name, line.pic, line.input, level,
                                            None if raises < 0 else raises, shared, d.span.line, "pic", may_drop, cpu)

    def cpu_name(self, name: str, span: ast.Span) -> int | None:
        if not (name.startswith("cpu") and name[3:].isdigit()):
            self.err("IRQ213", f"'{name}' is not a CPU name", span, "CPUs are cpu0, cpu1, ...")
            return None
        return int(name[3:])

    def check_line(self, ref: ast.LineRef) -> bool:
        k = self.kind_of(ref.pic)
        if k == "controller" and ref.pic not in self.d.pics and ref.pic in self.names and \
                any(isinstance(x, ast.Apic) and x.name == ref.pic for x in self.m.decls):
            self.err("IRQ103", f"'{ref.pic}' is a local APIC: its sources are written `irq vector V`", ref.span)
            return False
        if k != "controller":
            cands = [n for n, (kk, _) in self.names.items() if kk == "controller"]
            what = f"'{ref.pic}' is a {k}, not a controller" if k else f"unknown controller '{ref.pic}'"
            self.err("IRQ102" if k is None else "IRQ103", what, ref.span, did_you_mean(ref.pic, cands))
            return False
        if not 0 <= ref.input <= 7:
            self.err("IRQ207", f"an 8259A has inputs 0..7, not {ref.input}", ref.span)
            return False
        return True

    def decl_idt(self, d: ast.Idt) -> None:
        for e in d.entries:
            if not 0 <= e.vector <= 255:
                self.err("IRQ208", f"vector {e.vector} is outside 0..255", e.span)
                continue
            if not 0 <= e.dpl <= 3:
                self.err("IRQ209", f"dpl {e.dpl} is outside 0..3", e.span)
            if e.vector in self.d.gates:
                self.err("IRQ210", f"vector {e.vector:#x} has two gates (first at line {self.d.gates[e.vector].line})",
                         e.span)
                continue
            if self.want(e.handler, ("handler",), "handler"):
                self.d.gates[e.vector] = Gate(e.vector, e.handler.name, e.gate == "trap_gate", e.dpl, e.span.line)

    def decl_requestirq(self, d: ast.RequestIrq) -> None:
        self.requests.append(d)

    def decl_object(self, d: ast.Object) -> None:
        mx = 1 if d.kind == "flag" else (d.max if d.max is not None else DEFAULT_COUNTER_MAX)
        if d.kind == "counter":
            if not 1 <= mx <= MAX_COUNTER:
                self.err("IRQ211", f"counter max {mx} must be between 1 and {MAX_COUNTER}", d.span)
                mx = 1
            if not 0 <= d.init <= mx:
                self.err("IRQ211", f"counter starts at {d.init}, outside 0..{mx}", d.span)
        self.d.objects[d.name] = ObjectInfo(d.kind, d.name, min(d.init, mx), mx, d.span.line)

    def decl_code(self, d: ast.Code) -> None:
        reentrant = False
        cpu, cpl = 0, 0
        for s in d.options:
            if s.key in ("reentrant", "nonreentrant"):
                if d.kind not in ("handler", "function"):
                    self.err("IRQ301", f"a {d.kind} is a single context; `reentrant` applies to handlers and "
                             "functions", s.span)
                reentrant = s.key == "reentrant"
            elif s.key == "on":
                if d.kind not in TASK_KINDS:
                    self.err("IRQ301", f"`on CPU` applies to threads, irq_threads and work, not to a {d.kind}",
                             s.span, "softirqs and tasklets run on the CPU that raised them")
                k = self.cpu_name(str(s.value), s.span)
                cpu = k if k is not None else 0
            elif s.key == "cpl":
                if d.kind != "thread":
                    self.err("IRQ301", f"`cpl` applies to threads, not to a {d.kind}", s.span,
                             "handlers run at CPL 0")
                if s.value not in (0, 3):
                    self.err("IRQ214", f"cpl {s.value}: Linux and this checker use ring 0 or ring 3", s.span)
                cpl = int(s.value) if isinstance(s.value, int) else 0
        self.d.code[d.name] = CodeInfo(d.kind, d.name, d.body, reentrant, cpu, cpl, d.span.line, d.end.line)

    def decl_check(self, d: ast.Check) -> None:
        self.d.explicit_checks = True
        for item in d.items:
            if item.name not in ALL_CHECKS:
                self.err("IRQ401", f"unknown check '{item.name}'", item.span,
                         did_you_mean(item.name, ALL_CHECKS) or "checks: " + ", ".join(ALL_CHECKS))
                continue
            if item.name == "max_nesting":
                if not isinstance(item.arg, int):
                    self.err("IRQ402", "max_nesting needs a depth", item.span, "e.g. `check max_nesting 2`")
                    continue
            elif item.name == "invariant":
                self.expr(item.arg, None)  # type: ignore[arg-type]
            elif item.arg is not None:
                self.err("IRQ403", f"check {item.name} takes no argument", item.span)
            self.d.checks.append(CheckSpec(item.name, item.arg, item.span.line))

    # ---- after all declarations ------------------------------------------------------
    def bindings(self) -> None:
        taken: dict[tuple[str, int], str] = {}
        for slave, ref in self.cascades:
            if not self.check_line(ref):
                continue
            master = self.d.pics.get(ref.pic)
            if master is None:
                continue
            if master is slave:
                self.err("IRQ218", f"controller '{slave.name}' cannot cascade into itself", ref.span)
            elif master.cascade is not None:
                self.err("IRQ218", f"'{master.name}' is itself a slave; one level of cascade is modelled", ref.span)
            elif (master.name, ref.input) in taken:
                self.err("IRQ218", f"{ref} already has slave '{taken[(master.name, ref.input)]}'", ref.span)
            else:
                slave.cascade = (master.name, ref.input)
                taken[(master.name, ref.input)] = slave.name
        for p in self.d.pics.values():
            if p.cascade and any(q.cascade and q.cascade[0] == p.name for q in self.d.pics.values()):
                self.diags.append(Diagnostic("IRQ218", f"'{p.name}' is both a slave and a master", self.path,
                                             p.line, 1))
        bound: dict[str, int] = {}
        for g in sorted(self.d.gates.values(), key=lambda g: g.line):
            if g.handler in bound:
                self.diags.append(Diagnostic("IRQ215", f"handler '{g.handler}' is bound to vectors {bound[g.handler]:#x} "
                                             f"and {g.vector:#x}", self.path, g.line, 1,
                                             "give each vector its own handler"))
            bound[g.handler] = g.vector
        seen_lines: dict[tuple[str, int], DeviceInfo] = {}
        requested = {self.irq_line(r.irq) for r in self.requests}
        for dev in self.d.devices.values():
            if dev.kind == "apic":
                if not self.d.apics:
                    self.diags.append(Diagnostic("IRQ219", f"device '{dev.name}' names a vector but there is no "
                                                 "`apic` declaration", self.path, dev.line, 1,
                                                 "add `apic lapic { tpr 0 }`"))
                if dev.input not in self.d.gates:
                    self.diags.append(Diagnostic("IRQ217", f"device '{dev.name}' raises vector {dev.input:#x}, "
                                                 "which has no gate", self.path, dev.line, 1,
                                                 f"add `idt {{ {dev.input:#x} -> HANDLER interrupt_gate dpl 0 }}`"))
                if dev.may_drop:
                    self.diags.append(Diagnostic("IRQ219", "may_drop (spurious IRQ7/15) is an 8259A behaviour",
                                                 self.path, dev.line, 1))
                continue
            if dev.kind == "nmi":
                continue
            pic = self.d.pics.get(dev.pic)
            if pic is None:
                continue
            if any(q.cascade == (pic.name, dev.input) for q in self.d.pics.values()):
                self.diags.append(Diagnostic("IRQ216", f"{dev.pic}.{dev.input} carries the slave's INT; a device "
                                             "cannot share it", self.path, dev.line, 1))
                continue
            if dev.may_drop and pic.base + 7 not in self.d.gates:
                self.diags.append(Diagnostic("IRQ217", f"device '{dev.name}' may_drop: its spurious interrupts "
                                             f"arrive at vector {pic.base + 7:#x} (IR7), which has no gate",
                                             self.path, dev.line, 1))
            key = (dev.pic, dev.input)
            other = seen_lines.get(key)
            if other and not (other.shared and dev.shared):
                self.diags.append(Diagnostic("IRQ216", f"line {dev.pic}.{dev.input} is used by '{other.name}' and "
                                             f"'{dev.name}'", self.path, dev.line, 1, "mark both devices `shared`"))
            elif other and other.level != dev.level:
                self.diags.append(Diagnostic("IRQ216", f"shared line {dev.pic}.{dev.input} mixes edge and level",
                                             self.path, dev.line, 1))
            seen_lines[key] = dev
            vec = pic.base + dev.input
            if vec not in self.d.gates and (dev.pic, dev.input) not in requested:
                self.diags.append(Diagnostic("IRQ217", f"device '{dev.name}' raises {dev.pic}.{dev.input} = vector "
                                             f"{vec:#x}, which has no gate", self.path, dev.line, 1,
                                             f"add `idt {{ {vec:#x} -> HANDLER interrupt_gate dpl 0 }}`"))
        for c in self.d.code.values():
            if c.cpu >= self.d.cpus:
                self.diags.append(Diagnostic("IRQ213", f"{c.kind} '{c.name}' is on cpu{c.cpu}, but the system has "
                                             f"{self.d.cpus} CPU(s)", self.path, c.line, 1))
        for dev in self.d.devices.values():
            if dev.cpu is not None and dev.cpu >= self.d.cpus:
                self.diags.append(Diagnostic("IRQ213", f"device '{dev.name}' is routed to cpu{dev.cpu}, but the "
                                             f"system has {self.d.cpus} CPU(s)", self.path, dev.line, 1))
            elif dev.kind in ("apic", "nmi") and dev.cpu not in (None, 0):
                self.diags.append(Diagnostic("IRQ213", f"device '{dev.name}': one local APIC (cpu0's) is modelled; "
                                             "its sources and NMIs go to cpu0", self.path, dev.line, 1))

    # ---- request_irq (L7) --------------------------------------------------------------
    def irq_line(self, n: int) -> tuple[str, int] | None:
        """Linux IRQ number -> 8259A input: 0-7 the master's, 8-15 the slave's."""
        masters = [p for p in self.d.pics.values() if p.cascade is None]
        if not masters:
            return None
        master = masters[0]
        if 0 <= n <= 7:
            return master.name, n
        slaves = [p for p in self.d.pics.values() if p.cascade and p.cascade[0] == master.name]
        if 8 <= n <= 15 and slaves:
            return slaves[0].name, n - 8
        return None

    def request_irqs(self) -> None:
        used_handlers: dict[str, int] = {}
        for r in self.requests:
            opts = {s.key: s for s in r.options}
            shared = "shared" in opts
            dev_id = opts["dev_id"].value if "dev_id" in opts else None
            thread = opts["thread"].value if "thread" in opts else None
            oneshot = "oneshot" in opts
            handler: str | None = r.handler.name
            ok = True
            if handler == "NULL":
                handler = None
                if thread is None:
                    self.err("IRQ504", f"request_irq {r.irq}: -EINVAL, no handler and no thread", r.span,
                             "name a handler, or add `thread T oneshot`")
                    ok = False
                elif not oneshot:
                    self.err("IRQ503", f"request_irq {r.irq}: -EINVAL, a threaded IRQ with no primary handler "
                             f"({thread}) needs IRQF_ONESHOT", r.span,
                             "add `oneshot`: the line must stay masked until the thread has run")
                    ok = False
            elif not self.want(r.handler, ("handler",), "handler"):
                ok = False
            if isinstance(dev_id, str) and not self.want(ast.Name(dev_id, opts["dev_id"].span), ("device",),
                                                         "device"):
                ok = False
            if isinstance(thread, str) and not self.want(ast.Name(thread, opts["thread"].span), ("irq_thread",),
                                                         "irq_thread"):
                ok = False
            if oneshot and thread is None:
                self.err("IRQ503", f"request_irq {r.irq}: `oneshot` needs a `thread`", opts["oneshot"].span)
                ok = False
            if shared and dev_id is None:
                self.err("IRQ502", f"request_irq {r.irq}: -EINVAL, a shared IRQ needs a dev_id", r.span,
                         "add `dev_id DEVICE`: free_irq and the handler use it to tell the sharers apart")
                ok = False
            where = self.irq_line(r.irq)
            if where is None:
                self.err("IRQ501", f"request_irq {r.irq}: no 8259A input is IRQ {r.irq}", r.span,
                         "IRQ 0-7 are the master's inputs, 8-15 the slave's")
                continue
            if handler is not None:
                if handler in used_handlers:
                    self.err("IRQ215", f"handler '{handler}' is already bound by request_irq at line "
                             f"{used_handlers[handler]}", r.span)
                    ok = False
                if any(g.handler == handler for g in self.d.gates.values()):
                    self.err("IRQ215", f"handler '{handler}' is both an IDT gate and a request_irq handler", r.span,
                             "a genirq handler is entered through the flow handler, not its own gate")
                    ok = False
                used_handlers[handler] = r.span.line
            pic, inp = where
            vec = self.d.pics[pic].base + inp
            if vec in self.d.gates:
                self.err("IRQ505", f"request_irq {r.irq}: vector {vec:#x} already has an IDT gate (line "
                         f"{self.d.gates[vec].line})", r.span, "bind the line either with request_irq or in `idt`")
                ok = False
            line = self.d.irqs.get(r.irq)
            if line is not None and line.actions:
                first = line.actions[0]
                if not (shared and all(a.shared for a in line.actions)):
                    self.err("IRQ501", f"request_irq {r.irq}: -EBUSY, IRQ {r.irq} already has a handler (line "
                             f"{first.line}) and they are not both IRQF_SHARED", r.span,
                             "mark every request_irq of the line `shared` with its own dev_id")
                    ok = False
                elif any(a.oneshot != oneshot for a in line.actions):
                    self.err("IRQ501", f"request_irq {r.irq}: -EBUSY, sharers of IRQ {r.irq} disagree on "
                             "IRQF_ONESHOT", r.span)
                    ok = False
            if not ok:
                continue
            if line is None:
                line = self.d.irqs[r.irq] = IrqLine(r.irq, pic, inp)
                self.d.pics[pic].masked_ever = True  # the flow handler masks and unmasks the line
            line.actions.append(Action(handler, shared, dev_id if isinstance(dev_id, str) else None,
                                       thread if isinstance(thread, str) else None, oneshot, r.span.line))
        for irq in self.d.irqs.values():
            devs = [dv for dv in self.d.devices.values() if dv.kind == "pic" and dv.pic == irq.pic
                    and dv.input == irq.input]
            for a in irq.actions:
                if a.dev_id is not None and not any(dv.name == a.dev_id for dv in devs):
                    self.err("IRQ506", f"request_irq {irq.irq} dev_id {a.dev_id}: that device is not on IRQ "
                             f"{irq.irq}", ast.Span(a.line, 1))
        threads = [a.thread for irq in self.d.irqs.values() for a in irq.actions if a.thread]
        named = {s.value for r in self.requests for s in r.options if s.key == "thread"}  # even refused ones
        for t in set(threads):
            if threads.count(t) > 1:
                self.err("IRQ507", f"irq_thread '{t}' serves two request_irq bindings", ast.Span(self.d.code[t].line, 1)
                         if t in self.d.code else ast.Span(0, 0), "give each its own thread")
        for c in self.d.code.values():
            if c.kind == "irq_thread" and c.name not in named:
                self.err("IRQ508", f"irq_thread '{c.name}' is not bound by any `request_irq ... thread {c.name}`",
                         ast.Span(c.line, 1))

    def action_of(self, handler: str) -> tuple[IrqLine, Action] | None:
        for irq in self.d.irqs.values():
            for a in irq.actions:
                if a.handler == handler:
                    return irq, a
        return None

    def irq_statements(self) -> None:
        for st, _ctx in self.irq_uses:
            assert isinstance(st.arg, ast.Num)
            if st.arg.value not in self.d.irqs:
                self.err("IRQ509", f"{st.op} {st.arg.value}: IRQ {st.arg.value} has no request_irq", st.span,
                         "genirq calls work on lines bound with `request_irq`")

    # ---- code ---------------------------------------------------------------------
    def block(self, ctx: CodeInfo, body: tuple[ast.Stmt, ...], loops: tuple[str, ...]) -> None:
        for st in body:
            if isinstance(st, ast.Simple):
                self.simple(ctx, st)
            elif isinstance(st, ast.If):
                self.expr(st.cond, ctx)
                self.block(ctx, st.then, loops)
                self.block(ctx, st.orelse, loops)
            elif isinstance(st, ast.While):
                self.expr(st.cond, ctx)
                self.block(ctx, st.body, loops)
            elif isinstance(st, ast.Loop):
                self.block(ctx, st.body, loops)
            elif isinstance(st, ast.Wait):
                self.want(st.queue, ("waitqueue",), "waitqueue")
                self.expr(st.cond, ctx)

    def simple(self, ctx: CodeInfo, st: ast.Simple) -> None:
        op = st.op
        arg = st.arg
        if op not in BARE_STATEMENTS:
            self.kernel_simple(ctx, st)
            return
        if op == "iret" and ctx.kind != "handler":
            self.err("IRQ303", f"`iret` outside a handler (in {ctx.kind} '{ctx.name}')", st.span,
                     "a thread returns from its body; a function returns at its end")
        elif op in ("read", "write"):
            assert isinstance(arg, ast.Name)
            self.want(arg, ("data", "flag", "counter"), "data object")
        elif op in ("set", "clear"):
            assert isinstance(arg, ast.Name)
            self.want(arg, ("flag",), "flag")
        elif op in ("inc", "dec"):
            assert isinstance(arg, ast.Name)
            self.want(arg, ("counter",), "counter")
        elif op == "call":
            assert isinstance(arg, ast.Name)
            self.want(arg, ("function",), "function")
        elif op == "ack":
            assert isinstance(arg, ast.Name)
            self.want(arg, ("device",), "device")
        elif op in ("mask", "unmask"):
            assert isinstance(arg, ast.LineRef)
            if self.check_line(arg) and arg.pic in self.d.pics:
                self.d.pics[arg.pic].masked_ever = True
        elif op in ("int", "fault"):
            assert isinstance(arg, ast.Num)
            if op == "int" and not 0 <= arg.value <= 255:
                self.err("IRQ208", f"int {arg.value}: vectors are 0..255", st.span)
            if op == "fault" and not 0 <= arg.value <= 31:
                self.err("IRQ208", f"fault {arg.value}: exceptions are vectors 0..31", st.span,
                         "`int n` raises a software interrupt on any vector")
        elif op == "eoi":
            if isinstance(arg, ast.LineRef):
                self.check_line(arg)
            elif isinstance(arg, ast.Name):
                self.want(arg, ("controller",), "controller")
            elif ctx.kind != "handler" and len(self.d.pics) + len(self.d.apics) != 1:
                self.err("IRQ304", f"plain `eoi` in {ctx.kind} '{ctx.name}': which controller?", st.span,
                         "outside a handler write `eoi master` or `eoi master.3`")

    def kernel_simple(self, ctx: CodeInfo, st: ast.Simple) -> None:
        op, arg = st.op, st.arg
        kinds = {"mutex_lock": "mutex", "mutex_unlock": "mutex", "wake_up": "waitqueue", "sleep_on": "waitqueue",
                 "raise_softirq": "softirq", "tasklet_schedule": "tasklet", "queue_work": "work"}
        if op in SPIN_OPS or op in SPIN_OPS.values():
            assert isinstance(arg, ast.Name)
            self.want(arg, ("spinlock",), "spinlock")
        elif op in kinds:
            assert isinstance(arg, ast.Name)
            self.want(arg, (kinds[op],), kinds[op])
        elif op in IRQ_OPS:
            self.irq_uses.append((st, ctx))
        elif op == "return":
            assert isinstance(arg, ast.Name)
            if arg.name not in ("wake_thread", "none", "handled"):
                self.err("IRQ310", f"`return {arg.name}`: a handler returns wake_thread, none or handled", st.span,
                         did_you_mean(arg.name, ("wake_thread", "none", "handled")))
            elif ctx.kind != "handler" or self.action_of(ctx.name) is None:
                self.err("IRQ307", f"`return {arg.name}` outside a request_irq handler (in {ctx.kind} '{ctx.name}')",
                         st.span, "irqreturn_t values are for handlers bound with request_irq")
            elif arg.name == "wake_thread":
                found = self.action_of(ctx.name)
                assert found is not None
                if found[1].thread is None:
                    self.err("IRQ308", f"`return wake_thread` in {ctx.name}, but its request_irq has no thread",
                             st.span, f"add `thread T` to request_irq {found[0].irq}")

    def expr(self, e: ast.Expr, ctx: CodeInfo | None) -> None:
        if isinstance(e, ast.Name):
            self.want(e, ("flag", "counter"), "flag or counter")
        elif isinstance(e, ast.InService):
            if ctx is None or ctx.kind != "handler":
                self.err("IRQ305", "`in_service` is only meaningful inside a handler", e.span)
        elif isinstance(e, ast.Not):
            self.expr(e.arg, ctx)
        elif isinstance(e, ast.BoolOp | ast.Arith):
            for a in e.args:
                self.expr(a, ctx)
        elif isinstance(e, ast.Compare):
            self.expr(e.left, ctx)
            self.expr(e.right, ctx)

    def recursion(self) -> None:
        calls: dict[str, set[str]] = {}
        for c in self.d.code.values():
            calls[c.name] = {st.arg.name for st in ast.walk(c.body)
                             if isinstance(st, ast.Simple) and st.op == "call" and isinstance(st.arg, ast.Name)}
        state: dict[str, int] = {}  # 1: on the current call path, 2: done

        # depth-first with an explicit stack (a chain of thousands of calls must not hit Python's
        # recursion limit); the same visiting order and diagnostics as the recursive walk
        for root in sorted(calls):
            if state.get(root) is not None:
                continue
            path: list[str] = [root]
            pos: dict[str, int] = {root: 0}
            state[root] = 1
            stack: list[tuple[str, Iterator[str]]] = [(root, iter(sorted(calls[root])))]
            while stack:
                n, todo = stack[-1]
                m = next(todo, None)
                if m is None:
                    stack.pop()
                    path.pop()
                    del pos[n]
                    state[n] = 2
                    continue
                if state.get(m) == 1:
                    cyc = path[pos[m]:] + [m] if m in pos else [n, m]
                    c = self.d.code[m]
                    self.diags.append(Diagnostic("IRQ306", "recursive calls: " + " -> ".join(cyc), self.path,
                                                 c.line, 1, "ircheck inlines calls; recursion has no bound"))
                elif m in calls and state.get(m) is None:
                    state[m] = 1
                    pos[m] = len(path)
                    path.append(m)
                    stack.append((m, iter(sorted(calls[m]))))


def resolve(model: ast.Model) -> Design:
    """Check a parsed model; raises IrcheckError listing every problem found."""
    return _Resolver(model).run()
