"""The peak memory a search reports is its own, not that of the process that started it."""

from __future__ import annotations

import subprocess
import sys

import pytest

from ircheck.sysinfo import peak_rss_mb

_PARENT_THEN_EXEC = """
import os, sys
ballast = bytearray(300 << 20)          # touch 300 MB, so this process's peak is >= 300 MB
for i in range(0, len(ballast), 4096):
    ballast[i] = 1
os.execv(sys.executable, [sys.executable, "-c",
         "from ircheck.sysinfo import peak_rss_mb; print(peak_rss_mb())"])
"""


@pytest.mark.skipif(sys.platform != "linux", reason="ru_maxrss survives exec on Linux")
def test_peak_after_exec_is_not_the_parents() -> None:
    out = subprocess.run([sys.executable, "-c", _PARENT_THEN_EXEC], capture_output=True, text=True,
                         timeout=60, check=True).stdout
    assert 5 < float(out) < 150, out


def test_peak_grows_with_what_this_process_touches() -> None:
    before = peak_rss_mb()
    ballast = bytearray(64 << 20)
    for i in range(0, len(ballast), 4096):
        ballast[i] = 1
    assert peak_rss_mb() >= before + 60 or peak_rss_mb() >= 64
    del ballast
