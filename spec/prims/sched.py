"""The scheduler on one CPU: task states and task switches.

Predicates (state expressions) of a task t:
* done: `pc = 0` (and, for an irq thread or work item, not woken: `wake = 0`);
* asleep on a queue: at a `wait_sleep` location with `state = 1`; blocked: asleep, or at
  `mutex_lock L` with L taken, or at a `sync_wait` whose line is not idle;
* yields: done, blocked, or preemptible (IF = 1, BH count 0, preempt count 0, holding no spinlock);
* runnable: neither done nor blocked; unfinished: not at pc 0 and not asleep (or woken).

Switch to task i (CPUs with several tasks, `cur` the current one): guard `depth = 0, cur != i,
i runnable, the current task yields`: `cur := i`, `IF := 1`. A switch is a CPU step but no
fairness group's progress (a run that only switches is not fair).

`preempt_disable` in a task whose code uses it: `preempt := preempt + 1` (data.count_up);
`preempt_enable`: `preempt := max(preempt - 1, 0)` (include/linux/preempt.h; kernel/sched/core.c
`preempt_schedule` runs at the enable that brings the count to 0: here any later switch). In hardirq
and softirq context the count changes nothing the model reads (those contexts never yield): only
the pc moves. Sleeping with the count above 0 is "scheduling while atomic" (waitq.sleep_variants).
"""

from __future__ import annotations

from ircheck.grammar import ast
from ircheck.spec.context import Context, CpuState, Task
from ircheck.spec.model import Model
from ircheck.spec.prims.data import count_up
from ircheck.spec.prims.genirq import irq_idle
from ircheck.spec.prims.locks import holds_spinlock
from ircheck.spec.step_kind import StepKind
from ircheck.spec.ts import FALSE, And, Bin, C, Eq, Expr, In, Ite, Label, Not, Or, V


def task_done(t: Task) -> Expr:
    done = Eq(V(t.pc), C(0))
    return done if t.wake is None else And(done, Eq(V(t.wake), C(0)))


def queue_sleeping(m: Model, t: Task) -> Expr:
    if t.state is None:
        return FALSE
    return And(In(V(t.pc), m.locs(t.body, lambda n: n.kind == "wait_sleep")), Eq(V(t.state), C(1)))


def task_blocked(m: Model, t: Task) -> Expr:
    """Asleep: on a wait queue, on a mutex someone holds, or in synchronize_irq."""
    parts = [queue_sleeping(m, t)]
    for i, n in enumerate(t.body.nodes):
        st = n.stmt
        if n.kind == "stmt" and isinstance(st, ast.Simple) and st.op == "mutex_lock":
            assert isinstance(st.arg, ast.Name)
            parts.append(And(Eq(V(t.pc), C(i)), Not(Eq(V(m.lock[st.arg.name]), C(0)))))
        elif n.kind == "sync_wait" and isinstance(st, ast.Simple):
            assert isinstance(st.arg, ast.Num)
            parts.append(And(Eq(V(t.pc), C(i)), Not(irq_idle(m, m.desc[st.arg.value]))))
    return Or(*parts)


def task_bh(t: Task) -> Expr:
    return C(0) if t.bh is None else V(t.bh)


def task_preempt(t: Task) -> Expr:
    return C(0) if t.preempt is None else V(t.preempt)


def lower_preempt(m: Model, ctx: Context, st: ast.Simple) -> None:
    """preempt_disable / preempt_enable (the module docstring)."""
    t, label = ctx.task, ctx.label(ctx.node.text)
    if t is None or t.preempt is None:
        m.b.add(label, ctx.here, dict(ctx.nxt), ctx.group)
        return
    if st.op == "preempt_disable":
        for guard, ups, tags in count_up(m.b, t.preempt, ctx.here, st.op, ctx.node.line, dict(ctx.nxt)):
            m.b.add(label, guard, ups, ctx.group, tags)
        return
    n = V(t.preempt)
    m.b.add(label, ctx.here, {**ctx.nxt, t.preempt: Ite(Bin(">", n, C(0)), Bin("-", n, C(1)), C(0))}, ctx.group)


def task_yields(m: Model, cpu: CpuState, t: Task) -> Expr:
    preemptible = And(Eq(V(cpu.IF), C(1)), Eq(task_bh(t), C(0)), Eq(task_preempt(t), C(0)),
                      Not(holds_spinlock(m, C(t.ident))))
    return Or(task_done(t), task_blocked(m, t), preemptible)


def task_runnable(m: Model, t: Task) -> Expr:
    return And(Not(task_done(t)), Not(task_blocked(m, t)))


def task_unfinished(m: Model, t: Task) -> Expr:
    busy = And(Not(Eq(V(t.pc), C(0))), Not(queue_sleeping(m, t)))
    return busy if t.wake is None else Or(busy, Eq(V(t.wake), C(1)))


def cpu_unfinished(m: Model, cpu: CpuState) -> Expr:
    return Or(Bin(">", V(cpu.depth), C(0)), *[_watched(m, task_unfinished(m, t)) for t in cpu.tasks])


def _watched(m: Model, e: Expr) -> Expr:
    """`e`, after one tick of the lowering's watch (per-task loops that add no transition)."""
    m.b.watch()
    return e


def lower_switches(m: Model, cpu: CpuState) -> None:
    """The scheduler on one CPU: the running task gives way when it is done, blocked, or preemptible
    (IRQs on, no spinlock held, BH enabled); the next task must have something to do."""
    if cpu.cur is None:
        return
    cur = cpu.cur
    tasks = cpu.tasks
    # "the current task gives way" is built once per CPU and shared by reference by every switch's
    # guard (ts, codegen and the engines keep the sharing): the guards grow linearly in the tasks.
    # A binary decision on cur picks the current task's predicate (cur lies in 0..len(tasks)-1);
    # with cur != ti in the guard this is the old "some other task is current and yields"
    yields = [_watched(m, task_yields(m, cpu, t)) for t in tasks]

    def pick(lo: int, hi: int) -> Expr:
        if hi - lo == 1:
            return yields[lo]
        mid = (lo + hi) // 2
        return Ite(Bin("<", V(cur), C(mid)), pick(lo, mid), pick(mid, hi))

    gives_way = pick(0, len(tasks))
    for ti, task in enumerate(tasks):
        g = And(Eq(V(cpu.depth), C(0)), Not(Eq(V(cur), C(ti))), task_runnable(m, task), gives_way)
        # a switch is not progress: a run that only switches tasks is not a fair run of the CPU
        m.b.add(Label(f"cpu{cpu.index}", f"switch to {task.label}", task.code.line, cpu.index, "switch", StepKind.SWITCH,
                    task.label),
                g, {cur: C(ti), cpu.IF: C(1)}, cpu.group, fair_step=False)
