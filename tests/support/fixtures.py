"""Fixtures shared by several test modules (registered in tests/conftest.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def in_root(monkeypatch: pytest.MonkeyPatch) -> None:
    """Run the test in the repository root, so that `models/x.irq` reads as the user types it.
    A module uses it for every test with `pytestmark = pytest.mark.usefixtures("in_root")`."""
    monkeypatch.chdir(ROOT)
