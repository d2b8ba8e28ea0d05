"""The reference step function: interprets a TransitionSystem directly.

It is slow and obviously right. Every trace from every engine is replayed
through `replay()` before it is shown, so a bug in generated code or in an
SMT encoding shows up as an internal error instead of a wrong counterexample.
"""

from __future__ import annotations

import weakref

from ircheck.spec.expr import conjuncts, eq_var_const
from ircheck.spec.ts import TransitionSystem, evaluate

State = tuple[int, ...]


class ReplayError(Exception):
    """An engine produced a trace that the reference semantics does not allow."""


def enabled(ts: TransitionSystem, s: State) -> list[int]:
    return [i for i in _candidates(ts, s) if evaluate(ts.transitions[i].guard, s)]


class _Index:
    """The transitions whose guard could hold in s, by the variable most guards pin to a constant
    (`pc == 7 and ...`): a trace of n steps through a model of n locations (a chain of 500 calls)
    replays in linear time instead of evaluating every guard at every step. Only transitions
    whose guard has the conjunct `v == k` with s[v] != k are skipped: their guard is false."""

    def __init__(self, ts: TransitionSystem) -> None:
        self.guards = [t.guard for t in ts.transitions]  # (a system is not changed once checked; tests append)
        pins: list[dict[int, int]] = []
        buckets: dict[int, dict[int, int]] = {}  # variable -> value -> how many guards pin it there
        for g in self.guards:
            pin: dict[int, int] = {}
            for c in conjuncts(g):
                xk = eq_var_const(c)
                if xk is not None and xk[0] not in pin:
                    pin[xk[0]] = xk[1]
            pins.append(pin)
            for v, k in pin.items():
                buckets.setdefault(v, {})
                buckets[v][k] = buckets[v].get(k, 0) + 1

        def cost(v: int) -> float:  # the expected number of candidates, values taken alike
            pinned = buckets[v].values()
            return len(pins) - sum(pinned) + sum(n * n for n in pinned) / max(1, sum(pinned))

        self.var = min(sorted(buckets), key=cost) if buckets else -1
        self.by_value: dict[int, list[int]] = {}
        self.free: list[int] = []
        for i, pin in enumerate(pins):
            if self.var in pin:
                self.by_value.setdefault(pin[self.var], []).append(i)
            else:
                self.free.append(i)

    def candidates(self, s: State) -> list[int]:
        if self.var < 0:
            return self.free
        return sorted(self.by_value.get(s[self.var], []) + self.free)


_INDEX: dict[int, tuple[weakref.ref[TransitionSystem], _Index]] = {}


def _candidates(ts: TransitionSystem, s: State) -> list[int]:
    """Transition indices in order, a superset of those enabled in s (see `_Index`)."""
    got = _INDEX.get(id(ts))
    if got is None or len(got[1].guards) != len(ts.transitions) or got[0]() is not ts:
        for k in [k for k, (ref, _ix) in _INDEX.items() if ref() is None]:
            del _INDEX[k]
        got = _INDEX[id(ts)] = (weakref.ref(ts), _Index(ts))
    return got[1].candidates(s)


def fire(ts: TransitionSystem, s: State, ti: int) -> State:
    t = ts.transitions[ti]
    new = list(s)
    for vi, e in t.updates:
        val = evaluate(e, s)
        var = ts.vars[vi]
        if not 0 <= val < var.size:
            raise ReplayError(f"step '{t.label.action}' puts {var.name}={val} outside 0..{var.size - 1}")
        new[vi] = val
    return tuple(new)


def successors(ts: TransitionSystem, s: State) -> list[tuple[int, State]]:
    return [(i, fire(ts, s, i)) for i in enabled(ts, s)]


def find_step(ts: TransitionSystem, s: State, t: State) -> int:
    """The first transition (by index) that leads from s to t."""
    for i in enabled(ts, s):
        if fire(ts, s, i) == t:
            return i
    raise ReplayError("no transition leads between two consecutive states of the trace")


def replay(ts: TransitionSystem, steps: list[int], start: State | None = None) -> list[State]:
    """States visited by firing `steps` from the initial state; checks each is enabled."""
    s = ts.init() if start is None else start
    out = [s]
    for ti in steps:
        if not evaluate(ts.transitions[ti].guard, s):
            raise ReplayError(f"step '{ts.transitions[ti].label.action}' is not enabled where the trace takes it")
        s = fire(ts, s, ti)
        out.append(s)
    return out
