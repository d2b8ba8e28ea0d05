"""Sequence counters and sequential locks (R2): include/linux/seqlock.h, Documentation/locking/seqlock.rst.

A sequence S is `S.seq` (its parity: odd while a writer is inside) and, per context slot that has a
`read_seq S` block, `S.reader.<slot>` (0 not reading, 1 reading since an even sample, 2 reading and
the sequence changed since). A `seqlock` is a sequence plus a spinlock `S.owner` (prims/locks.py).
Guarded commands, at `here`, pc moving on, unnamed variables unchanged:

* `write_seqcount_begin S` / `write_seqcount_end S` (`raw_write_seqcount_begin`/`_end`:
  `s->sequence++`): the parity flips, and every reader slot at 1 goes to 2 (its sample is stale).
  No guard: a seqcount does not serialize its writers (two at once is `no_data_race` on S).
* `write_seqlock*` S: the acquisition of S's spinlock of that flavour (locks.lower_acquire: spinning,
  IF/BH effect, lockdep's usages and dependencies) and the flip above, in one step (`write_seqlock`:
  `spin_lock(&sl->lock); write_seqcount_begin(&sl->seqcount)`); `write_sequnlock*` S: the flip and
  the release (`write_seqcount_end`, then `spin_unlock`).
* `read_seq S { B }` - `seq_begin` (`read_seqbegin`, `__read_seqcount_begin`: `repeat: ret =
  s->sequence; if (ret & 1) { cpu_relax(); goto repeat; }`): guard `S.seq` even, `my reader := 1`;
  spinning on an odd sequence is the absence of a step (a `no_deadlock` wait, spec/waits.py; a frame
  that interrupted its own CPU's writer spins for ever: the livelock seqlock.rst warns of). Then B.
  `seq_retry` (`read_seqretry`: `s->sequence != start`): `my reader = 2` (labelled "(true)": retry):
  back to `seq_begin`, `my reader := 0`; else ("(false)") on past the block, `my reader := 0`.

`writer_sections` gives, per location of a body, the sequences whose write side the location lies in
on every path to it (after the writer's begin, up to and including its end): `no_data_race` does not
pair a read inside `read_seq S` with a write inside S's write side (the reader retries), and judges two
writers of one seqcount at once as a race on S itself (spec/races.py).
"""

from __future__ import annotations

import dataclasses

from ircheck.grammar import ast
from ircheck.spec.cfg import Body, Node
from ircheck.spec.context import Context, SeqVars
from ircheck.spec.language import SEQ_WRITE_BEGINS, SEQ_WRITE_ENDS, STATEMENT
from ircheck.spec.model import Model
from ircheck.spec.prims.locks import lower_acquire, lower_release
from ircheck.spec.ts import TRUE, And, C, Eq, Expr, In, Ite, Not, Or, V

SEQ_WRITERS = SEQ_WRITE_BEGINS | SEQ_WRITE_ENDS
SEQLOCK_OPS = frozenset(op for op in SEQ_WRITERS if STATEMENT[op].lock is not None)
SEQCOUNT_OPS = SEQ_WRITERS - SEQLOCK_OPS


def _seq_of(n: Node, ops: frozenset[str]) -> str | None:
    """The sequence a `stmt` location's statement of `ops` names, else None."""
    st = n.stmt
    if n.kind == "stmt" and isinstance(st, ast.Simple) and st.op in ops and isinstance(st.arg, ast.Name):
        return st.arg.name
    return None


def writer_sections(body: Body) -> list[frozenset[str]]:
    """Per location, the sequences S such that every path from the entry to it passes a writer's begin
    of S after its last end of S (a must-analysis over the CFG: a location no path reaches has every
    sequence of the body)."""
    nodes = body.nodes
    every = frozenset(s for n in nodes if (s := _seq_of(n, SEQ_WRITERS)) is not None)
    if not every:
        return [frozenset()] * len(nodes)
    inside: list[frozenset[str]] = [every] * len(nodes)
    if body.entry >= 0:
        inside[body.entry] = frozenset()
    work = [body.entry] if body.entry >= 0 else []
    seen = set(work)
    while work:
        i = work.pop()
        n = nodes[i]
        out = inside[i]
        if (s := _seq_of(n, SEQ_WRITE_BEGINS)) is not None:
            out = out | {s}
        elif (s := _seq_of(n, SEQ_WRITE_ENDS)) is not None:
            out = out - {s}
        for j in sorted({n.next, n.alt, *n.alts} - {-1}):
            meet = inside[j] & out
            if meet != inside[j] or j not in seen:
                inside[j] = meet
                seen.add(j)
                work.append(j)
    return inside


def write_side(body: Body, seq: str, begins: bool = True) -> list[Node]:
    """The locations of `body` on S's write side: inside its section (writer_sections) and, with
    `begins`, at a `write_seqcount_begin S` too."""
    sections = writer_sections(body)
    return [n for i, n in enumerate(body.nodes)
            if seq in sections[i] or (begins and _seq_of(n, SEQ_WRITE_BEGINS & SEQCOUNT_OPS) == seq)]


def section_locs(m: Model, seq: str, begins: bool) -> tuple[dict[int, set[int]], set[int]]:
    """`write_side` as locations: per task (owner number) its locations, and the frame locations."""
    def locs(body: Body) -> set[int]:
        on = {id(n) for n in write_side(body, seq, begins)}
        return {i for i, n in enumerate(body.nodes) if id(n) in on}
    frames = {inc.base + i for inc in m.incs for i in locs(inc.body)}
    return {t.ident: locs(t.body) for t in m.tasks}, frames


def begin_locs(m: Model, seq: str) -> tuple[dict[int, set[int]], set[int]]:
    """Where a `read_seq S` block samples S (`seq_begin`): per task its locations, and the frame locations."""
    def hit(n: Node) -> bool:
        return n.kind == "seq_begin" and isinstance(n.stmt, ast.ReadSeq) and n.stmt.seq.name == seq
    return {t.ident: m.locs(t.body, hit) for t in m.tasks}, m.frame_locs(hit)


def odd(sv: SeqVars) -> Expr:
    return Eq(V(sv.seq), C(1))


def writer_below(m: Model, seq: str) -> dict[int, Expr]:
    """Per frame slot (owner number) at a `read_seqbegin S`: "S is odd and a context this frame
    interrupted on its CPU - a lower frame, or a task of that CPU - is inside S's write side": the
    writer cannot run until the frame returns and the frame spins until it does (the livelock of
    seqlock.rst, as K3 for a spinlock)."""
    sv = m.seq[seq]
    tl, fl = section_locs(m, seq, False)
    _btl, bfl = begin_locs(m, seq)
    out: dict[int, Expr] = {}
    if not bfl:
        return out
    for cpu in m.cpus:
        base = m.frame_owner_base(cpu.index)
        tasks = [In(V(t.pc), tl.get(t.ident, set())) for t in cpu.tasks]
        for d in range(1, m.maxdepth + 1):
            lower = [In(V(cpu.saved_pc[k - 1]), fl) for k in range(1, d) if k - 1 < len(cpu.saved_pc)]
            term = And(Eq(V(cpu.depth), C(d)), In(V(cpu.pc), bfl), odd(sv), Or(*tasks, *lower))
            out[base + d - 1] = term
    return out


def my_reader(m: Model, ctx: Context, seq: str) -> list[tuple[Expr, int]]:
    """(guard, reader variable) of the running context for sequence `seq`: a task's own; a frame's at
    each depth."""
    sv = m.seq[seq]
    if ctx.task is not None:
        v = sv.readers.get(ctx.task.ident)
        return [] if v is None else [(TRUE, v)]
    base = m.frame_owner_base(ctx.cpu.index)
    return [(Eq(V(ctx.cpu.depth), C(k)), sv.readers[base + k - 1]) for k in range(1, m.maxdepth + 1)
            if base + k - 1 in sv.readers]


def bump(sv: SeqVars) -> dict[int, Expr]:
    """`s->sequence++`: the parity flips and every reader's sample goes stale."""
    ups: dict[int, Expr] = {sv.seq: Ite(odd(sv), C(0), C(1))}
    for v in sv.readers.values():
        ups[v] = Ite(Eq(V(v), C(1)), C(2), V(v))
    return ups


def lower_seqcount_write(m: Model, ctx: Context, st: ast.Simple) -> None:
    assert isinstance(st.arg, ast.Name)
    m.b.add(ctx.label(ctx.node.text), ctx.here, {**ctx.nxt, **bump(m.seq[st.arg.name])}, ctx.group)


def lower_seqlock_write(m: Model, ctx: Context, st: ast.Simple) -> None:
    """The spinlock's acquisition or release (its flavour, lockdep's facts) with the flip in the same step."""
    assert isinstance(st.arg, ast.Name)
    ups = bump(m.seq[st.arg.name])
    goto = ctx.goto
    inner = dataclasses.replace(ctx, goto=lambda j: {**goto(j), **ups})
    (lower_acquire if st.op in SEQ_WRITE_BEGINS else lower_release)(m, inner, st)


def lower_seq_begin(m: Model, ctx: Context) -> None:
    st = ctx.node.stmt
    assert isinstance(st, ast.ReadSeq)
    sv = m.seq[st.seq.name]
    for g_slot, v in my_reader(m, ctx, st.seq.name):
        m.b.add(ctx.label(ctx.node.text), And(ctx.here, g_slot, Not(odd(sv))), {**ctx.nxt, v: C(1)}, ctx.group)


def lower_seq_retry(m: Model, ctx: Context) -> None:
    node = ctx.node
    st = node.stmt
    assert isinstance(st, ast.ReadSeq)
    for g_slot, v in my_reader(m, ctx, st.seq.name):
        changed = Eq(V(v), C(2))
        m.b.add(ctx.label(f"{node.text}  (true)"), And(ctx.here, g_slot, changed),
                {**ctx.goto(node.alt), v: C(0)}, ctx.group)
        m.b.add(ctx.label(f"{node.text}  (false)"), And(ctx.here, g_slot, Not(changed)),
                {**ctx.nxt, v: C(0)}, ctx.group)
