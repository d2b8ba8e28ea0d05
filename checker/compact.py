"""`--compact` / `--store compact|hash`: BFS with the visited set in a flat `array('Q')`.

The default engine keeps `seen` as a dict state -> parent: about 90 bytes per state. Here the
visited set is an open-addressing table of 64-bit words (double hashing, prime capacity, 1M slots
to start with, then load kept between 1/2 and 3/4 by growing in place by 1.5x): 10.7 to 16 bytes
per state, plus the two widest consecutive BFS levels, which are kept as Python ints. Two stores:

* exact (`--store compact`, when a packed state has at most 62 bits): the word is the state
  itself (plus one), so nothing can be missed and the verdicts are those of the default engine.
* hash compaction (`--store hash`, and `--store compact` for wider states): the word is a 62-bit
  hash of the state, multiply-shift `((a*t) mod 2^w) >> (w-62)` with a random odd `a` (seeded:
  the same run gives the same result), a 2-universal family: two different states collide with
  probability at most 2^-61. A state whose hash collides with a stored one is taken as visited
  and its successors may never be explored, so the search can miss states. The probability that
  any two of the n states stored collide is at most n(n-1)/2 * 2^-61 (the usual hash-compaction
  estimate, Wolper & Leroy 1993, on the states stored); the report gives it.

Verdicts. A violation found is always real: its trace is rebuilt and replayed through the
reference semantics like any other. A check that a hash-compacted search did not find violated
is reported **inconclusive** (exit status 3), never "holds", with a note that says it was a
hash-compacted search of n states and gives the probability bound: "holds" in ircheck means
proved, and a probabilistic argument is not a proof. Whoever accepts the bound reads the note;
CI that needs a proof sees exit status 3. With the exact store the verdicts are the usual ones.

Counterexamples. The table keeps no parent links. When the search has found violations (and
deadlock candidates), a second, ordinary BFS from the initial state (dict with parent links, the
same order as the default engine) runs until it has reached every state a trace must end in: it
stops at the depth of the deepest violation, so it needs the memory of the default engine for the
states up to that depth only. Its paths are the default engine's paths. Should that second search
hit a limit, the violations it could not rebuild are dropped and the search counts as stopped
(inconclusive), never "holds".

Liveness. `no_deadlock` is decided: the quiet states (no CPU can step, something unfinished) are
kept in full, and `ircheck.liveness.deadlocks` works on them and their successors. The checks
judged on the whole state graph (`no_starvation` and the other request checks) cannot be decided
without it: they are inconclusive with a note saying so.
"""

from __future__ import annotations

import gc
import random
import time
from collections.abc import Callable
from dataclasses import dataclass

from ircheck.compact_table import HASH_BITS, LOAD, Table, omission_bound
from ircheck.explicit import Explicit
from ircheck.limits import ALL_VIOLATED, INTERRUPTED, OUT_OF_MEMORY, Limits, Watch
from ircheck.liveness import deadlocks
from ircheck.outcome import RawViolation, SearchResult
from ircheck.spec.checks import DEADLOCK_CHECK
from ircheck.spec.ts import TransitionSystem
from ircheck.sysinfo import peak_rss_mb
from ircheck.triage import SearchStop, Triage, searching

STORES = ("dict", "compact", "hash")
_INITIAL = 1 << 20  # slots (8 MB): each growth rehashes every entry in Python, so start with room


@dataclass
class CompactResult(SearchResult):
    omission: float = 0.0  # bound on P(some state was missed); `unproved` says which checks it leaves open


class CompactExplicit(Explicit):
    """BFS over a compact visited table; `run()` returns a `CompactResult` (see the module docstring)."""

    def __init__(self, ts: TransitionSystem, limits: Limits | None = None,
                 progress: Callable[[int, int, float], None] | None = None, store: str = "compact",
                 seed: int = 0x1C4EC4) -> None:
        super().__init__(ts, limits, progress)
        if store not in ("compact", "hash"):
            raise ValueError(f"unknown store {store!r}")
        self.exact = store == "compact" and self.pk.bits <= HASH_BITS
        w = max(self.pk.bits, 64)
        self.hash_a = random.Random(seed).getrandbits(w) | 1
        self.hash_w = w
        self.label = ("explicit, compact store (exact)" if self.exact
                      else "explicit, hash-compacted (62-bit)")
        self.table: Table | None = None
        self._paths: dict[int, list[int]] = {}
        self._rebuild_stop = ""

    def key(self, t: int) -> int:
        """The table key of state t (without the epoch bit)."""
        if self.exact:
            return t + 1
        return (((self.hash_a * t) & ((1 << self.hash_w) - 1)) >> (self.hash_w - HASH_BITS)) + 1

    # ---- the search
    def run(self) -> CompactResult:
        ts = self.ts
        res = CompactResult()
        triage = Triage(ts)
        succ, props, unfinished = self.code.succ, self.code.props, self.code.unfinished
        has_props = bool(ts.state_props)
        want_deadlock = triage.deadlock
        quiet: list[int] = []
        # violations and facts as the default engine records them, but with the path [state] (the
        # state they are found in): `_finish` rebuilds the paths
        stubs, record = res.violations, triage.record
        lim = self.limits
        t0 = self.started = time.perf_counter()
        watch = Watch(lim, t0, self.progress)
        max_states = lim.max_states
        tab = self.table = Table(int(max_states / LOAD) + 64 if max_states else _INITIAL)
        exact, a, w = self.exact, self.hash_a, self.hash_w
        wmask, shift = (1 << w) - 1, w - HASH_BITS

        def record_props(bad: int, t: int) -> None:
            k = 0
            while bad:
                if bad & 1:
                    p = ts.state_props[k]
                    if p.check not in stubs:
                        stubs[p.check] = RawViolation(p.check, p.message, [t], None, line=p.line)
                bad >>= 1
                k += 1

        words = tab.words
        cap, cap1 = tab.cap, tab.cap - 1
        e1 = 1 + tab.epoch
        x0 = self.key(self.init) + tab.epoch
        words[x0 % cap] = x0
        n = 1
        grow_at = tab.grow_at
        init_bad = props(self.init) if has_props else 0
        if init_bad:
            record_props(init_bad, self.init)
        frontier = [self.init]
        transitions = 0
        depth = 0
        cut = max_states if max_states is not None else 1 << 62
        with searching(res):
            while frontier:
                nxt: list[int] = []
                app = nxt.append
                for s in frontier:
                    out: list[int] = []
                    vio: list[int] = []
                    ncpu = succ(s, out, vio)
                    transitions += len(out)
                    if vio:
                        for ti in vio:
                            record(res, ti, lambda: [s])  # noqa: B023 - called at once
                    if want_deadlock and ncpu == 0 and unfinished(s):
                        quiet.append(s)
                    for t in out:
                        x = t + e1 if exact else (((a * t) & wmask) >> shift) + e1
                        i = x % cap
                        y = words[i]
                        if y == x:
                            continue
                        if y:
                            step = 1 + (x >> 20) % cap1
                            while True:
                                i += step
                                if i >= cap:
                                    i -= cap
                                y = words[i]
                                if y == x or not y:
                                    break
                            if y:
                                continue
                        if n >= cut:  # --max-states: exactly N states, as the default engine
                            break
                        words[i] = x
                        n += 1
                        app(t)
                        if has_props:
                            bad = props(t)
                            if bad:
                                record_props(bad, t)
                    if n >= grow_at:
                        tab.count = n
                        tab.grow()
                        cap, cap1, grow_at = tab.cap, tab.cap - 1, tab.grow_at
                        e1 = 1 + tab.epoch
                    if n >= watch.next or transitions >= watch.next_work:  # the limits, as limits.Watch
                        why = watch.look(n, depth, None, transitions)  # judges them (no table doubling)
                        if why:
                            res.complete, res.stopped_by = False, str(why)
                            raise SearchStop
                if triage.decided(stubs):
                    res.stopped_by = str(ALL_VIOLATED)
                    break
                frontier = nxt
                if frontier:
                    depth += 1
        tab.count = n
        frontier = nxt = []
        res.states, res.transitions, res.depth = n, transitions, depth
        res.omission = 0.0 if exact else omission_bound(n)
        self._finish(res, quiet, set(triage.live), t0)
        return res

    def _finish(self, res: CompactResult, quiet: list[int], live: set[str], t0: float) -> None:
        """Counterexample paths (one exact BFS to the deepest target), deadlocks, verdict notes.

        `res.violations` and `res.facts` hold stubs: the path is [the state they end in]."""
        ts = self.ts
        checks = set(ts.checks)
        stubs, fact_stubs = res.violations, res.facts
        needed = set(fact_stubs)
        if ts.judge is not None and fact_stubs:
            needed = {fv.witness for fv in ts.judge(list(fact_stubs))}
        targets = [v.path[0] for v in stubs.values()] + [fact_stubs[f].path[0] for f in sorted(needed)]
        if targets:
            self._rebuild(targets)
        lost = False
        for check, v in list(stubs.items()):
            if v.path[0] in self._paths:
                v.path = self._paths[v.path[0]]
            else:
                del stubs[check]
                lost = True
        for fact, v in list(fact_stubs.items()):
            path = self._paths.get(v.path[0]) if fact in needed else []
            if path is None:
                del fact_stubs[fact]
                lost = True
                continue
            v.path = path
        rebuilding = "while rebuilding counterexamples"
        if lost:
            res.complete = False
            res.stopped_by = f"{self._rebuild_stop} {rebuilding}"
        if res.stopped_by == str(ALL_VIOLATED):
            res.complete = True
        deadlock = DEADLOCK_CHECK in checks and DEADLOCK_CHECK not in res.violations
        if res.complete and not res.bound_hit and deadlock:
            try:
                stuck = deadlocks(self, quiet)  # calls self.path_to: one exact BFS to that state
                if stuck:
                    res.violations[DEADLOCK_CHECK] = stuck
                elif self._rebuild_stop:
                    res.complete, res.stopped_by = False, f"{self._rebuild_stop} {rebuilding}"
            except KeyboardInterrupt:
                res.complete, res.stopped_by = False, str(INTERRUPTED)
            except _Lost:
                res.complete = False
                res.stopped_by = f"{self._rebuild_stop} {rebuilding}"
        if ts.waits and DEADLOCK_CHECK in checks and DEADLOCK_CHECK not in res.violations:
            live = live | {DEADLOCK_CHECK}  # a context blocked for ever is judged on the whole graph too
        for check in sorted(live - set(res.violations)):
            res.unproved[check] = (f"not decided by a compact search: {check} is judged on the whole state graph, "
                                   "which --compact does not keep; run without --compact")
        if not self.exact:
            note = (f"no violation found by a hash-compacted search of {res.states:,} states "
                    f"(62-bit hashes): the probability that it missed states is at most {res.omission:.1e}; "
                    "run without --compact for a proof")
            for check in ts.checks:
                if check not in res.violations and check not in res.unproved:
                    res.unproved[check] = note
        res.seconds = time.perf_counter() - t0
        res.peak_mb = peak_rss_mb()

    # ---- counterexamples: an exact BFS with parent links, up to the deepest target
    def _rebuild(self, targets: list[int]) -> None:
        """Paths to `targets`, by the default engine's BFS (so they are its paths); stops when all are found."""
        want = {t for t in targets if t not in self._paths}
        if not want:
            return
        succ = self.code.succ
        seen: dict[int, int | None] = {self.init: None}
        lim = self.limits
        deadline = time.perf_counter() + lim.timeout if lim.timeout else None
        frontier = [self.init]
        left = want - {self.init}
        checked = 0
        gc_was = gc.isenabled()
        gc.disable()
        try:
            while frontier and left:
                nxt: list[int] = []
                app = nxt.append
                for s in frontier:
                    out: list[int] = []
                    succ(s, out, [])
                    for t in out:
                        if t not in seen:
                            seen[t] = s
                            app(t)
                            if t in left:
                                left.discard(t)
                    if len(seen) >= checked + 4096:
                        checked = len(seen)
                        if deadline is not None and time.perf_counter() > deadline:
                            self._rebuild_stop = str(lim.timed_out())
                            break
                        if lim.max_memory_mb and peak_rss_mb() > lim.max_memory_mb:
                            self._rebuild_stop = str(lim.out_of_memory())
                            break
                    if not left:
                        break
                else:
                    frontier = nxt
                    continue
                break
        except KeyboardInterrupt:
            self._rebuild_stop = str(INTERRUPTED)
        except MemoryError:
            self._rebuild_stop = str(OUT_OF_MEMORY)
        finally:
            if gc_was:
                gc.enable()
        for t in want:
            if t in seen:
                path = [t]
                p = seen[t]
                while p is not None:
                    path.append(p)
                    p = seen[p]
                path.reverse()
                self._paths[t] = path
        if not self._rebuild_stop and want - set(self._paths):
            self._rebuild_stop = "a state of the compacted search not found again"  # pragma: no cover

    def path_to(self, s: int) -> list[int]:
        if s not in self._paths:
            self._rebuild([s])
        if s not in self._paths:
            raise _Lost
        return self._paths[s]


class _Lost(Exception):
    pass
