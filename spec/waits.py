"""no_deadlock per context: who can wait for what, and the story of a wait that never ends.

A *wait* is a context slot (a task, or the handler frame at depth k on a CPU) at a statement that
cannot proceed while a resource is taken:

- an acquisition (`spin_lock*`, `mutex_lock`) of lock L while `L.owner != free`;
- an rwlock's `write_lock*` while it has a writer or readers, its `read_lock*` while it has a
  writer or - in process context - a waiting writer (R1, prims/rwlock.py); the story names the
  writer, or the readers, or the waiting writer the reader queues behind;
- a `read_seq S` block's `read_seqbegin` while S's sequence is odd (R2, prims/seqlock.py); the story
  names the writer inside S's write side;
- `disable_irq n` / `synchronize_irq n` / `free_irq n`'s wait while IRQ n is busy (a handler in
  progress, or one of its threads woken or running: `synchronize_irq`, kernel/irq/manage.c);
- `del_timer_sync T` / `hrtimer_cancel T` while T's callback runs (`T.running != 0`, R7,
  prims/timers.py); the story names the callback's frame and what keeps it from returning (it waits
  itself, or a frame above it on its CPU does - the waiter in hard IRQ).

The rule (docs/semantics.md, "D0 deadlock"): the check is violated in a reachable state where a
context is blocked and stays blocked in **every** state reachable from there - whatever other
contexts, CPUs and devices do. This is "can never be released on any continuation": it does not
depend on fairness (no run of any kind frees the resource), it is not hidden by a device with
`raises any` or a CPU that loops, and it is decidable on the explored graph (the blocked states
from which no state without the block is reachable). It covers an owner that finished holding
the lock (lockdep's "lock held when returning"), an owner blocked for ever itself, and cycles.

A task asleep on a wait queue is not a wait here: a reader that sleeps for ever once the
device stops is idle, not deadlocked (lost wake-ups are `no_lost_wakeup`'s).

A frame slot's position is read from the running pc at its depth, or from the saved pc when a
nested interrupt preempted it, so a nested interrupt does not count as the waiter moving on.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from ircheck.grammar import ast
from ircheck.spec.cfg import Node
from ircheck.spec.language import RW_READ_ACQUIRES, RW_WRITE_ACQUIRES
from ircheck.spec.model import Model
from ircheck.spec.prims.genirq import irq_idle, irq_threads
from ircheck.spec.prims.locks import acquire_locs
from ircheck.spec.prims.rwlock import in_interrupt_at, read_blocked, write_blocked
from ircheck.spec.prims.sched import queue_sleeping, task_done
from ircheck.spec.prims.seqlock import begin_locs, odd, section_locs, writer_below
from ircheck.spec.prims.timers import callback_slots, cancel_of
from ircheck.spec.ts import FALSE, And, Bin, C, Eq, Expr, Not, Or, V, Wait, evaluate

State = tuple[int, ...]


def _sync_on(n: int) -> Callable[[Node], bool]:
    def hit(nd: Node) -> bool:
        st = nd.stmt
        return nd.kind == "sync_wait" and isinstance(st, ast.Simple) and isinstance(st.arg, ast.Num) and \
            st.arg.value == n
    return hit


def context_waits(low: Model) -> list[Wait]:
    """One `Wait` per (context slot, lock) and per (context slot, IRQ waited for), where the slot
    has such a statement at all. `blocked` = at the statement and the resource taken."""
    ctxs = low.contexts()
    names = low.owner_names()
    task_of = {t.ident: t for t in low.tasks}
    slot_name = {ident: nm for ident, _at, nm, _cpu in ctxs}
    # (slot ident, blocked expr, resource: ("lock", name) | ("irq", n)) in a fixed order
    entries: list[tuple[int, Expr, tuple[str, str | int]]] = []
    for ident, at, _nm, _cpu in ctxs:
        for lk, v in low.lock.items():
            tl, fl = acquire_locs(low, lk)
            here = at(tl.get(ident, set()), fl)
            if here != FALSE:
                entries.append((ident, And(Not(Eq(V(v), C(0))), here), ("lock", lk)))
        for lk in low.rwlock:
            for side, ops in (("write", RW_WRITE_ACQUIRES), ("read", RW_READ_ACQUIRES)):
                tl, fl = acquire_locs(low, lk, ops)
                for irq, t_locs, f_locs in in_interrupt_at(low, ident, tl.get(ident, set()), fl):
                    here = at(t_locs, f_locs)
                    if here == FALSE:
                        continue
                    busy = write_blocked(low, lk) if side == "write" else read_blocked(low, lk, C(ident), irq)
                    entries.append((ident, And(here, busy), (side, lk)))
        for sq, sv in low.seq.items():  # R2: read_seqbegin spins while the sequence is odd
            tl, fl = begin_locs(low, sq)
            here = at(tl.get(ident, set()), fl)
            if here != FALSE:
                entries.append((ident, And(odd(sv), here), ("seq", sq)))
        for n, dsc in sorted(low.desc.items()):
            hit = _sync_on(n)
            tl = {t.ident: low.locs(t.body, hit) for t in low.tasks}
            here = at(tl.get(ident, set()), low.frame_locs(hit))
            if here != FALSE:
                entries.append((ident, And(here, Not(irq_idle(low, dsc))), ("irq", n)))
        for tname, (_pending, run) in sorted(low.timer.items()):
            hit = cancel_of(tname)
            tl = {t.ident: low.locs(t.body, hit) for t in low.tasks}
            here = at(tl.get(ident, set()), low.frame_locs(hit))
            if here != FALSE:
                entries.append((ident, And(Not(Eq(V(run), C(0))), here), ("timer", tname)))

    writing_at: dict[tuple[int, str], Expr] = {}  # (slot, rwlock): the slot is at a write_lock of it
    for lk in low.rwlock:
        tl, fl = acquire_locs(low, lk, RW_WRITE_ACQUIRES)
        for ident, at, _nm, _cpu in ctxs:
            writing_at[(ident, lk)] = at(tl.get(ident, set()), fl)

    seq_writing: dict[tuple[int, str], Expr] = {}  # (slot, sequence): the slot is on its write side
    for sq in low.seq:
        tl, fl = section_locs(low, sq, False)
        for ident, at, _nm, _cpu in ctxs:
            seq_writing[(ident, sq)] = at(tl.get(ident, set()), fl)

    def who(ident: int, s: State) -> str:
        """A slot in the words of a trace: `thread a`, or `cpu0 irq 3 nic_isr` for a frame."""
        if ident in task_of:
            return slot_name[ident]
        for cpu in low.layout.cpus:
            base = low.frame_owner_base(cpu.index)
            if base <= ident < base + low.maxdepth:
                k = ident - base + 1
                d = s[cpu.depth_var]
                if k > d:
                    return f"cpu{cpu.index} frame {k} (returned)"
                pc = s[cpu.pc_var] if k == d else s[cpu.saved_pc_vars[k - 1]]
                return f"cpu{cpu.index} {cpu.frame_owner[pc]}"
        return names[ident] if 0 <= ident < len(names) else f"owner {ident}"

    def statement_at(ident: int, s: State) -> tuple[str, str, int]:
        """Where slot `ident` is in `s`, as a trace step names it: (context, statement, line)."""
        t = task_of.get(ident)
        if t is not None:
            node = t.body.nodes[s[t.pc]]
            return f"cpu{t.cpu} {slot_name[ident]}", node.text, node.line
        for cpu in low.layout.cpus:
            base = low.frame_owner_base(cpu.index)
            k = ident - base + 1
            if 1 <= k <= min(low.maxdepth, s[cpu.depth_var]):
                pc = s[cpu.pc_var] if k == s[cpu.depth_var] else s[cpu.saved_pc_vars[k - 1]]
                inc = next(i for i in low.incs if i.base <= pc < i.base + len(i.body.nodes))
                node = inc.body.nodes[pc - inc.base]
                return f"cpu{cpu.index} {cpu.frame_owner[pc]}", node.text, node.line
        return who(ident, s), "", 0

    def present(ident: int, s: State) -> bool:
        """The slot still exists: a task, or a frame at a depth the CPU still has."""
        if ident in task_of:
            return True
        for cpu in low.layout.cpus:
            base = low.frame_owner_base(cpu.index)
            if base <= ident < base + low.maxdepth:
                return ident - base + 1 <= s[cpu.depth_var]
        return False

    def preempting_frame(ident: int, s: State) -> int | None:
        """The top handler frame on the CPU where task `ident` is the running thread, if any."""
        label = slot_name[ident]
        for cpu in low.layout.cpus:
            threads = [nm for nm, _pcv in cpu.threads]
            if label in threads and s[cpu.depth_var] > 0:
                k = s[cpu.cur_var] if cpu.cur_var is not None else 0
                if threads[k] == label:
                    return low.frame_owner_base(cpu.index) + s[cpu.depth_var] - 1
        return None

    def blocked_on(ident: int, s: State) -> tuple[str, str | int] | None:
        for e_ident, blocked, res in entries:
            if e_ident == ident and evaluate(blocked, s):
                return res
        return None

    def resource_text(res: tuple[str, str | int]) -> str:
        kind, what = res
        if kind == "lock":
            assert isinstance(what, str)
            return f"{low.lock_kind[what]} {what}"
        if kind in ("read", "write"):
            return f"rwlock {what} ({kind})"
        if kind == "timer":
            return f"timer {what}'s callback to return (del_timer_sync/hrtimer_cancel)"
        if kind == "seq":
            return f"{what}'s sequence to be even (read_seqbegin spins while a writer is inside, R2)"
        return f"IRQ {what} to be idle (disable_irq/synchronize_irq/free_irq)"

    def holder(cur: int, kind: str, what: str, s: State) -> tuple[int, str]:
        """Who keeps `cur` waiting for `what` (`kind`: lock, read, write, seq: its writer), and how to say it.
        Of several readers the story follows the first blocked one (else the first)."""
        if kind == "lock":
            owner = s[low.lock[what]]
            return owner, f"held by {who(owner, s)}"
        if kind == "seq":
            writers = [i for i, _at, _n, _c in ctxs if evaluate(seq_writing[(i, what)], s)]
            return (writers[0] if writers else 0), f"written by {', '.join(who(i, s) for i in writers) or 'nobody'}"
        rw = low.rwlock[what]
        if s[rw.writer] != 0:
            return s[rw.writer], f"write-held by {who(s[rw.writer], s)}"
        if kind == "read":  # R1: no active writer, so a waiting writer it queues behind
            waiting = [i for i, _at, _n, _c in ctxs if i != cur and evaluate(writing_at[(i, what)], s)]
            if waiting:
                return waiting[0], (f"behind the waiting writer {who(waiting[0], s)} (qrwlock: a reader in process "
                                    "context queues behind a waiting writer)")
        readers = [i for i, v in rw.readers.items() if s[v] > 0]
        readers.sort(key=lambda i: blocked_on(i, s) is None)
        names = ", ".join(who(i, s) for i in readers)
        return (readers[0] if readers else 0), f"read-held by {names or 'nobody'}"

    def story(ident: int, res: tuple[str, str | int], s: State) -> str:
        """Follow who holds what from the waiter until the chain closes or ends."""
        links: list[str] = []
        chain = [ident]
        cur, cur_res = ident, res
        while True:
            kind, what = cur_res
            if kind == "timer":
                assert isinstance(what, str)
                links.append(f"{who(cur, s)} waits for {resource_text(cur_res)}")
                slots = callback_slots(low, what, s)
                if slots is None:
                    return "a release that can never come): " + "; ".join(links)
                cb, above = slots
                if cb == cur:
                    return "waits for itself): " + "; ".join(links) + ", that is itself: the callback waits for its own end"
                links[-1] += f", which runs as {who(cb, s)}"
                nxt, nres = cb, blocked_on(cb, s)
                if nres is None and above != cb:
                    links[-1] += f", interrupted on its CPU by {who(above, s)}"
                    nxt, nres = above, blocked_on(above, s)
                if nxt in chain:
                    return "circular wait): " + "; ".join(links)
                if nres is None:
                    return "a release that can never come): " + "; ".join(links) + \
                        ", which never returns on any continuation"
                chain.append(nxt)
                cur, cur_res = nxt, nres
                continue
            if kind == "irq":
                assert isinstance(what, int)
                busy = [t for t in irq_threads(low, low.desc[what]) if blocked_on(t.ident, s) is not None]
                links.append(f"{who(cur, s)} waits for {resource_text(cur_res)}")
                if busy:
                    nxt = busy[0].ident
                    links[-1] += f", but its {who(nxt, s)} never finishes"
                    if nxt in chain:
                        return "circular wait): " + "; ".join(links)
                    chain.append(nxt)
                    nres = blocked_on(nxt, s)
                    assert nres is not None
                    cur, cur_res = nxt, nres
                    continue
                return "a release that can never come): " + "; ".join(links) + \
                    f", and IRQ {what} never becomes idle"
            assert isinstance(what, str)
            owner, held_by = holder(cur, kind, what, s)
            links.append(f"{who(cur, s)} waits for {resource_text(cur_res)}, {held_by}")
            if owner == cur:
                return "waits for itself): " + "; ".join(links) + ", that is itself (AA)"
            if owner in chain:
                return "circular wait): " + "; ".join(links)
            t = task_of.get(owner)
            if t is not None and evaluate(task_done(t), s):
                return "lock held by a finished context): " + "; ".join(links) + \
                    ", which finished holding it: a lock held when its context ends is never released"
            if not present(owner, s):
                return "lock held by a finished context): " + "; ".join(links) + \
                    ", a handler that returned holding it: it is never released"
            nres = blocked_on(owner, s)
            if nres is None and t is not None:  # preempted on its CPU by a frame that is blocked itself?
                top = preempting_frame(t.ident, s)
                if top is not None:
                    links[-1] += f", preempted on its CPU by {who(top, s)}"
                    nres = blocked_on(top, s)
                    if nres is None:
                        return "a release that can never come): " + "; ".join(links) + \
                            ", which never returns to it on any continuation"
                    owner = top
                    if owner in chain:
                        return "circular wait): " + "; ".join(links)
            if nres is None and t is not None and evaluate(queue_sleeping(low, t), s):
                return "a release that can never come): " + "; ".join(links) + \
                    ", which sleeps for ever on a wait queue holding it"
            if nres is None:
                return "a release that can never come): " + "; ".join(links) + \
                    ", which never reaches its release on any continuation (it sleeps, waits or loops for ever first)"
            chain.append(owner)
            cur, cur_res = owner, nres

    forever = _held_forever(low, entries)
    out: list[Wait] = []
    for ident, blocked, res in entries:
        def explain(s: State, ident: int = ident, res: tuple[str, str | int] = res) -> str:
            return "deadlock (" + story(ident, res, s)
        line = _first_line(low, ident, res)
        sure = FALSE
        if res[0] == "lock":
            sure = And(blocked, Or(Eq(V(low.lock[str(res[1])]), C(ident)), forever[str(res[1])]))
        elif res[0] in ("read", "write"):
            sure = And(blocked, _rw_held_forever(low, str(res[1]), res[0] == "write"))
        elif res[0] == "timer" and ident not in task_of:
            # R7: a frame waiting for a callback on its own CPU - itself, or one it interrupted - for ever
            cpu_of = next(c for i, _at, _n, c in ctxs if i == ident)
            assert cpu_of is not None
            sure = And(blocked, Eq(V(low.timer[str(res[1])][1]), C(cpu_of + 1)))
        elif res[0] == "seq":
            sure = writer_below(low, str(res[1])).get(ident, FALSE)

        def stuck_at(s: State, ident: int = ident) -> tuple[str, str, int]:
            return statement_at(ident, s)
        out.append(Wait(slot_name[ident], blocked,
                        f"deadlock: {slot_name[ident]} waits for {resource_text(res)} for ever", line, explain, sure,
                        stuck_at))
    return out


def _first_line(low: Model, ident: int, res: tuple[str, str | int]) -> int:
    """The source line of the task's first statement that waits for `res` (0 for frame slots)."""
    t = next((t for t in low.tasks if t.ident == ident), None)
    if t is None:
        return 0
    kind, what = res
    if kind == "seq":
        locs = begin_locs(low, str(what))[0].get(ident, set())
    elif kind in ("lock", "read", "write"):
        assert isinstance(what, str)
        ops = {"read": RW_READ_ACQUIRES, "write": RW_WRITE_ACQUIRES}.get(kind)
        locs = (acquire_locs(low, what) if ops is None else acquire_locs(low, what, ops))[0].get(ident, set())
    elif kind == "timer":
        locs = low.locs(t.body, cancel_of(str(what)))
    else:
        locs = low.locs(t.body, _sync_on(int(what)))
    return min((t.body.nodes[i].line for i in locs), default=0)


def _rw_held_forever(low: Model, lock: str, readers_too: bool) -> Expr:
    """rwlock `lock` is write-held (and, with `readers_too`, or read-held) by a plain thread that
    finished: it is never released (sound, not complete; exported for SPIN as `_held_forever`)."""
    rw = low.rwlock[lock]
    threads = [t for t in low.tasks if t.code.kind == "thread"]
    out = [And(Eq(V(rw.writer), C(t.ident)), task_done(t)) for t in threads]
    if readers_too:
        out += [And(Bin(">", V(rw.readers[t.ident]), C(0)), task_done(t)) for t in threads if t.ident in rw.readers]
    return Or(*out)


CHAIN_DEPTH = 3     # holders blocked on holders ... followed this far in `_held_forever`
MAX_CYCLES = 64     # circular waits enumerated for `_held_forever` (each one a term of the predicate)
MAX_TEXT = 20_000   # a longer chain is followed only while the predicates stay below this size


def _held_forever(low: Model, entries: list[tuple[int, Expr, tuple[str, str | int]]]) -> dict[str, Expr]:
    """Per lock, a state predicate that implies "nobody will ever release it" (sound, not complete):
    its owner is a plain thread that finished (a thread never restarts, and only the owner's
    unlock frees a lock); or every lock of a circular wait is held by a context blocked on the
    next; or its owner is blocked on a lock that is held for ever, up to CHAIN_DEPTH holders.
    Exported for SPIN (checker/promela.py), which cannot judge "blocked in every continuation"."""
    holds_waits: dict[tuple[str, str], Expr] = {}  # (L, M): some context holds L and waits for M
    for ident, blocked, res in entries:
        if res[0] != "lock":
            continue
        for lk, v in low.lock.items():
            m = str(res[1])
            term = And(Eq(V(v), C(ident)), blocked)
            if term != FALSE:
                holds_waits[(lk, m)] = Or(holds_waits.get((lk, m), FALSE), term)
    fin: dict[str, Expr] = {}
    for lk, v in low.lock.items():
        done = [And(Eq(V(v), C(t.ident)), task_done(t)) for t in low.tasks if t.code.kind == "thread"]
        fin[lk] = Or(*done)
    # the graph's nodes are the locks' indices, not their names: networkx enumerates cycles through
    # sets of nodes, and sets of strings iterate in an order that changes with the hash seed (the
    # Promela export must be the same bytes on every run); ints iterate the same way on every run
    order = sorted({lk for edge in holds_waits for lk in edge})
    index = {lk: i for i, lk in enumerate(order)}
    import networkx as nx  # noqa: PLC0415 - only models with lock cycles to look for pay its import (0.1 s)
    g: nx.DiGraph[int] = nx.DiGraph()
    g.add_edges_from((index[a], index[b]) for a, b in holds_waits)
    cyc: dict[str, Expr] = {lk: FALSE for lk in low.lock}
    for n, numbered in enumerate(nx.simple_cycles(g)):
        if n >= MAX_CYCLES:
            break
        cycle = [order[i] for i in numbered]
        term = And(*[holds_waits[(a, cycle[(i + 1) % len(cycle)])] for i, a in enumerate(cycle)])
        for lk in cycle:
            cyc[lk] = Or(cyc[lk], term)
    held = {lk: Or(fin[lk], cyc[lk]) for lk in low.lock}
    for _ in range(CHAIN_DEPTH):
        deeper = {lk: Or(fin[lk], cyc[lk], *[And(w, held[m]) for (a, m), w in holds_waits.items()
                                             if a == lk and m != lk]) for lk in low.lock}
        if sum(len(repr(e)) for e in deeper.values()) > MAX_TEXT:
            break  # a shorter chain is still sound; the export stays readable
        held = deeper
    return held


def wait_for_edges(waits: Sequence[Wait], s: State) -> str:
    """The wait-for edges of a stuck state in the user's words (who waits for which lock, held by
    whom, until the chain closes or ends), told from the first wait blocked in `s`; "" when none is.
    A deadlock found as a state property (AA, ABBA, K3) or a quiet state names its locks this way."""
    for w in waits:
        if w.explain is not None and evaluate(w.blocked, s):
            story = w.explain(s)
            return story.split("): ", 1)[1] if "): " in story else story
    return ""


def blocked_at(waits: Sequence[Wait], s: State, judged: int | None = None) -> tuple[str, str, int] | None:
    """The acquisition that can never proceed in a stuck state `s` (D0): (context, statement, line) of
    the blocked context's statement - wait `judged` (the one an engine found blocked for ever), else the
    first wait blocked in `s`, the one `wait_for_edges` tells the story from; None when none is. It
    is not a step of the trace (spinning is the absence of a step): the report shows it after the
    last step, with the `<- violation` marker."""
    order = [judged] if judged is not None else range(len(waits))
    for k in order:
        w = waits[k]
        if w.at is not None and evaluate(w.blocked, s):
            return w.at(s)
    return None
