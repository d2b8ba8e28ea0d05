"""genirq's descriptor and calls (L5, L6): disable_irq, enable_irq, free_irq, synchronize_irq, return.

Per requested line n (context.Descriptor): `inprogress`, `pending`, `depth` (disable count),
`ret` (what the actions returned), `freed`. Guarded commands at `here`, pc moving on, the rest
unchanged:

* `disable_irq n` / `disable_irq_nosync n`: `depth := depth + 1` (data.count_up: a tagged bound at
  the top); disable_irq also waits (its `sync_wait` location: guard `irq_idle`) and may sleep
  (waitq.sleep_variants);
* `enable_irq n`: guard `depth = 0`: nothing, tagged eoi_balanced ("Unbalanced enable");
  `depth > 1`: `depth := depth - 1`; `depth = 1`: `depth := 0` and unmask (if not freed); on an
  edge line with `pending = 1` the edge is resent: `pending := 0`, `IRR[n] := 1` - tagged
  no_lost_irq when that IRR bit is already set;
* `free_irq n`: `freed := 1`, `IMR[n] := 1`, after waiting like synchronize_irq;
* `sync_wait` (synchronize_irq, the waits of disable_irq/free_irq): guard `irq_idle(n)`: no
  handler in progress and every thread of the line idle and not woken;
* `return handled|none|wake_thread` in an action: `ret := ret | bit` (bit 0 handled, `wake_bit`);
* `thread_done` of a thread on an IRQF_ONESHOT line (irq_finalize_oneshot): guard `inprogress = 0`;
  unmask when `may_unmask` (depth 0, not freed), the thread was not woken again, and every other
  thread of the line is idle and not woken (`threads_oneshot_clear`).

The chip operations (`mask`, `unmask`, `chip_ack`, the resend) go through the line's controller
(controllers/protocol.py `line_*`), whatever chip it is.
"""

from __future__ import annotations

from ircheck.grammar import ast
from ircheck.spec.context import Context, Descriptor, Incarnation, Task
from ircheck.spec.model import Model
from ircheck.spec.prims.data import count_up
from ircheck.spec.prims.waitq import Variants, sleep_variants
from ircheck.spec.ts import TRUE, And, Bin, C, Eq, Expr, Label, Not, V
from ircheck.spec.variables import DISABLE_OPS


def irq_threads(m: Model, dsc: Descriptor) -> list[Task]:
    names = {a.thread for a in dsc.irq.actions if a.thread}
    return [t for t in m.tasks if t.code.name in names]


def irq_idle(m: Model, dsc: Descriptor) -> Expr:
    """synchronize_irq's condition: no handler runs and no thread of the line is woken or running."""
    parts = [Eq(V(dsc.inprogress), C(0))]
    for t in irq_threads(m, dsc):
        assert t.wake is not None
        parts += [Eq(V(t.wake), C(0)), Eq(V(t.pc), C(0))]
    return And(*parts)


def flow_not_serving(m: Model, inc: Incarnation) -> Expr:
    """A level request that a handler or a oneshot thread is already serving is not waiting."""
    assert inc.irq is not None
    dsc = m.desc[inc.irq.irq]
    parts = [Eq(V(dsc.inprogress), C(0))]
    for a in inc.irq.actions:
        t = m.task_named(a.thread)
        if t is not None and a.oneshot and t.wake is not None:
            parts += [Eq(V(t.wake), C(0)), Eq(V(t.pc), C(0))]
    return And(*parts)


def wake_bit(dsc: Descriptor, action: int) -> int:
    """The bit of `irq{n}.ret` that records "action returned IRQ_WAKE_THREAD": bit 0 is "some
    action returned IRQ_HANDLED", bit 1 + j the j-th action that has a thread. The bits are
    OR-ed in by each action's `return` (or its end), so the variable has 2^(1 + threads) values,
    not one per combination of every action's result."""
    j = sum(1 for a in dsc.irq.actions[:action] if a.thread is not None)
    return 2 << j


def mask(m: Model, dsc: Descriptor) -> dict[int, Expr]:
    """The line's chip masks it (the controller's `line_mask`)."""
    return m.line_controller(dsc.irq).line_mask(dsc.irq.pic, dsc.irq.input)


def unmask(m: Model, dsc: Descriptor, when: Expr) -> dict[int, Expr]:
    """The line's chip unmasks it when `when` holds (the controller's `line_unmask`)."""
    return m.line_controller(dsc.irq).line_unmask(dsc.irq.pic, dsc.irq.input, when)


def may_unmask(dsc: Descriptor) -> Expr:
    return And(Eq(V(dsc.depth), C(0)), TRUE if dsc.freed is None else Eq(V(dsc.freed), C(0)))


def chip_ack(m: Model, dsc: Descriptor, cpu: int) -> dict[int, Expr]:
    """The chip's ack at flow entry on `cpu` (the controller's `line_ack`: for an 8259A a specific EOI,
    for an edge I/O APIC pin or MSI the local APIC's EOI)."""
    return m.line_controller(dsc.irq).line_ack(dsc.irq.pic, dsc.irq.input, cpu)


def chip_eoi(m: Model, dsc: Descriptor, cpu: int, unmask_when: Expr, mask: bool = False
             ) -> list[tuple[Expr, dict[int, Expr]]]:
    """The fasteoi flow's EOI on `cpu` (the controller's `line_eoi`): unmask when `unmask_when` or mask
    (`mask`), then EOI; one (guard, updates) per vector that may be the highest in service."""
    return m.line_controller(dsc.irq).line_eoi(dsc.irq.pic, dsc.irq.input, cpu, unmask_when, mask)


def lower_sync_wait(m: Model, ctx: Context) -> None:
    st = ctx.node.stmt
    assert isinstance(st, ast.Simple) and isinstance(st.arg, ast.Num)
    dsc = m.desc[st.arg.value]
    waits: Variants = [(TRUE, [])]
    if st.op != "disable_irq":  # disable_irq's sleep is judged at its first step
        waits = sleep_variants(m, ctx, f"{st.op} {st.arg.value}")
    label = ctx.label(ctx.node.text)
    for guard, vio in waits:
        m.b.add(label, And(ctx.here, guard, irq_idle(m, dsc)), ctx.nxt, ctx.group, vio)


def threads_oneshot_clear(m: Model, dsc: Descriptor, but: Task | None = None) -> Expr:
    """`desc->threads_oneshot` has no bit set (but `but`'s): every irq thread of the line is idle and
    not woken (a bit is set by `__irq_wake_thread` and cleared when that thread's run ends)."""
    parts: list[Expr] = []
    for t in irq_threads(m, dsc):
        if t is not but:
            assert t.wake is not None
            parts += [Eq(V(t.wake), C(0)), Eq(V(t.pc), C(0))]
    return And(*parts)


def lower_thread_done(m: Model, ctx: Context) -> None:
    """The end of an irq thread's run. On an IRQF_ONESHOT line, irq_finalize_oneshot (L8): wait while a
    flow handler is in progress; if the thread was woken again meanwhile (`wake = 1`) its bit stays
    set and nothing is unmasked; else unmask when no other thread's bit is set and the IRQ is not
    disabled."""
    ups = dict(ctx.nxt)
    t = ctx.task
    guard = ctx.here
    if t is not None and t.irq is not None and t.irq.oneshot:
        assert t.wake is not None
        dsc = m.desc[t.irq.irq]
        guard = And(guard, Eq(V(dsc.inprogress), C(0)))
        ups.update(unmask(m, dsc, And(may_unmask(dsc), Eq(V(t.wake), C(0)), threads_oneshot_clear(m, dsc, t))))
    m.b.add(ctx.label(ctx.node.text), guard, ups, ctx.group)


def handler_exit(m: Model, ctx: Context, guard: Expr, ups: dict[int, Expr], handler: str | None,
                 ) -> list[tuple[Expr, dict[int, Expr], list[tuple[str, str]]]]:
    """The return of a request_irq action's handler (L1, `__handle_irq_event_percpu`): with IF = 0
    as it was entered; with IF = 1 the kernel WARNs "irq N handler F enabled interrupts" (tagged
    eoi_balanced) and disables them again (`IF := 0`)."""
    if handler is None:  # irq_default_primary_handler: IF untouched
        return [(guard, ups, [])]
    assert ctx.inc is not None and ctx.inc.irq is not None
    n = ctx.inc.irq.irq
    on = Eq(V(ctx.cpu.IF), C(1))
    return [(And(guard, Not(on)), ups, []),
            (And(guard, on), {**ups, ctx.cpu.IF: C(0)},
             [("eoi_balanced", f"WARNING: irq {n} handler {handler} enabled interrupts: it returned with IF=1; "
                               "the kernel disables them again (L1)")])]


def lower_return(m: Model, ctx: Context, st: ast.Simple) -> None:
    arg = st.arg
    assert isinstance(arg, ast.Name) and ctx.inc is not None
    dsc = m.desc[ctx.inc.irq.irq] if ctx.inc.irq else None
    assert dsc is not None
    ups = dict(ctx.nxt)
    bit = wake_bit(dsc, ctx.node.action) if arg.name == "wake_thread" else int(arg.name == "handled")
    if bit:
        ups[dsc.ret] = Bin("|", V(dsc.ret), C(bit))
    handler = dsc.irq.actions[ctx.node.action].handler
    for guard, u, tags in handler_exit(m, ctx, ctx.here, ups, handler):
        m.b.add(ctx.label(ctx.node.text), guard, u, ctx.group, tags)


def lower_irq_call(m: Model, ctx: Context, st: ast.Simple) -> None:
    op = st.op
    assert isinstance(st.arg, ast.Num)
    n = st.arg.value
    dsc = m.desc[n]
    label = ctx.label(ctx.node.text)
    here, g = ctx.here, ctx.group
    dv = V(dsc.depth)
    ups = dict(ctx.nxt)
    if op in DISABLE_OPS:
        tags = sleep_variants(m, ctx, f"disable_irq {n}") if op == "disable_irq" else [(TRUE, [])]
        for guard, vio in tags:
            for guard2, u, bound in count_up(m.b, dsc.depth, guard, f"{op} {n}", label.line, ups):
                m.b.add(label, And(here, guard2), u, g, vio + bound)
    elif op == "enable_irq":
        m.b.add(label, And(here, Eq(dv, C(0))), ups, g,
                [("eoi_balanced", f"WARNING: Unbalanced enable for IRQ {n}: enable_irq at depth 0 (L5)")])
        m.b.add(label, And(here, Bin(">", dv, C(1))), {**ups, dsc.depth: Bin("-", dv, C(1))}, g)
        last = {**ups, dsc.depth: C(0)}
        last.update(unmask(m, dsc, TRUE if dsc.freed is None else Eq(V(dsc.freed), C(0))))
        if not dsc.level:  # a pending edge is resent once (check_irq_resend)
            again = m.line_controller(dsc.irq).line_resend(dsc.irq.pic, dsc.irq.input)
            resend = {**last, dsc.pending: C(0), **again.updates}
            latched = again.latched
            rlabel = Label(label.actor, label.action + ": resend the pending edge", label.line, label.cpu,
                           label.context, label.kind, label.target)
            m.b.add(rlabel, And(here, Eq(dv, C(1)), Eq(V(dsc.pending), C(1)), Not(latched)), resend, g)
            m.b.add(rlabel, And(here, Eq(dv, C(1)), Eq(V(dsc.pending), C(1)), latched), resend, g,
                    [("no_lost_irq", f"IRQ {n}: the PENDING edge resent by enable_irq merges with an edge "
                                     f"already latched in {again.where}: one of them is lost")])
            m.b.add(label, And(here, Eq(dv, C(1)), Eq(V(dsc.pending), C(0))), last, g)
        else:
            m.b.add(label, And(here, Eq(dv, C(1))), last, g)
    elif op == "free_irq":
        if dsc.freed is not None:
            ups[dsc.freed] = C(1)
        ups.update(mask(m, dsc))
        m.b.add(label, here, ups, g)
    else:  # pragma: no cover - synchronize_irq is a sync_wait node only
        raise AssertionError(op)
