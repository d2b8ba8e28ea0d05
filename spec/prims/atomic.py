"""Atomics (R4): `atomic_inc C`, `atomic_dec C` and the conditionals `if atomic_dec_and_test C`,
`if test_and_set F`, `if test_and_clear F` (also in `while`, each also under `not`).

Each is one indivisible step: the read, the modification and (for a conditional) the branch
decision are one guarded command, so nothing can run between them on any CPU - the kernel's
`atomic_inc()`/`atomic_dec_and_test()` (include/linux/atomic.h, Documentation/atomic_t.txt: "RMW
ops") and `test_and_set_bit()`/`test_and_clear_bit()` (include/asm-generic/bitops/atomic.h, one
`arch_atomic_long_fetch_or`/`fetch_andnot`) are single read-modify-writes. Guarded commands at
`here`, the rest unchanged (`then`/`else`: the true and false branches; under `not` they swap):

* `atomic_inc C` / `atomic_dec C`: lowered by data.lower_counter as `inc C` / `dec C`: below max /
  above 0 it counts, else only the pc moves, tagged counter_range;
* `if atomic_dec_and_test C`: guard `C = 1`: `C := 0`, then; guard `C > 1`: `C := C - 1`, else;
  guard `C = 0`: only the pc moves to else, tagged counter_range (the count would go below 0);
* `if test_and_set F`: guard `F = 1`: then; guard `F = 0`: `F := 1`, else (it returns the old bit);
* `if test_and_clear F`: guard `F = 1`: `F := 0`, then; guard `F = 0`: else.

Data races: two atomics never race; a plain access of the same counter or flag at the same time as
an atomic one, or as a plain write, does (properties.race_props, the LKMM's rule).
"""

from __future__ import annotations

from ircheck.grammar import ast
from ircheck.spec.context import Context
from ircheck.spec.model import Model
from ircheck.spec.ts import And, Bin, C, Eq, Expr, V

Branch = tuple[Expr, dict[int, Expr], bool, tuple[tuple[str, str], ...]]  # guard, updates, result, tags


def branches(m: Model, test: ast.AtomicTest) -> list[Branch]:
    """The outcomes of one atomic conditional: (guard on the state before, updates, the value it
    returns, tags); the guards are disjoint and cover every state."""
    v = m.obj[test.arg.name]
    x = V(v)
    if test.op == "atomic_dec_and_test":
        m.b.uses_counters = True
        low = f"counter {test.arg.name} would go below 0"
        return [(Eq(x, C(1)), {v: C(0)}, True, ()),
                (Bin(">", x, C(1)), {v: Bin("-", x, C(1))}, False, ()),
                (Eq(x, C(0)), {}, False, (("counter_range", low),))]
    if test.op == "test_and_set":
        return [(Eq(x, C(1)), {}, True, ()), (Eq(x, C(0)), {v: C(1)}, False, ())]
    assert test.op == "test_and_clear"
    return [(Eq(x, C(1)), {v: C(0)}, True, ()), (Eq(x, C(0)), {}, False, ())]


def lower_atomic_test(m: Model, ctx: Context, test: ast.AtomicTest, negated: bool) -> None:
    """`if [not] OP X` / `while [not] OP X`: each outcome is one step to its branch."""
    node = ctx.node
    for guard, ups, result, tags in branches(m, test):
        taken = result != negated
        where = "  (true)" if taken else "  (false)"
        m.b.add(ctx.label(node.text + where), And(ctx.here, guard),
                {**ctx.goto(node.next if taken else node.alt), **ups}, ctx.group, tags)
