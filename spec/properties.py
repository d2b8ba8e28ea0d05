"""The checks' state properties and liveness requests (transition tags live with their statements).

* max_nesting N: per CPU `depth <= N`; invariant E: E; no_reentry: per non-reentrant handler or
  function, the number of frame slots (pc or saved pc of every CPU) and tasks inside it is <= 1;
* no_data_race: per data object, no two context slots at an access at once, one of them writing;
* no_deadlock / lockdep: AA (a context at an acquisition of a lock it holds), ABBA (two contexts
  each holding what the other waits for), K3 (a frame spinning on a lock held by what it
  interrupted on its CPU), L6 (a wait for the own IRQ), and the per-context waits (waits.py);
* no_sleep_in_atomic: a frame at synchronize_irq/free_irq (it sleeps even if the wait never ends);
* no_lost_wakeup: per wait with a known condition, a `Request` pending while the task sleeps there
  with its condition true, delivered by nothing (it must leave those states);
* lockdep's usage facts are judged after the search by lockdep.judge.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from ircheck.grammar import ast
from ircheck.grammar.printer import expr_text
from ircheck.spec.cfg import Node
from ircheck.spec.language import TIMED_WAITS
from ircheck.spec.lockdep import judge as lockdep_judge
from ircheck.spec.model import Model
from ircheck.spec.prims.genirq import irq_threads
from ircheck.spec.prims.genirq_flow import nobody_cared_requests
from ircheck.spec.prims.locks import SPIN_ACQUIRES, acquire_locs
from ircheck.spec.prims.rwlock import recursion_props
from ircheck.spec.prims.seqlock import writer_below
from ircheck.spec.prims.waitq import queue_of
from ircheck.spec.races import race_props
from ircheck.spec.storm import storm_requests
from ircheck.spec.ts import (
    FALSE,
    And,
    Bin,
    C,
    Eq,
    Expr,
    FactViolation,
    In,
    Ite,
    Not,
    Or,
    Request,
    StateProp,
    V,
)
from ircheck.spec.waits import context_waits


def lower_checks(m: Model) -> None:
    for spec in m.checks:
        if spec.name == "max_nesting":
            assert isinstance(spec.arg, int)
            for cpu in m.cpus:
                m.b.props.append(StateProp("max_nesting", Bin("<=", V(cpu.depth), C(spec.arg)),
                                           f"interrupt nesting is deeper than {spec.arg} frames on "
                                           f"cpu{cpu.index}", spec.line))
        elif spec.name == "invariant":
            assert spec.arg is not None and not isinstance(spec.arg, int)
            m.b.props.append(StateProp("invariant", m.cond(spec.arg, None),
                                       f"invariant `{expr_text(spec.arg)}` is false", spec.line))
        elif spec.name == "no_reentry":
            reentry_props(m)


def reentry_props(m: Model) -> None:
    routines = [c for c in m.d.code.values() if c.kind in ("handler", "function") and not c.reentrant]
    for r in routines:
        hlocs = {inc.base + i for inc in m.incs for i, n in enumerate(inc.body.nodes) if r.name in n.routines}
        terms: list[Expr] = []
        for cpu in m.cpus:
            if hlocs:
                terms.append(In(V(cpu.pc), hlocs))
                terms.extend(In(V(sp), hlocs) for sp in cpu.saved_pc)
        for task in m.tasks:
            tl = {i for i, n in enumerate(task.body.nodes) if r.name in n.routines and n.kind != "end"}
            if tl:
                terms.append(In(V(task.pc), tl))
        if len(terms) < 2:
            continue  # can never be active twice
        count: Expr = C(0)
        for t in terms:
            count = Bin("+", count, Ite(t, C(1), C(0)))
        what = "handler" if r.kind == "handler" else "function"
        m.b.props.append(StateProp("no_reentry", Bin("<=", count, C(1)),
                                   f"non-reentrant {what} {r.name} is active twice at once", r.line))


def kernel_checks(m: Model) -> None:
    if m.enabled("no_data_race"):
        race_props(m)
    if m.enabled("no_deadlock") or m.enabled("lockdep"):
        lock_wait_props(m)
    if m.enabled("lockdep"):
        recursion_props(m)
    if m.enabled("no_deadlock"):
        self_wait_props(m)
        thread_self_wait_props(m)
        seq_livelock_props(m)
        m.b.waits.extend(context_waits(m))
    if m.enabled("no_sleep_in_atomic"):
        sleep_wait_props(m)
    if m.enabled("no_lost_wakeup"):
        lost_wakeup_requests(m)
    if m.enabled("no_starvation"):
        nobody_cared_requests(m)
    if m.enabled("no_irq_storm"):
        storm_requests(m)


def lock_wait_props(m: Model) -> None:
    ctxs = m.contexts()
    waits: dict[tuple[str, str], Expr] = {}
    for lk, v in m.lock.items():
        tl, fl = acquire_locs(m, lk)
        # "the lock is held" first (owner 0: free): one comparison per state while it is free; And is
        # commutative and side-effect free, so the property is the same
        held = Not(Eq(V(v), C(0)))
        selfspin = And(held, Or(*[And(Eq(V(v), C(ident)), at(tl.get(ident, set()), fl)) for ident, at, _n, _c in ctxs]))
        if selfspin != FALSE:
            msg = f"{lk} is acquired again by the context that already holds it: it waits on itself for ever"
            if m.enabled("no_deadlock"):
                m.b.props.append(StateProp("no_deadlock", Not(selfspin), f"AA deadlock: {msg}", 0))
            if m.enabled("lockdep"):
                m.b.props.append(StateProp("lockdep", Not(selfspin),
                                           f"WARNING: possible recursive locking detected: {msg}\n"
                                           f"  CPU0\n  ----\n  lock({lk});\n  lock({lk});\n *** DEADLOCK ***", 0))
        for other, ov in m.lock.items():
            if other == lk:
                continue
            # some context holds `other` and is at an acquisition of `lk`
            w = And(Not(Eq(V(ov), C(0))),
                    Or(*[And(Eq(V(ov), C(ident)), at(tl.get(ident, set()), fl)) for ident, at, _n, _c in ctxs]))
            waits[(other, lk)] = w
    if not m.enabled("no_deadlock"):
        return
    for (a, b), w in waits.items():
        if a < b and w != FALSE and waits.get((b, a), FALSE) != FALSE:
            m.b.props.append(StateProp("no_deadlock", Not(And(w, waits[(b, a)])),
                                       f"ABBA deadlock: one context holds {a} and waits for {b} while another "
                                       f"holds {b} and waits for {a}", 0))
    for cpu in m.cpus:  # K3: a frame spins on a lock held by what it interrupted on its own CPU
        base = m.frame_owner_base(cpu.index)
        mine = {t.ident for t in cpu.tasks}
        for lk, v in m.lock.items():
            if m.lock_kind[lk] != "spinlock":
                continue
            _tl, fl = acquire_locs(m, lk, SPIN_ACQUIRES)
            if not fl:
                continue
            terms = [And(Eq(V(cpu.depth), C(d)), In(V(cpu.pc), fl), In(V(v), mine | set(range(base, base + d - 1))))
                     for d in range(1, m.maxdepth + 1)]
            bad = And(Not(Eq(V(v), C(0))), Or(*terms))
            if bad != FALSE:
                m.b.props.append(StateProp(
                    "no_deadlock", Not(bad), f"cpu{cpu.index} spins for ever on {lk}: its holder is the context "
                    f"this interrupt preempted on the same CPU, which cannot run until the spinning frame returns "
                    f"(K3)", 0))


def seq_livelock_props(m: Model) -> None:
    """R2: a frame at `read_seqbegin S` while S is odd and its writer is what the frame interrupted on its
    own CPU spins for ever (seqlock.rst: "A sequence counter write side critical section must never be
    preempted or interrupted by read side sections"), as K3 for a spinlock."""
    for sq in m.seq:
        for cpu in m.cpus:
            bad = Or(*[t for ident, t in writer_below(m, sq).items()
                       if m.frame_owner_base(cpu.index) <= ident < m.frame_owner_base(cpu.index) + m.maxdepth])
            if bad != FALSE:
                m.b.props.append(StateProp(
                    "no_deadlock", Not(bad), f"cpu{cpu.index} retries read_seqbegin {sq} for ever: the writer it "
                    f"interrupted on the same CPU keeps the sequence odd and cannot run until the reader returns "
                    f"(livelock, R2): the writer must disable the interrupts (or BH) whose handlers read", 0))


def self_wait_props(m: Model) -> None:
    """L6: disable_irq/free_irq/synchronize_irq of IRQ n inside IRQ n's own handler waits for itself."""
    for inc in m.incs:
        if inc.kind != "flow" or inc.irq is None:
            continue
        n = inc.irq.irq
        locs = {inc.base + i for i, nd in enumerate(inc.body.nodes) if nd.kind == "sync_wait"
                and isinstance(nd.stmt, ast.Simple) and isinstance(nd.stmt.arg, ast.Num) and nd.stmt.arg.value == n}
        if not locs:
            continue
        ops = sorted({nd.stmt.op for nd in inc.body.nodes if nd.kind == "sync_wait" and
                      isinstance(nd.stmt, ast.Simple)})
        bad = Or(*[In(V(cpu.pc), locs) for cpu in m.cpus])
        m.b.props.append(StateProp("no_deadlock", Not(bad),
                                   f"{'/'.join(ops)} {n} inside IRQ {n}'s own handler waits for that handler to "
                                   f"finish, that is for itself (L6); use disable_irq_nosync", 0))


def thread_self_wait_props(m: Model) -> None:
    """synchronize_irq waits for the line's threads: from inside such a thread it waits for itself."""
    def waits_for(nd: Node, n: int) -> bool:
        return nd.kind == "sync_wait" and isinstance(nd.stmt, ast.Simple) and \
            isinstance(nd.stmt.arg, ast.Num) and nd.stmt.arg.value == n
    for n, dsc in m.desc.items():
        for t in irq_threads(m, dsc):
            locs = {i for i, nd in enumerate(t.body.nodes) if waits_for(nd, n)}
            if locs:
                m.b.props.append(StateProp("no_deadlock", Not(In(V(t.pc), locs)),
                                           f"{t.label} waits in synchronize_irq {n} for the threads of IRQ {n}, "
                                           f"that is for itself (L6)", t.code.line))


def sleep_wait_props(m: Model) -> None:
    """A frame that reaches synchronize_irq/free_irq sleeps in atomic context even if the wait never ends."""
    for inc in m.incs:
        for i, nd in enumerate(inc.body.nodes):
            st = nd.stmt
            if nd.kind == "sync_wait" and isinstance(st, ast.Simple) and st.op in ("synchronize_irq", "free_irq"):
                assert isinstance(st.arg, ast.Num)
                where = "hardirq" if inc.hardirq else "softirq"
                at = Or(*[Eq(V(c.pc), C(inc.base + i)) for c in m.cpus])
                m.b.props.append(StateProp(
                    "no_sleep_in_atomic", Not(at), f"BUG: sleeping function called from invalid context: "
                    f"{st.op} {st.arg.value} in {inc.describe(False)}, {where} context", nd.line))


def lost_wakeup_requests(m: Model) -> None:
    """Per sleep location with a known condition (W1; a timed sleep never sleeps for ever, R5): pending
    while the task sleeps there with its condition true. Per wait_for_completion sleep of a completion
    that is reinitialised (R6): pending while it sleeps there after a complete nobody took was erased."""
    for t in m.tasks:
        if t.state is None:
            continue
        for i, n in enumerate(t.body.nodes):
            st = n.stmt
            op = st.op if isinstance(st, ast.Simple | ast.Wait) else ""
            if n.kind != "wait_sleep" or op in TIMED_WAITS:
                continue
            asleep = And(Eq(V(t.pc), C(i)), Eq(V(t.state), C(1)))
            if op == "wait_for_completion":
                c = queue_of(n)
                assert c is not None
                erased = m.completion[c][1]
                if erased is not None:
                    m.b.requests.append(Request(
                        "no_lost_wakeup", f"{t.label} on completion {c}", And(asleep, Eq(V(erased), C(1))),
                        frozenset(), f"{t.label} waits for ever for {c}: a reinit_completion erased the complete "
                        f"it was waiting for (lost completion, R6)", n.line))
                continue
            if n.cond is None:
                continue
            q = queue_of(n) or (next(iter(t.entries)) if len(t.entries) == 1 else "its wait queue (schedule)")
            pending = And(asleep, m.cond(n.cond, None))
            m.b.requests.append(Request(
                "no_lost_wakeup", f"{t.label} on {q}", pending, frozenset(),
                f"{t.label} sleeps for ever on {q} although `{expr_text(n.cond)}` is true: the wake_up came "
                f"before it slept (lost wake-up, W1)", n.line))


def judge_of(m: Model) -> Callable[[Sequence[str]], list[FactViolation]] | None:
    if not m.enabled("lockdep") or not (m.lock or m.rwlock):
        return None
    return lockdep_judge
