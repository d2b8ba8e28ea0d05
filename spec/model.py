"""What every rule of the lowering reads: the design and the variables laid out for it, as values.

`Model(design, checks, builder)` creates every variable, in the order of the state layout
(controllers, device budgets, NMI, objects, shutdown, kernel objects, then per CPU: see
variables.py), and keeps their indices, the incarnations and their location numbering, the tasks
and the frame depth bound. After `__init__` nothing here changes; the rules (frames.py,
delivery.py, prims/, properties.py) read it and add transitions to `builder` only.
It also answers the questions many rules ask: is a check enabled, which controller an
incarnation came through, what a condition of the model means as an expression.
"""

from __future__ import annotations

from collections.abc import Callable

from ircheck.grammar import ast
from ircheck.spec.build import Builder
from ircheck.spec.cfg import Body, Node
from ircheck.spec.context import CpuState, Incarnation, Layout, Task
from ircheck.spec.controllers.apic import LocalApic
from ircheck.spec.controllers.apic_ctl import ApicController
from ircheck.spec.controllers.ioapic import IoApicController
from ircheck.spec.controllers.nmi import NmiController
from ircheck.spec.controllers.pic8259 import Pic8259
from ircheck.spec.controllers.pic_bank import PicBank, wired_or_sharers
from ircheck.spec.controllers.protocol import Controller
from ircheck.spec.design import (
    KICK_CAP,
    PROBE_STATES,
    CheckSpec,
    Design,
    IrqLine,
    counted_irq,
    kstat_cap,
    message_sources,
    probe_lines,
)
from ircheck.spec.incarnations import depth_bound, discover, make_tasks, number
from ircheck.spec.interrupts import rows
from ircheck.spec.ts import FALSE, TRUE, And, Bin, C, Eq, Expr, In, Ite, Not, Or, V
from ircheck.spec.variables import KernelVars, make_cpu, object_vars, owner_names
from ircheck.spec.x86 import GateInfo

At = Callable[[set[int], set[int]], Expr]  # at(task locations, frame locations) -> "the slot is there"


def make_pics(d: Design, b: Builder) -> dict[str, Pic8259]:
    pics: dict[str, Pic8259] = {}
    for p in d.pics.values():
        irr = b.var(f"{p.name}.IRR", 256, 0, "bits")
        isr = None if p.auto_eoi else b.var(f"{p.name}.ISR", 256, 0, "bits")
        imr = b.var(f"{p.name}.IMR", 256, p.mask, "bits") if p.masked_ever else None
        prio = b.var(f"{p.name}.priority", 8, 0) if p.rotate else None
        pics[p.name] = Pic8259(p, irr, isr, imr, prio)
    return pics


def make_apic(d: Design, b: Builder) -> LocalApic | None:
    if not d.apics:
        return None
    vecs = sorted({dev.input for dev in d.devices.values() if dev.kind == "apic"})
    info = next(iter(d.apics.values()))
    n = max(len(vecs), 1)
    bits = tuple(f"{v:#x}" for v in vecs)
    return LocalApic(info, vecs, b.var(f"{info.name}.IRR", 1 << n, 0, "bits", bits, width=n),
                     b.var(f"{info.name}.ISR", 1 << n, 0, "bits", bits, width=n))


class Model:
    def __init__(self, d: Design, checks: list[CheckSpec], b: Builder) -> None:
        self.d = d
        self.b = b
        self.checks = checks
        self.layout = Layout(path=d.path, rows=rows(d))
        self.gates = {v: GateInfo(g.handler, g.trap, g.dpl) for v, g in d.gates.items()}
        self.gate_line = {v: g.line for v, g in d.gates.items()}
        self.pics = make_pics(d, b)
        self.apic = make_apic(d, b)
        sharers = wired_or_sharers(d)
        lines = sorted({(dev.pic, dev.input) for dev in sharers})
        self.bank = PicBank(d, self.pics, {dev.name: b.var(f"{dev.name}.asserting", 2, 0, "bool") for dev in sharers},
                            {ln: b.var(f"{ln[0]}.{ln[1]}.drivers", 1 + sum((dev.pic, dev.input) == ln for dev in sharers))
                             for ln in lines})
        self.controllers: list[Controller] = [self.bank]
        if self.apic is not None:
            self.controllers.append(ApicController(d, self.apic))
        if message_sources(d):
            self.controllers.append(IoApicController(d, b, self.bank.asserting, self.bank.drivers))
        self.left: dict[str, int | None] = {}
        for dev in d.devices.values():
            if dev.on_kick:  # the kicks not yet answered: a raise takes one, `kick` adds one (KICK_CAP)
                self.left[dev.name] = b.var(f"{dev.name}.kicks", KICK_CAP + 1, 0)
            else:
                self.left[dev.name] = (None if dev.raises is None else
                                       b.var(f"{dev.name}.raises_left", dev.raises + 1, dev.raises))
        if any(dev.kind == "nmi" for dev in d.devices.values()):
            self.controllers.append(NmiController(d, b, self.gates))
        self.obj = object_vars(d, b)
        found = discover(d, self.gates, self.pics, self.controllers)
        self.incs = found.incs
        self.gateless = found.gateless
        self.task_bodies = found.task_bodies
        if found.may_halt:
            b.halted = b.var("cpu0.shutdown", 2, 0, "bool")
        self.frame_owner, self.loc_names = number(self.incs, d.one_pic)
        self.maxdepth = depth_bound(d, self.incs, self.task_bodies)
        self.tasks = make_tasks(self.task_bodies)
        kv = KernelVars(d, b, self.tasks, self.incs, self.maxdepth)
        self.lock, self.lock_kind, self.desc = kv.lock, kv.lock_kind, kv.desc
        self.softirqs, self.tasklet, self.rwlock, self.seq = kv.softirqs, kv.tasklet, kv.rwlock, kv.seq
        self.completion = kv.completion  # R6: per completion (done, erased or None)
        self.timer = kv.timer  # R7: per timer/hrtimer (pending, running), each 0 or 1 + a CPU
        self.cpus: list[CpuState] = [make_cpu(d, b, c, self.tasks, self.incs, self.softirqs, self.maxdepth,
                                              self.loc_names, self.frame_owner, self.layout)
                                     for c in range(d.cpus)]
        # C1: the counts an expression reads, per (IRQ, CPU), last in the state (models that read none
        # keep their layout)
        self.kstat: dict[tuple[int, int], int] = {
            (n, c): b.var(f"irqs({n}, cpu{c})", kstat_cap(d, n) + 1, 0) for n in sorted(d.counted) for c in range(d.cpus)}
        # C2: per probed line, IRQS_AUTODETECT and IRQS_WAITING as one value (PROBE_STATES)
        self.probe: dict[int, int] = {n: b.var(f"irq{n}.probe", 3, 0, "enum", PROBE_STATES) for n in probe_lines(d)}

    # -- questions
    def enabled(self, check: str) -> bool:
        return any(c.name == check for c in self.checks)

    def controller_of(self, inc: Incarnation) -> Controller | None:
        """The controller `inc` is entered through (None: only `int n`/`fault v`/NMI chains, softirqs)."""
        return next((c for c in self.controllers if c.owns(inc)), None)

    def line_controller(self, irq: IrqLine) -> Controller:
        """The controller whose input a request_irq line is (its chip operations serve genirq)."""
        return next(c for c in self.controllers if irq.pic in c.eoi_chips())

    def inc_for(self, vector: int) -> Incarnation:
        for inc in self.incs:
            if inc.vector == vector and not inc.spurious:
                return inc
        raise AssertionError(f"no incarnation for vector {vector}")

    def frame_owner_base(self, cpu: int) -> int:
        """The lock-owner number of the frame at depth 1 on `cpu` (depth k: base + k - 1)."""
        return len(self.tasks) + 1 + cpu * self.maxdepth

    def top_owner(self, cpu: CpuState) -> Expr:
        """The lock-owner number of the frame on top of `cpu`: base + depth - 1, written as a choice
        over depth 1..maxdepth on a multi-CPU design (depth 0 gives the deepest frame's number; a
        frame never runs at depth 0). Not `base - 1 + depth`: at depth 0 that names a task (or another CPU's frame), which a
        CPU swap does not map onto the other CPU's expression, so checker/symmetry.py could not
        verify the swap of two CPUs."""
        base = self.frame_owner_base(cpu.index)
        if self.d.cpus == 1:  # nothing to swap: the plain sum (smaller for the Z3 and SPIN engines)
            return Bin("+", C(base - 1), V(cpu.depth))
        out: Expr = C(base + self.maxdepth - 1)
        for k in range(self.maxdepth - 1, 0, -1):
            out = Ite(Eq(V(cpu.depth), C(k)), C(base + k - 1), out)
        return out

    def owner_names(self) -> tuple[str, ...]:
        return owner_names(self.d, self.tasks, self.maxdepth)

    @staticmethod
    def locs(body: Body, pred: Callable[[Node], bool]) -> set[int]:
        return {i for i, n in enumerate(body.nodes) if pred(n)}

    def frame_locs(self, pred: Callable[[Node], bool]) -> set[int]:
        return {inc.base + i for inc in self.incs for i, n in enumerate(inc.body.nodes) if pred(n)}

    def task_named(self, name: str | None) -> Task | None:
        return next((t for t in self.tasks if t.code.name == name), None)

    def contexts(self) -> list[tuple[int, At, str, int | None]]:
        """Every context slot: (owner number, at(task-locs, frame-locs) -> Expr, name, cpu)."""
        out: list[tuple[int, At, str, int | None]] = []
        for t in self.tasks:
            def at_task(tl: set[int], _fl: set[int], t: Task = t) -> Expr:
                return In(V(t.pc), tl)
            out.append((t.ident, at_task, t.label, t.cpu))
        for cpu in self.cpus:
            base = self.frame_owner_base(cpu.index)
            for k in range(1, self.maxdepth + 1):
                def at(_tl: set[int], fl: set[int], cpu: CpuState = cpu, k: int = k) -> Expr:
                    top = And(Eq(V(cpu.depth), C(k)), In(V(cpu.pc), fl))
                    if k - 1 < len(cpu.saved_pc):
                        return Or(top, And(Bin(">", V(cpu.depth), C(k)), In(V(cpu.saved_pc[k - 1]), fl)))
                    return top
                out.append((base + k - 1, at, f"cpu{cpu.index} frame {k}", cpu.index))
        return out

    # -- expressions of the model
    def cond(self, e: ast.Expr, inc: Incarnation | None, cpu: int = 0) -> Expr:
        """`e` as an expression, in a frame entered through `inc` (None: a task or an invariant) on `cpu`."""
        if isinstance(e, ast.Name):
            o = self.d.objects[e.name]
            v = V(self.obj[e.name])
            return v if o.kind == "flag" else Not(Eq(v, C(0)))
        if isinstance(e, ast.Not):
            return Not(self.cond(e.arg, inc, cpu))
        if isinstance(e, ast.BoolOp):
            parts = [self.cond(a, inc, cpu) for a in e.args]
            return And(*parts) if e.op == "and" else Or(*parts)
        if isinstance(e, ast.Compare):
            return Bin(e.op, self.value(e.left, inc, cpu), self.value(e.right, inc, cpu))
        if isinstance(e, ast.InService):
            assert inc is not None
            ctrl = self.controller_of(inc)
            return FALSE if ctrl is None else ctrl.in_service(inc, cpu)
        if isinstance(e, ast.Bool):
            return TRUE if e.value else FALSE
        return Not(Eq(self.value(e, inc, cpu), C(0)))

    def irq_count(self, e: ast.IrqCount) -> Expr:
        """`irqs(X)`: the sum of IRQ X's per-CPU counts; `irqs(X, cpuK)`: cpuK's (C1)."""
        n = counted_irq(self.d, e)
        assert n is not None
        cpus = range(self.d.cpus) if e.cpu is None else [int(e.cpu.name[3:])]
        out: Expr = V(self.kstat[(n, cpus[0])])
        for k in cpus[1:]:
            out = Bin("+", out, V(self.kstat[(n, k)]))
        return out

    def value(self, e: ast.Expr, inc: Incarnation | None, cpu: int = 0) -> Expr:
        if isinstance(e, ast.Name):
            return V(self.obj[e.name])
        if isinstance(e, ast.Num):
            return C(e.value)
        if isinstance(e, ast.Bool):
            return C(int(e.value))
        if isinstance(e, ast.IrqCount):
            return self.irq_count(e)
        if isinstance(e, ast.Arith):
            out = self.value(e.args[0], inc, cpu)
            for op, a in zip(e.ops, e.args[1:], strict=True):
                out = Bin(op, out, self.value(a, inc, cpu))
            return out
        return self.cond(e, inc, cpu)
