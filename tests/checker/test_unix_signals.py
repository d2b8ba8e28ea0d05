"""SIGTERM and SIGHUP end a run the way Ctrl-C does (issue 24.4): the statistics so far, one whole
document in the machine formats, exit 3 (or the verdict already found), no worker left running."""

from __future__ import annotations

import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import MODELS, ROOT
from tests.support.cli import argv
from tests.support.generators import nested_pic_file

pytestmark = pytest.mark.skipif(os.name != "posix" or not hasattr(signal, "SIGHUP"), reason="POSIX signals")

SIGNALS = [(signal.SIGTERM, "SIGTERM"), (signal.SIGHUP, "SIGHUP")]


def _start(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(argv(*args), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=ROOT, start_new_session=True)


def _stop_after(proc: subprocess.Popen[str], signum: int, wait: float = 2.0,
                group: bool = False) -> tuple[str, str]:
    try:
        time.sleep(wait)  # well into the search
        assert proc.poll() is None, proc.communicate()
        if group:
            os.killpg(proc.pid, signum)
        else:
            proc.send_signal(signum)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    return out, err


@pytest.mark.parametrize(("signum", "name"), SIGNALS)
def test_signal_ends_the_run_with_one_json_document(tmp_path: Path, signum: int, name: str) -> None:
    big = nested_pic_file(tmp_path, 6, 2, "big.irq")  # 2.5 million states: several seconds
    later = str(MODELS / "nic_single_raise.irq")
    proc = _start("--format", "json", "--no-timings", big, later)
    out, err = _stop_after(proc, signum)
    assert proc.returncode == 3, err
    docs = json.loads(out)
    assert isinstance(docs, list) and len(docs) == 1  # the next model is not started
    doc = docs[0]
    assert doc["verdict"] == "inconclusive" and doc["stats"]["complete"] is False
    assert doc["stats"]["stopped_by"] == f"interrupted ({name})" and doc["stats"]["states"] > 0
    assert f"search stopped (interrupted ({name}))" in doc["checks"][0]["note"]
    assert f"ircheck: interrupted ({name}) while checking {big}" in err
    assert f"ircheck: not checked: {later}" in err
    assert "Traceback" not in err


def test_sigterm_keeps_a_violation_already_found(tmp_path: Path) -> None:
    big = nested_pic_file(tmp_path, 6, 2, "big.irq")  # 2.5 million states: several seconds
    proc = _start("--format", "sarif", str(MODELS / "lang_lost_irq.irq"), big)
    out, err = _stop_after(proc, signal.SIGTERM)
    assert proc.returncode == 1, err  # the verdict already found wins over "interrupted"
    doc = json.loads(out)
    results = doc["runs"][0]["results"]
    assert [r["ruleId"] for r in results if r["level"] == "error"] == ["no_lost_irq"]
    assert all(r["level"] == "warning" for r in results if r["ruleId"] != "no_lost_irq")  # the interrupted ones
    assert "Traceback" not in err


def _cmdline(pid: str) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_text(errors="replace")
    except OSError:  # ended meanwhile
        return ""


def _descendants(pid: int) -> list[str]:
    out: list[str] = []
    try:
        kids = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:  # ended meanwhile
        return out
    for c in kids:
        out += [c, *_descendants(int(c))]
    return out


@pytest.mark.skipif(sys.platform != "linux", reason="/proc")
@pytest.mark.skipif(importlib.util.find_spec("ray") is None, reason="--workers N runs on Ray (ircheck[cluster])")
@pytest.mark.parametrize("group", [False, True])
def test_sigterm_stops_the_worker_processes(tmp_path: Path, group: bool) -> None:
    """SIGTERM to ircheck alone, or to its whole process group (as a CI runner or a shell does): the
    local Ray `--workers 2` started (its actors, raylet, GCS) ends with the run, which reports."""
    big = nested_pic_file(tmp_path, 6, 2, "big.irq")  # 2.5 million states: far longer than the test
    proc = _start("--workers", "2", "--format", "json", "--no-timings", big)
    deadline = time.monotonic() + 90  # Ray's start-up: 4-7 s idle, over 10 s on a loaded machine
    children: list[str] = []
    while time.monotonic() < deadline and proc.poll() is None:
        time.sleep(1)
        children = _descendants(proc.pid)
        if any("ray::Partition" in _cmdline(c) for c in children):
            break
    assert any("ray::Partition" in _cmdline(c) for c in children), "no Ray actor started"
    time.sleep(2)  # the actors searching
    children = _descendants(proc.pid)
    out, err = _stop_after(proc, signal.SIGTERM, wait=0, group=group)
    assert proc.returncode == 3, err
    # SIGTERM to the whole group reaches Ray's raylet too, which may write "(raylet) The autoscaler
    # failed ... Terminated with signal 15" to the stdout it inherited, before ircheck's report
    # (seen once in CI, 2026-12-06; not fixed: Ray's own processes write to the inherited descriptor)
    doc = json.loads(out if out.startswith("{") or not group else out[out.index("\n{") + 1:])
    assert doc["stats"]["stopped_by"] == "interrupted (SIGTERM)"
    assert "Traceback" not in err
    time.sleep(1)
    alive = [c for c in children if Path(f"/proc/{c}").exists() and " Z " not in Path(f"/proc/{c}/stat").read_text()]
    assert not alive, "Ray processes left running"
