"""From raw results to verdicts, for every engine (explicit, compact, parallel, reduced, Z3).

Engines return `outcome.SearchResult`s: per check the first raw violation (packed states, maybe a
final transition or a loop), the facts reached, the bound hit, why the search stopped. This module
alone decides what the user is told:

- `judge_facts`: the checks judged over every fact reached (`ts.judge`, lockdep) become violations;
- `violation_result`: a raw violation replayed through the reference step function (spec/step.py;
  a trace that does not replay is an `InternalError`, never shown) and explained (spec/explain.py),
  its message completed as the catalogue's `Presented` says;
- `verdicts`: per enabled check, in report order - violated (with its trace), else inconclusive
  (the model bound hit, the search stopped, a graph analysis stopped or an engine that cannot
  prove), else holds.
"""

from __future__ import annotations

from collections.abc import Callable

from ircheck.outcome import RawViolation, SearchResult
from ircheck.result import HOLDS, INCONCLUSIVE, VIOLATED, CheckResult
from ircheck.spec.checks import BY_NAME, Presented
from ircheck.spec.context import Layout
from ircheck.spec.design import SPURIOUS
from ircheck.spec.explain import Step, explain, stacks_text, unfinished_contexts
from ircheck.spec.interrupts import counts, counts_text
from ircheck.spec.step import ReplayError, find_step, fire, replay
from ircheck.spec.ts import TransitionSystem
from ircheck.spec.waits import blocked_at, wait_for_edges

Unpack = Callable[[int], tuple[int, ...]]


class InternalError(Exception):
    """An engine disagreed with the reference semantics: a bug in ircheck, never shown as a result."""


def replayed_trace(ts: TransitionSystem, unpack: Unpack,
           v: RawViolation) -> tuple[list[int], list[tuple[int, ...]], int | None]:
    """Transition indices and states of a raw counterexample, replayed through the reference step()."""
    packed = list(v.path)
    states = [unpack(s) for s in packed]
    steps: list[int] = []
    for a, b in zip(states, states[1:], strict=False):
        steps.append(find_step(ts, a, b))
    loop_start = None
    if v.last is not None:
        steps.append(v.last)
        states.append(fire(ts, states[-1], v.last))
    if v.cycle:
        loop_start = len(steps)
        cyc = [unpack(s) for s in v.cycle]
        for a, b in zip(cyc, cyc[1:], strict=False):
            steps.append(find_step(ts, a, b))
            states.append(b)
    replayed = replay(ts, steps)
    if replayed != states:
        raise InternalError(f"trace for {v.check} does not replay through the reference semantics")
    return steps, states, loop_start


def violation_result(ts: TransitionSystem, unpack: Unpack, v: RawViolation) -> CheckResult:
    """The violated CheckResult of raw violation v (`unpack`: the engine's packed state -> values)."""
    try:
        steps, states, loop_start = replayed_trace(ts, unpack, v)
    except ReplayError as e:
        raise InternalError(f"{v.check}: {e}") from e
    liveness = v.cycle is not None or v.check in {r.check for r in ts.requests}
    presented = BY_NAME[v.check].presented if v.check in BY_NAME else Presented.PLAIN  # the catalogue's
    blocked = blocked_step(ts, states[-1], len(steps), v.wait) if presented is Presented.STUCK else None
    bad = len(steps) - 1 if steps and not liveness and blocked is None else None
    trace = explain(ts, states, steps, bad)
    message = v.message
    if presented is Presented.STUCK and not v.whole:
        stuck = unfinished_contexts(ts, states[-1])
        if stuck:
            message += ": " + ", ".join(stuck) + " can never move again"
        edges = wait_for_edges(ts.waits, states[-1])  # issue 16 item 17: the locks and who waits for whom
        if edges:
            message += f" (wait-for: {edges})"
    if presented is Presented.STACKS:
        message += f" ({stacks_text(ts, states[-1])})"
    if loop_start is not None:
        span = f"step {len(steps)} repeats" if loop_start + 1 == len(steps) else \
            f"steps {loop_start + 1}-{len(steps)} repeat"
        message += f" (the run loops: {span} for ever)"
    elif presented is Presented.TERMINAL:
        message += " (after the last step no CPU can take it)"
    names = [var.name for var in ts.vars]
    full = [dict(zip(names, s, strict=True)) for s in states]
    layout = ts.meta if isinstance(ts.meta, Layout) else None
    irqs = {} if layout is None else counts(layout, steps)
    return CheckResult(v.check, VIOLATED, message, trace, loop_start + 1 if loop_start is not None else None,
                       v.line, states=full, blocked=blocked,
                       interrupts={("SPU" if n == SPURIOUS else str(n)): per for n, per in irqs.items()},
                       interrupts_text="" if layout is None else counts_text(layout, irqs))


def blocked_step(ts: TransitionSystem, last: tuple[int, ...], number: int, wait: int | None) -> Step | None:
    """A deadlock's acquisition that can never proceed (issue 16 item 17, D0): the statement the
    blocked context is at in the `last` state, marked as the violation, or None when no wait is
    blocked there (a quiet state with nothing held)."""
    at = blocked_at(ts.waits, last, wait)
    if at is None:
        return None
    context, action, line = at
    return Step(number, context, action, line, note="violation", lane=context)


def judge_facts(ts: TransitionSystem, res: SearchResult) -> None:
    """Checks judged over every reachable fact (lockdep): a violation found on a partial search is
    still real; "holds" needs the complete search, which the caller already requires."""
    if ts.judge is None or not res.facts:
        return
    for fv in ts.judge(list(res.facts)):  # discovery order: the shallowest witnesses first
        if fv.check in ts.checks and fv.check not in res.violations:
            w = res.facts[fv.witness]
            res.violations[fv.check] = RawViolation(fv.check, fv.message, w.path, w.last, line=fv.line)


Judge = Callable[[str], tuple[str, str]]


def bound_note(res: SearchResult) -> str:
    return res.bound_hit + "; the model is only explored up to it"


def verdicts(ts: TransitionSystem, unpack: Unpack, res: SearchResult, judge: Judge | None = None) -> list[CheckResult]:
    """Every enabled check, in report order, after `judge_facts`: violated (with its trace, and
    `res.more`: the further counterexamples of --max-traces), else inconclusive when the model
    bound was hit, else the engine's own `judge` (status, note) if it has one (the Z3 engine: how
    it proved it, or what is missing), else inconclusive when the search stopped or an analysis
    left the check undecided (`res.unproved`), else holds."""
    judge_facts(ts, res)
    out: list[CheckResult] = []
    for name in ts.checks:
        v = res.violations.get(name)
        if v is not None:
            out.append(violation_result(ts, unpack, v))
            out[-1].more = [violation_result(ts, unpack, w) for w in res.more.get(name, [])]
        elif res.bound_hit:
            out.append(CheckResult(name, INCONCLUSIVE, note=bound_note(res)))
        elif judge is not None:
            status, note = judge(name)
            out.append(CheckResult(name, status, note=note))
        elif not res.complete:
            out.append(CheckResult(name, INCONCLUSIVE,
                                   note=f"search stopped ({res.stopped_by}) after {res.states} states"))
        elif name in res.unproved:  # compact searches and stopped graph analyses: not "holds"
            out.append(CheckResult(name, INCONCLUSIVE, note=res.unproved[name]))
        else:
            out.append(CheckResult(name, HOLDS))
    return out
