"""Completions (R6): `complete`, `complete_all`, `reinit_completion`, `wait_for_completion[_timeout]`.

A completion C has `C.done` (variables.completion_vars): 0..K the completes no wait has consumed,
ALL = K + 1 complete_all's UINT_MAX; and `C.erased` when the code reinitialises C. Its waiters queue
exclusively at the tail of its wait queue (kernel/sched/completion.c `do_wait_for_common`:
`__add_wait_queue_entry_tail_exclusive`), with the entries of prims/waitq_api.py. Guarded commands
at `here`, everything not named unchanged:

* `complete C` (any context): guard `done < K`: `done := done + 1`; guard `done = ALL`: unchanged;
  guard `done = K`: a tagged model bound (K6, never a silent clamp); each: `erased := 0`, and the
  first sleeping exclusive entry is woken and removed (`__wake_up_locked(&x->wait, TASK_NORMAL, 1)`);
* `complete_all C`: `done := ALL`, `erased := 0`, every sleeping entry woken and removed;
* `reinit_completion C`: `done := 0`; `erased := 1` if 0 < done <= K (a complete nobody consumed is
  erased: include/linux/completion.h `reinit_completion` only writes `x->done = 0`), else unchanged;
* `wait_for_completion C` (`wait_prepare`, might_sleep(): tagged like every sleep in atomic
  context, D4, whatever `done` is): guard `done > 0`: take one (`done := done - 1` unless ALL), on;
  guard `done = 0`: queue at the exclusive tail, `state := 1`, to its `wait_sleep` location;
* at `wait_sleep`: guard `state = 0, done > 0`: take one, on (`woken := 1`); guard `state = 0,
  done = 0` and not timed out: queue again at the tail, `state := 1` (another waiter took it: the
  `while (!x->done && timeout)` loop); `wait_for_completion_timeout`: guard `state = 0, done = 0,
  woken = 0`: give up, on. Its timeout (prims/waitq_api.lower_timeouts) also removes the entry.

no_lost_wakeup (properties.lost_wakeup_requests): a waiter asleep at `wait_for_completion C` while
`C.erased` holds is pending; a fair run on which it stays so is a lost completion.
"""

from __future__ import annotations

from ircheck.grammar import ast
from ircheck.spec.context import Context, Task
from ircheck.spec.model import Model
from ircheck.spec.prims.waitq import sleep_variants
from ircheck.spec.prims.waitq_api import enqueue, wake_updates
from ircheck.spec.ts import BOUND, And, Bin, C, Eq, Expr, Ite, Not, V


def _name(st: ast.Stmt | None) -> str:
    assert isinstance(st, ast.Simple) and isinstance(st.arg, ast.Name)
    return st.arg.name


def _all(m: Model, c: str) -> int:
    """The value of `C.done` that stands for complete_all's UINT_MAX."""
    return m.b.size(m.completion[c][0]) - 1


def consume(m: Model, c: str) -> dict[int, Expr]:
    done = m.completion[c][0]
    return {done: Ite(Eq(V(done), C(_all(m, c))), V(done), Bin("-", V(done), C(1)))}


def lower_complete(m: Model, ctx: Context, st: ast.Simple) -> None:
    c = _name(st)
    done, erased = m.completion[c]
    top = _all(m, c) - 1
    base = {**ctx.nxt, **({} if erased is None else {erased: C(0)})}
    label = ctx.label(ctx.node.text)
    if st.op == "complete_all":
        m.b.add(label, ctx.here, {**base, **wake_updates(m, c, True), done: C(top + 1)}, ctx.group)
        return
    wake = wake_updates(m, c, False)
    m.b.add(label, And(ctx.here, Bin("<", V(done), C(top))), {**base, **wake, done: Bin("+", V(done), C(1))},
            ctx.group)
    m.b.add(label, And(ctx.here, Eq(V(done), C(top + 1))), {**base, **wake}, ctx.group)
    m.b.add(label, And(ctx.here, Eq(V(done), C(top))), {**base, **wake}, ctx.group,
            [(BOUND, f"{c}.done reached the model's bound of {top} at complete {c} (line {ctx.node.line}): "
                     "a loop or a context that runs again completes it more often than the code shows")])


def lower_reinit(m: Model, ctx: Context, st: ast.Simple) -> None:
    c = _name(st)
    done, erased = m.completion[c]
    ups = {**ctx.nxt, done: C(0)}
    if erased is not None:
        lost = And(Bin(">", V(done), C(0)), Bin("<", V(done), C(_all(m, c))))
        ups[erased] = Ite(lost, C(1), V(erased))
    m.b.add(ctx.label(ctx.node.text), ctx.here, ups, ctx.group)


def lower_wait_prepare(m: Model, ctx: Context) -> None:
    """wait_for_completion C's first step: take one, or queue and sleep."""
    node = ctx.node
    c = _name(node.stmt)
    done = m.completion[c][0]
    t = ctx.task
    take = {**ctx.nxt, **consume(m, c)}
    sleep = dict(ctx.goto(node.alt))
    if t is not None and t.state is not None:
        sleep.update(enqueue(m, t, c, True))
        sleep[t.state] = C(1)
        if t.woken is not None:
            take[t.woken] = sleep[t.woken] = C(1)
    for guard, tags in sleep_variants(m, ctx, node.text.split(":")[0]):
        m.b.add(ctx.label(node.text + "  (yes: take it)"), And(ctx.here, guard, Bin(">", V(done), C(0))), take,
                ctx.group, tags)
        m.b.add(ctx.label(node.text + "  (no: queue and sleep)"), And(ctx.here, guard, Eq(V(done), C(0))), sleep,
                ctx.group, tags)


def lower_wait_sleep(m: Model, ctx: Context) -> None:
    """wait_for_completion C asleep: woken with something done takes it, else sleeps again (or gives up
    after its timeout)."""
    node = ctx.node
    t = ctx.task
    if t is None or t.state is None:  # a frame that sleeps never wakes
        return
    st = node.stmt
    c = _name(st)
    done = m.completion[c][0]
    awake = And(ctx.here, Eq(V(t.state), C(0)))
    take = {**ctx.nxt, **consume(m, c)}
    timed_out = Eq(V(t.woken), C(0)) if t.woken is not None and isinstance(st, ast.Simple) and \
        st.op == "wait_for_completion_timeout" else None
    if t.woken is not None:
        take[t.woken] = C(1)
    m.b.add(ctx.label(node.text.split(":")[0] + ": woken, takes it"), And(awake, Bin(">", V(done), C(0))), take,
            ctx.group)
    again = {**enqueue(m, t, c, True), t.state: C(1)}
    retry = And(awake, Eq(V(done), C(0)))
    m.b.add(ctx.label(node.text.split(":")[0] + ": woken, nothing done: sleeps again"),
            retry if timed_out is None else And(retry, Not(timed_out)), again, ctx.group)
    if timed_out is not None:
        m.b.add(ctx.label(node.text.split(":")[0] + ": timed out, gives up"), And(retry, timed_out), ctx.nxt,
                ctx.group)


def timeout_dequeues(t: Task) -> dict[int, str]:
    """The `wait_sleep` locations of t's wait_for_completion_timeout, with their completion: their
    timeout also removes the entry (waitq_api.lower_timeouts)."""
    return {i: _name(n.stmt) for i, n in enumerate(t.body.nodes) if n.kind == "wait_sleep"
            and isinstance(n.stmt, ast.Simple) and n.stmt.op == "wait_for_completion_timeout"}
