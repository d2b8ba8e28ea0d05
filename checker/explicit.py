"""The explicit-state engine: breadth-first search over packed states.

BFS with parent links gives shortest counterexamples for safety checks: the
first state found that breaks a check is at minimal depth. States are ints
(see codegen.Packing); `seen` maps each state to its parent and iterates in BFS
order, which the liveness and deadlock analyses use to pick the shallowest
witness. It is a `StateStore` (checker/state_store.py: dense ids in BFS order,
the packed bytes in one arena, parent ids, an exact open-addressing table) -
the engines that gather states from workers put a dict there instead. The
garbage collector is off during the search: the only objects made are ints and
lists of ints, which cannot form cycles.

Limits (--max-states, --timeout, memory, Ctrl-C) stop the search cleanly; the
checks not already violated are then inconclusive, never "holds".
"""

from __future__ import annotations

import time
from collections.abc import Callable, MutableMapping

from ircheck import edge_log
from ircheck.codegen import Compiled, Packing, compile_ts
from ircheck.edge_log import EdgeLog
from ircheck.limits import ALL_VIOLATED, INTERRUPTED, Limits, Stopped, Ticker, Watch
from ircheck.liveness import blocked_forever, deadlocks, starvation
from ircheck.outcome import RawViolation, SearchResult
from ircheck.por import PorTables
from ircheck.por_graph import PorStep
from ircheck.spec.checks import DEADLOCK_CHECK, with_others
from ircheck.spec.ts import TransitionSystem
from ircheck.state_store import ROOT, StateStore
from ircheck.symmetry_group import Quotient
from ircheck.sysinfo import current_rss_mb, default_memory_limit_mb, peak_rss_mb
from ircheck.triage import SearchStop, Triage, searching


class Explicit:
    """One search over one TransitionSystem; `run()` decides every enabled check it can."""

    def __init__(self, ts: TransitionSystem, limits: Limits | None = None,
                 progress: Callable[[int, int, float], None] | None = None) -> None:
        self.ts = ts
        self.limits = limits or Limits()
        self.progress = progress
        self.pk = Packing.of(ts)
        self.code: Compiled = compile_ts(ts, self.pk)
        self.init = self.pk.pack(ts.init())
        self.seen: MutableMapping[int, int | None] = StateStore(self.pk.bits)
        self.started = time.perf_counter()  # the search's start: --timeout counts from here
        # the symmetry quotient: set by reduce.py before `run` (stored states are canonical; a fact
        # transition records its orbit, `fact_orbit`; the analyses read edges through `edges`)
        self.quotient: Quotient | None = None
        self.fact_orbit: dict[int, list[int]] = {}
        # partial-order reduction under deadlock/liveness checks: set by reduce.py before `run`
        # (checker/por_graph.py); `por_step` is the run's expansion, which `edges` follows
        self.por: PorTables | None = None
        self.por_step: PorStep | None = None
        self._keys: set[tuple[str, object]] = set()  # (check, how its trace ends) kept for --max-traces
        # the edges and masks the graph analyses read (checker/edge_log.py): written by `run` when one
        # will run and `keep_edges` is on, None when not written or dropped for memory
        self.keep_edges = True
        self.log: EdgeLog | None = None

    # ---- helpers used by the analyses
    def path_to(self, s: int) -> list[int]:
        seen = self.seen
        if isinstance(seen, StateStore):
            return seen.path_to(s)
        out = [s]
        p = seen[s]
        while p is not None:
            out.append(p)
            p = seen[p]
        out.reverse()
        return out

    def successors_with_ids(self, s: int) -> list[tuple[int, int]]:
        out: list[int] = []
        tis: list[int] = []
        self.code.succ_ids(s, out, [], tis)
        return list(zip(tis, out, strict=True))

    def edges(self, s: int) -> list[tuple[int, int, int]]:
        """Stored state s's successors as the search stored them: (transition, stored state,
        element): on a symmetry quotient the stored state is g(t) for the successor t and g the
        element of that index (`Quotient.canon_el`); else t itself and -1. Under POR only the
        edges the search took (`PorStep.edges`)."""
        if self.por_step is not None:
            got: list[int] = []
            tis: list[int] = []
            self.code.succ_ids(s, got, [], tis)
            got, tis = self.por_step.edges(s, got, tis)
            out = list(zip(tis, got, strict=True))
        else:
            out = self.successors_with_ids(s)
        quo = self.quotient
        if quo is None:
            return [(ti, t, -1) for ti, t in out]
        canon_el = quo.canon_el
        return [(ti, *canon_el(t)) for ti, t in out]

    # ---- the search
    def run(self) -> SearchResult:
        ts = self.ts
        res = SearchResult()
        triage = Triage(ts)
        succ, props, unfinished = self.code.succ, self.code.props, self.code.unfinished
        has_props = bool(ts.state_props)
        want_deadlock = triage.deadlock
        quiet: list[int] = []
        settled: set[int] = set()  # tagged transitions recording has nothing left to add for (`_tagged`)
        found = res.violations
        lim = self.limits
        extra = lim.max_traces > 1
        t0 = self.started = time.perf_counter()
        watch = Watch(lim, t0, self.progress)
        store = self.seen = StateStore(self.pk.bits)
        add, level = store.add, store.states
        canon = self.quotient.canon if self.quotient is not None else None
        if canon is not None:
            self.init = canon(self.init)
        log = self.log = self._new_log()
        if log is not None:
            succ_ids, canon_log = self.code.succ_ids, self.quotient.canon_log if self.quotient is not None else None
            # `marks`: a state's failed properties, blocked waits and pending requests in one int
            marks, np_, nw = self.code.marks, len(ts.state_props), len(ts.waits)
            pmask, wmask, npw = (1 << np_) - 1, (1 << nw) - 1, np_ + nw
            loff, lto, lti, lel, lblocked, lpending = log.off, log.to, log.ti, log.el, log.blocked, log.pending
        step = self.por_step = PorStep(self.por, self.code.succ_ids, store, self.quotient) \
            if self.por is not None else None
        add([self.init], ROOT)
        init_bad = props(self.init) if has_props else 0
        if log is not None:
            m = marks(self.init)
            lblocked.append((m >> np_) & wmask)
            lpending.append(m >> npw)
        if init_bad:
            self._record_props(init_bad, self.init, found, res if extra else None)
        lo, hi = 0, 1  # the frontier: the ids of one BFS level
        transitions = 0
        depth = 0
        with searching(res):
            while lo < hi:
                sid = lo
                # the frontier: the level dict's keys are its states in id order (none to decode)
                kept = store.level
                frontier = kept if kept is not None and len(kept) == hi - lo else level(lo, hi)
                store.new_level()  # the next level's states: most successors found stored are among them
                for s in frontier:
                    out: list[int] = []
                    vio: list[int] = []
                    if step is not None:  # POR (checker/por_graph.py): stores and logs what it takes
                        ncpu, nout, new = step(s, sid, vio, hi, log)
                        transitions += nout
                    elif log is None:
                        ncpu = succ(s, out, vio)
                        transitions += len(out)
                        if canon is not None:
                            out = [canon(t) for t in out]
                    else:  # the same, with each edge's transition and group element written down
                        ncpu = succ_ids(s, out, vio, lti)
                        transitions += len(out)
                        if canon_log is not None:
                            out = canon_log(out, lel)
                    if vio:
                        for ti in vio:
                            if ti not in settled and self._tagged(triage, res, s, ti, extra):
                                settled.add(ti)
                    if want_deadlock and ncpu == 0 and unfinished(s):
                        quiet.append(s)
                    if log is None:
                        if step is None:
                            new = add(out, sid)
                        if has_props:
                            for t in new:
                                bad = props(t)
                                if bad:
                                    self._record_props(bad, t, found, res if extra else None)
                    else:  # the new states' masks, by id (ids are given in the order of `new`)
                        if step is None:
                            new = add(out, sid, lto)
                            loff.append(len(lto))
                        for t in new:
                            m = marks(t)
                            lblocked.append((m >> np_) & wmask)
                            lpending.append(m >> npw)
                            if m & pmask:
                                self._record_props(m & pmask, t, found, res if extra else None)
                    sid += 1
                    if step is not None and step.stopped:  # the trial found too little to prune (por_graph.py)
                        step = None
                    if store.n >= watch.next or transitions >= watch.next_work:
                        if log is not None and log.over():  # a cache: the analyses recompute without it
                            log.drop()
                            log = self.log = None
                        why = watch.look(store.n, depth, store, transitions)
                        if why:
                            res.complete, res.stopped_by = False, str(why)
                            raise SearchStop
                if not extra and triage.decided(found):
                    res.complete, res.stopped_by = False, str(ALL_VIOLATED)
                    break
                lo, hi = hi, store.n
                if lo < hi:
                    depth += 1
        store.level = None  # the last level's dict (state_store.py): the analyses look states up by the table
        res.states, res.transitions, res.depth = store.n, transitions, depth
        res.seconds = time.perf_counter() - t0
        if res.stopped_by == str(ALL_VIOLATED):
            res.complete = True  # nothing left to decide
        self.analyse_graph(res, quiet)
        res.seconds = time.perf_counter() - t0
        res.peak_mb = peak_rss_mb()
        return res

    def _new_log(self) -> EdgeLog | None:
        """An edge log when a graph analysis will read one (per-context waits under no_deadlock, or
        a liveness request) and `keep_edges` is on; it may take `edge_log.SHARE` of the memory left
        under the ceiling (--max-memory, else the machine's default) before the search drops it."""
        ts = self.ts
        if not (edge_log.wanted(ts) and self.keep_edges):
            return None
        left_mb = (self.limits.max_memory_mb or default_memory_limit_mb()) - current_rss_mb()
        return EdgeLog(len(ts.transitions), len(ts.waits), len(ts.requests), self.quotient is not None,
                       max(0.0, left_mb) * edge_log.SHARE * 1048576)

    def analyse_graph(self, res: SearchResult, quiet: list[int]) -> None:
        """The deadlock and liveness analyses after a complete search (also run by ray_bfs.py).

        `self.seen` holds the explored states in BFS order (parents as links), `quiet` the states
        where no CPU can step and something is unfinished, in the same order.
        """
        if not res.complete or res.bound_hit:
            return
        ts = self.ts
        checks = set(ts.checks)
        found = res.violations
        lim = self.limits
        # --timeout counts from the model's start (`Limits.deadline`, set by the API) like every other phase,
        # else from the search's start
        budget = Ticker(lim, lim.deadline_from(self.started), "the deadlock and liveness analysis", every=0x4000)
        try:
            if DEADLOCK_CHECK in checks and DEADLOCK_CHECK not in found:
                # the shallower of "no CPU can ever step" and "a context blocked for ever" (BFS depth)
                vs = [v for v in (deadlocks(self, quiet, budget), blocked_forever(self, budget)) if v]
                if vs:
                    found[DEADLOCK_CHECK] = min(vs, key=lambda v: len(v.path))
            todo = ({r.check for r in ts.requests} & checks) - set(found)
            if todo:
                vs = starvation(self, todo, budget)
                for check in sorted(todo):
                    mine = [v for v in vs if v.check == check]
                    if not mine:
                        continue
                    best = min(mine, key=lambda v: (len(v.path) + len(v.cycle or ()), v.line))
                    best.message = with_others(check, best.message, [v.message for v in mine if v is not best])
                    found[check] = best
        except Stopped as e:
            res.analysis_stopped = e.reason
            for check in sorted(({r.check for r in ts.requests} | {DEADLOCK_CHECK}) & checks - set(found)):
                res.unproved[check] = (f"the search finished ({res.states} states) but the graph analysis "
                                       f"that decides {check} was stopped ({e.reason})")
        except KeyboardInterrupt:
            res.complete, res.stopped_by = False, str(INTERRUPTED)

    def _tagged(self, triage: Triage, res: SearchResult, s: int, ti: int, extra: bool) -> bool:
        """Tagged transition ti is enabled in the reached state s: `Triage.record`, and --max-traces.
        On a symmetry quotient a fact transition's whole orbit is recorded (its images are enabled
        in the images of s; their traces are not kept: reduce.py re-finds violations unreduced).
        Returns True when ti is settled: without --max-traces, recording it again changes nothing
        (its facts are reached, its checks violated, its bound hit), so the search skips it."""
        orbit = self.fact_orbit.get(ti, (ti,))
        for tj in orbit:
            for first, v in triage.record(res, tj, lambda: self.path_to(s), extra):
                if first:
                    self._keys.add((v.check, ("t", tj)))
                else:
                    self._more(res, ("t", tj), v)
        return not extra and all(triage.settled(res, tj) for tj in orbit)

    def _record_props(self, bad: int, t: int, found: dict[str, RawViolation],
                      res: SearchResult | None = None) -> None:
        """Bit k of `bad` set: state property k is false in t (first one per check is shallowest)."""
        k = 0
        while bad:
            if bad & 1:
                p = self.ts.state_props[k]
                if p.check not in found:
                    found[p.check] = RawViolation(p.check, p.message, self.path_to(t), None, line=p.line)
                    self._keys.add((p.check, ("p", k)))
                elif res is not None:
                    self._more(res, ("p", k), RawViolation(p.check, p.message, self.path_to(t), None, line=p.line))
            bad >>= 1
            k += 1

    def _more(self, res: SearchResult, key: tuple[str, object], v: RawViolation) -> None:
        """--max-traces: keep v when its check has room and no kept trace ends the same way (the same
        violating transition, or the same failed state property): BFS order makes it the shallowest
        of its kind. The first violation of a check is `res.violations`' and is counted too."""
        more = res.more.setdefault(v.check, [])
        if len(more) + 1 >= self.limits.max_traces or (v.check, key) in self._keys:
            return
        self._keys.add((v.check, key))
        more.append(v)
