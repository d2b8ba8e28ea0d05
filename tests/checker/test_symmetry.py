"""Symmetry of CPUs and of identical contexts (spec/symmetries.py proposes, checker/symmetry.py verifies).

- the lowering proposes cpu0 <-> cpu1 with the threads pinned to each and the lock owners / tasklet
  CPUs renamed, and the engine verifies it, on the kernel family (bench/gen_kernel.py): the 8259A's
  INTR goes to every CPU in a multi-CPU model (any CPU may take a request), so the CPUs are symmetric;
- where the CPUs differ (a different thread on cpu1, an IRQ affinity) the proposal is refused;
- identical threads on one CPU are not interchangeable (the scheduler runs the first declared
  first): not proposed, and refused when proposed by hand;
- differential: generated symmetric models (tests/support/generators.py `symmetric_models`, fixed
  seed) decide the same verdicts with the same shortest traces reduced and unreduced, in fewer states
  where symmetric;
- deadlock and liveness on the annotated quotient (checker/liveness.py, checker/reduce.py's docstring):
  generated symmetric models with every graph check (`symmetric_graph_models`, 2-3 CPUs) agree with the
  unreduced search, traces included; each graph check broken on both CPUs is found on the quotient;
  a group that does not map the requests keeps symmetry off for the liveness checks.
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

import ircheck
from ircheck.api import compile_source
from ircheck.explicit import Explicit
from ircheck.limits import Limits
from ircheck.reduce import ReducedExplicit
from ircheck.reduce_plan import plan
from ircheck.result import Report
from ircheck.spec.symmetries import renaming, swap_words
from ircheck.spec.ts import FALSE
from ircheck.symmetry import verify
from tests.support.generators import examples, symmetric_graph_models, symmetric_models

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


def test_deadlock_and_liveness_use_the_annotated_quotient() -> None:
    """Every default check (no_deadlock, no_starvation, no_lost_wakeup among them) on the quotient:
    symmetry on (POR too, under its graph conditions: tests/checker/test_por_graph.py), the BFS and
    its graph analyses run on the representatives, with the same verdicts in half the states."""
    text = _kernel(2, 1, 1)
    ts = compile_source(text)
    p = plan(ts, frozenset({"por", "symmetry"}))
    assert p.applied == ("por", "symmetry") and p.quotient is not None and p.graph and p.note == ""
    off = ircheck.check_source(text, engine="explicit", reduction="none")
    on = ircheck.check_source(text, engine="explicit", reduction="symmetry")
    assert on.stats.reductions == ("symmetry",) and _outcome(on) == _outcome(off)
    assert {c.status for c in on.checks} == {"holds"}
    assert (off.stats.states, on.stats.states) == (508, 260)
    # what can never happen is read off the representatives (each transition tested by its images),
    # not confirmed by a second, unreduced search
    assert on.stats.coverage is not None and on.stats.coverage.note == "" and on.stats.refind_states == 0


# each breaks one graph check, on cpu1 as on cpu0: the quotient finds it on the representative (which
# may be the cpu1 copy renamed), the unreduced re-search gives the same shortest trace
GRAPH_BREAKERS = {
    # the first thread to take m finishes holding it: the other waits for ever (a wait named by the
    # thread, so the analysis follows each edge's renaming)
    "no_deadlock": ("edge", "set f", "mutex_lock m"),
    # the tasklet disables the level line for ever while the device still asserts it
    "no_starvation": ("level", "tasklet_schedule tk", "write x"),
    # test-then-sleep without a lock: the wake-up may come between the test and the sleep
    "no_lost_wakeup": ("edge", "set f; wake_up q", "if not f { sleep_on q }"),
}


@pytest.mark.parametrize("check", sorted(GRAPH_BREAKERS))
def test_a_graph_check_broken_on_either_cpu_is_found_on_the_quotient(check: str) -> None:
    trigger, isr, body = GRAPH_BREAKERS[check]
    text = "\n".join(["cpus 2", "pic master : i8259 { base 0x20 }", f"device nic {{ irq master.3 {trigger} raises 2 }}",
                      "mutex m", "data x", "flag f", "waitqueue q", "request_irq 3 isr",
                      f"handler isr {{ {isr}; ack nic }}", "tasklet tk { disable_irq_nosync 3 }",
                      f"thread t0 on cpu0 {{ {body} }}", f"thread t1 on cpu1 {{ {body} }}",
                      "check no_deadlock, no_starvation, no_lost_wakeup"]) + "\n"
    off = ircheck.check_source(text, engine="explicit", reduction="none")
    on = ircheck.check_source(text, engine="explicit", reduction="symmetry")
    assert on.stats.reductions == ("symmetry",) and on.stats.states < off.stats.states
    assert on.check(check).status == "violated" and on.check(check).trace
    assert [(c.name, c.status, c.message, [s.to_json() for s in c.trace]) for c in on.checks] == \
        [(c.name, c.status, c.message, [s.to_json() for s in c.trace]) for c in off.checks]


def test_a_group_that_does_not_map_the_requests_keeps_symmetry_off_for_them() -> None:
    """`Verified.requests`: a request whose renamed pending condition is no request's (here: one made
    to differ by hand) leaves the liveness checks unreduced, with the reason in the note."""
    ts = compile_source(_kernel(2, 1, 1), checks=["no_lost_wakeup"])
    k = next(i for i, r in enumerate(ts.requests) if r.check == "no_lost_wakeup")
    ts.requests[k] = replace(ts.requests[k], pending=FALSE)
    ver = verify(ts)
    assert ver.syms and ver.requests == [None] and "requests" in ver.why_not
    p = plan(ts, frozenset({"symmetry"}))
    assert p.applied == () and "symmetry: no_lost_wakeup is not preserved by the symmetry quotient" in p.note


def test_generated_graph_models_agree_reduced_and_unreduced() -> None:
    """tests/support/generators.py `symmetric_graph_models` (2-3 CPUs, every graph check): the same
    verdicts and traces on the quotient as unreduced; violations of deadlock and liveness among them."""
    _agree_on(examples(symmetric_graph_models(), 12), need={"no_starvation", "no_lost_wakeup"})


@pytest.mark.slow
def test_many_generated_graph_models_agree_reduced_and_unreduced() -> None:
    _agree_on(examples(symmetric_graph_models(), 60), need={"no_deadlock", "no_starvation", "no_lost_wakeup",
                                                             "no_irq_storm"})


def _agree_on(texts: list[str], need: set[str]) -> None:
    violated: set[str] = set()
    for text in texts:
        off = ircheck.check_source(text, engine="explicit", reduction="none")
        on = ircheck.check_source(text, engine="explicit", reduction="symmetry")
        assert not off.errors and not on.errors, text
        assert [(c.name, c.status, [s.to_json() for s in c.trace]) for c in on.checks] == \
            [(c.name, c.status, [s.to_json() for s in c.trace]) for c in off.checks], text
        assert on.stats.reductions == ("symmetry",) and on.stats.states < off.stats.states, text
        # coverage read off the representatives through the transitions' images: the same warnings
        assert on.stats.coverage is not None and off.stats.coverage is not None
        assert [w.to_json() for w in on.stats.coverage.warnings] == [w.to_json() for w in off.stats.coverage.warnings]
        violated |= {c.name for c in on.checks if c.status == "violated"}
    assert need <= violated


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


@pytest.mark.parametrize("model", ["kernel_stats_tasklet_two_cpus.irq"])
def test_por_with_symmetry_stores_only_representatives(model: str) -> None:
    """POR and symmetry together (the default for safety checks): a reduced expansion that the cycle
    proviso redoes in full stores its successors' representatives too, as every other expansion
    does - before, it stored them as they came (95 states here instead of 87, some not canonical)."""
    text = (Path(__file__).resolve().parents[2] / "models" / model).read_text()
    ts = compile_source(text, checks=SAFETY)
    p = plan(ts, frozenset({"por", "symmetry"}))
    assert p.canon is not None and p.tables is not None, p.note
    eng = ReducedExplicit(ts, p, Limits())
    res = eng.run()
    assert eng.reexpanded > 0  # the proviso did expand some state in full
    assert all(p.canon(s) == s for s in eng.seen)
    assert res.states == 87


@pytest.mark.parametrize("cpus", [2, 3])
def test_canon_is_the_smallest_state_of_the_orbit(cpus: int) -> None:
    """The generated `canon`, `canon_el` and `canon_log` (checker/symmetry_group.py, with its early
    test on the highest move) against the orbit computed variable by variable from each element
    (value v of variable i moves to variable perm[i] as vals[i][v]), on every state an unreduced
    search reaches (2 CPUs: 2 elements with the identity; 3 CPUs: 6)."""
    from ircheck.symmetry_group import quotient  # noqa: PLC0415

    ts = compile_source(_kernel(cpus, 1, 1), checks=SAFETY)
    eng = Explicit(ts)
    eng.run()
    quo, why = quotient(ts, eng.pk)
    assert quo is not None, why
    assert len(quo.elements) + 1 == (2 if cpus == 2 else 6)

    def image(el: int, s: int) -> int:
        perm, vals = quo.elements[el].state
        x = eng.pk.unpack(s)
        y = list(x)
        for i, v in enumerate(x):
            y[perm[i]] = vals[i][v] if vals and vals[i] else v
        return eng.pk.pack(tuple(y))

    states = list(eng.seen)
    assert len(states) == (508 if cpus == 2 else 3300)
    moved = 0
    for s in states:
        orbit = [s] + [image(el, s) for el in range(len(quo.elements))]
        best = min(orbit)
        els: list[int] = []
        c, k = quo.canon_el(s)
        assert quo.canon(s) == best == c and quo.canon_log([s, s], els) == [best, best]
        assert els == [k, k] and (k == -1 and best == s or k >= 0 and image(k, s) == best)
        moved += best != s
    assert moved > len(states) // 4  # the test meets states whose image is smaller
