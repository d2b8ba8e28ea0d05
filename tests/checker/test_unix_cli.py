"""The command line as a careful Unix tool: options, empty designs, discovery, internal errors,
closed pipes (issues 19, 21 and 24)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from ircheck import __version__
from ircheck.cli import SUBCOMMANDS
from tests.conftest import MODELS, ROOT
from tests.support.cli import argv, ircheck, run

LOST = str(MODELS / "lang_lost_irq.irq")  # violated: exit 1
FINE = str(MODELS / "nic_single_raise.irq")  # every check holds: exit 0
COUNTERS = str(MODELS / "seed_nic_ring_overflow.irq")  # counters change: counter_range is reported


# ---- options: anything that would silently mean "no limit" or "every check" is a usage error

@pytest.mark.parametrize(("args", "accepted"), [
    (["--timeout", "nan"], "positive finite number of seconds"),
    (["--timeout", "inf"], "positive finite number of seconds"),
    (["--timeout", "0"], "positive finite number of seconds"),
    (["--timeout", "-1"], "positive finite number of seconds"),
    (["--max-memory", "0"], "positive finite number of MB"),
    (["--max-memory", "nan"], "positive finite number of MB"),
    (["--max-memory", "inf"], "positive finite number of MB"),
    (["--max-memory", "-5"], "positive finite number of MB"),
    (["--max-states", "0"], "positive whole number"),
    (["--max-states", "-3"], "positive whole number"),
    (["--max-states", "1e3"], "positive whole number"),
    (["--workers", "0"], "positive whole number"),
    (["--workers", "-2"], "positive whole number"),
    (["--check", ""], "non-empty comma list of checks"),
    (["--check", "no_lost_irq,"], "non-empty comma list of checks"),
    (["--check", " , "], "non-empty comma list of checks"),
])
def test_bad_option_values_are_usage_errors(capsys: pytest.CaptureFixture[str], args: list[str],
                                            accepted: str) -> None:
    code, out, err = run(capsys, *args, LOST)
    assert code == 2, err
    assert out == ""
    assert "ircheck: error:" in err and accepted in err and "Traceback" not in err


def test_unknown_check_is_a_usage_error_naming_the_known_ones(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "--check", "no_lost_irqs", LOST)
    assert code == 2 and out == ""
    assert "unknown check 'no_lost_irqs'" in err and "did you mean 'no_lost_irq'?" in err
    assert "known checks: no_lost_irq" in err and "counter_range" in err


def test_counter_range_named_in_reports_is_selectable(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "--format", "json", COUNTERS)
    assert "counter_range" in [c["name"] for c in json.loads(out)["checks"]]
    code, out, err = run(capsys, "--format", "json", "--check", "counter_range", COUNTERS)
    assert code == 0, err
    assert [(c["name"], c["status"]) for c in json.loads(out)["checks"]] == [("counter_range", "holds")]
    code, out, err = run(capsys, "--format", "json", "--check", "counter_range,no_lost_irq", COUNTERS)
    assert [c["name"] for c in json.loads(out)["checks"]] == ["no_lost_irq", "counter_range"]


def test_counter_range_on_a_model_without_counters_warns(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "--check", "counter_range", LOST)
    assert code == 0
    assert out.startswith(f"{LOST}: no check ran")
    assert f"ircheck: warning: {LOST}: no check ran: --check counter_range selects none" in err
    code, out, err = run(capsys, "--strict", "--check", "counter_range", LOST)
    assert code == 2 and "IRQ010" in err


# ---- empty designs

@pytest.mark.parametrize("source", ["", "\n\n", "# expect: holds\n# just a comment\n", ";;\n  # x\n"])
def test_a_model_that_declares_nothing_warns_and_strict_refuses_it(tmp_path: Path, source: str,
                                                                   capsys: pytest.CaptureFixture[str]) -> None:
    m = tmp_path / "m.irq"
    m.write_text(source)
    code, out, err = run(capsys, str(m))
    assert code == 0
    assert f"ircheck: warning: {m}: the model declares nothing" in err
    code, out, err = run(capsys, "--strict", str(m))
    assert code == 2
    assert f"{m}:1:1: error IRQ010: the model declares nothing" in err and "(--strict)" in err
    code, out, err = run(capsys, "--strict", "--format", "json", str(m))
    assert code == 2 and json.loads(out)["verdict"] == "error"
    code, out, err = run(capsys, "--strict", FINE)  # a real model has nothing to warn about
    assert code == 0 and err == ""


def test_a_failed_redirect_fails_ci_under_strict(tmp_path: Path) -> None:
    """`ircheck fmt missing.irq > m.irq` leaves m.irq empty: --strict makes the gate fail."""
    m = tmp_path / "m.irq"
    with m.open("w") as f:
        p = subprocess.run(argv("fmt", str(tmp_path / "missing.irq")), stdout=f,
                           stderr=subprocess.PIPE, text=True, cwd=ROOT)
    assert p.returncode == 2 and m.read_text() == ""
    assert ircheck("--strict", str(m)).returncode == 2


# ---- discovery

def test_version() -> None:
    p = ircheck("--version")
    assert p.returncode == 0 and p.stdout.strip() == f"ircheck {__version__}"


def test_help_lists_every_subcommand_with_its_line(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--help")
    assert code == 0
    for name, what in SUBCOMMANDS.items():
        assert f"  {name:<8} {what}" in out
    assert "4  internal error" in out and "4 > 2 > 1 > 3 > 0" in out
    assert "--strict" in out and "--debug" in out and "--version" in out


@pytest.mark.parametrize("name", sorted(SUBCOMMANDS))
def test_every_subcommand_describes_itself(capsys: pytest.CaptureFixture[str], name: str) -> None:
    code, out, _ = run(capsys, name, "--help")
    assert code == 0
    assert out.startswith(f"usage: ircheck {name}")
    assert SUBCOMMANDS[name] in " ".join(out.split())


def test_a_directory_checks_every_model_in_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    d = tmp_path / "models"
    d.mkdir()
    (d / "b_lost.irq").write_text(Path(LOST).read_text())
    (d / "a_fine.irq").write_text(Path(FINE).read_text())
    (d / "notes.txt").write_text("not a model")
    (d / "sub").mkdir()
    (d / "sub" / "c.irq").write_text("garbage {")  # not recursive
    code, out, err = run(capsys, "-q", str(d))
    assert code == 1, err
    assert out.splitlines() == [f"{d / 'a_fine.irq'}: holds", f"{d / 'b_lost.irq'}: violated"]
    code, out, _ = run(capsys, "--format", "json", str(d / "sub"))  # one model: still a list (a directory)
    assert code == 2 and isinstance(json.loads(out), list)
    (d / "empty").mkdir()
    code, out, err = run(capsys, str(d / "empty"))
    assert code == 2 and "no *.irq model" in err and "Is a directory" not in err


# ---- internal errors: status 4, one line naming the model and engine, no traceback unless --debug

def _boom(*args: object, **kw: object) -> object:
    raise RuntimeError("injected failure")


def test_internal_error_is_status_4_with_one_line(monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    from ircheck.explicit import Explicit
    monkeypatch.setattr(Explicit, "run", _boom)
    code, out, err = run(capsys, "--engine", "explicit", "--reduction", "none", LOST)
    assert code == 4
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"ircheck: internal error while checking {LOST} (engine explicit): "
                               "RuntimeError: injected failure")
    assert "please report it with the model and this command at the project's issue tracker" in lines[0]
    assert "Traceback" not in err
    code, out, err = run(capsys, "--debug", "--engine", "explicit", "--reduction", "none", LOST)
    assert code == 4 and "Traceback (most recent call last)" in err and "injected failure" in err


def test_internal_error_wins_over_every_other_status(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    import ircheck.cli as cli
    real = cli.check_file

    def flaky(path: str, *a: object, **kw: object) -> object:
        if path.endswith("boom.irq"):
            raise KeyError("injected")
        return real(path, *a, **kw)  # type: ignore[arg-type]
    monkeypatch.setattr(cli, "check_file", flaky)
    bad = tmp_path / "bad.irq"
    bad.write_text("pic p : i8259 {\n")
    boom = tmp_path / "boom.irq"
    boom.write_text(Path(FINE).read_text())
    code, out, err = run(capsys, "--format", "json", LOST, str(bad), str(boom), FINE)
    assert code == 4
    docs = json.loads(out)  # still one whole document, naming every model
    assert [d["verdict"] for d in docs] == ["violated", "error", "error", "holds"]
    assert docs[2]["errors"][0]["code"] == "IRQ999"
    assert cli._worst([0, 1, 2, 3, 4]) == 4 and cli._worst([3, 1]) == 1 and cli._worst([3, 2, 1]) == 2
    assert cli._worst([3, 0]) == 3 and cli._worst([]) == 0


def test_internal_error_in_a_real_process(tmp_path: Path) -> None:
    code = ("import sys, ircheck.explicit as e\n"
            "def boom(*a, **k): raise ZeroDivisionError('injected')\n"
            "e.Explicit.run = boom\n"
            "from ircheck.cli import entry\n"
            f"sys.argv = ['ircheck', '--engine', 'explicit', '--reduction', 'none', {LOST!r}]\n"
            "entry()\n")
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert p.returncode == 4
    assert "Traceback" not in p.stderr and len(p.stderr.splitlines()) == 1
    assert "internal error" in p.stderr and "ZeroDivisionError: injected" in p.stderr


# ---- a reader that closes the pipe early does not change the verdict

@pytest.mark.parametrize("fmt", ["text", "json", "sarif", "junit", "itf"])
def test_closed_stdout_keeps_the_violated_status(fmt: str) -> None:
    p = subprocess.Popen(argv("--format", fmt, LOST), stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, cwd=ROOT)
    assert p.stdout is not None and p.stderr is not None
    p.stdout.close()  # `| head -0`: the reader is gone before anything is written
    err = p.stderr.read().decode()
    assert p.wait(timeout=120) == 1, err
    assert "Traceback" not in err and "Exception ignored" not in err and "BrokenPipe" not in err


def test_closed_stdout_after_the_first_line_keeps_the_status() -> None:
    sh = f"{sys.executable} -m ircheck {LOST} {LOST} {LOST} | head -1; echo \"status ${{PIPESTATUS[0]}}\""
    p = subprocess.run(["bash", "-c", sh], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert p.stdout.splitlines() == [f"{LOST}: VIOLATED", "status 1"], p.stderr
    assert "Traceback" not in p.stderr and "Exception ignored" not in p.stderr
