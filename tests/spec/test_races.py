"""no_data_race as counts of slots (spec/races.py `race`) against the pairwise rule (`pairwise_race`).

The counting form is what every engine evaluates per state; it must be the same predicate as the
rule written over pairs of slots: exhaustively on small abstract slot layouts (every location kind
per slot, plain and marked, with the fallback when a slot's sets overlap), and end to end on bundled
and generated models (the same verdicts, state counts and trace lengths, explicit with and without
reductions). The engine-agreement tests (explicit vs naive, Z3, SPIN) run on the counting form.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator
from pathlib import Path

import pytest

import ircheck
from ircheck.spec import races
from ircheck.spec.races import Slot, pairwise_race, race
from ircheck.spec.ts import FALSE, evaluate
from tests.support.generators import atomic_models, examples, kernel_models, seq_models, timer_models

ROOT = Path(__file__).resolve().parents[2]
NONE, READ, WRITE, MARKED = 0, 1, 2, 3  # pc values of the abstract slots (one location per kind)


def _layouts(n: int) -> Iterator[list[Slot]]:
    """Every layout of n slots (pc variables 0..n-1): each slot has or lacks each access kind."""
    for flags in itertools.product(itertools.product((False, True), repeat=3), repeat=n):
        if all(any(f) for f in flags):  # `_slots` keeps only slots with an access
            yield [Slot(i, frozenset({READ}) if r else frozenset(), frozenset({WRITE}) if w else frozenset(),
                        frozenset({MARKED}) if a else frozenset()) for i, (r, w, a) in enumerate(flags)]


def _same(slots: list[Slot], marked: bool) -> None:
    count, pairs = race(slots, marked), pairwise_race(slots, marked)
    assert (count == FALSE) == (pairs == FALSE), slots
    for state in itertools.product(range(4), repeat=len(slots)):
        assert evaluate(count, state) == evaluate(pairs, state), (slots, marked, state)


@pytest.mark.parametrize("marked", [False, True])
@pytest.mark.parametrize("n", [1, 2, 3])
def test_counting_is_the_pairwise_rule(n: int, marked: bool) -> None:
    """Every abstract layout of up to 3 slots, every state: the counting form and the pairwise form
    agree, and are FALSE (no property at all) on the same layouts."""
    for slots in _layouts(n):
        _same(slots, marked)


# R2: read locations 1-4 under no sequence / sequence 0 / 1 / both; write locations 5-8 on no write side / 0's /
# 1's / both
UNDER = (frozenset({2, 4}), frozenset({3, 4}))
INSIDE = (frozenset({6, 8}), frozenset({7, 8}))


def test_retried_counting_is_the_pairwise_rule() -> None:
    """R2, two sequences: 400 random layouts of 2-3 slots (fixed seed), every state: the counting
    form (W >= 2, or a writer of some class S and a reader not excused by S) and the pairwise form agree."""
    rnd = random.Random(18)
    for _ in range(400):
        slots: list[Slot] = []
        while len(slots) < rnd.choice((2, 3)):
            reads = frozenset(x for x in (1, 2, 3, 4) if rnd.random() < 0.3)
            writes = frozenset(x for x in (5, 6, 7, 8) if rnd.random() < 0.3)
            if reads or writes:
                slots.append(Slot(len(slots), reads, writes, frozenset()))
        retried = [(tuple(s.reads & q for q in UNDER), tuple(s.writes & w for w in INSIDE)) for s in slots]
        count, pairs = race(slots, False, retried), pairwise_race(slots, False, retried)
        for state in itertools.product(range(9), repeat=len(slots)):
            assert evaluate(count, state) == evaluate(pairs, state), (slots, state)


def test_counting_form_is_a_count() -> None:
    """A plain object of 4 slots: one `or` over the writes and one comparison of a sum, not pairs."""
    slots = [Slot(i, frozenset({READ}), frozenset({WRITE}), frozenset()) for i in range(4)]
    expr = race(slots, False)
    assert "'>='" in repr(expr) and "'+'" in repr(expr)
    assert len(repr(expr)) < len(repr(pairwise_race(slots, False))) / 2


def test_overlapping_read_and_marked_keeps_the_pairs() -> None:
    """A location both a plain read and a marked write of one slot would make "R >= 1 and M >= 1"
    count that slot as a pair of itself (slot 0 there, slot 1 idle: no race): the lowering keeps the
    pairwise form for such a layout."""
    slots = [Slot(0, frozenset({READ, MARKED}), frozenset(), frozenset({MARKED})),
             Slot(1, frozenset(), frozenset(), frozenset({MARKED}))]
    assert race(slots, True) == pairwise_race(slots, True)
    assert not evaluate(race(slots, True), (MARKED, NONE))
    assert evaluate(race(slots, True), (MARKED, MARKED))
    _same(slots, True)


def _outcome(text: str, reduction: str) -> list[tuple[str, str, int | None]] | tuple[int, ...]:
    report = ircheck.check_source(text, engine="explicit", reduction=reduction)
    assert not report.errors, [d.render() for d in report.errors]
    checks = [(c.name, c.status, len(c.trace) if c.trace else None) for c in report.checks]
    return [*checks, ("states", str(report.stats.states), report.stats.transitions)]


def _corpus() -> list[str]:
    """The bundled models with an object that can race, and generated ones of every family with races."""
    bundled = [t for p in sorted((ROOT / "models").glob("*.irq"))
               if any(w in (t := p.read_text()) for w in ("data ", "atomic_", "seqcount", "test_and_"))]
    return bundled + [*examples(kernel_models(), 12), *examples(atomic_models(), 12), *examples(seq_models(), 6),
                      *examples(timer_models(), 6)]


@pytest.mark.slow
def test_counting_and_pairwise_check_the_same(monkeypatch: pytest.MonkeyPatch) -> None:
    """Bundled and generated models lowered with each form: the same verdicts and trace lengths,
    unreduced and with every reduction, and the same state and transition counts unreduced. (A
    reduced count may differ: POR's visibility compares a property's folded text before and after a
    step (checker/por.py `changes`), so two equal forms can leave different steps out of its ample
    sets.)"""
    for text in _corpus():
        for reduction in ("none", "all"):
            counted = _outcome(text, reduction)
            with monkeypatch.context() as mp:
                mp.setattr(races, "race", pairwise_race)
                pairs = _outcome(text, reduction)
            if reduction != "none":
                counted, pairs = counted[:-1], pairs[:-1]
            assert counted == pairs, (text, reduction)


def test_counting_on_generated_models(monkeypatch: pytest.MonkeyPatch) -> None:
    """A few generated models with races (quick): both forms check the same."""
    for text in [*examples(kernel_models(), 4), *examples(atomic_models(), 4)]:
        counted = _outcome(text, "none")
        with monkeypatch.context() as mp:
            mp.setattr(races, "race", pairwise_race)
            assert _outcome(text, "none") == counted, text
