"""The explicit engine agrees with a naive BFS over the reference step function.

The generator (`models()`) and the naive search with the property (`Naive`, `agree`) live in
tests/support/generators.py and tests/support/naive.py.

Hypothesis generates small well-formed bare-metal models as `.irq` text (one 8259A
at base 0x20, 1-3 edge/level devices, a gate and a handler per device, an
optional thread, random statements). For each model:

(a) the engine's state count equals the number of states a plain BFS over
    `ircheck.spec.step.successors` reaches;
(b) each safety verdict matches the naive one, and each counterexample is a
    shortest one: as long as the BFS distance to the nearest state that breaks a
    state property, or to the nearest state where a violating transition is
    enabled, plus one; the deadlock verdict and its trace length match too;
(c) every check gives the same verdict (and the same trace length) when it is
    run alone as when all checks run together.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, assume, given, settings

from tests.support.generators import BARE_CONCEPTS, examples, models
from tests.support.naive import agree, small_enough


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(models())
def test_engine_agrees_with_naive_bfs(text: str) -> None:
    assume(small_enough(text, 4000))
    agree(text)


@pytest.mark.slow
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(models())
def test_engine_agrees_with_naive_bfs_many(text: str) -> None:
    assume(small_enough(text, 40000))
    agree(text)


@pytest.mark.parametrize("text", [
    # every feature of the generator at once, so a generator regression shows up as a plain failure
    """pic master : i8259 { base 0x20 }
device d0 { irq master.0 edge raises 2 }
device d1 { irq master.3 level raises 1 }
idt { 0x20 -> h_d0 trap_gate dpl 0
      0x23 -> h_d1 interrupt_gate dpl 0 }
flag f0
flag f1
counter c max 2
handler h_d0 { eoi; if f0 { inc c } else { set f0; sti } }
handler h_d1 { ack d1; mask master.3; eoi master.3 }
thread t on cpu0 { loop { unmask master.3; if not f1 { dec c }; clear f0 } }
check no_lost_irq, no_starvation, no_deadlock, no_reentry, eoi_balanced
check max_nesting 1
check invariant not (f0 and f1)
""",
    """pic master : i8259 { base 0x20  eoi auto }
device d0 { irq master.5 level raises 2 }
idt { 0x25 -> h_d0 trap_gate dpl 0 }
flag f0
flag f1
counter c max 2
handler h_d0 { ack d0; eoi master; set f1 }
check no_lost_irq, no_starvation, no_deadlock, no_reentry, eoi_balanced
check invariant c <= 1
""",
    # a wired-OR level line (P2): one sharer acked, the other keeps the line high
    """pic master : i8259 { base 0x20 }
device d0 { irq master.3 level raises 2  shared }
device d0s { irq master.3 level raises 1  shared }
device d1 { irq master.5 edge raises 1 }
idt { 0x23 -> h_d0 interrupt_gate dpl 0
      0x25 -> h_d1 interrupt_gate dpl 0 }
flag f0
flag f1
counter c max 2
handler h_d0 { ack d0; if f0 { ack d0s }; eoi }
handler h_d1 { eoi; set f0 }
check no_lost_irq, no_starvation, no_deadlock, no_reentry, eoi_balanced
""",
])
def test_engine_agrees_on_fixed_models(text: str) -> None:
    agree(text)


def test_generator_covers_every_bare_metal_concept() -> None:
    out = examples(models(), 400)
    seen = {c for c in BARE_CONCEPTS if any(c in ex for ex in out)}
    assert seen == BARE_CONCEPTS, sorted(BARE_CONCEPTS - seen)
