"""Limits for the Z3 engine: one deadline and one memory ceiling shared by every solver call.

Z3 cannot be stopped from Python in the middle of `check()`, so each call gets
the time that is left as its own `timeout`, Z3's global `memory_max_size` caps
its heap, and between calls `check()` here compares the clock and the peak RSS
with the limits. A solver answer "unknown" is turned into `limits.Stopped` with the
reason, so the engine reports "inconclusive" with what it knew so far.
"""

from __future__ import annotations

import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager

import z3

from ircheck.limits import Reason, Stop, Stopped
from ircheck.sysinfo import peak_rss_mb


def ctrl_c() -> None:
    """Z3 caught SIGINT itself and cancelled its call: deliver it to Python as if Z3 had not been there,
    so that the handler in charge (the CLI's, which remembers it and stops after this model) runs."""
    signal.raise_signal(signal.SIGINT)
    raise KeyboardInterrupt  # a handler that did not raise: still stop this run


class Share:
    """Time split between looking for violations (BMC, lassos) and each way of proving there is none.

    Why: one run must answer both "where is the shortest counterexample" and "why is there none",
    without knowing which question the model poses. Giving either side a fixed share of --timeout
    wastes it on the wrong question: proof attempts at every depth once made a violation that BMC
    alone finds in 12 s take over 90 s. So each prover ("induction": exhaustion and k-induction;
    "houdini": the invariants that strengthen induction; "spacer") may spend what the search has
    spent, plus BASE seconds (cheap proofs of small models are never held back): a verdict comes
    within about four times the time of the side that decides it, whichever side that is. The
    provers do not share one credit: the cheap queries of induction, tried at every depth, would
    otherwise leave the others none.
    """

    BASE = 3.0

    NAMES = {"induction": "k-induction", "houdini": "Houdini", "spacer": "Spacer"}

    def __init__(self, budget: Budget | None = None) -> None:
        self.search = 0.0
        self.spent: dict[str, float] = {}
        self.budget = budget  # told which phase runs, so that a limit names it

    def credit(self, prover: str) -> float:
        """Seconds `prover` may take now."""
        return self.BASE + self.search - self.spent.get(prover, 0.0)

    @contextmanager
    def searching(self) -> Iterator[None]:
        t = time.perf_counter()
        was = self._enter("BMC")
        try:
            yield
        finally:
            self.search += time.perf_counter() - t
            self._leave(was)

    @contextmanager
    def proving(self, prover: str) -> Iterator[None]:
        t = time.perf_counter()
        was = self._enter(self.NAMES.get(prover, prover))
        try:
            yield
        finally:
            self.spent[prover] = self.spent.get(prover, 0.0) + time.perf_counter() - t
            self._leave(was)

    def _enter(self, phase: str) -> str:
        if self.budget is None:
            return ""
        was, self.budget.phase = self.budget.phase, phase
        return was

    def _leave(self, was: str) -> None:
        if self.budget is not None:
            self.budget.phase = was


class Budget:
    def __init__(self, timeout: float | None, max_memory_mb: float | None) -> None:
        self.t0 = time.perf_counter()
        self.timeout = timeout
        self.deadline = self.t0 + timeout if timeout else None
        self.max_memory_mb = max_memory_mb
        self.solver_seconds = 0.0
        self.phase = ""  # what the Z3 engine is doing (set by Share): a limit's reason names it
        if max_memory_mb:
            z3.set_param("memory_max_size", max(64, int(max_memory_mb)))

    def _during(self) -> str:
        return f"during Z3 {self.phase}" if self.phase else "during Z3"

    def _timed_out(self) -> Stopped:
        return Stopped(Stop(Reason.TIMEOUT, self.timeout or 0.0, self._during()))

    def left(self) -> float | None:
        return None if self.deadline is None else self.deadline - time.perf_counter()

    def check(self) -> None:
        """Between solver calls: raise Stopped when the time or memory is used up."""
        left = self.left()
        if left is not None and left <= 0:
            raise self._timed_out()
        if self.max_memory_mb and peak_rss_mb() > self.max_memory_mb:
            raise Stopped(Stop(Reason.MEMORY, self.max_memory_mb, self._during()))

    def solve(self, solver: z3.Solver, *assumptions: z3.BoolRef, cap: float | None = None) -> z3.CheckSatResult:
        """solver.check() within the budget: sat or unsat, else Stopped.

        cap: at most this many seconds for this call; a call that runs out of its cap (and not of
        the whole budget), or that Z3 gives up on, answers `unknown` instead of stopping the run: it
        is a proof attempt, and "not proved this way" is all it can mean (an induction step that does
        not close quickly is tried again at a larger k)."""
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
            if cap is not None:
                return r  # a capped query (a proof attempt) that ran out of its cap or gave up: not proved this way
            if timed_out:
                raise self._timed_out()
            self.check()
            raise Stopped(f"z3 gave up ({why})")
        return r
