"""The Ray engines as checker/explicit_run.py uses them (imported only when Ray is asked for).

- `ray_engine`: the partitioned BFS (checker/ray_bfs.py) with `--workers` partitions, or with as many
  partitions as the cluster has CPUs when `--workers` is left at 1 on a `--cluster`.
- `run_swarm_checks`: `--swarm N` (checker/ray_swarm.py) turned into verdicts: the violations found
  are real (replayed like every trace), every other check is inconclusive.
"""

from __future__ import annotations

from collections.abc import Callable

from ircheck.cluster import Cluster
from ircheck.limits import Limits
from ircheck.pipeline import verdicts
from ircheck.ray_bfs import RayExplicit, connect
from ircheck.ray_swarm import run_swarm
from ircheck.result import CheckResult, Stats
from ircheck.spec.ts import TransitionSystem


def ray_engine(ts: TransitionSystem, limits: Limits, progress: Callable[[int, int, float], None] | None,
               workers: int, cluster: Cluster) -> RayExplicit:
    cpus = connect(cluster, workers)
    return RayExplicit(ts, limits, progress, partitions=workers if workers > 1 else cpus, cluster=cluster)


def run_swarm_checks(ts: TransitionSystem, limits: Limits, workers: int,
                     cluster: Cluster) -> tuple[list[CheckResult], Stats]:
    res, pk = run_swarm(ts, cluster, workers, limits)
    out = verdicts(ts, pk.unpack, res)
    stats = Stats("swarm", res.states, res.transitions, res.depth, res.seconds, res.peak_mb, False,
                  res.stopped_by, reduction_note="reductions off: --swarm searches the full graph")
    return out, stats
