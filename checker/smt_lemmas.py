"""Auxiliary invariants for k-induction, found by Houdini over candidates mined from sampled states.

Why: most properties of interrupt designs are not k-inductive for small k. "At
most one frame" fails induction from an unreachable state that is already
inside a handler with IF = 1: the predecessor k-induction may pick is any
state in the variable domains, and nothing but a strengthening ("inside a
handler IF is 0") rules it out. Spacer computes strengthenings, but as one
opaque query per target; the classical remedy in k-induction model checkers
(Kind 2, JKind) is cheaper and reusable: guess many simple invariants, keep
the largest subset that is inductive as a whole, and assume it in every state
of the induction path.

1. Sample reachable states: a short BFS from the initial state, then random
   walks (the compiled successor function of the explicit engine).
2. Candidates: "atom never holds" and "atoms a and b never hold together",
   for every atom never seen (together) in the samples. Atoms are `v == c` for
   variables with small domains and "bit b of v is 1/0" for registers; other
   variables (wide counters) get none.
3. Houdini: drop the candidates false in the initial state; then, while some
   step leads from a state satisfying all remaining candidates to one that
   breaks some, drop those it breaks (read off Z3's model). What remains is
   inductive relative to itself and true initially, hence true in every
   reachable state. Samples only choose the guesses: soundness rests on Z3.

Nothing here knows what an interrupt is: atoms are over state variables.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass

import z3

from ircheck.codegen import Packing, compile_ts
from ircheck.smt_budget import Budget
from ircheck.smt_encode import Encoding, State

SMALL_DOMAIN = 64        # variables with at most this many values get one atom per value
MAX_REGISTER_BITS = 8    # power-of-two domains up to 2^this get one atom per bit and value
BFS_SAMPLES = 4_000      # states sampled breadth-first from the initial state
WALK_SAMPLES = 40_000    # then this many more along random walks (fewer false guesses: fewer Houdini rounds)
WALK_LENGTH = 200
SAMPLE_SECONDS = 5.0     # at most this long (once per run, at the first try)
MAX_CANDIDATES = 6_000   # unary candidates first, then pairs: a bound on the solver's work


Atom = tuple[int, str, int]  # (variable, "eq" | "bit1" | "bit0", value or bit index)


def holds(atom: Atom, s: State) -> bool:
    vi, kind, c = atom
    x = s[vi]
    if kind == "eq":
        return x == c
    bit = (x >> c) & 1
    return bit == 1 if kind == "bit1" else bit == 0


def atoms_of(sizes: list[int]) -> list[Atom]:
    out: list[Atom] = []
    for vi, n in enumerate(sizes):
        if n == 1:
            continue  # a constant: no atom can say anything
        if n <= SMALL_DOMAIN:
            out += [(vi, "eq", c) for c in range(n)]
        elif n & (n - 1) == 0 and n.bit_length() - 1 <= MAX_REGISTER_BITS:
            for b in range(n.bit_length() - 1):
                out += [(vi, "bit1", b), (vi, "bit0", b)]
    return out


Successors = Callable[[int, list[int], list[int]], int]  # codegen's succ(state, out, violations)


def sample(ts_init: State, pk: Packing, succ: Successors, until: float | None = None, seed: int = 0) -> list[State]:
    """Reachable states: BFS_SAMPLES breadth-first, then random walks from states already seen, until
    the clock reads `until` (time.perf_counter) at the latest. Fewer samples only mean more guesses
    for Houdini to refute; the walks are seeded, so a run is reproducible."""
    init = pk.pack(ts_init)
    seen = {init}
    order = [init]
    frontier = [init]
    while frontier and len(order) < BFS_SAMPLES and (until is None or time.perf_counter() < until):
        nxt = []
        for s in frontier:
            out: list[int] = []
            succ(s, out, [])
            for t in out:
                if t not in seen:
                    seen.add(t)
                    order.append(t)
                    nxt.append(t)
        frontier = nxt
    rng = random.Random(seed)
    goal = len(order) + WALK_SAMPLES
    stale = 0  # steps since a new state was found: the walks stop when they only revisit
    while frontier and len(order) < goal and stale < 4 * WALK_LENGTH:
        if until is not None and time.perf_counter() >= until:
            break
        s = rng.choice(order)
        for _ in range(WALK_LENGTH):
            stale += 1
            out = []
            succ(s, out, [])
            if not out:
                break
            s = rng.choice(out)
            if s not in seen:
                seen.add(s)
                order.append(s)
                stale = 0
    return [pk.unpack(s) for s in order]


@dataclass
class Candidate:
    atoms: tuple[Atom, ...]  # "these never hold together" (one atom: "this never holds")

    def true_in(self, s: State) -> bool:
        return not all(holds(a, s) for a in self.atoms)


def candidates(sizes: list[int], states: list[State]) -> list[Candidate]:
    """Every atom never seen, then every pair of atoms each seen but never together."""
    atoms = atoms_of(sizes)
    by_value: list[dict[int, int]] = [{} for _ in sizes]  # variable -> value -> mask of the states with it
    for j, s in enumerate(states):
        bit = 1 << j
        for vi, x in enumerate(s):
            d = by_value[vi]
            d[x] = d.get(x, 0) | bit
    masks = []
    for vi, kind, c in atoms:
        d = by_value[vi]
        if kind == "eq":
            masks.append(d.get(c, 0))
        else:
            want = 1 if kind == "bit1" else 0
            m = 0
            for x, mx in d.items():
                if (x >> c) & 1 == want:
                    m |= mx
            masks.append(m)
    out = [Candidate((a,)) for a, m in zip(atoms, masks, strict=True) if not m]
    seen = [(a, m) for a, m in zip(atoms, masks, strict=True) if m]
    for i, (a, ma) in enumerate(seen):
        if len(out) >= MAX_CANDIDATES:
            break
        for b, mb in seen[i + 1:]:
            if ma & mb == 0 and not (a[0] == b[0] and a[1] == b[1] == "eq"):
                out.append(Candidate((a, b)))
    return out[:MAX_CANDIDATES]


class Lemmas:
    """The invariants Houdini proved, as a formula over any state of the encoding."""

    def __init__(self, enc: Encoding, kept: list[Candidate]) -> None:
        self.enc = enc
        self.kept = kept
        tmpl = enc.state("@lem", 0)
        self._tmpl = tmpl
        self._formula = z3.And([_formula(c, tmpl) for c in kept]) if kept else z3.BoolVal(True)

    def __len__(self) -> int:
        return len(self.kept)

    def at(self, s: list[z3.BitVecRef]) -> z3.BoolRef:
        return z3.substitute(self._formula, *zip(self._tmpl, s, strict=True))


def _atom(a: Atom, s: list[z3.BitVecRef]) -> z3.BoolRef:
    vi, kind, c = a
    x = s[vi]
    if kind == "eq":
        return x == z3.BitVecVal(c, x.size())
    return z3.Extract(c, c, x) == (1 if kind == "bit1" else 0)


def _formula(c: Candidate, s: list[z3.BitVecRef]) -> z3.BoolRef:
    return z3.Not(z3.And([_atom(a, s) for a in c.atoms])) if len(c.atoms) > 1 else z3.Not(_atom(c.atoms[0], s))


class Houdini:
    """Samples and candidates are computed once, at the first `run`; a run cut off by its cap keeps
    what it refuted (a candidate dropped is in no inductive subset of those left, so the next run
    goes on from there) and may be resumed with a larger cap."""

    def __init__(self, enc: Encoding, budget: Budget) -> None:
        self.enc = enc
        self.budget = budget
        self.cands: list[Candidate] | None = None
        self.active: list[int] = []
        self.samples = 0
        self.rounds = 0
        self.solver: z3.Solver | None = None  # kept across tries: what Z3 learned about the step stays
        self.use: dict[int, z3.BoolRef] = {}
        self.broken: dict[int, z3.BoolRef] = {}

    def _solver(self) -> z3.Solver:
        """The step from @hou0 to @hou1; candidate i holds in @hou0 when its Bool `use[i]` is assumed."""
        enc = self.enc
        cands = self.cands or []
        a, b = enc.state("@hou", 0), enc.state("@hou", 1)
        _step, cons = enc.step(a, b, "@hou")
        solver = z3.SolverFor("QF_BV")
        solver.add(enc.domain(a), enc.domain(b), *cons)
        for i in self.active:
            self.use[i] = z3.Bool(f"@hou!c{i}")
            self.broken[i] = z3.Not(_formula(cands[i], b))
            solver.add(z3.Implies(self.use[i], _formula(cands[i], a)))
        return solver

    def _guess(self, until: float) -> None:
        ts = self.enc.ts
        pk = Packing.of(ts)
        states = sample(ts.init(), pk, compile_ts(ts, pk).succ, until)
        init = ts.init()
        self.samples = len(states)
        self.cands = [c for c in candidates([v.size for v in ts.vars], states) if c.true_in(init)]
        self.active = list(range(len(self.cands)))

    def run(self, cap: float, sample_for: float = SAMPLE_SECONDS) -> Lemmas | None:
        """The maximal inductive subset of the candidates, or None when it was not reached within cap
        seconds of solving: a Houdini cut off has proved nothing yet.

        One solver for every round and every try: candidate c in the pre-state is assumed through its
        own Bool, and each round's "some candidate breaks" through a fresh one, so what Z3 learns
        about the step carries over from round to round."""
        t0 = time.perf_counter()
        if self.cands is None:
            left = self.budget.left()
            self._guess(t0 + min(sample_for, SAMPLE_SECONDS, left if left is not None else SAMPLE_SECONDS))
        assert self.cands is not None
        enc, budget, cands = self.enc, self.budget, self.cands
        b = enc.state("@hou", 1)
        if self.solver is None:
            self.solver = self._solver()
        solver = self.solver
        t0 = time.perf_counter()  # the cap is for Z3's rounds: sampling has its own bound
        while self.active:
            left = cap - (time.perf_counter() - t0)
            if left <= 0.02:
                return None
            r_on = z3.Bool(f"@hou!r{self.rounds}")
            solver.add(z3.Implies(r_on, z3.Or([self.broken[i] for i in self.active])))
            r = budget.solve(solver, r_on, *[self.use[i] for i in self.active], cap=left)
            self.rounds += 1
            if r == z3.unknown:
                return None
            if r == z3.unsat:
                break
            s1 = enc.decode(solver.model(), b)
            self.active = [i for i in self.active if cands[i].true_in(s1)]
        return Lemmas(enc, [cands[i] for i in self.active])
