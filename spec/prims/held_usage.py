"""lockdep's usages that are not one acquisition's own (K4): locks held when IRQs get enabled, NMIs.

* `mark_held_locks`: a step that turns hardirqs on (`sti`, `spin_unlock_irq`, the last
  `local_irq_restore`/`spin_unlock_irqrestore` when it restores IF = 1; each only when IF was 0)
  gives every lock the context then holds the HARDIRQ-ON usage, and SOFTIRQ-ON too when the
  context is a task with softirqs enabled (lockdep.c `lockdep_hardirqs_on_prepare`); a step that
  turns softirqs on in a task (`local_bh_enable`/`spin_unlock_bh` taking the BH count from 1 to 0,
  with IF = 1) gives them SOFTIRQ-ON (`lockdep_softirqs_on`). `held_on_usages` returns those as
  guard variants tagged with the facts: one per lock the context may hold (they overlap when it
  holds several: the same successor twice, harmless) and an untagged rest.
* NMI context (`in_nmi`): lockdep records nothing of an acquisition in NMI context but checks
  that the lock was never used outside it (`verify_lock_unused`); the acquisition carries the
  IN-NMI usage, an acquisition elsewhere of a lock some NMI handler takes the USED usage, and
  spec/lockdep.py judges the pair.

Also here, because irqflags.py and locks.py both need them: `fact_tag`, `context_locks` and
`save_slots` (the saved-IF slots `local_irq_save` uses).
"""

from __future__ import annotations

from ircheck.grammar import ast
from ircheck.spec.context import Context, Incarnation
from ircheck.spec.language import ACQUIRES, STATEMENT, Flags
from ircheck.spec.model import Model
from ircheck.spec.tags import DepFact, UseFact
from ircheck.spec.ts import FACT, FALSE, TRUE, And, Bin, C, Eq, Expr, Not, Or, V

Tags = list[tuple[str, str]]
Variants = list[tuple[Expr, Tags]]


def fact_tag(fact: UseFact | DepFact) -> tuple[str, str]:
    """The `violates` pair that makes `fact` true (engines carry it as its key)."""
    return (FACT, fact.key)


def context_locks(ctx: Context) -> set[str]:
    """The locks the running context's code acquires somewhere (so it may hold them)."""
    body = ctx.task.body if ctx.task is not None else ctx.inc.body if ctx.inc is not None else None
    if body is None:
        return set()
    return {n.stmt.arg.name for n in body.nodes if isinstance(n.stmt, ast.Simple) and n.stmt.op in ACQUIRES
            and isinstance(n.stmt.arg, ast.Name)}


def my_readers(m: Model, ctx: Context, lock: str) -> list[tuple[Expr, int]]:
    """(guard, count variable) of the running context's read count of rwlock `lock` (R1): a task's
    own; a frame's at each depth (none when the slot never reads it)."""
    rw = m.rwlock[lock]
    if ctx.task is not None:
        v = rw.readers.get(ctx.task.ident)
        return [] if v is None else [(TRUE, v)]
    base = m.frame_owner_base(ctx.cpu.index)
    return [(Eq(V(ctx.cpu.depth), C(k)), rw.readers[base + k - 1]) for k in range(1, m.maxdepth + 1)
            if base + k - 1 in rw.readers]


def held_locks(m: Model, ctx: Context, but: str | None = None) -> list[tuple[str, Expr, str]]:
    """(lock, "the running context holds it", how) per lock its code takes but `but`: a spinlock or
    mutex it owns and an rwlock it write-holds (how ""), an rwlock it read-holds ("R" in interrupt
    context, where every read is recursive; "N" in a task - K5, `read_lock_is_recursive`)."""
    out: list[tuple[str, Expr, str]] = []
    for lk in sorted(context_locks(ctx) - {but}):
        if lk in m.lock:
            out.append((lk, Eq(V(m.lock[lk]), ctx.owner), ""))
        elif lk in m.rwlock:
            out.append((lk, Eq(V(m.rwlock[lk].writer), ctx.owner), ""))
            reads = my_readers(m, ctx, lk)
            if reads:
                out.append((lk, Or(*[And(g, Bin(">", V(v), C(0))) for g, v in reads]),
                            "N" if ctx.kind == "task" else "R"))
    return out


def save_slots(ctx: Context) -> list[tuple[Expr, int, int]]:
    """(guard, flags variable, nesting-count variable) of the saved-IF slot the context uses: a task's
    own, or the frame's at `depth = k`. Empty for a task that never saves."""
    if ctx.task is not None:
        t = ctx.task
        return [(TRUE, t.flags, t.nsave)] if t.flags is not None and t.nsave is not None else []
    return [(Eq(V(ctx.cpu.depth), C(k + 1)), fv, nv)
            for k, (fv, nv) in enumerate(zip(ctx.cpu.flags, ctx.cpu.nsave, strict=True))]


def _is_nmi(inc: Incarnation | None) -> bool:
    """An NMI handler: vector 2 entered by the NMI pin, not by a controller's input."""
    return inc is not None and inc.kind == "gate" and inc.vector == 2 and inc.pic is None and inc.apic is None


def in_nmi(ctx: Context) -> bool:
    return _is_nmi(ctx.inc)


def nmi_locks(m: Model) -> set[str]:
    """The locks some NMI handler acquires."""
    return {n.stmt.arg.name for inc in m.incs if _is_nmi(inc) for n in inc.body.nodes
            if isinstance(n.stmt, ast.Simple) and n.stmt.op in ACQUIRES and isinstance(n.stmt.arg, ast.Name)}


def _turns_on(m: Model, ctx: Context, op: str) -> tuple[Expr, Expr]:
    """When `op` turns hardirqs on, and when softirqs (both as guards on the state before it)."""
    row = STATEMENT[op]
    IF = V(ctx.cpu.IF)
    hard: Expr = FALSE
    if row.irq_flags is Flags.ENABLE:
        hard = Eq(IF, C(0))
    elif row.irq_flags is Flags.RESTORE:  # only the last restore, and only when it restores IF = 1
        hard = And(Eq(IF, C(0)), Or(*[And(g, Bin("<=", V(nv), C(1)), Eq(V(fv), C(1)))
                                      for g, fv, nv in save_slots(ctx)]))
    soft: Expr = FALSE
    t = ctx.task
    if ctx.kind == "task" and t is not None:
        soft = And(hard, TRUE if t.bh is None else Eq(V(t.bh), C(0)))
        if row.bh is Flags.ENABLE and t.bh is not None:
            soft = Or(soft, And(Eq(V(t.bh), C(1)), Eq(IF, C(1))))
    return hard, soft


def held_on_usages(m: Model, ctx: Context, op: str, released: str | None = None) -> Variants:
    """mark_held_locks (K4): the variants of step `op` that give the locks the context holds (but
    `released`, which the step itself drops) the HARDIRQ-ON / SOFTIRQ-ON usage."""
    if not m.enabled("lockdep"):
        return [(TRUE, [])]
    hard, soft = _turns_on(m, ctx, op)
    held = held_locks(m, ctx, released)
    if (hard == FALSE and soft == FALSE) or not held:
        return [(TRUE, [])]
    line, who = ctx.node.line, ctx.who
    out: Variants = [(Or(And(Not(hard), Not(soft)), And(*[Not(h) for _lk, h, _how in held])), [])]
    for lk, h, how in held:
        r = "-R" if how else ""  # K4: a read-held lock gets the READ usages (LOCK_ENABLED_*_READ)
        on_hard = [fact_tag(UseFact(lk, "HARDIRQ-ON" + r, line, who))]
        on_soft = [fact_tag(UseFact(lk, "SOFTIRQ-ON" + r, line, who))]
        for guard, tags in ((And(h, hard, soft), on_hard + on_soft), (And(h, hard, Not(soft)), on_hard),
                            (And(h, soft, Not(hard)), on_soft)):
            if guard != FALSE:
                out.append((guard, tags))
    return out
