"""`--engine auto`: the explicit engine as far as the machine's memory allows, then the Z3 engine.

Why explicit first: it gives the complete answer (liveness, deadlock, lockdep facts) and exact state
counts, and a search that fits in memory decides every check, so there is nothing Z3 could decide
that explicit cannot: Z3 is never tried first. How far explicit may go is a number of stored states,
the *memory budget* (`memory_budget`): the memory left under the ceiling (`--max-memory`, default
80% of the machine, checker/sysinfo.py) when the run starts, `EXPLICIT_SHARE` of it, divided by the
bytes a stored state costs (`state_bytes`: measured by bench/bytes_per_state.py on the bench
families, the search and the graph analyses after it included). The product of the variable domains
is a cheap upper bound on the states; when it is within the budget, explicit runs with the user's
limits and nothing else. Otherwise explicit runs with the budget as its own --max-states: when it
finishes (or stops on a limit the user set: time, the memory ceiling, --max-states, Ctrl-C), its
answer stands; when it stops on the budget, the state space is beyond what fits: the violations BFS
has found stand (their traces are shortest already), and BMC + k-induction decide the other checks
with the time and memory that are left - only when at least `Z3_MIN_MB` is left under the ceiling
(Z3 on gen_kernel 2 2 2 grows to about 300 MB within 20 s); with less, Z3 cannot decide what
explicit could not, and those checks are inconclusive, naming the memory limit. `Stats.auto` says
why the Z3 engine decided (or could not), and which checks explicit had decided.

z3 is imported only on that fallback: a plain explicit run never loads it.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable

from ircheck.codegen import Packing
from ircheck.collapse import PACKED_MAX
from ircheck.explicit_run import run_explicit
from ircheck.limits import Reason, Stop
from ircheck.reduce_plan import DEFAULT
from ircheck.result import INCONCLUSIVE, VIOLATED, CheckResult, Stats
from ircheck.spec.ts import TransitionSystem
from ircheck.sysinfo import current_rss_mb, default_memory_limit_mb, peak_rss_mb

# Bytes per stored state of the default store (checker/state_store.py: a parent id, a hash, the table's
# slots, and the state itself - packed in ceil(bits/8) bytes, or for states wider than
# `collapse.PACKED_MAX` bytes past 65,536 states collapsed into its components' indices,
# checker/collapse.py), the analyses after the search included: bench/bytes_per_state.py measured
# them on the bench families of >= 400,000 states (see bench/README.md). STATE_BYTES is the largest
# measured cost besides the state's own bytes; those are ceil(bits/8) up to PACKED_MAX, and
# COLLAPSED_BYTES past it: wider states are kept collapsed (5-8 bytes of indices on the bench
# families), and COLLAPSED_BYTES leaves room for the component tables and for designs with more
# values per component. A wide state that does not collapse costs more: the memory ceiling
# (`--max-memory`) still stops that search, never with a wrong verdict. The search's edge log
# (checker/edge_log.py) is not counted here: it is a cache of at most `edge_log.SHARE` (15%) of the
# memory left, inside the quarter the budget leaves, and dropped past it.
STATE_BYTES = 40
COLLAPSED_BYTES = 12
EXPLICIT_SHARE = 0.75  # of the memory left at the start: explicit's; the rest is Z3's (and slack)
Z3_MIN_MB = 256.0      # Z3 is tried after explicit only with this much left under the ceiling
MIN_BUDGET = 10_000    # below this many states the budget is not worth a hand-over


def domain_bound(ts: TransitionSystem) -> int:
    """States the variable domains allow: an upper bound on the reachable ones."""
    return math.prod(v.size for v in ts.vars)


def state_bytes(bits: int) -> int:
    """The memory one stored state of `bits` bits costs the default store (see STATE_BYTES)."""
    width = max(1, -(-bits // 8))
    return STATE_BYTES + (width if width <= PACKED_MAX else COLLAPSED_BYTES)


def memory_budget(bits: int, ceiling_mb: float, rss_mb: float) -> int:
    """How many states explicit may store: EXPLICIT_SHARE of the memory left under the ceiling
    (`ceiling_mb - rss_mb`) over `state_bytes(bits)`, rounded down to two significant digits (a few
    MB of start-up jitter leave the hand-over point where it was), at least MIN_BUDGET."""
    n = int(max(0.0, ceiling_mb - rss_mb) * EXPLICIT_SHARE * 1048576 / state_bytes(bits))
    unit: int = 10 ** max(0, len(str(n)) - 2)
    return max(MIN_BUDGET, n // unit * unit)


def run_auto(ts: TransitionSystem, max_states: int | None, timeout: float | None, max_memory_mb: float | None,
             progress: Callable[[int, int, float], None] | None = None,
             budget: int | None = None, reduction: str | None = None,
             deadline: float | None = None) -> tuple[list[CheckResult], Stats]:
    """Every enabled check of `ts` (the arguments as `api.run_engine`'s); `budget`: explicit's
    states before the hand-over, None for the memory budget (a test's fixed number otherwise)."""
    reduction = reduction or DEFAULT
    ceiling = max_memory_mb or default_memory_limit_mb()
    why = "fixed by the caller"
    if budget is None:
        bits = Packing.of(ts).bits
        rss = current_rss_mb()
        budget = memory_budget(bits, ceiling, rss)
        why = (f"the memory limit {ceiling:.0f} MB: {EXPLICIT_SHARE:.0%} of the {max(0.0, ceiling - rss):.0f} MB "
               f"left at the start, at {state_bytes(bits)} bytes per {bits}-bit state")

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
    stopped = (f"the explicit search stopped at its auto budget of {budget:,} states ({why})"
               + (f", having found {', '.join(found)} violated" if found else ""))
    left_mb = ceiling - peak_rss_mb()
    if left_mb < Z3_MIN_MB:  # Z3 cannot decide in what is left: the memory limit stops the run
        limit = str(Stop(Reason.MEMORY, ceiling))
        for c in out:  # the wording of a search the memory ceiling stopped (checker/pipeline.py)
            if c.status == INCONCLUSIVE:
                c.note = f"search stopped ({limit}) after {stats.states} states"
        stats.stopped_by = limit
        stats.auto = (f"explicit only: {stopped}, and the {max(0.0, left_mb):.0f} MB left is too little for "
                      f"the Z3 engine (it needs {Z3_MIN_MB:.0f} MB)")
        return out, stats
    end = deadline if deadline is not None else (None if timeout is None else t0 + timeout)
    left = None if end is None else max(0.1, end - time.perf_counter())
    from ircheck.smt import run_smt  # z3 is loaded only on this fallback (start-up time and memory)
    smt_out, smt_stats = run_smt(dataclasses.replace(ts, checks=rest), left, ceiling, progress=progress,
                                 timeout_shown=timeout)
    by_name = {c.name: c for c in smt_out} | found
    smt_stats.auto = (f"smt decided{' ' + ', '.join(rest) if found else ''}: the domains allow {_big(bound)} "
                      f"states and {stopped}")
    smt_stats.states, smt_stats.transitions = stats.states, stats.transitions
    smt_stats.seconds += stats.seconds
    smt_stats.peak_mb = max(smt_stats.peak_mb, stats.peak_mb)
    return [by_name[c] for c in ts.checks], smt_stats


def _big(n: int) -> str:
    return f"{n:,}" if n < 10**9 else f"2^{math.log2(n):.0f}"
