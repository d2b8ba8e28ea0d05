"""The cold paths every BFS loop shares: what a tagged transition means, when a search may stop
early, and the shell that turns the ways a search ends early into its result.

The loops themselves (checker/explicit.py, compact.py, reduce.py, ray_partition.py, and the unreduced
re-search) stay inlined for speed; they call into here only when a transition carries tags (rare)
and once per BFS level.

Tag triage (`Triage`), for transition ti enabled in a reached state s (`Transition.violates`):
- `(ts.bound_check, why)`: the model bound is hit - the first `why` becomes `bound_hit`;
- `(ts.fact_check, KEY)`: fact KEY is reached - s is its witness if it is the first;
- `(check, message)` with `check` enabled: a violation of `check` at s by ti;
- a tag of a check that is not enabled means nothing.

Early stop (`Triage.decided`): a level ends with every enabled check violated, and none of them is
judged on the state graph after the search (the catalogue's deadlock and liveness kinds, or a
liveness request): nothing is left to decide, the result is complete.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager

from ircheck.limits import INTERRUPTED, OUT_OF_MEMORY
from ircheck.outcome import RawViolation, SearchResult
from ircheck.spec.checks import DEADLOCK_CHECK, on_graph
from ircheck.spec.ts import TransitionSystem


class SearchStop(Exception):
    """Raised by a search loop after it has written why it stops into its result."""


@contextmanager
def searching(res: SearchResult) -> Iterator[None]:
    """The shell of every search loop: the garbage collector off (the loop makes only ints and lists
    of ints, which cannot form cycles), and the ways a search ends early turned into its result -
    a limit (`SearchStop`, raised after `res` says which), Ctrl-C, an allocation that failed."""
    gc_was = gc.isenabled()
    gc.disable()
    try:
        yield
    except SearchStop:
        pass
    except KeyboardInterrupt:
        res.complete, res.stopped_by = False, str(INTERRUPTED)
    except MemoryError:
        res.complete, res.stopped_by = False, str(OUT_OF_MEMORY)
    finally:
        if gc_was:
            gc.enable()


class Triage:
    """The tags of `ts`'s transitions sorted once for the search loops (see the module docstring).

    bound[ti]: the bound's reason or None; facts[ti]: the fact keys; checked[ti]: (check, message)
    of the enabled checks, in tag order; line[ti]: the transition's source line."""

    def __init__(self, ts: TransitionSystem) -> None:
        self.checks = set(ts.checks)
        self.deadlock = DEADLOCK_CHECK in self.checks        # collect the quiet states
        self.live = {r.check for r in ts.requests} & self.checks  # requests judged after the search
        self.graph = on_graph(self.checks) | self.live
        self.safety = self.checks - self.graph               # decided by the search itself
        self.bound: dict[int, str | None] = {}
        self.facts: dict[int, tuple[str, ...]] = {}
        self.checked: dict[int, tuple[tuple[str, str], ...]] = {}
        self.line: dict[int, int] = {}
        self.fact_check = ts.fact_check
        for ti, t in enumerate(ts.transitions):
            if not t.violates:
                continue
            bounds = [msg for check, msg in t.violates if check == ts.bound_check]
            self.bound[ti] = bounds[0] if bounds else None
            self.facts[ti] = tuple(msg for check, msg in t.violates if check == ts.fact_check)
            self.checked[ti] = tuple((check, msg) for check, msg in t.violates
                                     if check not in (ts.bound_check, ts.fact_check) and check in self.checks)
            self.line[ti] = t.label.line

    def decided(self, found: Collection[str]) -> bool:
        """Nothing is left to decide: every check the search judges is violated (`found`), and no
        check is judged on the graph after it."""
        return bool(self.safety) and not self.graph and all(c in found for c in self.safety)

    def settled(self, res: SearchResult, ti: int) -> bool:
        """`record` of tagged transition ti would change nothing in `res` now, nor later (without
        --max-traces): its bound is hit (or it has none), its facts are reached, its checks violated."""
        return (self.bound[ti] is None or bool(res.bound_hit)) and all(f in res.facts for f in self.facts[ti]) \
            and all(c in res.violations for c, _m in self.checked[ti])

    def record(self, res: SearchResult, ti: int, path: Callable[[], list[int]],
               more: bool = False) -> list[tuple[bool, RawViolation]]:
        """Tagged transition ti is enabled at the end of `path()` (called only when needed): its bound
        and its facts not yet reached go into `res`, and each violation of an enabled check that is
        the check's first. Returns those first violations (True) and, with `more` (--max-traces), the
        other violations (False)."""
        res.bound_hit = res.bound_hit or self.bound[ti] or ""
        line = self.line[ti]
        for fact in self.facts[ti]:
            if fact not in res.facts:
                res.facts[fact] = RawViolation(self.fact_check, fact, path(), ti, line=line)
        out: list[tuple[bool, RawViolation]] = []
        found = res.violations
        for check, msg in self.checked[ti]:
            first = check not in found
            if first or more:
                v = RawViolation(check, msg, path(), ti, line=line)
                if first:
                    found[check] = v
                out.append((first, v))
        return out
