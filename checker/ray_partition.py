"""One partition of the state space in a Ray actor: the states it owns, their parents, its frontier.

Used by checker/ray_bfs.py, which owns the rules (see there). Every state t has one owner,
`owner(t, n)`; the partition of actor `me` keeps `seen` (state -> parent) for its states only, so a
parent link lives where its state lives, and a trace is rebuilt by following the links owner by
owner. Per BFS level (`expand` then `merge`, called by the driver on every actor):

- `expand`: every frontier state is expanded with the generated successor code; a successor owned
  here and new joins the next level at once, one owned elsewhere goes into that owner's bucket
  (de-duplicated); the buckets leave as one pickled message per peer - the level's one exchange.
  Tagged transitions give candidate violations (their state is in this level).
- `merge`: the peers' buckets for this partition; a state not yet seen joins the next level with the
  parent that sent it. The state properties are evaluated on the new states (candidates of the next
  level: the same number of steps as a violating transition of this level).

`keep_levels` (a deadlock or liveness check): the states of every level are kept for `gather`, which
hands them to the driver, where the one-process analyses (checker/liveness.py) run.
"""

from __future__ import annotations

import pickle
import time

from ircheck.codegen import Packing, compile_ts
from ircheck.spec.ts import TransitionSystem
from ircheck.sysinfo import peak_rss_mb
from ircheck.triage import Triage

_PRIME = 1000003
CHECK_EVERY = 4096

# a candidate: (kind, check, message, state, transition or None, line); kind "v" a violation of an
# enabled check by a transition, "p" a failed state property, "f" a fact reached, "b" the model bound
Candidate = tuple[str, str, str, int, int | None, int]
# what `expand` tells the driver: transitions, candidates, stop reason, CPU seconds, bytes sent, states expanded
Summary = tuple[int, list[Candidate], str, float, int, int]
# what `merge` tells it: new states, candidates of failed state properties, peak MB, CPU seconds
Merged = tuple[int, list[Candidate], float, float]


def owner(t: int, n: int) -> int:
    """The partition that stores state t (every bit of t counts)."""
    return t % _PRIME % n


class Partition:
    """The states one actor owns (see the module docstring); `ray.remote(Partition)` makes the actor."""

    def __init__(self, ts: TransitionSystem, me: int, n: int, keep_levels: bool,
                 deadline: float | None, mem_limit: float | None) -> None:
        self.ts, self.me, self.n = ts, me, n
        self.pk = Packing.of(ts)
        self.code = compile_ts(ts, self.pk)
        self.tri = Triage(ts)
        self.keep_levels = keep_levels
        self.deadline, self.mem_limit = deadline, mem_limit  # deadline: time.time() (clocks of machines)
        self.seen: dict[int, int | None] = {}
        self.frontier: list[int] = []
        self.next: list[int] = []
        self.levels: list[list[int]] = []
        self.quiet: list[tuple[int, int]] = []  # (level, state): no CPU can step, something unfinished
        init = self.pk.pack(ts.init())
        if owner(init, n) == me:
            self.seen[init] = None
            self.frontier = [init]
        if keep_levels:
            self.levels.append(list(self.frontier))

    def expand(self, found: frozenset[str], facts_known: frozenset[str],
               bound_known: bool) -> tuple[Summary | bytes, ...]:
        """Expand the frontier. Returns the summary (transitions, candidates, stop reason, CPU seconds,
        bytes sent, states expanded) followed by one pickled bucket per partition (empty for this one)."""
        n, me = self.n, self.me
        succ, unfinished = self.code.succ, self.code.unfinished
        tri = self.tri
        want_deadlock = tri.deadlock
        seen = self.seen
        nxt: list[int] = []
        app = nxt.append
        buckets: list[dict[int, int]] = [{} for _ in range(n)]
        cands: list[Candidate] = []
        recorded: set[tuple[str, str]] = set()
        transitions = 0
        stopped = ""
        level = len(self.levels) - 1 if self.keep_levels else 0
        cpu0 = time.process_time()
        count = 0
        for s in self.frontier:
            out: list[int] = []
            vio: list[int] = []
            ncpu = succ(s, out, vio)
            transitions += len(out)
            for ti in vio:  # `Triage`'s reading of the tags; each new one is a candidate
                line, why = tri.line[ti], tri.bound[ti]
                if why is not None and not bound_known and ("b", "") not in recorded:
                    recorded.add(("b", ""))
                    cands.append(("b", self.ts.bound_check, why, s, ti, line))
                for fact in tri.facts[ti]:
                    if fact not in facts_known and ("f", fact) not in recorded:
                        recorded.add(("f", fact))
                        cands.append(("f", self.ts.fact_check, fact, s, ti, line))
                for check, msg in tri.checked[ti]:
                    if check not in found and ("v", check) not in recorded:
                        recorded.add(("v", check))
                        cands.append(("v", check, msg, s, ti, line))
            if want_deadlock and ncpu == 0 and unfinished(s):
                self.quiet.append((level, s))
            for t in out:
                if t in seen:
                    continue
                o = t % _PRIME % n
                if o == me:
                    seen[t] = s
                    app(t)
                elif t not in buckets[o]:
                    buckets[o][t] = s
            count += 1
            if not count % CHECK_EVERY:
                if self.deadline is not None and time.time() > self.deadline:
                    stopped = "timeout"
                    break
                if self.mem_limit and peak_rss_mb() > self.mem_limit:
                    stopped = "memory"
                    break
        self.next = nxt
        sent = [b"" if j == me else pickle.dumps((list(b), list(b.values())), protocol=5)
                for j, b in enumerate(buckets)]
        summary: Summary = (transitions, cands, stopped, time.process_time() - cpu0, sum(len(x) for x in sent), count)
        return (summary, *sent)

    def merge(self, *payloads: bytes) -> Merged:
        """Take the peers' buckets; the next level becomes the frontier. Returns (new states,
        candidates of failed state properties, peak MB, CPU seconds)."""
        cpu0 = time.process_time()
        seen, nxt = self.seen, self.next
        app = nxt.append
        for data in payloads:
            if not data:
                continue
            states, parents = pickle.loads(data)
            for t, p in zip(states, parents, strict=True):
                if t not in seen:
                    seen[t] = p
                    app(t)
        cands: list[Candidate] = []
        props = self.ts.state_props
        if props:
            check_props = self.code.props
            done: set[str] = set()
            for t in nxt:
                bad = check_props(t)
                k = 0
                while bad:
                    if bad & 1 and props[k].check not in done:
                        done.add(props[k].check)
                        cands.append(("p", props[k].check, props[k].message, t, None, props[k].line))
                    bad >>= 1
                    k += 1
        self.frontier, self.next = nxt, []
        if self.keep_levels:
            self.levels.append(nxt)
        return len(nxt), cands, peak_rss_mb(), time.process_time() - cpu0

    def parents(self, states: list[int]) -> list[int | None]:
        seen = self.seen
        return [seen[s] for s in states]

    def gather(self) -> tuple[list[tuple[list[int], list[int | None]]], list[tuple[int, int]]]:
        """Every kept level (states and their parents) and the quiet states, for the analyses."""
        seen = self.seen
        return [(lev, [seen[t] for t in lev]) for lev in self.levels], self.quiet
