"""The lasso of a liveness counterexample: a loop inside a fair component of a request's pending
graph (checker/liveness.py) from an entry state back to itself that honours every fairness group,
cut to one turn.
"""

from __future__ import annotations

from collections import deque


def path_within(start: int, goal: set[int], edges: dict[int, list[tuple[int, int]]], inside: set[int]) -> list[int]:
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


def lasso(entry: int, comp: list[int], edges: dict[int, list[tuple[int, int]]],
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
        seg = path_within(cur, srcs, edges, cset)
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
            seg = path_within(cur, off, edges, cset)
            cycle += seg[1:]
            cur = seg[-1]
            continue
        srcs = {v for v in comp if any(g in fair_of[ti] and w in cset for ti, w in edges[v])}
        if not srcs:
            continue
        seg = path_within(cur, srcs, edges, cset)
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
            back = path_within(cur, {entry}, edges, cset)
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
