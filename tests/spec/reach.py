"""A plain reference search for rule tests: every reachable state as a dict of variable values."""

from __future__ import annotations

from collections import deque

from ircheck.api import compile_source
from ircheck.spec.step import successors
from ircheck.spec.ts import TransitionSystem


def distances(ts: TransitionSystem) -> dict[tuple[int, ...], int]:
    """Every reachable state with its BFS distance from the initial state (reference step only)."""
    init = ts.init()
    dist = {init: 0}
    q = deque([init])
    while q:
        s = q.popleft()
        for _ti, t in successors(ts, s):
            if t not in dist:
                dist[t] = dist[s] + 1
                q.append(t)
    return dist


def reachable(text: str) -> tuple[TransitionSystem, list[dict[str, int]]]:
    """The model's reachable states, each as {variable name: value}."""
    ts = compile_source(text)
    names = [v.name for v in ts.vars]
    return ts, [dict(zip(names, s, strict=True)) for s in distances(ts)]


def bit(value: int, n: int) -> int:
    return value >> n & 1
