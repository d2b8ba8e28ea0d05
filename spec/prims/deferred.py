"""Deferred work (D1-D3): softirqs, tasklets, irq threads and work items.

Guarded commands, the rest unchanged:

* `raise_softirq S`: the raising CPU's (a task's own CPU) `softirq_pending |= bit(S)`;
* `tasklet_schedule T`: `T.scheduled := 1 + cpu` if it is 0 (a scheduled tasklet stays where it is);
* `queue_work W`: `W.pending := 1`;
* softirq run on a CPU (irq exit, local_bh_enable, ksoftirqd): guard `depth = 0`, the current task
  (if any) has IF = 1 and BH enabled or is done/blocked, and S's pending bit set: push a frame
  of S at depth 0 with `IF := 1`, clear the bit;
* tasklet run: likewise with guard `T.scheduled = 1 + cpu and T.running = 0`:
  `T.scheduled := 0`, `T.running := 1` (frames.frame_exit_updates clears it at its end);
* timer run (R7, TIMER_SOFTIRQ / HRTIMER_SOFTIRQ: a timer_list or `soft` hrtimer callback, prims/timers.py
  arms it): likewise with guard `T.pending = 1 + cpu and T.running = 0`: `T.pending := 0`,
  `T.running := 1 + cpu`;
* irq thread / work item wake-up: guard `pc = 0`, running on its CPU, `wake = 1`: `wake := 0`,
  `pc := entry`.
"""

from __future__ import annotations

from ircheck.grammar import ast
from ircheck.spec.context import Context, CpuState, Task
from ircheck.spec.frames import push, running
from ircheck.spec.incarnations import SOFT_RUNS
from ircheck.spec.model import Model
from ircheck.spec.prims.sched import task_bh, task_blocked, task_done
from ircheck.spec.step_kind import StepKind
from ircheck.spec.ts import TRUE, And, Bin, C, Eq, Expr, Ite, Label, Or, V


def lower_raise_softirq(m: Model, ctx: Context, st: ast.Simple) -> None:
    assert isinstance(st.arg, ast.Name)
    cpu = m.cpus[ctx.task.cpu] if ctx.task is not None else ctx.cpu
    assert cpu.softirq is not None
    ups = dict(ctx.nxt)
    ups[cpu.softirq] = Bin("|", V(cpu.softirq), C(1 << m.softirqs.index(st.arg.name)))
    m.b.add(ctx.label(ctx.node.text), ctx.here, ups, ctx.group)


def lower_tasklet_schedule(m: Model, ctx: Context, st: ast.Simple) -> None:
    assert isinstance(st.arg, ast.Name)
    sched = m.tasklet[st.arg.name][0]
    cpu_n = ctx.task.cpu if ctx.task is not None else ctx.cpu.index
    ups = dict(ctx.nxt)
    ups[sched] = Ite(Eq(V(sched), C(0)), C(cpu_n + 1), V(sched))
    m.b.add(ctx.label(ctx.node.text), ctx.here, ups, ctx.group)


def lower_queue_work(m: Model, ctx: Context, st: ast.Simple) -> None:
    assert isinstance(st.arg, ast.Name)
    w = m.task_named(st.arg.name)
    assert w is not None and w.wake is not None
    ups = dict(ctx.nxt)
    ups[w.wake] = C(1)
    m.b.add(ctx.label(ctx.node.text), ctx.here, ups, ctx.group)


def lower_soft_entries(m: Model, cpu: CpuState) -> None:
    """D1/D2: at task level, with BH enabled and IRQs on (irq exit, local_bh_enable, ksoftirqd)."""
    soft = [inc for inc in m.incs if inc.kind in SOFT_RUNS]
    if not soft:
        return
    allows: Expr = TRUE
    if cpu.tasks:
        opts = []
        for ti, t in enumerate(cpu.tasks):
            ok = Or(And(Eq(V(cpu.IF), C(1)), Eq(task_bh(t), C(0))), task_done(t), task_blocked(m, t))
            opts.append(ok if cpu.cur is None else And(Eq(V(cpu.cur), C(ti)), ok))
        allows = Or(*opts)
    base = And(Eq(V(cpu.depth), C(0)), allows)
    for inc in soft:
        assert inc.code is not None
        ups = push(cpu, 0, inc, None)
        ups[cpu.IF] = C(1)
        if inc.kind == "softirq":
            assert cpu.softirq is not None
            k = m.softirqs.index(inc.code.name)
            g = And(base, Eq(Bin("&", V(cpu.softirq), C(1 << k)), C(1 << k)))
            ups[cpu.softirq] = Bin("&", V(cpu.softirq), C(((1 << len(m.softirqs)) - 1) ^ (1 << k)))
            what = f"run softirq {inc.code.name} (irq exit / local_bh_enable / ksoftirqd)"
        elif inc.kind == "tasklet":
            sched, run = m.tasklet[inc.code.name]
            g = And(base, Eq(V(sched), C(cpu.index + 1)), Eq(V(run), C(0)))
            ups[sched] = C(0)
            ups[run] = C(1)
            what = f"run tasklet {inc.code.name} (TASKLET_SOFTIRQ)"
        else:
            sched, run = m.timer[inc.code.name]
            g = And(base, Eq(V(sched), C(cpu.index + 1)), Eq(V(run), C(0)))
            ups[sched] = C(0)
            ups[run] = C(cpu.index + 1)
            vec = "TIMER_SOFTIRQ" if inc.code.kind == "timer" else "HRTIMER_SOFTIRQ"
            what = f"{inc.code.kind} {inc.code.name} expires: its callback runs ({vec})"
        m.b.add(Label(f"cpu{cpu.index}", what, inc.code.line, cpu.index, "entry", StepKind.RUN, inc.code.name), g, ups, cpu.group)


def lower_task_wake(m: Model, cpu: CpuState, ti: int, t: Task) -> None:
    if t.wake is None:
        return
    what = "woken (IRQTF_RUNTHREAD): runs" if t.code.kind == "irq_thread" else "a worker runs it"
    m.b.add(Label(t.label, what, t.code.line, cpu.index, "thread", StepKind.RUN, t.code.name),
            And(Eq(V(t.pc), C(0)), running(cpu, ti), Eq(V(t.wake), C(1))),
            {t.wake: C(0), t.pc: C(t.body.entry)}, cpu.group)
