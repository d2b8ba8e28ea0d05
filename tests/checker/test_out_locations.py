"""Issue 19, item 15: counterexample lines carry `file:line`; JSON changes are JSON values; ITF
integers are `{"#bigint": "..."}`."""

from __future__ import annotations

import json

import pytest

from ircheck import check_file
from ircheck.cli import main
from ircheck.formats import itf, junit
from ircheck.report import text

LOST = "models/lang_lost_irq.irq"
REENTRY = "models/lang_trap_gate_reentry.irq"
ABBA = "models/kernel_abba_two_cpus.irq"


pytestmark = pytest.mark.usefixtures("in_root")


def test_text_trace_steps_name_file_and_line() -> None:
    out = text(check_file(REENTRY), timings=False).splitlines()
    assert out[3:12:2] == [
        "      1  device timer     raise IRQ 0 (master.0, edge)  [models/lang_trap_gate_reentry.irq:12]",
        "      2  cpu0 idle        take IRQ 0: INTA, vector 0x20 -> tick (trap gate, IF stays 1)"
        "  [models/lang_trap_gate_reentry.irq:13]",
        "      3  cpu0 irq 0 tick  eoi  [models/lang_trap_gate_reentry.irq:14]",
        "      4  device timer     raise IRQ 0 (master.0, edge)  [models/lang_trap_gate_reentry.irq:12]",
        "      5  cpu0 irq 0 tick  take IRQ 0: INTA, vector 0x20 -> tick (trap gate, IF stays 1)"
        "  [models/lang_trap_gate_reentry.irq:13]  <- violation",
    ]
    assert "[line " not in "\n".join(out)


def test_cli_text_uses_the_path_as_given(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--no-timings", LOST]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert lines[3] == "      1  device nic  raise IRQ 3 (master.3, edge)  [models/lang_lost_irq.irq:11]"
    assert lines[5] == ("      2  device nic  raise IRQ 3 again (master.3, edge): already pending"
                        "  [models/lang_lost_irq.irq:11]  <- violation")


def test_junit_failure_text_names_file_and_line() -> None:
    xml = junit([check_file(LOST)])
    assert "raise IRQ 3 (master.3, edge)  [models/lang_lost_irq.irq:11]" in xml
    assert "[line " not in xml


def test_json_changes_are_json_values(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--format", "json", "--no-timings", LOST]) == 1
    doc = json.loads(capsys.readouterr().out)
    steps = doc["checks"][0]["trace"]
    assert steps[0]["changes"] == {"master.IRR[3]": {"old": 0, "new": 1}, "nic.raises_left": {"old": 2, "new": 1}}
    assert steps[1]["changes"] == {"nic.raises_left": {"old": 1, "new": 0}}


def test_json_changes_keep_names_as_strings(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--format", "json", "--no-timings", "--check", "no_deadlock", ABBA]) == 1
    doc = json.loads(capsys.readouterr().out)
    first = doc["checks"][0]["trace"][0]
    assert first["changes"] == {"dev_lock.owner": {"old": "free", "new": "thread submit"}}


def test_itf_integers_are_bigints() -> None:
    doc = json.loads(itf(check_file(LOST)))
    assert [s["nic.raises_left"] for s in doc["states"]] == [{"#bigint": "2"}, {"#bigint": "1"}, {"#bigint": "0"}]
    assert [s["master.IRR"] for s in doc["states"]] == [{"#bigint": "0"}, {"#bigint": "8"}, {"#bigint": "8"}]
    for s in doc["states"]:
        assert all(v == {"#bigint": v["#bigint"]} for k, v in s.items() if k != "#meta")
