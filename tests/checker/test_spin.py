"""SPIN, on ircheck's Promela export, agrees with ircheck on every bundled model and safety check."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings

import ircheck
from ircheck.api import build, compile_source
from ircheck.grammar.parser import parse_file
from ircheck.promela import SAFETY_EXPORTED, to_promela
from ircheck.spec.ts import evaluate
from tests.conftest import MODELS
from tests.support.generators import (
    atomic_models,
    count_models,
    kernel_models,
    message_models,
    models,
    seq_models,
    timer_models,
    waitq_models,
    x86_models,
)
from tests.support.naive import Naive, small_enough
from tests.support.spin import needs_spin, spin_violates

MODEL_FILES = sorted(MODELS.glob("*.irq"))

pytestmark = [pytest.mark.slow, needs_spin]



@pytest.mark.parametrize("path", MODEL_FILES, ids=[p.name for p in MODEL_FILES])
def test_spin_agrees(path: Path, tmp_path: Path) -> None:
    report = ircheck.check_file(path)
    assert not report.errors
    for c in report.checks:
        if c.name not in SAFETY_EXPORTED or c.status == "inconclusive":
            continue
        ts = build(parse_file(path), [c.name] if c.name != "counter_range" else [])
        assert spin_violates(to_promela(ts), tmp_path) == (c.status == "violated"), c.name


# ---- generated models: bare metal, x86, kernel ----------------------------------------------------

def _spin_agrees_on(text: str, tmp_path: Path) -> None:
    """Per model: SPIN on the export of every exported check finds a violation iff ircheck finds one;
    and each check ircheck calls violated, exported alone, is violated for SPIN too (when the
    counter-range check that rides along with any export holds, so it cannot be the one SPIN hits)."""
    report = ircheck.check_source(text)
    assert not report.errors, text
    decided = {c.name: c.status for c in report.checks if c.name in SAFETY_EXPORTED}
    if "inconclusive" in decided.values() or not decided:
        return  # the nesting bound: nothing to compare
    if decided.get("no_deadlock") == "violated" and compile_source(text, checks=["no_deadlock"]).waits:
        # a context blocked for ever is exported only where a state shows it alone (`Wait.surely`):
        # SPIN must find exactly what the naive search finds of that part, and nothing ircheck does not
        one = compile_source(text, checks=["no_deadlock"])
        naive = Naive(one)
        want = bool(naive.shortest_safety()) or naive.deadlock() is not None or any(
            evaluate(w.surely, s) for s in naive.dist for w in one.waits)
        assert spin_violates(to_promela(one), tmp_path) == want, (text, "no_deadlock")
        del decided["no_deadlock"]
        if not decided:
            return
    ts = compile_source(text, checks=sorted(set(decided) - {"counter_range"}))  # it rides along anyway
    assert spin_violates(to_promela(ts), tmp_path) == ("violated" in decided.values()), (text, decided)
    if decided.get("counter_range", "holds") == "holds":
        for name, status in decided.items():
            if status == "violated" and name != "counter_range":
                one = compile_source(text, checks=[name])
                assert spin_violates(to_promela(one), tmp_path), (text, name)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(text=models())
def test_spin_agrees_on_generated_bare_metal_models(text: str, tmp_path: Path) -> None:
    assume(small_enough(text, 4000))
    _spin_agrees_on(text, tmp_path)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(text=x86_models())
def test_spin_agrees_on_generated_x86_models(text: str, tmp_path: Path) -> None:
    assume(small_enough(text, 4000))
    _spin_agrees_on(text, tmp_path)


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(text=kernel_models())
def test_spin_agrees_on_generated_kernel_models(text: str, tmp_path: Path) -> None:
    assume(small_enough(text, 2000))
    _spin_agrees_on(text, tmp_path)


@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(text=atomic_models())
def test_spin_agrees_on_generated_atomic_models(text: str, tmp_path: Path) -> None:
    assume(small_enough(text, 2000))
    _spin_agrees_on(text, tmp_path)


@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(text=waitq_models())
def test_spin_agrees_on_generated_waitq_models(text: str, tmp_path: Path) -> None:
    assume(small_enough(text, 2000))
    _spin_agrees_on(text, tmp_path)


@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(text=timer_models())
def test_spin_agrees_on_generated_timer_models(text: str, tmp_path: Path) -> None:
    assume(small_enough(text, 2000))
    _spin_agrees_on(text, tmp_path)


@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(text=message_models())
def test_spin_agrees_on_generated_message_models(text: str, tmp_path: Path) -> None:
    assume(small_enough(text, 2000))
    _spin_agrees_on(text, tmp_path)


@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(text=seq_models())
def test_spin_agrees_on_generated_seq_models(text: str, tmp_path: Path) -> None:
    """R2 under SPIN: the livelock as the export's state property, races under a retry loop."""
    assume(small_enough(text, 2000))
    _spin_agrees_on(text, tmp_path)


@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(text=count_models())
def test_spin_agrees_on_generated_count_models(text: str, tmp_path: Path) -> None:
    assume(small_enough(text, 2000))
    _spin_agrees_on(text, tmp_path)
