"""Running the `ircheck` command in tests: in-process (`run`, with capsys) or as a subprocess
(`ircheck`, `argv` for Popen); pytest itself as a subprocess (`pytest_run`, for the plugin)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from ircheck.cli import main
from tests.conftest import ROOT


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """`ircheck ARGS` in this process: (exit code, stdout, stderr)."""
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def argv(*args: str) -> list[str]:
    """The command line of `python -m ircheck ARGS` (for subprocess.Popen)."""
    return [sys.executable, "-m", "ircheck", *args]


def ircheck(*args: str, timeout: float = 120, text: bool = True, **kw: Any) -> subprocess.CompletedProcess[Any]:
    """`python -m ircheck ARGS` as a subprocess in the repository root, output captured; further
    keywords go to subprocess.run (env, stdin, ...)."""
    kw.setdefault("cwd", ROOT)
    return subprocess.run(argv(*args), capture_output=True, text=text, timeout=timeout, **kw)


def pytest_run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """`python -m pytest -q ARGS` as a subprocess (no testpaths, no cache), output captured."""
    return subprocess.run([sys.executable, "-m", "pytest", "-q",
                           "-o", "testpaths=", "-p", "no:cacheprovider", *args],
                          capture_output=True, text=True, cwd=cwd)
