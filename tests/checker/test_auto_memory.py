"""Issue 18 item 3: `--engine auto` lets explicit go as far as the memory allows (checker/engine_choice.py).

- the budget is the memory left under the ceiling over the measured bytes per stored state (not a
  fixed 5,000,000 states): it grows with the ceiling and shrinks with wider states (up to
  `collapse.PACKED_MAX` bytes: wider ones are kept collapsed, checker/collapse.py);
- `--max-memory` keeps its meaning: with a small one the run stops early and says inconclusive,
  naming the memory limit; with enough memory the same model is decided (a real verdict).
"""

from __future__ import annotations

import json
import subprocess
import sys

from ircheck.collapse import PACKED_MAX
from ircheck.engine_choice import (
    COLLAPSED_BYTES,
    EXPLICIT_SHARE,
    MIN_BUDGET,
    STATE_BYTES,
    memory_budget,
    state_bytes,
)
from tests.conftest import ROOT

sys.path.insert(0, str(ROOT / "bench"))
from gen_nested import nested_pic  # noqa: E402


def test_budget_follows_the_memory_left() -> None:
    # a 24 GiB machine's default ceiling (80%) leaves room for far more than the old 5 M states
    big = memory_budget(162, 0.8 * 24 * 1024, 50.0)
    assert big > 50_000_000
    assert big == int(f"{big:d}"[:2]) * 10 ** (len(str(big)) - 2)  # two significant digits
    # half the memory left: about half the states; the start-up's resident memory is not free
    half = memory_budget(162, 0.4 * 24 * 1024 + 25.0, 50.0)
    assert abs(half / big - 0.5) < 0.03
    exact = int(1024 * EXPLICIT_SHARE * 1048576 / state_bytes(162))
    unit = 10 ** (len(str(exact)) - 2)
    assert memory_budget(162, 1074.0, 50.0) == exact // unit * unit
    # wider states cost more up to PACKED_MAX bytes of their own (a 64-bit state: 8 bytes in the arena,
    # a 9-bit one 2, a 162-bit one 21); wider ones are kept collapsed: a 300-bit state costs
    # COLLAPSED_BYTES of its own, like a 232-bit one
    assert state_bytes(64) == state_bytes(9) + 6 and memory_budget(64, 1074.0, 50.0) < memory_budget(9, 1074.0, 50.0)
    assert state_bytes(162) == STATE_BYTES + 21
    assert state_bytes(8 * PACKED_MAX) == STATE_BYTES + PACKED_MAX
    assert state_bytes(300) == state_bytes(8 * PACKED_MAX + 1) == STATE_BYTES + COLLAPSED_BYTES
    # no memory left: the floor, and the memory ceiling itself stops the search
    assert memory_budget(100, 40.0, 60.0) == MIN_BUDGET


def _cli(*args: str) -> tuple[int, dict[str, object]]:
    p = subprocess.run([sys.executable, "-m", "ircheck", "--format", "json", "--no-timings", *args],
                       capture_output=True, text=True, timeout=300, check=False)
    doc: dict[str, object] = json.loads(p.stdout)
    return p.returncode, doc


def test_small_max_memory_stops_auto_early_and_names_the_memory_limit(tmp_path: object) -> None:
    """nested-PIC 6 needs 1,002,538 stored states (about 45 MB): under a 70 MB ceiling the budget is
    a few hundred thousand states, the search stops there, too little is left for Z3, and every check
    is inconclusive naming the memory limit (exit 3), never "holds". With 400 MB the same run holds."""
    from pathlib import Path
    model = Path(str(tmp_path)) / "nested6.irq"
    model.write_text(nested_pic(6, 2))
    code, doc = _cli("--max-memory", "70", str(model))
    assert code == 3 and doc["verdict"] == "inconclusive", doc
    checks = doc["checks"]
    assert isinstance(checks, list) and checks
    for c in checks:
        assert c["status"] == "inconclusive" and c["note"].startswith("search stopped (memory limit 70 MB) after"), c
    stats = doc["stats"]
    assert isinstance(stats, dict)
    assert stats["stopped_by"] == "memory limit 70 MB" and stats["engine"] == "explicit"
    assert 0 < stats["states"] < 1_002_538
    # usually the auto budget (290,000 states at 20 MB left) stops the search and `auto` says why; when
    # start-up took a few MB more, the ceiling itself stops the search first (engine_choice.run_auto
    # returns its stats as they are): the same limit, named the same way, and no `auto` line
    if "auto" in stats:
        assert "too little for the Z3 engine" in str(stats["auto"]), stats
    code, doc = _cli("--max-memory", "400", str(model))
    assert code == 0 and doc["verdict"] == "holds", doc
    stats = doc["stats"]
    assert isinstance(stats, dict) and stats["states"] == 1_002_538
