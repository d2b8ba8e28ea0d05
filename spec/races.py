"""no_data_race: which context slots access which object at once (section 7, R3, R4).

A context slot is a task's pc, or one frame position of a CPU (its pc or a saved pc). A slot is
*at* an access when its pc is at a location that accesses the object. The rule, per object:

* `data D`: two slots at a `read`/`write` of D at once, at least one a `write`;
* a counter or flag that some atomic names (R4), as the LKMM judges plain and marked accesses
  (tools/memory-model/Documentation/explanation.txt, "data race": at least one access plain, at
  least one a store): the atomics and `set`/`clear` (set_bit/clear_bit) are marked stores that never
  race each other; `write`/`inc`/`dec` are plain stores, `read` a plain load; a condition that tests
  it is a marked read (READ_ONCE) and no access. A counter or flag no atomic names is not judged;
* `percpu data X` (R3): per CPU k, the accesses of cpuk's copy - the plain `read X`/`write X` of
  the contexts on cpuk (its tasks and its frames, nested on one CPU), and `read X on cpuk` /
  `write X on cpuk` from any CPU - judged as `data`; contexts on different CPUs touching their own
  copies never race.
* R2: a `read` inside a `read_seq S` block is not paired with a `write` inside S's write side (between
  a writer's begin and end of S, prims/seqlock.writer_sections): the reader retries what it read
  (Documentation/locking/seqlock.rst). A `seqcount S` itself is written by its writers: two slots on
  its write side at once (at a `write_seqcount_begin S`, or inside the section) race on S - seqcount_t
  "does not protect against multiple writers". A `seqlock`'s writers are serialized by its spinlock.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import NamedTuple

from ircheck.grammar import ast
from ircheck.spec.cfg import Body, Node
from ircheck.spec.language import ATOMICS
from ircheck.spec.model import Model
from ircheck.spec.prims.seqlock import write_side, writer_sections
from ircheck.spec.ts import FALSE, And, Bin, C, Expr, In, Not, Or, StateProp, Sum, V

Pred = Callable[[Node], bool]
Preds = tuple[Pred, Pred, Pred]  # reads, plain writes, marked (atomic) writes

_PLAIN_WRITES = ("write", "inc", "dec")   # of a counter or flag; `set`/`clear` are set_bit/clear_bit: marked
_MARKED = tuple(sorted(ATOMICS | {"set", "clear"}))


def _simple(n: Node, ops: tuple[str, ...], name: str, copy: int | None = None, cpu: int = 0) -> bool:
    """Location n runs one of `ops` on `name`; for per-CPU data (`copy` given), on copy `copy` from
    a context of `cpu` (its own copy, or an explicit `on cpuK`)."""
    st = n.stmt
    if not (n.kind == "stmt" and isinstance(st, ast.Simple) and st.op in ops and isinstance(st.arg, ast.Name)
            and st.arg.name == name):
        return False
    return copy is None or (cpu if st.on is None else int(st.on.name[3:])) == copy


def _accesses(m: Model, name: str) -> Preds:
    """Whether a location reads `name` plainly, writes it plainly, or writes it marked."""
    def atomic(n: Node) -> bool:
        st = n.stmt
        if n.kind == "test" and isinstance(st, ast.If | ast.While):
            test = ast.atomic_test(st.cond)
            return test is not None and test[0].arg.name == name
        return _simple(n, _MARKED, name)
    plain_writes = ("write",) if m.d.objects[name].kind == "data" else _PLAIN_WRITES
    return (lambda n: _simple(n, ("read",), name)), (lambda n: _simple(n, plain_writes, name)), atomic


def _atomic_on(m: Model, name: str) -> bool:
    """Some atomic statement or conditional (R4) names counter or flag `name`."""
    for code in m.d.code.values():
        for st in ast.walk(code.body):
            if isinstance(st, ast.Simple) and st.op in ATOMICS and isinstance(st.arg, ast.Name) \
                    and st.arg.name == name:
                return True
            if isinstance(st, ast.If | ast.While) and (test := ast.atomic_test(st.cond)) is not None \
                    and test[0].arg.name == name:
                return True
    return False


class Slot(NamedTuple):
    """One context slot's pc variable and the locations where it reads the object plainly, writes it
    plainly, or writes it marked (atomic)."""

    pc: int
    reads: frozenset[int]
    writes: frozenset[int]
    marked: frozenset[int]

    def at(self, locs: frozenset[int]) -> Expr:
        """The slot's pc is at one of `locs` (0 or 1 as a value)."""
        return In(V(self.pc), locs)


def _slots(m: Model, preds: Callable[[int], Preds]) -> list[Slot]:
    """(reading, writing, marked) locations per context slot that has an access: the tasks, then each
    CPU's frame positions; `preds(cpu)` says what accesses the object from a context of that CPU."""
    slots: list[Slot] = []
    for t in m.tasks:
        r, w, a = preds(t.cpu)
        tr, tw, ta = m.locs(t.body, r), m.locs(t.body, w), m.locs(t.body, a)
        if tr or tw or ta:
            slots.append(Slot(t.pc, frozenset(tr), frozenset(tw), frozenset(ta)))
    for cpu in m.cpus:
        r, w, a = preds(cpu.index)
        fr, fw, fa = m.frame_locs(r), m.frame_locs(w), m.frame_locs(a)
        if fr or fw or fa:
            for pcv in [cpu.pc] + cpu.saved_pc:
                slots.append(Slot(pcv, frozenset(fr), frozenset(fw), frozenset(fa)))
    return slots


Retried = list[tuple[tuple[frozenset[int], ...], tuple[frozenset[int], ...]]]
# per slot, per sequence: (its locations that read under that sequence, that write inside its write side)


def _retried(m: Model, name: str) -> Retried:
    """Per slot of `_slots` (same order, same slots), per sequence of the model: the slot's locations
    that read data `name` inside a `read_seq` of it / that write `name` inside its write side (R2)."""
    seqs = sorted(m.seq)
    read, write, _marked = _accesses(m, name)

    def locs(body: Body, base: int) -> tuple[list[set[int]], list[set[int]]]:
        sections = writer_sections(body)
        return ([{base + i for i, n in enumerate(body.nodes) if read(n) and sq in n.seq_reads} for sq in seqs],
                [{base + i for i, n in enumerate(body.nodes) if write(n) and sq in sections[i]} for sq in seqs])
    out: Retried = []
    for t in m.tasks:
        if m.locs(t.body, read) or m.locs(t.body, write) or m.locs(t.body, _marked):
            qs, ss = locs(t.body, 0)
            out.append((tuple(map(frozenset, qs)), tuple(map(frozenset, ss))))
    frames = [locs(inc.body, inc.base) for inc in m.incs]
    fq = tuple(frozenset(set().union(*[f[0][k] for f in frames])) for k in range(len(seqs)))
    fw = tuple(frozenset(set().union(*[f[1][k] for f in frames])) for k in range(len(seqs)))
    for cpu in m.cpus:
        if m.frame_locs(read) or m.frame_locs(write) or m.frame_locs(_marked):
            out.extend((fq, fw) for _pcv in [cpu.pc] + cpu.saved_pc)
    return out


def _writers(m: Model, seq: str) -> Preds:
    """seqcount `seq` as shared data: its writers' begins and every location of its write side write it
    (prims/seqlock.section_locs, told by node: the same test for a task's and a frame's locations)."""
    on = {id(n) for body in [t.body for t in m.tasks] + [inc.body for inc in m.incs]
          for n in write_side(body, seq)}
    return (lambda n: False), (lambda n: id(n) in on), (lambda n: False)


def pairwise_race(slots: list[Slot], marked: bool, retried: Retried | None = None) -> Expr:
    """The rule as written, over every pair of slots: two slots at once, one writing; with `marked`,
    not both marked. `retried` (data only, R2): per slot (reading under a retry loop, writing inside
    that sequence's write side) - such a read and write are not a race. About 2-3 comparisons per
    pair: `race` counts instead where that is exact."""
    if not any(s.writes or s.marked for s in slots):
        return FALSE
    rwa = [(s.at(s.reads), s.at(s.writes), s.at(s.marked)) for s in slots]
    if marked:
        return Or(*[Or(And(w1, Or(r2, w2, a2)), And(r1, Or(w2, a2)), And(a1, Or(r2, w2)))
                    for (r1, w1, a1), (r2, w2, a2) in itertools.combinations(rwa, 2)])
    if retried is None:
        return Or(*[Or(And(w1, Or(r2, w2)), And(r1, w2))
                    for (r1, w1, _a1), (r2, w2, _a2) in itertools.combinations(rwa, 2)])
    qs = [tuple(s.at(q) for q in sq[0]) for s, sq in zip(slots, retried, strict=True)]
    ws = [tuple(s.at(w) for w in sq[1]) for s, sq in zip(slots, retried, strict=True)]
    pairs = itertools.combinations(zip(rwa, zip(qs, ws, strict=True), strict=True), 2)
    return Or(*[Or(And(w1, w2), And(w1, r2, Not(Or(*[And(a, b) for a, b in zip(q2, s1, strict=True)]))),
                   And(r1, w2, Not(Or(*[And(a, b) for a, b in zip(q1, s2, strict=True)]))))
                for ((r1, w1, _a1), (q1, s1)), ((r2, w2, _a2), (q2, s2)) in pairs])


def _countable(slots: list[Slot], marked: bool, retried: bool) -> bool:
    """The counting form of `race` is exact: the slots' pc variables are distinct (each slot counts
    once); with `marked` no location of a slot is both a plain read and a marked write, with
    `retried` none is both a read and a write."""
    return len({s.pc for s in slots}) == len(slots) and not any(
        (marked and s.reads & s.marked) or (retried and s.reads & s.writes) for s in slots)


def _at_least(n: int, terms: list[Expr]) -> Expr:
    """At least n of the 0/1 `terms` hold: their sum >= n (FALSE when fewer than n terms)."""
    return FALSE if len(terms) < n else Bin(">=", Sum(terms), C(n))


def race(slots: list[Slot], marked: bool, retried: Retried | None = None) -> Expr:
    """`pairwise_race`, as counts of slots where that is exact (about one comparison per slot).

    Write r_i, w_i, a_i for "slot i is at a plain read / plain write / marked write" (its pc in that
    set of locations), any_i = r_i or w_i or a_i, and W, R, M, ANY for how many slots are at each (a
    sum of 0/1 memberships: `Sum` of `In` terms, the slots' pc variables distinct).

    * plain (`data`, per-CPU data, a seqcount's writers): pairwise, slots i < j race iff
      (w_i and (r_j or w_j)) or (r_i and w_j), that is acc_i and acc_j and (w_i or w_j) with
      acc = r or w. So some pair races iff **W >= 1 and ACC >= 2**: given a pair, its writer makes
      W >= 1 and both count in ACC; conversely a slot i with w_i counts in ACC (w_i implies acc_i),
      so ACC >= 2 gives another slot j != i with acc_j, and (i, j) races.
    * `marked` (R4): pairwise, (w_1 and any_2) or (r_1 and (w_2 or a_2)) or (a_1 and (r_2 or w_2)),
      which is (w_1 and any_2) or (any_1 and w_2) or (r_1 and a_2) or (a_1 and r_2) (each r/a term
      with w is in a w term). So some pair races iff some i != j has (w_i and any_j) or (r_i and
      a_j), iff **(W >= 1 and ANY >= 2) or (R >= 1 and M >= 1)**: the first disjunct as in the
      plain case (w_i implies any_i); for the second, R >= 1 and M >= 1 give slots i with r_i and
      j with a_j, and i != j because no location of a slot is both a plain read and a marked write
      (checked: `_countable`; else the pairwise form is kept). W >= 1, R >= 1, M >= 1 are written
      as `or`s (they stop at the first slot found).
    * `retried` (R2): pairwise, (w_1 and w_2) or (w_1 and r_2 and not E(2, 1)) or (r_1 and w_2 and
      not E(1, 2)), where E(j, i) - slot j reads under some sequence on whose write side slot i
      writes - is Q(j) & S(i) != {} for Q(j), the sequences slot j's read location is under, and
      S(i), those whose write side holds slot i's write location. So some pair races iff
      **W >= 2, or for some write class S: some slot at a write of class S and some slot at a read
      whose Q is disjoint from S** - the reader and the writer are two slots because no location of
      a slot both reads and writes (checked: `_countable`); per class one `or` over the writers'
      locations of that class and one over the readers' locations not excused by it.
    """
    if not _countable(slots, marked, retried is not None):
        return pairwise_race(slots, marked, retried)
    if len(slots) < 2 or not any(s.writes or s.marked for s in slots):
        return FALSE  # no pair (every slot of `_slots` has an access), or no store
    if retried is not None:
        return _retried_counts(slots, retried)
    writing = Or(*[s.at(s.writes) for s in slots])
    if not marked:
        return And(writing, _at_least(2, [t for s in slots if (t := s.at(s.reads | s.writes)) != FALSE]))
    both = _at_least(2, [t for s in slots if (t := s.at(s.reads | s.writes | s.marked)) != FALSE])
    return Or(And(writing, both), And(Or(*[s.at(s.reads) for s in slots]), Or(*[s.at(s.marked) for s in slots])))


def _retried_counts(slots: list[Slot], retried: Retried) -> Expr:
    """`race`'s R2 form: two slots writing, or a slot writing in the write sides of the sequences S
    and another reading under none of S."""
    classes: dict[frozenset[int], list[Expr]] = {}  # S -> per slot: at a write of class S
    for s, (_qs, ss) in zip(slots, retried, strict=True):
        by: dict[frozenset[int], set[int]] = {}
        for loc in sorted(s.writes):
            by.setdefault(frozenset(k for k, w in enumerate(ss) if loc in w), set()).add(loc)
        for cls, locs in by.items():
            classes.setdefault(cls, []).append(s.at(frozenset(locs)))
    unexcused = [And(Or(*writing), Or(*[s.at(frozenset(loc for loc in s.reads if not any(loc in qs[k] for k in cls)))
                                        for s, (qs, _ss) in zip(slots, retried, strict=True)]))
                 for cls, writing in sorted(classes.items(), key=lambda kv: sorted(kv[0]))]
    return Or(_at_least(2, [t for s in slots if (t := s.at(s.writes)) != FALSE]), *unexcused)


def _percpu_preds(name: str, copy: int) -> Callable[[int], Preds]:
    def preds(cpu: int) -> Preds:
        return ((lambda n: _simple(n, ("read",), name, copy, cpu)), (lambda n: _simple(n, ("write",), name, copy, cpu)),
                (lambda n: False))
    return preds


def _same_everywhere(preds: Preds) -> Callable[[int], Preds]:
    """Shared data: the same accesses from a context of any CPU."""
    def on(_cpu: int) -> Preds:
        return preds
    return on


def race_props(m: Model) -> None:
    """The module docstring's rule, one state property per object that can race."""
    for o in m.d.objects.values():
        if o.kind == "percpu":
            expr = Or(*[race(_slots(m, _percpu_preds(o.name, k)), False) for k in range(m.d.cpus)])
            what = " (one CPU's copy of per-CPU data: nested on its CPU, or read `on cpuK` from another)"
        elif o.kind == "data" and m.seq:
            expr = race(_slots(m, _same_everywhere(_accesses(m, o.name))), False, _retried(m, o.name))
            what = " (a read under a retry loop is not paired with a write on that sequence's write side, R2)"
        elif o.kind == "data" or (o.kind in ("counter", "flag") and _atomic_on(m, o.name)):
            expr = race(_slots(m, _same_everywhere(_accesses(m, o.name))), o.kind != "data")
            what = "" if o.kind == "data" else f" (a plain access of the {o.kind} alongside an atomic one)"
        elif o.kind == "seqcount":
            expr = race(_slots(m, _same_everywhere(_writers(m, o.name))), False)
            what = (" (two writers on its write side at once: the sequence itself races; seqcount_t does not "
                    "serialize its writers, R2)")
        else:
            continue  # a counter or flag no atomic touches: not shared data (section 8)
        if expr != FALSE:
            m.b.props.append(StateProp("no_data_race", Not(expr),
                                       f"data race on {o.name}: two contexts can access it at once, at least one "
                                       f"writing, with no common lock held{what}", o.line))
