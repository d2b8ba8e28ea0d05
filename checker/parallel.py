"""`--workers N`: the explicit BFS spread over N processes, with the serial engine's exact results.

Design: a level-synchronous BFS over a partitioned state space.

* Ownership. Every state has an owner, `(t & mask) % 1000003 % N`. Worker w keeps the `seen`
  dict (state -> parent) of the states it owns and the frontier of its own states at the current
  depth. The mask selects the state variables the partition looks at (see `choose_mask`): leaving
  out the variables that most steps change (program counters, IRR) keeps most successors on the
  worker that generated them, so fewer states travel between processes, as long as the variables
  kept still split the space evenly (a cost model on the explored prefix decides). Correctness does
  not depend on the mask, only speed.
* One round per BFS level: each worker expands its frontier with the generated successor code,
  inserts the successors it owns and sends the others to their owners (one pickled message per
  peer, de-duplicated); then every worker merges what it received. The parent process only
  coordinates: it starts each level, collects small summaries (new-state counts, candidate
  violations), applies the limits, and rebuilds counterexample paths by asking the owners for
  parent links (one round trip per step).
* The serial order is kept exactly. `ircheck.explicit.Explicit` orders the states of a level by
  their first generator (position of the parent in the previous level, then position in the
  successor list) and links each state to that generator. Here each frontier state carries an
  order value v (its rank in that order, or any number that sorts the same way); the i-th
  successor of a state gets the key v*M+i+1 (M > out-degree), an owner keeps the smallest key and
  its parent, and sorts its new states by key. The keys order the next level, but grow by
  log2(M) bits per level, so every few levels (when they pass 90 bits, and at every level when
  the states are gathered for liveness) the workers swap their sorted keys and replace them by
  global ranks. So the parent links, the first violation per check (a violating step of the state
  with value v has key v*M; a broken state property has its state's key), the first witness of
  every fact, the `--max-states` cut and the BFS order are those of the serial engine: same
  verdicts, same state counts, the same counterexamples (not only the same lengths).
* Start-up. The parent runs the first levels itself (one partition, no processes) until the
  frontier holds `min_frontier` states (default 2,000 per worker), then chooses the mask on what
  it has explored and forks the workers, each of which keeps its share of the explored prefix.
  A model smaller than that never starts a process.
* Liveness (`no_deadlock`, `no_starvation`): after a complete search the workers send their states
  back, level by level in rank order, and the parent rebuilds `seen` in the serial BFS order; the
  analyses of `ircheck.liveness` then run in the parent exactly as after a serial search. Only the
  search is parallel; those analyses stay sequential. The workers keep per-level lists for this
  only when the model has such a check.

Limits: `--max-states` cuts at the same state as the serial engine (the transition count of that
last level is the whole level's); `--timeout` and the memory ceiling are checked by every worker
every 4,096 states (memory: each process against its share of the ceiling) and by the parent
between levels; Ctrl-C in the parent stops the workers (they ignore SIGINT themselves). A stop
leaves the undecided checks inconclusive, never "holds"; violations already found keep their
traces (their paths are rebuilt at the level where they are found).

Processes are started with `fork` (the generated successor code and the explored prefix are
inherited, not pickled); where `fork` is not available the engine runs serially. The reported peak
memory is the sum of the processes' peaks (pages shared after fork count in each).

Speed (bench/README.md): each worker spends about 1.5x the serial CPU time per state (routing,
pickling, merging, keeping the order), so two workers on two idle cores gain about 1.25x on the
nested-PIC models; every level waits for the slowest worker, so on a machine busy with other work
`--workers` can be slower than one process.
"""

from __future__ import annotations

import gc
import multiprocessing as mp
import time
from array import array
from collections.abc import Callable
from multiprocessing.connection import Connection
from operator import itemgetter
from typing import Any

from ircheck.explicit import Explicit
from ircheck.limits import ALL_VIOLATED, INTERRUPTED, OUT_OF_MEMORY, Limits, Reason, Stop
from ircheck.outcome import RawViolation, SearchResult
from ircheck.parallel_part import (
    PEER_GONE,
    Candidate,
    Part,
    WorkerFailed,
    choose_mask,
    fork_available,
    owner,
    worker_main,
)
from ircheck.spec.ts import TransitionSystem
from ircheck.sysinfo import peak_rss_mb
from ircheck.triage import Triage

# ---- the parent -------------------------------------------------------------------------------

class ParallelExplicit(Explicit):
    """`Explicit` with the search spread over `workers` processes; same `run()` contract and results.

    min_frontier: run the levels whose frontier is smaller in the parent (default 2,000 per worker);
    partition: "auto" (`choose_mask`) or "hash" (every state bit decides the owner).
    """

    def __init__(self, ts: TransitionSystem, limits: Limits | None = None,
                 progress: Callable[[int, int, float], None] | None = None, workers: int = 2,
                 min_frontier: int | None = None, partition: str = "auto") -> None:
        super().__init__(ts, limits, progress)
        self.workers = max(1, workers)
        self.min_frontier = 2000 * self.workers if min_frontier is None else min_frontier
        self.partition = partition
        self.label = "explicit"  # the report does not depend on the number of workers (same results)
        self.mask = -1
        self.forked_at: int | None = None            # the depth at which the workers started
        self.loads: list[int] = []                   # new states per worker after the fork
        self.cpu_total = 0.0      # CPU seconds of the workers' levels, summed
        self.cpu_critical = 0.0   # the same, slowest worker per level: the wall time on idle cores
        self._n = 1
        self._prefix: Part | None = None
        self._conns: list[Connection] = []
        self._procs: list[Any] = []

    def run(self) -> SearchResult:
        if self.workers <= 1 or not fork_available():
            return super().run()
        ts = self.ts
        res = SearchResult()
        lim = self.limits
        t0 = self.started = time.perf_counter()
        deadline = time.monotonic() + lim.timeout if lim.timeout else None
        triage = Triage(ts)
        want_deadlock = triage.deadlock
        live = triage.live  # judged on the graph after the search
        keep_levels = want_deadlock or bool(live)
        found = res.violations
        if ts.state_props:
            self.seen[self.init] = None  # path_to(init) for a broken initial state
            bad = self.code.props(self.init)
            if bad:
                self._record_props(bad, self.init, found)
            self.seen.clear()
        quiet: list[int] = []
        states, transitions, depth = 1, 0, 0
        key_bits, top_bits = (len(ts.transitions) + 2).bit_length(), 0
        peaks: list[float] = []
        gc_was = gc.isenabled()
        gc.disable()
        try:
            self._prefix = Part.initial(self, keep_levels, deadline, lim.max_memory_mb)
            while True:
                if self._prefix is not None and len(self._prefix.frontier) >= max(1, self.min_frontier):
                    self._fork()
                    self.forked_at = depth
                    self.loads = [0] * self.workers
                    peaks = []
                densify = self._prefix is not None or top_bits + key_bits > 90
                replies = self._ask_all(("expand", frozenset(found), frozenset(res.facts), bool(res.bound_hit),
                                         densify))
                top_bits = 0 if densify else max(r[6] for r in replies)
                new = sum(r[0] for r in replies)
                transitions += sum(r[1] for r in replies)
                cands = sorted((c for r in replies for c in r[2]), key=itemgetter(0))
                peaks = [max(a, r[4]) for a, r in zip(peaks or [0.0] * len(replies), replies, strict=True)]
                if self._n > 1:
                    self.loads = [a + r[0] for a, r in zip(self.loads, replies, strict=True)]
                    self.cpu_critical += max(r[5] for r in replies)
                    self.cpu_total += sum(r[5] for r in replies)
                stop = ""
                if lim.max_states is not None and states + new >= lim.max_states:
                    cutoff, keep_below = self._cutoff(lim.max_states - states)
                    cut = self._ask_all(("cut", cutoff, keep_below))
                    new = sum(c[0] for c in cut)
                    transitions -= sum(c[1] for c in cut)
                    cands = [c for c in cands if c[0] < cutoff]
                    stop = str(Stop(Reason.MAX_STATES, lim.max_states))
                states += new
                self._take(cands, res)
                stopped = {r[3] for r in replies if r[3]}
                if "memory" in stopped or (lim.max_memory_mb and self._n > 1 and
                                           peak_rss_mb() + sum(peaks) > lim.max_memory_mb):
                    stop = stop or str(lim.out_of_memory())
                if "timeout" in stopped or (deadline is not None and time.monotonic() > deadline):
                    stop = stop or str(lim.timed_out())
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
            if res.complete and not res.bound_hit and keep_levels:
                quiet = self._gather()
        except KeyboardInterrupt:
            res.complete, res.stopped_by = False, str(INTERRUPTED)
        except WorkerFailed as e:
            self._shutdown()
            if e.killed:  # SIGKILL, most likely the kernel's out-of-memory killer: a limit, not a bug
                res.complete, res.stopped_by = False, f"{e} (out of memory?)"
            elif str(e) == str(OUT_OF_MEMORY):
                res.complete, res.stopped_by = False, str(OUT_OF_MEMORY)
            else:
                raise RuntimeError(f"a --workers process failed:\n{e}") from None
        except MemoryError:
            res.complete, res.stopped_by = False, str(OUT_OF_MEMORY)
        finally:
            self._shutdown()
            self._prefix = None
            if gc_was:
                gc.enable()
        res.states, res.transitions, res.depth = states, transitions, depth
        liveness_after_search(self, res, quiet)
        res.seconds = time.perf_counter() - t0
        res.peak_mb = peak_rss_mb() + (sum(peaks) if self._n > 1 else 0.0)
        return res

    # ---- processes
    def _fork(self) -> None:
        """Choose the partition on the explored prefix and start the workers with their shares."""
        prefix = self._prefix
        assert prefix is not None
        n = self.workers
        self.mask = choose_mask(self, prefix, n) if self.partition == "auto" else -1
        lim = self.limits
        share = lim.max_memory_mb / (n + 1) if lim.max_memory_mb else None
        ctx = mp.get_context("fork")
        parent_ends, child_ends = zip(*(ctx.Pipe() for _ in range(n)), strict=True)
        pairs = {(i, j): ctx.Pipe() for i in range(n) for j in range(i + 1, n)}
        everything = list(parent_ends) + list(child_ends) + [c for p in pairs.values() for c in p]
        for w in range(n):
            peers = {}
            for (i, j), (a, b) in pairs.items():
                if i == w:
                    peers[j] = a
                elif j == w:
                    peers[i] = b
            mine = {id(child_ends[w])} | {id(c) for c in peers.values()}
            unused = [c for c in everything if id(c) not in mine]
            p = ctx.Process(target=worker_main, name=f"ircheck-worker-{w}", daemon=True,
                            args=(prefix, w, n, self.mask, child_ends[w], peers, unused, share))
            p.start()
            self._procs.append(p)
        for c in list(child_ends) + [c for p in pairs.values() for c in p]:
            c.close()
        self._conns = list(parent_ends)
        self._n = n
        self._prefix = None

    def _shutdown(self) -> None:
        for c in self._conns:
            try:
                c.send(("stop",))
            except OSError:
                pass
        for p in self._procs:
            p.join(timeout=2)
            if p.is_alive():
                p.terminate()
                p.join()
        for c in self._conns:
            c.close()
        self._conns, self._procs = [], []

    def _recv(self, w: int) -> Any:
        try:
            msg = self._conns[w].recv()
        except (EOFError, OSError):
            raise WorkerFailed("a worker process was killed", killed=True) from None
        if isinstance(msg, tuple) and msg and msg[0] == "error":
            if msg[1] == PEER_GONE:  # a worker lost its peer: that one was killed
                raise WorkerFailed("a worker process was killed", killed=True)
            raise WorkerFailed(msg[1])
        return msg

    def _ask_all(self, msg: tuple[Any, ...]) -> list[Any]:
        if self._prefix is not None:
            return [getattr(self._prefix, msg[0])(*msg[1:])]
        for c in self._conns:
            c.send(msg)
        return [self._recv(w) for w in range(self._n)]

    def _ask_some(self, per_worker: dict[int, tuple[Any, ...]]) -> dict[int, Any]:
        if self._prefix is not None:
            return {w: getattr(self._prefix, m[0])(*m[1:]) for w, m in per_worker.items()}
        for w, msg in per_worker.items():
            self._conns[w].send(msg)
        return {w: self._recv(w) for w in per_worker}

    # ---- level results
    def _cutoff(self, budget: int) -> tuple[int, int]:
        """The keys below which (1) the expansions and violations and (2) the new states are those
        the serial engine has when it stops.

        The serial engine checks --max-states after expanding each state: it stops after the state
        (rank r) whose successors bring the count to the limit, with that state's steps and
        violations, and keeps the first `budget` new states (limits.Watch).
        """
        m = len(self.ts.transitions) + 2
        if budget <= 0:
            return m, 0
        self._ask_all(("densify",))
        keys = [k for k in self._ask_all(("key_at", budget - 1)) if k is not None]
        r = (keys[0] - 1) // m
        return (r + 1) * m, keys[0] + 1

    def _take(self, cands: list[Candidate], res: SearchResult) -> None:
        """The first candidate per check and per fact, in serial order, becomes the result."""
        found, facts, checks = res.violations, res.facts, set(self.ts.checks)
        chosen: list[tuple[dict[str, RawViolation], str, Candidate]] = []
        new_checks: set[str] = set()
        new_facts: set[str] = set()
        for c in cands:  # sorted by key: serial order
            _key, kind, check, msg, _state, _ti, _line = c
            if kind == "b":
                res.bound_hit = res.bound_hit or msg
            elif kind == "f":
                if msg not in facts and msg not in new_facts:
                    new_facts.add(msg)
                    chosen.append((facts, msg, c))
            elif check not in found and check not in new_checks and (kind == "p" or check in checks):
                new_checks.add(check)
                chosen.append((found, check, c))
        if not chosen:
            return
        paths = self._paths([c[4] for _d, _n, c in chosen])
        for (d, name, c), path in zip(chosen, paths, strict=True):
            _key, _kind, check, msg, _state, ti, line = c
            d[name] = RawViolation(check, msg, path, ti, line=line)

    def _paths(self, targets: list[int]) -> list[list[int]]:
        """Paths from the initial state, following the owners' parent links (one round per step)."""
        paths = [[t] for t in targets]
        active = list(range(len(targets)))
        while active:
            asks: dict[int, list[int]] = {}
            who: dict[int, list[int]] = {}
            for a in active:
                h = paths[a][-1]
                o = owner(h, self._n, self.mask)
                asks.setdefault(o, []).append(h)
                who.setdefault(o, []).append(a)
            got = self._ask_some({w: ("parents", hs) for w, hs in asks.items()})
            active = []
            for w, ps in got.items():
                for a, p in zip(who[w], ps, strict=True):
                    if p is not None:
                        paths[a].append(p)
                        active.append(a)
        for p in paths:
            p.reverse()
        return paths

    def _gather(self) -> list[int]:
        """Rebuild `self.seen` in serial BFS order from the partitions' levels; return the quiet states."""
        per: list[list[tuple[list[int], list[int | None], array[int]]]] = []
        quiet_parts: list[tuple[int, int, int]] = []
        if self._prefix is not None:  # never forked: one partition's `seen` is in serial order already
            self.seen = self._prefix.seen
            return [s for _lev, _r, s in self._prefix.quiet]
        else:
            for c in self._conns:
                c.send(("gather",))
            for w in range(self._n):
                mine: list[tuple[list[int], list[int | None], array[int]]] = []
                while True:
                    msg = self._recv(w)
                    if isinstance(msg, int):
                        assert msg == len(mine)
                        break
                    if isinstance(msg, list):
                        quiet_parts.extend(msg)
                    else:
                        mine.append(msg)
                per.append(mine)
        seen = self.seen
        seen.clear()
        for d in range(len(per[0])):
            size = sum(len(p[d][0]) for p in per)
            order: list[int] = [0] * size
            parent: list[int | None] = [None] * size
            for p in per:
                sts, pars, ranks = p[d]
                for t, par, r in zip(sts, pars, ranks, strict=True):
                    order[r] = t
                    parent[r] = par
                p[d] = ([], [], array("q"))
            for t, par in zip(order, parent, strict=True):
                seen[t] = par
        quiet_parts.sort()
        return [s for _lev, _r, s in quiet_parts]


def liveness_after_search(eng: Explicit, res: SearchResult, quiet: list[int]) -> None:
    """The serial engine's graph analyses on the gathered states (`eng.seen` in serial BFS order)."""
    if res.stopped_by == str(ALL_VIOLATED):
        return
    eng.analyse_graph(res, quiet)
