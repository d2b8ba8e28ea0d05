"""A plain reference search for rule tests: every reachable state as a dict of variable values."""

from __future__ import annotations

from collections import deque

from ircheck.api import compile_source
from ircheck.spec.step import successors
from ircheck.spec.ts import TransitionSystem


def reachable(text: str) -> tuple[TransitionSystem, list[dict[str, int]]]:
    ts = compile_source(text)
    init = ts.init()
    seen = {init}
    q = deque([init])
    while q:
        s = q.popleft()
        for _ti, t in successors(ts, s):
            if t not in seen:
                seen.add(t)
                q.append(t)
    names = [v.name for v in ts.vars]
    return ts, [dict(zip(names, s, strict=True)) for s in seen]


def bit(value: int, n: int) -> int:
    return value >> n & 1
