"""The explicit-state engines end to end: the engine that fits the store and the reductions asked
for (or Ray: `--workers N`, `--cluster`, `--swarm`), its raw result turned into verdicts by checker/pipeline.py, the run's `Stats`,
and (with the dict store) what the model says can happen but never did (checker/coverage.py).

Which engine: a reduced search (checker/reduce.py) when `reduce.plan` finds a reduction sound for
the enabled checks (verdicts from the reduced graph, counterexamples re-found unreduced); else the
compact or hash store (checker/compact.py), Ray actors (checker/ray_bfs.py: `--workers N` or
`--cluster`) or a Ray swarm (checker/ray_swarm.py), or the plain BFS (checker/explicit.py).
"""

from __future__ import annotations

from collections.abc import Callable

from ircheck.cluster import Cluster
from ircheck.compact import CompactExplicit
from ircheck.coverage import after_search
from ircheck.explicit import Explicit
from ircheck.limits import Limits
from ircheck.outcome import SearchResult
from ircheck.pipeline import verdicts
from ircheck.reduce import search_reduced
from ircheck.reduce_plan import DEFAULT as DEFAULT_REDUCTION
from ircheck.reduce_plan import parse_reduction, plan
from ircheck.result import HOLDS, CheckResult, Stats
from ircheck.spec.ts import TransitionSystem
from ircheck.sysinfo import default_memory_limit_mb


def run_explicit(ts: TransitionSystem, max_states: int | None = None, timeout: float | None = None,
                 max_memory_mb: float | None = None, progress: Callable[[int, int, float], None] | None = None,
                 workers: int = 1, store: str = "dict", reduction: str = DEFAULT_REDUCTION,
                 deadline: float | None = None, max_traces: int = 1,
                 cluster: Cluster | None = None) -> tuple[list[CheckResult], Stats]:
    """Every enabled check of `ts` by an explicit-state search (the arguments as `api.run_engine`'s)."""
    limits = Limits(max_states, timeout, max_memory_mb or default_memory_limit_mb(), deadline, max_traces)
    eng: Explicit
    res: SearchResult
    if cluster is not None and cluster.swarm:
        from ircheck.ray_run import run_swarm_checks  # Ray is imported only when asked for
        return run_swarm_checks(ts, limits, workers, cluster)
    the_plan = plan(ts, parse_reduction(reduction), workers if cluster is None else 2, store)
    refind = 0
    if the_plan.applied:  # verdicts from the reduced graph, counterexamples re-found unreduced
        outcome = search_reduced(ts, the_plan, limits, progress)
        eng, refind, res = outcome.engine, outcome.refind_states, outcome.result
    elif store != "dict":
        if cluster is not None:
            raise ValueError("a compact store runs in one process: leave out workers and cluster")
        eng = CompactExplicit(ts, limits, progress, store=store)
    elif cluster is not None:
        from ircheck.ray_run import ray_engine  # Ray is imported only when asked for
        eng = ray_engine(ts, limits, progress, workers, cluster)
    else:
        eng = Explicit(ts, limits, progress)
    if not the_plan.applied:
        res = eng.run()
    out = verdicts(ts, eng.pk.unpack, res)
    stats = Stats(getattr(eng, "label", "explicit"), res.states, res.transitions, res.depth, res.seconds,
                  res.peak_mb, res.complete and not res.bound_hit and not res.analysis_stopped,
                  res.stopped_by or res.analysis_stopped or ("nesting bound" if res.bound_hit else ""),
                  reductions=the_plan.applied, reduction_note=the_plan.note, refind_states=refind)
    if store == "dict" and not res.bound_hit and not res.analysis_stopped:  # what can never happen
        # Ray keeps the states in its actors unless a graph analysis brought them back: what the
        # driver's `seen` lacks is confirmed by an unreduced search, as for a reduced one (same warnings)
        partial = bool(the_plan.applied) or len(eng.seen) < res.states
        # symmetry stores one state per orbit: the items are tested by their images; with symmetry
        # alone that is exact, with POR beside it what they miss is confirmed unreduced
        orbits = "symmetry" in the_plan.applied and the_plan.quotient is not None and the_plan.quotient.whole \
            and not refind
        images = [e.trans for e in the_plan.quotient.elements] if orbits and the_plan.quotient else []
        exact = orbits and the_plan.applied == ("symmetry",)
        stats.coverage = after_search(ts, eng, res.complete and res.stopped_by == "", partial and not exact,
                                      all(c.status == HOLDS for c in out), images)
    return out, stats
