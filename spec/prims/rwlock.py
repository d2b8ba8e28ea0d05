"""Readers-writer locks (R1): qrwlock's readers and writer, in every flavour (K1).

An rwlock L is `L.writer` (0: no writer, else the writer's owner number) and, per context slot that
may read it, `L.readers.<slot>` (how many read acquisitions that slot holds: read locks nest).
Guarded commands, at `here`, pc moving on, unnamed variables unchanged; the IF/BH effect of a
flavour is the spinlock flavour's (irqflags.irq_effects reads it from the statement's row):

* `write_lock*`: guard `L.writer = 0` and every reader count 0: `L.writer := me`. A writer that
  cannot take it spins at the statement, and while it is there with readers present it is the
  *waiting writer* (qrwlock.c `queued_write_lock_slowpath`: `atomic_or(_QW_WAITING, ...)`, then it
  waits until the count is `_QW_WAITING` alone).
* `read_lock*`: guard `L.writer = 0`, and - in process context - no other context is a waiting
  writer: `my count := my count + 1` (a tagged bound past the read sites, data.count_up). qrwlock.c
  `queued_read_lock_slowpath`: `if (unlikely(in_interrupt()))` the reader only waits while
  `_QW_LOCKED` (an active writer); otherwise it queues on `wait_lock` behind the writer.
  `in_interrupt()` is hardirq or softirq context, or a task with BH disabled (the softirq count
  `local_bh_disable` raises; `read_lock_bh` disables BH before it takes the lock,
  `__raw_read_lock_bh`).
* `write_unlock*` / `read_unlock*`: guard that the context holds it (writer = me / my count > 0):
  `L.writer := 0` / `my count := my count - 1`, plus the flavour's IF/BH effect; without it only
  the effect happens, tagged lockdep "bad unlock balance" (as a spinlock's release).

A frame's slot is the one at the CPU's current depth: one guarded variant per depth.
"""

from __future__ import annotations

import itertools

from ircheck.grammar import ast
from ircheck.spec.context import Context, RwVars
from ircheck.spec.language import BH_OFF_OPS, RW_OPS, RW_READ_ACQUIRES, RW_WRITE_ACQUIRES, lock_use
from ircheck.spec.model import Model
from ircheck.spec.prims.data import count_up
from ircheck.spec.prims.held_usage import held_on_usages, my_readers
from ircheck.spec.prims.irqflags import irq_effects
from ircheck.spec.prims.locks import acquire_locs, lockdep_variants
from ircheck.spec.ts import FALSE, TRUE, And, Bin, C, Eq, Expr, Not, Or, StateProp, V

RW_ACQUIRE_OPS = RW_READ_ACQUIRES | RW_WRITE_ACQUIRES
RW_RELEASE_OPS = RW_OPS - RW_ACQUIRE_OPS


def readers_present(rw: RwVars, but: Expr | None = None) -> Expr:
    """Some slot (other than owner number `but`, when given) holds L for reading."""
    return Or(*[And(Bin(">", V(v), C(0)), TRUE if but is None else Not(Eq(but, C(ident))))
                for ident, v in rw.readers.items()])


def waiting_writer(m: Model, lock: str, but: Expr) -> Expr:
    """Some context other than owner number `but` is a waiting writer of `lock`: it is at a
    `write_lock*` of it while readers hold it (qrwlock's `_QW_WAITING`)."""
    rw = m.rwlock[lock]
    tl, fl = acquire_locs(m, lock, RW_WRITE_ACQUIRES)
    at = Or(*[And(at(tl.get(ident, set()), fl), Not(Eq(but, C(ident)))) for ident, at, _n, _c in m.contexts()])
    return And(at, readers_present(rw))


def in_interrupt(ctx: Context, op: str) -> Expr:
    """qrwlock's `in_interrupt()` at `op`: hardirq/softirq context, or a task with BH disabled (a
    `_bh` acquisition has disabled it itself)."""
    if ctx.kind != "task" or op in BH_OFF_OPS:
        return TRUE
    t = ctx.task
    return FALSE if t is None or t.bh is None else Bin(">", V(t.bh), C(0))


def in_interrupt_at(m: Model, ident: int, task_locs: set[int], frame_locs: set[int]
                    ) -> list[tuple[Expr, set[int], set[int]]]:
    """`in_interrupt()` of slot `ident` at its read acquisitions, as (when, task locations, frame
    locations): a frame always; a task at a `read_lock_bh` always, elsewhere while its BH count is
    above 0 (never, if it has none)."""
    t = next((t for t in m.tasks if t.ident == ident), None)
    if t is None:
        return [(TRUE, set(), frame_locs)]
    bh = {i for i in task_locs if isinstance(st := t.body.nodes[i].stmt, ast.Simple) and st.op in BH_OFF_OPS}
    rest = task_locs - bh
    return [(TRUE, bh, set()), (FALSE if t.bh is None else Bin(">", V(t.bh), C(0)), rest, set())]


def read_blocked(m: Model, lock: str, me: Expr, interrupt: Expr) -> Expr:
    """A read acquisition by owner `me` cannot proceed: an active writer, or - not in interrupt -
    a waiting writer (R1)."""
    rw = m.rwlock[lock]
    return Or(Not(Eq(V(rw.writer), C(0))), And(Not(interrupt), waiting_writer(m, lock, me)))


def write_blocked(m: Model, lock: str) -> Expr:
    rw = m.rwlock[lock]
    return Or(Not(Eq(V(rw.writer), C(0))), readers_present(rw))


def lower_rw_acquire(m: Model, ctx: Context, st: ast.Simple) -> None:
    """The guarded commands of the module docstring, times lockdep's variants (locks.lockdep_variants:
    a read's usages are the `-R` ones; it is a recursive read "R" where `in_interrupt()`, else "N")."""
    assert isinstance(st.arg, ast.Name)
    op, lk, node = st.op, st.arg.name, ctx.node
    rw = m.rwlock[lk]
    label = ctx.label(node.text)
    read = op in RW_READ_ACQUIRES
    irq = in_interrupt(ctx, op)
    kinds = [(irq, "R"), (Not(irq), "N")] if read else [(TRUE, "")]
    for g_kind, kind in kinds:
        if g_kind == FALSE:
            continue
        variants = lockdep_variants(m, ctx, op, lk, kind)
        for guard_e, eff, bound in irq_effects(m, op, ctx, node.line):
            for combo in itertools.product(*variants) if variants else [()]:
                g_ld = And(g_kind, *[c[0] for c in combo])
                facts = [t for c in combo for t in c[1]]
                if not read:
                    g = And(ctx.here, guard_e, g_ld, Not(write_blocked(m, lk)))
                    if g != FALSE:
                        m.b.add(label, g, {**ctx.nxt, **eff, rw.writer: ctx.owner}, ctx.group, facts + bound)
                    continue
                free = Not(read_blocked(m, lk, ctx.owner, irq))
                for g_slot, v in my_readers(m, ctx, lk):
                    for g, ups, tags in count_up(m.b, v, And(ctx.here, guard_e, g_ld, g_slot, free), op, node.line,
                                                 {**ctx.nxt, **eff}):
                        if g != FALSE:
                            m.b.add(label, g, ups, ctx.group, facts + bound + tags)


def lower_rw_release(m: Model, ctx: Context, st: ast.Simple) -> None:
    assert isinstance(st.arg, ast.Name)
    op, lk, node = st.op, st.arg.name, ctx.node
    rw = m.rwlock[lk]
    label = ctx.label(node.text)
    read = lock_use(op).read
    bad = [("lockdep", f"bad unlock balance: {ctx.who} releases {lk} ({'read' if read else 'write'}), which it "
                       f"does not hold (line {node.line})")]
    for guard_e, eff, bound in irq_effects(m, op, ctx, node.line):
        for g_on, on_tags in held_on_usages(m, ctx, op, lk):  # K4: the other locks held as IRQs/BH go on
            base = And(ctx.here, guard_e, g_on)
            if not read:
                mine = Eq(V(rw.writer), ctx.owner)
                m.b.add(label, And(base, mine), {**ctx.nxt, **eff, rw.writer: C(0)}, ctx.group, on_tags + bound)
                m.b.add(label, And(base, Not(mine)), {**ctx.nxt, **eff}, ctx.group, on_tags + bad + bound)
                continue
            held: Expr = FALSE
            for g_slot, v in my_readers(m, ctx, lk):
                h = And(g_slot, Bin(">", V(v), C(0)))
                held = Or(held, h)
                m.b.add(label, And(base, h), {**ctx.nxt, **eff, v: Bin("-", V(v), C(1))}, ctx.group, on_tags + bound)
            m.b.add(label, And(base, Not(held)), {**ctx.nxt, **eff}, ctx.group, on_tags + bad + bound)


def recursion_props(m: Model) -> None:
    """lockdep's "possible recursive locking detected" for rwlocks (K5, lockdep.c `check_deadlock`:
    `if ((next->read == 2) && prev->read) continue;`): a context that holds L (either side) reaches
    an acquisition of L - except a recursive read (in interrupt, `read_lock_is_recursive`) while it
    holds L only for reading. A process-context reader's second read is reported: with a queued
    rwlock a waiting writer between the two deadlocks them (R1)."""
    ctxs = m.contexts()
    for lk, rw in m.rwlock.items():
        wt, wf = acquire_locs(m, lk, RW_WRITE_ACQUIRES)
        rt, rf = acquire_locs(m, lk, RW_READ_ACQUIRES)
        terms: list[Expr] = []
        for ident, at, _nm, _cpu in ctxs:
            writes = Eq(V(rw.writer), C(ident))
            v = rw.readers.get(ident)
            reads = FALSE if v is None else Bin(">", V(v), C(0))
            terms.append(And(at(wt.get(ident, set()), wf), Or(writes, reads)))
            terms.append(And(at(rt.get(ident, set()), rf), writes))
            for irq, t_locs, f_locs in in_interrupt_at(m, ident, rt.get(ident, set()), rf):
                terms.append(And(at(t_locs, f_locs), reads, Not(irq)))
        bad = Or(*terms)
        if bad != FALSE:
            m.b.props.append(StateProp(
                "lockdep", Not(bad), f"WARNING: possible recursive locking detected: {lk} is acquired again by "
                f"the context that holds it (only a recursive read - a reader in interrupt context - may take a "
                f"read-held rwlock again)\n  CPU0\n  ----\n  lock({lk});\n  lock({lk});\n *** DEADLOCK ***", 0))
