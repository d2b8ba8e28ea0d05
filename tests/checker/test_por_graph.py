"""Partial-order reduction while deadlock or liveness checks are on (checker/por.py `graph=True`,
checker/por_graph.py; the proof is in checker/por.py's docstring).

- generated models of every family, with their default checks (deadlock and liveness among them):
  `--reduction por` and `por,symmetry` give the verdicts, messages and counterexamples (step for
  step, loops included) of `--reduction none`, with at most as many states - also when the trial
  stops the reduction early (`TRIAL` made small) and when the analyses recompute the reduced edges
  (no edge log);
- each of the three conditions on hand-made systems where leaving it out gives a false "holds"
  (the fairness condition) or a graph the analyses would misjudge (the pending states expanded in
  full, the waits visible);
- the trial on gen_kernel 2 2 2: it stops after 2 * TRIAL states, the note says so.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, assume, given, settings

import ircheck
from ircheck import por_graph
from ircheck.api import compile_source, run_engine
from ircheck.codegen import Packing
from ircheck.explicit import Explicit, Limits
from ircheck.por import local_fair, por_tables
from ircheck.reduce_plan import parse_reduction, plan
from ircheck.result import Report
from ircheck.spec.checks import DEADLOCK_CHECK
from ircheck.spec.ts import And, C, Eq, Label, Request, Transition, TransitionSystem, V, Var, Wait
from tests.conftest import MODELS
from tests.support.generators import (
    atomic_models,
    kernel_models,
    models,
    seq_models,
    symmetric_graph_models,
    timer_models,
    waitq_models,
)
from tests.support.naive import small_enough


def _outcome(r: Report) -> list[tuple[str, str, str, list[object], int | None]]:
    return [(c.name, c.status, c.message, [s.to_json() for s in c.trace], c.loop_start) for c in r.checks]


def _agree_graph(text: str) -> None:
    """The default checks, with POR (and symmetry) against none: same verdicts and traces."""
    off = ircheck.check_source(text, reduction="none")
    assert not off.errors
    for r in ("por", "por,symmetry"):
        on = ircheck.check_source(text, reduction=r)
        assert _outcome(on) == _outcome(off), (text, r)
        assert on.stats.complete == off.stats.complete, (text, r)
        assert on.stats.states <= off.stats.states or off.stats.stopped_by, (text, r)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(models())
def test_generated_bare_metal_models_agree_with_graph_checks(text: str) -> None:
    assume(small_enough(text, 50_000))
    _agree_graph(text)


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(kernel_models())
def test_generated_kernel_models_agree_with_graph_checks(text: str) -> None:
    assume(small_enough(text, 50_000))
    _agree_graph(text)


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(waitq_models())
def test_generated_waitq_models_agree_with_graph_checks(text: str) -> None:
    assume(small_enough(text, 50_000))
    _agree_graph(text)


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(atomic_models())
def test_generated_atomic_models_agree_with_graph_checks(text: str) -> None:
    assume(small_enough(text, 50_000))
    _agree_graph(text)


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(symmetric_graph_models())
def test_generated_symmetric_models_agree_with_graph_checks(text: str) -> None:
    assume(small_enough(text, 50_000))
    _agree_graph(text)


@pytest.mark.slow
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(models())
def test_generated_bare_metal_models_agree_with_graph_checks_many(text: str) -> None:
    assume(small_enough(text, 50_000))
    _agree_graph(text)


@pytest.mark.slow
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(kernel_models())
def test_generated_kernel_models_agree_with_graph_checks_many(text: str) -> None:
    assume(small_enough(text, 50_000))
    _agree_graph(text)


@pytest.mark.slow
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(waitq_models())
def test_generated_waitq_models_agree_with_graph_checks_many(text: str) -> None:
    assume(small_enough(text, 50_000))
    _agree_graph(text)


@pytest.mark.slow
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(timer_models())
def test_generated_timer_models_agree_with_graph_checks_many(text: str) -> None:
    assume(small_enough(text, 50_000))
    _agree_graph(text)


@pytest.mark.slow
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seq_models())
def test_generated_seq_models_agree_with_graph_checks_many(text: str) -> None:
    assume(small_enough(text, 50_000))
    _agree_graph(text)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(kernel_models())
def test_a_trial_that_stops_early_keeps_the_verdicts(text: str) -> None:
    """TRIAL 2 and KEEP past any count: the search switches to full expansion at state 4, with the
    edge log and without it (the analyses then recompute the edges, reduced ones up to state 4)."""
    assume(small_enough(text, 20_000))
    mp = pytest.MonkeyPatch()
    try:
        mp.setattr(por_graph, "TRIAL", 2)
        mp.setattr(por_graph, "KEEP", 1e9)
        _agree_graph(text)
    finally:
        mp.undo()


def _verdicts(eng: Explicit) -> tuple[dict[str, int], int]:
    res = eng.run()
    return {c: len(v.path) + len(v.cycle or ()) for c, v in res.violations.items()}, res.states


@pytest.mark.parametrize("name", ["kernel_shared_irq_two_handlers.irq", "kernel_seqcount_u64_stats.irq",
                                  "kernel_safe_to_unsafe_deadlock.irq", "kernel_waitq_exclusive_wakes_one.irq",
                                  "kernel_rwlock_netlink_table.irq", "kernel_epoll_lost_wakeup.irq"])
def test_the_analyses_recompute_the_reduced_edges_without_the_log(name: str) -> None:
    """With the edge log and without it (`keep_edges` off: `Explicit.edges` follows `PorStep`), the
    same violations, path lengths and stored states, on the quotient and off it."""
    ts = compile_source((MODELS / name).read_text(), name)
    for red in ("por", "por,symmetry"):
        p = plan(ts, parse_reduction(red))
        assert "por" in p.applied and p.graph
        got = []
        for keep in (True, False):
            eng = Explicit(ts, Limits())
            eng.quotient, eng.fact_orbit, eng.por, eng.keep_edges = p.quotient, p.fact_orbit or {}, p.tables, keep
            got.append(_verdicts(eng))
            assert eng.por_step is not None and eng.por_step.reduced > 0
        assert got[0] == got[1], (name, red)


# ---- the conditions, one by one ---------------------------------------------------------------------

def _lazy_cpu(fair_step: bool) -> TransitionSystem:
    """cpu0 walks pc 0 -> 1 by step t (fairness group cpu0 only when `fair_step`), then at pc 1 takes
    the raised line (r 1 -> 0, delivering the request). A device raises r. Without fairness on t a
    run may stay at (pc 0, r 1) for ever: starvation. POR may not expand t alone at (0, 0) then: the
    state (0, 1) would never be stored and the violation never seen."""
    lbl = Label("t", "a")
    return TransitionSystem(
        vars=[Var("pc", 2), Var("r", 2)],
        transitions=[Transition(lbl, Eq(V(0), C(0)), ((0, C(1)),), group="cpu0", fair=("cpu0",) if fair_step else ()),
                     Transition(lbl, And(Eq(V(0), C(1)), Eq(V(1), C(1))), ((1, C(0)),), group="cpu0", fair=("cpu0",)),
                     Transition(lbl, Eq(V(1), C(0)), ((1, C(1)),))],
        requests=[Request("no_starvation", "r", Eq(V(1), C(1)), frozenset({1}), "r never taken")],
        checks=["no_starvation"], groups=("cpu0",))


@pytest.mark.parametrize("fair_step", [False, True])
def test_a_step_without_a_fairness_group_of_its_cpu_is_visible(fair_step: bool) -> None:
    ts = _lazy_cpu(fair_step)
    tables = por_tables(ts, Packing.of(ts), graph=True)
    assert local_fair(ts) == [fair_step, True, False]
    assert tables.visible[0] is (not fair_step)
    full, _ = run_engine(ts, "explicit", reduction="none")
    red, stats = run_engine(ts, "explicit", reduction="por")
    assert [c.status for c in red] == [c.status for c in full] == ["holds" if fair_step else "violated"]
    assert stats.states == (3 if fair_step else 4) and "por" in stats.reductions


def _pending_walker() -> TransitionSystem:
    """r is raised at the start (a device may raise it again until it is taken once), another device
    sets z once; cpu0 walks pc 0 -> 1 -> 2 -> 3 (invisible, fair), takes r at pc 3 (pc 4), then walks
    q. A walk step is ample on its own - but where r is pending the state is expanded in full: the
    fairness judgement reads a pending state's whole row. No starvation."""
    lbl = Label("t", "a")
    walk = [Transition(lbl, Eq(V(0), C(k)), ((0, C(k + 1)),), group="cpu0", fair=("cpu0",)) for k in range(3)]
    walk += [Transition(lbl, And(Eq(V(0), C(4)), Eq(V(4), C(k))), ((4, C(k + 1)),), group="cpu0", fair=("cpu0",))
             for k in range(2)]  # then, r taken (pc 4), q 0 -> 1 -> 2
    return TransitionSystem(
        vars=[Var("pc", 5), Var("r", 2, 1), Var("done", 2), Var("z", 2), Var("q", 3)],
        transitions=[*walk,
                     Transition(lbl, And(Eq(V(0), C(3)), Eq(V(1), C(1))), ((0, C(4)), (1, C(0)), (2, C(1))),
                                group="cpu0", fair=("cpu0",)),
                     Transition(lbl, And(Eq(V(1), C(0)), Eq(V(2), C(0))), ((1, C(1)),)),
                     Transition(lbl, Eq(V(3), C(0)), ((3, C(1)),))],
        requests=[Request("no_starvation", "r", Eq(V(1), C(1)), frozenset({5}), "r never taken")],
        checks=["no_starvation"], groups=("cpu0",))


def test_pending_states_are_expanded_in_full() -> None:
    ts = _pending_walker()
    p = plan(ts, parse_reduction("por"))
    eng = Explicit(ts, Limits())
    eng.por = p.tables
    res = eng.run()
    step = eng.por_step
    assert step is not None and step.reduced > 0
    busy = [i for i, s in enumerate(eng.seen) if eng.pk.unpack(s)[1] == 1]
    assert len(busy) > 3 and all(step.full[i] for i in busy)
    assert res.violations == {}
    full, fstats = run_engine(ts, "explicit", reduction="none")
    red, stats = run_engine(ts, "explicit", reduction="por")
    assert [c.status for c in red] == [c.status for c in full] == ["holds"]
    assert stats.reductions == ("por",) and stats.states <= fstats.states


def _blocker() -> TransitionSystem:
    """cpu0 takes lock l (l 0 -> 1) and never releases it; cpu1's wait on l is blocked while l is 1.
    Taking the lock changes the wait's `blocked`: visible, never expanded alone."""
    lbl = Label("t", "a")
    blocked = And(Eq(V(1), C(1)), Eq(V(2), C(1)))
    return TransitionSystem(
        vars=[Var("pc0", 2), Var("l", 2), Var("pc1", 2)],
        transitions=[Transition(lbl, Eq(V(0), C(0)), ((0, C(1)), (1, C(1))), group="cpu0", fair=("cpu0",)),
                     Transition(lbl, Eq(V(2), C(0)), ((2, C(1)),), group="cpu1", fair=("cpu1",)),
                     Transition(lbl, And(Eq(V(2), C(1)), Eq(V(1), C(0))), ((1, C(1)), (2, C(0))), group="cpu1",
                                fair=("cpu1",))],
        waits=[Wait("cpu1", blocked, "cpu1 waits for l for ever")],
        checks=[DEADLOCK_CHECK], groups=("cpu0", "cpu1"))


def test_a_step_that_changes_a_waits_blocked_is_visible() -> None:
    ts = _blocker()
    tables = por_tables(ts, Packing.of(ts), graph=True)
    assert tables.visible == [True, True, False]  # cpu1 reaching the wait blocks it; taking l does not
    full, _ = run_engine(ts, "explicit", reduction="none")
    red, _ = run_engine(ts, "explicit", reduction="por")
    assert [(c.status, len(c.trace)) for c in red] == [(c.status, len(c.trace)) for c in full]
    assert full[0].status == "violated"


# ---- the trial, measured ---------------------------------------------------------------------------

@pytest.mark.slow
def test_the_trial_stops_por_on_gen_kernel_2_2_2() -> None:
    """gen_kernel 2 2 2: after 2 * TRIAL states the reduced expansions had saved under KEEP * TRIAL
    states; the search goes on in full (1,151,632 states stored against 1,153,195 unreduced on the
    quotient) and the note says so."""
    import sys

    from tests.conftest import ROOT
    sys.path.insert(0, str(ROOT / "bench"))
    from gen_kernel import kernel_family
    r = ircheck.check_source(kernel_family(2, 2, 2))
    assert r.stats.reductions == ("por", "symmetry")
    assert r.stats.states == 1_151_632
    assert "por: expanded in full from state 65,536" in r.stats.reduction_note
    assert all(c.status == "holds" for c in r.checks)
