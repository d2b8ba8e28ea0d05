"""The explicit engine agrees with the naive BFS on generated x86 models.

`models()` generates bare-metal models on one 8259A; `x86_models()` (both in tests/support/generators.py)
adds what the x86 layer (docs/semantics.md X1-X9) brought: a slave 8259A on a cascade with its two EOIs, the special
fully nested and special mask modes, automatic rotation, spurious IR7 (`may_drop`, `if in_service`),
a local APIC with TPR and vector classes, NMIs, software interrupts through gates with a DPL (#GP
from CPL 3), faults with and without their gate (#NP, #DF, triple fault). Each model is held to the
same promises as there (`agree`): the naive state count, safety verdicts with shortest traces, the
deadlock verdict, and the same verdict for each check run alone.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, assume, given, settings

import ircheck
from tests.support.generators import X86_CONCEPTS, examples, x86_models
from tests.support.naive import agree, small_enough


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(x86_models())
def test_x86_models_agree_with_naive_bfs(text: str) -> None:
    assume(small_enough(text, 4000))
    agree(text)


@pytest.mark.slow
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(x86_models())
def test_x86_models_agree_with_naive_bfs_many(text: str) -> None:
    assume(small_enough(text, 30000))
    agree(text)


def test_generator_covers_every_x86_concept() -> None:
    out = examples(x86_models(), 300)
    seen = {c for c in X86_CONCEPTS if any(c in ex for ex in out)}
    assert seen == X86_CONCEPTS, sorted(X86_CONCEPTS - seen)


def test_generated_models_are_well_formed() -> None:
    """Every generated model compiles (the generator stays inside the language, so agreement
    failures are about the engine, not about refused models)."""
    for text in examples(x86_models(), 150):
        r = ircheck.check_source(text, max_states=1)
        assert not r.errors, (text, [d.render() for d in r.errors])
