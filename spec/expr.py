"""The expressions of a TransitionSystem: a small typed IR.

Values are Python ints; booleans are 0/1. Seven frozen, slotted node kinds:

    Const(k)             the constant k
    Ref(i)               the value of state variable i
    LNot(a)              logical not (1 when a is 0, else 0)
    NAry(op, args)       op in BOOL_NARY (`and`, `or`) over two or more operands (one after `_logic`)
    BinOp(op, a, b)      op in ARITHMETIC, BITWISE, SHIFTS or COMPARISON
    Member(a, values)    1 when a is in the constant set `values`
    Cond(c, a, b)        if c then a else b

Nodes compare by value and hash by value; the hash is computed once, when the node is built, from
its operands' (stored) hashes, so hashing never walks an expression (deep ones neither recurse nor
cost more than shallow ones). It is the hash of the nested tuple this IR replaced (`("+", a, b)`),
so sets and dicts of expressions iterate as they did. `repr` is the one of the nested tuples this IR replaced (`('c', 1)`,
`('+', ('v', 0), ('c', 1))`): messages and orders that show or sort by it are unchanged.

The smart constructors `C, V, And, Or, Not, Bin, Eq, Bit, In, Ite` (and `TRUE`, `FALSE`) fold what
is decided by constants, exactly:
- `And`/`Or` drop their neutral constant, return the absorbing one when an operand is it, splice
  operands of the same operator in, and return a lone operand itself (not as 0/1);
- `Not` of a constant is the other truth value, `Not(LNot(a))` is `a`;
- `Bin` of two constants is the constant; otherwise no algebra;
- `In` of no value is FALSE, of one value k is `Eq(a, C(k))`;
- `Ite` with a constant condition is the branch it picks.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from typing import ClassVar, NoReturn, cast


class Op(StrEnum):
    """Every operator of the IR; its value is the operator's spelling (also in generated code)."""

    AND = "and"
    OR = "or"
    NOT = "not"
    ADD = "+"
    SUB = "-"
    BAND = "&"
    BOR = "|"
    XOR = "^"
    SHL = "<<"
    SHR = ">>"
    EQ = "=="
    NE = "!="
    LT = "<"
    LE = "<="
    GT = ">"
    GE = ">="
    IN = "in"
    ITE = "ite"


BOOL_NARY = frozenset({Op.AND, Op.OR})
UNARY = frozenset({Op.NOT})
ARITHMETIC = frozenset({Op.ADD, Op.SUB})
BITWISE = frozenset({Op.BAND, Op.BOR, Op.XOR})
SHIFTS = frozenset({Op.SHL, Op.SHR})
COMPARISON = frozenset({Op.EQ, Op.NE, Op.LT, Op.LE, Op.GT, Op.GE})
MEMBERSHIP = frozenset({Op.IN})
CONDITIONAL = frozenset({Op.ITE})
CATEGORIES: dict[str, frozenset[Op]] = {
    "boolean n-ary": BOOL_NARY, "unary": UNARY, "arithmetic": ARITHMETIC, "bitwise": BITWISE,
    "shifts": SHIFTS, "comparison": COMPARISON, "membership": MEMBERSHIP, "conditional": CONDITIONAL,
}
BINARY = ARITHMETIC | BITWISE | SHIFTS | COMPARISON  # the operators of `BinOp`
BOOLEAN = BOOL_NARY | UNARY | COMPARISON | MEMBERSHIP  # operators whose value is always 0 or 1


def _check_categories() -> None:
    """Every operator lies in exactly one category (checked at import, like pysmt's operators)."""
    seen: dict[Op, str] = {}
    for name, ops in CATEGORIES.items():
        for op in ops:
            if op in seen:
                raise AssertionError(f"operator {op.value!r} is in categories {seen[op]!r} and {name!r}")
            seen[op] = name
    missing = [op.value for op in Op if op not in seen]
    if missing:
        raise AssertionError(f"operators in no category: {missing}")


_check_categories()


class Node:
    """Base of the node kinds: immutable, slotted, equal and hashed by value (hash precomputed)."""

    __slots__ = ("_h",)
    _h: int

    def __setattr__(self, name: str, value: object) -> NoReturn:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def __delattr__(self, name: str) -> NoReturn:
        raise AttributeError(f"{type(self).__name__} is immutable")

    def __hash__(self) -> int:
        return self._h

    def __eq__(self, other: object) -> bool:
        """Same kind, operator and operands, compared without recursion (deep expressions too)."""
        if self is other:
            return True
        if not isinstance(other, Node):
            return False
        work: list[tuple[Node, Node]] = [(self, other)]
        while work:
            a, b = work.pop()
            if a is b:
                continue
            if type(a) is not type(b) or a._h != b._h or not a._same_head(b):
                return False
            ka, kb = children(cast(Expr, a)), children(cast(Expr, b))
            if len(ka) != len(kb):
                return False
            work.extend(zip(ka, kb, strict=True))
        return True

    def _same_head(self, other: Node) -> bool:
        """Equal apart from the operands (`other` is of the same kind)."""
        return getattr(self, "op", None) is getattr(other, "op", None)

    def __reduce__(self) -> tuple[type[Node], tuple[object, ...]]:
        """Pickled as its constructor call (the fields are the slots, in the constructor's order)."""
        return (type(self), tuple(getattr(self, name) for name in type(self).__slots__))


_set = object.__setattr__


class Const(Node):
    __slots__ = ("k",)
    k: int

    def __init__(self, k: int) -> None:
        _set(self, "k", k)
        _set(self, "_h", hash(("c", k)))

    __hash__ = Node.__hash__  # (defining __eq__ would unset it)

    def __eq__(self, other: object) -> bool:
        return self is other or (type(other) is Const and other.k == self.k)

    def _same_head(self, other: Node) -> bool:
        return self.k == cast(Const, other).k

    def __repr__(self) -> str:
        return f"('c', {self.k!r})"


class Ref(Node):
    __slots__ = ("i",)
    i: int

    def __init__(self, i: int) -> None:
        _set(self, "i", i)
        _set(self, "_h", hash(("v", i)))

    __hash__ = Node.__hash__  # (defining __eq__ would unset it)

    def __eq__(self, other: object) -> bool:
        return self is other or (type(other) is Ref and other.i == self.i)

    def _same_head(self, other: Node) -> bool:
        return self.i == cast(Ref, other).i

    def __repr__(self) -> str:
        return f"('v', {self.i!r})"


class LNot(Node):
    __slots__ = ("a",)
    op: ClassVar[Op] = Op.NOT
    a: Expr

    def __init__(self, a: Expr) -> None:
        _set(self, "a", a)
        _set(self, "_h", hash(("not", a)))

    def __repr__(self) -> str:
        return f"('not', {self.a!r})"


class NAry(Node):
    __slots__ = ("op", "args")
    op: Op
    args: tuple[Expr, ...]

    def __init__(self, op: Op, args: tuple[Expr, ...]) -> None:
        assert op in BOOL_NARY, op
        _set(self, "op", op)
        _set(self, "args", args)
        _set(self, "_h", hash((op.value, *args)))

    def __repr__(self) -> str:
        return "(" + ", ".join([repr(self.op.value), *map(repr, self.args)]) + ")"


class BinOp(Node):
    __slots__ = ("op", "a", "b")
    op: Op
    a: Expr
    b: Expr

    def __init__(self, op: Op, a: Expr, b: Expr) -> None:
        assert op in BINARY, op
        _set(self, "op", op)
        _set(self, "a", a)
        _set(self, "b", b)
        _set(self, "_h", hash((op.value, a, b)))

    def __repr__(self) -> str:
        return f"({self.op.value!r}, {self.a!r}, {self.b!r})"


class Member(Node):
    __slots__ = ("a", "values")
    op: ClassVar[Op] = Op.IN
    a: Expr
    values: frozenset[int]

    def __init__(self, a: Expr, values: frozenset[int]) -> None:
        _set(self, "a", a)
        _set(self, "values", values)
        _set(self, "_h", hash(("in", a, values)))

    def _same_head(self, other: Node) -> bool:
        return self.values == cast(Member, other).values

    def __repr__(self) -> str:
        return f"('in', {self.a!r}, {self.values!r})"


class Cond(Node):
    __slots__ = ("c", "a", "b")
    op: ClassVar[Op] = Op.ITE
    c: Expr
    a: Expr
    b: Expr

    def __init__(self, c: Expr, a: Expr, b: Expr) -> None:
        _set(self, "c", c)
        _set(self, "a", a)
        _set(self, "b", b)
        _set(self, "_h", hash(("ite", c, a, b)))

    def __repr__(self) -> str:
        return f"('ite', {self.c!r}, {self.a!r}, {self.b!r})"


Expr = Const | Ref | LNot | NAry | BinOp | Member | Cond
NODE_KINDS: tuple[type[Node], ...] = (Const, Ref, LNot, NAry, BinOp, Member, Cond)
# the node kind that carries each category's operators (asserted below: each category has one)
CATEGORY_NODE: dict[str, type[Node]] = {
    "boolean n-ary": NAry, "unary": LNot, "arithmetic": BinOp, "bitwise": BinOp, "shifts": BinOp,
    "comparison": BinOp, "membership": Member, "conditional": Cond,
}
assert set(CATEGORY_NODE) == set(CATEGORIES), "every operator category is carried by a node kind"


def children(e: Expr) -> tuple[Expr, ...]:
    """The operands of e, in order (none for a constant or a variable)."""
    if type(e) is BinOp:
        return (e.a, e.b)
    if type(e) is NAry:
        return e.args
    if type(e) is LNot or type(e) is Member:
        return (e.a,)
    if type(e) is Cond:
        return (e.c, e.a, e.b)
    return ()


def is_leaf(e: Expr) -> bool:
    """A constant or a variable."""
    return type(e) is Const or type(e) is Ref


def conjuncts(e: Expr) -> tuple[Expr, ...]:
    """The operands of a top-level `and`, else e alone."""
    return e.args if type(e) is NAry and e.op is Op.AND else (e,)


def eq_var_const(e: Expr) -> tuple[int, int] | None:
    """(i, k) when e is `v_i == k`, else None."""
    if type(e) is BinOp and e.op is Op.EQ and type(e.a) is Ref and type(e.b) is Const:
        return e.a.i, e.b.k
    return None


TRUE: Expr = Const(1)
FALSE: Expr = Const(0)


def C(k: int) -> Expr:
    return Const(int(k))


def V(i: int) -> Expr:
    return Ref(i)


def _junction(op: Op, neutral: Expr, absorbing: Expr, args: Iterable[Expr]) -> Expr:
    parts: list[Expr] = []
    for a in args:
        if a == neutral:
            continue
        if a == absorbing:
            return absorbing
        if type(a) is NAry and a.op is op:
            parts.extend(a.args)
        else:
            parts.append(a)
    if not parts:
        return neutral
    return parts[0] if len(parts) == 1 else NAry(op, tuple(parts))


def And(*args: Expr) -> Expr:
    return _junction(Op.AND, TRUE, FALSE, args)


def Or(*args: Expr) -> Expr:
    return _junction(Op.OR, FALSE, TRUE, args)


def Not(a: Expr) -> Expr:
    if type(a) is Const:
        return C(0 if a.k else 1)
    if type(a) is LNot:
        return a.a
    return LNot(a)


def Bin(op: Op | str, a: Expr, b: Expr) -> Expr:
    """A binary operation, folded when both sides are constants."""
    o = Op(op)
    if type(a) is Const and type(b) is Const:
        return C(apply(o, a.k, b.k))
    if o not in BINARY:
        raise ValueError(f"not a binary operator: {o.value!r}")
    return BinOp(o, a, b)


def Eq(a: Expr, b: Expr) -> Expr:
    return Bin(Op.EQ, a, b)


def Bit(a: Expr, n: int) -> Expr:
    """Bit n of a register expression, as 0/1."""
    return Bin(Op.BAND, Bin(Op.SHR, a, C(n)), C(1)) if n else Bin(Op.BAND, a, C(1))


def In(a: Expr, values: frozenset[int] | set[int]) -> Expr:
    vals = frozenset(values)
    if not vals:
        return FALSE
    if len(vals) == 1:
        return Eq(a, C(next(iter(vals))))
    return Member(a, vals)


def Ite(c: Expr, a: Expr, b: Expr) -> Expr:
    if type(c) is Const:
        return a if c.k else b
    return Cond(c, a, b)


def from_tuple(t: object) -> Expr:
    """A node from the nested-tuple representation this IR replaced, as is (no folding): for tests
    and tools that write expressions as tuples."""
    if isinstance(t, (Const, Ref, LNot, NAry, BinOp, Member, Cond)):
        return t
    if not isinstance(t, tuple) or not t:
        raise TypeError(f"not an expression: {t!r}")
    head, rest = t[0], t[1:]
    if head == "c":
        return Const(int(cast(int, rest[0])))
    if head == "v":
        return Ref(int(cast(int, rest[0])))
    if head == "in":
        return Member(from_tuple(rest[0]), frozenset(cast(frozenset[int], rest[1])))
    args = [from_tuple(x) for x in rest]
    if head == "not":
        return LNot(args[0])
    if head == "ite":
        return Cond(args[0], args[1], args[2])
    op = Op(str(head))
    return NAry(op, tuple(args)) if op in BOOL_NARY else BinOp(op, args[0], args[1])


def apply(op: Op, x: int, y: int) -> int:
    """The value of the binary operator `op` on x and y (comparisons: 0/1)."""
    if op is Op.ADD:
        return x + y
    if op is Op.SUB:
        return x - y
    if op is Op.BAND:
        return x & y
    if op is Op.BOR:
        return x | y
    if op is Op.XOR:
        return x ^ y
    if op is Op.SHL:
        return x << y
    if op is Op.SHR:
        return x >> y
    if op is Op.EQ:
        return int(x == y)
    if op is Op.NE:
        return int(x != y)
    if op is Op.LT:
        return int(x < y)
    if op is Op.LE:
        return int(x <= y)
    if op is Op.GT:
        return int(x > y)
    if op is Op.GE:
        return int(x >= y)
    raise ValueError(f"unknown operator {op.value!r}")
