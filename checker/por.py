"""Partial-order reduction: the per-state ample set of one CPU (the static read/write sets and
visibility it rests on are in checker/por_visibility.py).

Why this is sound (and for which checks). The reduced search expands, in a state s, only the
enabled steps of one fairness-less "process" - the transitions of one CPU group g, T_g - when
T_g is a *stubborn set* in s and its enabled steps are invisible:

- dependency: two transitions are dependent when one writes a variable the other reads or writes
  (guards and update right-hand sides count as reads). An enabled t in T_g must have no dependent
  transition outside T_g, else a step of another context could change what t does or whether it
  may fire.
- enabling: a disabled t in T_g must have a false guard conjunct that only T_g can make true
  ("local" conjunct: no transition outside T_g writes its variables). Then no sequence of other
  steps can enable t before g moves. An interrupt entry (INTA) is the typical case: while the
  CPU's IF is 0 only that CPU can set it, so device raises need not be interleaved with the
  handler's steps (they commute with it and cannot enable the entry).
- visibility: a transition is visible when it may change the value of a state property of an
  enabled check (`changes`: it writes a variable the property reads, and the property does not
  fold to the same expression before and after the step), or when it is a *target* (it carries a `violates` tag of an enabled check,
  the model bound, or a lockdep fact: "enabled in a reachable state" is then "fireable", which
  an extra error flag written only by the target would make a visible state change). A reduced
  expansion contains no visible step.
- cycles: checked by the engine (`reduce.py`): a state whose reduced successor closes a cycle is
  fully expanded.

These are the ample-set conditions C0-C3 (Clarke, Grumberg, Peled), which preserve every LTL-X
property over the visible variables and target firings; our safety checks (state properties,
transition properties, facts, the nesting bound) are such properties.

With deadlock or liveness checks (`por_tables(..., graph=True)`, searched by `Explicit` with
`por` set, whose graph analyses then read the reduced graph) three more conditions hold:

- visibility also covers every wait's `blocked` (no_deadlock) and every request's `pending`, and a
  step that delivers or recurs a request is visible;
- fairness: with a liveness request, a step is visible unless one of its fairness groups holds
  only steps of its own CPU group (`local_fair`: the kernel's per-CPU weak fairness);
- a state where a request of an enabled check is pending is expanded in full (`PorTables.busy_bit`).

Why the analyses' answers do not change. Write G for the full graph and R for the reduced one. R's
edges are G's; each state of R is expanded in full or by A(s), the enabled steps of a group T that
is closed in s and has no visible enabled step; every cycle of R has a state expanded in full (the
BFS proviso, `por_graph.PorStep`).

Lemma. If s is in R and s -w-> u in G (w finite), R has a path from s to some u' with u -v-> u' in
G, v made of ample (so invisible) steps: u' carries u's labels. Follow w from s:
  - s expanded in full: take w's first step (w shrinks);
  - s reduced, w has a step of T: the first one, a, is enabled in s (the steps before it lie outside
    T and cannot enable a disabled step of T) so a is in A(s), and commutes with the steps before it
    (independence): s -a-> s' and s' -w'-> u with w' one step shorter;
  - s reduced, w has no step of T: any t in A(s) stays enabled along w and commutes with it:
    s -t-> s' and s' -w-> t(u); v gets t. This case cannot repeat for ever: the walk in R would close
    a cycle, whose fully expanded state takes w's first step.

no_deadlock: "a wait blocked for ever" is EF AG b, "quiet for ever" EF AG q.
  - G violates at u: R reaches some u' that G reaches from u (the lemma on init -> u); every state R
    reaches from u' is one G reaches from u, so blocked (quiet): R violates at u'.
  - R violates at r: if G left b from r (r -w-> x, not b(x)), the lemma would give R a path from r to
    some u' with x -v-> u', v invisible, so not b(u'). Quiet states have no enabled CPU step and are
    expanded in full: from a quiet r, R reaches what G reaches.
Liveness: a fair run that keeps request p pending and never delivers it (or stops in a state where
no fair step is enabled).
  - R violates: its pending states are expanded in full, so its run, their successors and the
    groups enabled in them are G's: G violates.
  - G violates by a run rho from a reachable state. Apply the lemma's moves to init ->* rho: the third
    case never happens on a run that is fair from some point on: t would stay enabled for ever (or in
    the last state) and its local fairness group would have to move - a step of T. The second moves a
    step of T to the front: the run's suffix after it is unchanged, so it stays fair, and the states
    it is moved across keep p pending (a is invisible). The prefix before the pending suffix shrinks at
    every fully expanded state, which the walk meets before it closes a cycle; once it is empty, the
    current state is pending, and it and every later state of the run are expanded in full: R holds
    the violating run.
On a symmetry quotient the ample set is chosen on the stored representative; the concrete graph the
annotated quotient stands for has at h(s) the image of s's expansion, again an ample set or all of
them (the verified group maps CPU groups, waits, requests and fairness groups onto themselves, so
closedness, visibility and local fairness too), and a cycle of it projects onto a closed walk of the
quotient whose fully expanded representative has fully expanded images: the argument applies to it
(Emerson, Jha and Peled, "Combining partial order and symmetry reductions", TACAS 1997, for LTL-X).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ircheck.codegen import Packing, _Gen
from ircheck.por_visibility import SharedVars, conjuncts, rw_sets, visible_steps
from ircheck.spec.checks import DEADLOCK_CHECK
from ircheck.spec.expr import LNot, eq_var_const
from ircheck.spec.ts import FALSE, TRUE, And, Expr, In, Not, Or, TransitionSystem, V


@dataclass
class PorTables:
    """The generated functions of the reduced search.

    `succ_split(s, outs, vio)`: the successors of s, those of CPU group g appended to outs[g] and
    the environment's to outs[-1]; returns a bit mask with bit g set when group g has an enabled
    visible step. `closed[g](s)`: true when T_g is a stubborn set in s (None: never).
    """

    groups: list[str]
    succ_split: Any
    closed: list[Any]
    source: str
    # for `Explicit` (graph=True): each transition's CPU group index (-1: the environment), whether
    # it is visible, and `marks(s)`: bit j set when group `mark_groups[j]` is closed in s, bit
    # `busy_bit` when a request of an enabled check is pending (generated, memoized on the fields
    # it reads); `always`: the groups closed in every state (a mask)
    group_of: list[int] = field(default_factory=list)
    visible: list[bool] = field(default_factory=list)
    marks: Any = None
    mark_groups: list[int] = field(default_factory=list)
    always: int = 0
    busy_bit: int = 0

    @property
    def useful(self) -> bool:
        """False when no group can ever be closed: the reduced search would only cost time."""
        return any(fn is not None for fn in self.closed)


class _SplitGen(_Gen):
    """codegen's decision tree, with each successor appended to its group's list."""

    def __init__(self, ts: TransitionSystem, pk: Packing, group_of: list[int], visible: list[bool]) -> None:
        super().__init__(ts, pk)
        self.group_of = group_of
        self.visible = visible

    def emit_leaf(self, items: list[tuple[int, list[Expr]]], ind: str, have: set[int], with_ids: bool) -> None:
        for ti, conj in items:
            body = self.open_case(ti, conj, ind, have)
            g = self.group_of[ti]
            self.lines.append(f"{body}o{g if g >= 0 else 'e'}.append({self.update_expr(ti)})")
            if g >= 0 and self.visible[ti]:
                self.lines.append(f"{body}v |= {1 << g}")

    def split_fn(self, ngroups: int) -> None:
        items = [(ti, self.conjuncts(t.guard)) for ti, t in enumerate(self.ts.transitions)]
        self.def_at = len(self.lines)  # the helpers it spills go before it (`_Gen.helper`)
        self.lines.append("def succ_split(s, outs, vio):")
        for g in range(ngroups):
            self.lines.append(f"    o{g} = outs[{g}]")
        self.lines.append(f"    oe = outs[{ngroups}]")
        self.lines.append("    v = 0")
        self.emit_tree(items, "    ", set(), False)
        self.lines.append("    return v")
        self.flush()


def _negated_eq(lit: Expr) -> tuple[int, int] | None:
    """lit = not (x == k) -> (x, k)."""
    return eq_var_const(lit.a) if type(lit) is LNot else None


def _merge_clauses(clauses: list[frozenset[Expr]]) -> list[Expr]:
    """And of clauses (each an Or of literals), with clauses that differ only in one literal
    `not (x == k)` merged into `not (x in K)`: one test per state instead of one per k (the
    interrupt entry has one variant per nesting depth, each with its own clause)."""
    todo = list(dict.fromkeys(clauses))
    while True:
        buckets: dict[tuple[frozenset[Expr], int], list[tuple[frozenset[Expr], int]]] = {}
        for c in todo:
            for lit in c:
                xk = _negated_eq(lit)
                if xk is not None:
                    buckets.setdefault((c - {lit}, xk[0]), []).append((c, xk[1]))
        if not buckets:
            break
        (rest, x), members = max(buckets.items(), key=lambda kv: len(kv[1]))
        if len(members) < 2:
            break
        gone = {c for c, _k in members}
        merged = rest | {Not(In(V(x), {k for _c, k in members}))}
        todo = [c for c in todo if c not in gone] + [frozenset(merged)]
    return [Or(*sorted(c, key=repr)) for c in todo]


def local_fair(ts: TransitionSystem) -> list[bool]:
    """Per transition: one of its fairness groups holds only transitions of its own CPU group
    (a run on which that CPU group is enabled for ever must move it)."""
    cpus: dict[str, set[str | None]] = {}
    for t in ts.transitions:
        for g in t.fair:
            cpus.setdefault(g, set()).add(t.group)
    return [t.group is not None and any(cpus[g] == {t.group} for g in t.fair) for t in ts.transitions]


def graph_labels(ts: TransitionSystem) -> list[Expr]:
    """What the graph analyses read besides the safety checks' properties: every wait's `blocked`
    (no_deadlock) and every `pending` of a request of an enabled check."""
    checks = set(ts.checks)
    out = [w.blocked for w in ts.waits] if DEADLOCK_CHECK in checks else []
    return out + [r.pending for r in ts.requests if r.check in checks]


def por_tables(ts: TransitionSystem, pk: Packing, graph: bool = False) -> PorTables:
    """The tables of the reduced search; with `graph`, for deadlock and liveness checks as well
    (the module docstring's three further conditions)."""
    names = sorted({t.group for t in ts.transitions if t.group is not None})
    gidx = {g: k for k, g in enumerate(names)}
    group_of = [gidx[t.group] if t.group is not None else -1 for t in ts.transitions]
    visible: list[bool] = []
    gen = _SplitGen(ts, pk, group_of, visible)  # (its `tick`: the run's limits while code is generated)
    vars_of = SharedVars()
    rws = rw_sets(ts, gen.tick, vars_of)
    checks = set(ts.checks)
    exprs = [p.ok for p in ts.state_props if p.check in checks] + (graph_labels(ts) if graph else [])
    live = [r for r in ts.requests if r.check in checks] if graph else []
    known: set[int] = set()  # with a liveness request: delivering and recurring steps, steps without local fairness
    if live:
        known = {ti for r in live for ti in r.delivers | r.recurs}
        known |= {i for i, ok in enumerate(local_fair(ts)) if not ok}
    closed_names: list[tuple[int, str]] = []
    preds: list[tuple[int, Expr]] = []  # (group, its closed predicate) when not always true
    for k, _g in enumerate(names):
        inside = [i for i, gi in enumerate(group_of) if gi == k]
        outside = [i for i, gi in enumerate(group_of) if gi != k]
        w_ext = rw_ext = 0
        for i in outside:
            w_ext |= rws[i].writes
            rw_ext |= rws[i].writes | rws[i].reads
        clauses: list[frozenset[Expr]] = []
        never = False
        for i in inside:
            gen.tick()
            rw = rws[i]
            if not (rw.writes & rw_ext or rw.reads & w_ext):
                continue  # independent of every other context whatever the state
            # t interferes with another context: it must be disabled by a conjunct only g can make true
            local = [c for c in conjuncts(ts.transitions[i].guard) if not (vars_of(c) & w_ext)]
            if not local:
                never = True
                break
            clauses.append(frozenset(Not(c) for c in local))
        if never:
            continue
        pred = And(*_merge_clauses(clauses))
        if pred == FALSE:
            continue
        fname = f"closed{k}"
        if pred == TRUE:
            gen.lines.append(f"def {fname}(s):")
            gen.lines.append("    return 1")
        else:
            gen.bool_fn(fname, pred)
            preds.append((k, pred))
        closed_names.append((k, fname))
    if not closed_names:  # no group is ever closed: nothing to reduce (`useful` is False)
        return PorTables(names, None, [None] * len(names), "")
    # only the steps of a group that may be closed can join an ample set: the others' visibility is moot
    closable = {k for k, _f in closed_names}
    known |= {i for i, g in enumerate(group_of) if g not in closable}
    visible += visible_steps(ts, exprs, rws, gen.tick, known)
    if not graph:  # the reduced BFS's successor function (checker/reduce.py); `Explicit` uses succ_ids
        gen.split_fn(len(names))
    always = sum(1 << k for k, _f in closed_names) & ~sum(1 << k for k, _p in preds)
    if graph:  # one memoized call a state: which groups are closed, and whether a request is pending
        sections = [[Not(p) for _k, p in preds], [Not(Or(*[r.pending for r in live]))] if live else []]
        gen.memo_predicate_fn("por_marks", sections)
    gen.flush()
    header = [f"{name} = frozenset({sorted(vals)!r})" for vals, name in gen.consts.items()]
    source = "\n".join(header + gen.lines) + "\n"
    namespace = gen.namespace  # the functions compiled one by one (`_Gen.flush`); the sets they read last
    exec(compile("\n".join(header) + "\n", "<ircheck-por>", "exec"), namespace)  # noqa: S102 - our own code only
    closed: list[Any] = [None] * len(names)
    for k, fname in closed_names:
        closed[k] = namespace[fname]
    if not graph:
        return PorTables(names, namespace["succ_split"], closed, source)
    return PorTables(names, None, closed, source, group_of, visible, namespace["por_marks"],
                     [k for k, _p in preds], always, (1 << len(preds)) if live else 0)
