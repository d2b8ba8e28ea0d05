"""`--swarm N`: N independent randomized bounded searches on Ray, for bugs no exhaustive run reaches.

After SPIN's swarm verification (Holzmann, Joshi, Groce, "Swarm Verification Techniques", IEEE TSE
2011): many small searches, each with its own seed, successor order and depth bound, cover
different corners of a state space too large for one exhaustive search. Member i (seed i):

- a depth-first search from the initial state, successors in a random order (its own
  `random.Random(seed)`), with its own depth bound (from 1/4 to all of the `depth` asked for,
  spread over the members) and its share of the state budget;
- it records, per safety check, the shortest violation it meets (a violating transition, a failed
  state property), per fact its shortest witness, and the model bound if hit.

The driver keeps, per check and fact, the shortest trace of all members; the pipeline replays each
through the reference step function like every trace. A swarm never exhausts the state space: every
check it does not find violated is inconclusive ("stopped (--swarm N: ...)"), never "holds", and the
checks judged on the whole graph (deadlock, liveness) are never decided by it. Its traces are real
but not necessarily the shortest of the model.
"""

from __future__ import annotations

import random
import time

import ray

from ircheck.cluster import Cluster
from ircheck.codegen import Packing, compile_ts
from ircheck.limits import INTERRUPTED, Limits
from ircheck.outcome import RawViolation, SearchResult
from ircheck.ray_bfs import connect
from ircheck.spec.ts import TransitionSystem
from ircheck.sysinfo import peak_rss_mb
from ircheck.triage import Triage

DEFAULT_DEPTH = 200
DEFAULT_BUDGET = 200_000  # states per member without --max-states

# what a member found: kind ("v", "p", "f", "b"), check or fact, message, path, transition, line
Found = tuple[str, str, str, list[int], int | None, int]


def member(ts: TransitionSystem, seed: int, depth_bound: int, budget: int,
           deadline: float | None) -> tuple[int, int, int, list[Found]]:
    """One randomized bounded DFS (see the module docstring): (states, transitions, deepest depth, what
    it found)."""
    rng = random.Random(seed)
    pk = Packing.of(ts)
    code = compile_ts(ts, pk)
    tri = Triage(ts)
    props = ts.state_props
    best: dict[tuple[str, str], Found] = {}

    def keep(kind: str, name: str, msg: str, path: list[int], ti: int | None, line: int) -> None:
        old = best.get((kind, name))
        if old is None or len(path) < len(old[3]):
            best[(kind, name)] = (kind, name, msg, list(path), ti, line)

    def check_props(t: int, path: list[int]) -> None:
        bad, k = code.props(t), 0
        while bad:
            if bad & 1:
                keep("p", props[k].check, props[k].message, path, None, props[k].line)
            bad >>= 1
            k += 1

    init = pk.pack(ts.init())
    seen = {init}
    path = [init]
    if props:
        check_props(init, path)
    stack: list[list[int]] = []
    transitions = 0

    def push(s: int) -> None:
        nonlocal transitions
        out: list[int] = []
        vio: list[int] = []
        code.succ(s, out, vio)
        transitions += len(out)
        for ti in vio:
            line = tri.line[ti]
            if tri.bound[ti] is not None:
                keep("b", ts.bound_check, tri.bound[ti] or "", path, ti, line)
            for fact in tri.facts[ti]:
                keep("f", ts.fact_check, fact, path, ti, line)
            for check, msg in tri.checked[ti]:
                keep("v", check, msg, path, ti, line)
        rng.shuffle(out)
        stack.append(out)

    push(init)
    count = deepest = 0
    while stack and len(seen) < budget:
        out = stack[-1]
        if not out:
            stack.pop()
            path.pop()
            continue
        t = out.pop()
        if t in seen:
            continue
        seen.add(t)
        path.append(t)
        if props:
            check_props(t, path)
        deepest = max(deepest, len(path) - 1)
        if len(path) <= depth_bound:
            push(t)
        else:
            path.pop()
        count += 1
        if not count % 4096 and deadline is not None and time.time() > deadline:
            break
    return len(seen), transitions, deepest, list(best.values())


def run_swarm(ts: TransitionSystem, cluster: Cluster, workers: int, limits: Limits) -> tuple[SearchResult, Packing]:
    """`cluster.swarm` members on Ray (`workers` CPUs for a local Ray); the shortest find per check."""
    n = cluster.swarm
    res = SearchResult()
    t0 = time.perf_counter()
    deadline = time.time() + limits.timeout if limits.timeout else None
    budget = max(1, (limits.max_states or DEFAULT_BUDGET * n) // n)
    connect(cluster, workers)
    task = ray.remote(num_cpus=1)(member)
    ts_ref = ray.put(ts)
    refs = [task.remote(ts_ref, seed, max(1, DEFAULT_DEPTH * (n + 3 * (seed % n)) // (4 * n)), budget, deadline)
            for seed in range(n)]
    finds: list[Found] = []
    try:
        for states, transitions, deepest, got in ray.get(refs):
            res.states += states
            res.transitions += transitions
            res.depth = max(res.depth, deepest)
            finds += got
    except KeyboardInterrupt:
        for r in refs:
            ray.cancel(r, force=True)
        res.stopped_by = str(INTERRUPTED)
    checks = set(ts.checks)
    for kind, name, msg, path, ti, line in sorted(finds, key=lambda f: (len(f[3]), f[0], f[1], f[3])):
        if kind == "b":
            res.bound_hit = res.bound_hit or msg
        elif kind == "f":
            res.facts.setdefault(msg, RawViolation(name, msg, path, ti, line=line))
        elif kind == "p" or name in checks:
            res.violations.setdefault(name, RawViolation(name, msg, path, ti, line=line))
    res.complete = False
    res.stopped_by = res.stopped_by or (f"--swarm {n}: {n} randomized bounded searches, which never exhaust "
                                        "the state space; states counted once per search")
    res.seconds = time.perf_counter() - t0
    res.peak_mb = peak_rss_mb()
    return res, Packing.of(ts)
