"""Limits for the Z3 engine: one deadline and one memory ceiling shared by every solver call.

Z3 cannot be stopped from Python in the middle of `check()`, so each call gets
the time that is left as its own `timeout`, Z3's global `memory_max_size` caps
its heap, and between calls `check()` here compares the clock and the peak RSS
with the limits. A solver answer "unknown" is turned into `Stopped` with the
reason, so the engine reports "inconclusive" with what it knew so far.
"""

from __future__ import annotations

import signal
import time

import z3

from ircheck.sysinfo import peak_rss_mb


def ctrl_c() -> None:
    """Z3 caught SIGINT itself and cancelled its call: deliver it to Python as if Z3 had not been there,
    so that the handler in charge (the CLI's, which remembers it and stops after this model) runs."""
    signal.raise_signal(signal.SIGINT)
    raise KeyboardInterrupt  # a handler that did not raise: still stop this run


class Stopped(Exception):
    """A limit was reached (or Ctrl-C): `reason` is the text of Stats.stopped_by."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Budget:
    def __init__(self, timeout: float | None, max_memory_mb: float | None) -> None:
        self.t0 = time.perf_counter()
        self.timeout = timeout
        self.deadline = self.t0 + timeout if timeout else None
        self.max_memory_mb = max_memory_mb
        self.solver_seconds = 0.0
        if max_memory_mb:
            z3.set_param("memory_max_size", max(64, int(max_memory_mb)))

    def left(self) -> float | None:
        return None if self.deadline is None else self.deadline - time.perf_counter()

    def check(self) -> None:
        """Between solver calls: raise Stopped when the time or memory is used up."""
        left = self.left()
        if left is not None and left <= 0:
            raise Stopped(f"--timeout {self.timeout:g}s")
        if self.max_memory_mb and peak_rss_mb() > self.max_memory_mb:
            raise Stopped(f"memory limit {self.max_memory_mb:.0f} MB")

    def solve(self, solver: z3.Solver, *assumptions: z3.BoolRef, cap: float | None = None) -> z3.CheckSatResult:
        """solver.check() within the budget: sat or unsat, else Stopped.

        cap: at most this many seconds for this call; a call that runs out of its cap (and not of
        the whole budget) answers `unknown` instead of stopping the run (an induction step that
        does not close quickly is tried again at a larger k)."""
        self.check()
        left = self.left()
        if cap is not None and (left is None or cap < left):
            left = cap
        else:
            cap = None
        solver.set("timeout", max(1, int(left * 1000)) if left is not None else 4294967295)
        t = time.perf_counter()
        try:
            r = solver.check(*assumptions)
        except z3.Z3Exception as e:  # e.g. out of memory inside Z3
            raise Stopped(f"z3: {e}") from e
        finally:
            self.solver_seconds += time.perf_counter() - t
        if r == z3.unknown:
            why = solver.reason_unknown()
            timed_out = left is not None and time.perf_counter() - t >= 0.95 * left - 0.01
            if not timed_out and why in ("canceled", "interrupted from keyboard", "interrupted"):
                ctrl_c()
            if timed_out and cap is not None:
                return r
            if timed_out:
                raise Stopped(f"--timeout {self.timeout:g}s")
            self.check()
            raise Stopped(f"z3 gave up ({why})")
        return r
