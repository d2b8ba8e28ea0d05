"""`--compact` / `--store compact|hash` (ircheck.compact): a compact visited set, honest verdicts.

* the table: in-place growth keeps every key, load stays in [1/2, 3/4] (<= 16 bytes per state);
* agreement with the default engine on every bundled model and on generated models: same state and
  transition counts, same safety and deadlock counterexamples (the traces are rebuilt by an exact
  BFS, so they are the default engine's paths), same facts;
* verdicts: a hash-compacted search never says "holds" (inconclusive, with the omission bound in
  the note); checks judged on the whole state graph are inconclusive in both compact stores.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

import ircheck
from ircheck.api import compile_source
from ircheck.compact import CompactExplicit, CompactResult
from ircheck.compact_table import Table, next_prime, omission_bound
from ircheck.explicit import Explicit, Limits, SearchResult
from ircheck.spec.ts import TransitionSystem
from tests.conftest import MODELS, ROOT
from tests.support.generators import models as generated_models

sys.path.insert(0, str(ROOT / "bench"))
from gen_nested import nested_pic  # noqa: E402


def _compiles(path: Path) -> bool:
    try:
        compile_source(path.read_text(), str(path))
    except ircheck.IrcheckError:
        return False
    return True


MODEL_FILES = [p for p in sorted(MODELS.glob("*.irq")) if _compiles(p)]


# ---- the table ----------------------------------------------------------------------------------

def _lookup(tab: Table, key: int) -> bool:
    x = key + tab.epoch
    i = x % tab.cap
    step = 1 + (x >> 20) % (tab.cap - 1)
    while True:
        y = tab.words[i]
        if y == x:
            return True
        if not y:
            return False
        i = (i + step) % tab.cap


def _insert(tab: Table, key: int) -> None:
    x = key + tab.epoch
    i = x % tab.cap
    step = 1 + (x >> 20) % (tab.cap - 1)
    while tab.words[i]:
        assert tab.words[i] != x
        i = (i + step) % tab.cap
    tab.words[i] = x
    tab.count += 1


def test_table_grows_in_place_and_keeps_every_key() -> None:
    rng = random.Random(7)
    tab = Table(50)
    keys = rng.sample(range(1, 1 << 62), 20000)
    for n, k in enumerate(keys, 1):
        _insert(tab, k)
        if tab.count >= tab.grow_at:
            words = tab.words
            tab.grow()
            assert tab.words is words  # same array, extended
            assert all(_lookup(tab, q) for q in keys[:n])
            assert 0.5 - 0.01 <= tab.count / tab.cap <= 0.75
    assert all(_lookup(tab, k) for k in keys)
    known = set(keys)
    assert not any(_lookup(tab, k) for k in rng.sample(range(1, 1 << 62), 2000) if k not in known)
    assert 8 * tab.cap / tab.count <= 16.1  # bytes per stored state


def test_primes_and_bound() -> None:
    assert [next_prime(n) for n in (0, 3, 4, 14, 1 << 20)] == [3, 3, 5, 17, 1048583]
    assert omission_bound(1) == 0.0
    assert omission_bound(2) == 2.0 ** -61
    assert 1e-6 < omission_bound(4_424_425) < 1e-5
    assert omission_bound(1 << 40) == 1.0


# ---- agreement with the default engine ---------------------------------------------------------

def decided(res: SearchResult, ts: TransitionSystem) -> dict[str, object]:
    """What a compact search must share with the default one (the graph-judged checks aside: the
    liveness requests, and no_deadlock where per-context waits are judged on the whole graph)."""
    live = {r.check for r in ts.requests} | ({"no_deadlock"} if ts.waits else set())
    return {
        "counts": (res.states, res.transitions, res.depth),
        "end": (res.complete, res.stopped_by, res.bound_hit),
        "violations": {k: (v.message, v.path, v.last, v.line) for k, v in res.violations.items() if k not in live},
        "facts": sorted(res.facts),
    }


def assert_agrees(ts: TransitionSystem, store: str, limits: Limits | None = None) -> CompactResult:
    exact = Explicit(ts, limits).run()
    eng = CompactExplicit(ts, limits, store=store)
    res = eng.run()
    assert decided(res, ts) == decided(exact, ts)
    for fact, v in res.facts.items():  # the facts a check is judged on keep the default engine's witness
        if v.path:
            assert (v.path, v.last) == (exact.facts[fact].path, exact.facts[fact].last)
    return res


@pytest.mark.parametrize("store", ["compact", "hash"])
@pytest.mark.parametrize("path", MODEL_FILES, ids=[p.name for p in MODEL_FILES])
def test_bundled_model_agrees(path: Path, store: str) -> None:
    ts = compile_source(path.read_text(), str(path))
    res = assert_agrees(ts, store)
    live = ({r.check for r in ts.requests} | ({"no_deadlock"} if ts.waits else set())) & set(ts.checks)
    assert live - set(res.violations) <= set(res.unproved)
    if store == "hash":
        assert set(res.unproved) == set(ts.checks) - set(res.violations)


@pytest.mark.parametrize("max_states", [1, 5, 40, 1000])
@pytest.mark.parametrize("store", ["compact", "hash"])
def test_max_states_agrees(max_states: int, store: str) -> None:
    assert_agrees(compile_source(nested_pic(4, 2)), store, Limits(max_states=max_states))
    path = MODELS / "seed_nic_poll_ring.irq"
    assert_agrees(compile_source(path.read_text()), store, Limits(max_states=max_states))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(generated_models())
def test_generated_models_agree(text: str) -> None:
    assert_agrees(compile_source(text), "hash", Limits(max_states=20000))


@pytest.mark.slow
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(generated_models())
def test_generated_models_agree_many(text: str) -> None:
    ts = compile_source(text)
    assert_agrees(ts, "hash", Limits(max_states=50000))
    assert_agrees(ts, "compact", Limits(max_states=50000))


@pytest.mark.slow
def test_nested_pic_5_hash_compacted() -> None:
    ts = compile_source(nested_pic(5, 2))
    eng = CompactExplicit(ts, store="compact")  # 91-bit states: hash compaction
    res = eng.run()
    # 408,845 states since the STI shadow (X1: no interrupt between `sti` and the next instruction;
    # 770,825 before); the table is at least a third full (8-byte slots: at most 24 bytes a state)
    assert not eng.exact and res.states == 408845 and res.complete
    assert eng.table is not None and 8 * eng.table.cap / res.states <= 24
    assert 1e-8 < res.omission < 1e-6


# ---- verdicts -----------------------------------------------------------------------------------

def test_hash_compaction_never_says_holds() -> None:
    report = ircheck.check_file(MODELS / "nic_single_raise.irq", store="hash")
    assert report.verdict == "inconclusive" and report.exit_code == 3
    for c in report.checks:
        assert c.status == "inconclusive"
        assert "compact" in c.note
    note = report.check("no_lost_irq").note
    assert "hash-compacted search of 6 states" in note and "probability" in note and "at most" in note
    assert report.stats.engine == "explicit, hash-compacted (62-bit)"


def test_exact_store_decides_safety_and_deadlock_not_starvation() -> None:
    path = MODELS / "seed_nic_poll_ring.irq"
    ts = compile_source(path.read_text())
    assert CompactExplicit(ts, store="compact").exact
    one = ircheck.check_file(path)
    compact = ircheck.check_file(path, store="compact")
    assert compact.stats.engine == "explicit, compact store (exact)"
    for c, d in zip(compact.checks, one.checks, strict=True):
        if c.name == "no_starvation":
            assert c.status == "inconclusive" and "whole state graph" in c.note
        else:
            assert (c.name, c.status, c.trace) == (d.name, d.status, d.trace)


@pytest.mark.parametrize("name", ["lang_lost_irq.irq", "thread_cli_forever.irq", "x86_pf_triple_fault.irq",
                                  "shared_function_reentry.irq"])
def test_violations_have_the_default_traces(name: str) -> None:
    one = ircheck.check_file(MODELS / name)
    for store in ("compact", "hash"):
        rep = ircheck.check_file(MODELS / name, store=store)
        for c in rep.checks:
            if c.status == "violated":
                d = one.check(c.name)
                assert (d.status, d.message, d.trace) == ("violated", c.message, c.trace)


def test_trace_rebuild_that_stops_is_inconclusive(monkeypatch: pytest.MonkeyPatch) -> None:
    def stopped(self: CompactExplicit, targets: list[int]) -> None:
        self._rebuild_stop = "--timeout 1s"
    monkeypatch.setattr(CompactExplicit, "_rebuild", stopped)
    report = ircheck.check_file(MODELS / "lang_lost_irq.irq", store="compact")
    assert report.verdict == "inconclusive"
    assert "rebuilding counterexamples" in report.checks[0].note


def test_workers_and_compact_do_not_combine() -> None:
    r = ircheck.check_file(MODELS / "lang_lost_irq.irq", store="hash", workers=2)
    assert [d.code for d in r.errors] == ["IRQ902"] and "dict store" in r.errors[0].message


def test_cli_compact(capsys: pytest.CaptureFixture[str]) -> None:
    from ircheck.cli import main
    holds = str(MODELS / "nic_single_raise.irq")
    assert main([holds, "--compact"]) == 3  # 22-bit states: exact store, but no_starvation needs the graph
    out = capsys.readouterr().out
    assert "no_lost_irq          holds" in out and "whole state graph" in out
    assert main([holds, "--check", "no_lost_irq,eoi_balanced", "--compact"]) == 0
    capsys.readouterr()
    assert main([holds, "--check", "no_lost_irq", "--store", "hash"]) == 3
    assert "probability that it missed states is at most" in capsys.readouterr().out
    assert main([str(MODELS / "lang_lost_irq.irq"), "--store", "hash"]) == 1
    capsys.readouterr()
    assert main([holds, "--compact", "--workers", "2"]) == 2
    assert "one process" in capsys.readouterr().err
