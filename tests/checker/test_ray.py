"""The Ray engines (checker/ray_bfs.py, ray_swarm.py) against the one-process explicit engine.

One local Ray of 2 CPUs serves the whole test session (`local_ray`). The partitioned BFS (`--workers
N`, `--cluster`) must give the unreduced explicit engine's verdicts, state and transition counts, BFS
depth and trace lengths (the states on a shortest trace may differ), on bundled models and on
generated ones of the bare-metal, kernel and x86 families (tests/support/generators.py) with 2 and 3
partitions, and every trace it gives must replay through the reference step function
(`ircheck.spec.step.successors`); the limits stop it cleanly ("inconclusive"), Ctrl-C keeps what it
found, a dead actor is a stop, not a crash. The swarm must find a known violation and must never
say "holds". Without Ray, `--workers N` and the Ray options are a clear input error (exit status 2),
never a traceback.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import ircheck
from ircheck.api import compile_source, run_engine
from ircheck.cli import main
from ircheck.cluster import Cluster, from_options, ray_available
from ircheck.limits import Limits
from ircheck.result import CheckResult, Report, Stats
from ircheck.spec.step import successors
from ircheck.spec.ts import TransitionSystem
from tests.conftest import MODELS
from tests.support.generators import examples, kernel_models, nested_pic_file, x86_models
from tests.support.generators import models as bare_models

ray = pytest.importorskip("ray")
from ircheck.ray_bfs import RayExplicit  # noqa: E402  (imports Ray: after the skip)

LOCAL = Cluster("local")
QUICK = ["lang_lost_irq.irq", "seed_nic_poll_ring.irq", "x86_timer_storm_rotate.irq", "sti_late_eoi_nesting.irq",
         "early_eoi_sti_nesting_depth2.irq", "kernel_irq_storm_level_no_ack.irq"]


@pytest.fixture(scope="session")
def local_ray() -> Iterator[None]:
    """A local Ray of 2 CPUs, started once per test session."""
    if not ray.is_initialized():
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield
    ray.shutdown()


def _key(checks: list[CheckResult], stats: Stats) -> tuple[object, ...]:
    return ([(c.name, c.status, len(c.trace), c.loop_start is not None) for c in checks],
            (stats.states, stats.transitions, stats.depth, stats.complete))


def _same_as_explicit(report_one: Report, report_ray: Report) -> None:
    assert not report_ray.errors
    assert _key(report_ray.checks, report_ray.stats) == _key(report_one.checks, report_one.stats)


def _replays(ts: TransitionSystem, checks: list[CheckResult]) -> None:
    """Every violated check's trace starts in the initial state and each step is one the reference
    step function (`ircheck.spec.step.successors`, not the generated code) takes."""
    names = [v.name for v in ts.vars]
    for c in checks:
        if c.status != "violated":
            continue
        states = [tuple(s[n] for n in names) for s in c.states]
        assert states and states[0] == ts.init(), c.name
        assert len(states) == len(c.trace) + 1, c.name
        for a, b in zip(states, states[1:], strict=False):
            assert b in {t for _ti, t in successors(ts, a)}, (c.name, "a step the reference semantics does not take")


def _compare_file(path: Path) -> None:
    one = ircheck.check_file(path, engine="explicit", reduction="none")
    two = ircheck.check_file(path, engine="explicit", workers=2, cluster=LOCAL)
    _same_as_explicit(one, two)
    _replays(compile_source(path.read_text(), str(path)), two.checks)


def _differential(text: str, partitions: int) -> None:
    """The Ray engine with `partitions` actors against the unreduced explicit search (see the docstring)."""
    one_checks, one = run_engine(compile_source(text), "explicit", reduction="none")
    ts = compile_source(text)
    two_checks, two = run_engine(ts, "explicit", workers=partitions)
    assert [(c.name, c.status) for c in two_checks] == [(c.name, c.status) for c in one_checks], text
    assert two.complete == one.complete, text
    if one.complete:
        assert (two.states, two.transitions, two.depth) == (one.states, one.transitions, one.depth), text
    assert [(c.name, len(c.trace), c.loop_start is not None) for c in two_checks if c.status == "violated"] == \
        [(c.name, len(c.trace), c.loop_start is not None) for c in one_checks if c.status == "violated"], text
    _replays(ts, two_checks)


# small, fixed-seed (tests/conftest.py: derandomized) models of the three families the issue names
FAMILIES = {"bare": (bare_models, 2, 12), "kernel": (kernel_models, 1, 8), "x86": (x86_models, 1, 6)}
QUICK_GENERATED = [pytest.param(t, id=f"{fam}-{i}") for fam, (strategy, n, _slow) in FAMILIES.items()
                   for i, t in enumerate(examples(strategy(), n))]
SLOW_GENERATED = [pytest.param(t, id=f"{fam}-{i}") for fam, (strategy, _n, n) in FAMILIES.items()
                  for i, t in enumerate(examples(strategy(), n))]


@pytest.mark.parametrize("name", QUICK)
def test_bundled_models_same_as_explicit(local_ray: None, name: str) -> None:
    _compare_file(MODELS / name)


@pytest.mark.slow
@pytest.mark.parametrize("path", sorted(MODELS.glob("*.irq")), ids=lambda p: p.name)
def test_every_bundled_model_same_as_explicit(local_ray: None, path: Path) -> None:
    _compare_file(path)


@pytest.mark.parametrize("partitions", [2, 3])
@pytest.mark.parametrize("text", QUICK_GENERATED)
def test_generated_models_same_as_explicit(local_ray: None, text: str, partitions: int) -> None:
    _differential(text, partitions)


@pytest.mark.slow
@pytest.mark.parametrize("partitions", [2, 3])
@pytest.mark.parametrize("text", SLOW_GENERATED)
def test_more_generated_models_same_as_explicit(local_ray: None, text: str, partitions: int) -> None:
    _differential(text, partitions)


def test_limits_leave_checks_inconclusive(local_ray: None) -> None:
    r = ircheck.check_file(MODELS / "seed_nic_poll_ring.irq", max_states=20, workers=2)
    assert not r.stats.complete and r.stats.stopped_by == "--max-states 20"
    assert all(c.status in ("inconclusive", "violated") for c in r.checks)
    assert r.stats.states >= 20  # the level that reaches the limit is finished


def test_timeout_is_inconclusive(local_ray: None, tmp_path: Path) -> None:
    big = nested_pic_file(tmp_path, 6, 2)  # 2.5 million states
    r = ircheck.check_file(big, timeout=2, workers=2)
    assert not r.stats.complete and r.stats.stopped_by == "--timeout 2s" and r.verdict == "inconclusive"
    assert r.stats.seconds < 20


def test_memory_limit_is_inconclusive(local_ray: None) -> None:
    res = RayExplicit(compile_source((MODELS / "seed_nic_poll_ring.irq").read_text()), Limits(max_memory_mb=1),
                      partitions=2).run()
    assert not res.complete and res.stopped_by.startswith("memory limit")


def test_progress_and_ctrl_c_keep_the_violations_found(local_ray: None) -> None:
    """A progress line per level; KeyboardInterrupt in the driver (Ctrl-C, SIGTERM) stops the actors,
    and what was found keeps its trace."""
    ts = compile_source((MODELS / "lang_lost_irq.irq").read_text().replace("raises 2", "raises 3"))
    ts.checks.append("no_deadlock")  # keep searching after the violation
    calls: list[tuple[int, int]] = []

    def progress(states: int, depth: int, secs: float) -> None:
        calls.append((states, depth))
        if depth >= 3:
            raise KeyboardInterrupt
    res = RayExplicit(ts, None, progress, partitions=2).run()
    assert res.stopped_by == "interrupted (Ctrl-C)" and not res.complete
    assert [d for _s, d in calls] == [1, 2, 3] and calls[0][0] < calls[-1][0]
    assert "no_lost_irq" in res.violations and len(res.violations["no_lost_irq"].path) == 2


def test_a_dead_actor_is_a_stop_not_a_crash(local_ray: None) -> None:
    """An actor that dies (the out-of-memory killer) stops the search: inconclusive."""
    ts = compile_source((MODELS / "seed_nic_poll_ring.irq").read_text())
    eng: RayExplicit

    def progress(states: int, depth: int, secs: float) -> None:
        if depth == 2:
            ray.kill(eng._actors[1])
    eng = RayExplicit(ts, None, progress, partitions=2)
    res = eng.run()
    assert not res.complete and res.stopped_by.startswith("a Ray actor died")


def test_workers_search_unreduced_and_say_so(local_ray: None) -> None:
    _out, stats = run_engine(compile_source((MODELS / "seed_nic_poll_ring.irq").read_text()), "explicit",
                             workers=2, reduction="all")
    assert stats.reductions == () and "--workers" in stats.reduction_note


def test_cli_workers_gives_the_same_verdicts(local_ray: None, capsys: pytest.CaptureFixture[str]) -> None:
    paths = [str(MODELS / n) for n in ("lang_lost_irq.irq", "thread_cli_forever.irq", "x86_timer_storm_rotate.irq")]
    assert main(["--no-timings", "--reduction", "none", *paths]) == 1
    one = capsys.readouterr().out
    assert main(["--no-timings", "--workers", "2", *paths]) == 1
    two = capsys.readouterr().out

    def verdicts(out: str) -> list[str]:
        return [ln for ln in out.splitlines() if ln.startswith(("models/", "/")) or "steps:" in ln
                or ln.strip().startswith("(explicit:")]
    assert verdicts(two) == verdicts(one) and verdicts(one)
    assert main(["--workers", "0", paths[0]]) == 2
    assert "argument --workers: expected a positive whole number, not '0'" in capsys.readouterr().err


def test_swarm_finds_a_known_violation(local_ray: None) -> None:
    r = ircheck.check_file(MODELS / "lang_lost_irq.irq", workers=2, cluster=Cluster("local", swarm=4))
    by = {c.name: c for c in r.checks}
    assert by["no_lost_irq"].status == "violated" and by["no_lost_irq"].trace
    assert r.stats.engine == "swarm" and not r.stats.complete


def test_swarm_never_says_holds(local_ray: None) -> None:
    r = ircheck.check_file(MODELS / "seed_nic_poll_ring.irq", workers=2, cluster=Cluster("local", swarm=3))
    assert r.checks and all(c.status == "inconclusive" for c in r.checks)
    assert all("--swarm 3" in c.note for c in r.checks)


def test_ray_address_selects_ray(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RAY_ADDRESS", "10.0.0.1:6379")
    assert from_options(None, 0, 2) == Cluster("10.0.0.1:6379")
    assert from_options(None, 0, 1) is None
    monkeypatch.delenv("RAY_ADDRESS")
    assert from_options(None, 0, 4) == Cluster(None) and Cluster(None).local  # --workers N: a local Ray
    assert from_options(None, 0, 1) is None and from_options("local", 0, 1) == Cluster("local")


@pytest.mark.parametrize("flags", [["--cluster", "local"], ["--swarm", "2"], ["--workers", "2"]])
def test_without_ray_a_clear_error(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
                                   flags: list[str]) -> None:
    monkeypatch.setattr("ircheck.cli.ray_available", lambda: False)
    assert main([str(MODELS / "lang_lost_irq.irq"), *flags]) == 2
    err = capsys.readouterr().err
    assert "pip install 'ircheck[cluster]'" in err and "Traceback" not in err


def test_without_ray_the_api_reports_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("ircheck.cluster.ray_available", lambda: False)
    r = ircheck.check_file(MODELS / "lang_lost_irq.irq", workers=2)
    assert [d.code for d in r.errors] == ["IRQ902"] and "ircheck[cluster]" in (r.errors[0].hint or "")


@pytest.mark.parametrize("flags", [["--store", "compact"], ["--engine", "smt"], ["--max-traces", "2"]])
def test_ray_runs_only_the_explicit_dict_engine(capsys: pytest.CaptureFixture[str], flags: list[str]) -> None:
    assert main([str(MODELS / "lang_lost_irq.irq"), "--cluster", "local", *flags]) == 2
    assert "Traceback" not in capsys.readouterr().err


def test_ray_is_available_here() -> None:
    assert ray_available()
