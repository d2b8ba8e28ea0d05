"""The Z3 engine's verdicts: `run_smt` runs `smt_engine.SmtEngine` and turns its raw results into
the same CheckResults and Stats as the explicit engine, through checker/pipeline.py (every trace
replayed through spec/step.py, explained, its message completed from the catalogue).

Verdicts: violated when found; holds only when every target of the check is
proved unreachable (and the model bound and the lockdep facts are decided);
else inconclusive with a note that says what is missing. A liveness request
holds when it can never be pending, or when no fair loop keeps it pending
(liveness-to-safety, or every lasso up to a bound searched) and no pending
state is left without a fair step (its "terminal" target).
"""

from __future__ import annotations

from collections.abc import Callable

import z3

from ircheck.pipeline import Judge, bound_note, judge_facts
from ircheck.pipeline import verdicts as pipeline_verdicts
from ircheck.result import HOLDS, INCONCLUSIVE, VIOLATED, CheckResult, Stats
from ircheck.smt_bmc import Target
from ircheck.smt_engine import SmtEngine as SmtEngine
from ircheck.smt_engine import SmtRun as SmtRun
from ircheck.spec.ts import TransitionSystem


def _how(run: SmtRun, targets: list[Target]) -> str:
    """Which provers closed these targets."""
    ks = [run.proved_k[t.key] for t in targets if t.key in run.proved_k]
    ways = [f"k-induction, k = {max(ks)}"] if ks else []
    if ks and any(t.key in run.strengthened for t in targets):
        ways[0] += f" with {run.invariants} auxiliary invariants (Houdini)"
    if any(t.key in run.proved_by_spacer for t in targets):
        ways.append("Spacer (IC3/PDR invariant)")
    return " and ".join(ways)


def z3_version() -> str:
    return str(z3.get_version_string())


def run_smt(ts: TransitionSystem, timeout: float | None = None, max_memory_mb: float | None = None,
            max_depth: int | None = None, progress: Callable[[int, int, float], None] | None = None,
            timeout_shown: float | None = None) -> tuple[list[CheckResult], Stats]:
    """Every enabled check of `ts` decided by the Z3 engine, as `api.run_engine` returns them.
    progress: the progress line's callback (states -1, the BMC depth, seconds); timeout_shown: the
    --timeout to name when it stops the run (the user's, when `auto` hands over what is left of it)."""
    eng = SmtEngine(ts, timeout, max_memory_mb, max_depth, progress, timeout_shown)
    run = eng.run()
    res = run.res
    out = pipeline_verdicts(ts, eng.pk.unpack, res, _judge(eng, run))
    ks = list(run.proved_k.values())
    decided = all(c.status != INCONCLUSIVE for c in out)
    stats = Stats("smt", 0, 0, res.depth, res.seconds, res.peak_mb, decided and not res.stopped_by,
                  res.stopped_by or ("nesting bound" if res.bound_hit else "" if decided else
                                     "liveness not decided by Z3" if run.complete_at is not None else
                                     f"depth {eng.max_depth} reached"))
    stats.smt = {"bmc_depth": res.depth, "k": max(ks, default=0),
                 "solver_seconds": round(eng.budget.solver_seconds, 3), "z3": z3_version()}
    if run.lasso_depth:
        stats.smt["lasso_depth"] = run.lasso_depth
    if run.complete_at is not None:
        stats.smt["complete_at"] = run.complete_at
    if eng.houdini is not None:
        stats.smt["houdini"] = {"samples": eng.houdini.samples, "candidates": len(eng.houdini.cands or []),
                                "rounds": eng.houdini.rounds, "invariants": run.invariants}
    return out, stats


def verdicts(eng: SmtEngine, run: SmtRun) -> list[tuple[str, str, str]]:
    """(check, status, note) for every enabled check, after judging the lockdep facts found, as
    `run_smt` decides them (without the traces).

    Kept apart from the CheckResults so that tests on hand-built systems (no presentation data)
    can read the verdicts and the raw counterexamples."""
    ts, res = eng.ts, run.res
    judge_facts(ts, res)
    judge = _judge(eng, run)
    return [(name, VIOLATED, "") if name in res.violations else
            (name, INCONCLUSIVE, bound_note(res)) if res.bound_hit else (name, *judge(name))
            for name in ts.checks]


def _judge(eng: SmtEngine, run: SmtRun) -> Judge:
    """The Z3 engine's verdict on a check it found no violation of and no bound: holds with how it
    was proved, or inconclusive with what is missing."""
    res = run.res
    by_check: dict[str, list[Target]] = {}
    for t in eng.targets:
        if t.kind in ("check", "quiet", "wait", "terminal", "pending"):
            by_check.setdefault(t.name, []).append(t)
    facts = [t for t in eng.targets if t.kind == "fact"]
    facts_open = eng.ts.judge is not None and any(t.key not in eng.found and t.key not in eng.proved
                                                  for t in facts)
    bound = [t for t in eng.targets if t.kind == "bound"]
    bound_open = any(t.key not in eng.found and t.key not in eng.proved for t in bound)
    why_stopped = res.stopped_by or f"depth {eng.max_depth} reached"

    def judge(name: str) -> tuple[str, str]:
        mine = by_check.get(name, [])
        note = _missing(eng, run, name, mine, facts_open, bound_open, why_stopped)
        return (INCONCLUSIVE, note) if note else (HOLDS, _proof_note(eng, run, mine, bound + facts))
    return judge


def _missing(eng: SmtEngine, run: SmtRun, name: str, mine: list[Target], facts_open: bool, bound_open: bool,
             why: str) -> str:
    """Why `name` cannot be called "holds" ("" when it can)."""
    if name in eng.live_checks:
        looping = [t for t in mine if t.kind == "pending" and t.key not in eng.proved
                   and t.request not in run.no_loop]
        if looping and run.lasso_bound is None:
            reason = run.res.stopped_by or "liveness-to-safety did not close"
            return (f"no fair lasso of up to {run.lasso_depth} steps, but the Z3 engine did not prove that none "
                    f"exists ({reason}; --engine explicit decides it where the states fit)")
    open_ = [t for t in mine if t.key not in eng.proved and t.kind != "pending"]
    if open_:
        if any(t.kind in ("quiet", "wait") for t in open_) and run.undecided_quiet:
            return f"whether a reachable quiet or blocked state can move again was not decided ({why})"
        return f"not proved: no violation up to depth {run.res.depth}, k-induction did not close ({why})"
    if bound_open:
        return f"not proved that the model's bound is never reached ({why})"
    if facts_open:
        return f"the lockdep facts are not all decided ({why})"
    return ""


def _proof_note(eng: SmtEngine, run: SmtRun, mine: list[Target], extra: list[Target]) -> str:
    if any(t.kind == "terminal" for t in mine) and run.lasso_bound is not None:
        return (f"proved: no fair lasso of up to {run.lasso_bound} steps, and no loop-free path is longer "
                f"than {(run.no_path_at or 1) - 1} steps")
    if any(t.kind == "pending" and t.request in run.no_loop for t in mine):
        loops = "proved: no fair loop keeps a request waiting (liveness-to-safety, Spacer invariant)"
        if run.complete_at is not None:
            return f"{loops}; every reachable state was checked for one waiting with no fair step"
        rest = [t for t in mine if t.kind != "pending"]
        return f"{loops}; no request waits with no fair step: " + (_how(run, rest) or "nothing can break it")
    if run.complete_at is not None:
        return f"proved: no loop-free path of {run.complete_at} steps, every reachable state was checked"
    own, side = _how(run, mine), _how(run, extra)
    if not own and not side:
        return "nothing in the model can break it"
    if not own:
        return f"nothing in the model can break it; the rest (model bound, lockdep facts) proved by {side}"
    return f"proved by {own}" + (f"; the rest (model bound, lockdep facts) by {side}" if side and side != own else "")
