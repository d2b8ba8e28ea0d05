"""The typed IR (spec/expr.py), its walkers (spec/walker.py) and the typed tags (spec/tags.py)."""

from __future__ import annotations

import pickle
from collections.abc import Sequence
from pathlib import Path

import pytest

from ircheck.api import compile_source
from ircheck.spec import expr
from ircheck.spec.expr import (
    CATEGORIES,
    FALSE,
    TRUE,
    And,
    BinOp,
    Bit,
    C,
    Cond,
    Const,
    Eq,
    Expr,
    In,
    Ite,
    LNot,
    Member,
    NAry,
    Not,
    Op,
    Or,
    Ref,
    V,
    from_tuple,
)
from ircheck.spec.expr_algebra import MAX_DEPTH, balanced, depth, evaluate, terms, variables_of
from ircheck.spec.tags import (
    BOUND,
    FACT,
    Acknowledge,
    DepFact,
    Tag,
    UseFact,
    acknowledge,
    is_strong,
    parse_fact,
)
from ircheck.spec.ts import Bin
from ircheck.spec.walker import Fold, Visitor

# ---- folding: exactly what the lowering relies on -----------------------------------------------------


def test_and_or_fold_constants_splice_and_return_a_lone_operand() -> None:
    a, b, c = V(0), V(1), V(2)
    assert And() == TRUE and Or() == FALSE
    assert And(TRUE, a) is a and Or(FALSE, a) is a  # a lone operand itself, not 0/1
    assert And(a, FALSE, b) == FALSE and Or(a, TRUE, b) == TRUE
    assert And(a, And(b, c)) == NAry(Op.AND, (a, b, c))  # same operator spliced in
    assert Or(a, And(b, c)) == NAry(Op.OR, (a, NAry(Op.AND, (b, c))))
    assert And(C(2), a) == NAry(Op.AND, (C(2), a))  # only 0 and 1 are the neutral/absorbing constants


def test_not_bin_in_ite_fold() -> None:
    a = V(3)
    assert Not(C(0)) == C(1) and Not(C(7)) == C(0)
    assert Not(Not(a)) is a and Not(a) == LNot(a)
    assert Bin("+", C(2), C(3)) == C(5) and Bin("<", C(2), C(3)) == C(1) and Bin(">>", C(8), C(2)) == C(2)
    assert Bin("+", a, C(0)) == BinOp(Op.ADD, a, C(0))  # no algebra beyond constants
    assert Eq(a, C(1)) == BinOp(Op.EQ, a, C(1))
    assert Bit(a, 0) == BinOp(Op.BAND, a, C(1))
    assert Bit(a, 3) == BinOp(Op.BAND, BinOp(Op.SHR, a, C(3)), C(1))
    assert In(a, set()) == FALSE and In(a, {4}) == Eq(a, C(4)) and In(a, {1, 2}) == Member(a, frozenset({1, 2}))
    assert Ite(C(1), a, C(9)) is a and Ite(C(0), a, C(9)) == C(9)
    assert Ite(a, C(1), C(2)) == Cond(a, C(1), C(2))
    assert C(True) == Const(1) and type(C(True).k) is int


def test_tuples_of_the_old_representation_convert_as_they_are() -> None:
    assert from_tuple(("+", ("c", 0), ("ite", ("v", 1), ("c", 1), ("c", 0)))) == \
        BinOp(Op.ADD, C(0), Cond(V(1), C(1), C(0)))
    assert from_tuple(("ite", TRUE, C(1), C(0))) == Cond(TRUE, C(1), C(0))  # not folded to C(1)
    assert from_tuple(("in", ("v", 0), frozenset({1}))) == Member(V(0), frozenset({1}))
    assert from_tuple(("and", ("v", 0), ("not", ("v", 1)))) == NAry(Op.AND, (V(0), LNot(V(1))))
    with pytest.raises(ValueError):
        Bin("and", V(0), V(1))


# ---- categories -----------------------------------------------------------------------------------------

def test_operator_categories_cover_every_operator_exactly_once() -> None:
    seen = [op for ops in CATEGORIES.values() for op in ops]
    assert sorted(seen) == sorted(Op) and len(seen) == len(set(seen))
    assert set(expr.CATEGORY_NODE) == set(CATEGORIES)


def test_the_category_check_fails_on_a_gap_or_an_overlap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(expr.CATEGORIES, "unary", frozenset())
    with pytest.raises(AssertionError, match="in no category"):
        expr._check_categories()
    monkeypatch.setitem(expr.CATEGORIES, "unary", frozenset({Op.NOT, Op.ADD}))
    with pytest.raises(AssertionError, match="categories"):
        expr._check_categories()


# ---- value semantics ------------------------------------------------------------------------------------

def test_nodes_compare_and_hash_by_value_and_stay_immutable() -> None:
    def build() -> Expr:
        return And(Eq(V(0), C(1)), Or(Bin("<", V(1), C(3)), In(V(2), {1, 5})), Not(Ite(V(3), C(1), V(4))))

    x, y = build(), build()
    assert x is not y and x == y and hash(x) == hash(y)
    assert len({x, y}) == 1 and {x: 1}[y] == 1
    assert x != And(Eq(V(0), C(2)), V(1)) and Const(1) != Ref(1) and V(0) != ("v", 0)
    with pytest.raises(AttributeError):
        V(0).i = 1  # type: ignore[misc]
    assert not hasattr(V(0), "__dict__")  # slotted
    assert pickle.loads(pickle.dumps(x)) == x


def test_hash_and_repr_are_those_of_the_tuples_the_ir_replaced() -> None:
    """Sets and dicts of expressions iterate as before, and messages that show one read the same."""
    e = Bin("+", V(3), Ite(V(1), C(2), Not(In(V(4), {1, 2}))))
    t = ("+", ("v", 3), ("ite", ("v", 1), ("c", 2), ("not", ("in", ("v", 4), frozenset({1, 2})))))
    assert hash(e) == hash(t) and repr(e) == repr(t)
    assert repr(And(V(0), V(1))) == repr(("and", ("v", 0), ("v", 1)))


def test_deep_expressions_hash_and_compare_without_recursion() -> None:
    e: Expr = V(0)
    f: Expr = V(0)
    for k in range(10_000):
        e, f = BinOp(Op.ADD, e, C(k)), BinOp(Op.ADD, f, C(k))
    assert hash(e) == hash(f)
    assert e == f and e is not f  # (nested tuples raised RecursionError here)
    assert e != BinOp(Op.ADD, f, C(0))


# ---- walkers ---------------------------------------------------------------------------------------------

def test_a_walker_missing_a_node_kind_fails_when_defined() -> None:
    with pytest.raises(TypeError, match="visit_member"):
        class _Partial(Visitor[int]):
            def visit_const(self, e: Const) -> int:
                return e.k

            def visit_ref(self, e: Ref) -> int:
                return 0

            def visit_not_(self, e: LNot) -> int:
                return 0

            def visit_nary(self, e: NAry) -> int:
                return 0

            def visit_binop(self, e: BinOp) -> int:
                return 0

            def visit_cond(self, e: Cond) -> int:
                return 0

    with pytest.raises(TypeError, match="fold_cond"):
        class _PartialFold(Fold[int]):
            def fold_const(self, e: Const) -> int:
                return 1

    class _Base(Fold[int], abstract=True):  # a partial base is allowed when it says so
        def fold_const(self, e: Const) -> int:
            return 1


class _Count(Fold[int]):
    def fold_const(self, e: Const) -> int:
        return 1

    def fold_ref(self, e: Ref) -> int:
        return 1

    def fold_not_(self, e: LNot, a: int) -> int:
        return 1 + a

    def fold_nary(self, e: NAry, args: Sequence[int]) -> int:
        return 1 + sum(args)

    def fold_binop(self, e: BinOp, a: int, b: int) -> int:
        return 1 + a + b

    def fold_member(self, e: Member, a: int) -> int:
        return 1 + a

    def fold_cond(self, e: Cond, c: int, a: int, b: int) -> int:
        return 1 + c + a + b


def _left_sum(n: int) -> Expr:
    """v0 + 1 + 2 + ... folded to the left, as the lowering writes `a + b + c`: n levels deep."""
    e: Expr = V(0)
    for k in range(1, n + 1):
        e = Bin("+", e, C(k))
    return e


def test_ten_thousand_term_sums_are_walked_without_recursion_error() -> None:
    e = _left_sum(10_000)
    assert _Count().fold(e) == 20_001
    assert depth(e) == 10_001
    assert evaluate(e, (5,)) == 5 + 10_000 * 10_001 // 2
    assert variables_of(e) == {0}
    pos, neg, k = terms(e)
    assert pos == [V(0)] and neg == [] and k == 10_000 * 10_001 // 2
    b = balanced(e)
    assert depth(b) <= MAX_DEPTH and evaluate(b, (5,)) == evaluate(e, (5,))
    deep_not: Expr = V(0)
    for _ in range(10_000):
        deep_not = LNot(deep_not)
    assert _Count().fold(deep_not) == 10_001 and depth(deep_not) == 10_001


def test_the_evaluator_is_lazy_like_the_generated_code() -> None:
    """`and` stops at the first false operand and `Cond` evaluates one branch: a shift by a negative
    amount behind a false guard raises nothing, as in the generated successor function."""
    bad = Bin("<<", C(1), Bin("-", V(0), C(5)))  # 1 << -5 in state (0,)
    assert evaluate(And(Eq(V(0), C(1)), bad), (0,)) == 0
    assert evaluate(Ite(Eq(V(0), C(1)), bad, C(7)), (0,)) == 7
    with pytest.raises(ValueError):
        evaluate(bad, (0,))


def test_a_shared_subexpression_is_folded_once() -> None:
    calls: list[Expr] = []

    class _Seen(_Count):
        def fold_binop(self, e: BinOp, a: int, b: int) -> int:
            calls.append(e)
            return super().fold_binop(e, a, b)

    shared = Bin("+", V(0), V(1))
    _Seen().fold(And(Eq(shared, C(1)), Eq(shared, C(2))))
    assert calls.count(shared) == 1


# ---- typed tags ------------------------------------------------------------------------------------------

def test_tags_are_typed_and_equal_their_old_strings() -> None:
    assert BOUND is Tag.BOUND and FACT is Tag.FACT
    assert BOUND == "__bound__" and FACT == "__fact__" and hash(BOUND) == hash("__bound__")
    assert {"__bound__": 1}[BOUND] == 1 and isinstance(BOUND, str) and not isinstance("__bound__", Tag)
    assert pickle.loads(pickle.dumps(BOUND)) is BOUND


def test_lockdep_facts_round_trip_through_their_keys() -> None:
    use = UseFact("dev_lock", "IN-HARDIRQ", 12, "handler nic_isr")
    dep = DepFact("a", "b", 7, "thread app")
    assert use.key == "use|dev_lock|IN-HARDIRQ|12|handler nic_isr" and parse_fact(use.key) == use
    assert dep.key == "dep|a|b|7|thread app" and parse_fact(dep.key) == dep
    assert parse_fact("use|x|y|1") is None and parse_fact("other|a|b|1|w") is None


def test_equal_hashes_are_not_taken_for_equality() -> None:
    assert hash(C(-1)) == hash(C(-2)) and C(-1) != C(-2)  # hash(-1) == hash(-2) in CPython
    assert Bin("+", V(0), C(-1)) != Bin("+", V(0), C(-2))
    assert In(V(0), {1, 2}) != In(V(0), {1, 3})


def test_acknowledge_groups_are_typed() -> None:
    g = acknowledge(1, "vector 0x21")
    assert g == "cpu1 takes vector 0x21" and isinstance(g, Acknowledge) and is_strong(g)
    assert not is_strong("cpu1") and pickle.loads(pickle.dumps(g)) == g


MODELS = Path(__file__).resolve().parents[2] / "models"


@pytest.mark.parametrize("name", ["x86_nmi_reenters_logger", "x86_apic_class_nesting", "kbd_uart_with_eoi",
                                  "kernel_lockdep_safe_to_unsafe", "kernel_abba_lockdep_only"])
def test_the_lowering_tags_are_typed(name: str) -> None:
    """Strong fairness is exactly the acknowledge groups; every fact the lowering tags is a lockdep fact."""
    ts = compile_source((MODELS / f"{name}.irq").read_text(encoding="utf-8"))
    groups = {g for t in ts.transitions for g in t.fair}
    assert ts.strong == {g for g in groups if isinstance(g, Acknowledge)}
    # strong fairness is the interrupt acknowledges ("cpuN takes vector V"), and only they (L8, X-rules)
    assert {g for g in groups if " takes " in g} == ts.strong
    assert ts.strong or not name.startswith(("x86", "kbd"))  # these CPUs take vectors
    keys = [m for t in ts.transitions for c, m in t.violates if c == ts.fact_check]
    assert all(parse_fact(k) is not None for k in keys)
    assert ("lockdep" in name) == bool(keys)
