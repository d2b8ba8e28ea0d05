"""`ircheck --suggest`: try the standard repairs on a violated model and keep those that work.

The repairs themselves (what to change, and why it is the textbook fix) come from
`ircheck.spec.repairs`; this module knows nothing about interrupts. It re-checks
each candidate with the same checks as the original run, under a per-candidate
state and time budget so that a candidate that blows up the state space cannot
hang `--suggest`, and under an overall time budget. A candidate is a fix only
if every check **holds** (a budget hit is inconclusive, never a fix).

Search order: every single repair first; only if none works, pairs of repairs
(the pairs made of repairs that each removed some violation come first). The
fixes reported are the smallest: fewest repairs, then fewest changed lines.
"""

from __future__ import annotations

import difflib
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import combinations

from ircheck.api import check_source
from ircheck.grammar.diagnostics import IrcheckError
from ircheck.grammar.parser import parse
from ircheck.pipeline import InternalError
from ircheck.result import HOLDS, VIOLATED, Report
from ircheck.spec.repairs import Candidate, EditConflict, candidates, combine

CANDIDATE_MAX_STATES = 300_000   # per candidate: a repaired model is about as big as the original
CANDIDATE_TIMEOUT = 20.0         # seconds per candidate
TOTAL_TIMEOUT = 120.0            # seconds for the whole suggestion search
MAX_SHOWN = 5                    # fixes reported (all of the smallest size, up to this many)


@dataclass
class Fix:
    """A set of repairs that makes every check hold, with the repaired source and its diff."""

    repairs: tuple[Candidate, ...]
    source: str
    diff: str

    @property
    def description(self) -> str:
        return "; ".join(c.description for c in self.repairs)

    @property
    def changed_lines(self) -> int:
        return sum(1 for ln in self.diff.splitlines() if ln[:1] in "+-" and ln[:3] not in ("+++", "---"))

    def to_json(self) -> dict[str, object]:
        return {"description": self.description,
                "repairs": [{"key": c.key, "description": c.description, "line": c.line} for c in self.repairs],
                "diff": self.diff}


@dataclass
class Suggestions:
    """The outcome of a suggestion search: the fixes and what it took to find them."""

    fixes: list[Fix] = field(default_factory=list)
    tried: int = 0
    candidates: int = 0
    seconds: float = 0.0
    budget_hit: str = ""   # why the search stopped early, if it did

    def to_json(self) -> list[dict[str, object]]:
        return [f.to_json() for f in self.fixes]


def unified_diff(path: str, before: str, after: str) -> str:
    """The change as a unified diff of the .irq source (a/PATH, b/PATH, 2 lines of context)."""
    name = path.lstrip("/")  # git's a/ b/ prefixes; an absolute path keeps a single slash
    return "".join(difflib.unified_diff(before.splitlines(keepends=True), after.splitlines(keepends=True),
                                        f"a/{name}", f"b/{name}", n=2))


def _violated(r: Report) -> frozenset[str]:
    return frozenset(c.name for c in r.checks if c.status == VIOLATED)


def suggest(source: str, path: str, checks: Sequence[str] | None = None, *,
            max_states: int = CANDIDATE_MAX_STATES, timeout: float = CANDIDATE_TIMEOUT,
            total_timeout: float = TOTAL_TIMEOUT, original: Report | None = None,
            max_memory_mb: float | None = None, budget_name: str = "") -> Suggestions:
    """Repairs of `source` that make every check hold (the model's checks, or `checks`).

    `original` is the report of the unrepaired model if the caller has it (saves one search).
    Each candidate is searched under `max_states`, `timeout` (capped by what is left of
    `total_timeout`) and `max_memory_mb`; when `total_timeout` runs out the search stops and says so,
    naming `budget_name` (e.g. the run's own --timeout) or else "the suggestion budget of N s".
    Bad input, or a model whose checks already hold, has nothing to suggest."""
    t0 = time.monotonic()
    out = Suggestions()
    try:
        model = parse(source, path)
    except IrcheckError:
        return out
    base = original if original is not None else check_source(source, path, checks, max_states=max_states,
                                                               timeout=timeout, max_memory_mb=max_memory_mb)
    if base.errors or base.verdict == HOLDS:
        return out
    before = _violated(base)
    cands = candidates(model)
    out.candidates = len(cands)
    improving: list[Candidate] = []

    def attempt(combo: tuple[Candidate, ...]) -> Report | None:
        left = total_timeout - (time.monotonic() - t0)
        if left <= 0:
            out.budget_hit = budget_name or f"the suggestion budget of {total_timeout:g} s"
            return None
        try:
            text = combine(source, combo)
        except EditConflict:
            return None
        out.tried += 1
        try:
            r = check_source(text, path, checks, max_states=max_states, timeout=min(timeout, left),
                             max_memory_mb=max_memory_mb)
        except InternalError:  # an engine bug on this candidate: not a fix, and not ours to report here
            return None
        if "interrupted" in r.stats.stopped_by:  # Ctrl-C: the engine turned it into "inconclusive"
            out.budget_hit = "an interrupt (Ctrl-C)"
            return None
        if not r.errors and r.verdict == HOLDS:
            out.fixes.append(Fix(combo, text, unified_diff(path, source, text)))
        return r

    for c in cands:
        r = attempt((c,))
        if out.budget_hit:  # the budget, or Ctrl-C
            break
        if r is not None and not r.errors and _violated(r) < before:
            improving.append(c)
    if not out.fixes and not out.budget_hit:
        rest = [c for c in cands if c not in improving]
        pairs = list(combinations(improving, 2)) + [(a, b) for a in improving for b in rest] + \
            list(combinations(rest, 2))
        for a, b in pairs:
            if a.key.split(":")[1:] == b.key.split(":")[1:] and {a.key[:3], b.key[:3]} <= {"irq", "bh:"}:
                continue  # two flavours of the same repair of the same thing
            attempt((a, b))
            if out.budget_hit:
                break
    out.fixes.sort(key=lambda f: (len(f.repairs), f.changed_lines))
    if out.fixes:
        size = len(out.fixes[0].repairs)
        out.fixes = [f for f in out.fixes if len(f.repairs) == size][:MAX_SHOWN]
    out.seconds = time.monotonic() - t0
    return out


def suggestions_text(s: Suggestions) -> str:
    """The "Suggested fixes:" block printed after the report."""
    if not s.fixes:
        why = f"; stopped at {s.budget_hit}" if s.budget_hit else ""
        return f"Suggested fixes: none found ({s.tried} candidate{'s' if s.tried != 1 else ''} tried{why})"
    out = ["Suggested fixes (every check holds after each):"]
    for i, f in enumerate(s.fixes, 1):
        for j, c in enumerate(f.repairs):
            out.append(f"  {i}. " if j == 0 else "     and ")
            out[-1] += f"{c.description}  [line {c.line}]"
        out += [("     " + ln).rstrip() for ln in f.diff.rstrip("\n").split("\n")]
    return "\n".join(out)
