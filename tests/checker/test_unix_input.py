"""Reading the model like a careful Unix tool (issue 24.1): only regular files, a bounded read, never
blocking on a FIFO, a BOM accepted, every line ending counted, every error with a line and column."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import ircheck
from ircheck.cli import main
from ircheck.grammar.parser import MAX_SOURCE_BYTES
from tests.conftest import MODELS, ROOT
from tests.support import cli

LOST = MODELS / "lang_lost_irq.irq"
posix_only = pytest.mark.skipif(os.name != "posix", reason="FIFOs and /dev/zero")


@posix_only
def test_a_fifo_is_refused_at_once(tmp_path: Path) -> None:
    fifo = tmp_path / "m.irq"
    os.mkfifo(fifo)
    p = cli.ircheck("--timeout", "2", str(fifo), timeout=30)  # no writer: reading would block for ever
    assert p.returncode == 2
    assert f"{fifo}:1:1: error IRQ007: cannot read file: it is a FIFO (named pipe), not a regular file" in p.stderr
    assert "Traceback" not in p.stderr


@posix_only
def test_dev_zero_is_refused_without_reading_it() -> None:
    p = cli.ircheck("/dev/zero", timeout=30)
    assert p.returncode == 2
    assert "/dev/zero:1:1: error IRQ007" in p.stderr and "character device" in p.stderr
    assert "MemoryError" not in p.stderr and "Traceback" not in p.stderr


def test_a_directory_given_to_the_api_is_a_coded_error(tmp_path: Path) -> None:
    r = ircheck.check_file(tmp_path)
    assert r.exit_code == 2
    d = r.errors[0]
    assert (d.code, d.line, d.column) == ("IRQ007", 1, 1) and "a directory" in d.message


def test_a_huge_file_is_refused_before_it_is_read(tmp_path: Path) -> None:
    huge = tmp_path / "huge.irq"
    with huge.open("wb") as f:  # sparse: 512 MB that take no disk
        f.truncate(512 << 20)
    code = ("import ircheck\nfrom ircheck.sysinfo import peak_rss_mb\n"
            f"r = ircheck.check_file({str(huge)!r})\n"
            "print(r.errors[0].code, r.errors[0].line, r.errors[0].column, peak_rss_mb())\n")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert p.returncode == 0, p.stderr
    err, line, col, peak = p.stdout.split()
    assert (err, line, col) == ("IRQ005", "1", "1")
    assert float(peak) < 300  # it was 1.6 GB: read, then decoded, then measured


def test_the_read_is_bounded_whatever_the_size_says(tmp_path: Path) -> None:
    big = tmp_path / "big.irq"
    big.write_bytes(b"#" * (MAX_SOURCE_BYTES + 1))
    r = ircheck.check_file(big)
    assert [(d.code, d.line, d.column) for d in r.errors] == [("IRQ005", 1, 1)]


def _lost_with(tmp_path: Path, name: str, data: bytes) -> Path:
    p = tmp_path / name
    p.write_bytes(data)
    return p


def test_a_utf8_bom_is_accepted_and_columns_stay_right(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    p = _lost_with(tmp_path, "bom.irq", b"\xef\xbb\xbf" + LOST.read_bytes())
    r = ircheck.check_file(p)
    assert r.verdict == "violated" and not r.errors
    bad = b"\xef\xbb\xbfpic master : i8259 { base 0x21 }\n"
    plain = ircheck.check_source(bad[3:].decode(), "m.irq")
    r = ircheck.check_file(_lost_with(tmp_path, "bad.irq", bad))
    assert [(d.code, d.line, d.column) for d in r.errors] == [(d.code, d.line, d.column) for d in plain.errors]
    assert r.errors[0].line == 1 and r.errors[0].code != "IRQ001"
    assert ircheck.check_source("\ufeff" + LOST.read_text(), "m.irq").verdict == "violated"


@pytest.mark.parametrize("ending", [b"\r\n", b"\r"])
def test_every_line_ending_counts_lines(tmp_path: Path, ending: bytes) -> None:
    want = ircheck.check_file(LOST).to_json()
    p = _lost_with(tmp_path, "m.irq", LOST.read_bytes().replace(b"\n", ending))
    got = ircheck.check_file(p).to_json()
    assert got["checks"] == want["checks"]  # the same trace, with the same [line N] for every step
    bad = ending.join([b"pic master : i8259 { base 0x20 }", b"# a comment", b"device nic { irq master.9 edge }", b""])
    r = ircheck.check_file(_lost_with(tmp_path, "bad.irq", bad))
    assert [(d.code, d.line, d.column) for d in r.errors] == [("IRQ207", 3, 18)]
    assert "device nic { irq master.9 edge }" in r.errors[0].render(r.source)


def test_not_utf8_says_where(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    p = _lost_with(tmp_path, "latin1.irq", b"pic master : i8259 { base 0x20 }\r\n# caf\xe9 au lait\n")
    code = main([str(p)])
    err = capsys.readouterr().err
    assert code == 2
    assert f"{p}:2:6: error IRQ008: file is not UTF-8 text (byte 39: 0xe9)" in err
    assert "    # caf\ufffd au lait\n         ^" in err


def test_nested_too_deeply_says_where(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    deep = "pic master : i8259 { base 0x20 }\nhandler h { if " + "not " * 5000 + "x { nop } }\n"
    p = tmp_path / "deep.irq"
    p.write_text(deep)
    code = main([str(p)])
    err = capsys.readouterr().err
    assert code == 2
    m = re.search(rf"{re.escape(str(p))}:(\d+):(\d+): error IRQ006: model nested too deeply", err)
    assert m and m.group(1) == "2", err
    assert max(len(line) for line in err.splitlines()) < 200  # the long line is shown as a window


def test_json_of_an_unreadable_file_has_a_location(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--format", "json", str(tmp_path)]) == 2  # an empty directory: a usage error
    capsys.readouterr()
    code = main(["--format", "json", str(tmp_path / "missing.irq")])
    doc = json.loads(capsys.readouterr().out)
    assert code == 2 and doc["errors"][0]["code"] == "IRQ007" and "No such file" in doc["errors"][0]["message"]
