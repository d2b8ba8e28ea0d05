"""Graph analyses after the search: deadlock and liveness (starvation) with fairness.

Both work on the explored state set and recompute successors on demand with
the generated `succ_ids`, so the search itself never stores edges.

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

from ircheck.fair_components import fair_parts
from ircheck.id_graph import components, local_index, rows, store_of
from ircheck.limits import NO_LIMIT, Ticker
from ircheck.outcome import RawViolation
from ircheck.spec.checks import DEADLOCK_CHECK

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
        succ[q] = [t for _ti, t in eng.successors_with_ids(q)]
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


def _typecode(bits: int) -> str:
    """The smallest array typecode holding `bits`-bit masks, "" for a list (more than 63 bits)."""
    return next((c for c, b in (("B", 8), ("H", 16), ("I", 32), ("Q", 63)) if bits <= b), "")


def blocked_forever(eng: Explicit, budget: Ticker = NO_LIMIT) -> RawViolation | None:
    """`ts.waits`: the shallowest state where wait k is blocked and every state reachable from it
    is blocked the same way (no continuation releases the resource, whatever else keeps running).

    One pass marks the blocked states (bit k: wait k blocked, from the generated `blocked`); a
    bit escapes directly when some successor lacks it. The bits left are propagated backwards:
    a state escapes on bit k when a successor that has bit k escapes on it. What never escapes
    is a deadlock. Only the blocked states' successors are computed, and only the states that do
    not escape at once keep them."""
    waits = eng.ts.waits
    if not waits or eng.code.blocked is None:
        return None
    blocked, tick = eng.code.blocked, budget.tick
    store = store_of(eng.seen, eng.pk.bits)
    n = len(store)
    # the blocked bits of every stored state, by id: one byte a state up to 8 waits
    code = _typecode(len(waits))
    masks: MutableSequence[int] = array(code, bytes(array(code).itemsize * n)) if code else [0] * n
    hit = array("I")
    for i, s in enumerate(store):  # BFS order: the first deadlocked state found below is the shallowest
        tick()
        m = blocked(s)
        if m:
            masks[i] = m
            hit.append(i)
    # the blocked states that do not escape at once: local index u, state id left[u], successor ids
    # in rows (off, to), the bits not escaped yet in `rest` by id (0 elsewhere)
    rest: MutableSequence[int] = array(code, bytes(array(code).itemsize * n)) if code else [0] * n
    left, off, to = array("I"), array("I", [0]), array("I")
    id_of = store.id_of
    for i in hit:
        tick()
        m = masks[i]
        out = [id_of(t) for _ti, t in eng.successors_with_ids(store.state_of(i))]
        esc = 0
        for j in out:
            esc |= m & ~(masks[j] if j >= 0 else 0)
        if m & ~esc:
            rest[i] = m & ~esc
            left.append(i)
            to.extend(j for j in out if j >= 0)
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
            esc |= r & masks[j] & ~rest[j]
        if esc:
            rest[i] = r & ~esc
            work.append(u)

    for u in range(len(left)):
        tick()
        settle(u)
    while work:
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


def _path_within(start: int, goal: set[int], edges: dict[int, list[tuple[int, int]]], inside: set[int]) -> list[int]:
    """Shortest path of states from start to some state in goal, staying inside `inside`."""
    if start in goal:
        return [start]
    prev: dict[int, int] = {start: start}
    q = deque([start])
    while q:
        v = q.popleft()
        for _ti, w in edges[v]:
            if w in inside and w not in prev:
                prev[w] = v
                if w in goal:
                    path = [w]
                    while path[-1] != start:
                        path.append(prev[path[-1]])
                    return path[::-1]
                q.append(w)
    raise AssertionError("state not reachable inside its own component")


def starvation(eng: Explicit, checks: set[str] | None = None,
               budget: Ticker = NO_LIMIT) -> list[RawViolation]:
    """For each request (of `checks`), the shallowest fair run on which it stays pending for ever.

    The pending states are walked by id (checker/id_graph.py): their edges in flat rows, their
    components found by Tarjan over arrays, a singleton judged from its rows and the fairness
    groups its transitions belong to; a larger component (or a singleton with a self-loop) is
    judged by `fair_components.fair_parts` on its states. Of the components judged unfair-free (a run may stay there
    for ever), the one holding the shallowest state gives the counterexample."""
    ts = eng.ts
    out: list[RawViolation] = []
    fair_of = [t.fair for t in ts.transitions]
    names = sorted({g for f in fair_of for g in f})
    tmask = [sum(1 << names.index(g) for g in set(f)) for f in fair_of]  # any(fair_of[ti]) <=> tmask[ti]
    store = store_of(eng.seen, eng.pk.bits)
    tick = budget.tick
    gcode = _typecode(len(names))
    for k, req in enumerate(ts.requests):  # every request; the caller keeps the shallowest
        if checks is not None and req.check not in checks:
            continue
        pend = eng.code.pending[k]
        ids = array("I")
        for i, s in enumerate(store):
            if not i & 0xFFF:
                tick()
            if pend(s):
                ids.append(i)
        if not ids:
            continue
        loc = local_index(store, ids)
        en: MutableSequence[int] = array(gcode, bytes(array(gcode).itemsize * len(ids))) if gcode else [0] * len(ids)

        def note(v: int, succ: list[tuple[int, int]]) -> None:
            m = 0
            for ti, _w in succ:
                m |= tmask[ti]
            en[v] = m  # noqa: B023 - called at once, inside this request's loop

        delivers = req.delivers
        g = rows(store, ids, loc, eng.successors_with_ids, lambda ti: ti not in delivers, note, budget)  # noqa: B023

        def view(states: list[int]) -> tuple[dict[int, list[tuple[int, int]]], dict[int, list[tuple[int, int]]]]:
            """`edges` and `full` (successors) of `states`, as the judging and the lasso read them."""
            full = {v: eng.successors_with_ids(v) for v in states}
            edges = {v: [(ti, w) for ti, w in succ if ti not in delivers and pending(w)]  # noqa: B023
                     for v, succ in full.items()}
            return edges, full

        def pending(w: int) -> bool:
            j = store.id_of(w)
            return j >= 0 and loc[j] >= 0  # noqa: B023

        best: tuple[int, list[int], bool] | None = None  # (entry's local index, component, terminal)
        for comp in components(len(ids), g, budget):
            tick()
            if len(comp) == 1:
                v = comp[0]
                if not en[v] and not req.recurs:
                    # no CPU can step: the run may stay here for ever (devices are never obliged to act)
                    if best is None or v < best[0]:
                        best = (v, [store.state_of(ids[v])], True)
                    continue
                if not any(w == v for _ti, w in g.of(v)):
                    continue
            if best is not None and min(comp) > best[0]:
                continue  # nothing in it is shallower than the component already found
            states = [store.state_of(ids[v]) for v in comp]
            edges, full = view(states)
            for sub, terminal in fair_parts(states, edges, full, req.recurs, fair_of, ts.groups, ts.strong, budget):
                v = min(loc[store.id_of(x)] for x in sub)
                if best is None or v < best[0]:
                    best = (v, sub, terminal)
        if best is None:
            continue
        v, comp, terminal = best
        entry = store.state_of(ids[v])
        prefix = eng.path_to(entry)
        cycle: list[int] | None = None
        if not terminal:
            edges, full = view(comp)
            cycle = _lasso(entry, comp, edges, full, fair_of, ts.groups, ts.strong, req.recurs)
        out.append(RawViolation(req.check, req.message, prefix, None, cycle, req.line))
    return out


def _lasso(entry: int, comp: list[int], edges: dict[int, list[tuple[int, int]]],
           full: dict[int, list[tuple[int, int]]], fair_of: list[tuple[str, ...]],
           groups: tuple[str, ...], strong: frozenset[str] = frozenset(),
           recurs: frozenset[int] = frozenset()) -> list[int]:
    """A loop from `entry` back to itself inside `comp` that honours every fairness group (and,
    given `recurs`, takes one of those transitions: the request's Büchi condition)."""
    cset = set(comp)
    cycle = [entry]
    cur = entry
    if recurs:
        srcs = {v for v in comp if any(ti in recurs and w in cset for ti, w in edges[v])}
        seg = _path_within(cur, srcs, edges, cset)
        cycle += seg[1:]
        cur = seg[-1]
        nxt = next(w for ti, w in edges[cur] if ti in recurs and w in cset)
        cycle.append(nxt)
        cur = nxt
    for g in groups:
        # weak: visit a state where g is disabled, or take a g step inside the component;
        # strong: take a g step whenever the component has one (it was judged fair)
        off = {v for v in comp if not any(g in fair_of[ti] for ti, _w in full[v])}
        if off and g not in strong:
            seg = _path_within(cur, off, edges, cset)
            cycle += seg[1:]
            cur = seg[-1]
            continue
        srcs = {v for v in comp if any(g in fair_of[ti] and w in cset for ti, w in edges[v])}
        if not srcs:
            continue
        seg = _path_within(cur, srcs, edges, cset)
        cycle += seg[1:]
        cur = seg[-1]
        nxt = next(w for ti, w in edges[cur] if g in fair_of[ti] and w in cset)
        cycle.append(nxt)
        cur = nxt
    if cur != entry or len(cycle) == 1:
        # close the loop (a self-loop state closes at once through its own edge)
        if cur == entry:
            cycle.append(next(w for _ti, w in edges[cur] if w in cset))
            cur = cycle[-1]
        if cur != entry:
            back = _path_within(cur, {entry}, edges, cset)
            cycle += back[1:]
    return _shortest_turn(cycle, edges, fair_of, groups, strong, full, recurs)


SHORTEN_LIMIT = 400  # loops longer than this are reported as built (the search below is quadratic)


def _loop_fair(loop: list[int], edges: dict[int, list[tuple[int, int]]], full: dict[int, list[tuple[int, int]]],
               fair_of: list[tuple[str, ...]], groups: tuple[str, ...], strong: frozenset[str],
               recurs: frozenset[int] = frozenset()) -> bool:
    """Whether repeating the closed walk `loop` (first state = last) for ever is fair: each weakly
    fair group is taken on it or disabled in one of its states; each strongly fair group is taken
    on it or disabled in all of them; and, given `recurs`, one of those transitions is taken."""
    taken: set[str] = set()
    recurred = not recurs
    for v, w in zip(loop, loop[1:], strict=False):
        for ti, x in edges[v]:
            if x == w:
                taken.update(fair_of[ti])
                recurred = recurred or ti in recurs
    if not recurred:
        return False
    for g in groups:
        if g in taken:
            continue
        enabled = [any(g in fair_of[ti] for ti, _w in full[v]) for v in loop[:-1]]
        if all(enabled) if g not in strong else any(enabled):
            return False
    return True


def _shortest_turn(cycle: list[int], edges: dict[int, list[tuple[int, int]]],
                   fair_of: list[tuple[str, ...]], groups: tuple[str, ...], strong: frozenset[str],
                   full: dict[int, list[tuple[int, int]]] | None = None,
                   recurs: frozenset[int] = frozenset()) -> list[int]:
    """One turn of the loop: the walk `_lasso` built may go round more than once (meeting one group
    after another); cut out every stretch between two visits of the same state as long as what is
    left is still a fair loop from the same entry, so the loop printed repeats once."""
    if full is None or len(cycle) > SHORTEN_LIMIT:
        return cycle
    changed = True
    while changed:
        changed = False
        for i in range(len(cycle) - 1):
            for j in range(len(cycle) - 1, i, -1):
                if cycle[j] != cycle[i] or (i == 0 and j == len(cycle) - 1):
                    continue
                cut = cycle[:i] + cycle[j:]
                if len(cut) > 1 and _loop_fair(cut, edges, full, fair_of, groups, strong, recurs):
                    cycle, changed = cut, True
                    break
            if changed:
                break
    return cycle
