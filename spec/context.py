"""The execution contexts the lowering builds: frames, tasks, CPUs, and how traces name them.

A CPU runs one *task* (process context: a thread, an irq thread, a workqueue
worker) at the bottom, and above it a stack of *frames*: hard-IRQ handlers
(entered through a gate or the genirq flow handler) and softirq/tasklet runs.
Frames are numbered by depth; their code shares one location numbering per CPU
(the incarnations' bodies laid end to end), so a frame's pc says which
incarnation it runs.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from ircheck.spec.cfg import Body, Node
from ircheck.spec.controllers.apic import LocalApic
from ircheck.spec.controllers.pic8259 import Pic8259
from ircheck.spec.design import Action, CodeInfo, IrqLine, Row, irq_name
from ircheck.spec.ts import Expr, Label
from ircheck.spec.x86 import GateInfo, name


@dataclass
class Incarnation:
    """One way into a frame's code: a gate vector (or spurious IR7), a genirq flow, a softirq or a tasklet."""

    vector: int
    gate: GateInfo
    body: Body
    spurious: bool = False
    pic: Pic8259 | None = None     # the 8259A whose input this vector is (or whose IR7, if spurious)
    input: int | None = None
    apic: LocalApic | None = None
    base: int = 0                  # offset of this body's locations in the CPU's frame pc numbering
    kind: str = "gate"             # gate | flow | probe (a probed line with no action, C2) | softirq | tasklet | timer | hrtimer (R7)
    irq: IrqLine | None = None     # flow: the Linux IRQ
    code: CodeInfo | None = None   # softirq/tasklet/timer/hrtimer: its code

    @property
    def hardirq(self) -> bool:
        return self.kind in ("gate", "flow", "hrtimer", "probe")

    def describe(self, single_pic: bool) -> str:
        if self.code is not None:  # softirq, tasklet, timer, hrtimer (a soft one: `hrtimer NAME`)
            return f"{self.code.kind} {self.code.name}"
        if self.kind == "probe" and self.pic is not None and self.input is not None:
            return f"{irq_name(self.pic.info, self.input, pin=not single_pic, word='irq')} probe stub"
        if self.kind == "probe":  # an I/O APIC pin's
            return f"vector {self.vector:#x} probe stub"
        if self.kind == "flow":
            assert self.irq is not None
            names = ", ".join(a.handler or "NULL" for a in self.irq.actions)
            return f"irq {self.irq.irq} {names}"
        if self.spurious and self.pic is not None:
            return f"spurious {irq_name(self.pic.info, 7, pin=not single_pic, word='irq')} {self.gate.handler}"
        if self.pic is not None and self.input is not None:
            return f"{irq_name(self.pic.info, self.input, pin=not single_pic, word='irq')} {self.gate.handler}"
        if self.apic is not None:
            return f"vector {self.vector:#x} {self.gate.handler}"
        if self.vector == 2:
            return f"nmi {self.gate.handler}"
        return f"{name(self.vector)} {self.gate.handler}" if self.vector < 32 else \
            f"int {self.vector:#x} {self.gate.handler}"


@dataclass
class Task:
    """A process-context task pinned to a CPU: its pc, and the kernel state it needs."""

    code: CodeInfo
    body: Body
    cpu: int
    ident: int                   # its lock-owner number (1-based; 0 = free)
    pc: int = -1                 # variable index
    state: int | None = None     # 0 running, 1 sleeping (only if it can sleep on a wait queue)
    bh: int | None = None        # local_bh_disable depth (only if its code disables BH)
    preempt: int | None = None   # preempt_disable depth (only if its code disables preemption)
    wake: int | None = None      # irq_thread: IRQTF_RUNTHREAD; work: PENDING (idle at pc 0 until set)
    irq: IrqLine | None = None   # irq_thread: the line, for IRQF_ONESHOT
    action: Action | None = None
    flags: int | None = None     # local_irq_save slot and nesting count
    nsave: int | None = None
    # R5/R6: per wait queue or completion it queues on explicitly, its entry: 0 not queued, 1 queued
    # (non-exclusive), 2 + r queued exclusive at rank r among the exclusive entries (0 = first)
    entries: dict[str, int] = field(default_factory=dict)
    woken: int | None = None     # R5/R6: 1 = the last timed wait ended by a wake-up, 0 = by its timeout

    @property
    def label(self) -> str:
        return {"thread": "thread", "irq_thread": "irq_thread", "work": "work"}[self.code.kind] + " " + self.code.name


@dataclass
class CpuState:
    """The variables of one CPU (X1, X2 and the kernel's per-CPU state)."""

    index: int
    IF: int
    depth: int
    pc: int
    saved_pc: list[int]
    saved_if: list[int]
    tasks: list[Task]
    cur: int | None
    softirq: int | None = None          # pending softirq bits
    flags: list[int] = field(default_factory=list)  # per frame depth: local_irq_save slot
    nsave: list[int] = field(default_factory=list)
    sti_shadow: int | None = None       # X1: 1 after an STI that set IF, until the CPU's next step

    @property
    def group(self) -> str:
        return f"cpu{self.index}"


@dataclass
class Context:
    """One location being lowered, as a value: who runs it, on which CPU, and where it goes.

    `here` is the guard "this context is at this location and running" (a frame: its pc on top of
    `cpu`'s stack; a task: its pc, no frame above it, and it is `cpu`'s current task); `owner` is the
    running context's lock-owner number; `goto(j)` the updates that move it to location j; `label`
    builds the label of a step at this location (kind: "handler", "thread", ...)."""

    kind: str                    # hardirq | softirq | task
    inc: Incarnation | None
    task: Task | None
    ti: int                      # the task's index on its CPU
    here: Expr
    owner: Expr                  # the running context's lock-owner number
    who: str                     # "handler nic_isr", "thread app", "softirq net_rx"
    cpu: CpuState
    node: Node
    goto: Callable[[int], dict[int, Expr]]
    label: Callable[..., Label]
    cpl: int = 0

    @property
    def nxt(self) -> dict[int, Expr]:
        """The updates that move past this location's statement."""
        return self.goto(self.node.next)

    @property
    def group(self) -> str:
        return self.cpu.group


@dataclass
class RwVars:
    """An rwlock's variables (R1): `writer` the writer's owner number (0: none); `readers` per context
    slot that may read it (owner number -> its read-nesting count): a task whose code reads it, and
    every frame slot when some frame's code does. The set of readers is the slots with count > 0."""

    writer: int
    readers: dict[int, int]


@dataclass
class SeqVars:
    """A seqcount's or seqlock's sequence (R2): `seq` its parity (1: odd, a writer is inside), and per
    context slot that may read it (owner number -> variable) the reader's state: 0 not in a `read_seq`
    block of it, 1 reading since an even sample, 2 reading and the sequence has changed since (its
    read_seqretry will retry)."""

    seq: int
    readers: dict[int, int]


@dataclass
class Descriptor:
    """The genirq state of one requested line (L2-L5, L9): variable indices."""

    irq: IrqLine
    inprogress: int
    pending: int
    depth: int
    ret: int
    freed: int | None
    level: bool           # the line's trigger (L5: a level IRQ's PENDING is not resent)
    edge_flow: bool       # the line's flow is handle_edge_irq (L3), else handle_level_irq (L2): L0
    fasteoi: bool = False  # the line's flow is handle_fasteoi_irq (L3b: an I/O APIC level pin)


# ---- presentation data: how explain.py names things ---------------------------------------

@dataclass
class CpuLayout:
    """Which variables make up one CPU, so traces can say who runs and what it interrupted."""

    index: int
    if_var: int
    depth_var: int
    pc_var: int
    saved_pc_vars: list[int]
    cur_var: int | None
    threads: list[tuple[str, int]]       # (task label, its pc variable); pc 0 = finished or idle
    frame_owner: list[str]               # frame pc value -> "irq 3 nic_isr"
    thread_cpl: list[int] = field(default_factory=list)


@dataclass
class Layout:
    cpus: list[CpuLayout] = field(default_factory=list)
    path: str = ""
    # C1: transition index -> (Linux IRQ, CPU) for every step that handles an interrupt as
    # kstat_irqs counts it (a counterexample's /proc/interrupts counts are read off its steps)
    handled: dict[int, tuple[int, int]] = field(default_factory=dict)
    # C1: the rows of /proc/interrupts (spec/interrupts.py `Row`), by IRQ
    rows: dict[int, Row] = field(default_factory=dict)
