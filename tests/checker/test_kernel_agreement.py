"""The kernel layer under differential testing: explicit engine vs the naive reference search.

Generated models mix SMP, spinlocks in every flavour, mutexes, genirq lines
(edge and level, threaded), softirqs, tasklets, work items, wait queues and
the genirq calls (`kernel_models()` in tests/support/generators.py). For each, the explicit engine (generated code, packed
states, parent links, liveness analyses) must find exactly the reachable
states of a plain BFS over the reference step function, the same safety
verdicts with the same shortest trace lengths, and the same lockdep verdict
from the same set of reachable facts.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, assume, given, settings

import ircheck
from ircheck.api import compile_source
from tests.support.generators import (
    ATOMIC_CONCEPTS,
    COUNT_CONCEPTS,
    KERNEL_CONCEPTS,
    MESSAGE_CONCEPTS,
    RWLOCK_CONCEPTS,
    SEQ_CONCEPTS,
    TIMER_CONCEPTS,
    WAITQ_CONCEPTS,
    atomic_models,
    count_models,
    examples,
    kernel_models,
    message_models,
    rwlock_models,
    seq_models,
    timer_models,
    waitq_models,
)
from tests.support.naive import Naive, small_enough

LIVENESS = ("no_deadlock", "no_lost_wakeup", "no_starvation", "no_irq_storm")


def agree(text: str) -> None:
    """The unreduced search against the naive BFS (states, verdicts, trace lengths), and the default
    run (reductions: symmetry serves every check, POR the safety ones) against the unreduced one."""
    report = ircheck.check_source(text, reduction="none")
    assert not report.errors, (text, [d.render() for d in report.errors])
    default = ircheck.check_source(text)
    assert [(c.name, c.status, len(c.trace)) for c in default.checks] == \
        [(c.name, c.status, len(c.trace)) for c in report.checks], text
    ts = compile_source(text)
    naive = Naive(ts)
    status = {c.name: c.status for c in report.checks}
    assert not naive.bound_hit() or not report.stats.complete
    if naive.bound_hit():
        return
    assert report.stats.states == len(naive.dist), text
    shortest = naive.shortest_safety()
    # lockdep: the same facts reached, the same judgement, the same witness depth
    facts = naive.facts()
    if ts.judge is not None:
        for fv in ts.judge(frozenset(facts)):
            if fv.check not in shortest or facts[fv.witness] < shortest[fv.check]:
                shortest.setdefault(fv.check, facts[fv.witness])
    for name, verdict in status.items():
        if name in LIVENESS or name == "counter_range":
            continue
        if name in shortest:
            assert verdict == "violated", (text, name)
            if name != "lockdep":  # lockdep: a state property (recursion) or the judged witness, whichever came first
                assert len(report.check(name).trace) == shortest[name], (text, name)
        else:
            assert verdict == "holds", (text, name)
    if "no_deadlock" in status:  # state properties first (found during the search), then quiet, then waits
        props = shortest.get("no_deadlock")
        quiet, waits = naive.deadlock(), naive.blocked_forever()
        after = [d for d in (quiet, waits) if d is not None]  # judged after the search: the shallower
        want = props if props is not None else min(after) if after else None
        if want is None:
            assert status["no_deadlock"] == "holds", text
        else:
            assert status["no_deadlock"] == "violated", (text, props, quiet, waits)
            assert len(report.check("no_deadlock").trace) == want, (text, props, quiet, waits)


def test_generator_covers_every_kernel_concept() -> None:
    out = examples(kernel_models(), 400)
    seen = {c for c in KERNEL_CONCEPTS if any(c in ex for ex in out)}
    assert seen == KERNEL_CONCEPTS, sorted(KERNEL_CONCEPTS - seen)


def test_generator_covers_every_atomic_concept() -> None:
    out = examples(atomic_models(), 200)
    seen = {c for c in ATOMIC_CONCEPTS if any(c in ex for ex in out)}
    assert seen == ATOMIC_CONCEPTS, sorted(ATOMIC_CONCEPTS - seen)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(atomic_models())
def test_atomics_engine_agrees_with_naive_bfs(text: str) -> None:
    """R4 atomics, choose, local_irq_disable/enable: the same states and verdicts as the reference."""
    assume(small_enough(text, 1500))
    agree(text)


def test_generator_covers_every_waitq_concept() -> None:
    out = examples(waitq_models(), 200)
    seen = {c for c in WAITQ_CONCEPTS if any(c in ex for ex in out)}
    assert seen == WAITQ_CONCEPTS, sorted(WAITQ_CONCEPTS - seen)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(waitq_models())
def test_waitq_engine_agrees_with_naive_bfs(text: str) -> None:
    """R5 wait queues and R6 completions: the same states and verdicts (lost wake-ups included) as the reference."""
    assume(small_enough(text, 1500))
    agree(text)


def test_generator_covers_every_count_concept() -> None:
    out = examples(count_models(), 100)
    seen = {c for c in COUNT_CONCEPTS if any(c in ex for ex in out)}
    assert seen == COUNT_CONCEPTS, sorted(COUNT_CONCEPTS - seen)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(count_models())
def test_counts_and_probing_engine_agrees_with_naive_bfs(text: str) -> None:
    """C1 counts in invariants, C2 probing: the same states and verdicts as the reference."""
    assume(small_enough(text, 1500))
    agree(text)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(kernel_models())
def test_kernel_engine_agrees_with_naive_bfs(text: str) -> None:
    assume(small_enough(text, 1500))
    agree(text)


@pytest.mark.slow
@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(kernel_models())
def test_kernel_engine_agrees_with_naive_bfs_many(text: str) -> None:
    assume(small_enough(text, 20000))
    agree(text)


def test_rwlock_generator_covers_every_concept() -> None:
    out = examples(rwlock_models(), 200)
    seen = {c for c in RWLOCK_CONCEPTS if any(c in ex for ex in out)}
    assert seen == RWLOCK_CONCEPTS, sorted(RWLOCK_CONCEPTS - seen)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rwlock_models())
def test_rwlock_engine_agrees_with_naive_bfs(text: str) -> None:
    """R1/K4/K5: the explicit engine and the reference BFS on generated rwlock models."""
    assume(small_enough(text, 1500))
    agree(text)


@pytest.mark.parametrize("text", [t for t in examples(rwlock_models(), 12) if small_enough(t, 200)][:4])
def test_rwlock_z3_agrees_with_explicit(text: str) -> None:
    """The Z3 engine's verdict on the safety checks equals the explicit engine's (or it is inconclusive)."""
    explicit = {c.name: c.status for c in ircheck.check_source(text, engine="explicit").checks}
    for c in ircheck.check_source(text, engine="smt", checks=["no_data_race", "no_deadlock"], timeout=10).checks:
        assert c.status in (explicit[c.name], "inconclusive"), (text, c.name, c.status, explicit[c.name])


def test_generator_covers_every_timer_concept() -> None:
    out = examples(timer_models(), 100)
    seen = {c for c in TIMER_CONCEPTS if any(c in ex for ex in out)}
    assert seen == TIMER_CONCEPTS, sorted(TIMER_CONCEPTS - seen)


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(timer_models())
def test_timers_engine_agrees_with_naive_bfs(text: str) -> None:
    """R7 timers and hrtimers: the same states and verdicts (del_timer_sync's waits included) as the reference."""
    assume(small_enough(text, 1500))
    agree(text)


def test_generator_covers_every_message_concept() -> None:
    out = examples(message_models(), 200)
    seen = {c for c in MESSAGE_CONCEPTS if any(c in ex for ex in out)}
    assert seen == MESSAGE_CONCEPTS, sorted(MESSAGE_CONCEPTS - seen)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(message_models())
def test_message_engine_agrees_with_naive_bfs(text: str) -> None:
    """A1-A4 I/O APIC pins and MSI/MSI-X with L0's flows: the same states and verdicts as the reference."""
    assume(small_enough(text, 1500))
    agree(text)


def test_seq_generator_covers_every_concept() -> None:
    out = examples(seq_models(), 200)
    seen = {c for c in SEQ_CONCEPTS if any(c in ex for ex in out)}
    assert seen == SEQ_CONCEPTS, sorted(SEQ_CONCEPTS - seen)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seq_models())
def test_seq_engine_agrees_with_naive_bfs(text: str) -> None:
    """R2: the explicit engine and the reference BFS on generated seqcount/seqlock models (the read_seq
    waits judged blocked for ever, the races under a retry loop, lockdep through a seqlock's spinlock)."""
    assume(small_enough(text, 1500))
    agree(text)


@pytest.mark.parametrize("text", [t for t in examples(seq_models(), 12) if small_enough(t, 200)][:4])
def test_seq_z3_agrees_with_explicit(text: str) -> None:
    """The Z3 engine's verdict on the safety checks equals the explicit engine's (or it is inconclusive)."""
    explicit = {c.name: c.status for c in ircheck.check_source(text, engine="explicit").checks}
    for c in ircheck.check_source(text, engine="smt", checks=["no_data_race", "no_deadlock"], timeout=10).checks:
        assert c.status in (explicit[c.name], "inconclusive"), (text, c.name, c.status, explicit[c.name])
