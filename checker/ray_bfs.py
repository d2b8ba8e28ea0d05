"""The explicit BFS on Ray: one actor per partition, one batched exchange per level.

`RayExplicit.run()` keeps `Explicit.run()`'s contract (checker/outcome.py): the same verdicts, the
same state and transition counts and BFS depth, and shortest counterexamples (their lengths are the
one-process engine's; the states on them may differ, as any shortest path may be chosen).

- Partitions: state t lives in actor `owner(t, n)` (checker/ray_partition.py), hash-partitioned
  over all its bits; each actor keeps its states' parent links, so memory grows with the actors.
- Levels: the driver (this process) asks every actor to expand its frontier; the successors owned
  elsewhere travel as one pickled bucket per pair of actors through Ray's object store (the only
  exchange of the level), then every actor merges its buckets. The driver applies the limits,
  takes the first candidate violation per check and per fact of the level (all candidates of a
  level give traces of the same length: a violating transition from a state of depth d and a failed
  property of a state of depth d+1 are both d+1 steps), and rebuilds each new counterexample by
  following the parent links owner by owner (one round per step); the pipeline then replays it
  through the reference step function like every trace.
- Limits (`limits.level_stop` at the end of every level): `--timeout` (wall clock, checked by every
  actor every 4,096 states and by the driver between levels), the memory ceiling (each actor against
  its share, the driver on the sum), and `--max-states`, which stops at the end of the level that
  reaches it (so the count reported can pass the limit by up to one level; the search is then
  inconclusive, never "holds"). Ctrl-C (or SIGTERM, SIGHUP: checker/cli_args.py) stops the run; the
  violations already found keep their traces. Progress lines (`progress`) are printed per level.
- Deadlock and liveness checks: after a complete search the actors send their levels back and the
  driver rebuilds `seen` in BFS order (levels in order, within a level by actor); the analyses of
  checker/liveness.py run here, in one process, as after `Explicit.run()`.
- Measures (`RayExplicit.levels`): per level the new states, the bytes exchanged and the slowest
  actor's CPU seconds; bench/README.md extrapolates from them.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import ray

from ircheck.cluster import Cluster
from ircheck.explicit import Explicit
from ircheck.limits import ALL_VIOLATED, INTERRUPTED, Limits, level_stop
from ircheck.outcome import RawViolation, SearchResult
from ircheck.ray_partition import Candidate, Merged, Partition, Summary, owner
from ircheck.spec.ts import TransitionSystem
from ircheck.sysinfo import peak_rss_mb
from ircheck.triage import Triage

_SIGNALS = ("SIGINT", "SIGTERM", "SIGHUP")


def connect(cluster: Cluster, cpus: int) -> int:
    """Start (local) or join (an address) Ray once per process; returns the CPUs Ray has.

    `ray.init` installs the driver's own SIGTERM handler (it ends the process with a stack dump and no
    report); the handlers this process had (checker/cli_args.py `Interrupts`: SIGTERM and SIGHUP end
    the run as Ctrl-C does) are put back."""
    if not ray.is_initialized():
        handlers = {getattr(signal, s): signal.getsignal(getattr(signal, s)) for s in _SIGNALS if hasattr(signal, s)}
        if cluster.local:
            ray.init(num_cpus=max(1, cpus), include_dashboard=False, log_to_driver=False,
                     configure_logging=False)
        else:
            ray.init(address=cluster.address, log_to_driver=False, configure_logging=False)
        for s, h in handlers.items():
            if h is not None and threading.current_thread() is threading.main_thread():
                signal.signal(s, h)
    resources: dict[str, float] = ray.cluster_resources()  # type: ignore[no-untyped-call]
    return int(resources.get("CPU", 1))


@dataclass
class LevelStat:
    """One BFS level on Ray: new states, bytes exchanged, CPU seconds (expand and merge) of the slowest
    and of all actors, states expanded."""

    new: int
    sent_bytes: int
    cpu_max: float
    cpu_sum: float
    expanded: int = 0


@dataclass
class Measures:
    levels: list[LevelStat] = field(default_factory=list)


class RayExplicit(Explicit):
    """`Explicit` with the search spread over `partitions` Ray actors (see the module docstring)."""

    def __init__(self, ts: TransitionSystem, limits: Limits | None = None,
                 progress: Callable[[int, int, float], None] | None = None, partitions: int = 2,
                 cluster: Cluster | None = None) -> None:
        super().__init__(ts, limits, progress)
        self.cluster = cluster or Cluster()
        self.partitions = max(1, partitions)
        self.label = "explicit"
        self.measures = Measures()
        # Ray's actor handles: their methods are looked up at run time (`handle.expand.remote(...)`)
        self._actors: list[Any] = []

    def run(self) -> SearchResult:
        ts, lim = self.ts, self.limits
        res = SearchResult()
        t0 = self.started = time.perf_counter()
        deadline = time.time() + lim.timeout if lim.timeout else None
        triage = Triage(ts)
        keep_levels = triage.deadlock or bool(triage.live)
        found = res.violations
        if ts.state_props:
            self.seen[self.init] = None  # path_to(init) for a broken initial state
            bad = self.code.props(self.init)
            if bad:
                self._record_props(bad, self.init, found)
            self.seen.clear()
        cpus = connect(self.cluster, self.partitions)
        n = self.partitions
        share = lim.max_memory_mb / (n + 1) if lim.max_memory_mb and self.cluster.local else None
        # every actor must be placed at once (a level waits for all): more partitions than CPUs share them
        actor = ray.remote(num_cpus=min(1.0, cpus / n))(Partition)
        ts_ref = ray.put(ts)
        self._actors = [actor.remote(ts_ref, w, n, keep_levels, deadline, share) for w in range(n)]
        states, transitions, depth = 1, 0, 0
        peaks = [0.0] * n
        quiet: list[int] = []
        try:
            while True:
                summaries, merged = self._level(frozenset(found), frozenset(res.facts), bool(res.bound_hit))
                new = sum(m[0] for m in merged)
                transitions += sum(s[0] for s in summaries)
                peaks = [max(p, m[2]) for p, m in zip(peaks, merged, strict=True)]
                cpu = [s[3] + m[3] for s, m in zip(summaries, merged, strict=True)]
                self.measures.levels.append(LevelStat(new, sum(s[4] for s in summaries), max(cpu), sum(cpu),
                                                      sum(s[5] for s in summaries)))
                states += new
                self._take([c for s in summaries for c in s[1]] + [c for m in merged for c in m[1]], res)
                stop = level_stop(lim, states, new, {s[2] for s in summaries if s[2]},
                                  peak_rss_mb() + sum(peaks) if self.cluster.local else None, deadline)
                if stop:
                    res.complete, res.stopped_by = False, stop
                    break
                if triage.decided(found):
                    res.complete, res.stopped_by = True, str(ALL_VIOLATED)
                    break
                if not new:
                    break
                depth += 1
                if self.progress:
                    self.progress(states, depth, time.perf_counter() - t0)
            if res.complete and not res.bound_hit and keep_levels and res.stopped_by != str(ALL_VIOLATED):
                quiet = self._gather()
        except KeyboardInterrupt:
            res.complete, res.stopped_by = False, str(INTERRUPTED)
        except ray.exceptions.RayActorError as e:  # most likely killed for memory: a limit, not a bug
            res.complete, res.stopped_by = False, f"a Ray actor died (out of memory?): {str(e).splitlines()[0]}"
        finally:
            for a in self._actors:
                ray.kill(a)
            self._actors = []
        res.states, res.transitions, res.depth = states, transitions, depth
        if res.stopped_by != str(ALL_VIOLATED):
            self.analyse_graph(res, quiet)
        res.seconds = time.perf_counter() - t0
        res.peak_mb = peak_rss_mb() + sum(peaks)
        return res

    def _level(self, found: frozenset[str], facts: frozenset[str], bound: bool) -> tuple[list[Summary], list[Merged]]:
        """One BFS level: expand everywhere, then every actor merges the buckets addressed to it."""
        n = len(self._actors)
        outs = [a.expand.options(num_returns=n + 1).remote(found, facts, bound) for a in self._actors]
        merges = [a.merge.remote(*[outs[i][1 + j] for i in range(n) if i != j]) for j, a in enumerate(self._actors)]
        summaries: list[Summary] = ray.get([o[0] for o in outs])
        merged: list[Merged] = ray.get(merges)
        return summaries, merged

    def _take(self, cands: list[Candidate], res: SearchResult) -> None:
        """The first candidate per check and per fact (in a fixed order: the run is deterministic)."""
        found, facts, checks = res.violations, res.facts, set(self.ts.checks)
        chosen: list[tuple[dict[str, RawViolation], str, Candidate]] = []
        names: set[tuple[str, str]] = set()
        for c in sorted(cands, key=lambda c: (c[0], c[1], c[2], c[3])):
            kind, check, msg = c[0], c[1], c[2]
            if kind == "b":
                res.bound_hit = res.bound_hit or msg
            elif kind == "f":
                if msg not in facts and ("f", msg) not in names:
                    names.add(("f", msg))
                    chosen.append((facts, msg, c))
            elif check not in found and ("v", check) not in names and (kind == "p" or check in checks):
                names.add(("v", check))
                chosen.append((found, check, c))
        if not chosen:
            return
        paths = self._paths([c[3] for _d, _n, c in chosen])
        for (d, name, c), path in zip(chosen, paths, strict=True):
            _kind, check, msg, _state, ti, line = c
            d[name] = RawViolation(check, msg, path, ti, line=line)

    def _paths(self, targets: list[int]) -> list[list[int]]:
        """Paths from the initial state, following the owners' parent links (one round per step)."""
        paths = [[t] for t in targets]
        active = list(range(len(targets)))
        n = len(self._actors)
        while active:
            asks: dict[int, list[int]] = {}
            who: dict[int, list[int]] = {}
            for a in active:
                o = owner(paths[a][-1], n)
                asks.setdefault(o, []).append(paths[a][-1])
                who.setdefault(o, []).append(a)
            replies: list[list[int | None]] = ray.get([self._actors[o].parents.remote(hs) for o, hs in asks.items()])
            active = []
            for o, ps in zip(asks, replies, strict=True):
                for a, p in zip(who[o], ps, strict=True):
                    if p is not None:
                        paths[a].append(p)
                        active.append(a)
        for path in paths:
            path.reverse()
        return paths

    def _gather(self) -> list[int]:
        """Rebuild `self.seen` in BFS order from the actors' levels; return the quiet states."""
        parts: list[tuple[list[tuple[list[int], list[int | None]]], list[tuple[int, int]]]] = ray.get(
            [a.gather.remote() for a in self._actors])
        seen = self.seen
        seen.clear()
        for d in range(max(len(levels) for levels, _q in parts)):
            for levels, _q in parts:
                if d < len(levels):
                    for t, p in zip(*levels[d], strict=True):
                        seen[t] = p
        quiet = sorted((lev, s) for _l, qs in parts for lev, s in qs)
        return [s for _lev, s in quiet]
