"""Houdini's auxiliary invariants (checker/smt_lemmas.py): true in every reachable state, and enough to
make k-induction prove what it could not prove alone.

Soundness is tested against the explicit engine's full reachable set, with the sampling starved (a
few breadth-first states, no walks) so that most guesses are false and Houdini itself must refute
them: a kept candidate that fails in some reachable state would be a wrong "holds" waiting to happen.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

import ircheck
from ircheck import smt_lemmas
from ircheck.api import compile_source
from ircheck.codegen import Packing, compile_ts
from ircheck.smt import SmtEngine
from ircheck.smt_budget import Budget
from ircheck.smt_encode import Encoding
from ircheck.smt_induction import Induction
from ircheck.smt_lemmas import Candidate, Houdini, atoms_of, candidates
from ircheck.spec.ts import TransitionSystem
from tests.conftest import ROOT

sys.path.insert(0, str(ROOT / "bench"))
from gen_smt import smt_family  # noqa: E402

SMALL_MODELS = ["lang_lost_irq", "thread_cli_forever", "x86_cascade_disk_both_eoi", "kernel_abba_two_cpus",
                "kernel_stats_tasklet_two_cpus", "kernel_softirq_spin_lock_bh"]


def reachable(ts: TransitionSystem) -> list[tuple[int, ...]]:
    """Every reachable state, by a plain BFS over the compiled successors (violations do not stop it)."""
    pk = Packing.of(ts)
    succ = compile_ts(ts, pk).succ
    init = pk.pack(ts.init())
    seen, todo = {init}, [init]
    while todo:
        out: list[int] = []
        succ(todo.pop(), out, [])
        for s in out:
            if s not in seen:
                seen.add(s)
                todo.append(s)
        assert len(seen) < 200_000, "too large for this test"
    return [pk.unpack(s) for s in seen]


def starved(monkeypatch: pytest.MonkeyPatch) -> None:
    """Sample almost nothing: Houdini starts from mostly false guesses."""
    monkeypatch.setattr(smt_lemmas, "BFS_SAMPLES", 3)
    monkeypatch.setattr(smt_lemmas, "WALK_SAMPLES", 0)


def kept_hold_everywhere(ts: TransitionSystem) -> tuple[int, int]:
    h = Houdini(Encoding(ts), Budget(None, None))
    lemmas = h.run(120.0)
    assert lemmas is not None
    states = reachable(ts)
    for c in lemmas.kept:
        bad = next((s for s in states if not c.true_in(s)), None)
        assert bad is None, f"Houdini kept {c} but a reachable state breaks it: {bad}"
    return len(h.cands or []), len(lemmas)


def test_atoms_and_candidates_from_samples() -> None:
    # x in 0..2: an atom a value; r a 7-bit register (too many values): an atom a bit and polarity
    atoms = atoms_of([1, 3, 128])
    assert atoms[:3] == [(1, "eq", 0), (1, "eq", 1), (1, "eq", 2)]
    assert atoms[3:] == [(2, kind, b) for b in range(7) for kind in ("bit1", "bit0")]
    got = {c.atoms for c in candidates([1, 3, 128], [(0, 0, 0), (0, 1, 3)])}
    assert ((1, "eq", 2),) in got                       # x = 2 never seen
    assert ((2, "bit1", 6),) in got                     # bit 6 of r never set
    assert ((1, "eq", 0), (2, "bit1", 0)) in got        # x = 0 only with bit 0 of r clear
    assert ((1, "eq", 1), (2, "bit0", 0)) in got
    assert ((1, "eq", 0), (1, "eq", 1)) not in got      # one variable: never together anyway
    assert ((1, "eq", 0), (2, "bit0", 0)) not in got    # seen together in (0, 0, 0)
    assert Candidate(((1, "eq", 0), (2, "bit1", 0))).true_in((0, 0, 2))
    assert not Candidate(((1, "eq", 0), (2, "bit1", 0))).true_in((0, 0, 1))


def test_starved_houdini_keeps_only_invariants_on_the_nesting_family(monkeypatch: pytest.MonkeyPatch) -> None:
    starved(monkeypatch)
    ts = compile_source(smt_family("safe", 3, 2), "safe.irq")
    cands, kept = kept_hold_everywhere(ts)
    assert kept < cands  # the starved guesses included false ones, and Houdini refuted them


@pytest.mark.parametrize("name", SMALL_MODELS)
def test_starved_houdini_keeps_only_invariants_on_bundled_models(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    starved(monkeypatch)
    ts = compile_source((ROOT / "models" / f"{name}.irq").read_text(), f"{name}.irq")
    kept_hold_everywhere(ts)


@pytest.mark.slow
@pytest.mark.parametrize("path", sorted((ROOT / "models").glob("*.irq")), ids=lambda p: p.stem)
def test_starved_houdini_keeps_only_invariants_on_every_model(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    starved(monkeypatch)
    kept_hold_everywhere(compile_source(path.read_text(), path.name))


def test_houdini_cut_off_resumes_to_the_same_invariants() -> None:
    ts = compile_source(smt_family("safe", 4, 2), "safe.irq")
    whole = Houdini(Encoding(ts), Budget(None, None)).run(120.0)
    assert whole is not None
    h = Houdini(Encoding(ts), Budget(None, None))
    assert h.run(0.0) is None  # no time to solve: nothing proved yet, the guesses are kept
    again = h.run(120.0)
    assert again is not None
    assert [c.atoms for c in again.kept] == [c.atoms for c in whole.kept]


def test_nesting_is_not_k_inductive_alone_but_is_with_the_invariants() -> None:
    ts = compile_source(smt_family("safe", 4, 2), "safe.irq")
    enc = Encoding(ts)
    budget = Budget(None, None)
    eng = SmtEngine(ts)
    eng.enc = enc
    eng.make_targets()
    target = next(t for t in eng.targets if t.key == "check:max_nesting")
    plain = Induction(enc, budget)
    assert not any(plain.step_holds(target, k, cap=30.0) for k in range(1, 5))
    lemmas = Houdini(enc, budget).run(120.0)
    assert lemmas is not None
    strong = Induction(enc, budget)
    strong.strengthen(lemmas)
    assert strong.step_holds(target, 1, cap=30.0)


def test_the_engine_reports_a_strengthened_proof() -> None:
    report = ircheck.check_source(smt_family("safe", 5, 2), engine="smt", timeout=60)
    (c,) = report.checks
    assert c.name == "max_nesting" and c.status == "holds", c.note
    assert c.note.startswith("proved by k-induction, k = 1 with ") and c.note.endswith(
        " auxiliary invariants (Houdini)"), c.note
    hou = report.stats.smt["houdini"]
    assert hou["invariants"] == int(c.note.split(" with ")[1].split()[0])
    assert hou["candidates"] >= hou["invariants"] > 0 and hou["samples"] > 1000
