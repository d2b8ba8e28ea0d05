"""The dispatch tables: statement and CFG-node name -> the function that lowers it, and the walk
over one CPU's locations that uses them.

`NODE_LOWERINGS[node.kind](model, ctx)` lowers one location; a plain statement location ("stmt")
goes on to `STMT_LOWERINGS[stmt.op](model, ctx, stmt)`. `goto` and `end` take no step (gotos are
compiled away, a finished thread stops). Every statement the resolver accepts has an entry here
(tests/spec/test_dispatch.py); `iret` and `call` are CFG nodes, `synchronize_irq` a `sync_wait` node.

`lower_cpu(model, cpu)` builds, for one CPU (its frame state passed as a value): every location of
every incarnation (as a frame on this CPU) and of its tasks, task wake-ups, task switches, the
controllers' entries and softirq/tasklet runs - in this order, which is the transition order.
"""

from __future__ import annotations

from collections.abc import Callable

from ircheck.grammar import ast
from ircheck.spec.cfg import Node
from ircheck.spec.context import Context, CpuState, Incarnation, Task
from ircheck.spec.delivery import lower_ack, lower_entries, lower_eoi, lower_kick, lower_mask
from ircheck.spec.frames import lower_iret, lower_sync, running
from ircheck.spec.language import ENTRY_OPS, STATEMENTS, Object
from ircheck.spec.model import Model
from ircheck.spec.node_steps import node_step
from ircheck.spec.prims import (
    completion,
    control,
    data,
    deferred,
    delay,
    genirq,
    genirq_flow,
    irqflags,
    locks,
    probe,
    sched,
    timers,
    waitq,
    waitq_api,
)
from ircheck.spec.prims import rwlock as rw
from ircheck.spec.prims import seqlock as sq
from ircheck.spec.step_kind import StepKind
from ircheck.spec.ts import And, C, Eq, Expr, Label, V

COMPLETION_WAITS = frozenset({"wait_for_completion", "wait_for_completion_timeout"})
TIMER_OPS = frozenset(s.keyword for s in STATEMENTS if s.acts_on is Object.TIMER)
StmtLowering = Callable[[Model, Context, ast.Simple], None]
NodeLowering = Callable[[Model, Context], None]


def _stmt(m: Model, ctx: Context) -> None:
    st = ctx.node.stmt
    if not isinstance(st, ast.Simple):  # a spinning empty loop
        control.lower_jump(m, ctx)
        return
    STMT_LOWERINGS[st.op](m, ctx, st)


def _op(ctx: Context) -> str:
    st = ctx.node.stmt
    return st.op if isinstance(st, ast.Simple | ast.Wait) else ""


def _wait_prepare(m: Model, ctx: Context) -> None:
    """A wait's first step: wait_event/epoll_wait/sleep_on (W1, W2), the entry-based waits (R5), a
    completion (R6)."""
    st = ctx.node.stmt
    if isinstance(st, ast.Wait) and st.op in ENTRY_OPS:
        waitq_api.lower_event_prepare(m, ctx, st)
    elif _op(ctx) in COMPLETION_WAITS:
        completion.lower_wait_prepare(m, ctx)
    else:
        waitq.lower_wait_prepare(m, ctx)


def _wait_test(m: Model, ctx: Context) -> None:
    st = ctx.node.stmt
    if isinstance(st, ast.Wait) and st.op in ENTRY_OPS:
        waitq_api.lower_event_test(m, ctx, st)
    else:
        waitq.lower_wait_test(m, ctx)


def _wait_sleep(m: Model, ctx: Context) -> None:
    st = ctx.node.stmt
    if isinstance(st, ast.Wait) and st.op in ENTRY_OPS:
        waitq_api.lower_event_sleep(m, ctx, st)
    elif _op(ctx) in COMPLETION_WAITS:
        completion.lower_wait_sleep(m, ctx)
    elif _op(ctx) in ("schedule", "schedule_timeout"):
        waitq_api.lower_schedule(m, ctx)
    else:
        waitq.lower_wait_sleep(m, ctx)


def _nothing(m: Model, ctx: Context) -> None:
    """goto (compiled away), end (a finished thread takes no step)."""


def _iret(m: Model, ctx: Context) -> None:
    lower_iret(m, ctx)


STMT_LOWERINGS: dict[str, StmtLowering] = {
    # bare metal
    "nop": data.lower_step, "read": data.lower_step, "write": data.lower_step,
    "set": data.lower_flag, "clear": data.lower_flag,
    "inc": data.lower_counter, "dec": data.lower_counter,
    "atomic_inc": data.lower_counter, "atomic_dec": data.lower_counter,
    "cli": irqflags.lower_cli_sti, "sti": irqflags.lower_cli_sti,
    "ack": lower_ack, "kick": lower_kick, "mask": lower_mask, "unmask": lower_mask, "eoi": lower_eoi,
    "int": lower_sync, "fault": lower_sync,
    # locks
    **{op: locks.lower_acquire for op in sorted(locks.ACQUIRE_OPS)},
    **{op: locks.lower_release for op in sorted(locks.RELEASE_OPS)},
    **{op: rw.lower_rw_acquire for op in sorted(rw.RW_ACQUIRE_OPS)},
    **{op: rw.lower_rw_release for op in sorted(rw.RW_RELEASE_OPS)},
    # seqcount / seqlock writers (R2)
    **{op: sq.lower_seqlock_write for op in sorted(sq.SEQLOCK_OPS)},
    **{op: sq.lower_seqcount_write for op in sorted(sq.SEQCOUNT_OPS)},
    # IRQ flags and BH
    "preempt_disable": sched.lower_preempt, "preempt_enable": sched.lower_preempt,
    "local_irq_disable": irqflags.lower_cli_sti, "local_irq_enable": irqflags.lower_cli_sti,
    "local_irq_save": irqflags.lower_flags_op, "local_irq_restore": irqflags.lower_flags_op,
    "local_bh_disable": irqflags.lower_flags_op, "local_bh_enable": irqflags.lower_flags_op,
    # wait queues
    "sleep": waitq.lower_sleep, "wake_up": waitq_api.lower_wake_up,
    "prepare_to_wait": waitq_api.lower_prepare, "prepare_to_wait_exclusive": waitq_api.lower_prepare,
    "finish_wait": waitq_api.lower_finish, "wake_up_all": waitq_api.lower_wake_up_all,
    # completions (R6)
    "complete": completion.lower_complete, "complete_all": completion.lower_complete,
    "reinit_completion": completion.lower_reinit,
    # D6: waiting on purpose
    "udelay": delay.lower_delay, "mdelay": delay.lower_delay, "msleep": delay.lower_delay,
    # deferred work
    "raise_softirq": deferred.lower_raise_softirq, "tasklet_schedule": deferred.lower_tasklet_schedule,
    "queue_work": deferred.lower_queue_work,
    # timers (R7)
    **{op: timers.lower_timer_op for op in sorted(TIMER_OPS)},
    # genirq
    "disable_irq": genirq.lower_irq_call, "disable_irq_nosync": genirq.lower_irq_call,
    "enable_irq": genirq.lower_irq_call, "free_irq": genirq.lower_irq_call,
    "return": genirq.lower_return,
    # IRQ probing (C2)
    "probe_irq_on": probe.lower_probe_on, "probe_irq_off": probe.lower_probe_off,
}

NODE_LOWERINGS: dict[str, NodeLowering] = {
    "stmt": _stmt, "goto": _nothing, "end": _nothing,
    "call": control.lower_jump, "ret": control.lower_jump, "test": control.lower_test, "iret": _iret,
    "choose": control.lower_choose,
    "wait_prepare": _wait_prepare, "wait_test": _wait_test, "wait_sleep": _wait_sleep,
    "seq_begin": sq.lower_seq_begin, "seq_retry": sq.lower_seq_retry,
    "sync_wait": genirq.lower_sync_wait, "thread_done": genirq.lower_thread_done,
    "flow_entry": genirq_flow.lower_flow_entry, "flow_done": genirq_flow.lower_flow_done,
    "flow_end": genirq_flow.lower_flow_end,
    "probe_wait": probe.lower_probe_wait, "probe_stub": probe.lower_probe_stub,
}

# statements that are CFG nodes of their own kind rather than "stmt" locations
NODE_STATEMENTS = {"iret": "iret", "call": "call", "synchronize_irq": "sync_wait"}


def step_label(actor: str, text: str, node: Node, cpu: int, context: str, step: StepKind | None,
               target: str | None, hardirq: bool = True) -> Label:
    """The label of a step at `node`: its kind and target are `node_step(node, hardirq)`'s unless given."""
    kind, tgt = node_step(node, hardirq)
    return Label(actor, text, node.line, cpu, context, step or kind, tgt if target is None else target)


def frame_context(m: Model, cpu: CpuState, node: Node, i: int, inc: Incarnation) -> Context:
    """Location i of `inc`'s body as a frame on `cpu`."""
    here: Expr = Eq(V(cpu.pc), C(inc.base + i))
    if inc.kind == "gate":
        actor = f"handler {inc.gate.handler}"
    elif inc.kind == "flow":
        assert inc.irq is not None
        actor = f"handler {node.routines[1]}" if len(node.routines) > 1 else f"irq {inc.irq.irq} flow"
    else:
        actor = inc.describe(False)
    base = inc.base

    def goto(j: int) -> dict[int, Expr]:
        return {cpu.pc: C(base + j)}

    def lab(text: str, kind: str = "handler", step: StepKind | None = None, target: str | None = None) -> Label:
        return step_label(actor, text, node, cpu.index, kind, step, target, inc.hardirq)

    return Context("hardirq" if inc.hardirq else "softirq", inc, None, -1, here,
                   m.top_owner(cpu), actor, cpu, node, goto, lab, 0)


def task_context(cpu: CpuState, node: Node, i: int, ti: int, task: Task) -> Context:
    """Location i of `task`'s body, task ti on `cpu`."""
    pcv = task.pc
    here = And(Eq(V(pcv), C(i)), running(cpu, ti))
    actor = task.label

    def goto(j: int) -> dict[int, Expr]:
        return {pcv: C(j)}

    def lab(text: str, kind: str = "thread", step: StepKind | None = None, target: str | None = None) -> Label:
        return step_label(actor, text, node, cpu.index, kind, step, target)

    return Context("task", None, task, ti, here, C(task.ident), actor, cpu, node, goto, lab, task.code.cpl)


def lower_cpu(m: Model, cpu: CpuState) -> None:
    for inc in m.incs:
        for i, node in enumerate(inc.body.nodes):
            NODE_LOWERINGS[node.kind](m, frame_context(m, cpu, node, i, inc))
    first = len(m.b.trans)
    for ti, task in enumerate(cpu.tasks):
        for i, node in enumerate(task.body.nodes):
            NODE_LOWERINGS[node.kind](m, task_context(cpu, node, i, ti, task))
        deferred.lower_task_wake(m, cpu, ti, task)
        waitq_api.lower_timeouts(m, task, completion.timeout_dequeues(task))
    m.b.task_steps[cpu.index] = list(range(first, len(m.b.trans)))
    sched.lower_switches(m, cpu)
    first = len(m.b.trans)
    lower_entries(m, cpu)
    m.b.hard_entries[cpu.index] = list(range(first, len(m.b.trans)))
    deferred.lower_soft_entries(m, cpu)
    first = len(m.b.trans)
    timers.lower_hrtimer_entries(m, cpu)
    m.b.raises.extend(range(first, len(m.b.trans)))  # an hrtimer's expiry: time passing, the environment
