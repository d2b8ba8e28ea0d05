"""State-space reductions (checker/reduce.py, por.py, symmetry.py): same verdicts, same traces, fewer states.

- every bundled model: each reduction gives the verdicts and the counterexamples (step for step)
  of `--reduction none`, with at most as many states;
- generated models (the generators of test_engine_agreement and test_kernel_agreement), with the
  checks narrowed to the safety ones so that the reductions run: the same agreement;
- measured reduction factors on the nested-PIC reference family;
- the cycle proviso on a hand-made system where ignoring it would miss a violation;
- symmetry: a verified declaration shrinks the space, a wrong one is dropped;
- where reductions do not run (merging with liveness or deadlock, --workers, --store) the stats say why;
  POR with them: tests/checker/test_por_graph.py.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings

import ircheck
from ircheck.api import compile_source, run_engine
from ircheck.cli import main
from ircheck.explicit import Explicit, Limits
from ircheck.reduce import ReducedExplicit
from ircheck.reduce_plan import REDUCTIONS, full_graph_checks, parse_reduction, plan
from ircheck.result import Report
from ircheck.spec.ts import And, Bin, C, Eq, Label, StateProp, Symmetry, Transition, TransitionSystem, V, Var
from tests.conftest import MODELS, ROOT
from tests.support.generators import (
    atomic_models,
    count_models,
    hostile_model,
    kernel_models,
    message_models,
    models,
    seq_models,
    timer_models,
    waitq_models,
)
from tests.support.naive import small_enough

sys_path_bench = str(ROOT / "bench")
MODEL_FILES = sorted(MODELS.glob("*.irq"))
SETTINGS = ("por", "merge", "symmetry", "all", "por,symmetry")


def _outcome(r: Report) -> list[tuple[str, str, str, list[object], int | None]]:
    return [(c.name, c.status, c.message, [s.to_json() for s in c.trace], c.loop_start) for c in r.checks]


def _same(a: Report, b: Report, what: str) -> None:
    assert not a.errors and not b.errors, what
    assert _outcome(b) == _outcome(a), what
    assert b.stats.states <= a.stats.states, what
    assert b.stats.complete == a.stats.complete, what


@pytest.mark.parametrize("path", MODEL_FILES, ids=[p.name for p in MODEL_FILES])
def test_bundled_model_same_verdicts_and_traces(path: Path) -> None:
    off = ircheck.check_file(path, reduction="none")
    assert off.stats.reductions == ()
    for r in SETTINGS:
        _same(off, ircheck.check_file(path, reduction=r), f"{path.name} --reduction {r}")


def _agree(text: str) -> None:
    """The model with its deadlock and liveness checks left out, so that the reductions run."""
    full = compile_source(text)
    live = set(full_graph_checks(full))
    ts = replace(full, checks=[c for c in full.checks if c not in live])
    if not ts.checks:
        return
    off, off_stats = run_engine(ts, "explicit", reduction="none")
    for r in ("por", "merge", "all"):
        on, stats = run_engine(ts, "explicit", reduction=r)
        assert "merge" in stats.reductions or r == "por", (text, r)
        assert [(c.name, c.status, c.message, [s.to_json() for s in c.trace]) for c in on] == \
            [(c.name, c.status, c.message, [s.to_json() for s in c.trace]) for c in off], (text, r)
        assert stats.complete == off_stats.complete, (text, r)
        if off_stats.stopped_by != "every check already violated":  # an early stop ends mid-level, where
            assert stats.states <= off_stats.states, (text, r)  # the two orders may have stored different counts


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(models())
def test_generated_bare_metal_models_agree(text: str) -> None:
    # the rare huge model (a wired-OR level line that re-enters to the nesting bound: millions of
    # states) would take minutes and gigabytes four times over
    assume(small_enough(text, 50_000))
    _agree(text)


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(kernel_models())
def test_generated_kernel_models_agree(text: str) -> None:
    assume(small_enough(text, 50_000))
    _agree(text)


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(atomic_models())
def test_generated_atomic_models_agree(text: str) -> None:
    assume(small_enough(text, 50_000))
    _agree(text)


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(count_models())
def test_generated_count_models_agree(text: str) -> None:
    assume(small_enough(text, 50_000))
    _agree(text)


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(waitq_models())
def test_generated_waitq_models_agree(text: str) -> None:
    assume(small_enough(text, 50_000))
    _agree(text)


@pytest.mark.slow
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(models())
def test_generated_bare_metal_models_agree_many(text: str) -> None:
    assume(small_enough(text, 50_000))  # the rare huge model would take minutes four times over
    _agree(text)


@pytest.mark.slow
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(kernel_models())
def test_generated_kernel_models_agree_many(text: str) -> None:
    assume(small_enough(text, 50_000))
    _agree(text)


# ---- measured factors ------------------------------------------------------------------------------

def _nested(n: int) -> TransitionSystem:
    import sys
    sys.path.insert(0, sys_path_bench)
    from gen_nested import nested_pic
    return compile_source(nested_pic(n, 2))


def _states(ts: TransitionSystem, reduction: str) -> tuple[int, tuple[str, ...]]:
    _checks, stats = run_engine(ts, "explicit", reduction=reduction)
    return stats.states, stats.reductions


def test_nested_pic_4_reduction_factors() -> None:
    """Handlers behind interrupt gates run with IF=0 until their `sti`: POR runs them without
    interleaving the device raises (2.1x fewer states); merging does not store their one-successor
    states (8.2x with POR). The counts are those with the STI shadow (X1): no interrupt is taken between
    `sti` and the next instruction (27,485 states unreduced before it)."""
    ts = _nested(4)
    assert _states(ts, "none") == (21_665, ())
    assert _states(ts, "por") == (10_337, ("por",))
    assert _states(ts, "merge") == (19_824, ("merge",))
    assert _states(ts, "por,merge") == (2_634, ("por", "merge"))
    assert _states(ts, "por,symmetry") == (10_337, ("por",))  # six different lines: nothing symmetric


@pytest.mark.slow
def test_nested_pic_5_reduction_factors() -> None:
    ts = _nested(5)
    assert _states(ts, "none")[0] == 408_845
    assert _states(ts, "por")[0] == 188_930
    assert _states(ts, "por,merge")[0] == 47_214


def test_bundled_model_factor() -> None:
    """tick_trap_gate_reentrant: 53 states; POR and merging together store 13."""
    path = MODELS / "tick_trap_gate_reentrant.irq"
    assert ircheck.check_file(path, reduction="none").stats.states == 53
    assert ircheck.check_file(path, reduction="all").stats.states == 13


def test_violation_is_refound_unreduced_with_the_same_trace() -> None:
    """seed_nic_ring_overflow: the reduced search stores 41 states, finds the invariant broken, and
    the unreduced re-search (120 states, stopping at the violation's depth) gives the trace. (With
    the STI shadow, X1: 140 states unreduced, 131 before it.)"""
    path = MODELS / "seed_nic_ring_overflow.irq"
    off = ircheck.check_file(path, reduction="none")
    on = ircheck.check_file(path, reduction="all")
    assert (off.stats.states, on.stats.states, on.stats.refind_states) == (140, 41, 120)
    assert off.check("invariant").status == on.check("invariant").status == "violated"
    assert on.check("invariant").trace == off.check("invariant").trace


# ---- the cycle proviso ---------------------------------------------------------------------------

def _spinner() -> TransitionSystem:
    """cpu0 spins between pc 0 and 1 touching nothing else; a device may set x, which breaks the
    invariant x == 0. cpu0's steps are always an ample set on their own: without the cycle
    proviso the device's step would be postponed for ever and the violation never seen."""
    lbl = Label("t", "a")
    return TransitionSystem(
        vars=[Var("pc", 2), Var("x", 2)],
        transitions=[Transition(lbl, Eq(V(0), C(0)), ((0, C(1)),), group="cpu0", fair=("cpu0",)),
                     Transition(lbl, Eq(V(0), C(1)), ((0, C(0)),), group="cpu0", fair=("cpu0",)),
                     Transition(lbl, Eq(V(1), C(0)), ((1, C(1)),))],
        state_props=[StateProp("invariant", Eq(V(1), C(0)), "x set")],
        checks=["invariant"], groups=("cpu0",))


def test_cycle_proviso_expands_a_state_on_every_cycle() -> None:
    ts = _spinner()
    p = plan(ts, frozenset({"por"}))
    assert p.applied == ("por",)
    eng = ReducedExplicit(ts, p, Limits())
    res = eng.run()
    assert eng.reduced >= 1 and eng.reexpanded >= 1
    assert "invariant" in res.violations
    out, stats = run_engine(ts, "explicit", reduction="por")
    assert out[0].status == "violated" and len(out[0].trace) == 1  # the shortest: the device at once
    assert stats.refind_states > 0


# ---- symmetry --------------------------------------------------------------------------------------

def _twins(hint: list[tuple[int, ...]]) -> TransitionSystem:
    """Two identical devices that count down a budget of 3 and bump a shared counter."""
    lbl = Label("d", "tick")
    ts = TransitionSystem(vars=[Var("a", 4, 3), Var("b", 4, 3), Var("n", 8)], transitions=[], checks=["invariant"])
    for me in (0, 1):
        ts.transitions.append(Transition(lbl, And(Bin(">", V(me), C(0)), Bin("<", V(2), C(7))),
                                         ((me, Bin("-", V(me), C(1))), (2, Bin("+", V(2), C(1))))))
    ts.state_props.append(StateProp("invariant", Bin("<=", V(2), C(6)), "too many"))
    ts.symmetries = [Symmetry(h) for h in hint]
    return ts


def test_symmetry_shrinks_a_verified_declaration_and_drops_a_wrong_one() -> None:
    good = _twins([(1, 0, 2)])
    assert _states(good, "none")[0] == 16
    assert _states(good, "symmetry") == (10, ("symmetry",))  # unordered pairs of budgets
    bad = _twins([(2, 1, 0)])  # swaps a budget with the counter: not an automorphism
    n, applied = _states(bad, "symmetry")
    assert n == 16 and applied == ()
    assert "do not map the model onto itself" in plan(bad, frozenset({"symmetry"})).note


def test_symmetry_keeps_violations_and_their_shortest_traces() -> None:
    ts = _twins([(1, 0, 2)])
    ts.state_props[0] = StateProp("invariant", Bin("<=", V(2), C(4)), "too many")
    off, _ = run_engine(ts, "explicit", reduction="none")
    on, stats = run_engine(ts, "explicit", reduction="symmetry")
    assert stats.reductions == ("symmetry",)
    assert off[0].status == on[0].status == "violated"
    assert [s.to_json() for s in on[0].trace] == [s.to_json() for s in off[0].trace] and len(on[0].trace) == 5


# ---- where reductions do not run ---------------------------------------------------------------------

def test_liveness_deadlock_keep_por_not_merging_and_workers_and_stores_search_unreduced() -> None:
    path = MODELS / "x86_cascade_disk_both_eoi.irq"  # no_starvation and no_deadlock among its checks
    assert ircheck.check_file(path, reduction="none").stats.states == 30
    r = ircheck.check_file(path, reduction="all")  # POR keeps them (tests/checker/test_por_graph.py)
    assert r.stats.reductions == ("por",) and r.stats.states == 28
    assert "merge: off while no_starvation, no_deadlock is judged on the state graph" in r.stats.reduction_note
    ts = _nested(4)
    assert plan(ts, parse_reduction("all"), workers=2).applied == ()
    assert "--workers" in plan(ts, parse_reduction("all"), store="compact").note
    # run_engine(workers=2) searches on Ray with the same note: tests/checker/test_ray.py


def test_parse_reduction() -> None:
    assert parse_reduction("none") == frozenset()
    assert parse_reduction("all") == frozenset(REDUCTIONS)
    assert parse_reduction("por, merge") == frozenset({"por", "merge"})
    for bad in ("fast", "none,por"):
        with pytest.raises(ValueError):
            parse_reduction(bad)


def test_cli_reduction_option(capsys: pytest.CaptureFixture[str]) -> None:
    path = str(MODELS / "tick_trap_gate_reentrant.irq")
    assert main(["--reduction", "fast", path]) == 2
    assert "--reduction" in capsys.readouterr().err
    assert main(["--format", "json", "--no-timings", "--reduction", "none", path]) == 0
    assert json.loads(capsys.readouterr().out)["stats"]["reductions"] == []
    assert main(["--format", "json", "--no-timings", "--reduction", "all", path]) == 0
    st = json.loads(capsys.readouterr().out)["stats"]
    assert st["reductions"] == ["por", "merge"] and st["states"] == 13
    assert "symmetry: the model declares no symmetric components" in st["reduction_note"]


def test_reduced_search_honours_max_states() -> None:
    ts = _nested(4)
    eng = ReducedExplicit(ts, plan(ts, parse_reduction("por")), Limits(max_states=1000))
    res = eng.run()
    assert not res.complete and res.stopped_by == "--max-states 1000" and 1000 <= res.states < 1016
    assert Explicit(ts, Limits(max_states=1000)).run().stopped_by == "--max-states 1000"


TWINS = """pic master : i8259 { base 0x20 }
device a { irq master.3 edge shared raises 2 }
device b { irq master.3 edge shared raises 2 }
idt { 0x23 -> h interrupt_gate dpl 0 }
counter n max 7
handler h { inc n; eoi }
check max_nesting 1
"""


def test_lowering_declares_identical_devices_symmetric() -> None:
    """Two devices declared alike on one shared line: the lowering proposes swapping their budgets,
    the engine verifies it; 121 states, 82 with symmetry, 16 with every reduction."""
    ts = compile_source(TWINS)
    a, b = ts.var_index("a.raises_left"), ts.var_index("b.raises_left")
    assert len(ts.symmetries) == 1 and ts.symmetries[0].perm[a] == b and ts.symmetries[0].perm[b] == a
    counts = {r: ircheck.check_source(TWINS, reduction=r) for r in ("none", "symmetry", "all")}
    assert [(r, x.stats.states, x.verdict) for r, x in counts.items()] == \
        [("none", 121, "holds"), ("symmetry", 82, "holds"), ("all", 16, "holds")]
    assert counts["all"].stats.reductions == ("por", "merge", "symmetry")
    bad = TWINS + "check invariant n <= 2\n"
    off = ircheck.check_source(bad, reduction="none")
    for r in ("symmetry", "all", "symmetry,merge"):
        on = ircheck.check_source(bad, reduction=r)
        assert _outcome(on) == _outcome(off) and on.check("invariant").status == "violated"
    unlike = TWINS.replace("device b { irq master.3 edge shared raises 2 }", "device b { irq master.3 edge shared raises 1 }")
    assert compile_source(unlike).symmetries == []


def test_por_generated_source_holds_only_our_identifiers() -> None:
    """The reduced search's generated code obeys the rule of test_codegen_safety."""
    import re

    from ircheck.codegen import Packing
    from ircheck.por import por_tables

    ts = compile_source(hostile_model())
    src = por_tables(ts, Packing.of(ts)).source
    idents = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", src))
    ours = {"def", "succ_split", "s", "outs", "oe", "vio", "v", "if", "elif", "else", "and", "or", "not", "in",
            "return", "frozenset", "True", "append"}
    ours |= {i for i in idents if re.fullmatch(r"(x|S|o|closed)\d+", i)}
    assert idents <= ours, sorted(idents - ours)
    assert "closed0" in src and "__import__" not in src and "__del__" not in src


def test_violation_the_unreduced_search_cannot_reach_under_a_limit_is_inconclusive() -> None:
    """nested-PIC 5 with max_nesting 3: the reduced search finds the violation after 21,297 states,
    the unreduced one needs 56,382 (with the STI shadow, X1). Under --max-states 30000 no trace can be shown, so the check is
    inconclusive - as it is without reductions - with a note that says what the reduced search saw."""
    import sys
    sys.path.insert(0, sys_path_bench)
    from gen_nested import nested_pic
    text = nested_pic(5, 2).replace("check max_nesting 10", "check max_nesting 3")
    free = ircheck.check_source(text)
    assert free.check("max_nesting").status == "violated"
    assert (free.stats.states, free.stats.refind_states) == (21_297, 56_382)
    on = ircheck.check_source(text, max_states=30_000)
    off = ircheck.check_source(text, max_states=30_000, reduction="none")
    assert on.check("max_nesting").status == off.check("max_nesting").status == "inconclusive"
    assert on.check("max_nesting").note.startswith("violated in the reduced state space, but the search for a "
                                                   "shortest counterexample stopped (--max-states 30000)")


def test_the_unreduced_re_search_shares_the_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    """The re-search for a shortest trace once started with a fresh clock: `deep 8 x2 K5 --timeout 90`
    ran 162 s. Here the reduced search is made to use up the whole --timeout before it returns its
    violation; the re-search then has no time left, and the check is inconclusive, naming the limit."""
    import sys
    import time
    sys.path.insert(0, sys_path_bench)
    from gen_nested import nested_pic
    text = nested_pic(5, 2).replace("check max_nesting 10", "check max_nesting 3")
    slow_run = ReducedExplicit.run

    def run(self: ReducedExplicit) -> object:
        out = slow_run(self)
        time.sleep(3.1)
        return out

    monkeypatch.setattr(ReducedExplicit, "run", run)
    r = ircheck.check_source(text, timeout=3)  # counted from the model's start: the lowering and codegen fit in it
    c = r.check("max_nesting")
    assert c.status == "inconclusive" and not c.trace
    assert c.note.endswith("stopped (--timeout 3s)"), c.note
    monkeypatch.setattr(ReducedExplicit, "run", slow_run)
    assert ircheck.check_source(text, timeout=60).check("max_nesting").status == "violated"


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(timer_models())
def test_generated_timer_models_agree(text: str) -> None:
    assume(small_enough(text, 50_000))
    _agree(text)


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(message_models())
def test_generated_message_models_agree(text: str) -> None:
    assume(small_enough(text, 50_000))
    _agree(text)


@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seq_models())
def test_generated_seq_models_agree(text: str) -> None:
    assume(small_enough(text, 50_000))
    _agree(text)
