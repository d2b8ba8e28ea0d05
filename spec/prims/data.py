"""Data, flags and counters, and the exact counter bound every nesting count uses.

Guarded commands, at a location guarded by `here` (the context is there and running), `pc` moving
to the next location; everything not named is unchanged:

* `nop`, `read D`, `write D`: only the pc moves (data races are a state property, properties.py);
* `set F` / `clear F`: `F := 1` / `F := 0`;
* `inc C`: guard `C != max`: `C := C + 1`; guard `C = max`: only the pc moves, tagged counter_range;
* `dec C`: guard `C != 0`: `C := C - 1`; guard `C = 0`: only the pc moves, tagged counter_range;
* `atomic_inc C` / `atomic_dec C` (R4, prims/atomic.py): as `inc C` / `dec C`, one step each.

`count_up(v, ...)`: a model counter v + 1 below its top; at its top the step keeps v and is tagged
as a model bound (K6), never a silent clamp.
"""

from __future__ import annotations

from ircheck.grammar import ast
from ircheck.spec.build import Builder
from ircheck.spec.context import Context
from ircheck.spec.model import Model
from ircheck.spec.ts import BOUND, And, Bin, C, Eq, Expr, Not, V

Effect = tuple[Expr, dict[int, Expr], list[tuple[str, str]]]  # guard, updates, violation tags


def count_up(b: Builder, v: int, guard: Expr, what: str, line: int, ups: dict[int, Expr]) -> list[Effect]:
    """Counter v + 1, sized exactly from the model (`variables.count_sites`): below the top it counts;
    at the top the step keeps the value and is tagged as a model bound, so every check it could
    affect says inconclusive instead of trusting a clamped count (no silent saturation)."""
    top = b.vars[v].size - 1
    return [(And(guard, Bin("<", V(v), C(top))), {**ups, v: Bin("+", V(v), C(1))}, []),
            (And(guard, Eq(V(v), C(top))), ups,
             [(BOUND, f"{b.vars[v].name} reached the model's bound of {top} at {what} (line {line}): "
                      "a loop or a context that runs again nests it deeper than the code shows")])]


def lower_step(m: Model, ctx: Context, st: ast.Simple) -> None:
    """nop, read, write: the pc moves."""
    m.b.add(ctx.label(ctx.node.text), ctx.here, dict(ctx.nxt), ctx.group)


def lower_flag(m: Model, ctx: Context, st: ast.Simple) -> None:
    assert isinstance(st.arg, ast.Name)
    ups = dict(ctx.nxt)
    ups[m.obj[st.arg.name]] = C(1 if st.op == "set" else 0)
    m.b.add(ctx.label(ctx.node.text), ctx.here, ups, ctx.group)


def counter_effects(m: Model, name: str, up: bool) -> list[tuple[Expr, dict[int, Expr], tuple[tuple[str, str], ...]]]:
    """(guard, updates, tags) of counter `name` + 1 (`up`) or - 1: below max / above 0 it counts;
    at the bound only the pc moves, tagged counter_range (`inc`/`dec`, `atomic_inc`/`atomic_dec`)."""
    m.b.uses_counters = True
    v = m.obj[name]
    mx = m.d.objects[name].max
    ok = Not(Eq(V(v), C(mx) if up else C(0)))
    msg = f"counter {name} would exceed its max {mx}" if up else f"counter {name} would go below 0"
    return [(ok, {v: Bin("+" if up else "-", V(v), C(1))}, ()), (Not(ok), {}, (("counter_range", msg),))]


def lower_counter(m: Model, ctx: Context, st: ast.Simple) -> None:
    """inc, dec, and atomic_inc, atomic_dec (one step each: the same guarded commands, R4)."""
    assert isinstance(st.arg, ast.Name)
    label = ctx.label(ctx.node.text)
    for guard, ups, tags in counter_effects(m, st.arg.name, st.op in ("inc", "atomic_inc")):
        m.b.add(label, And(ctx.here, guard), {**ctx.nxt, **ups}, ctx.group, tags)
