"""The limits of a run and why a run stopped: one `Limits` object, one `Stop` value, one exception.

Every engine and analysis reads the same `Limits` (--max-states, --timeout, the memory ceiling,
--max-traces) and says why it stopped with a `Stop`: a `Reason` (what ran out), the limit's value,
and the phase it ran out in. `str(stop)` is the only place the stop text is formatted; it is the
report's `stopped_by` and the notes of the checks left inconclusive, so its wording is fixed:

    --max-states N | --timeout Ts | memory limit M MB | interrupted (Ctrl-C) | out of memory
    | every check already violated        followed by " during PHASE" / " while PHASE" if any

The watchers of this module look at the limits: `Watch` in a search loop (judged each time the
store has grown by up to `Watch.EVERY` states, or the search has generated up to 16 times as many
successors: about every `Watch.PERIOD` seconds either way), `Ticker` in every other phase (the lowering, code
generation, the graph analyses after a search: one `tick()` per unit of work). Both raise or
return the same `Stopped`/`Stop`.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from ircheck.state_store import StateStore
from ircheck.sysinfo import peak_rss_mb


@dataclass
class Limits:
    max_states: int | None = None
    timeout: float | None = None
    max_memory_mb: float | None = None
    # the instant (time.perf_counter) at which --timeout runs out when it counts from the start of
    # the model's check (the lowering and code generation included); None: from the search's start
    deadline: float | None = None
    max_traces: int = 1  # --max-traces: counterexamples kept per check (the first is the shortest)

    def deadline_from(self, t0: float) -> float | None:
        """When --timeout runs out: `deadline` if the run set one, else `timeout` seconds after t0."""
        return self.deadline if self.deadline is not None else (t0 + self.timeout if self.timeout else None)

    def timed_out(self, phase: str = "") -> Stop:
        return Stop(Reason.TIMEOUT, self.timeout or 0.0, phase)

    def out_of_memory(self, phase: str = "") -> Stop:
        return Stop(Reason.MEMORY, self.max_memory_mb or 0.0, phase)


class Reason(Enum):
    """What ran out."""

    MAX_STATES = "max-states"
    TIMEOUT = "timeout"
    MEMORY = "memory"          # the memory ceiling (--max-memory or the default)
    INTERRUPTED = "interrupted"
    OUT_OF_MEMORY = "out of memory"  # an allocation failed
    ALL_VIOLATED = "all violated"    # nothing left to decide: not a limit (the search is complete)


@dataclass(frozen=True)
class Stop:
    """Why a run or a phase stopped. `phase`: "" (the search), else the words after the reason,
    preposition included ("during code generation", "during Z3 BMC", "while rebuilding
    counterexamples")."""

    reason: Reason
    limit: float = 0.0
    phase: str = ""

    def __str__(self) -> str:
        r = self.reason
        if r is Reason.MAX_STATES:
            text = f"--max-states {int(self.limit)}"
        elif r is Reason.TIMEOUT:
            text = f"--timeout {self.limit:g}s"
        elif r is Reason.MEMORY:
            text = f"memory limit {self.limit:.0f} MB"
        elif r is Reason.INTERRUPTED:
            text = "interrupted (Ctrl-C)"
        elif r is Reason.OUT_OF_MEMORY:
            text = "out of memory"
        else:
            text = "every check already violated"
        return f"{text} {self.phase}" if self.phase else text

    def within(self, phase: str) -> Stop:
        """The same stop, told as happening in `phase`."""
        return Stop(self.reason, self.limit, phase)


INTERRUPTED = Stop(Reason.INTERRUPTED)
OUT_OF_MEMORY = Stop(Reason.OUT_OF_MEMORY)
ALL_VIOLATED = Stop(Reason.ALL_VIOLATED)


class Stopped(Exception):
    """A limit stopped a phase; `reason` is its text (a `Stop`, or a solver's own words)."""

    def __init__(self, stop: Stop | str) -> None:
        super().__init__(str(stop))
        self.stop = stop
        self.reason = str(stop)


class Ticker:
    """--timeout and the memory ceiling in a phase that is not a search loop. `tick()` is called once
    per unit of work: it looks at the clock every time and at the peak memory every `every` ticks,
    and raises `Stopped` naming the phase ("--timeout 5s during code generation")."""

    def __init__(self, limits: Limits, deadline: float | None, phase: str = "", every: int = 64) -> None:
        self.limits, self.deadline, self.every = limits, deadline, every
        self.phase = phase
        self._n = 0

    def during(self, phase: str) -> Ticker:
        self.phase = phase
        return self

    def tick(self) -> None:
        lim = self.limits
        if self.deadline is not None and time.perf_counter() > self.deadline:
            raise Stopped(lim.timed_out(self._words()))
        self._n += 1
        if lim.max_memory_mb and not self._n % self.every and peak_rss_mb() > lim.max_memory_mb:
            raise Stopped(lim.out_of_memory(self._words()))

    def _words(self) -> str:
        return f"during {self.phase}" if self.phase else ""


def level_stop(limits: Limits, states: int, new: int, said: set[str], memory_mb: float | None,
               deadline: float | None) -> str:
    """Why a level-synchronous search (checker/ray_bfs.py) stops at the end of a level, or "".

    The first that holds, in this order: --max-states when the states stored (`states`, this level's
    `new` ones included) reach it and the level added some (so the count can pass the limit by up to
    one level); the memory ceiling when a partition said "memory" or the processes' sum `memory_mb`
    passes it (None: not measurable here, e.g. on a remote cluster); --timeout when a partition said
    "timeout" or the wall clock (`time.time()`) is past `deadline`. `said`: the partitions' own stop words.
    """
    if limits.max_states is not None and states >= limits.max_states and new:
        return str(Stop(Reason.MAX_STATES, limits.max_states))
    if "memory" in said or (limits.max_memory_mb and memory_mb is not None and memory_mb > limits.max_memory_mb):
        return str(limits.out_of_memory())
    if "timeout" in said or (deadline is not None and time.time() > deadline):
        return str(limits.timed_out())
    return ""


def phase_watch(limits: Limits) -> Ticker:
    """The watcher of the phases before a search (the lowering, code generation): --timeout counts
    from `limits.deadline`, else from now."""
    return Ticker(limits, limits.deadline_from(time.perf_counter()))


NO_LIMIT = Ticker(Limits(), None)


class Watch:
    """The limits of one search, looked at each time the store has grown by `EVERY` states.

    The memory ceiling is judged on the peak so far *and* on the growth the store is about to make:
    a dict doubles its table when it fills to two thirds, the new table (twice the old one) being
    allocated while the old one is still alive - a jump of a third of the process at once, which
    a look every few thousand states cannot catch after the fact. The jump comes when the store
    reaches twice the size at which it last resized, so from one look before it, the search stops
    if the peak plus the new table would pass the ceiling. Between two looks the process also grows
    by what the next `step` states cost outside the table (their ints, the frontier, parents): the
    growth per state measured since the last look, times `step`, is added to the peak too - without
    it a search stopped a step late, up to 1.7 MB above a 120 MB ceiling. The default store
    (`StateStore`) rebuilds its table 1.5 times as large at `grow_at`, the old one dropped first:
    one table's size is added from one look before it (a bound on the jump).
    """

    EVERY = 4096
    FIRST = 64
    PERIOD = 0.1  # seconds between looks at most, roughly (see `look`)

    def __init__(self, limits: Limits, t0: float,
                 progress: Callable[[int, int, float], None] | None = None) -> None:
        self.limits, self.t0, self.progress = limits, t0, progress
        self.deadline = limits.deadline_from(t0)
        self.step = self.FIRST  # states until the next look: doubles up to EVERY while states come fast
        self.next = self.step if limits.max_states is None else min(self.step, limits.max_states)
        self._table = 0       # the store's size in bytes at the last look
        self._resize_at = 0   # the state count at which it will next double (0: not known yet)
        self._last = (0, t0)  # (states, instant) at the last look
        # a second clock for searches that reach few new states: successors generated. A level whose
        # states lead only to states already stored adds nothing to `n` for seconds (10,000 threads:
        # 9.6 s, and --timeout 15 acted at 17.5 s); the loops look when either count is due.
        self.work_step = self.FIRST
        self.next_work = self.FIRST
        self._last_work = 0
        self._peak = 0.0      # the peak at the last look at memory (MB)

    def _next_step(self, grown: int, dt: float, step: int, cap: int) -> int:
        """The count until the next look: what grew in PERIOD seconds at the rate since the last look
        (`grown` in `dt`) when that look was over PERIOD ago, else twice the last step; at most `cap`."""
        if dt > self.PERIOD and grown > 0:
            return max(1, min(cap, int(grown * self.PERIOD / dt)))
        return min(cap, 2 * step)

    def look(self, n: int, depth: int, store: object = None, work: int | None = None) -> Stop | None:
        """Why the search must stop now (None if it goes on); `n` states stored, `store` the dict
        (trimmed to exactly --max-states states when that is the reason), `work` the successors
        generated so far (the loop looks when `n >= next` or `work >= next_work`)."""
        lim = self.limits
        now = time.perf_counter()
        # the next look after EVERY states, or sooner when states come slowly (thousands of successors
        # each, or huge states): about PERIOD seconds apart, so --timeout acts within a fraction of it
        last_n, last_t = self._last
        if work is not None:  # the same for successors generated, up to 16 * EVERY
            self.work_step = self._next_step(work - self._last_work, now - last_t, self.work_step, 16 * self.EVERY)
            self._last_work = work
            self.next_work = work + self.work_step
        step = self.step = self._next_step(n - last_n, now - last_t, self.step, self.EVERY)
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
            elif isinstance(store, StateStore):
                store.truncate(lim.max_states)
            return Stop(Reason.MAX_STATES, lim.max_states)
        if self.deadline is not None and now > self.deadline:
            return lim.timed_out()
        if lim.max_memory_mb:
            peak = now_peak = peak_rss_mb()
            if self._peak and n > last_n:  # the next step grows as the last one did, per state
                peak += max(0.0, now_peak - self._peak) * step / (n - last_n)
            self._peak = now_peak
            if isinstance(store, StateStore):  # its table is rebuilt 1.5x as large at `grow_at`
                if n + step >= store.grow_at:
                    peak += store.table_bytes() / 1048576.0
                peak += store.transient_bytes() / 1048576.0  # a collapsed column or table may grow at once
            elif store is not None:
                table = sys.getsizeof(store)
                if table != self._table:
                    self._table, self._resize_at = table, 2 * last_n  # it doubled after last_n
                if self._resize_at and n + step >= self._resize_at:
                    peak += 2 * table / 1048576.0
            if peak > lim.max_memory_mb:
                return lim.out_of_memory()
        return None
