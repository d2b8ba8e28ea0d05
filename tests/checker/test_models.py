"""Every bundled model gives the verdict its `# expect:` header states."""

from __future__ import annotations

from pathlib import Path

import pytest

import ircheck
from ircheck.pytest_plugin import expected_error
from tests.conftest import MODELS, expectations

MODEL_FILES = sorted(MODELS.glob("*.irq")) + sorted(MODELS.glob("errors/*.irq"))  # errors/: refused designs


def test_there_are_enough_models() -> None:
    assert len(MODEL_FILES) >= 12


@pytest.mark.parametrize("path", MODEL_FILES, ids=[p.name for p in MODEL_FILES])
def test_model_matches_header(path: Path) -> None:
    report = ircheck.check_file(path)
    want_error = expected_error(path.read_text())
    if want_error is not None:  # a design the kernel would refuse (request_irq -EBUSY / -EINVAL)
        code, line, words = want_error
        assert [(d.code, d.line) for d in report.errors] == [(code, line)]
        assert words in report.errors[0].message
        return
    expected = expectations(path)
    assert not report.errors, [d.render() for d in report.errors]
    got = {c.name: c.status for c in report.checks}
    for name, status in expected.items():
        assert got.get(name) == status, f"{name}: expected {status}, got {got.get(name)}"
    # every check the model runs is stated in its header
    assert set(got) - {"counter_range"} <= set(expected), sorted(set(got) - set(expected))
    for c in report.checks:
        if c.status == "violated":
            assert c.trace, f"{c.name} violated without a trace"
