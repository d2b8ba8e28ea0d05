"""Control flow: calls, returns, tests, spinning loops (one statement = one step, cfg.py).

Guarded commands at `here`, the rest unchanged:
* `call F` / the return from F (calls are inlined): the pc moves to the callee's / caller's next;
* a test `if c` / `while c`: guard `c`: pc to the true branch; guard `not c`: pc to the false one
  (the labels say "(true)" / "(false)");
* an empty `loop {}` spins: the pc stays (moves to itself).
"""

from __future__ import annotations

from ircheck.grammar import ast
from ircheck.spec.context import Context
from ircheck.spec.model import Model
from ircheck.spec.ts import And, Not


def lower_jump(m: Model, ctx: Context) -> None:
    """call, ret, and a spinning empty loop: only the pc moves."""
    m.b.add(ctx.label(ctx.node.text), ctx.here, ctx.nxt, ctx.group)


def lower_test(m: Model, ctx: Context) -> None:
    node = ctx.node
    assert isinstance(node.stmt, ast.If | ast.While)
    c = m.cond(node.stmt.cond, ctx.inc)
    m.b.add(ctx.label(node.text + "  (true)"), And(ctx.here, c), ctx.goto(node.next), ctx.group)
    m.b.add(ctx.label(node.text + "  (false)"), And(ctx.here, Not(c)), ctx.goto(node.alt), ctx.group)
