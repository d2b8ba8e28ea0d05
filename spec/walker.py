"""Walking expressions: one handler per node kind, completeness checked when a walker is defined.

Two styles, in the spirit of pysmt's `walkers/generic.py`:

- `Visitor[T]`: `visit(e)` calls the handler of e's kind with the node itself; the handler decides
  what to visit next (lazily: an evaluator visits one branch of a `Cond`, a code generator writes
  `a and b` around its operands). Recursion is bounded by the expression's depth, which
  `TransitionSystem` keeps at most `ts.MAX_DEPTH` (`balanced`); a handler that may meet an
  unbalanced expression walks long chains in a loop (see `ts.evaluate`).
- `Fold[T]`: `fold(e)` computes a value bottom-up without recursion (an explicit stack), each
  node once however often it is shared by reference (memo by id, for the walk, or across walks
  with `memo=`), handing each handler the node and its operands' values.

A concrete subclass (one not declared with `abstract=True`) must define every handler of its style
- one per node kind in `expr.NODE_KINDS`, which together carry every operator category - or
defining the class raises TypeError naming the missing ones. A new node kind is added to
`HANDLERS` and then every walker that does not handle it fails at import.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from types import MethodType
from typing import Any, ClassVar, Generic, TypeVar

from ircheck.spec.expr import NODE_KINDS, BinOp, Cond, Const, Expr, LNot, Member, NAry, Node, Ref, children

T = TypeVar("T")

HANDLERS: dict[type[Node], str] = {Const: "const", Ref: "ref", LNot: "not_", NAry: "nary", BinOp: "binop",
                                   Member: "member", Cond: "cond"}
assert tuple(HANDLERS) == NODE_KINDS, "every node kind has a handler name"


def _complete(cls: type, prefix: str, base: type, abstract: bool) -> dict[type[Node], Callable[..., Any]]:
    """The handler table of walker class `cls`; TypeError when a concrete class misses one."""
    missing = [prefix + name for name in HANDLERS.values()
               if getattr(cls, prefix + name) is getattr(base, prefix + name)]
    if missing and not abstract:
        raise TypeError(f"{cls.__name__} does not handle {', '.join(missing)} "
                        "(every node kind needs a handler; declare abstract=True for a partial base)")
    return {kind: getattr(cls, prefix + name) for kind, name in HANDLERS.items()}


class Visitor(Generic[T]):
    """Dispatch on the node kind: `visit(e)` is `self.visit_<kind>(e)`."""

    _table: ClassVar[dict[type[Node], Callable[..., Any]]] = {}

    def __init_subclass__(cls, abstract: bool = False, **kw: Any) -> None:
        super().__init_subclass__(**kw)
        cls._table = _complete(cls, "visit_", Visitor, abstract)

    def visit(self, e: Expr) -> T:
        r: T = self._table[type(e)](self, e)
        return r

    def handler(self, e: Expr) -> Callable[[Expr], T]:
        """The bound handler of e's kind: `handler(e)(e)` is `visit(e)` without `visit`'s own stack
        frame (a recursive walker whose depth matters, such as the code generator, calls it so)."""
        fn: Callable[[Expr], T] = MethodType(self._table[type(e)], self)
        return fn

    def visit_const(self, e: Const) -> T:
        raise NotImplementedError

    def visit_ref(self, e: Ref) -> T:
        raise NotImplementedError

    def visit_not_(self, e: LNot) -> T:
        raise NotImplementedError

    def visit_nary(self, e: NAry) -> T:
        raise NotImplementedError

    def visit_binop(self, e: BinOp) -> T:
        raise NotImplementedError

    def visit_member(self, e: Member) -> T:
        raise NotImplementedError

    def visit_cond(self, e: Cond) -> T:
        raise NotImplementedError


class Fold(Generic[T]):
    """Bottom-up values without recursion: `fold(e)`; handlers get the node and operand values."""

    _table: ClassVar[dict[type[Node], Callable[..., Any]]] = {}

    def __init_subclass__(cls, abstract: bool = False, **kw: Any) -> None:
        super().__init_subclass__(**kw)
        cls._table = _complete(cls, "fold_", Fold, abstract)

    def fold(self, e: Expr, memo: dict[int, T] | None = None) -> T:
        """The value of e. `memo` (by id) may be shared between calls over expressions that stay
        alive meanwhile: a subexpression shared by many of them is then folded once."""
        done: dict[int, T] = {} if memo is None else memo
        if id(e) in done:
            return done[id(e)]
        table = self._table
        work: list[tuple[Expr, bool]] = [(e, False)]
        while work:
            x, ready = work.pop()
            if ready:  # its operands are done
                if type(x) is NAry:
                    done[id(x)] = table[NAry](self, x, [done[id(k)] for k in x.args])
                else:
                    done[id(x)] = table[type(x)](self, x, *[done[id(k)] for k in children(x)])
            elif id(x) not in done:
                kids = children(x)
                if kids:
                    work.append((x, True))
                    work.extend((k, False) for k in reversed(kids) if id(k) not in done)
                else:
                    done[id(x)] = table[type(x)](self, x)
        return done[id(e)]

    def fold_const(self, e: Const) -> T:
        raise NotImplementedError

    def fold_ref(self, e: Ref) -> T:
        raise NotImplementedError

    def fold_not_(self, e: LNot, a: T) -> T:
        raise NotImplementedError

    def fold_nary(self, e: NAry, args: Sequence[T]) -> T:
        raise NotImplementedError

    def fold_binop(self, e: BinOp, a: T, b: T) -> T:
        raise NotImplementedError

    def fold_member(self, e: Member, a: T) -> T:
        raise NotImplementedError

    def fold_cond(self, e: Cond, c: T, a: T, b: T) -> T:
        raise NotImplementedError
