"""SPIN, on ircheck's Promela export, agrees with ircheck on every bundled model and safety check."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

import ircheck
from ircheck.api import build
from ircheck.grammar.parser import parse_file
from ircheck.promela import SAFETY_EXPORTED, to_promela
from tests.conftest import MODELS

SPIN = shutil.which("spin")
GCC = shutil.which("gcc") or shutil.which("cc")
MODEL_FILES = sorted(MODELS.glob("*.irq"))

pytestmark = [pytest.mark.slow, pytest.mark.skipif(not (SPIN and GCC), reason="spin (apt-get install spin) and gcc")]


def spin_violates(promela: str, work: Path) -> bool:
    (work / "m.pml").write_text(promela)
    subprocess.run([SPIN, "-a", "m.pml"], cwd=work, check=True, capture_output=True)
    subprocess.run([GCC, "-O1", "-DSAFETY", "-DNOREDUCE", "-o", "pan", "pan.c"], cwd=work, check=True,
                   capture_output=True)
    p = subprocess.run(["./pan", "-m100000"], cwd=work, capture_output=True, text=True, check=False)
    assert "error: max search depth too small" not in p.stdout
    return "errors: 0" not in p.stdout


@pytest.mark.parametrize("path", MODEL_FILES, ids=[p.name for p in MODEL_FILES])
def test_spin_agrees(path: Path, tmp_path: Path) -> None:
    report = ircheck.check_file(path)
    assert not report.errors
    for c in report.checks:
        if c.name not in SAFETY_EXPORTED or c.status == "inconclusive":
            continue
        ts = build(parse_file(path), [c.name] if c.name != "counter_range" else [])
        assert spin_violates(to_promela(ts), tmp_path) == (c.status == "violated"), c.name
