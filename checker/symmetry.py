"""Symmetry reduction: canonical states under variable permutations the lowering declares.

The lowering proposes permutations of variable indices (`TransitionSystem.symmetries`, e.g. two
identical devices on one line swap their variables). Nothing is taken on trust: a permutation is
used only if renaming the variables maps the system onto itself - the same initial state, the same
multiset of transitions (guard, updates, CPU, targets by check name, facts by key), the same state properties
per check and the same `unfinished` predicate. Then every check is symmetric: a state breaks a
check exactly when its image does, so searching one representative per orbit (the smallest packed
int over the group the permutations generate) decides the same verdicts.

Counterexamples need no mapping back: the reduced search only decides verdicts and `api`
re-finds each violation in the unreduced graph, so traces are concrete and replay.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from ircheck.codegen import Packing
from ircheck.spec.expr import BinOp, Cond, Const, LNot, Member, NAry, Ref
from ircheck.spec.ts import Expr, Transition, TransitionSystem
from ircheck.spec.walker import Fold

MAX_GROUP = 720  # permutations kept (6! : six identical components); larger groups are cut


class _Rename(Fold[Expr]):
    """The same nodes over renamed variables (nothing folded)."""

    def __init__(self, perm: tuple[int, ...]) -> None:
        self.perm = perm

    def fold_const(self, e: Const) -> Expr:
        return e

    def fold_ref(self, e: Ref) -> Expr:
        return Ref(self.perm[e.i])

    def fold_not_(self, e: LNot, a: Expr) -> Expr:
        return LNot(a)

    def fold_nary(self, e: NAry, args: Sequence[Expr]) -> Expr:
        return NAry(e.op, tuple(args))

    def fold_binop(self, e: BinOp, a: Expr, b: Expr) -> Expr:
        return BinOp(e.op, a, b)

    def fold_member(self, e: Member, a: Expr) -> Expr:
        return Member(a, e.values)

    def fold_cond(self, e: Cond, c: Expr, a: Expr, b: Expr) -> Expr:
        return Cond(c, a, b)


def rename(e: Expr, perm: tuple[int, ...]) -> Expr:
    """The expression with variable i replaced by variable perm[i]."""
    return _Rename(perm).fold(e)


def _shape(ts: TransitionSystem, perm: tuple[int, ...]) -> tuple[object, ...]:
    """Everything a check depends on, after renaming, in an order-free form."""
    def tags(t: Transition) -> list[tuple[str, str]]:
        # checks by name (their messages name the device), facts by key: the set of facts reached
        # is what lockdep judges, so a renamed fact would change the verdict
        return sorted({(c, m if c == ts.fact_check else "") for c, m in t.violates})

    trans = sorted(repr((rename(t.guard, perm), sorted((perm[vi], rename(u, perm)) for vi, u in t.updates),
                         t.group, tags(t)))
                   for t in ts.transitions)
    props = sorted(repr((p.check, rename(p.ok, perm))) for p in ts.state_props)
    init = tuple(ts.vars[perm.index(j)].init for j in range(len(perm)))
    sizes = tuple(ts.vars[perm.index(j)].size for j in range(len(perm)))
    return (tuple(trans), tuple(props), repr(rename(ts.unfinished, perm)), init, sizes)


def verified(ts: TransitionSystem) -> list[tuple[int, ...]]:
    """The declared permutations that really are automorphisms of the system."""
    n = len(ts.vars)
    ident = tuple(range(n))
    if not ts.symmetries:
        return []
    base = _shape(ts, ident)
    out = []
    for perm in ts.symmetries:
        p = tuple(perm)
        if sorted(p) != list(ident) or p == ident:
            continue
        if _shape(ts, p) == base:
            out.append(p)
    return out


def _closure(gens: list[tuple[int, ...]]) -> list[tuple[int, ...]]:
    """Every element of the group the generators generate but the identity (cut at MAX_GROUP)."""
    ident = tuple(range(len(gens[0])))
    group = {ident}
    todo = [ident]
    while todo and len(group) < MAX_GROUP:
        g = todo.pop()
        for h in gens:
            gh = tuple(h[g[i]] for i in range(len(g)))
            if gh not in group:
                group.add(gh)
                todo.append(gh)
    group.discard(ident)
    return sorted(group)


def canonicaliser(ts: TransitionSystem, pk: Packing) -> tuple[Callable[[int], int] | None, str]:
    """A function packed state -> the smallest packed state of its orbit, or None and why not."""
    if not ts.symmetries:
        return None, "the model declares no symmetric components"
    gens = verified(ts)
    if not gens:
        return None, "the declared symmetries do not map the model onto itself"
    perms = _closure(gens)
    moves: list[list[tuple[int, int, int]]] = []  # per permutation: (source offset, mask, target offset)
    for p in perms:
        moves.append([(pk.off[i], (1 << pk.width[i]) - 1, pk.off[p[i]]) for i in range(len(p)) if p[i] != i])
    keep_masks = []
    for mv in moves:
        clear = 0
        for _src, m, dst in mv:
            clear |= m << dst
        keep_masks.append(~clear)

    def canon(s: int) -> int:
        best = s
        for mv, keep in zip(moves, keep_masks, strict=True):
            t = s & keep
            for src, m, dst in mv:
                t |= ((s >> src) & m) << dst
            if t < best:
                best = t
        return best

    return canon, ""
