"""Deep but legal inputs (issue 21): long call chains, long sums, long invariants, constants wider
than any fixed-width engine. Each test asserts the verdict, not only the absence of a crash."""

from __future__ import annotations

import resource
import sys
import time

import pytest

import ircheck
from ircheck.api import compile_source
from ircheck.codegen import Packing, compile_ts
from ircheck.grammar.parser import parse
from ircheck.spec.cfg import Compiler
from ircheck.spec.resolve import resolve
from ircheck.spec.ts import MAX_DEPTH, Bin, C, V, depth, evaluate, fold_ranges, variables_of
from tests.support.generators import call_chain, long_invariant, long_sum_if, wide_constant, wide_if, wide_sum


def verdicts(text: str, engine: str = "explicit", **kw: object) -> dict[str, str]:
    r = ircheck.check_source(text, engine=engine, **kw)  # type: ignore[arg-type]
    assert not r.errors, [d.render() for d in r.errors]
    return {c.name: c.status for c in r.checks}


# ---- item 3: deep call chains, long sums, long invariants ----------------------------------------

def test_call_chain_of_500_is_inlined_without_recursion() -> None:
    shape = call_chain(500)
    t0 = time.perf_counter()
    r = ircheck.check_source(shape.text, engine="explicit")
    assert time.perf_counter() - t0 < 30
    assert {c.name: c.status for c in r.checks} == shape.expect
    trace = r.check("invariant").trace
    assert len(trace) == 1002  # 500 calls, the inc, 500 returns, the thread's inc
    assert verdicts(call_chain(500, violate=False).text) == call_chain(500, violate=False).expect


NESTED_CALLS = """counter c max 3
flag f
thread t { call fn0; if f { call fn1 } else { while f { call fn1 } }; inc c }
function fn0 { call fn1; loop { call fn1 } }
function fn1 { inc c }
check invariant c < 2
"""


def test_call_chain_locations_keep_their_order() -> None:
    """The iterative CFG builder numbers locations exactly as the recursive one did (this list is
    the recursive builder's output): program counters, and so traces and state numbers, are unchanged."""
    d = resolve(parse(NESTED_CALLS))
    body = Compiler(d).compile(d.code["t"], "end")
    got = [(n.kind, n.next, n.alt, n.text) for n in body.nodes]
    assert body.entry == 18
    assert got == [
        ("end", -1, -1, "end of thread"), ("stmt", 0, -1, "inc c"), ("ret", 1, -1, "return from fn1"),
        ("stmt", 2, -1, "inc c"), ("call", 3, -1, "call fn1"), ("test", 8, 1, "while f"),
        ("ret", 5, -1, "return from fn1"), ("stmt", 6, -1, "inc c"), ("call", 7, -1, "call fn1"),
        ("test", 4, 5, "if f"), ("ret", 9, -1, "return from fn0"), ("goto", 14, -1, "loop"),
        ("ret", 14, -1, "return from fn1"), ("stmt", 12, -1, "inc c"), ("call", 13, -1, "call fn1"),
        ("ret", 14, -1, "return from fn1"), ("stmt", 15, -1, "inc c"), ("call", 16, -1, "call fn1"),
        ("call", 17, -1, "call fn0")]


def test_sum_of_1000_terms_in_an_if() -> None:
    for shape in (long_sum_if(1000, 3), long_sum_if(1000, 1000), long_sum_if(1000, 999)):
        assert verdicts(shape.text) == shape.expect, shape.name
        assert verdicts(shape.text, "smt") == shape.expect, shape.name


def test_invariant_of_201_terms_compiles() -> None:
    for shape in (long_invariant(201, 201 * 3), long_invariant(201, 201 * 3 + 1), long_invariant(1500, 4500)):
        assert verdicts(shape.text) == shape.expect, shape.name
        assert verdicts(shape.text, "smt") == shape.expect, shape.name


def test_long_sums_are_rebalanced_in_the_transition_system() -> None:
    ts = compile_source(long_invariant(5000, 10).text)
    ok = ts.state_props[0].ok
    assert depth(ok) <= MAX_DEPTH
    assert evaluate(ok, tuple(v.init for v in ts.vars)) == 1
    src = compile_ts(ts, Packing.of(ts)).source
    assert "x0 + x0" in src


def test_reference_evaluator_walks_a_left_chain_of_5000_terms() -> None:
    e = V(0)
    for k in range(5000):
        e = Bin("+" if k % 3 else "-", e, V(0) if k % 2 else C(k))
    assert depth(e) > sys.getrecursionlimit()
    want = sum(((1 if k % 3 else -1) * (7 if k % 2 else k)) for k in range(5000)) + 7
    assert evaluate(e, (7,)) == want
    assert variables_of(e) == {0}


def test_replay_of_a_long_trace_is_linear(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every trace is replayed through spec/step.py: a trace of 1,802 steps through 1,800
    locations must not evaluate every guard at every step (3 million evaluations; the index by
    program counter keeps it to a few per step)."""
    import ircheck.spec.step as step

    shape = call_chain(900)
    calls = 0
    real = step.evaluate

    def counting(e: tuple, s: tuple[int, ...]) -> int:  # type: ignore[type-arg]
        nonlocal calls
        calls += 1
        return real(e, s)

    monkeypatch.setattr(step, "evaluate", counting)
    r = ircheck.check_source(shape.text, engine="explicit")
    assert r.check("invariant").status == "violated"
    n = len(r.check("invariant").trace)
    assert n == 1802
    assert calls < 20 * n, calls


# ---- items 2 and 5: constants wider than the encoding ---------------------------------------------

WIDE = [2**31 - 1, 2**31, 2**32, 2**32 + 1, 2**64, 2**255, 2**300]
WIDE_IDS = ["2^31-1", "2^31", "2^32", "2^32+1", "2^64", "2^255", "2^300"]


@pytest.mark.parametrize("k", WIDE, ids=WIDE_IDS)
@pytest.mark.parametrize("op", ["<", "<=", ">", ">=", "==", "!="])
def test_wide_constant_same_verdict_explicit_and_smt(k: int, op: str) -> None:
    shape = wide_constant(k, op)
    assert verdicts(shape.text) == shape.expect
    assert verdicts(shape.text, "smt") == shape.expect


def test_smt_says_holds_for_c_below_two_to_the_255() -> None:
    """The issue's reproducer: the smt engine crashed in the result assembly ('SmtEngine' object has
    no attribute 'live_checks'); explicit said holds."""
    text = f"counter c max 255\nthread t {{ inc c }}\ncheck invariant c < {2**255}\n"
    r = ircheck.check_source(text, engine="smt")
    assert r.check("invariant").status == "holds"


@pytest.mark.parametrize("k", [2, 3, 4, 2**32 + 1, 2**300], ids=["2", "3", "4", "2^32+1", "2^300"])
def test_wide_constant_in_a_condition(k: int) -> None:
    shape = wide_if(k)
    assert verdicts(shape.text) == shape.expect
    assert verdicts(shape.text, "smt") == shape.expect


@pytest.mark.parametrize("k", [2**32, 2**300], ids=["2^32", "2^300"])
def test_wide_constants_that_cancel(k: int) -> None:
    shape = wide_sum(k)
    assert verdicts(shape.text) == shape.expect
    assert verdicts(shape.text, "smt") == shape.expect


def test_fold_ranges_decides_comparisons_against_out_of_range_constants() -> None:
    sizes = [4]
    assert fold_ranges(Bin("<", V(0), C(2**255)), sizes) == C(1)
    assert fold_ranges(Bin("==", V(0), C(2**32 + 1)), sizes) == C(0)
    assert fold_ranges(Bin(">=", V(0), C(0)), sizes) == C(1)
    kept = fold_ranges(Bin("<", Bin("-", Bin("+", V(0), C(2**64)), C(2**64)), C(2)), sizes)
    assert kept == Bin("<", V(0), C(2))
    for e in (Bin("<", Bin("+", V(0), C(2**40)), C(2**40 + 2)), Bin("!=", Bin("-", C(5), V(0)), C(3))):
        f = fold_ranges(e, sizes)
        assert all(evaluate(f, (v,)) == evaluate(e, (v,)) for v in range(4)), (e, f)


def test_memory_of_the_500_call_model() -> None:
    """Peak memory stays modest (the whole run, not only the chain, in this process)."""
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    verdicts(call_chain(500).text)
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert grown_mb < 300
