"""The Ray engines (checker/ray_bfs.py, ray_swarm.py) against the one-process explicit engine.

One local Ray of 2 CPUs serves the whole test session (`local_ray`). The partitioned BFS must give
the explicit engine's verdicts, state and transition counts, BFS depth and trace lengths (the states
on a shortest trace may differ), on bundled models and on generated ones (tests/support/generators.py);
the swarm must find a known violation and must never say "holds". Without Ray the options are a
clear input error (exit status 2), never a traceback.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

import ircheck
from ircheck.api import compile_source, run_engine
from ircheck.cli import main
from ircheck.cluster import Cluster, from_options, ray_available
from ircheck.result import CheckResult, Report, Stats
from tests.conftest import MODELS
from tests.support.generators import examples, kernel_models, x86_models
from tests.support.generators import models as bare_models

ray = pytest.importorskip("ray")

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


def _compare_file(path: Path) -> None:
    one = ircheck.check_file(path, engine="explicit", reduction="none")
    two = ircheck.check_file(path, engine="explicit", workers=2, cluster=LOCAL)
    _same_as_explicit(one, two)


@pytest.mark.parametrize("name", QUICK)
def test_bundled_models_same_as_explicit(local_ray: None, name: str) -> None:
    _compare_file(MODELS / name)


@pytest.mark.slow
@pytest.mark.parametrize("path", sorted(MODELS.glob("*.irq")), ids=lambda p: p.name)
def test_every_bundled_model_same_as_explicit(local_ray: None, path: Path) -> None:
    _compare_file(path)


@pytest.mark.parametrize("text", examples(bare_models(), 4) + examples(kernel_models(), 3) + examples(x86_models(), 2))
def test_generated_models_same_as_explicit(local_ray: None, text: str) -> None:
    ts = compile_source(text)
    one = run_engine(ts, "explicit", reduction="none")
    two = run_engine(compile_source(text), "explicit", workers=2, cluster=LOCAL)
    assert _key(*two) == _key(*one)


@pytest.mark.slow
@pytest.mark.parametrize("text", examples(bare_models(), 25) + examples(kernel_models(), 15)
                         + examples(x86_models(), 10))
def test_more_generated_models_same_as_explicit(local_ray: None, text: str) -> None:
    one = run_engine(compile_source(text), "explicit", reduction="none")
    two = run_engine(compile_source(text), "explicit", workers=3, cluster=LOCAL)
    assert _key(*two) == _key(*one)


def test_limits_leave_checks_inconclusive(local_ray: None) -> None:
    r = ircheck.check_file(MODELS / "seed_nic_poll_ring.irq", max_states=20, workers=2, cluster=LOCAL)
    assert not r.stats.complete and "max-states" in r.stats.stopped_by
    assert all(c.status in ("inconclusive", "violated") for c in r.checks)


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
    assert from_options(None, 0, 4) is None and from_options("local", 0, 1) == Cluster("local")


@pytest.mark.parametrize("flags", [["--cluster", "local"], ["--swarm", "2"]])
def test_without_ray_a_clear_error(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
                                   flags: list[str]) -> None:
    monkeypatch.setattr("ircheck.cli.ray_available", lambda: False)
    assert main([str(MODELS / "lang_lost_irq.irq"), *flags]) == 2
    err = capsys.readouterr().err
    assert "ircheck[cluster]" in err and "Traceback" not in err


@pytest.mark.parametrize("flags", [["--store", "compact"], ["--engine", "smt"], ["--max-traces", "2"]])
def test_ray_runs_only_the_explicit_dict_engine(capsys: pytest.CaptureFixture[str], flags: list[str]) -> None:
    assert main([str(MODELS / "lang_lost_irq.irq"), "--cluster", "local", *flags]) == 2
    assert "Traceback" not in capsys.readouterr().err


def test_ray_is_available_here() -> None:
    assert ray_available()
