"""Liveness-to-safety (checker/smt_l2s.py): a request is proved loop-free only when no fair lasso keeps it
pending, judged by the explicit engine on the same system restricted to that request."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import HealthCheck, assume, given, settings

from ircheck.api import compile_source, run_engine
from ircheck.result import HOLDS, VIOLATED
from ircheck.smt_budget import Budget
from ircheck.smt_encode import Encoding
from ircheck.smt_l2s import LoopProver
from ircheck.spec.ts import C, Eq, Label, Request, Transition, TransitionSystem, V, Var
from tests.conftest import MODELS
from tests.support.generators import models

TRUE = Eq(C(0), C(0))


def spin_system(with_spin: bool) -> TransitionSystem:
    """A request raised by a device and delivered by cpu0; with `with_spin`, cpu0 may also spin for ever."""
    spin = Transition(Label("cpu0", "spin", 1, 0), TRUE, (), group="cpu0", fair=("cpu0",))
    deliver = Transition(Label("cpu0", "take", 2, 0), Eq(V(0), C(1)), ((0, C(0)),), group="cpu0", fair=("cpu0",))
    raise_ = Transition(Label("dev", "raise", 3), Eq(V(0), C(0)), ((0, C(1)),))
    req = Request("no_starvation", "r", Eq(V(0), C(1)), frozenset({1 if with_spin else 0}), "starved", 3)
    trans = [spin, deliver, raise_] if with_spin else [deliver, raise_]
    return TransitionSystem([Var("p", 2)], trans, requests=[req], checks=["no_starvation"], groups=("cpu0",))


def test_a_loop_that_serves_the_cpu_but_not_the_request_is_not_proved_away() -> None:
    ts = spin_system(with_spin=True)
    assert not LoopProver(Encoding(ts), Budget(None, None)).proves(0, cap=20)


def test_no_fair_loop_when_the_only_cpu_step_delivers() -> None:
    ts = spin_system(with_spin=False)
    assert LoopProver(Encoding(ts), Budget(None, None)).proves(0, cap=20)


def test_strong_fairness_of_a_group_rules_out_a_loop_that_keeps_it_enabled() -> None:
    """cpu0 spins or delivers; under weak fairness of cpu0 the spin loop is fair (cpu0 moves); when the
    delivery is its own strongly fair group, a loop where delivery stays enabled must take it."""
    ts = spin_system(with_spin=True)
    tr = list(ts.transitions)
    tr[1] = dataclasses.replace(tr[1], fair=("cpu0", "inta"))
    strong = dataclasses.replace(ts, transitions=tr, groups=("cpu0", "inta"), strong=frozenset({"inta"}))
    weak = dataclasses.replace(strong, strong=frozenset())
    assert LoopProver(Encoding(strong), Budget(None, None)).proves(0, cap=20)
    assert explicit_lasso(strong, 0) is False
    # weak fairness of "inta" is served by a loop where it is disabled somewhere: never here (p stays 1)
    assert LoopProver(Encoding(weak), Budget(None, None)).proves(0, cap=20)
    assert explicit_lasso(weak, 0) is False
    spin_only = dataclasses.replace(weak, groups=("cpu0",), transitions=list(ts.transitions))
    assert not LoopProver(Encoding(spin_only), Budget(None, None)).proves(0, cap=20)
    assert explicit_lasso(spin_only, 0) is True


def explicit_lasso(ts: TransitionSystem, r: int) -> bool | None:
    """Does the explicit engine find a fair lasso for request r alone? None: it found only a pending
    state with no fair step, which says nothing about loops."""
    one = dataclasses.replace(ts, requests=[ts.requests[r]], checks=[ts.requests[r].check])
    out, _ = run_engine(one, "explicit")
    res = out[0]
    if res.status == HOLDS:
        return False
    assert res.status == VIOLATED
    return True if res.loop_start is not None else None


def sound_on(text: str, cap: float = 3.0) -> int:
    """Every request LoopProver proves has no fair lasso; returns how many it proved."""
    ts = compile_source(text, checks=["no_starvation"])
    proved = 0
    for r in range(len(ts.requests)):
        if LoopProver(Encoding(ts), Budget(None, None)).proves(r, cap=cap):
            proved += 1
            assert explicit_lasso(ts, r) is not True, (text, r)
    return proved


@pytest.mark.parametrize("name", ["thread_cli_forever", "level_no_ack_storm", "timer_flood_starves_disk"])
def test_bundled_lassos_are_never_proved_away(name: str) -> None:
    ts = compile_source((MODELS / f"{name}.irq").read_text(), checks=["no_starvation"])
    lassos = [r for r in range(len(ts.requests)) if explicit_lasso(ts, r)]
    assert lassos, name
    for r in lassos:
        assert not LoopProver(Encoding(ts), Budget(None, None)).proves(r, cap=5)


@pytest.mark.parametrize("name", ["nic_single_raise", "double_eoi", "shared_function_reentry",
                                  "x86_nmi_second_held_until_iret"])
def test_bundled_starvation_free_requests_are_proved(name: str) -> None:
    text = (MODELS / f"{name}.irq").read_text()
    ts = compile_source(text, checks=["no_starvation"])
    assert ts.requests
    # each proof takes about a second on an idle machine; the cap is wall-clock time, so it is generous
    # (3 s failed once in a loaded CI run)
    assert sound_on(text, cap=60.0) == len(ts.requests)


def small(text: str) -> bool:
    out, stats = run_engine(compile_source(text, checks=["no_starvation"]), "explicit", max_states=2000)
    return stats.complete


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(models())
def test_proved_requests_have_no_fair_lasso(text: str) -> None:
    assume(small(text))
    sound_on(text)


@pytest.mark.slow
@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(models())
def test_proved_requests_have_no_fair_lasso_many(text: str) -> None:
    assume(small(text))
    sound_on(text)
