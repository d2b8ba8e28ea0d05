"""Shared test helpers: where the bundled models live and how their headers read."""

from __future__ import annotations

import re
from pathlib import Path

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
