"""The explicit-state engine: breadth-first search over packed states.

BFS with parent links gives shortest counterexamples for safety checks: the
first state found that breaks a check is at minimal depth. States are ints
(see codegen.Packing); `seen` maps each state to its parent, and the dict's
insertion order is BFS order, which the liveness and deadlock analyses use to
pick the shallowest witness. The garbage collector is off during the search:
the only objects made are ints and lists of ints, which cannot form cycles.

Limits (--max-states, --timeout, memory, Ctrl-C) stop the search cleanly; the
checks not already violated are then inconclusive, never "holds".
"""

from __future__ import annotations

import gc
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from ircheck.codegen import Compiled, Packing, compile_ts
from ircheck.spec.ts import TransitionSystem
from ircheck.sysinfo import peak_rss_mb

DEADLOCK = "no_deadlock"
STARVATION = "no_starvation"


@dataclass
class Limits:
    max_states: int | None = None
    timeout: float | None = None
    max_memory_mb: float | None = None
    # the instant (time.perf_counter) at which --timeout runs out when it counts from the start of
    # the model's check (the lowering and code generation included); None: from the search's start
    deadline: float | None = None
    max_traces: int = 1  # --max-traces: counterexamples kept per check (the first is the shortest)


class PhaseStopped(Exception):
    """A limit stopped a phase before the search (the lowering, code generation): `reason` names it
    and the phase ("--timeout 5s during code generation")."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class PhaseWatch:
    """--timeout and the memory ceiling in the phases that are not a search loop. `tick()` is called
    once per unit of work (a transition added, a transition's code generated): it looks at the clock,
    every `EVERY` ticks at the peak memory, and a limit passed raises `PhaseStopped`."""

    EVERY = 64

    def __init__(self, limits: Limits, phase: str = "") -> None:
        self.limits, self.phase = limits, phase
        self.deadline = limits.deadline if limits.deadline is not None else (
            time.perf_counter() + limits.timeout if limits.timeout else None)
        self._n = 0

    def during(self, phase: str) -> PhaseWatch:
        self.phase = phase
        return self

    def tick(self) -> None:
        """The clock at every tick (a unit of work may take milliseconds), the memory every EVERY."""
        lim = self.limits
        if self.deadline is not None and time.perf_counter() > self.deadline:
            raise PhaseStopped(f"--timeout {lim.timeout:g}s during {self.phase}")
        self._n += 1
        if lim.max_memory_mb and not self._n % self.EVERY and peak_rss_mb() > lim.max_memory_mb:
            raise PhaseStopped(f"memory limit {lim.max_memory_mb:.0f} MB during {self.phase}")


@dataclass
class RawViolation:
    """A counterexample as the engine sees it: packed states and, maybe, a final transition."""

    check: str
    message: str
    path: list[int]                 # packed states from the initial state
    last: int | None = None         # a violating transition fired from path[-1]
    cycle: list[int] | None = None  # liveness: states of the loop, starting and ending at path[-1]
    line: int = 0
    whole: bool = False             # the message tells the whole story (a `Wait`'s): nothing is appended


@dataclass
class SearchResult:
    violations: dict[str, RawViolation] = field(default_factory=dict)
    facts: dict[str, RawViolation] = field(default_factory=dict)  # fact -> its shallowest witness
    states: int = 0
    transitions: int = 0
    depth: int = 0
    seconds: float = 0.0
    complete: bool = True
    stopped_by: str = ""
    bound_hit: str = ""
    peak_mb: float = 0.0
    # checks a limit left undecided although the search itself finished (a graph analysis was
    # stopped by --timeout or the memory ceiling): check -> why it is inconclusive
    unproved: dict[str, str] = field(default_factory=dict)
    analysis_stopped: str = ""  # the limit that stopped a graph analysis after a complete search
    # --max-traces: further violations per check in BFS order, each the shallowest with its key
    # (the violating transition, or the failed state property); `violations` holds the first
    more: dict[str, list[RawViolation]] = field(default_factory=dict)


class Watch:
    """The limits of one search, looked at each time the store has grown by `EVERY` states.

    The memory ceiling is judged on the peak so far *and* on the growth the store is about to make:
    a dict doubles its table when it fills to two thirds, the new table (twice the old one) being
    allocated while the old one is still alive - a jump of a third of the process at once, which
    a look every few thousand states cannot catch after the fact. The jump comes when the store
    reaches twice the size at which it last resized, so from one look before it, the search stops
    if the peak plus the new table would pass the ceiling.
    """

    EVERY = 4096
    FIRST = 64
    PERIOD = 0.1  # seconds between looks at most, roughly (see `look`)

    def __init__(self, limits: Limits, t0: float,
                 progress: Callable[[int, int, float], None] | None = None) -> None:
        self.limits, self.t0, self.progress = limits, t0, progress
        self.deadline = limits.deadline if limits.deadline is not None else (
            t0 + limits.timeout if limits.timeout else None)
        self.step = self.FIRST  # states until the next look: doubles up to EVERY while states come fast
        self.next = self.step if limits.max_states is None else min(self.step, limits.max_states)
        self._table = 0       # the store's size in bytes at the last look
        self._resize_at = 0   # the state count at which it will next double (0: not known yet)
        self._last = (0, t0)  # (states, instant) at the last look

    def look(self, n: int, depth: int, store: object = None) -> str:
        """Why the search must stop now ("" if it goes on); `n` states stored, `store` the dict
        (trimmed to exactly --max-states states when that is the reason)."""
        lim = self.limits
        now = time.perf_counter()
        # the next look after EVERY states, or sooner when states come slowly (thousands of successors
        # each, or huge states): about PERIOD seconds apart, so --timeout acts within a fraction of it
        last_n, last_t = self._last
        if now - last_t > self.PERIOD and n > last_n:
            self.step = max(1, min(self.EVERY, int((n - last_n) * self.PERIOD / (now - last_t))))
        else:
            self.step = min(self.EVERY, 2 * self.step)
        step = self.step
        self._last = (n, now)
        self.next = n + step
        if lim.max_states is not None:
            self.next = min(self.next, lim.max_states)
        if self.progress:
            self.progress(n, depth, now - self.t0)
        if lim.max_states is not None and n >= lim.max_states:
            if isinstance(store, dict):  # the last expansion went past N: keep the first N states
                while len(store) > lim.max_states:
                    store.popitem()
            return f"--max-states {lim.max_states}"
        if self.deadline is not None and now > self.deadline:
            return f"--timeout {lim.timeout:g}s"
        if lim.max_memory_mb:
            peak = peak_rss_mb()
            if store is not None:
                table = sys.getsizeof(store)
                if table != self._table:
                    self._table, self._resize_at = table, 2 * last_n  # it doubled after last_n
                if self._resize_at and n + step >= self._resize_at:
                    peak += 2 * table / 1048576.0
            if peak > lim.max_memory_mb:
                return f"memory limit {lim.max_memory_mb:.0f} MB"
        return ""


@contextmanager
def searching(res: SearchResult) -> Iterator[None]:
    """The shell of every search loop: the garbage collector off (the loop makes only ints and lists
    of ints, which cannot form cycles), and the ways a search ends early turned into its result -
    a limit (`_Stop`, raised after `res` says which), Ctrl-C, an allocation that failed."""
    gc_was = gc.isenabled()
    gc.disable()
    try:
        yield
    except _Stop:
        pass
    except KeyboardInterrupt:
        res.complete, res.stopped_by = False, "interrupted (Ctrl-C)"
    except MemoryError:
        res.complete, res.stopped_by = False, "out of memory"
    finally:
        if gc_was:
            gc.enable()


class Explicit:
    """One search over one TransitionSystem; `run()` decides every enabled check it can."""

    def __init__(self, ts: TransitionSystem, limits: Limits | None = None,
                 progress: Callable[[int, int, float], None] | None = None) -> None:
        self.ts = ts
        self.limits = limits or Limits()
        self.progress = progress
        self.pk = Packing.of(ts)
        self.code: Compiled = compile_ts(ts, self.pk)
        self.init = self.pk.pack(ts.init())
        self.seen: dict[int, int | None] = {}
        self.started = time.perf_counter()  # the search's start: --timeout counts from here
        self._keys: set[tuple[str, object]] = set()  # (check, how its trace ends) kept for --max-traces

    # ---- helpers used by the analyses
    def path_to(self, s: int) -> list[int]:
        out = [s]
        seen = self.seen
        p = seen[s]
        while p is not None:
            out.append(p)
            p = seen[p]
        out.reverse()
        return out

    def successors_with_ids(self, s: int) -> list[tuple[int, int]]:
        out: list[tuple[int, int]] = []
        self.code.succ_ids(s, out, [])
        return out

    # ---- the search
    def run(self) -> SearchResult:
        ts = self.ts
        res = SearchResult()
        checks = set(ts.checks)
        trans_checks = {ti: t.violates for ti, t in enumerate(ts.transitions) if t.violates}
        succ, props, unfinished = self.code.succ, self.code.props, self.code.unfinished
        has_props = bool(ts.state_props)
        want_deadlock = DEADLOCK in checks
        quiet: list[int] = []
        found = res.violations
        facts, fact_check = res.facts, ts.fact_check
        live = {r.check for r in ts.requests} & checks  # judged on the graph after the search
        safety = {c for c in checks if c not in (STARVATION, DEADLOCK) and c not in live}
        lim = self.limits
        extra = lim.max_traces > 1
        t0 = self.started = time.perf_counter()
        watch = Watch(lim, t0, self.progress)
        seen = self.seen
        seen[self.init] = None
        init_bad = props(self.init) if has_props else 0
        if init_bad:
            self._record_props(init_bad, self.init, found, res if extra else None)
        frontier = [self.init]
        transitions = 0
        depth = 0
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
                            for check, msg in trans_checks[ti]:
                                if check == ts.bound_check:
                                    res.bound_hit = res.bound_hit or msg
                                elif check == fact_check:
                                    if msg not in facts:
                                        facts[msg] = RawViolation(check, msg, self.path_to(s), ti,
                                                                  line=ts.transitions[ti].label.line)
                                elif check not in found and check in checks:
                                    found[check] = RawViolation(check, msg, self.path_to(s), ti,
                                                                line=ts.transitions[ti].label.line)
                                    self._keys.add((check, ("t", ti)))
                                elif extra and check in checks:
                                    self._more(res, ("t", ti), RawViolation(check, msg, self.path_to(s), ti,
                                                                            line=ts.transitions[ti].label.line))
                    if want_deadlock and ncpu == 0 and unfinished(s):
                        quiet.append(s)
                    for t in out:
                        if t not in seen:
                            seen[t] = s
                            app(t)
                            if has_props:
                                bad = props(t)
                                if bad:
                                    self._record_props(bad, t, found, res if extra else None)
                    if len(seen) >= watch.next:
                        why = watch.look(len(seen), depth, seen)
                        if why:
                            res.complete, res.stopped_by = False, why
                            raise _Stop
                if safety and safety <= set(found) and not (checks & ({STARVATION, DEADLOCK} | live)) and not extra:
                    res.complete, res.stopped_by = False, "every check already violated"
                    frontier = []
                    break
                frontier = nxt
                if frontier:
                    depth += 1
        res.states, res.transitions, res.depth = len(seen), transitions, depth
        res.seconds = time.perf_counter() - t0
        if res.stopped_by == "every check already violated":
            res.complete = True  # nothing left to decide
        self.analyse_graph(res, quiet)
        res.seconds = time.perf_counter() - t0
        res.peak_mb = peak_rss_mb()
        return res

    def analyse_graph(self, res: SearchResult, quiet: list[int]) -> None:
        """The deadlock and liveness analyses after a complete search (also run by parallel.py).

        `self.seen` holds the explored states in BFS order (parents as links), `quiet` the states
        where no CPU can step and something is unfinished, in the same order.
        """
        if not res.complete or res.bound_hit:
            return
        from ircheck.liveness import AnalysisStopped, Budget, blocked_forever, deadlocks, starvation
        ts = self.ts
        checks = set(ts.checks)
        found = res.violations
        lim = self.limits
        # --timeout counts from the model's start (`Limits.deadline`, set by the API) like every other phase,
        # else from the search's start
        deadline = lim.deadline if lim.deadline is not None else (self.started + lim.timeout if lim.timeout else None)
        budget = Budget(deadline, lim.timeout, lim.max_memory_mb, "the deadlock and liveness analysis")
        try:
            if DEADLOCK in checks and DEADLOCK not in found:
                # the shallower of "no CPU can ever step" and "a context blocked for ever" (BFS depth)
                vs = [v for v in (deadlocks(self, quiet, budget), blocked_forever(self, budget)) if v]
                if vs:
                    found[DEADLOCK] = min(vs, key=lambda v: len(v.path))
            todo = ({r.check for r in ts.requests} & checks) - set(found)
            if todo:
                vs = starvation(self, todo, budget)
                for check in sorted(todo):
                    mine = [v for v in vs if v.check == check]
                    if not mine:
                        continue
                    best = min(mine, key=lambda v: (len(v.path) + len(v.cycle or ()), v.line))
                    if check == STARVATION:
                        others = [v.message.split(" is raised")[0] for v in mine if v is not best]
                        if others:
                            best.message += "; also never delivered on some run: " + ", ".join(others)
                    found[check] = best
        except AnalysisStopped as e:
            res.analysis_stopped = e.reason
            for check in sorted(({r.check for r in ts.requests} | {DEADLOCK}) & checks - set(found)):
                res.unproved[check] = (f"the search finished ({res.states} states) but the graph analysis "
                                       f"that decides {check} was stopped ({e.reason})")
        except KeyboardInterrupt:
            res.complete, res.stopped_by = False, "interrupted (Ctrl-C)"

    def _record_props(self, bad: int, t: int, found: dict[str, RawViolation],
                      res: SearchResult | None = None) -> None:
        """Bit k of `bad` set: state property k is false in t (first one per check is shallowest)."""
        k = 0
        while bad:
            if bad & 1:
                p = self.ts.state_props[k]
                if p.check not in found:
                    found[p.check] = RawViolation(p.check, p.message, self.path_to(t), None, line=p.line)
                    self._keys.add((p.check, ("p", k)))
                elif res is not None:
                    self._more(res, ("p", k), RawViolation(p.check, p.message, self.path_to(t), None, line=p.line))
            bad >>= 1
            k += 1

    def _more(self, res: SearchResult, key: tuple[str, object], v: RawViolation) -> None:
        """--max-traces: keep v when its check has room and no kept trace ends the same way (the same
        violating transition, or the same failed state property): BFS order makes it the shallowest
        of its kind. The first violation of a check is `res.violations`' and is counted too."""
        more = res.more.setdefault(v.check, [])
        if len(more) + 1 >= self.limits.max_traces or (v.check, key) in self._keys:
            return
        self._keys.add((v.check, key))
        more.append(v)


class _Stop(Exception):
    pass

