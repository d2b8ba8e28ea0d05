"""What a check run returns: verdicts, counterexamples, statistics.

Plain data, shared by every engine and every output format.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ircheck.grammar.diagnostics import Diagnostic
from ircheck.spec.explain import Step

HOLDS, VIOLATED, INCONCLUSIVE, ERROR = "holds", "violated", "inconclusive", "error"


def json_value(shown: str) -> object:
    """A value as a trace shows it, as a JSON value: a number is a number, `true`/`false` booleans,
    anything else (an enum name such as a lock owner) its text."""
    if shown in ("true", "false"):
        return shown == "true"
    try:
        return int(shown, 10)
    except ValueError:
        return shown


def step_json(step: Step) -> dict[str, object]:
    """One trace step as JSON: `changes` maps each changed variable to `{"old": v, "new": v}`."""
    d = step.to_json()
    d["changes"] = {k: {"old": json_value(a), "new": json_value(b)} for k, (a, b) in step.changes.items()}
    return d


@dataclass
class CheckResult:
    name: str
    status: str
    message: str = ""
    trace: list[Step] = field(default_factory=list)
    loop_start: int | None = None  # liveness: the trace repeats from this step number on
    line: int = 0                  # the model line the violation is about
    note: str = ""                 # e.g. why a check is inconclusive
    # violated: every state of the trace in full, {variable: value}; states[k] is the state after
    # step k (states[0] the initial one). For ITF; not part of to_json().
    states: list[dict[str, int]] = field(default_factory=list)
    # --max-traces: further counterexamples of this check, each ending another way (another
    # violating step or failed property), shortest of their kind, in BFS order
    more: list[CheckResult] = field(default_factory=list)
    # a deadlock: the acquisition that can never proceed - the statement the blocked context is at
    # in the last state (spec/waits.py `blocked_at`), not a step taken; it carries the "violation"
    # note, shown after the last step (`number` is the last step's)
    blocked: Step | None = None
    # C1: the /proc/interrupts counts the counterexample leaves: row ("3", "SPU") -> per-CPU count,
    # and the same as one line of text
    interrupts: dict[str, list[int]] = field(default_factory=dict)
    interrupts_text: str = ""

    def _blocked_json(self) -> dict[str, object]:
        b = self.blocked
        return {} if b is None else {"blocked": {"context": b.context, "action": b.action, "line": b.line}}

    def to_json(self) -> dict[str, object]:
        d: dict[str, object] = {"name": self.name, "status": self.status}
        if self.message:
            d["message"] = self.message
        if self.status == VIOLATED:
            d["trace"] = [step_json(s) for s in self.trace]
            d |= self._blocked_json()
            if self.interrupts:
                d["interrupts"] = self.interrupts
            if self.loop_start is not None:
                d["loop_start"] = self.loop_start
            if self.more:
                d["more_traces"] = [{"message": m.message, "trace": [step_json(s) for s in m.trace]}
                                    | ({"loop_start": m.loop_start} if m.loop_start is not None else {})
                                    | m._blocked_json()
                                    | ({"interrupts": m.interrupts} if m.interrupts else {}) for m in self.more]
        if self.note:
            d["note"] = self.note
        return d


@dataclass
class Stats:
    engine: str = "explicit"
    states: int = 0
    transitions: int = 0
    depth: int = 0
    seconds: float = 0.0
    peak_mb: float = 0.0
    complete: bool = True
    stopped_by: str = ""  # max-states | timeout | memory | interrupted | nesting bound
    # the Z3 engine (checker/smt.py): bmc_depth, k, solver_seconds, z3 version, ...; empty for explicit
    smt: dict[str, object] = field(default_factory=dict)
    auto: str = ""  # --engine auto: why this engine decided
    # the state-space reductions that ran (checker/reduce.py), why asked-for ones did not, and the
    # states of the unreduced re-search that found shortest counterexamples (0: none needed)
    reductions: tuple[str, ...] = ()
    reduction_note: str = ""
    refind_states: int = 0
    # what can never happen, and --coverage's counts (ircheck.coverage.Coverage; not in to_json: the
    # report carries its warnings and counts); None when the search cannot tell
    coverage: Any = None

    @property
    def states_per_s(self) -> float:
        return self.states / self.seconds if self.seconds > 0 else 0.0

    def to_json(self) -> dict[str, object]:
        d: dict[str, object] = {"engine": self.engine, "states": self.states, "transitions": self.transitions,
                                "depth": self.depth, "seconds": round(self.seconds, 3),
                                "states_per_s": round(self.states_per_s), "peak_mb": round(self.peak_mb, 1),
                                "complete": self.complete}
        if self.stopped_by:
            d["stopped_by"] = self.stopped_by
        if self.smt:
            d["smt"] = dict(self.smt)
        if self.auto:
            d["auto"] = self.auto
        if self.engine == "explicit":
            d["reductions"] = list(self.reductions)
        if self.reduction_note:
            d["reduction_note"] = self.reduction_note
        if self.refind_states:
            d["refind_states"] = self.refind_states
        return d


@dataclass
class Report:
    model: str
    checks: list[CheckResult] = field(default_factory=list)
    stats: Stats = field(default_factory=Stats)
    errors: list[Diagnostic] = field(default_factory=list)
    source: str = ""
    # `--suggest`: the fixes found (ircheck.suggest.Fix.to_json()); None when not asked for
    suggestions: list[dict[str, object]] | None = None
    # warnings about the input (ircheck.coverage.Warn, kind "input"): the lowering's (an 8259A on exception
    # vectors, X10) and the command line's (an empty model, a --check that selects nothing)
    more_warnings: list[Any] = field(default_factory=list)

    @property
    def warnings(self) -> list[Any]:
        """What the model can never do (the search's coverage) and the command line's warnings:
        `Warn`s with kind "unreached", "vacuous" (every check holds only because of it) or "input"."""
        cov = self.stats.coverage
        return list(self.more_warnings) + (list(cov.warnings) if cov is not None and not self.errors else [])

    @property
    def verdict(self) -> str:
        if self.errors:
            return ERROR
        if any(c.status == VIOLATED for c in self.checks):
            return VIOLATED
        if any(c.status == INCONCLUSIVE for c in self.checks):
            return INCONCLUSIVE
        return HOLDS

    @property
    def exit_code(self) -> int:
        return {HOLDS: 0, VIOLATED: 1, ERROR: 2, INCONCLUSIVE: 3}[self.verdict]

    def check(self, name: str) -> CheckResult:
        for c in self.checks:
            if c.name == name:
                return c
        raise KeyError(name)

    def to_json(self) -> dict[str, object]:
        d: dict[str, object] = {"model": self.model, "verdict": self.verdict,
                                "checks": [c.to_json() for c in self.checks], "stats": self.stats.to_json()}
        if self.errors:
            d["errors"] = [e.to_json() for e in self.errors]
        if self.suggestions is not None:
            d["suggestions"] = self.suggestions
        if self.warnings:
            d["warnings"] = [w.to_json() for w in self.warnings]
        cov = self.stats.coverage
        if cov is not None and cov.rows is not None and not self.errors:
            d["coverage"] = {"counts": "transitions fired from reachable states",
                             "statements": [r.to_json() for r in cov.rows]}
        return d
