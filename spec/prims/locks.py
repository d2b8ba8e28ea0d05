"""Spinlocks and mutexes (K1-K5), with lockdep's usage facts.

A lock L is `L.owner` (0 free, else the owner number of the holding context: tasks 1..T, then per
CPU and frame depth). Guarded commands, at `here`, pc moving on, unnamed variables unchanged:

* acquire (`spin_lock*`, `mutex_lock`): guard `L.owner = 0` and the IF/BH effect's guard
  (irqflags.irq_effects: irqsave saves IF, _irq/_bh as named): `L.owner := me` plus that effect.
  Spinning is the absence of a step: with L taken the context cannot move. Variants: `mutex_lock`
  by sleep_in_atomic (waitq.sleep_variants); with lockdep on, by IF (and a task's BH count) -
  each tagged with the usage facts `use|L|IN-HARDIRQ|...`, `HARDIRQ-ON`, `SOFTIRQ-ON` - and by
  which other lock the context holds (`dep|A|L|...`, one variant per lock, one for none). In an NMI
  handler only `IN-NMI` (held_usage.py: NMI context, and the usages of locks held when IRQs or BH
  get enabled, which split the releases that enable them).
* release (`spin_unlock*`, `mutex_unlock`): `L.owner := 0` plus the IF/BH effect; guard
  `L.owner = me`; with `L.owner != me` only the effect happens, tagged lockdep "bad unlock balance".
"""

from __future__ import annotations

import itertools

from ircheck.grammar import ast
from ircheck.spec.cfg import Node
from ircheck.spec.context import Context
from ircheck.spec.language import (
    ACQUIRES,
    BH_OFF_OPS,
    RELEASES,
    RW_OPS,
    SEQ_OPS,
    SPIN_PAIRS,
    STATEMENTS,
    Flags,
)
from ircheck.spec.model import Model
from ircheck.spec.prims.held_usage import fact_tag, held_locks, held_on_usages, in_nmi, nmi_locks
from ircheck.spec.prims.irqflags import irq_effects
from ircheck.spec.prims.waitq import Variants, atomic_locks_held, sleep_variants
from ircheck.spec.tags import DepFact, UseFact
from ircheck.spec.ts import FALSE, TRUE, And, Bin, C, Eq, Expr, Not, Or, V

# the acquisitions that turn IRQs off themselves (lockdep: no HARDIRQ-ON usage)
IRQ_OFF_OPS = frozenset(s.keyword for s in STATEMENTS if s.lock is not None and s.lock.acquire
                        and s.irq_flags in (Flags.SAVE, Flags.DISABLE))
# the statements that take a spinlock or mutex and nothing else (spec/language.py): a seqlock's writers
# take its spinlock too, lowered by prims/seqlock.py with this module's lower_acquire/lower_release
ACQUIRE_OPS = ACQUIRES - RW_OPS - SEQ_OPS
RELEASE_OPS = RELEASES - RW_OPS - SEQ_OPS
SPIN_ACQUIRES = frozenset(SPIN_PAIRS)


def holds_spinlock(m: Model, owner: Expr) -> Expr:
    """Owner number `owner` (a task's) holds a spinlock or an rwlock (either side): atomic context."""
    return Or(*[h for _nm, h in atomic_locks_held(m, owner)])


def acquire_locs(m: Model, lk: str, ops: frozenset[str] = ACQUIRES) -> tuple[dict[int, set[int]], set[int]]:
    """Where `lk` is acquired by one of `ops` (default: any acquisition): per task (owner number) its
    locations, and the frame locations."""

    def hit(n: Node) -> bool:
        st = n.stmt
        return n.kind == "stmt" and isinstance(st, ast.Simple) and st.op in ops and \
            isinstance(st.arg, ast.Name) and st.arg.name == lk
    return {t.ident: m.locs(t.body, hit) for t in m.tasks}, m.frame_locs(hit)


def lower_acquire(m: Model, ctx: Context, st: ast.Simple) -> None:
    assert isinstance(st.arg, ast.Name)
    op, lk, node = st.op, st.arg.name, ctx.node
    label = ctx.label(node.text)
    v = m.lock[lk]
    base = And(ctx.here, Eq(V(v), C(0)))
    variants: list[Variants] = []
    if op == "mutex_lock":
        variants.append(sleep_variants(m, ctx, f"mutex_lock {lk}"))
    effects = irq_effects(m, op, ctx, node.line)
    variants += lockdep_variants(m, ctx, op, lk)
    for guard_e, eff, bound in effects:
        for combo2 in itertools.product(*variants) if variants else [()]:
            guard = And(base, guard_e, *[c[0] for c in combo2])
            if guard == FALSE:
                continue
            tags = [t for c in combo2 for t in c[1]] + bound
            ups = dict(ctx.nxt)
            ups.update(eff)
            ups[v] = ctx.owner
            m.b.add(label, guard, ups, ctx.group, tags)


def lockdep_variants(m: Model, ctx: Context, op: str, lk: str, read: str = "") -> list[Variants]:
    """The lockdep variants of acquisition `op` of `lk` (none without the check): its usages, split
    by IF (and a task's BH count), and the dependency on each other lock the context may hold.
    `read` is "" for an exclusive acquisition, else lockdep's reader kind (R1, K4, K5): "R" a
    recursive read (`read_lock_is_recursive()`: in interrupt), "N" a non-recursive one (a queued
    rwlock's reader in process context); a read's usages are the `-R` ones (`LOCK_USED_IN_*_READ`,
    `LOCK_ENABLED_*_READ`). In NMI context only IN-NMI (verify_lock_unused, K4)."""
    if not m.enabled("lockdep"):
        return []
    line, who = ctx.node.line, ctx.who
    if in_nmi(ctx):
        return [[(TRUE, [fact_tag(UseFact(lk, "IN-NMI", line, who))])]]
    r = "-R" if read else ""
    irq_off = op in IRQ_OFF_OPS
    used_in_nmi = lk in nmi_locks(m)
    usage: Variants = []
    for on in (1, 0):
        g_if = Eq(V(ctx.cpu.IF), C(on))
        facts: list[UseFact] = []
        if ctx.kind == "hardirq":
            facts.append(UseFact(lk, "IN-HARDIRQ" + r, line, who))
        elif ctx.kind == "softirq":
            facts.append(UseFact(lk, "IN-SOFTIRQ" + r, line, who))
        if used_in_nmi:  # LOCK_USED, for the NMI rule (verify_lock_unused)
            facts.append(UseFact(lk, "USED", line, who))
        if on and not irq_off:
            facts.append(UseFact(lk, "HARDIRQ-ON" + r, line, who))
        if on and not irq_off and ctx.kind == "task" and op not in BH_OFF_OPS:
            t = ctx.task
            assert t is not None
            if t.bh is None:
                facts.append(UseFact(lk, "SOFTIRQ-ON" + r, line, who))
            else:
                usage.append((And(g_if, Eq(V(t.bh), C(0))),
                              [fact_tag(f) for f in [*facts, UseFact(lk, "SOFTIRQ-ON" + r, line, who)]]))
                g_if = And(g_if, Bin(">", V(t.bh), C(0)))
        usage.append((g_if, [fact_tag(f) for f in facts]))
    # one variant per other lock the context may hold (they overlap when it holds several: the
    # same successor twice, harmless), and one for holding none: linear in the number of locks
    others = held_locks(m, ctx, lk)
    held: Variants = [(And(*[Not(h) for _a, h, _r in others]), [])]
    held += [(h, [fact_tag(DepFact(a, lk, line, who, dep_kind(hr, read)))]) for a, h, hr in others]
    return [usage, held]


def dep_kind(held: str, taken: str) -> str:
    """lockdep-design.rst's edge notation `-(xy)->` for holding a lock as `held` and taking the next as
    `taken` ("" exclusive, "R" recursive read, "N" non-recursive read): "" for exclusive to
    exclusive (the key keeps its old spelling), else x, y in E/N/R."""
    return "" if not held and not taken else (held or "E") + (taken or "E")


def lower_release(m: Model, ctx: Context, st: ast.Simple) -> None:
    arg, node = st.arg, ctx.node
    assert isinstance(arg, ast.Name)
    label, here, g = ctx.label(node.text), ctx.here, ctx.group
    v = m.lock[arg.name]
    ups = dict(ctx.nxt)
    ups[v] = C(0)
    for guard, e, bound in irq_effects(m, st.op, ctx, node.line):
        for held, tags in held_on_usages(m, ctx, st.op, arg.name):  # K4: the other locks held
            m.b.add(label, And(here, guard, held, Eq(V(v), ctx.owner)), {**ups, **e}, g, tags + bound)
        m.b.add(label, And(here, guard, Not(Eq(V(v), ctx.owner))), {**ctx.nxt, **e}, g,
                [("lockdep", f"bad unlock balance: {ctx.who} releases {arg.name}, which it does not hold "
                             f"(line {node.line})")] + bound)
