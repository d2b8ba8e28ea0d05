"""The wait-queue API (R5): explicit queue entries, exclusive waiters, `schedule`, timeouts.

A task that queues on Q with `prepare_to_wait[_exclusive] Q`, `wait_event_exclusive Q until F` or
`wait_event_timeout Q until F` has an entry variable `T.entry.Q`: 0 not queued, 1 queued
(non-exclusive), 2 + r queued exclusive with rank r among Q's exclusive entries (0 = the first, the
oldest: kernel/sched/wait.c `prepare_to_wait_exclusive` adds at the tail, `prepare_to_wait` at the
head, so only the order of the exclusive entries matters). Its `state` is 0 running, 1 sleeping.
Guarded commands at `here`, everything not named unchanged:

* `prepare_to_wait[_exclusive] Q`: entry := 1 (or 2 + the number of exclusive entries: the tail) if
  it was 0, else unchanged (`if (list_empty(&wq_entry->entry))`; a queued entry keeps its place
  and flavour); `state := 1`; `woken := 1` (a new timed wait begins);
* `finish_wait Q`: `state := 0`, entry := 0, the exclusive entries behind it move up one rank;
* `schedule` / `schedule_timeout` (a `wait_sleep` location): guard `state = 0`: pc on (a wake-up
  between prepare_to_wait and schedule made the task running: schedule returns at once, nothing is
  lost). No step while `state = 1`: it sleeps. Sleeping in atomic context (D4) is a state property
  (the task at schedule, sleeping, IRQs off / holding a spinlock / BH or preemption off) and a tag
  on the step that returns at once (schedule() itself is called in atomic context);
* `wake_up Q` (`__wake_up_common` with nr_exclusive = 1, `autoremove_wake_function`): every queued
  non-exclusive entry whose task sleeps, and the exclusive entry of lowest rank whose task sleeps,
  is woken: `state := 0`, entry := 0 (removed at once, so it cannot absorb a second wake-up); an
  entry whose task is already running is skipped and stays (try_to_wake_up returns 0, which does not
  count against nr_exclusive); the other exclusive entries close up their ranks;
* `wake_up_all Q`: every queued entry whose task sleeps is woken and removed;
* `wait_event_exclusive Q until F` / `wait_event_timeout Q until F` (include/linux/wait.h
  `___wait_event`): prepare (queue, `state := 1`, `woken := 1`), test F (true: `state := 0`,
  entry := 0, on), schedule (woken: test again). `wait_event_timeout` may give up: its test with F
  false after the timeout fired (`woken = 0`) leaves the wait with F false (`___wait_cond_timeout`);
* the timeout of a timed sleep (`schedule_timeout`, `wait_event_timeout`'s schedule) is a step of the
  environment, not of the CPU: guard the task at that sleep with `state = 1`: `state := 0`,
  `woken := 0`; weakly fair (a fair run lets time pass: D6, time is not modelled but it goes on).
  The entry stays queued (schedule_timeout does not dequeue; finish_wait does);
* `if woken` (a whole condition of a task, or its `not`): `woken = 1`.
"""

from __future__ import annotations

from ircheck.grammar import ast
from ircheck.spec.context import Context, Task
from ircheck.spec.language import EXCLUSIVE_OPS, TIMED_WAITS
from ircheck.spec.model import Model
from ircheck.spec.prims.waitq import legacy_wakes, sleep_variants
from ircheck.spec.step_kind import StepKind
from ircheck.spec.ts import FALSE, And, Bin, C, Eq, Expr, Ite, Label, Not, Or, StateProp, V


def holders(m: Model, q: str) -> list[Task]:
    """The tasks with an entry variable on queue (or completion) q, in task order."""
    return [t for t in m.tasks if q in t.entries]


def _excl(v: int) -> Expr:
    return Bin(">=", V(v), C(2))


def _sleeping(t: Task) -> Expr:
    assert t.state is not None
    return Eq(V(t.state), C(1))


def enqueue(m: Model, t: Task, q: str, exclusive: bool) -> dict[int, Expr]:
    """Task t's entry on q queued if it was not: at the head (1) or the exclusive tail (2 + count)."""
    v = t.entries[q]
    if not exclusive:
        return {v: Ite(Eq(V(v), C(0)), C(1), V(v))}
    others = [Ite(_excl(u.entries[q]), C(1), C(0)) for u in holders(m, q) if u is not t]
    tail = Bin("+", C(2), _sum(others))
    return {v: Ite(Eq(V(v), C(0)), tail, V(v))}


def dequeue(m: Model, t: Task, q: str) -> dict[int, Expr]:
    """Task t's entry on q removed; the exclusive entries behind it move up one rank. A task that never
    queues itself on q has no entry: nothing to remove (finish_wait on a DEFINE_WAIT entry that was never
    added: its list is empty, `list_empty_careful` skips the list_del_init - kernel/sched/wait.c)."""
    if q not in t.entries:
        return {}
    v = t.entries[q]
    ups: dict[int, Expr] = {v: C(0)}
    for u in holders(m, q):
        if u is t:
            continue
        w = u.entries[q]
        ups[w] = Ite(And(_excl(v), Bin(">", V(w), V(v))), Bin("-", V(w), C(1)), V(w))
    return ups


def _sum(parts: list[Expr]) -> Expr:
    out: Expr = C(0)
    for p in parts:
        out = p if out == C(0) else Bin("+", out, p)
    return out


def woken_by(m: Model, q: str, everyone: bool) -> dict[int, Expr]:
    """Per holder of q (task ident -> expression): wake_up (`everyone` False) or wake_up_all wakes it."""
    hs = holders(m, q)
    out: dict[int, Expr] = {}
    for t in hs:
        v = t.entries[q]
        non_excl = And(Eq(V(v), C(1)), _sleeping(t))
        if everyone:
            out[t.ident] = And(Bin(">", V(v), C(0)), _sleeping(t))
            continue
        ahead = [And(_excl(u.entries[q]), Bin("<", V(u.entries[q]), V(v)), _sleeping(u)) for u in hs if u is not t]
        out[t.ident] = Or(non_excl, And(_excl(v), _sleeping(t), Not(Or(*ahead))))
    return out


def wake_updates(m: Model, q: str, everyone: bool, extra: dict[int, Expr] | None = None) -> dict[int, Expr]:
    """The updates of waking q's entries (`everyone`: wake_up_all / complete_all); `extra` per task
    state variable a further reason to set it running (wait_event's pc-based waiters, W2)."""
    woken = woken_by(m, q, everyone)
    hs = holders(m, q)
    ups: dict[int, Expr] = {}
    for t in hs:
        assert t.state is not None
        v = t.entries[q]
        why = woken[t.ident]
        if extra and t.state in extra:
            why = Or(why, extra[t.state])
        ups[t.state] = Ite(why, C(0), V(t.state))
        moved = [Ite(And(_excl(u.entries[q]), woken[u.ident], Bin("<", V(u.entries[q]), V(v))), C(1), C(0))
                 for u in hs if u is not t]
        closed = Bin("-", V(v), _sum(moved)) if moved else V(v)
        ups[v] = Ite(woken[t.ident], C(0), Ite(_excl(v), closed, V(v)))
    for sv, e in (extra or {}).items():
        ups.setdefault(sv, Ite(e, C(0), V(sv)))
    return ups


def lower_wake_up(m: Model, ctx: Context, st: ast.Simple) -> None:
    """wake_up Q: the wait_event/epoll_wait/sleep_on waiters (waitq.legacy_wakes) and Q's entries."""
    assert isinstance(st.arg, ast.Name)
    q = st.arg.name
    m.b.add(ctx.label(ctx.node.text), ctx.here, {**ctx.nxt, **wake_updates(m, q, False, legacy_wakes(m, q))},
            ctx.group)


def lower_prepare(m: Model, ctx: Context, st: ast.Simple) -> None:
    """prepare_to_wait Q / prepare_to_wait_exclusive Q (the module docstring)."""
    assert isinstance(st.arg, ast.Name)
    t = ctx.task
    ups = dict(ctx.nxt)
    if t is not None and t.state is not None:
        ups.update(enqueue(m, t, st.arg.name, st.op in EXCLUSIVE_OPS))
        ups[t.state] = C(1)
        if t.woken is not None:
            ups[t.woken] = C(1)
    m.b.add(ctx.label(ctx.node.text), ctx.here, ups, ctx.group)


def lower_finish(m: Model, ctx: Context, st: ast.Simple) -> None:
    """finish_wait Q: running, dequeued."""
    assert isinstance(st.arg, ast.Name)
    t = ctx.task
    ups = dict(ctx.nxt)
    if t is not None and t.state is not None:
        ups.update(dequeue(m, t, st.arg.name))
        ups[t.state] = C(0)
    m.b.add(ctx.label(ctx.node.text), ctx.here, ups, ctx.group)


def lower_wake_up_all(m: Model, ctx: Context, st: ast.Simple) -> None:
    assert isinstance(st.arg, ast.Name)
    m.b.add(ctx.label(ctx.node.text), ctx.here, {**ctx.nxt, **wake_updates(m, st.arg.name, True)}, ctx.group)


def lower_schedule(m: Model, ctx: Context) -> None:
    """schedule / schedule_timeout at a wait_sleep location (the module docstring)."""
    t = ctx.task
    node = ctx.node
    variants = sleep_variants(m, ctx, node.text.split(":")[0])
    if t is None or t.state is None:  # a frame: it sleeps in atomic context, and never wakes
        for guard, tags in variants:
            m.b.add(ctx.label(node.text), And(ctx.here, guard), dict(ctx.nxt), ctx.group, tags)
        return
    awake = Eq(V(t.state), C(0))
    for guard, tags in variants:
        m.b.add(ctx.label(node.text.split(":")[0] + ": running, returns"), And(ctx.here, guard, awake),
                dict(ctx.nxt), ctx.group, tags)
        for check, msg in tags:
            m.b.props.append(StateProp(check, Not(And(ctx.here, guard, _sleeping(t))), msg, node.line))


def lower_timeouts(m: Model, t: Task, dequeue_too: dict[int, str]) -> None:
    """The timeouts of task t's timed sleeps (the module docstring): per `wait_sleep` location of a
    timed wait, an environment step. `dequeue_too`: locations (of wait_for_completion_timeout)
    whose timeout also removes the entry from that completion (do_wait_for_common)."""
    if t.woken is None or t.state is None:
        return
    for i, n in enumerate(t.body.nodes):
        st = n.stmt
        if n.kind != "wait_sleep" or not isinstance(st, ast.Simple | ast.Wait) or st.op not in TIMED_WAITS:
            continue
        ups: dict[int, Expr] = {t.state: C(0), t.woken: C(0)}
        if i in dequeue_too:
            ups.update(dequeue(m, t, dequeue_too[i]))
        m.b.add(Label(f"timeout of {t.label}", f"{st.op} times out", n.line, None, "timer", StepKind.STATEMENT,
                      t.label),
                And(Eq(V(t.pc), C(i)), _sleeping(t)), ups, None, extra_fair=(f"timeout {t.label}@{i}",))


def woken_cond(m: Model, ctx: Context, cond: ast.Expr) -> Expr | None:
    """`woken` / `not woken` as an expression for the task at ctx; None for any other condition."""
    neg = isinstance(cond, ast.Not) and isinstance(cond.arg, ast.Woken)
    if not (isinstance(cond, ast.Woken) or neg):
        return None
    t = ctx.task
    w = FALSE if t is None or t.woken is None else Eq(V(t.woken), C(1))
    return Not(w) if neg else w


# ---- wait_event_exclusive / wait_event_timeout: the three steps of ___wait_event on an entry

def lower_event_prepare(m: Model, ctx: Context, st: ast.Wait) -> None:
    t = ctx.task
    ups = dict(ctx.nxt)
    if t is not None and t.state is not None:
        ups.update(enqueue(m, t, st.queue.name, st.op in EXCLUSIVE_OPS))
        ups[t.state] = C(1)
        if t.woken is not None:
            ups[t.woken] = C(1)
    label = ctx.label(ctx.node.text)
    for guard, tags in sleep_variants(m, ctx, ctx.node.text.split(":")[0]):
        m.b.add(label, And(ctx.here, guard), ups, ctx.group, tags)


def lower_event_test(m: Model, ctx: Context, st: ast.Wait) -> None:
    node = ctx.node
    t = ctx.task
    c = m.cond(st.cond, ctx.inc)
    done = dict(ctx.nxt)
    if t is not None and t.state is not None:
        done.update(dequeue(m, t, st.queue.name))
        done[t.state] = C(0)
    ok = dict(done)
    if t is not None and t.woken is not None:
        ok[t.woken] = C(1)
    m.b.add(ctx.label(node.text + "  (true: stop waiting)"), And(ctx.here, c), ok, ctx.group)
    timed_out = FALSE if t is None or t.woken is None or st.op not in TIMED_WAITS else Eq(V(t.woken), C(0))
    m.b.add(ctx.label(node.text + "  (false, timed out: give up)"), And(ctx.here, Not(c), timed_out), done,
            ctx.group)
    m.b.add(ctx.label(node.text + "  (false)"), And(ctx.here, Not(c), Not(timed_out)), ctx.goto(node.alt), ctx.group)


def lower_event_sleep(m: Model, ctx: Context, st: ast.Wait) -> None:
    """Woken (or timed out, `woken = 0`): back to prepare; a timed-out one straight to the test
    (which gives up unless F holds: the kernel's last test after the timeout)."""
    t = ctx.task
    node = ctx.node
    if t is None or t.state is None:  # a frame that sleeps never wakes
        return
    awake = Eq(V(t.state), C(0))
    timed_out = FALSE if t.woken is None or st.op not in TIMED_WAITS else Eq(V(t.woken), C(0))
    m.b.add(ctx.label(node.text.split(":")[0] + ": woken"), And(ctx.here, awake, Not(timed_out)), ctx.nxt,
            ctx.group)
    if timed_out != FALSE:
        m.b.add(ctx.label(node.text.split(":")[0] + ": timed out"), And(ctx.here, awake, timed_out),
                ctx.goto(node.alt), ctx.group)
