"""The naive reference search: a plain BFS over the reference step function `ircheck.spec.step`
(the slow interpreter, not the generated engine), and what the checks are about, judged state by
state as the rules are written. The one copy: the differential tests (engine, x86, kernel, SPIN,
reductions) and the rule tests (tests/spec) all read it.

- `Naive(ts)`: every reachable state with its BFS distance (`dist`) and its successors (`succ`);
  `shortest_safety` (state properties and violating transitions), `bound_hit` (the lowering's
  nesting bound), `facts` (lockdep facts and their shallowest depth), `deadlock` (quiet states that
  can never escape), `blocked_forever` (`ts.waits`), `reach_from`.
- `distances(ts)` / `reachable(text)`: the reachable states alone, for the rule tests.
- `agree(text)`: the explicit engine against `Naive` on one bare-metal or x86 model (state count,
  safety verdicts with shortest traces, the deadlock verdict, each check alone).
- `small_enough(text, cap)`: leaves out the rare generated model too large for the naive search.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable

import ircheck
from ircheck.api import compile_source
from ircheck.spec.step import successors
from ircheck.spec.ts import TransitionSystem, evaluate

State = tuple[int, ...]

LIVENESS = ("no_starvation", "no_deadlock", "no_irq_storm")


class Naive:
    """Plain BFS over the reference step function, with the facts the checks are about."""

    def __init__(self, ts: TransitionSystem) -> None:
        self.ts = ts
        init = ts.init()
        self.dist: dict[State, int] = {init: 0}
        self.succ: dict[State, list[tuple[int, State]]] = {}
        queue = deque([init])
        while queue:
            s = queue.popleft()
            out = successors(ts, s)
            self.succ[s] = out
            for _ti, t in out:
                if t not in self.dist:
                    self.dist[t] = self.dist[s] + 1
                    queue.append(t)

    def shortest_safety(self) -> dict[str, int]:
        """check -> length of the shortest run that breaks it (only the checks that can be broken)."""
        ts = self.ts
        best: dict[str, int] = {}

        def note(check: str, n: int) -> None:
            if check not in best or n < best[check]:
                best[check] = n

        for s, d in self.dist.items():
            for p in ts.state_props:
                if not evaluate(p.ok, s):
                    note(p.check, d)
            for ti, _t in self.succ[s]:
                for check, _msg in ts.transitions[ti].violates:
                    if check != ts.bound_check:
                        note(check, d + 1)
        return best

    def bound_hit(self) -> bool:
        """Some reachable state enables a step that runs into the lowering's nesting bound."""
        ts = self.ts
        return any(any(c == ts.bound_check for c, _m in ts.transitions[ti].violates)
                   for out in self.succ.values() for ti, _t in out)

    def facts(self) -> dict[str, int]:
        """lockdep: fact key -> length of the shortest run that makes it true (a step tagged
        `(ts.fact_check, key)` enabled in a reachable state)."""
        ts = self.ts
        facts: dict[str, int] = {}
        for s, d in self.dist.items():
            for ti, _t in self.succ[s]:
                for check, key in ts.transitions[ti].violates:
                    if check == ts.fact_check and (key not in facts or d + 1 < facts[key]):
                        facts[key] = d + 1
        return facts

    def deadlock(self) -> int | None:
        """Length of the shortest run to a state where no CPU can ever move again with work unfinished."""
        ts = self.ts

        def quiet(s: State) -> bool:
            return (not any(ts.transitions[ti].group is not None for ti, _t in self.succ[s])
                    and bool(evaluate(ts.unfinished, s)))

        q = {s for s in self.dist if quiet(s)}
        escapes = {s for s in q if any(t not in q for _ti, t in self.succ[s])}
        changed = True
        while changed:
            changed = False
            for s in q - escapes:
                if any(t in escapes for _ti, t in self.succ[s]):
                    escapes.add(s)
                    changed = True
        stuck = [self.dist[s] for s in q - escapes]
        return min(stuck) if stuck else None

    def blocked_forever(self) -> int | None:
        """Length of the shortest run to a state where some `ts.waits` entry is blocked and stays
        blocked in every state reachable from there (the rule as written, state by state)."""
        ts = self.ts
        best: int | None = None
        for w in ts.waits:
            for s, d in self.dist.items():
                if (best is not None and d >= best) or not evaluate(w.blocked, s):
                    continue
                seen, todo, ok = {s}, [s], True
                while todo and ok:
                    for _ti, t in self.succ[todo.pop()]:
                        if t not in seen:
                            if not evaluate(w.blocked, t):
                                ok = False
                                break
                            seen.add(t)
                            todo.append(t)
                if ok:
                    best = d
        return best

    def reach_from(self, starts: Iterable[State]) -> set[State]:
        """Every state reachable from `starts` (included)."""
        seen = set(starts)
        todo = list(seen)
        while todo:
            for _ti, t in self.succ[todo.pop()]:
                if t not in seen:
                    seen.add(t)
                    todo.append(t)
        return seen


def distances(ts: TransitionSystem) -> dict[State, int]:
    """Every reachable state with its BFS distance from the initial state (reference step only)."""
    return Naive(ts).dist


def reachable(text: str) -> tuple[TransitionSystem, list[dict[str, int]]]:
    """The model's reachable states, each as {variable name: value}."""
    ts = compile_source(text)
    names = [v.name for v in ts.vars]
    return ts, [dict(zip(names, s, strict=True)) for s in distances(ts)]


def bit(value: int, n: int) -> int:
    return value >> n & 1


def small_enough(text: str, cap: int) -> bool:
    """The naive BFS is slow: leave out the rare model whose state space is larger than `cap`."""
    sizing = ircheck.check_source(text, checks=["no_deadlock"], max_states=cap)
    assert not sizing.errors, (text, [d.render() for d in sizing.errors])
    return sizing.stats.complete


def agree(text: str) -> None:
    """The explicit engine agrees with `Naive` on a bare-metal or x86 model:

    (a) the engine's state count (unreduced; a reduced run's is at most that) equals the number of
        states the naive BFS reaches;
    (b) each safety verdict matches the naive one, and each counterexample is a shortest one: as
        long as the BFS distance to the nearest state that breaks a state property, or to the
        nearest state where a violating transition is enabled, plus one; the deadlock verdict and
        its trace length match too;
    (c) every check gives the same verdict (and the same trace length) when it is run alone as
        when all checks run together.
    """
    report = ircheck.check_source(text)
    assert not report.errors, (text, [d.render() for d in report.errors])
    ts = compile_source(text)
    naive = Naive(ts)
    status = {c.name: c.status for c in report.checks}
    assert list(status) == ts.checks
    # a model whose nesting reaches the lowering's frame bound is explored in full, but what
    # it does not violate is inconclusive
    bound = naive.bound_hit()
    assert report.stats.complete == (not bound), (text, report.stats.stopped_by)
    unbroken = "inconclusive" if bound else "holds"

    # (a) same state space (a reduced run stores at most as many: compare the unreduced one's)
    assert report.stats.states <= len(naive.dist), text
    full = report if not report.stats.reductions else ircheck.check_source(text, reduction="none")
    assert full.stats.states == len(naive.dist), text

    # (b) safety verdicts and shortest counterexamples
    shortest = naive.shortest_safety()
    for name, verdict in status.items():
        if name in LIVENESS:
            continue
        if name in shortest:
            assert verdict == "violated", (text, name, shortest[name])
            assert len(report.check(name).trace) == shortest[name], (text, name)
        else:
            assert verdict == unbroken, (text, name)
    if "no_deadlock" in status:
        dl = naive.deadlock()
        if bound:
            assert status["no_deadlock"] == "inconclusive", text
        else:
            assert status["no_deadlock"] == ("holds" if dl is None else "violated"), text
            if dl is not None:
                assert len(report.check("no_deadlock").trace) == dl, text
    if bound and "no_starvation" in status:
        assert status["no_starvation"] == "inconclusive", text

    # (c) one check at a time gives the same verdicts
    for name in status:
        if name == "counter_range":  # not a selectable check: it rides along whenever counters are used
            continue
        alone = ircheck.check_source(text, checks=[name])
        assert not alone.errors, (text, name)
        got = {c.name: c for c in alone.checks}
        assert got[name].status == status[name], (text, name, got[name].status, status[name])
        if name not in LIVENESS and status[name] == "violated":
            assert len(got[name].trace) == len(report.check(name).trace), (text, name)
        if "counter_range" in got:
            assert got["counter_range"].status == status["counter_range"], (text, name)
