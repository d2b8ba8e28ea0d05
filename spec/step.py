"""The reference step function: interprets a TransitionSystem directly.

It is slow and obviously right. Every trace from every engine is replayed
through `replay()` before it is shown, so a bug in generated code or in an
SMT encoding shows up as an internal error instead of a wrong counterexample.
"""

from __future__ import annotations

from ircheck.spec.ts import TransitionSystem, evaluate

State = tuple[int, ...]


class ReplayError(Exception):
    """An engine produced a trace that the reference semantics does not allow."""


def enabled(ts: TransitionSystem, s: State) -> list[int]:
    return [i for i, t in enumerate(ts.transitions) if evaluate(t.guard, s)]


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
