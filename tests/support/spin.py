"""SPIN on ircheck's Promela export: where spin and a C compiler are, and one run of `pan`."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

SPIN = shutil.which("spin")
GCC = shutil.which("gcc") or shutil.which("cc")
needs_spin = pytest.mark.skipif(not (SPIN and GCC), reason="spin (apt-get install spin) and gcc")


def spin_violates(promela: str, work: Path) -> bool:
    """SPIN finds an assertion violation in `promela` (exhaustive safety search, no reduction)."""
    assert SPIN and GCC
    (work / "m.pml").write_text(promela)
    subprocess.run([SPIN, "-a", "m.pml"], cwd=work, check=True, capture_output=True)
    subprocess.run([GCC, "-O1", "-DSAFETY", "-DNOREDUCE", "-o", "pan", "pan.c"], cwd=work, check=True,
                   capture_output=True)
    p = subprocess.run(["./pan", "-m100000"], cwd=work, capture_output=True, text=True, check=False)
    assert "error: max search depth too small" not in p.stdout
    return "errors: 0" not in p.stdout
