"""Wait queues and sleeping (W1, W2, D4): wait_event in three steps, wake_up, sleep.

A task that can sleep has `state` (0 running, 1 sleeping). Guarded commands, `here` guarding each,
unnamed variables unchanged:

* `wait_prepare` (prepare_to_wait): `state := 1`, pc on; one variant per sleep_in_atomic case;
* `wait_test` (the condition c): guard `c`: `state := 0`, pc to after the wait; guard `not c`: pc
  to `wait_sleep`;
* `wait_sleep` (schedule): guard `state = 0` ("woken"): pc on (back to prepare, or on). A frame that
  reaches it never wakes: it has no step;
* `wake_up Q`: for every task with a wait on Q: `state := 0 if pc in Q's wait locations else state`
  (`legacy_wakes`; prims/waitq_api.lower_wake_up adds the entries of the R5 API);
* `sleep`: only the pc moves; tagged like every sleeping statement.

`sleep_variants(ctx, what)`: when no_sleep_in_atomic is on, a sleeping step is split by why it is
atomic: in hardirq/softirq context always; in a task: IF = 0, then each spinlock it holds, then BH
disabled - each variant tagged with the kernel's "BUG: sleeping function called from invalid
context" text - and the untagged rest.
"""

from __future__ import annotations

from ircheck.grammar import ast
from ircheck.spec.cfg import Node
from ircheck.spec.context import Context
from ircheck.spec.model import Model
from ircheck.spec.ts import TRUE, And, Bin, C, Eq, Expr, In, Not, Or, V

Variants = list[tuple[Expr, list[tuple[str, str]]]]


def queue_of(n: Node) -> str | None:
    st = n.stmt
    if isinstance(st, ast.Wait):
        return st.queue.name
    if isinstance(st, ast.Simple) and isinstance(st.arg, ast.Name):
        return st.arg.name
    return None


def atomic_locks_held(m: Model, owner: Expr) -> list[tuple[str, Expr]]:
    """(what, "owner holds it") per lock whose holder may not sleep or be preempted: each spinlock,
    and each rwlock's writer side and reader side (R1: both are spinning locks)."""
    out = [(f"spinlock {nm}", Eq(V(v), owner)) for nm, v in m.lock.items() if m.lock_kind[nm] == "spinlock"]
    for nm, rw in m.rwlock.items():
        out.append((f"rwlock {nm} (write)", Eq(V(rw.writer), owner)))
        reads = [And(Eq(owner, C(ident)), Bin(">", V(v), C(0))) for ident, v in rw.readers.items()]
        if reads:
            out.append((f"rwlock {nm} (read)", Or(*reads)))
    return out


def sleep_variants(m: Model, ctx: Context, what: str) -> Variants:
    if not m.enabled("no_sleep_in_atomic"):
        return [(TRUE, [])]
    bug = f"BUG: sleeping function called from invalid context: {what} in {ctx.who}"
    if ctx.kind != "task":
        return [(TRUE, [("no_sleep_in_atomic", f"{bug}, {ctx.kind} context")])]
    t = ctx.task
    assert t is not None
    irqs_on = Eq(V(ctx.cpu.IF), C(1))
    held = atomic_locks_held(m, C(t.ident))
    out: Variants = [(Not(irqs_on), [("no_sleep_in_atomic", f"{bug}, with IRQs disabled")])]
    free = irqs_on
    for nm, h in held:
        out.append((And(free, h), [("no_sleep_in_atomic", f"{bug}, holding {nm}")]))
        free = And(free, Not(h))
    if t.bh is not None:
        out.append((And(free, Bin(">", V(t.bh), C(0))), [("no_sleep_in_atomic", f"{bug}, with BH disabled")]))
        free = And(free, Eq(V(t.bh), C(0)))
    if t.preempt is not None:
        out.append((And(free, Bin(">", V(t.preempt), C(0))),
                     [("no_sleep_in_atomic", f"BUG: scheduling while atomic: {what} in {ctx.who}, with preemption "
                                             "disabled")]))
        free = And(free, Eq(V(t.preempt), C(0)))
    out.append((free, []))
    return out


def lower_wait_prepare(m: Model, ctx: Context) -> None:
    node = ctx.node
    ups = dict(ctx.nxt)
    if ctx.task is not None and ctx.task.state is not None:
        ups[ctx.task.state] = C(1)
    label = ctx.label(node.text)
    for guard, tags in sleep_variants(m, ctx, node.text.split(":")[0]):
        m.b.add(label, And(ctx.here, guard), ups, ctx.group, tags)


def lower_wait_test(m: Model, ctx: Context) -> None:
    node = ctx.node
    assert node.cond is not None
    c = m.cond(node.cond, ctx.inc, ctx.cpu.index)
    ups = dict(ctx.nxt)
    if ctx.task is not None and ctx.task.state is not None:
        ups[ctx.task.state] = C(0)
    m.b.add(ctx.label(node.text + "  (true: stop waiting)"), And(ctx.here, c), ups, ctx.group)
    m.b.add(ctx.label(node.text + "  (false)"), And(ctx.here, Not(c)), ctx.goto(node.alt), ctx.group)


def lower_wait_sleep(m: Model, ctx: Context) -> None:
    node = ctx.node
    if ctx.task is not None and ctx.task.state is not None:  # a frame that sleeps never wakes
        m.b.add(ctx.label(node.text.split(":")[0] + ": woken"), And(ctx.here, Eq(V(ctx.task.state), C(0))),
                ctx.nxt, ctx.group)


def lower_sleep(m: Model, ctx: Context, st: ast.Simple) -> None:
    label = ctx.label(ctx.node.text)
    for guard, tags in sleep_variants(m, ctx, "sleep"):
        m.b.add(label, And(ctx.here, guard), dict(ctx.nxt), ctx.group, tags)


LEGACY_WAITS = frozenset({"wait_event", "epoll_wait", "sleep_on"})


def legacy_wakes(m: Model, q: str) -> dict[int, Expr]:
    """Per task state variable: `wake_up q` sets it running - the task is at a location of a
    wait_event/epoll_wait/sleep_on on q (those waits are queued from their prepare to their end, W2)."""
    out: dict[int, Expr] = {}
    for t in m.tasks:
        if t.state is None:
            continue
        qlocs = m.locs(t.body, lambda n: n.kind.startswith("wait_") and queue_of(n) == q and
                       isinstance(n.stmt, ast.Simple | ast.Wait) and n.stmt.op in LEGACY_WAITS)
        if qlocs:
            out[t.state] = In(V(t.pc), qlocs)
    return out
