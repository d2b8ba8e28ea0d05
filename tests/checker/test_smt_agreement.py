"""The Z3 engine agrees with the explicit engine on generated models.

The generators are the ones the explicit engine is tested with (bare-metal PIC models from
test_engine_agreement, kernel models from test_kernel_agreement). For every check:
- explicit violated -> smt violated; for a safety check or a deadlock the trace has exactly the
  explicit (shortest) length; lockdep only the verdict (its witness is the first fact found);
- explicit holds -> smt never violated: holds with a note that says how it was proved, or
  inconclusive with a note that says what is missing (k-induction/Spacer did not close, or no
  proof that no fair lasso exists: liveness-to-safety did not close in time);
- explicit inconclusive (the model's nesting bound) -> smt inconclusive with the same reason.
BMC runs to the explicit depth + 1: every violation lies within it, so finding each one (at its
shortest length) is required, not lucky. Every smt counterexample has already been replayed
through spec.step by the pipeline.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, assume, given, settings

import ircheck
from ircheck.api import compile_source
from ircheck.result import HOLDS, INCONCLUSIVE, VIOLATED
from ircheck.smt import run_smt
from tests.support.generators import (
    atomic_models,
    count_models,
    kernel_models,
    message_models,
    models,
    timer_models,
    waitq_models,
)

LIVENESS = ("no_starvation", "no_lost_wakeup", "no_irq_storm")


def agree(text: str) -> None:
    ex = ircheck.check_source(text, engine="explicit")
    assert not ex.errors
    ts = compile_source(text)
    results, stats = run_smt(ts, max_depth=ex.stats.depth + 1)
    assert stats.engine == "smt" and stats.smt["bmc_depth"] <= ex.stats.depth + 1
    assert [c.name for c in results] == [c.name for c in ex.checks]
    for e, s in zip(ex.checks, results, strict=True):
        where = (text, e.name, e.status, s.status, s.note)
        if e.status == VIOLATED:
            if e.name in LIVENESS and s.status == INCONCLUSIVE:  # a lasso longer than the lengths tried
                assert "did not prove" in s.note, where
                continue
            assert s.status == VIOLATED, where
            if e.name not in LIVENESS and e.name != "lockdep":
                assert len(s.trace) == len(e.trace), where
        elif e.status == HOLDS:
            assert s.status in (HOLDS, INCONCLUSIVE), where
            assert s.note.startswith("proved") or s.status == INCONCLUSIVE or "nothing" in s.note, where
        else:
            assert s.status == INCONCLUSIVE and s.note == e.note, where


def shallow(text: str, depth: int) -> bool:
    r = ircheck.check_source(text, engine="explicit", max_states=3000)
    return not r.errors and r.stats.complete and r.stats.depth <= depth


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(models())
def test_smt_agrees_with_explicit(text: str) -> None:
    assume(shallow(text, 8))
    agree(text)


@settings(max_examples=2, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(kernel_models())
def test_smt_agrees_with_explicit_on_kernel_models(text: str) -> None:
    assume(shallow(text, 8))
    agree(text)


@settings(max_examples=2, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(atomic_models())
def test_smt_agrees_with_explicit_on_atomic_models(text: str) -> None:
    assume(shallow(text, 8))
    agree(text)


@settings(max_examples=2, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(waitq_models())
def test_smt_agrees_with_explicit_on_waitq_models(text: str) -> None:
    assume(shallow(text, 8))
    agree(text)


@settings(max_examples=2, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(count_models())
def test_smt_agrees_with_explicit_on_count_models(text: str) -> None:
    assume(shallow(text, 8))
    agree(text)


@pytest.mark.slow
@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(models())
def test_smt_agrees_with_explicit_many(text: str) -> None:
    assume(shallow(text, 12))  # no time budget here (a verdict must not depend on the machine): keep BMC short
    agree(text)


@pytest.mark.slow
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(kernel_models())
def test_smt_agrees_with_explicit_on_kernel_models_many(text: str) -> None:
    assume(shallow(text, 12))
    agree(text)


@settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(timer_models())
def test_smt_agrees_with_explicit_on_timer_models(text: str) -> None:
    assume(shallow(text, 8))
    agree(text)


@settings(max_examples=2, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(message_models())
def test_smt_agrees_with_explicit_on_message_models(text: str) -> None:
    assume(shallow(text, 17))  # a pin and an MSI source each need a raise, an entry, a flow run and its end
    agree(text)
