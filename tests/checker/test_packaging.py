"""The three source folders ship as one package: every module on disk is in the wheel."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from tests.conftest import ROOT

FOLDERS = {"checker": "ircheck", "spec": "ircheck/spec", "grammar": "ircheck/grammar"}


@pytest.mark.slow
def test_wheel_contains_every_module(tmp_path: Path) -> None:
    p = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                        "-w", str(tmp_path), str(ROOT)], capture_output=True, text=True)
    if p.returncode != 0 and "No module named" in p.stderr:
        pytest.skip("setuptools/wheel not importable for a no-isolation build")
    assert p.returncode == 0, p.stderr
    wheel = next(tmp_path.glob("ircheck-*.whl"))
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {f"{pkg}/{f.relative_to(ROOT / folder).as_posix()}" for folder, pkg in FOLDERS.items()
                for f in (ROOT / folder).rglob("*") if f.suffix in (".py", ".lark")}  # subpackages too
    missing = expected - names
    assert not missing, f"missing from the wheel: {sorted(missing)}"
    assert any(n.endswith("entry_points.txt") for n in names)


def test_no_bare_imports_of_source_folders() -> None:
    for folder in FOLDERS:
        for f in (ROOT / folder).glob("*.py"):
            for line in f.read_text().splitlines():
                s = line.strip()
                for bare in FOLDERS:
                    assert not s.startswith((f"import {bare}", f"from {bare} ", f"from {bare}.")), f"{f}: {s}"


def test_package_layout_maps_to_folders() -> None:
    import ircheck
    import ircheck.grammar
    import ircheck.spec
    assert Path(ircheck.__file__).parent.name == "checker"
    assert Path(ircheck.spec.__file__).parent.name == "spec"
    assert Path(ircheck.grammar.__file__).parent.name == "grammar"
