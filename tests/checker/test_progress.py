"""Feedback on long runs: the progress line (a terminal only), --quiet, --verbose, Ctrl-C.

The progress line must never reach a file, a pipe or a CI log: the subprocess
tests run `ircheck` with stderr a pipe (nothing may appear) and with stderr a
pseudo-terminal (the line appears, and is erased before the report). Ctrl-C is
a real SIGINT sent to a real search of the nested-PIC benchmark model.
"""

from __future__ import annotations

import io
import json
import os
import re
import select
import signal
import subprocess
import time
from pathlib import Path

import pytest

import ircheck
from ircheck.cli import main
from ircheck.progress import Progress, elapsed, line, wanted
from tests.conftest import MODELS
from tests.support.cli import argv
from tests.support.generators import nested_pic_file

posix_only = pytest.mark.skipif(os.name != "posix", reason="needs a pseudo-terminal and SIGINT")


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def _env() -> dict[str, str]:
    env = dict(os.environ, TERM="xterm", COLUMNS="160", PYTHONUNBUFFERED="1")
    env.pop("NO_COLOR", None)
    return env


# ---- the pieces --------------------------------------------------------------------------------

def test_wanted_only_on_a_terminal() -> None:
    assert not wanted(io.StringIO())
    assert wanted(_Tty())
    assert not wanted(_Tty(), quiet=True)
    closed = io.StringIO()
    closed.close()
    assert not wanted(closed)


def test_line_words() -> None:
    assert elapsed(7.9) == "0:07" and elapsed(723) == "12:03" and elapsed(3723) == "1:02:03"
    s = line("m.irq", 1_234_567, 12, 5.0, 234.4, 6.2)
    assert s == "m.irq  1,234,567 states  depth 12  246,913 states/s  234 MB  0:06"
    assert "0 states/s" in line("m.irq", 0, 0, 0.0, 30, 0)


def test_progress_draws_and_erases() -> None:
    out = _Tty()
    p = Progress(out, force_terminal=True, min_interval=0.0)
    cb = p.start("m.irq")
    cb(4096, 3, 0.5)
    cb(8192, 4, 1.0)
    p.stop()
    p.stop()  # idempotent
    text = out.getvalue()
    assert p.updates == 2
    assert "m.irq  8,192 states  depth 4  8,192 states/s" in text and " MB  0:0" in text
    assert text.rstrip().endswith("\x1b[2K")  # the line is erased: the report starts on a clean line


def test_progress_is_throttled() -> None:
    p = Progress(_Tty(), force_terminal=True, min_interval=60.0)
    cb = p.start("m.irq")
    for k in range(100):
        cb(4096 * k, k, 0.01 * k)
    p.stop()
    assert p.updates <= 1
    cb(1, 1, 1.0)  # after stop: ignored, no error
    assert p.updates <= 1


# ---- --verbose and --no-timings (in process) -----------------------------------------------------

def test_verbose_prints_statistics_and_checks_to_stderr(capsys: pytest.CaptureFixture[str]) -> None:
    path = str(MODELS / "nic_single_raise.irq")
    report = ircheck.check_file(path)
    assert main(["--verbose", path]) == 0
    out, err = capsys.readouterr()
    assert "statistics" not in out  # stdout keeps only the report
    assert err.startswith(f"{path}: statistics\n")
    rows = dict(re.findall(r"^  (\S+(?: \S+)?)\s{2,}(.+)$", err, re.M))
    assert rows["engine"] == "explicit"
    assert rows["states"] == f"{report.stats.states:,}" and rows["transitions"] == f"{report.stats.transitions:,}"
    assert rows["depth"] == str(report.stats.depth)
    assert float(rows["seconds"]) >= 0 and float(rows["peak MB"]) > 0
    assert int(rows["states/s"].replace(",", "")) >= 0
    assert rows["complete"] == "yes"
    assert rows["checks run"] == ", ".join(c.name for c in report.checks)
    assert rows["checks run"] == "no_lost_irq, no_starvation, eoi_balanced"


def test_verbose_with_quiet_and_several_models(capsys: pytest.CaptureFixture[str]) -> None:
    a, b = str(MODELS / "nic_single_raise.irq"), str(MODELS / "lang_lost_irq.irq")
    assert main(["-q", "-v", "--check", "no_lost_irq", a, b]) == 1
    out, err = capsys.readouterr()
    assert out == f"{a}: holds\n{b}: violated\n"
    assert err.count(": statistics\n") == 2 and err.index(a) < err.index(b)
    assert err.count("checks run   no_lost_irq\n") == 2
    assert "stopped by   every check already violated" in err


def test_verbose_on_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    p = tmp_path / "bad.irq"
    p.write_text("pic p : i8259 {\n")
    assert main(["-v", str(p)]) == 2
    _, err = capsys.readouterr()
    assert "IRQ002" in err and "not checked  1 input error" in err


def test_verbose_stopped_search(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["-v", "--max-states", "5000", nested_pic_file(tmp_path, 5, 2)]) == 3
    _, err = capsys.readouterr()
    assert "complete     no" in err and "stopped by   --max-states 5000" in err
    assert "states       5,000" in err


def test_no_timings_text_and_verbose(capsys: pytest.CaptureFixture[str]) -> None:
    path = str(MODELS / "nic_single_raise.irq")
    assert main(["-v", "--no-timings", path]) == 0
    out, err = capsys.readouterr()
    assert "(explicit: 6 states, 5 transitions, depth 5)" in out
    assert " s," not in out and "MB" not in out and "states/s" not in out
    assert "seconds" not in err and "peak MB" not in err and "states/s" not in err
    assert "states       6" in err


def test_progress_not_shown_when_stderr_is_not_a_terminal(capsys: pytest.CaptureFixture[str],
                                                          tmp_path: Path) -> None:
    # capsys' stderr is not a terminal: the engine gets no callback at all
    assert main(["--max-states", "20000", nested_pic_file(tmp_path, 5, 2)]) == 3
    _, err = capsys.readouterr()
    assert err == ""


# ---- subprocesses: pipe vs terminal ----------------------------------------------------------------

def test_no_progress_output_on_a_pipe(tmp_path: Path) -> None:
    p = subprocess.run(argv("--max-states", "200000", nested_pic_file(tmp_path, 6, 2)), capture_output=True,
                       text=True, env=_env(), timeout=120)
    assert p.returncode == 3, p.stderr
    assert p.stderr == ""  # nothing at all on a non-terminal stderr: no progress, no escape codes
    assert "\x1b" not in p.stdout and "\r" not in p.stdout
    assert "INCONCLUSIVE" in p.stdout


def _read_pty(fd: int, proc: subprocess.Popen[bytes], until: bytes | None = None,
              limit: float = 120.0) -> bytes:
    """Read the terminal side until `until` shows up (or the process ends and the pty is drained)."""
    data = b""
    end = time.monotonic() + limit
    while time.monotonic() < end:
        r, _, _ = select.select([fd], [], [], 0.1)
        if r:
            try:
                chunk = os.read(fd, 65536)
            except OSError:  # the child closed the terminal
                break
            if not chunk:
                break
            data += chunk
            if until is not None and until in data:
                return data
        elif proc.poll() is not None and until is None:
            # drained: nothing more will come
            r, _, _ = select.select([fd], [], [], 0.2)
            if not r:
                break
    return data


def _spawn_on_pty(args: list[str]) -> tuple[subprocess.Popen[bytes], int]:
    import pty
    master, slave = pty.openpty()
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=slave, stdin=subprocess.DEVNULL, env=_env())
    os.close(slave)
    return proc, master


@posix_only
def test_progress_on_a_terminal_then_erased(tmp_path: Path) -> None:
    model = nested_pic_file(tmp_path, 6, 2)  # more states than the limit: nested-PIC 5 has 188,930 (POR)
    proc, master = _spawn_on_pty(argv("--max-states", "400000", model))
    try:
        out, _ = proc.communicate(timeout=120)
        err = _read_pty(master, proc)
    finally:
        os.close(master)
    assert proc.returncode == 3
    text = err.decode("utf-8", "replace")
    assert re.search(r"[\d,]+ states  depth \d+  [\d,]+ states/s  \d+ MB  \d+:\d\d", text), text[:400]
    assert text.rstrip().endswith("\x1b[2K")  # erased at the end
    report = out.decode()
    assert "\x1b" not in report and report.startswith(f"{model}: INCONCLUSIVE")


@posix_only
def test_quiet_shows_no_progress_on_a_terminal(tmp_path: Path) -> None:
    proc, master = _spawn_on_pty(argv("-q", "--max-states", "200000", nested_pic_file(tmp_path, 6, 2)))
    try:
        out, _ = proc.communicate(timeout=120)
        err = _read_pty(master, proc)
    finally:
        os.close(master)
    assert proc.returncode == 3
    assert err == b""
    assert out.decode().endswith(": inconclusive\n")


# ---- Ctrl-C ---------------------------------------------------------------------------------------------

@posix_only
def test_ctrl_c_stops_cleanly_with_statistics_and_exit_3(tmp_path: Path) -> None:
    """SIGINT once the search is under way (the progress line shows it): the report so far, exit 3."""
    big = nested_pic_file(tmp_path)  # 2.5 million states: about 10 s on the reference machine
    later = str(MODELS / "nic_single_raise.irq")
    proc, master = _spawn_on_pty(argv(big, later))
    try:
        seen = _read_pty(master, proc, until=b"states/s", limit=60)
        assert b"states/s" in seen, "no progress line before the search ended"
        assert proc.poll() is None
        t0 = time.monotonic()
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=60)
        stopped_in = time.monotonic() - t0
        err = _read_pty(master, proc).decode("utf-8", "replace")
    finally:
        if proc.poll() is None:
            proc.kill()
        os.close(master)
    report = out.decode()
    assert proc.returncode == 3, (report, err)
    assert stopped_in < 10
    assert "Traceback" not in report + err
    assert report.startswith(f"{big}: INCONCLUSIVE")
    assert "max_nesting          inconclusive  (search stopped (interrupted (Ctrl-C)) after" in report
    m = re.search(r"\(explicit: ([\d,]+) states, ([\d,]+) transitions, depth (\d+), .*; stopped: interrupted "
                  r"\(Ctrl-C\)\)", report)
    assert m, report
    states = int(m.group(1).replace(",", ""))
    assert 0 < states < 2_561_990
    assert later not in report  # the next model is not started after Ctrl-C
    assert f"ircheck: interrupted (Ctrl-C) while checking {big}" in err
    assert f"states       {states:,}" in err and "stopped by   interrupted (Ctrl-C)" in err
    assert f"ircheck: not checked: {later}" in err


@posix_only
def test_ctrl_c_json_is_still_a_whole_document(tmp_path: Path) -> None:
    big = nested_pic_file(tmp_path)
    proc = subprocess.Popen(argv("--format", "json", "--no-timings", big, str(MODELS / "lang_lost_irq.irq")),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=_env())
    try:
        time.sleep(2.5)  # well into the search (parsing and code generation take a fraction of that)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 3, err
    docs = json.loads(out)
    assert isinstance(docs, list) and len(docs) == 1  # two models asked for: a list, even when stopped early
    doc = docs[0]
    assert doc["verdict"] == "inconclusive" and doc["checks"][0]["status"] == "inconclusive"
    assert doc["stats"]["complete"] is False and doc["stats"]["stopped_by"] == "interrupted (Ctrl-C)"
    assert doc["stats"]["states"] > 0 and "seconds" not in doc["stats"]
    assert "ircheck: interrupted (Ctrl-C)" in err and "Traceback" not in err


def test_progress_stays_alive_when_auto_hands_over_to_z3() -> None:
    """Issue 19 item 8: the Z3 phase reports its BMC depth on the progress line (states -1), and a
    --timeout that stops it is the user's, not what was left of it after the explicit search."""
    from ircheck.api import compile_source
    from ircheck.engine_choice import run_auto
    from ircheck.progress import line
    from tests.conftest import MODELS

    assert line("m.irq", -1, 7, 3.0, 120.0, 65.0) == "m.irq  Z3: BMC depth 7  120 MB  1:05"
    calls: list[tuple[int, int, float]] = []
    ts = compile_source((MODELS / "lang_lost_irq.irq").read_text())
    out, stats = run_auto(ts, None, 60, None, progress=lambda s, d, t: calls.append((s, d, t)), budget=2)
    assert stats.engine == "smt"
    z3_calls = [c for c in calls if c[0] == -1]
    assert z3_calls and [d for _s, d, _t in z3_calls] == sorted(d for _s, d, _t in z3_calls)
    ts2 = compile_source((MODELS / "x86_sfnm_slave_nesting.irq").read_text())
    _out2, stats2 = run_auto(ts2, None, 3, None, budget=40)  # under its 49 states with POR (52 without)
    assert stats2.engine == "smt" and stats2.stopped_by.startswith("--timeout 3s during Z3"), stats2.stopped_by
