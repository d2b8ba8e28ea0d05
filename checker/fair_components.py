"""The fairness judgement of one strongly connected component of a liveness graph (checker/liveness.py):
which parts of it a fair run can stay in for ever, and Tarjan's algorithm over dict-held edges for
the parts a strongly fair group splits off. Components are lists of packed states; `edges[v]` are
v's (transition, successor) pairs inside the graph, `full[v]` all of v's successors.
"""

from __future__ import annotations

from ircheck.limits import NO_LIMIT, Ticker


def tarjan(nodes: list[int], edges: dict[int, list[tuple[int, int]]],
            budget: Ticker = NO_LIMIT) -> list[list[int]]:
    """Iterative Tarjan SCC over `nodes`; edges[v] = [(transition, w)] restricted to nodes."""
    index: dict[int, int] = {}
    low: dict[int, int] = {}
    on: set[int] = set()
    stack: list[int] = []
    out: list[list[int]] = []
    counter = 0
    for root in nodes:
        if root in index:
            continue
        budget.tick()
        work = [(root, 0)]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on.add(root)
        while work:
            v, i = work[-1]
            es = edges[v]
            if i < len(es):
                work[-1] = (v, i + 1)
                w = es[i][1]
                if w not in index:
                    budget.tick()
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on.add(w)
                    work.append((w, 0))
                elif w in on:
                    low[v] = min(low[v], index[w])
            else:
                work.pop()
                if work:
                    u = work[-1][0]
                    low[u] = min(low[u], low[v])
                if low[v] == index[v]:
                    comp = []
                    while True:
                        w = stack.pop()
                        on.discard(w)
                        comp.append(w)
                        if w == v:
                            break
                    out.append(comp)
    return out


def fair_parts(comp: list[int], edges: dict[int, list[tuple[int, int]]], full: dict[int, list[tuple[int, int]]],
           recurs: frozenset[int], fair_of: list[tuple[str, ...]], groups: tuple[str, ...],
           strong: frozenset[str], budget: Ticker = NO_LIMIT) -> list[tuple[list[int], bool]]:
    """The parts of component `comp` a fair run can stay in for ever: (states, is_terminal). A
    singleton without fair moves is terminal; a component is fair when every group enabled in all
    its states moves inside it; a strongly fair group enabled in some of its states splits it
    into the components of the states where the group is disabled, judged in turn."""
    bad: list[tuple[list[int], bool]] = []
    work = [comp]
    while work:
        budget.tick()
        comp = work.pop()
        cset = set(comp)
        if len(comp) == 1:
            v = comp[0]
            if not any(fair_of[ti] for ti, _w in full[v]) and not recurs:
                bad.append((comp, True))
                continue
            if not any(w == v for _ti, w in edges[v]):
                continue
        inner = [(ti, w) for v in comp for ti, w in edges[v] if w in cset]
        if recurs and not any(ti in recurs for ti, _w in inner):
            continue  # the run the Büchi condition asks for cannot stay here
        moved = {g for ti, _w in inner for g in fair_of[ti]}
        fair = True
        for g in groups:
            if g in moved:
                continue
            enabled_at = [any(g in fair_of[ti] for ti, _w in full[v]) for v in comp]
            if all(enabled_at):
                fair = False  # enabled throughout, never taken: no fair run stays here
                break
            if g in strong and any(enabled_at):
                # strong fairness: a fair run may still stay among the states where g is disabled
                rest = [v for v, en in zip(comp, enabled_at, strict=True) if not en]
                keep = set(rest)
                sub = {v: [(ti, w) for ti, w in edges[v] if w in keep] for v in rest}
                work.extend(tarjan(rest, sub, budget))
                fair = False
                break
        if fair:
            bad.append((comp, False))
    return bad
