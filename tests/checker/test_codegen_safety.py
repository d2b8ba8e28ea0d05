"""Nothing a model says reaches generated Python: only our identifiers and integer literals do."""

from __future__ import annotations

import re

import pytest

import ircheck
from ircheck.api import compile_source
from ircheck.codegen import Packing, compile_ts
from ircheck.spec.expr import Expr, LNot, NAry, Op
from ircheck.spec.ts import Bin, C, Label, StateProp, Transition, TransitionSystem, V, Var, evaluate
from tests.support.generators import hostile_model


@pytest.mark.parametrize("checks", [None, ["no_starvation", "no_deadlock", "invariant"]])
def test_generated_source_holds_only_our_identifiers(checks: list[str] | None) -> None:
    """As the model says, and with graph checks (the memoized `marks` the edge log reads)."""
    ts = compile_source(hostile_model(), checks=checks)
    src = compile_ts(ts, Packing.of(ts)).source
    assert ("def marks(" in src) == (checks is not None)
    idents = set(re.findall(r"[A-Za-z_][A-Za-z0-9_]*", src))
    ours = {"def", "succ", "succ_ids", "props", "unfinished", "blocked", "marks", "s", "out", "vio", "tis", "n", "r", "if", "elif",
            "else", "and", "or", "not", "in", "return", "frozenset", "True", "append",
            "k", "v", "get", "is", "None", "len", "clear"}  # the memo of `marks` (codegen.memo_predicate_fn)
    ours |= {i for i in idents if re.fullmatch(r"(x|S|E|pending)\d+|(M_)?marks_\d+", i)}
    assert idents <= ours, sorted(idents - ours)
    for name in ("__import__", "exec", "eval", "__builtins__", "__init__", "__del__", "__dict__", "__reduce__"):
        assert name not in src


def test_hostile_names_check_normally() -> None:
    r = ircheck.check_source(hostile_model())
    assert not r.errors
    assert r.check("invariant").status == "violated"  # the handler sets both x0 and S0
    assert r.check("no_lost_irq").status == "holds"


def nested(levels: int) -> tuple[str, str]:
    """An invariant nested `levels` deep (not, and, <: no chain to flatten), and its verdict while
    a thread raises c from 0 to 3."""
    e = "c > 2"
    for i in range(levels):
        e = f"not (c < {i % 3} and {e})"

    def value(c: int) -> bool:
        v = c > 2
        for i in range(levels):
            v = not (c < i % 3 and v)
        return v

    verdict = "holds" if all(value(c) for c in range(4)) else "violated"
    return f"counter c max 3\nthread t {{ inc c; inc c; inc c }}\ncheck invariant {e}\n", verdict


def test_deep_expressions_stay_within_pythons_parenthesis_limit() -> None:
    """Python's tokenizer refuses more than 200 nested parentheses: what nests deeper than
    codegen.SPILL levels is computed by helper functions E<n>; verdicts are unchanged."""
    for levels in (60, 85):
        src, verdict = nested(levels)
        ts = compile_source(src)
        text = compile_ts(ts, Packing.of(ts)).source
        depth = best = 0
        for ch in text:
            depth += {"(": 1, ")": -1}.get(ch, 0)
            best = max(best, depth)
        assert best < 120 and "def E0(" in text
        assert ircheck.check_source(src, engine="explicit").check("invariant").status == verdict
        assert ircheck.check_source(src, engine="smt").check("invariant").status == verdict


def test_hand_built_expression_130_deep_compiles_and_agrees_with_the_reference() -> None:
    """130 levels of not/and/< (generated Python nested 200+ parentheses: SyntaxError before
    helpers): the successor and property functions agree with spec.ts.evaluate in every state."""
    e: Expr = V(0)
    for i in range(130):
        e = Bin("<", C(i % 3), e) if i % 2 else LNot(NAry(Op.AND, (Bin("<", V(0), C(2)), e)))
    ts = TransitionSystem([Var("c", 4)], [Transition(Label("x", "y"), e, ((0, Bin("+", V(0), C(1))),))],
                          [StateProp("invariant", e, "m")], checks=["invariant"])
    fns = compile_ts(ts, Packing.of(ts))
    for c in range(4):
        out: list[int] = []
        fns.succ(c, out, [])
        assert out == ([c + 1] if evaluate(e, (c,)) else [])
        assert fns.props(c) == (0 if evaluate(e, (c,)) else 1)
