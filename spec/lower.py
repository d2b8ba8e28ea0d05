"""The lowering: a resolved `Design` -> `TransitionSystem`.

This is the only module that knows what an interrupt is. Each rule of
SEMANTICS.md becomes guarded commands over small integer variables:

* per 8259A (controllers.py): IRR, ISR (absent under auto-EOI), IMR (a
  constant unless a statement masks a line), the rotating priority (P1-P12);
  a level line's state is its IRR bit, which INTA does not clear and `ack` does;
  a slave's INT is an expression that drives its master's cascade input;
* the local APIC: IRR and ISR bits for the vectors in use (X9);
* NMI: a latched request and the blocking that lasts until IRET (X7);
* per device: how many raises are left (absent for `raises any`);
* per CPU: IF, the nesting depth, the pc of the running handler frame, and
  for each deeper frame the interrupted handler's pc and the IF that IRET
  restores (X1, X2); `cur`, the running thread, when a CPU has several;
* per thread: its pc (threads run when no handler frame is active);
* flags and counters as declared; `halted` after a triple fault.

Handlers are compiled once per way in (an "incarnation": vector plus
whether it was entered spuriously), so a frame's pc says which interrupt it
serves. Synchronous events (`int n`, `fault v`, NMI delivery) follow the
static chains of x86.py (#GP, #NP, #DF, triple fault). Unused slots are kept
at 0 so that equal situations are equal states.
"""

from __future__ import annotations

from collections.abc import Callable

from ircheck.grammar import ast
from ircheck.grammar.diagnostics import Diagnostic, IrcheckError, did_you_mean
from ircheck.grammar.printer import expr_text
from ircheck.spec.cfg import Body, Compiler, Node
from ircheck.spec.checks import ALL_CHECKS, DEFAULT_CHECKS, PARAM_CHECKS
from ircheck.spec.context import CpuLayout, CpuState, Incarnation, Layout, Task
from ircheck.spec.controllers import LocalApic, Pic8259
from ircheck.spec.kernel import Context, KernelLowering
from ircheck.spec.resolve import (
    SUPPORTED_CHECKS,
    CheckSpec,
    CodeInfo,
    Design,
    DeviceInfo,
)
from ircheck.spec.ts import (
    BOUND,
    FALSE,
    TRUE,
    And,
    Bin,
    Bit,
    C,
    Eq,
    Expr,
    In,
    Ite,
    Label,
    Not,
    Or,
    Request,
    StateProp,
    Transition,
    TransitionSystem,
    V,
    Var,
    Wait,
)
from ircheck.spec.x86 import Delivery, GateInfo, deliver_exception, deliver_int, name

__all__ = ["CpuLayout", "Incarnation", "Layout", "lower"]

NEST_CAP = 8  # handler frames per CPU when nothing in the model bounds nesting (raises any, level lines)


class _Lowering(KernelLowering):
    def __init__(self, design: Design, checks: list[str] | None,
                 tick: Callable[[], None] | None = None) -> None:
        self.d = design
        self.tick = tick  # called per transition added: the caller's --timeout/memory watch may stop here
        self.vars: list[Var] = []
        self.trans: list[Transition] = []
        self.props: list[StateProp] = []
        self.requests: list[Request] = []
        self.waits: list[Wait] = []
        self.diags: list[Diagnostic] = []
        self.checks = self.select_checks(checks)
        self.layout = Layout(path=design.path)
        self.uses_counters = False
        self.halted: int | None = None
        self.gates = {v: GateInfo(g.handler, g.trap, g.dpl) for v, g in design.gates.items()}
        self.gate_line = {v: g.line for v, g in design.gates.items()}

    # -- checks
    def select_checks(self, cli: list[str] | None) -> list[CheckSpec]:
        specs = self.d.checks if self.d.explicit_checks else [CheckSpec(c, None, 0) for c in DEFAULT_CHECKS]
        if cli is None:
            return specs
        out: list[CheckSpec] = []
        for nm in cli:
            if nm not in ALL_CHECKS:
                self.diags.append(Diagnostic("IRQ401", f"unknown check '{nm}' in --check", self.d.path, 0, 0,
                                             did_you_mean(nm, ALL_CHECKS)))
            elif nm not in SUPPORTED_CHECKS:
                self.diags.append(Diagnostic("IRQ901", f"check {nm} is not supported yet", self.d.path))
            elif nm in PARAM_CHECKS:
                mine = [c for c in self.d.checks if c.name == nm]
                if not mine:
                    self.diags.append(Diagnostic("IRQ404", f"--check {nm}: the model has no `check {nm} ...` line",
                                                 self.d.path, 0, 0, f"add e.g. `check {nm} ...` to the model"))
                out.extend(mine)
            else:
                out.append(CheckSpec(nm, None, 0))
        return out

    def enabled(self, check: str) -> bool:
        return any(c.name == check for c in self.checks)

    # -- variables and transitions
    def var(self, nm: str, size: int, init: int = 0, kind: str = "int",
            names: tuple[str, ...] = (), width: int = 8) -> int:
        self.vars.append(Var(nm, max(size, 2), init, kind, names, width))
        return len(self.vars) - 1

    def add(self, label: Label, guard: Expr, updates: dict[int, Expr], group: str | None,
            violates: tuple[tuple[str, str], ...] | list[tuple[str, str]] = (),
            extra_fair: tuple[str, ...] = (), fair_step: bool = True) -> None:
        """One guarded command. Every CPU step is in its CPU's weak-fairness group; an interrupt
        acknowledge is also in a group of its own ("cpuN takes ..."), under strong fairness: the
        hardware samples INTR at every instruction boundary, so a request that is deliverable again
        and again (even if not continuously, as in `loop { cli; nop; sti; nop }`) is taken."""
        if self.halted is not None:
            guard = And(Eq(V(self.halted), C(0)), guard)
        if guard == FALSE:
            return
        ups = tuple(sorted((k, v) for k, v in updates.items() if v != V(k)))
        fair = ((group,) if group and fair_step else ()) + extra_fair
        if self.tick is not None:
            self.tick()
        self.trans.append(Transition(label, guard, ups, group=group, fair=fair, violates=tuple(violates)))

    # -- main
    def run(self) -> TransitionSystem:
        d = self.d
        self.make_controllers()
        self.left: dict[str, int | None] = {}
        for dev in d.devices.values():
            self.left[dev.name] = (None if dev.raises is None else
                                   self.var(f"{dev.name}.raises_left", dev.raises + 1, dev.raises))
        self.nmi_pending = self.nmi_blocked = None
        if any(dev.kind == "nmi" for dev in d.devices.values()):
            self.nmi_pending = self.var("nmi.pending", 2, 0, "bool")
            self.nmi_blocked = self.var("nmi.blocked", 2, 0, "bool")
        self.obj: dict[str, int] = {}
        for o in d.objects.values():
            if o.kind == "flag":
                self.obj[o.name] = self.var(o.name, 2, o.init, "bool")
            elif o.kind == "counter":
                self.obj[o.name] = self.var(o.name, o.max + 1, o.init)
        self.prepare()
        self.kernel_vars()
        self.cpus = [self.make_cpu(c) for c in range(d.cpus)]
        self.entry_trans: dict[int, list[int]] = {}
        self.request_info: dict[int, tuple[str, Expr, str, int]] = {}
        for cpu in self.cpus:
            self.lower_cpu(cpu)
        self.lower_devices()
        self.lower_requests()
        self.lower_checks()
        self.kernel_checks()
        unfinished = Or(*[self.cpu_unfinished(c) for c in self.cpus])
        self.unfinished = unfinished if self.halted is None else And(Eq(V(self.halted), C(0)), unfinished)
        if self.diags:
            raise IrcheckError(self.diags, d.source)
        names = [c.name for c in self.checks]
        ordered = [c for c in ALL_CHECKS if c in names]
        if self.uses_counters:
            ordered.append("counter_range")
        return TransitionSystem(self.vars, self.trans, self.props, self.requests, self.unfinished, ordered,
                                BOUND, groups=tuple(sorted({g for t in self.trans for g in t.fair})),
                                strong=frozenset(g for t in self.trans for g in t.fair if " takes " in g),
                                meta=self.layout, judge=self.lockdep_judge(), symmetries=self.device_symmetries(),
                                waits=self.waits)

    def device_symmetries(self) -> list[tuple[int, ...]]:
        """Symmetry hints (TransitionSystem.symmetries): devices declared alike (same line, trigger,
        budget, ...) but for their names swap their budget variables. The engine verifies each hint
        and drops the ones the rest of the model breaks (e.g. different handlers by dev_id)."""
        alike: dict[tuple[object, ...], list[int]] = {}
        for dev in self.d.devices.values():
            vi = self.left.get(dev.name)
            if vi is not None:
                key = (dev.pic, dev.input, dev.level, dev.raises, dev.shared, dev.kind, dev.may_drop, dev.cpu)
                alike.setdefault(key, []).append(vi)
        out: list[tuple[int, ...]] = []
        for vis in alike.values():
            for a, b in zip(vis, vis[1:], strict=False):
                perm = list(range(len(self.vars)))
                perm[a], perm[b] = b, a
                out.append(tuple(perm))
        return out

    def make_controllers(self) -> None:
        self.pics: dict[str, Pic8259] = {}
        for p in self.d.pics.values():
            irr = self.var(f"{p.name}.IRR", 256, 0, "bits")
            isr = None if p.auto_eoi else self.var(f"{p.name}.ISR", 256, 0, "bits")
            imr = self.var(f"{p.name}.IMR", 256, p.mask, "bits") if p.masked_ever else None
            prio = self.var(f"{p.name}.priority", 8, 0) if p.rotate else None
            self.pics[p.name] = Pic8259(p, irr, isr, imr, prio)
        self.apic: LocalApic | None = None
        vecs = sorted({dev.input for dev in self.d.devices.values() if dev.kind == "apic"})
        if self.d.apics:
            info = next(iter(self.d.apics.values()))
            n = max(len(vecs), 1)
            bits = tuple(f"{v:#x}" for v in vecs)
            self.apic = LocalApic(info, vecs, self.var(f"{info.name}.IRR", 1 << n, 0, "bits", bits, width=n),
                                  self.var(f"{info.name}.ISR", 1 << n, 0, "bits", bits, width=n))
        # which master input each slave drives, and the inputs that have devices
        self.slaves: dict[str, dict[int, Pic8259]] = {}
        for p in self.pics.values():
            if p.info.cascade:
                m, c = p.info.cascade
                self.slaves.setdefault(m, {})[c] = p
        self.inputs: dict[str, list[int]] = {nm: sorted({dev.input for dev in self.d.devices.values()
                                                        if dev.kind == "pic" and dev.pic == nm})
                                             for nm in self.pics}

    # -- 8259A request logic with the cascade
    def slave_int(self, slave: Pic8259) -> Expr:
        return slave.int_line(self.inputs[slave.name], self.req(slave, {}))

    def req(self, pic: Pic8259, override: dict[int, Expr] | None = None) -> Expr:
        lines = {c: self.slave_int(s) for c, s in self.slaves.get(pic.name, {}).items()}
        if override:
            lines.update(override)
        return pic.req(lines)

    def pic_deliver_guards(self, pic: Pic8259, n: int) -> list[tuple[Expr, dict[int, Expr]]]:
        """(guard, controller updates) for the 8259A delivering input n, through the master if a slave."""
        level = self.is_level(pic, n)
        out: list[tuple[Expr, dict[int, Expr]]] = []
        cascade = pic.info.cascade
        for g, p in pic.variants():
            mine = And(g, pic.deliverable(n, p, self.req(pic)))
            ups = pic.inta(n, level)
            if cascade is None:
                out.append((mine, ups))
                continue
            master = self.pics[cascade[0]]
            c = cascade[1]
            for mg, mp in master.variants():
                up = dict(ups)
                up.update(master.inta(c, True))  # the cascade input is level-like: INT stays while pending
                out.append((And(mine, mg, master.deliverable(c, mp, self.req(master, {c: TRUE}), c)), up))
        return out

    def is_level(self, pic: Pic8259, n: int) -> bool:
        return any(dev.level for dev in self.d.devices.values()
                   if dev.kind == "pic" and dev.pic == pic.name and dev.input == n)

    # -- incarnations: every way into a handler, found by following int/fault/NMI chains
    def discover(self) -> list[Incarnation]:
        comp = Compiler(self.d)
        found: dict[tuple[int, bool], Incarnation] = {}
        todo: list[Incarnation] = []

        def want(vec: int, spurious: bool = False, pic: Pic8259 | None = None, inp: int | None = None,
                 apic: LocalApic | None = None) -> None:
            if (vec, spurious) in found or vec not in self.gates:
                return
            g = self.gates[vec]
            inc = Incarnation(vec, g, comp.compile(self.d.code[g.handler], "iret"), spurious, pic, inp, apic)
            found[(vec, spurious)] = inc
            todo.append(inc)

        requested = {(irq.pic, irq.input) for irq in self.d.irqs.values()}
        for dev in self.d.devices.values():
            if dev.kind == "pic" and (dev.pic, dev.input) in requested:
                continue  # a genirq line: entered through its flow handler (below)
            if dev.kind == "pic":
                pic = self.pics[dev.pic]
                want(pic.info.base + dev.input, False, pic, dev.input)
                if dev.may_drop:
                    want(pic.info.base + 7, True, pic, 7)
            elif dev.kind == "apic":
                want(dev.input, False, None, None, self.apic)
            else:
                self.sync_targets(deliver_exception(2, self.gates), want)
        extra = self.kernel_incarnations(comp)
        for inc in extra:
            todo.append(inc)
        self.task_bodies: list[tuple[CodeInfo, Body]] = self.compile_tasks(comp)
        for c, body in self.task_bodies:
            self.scan_sync(body, c.cpl, want)
        while todo:
            inc = todo.pop()
            self.scan_sync(inc.body, 0, want)
        # a pic vector also reached by `int n` keeps its pic identity
        return [found[k] for k in sorted(found)] + extra

    def scan_sync(self, body: Body, cpl: int, want: object) -> None:
        for n in body.nodes:
            if n.kind == "stmt" and isinstance(n.stmt, ast.Simple) and n.stmt.op in ("int", "fault"):
                assert isinstance(n.stmt.arg, ast.Num)
                v = n.stmt.arg.value
                self.sync_targets(deliver_int(v, cpl, self.gates) if n.stmt.op == "int"
                                  else deliver_exception(v, self.gates), want)

    def sync_targets(self, dl: Delivery, want: object) -> None:
        if dl.shutdown:
            self.may_halt = True
        elif dl.vector is not None:
            want(dl.vector)  # type: ignore[operator]

    # -- the CPUs: frames, tasks, statements, entries
    def prepare(self) -> None:
        """What every CPU shares: the incarnations and their location numbering, the tasks, the depth bound."""
        d = self.d
        self.may_halt = False
        self.incs = self.discover()
        if self.may_halt:
            self.halted = self.var("cpu0.shutdown", 2, 0, "bool")
        self.frame_owner = ["-"]
        self.loc_names = ["-"]
        single = len(self.pics) == 1 and self.apic is None
        for inc in self.incs:
            inc.base = len(self.loc_names)
            desc = inc.describe(single)
            for n in inc.body.nodes:
                self.frame_owner.append(desc)
                self.loc_names.append(f"{inc.gate.handler}@{n.line}")
        finite = [dev.raises for dev in d.devices.values()]
        sync = sum(1 for inc in self.incs for n in inc.body.nodes
                   if n.kind == "stmt" and isinstance(n.stmt, ast.Simple) and n.stmt.op in ("int", "fault"))
        sync += 1 if any(n.kind == "stmt" and isinstance(n.stmt, ast.Simple) and n.stmt.op in ("int", "fault")
                         for _c, b in self.task_bodies for n in b.nodes) else 0
        soft = 1 if any(inc.kind in ("softirq", "tasklet") for inc in self.incs) else 0
        if any(r is None for r in finite) or any(dev.level for dev in d.devices.values()):
            self.maxdepth = NEST_CAP  # a level line re-interrupts without a new raise: bound it, honestly
        else:
            # every frame is paid for by a raise, a synchronous event or one softirq run: exact, never hit
            self.maxdepth = max(1, sum(r for r in finite if r is not None) + sync + soft)
        self.tasks: list[Task] = []
        for c, body in self.task_bodies:
            self.tasks.append(Task(c, body, c.cpu, len(self.tasks) + 1))

    def make_cpu(self, cpu: int) -> CpuState:
        p = f"cpu{cpu}."
        nlocs = len(self.loc_names)
        if_var = self.var(p + "IF", 2, 1, "bool")
        depth = self.var(p + "depth", self.maxdepth + 1, 0)
        pc = self.var(p + "pc", nlocs, 0, "loc", tuple(self.loc_names))
        saved_pc = [self.var(f"{p}saved_pc[{i}]", nlocs, 0, "loc", tuple(self.loc_names))
                    for i in range(max(self.maxdepth - 1, 0))]
        saved_if = [self.var(f"{p}saved_IF[{i}]", 2, 0, "hidden") for i in range(self.maxdepth)]
        mine = [t for t in self.tasks if t.cpu == cpu]
        for t in mine:
            names = tuple(f"{t.code.name}@{n.line}" if i else f"{t.code.name}:" + ("done" if t.code.kind == "thread"
                                                                                    else "idle")
                          for i, n in enumerate(t.body.nodes))
            t.pc = self.var(f"{t.code.name}.pc", len(t.body.nodes), t.body.entry if t.code.kind == "thread" else 0,
                            "loc", names)
            self.task_vars(t)
        cur = None
        if len(mine) > 1:
            # the CPU starts in its first thread: irq threads and work items start idle, so starting
            # in one would only add a switch - and make the state space depend on declaration order
            first = next((i for i, t in enumerate(mine) if t.code.kind == "thread"), 0)
            cur = self.var(p + "cur", len(mine), first, "loc", tuple(t.code.name for t in mine))
        st = CpuState(cpu, if_var, depth, pc, saved_pc, saved_if, mine, cur)
        self.cpu_vars(st)
        self.layout.cpus.append(CpuLayout(cpu, if_var, depth, pc, saved_pc, cur, [(t.label, t.pc) for t in mine],
                                          self.frame_owner, [t.code.cpl for t in mine]))
        return st

    def use(self, cpu: CpuState) -> None:
        """Make `cpu` the one whose transitions are being built (the statement code reads self.IF etc.)."""
        self.c = cpu
        self.cpu = cpu.index
        self.group = cpu.group
        self.IF, self.depth, self.pc = cpu.IF, cpu.depth, cpu.pc
        self.saved_pc, self.saved_if = cpu.saved_pc, cpu.saved_if
        self.cur = cpu.cur

    def lower_cpu(self, cpu: CpuState) -> None:
        self.use(cpu)
        for inc in self.incs:
            for i, node in enumerate(inc.body.nodes):
                self.lower_node(node, i, inc, None)
        for ti, task in enumerate(cpu.tasks):
            for i, node in enumerate(task.body.nodes):
                self.lower_node(node, i, None, (ti, task))
            self.lower_task_wake(ti, task)
        self.lower_switches()
        self.lower_entries()
        self.lower_soft_entries()

    def cpu_unfinished(self, cpu: CpuState) -> Expr:
        return Or(Bin(">", V(cpu.depth), C(0)), *[self.task_unfinished(t) for t in cpu.tasks])

    def running(self, ti: int) -> Expr:
        """Task ti is the one on its CPU (no frame above it)."""
        here = Eq(V(self.depth), C(0))
        return here if self.cur is None else And(here, Eq(V(self.cur), C(ti)))

    def lower_switches(self) -> None:
        """The scheduler on one CPU: the running task gives way when it is done, blocked, or preemptible
        (IRQs on, no spinlock held, BH enabled); the next task must have something to do."""
        if self.cur is None:
            return
        cur = self.cur
        tasks = self.c.tasks
        # "the current task gives way" is built once per CPU and shared by reference by every switch's
        # guard (ts, codegen and the engines keep the sharing): the guards grow linearly in the tasks.
        # A binary decision on cur picks the current task's predicate (cur lies in 0..len(tasks)-1);
        # with cur != ti in the guard this is the old "some other task is current and yields"
        yields = [self.task_yields(t) for t in tasks]

        def pick(lo: int, hi: int) -> Expr:
            if hi - lo == 1:
                return yields[lo]
            mid = (lo + hi) // 2
            return Ite(Bin("<", V(cur), C(mid)), pick(lo, mid), pick(mid, hi))

        gives_way = pick(0, len(tasks))
        for ti, task in enumerate(tasks):
            g = And(Eq(V(self.depth), C(0)), Not(Eq(V(cur), C(ti))), self.task_runnable(task), gives_way)
            # a switch is not progress: a run that only switches tasks is not a fair run of the CPU
            self.add(Label(f"cpu{self.cpu}", f"switch to {task.label}", task.code.line, self.cpu, "switch"),
                     g, {cur: C(ti), self.IF: C(1)}, self.group, fair_step=False)

    # -- frames
    def push(self, d: int, inc: Incarnation, ret: dict[int, Expr] | None) -> dict[int, Expr]:
        """Updates that put a frame of `inc` on top at depth d+1 (X1/X2: the gate type decides IF).

        `ret` says where the interrupted code resumes: None for an asynchronous interrupt (it resumes
        where it is), else the updates that move a thread's pc past the instruction, or {pc: next}
        for a handler frame, whose next pc is then saved below the new frame.
        """
        ups: dict[int, Expr] = {self.depth: C(d + 1), self.saved_if[d]: V(self.IF),
                                self.pc: C(inc.base + inc.body.entry)}
        if d >= 1:
            ups[self.saved_pc[d - 1]] = ret.get(self.pc, V(self.pc)) if ret else V(self.pc)
        elif ret:
            ups.update(ret)
            ups[self.pc] = C(inc.base + inc.body.entry)
        if not inc.gate.trap:
            ups[self.IF] = C(0)
        return ups

    def inc_for(self, vector: int) -> Incarnation:
        for inc in self.incs:
            if inc.vector == vector and not inc.spurious:
                return inc
        raise AssertionError(f"no incarnation for vector {vector}")

    def bound_violation(self) -> tuple[tuple[str, str], ...]:
        return ((BOUND, f"interrupt nesting reached the model bound of {self.maxdepth} frames (an interrupt "
                         "storm?); `check max_nesting N` turns this into a verdict"),)

    # -- expressions of the model
    def cond(self, e: ast.Expr, inc: Incarnation | None) -> Expr:
        if isinstance(e, ast.Name):
            o = self.d.objects[e.name]
            v = V(self.obj[e.name])
            return v if o.kind == "flag" else Not(Eq(v, C(0)))
        if isinstance(e, ast.Not):
            return Not(self.cond(e.arg, inc))
        if isinstance(e, ast.BoolOp):
            parts = [self.cond(a, inc) for a in e.args]
            return And(*parts) if e.op == "and" else Or(*parts)
        if isinstance(e, ast.Compare):
            return Bin(e.op, self.value(e.left, inc), self.value(e.right, inc))
        if isinstance(e, ast.InService):
            assert inc is not None
            if inc.apic is not None:
                return inc.apic.in_service(inc.vector)
            if inc.pic is not None and inc.input is not None:
                return inc.pic.in_service(inc.input)
            return FALSE
        if isinstance(e, ast.Bool):
            return TRUE if e.value else FALSE
        return Not(Eq(self.value(e, inc), C(0)))

    def value(self, e: ast.Expr, inc: Incarnation | None) -> Expr:
        if isinstance(e, ast.Name):
            return V(self.obj[e.name])
        if isinstance(e, ast.Num):
            return C(e.value)
        if isinstance(e, ast.Bool):
            return C(int(e.value))
        if isinstance(e, ast.Arith):
            out = self.value(e.args[0], inc)
            for op, a in zip(e.ops, e.args[1:], strict=True):
                out = Bin(op, out, self.value(a, inc))
            return out
        return self.cond(e, inc)

    # -- one location's transitions
    def lower_node(self, node: Node, i: int, inc: Incarnation | None, thread: tuple[int, Task] | None) -> None:
        if node.kind in ("goto", "end"):
            return  # gotos are compiled away; a finished thread takes no step
        if inc is not None:
            here: Expr = Eq(V(self.pc), C(inc.base + i))
            if inc.kind == "gate":
                actor = f"handler {inc.gate.handler}"
            elif inc.kind == "flow":
                assert inc.irq is not None
                actor = f"handler {node.routines[1]}" if len(node.routines) > 1 else f"irq {inc.irq.irq} flow"
            else:
                actor = inc.describe(False)
            ctx, cpl = "handler", 0
            base = inc.base
            kctx = Context("hardirq" if inc.hardirq else "softirq", inc, None, -1, here,
                           Bin("+", C(self.frame_owner_base(self.cpu) - 1), V(self.depth)), actor)

            def goto(j: int) -> dict[int, Expr]:
                return {self.pc: C(base + j)}
        else:
            assert thread is not None
            ti, task = thread
            pcv = task.pc
            here = And(Eq(V(pcv), C(i)), self.running(ti))
            actor, ctx, cpl = task.label, "thread", task.code.cpl
            kctx = Context("task", None, task, ti, here, C(task.ident), actor)

            def goto(j: int) -> dict[int, Expr]:
                return {pcv: C(j)}

        def lab(text: str, kind: str = ctx) -> Label:
            return Label(actor, text, node.line, self.cpu, kind)

        if self.lower_kernel_node(node, kctx, goto, lab):
            return
        if node.kind == "iret":
            assert inc is not None
            self.lower_iret(here, inc, lab(node.text))
        elif node.kind in ("call", "ret"):
            self.add(lab(node.text), here, goto(node.next), self.group)
        elif node.kind == "test":
            assert isinstance(node.stmt, ast.If | ast.While)
            c = self.cond(node.stmt.cond, inc)
            self.add(lab(node.text + "  (true)"), And(here, c), goto(node.next), self.group)
            self.add(lab(node.text + "  (false)"), And(here, Not(c)), goto(node.alt), self.group)
        elif not isinstance(node.stmt, ast.Simple):  # a spinning empty loop
            self.add(lab(node.text), here, goto(node.next), self.group)
        elif node.stmt.op in ("int", "fault"):
            self.lower_sync(node.stmt, here, goto(node.next), lab, cpl, inc is not None)
        else:
            self.lower_simple(node.stmt, here, goto(node.next), lab(node.text), inc)

    def lower_simple(self, st: ast.Simple, here: Expr, nxt: dict[int, Expr], label: Label,
                     inc: Incarnation | None) -> None:
        op, arg = st.op, st.arg
        ups = dict(nxt)
        g = self.group
        if op in ("nop", "read", "write"):
            self.add(label, here, ups, g)
        elif op in ("cli", "sti"):
            ups[self.IF] = C(1 if op == "sti" else 0)
            self.add(label, here, ups, g)
        elif op in ("set", "clear"):
            assert isinstance(arg, ast.Name)
            ups[self.obj[arg.name]] = C(1 if op == "set" else 0)
            self.add(label, here, ups, g)
        elif op in ("inc", "dec"):
            assert isinstance(arg, ast.Name)
            self.uses_counters = True
            v = self.obj[arg.name]
            mx = self.d.objects[arg.name].max
            ok = Not(Eq(V(v), C(mx) if op == "inc" else C(0)))
            ups[v] = Bin("+" if op == "inc" else "-", V(v), C(1))
            self.add(label, And(here, ok), ups, g)
            msg = (f"counter {arg.name} would exceed its max {mx}" if op == "inc"
                   else f"counter {arg.name} would go below 0")
            self.add(label, And(here, Not(ok)), dict(nxt), g, (("counter_range", msg),))
        elif op == "ack":
            assert isinstance(arg, ast.Name)
            dev = self.d.devices[arg.name]
            if dev.kind == "pic" and dev.level:
                irr = self.pics[dev.pic].irr
                ups[irr] = Bin("&", V(irr), C(0xFF ^ (1 << dev.input)))
            self.add(label, here, ups, g)
        elif op in ("mask", "unmask"):
            assert isinstance(arg, ast.LineRef)
            imr = self.pics[arg.pic].imr
            assert imr is not None
            bit = 1 << arg.input
            ups[imr] = Bin("|", V(imr), C(bit)) if op == "mask" else Bin("&", V(imr), C(0xFF ^ bit))
            self.add(label, here, ups, g)
        elif op == "eoi":
            self.lower_eoi(st, here, ups, label, inc)
        else:  # pragma: no cover - resolve refuses everything else
            raise AssertionError(op)

    def eoi_target(self, st: ast.Simple, inc: Incarnation | None) -> tuple[Pic8259 | LocalApic | None, int | None]:
        arg = st.arg
        if isinstance(arg, ast.LineRef):
            return self.pics[arg.pic], arg.input
        if isinstance(arg, ast.Name):
            if arg.name in self.pics:
                return self.pics[arg.name], None
            return self.apic, None
        if inc is not None and inc.apic is not None:
            return inc.apic, None
        if inc is not None and inc.pic is not None:
            return inc.pic, None
        ctrls: list[Pic8259 | LocalApic] = list(self.pics.values()) + ([self.apic] if self.apic else [])
        if len(ctrls) == 1:
            return ctrls[0], None
        self.diags.append(Diagnostic("IRQ304", "plain `eoi` in a handler that no controller's interrupt enters: "
                                     "which controller?", self.d.path, st.span.line, st.span.column,
                                     "write `eoi master` or `eoi master.3`"))
        return None, None

    def lower_eoi(self, st: ast.Simple, here: Expr, ups: dict[int, Expr], label: Label,
                  inc: Incarnation | None) -> None:
        g = self.group
        target = self.eoi_target(st, inc)
        if target[0] is None:
            return
        ctrl: Pic8259 | LocalApic = target[0]
        specific = target[1]
        extra: list[tuple[str, str]] = []
        if inc is not None and inc.kind == "flow":
            extra.append(("eoi_balanced", f"EOI to {getattr(ctrl, 'name', 'the controller')} from a request_irq handler: "
                                          "the flow handler already acked and EOId this IRQ (L1), so this EOI ends "
                                          "some other level's service early (or none)"))
        if inc is not None and inc.spurious and inc.pic is not None and ctrl is inc.pic and specific in (None, 7):
            extra.append(("eoi_balanced", f"EOI to {inc.pic.name} from the handler of a spurious IRQ7: ISR[7] was never "
                                          "set, so this EOI ends some other level's service early (or none)"))
        if isinstance(ctrl, LocalApic):
            variants = ctrl.eoi()
            nothing = "EOI to the local APIC with no vector in service"
        elif ctrl.isr is None:
            self.add(label, here, ups, g, [("eoi_balanced", f"EOI to {ctrl.name}, which runs in auto-EOI mode: "
                                                            "nothing is ever in service")] + extra)
            return
        elif specific is None:
            variants = ctrl.eoi_nonspecific()
            nothing = f"non-specific EOI to {ctrl.name} with nothing in service (ISR = 0)"
        else:
            bit = Eq(Bit(V(ctrl.isr), specific), C(1))
            variants = [(bit, {ctrl.isr: Bin("&", V(ctrl.isr), C(0xFF ^ (1 << specific)))}, specific)]
            nothing = f"specific EOI for {ctrl.name}.{specific} while ISR[{specific}] is clear"
        any_busy: list[Expr] = []
        for guard, effect, _bit in variants:
            up = dict(ups)
            up.update(effect)
            self.add(label, And(here, guard), up, g, extra)
            any_busy.append(guard)
        self.add(label, And(here, Not(Or(*any_busy))), ups, g, extra + [("eoi_balanced", nothing)])

    def iret_checks(self, inc: Incarnation) -> list[tuple[Expr, str]]:
        """eoi_balanced at IRET: the frame's own in-service bits that are still set."""
        out: list[tuple[Expr, str]] = []
        h = inc.gate.handler
        if inc.apic is not None:
            out.append((inc.apic.in_service(inc.vector),
                        f"{h} returns (IRET) with vector {inc.vector:#x} still in service: no EOI was sent"))
        pic = inc.pic
        if inc.kind != "gate":
            return out  # the flow handler acked the controller on entry
        if pic is not None and inc.input is not None and not inc.spurious and pic.isr is not None:
            out.append((pic.in_service(inc.input), f"{h} returns (IRET) with IRQ {inc.input} still in service on "
                                                   f"{pic.name}: no EOI was sent"))
        if pic is not None and pic.info.cascade is not None:
            master = self.pics[pic.info.cascade[0]]
            c = pic.info.cascade[1]
            if master.isr is not None:
                # the master's cascade level is this frame's to end only when nothing else on the slave is in
                # service (special fully nested mode lets slave interrupts nest under one master level)
                idle = TRUE if pic.isr is None else Eq(V(pic.isr), C(0))
                out.append((And(master.in_service(c), idle),
                            f"{h} returns (IRET) with {master.name}.ISR[{c}] still set: a slave "
                            f"interrupt needs an EOI to {pic.name} and one to {master.name}"))
        return out

    def lower_iret(self, here: Expr, inc: Incarnation, label: Label) -> None:
        checks = self.iret_checks(inc)
        variants: list[tuple[Expr, list[tuple[str, str]]]] = [(And(*[Not(c) for c, _m in checks]), [])]
        for k, (c, msg) in enumerate(checks):
            variants.append((And(c, *[Not(c2) for c2, _m in checks[:k]]), [("eoi_balanced", msg)]))
        for d in range(1, self.maxdepth + 1):
            ups: dict[int, Expr] = {self.IF: V(self.saved_if[d - 1]), self.saved_if[d - 1]: C(0),
                                    self.depth: C(d - 1)}
            if d >= 2:
                ups[self.pc] = V(self.saved_pc[d - 2])
                ups[self.saved_pc[d - 2]] = C(0)
            else:
                ups[self.pc] = C(0)
            if self.nmi_blocked is not None and self.cpu == 0:
                ups[self.nmi_blocked] = C(0)  # X7: NMI blocking ends at the next IRET
            ups.update(self.frame_exit_updates(inc))
            g = And(here, Eq(V(self.depth), C(d)))
            for guard, viol in variants:
                self.add(label, And(g, guard), ups, self.group, viol)

    # -- synchronous events: int n, fault v (X3-X6, X8)
    def lower_sync(self, st: ast.Simple, here: Expr, nxt: dict[int, Expr], lab: object, cpl: int,
                   in_handler: bool) -> None:
        assert isinstance(st.arg, ast.Num)
        v = st.arg.value
        dl = deliver_int(v, cpl, self.gates) if st.op == "int" else deliver_exception(v, self.gates)
        head = f"int {v:#x}" if st.op == "int" else f"fault {v}: {name(v)}"
        story = "; ".join(dl.events)
        if dl.shutdown:
            assert self.halted is not None
            text = f"{head}: {story}" if story else head
            self.add(lab(text, "halt"), here, {self.halted: C(1)}, self.group, dl.checks_broken())  # type: ignore[operator]
            return
        assert dl.vector is not None
        target = self.inc_for(dl.vector)
        gate = "trap gate" if target.gate.trap else "interrupt gate, IF=0"
        ec = ", error code pushed" if dl.error_code else ""
        text = f"{head} -> {name(dl.vector)} -> {target.gate.handler} ({gate}{ec})"
        if story:
            text = f"{head}: {story} -> {target.gate.handler} ({gate}{ec})"
        for d in range(self.maxdepth + 1):
            g = And(here, Eq(V(self.depth), C(d)))
            if d == self.maxdepth:
                self.add(lab(text, "sync"), g, {}, self.group, self.bound_violation())  # type: ignore[operator]
                continue
            ret = dict(nxt)
            self.add(lab(text, "sync"), g, self.push(d, target, ret), self.group, dl.checks_broken())  # type: ignore[operator]

    # -- asynchronous entries: 8259A INTA, APIC, NMI, spurious IRQ7/15
    def takes(self, devices: list[DeviceInfo]) -> bool:
        """Whether the CPU being lowered may take interrupts from these devices (`on cpuK` routes them)."""
        return not devices or any(dv.cpu is None or dv.cpu == self.cpu for dv in devices)

    def lower_entries(self) -> None:
        cpu = self.cpu
        for k, inc in enumerate(self.incs):
            if inc.spurious or (inc.pic is None and inc.apic is None):
                continue
            if inc.apic is not None:
                srcs = [dv for dv in self.d.devices.values() if dv.kind == "apic" and dv.input == inc.vector]
                if cpu != 0:
                    continue  # one local APIC: cpu0's
            else:
                srcs = [dv for dv in self.d.devices.values() if inc.pic is not None and dv.kind == "pic"
                        and dv.pic == inc.pic.name and dv.input == inc.input]
            if not self.takes(srcs):
                continue
            gate = "trap gate, IF stays 1" if inc.gate.trap else "interrupt gate, IF=0"
            fair = f"cpu{cpu} takes vector {inc.vector:#x}"
            first = len(self.trans)
            if inc.apic is not None:
                guards = [(inc.apic.deliverable(inc.vector), inc.apic.inta(inc.vector))]
                what = f"take vector {inc.vector:#x} from the local APIC"
                pending = Eq(Bit(V(inc.apic.irr), inc.apic.pos(inc.vector)), C(1))
                src = ", ".join(dv.name for dv in self.d.devices.values() if dv.kind == "apic" and dv.input == inc.vector)
                req_name = f"vector {inc.vector:#x} ({src})"
                req_msg = f"vector {inc.vector:#x} ({src}) is raised but never delivered: it waits for ever in the " \
                          f"local APIC's IRR"
            else:
                assert inc.pic is not None and inc.input is not None
                pic, n = inc.pic, inc.input
                guards = self.pic_deliver_guards(pic, n)
                where = f"{pic.name}.{n}" if pic.info.cascade else str(n)
                what = f"take IRQ {where}: INTA, vector {inc.vector:#x}"
                pending = Eq(Bit(V(pic.irr), n), C(1))
                if self.is_level(pic, n) and pic.isr is not None:
                    pending = And(pending, Eq(Bit(V(pic.isr), n), C(0)))
                if inc.kind == "flow":
                    pending = And(pending, self.flow_not_serving(inc))
                src = ", ".join(dv.name for dv in self.d.devices.values()
                                if dv.kind == "pic" and dv.pic == pic.name and dv.input == n)
                req_name = f"IRQ {n} ({pic.name}.{n}, {src})"
                req_msg = f"IRQ {where} ({src}) is raised but never delivered: the request waits for ever in " \
                          f"{pic.name}.IRR[{n}]"
            line = self.gate_line.get(inc.vector, 0)
            if inc.kind == "flow":
                assert inc.irq is not None
                line = inc.irq.actions[0].line
                gate = "genirq flow handler, IF=0"
            label = Label(f"cpu{cpu}", f"{what} -> {inc.gate.handler} ({gate})", line, cpu, "entry")
            for guard, ctrl_ups in guards:
                self.entry_transitions(label, And(Eq(V(self.IF), C(1)), guard), ctrl_ups, inc, fair)
            if k not in self.entry_trans:
                self.entry_trans[k] = []
                self.request_info[k] = (req_name, pending, req_msg, line)
            self.entry_trans[k].extend(range(first, len(self.trans)))
        if cpu == 0:
            self.lower_spurious()
            self.lower_nmi_entry()

    def lower_requests(self) -> None:
        """no_starvation: a raised request must be taken by some CPU's INTA."""
        if not self.enabled("no_starvation"):
            return
        for k, ids in sorted(self.entry_trans.items()):
            req_name, pending, req_msg, line = self.request_info[k]
            self.requests.append(Request("no_starvation", req_name, pending, frozenset(ids), req_msg, line))

    def entry_transitions(self, label: Label, guard: Expr, ctrl_ups: dict[int, Expr], inc: Incarnation,
                          fair: str, violates: tuple[tuple[str, str], ...] = ()) -> None:
        """An asynchronous entry into `inc` from any depth (one transition per depth, the last one a bound)."""
        for d in range(self.maxdepth + 1):
            g = And(guard, Eq(V(self.depth), C(d)))
            if d == self.maxdepth:
                self.add(label, g, {}, self.group, self.bound_violation(), (fair,))
                continue
            ups = self.push(d, inc, None)
            ups.update(ctrl_ups)
            self.add(label, g, ups, self.group, violates, (fair,))

    def lower_spurious(self) -> None:
        """P12: a request that falls before INTA makes the 8259A deliver IR7 without setting ISR[7]."""
        for dev in self.d.devices.values():
            if dev.kind != "pic" or not dev.may_drop:
                continue
            pic = self.pics[dev.pic]
            n = dev.input
            spur = next(i for i in self.incs if i.spurious and i.pic is pic)
            drop = {pic.irr: Bin("&", V(pic.irr), C(0xFF ^ (1 << n)))}
            cascade = pic.info.cascade
            seven = "IRQ 15" if cascade else "IRQ 7"
            for g, p in pic.variants():
                mine = And(g, pic.deliverable(n, p, self.req(pic)))
                opts: list[tuple[Expr, dict[int, Expr]]] = [(mine, dict(drop))]
                if cascade is not None:
                    master, c = self.pics[cascade[0]], cascade[1]
                    opts = []
                    for mg, mp in master.variants():
                        up = dict(drop)
                        up.update(master.inta(c, True))
                        opts.append((And(mine, mg, master.deliverable(c, mp, self.req(master, {c: TRUE}), c)), up))
                for guard, ups in opts:
                    label = Label(f"cpu{self.cpu}", f"{dev.name} drops IRQ {n} before INTA: spurious {seven}, vector "
                                  f"{spur.vector:#x} -> {spur.gate.handler}, {pic.name}.ISR[7] not set",
                                  dev.line, self.cpu, "entry")
                    self.entry_transitions(label, And(Eq(V(self.IF), C(1)), guard), ups, spur,
                                           f"cpu{self.cpu} takes vector {spur.vector:#x}")

    def lower_nmi_entry(self) -> None:
        """X7: NMI ignores IF; while one is being handled (until IRET) a second one stays latched."""
        if self.nmi_pending is None:
            return
        assert self.nmi_blocked is not None
        dl = deliver_exception(2, self.gates)
        guard = And(Eq(V(self.nmi_pending), C(1)), Eq(V(self.nmi_blocked), C(0)))
        fair = f"cpu{self.cpu} takes NMI"
        first = len(self.trans)
        ctrl = {self.nmi_pending: C(0), self.nmi_blocked: C(1)}
        story = "; ".join(dl.events)
        if dl.shutdown:
            assert self.halted is not None
            label = Label(f"cpu{self.cpu}", f"take NMI: {story}", 0, self.cpu, "entry")
            up = dict(ctrl)
            up[self.halted] = C(1)
            self.add(label, guard, up, self.group, dl.checks_broken(), (fair,))
        else:
            assert dl.vector is not None
            target = self.inc_for(dl.vector)
            gate = "trap gate" if target.gate.trap else "interrupt gate, IF=0"
            text = f"take NMI (vector 2, ignores IF) -> {target.gate.handler} ({gate})"
            if story:
                text = f"take NMI: {story} -> {target.gate.handler} ({gate})"
            label = Label(f"cpu{self.cpu}", text, self.gate_line.get(2, 0), self.cpu, "entry")
            self.entry_transitions(label, guard, ctrl, target, fair, dl.checks_broken())
        if self.enabled("no_starvation"):
            src = ", ".join(dv.name for dv in self.d.devices.values() if dv.kind == "nmi")
            self.requests.append(Request("no_starvation", f"NMI ({src})", Eq(V(self.nmi_pending), C(1)),
                                         frozenset(range(first, len(self.trans))),
                                         f"NMI ({src}) is raised but never delivered", 0))

    # -- devices (the environment)
    def lower_devices(self) -> None:
        for dev in self.d.devices.values():
            self.lower_device(dev)

    def lower_device(self, dev: DeviceInfo) -> None:
        left = self.left[dev.name]
        have = TRUE if left is None else Bin(">", V(left), C(0))
        ups: dict[int, Expr] = {} if left is None else {left: Bin("-", V(left), C(1))}
        if dev.kind == "nmi":
            assert self.nmi_pending is not None
            reg, bitn, where, what = self.nmi_pending, 0, "NMI", "nmi.pending"
        elif dev.kind == "apic":
            assert self.apic is not None
            reg, bitn = self.apic.irr, self.apic.pos(dev.input)
            where, what = f"vector {dev.input:#x}", f"the local APIC's IRR for vector {dev.input:#x}"
        else:
            reg, bitn = self.pics[dev.pic].irr, dev.input
            where, what = f"IRQ {dev.input}", f"{dev.pic}.IRR[{dev.input}]"
        bit = Eq(Bit(V(reg), bitn), C(1))
        kind = "level" if dev.level else "edge"
        src = f" ({dev.pic}.{dev.input}, {kind})" if dev.kind == "pic" else ""
        label = Label(f"device {dev.name}", f"raise {where}{src}", dev.line, None, "device")
        up = dict(ups)
        up[reg] = Bin("|", V(reg), C(1 << bitn))
        self.add(label, And(have, Not(bit)), up, None)
        if not dev.level:
            lost = f"{where} edge from {dev.name} arrived while {what} was still set: the request is lost"
            if dev.kind == "nmi":
                lost = f"NMI from {dev.name} arrived while another NMI was already latched: it is lost"
            self.add(Label(f"device {dev.name}", f"raise {where} again{src}: already pending", dev.line, None,
                           "device"), And(have, bit), ups, None, (("no_lost_irq", lost),))

    # -- state properties
    def lower_checks(self) -> None:
        for spec in self.checks:
            if spec.name == "max_nesting":
                assert isinstance(spec.arg, int)
                for cpu in self.cpus:
                    self.props.append(StateProp("max_nesting", Bin("<=", V(cpu.depth), C(spec.arg)),
                                                f"interrupt nesting is deeper than {spec.arg} frames on "
                                                f"cpu{cpu.index}", spec.line))
            elif spec.name == "invariant":
                assert spec.arg is not None and not isinstance(spec.arg, int)
                self.props.append(StateProp("invariant", self.cond(spec.arg, None),
                                            f"invariant `{expr_text(spec.arg)}` is false", spec.line))
            elif spec.name == "no_reentry":
                self.reentry_props()

    def reentry_props(self) -> None:
        routines = [c for c in self.d.code.values() if c.kind in ("handler", "function") and not c.reentrant]
        for r in routines:
            hlocs = {inc.base + i for inc in self.incs for i, n in enumerate(inc.body.nodes) if r.name in n.routines}
            terms: list[Expr] = []
            for cpu in self.cpus:
                if hlocs:
                    terms.append(In(V(cpu.pc), hlocs))
                    terms.extend(In(V(sp), hlocs) for sp in cpu.saved_pc)
            for task in self.tasks:
                tl = {i for i, n in enumerate(task.body.nodes) if r.name in n.routines and n.kind != "end"}
                if tl:
                    terms.append(In(V(task.pc), tl))
            if len(terms) < 2:
                continue  # can never be active twice
            count: Expr = C(0)
            for t in terms:
                count = Bin("+", count, ("ite", t, C(1), C(0)))
            what = "handler" if r.kind == "handler" else "function"
            self.props.append(StateProp("no_reentry", Bin("<=", count, C(1)),
                                        f"non-reentrant {what} {r.name} is active twice at once", r.line))


def lower(design: Design, checks: list[str] | None = None, tick: Callable[[], None] | None = None) -> TransitionSystem:
    """Lower a resolved design; `checks` (from --check) narrows the model's own check list; `tick`
    is called once per transition added (it may raise to stop a lowering that runs out of time)."""
    return _Lowering(design, checks, tick).run()


def check_names(design: Design, checks: list[str] | None = None) -> list[str]:
    """The checks `lower` would decide, in report order (for a lowering stopped by a limit)."""
    low = _Lowering(design, checks)
    names = [c.name for c in low.checks]
    return [c for c in ALL_CHECKS if c in names]
