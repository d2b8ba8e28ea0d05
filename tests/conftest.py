"""Shared test helpers: where the bundled models live and how their headers read; the shared fixtures
(tests/support/fixtures.py) and the --slow option."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from hypothesis import settings

from tests.support.fixtures import in_root  # noqa: F401  (the shared fixtures, for every test module)

# Generated models are drawn the same way on every run ("ci", the default), so that the suite's time and
# verdicts are reproducible and a CI failure can be replayed; `IRCHECK_HYPOTHESIS=explore` draws new ones.
settings.register_profile("ci", derandomize=True, database=None)
settings.register_profile("explore", derandomize=False)
settings.load_profile(os.environ.get("IRCHECK_HYPOTHESIS", "ci"))

ROOT = Path(__file__).resolve().parent.parent
MODELS = ROOT / "models"

_EXPECT = re.compile(r"^#\s*expect:\s*(.+)$", re.M)


def expectations(path: Path) -> dict[str, str]:
    """`# expect: no_lost_irq violated, no_starvation holds` -> {check: status}."""
    m = _EXPECT.search(path.read_text())
    if not m:
        raise AssertionError(f"{path.name} has no '# expect:' header")
    out = {}
    for part in m.group(1).split(","):
        name, status = part.split()
        out[name] = status
    return out


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--slow", action="store_true", default=False,
                     help="also run the tests marked slow (CI does: .ci/run); without it, and without -m, "
                          "they are skipped so that `python -m pytest -q` stays a few minutes")


# Modules whose assertions measure wall time, signals, the process's peak memory, or that start a local Ray
# or a fuzzer of their own: load from a neighbour would trip them. They carry the `serial` mark; CI runs the
# rest on two workers (pytest-xdist, `-n 2 -m "not serial"`), then these alone (`-m serial`): .ci/run.
SERIAL = frozenset({
    "test_limits", "test_phase_limits", "test_progress", "test_scale2_threads", "test_scale_limits",
    "test_scale_sharers", "test_unix_signals", "test_deep_inputs", "test_suggest", "test_fuzz", "test_ray",
    "test_auto_memory", "test_sysinfo",
})


@pytest.hookimpl(tryfirst=True)  # before `-m` selects by marks
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.stem in SERIAL:
            item.add_marker(pytest.mark.serial)
    if config.getoption("--slow") or "slow" in (config.getoption("-m") or ""):
        return
    skip = pytest.mark.skip(reason="slow: run with --slow (CI does)")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)
