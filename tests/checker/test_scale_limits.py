"""Issue 21 item 7, issue 23 item 3: --timeout and --max-memory act in the phases before the search
(the lowering, code generation), name the phase, and end with exit status 3, never a traceback or a
hang; issue 24 item 5: a successor function split into chunks explores the same graph."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ircheck import codegen
from ircheck.api import check_file, check_source
from tests.support.generators import apic_vectors as apic

MODELS = sorted(Path(__file__).resolve().parents[2].joinpath("models").glob("*.irq"))


def threads(n: int) -> str:
    return "flag f\n" + "".join(f"thread t{k} {{ set f }}\n" for k in range(n))




def _cli(args: list[str], limit: float) -> tuple[int, str, str, float]:
    t0 = time.perf_counter()
    p = subprocess.run([sys.executable, "-m", "ircheck", *args], capture_output=True, text=True, timeout=limit)
    return p.returncode, p.stdout, p.stderr, time.perf_counter() - t0


def test_timeout_during_code_generation() -> None:
    r = check_source(apic(60), timeout=1.5)
    assert r.stats is not None and r.stats.stopped_by in ("--timeout 1.5s during code generation",
                                                          "--timeout 1.5s during the lowering")
    # within 10%, plus what one compile() of a generated chunk takes: it cannot be interrupted (a loaded
    # machine measured 1.68 s)
    assert r.stats.seconds <= 1.5 * 1.1 + 0.25
    assert all(c.status == "inconclusive" for c in r.checks)


def test_memory_ceiling_before_the_search(tmp_path: Path) -> None:
    m = tmp_path / "apic100.irq"
    m.write_text(apic(100))
    rc, out, err, _wall = _cli(["--format", "json", "--max-memory", "250", str(m)], 120)
    assert rc == 3 and "Traceback" not in err
    doc = json.loads(out)
    assert doc["stats"]["stopped_by"].startswith("memory limit 250 MB during ")
    assert doc["stats"]["peak_mb"] <= 275


@pytest.mark.parametrize("path", [p for p in MODELS if p.name.startswith(("kernel_stats", "sti_late", "x86_nmi_unb"))],
                         ids=lambda p: p.name)
def test_chunked_successor_functions_same_graph(path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    whole = check_file(path, engine="explicit", reduction="none")
    monkeypatch.setattr(codegen, "CHUNK", 7)
    split = check_file(path, engine="explicit", reduction="none")
    assert whole.stats is not None and split.stats is not None
    assert (whole.stats.states, whole.stats.transitions) == (split.stats.states, split.stats.transitions)
    assert [(c.name, c.status) for c in whole.checks] == [(c.name, c.status) for c in split.checks]
