"""Graph analyses after the search: deadlock and liveness (starvation) with fairness.

Both work on the explored state set by id. The edges, blocked waits and pending
requests come from the search's edge log (checker/edge_log.py) when it kept one;
without it (dropped for memory, or an engine that keeps none) they are
recomputed on demand with the generated `succ_ids`, `blocked` and `pending`.

Liveness: for a request p, look at the graph of states where p is pending,
without the edges that deliver p. A strongly connected component of it that a
fair run can stay in for ever, or a pending state with no successor at all,
is a run on which p is never delivered. A run is fair (weak fairness) when
every fairness group that is enabled in all states of the component also
moves inside it.
"""

from __future__ import annotations

from array import array
from collections import deque
from collections.abc import MutableSequence
from typing import TYPE_CHECKING

from ircheck.edge_log import covering, edge_cols
from ircheck.edge_log import masks as mask_array
from ircheck.fair_components import fair_parts
from ircheck.id_graph import Rows, components, store_of
from ircheck.lasso import lasso
from ircheck.limits import NO_LIMIT, Ticker
from ircheck.outcome import RawViolation
from ircheck.spec.checks import DEADLOCK_CHECK
from ircheck.state_store import StateStore

if TYPE_CHECKING:
    from ircheck.explicit import Explicit


def deadlocks(eng: Explicit, quiet: list[int], budget: Ticker = NO_LIMIT) -> RawViolation | None:
    """A quiet state (no CPU can step, something unfinished) from which only quiet states are reachable."""
    if not quiet:
        return None
    qset = set(quiet)
    succ: dict[int, list[int]] = {}
    tick = budget.tick
    for q in quiet:
        tick()
        succ[q] = [t for _ti, t, _el in eng.edges(q)]
    escapes = {q for q in quiet if any(t not in qset for t in succ[q])}
    changed = True
    while changed:  # a quiet state escapes when some successor escapes
        changed = False
        tick()
        for q in quiet:
            if q not in escapes and any(t in escapes for t in succ[q]):
                escapes.add(q)
                changed = True
    for q in quiet:  # BFS order: the first one is the shallowest
        if q not in escapes:
            return RawViolation(DEADLOCK_CHECK, eng.ts.deadlock_message, eng.path_to(q))
    return None


def blocked_forever(eng: Explicit, budget: Ticker = NO_LIMIT) -> RawViolation | None:
    """`ts.waits`: the shallowest state where wait k is blocked and every state reachable from it
    is blocked the same way (no continuation releases the resource, whatever else keeps running).

    One pass marks the blocked states (bit k: wait k blocked, from the generated `blocked`); a
    bit escapes directly when some successor lacks it. The bits left are propagated backwards:
    a state escapes on bit k when a successor that has bit k escapes on it. What never escapes
    is a deadlock. Only the blocked states' successors are computed, and only the states that do
    not escape at once keep them.

    On a symmetry quotient (`eng.quotient`) a successor t of a stored state is stored as g(t): its
    blocked bits are g(t)'s pulled back through g (`Quotient.pull`: wait w of t is wait g(w) of
    g(t)), and so are the bits it escapes on - "w blocked for ever from t" iff "g(w) blocked for
    ever from g(t)", g being an automorphism that maps the waits onto themselves."""
    waits = eng.ts.waits
    if not waits or eng.code.blocked is None:
        return None
    blocked, tick = eng.code.blocked, budget.tick
    store = store_of(eng.seen, eng.pk.bits)
    n = len(store)
    # the blocked bits of every stored state, by id: one byte a state up to 8 waits
    log = covering(eng, n)
    hit = array("I")
    if log is not None:  # the search wrote them down
        masks = log.blocked
        for i, m in enumerate(masks):
            if m:
                hit.append(i)
    else:
        masks = mask_array(len(waits), n)
        for i, s in enumerate(store):  # BFS order: the first deadlocked state found below is the shallowest
            tick()
            m = blocked(s)
            if m:
                masks[i] = m
                hit.append(i)
    # the blocked states that do not escape at once: local index u, state id left[u], successor ids
    # in rows (off, to), the bits not escaped yet in `rest` by id (0 elsewhere)
    rest = mask_array(len(waits), n)
    left, off, to, els = array("I"), array("I", [0]), array("I"), array("i")
    quo = eng.quotient
    pull = quo.pull if quo is not None else None
    cols = edge_cols(eng, store)
    for u, i in enumerate(hit):
        if not u & 0xFF:
            tick()
        m = masks[i]
        _tis, js, es = cols(i)
        esc = 0
        if pull is None or es is None:
            for j in js:
                esc |= m & ~masks[j] if j >= 0 else m
        else:
            for j, el in zip(js, es, strict=True):
                if j < 0:
                    esc |= m
                else:
                    esc |= m & ~(masks[j] if el < 0 else pull(masks[j], el))
        if m & ~esc:
            rest[i] = m & ~esc
            left.append(i)
            for k, j in enumerate(js):
                if j >= 0:
                    to.append(j)
                    els.append(es[k] if es is not None else -1)
            off.append(len(to))
    if not left:
        return None
    lloc = array("i", [-1]) * n
    for u, i in enumerate(left):
        lloc[i] = u
    # the reverse edges among the left nodes in rows: v's predecessors are rto[roff[v]..roff[v+1]-1]
    roff = array("I", [0]) * (len(left) + 1)
    for k in range(len(to)):
        v = lloc[to[k]]
        if v >= 0:
            roff[v + 1] += 1
    for v in range(len(left)):
        roff[v + 1] += roff[v]
    rto, fill = array("I", [0]) * roff[-1], array("I", roff)
    for u in range(len(left)):
        for k in range(off[u], off[u + 1]):
            v = lloc[to[k]]
            if v >= 0:
                rto[fill[v]] = u
                fill[v] += 1
    del fill, lloc
    work: deque[int] = deque()

    def settle(u: int) -> None:
        """Bits of left[u] that a successor escapes on are escaped for it too."""
        i = left[u]
        r = rest[i]
        esc = 0
        for k in range(off[u], off[u + 1]):
            j = to[k]
            gone = masks[j] & ~rest[j]  # the bits j escapes on, in j's own frame
            el = els[k]
            esc |= r & (gone if pull is None or el < 0 else pull(gone, el))
        if esc:
            rest[i] = r & ~esc
            work.append(u)

    for u in range(len(left)):
        if not u & 0xFF:
            tick()
        settle(u)
    n_done = 0
    while work:
        n_done += 1
        if not n_done & 0xFF:
            tick()
        v = work.popleft()
        for k in range(roff[v], roff[v + 1]):
            u = rto[k]
            if rest[left[u]]:
                settle(u)
    for i in left:  # BFS order: the shallowest
        r = rest[i]
        if r:
            s = store.state_of(i)
            k = (r & -r).bit_length() - 1
            w = waits[k]
            msg = w.explain(eng.pk.unpack(s)) if w.explain is not None else w.message
            return RawViolation(DEADLOCK_CHECK, msg, eng.path_to(s), None, line=w.line, whole=True, wait=k)
    return None


def request_orbits(eng: Explicit, checks: set[str] | None) -> list[list[int]]:
    """The requests (of `checks`) judged together: each alone, or on a symmetry quotient the orbits
    of the group (a request and its images), in the order of their first request."""
    ts, quo = eng.ts, eng.quotient
    todo = [k for k, r in enumerate(ts.requests) if checks is None or r.check in checks]
    if quo is None:
        return [[k] for k in todo]
    out: list[list[int]] = []
    placed: set[int] = set()
    for k in todo:
        if k not in placed:
            orbit = sorted({k} | {quo.request(k, el) for el in range(len(quo.elements))})
            placed.update(orbit)
            out.append(orbit)
    return out


def starvation(eng: Explicit, checks: set[str] | None = None,
               budget: Ticker = NO_LIMIT) -> list[RawViolation]:
    """For each request (of `checks`), the shallowest fair run on which it stays pending for ever.

    The pending states are walked by id (checker/id_graph.py): their edges in flat rows, their
    components found by Tarjan over arrays, a singleton judged from its rows and the fairness
    groups its transitions belong to; a larger component (or a singleton with a self-loop) is
    judged by `fair_components.fair_parts` on its states. Of the components judged unfair-free (a run may stay there
    for ever), the one holding the shallowest state gives the counterexample.

    On a symmetry quotient (`eng.quotient`, group G) the nodes are pairs (stored state r, request k
    pending in r), for the requests of one orbit: the concrete pair (t, k) is stored as
    (g(t), g(k)). A concrete run starving k projects onto the pairs, and every strongly connected
    set of pairs C lifts back (`_lift`): the concrete states reachable from one pair (r0, k0) of C
    through pairs of C form one concrete strongly connected set that projects onto all of C (from
    any of them a path leads to h(r0) for some h in G, and going round h's order times comes back).
    Every concrete component starving a request is, renamed by some element of G, such a lift, and
    renaming keeps fairness (`Verified.requests` checked that the groups map onto themselves), so
    judging the lifts with `fair_parts` decides exactly what judging the full graph decides. A
    violation found on a quotient has no trace: `reduce.search_reduced` re-finds it unreduced."""
    ts = eng.ts
    quo = eng.quotient
    out: list[RawViolation] = []
    fair_of = [t.fair for t in ts.transitions]
    names = sorted({g for f in fair_of for g in f})
    tmask = [sum(1 << names.index(g) for g in set(f)) for f in fair_of]  # any(fair_of[ti]) <=> tmask[ti]
    store = store_of(eng.seen, eng.pk.bits)
    for orbit in request_orbits(eng, checks):  # the caller keeps the shallowest per check
        ids, reqs = _pending_nodes(eng, store, orbit, budget)
        if not ids:
            continue
        m = len(orbit)
        loc = array("i", [-1]) * (len(store) * m)  # (state id, position in orbit) -> local index
        for v in range(len(ids)):
            loc[ids[v] * m + reqs[v]] = v
        en = mask_array(len(names), len(ids))
        g = _pending_rows(eng, store, orbit, ids, reqs, loc, tmask, en, budget)
        best: tuple[int, list[int], bool] | None = None  # (entry's local index, component, terminal)
        for comp in components(len(ids), g, budget):  # (it ticks the budget at each root)
            v0 = min(comp)
            k0 = orbit[reqs[v0]]
            req = ts.requests[k0]
            if len(comp) == 1:
                if not en[v0] and not req.recurs:
                    # no CPU can step: the run may stay here for ever (devices are never obliged to act)
                    if best is None or v0 < best[0]:
                        best = (v0, [store.state_of(ids[v0])], True)
                    continue
                if v0 not in g.to[g.off[v0]:g.off[v0 + 1]]:  # no self-loop: no run stays here
                    continue
            if best is not None and v0 > best[0]:
                continue  # nothing in it is shallower than the component already found
            if quo is None:
                states = [store.state_of(ids[v]) for v in comp]
            else:
                states = _lift(eng, store, orbit, loc, set(comp), store.state_of(ids[v0]), k0)
            edges, full = _view(eng, states, k0)
            for sub, terminal in fair_parts(states, edges, full, req.recurs, fair_of, ts.groups, ts.strong, budget):
                v = v0 if quo is not None else min(loc[store.id_of(x)] for x in sub)
                if best is None or v < best[0]:
                    best = (v, sub, terminal)
        if best is None:
            continue
        v, comp, terminal = best
        req = ts.requests[orbit[reqs[v]]]
        if quo is not None:  # no trace on a quotient: the unreduced re-search gives it
            out.append(RawViolation(req.check, req.message, [], None, None, req.line))
            continue
        entry = store.state_of(ids[v])
        prefix = eng.path_to(entry)
        cycle: list[int] | None = None
        if not terminal:
            edges, full = _view(eng, comp, orbit[reqs[v]])
            cycle = lasso(entry, comp, edges, full, fair_of, ts.groups, ts.strong, req.recurs)
        out.append(RawViolation(req.check, req.message, prefix, None, cycle, req.line))
    return out


def _pending_nodes(eng: Explicit, store: StateStore, orbit: list[int], budget: Ticker) -> tuple[array[int], array[int]]:
    """The nodes of an orbit's pending graph in BFS order: (state id, position in `orbit` of a request
    pending in that state)."""
    ids, reqs = array("I"), array("I")
    tick = budget.tick
    log = covering(eng, len(store))
    if log is not None:  # the search wrote the pending masks down
        want = sum(1 << k for k in orbit)
        for i, pm in enumerate(log.pending):
            if pm & want:
                for p, k in enumerate(orbit):
                    if (pm >> k) & 1:
                        ids.append(i)
                        reqs.append(p)
        return ids, reqs
    pends = [eng.code.pending[k] for k in orbit]
    for i, s in enumerate(store):
        if not i & 0xFFF:
            tick()
        for p, pend in enumerate(pends):
            if pend(s):
                ids.append(i)
                reqs.append(p)
    return ids, reqs


def _pending_rows(eng: Explicit, store: StateStore, orbit: list[int], ids: array[int], reqs: array[int],
                  loc: array[int], tmask: list[int], en: MutableSequence[int], budget: Ticker) -> Rows:
    """The pending graph's edges: from node (r, k), each step of r that does not deliver k to a state
    where k (renamed by the element that stored it) is pending; `en[v]`: the fairness groups of all
    of v's steps."""
    ts, quo = eng.ts, eng.quotient
    m = len(orbit)
    pos = {k: p for p, k in enumerate(orbit)}
    off, to, tis = array("I", [0]), array("I"), array("I")
    tick = budget.tick
    cols = edge_cols(eng, store)
    for v in range(len(ids)):
        if not v & 0xFF:
            tick()
        k = orbit[reqs[v]]
        delivers = ts.requests[k].delivers
        mask = 0
        row_ti, row_to, row_el = cols(ids[v])
        own = pos[k]  # k's position, for a successor stored as it is
        for e, ti in enumerate(row_ti):
            mask |= tmask[ti]
            if ti in delivers:
                continue
            j = row_to[e]
            if j >= 0:
                el = row_el[e] if row_el is not None else -1
                lw = loc[j * m + (own if el < 0 or quo is None else pos[quo.request(k, el)])]
                if lw >= 0:
                    to.append(lw)
                    tis.append(ti)
        en[v] = mask
        off.append(len(to))
    return Rows(off, to, tis)


def _lift(eng: Explicit, store: StateStore, orbit: list[int], loc: array[int], comp: set[int],
          start: int, k: int) -> list[int]:
    """The concrete states reachable from stored state `start` with request k pending, through steps
    that do not deliver k to states whose pair (stored state, renamed request) is in `comp`."""
    quo = eng.quotient
    assert quo is not None
    m = len(orbit)
    pos = {r: p for p, r in enumerate(orbit)}
    delivers, pend = eng.ts.requests[k].delivers, eng.code.pending[k]
    seen = {start}
    todo = [start]
    while todo:
        c = todo.pop()
        for ti, t in eng.successors_with_ids(c):
            if ti in delivers or t in seen or not pend(t):
                continue
            rep, el = quo.canon_el(t)
            j = store.id_of(rep)
            if j >= 0 and loc[j * m + pos[quo.request(k, el)]] in comp:
                seen.add(t)
                todo.append(t)
    return list(seen)


def _view(eng: Explicit, states: list[int], k: int) -> tuple[dict[int, list[tuple[int, int]]],
                                                             dict[int, list[tuple[int, int]]]]:
    """`edges` (the steps that keep request k pending) and `full` (all successors) of concrete
    `states`, as the fairness judgement and the lasso read them."""
    delivers, pend = eng.ts.requests[k].delivers, eng.code.pending[k]
    full = {v: eng.successors_with_ids(v) for v in states}
    edges = {v: [(ti, w) for ti, w in succ if ti not in delivers and pend(w)] for v, succ in full.items()}
    return edges, full
