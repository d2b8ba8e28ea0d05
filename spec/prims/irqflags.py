"""IRQ flags and bottom halves (K1): cli/sti, local_irq_disable/enable, local_irq_save/restore,
local_bh_disable/enable.

Guarded commands at a location guarded by `here`, the pc moving on; unnamed variables unchanged:

* `cli` / `sti`: `IF := 0` / `IF := 1`; `sti` with IF = 0 opens the STI shadow (X1, see
  `lower_cli_sti`); `local_irq_disable` / `local_irq_enable` are the same (on x86
  `native_irq_disable`/`native_irq_enable` are `cli`/`sti`, arch/x86/include/asm/irqflags.h);
* `local_irq_save` (and the IF part of `spin_lock_irqsave`), per save slot (a task's own, or the
  frame's at `depth = k`): guard `nsave < top`: `flags := IF if nsave = 0 else flags`, `IF := 0`,
  `nsave := nsave + 1`; at the top a tagged bound (data.count_up). Only the outermost save saves IF;
* `local_irq_restore` (`spin_unlock_irqrestore`): `IF := flags if nsave <= 1 else 0`,
  `flags := 0 if nsave <= 1 else flags`, `nsave := max(nsave - 1, 0)`: only the last restore
  restores IF. A context with no slot (it never saves) just sets IF := 0 on a save;
* `spin_lock_irq` / `spin_unlock_irq`: `IF := 0` / `IF := 1`;
* `sti`, `local_irq_enable` and a `local_irq_restore` that turns IF on open the STI shadow (X1,
  `sti_shadow`); the unlocks do not (their `sti` is followed by `preempt_enable` inside them);
* `local_bh_disable` (`spin_lock_bh`) in a task that counts: `bh := bh + 1` (count_up);
  `local_bh_enable` (`spin_unlock_bh`): `bh := max(bh - 1, 0)`. In hardirq and softirq context
  BH is already off: nothing changes.
"""

from __future__ import annotations

from ircheck.grammar import ast
from ircheck.spec.context import Context
from ircheck.spec.language import STATEMENT, Flags
from ircheck.spec.model import Model
from ircheck.spec.prims.data import Effect, count_up
from ircheck.spec.prims.held_usage import held_on_usages, save_slots
from ircheck.spec.ts import TRUE, And, Bin, C, Eq, Expr, Ite, V


def irq_effects(m: Model, op: str, ctx: Context, line: int = 0) -> list[Effect]:
    """(guard, updates, tags) of what `op` does to IF and the BH count, per frame depth where it
    matters, read from its row of spec/language.py (`irq_flags`, `bh`): every lock flavour (K1,
    spinlock and rwlock alike, R1) gets the same effect. The saved-IF stack of local_irq_save and the
    `_irqsave` locks is kept as the outermost saved IF plus the nesting count: only the outermost
    save saves IF (the inner ones see IF off), only the last restore restores it. Both counts are
    exact (`count_up`)."""
    IF = ctx.cpu.IF
    row = STATEMENT[op]
    if row.irq_flags is Flags.DISABLE:
        return [(TRUE, {IF: C(0)}, [])]
    if row.irq_flags is Flags.ENABLE:
        return [(TRUE, {IF: C(1)}, [])]
    if row.bh is not Flags.NONE:
        t = ctx.task
        if t is None or t.bh is None:
            return [(TRUE, {}, [])]  # softirq and hardirq context: BH is already off
        if row.bh is Flags.DISABLE:
            return count_up(m.b, t.bh, TRUE, op, line, {})
        return [(TRUE, {t.bh: Ite(Bin(">", V(t.bh), C(0)), Bin("-", V(t.bh), C(1)), C(0))}, [])]
    if row.irq_flags in (Flags.SAVE, Flags.RESTORE):
        save = row.irq_flags is Flags.SAVE
        out: list[Effect] = []
        for guard, fv, nv in save_slots(ctx):
            n = V(nv)
            if save:
                out += count_up(m.b, nv, guard, op, line, {fv: Ite(Eq(n, C(0)), V(IF), V(fv)), IF: C(0)})
            else:
                last = Bin("<=", n, C(1))
                out.append((guard, {IF: Ite(last, V(fv), C(0)), fv: Ite(last, C(0), V(fv)),
                                    nv: Ite(Bin(">", n, C(0)), Bin("-", n, C(1)), C(0)),
                                    **sti_shadow(ctx, And(last, Eq(V(fv), C(1))), op)}, []))
        return out or [(TRUE, {IF: C(0)} if save else {}, [])]
    return [(TRUE, {}, [])]


def sti_shadow(ctx: Context, sets_if: Expr, op: str) -> dict[int, Expr]:
    """X1 for the statements that are an `sti` followed by the caller's next instruction: on x86
    `local_irq_enable` is `native_irq_enable`, an inline `sti`, and `local_irq_restore` of saved
    flags with IF set ends in that same inline `sti` (arch/x86/include/asm/irqflags.h
    `arch_local_irq_restore`). Such a step opens the STI shadow when `sets_if` holds and IF was 0 -
    `sti_shadow := 1`, cleared by the CPU's next step (build.Builder.add) - except at a context's
    last statement (the idle loop's next instruction follows at once). Not the unlocks
    (`spin_unlock_irq`, `spin_unlock_irqrestore`, the rwlock ones): their `sti` is followed by
    `preempt_enable()` inside the out-of-line unlock function (include/linux/spinlock_api_smp.h
    `__raw_spin_unlock_irq`, `__raw_spin_unlock_irqrestore`), so the shadow ends there and the
    caller's next statement is interruptible. Nothing where the CPU has no shadow variable
    (variables.STI_USES)."""
    shadow = ctx.cpu.sti_shadow
    if shadow is None or STATEMENT[op].primitive != "irq_flags" or ends_after(ctx):
        return {}
    return {shadow: Ite(And(Eq(V(ctx.cpu.IF), C(0)), sets_if), C(1), C(0))}


def lower_cli_sti(m: Model, ctx: Context, st: ast.Simple) -> None:
    """With lockdep, `sti` is split by the locks held (held_usage.held_on_usages, K4).

    X1 (SDM vol. 2B STI): an `sti` that sets IF (it was 0) opens the STI shadow, `sti_shadow := 1`:
    no maskable interrupt is taken until the CPU's next step (build.Builder.add clears it) - except
    where the context ends right after the `sti` (a thread's last statement: the idle loop's next
    instruction follows at once)."""
    enable = STATEMENT[st.op].irq_flags is Flags.ENABLE
    ups = dict(ctx.nxt)
    ups[ctx.cpu.IF] = C(1 if enable else 0)
    if enable:
        ups.update(sti_shadow(ctx, TRUE, st.op))
    for held, tags in held_on_usages(m, ctx, st.op):
        m.b.add(ctx.label(ctx.node.text), And(ctx.here, held), ups, ctx.group, tags)


def ends_after(ctx: Context) -> bool:
    """The statement at `ctx` is its context's last: the next location is the body's end."""
    body = ctx.task.body if ctx.task is not None else ctx.inc.body if ctx.inc is not None else None
    return body is not None and body.nodes[ctx.node.next].kind == "end"


def lower_flags_op(m: Model, ctx: Context, st: ast.Simple) -> None:
    """local_irq_save/restore, local_bh_disable/enable (with lockdep split by the locks held when a
    restore or local_bh_enable turns IRQs or BH on: held_usage.held_on_usages, K4)."""
    label = ctx.label(ctx.node.text)
    for guard, e, bound in irq_effects(m, st.op, ctx, ctx.node.line):
        for held, tags in held_on_usages(m, ctx, st.op):
            m.b.add(label, And(ctx.here, guard, held), {**ctx.nxt, **e}, ctx.group, tags + bound)
