"""The command-line contract: exit codes, error format, JSON, limits."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from ircheck.cli import main
from tests.conftest import MODELS, ROOT
from tests.support.cli import ircheck, run

sys.path.insert(0, str(ROOT / "bench"))
from gen_nested import nested_pic  # noqa: E402


def write(tmp_path: Path, text: str, name: str = "m.irq") -> str:
    p = tmp_path / name
    p.write_text(text)
    return str(p)


def test_holds_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, str(MODELS / "nic_single_raise.irq"))
    assert code == 0
    assert "all checks hold" in out
    assert "no_lost_irq          holds" in out


def test_violated_exits_1_with_shortest_trace(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, str(MODELS / "lang_lost_irq.irq"))
    assert code == 1
    assert "counterexample, 2 steps" in out
    assert "<- violation" in out
    assert "the request is lost" in out


def test_syntax_error_exits_2_with_location_and_caret(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = write(tmp_path, "pic master : i8259 { base 0x20 }\nhandler h { eoi;\n  spin_lok x }\n")
    code, out, err = run(capsys, path)
    assert code == 2
    assert f"{path}:3:3: error IRQ003" in err
    assert "did you mean 'spin_lock'?" in err
    assert "  spin_lok x" in err and "^" in err
    assert "Traceback" not in err + out


def test_unknown_name_suggests(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = ("pic master : i8259 { base 0x20 }\ndevice nic { irq master.3 edge }\n"
           "idt { 0x23 -> nic_isr interrupt_gate dpl 0 }\nflag rx_ready\n"
           "handler nic_isr { set rx_redy; eoi }\n")
    code, _, err = run(capsys, write(tmp_path, src))
    assert code == 2
    assert ":5:23: error IRQ102: unknown flag 'rx_redy'" in err
    assert "did you mean 'rx_ready'?" in err


def test_several_semantic_errors_reported_together(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = ("pic master : i8259 { base 0x21 }\ndevice nic { irq master.9 edge }\n"
           "device kbd { irq slave.1 edge }\nhandler h { call nowhere }\n")
    code, _, err = run(capsys, write(tmp_path, src))
    assert code == 2
    for c in ("IRQ202", "IRQ207", "IRQ102"):
        assert c in err
    assert err.count("error IRQ") >= 4


def test_missing_gate_is_a_run_time_np_not_an_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """X10: the 8259A's INTA happens; the CPU then faults with #NP (then #DF, then a triple fault)."""
    src = "pic master : i8259 { base 0x20 }\ndevice nic { irq master.3 edge }\ncheck no_gp\n"
    code, out, err = run(capsys, write(tmp_path, src))
    assert code == 1 and err == "" and "vector 0x23 has no gate: #NP (vector 11)" in out


def test_unmodelled_features_are_refused_not_ignored(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = ("apic lapic { tpr 0 }\ndevice d { irq vector 0x51 level }\n"
            "idt { 0x51 -> h interrupt_gate dpl 0 }\nhandler h { eoi }\n")
    code, _, err = run(capsys, write(tmp_path, text))
    assert code == 2
    assert "IRQ901" in err and "not supported yet" in err


@pytest.mark.parametrize(("text", "code_", "words"), [
    ("request_irq 3 h\nrequest_irq 3 g\nhandler h { nop }\nhandler g { nop }", "IRQ501", "-EBUSY"),
    ("device a { irq master.3 edge shared }\nrequest_irq 3 h shared\nhandler h { nop }", "IRQ502", "dev_id"),
    ("request_irq 3 NULL thread t\nirq_thread t { nop }", "IRQ503", "IRQF_ONESHOT"),
    ("handler h { disable_irq 4 }\nrequest_irq 3 h", "IRQ509", "no request_irq"),
    ("handler h { return none }\nidt { 0x23 -> h interrupt_gate dpl 0 }", "IRQ307", "outside a request_irq"),
    ("cpus 5", "IRQ220", "at most 4"),
])
def test_kernel_errors_are_coded_with_the_line(tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str,
                                               code_: str, words: str) -> None:
    code, _, err = run(capsys, write(tmp_path, "pic master : i8259 { base 0x20 }\n" + text + "\n"))
    assert code == 2
    assert code_ in err and words in err
    assert re.search(r":[23]:\d+:", err)  # file:line:col of the offending line


def test_missing_file_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "/nonexistent/model.irq")
    assert code == 2 and "IRQ007" in err


def test_json_format(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--format", "json", str(MODELS / "lang_trap_gate_reentry.irq"))
    assert code == 1
    doc = json.loads(out)
    assert doc["verdict"] == "violated"
    chk = doc["checks"][0]
    assert chk["name"] == "no_reentry" and chk["status"] == "violated"
    assert [s["step"] for s in chk["trace"]] == [1, 2, 3, 4, 5]
    assert chk["trace"][4]["context"] == "cpu0 irq 0 tick"
    assert chk["trace"][2]["changes"] == {"master.ISR[0]": {"old": 1, "new": 0}}
    assert doc["stats"]["engine"] == "explicit" and doc["stats"]["states"] == 13  # partial-order reduced
    assert doc["stats"]["reductions"] == ["por"] and doc["stats"]["refind_states"] == 14  # the full graph's


def test_json_error_document(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--format", "json", write(tmp_path, "pic p : i8259 {\n"))
    assert code == 2
    doc = json.loads(out)
    assert doc["verdict"] == "error"
    assert doc["errors"][0]["code"] == "IRQ002" and doc["errors"][0]["line"] >= 1


def test_several_models_worst_exit_wins(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--format", "json", str(MODELS / "nic_single_raise.irq"),
                       str(MODELS / "lang_lost_irq.irq"))
    assert code == 1
    docs = json.loads(out)
    assert [d["verdict"] for d in docs] == ["holds", "violated"]


def test_check_option_narrows(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--check", "no_starvation", str(MODELS / "lang_lost_irq.irq"))
    assert code == 0
    assert "no_lost_irq" not in out and "no_starvation        holds" in out


def test_unknown_check_option(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "--check", "no_lost_irqs", str(MODELS / "lang_lost_irq.irq"))
    assert code == 2 and "IRQ401" in err and "did you mean 'no_lost_irq'?" in err


def test_max_states_is_inconclusive_never_holds(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--max-states", "5000", write(tmp_path, nested_pic(5, 2)))
    assert code == 3
    assert "inconclusive" in out and "holds" not in out.split("\n")[1]
    assert "--max-states 5000" in out


def test_timeout_is_inconclusive(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--timeout", "0.05", write(tmp_path, nested_pic(6, 2)))
    assert code == 3 and "--timeout" in out


@pytest.mark.parametrize("args", [["--engine", "spin"], ["--format", "yaml"], ["export"],
                                  ["--max-states", "0"], ["--bogus"]])
def test_unavailable_options_are_clear_errors(capsys: pytest.CaptureFixture[str], args: list[str]) -> None:
    with pytest.raises(SystemExit) as e:
        raise SystemExit(main(args + [str(MODELS / "lang_lost_irq.irq")]))
    _, err = capsys.readouterr()
    assert e.value.code == 2
    assert "error" in err and "Traceback" not in err


def test_python_dash_m_and_console_script() -> None:
    model = str(MODELS / "lang_lost_irq.irq")
    p = ircheck("-q", model, cwd=None)
    assert p.returncode == 1 and p.stdout.strip() == f"{model}: violated"
    exe = Path(sys.executable).with_name("ircheck")
    if exe.exists():
        p = subprocess.run([str(exe), "-q", model], capture_output=True, text=True)
        assert p.returncode == 1


def test_export_promela_and_dot(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, _ = run(capsys, "export", "--promela", str(MODELS / "lang_lost_irq.irq"))
    assert code == 0 and "active proctype system()" in out and "assert(false)" in out
    assert "nic_isr" in out  # only inside comments
    code, out, _ = run(capsys, "export", "--dot", str(MODELS / "lang_trap_gate_reentry.irq"))
    assert code == 0 and out.startswith("digraph states {")
    assert out.count(" -> s") == 17 and out.count("\n  s") - out.count(" -> s") == 14  # 14 states, 17 edges
    code, _, err = run(capsys, "export", "--dot", write(tmp_path, nested_pic(5, 2)))
    assert code == 2 and "more than" in err
