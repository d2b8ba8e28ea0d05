"""Symmetry reduction: canonical states under the automorphisms the lowering proposes.

The lowering proposes `TransitionSystem.symmetries` (spec/symmetries.py): identical devices swap
their variables; two CPUs swap with everything pinned to them (their per-CPU variables, the threads
pinned to each, the per-CPU counts) and identical contexts swap - then the variables whose values
name a context or a CPU (a lock's owner, the CPU a tasklet is scheduled on) have their values
renamed too (`Symmetry.values`). Nothing is taken on trust: a proposal is used only if renaming maps
the system onto itself - the same initial state and domains (checked first: cheap), the same multiset of transitions
(guard, updates, CPU group renamed, the checks each breaks), the same state properties per check
and the same `unfinished` predicate. Expressions are compared after renaming in a normal form
(the arguments of and/or/==/!= sorted, nested and/or flattened), so a disjunction over pairs of CPUs
maps onto itself whatever order the lowering wrote it in. A value-renamed variable may only be
compared with constants or like variables (==, !=, in) and assigned such values: any other use
(arithmetic, ordering) refuses the proposal, since renaming its values would change the meaning.

Then every safety check is symmetric: a state breaks a check exactly when its image does, so
searching one representative per orbit (the smallest packed int over the group the verified
proposals generate, cut at MAX_GROUP elements) decides the same verdicts. Facts (lockdep) are not
symmetric one by one - the image of "app0 takes the lock at line 53" is "app1 takes it at line 60"
- so the reduced search records, for a fact transition enabled in a stored state, the facts of its
whole orbit of transitions (`Verified.orbit`): the set of facts reached is exactly the unreduced
one. For the graph checks each verified proposal also gets the wait each wait maps to and the
request each request maps to (`Verified.waits`/`requests`, `_match`: renamed blocked/pending
conditions, delivering transitions under the transition map, fairness groups kept); the group
closed over them, with the canonical-state functions, is checker/symmetry_group.py's. Which checks
may use the reduction at all is `reduce_plan.plan`'s decision.

Counterexamples need no mapping back: the reduced search only decides verdicts and `reduce`
re-finds each violation in the unreduced graph, so traces are concrete, shortest and replay.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ircheck.spec.expr import BinOp, Cond, Const, LNot, Member, NAry, Op, Ref
from ircheck.spec.ts import Expr, Symmetry, Transition, TransitionSystem

MAX_GROUP = 720  # group elements kept (6!: six identical components); larger groups are cut
MAX_PROPOSALS = 16  # proposals verified at most (each costs one renaming of the whole system)
MAX_WORK = 50_000  # transitions renamed at most, over all proposals (beyond: the rest are not verified)
COMMUTATIVE = frozenset({Op.EQ, Op.NE})
MAX_DNF = 4096  # conjunctions at most in the normal form of one condition (beyond: compared as written)


class NotSymmetric(Exception):
    """A proposal renames a variable's values where that changes the meaning (arithmetic, order)."""


class _Renamer:
    """Renamed expressions in normal form (a string per expression), memoised per node."""

    def __init__(self, sym: Symmetry | None, n: int) -> None:
        self.perm = sym.perm if sym is not None else tuple(range(n))
        self.vals = [sym.value_map(i) if sym is not None else () for i in range(n)]
        self.memo: dict[int, str] = {}
        self.dnf: dict[int, frozenset[frozenset[str]] | None] = {}

    def valued(self, e: Expr) -> tuple[int, ...] | None:
        """The value map of e if e reads a value-renamed variable directly, else None."""
        if type(e) is Ref and self.vals[e.i]:
            return self.vals[e.i]
        return None

    def value(self, e: Expr, sigma: tuple[int, ...]) -> str:
        """e as a value of a variable renamed by sigma: constants map, like variables rename."""
        if type(e) is Const:
            if not 0 <= e.k < len(sigma):
                raise NotSymmetric(f"constant {e.k} outside a renamed domain")
            return f"c{sigma[e.k]}"
        if type(e) is Ref and self.vals[e.i] == sigma:
            return f"v{self.perm[e.i]}"
        if type(e) is Cond:
            return f"ite({self.expr(e.c)},{self.value(e.a, sigma)},{self.value(e.b, sigma)})"
        raise NotSymmetric("a renamed value computed by arithmetic")

    def expr(self, e: Expr) -> str:
        got = self.memo.get(id(e))
        if got is None:
            got = self.memo[id(e)] = self._expr(e)
        return got

    def _expr(self, e: Expr) -> str:
        if isinstance(e, Const):
            return f"c{e.k}"
        if isinstance(e, Ref):
            if self.vals[e.i]:
                raise NotSymmetric("a renamed variable read as a number")
            return f"v{self.perm[e.i]}"
        if isinstance(e, LNot):
            return f"!{self.expr(e.a)}"
        if isinstance(e, NAry):
            d = self._dnf(e)
            if d is not None:
                return "dnf[" + "|".join(sorted("&".join(sorted(t)) for t in d)) + "]"
            parts: list[str] = []
            self._flat(e, e.op, parts)
            return f"{e.op}({','.join(sorted(parts))})"
        if isinstance(e, BinOp) and e.op == Op.ADD:  # a sum in any order (counts of active frames)
            terms: list[str] = []
            self._terms(e, terms)
            return f"sum({','.join(sorted(terms))})"
        if isinstance(e, BinOp):
            sa, sb = self.valued(e.a), self.valued(e.b)
            if (sa or sb) and e.op in COMMUTATIVE:
                sigma = sa or sb
                assert sigma is not None
                a, b = self.value(e.a, sigma), self.value(e.b, sigma)
            else:
                a, b = self.expr(e.a), self.expr(e.b)
            if e.op in COMMUTATIVE and b < a:
                a, b = b, a
            return f"({a}{e.op}{b})"
        if isinstance(e, Member):
            sigma = self.valued(e.a)
            if sigma is not None:
                if any(not 0 <= v < len(sigma) for v in e.values):
                    raise NotSymmetric("a set of values outside a renamed domain")
                return f"{self.value(e.a, sigma)} in {sorted(sigma[v] for v in e.values)}"
            return f"{self.expr(e.a)} in {sorted(e.values)}"
        if isinstance(e, Cond):
            return f"ite({self.expr(e.c)},{self.expr(e.a)},{self.expr(e.b)})"
        raise NotSymmetric(f"unknown node {type(e).__name__}")

    def _dnf(self, e: Expr) -> frozenset[frozenset[str]] | None:
        """e's and/or structure as a set of conjunctions of atoms (None beyond MAX_DNF terms): the
        same condition written with its pairs in another order or orientation compares equal."""
        if id(e) in self.dnf:
            return self.dnf[id(e)]
        out: frozenset[frozenset[str]] | None
        if isinstance(e, NAry) and e.op in (Op.AND, Op.OR):
            kids = [self._dnf(a) for a in e.args]
            if any(k is None for k in kids):
                out = None
            elif e.op == Op.OR:
                out = frozenset().union(*[k for k in kids if k is not None])
            else:
                acc: set[frozenset[str]] = {frozenset()}
                for k in kids:
                    assert k is not None
                    acc = {a | b for a in acc for b in k}
                    if len(acc) > MAX_DNF:
                        break
                out = frozenset(acc)
            if out is not None and len(out) > MAX_DNF:
                out = None
        else:
            out = frozenset({frozenset({self.expr(e)})})
        self.dnf[id(e)] = out
        return out

    def _terms(self, e: Expr, out: list[str]) -> None:
        if isinstance(e, BinOp) and e.op == Op.ADD:
            self._terms(e.a, out)
            self._terms(e.b, out)
        else:
            out.append(self.expr(e))

    def _flat(self, e: Expr, op: Op, out: list[str]) -> None:
        if isinstance(e, NAry) and e.op == op:
            for a in e.args:
                self._flat(a, op, out)
        else:
            out.append(self.expr(e))

    def update(self, vi: int, u: Expr) -> str:
        sigma = self.vals[vi]
        return f"v{self.perm[vi]}:={self.value(u, sigma) if sigma else self.expr(u)}"


def _tkey(ts: TransitionSystem, t: Transition, rn: _Renamer, groups: dict[str, str]) -> str:
    """A transition after renaming: guard, updates, group, the checks it breaks (facts as one tag:
    their orbit is recorded by the search, `Verified.orbit`)."""
    tags = sorted({str(c) for c, _m in t.violates})
    ups = sorted(rn.update(vi, u) for vi, u in t.updates)
    grp = groups.get(t.group, t.group) if t.group is not None else None
    return f"{rn.expr(t.guard)}|{ups}|{grp}|{tags}"


def _check_vars(ts: TransitionSystem, sym: Symmetry) -> None:
    """The same domains and the same initial state after renaming (cheap: checked first)."""
    for i, v in enumerate(ts.vars):
        j = sym.perm[i]
        sigma = sym.value_map(i)
        if ts.vars[j].size != v.size or (sigma and sorted(sigma) != list(range(v.size))):
            raise NotSymmetric("the domains differ")
        if ts.vars[j].init != (sigma[v.init] if sigma else v.init):
            raise NotSymmetric("the initial state differs")


def _image(ts: TransitionSystem, sym: Symmetry | None, base: dict[str, list[int]] | None
           ) -> tuple[dict[str, list[int]], list[int] | None]:
    """(renamed transition key -> indices, and with `base`: the transition each one maps to)."""
    n = len(ts.vars)
    if sym is not None:
        _check_vars(ts, sym)
    rn = _Renamer(sym, n)
    groups = dict(sym.groups) if sym is not None else {}
    keys: dict[str, list[int]] = {}
    for ti, t in enumerate(ts.transitions):
        keys.setdefault(_tkey(ts, t, rn, groups), []).append(ti)
    if base is None:
        return keys, None
    if {k: len(v) for k, v in keys.items()} != {k: len(v) for k, v in base.items()}:
        raise NotSymmetric("the transitions differ")
    image = [0] * len(ts.transitions)
    for k, tis in keys.items():
        for a, b in zip(tis, base[k], strict=True):
            image[a] = b
    props = sorted(f"{p.check}:{rn.expr(p.ok)}" for p in ts.state_props)
    ident = _Renamer(None, n)
    if props != sorted(f"{p.check}:{ident.expr(p.ok)}" for p in ts.state_props):
        raise NotSymmetric("the state properties differ")
    if rn.expr(ts.unfinished) != ident.expr(ts.unfinished):
        raise NotSymmetric("the unfinished predicate differs")
    return keys, image


@dataclass
class Verified:
    """The proposals that are automorphisms, each with the transition it maps every transition to."""

    syms: list[Symmetry] = field(default_factory=list)
    images: list[list[int]] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)  # what the refused proposals swap, and why
    # per verified proposal: the wait each wait maps to (None: the waits do not map onto each other)
    waits: list[tuple[int, ...] | None] = field(default_factory=list)
    # per verified proposal: the request each request maps to, with the fairness groups (None: not)
    requests: list[tuple[int, ...] | None] = field(default_factory=list)
    why_not: dict[str, str] = field(default_factory=dict)  # "waits"/"requests": why some proposal fails

    def orbit(self, ti: int) -> list[int]:
        """Transition ti and every image of it under the group the verified proposals generate."""
        seen = [ti]
        todo = [ti]
        while todo:
            t = todo.pop()
            for img in self.images:
                u = img[t]
                if u not in seen:
                    seen.append(u)
                    todo.append(u)
        return seen


def verify(ts: TransitionSystem) -> Verified:
    """The proposals (at most MAX_PROPOSALS) that really are automorphisms of the system."""
    out = Verified()
    if not ts.symmetries:
        return out
    n = len(ts.vars)
    base: dict[str, list[int]] | None = None
    budget = max(1, MAX_WORK // max(1, len(ts.transitions)))  # whole-system renamings allowed
    for sym in ts.symmetries[:MAX_PROPOSALS]:
        if len(sym.perm) != n or sorted(sym.perm) != list(range(n)) or sym.perm == tuple(range(n)) \
                and not any(sym.values):
            continue
        try:
            _check_vars(ts, sym)
        except NotSymmetric as e:
            out.refused.append(f"{sym.what or 'a proposal'}: {e}")
            continue
        if budget <= 0:
            out.refused.append(f"{sym.what or 'a proposal'}: not verified (the model is too large to verify more)")
            continue
        budget -= 1
        if base is None:
            base, _ = _image(ts, None, None)
        try:
            _, image = _image(ts, sym, base)
        except NotSymmetric as e:
            out.refused.append(f"{sym.what or 'a proposal'}: {e}")
            continue
        assert image is not None
        out.syms.append(sym)
        out.images.append(image)
        out.waits.append(_match(ts, sym, "waits", out.why_not))
        out.requests.append(_match(ts, sym, "requests", out.why_not, image))
    return out


def _match(ts: TransitionSystem, sym: Symmetry, what: str, why: dict[str, str],
           image: list[int] | None = None) -> tuple[int, ...] | None:
    """The index each of ts's waits (`what` = "waits") or requests maps to under sym, or None (and
    why) when some has no image among them.

    A wait w maps to w' when w's `blocked` renamed is w''s (normal form): then w is blocked in s
    iff w' is blocked in sym(s), so "w blocked for ever from s" iff "w' blocked for ever from sym(s)".
    A request k maps to k' when the check, `pending` renamed, and `delivers`/`recurs` under the
    transition `image` are k''s - and the fairness groups map onto themselves (each transition's
    groups renamed are its image's, the weakly and the strongly fair sets are kept): then a fair run
    starving k from s is, renamed, a fair run starving k' from sym(s) (the liveness judgement reads
    nothing else)."""
    rn, ident = _Renamer(sym, len(ts.vars)), _Renamer(None, len(ts.vars))
    try:
        return _pair(ts, sym, what, why, rn, ident, image)
    except NotSymmetric as e:
        why[what] = f"{sym.what or 'a proposal'}: {e}"
        return None


def _pair(ts: TransitionSystem, sym: Symmetry, what: str, why: dict[str, str], rn: _Renamer, ident: _Renamer,
          image: list[int] | None) -> tuple[int, ...] | None:
    if what == "waits":
        keys = [rn.expr(w.blocked) for w in ts.waits]
        base = [ident.expr(w.blocked) for w in ts.waits]
    else:
        assert image is not None
        names = dict(sym.groups)

        def fair(g: str) -> str:
            return names.get(g, g)
        if {fair(g) for g in ts.groups} != set(ts.groups) or {fair(g) for g in ts.strong} != set(ts.strong) \
                or any(sorted(map(fair, t.fair)) != sorted(ts.transitions[image[ti]].fair)
                       for ti, t in enumerate(ts.transitions)):
            why[what] = f"{sym.what or 'a proposal'}: the fairness groups do not map onto themselves"
            return None
        keys = [f"{r.check}|{rn.expr(r.pending)}|{sorted(image[t] for t in r.delivers)}|"
                f"{sorted(image[t] for t in r.recurs)}" for r in ts.requests]
        base = [f"{r.check}|{ident.expr(r.pending)}|{sorted(r.delivers)}|{sorted(r.recurs)}" for r in ts.requests]
    free: dict[str, list[int]] = {}
    for k, b in enumerate(base):
        free.setdefault(b, []).append(k)
    out = []
    for k, key in enumerate(keys):
        if not free.get(key):
            why[what] = f"{sym.what or 'a proposal'}: {what} {k} has no image"
            return None
        out.append(free[key].pop(0))
    return tuple(out)


def verified(ts: TransitionSystem) -> list[Symmetry]:
    """The declared symmetries that really are automorphisms of the system."""
    return verify(ts).syms


