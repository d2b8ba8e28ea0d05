"""`--engine auto`: the explicit engine when the state space fits, else the Z3 engine.

Why explicit first: it gives the complete answer (liveness, deadlock, lockdep
facts) and exact state counts, and every bundled model finishes in it in
milliseconds. The product of the variable domains is a cheap upper bound on
the states; when it is within `AUTO_EXPLICIT_STATES`, explicit runs with the
user's limits and nothing else. Otherwise explicit runs with that many states
as its own budget: when it finishes (or stops on a limit the user set: time,
memory, --max-states, Ctrl-C), its answer stands; when it stops on the auto
budget, the state space is beyond what BFS should store: the violations BFS has
found stand (their traces are shortest already), and BMC + k-induction decide
the other checks with the time that is left. `Stats.auto` says why the Z3
engine decided, and which checks explicit had decided.

z3 is imported only on that fallback: a plain explicit run never loads it.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable

from ircheck.explicit_run import run_explicit
from ircheck.reduce import DEFAULT
from ircheck.result import VIOLATED, CheckResult, Stats
from ircheck.spec.ts import TransitionSystem

AUTO_EXPLICIT_STATES = 5_000_000  # nested_pic(6, 2) (2.6 M states) stays explicit


def domain_bound(ts: TransitionSystem) -> int:
    """States the variable domains allow: an upper bound on the reachable ones."""
    return math.prod(v.size for v in ts.vars)


def run_auto(ts: TransitionSystem, max_states: int | None, timeout: float | None, max_memory_mb: float | None,
             progress: Callable[[int, int, float], None] | None = None,
             budget: int = AUTO_EXPLICIT_STATES, reduction: str | None = None,
             deadline: float | None = None) -> tuple[list[CheckResult], Stats]:
    reduction = reduction or DEFAULT

    bound = domain_bound(ts)
    if max_states is not None or bound <= budget:
        return run_explicit(ts, max_states, timeout, max_memory_mb, progress, reduction=reduction,
                            deadline=deadline)
    t0 = time.perf_counter()
    out, stats = run_explicit(ts, budget, timeout, max_memory_mb, progress, reduction=reduction,
                              deadline=deadline)
    if stats.complete or stats.stopped_by != f"--max-states {budget}":
        return out, stats
    # what BFS found before its budget ran out stands (a shortest trace, replayed): Z3 decides the rest
    found = {c.name: c for c in out if c.status == VIOLATED}
    rest = [c for c in ts.checks if c not in found]
    if not rest:
        return out, stats
    end = deadline if deadline is not None else (None if timeout is None else t0 + timeout)
    left = None if end is None else max(0.1, end - time.perf_counter())
    from ircheck.smt import run_smt  # z3 is loaded only on this fallback (start-up time and memory)
    smt_out, smt_stats = run_smt(dataclasses.replace(ts, checks=rest), left, max_memory_mb, progress=progress,
                                 timeout_shown=timeout)
    by_name = {c.name: c for c in smt_out} | found
    smt_stats.auto = (f"smt decided{' ' + ', '.join(rest) if found else ''}: the domains allow {_big(bound)} "
                      f"states and the explicit search stopped at its auto budget of {budget:,} states"
                      + (f", having found {', '.join(found)} violated" if found else ""))
    smt_stats.states, smt_stats.transitions = stats.states, stats.transitions
    smt_stats.seconds += stats.seconds
    smt_stats.peak_mb = max(smt_stats.peak_mb, stats.peak_mb)
    return [by_name[c] for c in ts.checks], smt_stats


def _big(n: int) -> str:
    return f"{n:,}" if n < 10**9 else f"2^{math.log2(n):.0f}"
