"""Symmetry of CPUs and of identical contexts (spec/symmetries.py proposes, checker/symmetry.py verifies).

- the lowering proposes cpu0 <-> cpu1 with the threads pinned to each and the lock owners / tasklet
  CPUs renamed, and the engine verifies it, on the kernel family (bench/gen_kernel.py): the 8259A's
  INTR goes to every CPU in a multi-CPU model (any CPU may take a request), so the CPUs are symmetric;
- where the CPUs differ (a different thread on cpu1, an IRQ affinity) the proposal is refused;
- identical threads on one CPU are not interchangeable (the scheduler runs the first declared
  first): not proposed, and refused when proposed by hand;
- differential: generated symmetric models (tests/support/generators.py `symmetric_models`, fixed
  seed) decide the same verdicts with the same shortest traces reduced and unreduced, in fewer states
  where symmetric; checks the quotient does not decide (deadlock, liveness) keep it off.
"""

from __future__ import annotations

from pathlib import Path

import ircheck
from ircheck.api import compile_source
from ircheck.explicit import Explicit
from ircheck.limits import Limits
from ircheck.reduce import ReducedExplicit, plan
from ircheck.result import Report
from ircheck.spec.symmetries import renaming, swap_words
from ircheck.symmetry import verify
from tests.support.generators import examples, symmetric_models

ROOT = Path(__file__).resolve().parents[2]
SAFETY = ["no_sleep_in_atomic", "no_data_race", "lockdep"]


def _kernel(cpus: int, devices: int, raises: int) -> str:
    import bench.gen_kernel as gk  # noqa: PLC0415 - bench/ is not a package of ircheck
    return gk.kernel_family(cpus, devices, raises)


def _outcome(r: Report) -> list[tuple[str, str, int]]:
    return [(c.name, c.status, len(c.trace)) for c in r.checks]


def test_the_kernel_family_is_symmetric_in_its_cpus() -> None:
    text = _kernel(2, 1, 2)
    ts = compile_source(text, checks=SAFETY)
    ver = verify(ts)
    assert [s.what for s in ver.syms] == ["cpu0 <-> cpu1"] and not ver.refused
    owner = ts.var_index("ring0_lock.owner")
    sym = ver.syms[0]
    names = ts.vars[owner].names
    assert names[sym.value_map(owner)[names.index("thread app0")]] == "thread app1"
    assert names[sym.value_map(owner)[names.index("cpu0 frame 2")]] == "cpu1 frame 2"
    off = ircheck.check_source(text, checks=SAFETY, engine="explicit", reduction="none")
    on = ircheck.check_source(text, checks=SAFETY, engine="explicit", reduction="symmetry")
    assert on.stats.reductions == ("symmetry",) and _outcome(on) == _outcome(off)
    assert (off.stats.states, on.stats.states) == (9362, 4704)


def test_cpus_that_differ_are_refused() -> None:
    text = _kernel(2, 1, 2)
    i = text.index("thread app1")
    unlike = text[:i] + text[i:].replace("read rx_stats", "write rx_stats", 1)
    ts = compile_source(unlike, checks=SAFETY)
    assert [s.what for s in ts.symmetries] == ["cpu0 <-> cpu1"]  # proposed: the same statements
    ver = verify(ts)
    assert ver.syms == [] and ver.refused and ver.refused[0].startswith("cpu0 <-> cpu1")
    assert "do not map the model onto itself" in plan(ts, frozenset({"symmetry"})).note
    affinity = compile_source((ROOT / "models" / "lang_irqs_affinity.irq").read_text())
    assert affinity.symmetries and verify(affinity).syms == []


def test_identical_threads_on_one_cpu_are_not_interchangeable() -> None:
    """The scheduler is not symmetric in two identical threads on one CPU: the first declared runs
    first (cpu0.cur starts at it) and gives way to the next in declaration order. The lowering does
    not propose the swap; proposed by hand, the engine refuses it."""
    text = """cpus 1
spinlock l
data x
thread a on cpu0 { spin_lock l; write x; spin_unlock l }
thread b on cpu0 { spin_lock l; write x; spin_unlock l }
check no_data_race, no_sleep_in_atomic, lockdep
"""
    ts = compile_source(text)
    assert ts.symmetries == []
    swap = renaming(ts.vars, ts.transitions, swap_words([("a", "b")]), "a <-> b")
    assert swap is not None
    ts.symmetries = [swap]
    assert verify(ts).syms == [] and verify(ts).refused == ["a <-> b: the transitions differ"]


def test_a_race_between_the_cpus_keeps_its_shortest_concrete_trace() -> None:
    text = _kernel(2, 1, 1).replace("spin_lock_bh stats_lock\n    read rx_stats", "write rx_stats\n    spin_lock_bh stats_lock")
    off = ircheck.check_source(text, checks=SAFETY, engine="explicit", reduction="none")
    on = ircheck.check_source(text, checks=SAFETY, engine="explicit", reduction="symmetry")
    assert on.stats.reductions == ("symmetry",)
    assert off.check("no_data_race").status == "violated"
    assert [(c.name, c.status, [s.to_json() for s in c.trace]) for c in on.checks] == \
        [(c.name, c.status, [s.to_json() for s in c.trace]) for c in off.checks]


def test_deadlock_and_liveness_keep_symmetry_off() -> None:
    ts = compile_source(_kernel(2, 1, 1))  # its own checks: no_deadlock and no_starvation among them
    p = plan(ts, frozenset({"symmetry"}))
    assert "symmetry" not in p.applied and p.canon is None


def test_generated_symmetric_models_agree_reduced_and_unreduced() -> None:
    """Same verdicts and shortest traces with and without symmetry; fewer states where it applies."""
    applied = 0
    for text in examples(symmetric_models(), 12):
        off = ircheck.check_source(text, engine="explicit", reduction="none")
        on = ircheck.check_source(text, engine="explicit", reduction="symmetry")
        assert not off.errors and not on.errors, text
        assert [(c.name, c.status, [s.to_json() for s in c.trace]) for c in on.checks] == \
            [(c.name, c.status, [s.to_json() for s in c.trace]) for c in off.checks], text
        assert on.stats.states <= off.stats.states, text
        if on.stats.reductions == ("symmetry",):
            applied += 1
            assert on.stats.states < off.stats.states, text
    assert applied >= 4


def test_the_facts_reached_are_the_unreduced_ones() -> None:
    """lockdep judges the set of facts reached; a fact's image names the other thread and line, so the
    symmetric search records each fact transition's orbit: the same set as the unreduced search. A
    thread taking a hardirq lock with IRQs on (inconsistent lock state) is violated either way."""
    text = _kernel(2, 1, 1).replace("spin_lock_bh stats_lock\n    read rx_stats\n    clear ready\n    spin_unlock_bh",
                                    "spin_lock ring0_lock\n    read rx_stats\n    clear ready\n    spin_unlock ring0_lock\n"
                                    "    spin_lock_bh stats_lock\n    spin_unlock_bh")
    ts = compile_source(text, checks=SAFETY)
    p = plan(ts, frozenset({"symmetry"}))
    assert p.canon is not None and p.fact_orbit
    reduced = ReducedExplicit(ts, p, Limits()).run()
    full = Explicit(ts, Limits()).run()
    assert set(reduced.facts) == set(full.facts) and any("thread app1" in f for f in reduced.facts)
    assert reduced.states < full.states
    off = ircheck.check_source(text, checks=SAFETY, engine="explicit", reduction="none")
    on = ircheck.check_source(text, checks=SAFETY, engine="explicit", reduction="symmetry")
    assert off.check("lockdep").status == "violated" and on.stats.reductions == ("symmetry",)
    assert [(c.name, c.status, c.message, [s.to_json() for s in c.trace]) for c in on.checks] == \
        [(c.name, c.status, c.message, [s.to_json() for s in c.trace]) for c in off.checks]
