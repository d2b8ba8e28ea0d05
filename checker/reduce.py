"""State-space reductions for the explicit engine: which apply, and the reduced search.

`--reduction` names a set of reductions (`REDUCTIONS`); `plan()` (checker/reduce_plan.py) decides which of them are sound
and useful for one TransitionSystem and the enabled checks, and `ReducedExplicit` searches with
them. The reductions:

- `por`: partial-order reduction (`por.py`): in a state where one CPU's enabled steps form an
  invisible stubborn set (e.g. a handler with IF=0 whose steps touch only what devices never
  read), only those steps are expanded.
- `merge`: a state with exactly one successor in the searched graph (one enabled step, or a
  one-step ample set) is checked but not stored: the run through it becomes one edge. This is
  how invisible local statement sequences of a handler collapse into one transition.
- `symmetry`: states are canonicalised under the automorphisms of `TransitionSystem.symmetries`
  (identical devices, two CPUs with everything pinned to them, identical contexts: spec/symmetries.py)
  that `symmetry.py` verified to map the system onto itself.

Symmetry, per check kind (spec/checks.py `Kind`; `symmetry_blockers`). The verified group G maps
the system onto itself, so the quotient graph (one state per orbit) is bisimilar to the full graph
for every proposition G leaves invariant (Emerson & Sistla, "Symmetry and model checking", FMSD
1996; Ip & Dill, "Better verification through symmetry", FMSD 1996):
  - SAFETY: each check's set of state properties and tagged transitions maps onto itself (verified),
    so "some reachable state breaks check c" is invariant: a state breaks it iff its image does, and
    the reachable states are the orbits of the stored representatives. Sound and exact.
  - FACTS (lockdep): one fact is not invariant (its image names the other thread and line), but the
    set of facts reached is: fact transition t is enabled in g(s) iff g^-1(t) is enabled in s, so the
    reduced search records, for each fact transition enabled in a stored state, its whole orbit of
    transitions (`Plan.fact_orbit`, closed under the generators, whatever MAX_GROUP cut) - exactly
    the unreduced set, which the judge then sees.
  - DEADLOCK: "no CPU can ever step again" (quiet states) is invariant, so it is judged on the
    quotient as it is; "wait w stays blocked in every state reachable from s" names a wait: a
    successor t of a stored state is stored as g(t), and w in t is g(w) in g(t), so the analysis
    follows each edge with its element g (the annotated quotient: `Quotient.pull`, liveness.py
    `blocked_forever`). Needs every element to map the waits onto themselves (verified).
  - LIVENESS under weak/strong fairness: the plain quotient does not preserve it (Emerson & Sistla,
    "Utilizing symmetry when model-checking under fairness assumptions", TOPLAS 1997: a quotient
    cycle that looks unfair to cpu1 may lift to a fair cycle in which the CPUs trade places). The
    analysis works on pairs (stored state, request renamed by the edges' elements), and each of
    their strongly connected sets is lifted back to the concrete states it stands for and judged
    there with the ordinary fairness rules (liveness.py `starvation`): exact. Needs every element
    to map the requests, their delivering transitions and the fairness groups onto themselves.
  When the group does not map what a check needs, that check keeps symmetry off (`symmetry_blockers`).

What they serve. Symmetry and POR serve every check; merging serves the safety checks (state
properties, transition properties, facts/lockdep, the nesting bound) only: its one-successor chains
would hide the states the graph analyses judge. With a deadlock or liveness check enabled the run is
the plain BFS and its graph analyses (`Explicit`) on the symmetry quotient (`quotient` set) and/or
under POR (`por` set: tables built with `graph=True`, whose three further conditions - the waits and
requests visible, local fairness, pending states expanded in full - and their proof are in
checker/por.py's docstring; checker/por_graph.py does the expansion). A reduced search only decides
verdicts: when it finds a violation, `api.run_engine` searches the full graph again for the violated
checks alone - a BFS that stops at the depth of the last of them - so every counterexample is a
shortest one of the unreduced graph and is identical to the one a search without reductions
gives, and replays through `spec.step` like any other. "holds" needs no trace.

Combined: POR's ample sets are computed on the representative a symmetric search stores, and
the cycle proviso is checked on the stored (canonical) states - the combination Emerson, Jha and
Peled show sound ("Combining partial order and symmetry reductions", TACAS 1997). Merging only
skips storing states, so it combines with both.

The cycle proviso, BFS style: a reduced expansion of s whose successor (after merging) is a
state already seen at a depth <= depth(s) is redone as a full expansion. Every cycle of the
reduced graph has such an edge (depth cannot grow by one around a cycle), so every cycle has a
fully expanded state; a cycle of merged states is cut by `MERGE_CAP`.
"""

from __future__ import annotations

import time
from array import array
from collections.abc import Callable
from dataclasses import dataclass, replace

from ircheck import por_graph
from ircheck.explicit import Explicit
from ircheck.limits import ALL_VIOLATED, Limits, Watch
from ircheck.outcome import RawViolation, SearchResult
from ircheck.pipeline import InternalError, judge_facts
from ircheck.reduce_plan import Plan
from ircheck.spec.ts import TransitionSystem
from ircheck.state_store import ROOT, StateStore
from ircheck.sysinfo import peak_rss_mb
from ircheck.triage import SearchStop, Triage, searching

MERGE_CAP = 256  # at most this many merged states in a row: a cycle of one-successor states ends


class ReducedExplicit(Explicit):
    """BFS over the reduced graph. Decides verdicts only: its stored parent links skip merged
    states and reduced interleavings, so `api.run_engine` re-finds counterexamples unreduced."""

    label = "explicit"

    def __init__(self, ts: TransitionSystem, the_plan: Plan, limits: Limits | None = None,
                 progress: Callable[[int, int, float], None] | None = None) -> None:
        super().__init__(ts, limits, progress)
        self.plan = the_plan
        self.visited = 0        # states generated and checked, stored or merged
        self.reduced = 0        # expansions that were reduced
        self.reexpanded = 0     # reduced expansions redone in full by the cycle proviso

    def run(self) -> SearchResult:  # noqa: C901 - one loop, kept flat for speed
        ts = self.ts
        res = SearchResult()
        triage = Triage(ts)
        props = self.code.props
        has_props = bool(ts.state_props)
        found = res.violations
        merge = "merge" in self.plan.applied
        canon = self.plan.canon
        lim = self.limits
        t0 = self.started = time.perf_counter()
        watch = Watch(lim, t0, self.progress)
        seen = self.seen = StateStore(self.pk.bits)
        add, id_of = seen.add, seen.id_of
        # one CPU group and no merging: a reduced expansion is the head of the full one (`one_cpu`),
        # so the proviso reads the ids `add` gives instead of looking each end up first
        prefix = not merge and self.plan.tables is not None and len(self.plan.tables.closed) == 1
        ids = array("I")
        init = canon(self.init) if canon else self.init
        add([init], ROOT)
        sid = 0  # the id of the state expanded (the frontier holds the ids in order)
        counters = [0, 0]  # transitions, merged states

        orbit = self.plan.fact_orbit or {}

        settled: set[int] = set()  # tagged transitions with nothing left to record (`Triage.settled`)

        def note_vio(vio: list[int]) -> None:  # no paths: the unreduced re-search finds them
            for ti in vio:
                if ti in settled:
                    continue
                triage.record(res, ti, list)
                images = orbit.get(ti, ())
                for tj in images:  # the images of a fact are reached in the images of s
                    triage.record(res, tj, list)
                if triage.settled(res, ti) and all(triage.settled(res, tj) for tj in images):
                    settled.add(ti)

        def note_props(bad: int) -> None:
            k = 0
            while bad:
                if bad & 1:
                    p = ts.state_props[k]
                    if p.check not in found:
                        found[p.check] = RawViolation(p.check, p.message, [], None, line=p.line)
                bad >>= 1
                k += 1

        expand = self._expander(note_vio, counters)
        ahead: dict[int, tuple[list[int], list[int] | None]] = {}  # merge: expansions done by follow()

        def follow(t: int) -> int:
            """The state a successor t leads to once one-successor states are merged away."""
            n = 0
            while True:
                if canon is not None:
                    t = canon(t)
                if t in seen or n >= MERGE_CAP:
                    return t
                allv, sel = expand(t)
                if len(allv) == 1:
                    nxt = allv[0]
                elif sel is not None and len(sel) == 1:
                    nxt = sel[0]
                else:
                    ahead[t] = (allv, sel)  # t will be stored: keep its expansion for its turn
                    return t
                if nxt == t:
                    return t
                if has_props:  # t is merged away: check it here
                    bad = props(t)
                    if bad:
                        note_props(bad)
                counters[1] += 1
                n += 1
                t = nxt

        if has_props:
            bad0 = props(init)
            if bad0:
                note_props(bad0)
        frontier = [init]
        depth = 0
        with searching(res):
            while frontier:
                nxt_level: list[int] = []
                app = nxt_level.append
                old = len(seen)  # the ids below: stored before this level (the next one's are >= old)
                seen.new_level()
                for s in frontier:
                    got = ahead.pop(s, None) if merge else None
                    allv, sel = got if got is not None else expand(s)
                    if sel is not None and prefix:  # one CPU group: sel is allv's head; one lookup an end
                        self.reduced += 1
                        del ids[:]
                        new = add([canon(t) for t in sel] if canon is not None else sel, sid, ids)
                        if min(ids) < old:  # an end stored before this level: the cycle proviso
                            self.reexpanded += 1  # expand s in full: the rest, after the head as in allv
                            rest = allv[len(sel):]
                            new += add([canon(t) for t in rest] if canon is not None else rest, sid)
                    elif sel is not None:
                        self.reduced += 1
                        ends = [follow(t) for t in sel] if merge else \
                            [canon(t) for t in sel] if canon is not None else sel
                        for e in ends:
                            if 0 <= id_of(e) < old:  # stored, and not in the level being built
                                self.reexpanded += 1  # the cycle proviso: expand s in full
                                ends = [follow(t) for t in allv] if merge else \
                                    [canon(t) for t in allv] if canon is not None else allv
                                break
                        new = add(ends, sid)
                    else:
                        ends = [follow(t) for t in allv] if merge else \
                            [canon(t) for t in allv] if canon is not None else allv
                        new = add(ends, sid)
                    for e in new:  # the ends not stored yet, stored with parent s
                        app(e)
                        if has_props:
                            bad = props(e)
                            if bad:
                                note_props(bad)
                    sid += 1
                    if seen.n >= watch.next or counters[0] >= watch.next_work:  # the limits (limits.Watch)
                        why = watch.look(seen.n, depth, seen, counters[0])
                        if why:
                            res.complete, res.stopped_by = False, str(why)
                            raise SearchStop
                if triage.decided(found):  # nothing left to decide (complete stays true; `plan` keeps
                    # the checks judged on the whole graph out of a reduced search)
                    res.stopped_by = str(ALL_VIOLATED)
                    break
                frontier = nxt_level
                if frontier:
                    depth += 1
        seen.level = None
        res.states, res.transitions, res.depth = len(seen), counters[0], depth
        self.visited = len(seen) + counters[1]
        res.seconds = time.perf_counter() - t0
        res.peak_mb = peak_rss_mb()
        return res

    def _expander(self, note_vio: Callable[[list[int]], None], counters: list[int]
                  ) -> Callable[[int], tuple[list[int], list[int] | None]]:
        """expand(s) -> (every successor of s, an ample proper subset of them or None)."""
        tables = self.plan.tables
        if tables is None:
            succ = self.code.succ

            def plain(s: int) -> tuple[list[int], list[int] | None]:
                out: list[int] = []
                vio: list[int] = []
                succ(s, out, vio)
                if vio:
                    note_vio(vio)
                counters[0] += len(out)
                return out, None
            return plain
        split, closed = tables.succ_split, tables.closed
        ngroups = len(closed)
        if ngroups == 1:  # one CPU: the common bare-metal case, without the loop over groups
            closed0 = closed[0]

            def one_cpu(s: int) -> tuple[list[int], list[int] | None]:
                o0: list[int] = []
                oe: list[int] = []
                vio: list[int] = []
                v = split(s, [o0, oe], vio)
                if vio:
                    note_vio(vio)
                counters[0] += len(o0) + len(oe)
                if o0 and oe and not v and closed0(s):
                    return o0 + oe, o0
                return (o0 + oe if oe else o0), None
            return one_cpu
        rng = range(ngroups)

        def many_cpus(s: int) -> tuple[list[int], list[int] | None]:
            outs: list[list[int]] = [[] for _ in range(ngroups + 1)]
            vio: list[int] = []
            v = split(s, outs, vio)
            if vio:
                note_vio(vio)
            allv = [t for o in outs for t in o]
            total = len(allv)
            counters[0] += total
            sel = None
            if total > 1:
                for g in rng:
                    mine = outs[g]
                    if mine and len(mine) < total and not (v >> g) & 1:
                        fn = closed[g]
                        if fn is not None and fn(s) and (sel is None or len(mine) < len(sel)):
                            sel = mine
                            if len(sel) == 1:
                                break
            return allv, sel
        return many_cpus


@dataclass
class ReducedOutcome:
    """A reduced search with its counterexamples re-found unreduced."""

    result: SearchResult      # verdict data; violations carry shortest unreduced paths
    engine: Explicit          # the engine whose packing and parent links the paths belong to
    refind_states: int = 0    # states the unreduced re-search stored (0: none was needed)
    seconds: float = 0.0      # both searches


def search_reduced(ts: TransitionSystem, the_plan: Plan, limits: Limits,
                   progress: Callable[[int, int, float], None] | None = None) -> ReducedOutcome:
    """The reduced search; if it finds violations, the unreduced BFS for those checks alone.

    The second search explores the same graph in the same order as a search without reductions
    (the order does not depend on the enabled checks) and stops at the BFS level where the last
    violated check is found, so its counterexamples are exactly those of `--reduction none`.
    Should it stop early (a limit), the checks it could not re-find are `unproved` (inconclusive
    with a note) - never shown with a trace the reference semantics has not replayed.
    """
    t0 = time.perf_counter()
    red: Explicit
    if the_plan.graph:  # deadlock/liveness: the BFS and its analyses, on the quotient and/or under POR
        red = Explicit(ts, limits, progress)
        red.quotient, red.fact_orbit = the_plan.quotient, the_plan.fact_orbit or {}
        red.por = the_plan.tables
    else:
        red = ReducedExplicit(ts, the_plan, limits, progress)
    res = red.run()
    step = red.por_step
    if step is not None and step.stopped:  # the trial found too little to prune (checker/por_graph.py)
        the_plan.note = "; ".join(n for n in (the_plan.note, (
            f"por: expanded in full from state {2 * por_graph.TRIAL:,} (the reduced expansions of the first "
            f"{por_graph.TRIAL:,} had saved {step.pruned:,} states)")) if n)
    judge_facts(ts, res)
    res.facts = {}
    out = ReducedOutcome(res, red)
    if res.violations:
        violated = [c for c in ts.checks if c in res.violations]
        # the re-search shares the run's --timeout: it gets what the reduced search left of it
        left = None if limits.timeout is None else max(1e-3, limits.timeout - (time.perf_counter() - t0))
        full = Explicit(replace(ts, checks=violated), replace(limits, timeout=left), progress)
        again = full.run()
        if left is not None and again.stopped_by.startswith("--timeout"):
            again.stopped_by = str(limits.timed_out())
        judge_facts(full.ts, again)
        unproved: dict[str, str] = {}
        for c in violated:
            if c in again.violations:
                res.violations[c] = again.violations[c]
            elif again.complete and again.stopped_by in ("", str(ALL_VIOLATED)) and not again.bound_hit \
                    and not again.analysis_stopped:  # the whole graph was judged and holds: engines disagree
                raise InternalError(f"{c}: violated in the reduced state space ({', '.join(the_plan.applied)}) "
                                    "but not in the full one")
            else:
                del res.violations[c]
                unproved[c] = (f"violated in the reduced state space, but the search for a shortest "
                               f"counterexample stopped ({again.stopped_by or 'incomplete'})")
        res.unproved.update(unproved)
        out.engine, out.refind_states = full, again.states
    out.seconds = time.perf_counter() - t0
    res.seconds = out.seconds
    res.peak_mb = peak_rss_mb()
    return out
