"""The lowering's variables beyond the controllers': per object, per task, per CPU, per genirq line.

In the order they are created (the order is the state layout):

* per device with a finite budget `NAME.raises_left` (raises..0), per `on_kick` device `NAME.kicks`
  (0..KICK_CAP: kicks not yet answered by a raise); `nmi.*` (controllers/nmi.py);
* per flag/counter its value; `cpu0.shutdown` when a triple fault is possible;
* per lock `NAME.owner` (0 = free, tasks 1..T, then one number per CPU and frame depth);
  per tasklet `.scheduled` (0, or 1 + the CPU) and `.running`; per timer and hrtimer (R7) `.pending`
  (0, or 1 + the CPU whose timer base holds it) and `.running` (0, or 1 + the CPU its callback runs on);
  per requested line
  `irqN.inprogress`, `.pending`, `.depth` (0..`disable_depth_bound`), `.ret` (bit 0:
  IRQ_HANDLED, bit 1+j: the j-th threaded action asked for its thread), `.freed` if freed;
* per CPU: `IF`, `depth`, `pc`, `saved_pc[k]`, `saved_IF[k]`; then per task on it `pc`, and only
  what its code uses (`state` for wait queues, `bh_disabled`, `preempt_count`, the saved flags of
  local_irq_save and their nesting, `wake`/`pending` for irq threads and work); `cur` when the CPU
  has several tasks; then `softirq_pending` and the per-frame saved flags.

Every counter is sized exactly from the code (`count_sites`): at its top a step is a tagged bound.
"""

from __future__ import annotations

from ircheck.grammar import ast
from ircheck.spec.build import Builder
from ircheck.spec.cfg import Body
from ircheck.spec.context import CpuLayout, CpuState, Descriptor, Incarnation, Layout, RwVars, SeqVars, Task
from ircheck.spec.design import Design
from ircheck.spec.incarnations import flow_handler, irq_of_thread, line_sources
from ircheck.spec.language import (
    BH_OFF_OPS,
    BH_USES,
    ENTRY_OPS,
    EXCLUSIVE_OPS,
    PREEMPT_OFF_OPS,
    PREEMPT_USES,
    RW_READ_ACQUIRES,
    SAVE_OPS,
    SAVE_USES,
    STATEMENTS,
    TIMED_WAITS,
    TIMER_KINDS,
    Flags,
)

__all__ = ["BH_OFF_OPS", "BH_USES", "SAVE_OPS", "SAVE_USES"]  # the IF/BH users, read from spec/language.py

DISABLE_OPS = ("disable_irq", "disable_irq_nosync")
# X1: the statements whose inline `sti` may open the STI shadow over the next statement (irqflags.sti_shadow)
STI_USES = frozenset(s.keyword for s in STATEMENTS
                     if s.primitive == "irq_flags" and s.irq_flags in (Flags.ENABLE, Flags.RESTORE))


def count_sites(body: Body, ops: tuple[str, ...], arg: int | None = None) -> int:
    """How many locations of `body` run one of `ops` (on IRQ `arg`): on a path that passes each
    location once, the nesting those statements build is at most this many (a loop or a
    context that runs again can pass one twice: then the counter's top is a tagged bound).
    Only the statement's own step counts (disable_irq's `sync_wait` step changes no counter)."""
    return sum(1 for n in body.nodes if n.kind == "stmt" and isinstance(n.stmt, ast.Simple)
               and n.stmt.op in ops and (arg is None or (isinstance(n.stmt.arg, ast.Num) and n.stmt.arg.value == arg)))


def disable_depth_bound(d: Design, tasks: list[Task], incs: list[Incarnation], maxdepth: int, n: int) -> int:
    """The largest `irqN.depth` a run reaches while every disable site is passed once per context (L5):
    each task's sites once; an incarnation's sites once per frame it can have at a time (`cpus` CPUs,
    `maxdepth` frames each: a handler may run on every CPU and nest in itself). (Nobody cared adds
    no depth: L9 is a liveness request, `genirq_flow.nobody_cared_requests`.) A run past it is a
    tagged bound (K6)."""
    tasks_sites = sum(count_sites(t.body, DISABLE_OPS, n) for t in tasks)
    frame_sites = sum(count_sites(inc.body, DISABLE_OPS, n) for inc in incs)
    return tasks_sites + frame_sites * d.cpus * maxdepth


def ops_used(ops: frozenset[str], body: Body) -> set[str]:
    return {n.stmt.op for n in body.nodes if isinstance(n.stmt, ast.Simple) and n.kind == "stmt"} & ops


def all_ops(d: Design) -> set[tuple[str, int | str | None]]:
    out: set[tuple[str, int | str | None]] = set()
    for c in d.code.values():
        for st in ast.walk(c.body):
            if isinstance(st, ast.Simple):
                a = st.arg
                out.add((st.op, a.value if isinstance(a, ast.Num) else a.name if isinstance(a, ast.Name) else None))
    return out


def object_vars(d: Design, b: Builder) -> dict[str, int]:
    obj: dict[str, int] = {}
    for o in d.objects.values():
        if o.kind == "flag":
            obj[o.name] = b.var(o.name, 2, o.init, "bool")
        elif o.kind == "counter":
            obj[o.name] = b.var(o.name, o.max + 1, o.init)
    return obj


def completion_vars(d: Design, b: Builder, tasks: list[Task], incs: list[Incarnation],
                    maxdepth: int) -> dict[str, tuple[int, int | None]]:
    """Per completion (R6) `C.done` - 0..K counts the completes no wait consumed, K + 1 is
    complete_all's UINT_MAX - with K the `complete C` sites a pass reaches once per context (a task's
    once, a frame's once per CPU and nesting depth: as `disable_depth_bound`); past K a `complete` is
    a tagged bound (K6). `C.erased` (only if the code reinitialises C): a reinit_completion erased a
    complete no wait consumed, until the next complete (no_lost_wakeup, R6)."""
    out: dict[str, tuple[int, int | None]] = {}
    for o in d.objects.values():
        if o.kind != "completion":
            continue
        def sites(body: Body, name: str = o.name) -> int:
            return sum(1 for n in body.nodes if n.kind == "stmt" and isinstance(n.stmt, ast.Simple)
                       and n.stmt.op == "complete" and isinstance(n.stmt.arg, ast.Name) and n.stmt.arg.name == name)
        k = max(sum(sites(t.body) for t in tasks) + sum(sites(inc.body) for inc in incs) * d.cpus * maxdepth, 1)
        names = tuple(str(i) for i in range(k + 1)) + ("all",)
        done = b.var(f"{o.name}.done", k + 2, 0, "enum", names)
        reinit = ("reinit_completion", o.name) in all_ops(d)
        out[o.name] = (done, b.var(f"{o.name}.erased", 2, 0, "bool") if reinit else None)
    return out


def owner_names(d: Design, tasks: list[Task], maxdepth: int) -> tuple[str, ...]:
    names = ["free"] + [t.label for t in tasks]
    for c in range(d.cpus):
        names += [f"cpu{c} frame {k}" for k in range(1, maxdepth + 1)]
    return tuple(names)


class KernelVars:
    """Locks, softirqs, tasklets and genirq descriptors (created in this order)."""

    def __init__(self, d: Design, b: Builder, tasks: list[Task],
                 incs: list[Incarnation], maxdepth: int) -> None:
        names = owner_names(d, tasks, maxdepth)
        self.lock: dict[str, int] = {}
        self.lock_kind: dict[str, str] = {}
        for o in d.objects.values():
            if o.kind in ("spinlock", "mutex", "seqlock"):  # a seqlock's writers take its spinlock (R2)
                self.lock[o.name] = b.var(f"{o.name}.owner", len(names), 0, "enum", names)
                self.lock_kind[o.name] = "spinlock" if o.kind == "seqlock" else o.kind
        self.rwlock: dict[str, RwVars] = {}
        for o in d.objects.values():
            if o.kind == "rwlock":
                self.rwlock[o.name] = rw_vars(d, b, o.name, names, tasks, incs, maxdepth)
        self.seq: dict[str, SeqVars] = {}
        for o in d.objects.values():
            if o.kind in ("seqcount", "seqlock"):
                self.seq[o.name] = seq_vars(d, b, o.name, names, tasks, incs, maxdepth)
        self.softirqs = [c.name for c in d.code.values() if c.kind == "softirq"]
        self.tasklet: dict[str, tuple[int, int]] = {}
        for c in d.code.values():
            if c.kind == "tasklet":
                where = ("-",) + tuple(f"cpu{k}" for k in range(d.cpus))
                self.tasklet[c.name] = (b.var(f"{c.name}.scheduled", d.cpus + 1, 0, "enum", where),
                                        b.var(f"{c.name}.running", 2, 0, "bool"))
        self.timer: dict[str, tuple[int, int]] = {}
        for c in d.code.values():
            if c.kind in TIMER_KINDS:
                where = ("-",) + tuple(f"cpu{k}" for k in range(d.cpus))
                self.timer[c.name] = (b.var(f"{c.name}.pending", d.cpus + 1, 0, "enum", where),
                                      b.var(f"{c.name}.running", d.cpus + 1, 0, "enum", where))
        self.desc: dict[int, Descriptor] = {}
        self.completion = completion_vars(d, b, tasks, incs, maxdepth)
        ops = all_ops(d)
        for n, irq in sorted(d.irqs.items()):
            level = any(dv.level for dv in line_sources(d, irq))
            flow = flow_handler(d, irq)
            disables = disable_depth_bound(d, tasks, incs, maxdepth, n)
            freed = b.var(f"irq{n}.freed", 2, 0, "bool") if ("free_irq", n) in ops else None
            self.desc[n] = Descriptor(
                irq, b.var(f"irq{n}.inprogress", 2, 0, "bool"), b.var(f"irq{n}.pending", 2, 0, "bool"),
                b.var(f"irq{n}.depth", disables + 1, 0),
                b.var(f"irq{n}.ret", 2 << sum(1 for a in irq.actions if a.thread is not None), 0, "hidden"),
                freed, level, flow == "handle_edge_irq", flow == "handle_fasteoi_irq")


def read_sites(body: Body, lock: str) -> int:
    """How many locations of `body` read-acquire `lock` (the read nesting a pass builds at most)."""
    return sum(1 for n in body.nodes if n.kind == "stmt" and isinstance(n.stmt, ast.Simple)
               and n.stmt.op in RW_READ_ACQUIRES and isinstance(n.stmt.arg, ast.Name) and n.stmt.arg.name == lock)


def rw_vars(d: Design, b: Builder, lock: str, names: tuple[str, ...], tasks: list[Task],
            incs: list[Incarnation], maxdepth: int) -> RwVars:
    """`L.writer`, then `L.readers.<slot>` per task that reads L and, when some frame's code reads L,
    per CPU and frame depth; each count sized exactly from the read sites (a deeper nesting is a
    tagged bound, data.count_up)."""
    writer = b.var(f"{lock}.writer", len(names), 0, "enum", names)
    readers: dict[int, int] = {}
    for t in tasks:
        if (n := read_sites(t.body, lock)) > 0:
            readers[t.ident] = b.var(f"{lock}.readers.{t.code.name}", n + 1, 0)
    most = max((read_sites(inc.body, lock) for inc in incs), default=0)
    if most > 0:
        base = len(tasks) + 1
        for ident in range(base, base + d.cpus * maxdepth):
            readers[ident] = b.var(f"{lock}.readers.{names[ident].replace(' ', '')}", most + 1, 0)
    return RwVars(writer, readers)


def entry_queues(body: Body) -> dict[str, bool]:
    """The wait queues and completions `body` queues on with an explicit entry (R5, R6), each with
    whether it ever queues there exclusively (at the tail, woken one at a time)."""
    out: dict[str, bool] = {}
    for n in body.nodes:
        st = n.stmt
        op = st.op if isinstance(st, ast.Simple | ast.Wait) else ""
        if op not in ENTRY_OPS:
            continue
        name = st.queue.name if isinstance(st, ast.Wait) else st.arg.name if isinstance(st, ast.Simple) and \
            isinstance(st.arg, ast.Name) else ""
        out[name] = out.get(name, False) or op in EXCLUSIVE_OPS
    return out


def exclusive_waiters(tasks: list[Task]) -> dict[str, int]:
    """Per queue or completion, how many tasks may hold an exclusive entry on it at once: the ranks
    of the exclusive entries lie in 0..that-1, exactly (K6 needs no bound: a task has one entry)."""
    out: dict[str, int] = {}
    for t in tasks:
        for q, excl in entry_queues(t.body).items():
            out[q] = out.get(q, 0) + int(excl)
    return out


def seq_begins(body: Body, seq: str) -> set[int]:
    """The locations of `body` where a `read_seq` block of `seq` samples the sequence (R2)."""
    return {i for i, n in enumerate(body.nodes) if n.kind == "seq_begin" and isinstance(n.stmt, ast.ReadSeq)
            and n.stmt.seq.name == seq}


def seq_vars(d: Design, b: Builder, seq: str, names: tuple[str, ...], tasks: list[Task],
             incs: list[Incarnation], maxdepth: int) -> SeqVars:
    """`S.seq` (odd/even), then `S.reader.<slot>` per task with a `read_seq S` block and, when some
    frame's code has one, per CPU and frame depth (SeqVars)."""
    parity = b.var(f"{seq}.seq", 2, 0, "enum", ("even", "odd"))
    readers: dict[int, int] = {}
    state = ("-", "reading", "changed")
    for t in tasks:
        if seq_begins(t.body, seq):
            readers[t.ident] = b.var(f"{seq}.reader.{t.code.name}", 3, 0, "enum", state)
    if any(seq_begins(inc.body, seq) for inc in incs):
        base = len(tasks) + 1
        for ident in range(base, base + d.cpus * maxdepth):
            readers[ident] = b.var(f"{seq}.reader.{names[ident].replace(' ', '')}", 3, 0, "enum", state)
    return SeqVars(parity, readers)


def task_vars(d: Design, b: Builder, t: Task, exclusive: dict[str, int] | None = None) -> None:
    nodes = t.body.nodes
    queues = entry_queues(t.body)
    if any(n.kind in ("wait_prepare", "wait_sleep") for n in nodes) or queues:
        t.state = b.var(f"{t.code.name}.state", 2, 0, "enum", ("running", "sleeping"))
    for q in sorted(queues):
        nx = (exclusive or {}).get(q, 0)
        names = ("none", "queued") + tuple(f"exclusive #{r + 1}" for r in range(nx))
        t.entries[q] = b.var(f"{t.code.name}.entry.{q}", 2 + nx, 0, "enum", names)
    if any(isinstance(n.stmt, ast.Simple | ast.Wait) and n.stmt.op in TIMED_WAITS for n in nodes):
        t.woken = b.var(f"{t.code.name}.woken", 2, 1, "bool")
    if ops_used(BH_USES, t.body):
        t.bh = b.var(f"{t.code.name}.bh_disabled", count_sites(t.body, BH_OFF_OPS) + 1, 0)
    if ops_used(PREEMPT_USES, t.body):
        t.preempt = b.var(f"{t.code.name}.preempt_count", count_sites(t.body, PREEMPT_OFF_OPS) + 1, 0)
    if ops_used(SAVE_USES, t.body):
        t.flags = b.var(f"{t.code.name}.saved_flags", 2, 0, "hidden")
        t.nsave = b.var(f"{t.code.name}.irq_saves", count_sites(t.body, SAVE_OPS) + 1, 0, "hidden")
    if t.code.kind == "irq_thread":
        t.wake = b.var(f"{t.code.name}.wake", 2, 0, "bool")
        t.irq = irq_of_thread(d, t.code.name)
    elif t.code.kind == "work":
        t.wake = b.var(f"{t.code.name}.pending", 2, 0, "bool")


def make_cpu(d: Design, b: Builder, cpu: int, tasks: list[Task], incs: list[Incarnation], softirqs: list[str],
             maxdepth: int, loc_names: list[str], frame_owner: list[str], layout: Layout) -> CpuState:
    """One CPU's variables (X1, X2, its tasks', the kernel's per-CPU ones); appends its CpuLayout."""
    p = f"cpu{cpu}."
    nlocs = len(loc_names)
    if_var = b.var(p + "IF", 2, 1, "bool")
    depth = b.var(p + "depth", maxdepth + 1, 0)
    pc = b.var(p + "pc", nlocs, 0, "loc", tuple(loc_names))
    saved_pc = [b.var(f"{p}saved_pc[{i}]", nlocs, 0, "loc", tuple(loc_names)) for i in range(max(maxdepth - 1, 0))]
    saved_if = [b.var(f"{p}saved_IF[{i}]", 2, 0, "hidden") for i in range(maxdepth)]
    mine = [t for t in tasks if t.cpu == cpu]
    exclusive = exclusive_waiters(tasks)
    for t in mine:
        names = tuple(f"{t.code.name}@{n.line}" if i else f"{t.code.name}:" + ("done" if t.code.kind == "thread"
                                                                                else "idle")
                      for i, n in enumerate(t.body.nodes))
        t.pc = b.var(f"{t.code.name}.pc", len(t.body.nodes), t.body.entry if t.code.kind == "thread" else 0,
                     "loc", names)
        task_vars(d, b, t, exclusive)
    cur = None
    if len(mine) > 1:
        # the CPU starts in its first thread: irq threads and work items start idle, so starting
        # in one would only add a switch - and make the state space depend on declaration order
        first = next((i for i, t in enumerate(mine) if t.code.kind == "thread"), 0)
        cur = b.var(p + "cur", len(mine), first, "loc", tuple(t.code.name for t in mine))
    st = CpuState(cpu, if_var, depth, pc, saved_pc, saved_if, mine, cur)
    if any(ops_used(STI_USES, body) for body in [inc.body for inc in incs] + [t.body for t in mine]):
        st.sti_shadow = b.sti_shadow[st.group] = b.var(f"cpu{cpu}.sti_shadow", 2, 0, "bool")
    if softirqs:
        st.softirq = b.var(f"cpu{cpu}.softirq_pending", 1 << len(softirqs), 0, "bits", tuple(softirqs), len(softirqs))
    if any(ops_used(SAVE_USES, inc.body) for inc in incs):
        most = max(count_sites(inc.body, SAVE_OPS) for inc in incs)
        for k in range(maxdepth):
            st.flags.append(b.var(f"cpu{cpu}.frame_flags[{k}]", 2, 0, "hidden"))
            st.nsave.append(b.var(f"cpu{cpu}.frame_saves[{k}]", most + 1, 0, "hidden"))
    layout.cpus.append(CpuLayout(cpu, if_var, depth, pc, saved_pc, cur, [(t.label, t.pc) for t in mine],
                                 frame_owner, [t.code.cpl for t in mine]))
    return st
