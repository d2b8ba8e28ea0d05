"""`--workers N` (ircheck.parallel) gives the serial engine's results exactly.

The parallel engine keeps the serial BFS order (see its module docstring), so more than the
verdicts agree: state and transition counts, depth, every counterexample path, liveness lassos,
the first witness of every fact, and where `--max-states` stops. The tests force the workers to
start at the first level (`min_frontier=1`) so that even the small bundled models run in several
processes; generated models come from the engine-agreement generator.
"""

from __future__ import annotations

import multiprocessing as mp
import sys
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

import ircheck
from ircheck.api import compile_source
from ircheck.explicit import Explicit, Limits, SearchResult
from ircheck.parallel import ParallelExplicit
from ircheck.parallel_part import Part, choose_mask, fork_available, owner
from ircheck.spec.ts import TransitionSystem
from tests.conftest import MODELS, ROOT
from tests.support.generators import models as generated_models

sys.path.insert(0, str(ROOT / "bench"))
from gen_nested import nested_pic  # noqa: E402

pytestmark = pytest.mark.skipif(not fork_available(), reason="--workers needs the fork start method")


def _compiles(path: Path) -> bool:
    try:
        compile_source(path.read_text(), str(path))
    except ircheck.IrcheckError:
        return False
    return True


MODEL_FILES = [p for p in sorted(MODELS.glob("*.irq")) if _compiles(p)]


def summary(res: SearchResult) -> dict[str, object]:
    """Everything a search decides (not its timings)."""
    return {
        "counts": (res.states, res.transitions, res.depth),
        "end": (res.complete, res.stopped_by, res.bound_hit),
        "violations": {k: (v.check, v.message, v.path, v.last, v.cycle, v.line)
                       for k, v in res.violations.items()},
        "facts": {k: (v.path, v.last, v.line) for k, v in res.facts.items()},
    }


def assert_same(ts: TransitionSystem, limits: Limits | None = None, **kw: object) -> ParallelExplicit:
    serial = Explicit(ts, limits).run()
    eng = ParallelExplicit(ts, limits, **kw)  # type: ignore[arg-type]
    par = eng.run()
    assert summary(par) == summary(serial)
    assert not mp.active_children(), "workers left running"
    return eng


@pytest.mark.parametrize("path", MODEL_FILES, ids=[p.name for p in MODEL_FILES])
def test_bundled_model_same_as_serial(path: Path) -> None:
    eng = assert_same(compile_source(path.read_text(), str(path)), workers=2, min_frontier=1)
    assert eng.forked_at == 0


@pytest.mark.slow
@pytest.mark.parametrize("path", MODEL_FILES, ids=[p.name for p in MODEL_FILES])
@pytest.mark.parametrize("workers,partition,min_frontier", [(3, "hash", 1), (2, "auto", 12), (4, "auto", 30)])
def test_bundled_model_same_as_serial_variants(path: Path, workers: int, partition: str, min_frontier: int) -> None:
    assert_same(compile_source(path.read_text(), str(path)), workers=workers, partition=partition,
                min_frontier=min_frontier)


@pytest.mark.parametrize("path", MODEL_FILES, ids=[p.name for p in MODEL_FILES])
def test_bundled_model_report_matches_header(path: Path) -> None:
    """The API with workers=2 gives the same report as one process (traces included). workers=2
    searches unreduced (see test_reduction), so one process is asked for that too."""
    one = ircheck.check_file(path, reduction="none")
    two = ircheck.check_file(path, workers=2)
    assert [(c.name, c.status, c.message, c.trace, c.loop_start, c.note) for c in two.checks] == \
        [(c.name, c.status, c.message, c.trace, c.loop_start, c.note) for c in one.checks]
    assert (two.stats.states, two.stats.transitions, two.stats.depth) == \
        (one.stats.states, one.stats.transitions, one.stats.depth)


@pytest.mark.parametrize("max_states", [1, 2, 7, 30, 100, 1000, 5000])
@pytest.mark.parametrize("min_frontier", [1, 10])
def test_max_states_stops_where_serial_stops(max_states: int, min_frontier: int) -> None:
    ts = compile_source(nested_pic(4, 2))
    eng = assert_same(ts, Limits(max_states=max_states), workers=2, min_frontier=min_frontier)
    assert eng.forked_at is not None or max_states < 10


@pytest.mark.parametrize("name", ["x86_timer_storm_rotate.irq", "seed_nic_poll_ring.irq", "lang_lost_irq.irq",
                                  "sti_late_eoi_nesting.irq"])
@pytest.mark.parametrize("max_states", [3, 20, 60])
def test_max_states_on_models(name: str, max_states: int) -> None:
    path = MODELS / name
    assert_same(compile_source(path.read_text(), str(path)), Limits(max_states=max_states), workers=2, min_frontier=1)


def test_nested_pic_with_default_start_up() -> None:
    """A space large enough that the parent runs a prefix, chooses a partition, then forks."""
    ts = compile_source(nested_pic(4, 2))
    eng = assert_same(ts, workers=2, min_frontier=1000)
    assert eng.forked_at is not None and eng.forked_at > 0
    # 21,665 states (with the STI shadow, X1): the workers expand most of them, both a fair share
    assert sum(eng.loads) > 15000 and min(eng.loads) > 0.3 * sum(eng.loads)


def test_small_space_never_forks() -> None:
    path = MODELS / "nic_single_raise.irq"
    eng = assert_same(compile_source(path.read_text()), workers=2)
    assert eng.forked_at is None


def test_chosen_partition_keeps_steps_local_and_balanced() -> None:
    ts = compile_source(nested_pic(4, 2))
    serial = Explicit(ts)
    serial.run()
    prefix = Part.initial(serial, False, None, None)
    while len(prefix.frontier) < 1000:
        assert prefix.expand(frozenset(), frozenset(), False, True)[0]
    mask = choose_mask(serial, prefix, 2)
    assert mask != -1

    def crossing(m: int) -> float:
        moved = total = 0
        for s in list(serial.seen)[::7]:
            for _ti, t in serial.successors_with_ids(s):
                total += 1
                moved += owner(s, 2, m) != owner(t, 2, m)
        return moved / total
    shares = Counter(owner(s, 2, mask) for s in serial.seen)
    assert max(shares.values()) < 0.6 * len(serial.seen)
    assert crossing(mask) < 0.5 * crossing(-1)


def test_timeout_is_inconclusive() -> None:
    ts = compile_source(nested_pic(5, 2))
    eng = ParallelExplicit(ts, Limits(timeout=0.5), workers=2)
    res = eng.run()
    assert not res.complete and res.stopped_by == "--timeout 0.5s"
    assert res.seconds < 5
    assert not mp.active_children()
    report = ircheck.check_source(nested_pic(5, 2), timeout=0.5, workers=2)
    assert report.verdict == "inconclusive"


def test_memory_limit_is_inconclusive() -> None:
    ts = compile_source(nested_pic(4, 2))
    res = ParallelExplicit(ts, Limits(max_memory_mb=1), workers=2, min_frontier=1).run()
    assert not res.complete and res.stopped_by.startswith("memory limit")
    assert not mp.active_children()


def test_ctrl_c_stops_workers_and_keeps_violations() -> None:
    """KeyboardInterrupt in the parent (Ctrl-C) ends the workers; what was found keeps its trace."""
    text = (MODELS / "lang_lost_irq.irq").read_text().replace("raises 2", "raises 3")
    ts = compile_source(text)
    calls = []

    def progress(states: int, depth: int, secs: float) -> None:
        calls.append(depth)
        if depth >= 3:
            raise KeyboardInterrupt

    ts.checks.append("no_deadlock")  # keep searching after the violation
    eng = ParallelExplicit(ts, None, progress, workers=2, min_frontier=1)
    res = eng.run()
    assert res.stopped_by == "interrupted (Ctrl-C)" and not res.complete
    assert "no_lost_irq" in res.violations and len(res.violations["no_lost_irq"].path) == 2
    assert not mp.active_children()


def test_worker_failure_is_an_error_not_a_verdict(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(self: Part) -> None:
        raise ValueError("boom")
    monkeypatch.setattr(Part, "densify", broken)
    ts = compile_source(nested_pic(3, 1))
    with pytest.raises(RuntimeError, match="boom"):
        ParallelExplicit(ts, workers=2, min_frontier=1).run()
    assert not mp.active_children()


def test_one_worker_is_the_serial_engine() -> None:
    ts = compile_source((MODELS / "lang_lost_irq.irq").read_text())
    eng = ParallelExplicit(ts, workers=1)
    assert summary(eng.run()) == summary(Explicit(ts).run())
    assert eng.forked_at is None and eng.label == "explicit"


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(generated_models())
def test_generated_models_same_as_serial(text: str) -> None:
    assert_same(compile_source(text), Limits(max_states=20000), workers=2, min_frontier=1)


@pytest.mark.slow
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(generated_models())
def test_generated_models_same_as_serial_many(text: str) -> None:
    ts = compile_source(text)
    assert_same(ts, Limits(max_states=50000), workers=3, min_frontier=4)
    assert_same(ts, Limits(max_states=300), workers=2, min_frontier=1, partition="hash")


@pytest.mark.slow
def test_nested_pic_5_same_as_serial() -> None:
    eng = assert_same(compile_source(nested_pic(5, 2)), workers=2)
    assert sum(eng.loads) > 350000  # of 408,845 states (with the STI shadow, X1)


def test_cli_workers_prints_the_same_report(capsys: pytest.CaptureFixture[str]) -> None:
    from ircheck.cli import main
    paths = [str(MODELS / n) for n in ("lang_lost_irq.irq", "thread_cli_forever.irq", "x86_timer_storm_rotate.irq")]
    assert main(["--no-timings", *paths]) == 1
    one = capsys.readouterr().out
    assert main(["--no-timings", "--workers", "2", *paths]) == 1
    assert capsys.readouterr().out == one
    assert main(["--workers", "0", paths[0]]) == 2
    assert "argument --workers: expected a positive whole number, not '0'" in capsys.readouterr().err


def test_killed_worker_is_inconclusive(monkeypatch: pytest.MonkeyPatch) -> None:
    """A worker that vanishes (the out-of-memory killer's SIGKILL) stops the search: inconclusive."""
    import os
    import signal

    real = Part.densify

    def killed(self: Part) -> None:
        if self.me == 1 and self.level >= 3:
            os.kill(os.getpid(), signal.SIGKILL)
        real(self)
    monkeypatch.setattr(Part, "densify", killed)
    ts = compile_source(nested_pic(4, 2))
    res = ParallelExplicit(ts, Limits(timeout=60), workers=2, min_frontier=1).run()
    assert not res.complete and "killed" in res.stopped_by
    assert not mp.active_children()
