"""The Z3 encoding on hand-built transition systems: exact depths, exact verdicts, exact values.

A 3-state counter (0 -> 1 -> 2, then stuck) is small enough to know every answer: a deadlock at
exactly depth 2 (the stuck state must stay reachable: no off-by-one in the unrolling), a state
property broken at depth 2, a tagged transition enabled at depth 1 (a trace of 2 steps), a
property that k-induction proves. Expressions are checked against the reference evaluator on
random inputs, including negative intermediates, shifts and comparisons.
"""

from __future__ import annotations

import pytest
import z3
from hypothesis import given, settings
from hypothesis import strategies as st

from ircheck.api import run_engine
from ircheck.pipeline import replayed_trace
from ircheck.result import HOLDS, INCONCLUSIVE, VIOLATED
from ircheck.smt import SmtEngine, SmtRun, verdicts
from ircheck.smt_encode import Encoding, expression_width
from ircheck.spec.expr import from_tuple
from ircheck.spec.ts import (
    TRUE,
    Bin,
    C,
    Eq,
    Label,
    Request,
    StateProp,
    Transition,
    TransitionSystem,
    V,
    Var,
    balanced,
    evaluate,
    fold_ranges,
)


def counter(checks: list[str], props: list[StateProp] = (), tagged: bool = False,  # type: ignore[assignment]
            unfinished: tuple = TRUE) -> TransitionSystem:  # type: ignore[type-arg]
    """c: 0 -> 1 -> 2 by a CPU step, then nothing is enabled."""
    inc = Transition(Label("cpu0", "inc", 1, 0), Bin("<", V(0), C(2)), ((0, Bin("+", V(0), C(1))),),
                     group="cpu0", fair=("cpu0",))
    ts = TransitionSystem([Var("c", 3)], [inc], list(props), checks=checks, unfinished=unfinished,
                          groups=("cpu0",))
    if tagged:
        bad = Transition(Label("cpu0", "bad", 2, 0), Eq(V(0), C(1)), (), group="cpu0", fair=("cpu0",),
                         violates=(("no_lost_irq", "bad step at c=1"),))
        ts.transitions.append(bad)
    return ts


class Smt:
    """One Z3 run on a hand-built system: verdicts, and each counterexample replayed by spec.step.

    (Hand-built systems carry no presentation data, so the traces stay transition indices and
    states instead of going through `explain`.)"""

    def __init__(self, ts: TransitionSystem, **kw: object) -> None:
        self.eng = SmtEngine(ts, **kw)  # type: ignore[arg-type]
        self.run: SmtRun = self.eng.run()
        self.verdict = {name: (status, note) for name, status, note in verdicts(self.eng, self.run)}
        self.traces = {name: replayed_trace(ts, self.eng.pk.unpack, v) for name, v in self.run.res.violations.items()}

    def status(self, check: str) -> str:
        return self.verdict[check][0]

    def note(self, check: str) -> str:
        return self.verdict[check][1]


def test_deadlock_at_exactly_depth_two() -> None:
    r = Smt(counter(["no_deadlock"]))
    assert r.status("no_deadlock") == VIOLATED
    steps, states, loop = r.traces["no_deadlock"]
    assert steps == [0, 0] and states == [(0,), (1,), (2,)] and loop is None
    assert r.run.res.depth == 2


def test_no_deadlock_when_nothing_is_unfinished_is_proved() -> None:
    r = Smt(counter(["no_deadlock"], unfinished=Eq(V(0), C(0))))
    assert r.status("no_deadlock") == HOLDS and r.note("no_deadlock").startswith("proved")


def test_state_property_broken_at_depth_two() -> None:
    prop = StateProp("invariant", Bin("!=", V(0), C(2)), "c reached 2", 7)
    r = Smt(counter(["invariant"], [prop]))
    assert r.status("invariant") == VIOLATED
    v = r.run.res.violations["invariant"]
    assert v.message == "c reached 2" and v.line == 7 and v.last is None
    assert r.traces["invariant"][1] == [(0,), (1,), (2,)]


def test_tagged_transition_is_one_step_past_its_state() -> None:
    r = Smt(counter(["no_lost_irq"], tagged=True))
    steps, states, _ = r.traces["no_lost_irq"]
    assert steps == [0, 1] and states == [(0,), (1,), (1,)]  # inc to c=1, then the bad step
    assert r.run.res.violations["no_lost_irq"].message == "bad step at c=1"


def test_invariant_that_holds_is_proved_and_says_how() -> None:
    prop = StateProp("invariant", Bin("<=", V(0), C(2)), "never", 1)
    r = Smt(counter(["invariant"], [prop]))
    assert r.status("invariant") == HOLDS and r.note("invariant").startswith("proved")


def test_unreachable_but_not_inductive_needs_k_greater_than_one() -> None:
    """c counts 0..3 mod 4 in steps of 2 from 0: c in {1,3} is unreachable. With a second variable
    that copies c, c == 1 and d == 3 is not 1-inductive without the simple-path argument."""
    step = Transition(Label("cpu0", "add2", 1, 0), TRUE,
                      ((0, Bin("&", Bin("+", V(0), C(2)), C(3))), (1, V(0))), group="cpu0", fair=("cpu0",))
    prop = StateProp("invariant", Bin("==", Bin("&", V(0), C(1)), C(0)), "odd", 1)
    ts = TransitionSystem([Var("c", 4), Var("d", 4)], [step], [prop], checks=["invariant"], groups=("cpu0",))
    r = Smt(ts)
    assert r.status("invariant") == HOLDS and r.note("invariant").startswith("proved")
    assert explicit_status(ts) == {"invariant": HOLDS}


def explicit_status(ts: TransitionSystem) -> dict[str, str]:
    out, _ = run_engine(ts, "explicit")
    return {r.name: r.status for r in out}


def test_starvation_lasso_proof_and_inconclusive_when_unproved(monkeypatch: pytest.MonkeyPatch) -> None:
    """A request pending while a CPU spins for ever without delivering it: a lasso of one step."""
    spin = Transition(Label("cpu0", "spin", 1, 0), TRUE, (), group="cpu0", fair=("cpu0",))
    deliver = Transition(Label("cpu0", "take", 2, 0), Eq(V(0), C(1)), ((0, C(0)),), group="cpu0", fair=("cpu0",))
    raise_ = Transition(Label("dev", "raise", 3), Eq(V(0), C(0)), ((0, C(1)),))
    req = Request("no_starvation", "r", Eq(V(0), C(1)), frozenset({1}), "starved", 3)
    ts = TransitionSystem([Var("p", 2)], [spin, deliver, raise_], requests=[req], checks=["no_starvation"],
                          groups=("cpu0",))
    r = Smt(ts)
    steps, states, loop = r.traces["no_starvation"]
    assert r.status("no_starvation") == VIOLATED and loop is not None
    assert states[loop] == states[-1] == (1,) and 1 not in steps[loop:]  # pending, never delivered
    assert explicit_status(ts) == {"no_starvation": VIOLATED}
    # without the spin, the only CPU step delivers: explicit says holds, liveness-to-safety proves it
    req2 = Request("no_starvation", "r", Eq(V(0), C(1)), frozenset({0}), "starved", 3)
    ts2 = TransitionSystem([Var("p", 2)], [deliver, raise_], requests=[req2], checks=["no_starvation"],
                           groups=("cpu0",))
    assert explicit_status(ts2) == {"no_starvation": HOLDS}
    r2 = Smt(ts2, max_depth=6)
    assert r2.status("no_starvation") == HOLDS and "liveness-to-safety" in r2.note("no_starvation")
    # a lasso bound alone is not a proof: without liveness-to-safety the check stays open
    monkeypatch.setattr("ircheck.smt_l2s.LoopProver.proves", lambda *a, **k: False)
    r3 = Smt(ts2, max_depth=6)
    assert r3.status("no_starvation") == INCONCLUSIVE and "did not prove" in r3.note("no_starvation")


def test_bound_transition_makes_everything_else_inconclusive() -> None:
    ts = counter(["invariant"], [StateProp("invariant", TRUE, "never", 1)])
    ts.transitions.append(Transition(Label("cpu0", "nest", 4, 0), Eq(V(0), C(2)), (), group="cpu0",
                                     violates=((ts.bound_check, "nesting bound 2 reached"),)))
    r = Smt(ts)
    assert r.status("invariant") == INCONCLUSIVE and r.note("invariant").startswith("nesting bound 2 reached")


# ---- expressions against the reference evaluator ---------------------------------------------

SIZES = (4, 16)


def exprs() -> st.SearchStrategy[tuple]:  # type: ignore[type-arg]
    leaf = st.one_of(st.integers(0, 9).map(C), st.integers(0, 1).map(V))

    def grow(sub: st.SearchStrategy[tuple]) -> st.SearchStrategy[tuple]:  # type: ignore[type-arg]
        ops = st.sampled_from(["+", "-", "&", "|", "^", "==", "!=", "<", "<=", ">", ">="])
        shift = st.tuples(st.sampled_from(["<<", ">>"]), sub, st.integers(0, 3).map(C))
        return st.one_of(st.tuples(ops, sub, sub), shift, st.tuples(st.just("not"), sub),
                         st.tuples(st.just("ite"), sub, sub, sub),
                         st.tuples(st.just("in"), sub, st.frozensets(st.integers(-3, 9), min_size=1)))
    return st.recursive(leaf, grow, max_leaves=8).map(from_tuple)


@settings(max_examples=150, deadline=None)
@given(exprs(), st.integers(0, SIZES[0] - 1), st.integers(0, SIZES[1] - 1))
def test_expression_values_match_the_reference(e: tuple, a: int, b: int) -> None:  # type: ignore[type-arg]
    ts = TransitionSystem([Var("a", SIZES[0]), Var("b", SIZES[1])],
                          [Transition(Label("x", "y"), TRUE, ((0, C(0)),))],
                          [StateProp("invariant", e, "m")], checks=["invariant"])
    enc = Encoding(ts)
    assert enc.width == expression_width(ts)
    s = [z3.BitVecVal(a, enc.vwidth[0]), z3.BitVecVal(b, enc.vwidth[1])]
    got = z3.simplify(enc.value(e, s)).as_signed_long()  # type: ignore[attr-defined]
    assert got == evaluate(e, (a, b)), e
    assert z3.is_true(z3.simplify(enc.cond(e, s))) == bool(evaluate(e, (a, b)))


@pytest.mark.parametrize("e", [Bin("-", C(0), V(1)), Bin(">>", Bin("-", C(0), V(1)), C(2)),
                               Bin("<<", V(1), C(7)), Bin("<", Bin("-", V(0), V(1)), C(0))])
def test_width_covers_negative_and_shifted_values(e: tuple) -> None:  # type: ignore[type-arg]
    test_expression_values_match_the_reference.hypothesis.inner_test(e, 3, 15)  # type: ignore[attr-defined]


NESTED = """pic master : i8259 { base 0x20 }
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
check invariant not (f0 and f1)
"""


def test_spacer_proves_an_invariant_k_induction_does_not() -> None:
    """not (f0 and f1) holds (explicit: 1,432 states) but is not k-inductive for small k: the
    induction step finds unreachable predecessors; Spacer computes the strengthening."""
    from ircheck.api import compile_source
    from ircheck.smt_budget import Budget
    from ircheck.smt_induction import Induction
    from ircheck.smt_spacer import Spacer

    ts = compile_source(NESTED)
    assert explicit_status(ts)["invariant"] == HOLDS
    eng = SmtEngine(ts)
    eng.enc = Encoding(ts)
    eng.make_targets()
    (inv,) = [t for t in eng.targets if t.key == "check:invariant"]
    budget = Budget(60, None)
    ind = Induction(eng.enc, budget)
    assert not any(ind.step_holds(inv, k) for k in (1, 2, 3))
    assert Spacer(eng.enc, budget).proves(inv)


def test_spacer_never_proves_a_reachable_target_after_a_timed_out_query() -> None:
    """Regression: with one Fixedpoint object reused, a query cut off by its cap was followed by an
    "unsat" (a proof) for this model's invariant, which is broken 18 steps deep. Now every query has
    its own Fixedpoint and every invariant is checked before it counts."""
    from ircheck.smt_budget import Budget
    from ircheck.smt_spacer import Spacer
    from tests.conftest import MODELS

    ts = compile_ts((MODELS / "seed_nic_ring_overflow.irq").read_text())
    eng = SmtEngine(ts)
    eng.enc = Encoding(ts)
    eng.make_targets()
    sp = Spacer(eng.enc, Budget(60, None))
    by_key = {t.key: t for t in eng.targets}
    assert not sp.proves(by_key["check:counter_range"])  # may run out of its cap
    assert not sp.proves(by_key["check:invariant"])
    assert sp.proves(by_key["check:no_reentry"])  # and a true one still is proved


def compile_ts(text: str) -> TransitionSystem:
    from ircheck.api import compile_source
    return compile_source(text)


def wide_exprs() -> st.SearchStrategy[tuple]:  # type: ignore[type-arg]
    """Expressions as `exprs`, with constants far outside every domain and wider than any bit-vector."""
    leaf = st.one_of(st.sampled_from([0, 1, 2, 7, 2**31, 2**32 + 1, 2**64, 2**255, 2**300]).map(C),
                     st.integers(0, 1).map(V))

    def grow(sub: st.SearchStrategy[tuple]) -> st.SearchStrategy[tuple]:  # type: ignore[type-arg]
        ops = st.sampled_from(["+", "-", "==", "!=", "<", "<=", ">", ">=", "and", "or"])
        return st.one_of(st.tuples(ops, sub, sub), st.tuples(st.just("not"), sub),
                         st.tuples(st.just("ite"), sub, sub, sub),
                         st.tuples(st.just("in"), sub, st.frozensets(st.sampled_from([0, 3, 2**40]), min_size=1)))
    return st.recursive(leaf, grow, max_leaves=10).map(from_tuple)


@settings(max_examples=200, deadline=None)
@given(st.one_of(exprs(), wide_exprs()), st.integers(0, SIZES[0] - 1), st.integers(0, SIZES[1] - 1))
def test_folded_and_rebalanced_expressions_keep_their_value(e: tuple, a: int, b: int) -> None:  # type: ignore[type-arg]
    """fold_ranges (what Z3 and Promela see) and balanced (what every engine sees) are the same
    function as the expression on every state within the domains, wide constants included."""
    assert evaluate(fold_ranges(e, SIZES), (a, b)) == evaluate(e, (a, b)), e
    assert evaluate(balanced(e, limit=0), (a, b)) == evaluate(e, (a, b)), e


@settings(max_examples=60, deadline=None)
@given(wide_exprs(), st.integers(0, SIZES[0] - 1), st.integers(0, SIZES[1] - 1))
def test_wide_constants_are_encoded_exactly(e: tuple, a: int, b: int) -> None:  # type: ignore[type-arg]
    """Z3's value of an expression with constants of up to 300 bits is the reference value."""
    test_expression_values_match_the_reference.hypothesis.inner_test(e, a, b)  # type: ignore[attr-defined]
