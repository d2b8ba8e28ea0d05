"""Waiting on purpose: `udelay`, `mdelay` (busy-wait) and `msleep` (sleeps), rule D6.

Time is not modelled; a delay means "wait long enough", and long enough is: every interrupt that
is pending and deliverable to this CPU has been delivered. A delay is one step of its context,
guarded by `here` and

    not deliverable(cpu)  and  for every on_kick device this CPU takes: no raise of it enabled

(`delivery.deliverable`: an entry of this CPU is enabled - IF = 1 and no STI shadow for a maskable
one, the controller's request and priority permitting, X1; `delivery.raise_enabled`: an unanswered
`kick` the device can still answer, P1b - the answer to a request is what a driver waits for, as in
probing between the kick and probe_irq_off, C2). While an interrupt is deliverable the delay cannot
finish but the entry can, so a delay never blocks a CPU on its own; with IF = 0 nothing maskable is
deliverable and the delay finishes at once. `msleep` sleeps: its step is split and tagged like every
sleeping statement (`waitq.sleep_variants`, D4); `udelay`/`mdelay` never sleep and are allowed in
any context. The two busy-waits differ only in how long the kernel spins, which is not modelled.
"""

from __future__ import annotations

from ircheck.grammar import ast
from ircheck.spec.context import Context
from ircheck.spec.delivery import deliverable, raise_enabled, takes
from ircheck.spec.model import Model
from ircheck.spec.prims.waitq import sleep_variants
from ircheck.spec.ts import TRUE, And, Expr, Not


def waited_long_enough(m: Model, ctx: Context) -> Expr:
    """D6: nothing deliverable to this CPU is pending, and no kicked device it takes can still answer."""
    kicked = [raise_enabled(m, dev) for dev in m.d.devices.values() if dev.on_kick and takes([dev], ctx.cpu.index)]
    return And(Not(deliverable(m, ctx.cpu)), *[Not(k) for k in kicked])


def lower_delay(m: Model, ctx: Context, st: ast.Simple) -> None:
    label = ctx.label(ctx.node.text)
    done = waited_long_enough(m, ctx)
    variants = sleep_variants(m, ctx, st.op) if st.op == "msleep" else [(TRUE, [])]
    for guard, tags in variants:
        m.b.add(label, And(ctx.here, done, guard), dict(ctx.nxt), ctx.group, tags)
