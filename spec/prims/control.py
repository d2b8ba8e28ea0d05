"""Control flow: calls, returns, tests, spinning loops (one statement = one step, cfg.py).

Guarded commands at `here`, the rest unchanged:
* `call F` / the return from F (calls are inlined): the pc moves to the callee's / caller's next;
* a test `if c` / `while c`: guard `c`: pc to the true branch; guard `not c`: pc to the false one
  (the labels say "(true)" / "(false)");
* an atomic conditional `if test_and_set F` (and `while`, `not`): its outcomes, each one step with
  its write (prims/atomic.py, R4);
* `choose { A } or { B } ...`: one step per branch, guard `here`: the pc to that branch's first
  location (the labels say "(branch k)"): the environment picks.
* `if woken` / `if not woken` (R5, R6): the task's `woken` (prims/waitq_api.woken_cond);
* an empty `loop {}` spins: the pc stays (moves to itself).
"""

from __future__ import annotations

from ircheck.grammar import ast
from ircheck.spec.context import Context
from ircheck.spec.model import Model
from ircheck.spec.prims.atomic import lower_atomic_test
from ircheck.spec.prims.waitq_api import woken_cond
from ircheck.spec.ts import And, Not


def lower_jump(m: Model, ctx: Context) -> None:
    """call, ret, and a spinning empty loop: only the pc moves."""
    m.b.add(ctx.label(ctx.node.text), ctx.here, ctx.nxt, ctx.group)


def lower_test(m: Model, ctx: Context) -> None:
    node = ctx.node
    assert isinstance(node.stmt, ast.If | ast.While)
    atomic = ast.atomic_test(node.stmt.cond)
    if atomic is not None:
        lower_atomic_test(m, ctx, *atomic)
        return
    woken = woken_cond(m, ctx, node.stmt.cond)
    c = m.cond(node.stmt.cond, ctx.inc, ctx.cpu.index) if woken is None else woken
    m.b.add(ctx.label(node.text + "  (true)"), And(ctx.here, c), ctx.goto(node.next), ctx.group)
    m.b.add(ctx.label(node.text + "  (false)"), And(ctx.here, Not(c)), ctx.goto(node.alt), ctx.group)


def lower_choose(m: Model, ctx: Context) -> None:
    node = ctx.node
    for k, start in enumerate(node.alts, 1):
        m.b.add(ctx.label(f"{node.text}  (branch {k})"), ctx.here, ctx.goto(start), ctx.group)
