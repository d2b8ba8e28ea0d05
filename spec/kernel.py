"""The Linux layer of the lowering: locks, genirq flows, deferred work, wake-ups, kernel checks.

A mixin of `lower._Lowering` (it uses that class's variables and helpers); it
holds the rules of SEMANTICS.md sections 3-7:

* locks (K1-K3): a lock is an owner variable (0 = free, else the owning
  context's number: tasks 1..T, then one number per CPU and frame depth).
  Spinning is the absence of a step: a context at `spin_lock L` with L taken
  simply cannot move, and a task holding a spinlock cannot be preempted;
* genirq (L1-L9): a `request_irq` line enters a *flow* incarnation (compiled by
  cfg.compile_flow) whose entry acks the controller and marks the descriptor in
  progress, or sets PENDING when the descriptor is disabled or busy on another
  CPU; its end wakes threads, re-runs while PENDING, unmasks;
* deferred work (D1-D3): softirqs (a pending bit per CPU) and tasklets (scheduled
  on a CPU, never running twice) run as frames above the task when that CPU is at
  task level with BH enabled and IRQs on (irq exit, local_bh_enable, ksoftirqd);
  irq threads and work items are tasks that idle at pc 0 until woken;
* wake-ups (W1-W2): a task's state (running/sleeping); `wake_up Q` makes every
  task inside a wait on Q running again;
* checks: sleeping in atomic context (transition variants), data races and
  wait-for cycles (state properties), lost wake-ups (liveness requests), and
  lockdep's usage rules as facts judged over every reachable usage (lockdep.py).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ircheck.grammar import ast
from ircheck.grammar.printer import expr_text
from ircheck.spec.cfg import Body, Compiler, Node
from ircheck.spec.context import CpuState, Incarnation, Layout, Task
from ircheck.spec.lockdep import judge as lockdep_judge
from ircheck.spec.resolve import SPIN_OPS, CodeInfo, IrqLine
from ircheck.spec.ts import (
    BOUND,
    FACT,
    FALSE,
    TRUE,
    And,
    Bin,
    Bit,
    C,
    Eq,
    Expr,
    FactViolation,
    In,
    Ite,
    Label,
    Not,
    Or,
    Request,
    StateProp,
    V,
    Wait,
)
from ircheck.spec.waits import context_waits
from ircheck.spec.x86 import GateInfo

if TYPE_CHECKING:
    from ircheck.spec.controllers import Pic8259
    from ircheck.spec.resolve import Design
    from ircheck.spec.ts import Transition, Var

IRQ_OFF_OPS = frozenset({"spin_lock_irqsave", "spin_lock_irq"})
ACQUIRE_OPS = frozenset(SPIN_OPS) | {"mutex_lock"}
RELEASE_OPS = frozenset(SPIN_OPS.values()) | {"mutex_unlock"}
NAMED_WAKES = 3  # threads of one line that a flow end's label names one by one (see `lower_flow_end`)
KERNEL_NODES = frozenset({"wait_prepare", "wait_test", "wait_sleep", "sync_wait", "flow_entry", "flow_done",
                          "flow_end", "thread_done"})
KERNEL_STMTS = ACQUIRE_OPS | RELEASE_OPS | {"local_irq_save", "local_irq_restore", "local_bh_disable",
                                            "local_bh_enable", "sleep", "wake_up", "raise_softirq",
                                            "tasklet_schedule", "queue_work", "disable_irq", "disable_irq_nosync",
                                            "enable_irq", "free_irq", "synchronize_irq", "return"}
SAVE_OPS = ("spin_lock_irqsave", "local_irq_save")
BH_OFF_OPS = ("spin_lock_bh", "local_bh_disable")
DISABLE_OPS = ("disable_irq", "disable_irq_nosync")
Effect = tuple[Expr, dict[int, Expr], list[tuple[str, str]]]  # guard, updates, violation tags


@dataclass
class Context:
    """Who runs a statement: its kind, its lock-owner number, and where it is."""

    kind: str                    # hardirq | softirq | task
    inc: Incarnation | None
    task: Task | None
    ti: int                      # the task's index on its CPU
    here: Expr
    owner: Expr                  # the running context's lock-owner number
    who: str                     # "handler nic_isr", "thread app", "softirq net_rx"


@dataclass
class Descriptor:
    """The genirq state of one requested line (L2-L5, L9)."""

    irq: IrqLine
    inprogress: int
    pending: int
    depth: int
    ret: int
    freed: int | None
    pic: Pic8259
    level: bool


def _count(body: Body, ops: tuple[str, ...], arg: int | None = None) -> int:
    """How many locations of `body` run one of `ops` (on IRQ `arg`): on a path that passes each
    location once, the nesting those statements build is at most this many (a loop or a
    context that runs again can pass one twice: then the counter's top is a tagged bound)."""
    return sum(1 for n in body.nodes if n.kind in ("stmt", "sync_wait") and isinstance(n.stmt, ast.Simple)
               and n.stmt.op in ops and (arg is None or (isinstance(n.stmt.arg, ast.Num) and n.stmt.arg.value == arg)))


def _bits_set(ops: set[str], body: Body) -> set[str]:
    return {n.stmt.op for n in body.nodes if isinstance(n.stmt, ast.Simple) and n.kind == "stmt"} & ops


class KernelLowering:
    # provided by lower._Lowering
    d: Design
    vars: list[Var]
    trans: list[Transition]
    props: list[StateProp]
    requests: list[Request]
    waits: list[Wait]
    layout: Layout
    pics: dict[str, Pic8259]
    cpus: list[CpuState]
    incs: list[Incarnation]
    tasks: list[Task]
    maxdepth: int
    c: CpuState
    cpu: int
    group: str
    IF: int
    depth: int
    pc: int
    saved_pc: list[int]
    cur: int | None

    if TYPE_CHECKING:
        def var(self, nm: str, size: int, init: int = 0, kind: str = "int", names: tuple[str, ...] = (),
                width: int = 8) -> int: ...

        def add(self, label: Label, guard: Expr, updates: dict[int, Expr], group: str | None,
                violates: tuple[tuple[str, str], ...] | list[tuple[str, str]] = (),
                extra_fair: tuple[str, ...] = ()) -> None: ...

        def enabled(self, check: str) -> bool: ...

        def cond(self, e: ast.Expr, inc: Incarnation | None) -> Expr: ...

        def running(self, ti: int) -> Expr: ...

        def push(self, d: int, inc: Incarnation, ret: dict[int, Expr] | None) -> dict[int, Expr]: ...

    # ---- incarnations and tasks -------------------------------------------------------------
    def kernel_incarnations(self, comp: Compiler) -> list[Incarnation]:
        out: list[Incarnation] = []
        for n, irq in sorted(self.d.irqs.items()):
            pic = self.pics[irq.pic]
            level = any(dv.level for dv in self.d.devices.values()
                        if dv.kind == "pic" and dv.pic == irq.pic and dv.input == irq.input)
            flow = "handle_level_irq" if level else "handle_edge_irq"
            actions: list[tuple[CodeInfo | None, str]] = []
            for a in irq.actions:
                if a.handler is None:
                    actions.append((None, "irq_default_primary_handler: return IRQ_WAKE_THREAD"))
                else:
                    actions.append((self.d.code[a.handler], f"return IRQ_HANDLED (end of {a.handler})"))
            body = comp.compile_flow(f"irq{n}", flow, actions, irq.actions[0].line)
            out.append(Incarnation(pic.info.base + irq.input, GateInfo(flow, False, 0), body, False, pic,
                                   irq.input, None, kind="flow", irq=irq))
        soft = [c for c in self.d.code.values() if c.kind in ("softirq", "tasklet")]
        for k, code in enumerate(soft):
            body = comp.compile(code, "iret")
            body.nodes[0].text = f"end of {code.kind} {code.name}"
            out.append(Incarnation(256 + k, GateInfo(code.name, True, 0), body, kind=code.kind, code=code))
        return out

    def compile_tasks(self, comp: Compiler) -> list[tuple[CodeInfo, Body]]:
        out: list[tuple[CodeInfo, Body]] = []
        for c in self.d.code.values():
            if c.kind == "thread":
                out.append((c, comp.compile(c, "end")))
            elif c.kind == "irq_thread":
                irq = self.irq_of_thread(c.name)
                done = f"irq thread {c.name} returns"
                if irq is not None and irq.oneshot:
                    done += f": unmask IRQ {irq.irq} (IRQF_ONESHOT)"
                out.append((c, comp.compile_task(c, done)))
            elif c.kind == "work":
                out.append((c, comp.compile_task(c)))
        return out

    def irq_of_thread(self, name: str) -> IrqLine | None:
        for irq in self.d.irqs.values():
            if any(a.thread == name for a in irq.actions):
                return irq
        return None

    # ---- variables ---------------------------------------------------------------------------
    def owner_names(self) -> tuple[str, ...]:
        names = ["free"] + [t.label for t in self.tasks]
        for c in range(self.d.cpus):
            names += [f"cpu{c} frame {k}" for k in range(1, self.maxdepth + 1)]
        return tuple(names)

    def frame_owner_base(self, cpu: int) -> int:
        """The lock-owner number of the frame at depth 1 on `cpu` (depth k: base + k - 1)."""
        return len(self.tasks) + 1 + cpu * self.maxdepth

    def kernel_vars(self) -> None:
        d = self.d
        names = self.owner_names()
        self.lock: dict[str, int] = {}
        self.lock_kind: dict[str, str] = {}
        for o in d.objects.values():
            if o.kind in ("spinlock", "mutex"):
                self.lock[o.name] = self.var(f"{o.name}.owner", len(names), 0, "enum", names)
                self.lock_kind[o.name] = o.kind
        self.softirqs = [c.name for c in d.code.values() if c.kind == "softirq"]
        self.tasklet: dict[str, tuple[int, int]] = {}
        for c in d.code.values():
            if c.kind == "tasklet":
                where = ("-",) + tuple(f"cpu{k}" for k in range(d.cpus))
                self.tasklet[c.name] = (self.var(f"{c.name}.scheduled", d.cpus + 1, 0, "enum", where),
                                        self.var(f"{c.name}.running", 2, 0, "bool"))
        self.desc: dict[int, Descriptor] = {}
        ops = self.all_ops()
        for n, irq in sorted(d.irqs.items()):
            pic = self.pics[irq.pic]
            level = any(dv.level for dv in d.devices.values()
                        if dv.kind == "pic" and dv.pic == irq.pic and dv.input == irq.input)
            disables = self.occurrences(DISABLE_OPS, n)
            freed = self.var(f"irq{n}.freed", 2, 0, "bool") if ("free_irq", n) in ops else None
            self.desc[n] = Descriptor(
                irq, self.var(f"irq{n}.inprogress", 2, 0, "bool"), self.var(f"irq{n}.pending", 2, 0, "bool"),
                self.var(f"irq{n}.depth", disables + 1, 0),
                self.var(f"irq{n}.ret", 2 << sum(1 for a in irq.actions if a.thread is not None), 0, "hidden"),
                freed, pic, level)

    def occurrences(self, ops: tuple[str, ...], arg: int) -> int:
        """Locations of every task and incarnation that run one of `ops` on IRQ `arg`."""
        return sum(_count(b, ops, arg) for b in [t.body for t in self.tasks] + [inc.body for inc in self.incs])

    def count_up(self, v: int, guard: Expr, what: str, line: int, ups: dict[int, Expr]) -> list[Effect]:
        """Counter v + 1, sized exactly from the model (`_count`): below the top it counts; at the
        top the step keeps the value and is tagged as a model bound, so every check it could
        affect says inconclusive instead of trusting a clamped count (no silent saturation)."""
        top = self.vars[v].size - 1
        return [(And(guard, Bin("<", V(v), C(top))), {**ups, v: Bin("+", V(v), C(1))}, []),
                (And(guard, Eq(V(v), C(top))), ups,
                 [(BOUND, f"{self.vars[v].name} reached the model's bound of {top} at {what} (line {line}): "
                          "a loop or a context that runs again nests it deeper than the code shows")])]

    def all_ops(self) -> set[tuple[str, int | str | None]]:
        out: set[tuple[str, int | str | None]] = set()
        for c in self.d.code.values():
            for st in ast.walk(c.body):
                if isinstance(st, ast.Simple):
                    a = st.arg
                    out.add((st.op, a.value if isinstance(a, ast.Num) else a.name if isinstance(a, ast.Name) else None))
        return out

    def task_vars(self, t: Task) -> None:
        nodes = t.body.nodes
        if any(n.kind in ("wait_prepare", "wait_sleep") for n in nodes):
            t.state = self.var(f"{t.code.name}.state", 2, 0, "enum", ("running", "sleeping"))
        used = _bits_set({"spin_lock_bh", "spin_unlock_bh", "local_bh_disable", "local_bh_enable"}, t.body)
        if used:
            t.bh = self.var(f"{t.code.name}.bh_disabled", _count(t.body, BH_OFF_OPS) + 1, 0)
        if _bits_set({"spin_lock_irqsave", "spin_unlock_irqrestore", "local_irq_save", "local_irq_restore"}, t.body):
            t.flags = self.var(f"{t.code.name}.saved_flags", 2, 0, "hidden")
            t.nsave = self.var(f"{t.code.name}.irq_saves", _count(t.body, SAVE_OPS) + 1, 0, "hidden")
        if t.code.kind == "irq_thread":
            t.wake = self.var(f"{t.code.name}.wake", 2, 0, "bool")
            t.irq = self.irq_of_thread(t.code.name)
        elif t.code.kind == "work":
            t.wake = self.var(f"{t.code.name}.pending", 2, 0, "bool")

    def cpu_vars(self, st: CpuState) -> None:
        if self.softirqs:
            st.softirq = self.var(f"cpu{st.index}.softirq_pending", 1 << len(self.softirqs), 0, "bits",
                                  tuple(self.softirqs), len(self.softirqs))
        saves = {"spin_lock_irqsave", "spin_unlock_irqrestore", "local_irq_save", "local_irq_restore"}
        if any(_bits_set(saves, inc.body) for inc in self.incs):
            most = max(_count(inc.body, SAVE_OPS) for inc in self.incs)
            for k in range(self.maxdepth):
                st.flags.append(self.var(f"cpu{st.index}.frame_flags[{k}]", 2, 0, "hidden"))
                st.nsave.append(self.var(f"cpu{st.index}.frame_saves[{k}]", most + 1, 0, "hidden"))

    # ---- task-level predicates -----------------------------------------------------------------
    def locs(self, body: Body, pred: Callable[[Node], bool]) -> set[int]:
        return {i for i, n in enumerate(body.nodes) if pred(n)}

    def holds_spinlock(self, owner: Expr) -> Expr:
        return Or(*[Eq(V(v), owner) for nm, v in self.lock.items() if self.lock_kind[nm] == "spinlock"])

    def task_done(self, t: Task) -> Expr:
        done = Eq(V(t.pc), C(0))
        return done if t.wake is None else And(done, Eq(V(t.wake), C(0)))

    def queue_sleeping(self, t: Task) -> Expr:
        if t.state is None:
            return FALSE
        return And(In(V(t.pc), self.locs(t.body, lambda n: n.kind == "wait_sleep")), Eq(V(t.state), C(1)))

    def task_blocked(self, t: Task) -> Expr:
        """Asleep: on a wait queue, on a mutex someone holds, or in synchronize_irq."""
        parts = [self.queue_sleeping(t)]
        for i, n in enumerate(t.body.nodes):
            st = n.stmt
            if n.kind == "stmt" and isinstance(st, ast.Simple) and st.op == "mutex_lock":
                assert isinstance(st.arg, ast.Name)
                parts.append(And(Eq(V(t.pc), C(i)), Not(Eq(V(self.lock[st.arg.name]), C(0)))))
            elif n.kind == "sync_wait" and isinstance(st, ast.Simple):
                assert isinstance(st.arg, ast.Num)
                parts.append(And(Eq(V(t.pc), C(i)), Not(self.irq_idle(self.desc[st.arg.value]))))
        return Or(*parts)

    def task_bh(self, t: Task) -> Expr:
        return C(0) if t.bh is None else V(t.bh)

    def task_yields(self, t: Task) -> Expr:
        preemptible = And(Eq(V(self.IF), C(1)), Eq(self.task_bh(t), C(0)), Not(self.holds_spinlock(C(t.ident))))
        return Or(self.task_done(t), self.task_blocked(t), preemptible)

    def task_runnable(self, t: Task) -> Expr:
        return And(Not(self.task_done(t)), Not(self.task_blocked(t)))

    def task_unfinished(self, t: Task) -> Expr:
        busy = And(Not(Eq(V(t.pc), C(0))), Not(self.queue_sleeping(t)))
        return busy if t.wake is None else Or(busy, Eq(V(t.wake), C(1)))

    def lower_task_wake(self, ti: int, t: Task) -> None:
        if t.wake is None:
            return
        what = "woken (IRQTF_RUNTHREAD): runs" if t.code.kind == "irq_thread" else "a worker runs it"
        self.add(Label(t.label, what, t.code.line, self.cpu, "thread"),
                 And(Eq(V(t.pc), C(0)), self.running(ti), Eq(V(t.wake), C(1))),
                 {t.wake: C(0), t.pc: C(t.body.entry)}, self.group)

    # ---- softirq and tasklet runs ----------------------------------------------------------------
    def lower_soft_entries(self) -> None:
        """D1/D2: at task level, with BH enabled and IRQs on (irq exit, local_bh_enable, ksoftirqd)."""
        soft = [inc for inc in self.incs if inc.kind in ("softirq", "tasklet")]
        if not soft:
            return
        allows: Expr = TRUE
        if self.c.tasks:
            opts = []
            for ti, t in enumerate(self.c.tasks):
                ok = Or(And(Eq(V(self.IF), C(1)), Eq(self.task_bh(t), C(0))), self.task_done(t), self.task_blocked(t))
                opts.append(ok if self.cur is None else And(Eq(V(self.cur), C(ti)), ok))
            allows = Or(*opts)
        base = And(Eq(V(self.depth), C(0)), allows)
        for inc in soft:
            assert inc.code is not None
            ups = self.push(0, inc, None)
            ups[self.IF] = C(1)
            if inc.kind == "softirq":
                assert self.c.softirq is not None
                k = self.softirqs.index(inc.code.name)
                g = And(base, Eq(Bin("&", V(self.c.softirq), C(1 << k)), C(1 << k)))
                ups[self.c.softirq] = Bin("&", V(self.c.softirq), C(((1 << len(self.softirqs)) - 1) ^ (1 << k)))
                what = f"run softirq {inc.code.name} (irq exit / local_bh_enable / ksoftirqd)"
            else:
                sched, running = self.tasklet[inc.code.name]
                g = And(base, Eq(V(sched), C(self.cpu + 1)), Eq(V(running), C(0)))
                ups[sched] = C(0)
                ups[running] = C(1)
                what = f"run tasklet {inc.code.name} (TASKLET_SOFTIRQ)"
            self.add(Label(f"cpu{self.cpu}", what, inc.code.line, self.cpu, "entry"), g, ups, self.group)

    def flow_not_serving(self, inc: Incarnation) -> Expr:
        """A level request that a handler or a oneshot thread is already serving is not waiting."""
        assert inc.irq is not None
        dsc = self.desc[inc.irq.irq]
        parts = [Eq(V(dsc.inprogress), C(0))]
        for a in inc.irq.actions:
            t = next((t for t in self.tasks if t.code.name == a.thread), None)
            if t is not None and a.oneshot and t.wake is not None:
                parts += [Eq(V(t.wake), C(0)), Eq(V(t.pc), C(0))]
        return And(*parts)

    def frame_exit_updates(self, inc: Incarnation) -> dict[int, Expr]:
        if inc.kind == "tasklet":
            assert inc.code is not None
            return {self.tasklet[inc.code.name][1]: C(0)}
        return {}

    # ---- statements ---------------------------------------------------------------------------
    def lower_kernel_node(self, node: Node, ctx: Context, goto: Callable[[int], dict[int, Expr]],
                          lab: Callable[..., Label]) -> bool:
        st = node.stmt
        if node.kind not in KERNEL_NODES and not (node.kind == "stmt" and isinstance(st, ast.Simple)
                                                   and st.op in KERNEL_STMTS):
            return False
        label = lab(node.text)
        here = ctx.here
        g = self.group
        nxt = goto(node.next)
        kind = node.kind
        if kind == "wait_prepare":
            ups = dict(nxt)
            if ctx.task is not None and ctx.task.state is not None:
                ups[ctx.task.state] = C(1)
            for guard, tags in self.sleep_variants(ctx, node.text.split(":")[0]):
                self.add(label, And(here, guard), ups, g, tags)
        elif kind == "wait_test":
            assert node.cond is not None
            c = self.cond(node.cond, ctx.inc)
            ups = dict(nxt)
            if ctx.task is not None and ctx.task.state is not None:
                ups[ctx.task.state] = C(0)
            self.add(lab(node.text + "  (true: stop waiting)"), And(here, c), ups, g)
            self.add(lab(node.text + "  (false)"), And(here, Not(c)), goto(node.alt), g)
        elif kind == "wait_sleep":
            if ctx.task is not None and ctx.task.state is not None:  # a frame that sleeps never wakes
                self.add(lab(node.text.split(":")[0] + ": woken"), And(here, Eq(V(ctx.task.state), C(0))), nxt, g)
        elif kind == "sync_wait":
            assert isinstance(st, ast.Simple) and isinstance(st.arg, ast.Num)
            dsc = self.desc[st.arg.value]
            waits: list[tuple[Expr, list[tuple[str, str]]]] = [(TRUE, [])]
            if st.op != "disable_irq":  # disable_irq's sleep is judged at its first step
                waits = self.sleep_variants(ctx, f"{st.op} {st.arg.value}")
            for guard, vio in waits:
                self.add(label, And(here, guard, self.irq_idle(dsc)), nxt, g, vio)
        elif kind in ("flow_entry", "flow_done", "flow_end"):
            assert ctx.inc is not None and ctx.inc.irq is not None
            self.lower_flow(node, ctx, goto, label)
        elif kind == "thread_done":
            ups = dict(nxt)
            t = ctx.task
            if t is not None and t.irq is not None and t.irq.oneshot:
                dsc = self.desc[t.irq.irq]
                ups.update(self.unmask(dsc, self.may_unmask(dsc)))
            self.add(label, here, ups, g)
        else:
            assert isinstance(st, ast.Simple)
            self.lower_kernel_stmt(st, node, ctx, nxt, label)
        return True

    def lower_kernel_stmt(self, st: ast.Simple, node: Node, ctx: Context, nxt: dict[int, Expr], label: Label) -> None:
        op, arg = st.op, st.arg
        here, g = ctx.here, self.group
        ups = dict(nxt)
        if op in ACQUIRE_OPS:
            assert isinstance(arg, ast.Name)
            self.lower_acquire(op, arg.name, node, ctx, nxt, label)
        elif op in RELEASE_OPS:
            assert isinstance(arg, ast.Name)
            v = self.lock[arg.name]
            ups[v] = C(0)
            eff = self.irq_effects(op, ctx, node.line)
            for guard, e, bound in eff:
                u = dict(ups)
                u.update(e)
                self.add(label, And(here, guard, Eq(V(v), ctx.owner)), u, g, bound)
                bad = dict(nxt)
                bad.update(e)
                self.add(label, And(here, guard, Not(Eq(V(v), ctx.owner))), bad, g,
                         [("lockdep", f"bad unlock balance: {ctx.who} releases {arg.name}, which it does not hold "
                                      f"(line {node.line})")] + bound)
        elif op in ("local_irq_save", "local_irq_restore", "local_bh_disable", "local_bh_enable"):
            for guard, e, bound in self.irq_effects(op, ctx, node.line):
                u = dict(ups)
                u.update(e)
                self.add(label, And(here, guard), u, g, bound)
        elif op == "sleep":
            for guard, tags in self.sleep_variants(ctx, "sleep"):
                self.add(label, And(here, guard), ups, g, tags)
        elif op == "wake_up":
            assert isinstance(arg, ast.Name)
            for t in self.tasks:
                if t.state is None:
                    continue
                qlocs = self.locs(t.body, lambda n, q=arg.name: n.kind.startswith("wait_") and  # type: ignore[misc]
                                  self.queue_of(n) == q)
                if qlocs:
                    ups[t.state] = Ite(In(V(t.pc), qlocs), C(0), V(t.state))
            self.add(label, here, ups, g)
        elif op == "raise_softirq":
            assert isinstance(arg, ast.Name)
            cpu = self.cpus[ctx.task.cpu] if ctx.task is not None else self.c
            assert cpu.softirq is not None
            ups[cpu.softirq] = Bin("|", V(cpu.softirq), C(1 << self.softirqs.index(arg.name)))
            self.add(label, here, ups, g)
        elif op == "tasklet_schedule":
            assert isinstance(arg, ast.Name)
            sched = self.tasklet[arg.name][0]
            cpu_n = ctx.task.cpu if ctx.task is not None else self.cpu
            ups[sched] = Ite(Eq(V(sched), C(0)), C(cpu_n + 1), V(sched))
            self.add(label, here, ups, g)
        elif op == "queue_work":
            assert isinstance(arg, ast.Name)
            w = next(t for t in self.tasks if t.code.name == arg.name)
            assert w.wake is not None
            ups[w.wake] = C(1)
            self.add(label, here, ups, g)
        elif op == "return":
            assert isinstance(arg, ast.Name) and ctx.inc is not None
            dsc = self.desc[ctx.inc.irq.irq] if ctx.inc.irq else None
            assert dsc is not None
            bit = self.wake_bit(dsc, node.action) if arg.name == "wake_thread" else int(arg.name == "handled")
            if bit:
                ups[dsc.ret] = Bin("|", V(dsc.ret), C(bit))
            self.add(label, here, ups, g)
        else:
            assert isinstance(arg, ast.Num)
            self.lower_irq_call(op, arg.value, ctx, nxt, label)

    @staticmethod
    def queue_of(n: Node) -> str | None:
        st = n.stmt
        if isinstance(st, ast.Wait):
            return st.queue.name
        if isinstance(st, ast.Simple) and isinstance(st.arg, ast.Name):
            return st.arg.name
        return None

    # -- IRQ flags and BH (K1)
    def irq_effects(self, op: str, ctx: Context, line: int = 0) -> list[Effect]:
        """(guard, updates, tags) of what `op` does to IF and the BH count, per frame depth where it
        matters. The saved-IF stack of local_irq_save/spin_lock_irqsave is kept as the outermost
        saved IF plus the nesting count: only the outermost save saves IF (the inner ones see IF
        off), only the last restore restores it. Both counts are exact (`count_up`)."""
        IF = self.IF
        if op in ("spin_lock_irq",):
            return [(TRUE, {IF: C(0)}, [])]
        if op == "spin_unlock_irq":
            return [(TRUE, {IF: C(1)}, [])]
        if op in ("spin_lock_bh", "local_bh_disable", "spin_unlock_bh", "local_bh_enable"):
            t = ctx.task
            if t is None or t.bh is None:
                return [(TRUE, {}, [])]  # softirq and hardirq context: BH is already off
            if op in BH_OFF_OPS:
                return self.count_up(t.bh, TRUE, op, line, {})
            return [(TRUE, {t.bh: Ite(Bin(">", V(t.bh), C(0)), Bin("-", V(t.bh), C(1)), C(0))}, [])]
        if op in ("spin_lock_irqsave", "local_irq_save", "spin_unlock_irqrestore", "local_irq_restore"):
            save = op in SAVE_OPS
            slots: list[tuple[Expr, int, int]] = []
            if ctx.task is not None:
                if ctx.task.flags is not None and ctx.task.nsave is not None:
                    slots.append((TRUE, ctx.task.flags, ctx.task.nsave))
            else:
                for k, (fv, nv) in enumerate(zip(self.c.flags, self.c.nsave, strict=True)):
                    slots.append((Eq(V(self.depth), C(k + 1)), fv, nv))
            out: list[Effect] = []
            for guard, fv, nv in slots:
                n = V(nv)
                if save:
                    out += self.count_up(nv, guard, op, line, {fv: Ite(Eq(n, C(0)), V(IF), V(fv)), IF: C(0)})
                else:
                    last = Bin("<=", n, C(1))
                    out.append((guard, {IF: Ite(last, V(fv), C(0)), fv: Ite(last, C(0), V(fv)),
                                        nv: Ite(Bin(">", n, C(0)), Bin("-", n, C(1)), C(0))}, []))
            return out or [(TRUE, {IF: C(0)} if save else {}, [])]
        return [(TRUE, {}, [])]

    # -- sleeping (D4)
    def sleep_variants(self, ctx: Context, what: str) -> list[tuple[Expr, list[tuple[str, str]]]]:
        if not self.enabled("no_sleep_in_atomic"):
            return [(TRUE, [])]
        bug = f"BUG: sleeping function called from invalid context: {what} in {ctx.who}"
        if ctx.kind != "task":
            return [(TRUE, [("no_sleep_in_atomic", f"{bug}, {ctx.kind} context")])]
        t = ctx.task
        assert t is not None
        irqs_on = Eq(V(self.IF), C(1))
        held = [(nm, Eq(V(v), C(t.ident))) for nm, v in self.lock.items() if self.lock_kind[nm] == "spinlock"]
        out: list[tuple[Expr, list[tuple[str, str]]]] = [(Not(irqs_on), [("no_sleep_in_atomic",
                                                                           f"{bug}, with IRQs disabled")])]
        free = irqs_on
        for nm, h in held:
            out.append((And(free, h), [("no_sleep_in_atomic", f"{bug}, holding spinlock {nm}")]))
            free = And(free, Not(h))
        if t.bh is not None:
            out.append((And(free, Bin(">", V(t.bh), C(0))), [("no_sleep_in_atomic", f"{bug}, with BH disabled")]))
            free = And(free, Eq(V(t.bh), C(0)))
        out.append((free, []))
        return out

    # -- acquiring a lock, with lockdep's facts (K4, K5)
    def context_locks(self, ctx: Context) -> set[str]:
        body = ctx.task.body if ctx.task is not None else ctx.inc.body if ctx.inc is not None else None
        if body is None:
            return set()
        return {n.stmt.arg.name for n in body.nodes if isinstance(n.stmt, ast.Simple) and n.stmt.op in ACQUIRE_OPS
                and isinstance(n.stmt.arg, ast.Name)}

    def lower_acquire(self, op: str, lk: str, node: Node, ctx: Context, nxt: dict[int, Expr], label: Label) -> None:
        v = self.lock[lk]
        base = And(ctx.here, Eq(V(v), C(0)))
        variants: list[list[tuple[Expr, list[tuple[str, str]]]]] = []
        if op == "mutex_lock":
            variants.append(self.sleep_variants(ctx, f"mutex_lock {lk}"))
        effects = self.irq_effects(op, ctx, node.line)
        lockdep = self.enabled("lockdep")
        if lockdep:
            irq_off = op in IRQ_OFF_OPS
            usage: list[tuple[Expr, list[tuple[str, str]]]] = []
            where = f"{node.line}|{ctx.who}"
            fact = self.fact_tag
            for on in (1, 0):
                g_if = Eq(V(self.IF), C(on))
                facts: list[str] = []
                if ctx.kind == "hardirq":
                    facts.append(f"use|{lk}|IN-HARDIRQ|{where}")
                elif ctx.kind == "softirq":
                    facts.append(f"use|{lk}|IN-SOFTIRQ|{where}")
                if on and not irq_off:
                    facts.append(f"use|{lk}|HARDIRQ-ON|{where}")
                if on and not irq_off and ctx.kind == "task" and op != "spin_lock_bh":
                    t = ctx.task
                    assert t is not None
                    if t.bh is None:
                        facts.append(f"use|{lk}|SOFTIRQ-ON|{where}")
                    else:
                        usage.append((And(g_if, Eq(V(t.bh), C(0))),
                                      [fact(f) for f in facts + [f"use|{lk}|SOFTIRQ-ON|{where}"]]))
                        g_if = And(g_if, Bin(">", V(t.bh), C(0)))
                usage.append((g_if, [fact(f) for f in facts]))
            variants.append(usage)
            # one variant per other lock the context may hold (they overlap when it holds several: the
            # same successor twice, harmless), and one for holding none: linear in the number of locks
            others = sorted(self.context_locks(ctx) - {lk})
            holds = [Eq(V(self.lock[a]), ctx.owner) for a in others]
            held: list[tuple[Expr, list[tuple[str, str]]]] = [(And(*[Not(h) for h in holds]), [])]
            held += [(h, [fact(f"dep|{a}|{lk}|{where}")]) for a, h in zip(others, holds, strict=True)]
            variants.append(held)
        for guard_e, eff, bound in effects:
            for combo2 in itertools.product(*variants) if variants else [()]:
                guard = And(base, guard_e, *[c[0] for c in combo2])
                if guard == FALSE:
                    continue
                tags = [t for c in combo2 for t in c[1]] + bound
                ups = dict(nxt)
                ups.update(eff)
                ups[v] = ctx.owner
                self.add(label, guard, ups, self.group, tags)

    def fact_tag(self, key: str) -> tuple[str, str]:
        return (FACT, key)

    # -- genirq calls (L5, L6)
    def irq_threads(self, dsc: Descriptor) -> list[Task]:
        names = {a.thread for a in dsc.irq.actions if a.thread}
        return [t for t in self.tasks if t.code.name in names]

    def irq_idle(self, dsc: Descriptor) -> Expr:
        """synchronize_irq's condition: no handler runs and no thread of the line is woken or running."""
        parts = [Eq(V(dsc.inprogress), C(0))]
        for t in self.irq_threads(dsc):
            assert t.wake is not None
            parts += [Eq(V(t.wake), C(0)), Eq(V(t.pc), C(0))]
        return And(*parts)

    def lower_irq_call(self, op: str, n: int, ctx: Context, nxt: dict[int, Expr], label: Label) -> None:
        dsc = self.desc[n]
        here, g = ctx.here, self.group
        dv = V(dsc.depth)
        ups = dict(nxt)
        if op in DISABLE_OPS:
            tags = self.sleep_variants(ctx, f"disable_irq {n}") if op == "disable_irq" else [(TRUE, [])]
            for guard, vio in tags:
                for guard2, u, bound in self.count_up(dsc.depth, guard, f"{op} {n}", label.line, ups):
                    self.add(label, And(here, guard2), u, g, vio + bound)
        elif op == "enable_irq":
            self.add(label, And(here, Eq(dv, C(0))), ups, g,
                     [("eoi_balanced", f"WARNING: Unbalanced enable for IRQ {n}: enable_irq at depth 0 (L5)")])
            self.add(label, And(here, Bin(">", dv, C(1))), {**ups, dsc.depth: Bin("-", dv, C(1))}, g)
            last = {**ups, dsc.depth: C(0)}
            last.update(self.unmask(dsc, TRUE if dsc.freed is None else Eq(V(dsc.freed), C(0))))
            if not dsc.level:  # a pending edge is resent once (check_irq_resend)
                pic, bit = dsc.pic, 1 << dsc.irq.input
                resend = {**last, dsc.pending: C(0), pic.irr: Bin("|", V(pic.irr), C(bit))}
                latched = Eq(Bin("&", V(pic.irr), C(bit)), C(bit))
                rlabel = Label(label.actor, label.action + ": resend the pending edge", label.line, label.cpu,
                               label.context)
                self.add(rlabel, And(here, Eq(dv, C(1)), Eq(V(dsc.pending), C(1)), Not(latched)), resend, g)
                self.add(rlabel, And(here, Eq(dv, C(1)), Eq(V(dsc.pending), C(1)), latched), resend, g,
                         [("no_lost_irq", f"IRQ {n}: the PENDING edge resent by enable_irq merges with an edge "
                                          f"already latched in {pic.name}.IRR[{dsc.irq.input}]: one of them is lost")])
                self.add(label, And(here, Eq(dv, C(1)), Eq(V(dsc.pending), C(0))), last, g)
            else:
                self.add(label, And(here, Eq(dv, C(1))), last, g)
        elif op == "free_irq":
            if dsc.freed is not None:
                ups[dsc.freed] = C(1)
            pic, bit = dsc.pic, 1 << dsc.irq.input
            assert pic.imr is not None
            ups[pic.imr] = Bin("|", V(pic.imr), C(bit))
            self.add(label, here, ups, g)
        else:  # pragma: no cover - synchronize_irq is a sync_wait node only
            raise AssertionError(op)

    def vars_size(self, i: int) -> int:
        return self.vars[i].size

    # -- the flow handler (L2, L3, L8, L9)
    def mask(self, dsc: Descriptor) -> dict[int, Expr]:
        imr = dsc.pic.imr
        assert imr is not None
        return {imr: Bin("|", V(imr), C(1 << dsc.irq.input))}

    def unmask(self, dsc: Descriptor, when: Expr) -> dict[int, Expr]:
        imr = dsc.pic.imr
        assert imr is not None
        return {imr: Ite(when, Bin("&", V(imr), C(0xFF ^ (1 << dsc.irq.input))), V(imr))}

    def may_unmask(self, dsc: Descriptor) -> Expr:
        return And(Eq(V(dsc.depth), C(0)), TRUE if dsc.freed is None else Eq(V(dsc.freed), C(0)))

    def ack(self, dsc: Descriptor) -> dict[int, Expr]:
        """The chip's ack: a specific EOI for the line (and the master's cascade input)."""
        pic = dsc.pic
        out: dict[int, Expr] = {}
        if pic.isr is not None:
            out[pic.isr] = Bin("&", V(pic.isr), C(0xFF ^ (1 << dsc.irq.input)))
        if pic.info.cascade is not None:
            master = self.pics[pic.info.cascade[0]]
            if master.isr is not None:
                out[master.isr] = Bin("&", V(master.isr), C(0xFF ^ (1 << pic.info.cascade[1])))
        return out

    def lower_flow(self, node: Node, ctx: Context, goto: Callable[[int], dict[int, Expr]], label: Label) -> None:
        assert ctx.inc is not None and ctx.inc.irq is not None
        dsc = self.desc[ctx.inc.irq.irq]
        n = dsc.irq.irq
        here, g = ctx.here, self.group
        busy, pend, depth = V(dsc.inprogress), V(dsc.pending), V(dsc.depth)
        disabled = Or(Bin(">", depth, C(0)), FALSE if dsc.freed is None else Eq(V(dsc.freed), C(1)))
        oneshot = dsc.irq.oneshot

        def lab(text: str) -> Label:
            return Label(label.actor, text, label.line, label.cpu, label.context)

        if node.kind == "flow_entry":
            ack = self.ack(dsc)
            run = {**goto(node.next), **ack, dsc.inprogress: C(1), dsc.pending: C(0)}
            if dsc.level or oneshot:
                run.update(self.mask(dsc))
            if dsc.level:
                masked_ack = {**goto(node.alt), **ack, **self.mask(dsc)}
                self.add(lab(f"{label.action} (mask+ack): IRQ {n} in progress on another CPU: leave it masked"),
                         And(here, Eq(busy, C(1))), masked_ack, g)
                self.add(lab(f"{label.action} (mask+ack): IRQ {n} disabled: mark PENDING, leave it masked"),
                         And(here, Eq(busy, C(0)), disabled), {**masked_ack, dsc.pending: C(1)}, g)
                self.add(lab(f"{label.action} (mask+ack), run the handlers"), And(here, Eq(busy, C(0)), Not(disabled)),
                         run, g)
                return
            blocked = Or(Eq(busy, C(1)), disabled)
            away = {**goto(node.alt), **ack, **self.mask(dsc), dsc.pending: C(1)}
            text = f"{label.action}: IRQ {n} disabled or in progress elsewhere: set PENDING, mask"
            self.add(lab(text), And(here, blocked, Eq(pend, C(0))), away, g)
            self.add(lab(text), And(here, blocked, Eq(pend, C(1))), away, g,
                     [("no_lost_irq", f"IRQ {n}: an edge arrived while genirq PENDING was already set: the two "
                                      "arrivals give one run (L3)")])
            self.add(lab(f"{label.action}, run the handlers"), And(here, Not(blocked)), run, g)
        elif node.kind == "flow_done":
            a = dsc.irq.actions[node.action]
            bit = self.wake_bit(dsc, node.action) if a.handler is None else 1
            self.add(label, here, {**goto(node.next), dsc.ret: Bin("|", V(dsc.ret), C(bit))}, g)
        else:
            self.lower_flow_end(node, ctx, goto, dsc, disabled)

    @staticmethod
    def wake_bit(dsc: Descriptor, action: int) -> int:
        """The bit of `irq{n}.ret` that records "action returned IRQ_WAKE_THREAD": bit 0 is "some
        action returned IRQ_HANDLED", bit 1 + j the j-th action that has a thread. The bits are
        OR-ed in by each action's `return` (or its end), so the variable has 2^(1 + threads) values,
        not one per combination of every action's result."""
        j = sum(1 for a in dsc.irq.actions[:action] if a.thread is not None)
        return 2 << j

    def lower_flow_end(self, node: Node, ctx: Context, goto: Callable[[int], dict[int, Expr]], dsc: Descriptor,
                       disabled: Expr) -> None:
        """The flow handler's end (L2, L3, L8, L9): nobody cared, wake the threads asked for, re-run
        while PENDING, unmask. Transitions: one per set of woken threads while a line has at most
        NAMED_WAKES threads (the label names them), else a fixed few whose updates test the bits."""
        threaded = [(k, a) for k, a in enumerate(dsc.irq.actions) if a.thread is not None]
        full = (1 << len(threaded)) - 1
        self.flow_end_variant(node, ctx, goto, dsc, disabled, Eq(V(dsc.ret), C(0)), [], False, False)
        if len(threaded) <= NAMED_WAKES:
            for woken in range(full + 1):  # the order of the former one-transition-per-value lowering
                vals = {woken << 1, (woken << 1) | 1} - {0}
                self.flow_end_variant(node, ctx, goto, dsc, disabled, In(V(dsc.ret), vals),
                                      [(threaded[j][1].thread, TRUE) for j in range(len(threaded)) if woken >> j & 1],
                                      woken != 0, False)
        else:
            wakes = [(a.thread, Eq(Bit(V(dsc.ret), 1 + j), C(1))) for j, (_k, a) in enumerate(threaded)]
            anybody = Bin(">", V(dsc.ret), C(1))
            if dsc.irq.oneshot:  # IRQF_ONESHOT holds the line masked when a thread was woken
                self.flow_end_variant(node, ctx, goto, dsc, disabled, anybody, wakes, True, True)
                self.flow_end_variant(node, ctx, goto, dsc, disabled, Eq(V(dsc.ret), C(1)), [], False, False)
            else:
                self.flow_end_variant(node, ctx, goto, dsc, disabled, Not(Eq(V(dsc.ret), C(0))), wakes, False, True)

    def flow_end_variant(self, node: Node, ctx: Context, goto: Callable[[int], dict[int, Expr]], dsc: Descriptor,
                         disabled: Expr, when: Expr, wakes: list[tuple[str | None, Expr]], woke: bool,
                         generic: bool) -> None:
        """The end of the flow for the `ret` values `when` selects: `wakes` (a thread, the condition
        under which it is woken: TRUE, or its bit of `ret`); `woke`: some thread is woken (IRQF_ONESHOT
        keeps the line masked); `generic`: the label does not name the threads."""
        n = dsc.irq.irq
        here, g = ctx.here, self.group
        actor = ctx.who
        line = dsc.irq.actions[0].line
        base = And(here, when)
        ups: dict[int, Expr] = {dsc.ret: C(0)}
        words: list[str] = []
        for name, cond in wakes:
            t = next(t for t in self.tasks if t.code.name == name)
            assert t.wake is not None
            ups[t.wake] = C(1) if cond == TRUE else Ite(cond, C(1), V(t.wake))
            if not generic:
                words.append(f"wake {name}")
        if generic:
            words.append("wake the threads whose handlers returned IRQ_WAKE_THREAD")
        tags: list[tuple[str, str]] = []
        nobody = when == Eq(V(dsc.ret), C(0))
        if nobody:
            words.append("nobody cared: disable the line")
            tags.append(("no_lost_irq", f"irq {n}: nobody cared (every handler returned IRQ_NONE): the kernel "
                                        "disables the line and its later interrupts are never handled (L9)"))
            ups[dsc.depth] = Ite(Eq(V(dsc.depth), C(0)), C(1), V(dsc.depth))
            ups.update(self.mask(dsc))
        hold = dsc.irq.oneshot and woke
        done = {**ups, **goto(node.alt), dsc.inprogress: C(0)}
        if not nobody and not hold:
            done.update(self.unmask(dsc, Not(disabled)))
        what = "; ".join(words)
        if not dsc.level and not nobody:
            rerun = {**ups, **goto(node.next), dsc.pending: C(0)}
            if not hold:
                rerun.update(self.unmask(dsc, TRUE))
            again = And(Eq(V(dsc.pending), C(1)), Not(disabled))
            self.add(Label(actor, f"IRQ {n}: PENDING was set while the handlers ran: run them again (L3)"
                           + (f"; {what}" if what else ""), line, self.cpu, "handler"),
                     And(base, again), rerun, g, tags)
            self.add(Label(actor, f"IRQ {n} handlers done" + (f": {what}" if what else ""), line, self.cpu,
                           "handler"), And(base, Not(again)), done, g, tags)
        else:
            self.add(Label(actor, f"IRQ {n} handlers done" + (f": {what}" if what else "")
                           + (", line stays masked for the thread (IRQF_ONESHOT)" if hold else ""),
                           line, self.cpu, "handler"), base, done, g, tags)

    # ---- checks -------------------------------------------------------------------------------
    def contexts(self) -> list[tuple[int, Callable[[set[int], set[int]], Expr], str, int | None]]:
        """Every context slot: (owner number, at(task-locs, frame-locs) -> Expr, name, cpu)."""
        out: list[tuple[int, Callable[[set[int], set[int]], Expr], str, int | None]] = []
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

    def frame_locs(self, pred: Callable[[Node], bool]) -> set[int]:
        return {inc.base + i for inc in self.incs for i, n in enumerate(inc.body.nodes) if pred(n)}

    def kernel_checks(self) -> None:
        if self.enabled("no_data_race"):
            self.race_props()
        if self.enabled("no_deadlock") or self.enabled("lockdep"):
            self.lock_wait_props()
        if self.enabled("no_deadlock"):
            self.self_wait_props()
            self.thread_self_wait_props()
            self.waits.extend(context_waits(self))
        if self.enabled("no_sleep_in_atomic"):
            self.sleep_wait_props()
        if self.enabled("no_lost_wakeup"):
            self.lost_wakeup_requests()

    def race_props(self) -> None:
        for o in self.d.objects.values():
            if o.kind != "data":
                continue

            def acc(n: Node, ops: tuple[str, ...], nm: str = o.name) -> bool:
                st = n.stmt
                return n.kind == "stmt" and isinstance(st, ast.Simple) and st.op in ops and \
                    isinstance(st.arg, ast.Name) and st.arg.name == nm
            fr, fw = self.frame_locs(lambda n: acc(n, ("read",))), self.frame_locs(lambda n: acc(n, ("write",)))
            slots: list[tuple[Expr, Expr]] = []  # (reading, writing) per context slot
            for t in self.tasks:
                tr = self.locs(t.body, lambda n: acc(n, ("read",)))
                tw = self.locs(t.body, lambda n: acc(n, ("write",)))
                if tr or tw:
                    slots.append((In(V(t.pc), tr), In(V(t.pc), tw)))
            if fr or fw:
                for cpu in self.cpus:
                    for pcv in [cpu.pc] + cpu.saved_pc:
                        slots.append((In(V(pcv), fr), In(V(pcv), fw)))
            if not any(w != FALSE for _r, w in slots):
                continue
            pairs = [Or(And(w1, Or(r2, w2)), And(r1, w2)) for (r1, w1), (r2, w2) in itertools.combinations(slots, 2)]
            race = Or(*pairs)
            if race != FALSE:
                self.props.append(StateProp("no_data_race", Not(race),
                                            f"data race on {o.name}: two contexts can access it at once, at least one "
                                            "writing, with no common lock held", o.line))

    def acquire_locs(self, lk: str, spin_only: bool = False) -> tuple[dict[int, set[int]], set[int]]:
        ops = frozenset(SPIN_OPS) if spin_only else ACQUIRE_OPS

        def hit(n: Node) -> bool:
            st = n.stmt
            return n.kind == "stmt" and isinstance(st, ast.Simple) and st.op in ops and \
                isinstance(st.arg, ast.Name) and st.arg.name == lk
        return {t.ident: self.locs(t.body, hit) for t in self.tasks}, self.frame_locs(hit)

    def lock_wait_props(self) -> None:
        ctxs = self.contexts()
        waits: dict[tuple[str, str], Expr] = {}
        for lk, v in self.lock.items():
            tl, fl = self.acquire_locs(lk)
            selfspin = Or(*[And(Eq(V(v), C(ident)), at(tl.get(ident, set()), fl)) for ident, at, _n, _c in ctxs])
            if selfspin != FALSE:
                msg = f"{lk} is acquired again by the context that already holds it: it waits on itself for ever"
                if self.enabled("no_deadlock"):
                    self.props.append(StateProp("no_deadlock", Not(selfspin), f"AA deadlock: {msg}", 0))
                if self.enabled("lockdep"):
                    self.props.append(StateProp("lockdep", Not(selfspin),
                                                f"WARNING: possible recursive locking detected: {msg}\n"
                                                f"  CPU0\n  ----\n  lock({lk});\n  lock({lk});\n *** DEADLOCK ***", 0))
            for other, ov in self.lock.items():
                if other == lk:
                    continue
                # some context holds `other` and is at an acquisition of `lk`
                w = Or(*[And(Eq(V(ov), C(ident)), at(tl.get(ident, set()), fl)) for ident, at, _n, _c in ctxs])
                waits[(other, lk)] = w
        if not self.enabled("no_deadlock"):
            return
        for (a, b), w in waits.items():
            if a < b and w != FALSE and waits.get((b, a), FALSE) != FALSE:
                self.props.append(StateProp("no_deadlock", Not(And(w, waits[(b, a)])),
                                            f"ABBA deadlock: one context holds {a} and waits for {b} while another "
                                            f"holds {b} and waits for {a}", 0))
        for cpu in self.cpus:  # K3: a frame spins on a lock held by what it interrupted on its own CPU
            base = self.frame_owner_base(cpu.index)
            mine = {t.ident for t in cpu.tasks}
            for lk, v in self.lock.items():
                if self.lock_kind[lk] != "spinlock":
                    continue
                _tl, fl = self.acquire_locs(lk, spin_only=True)
                if not fl:
                    continue
                terms = [And(Eq(V(cpu.depth), C(d)), In(V(cpu.pc), fl), In(V(v), mine | set(range(base, base + d - 1))))
                         for d in range(1, self.maxdepth + 1)]
                bad = Or(*terms)
                if bad != FALSE:
                    self.props.append(StateProp(
                        "no_deadlock", Not(bad), f"cpu{cpu.index} spins for ever on {lk}: its holder is the context "
                        f"this interrupt preempted on the same CPU, which cannot run until the spinning frame returns "
                        f"(K3)", 0))

    def self_wait_props(self) -> None:
        """L6: disable_irq/free_irq/synchronize_irq of IRQ n inside IRQ n's own handler waits for itself."""
        for inc in self.incs:
            if inc.kind != "flow" or inc.irq is None:
                continue
            n = inc.irq.irq
            locs = {inc.base + i for i, nd in enumerate(inc.body.nodes) if nd.kind == "sync_wait"
                    and isinstance(nd.stmt, ast.Simple) and isinstance(nd.stmt.arg, ast.Num) and nd.stmt.arg.value == n}
            if not locs:
                continue
            ops = sorted({nd.stmt.op for nd in inc.body.nodes if nd.kind == "sync_wait" and
                          isinstance(nd.stmt, ast.Simple)})
            bad = Or(*[In(V(cpu.pc), locs) for cpu in self.cpus])
            self.props.append(StateProp("no_deadlock", Not(bad),
                                        f"{'/'.join(ops)} {n} inside IRQ {n}'s own handler waits for that handler to "
                                        f"finish, that is for itself (L6); use disable_irq_nosync", 0))

    def thread_self_wait_props(self) -> None:
        """synchronize_irq waits for the line's threads: from inside such a thread it waits for itself."""
        def waits_for(nd: Node, n: int) -> bool:
            return nd.kind == "sync_wait" and isinstance(nd.stmt, ast.Simple) and \
                isinstance(nd.stmt.arg, ast.Num) and nd.stmt.arg.value == n
        for n, dsc in self.desc.items():
            for t in self.irq_threads(dsc):
                locs = {i for i, nd in enumerate(t.body.nodes) if waits_for(nd, n)}
                if locs:
                    self.props.append(StateProp("no_deadlock", Not(In(V(t.pc), locs)),
                                                f"{t.label} waits in synchronize_irq {n} for the threads of IRQ {n}, "
                                                f"that is for itself (L6)", t.code.line))

    def sleep_wait_props(self) -> None:
        """A frame that reaches synchronize_irq/free_irq sleeps in atomic context even if the wait never ends."""
        for inc in self.incs:
            for i, nd in enumerate(inc.body.nodes):
                st = nd.stmt
                if nd.kind == "sync_wait" and isinstance(st, ast.Simple) and st.op in ("synchronize_irq", "free_irq"):
                    assert isinstance(st.arg, ast.Num)
                    where = "hardirq" if inc.hardirq else "softirq"
                    at = Or(*[Eq(V(c.pc), C(inc.base + i)) for c in self.cpus])
                    self.props.append(StateProp(
                        "no_sleep_in_atomic", Not(at), f"BUG: sleeping function called from invalid context: "
                        f"{st.op} {st.arg.value} in {inc.describe(False)}, {where} context", nd.line))

    def lost_wakeup_requests(self) -> None:
        for t in self.tasks:
            if t.state is None:
                continue
            for i, n in enumerate(t.body.nodes):
                if n.kind != "wait_sleep" or n.cond is None:
                    continue
                q = self.queue_of(n)
                pending = And(Eq(V(t.pc), C(i)), Eq(V(t.state), C(1)), self.cond(n.cond, None))
                self.requests.append(Request(
                    "no_lost_wakeup", f"{t.label} on {q}", pending, frozenset(),
                    f"{t.label} sleeps for ever on {q} although `{expr_text(n.cond)}` is true: the wake_up came "
                    f"before it slept (lost wake-up, W1)", n.line))

    def lockdep_judge(self) -> Callable[[Sequence[str]], list[FactViolation]] | None:
        if not self.enabled("lockdep") or not self.lock:
            return None
        return lockdep_judge
