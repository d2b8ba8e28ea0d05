"""A model path with a newline, quotes, `<` or `-->` in it cannot break or forge output (issue 24.6):
quoted or escaped in every format."""

from __future__ import annotations

import json
import os
import re
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path
from urllib.parse import unquote

import pytest

from ircheck.grammar.diagnostics import shown_path
from tests.conftest import MODELS
from tests.support.cli import run

pytestmark = pytest.mark.skipif(os.name != "posix", reason="a newline in a file name")

NASTY = 'a\nb "q" <x> -->; #1 %% \t.irq'


@pytest.fixture
def paths(tmp_path: Path) -> tuple[str, str]:
    """The violated lang_lost_irq model under a plain and under a nasty name."""
    plain, nasty = tmp_path / "plain.irq", tmp_path / NASTY
    shutil.copy(MODELS / "lang_lost_irq.irq", plain)
    shutil.copy(MODELS / "lang_lost_irq.irq", nasty)
    return str(plain), str(nasty)


def test_shown_path() -> None:
    assert shown_path("models/a b.irq") == "models/a b.irq"
    assert shown_path("a\nb") == '"a\\nb"'
    assert shown_path('a\t"b"\\\x1b\u2028') == '"a\\t\\"b\\"\\\\\\u001b\\u2028"'


def test_text_keeps_one_line_per_fact(paths: tuple[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    plain, nasty = paths
    _, want, _ = run(capsys, "--no-timings", plain)
    code, got, _ = run(capsys, "--no-timings", nasty)
    assert code == 1
    assert got.count("\n") == want.count("\n")
    assert got.splitlines()[0] == f"{shown_path(nasty)}: VIOLATED"
    code, got, _ = run(capsys, "-q", nasty, plain)
    assert got.splitlines() == [f"{shown_path(nasty)}: violated", f"{plain}: violated"]


def test_diagnostics_quote_the_path(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / NASTY
    bad.write_text("pic p : i8259 {\n")
    code, _, err = run(capsys, str(bad))
    assert code == 2
    assert err.splitlines()[0].startswith(f"{shown_path(str(bad))}:1:16: error IRQ002")


def test_machine_formats_carry_the_exact_path(paths: tuple[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    _, nasty = paths
    code, out, _ = run(capsys, "--format", "json", nasty)
    assert code == 1 and json.loads(out)["model"] == nasty
    code, out, _ = run(capsys, "--format", "itf", nasty)
    assert code == 1 and json.loads(out)["#meta"]["source"] == nasty
    code, out, _ = run(capsys, "--format", "sarif", nasty)
    uri = json.loads(out)["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert code == 1 and "\n" not in uri and unquote(uri).endswith(nasty)
    code, out, _ = run(capsys, "--format", "junit", nasty)
    suite = ET.fromstring(out).find("testsuite")
    assert code == 1 and suite is not None
    assert suite.get("name") == nasty.replace("\t", "\t")  # attribute escaping keeps \n and \t


@pytest.mark.parametrize("kind", ["--mermaid", "--dot"])
def test_trace_pictures_escape_the_path(paths: tuple[str, str], capsys: pytest.CaptureFixture[str],
                                        kind: str) -> None:
    plain, nasty = paths
    _, want, _ = run(capsys, "trace", kind, plain)
    code, got, _ = run(capsys, "trace", kind, nasty)
    assert code == 1
    assert got.count("\n") == want.count("\n")  # the path did not add a line
    if kind == "--mermaid":
        title = got.splitlines()[1]
        assert title.startswith("    title ") and title.endswith(" - no_lost_irq: violated")
        bare = re.sub(r"#\w+;", "", title)  # Mermaid entity codes (#quot; #lt; ...) stand for the characters
        for raw in ('"', "<", ">", ";", "#", "\t"):
            assert raw not in bare, raw
    else:
        label = got.splitlines()[2]
        assert label.startswith('  label="') and label.endswith('"; labelloc=t;')
        inner = label[len('  label="'):-len('"; labelloc=t;')]
        assert '"' not in inner.replace('\\"', "")  # every quote inside is escaped


@pytest.mark.parametrize("kind", ["--mermaid", "--dot", None])
def test_graph_escapes_the_path(paths: tuple[str, str], capsys: pytest.CaptureFixture[str],
                                kind: str | None) -> None:
    plain, nasty = paths
    args = ["graph", "--contexts"] + ([kind] if kind else [])
    _, want, _ = run(capsys, *args, plain)
    code, got, _ = run(capsys, *args, nasty)
    assert code == 0
    assert got.count("\n") == want.count("\n")
