"""The Z3 engine: BMC for shortest counterexamples, k-induction for proofs, lassos for liveness.

`SmtEngine.run` decides what it can of every enabled check and returns raw results
(`SmtRun`: a SearchResult whose counterexamples are RawViolations of packed states, and what was
proved how); checker/smt.py turns them into verdicts through checker/pipeline.py.

One depth at a time, k = 0, 1, 2, ...:
1. if no loop-free path of k steps leaves the initial state, every reachable
   state has been looked at: what was not found cannot happen (complete);
2. BMC: targets bad at depth k (shortest, see smt_bmc);
3. deadlock candidates (quiet states) are kept when no state that is not quiet
   can be reached from them (checker/liveness.py's definition);
4. lassos of k steps for the liveness requests still open;
5. k-induction at k+1 for every target still open (BMC has just cleared 0..k);
   once plain induction has failed, strengthened by the invariants Houdini
   proves (smt_lemmas), assumed in every state of the induction path;
6. from depth SPACER_FROM, Spacer on the targets still open, and on the
   liveness requests still open through liveness-to-safety (smt_l2s).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from ircheck.codegen import Compiled, Packing, compile_ts
from ircheck.limits import INTERRUPTED, Stopped
from ircheck.outcome import RawViolation, SearchResult
from ircheck.smt_bmc import EXHAUST_CAP, Bmc, Hit, Target, quiet_escapes, region_escapes, targets_of
from ircheck.smt_budget import Budget, Share
from ircheck.smt_encode import Encoding, Unsupported
from ircheck.smt_induction import STEP_CAP, Induction, due
from ircheck.smt_l2s import LoopProver
from ircheck.smt_lemmas import Houdini
from ircheck.smt_liveness import Lasso, canonical_lasso
from ircheck.smt_liveness import due as lasso_due
from ircheck.smt_spacer import QUERY_CAP as SPACER_CAP
from ircheck.smt_spacer import Spacer
from ircheck.spec.checks import DEADLOCK_CHECK
from ircheck.spec.ts import TransitionSystem, evaluate
from ircheck.sysinfo import peak_rss_mb

SPACER_FROM = 4  # BMC depth from which Spacer is tried (a shallower violation is found first)
MIN_CAP = 0.05  # seconds: a proof query given less is not worth starting
HOUDINI_CAP = 2.0  # seconds of solving for the first Houdini try (sampling has its own bound)
LOOP_TAIL_CAP = 12.0  # seconds: without --timeout, the last liveness-to-safety try per request
DEFAULT_MAX_DEPTH = 60  # without --timeout: BMC and induction stop here (inconclusive beyond)


@dataclass
class SmtRun:
    """What the engine found; `smt.run_smt` turns it into CheckResults (checker/pipeline.py)."""

    res: SearchResult = field(default_factory=SearchResult)
    proved_k: dict[str, int] = field(default_factory=dict)   # target key -> k of its induction proof
    complete_at: int | None = None    # no loop-free path of this many steps: everything was seen
    undecided_quiet: int = 0          # deadlock candidates whose escape was not decided
    lasso_depth: int = 0
    no_path_at: int | None = None     # no loop-free path of this many steps from any state at all
    lasso_bound: int | None = None    # every lasso up to this length was searched, none is fair
    proved_by_spacer: set[str] = field(default_factory=set)  # target keys Spacer proved unreachable
    invariants: int | None = None     # how many auxiliary invariants Houdini proved (None: none tried/found)
    strengthened: set[str] = field(default_factory=set)  # target keys proved by induction with them
    no_loop: set[int] = field(default_factory=set)  # requests no fair loop keeps pending (smt_l2s)


class SmtEngine:
    """One run of the Z3 engine over one TransitionSystem."""

    label = "smt"

    def __init__(self, ts: TransitionSystem, timeout: float | None = None, max_memory_mb: float | None = None,
                 max_depth: int | None = None, progress: Callable[[int, int, float], None] | None = None,
                 timeout_shown: float | None = None) -> None:
        self.ts = ts
        self.pk = Packing.of(ts)  # traces are RawViolations of packed states, as the explicit engine's
        self.budget = Budget(timeout, max_memory_mb)
        if timeout_shown is not None:  # `auto` gives Z3 what is left of the user's --timeout: quote the user's
            self.budget.timeout = timeout_shown
        # the progress line: called with states = -1 (the Z3 engine stores none) and the BMC depth
        self.progress = progress
        self.max_depth = max_depth if max_depth is not None else (10_000 if timeout else DEFAULT_MAX_DEPTH)
        self.run_ = SmtRun()
        self.targets: list[Target] = []
        self.live_checks: set[str] = set()  # set by make_targets; empty when the encoding fails first
        self.found: set[str] = set()
        self.proved: set[str] = set()
        self._spacer_: Spacer | None = None
        self._loops: LoopProver | None = None
        self.share = Share(self.budget)
        self.spacer_cap: dict[str, float] = {}  # target key -> seconds of its next Spacer try (SPACER_CAP first)
        self._code: Compiled | None = None  # the compiled successors, for `region_escapes`
        self.houdini: Houdini | None = None
        self.houdini_cap = HOUDINI_CAP  # seconds of the next Houdini try, doubled after each one cut off

    # ---- targets
    def make_targets(self) -> None:
        self.targets = targets_of(self.ts)
        self.live_checks = {r.check for r in self.ts.requests} & set(self.ts.checks)

    def open_targets(self) -> list[Target]:
        return [t for t in self.targets if t.key not in self.found and t.key not in self.proved]

    def open_live(self) -> list[int]:
        """The liveness requests whose check is not violated and which may still have a fair loop."""
        out = self.run_
        return [r for r, req in enumerate(self.ts.requests)
                if req.check in self.live_checks and req.check not in out.res.violations
                and r not in out.no_loop and f"pending:{r}" not in self.proved]

    # ---- the run
    def run(self) -> SmtRun:
        out = self.run_
        res = out.res
        res.complete = False
        t0 = time.perf_counter()
        try:
            self.enc = Encoding(self.ts)
            self.make_targets()
            self._search()
        except Unsupported as e:
            res.stopped_by = f"not encodable for Z3: {e}"
        except Stopped as e:
            res.stopped_by = e.reason
        except KeyboardInterrupt:
            res.stopped_by = str(INTERRUPTED)
        res.seconds = time.perf_counter() - t0
        res.peak_mb = peak_rss_mb()
        return out

    def _search(self) -> None:
        enc, budget, out, share = self.enc, self.budget, self.run_, self.share
        res = out.res
        bmc = Bmc(enc, budget)
        ind = Induction(enc, budget)
        lasso = Lasso(enc, budget) if self.live_checks else None
        lasso_cap: int | None = None  # after BMC is complete: how far lassos are still looked for
        for k in range(self.max_depth + 1):
            budget.check()
            if out.complete_at is None and k and share.credit("induction") > MIN_CAP:
                with share.proving("induction"):
                    exhausted = bmc.exhausted(k, cap=min(EXHAUST_CAP, share.credit("induction")))
                if exhausted:
                    out.complete_at = k
                    self.proved |= {t.key for t in self.open_targets()}
                    # a lasso's prefix is within the reachable depth, its loop is not bounded by it:
                    # look a few times further (finding none still proves nothing)
                    lasso_cap = min(self.max_depth, 2 * k + 4)
            if out.complete_at is None:
                res.depth = k
                if self.progress is not None:
                    self.progress(-1, k, time.perf_counter() - self.budget.t0)
                with share.searching():
                    for phase in ("a", "b"):
                        self._hits(bmc, bmc.search(self.open_targets(), k, phase), k, phase)
            open_live = self.open_live()
            if lasso_cap is not None and k > lasso_cap:
                break
            if lasso is not None and k and open_live and (lasso_due(k) or k == lasso_cap):
                out.lasso_depth = k
                with share.searching():
                    for r in open_live:
                        if self.ts.requests[r].check in res.violations:
                            continue
                        got = lasso.search(r, k)
                        if got is not None:
                            self._lasso_hit(r, *got)
            self._induction(ind, k)
            self._strengthen(ind)
            if k >= SPACER_FROM:
                self._spacer()
            if self._decided():
                break
        res.complete = out.complete_at is not None
        self._lasso_tail(lasso)
        self._loop_tail()

    def _induction(self, ind: Induction, k: int) -> None:
        """k-induction at k+1 for the targets still open, within the provers' share of the time."""
        out, share = self.run_, self.share
        todo = self.open_targets() if due(k + 1) and share.credit("induction") > MIN_CAP else []
        if not todo:
            return
        with share.proving("induction"):
            if ind.no_path(k + 1, cap=min(STEP_CAP, share.credit("induction"))):
                out.no_path_at = k + 1
                for t in todo:
                    self.proved.add(t.key)
                    out.proved_k[t.key] = k + 1
                return
            self._steps(ind, todo, k + 1)

    def _steps(self, ind: Induction, todo: list[Target], k: int) -> None:
        out, share = self.run_, self.share
        for t in todo:
            if share.credit("induction") <= MIN_CAP:
                return
            if t.blocked:  # a reachable candidate was found (it escapes): k-induction's base case fails, so
                continue   # its step proves nothing; only the exhausted BMC or Spacer decide the target
            if ind.step_holds(t, k, cap=min(STEP_CAP, share.credit("induction"))):
                self.proved.add(t.key)
                out.proved_k[t.key] = k
                if ind.lemmas is not None:
                    out.strengthened.add(t.key)

    def _strengthen(self, ind: Induction) -> None:
        """Houdini's invariants for the induction path, once plain induction has failed at some k:
        tried when its own credit allows the current cap, which doubles after each try cut off (each
        try goes on from the candidates the last one left). Then the open targets are tried again
        at the depth induction has reached."""
        todo = self.open_targets()
        cap = self.houdini_cap
        if ind.lemmas is not None or not ind.path.k or not todo or self.share.credit("houdini") < cap:
            return
        left = self.budget.left()
        if left is not None:
            cap = min(cap, left)
        with self.share.proving("houdini"):
            if self.houdini is None:
                self.houdini = Houdini(self.enc, self.budget)
            lemmas = self.houdini.run(cap, sample_for=self.share.credit("houdini"))
        if lemmas is None:
            self.houdini_cap *= 2
            return
        ind.strengthen(lemmas)
        self.run_.invariants = len(lemmas)
        with self.share.proving("induction"):
            self._steps(ind, todo, ind.path.k)

    def _lasso_tail(self, lasso: Lasso | None) -> None:
        """Liveness proved by exhausting the lassos up to a bound, when one is known.

        When no loop-free path of m steps exists from any state (`no_path_at`), every shortest
        path inside a component has fewer than m steps, so checker/liveness.py's fair loop
        (one path per fairness group plus one step, then back to its entry) and its prefix fit
        in (groups + 2) * m steps: no fair lasso up to that length means there is none.
        """
        out, ts = self.run_, self.ts
        if lasso is None or out.no_path_at is None:
            return
        bound = (len(ts.groups) + 2) * out.no_path_at
        for k in range(max(1, out.lasso_depth + 1), bound + 1):
            open_live = self.open_live()
            if not open_live:
                return
            self.budget.check()
            out.lasso_depth = k
            for r in open_live:
                if ts.requests[r].check not in out.res.violations:
                    got = lasso.search(r, k)
                    if got is not None:
                        self._lasso_hit(r, *got)
        out.lasso_bound = bound

    def _loop_tail(self) -> None:
        """Liveness-to-safety for the requests still open once nothing else is left to do (BMC and
        the lassos are done, or the depth limit is reached): each query retried with a doubling
        cap, within --timeout; without one, up to LOOP_TAIL_CAP seconds a query, so that a run
        without a time limit still ends."""
        if any(t.kind != "terminal" for t in self.open_targets()):
            return  # a safety target still open: the run ended on a limit, not for want of work
        while True:
            todo = self.open_live()
            if not todo:
                return
            caps = [self.spacer_cap.get(_key(r), SPACER_CAP) for r in todo]
            if self.budget.left() is None and min(caps) > LOOP_TAIL_CAP:
                return
            for r, cap in zip(todo, caps, strict=True):
                self.budget.check()
                if not self._loop_prove(r, cap):
                    self.spacer_cap[_key(r)] = 2 * cap
            for t in self.open_targets():  # the waiting states with no fair step, now that they matter
                cap = self.spacer_cap.get(t.key, SPACER_CAP)
                if t.request in self.run_.no_loop and not self._spacer_prove(t, cap):
                    self.spacer_cap[t.key] = 2 * cap  # retried with twice the time, like every Spacer job

    def _loop_prove(self, r: int, cap: float) -> bool:
        if self._loops is None:
            self._loops = LoopProver(self.enc, self.budget)
        if self._loops.proves(r, cap):
            self.run_.no_loop.add(r)
            return True
        return False

    def _spacer_prove(self, t: Target, cap: float) -> bool:
        if self._spacer_ is None:
            self._spacer_ = Spacer(self.enc, self.budget)
        if self._spacer_.proves(t, cap):
            self.proved.add(t.key)
            self.run_.proved_by_spacer.add(t.key)
            return True
        return False

    def _spacer(self) -> None:
        """Spacer on every target induction has not closed (the liveness "pending" targets too: never
        pending proves the request), and on every liveness request still open through
        liveness-to-safety ("loop:r"), as far as the provers' credit goes. A request's "terminal"
        target is tried once no fair loop is left for it (before, its proof would decide nothing).

        A Spacer query cannot be resumed, so each target's failed try is retried later with twice
        the time: the time lost to tries that were too short is at most that of the one that
        succeeds. The cheapest tries go first, so one hard target does not starve the others."""
        out = self.run_
        todo: list[Target | int] = [t for t in self.open_targets()
                                    if t.kind != "terminal" or t.request in out.no_loop]
        todo += self.open_live()
        todo.sort(key=lambda t: self.spacer_cap.get(_key(t), SPACER_CAP))
        for t in todo:
            key = _key(t)
            cap = self.spacer_cap.get(key, SPACER_CAP)
            if self.share.credit("spacer") < cap:
                return
            with self.share.proving("spacer"):
                if self._loop_prove(t, cap) if isinstance(t, int) else self._spacer_prove(t, cap):
                    continue
            self.spacer_cap[key] = 2 * cap

    def _decided(self) -> bool:
        """Nothing left that another depth could change."""
        res = self.run_.res
        if all(c in res.violations for c in self.ts.checks):
            return True  # the bound and the facts only matter to a check that might hold
        if self.open_targets():
            return False
        return not self.open_live()

    def _hits(self, bmc: Bmc, hits: list[Hit], k: int, phase: str) -> None:
        ts, res = self.ts, self.run_.res
        pack = self.pk.pack
        for h in hits:
            t = h.target
            path = [pack(s) for s in h.states]
            if t.kind == "check":
                self.found.add(t.key)
                if t.name in res.violations:
                    continue
                if h.last is None:
                    p = next(ts.state_props[pi] for pi in t.props if not evaluate(ts.state_props[pi].ok, h.states[-1]))
                    res.violations[t.name] = RawViolation(t.name, p.message, path, None, line=p.line)
                else:
                    msg = next(m for c, m in ts.transitions[h.last].violates if c == t.name)
                    res.violations[t.name] = RawViolation(t.name, msg, path, h.last,
                                                          line=ts.transitions[h.last].label.line)
            elif t.kind == "fact":
                self.found.add(t.key)
                res.facts[t.name] = RawViolation(ts.fact_check, t.name, path, h.last,
                                                 line=ts.transitions[h.last].label.line if h.last is not None else 0)
            elif t.kind == "bound":
                self.found.add(t.key)
                res.bound_hit = res.bound_hit or t.name
            elif t.kind == "pending":
                self.found.add(t.key)  # reachable: the request cannot be proved by "never pending"
            elif t.kind == "terminal":
                self.found.add(t.key)
                req = ts.requests[t.request or 0]
                if req.check not in res.violations:
                    res.violations[req.check] = RawViolation(req.check, req.message, path, None, None, req.line)
            elif t.kind in ("quiet", "wait"):
                self._quiet(bmc, t, h, k)

    def _quiet(self, bmc: Bmc, t: Target, h: Hit, k: int) -> None:
        """A quiet state (or a blocked wait) at depth k: a deadlock if nothing but quiet (blocked)
        states can follow it."""
        res = self.run_.res
        q = h.states[-1]
        wait = t.request if t.kind == "wait" else None
        while True:
            if self._code is None:
                self._code = compile_ts(self.ts, self.pk)
            esc = region_escapes(self._code, self.pk.pack(q), wait, self.budget)
            if esc is None:
                esc = quiet_escapes(self.enc, q, self.budget, self.max_depth, wait)
            if esc is False:
                self.found.add(t.key)
                if DEADLOCK_CHECK not in res.violations:
                    msg, line = self.ts.deadlock_message, 0
                    if wait is not None:
                        w = self.ts.waits[wait]
                        msg, line = (w.explain(q) if w.explain is not None else w.message), w.line
                    res.violations[DEADLOCK_CHECK] = RawViolation(DEADLOCK_CHECK, msg, [self.pk.pack(s) for s in h.states],
                                                            line=line, whole=wait is not None, wait=wait)
                return
            if esc is None:
                self.run_.undecided_quiet += 1
            t.blocked.append(q)
            more = bmc.search([t], k, "a")  # another quiet state at the same depth?
            if not more:
                return
            h = more[0]
            q = h.states[-1]

    def _lasso_hit(self, r: int, states: list[tuple[int, ...]], start: int) -> None:
        r, states, start = canonical_lasso(self.enc, self.budget, r, states, start)
        ts, res = self.ts, self.run_.res
        req = ts.requests[r]
        pack = self.pk.pack
        path = [pack(s) for s in states[: start + 1]]
        cycle = [pack(s) for s in states[start:]]
        res.violations[req.check] = RawViolation(req.check, req.message, path, None, cycle, req.line)


def _key(t: Target | int) -> str:
    """A Spacer job's key: a target's, or "loop:r" for request r's liveness-to-safety query."""
    return f"loop:{t}" if isinstance(t, int) else t.key
