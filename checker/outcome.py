"""What an engine returns: raw results, before the pipeline (checker/pipeline.py) judges them.

A `SearchResult` holds, per check, the first `RawViolation` found (packed states from the initial
state, maybe a final violating transition or a loop), the lockdep-style facts reached with their
shallowest witnesses, the model bound hit if any, the checks a stopped analysis left undecided,
and the size of the search and why it stopped (`stopped_by`, the text of a `limits.Stop`). No
verdict is decided here: `pipeline.verdicts` turns this into `CheckResult`s.
"""

from __future__ import annotations

from dataclasses import dataclass, field


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
    wait: int | None = None         # a deadlock: the index in `ts.waits` of the wait blocked for ever


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
