"""Coverage and vacuity (issue 19 item 6): after a complete explicit search, what can never happen is
warned about (stderr in text mode, `warnings` in JSON), a verdict that holds only because nothing
happens is flagged "vacuous" (exit 2 under --strict, else the status is unchanged), and `--coverage`
prints per statement how many transitions fired from it."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

import ircheck
from ircheck.cli import main
from tests.conftest import MODELS, ROOT

SCHEMA = json.loads((ROOT / "schemas" / "report.schema.json").read_text())

NO_RAISE = """pic master : i8259 { base 0x20 }
device nic { irq master.3 edge  raises 0 }
idt { 0x23 -> nic_isr interrupt_gate dpl 0 }
handler nic_isr { read rx_ring; eoi }
data rx_ring
check no_lost_irq
"""

# the line is masked and nothing unmasks it: the device raises, the ISR never runs
MASKED = """pic master : i8259 { base 0x20  mask 0b00001000 }
device nic { irq master.3 edge  raises 1 }
idt { 0x23 -> nic_isr interrupt_gate dpl 0 }
handler nic_isr { read rx_ring; eoi }
data rx_ring
check no_lost_irq, eoi_balanced
"""

DEAD_STATEMENT = """pic master : i8259 { base 0x20 }
device nic { irq master.3 edge  raises 1 }
idt { 0x23 -> nic_isr interrupt_gate dpl 0 }
flag never
handler nic_isr {
    if never {
        set never
    }
    eoi
}
"""


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def model(tmp_path: Path, text: str, name: str = "m.irq") -> str:
    p = tmp_path / name
    p.write_text(text)
    return str(p)


def test_a_device_that_can_never_raise_makes_the_verdict_vacuous(tmp_path: Path,
                                                                 capsys: pytest.CaptureFixture[str]) -> None:
    m = model(tmp_path, NO_RAISE)
    code, out, err = run(capsys, "--no-timings", m)
    assert code == 0  # a warning never changes the status
    assert out.startswith(f"{m}: all checks hold\n")
    assert err == (f"ircheck: warning: {m}:2: every check holds only because no device can ever raise an "
                   "interrupt (nic: raises 0)\n"
                   f"ircheck: warning: {m}:2: device nic can never raise its interrupt (raises 0)\n"
                   f"ircheck: warning: {m}:4: handler nic_isr can never run\n")
    code, out, err = run(capsys, "--strict", m)
    assert code == 2 and out == ""
    assert err.startswith(f"{m}:2:1: error IRQ010: every check holds only because no device can ever raise an "
                          "interrupt (nic: raises 0) (--strict)\n")


def test_an_isr_that_can_never_run_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    m = model(tmp_path, MASKED)
    code, out, err = run(capsys, "--no-timings", m)
    assert code == 0
    assert err == (f"ircheck: warning: {m}:4: handler nic_isr can never run: the checks hold without it "
                   "ever running\n")
    assert run(capsys, "--strict", m)[0] == 2
    code, out, err = run(capsys, "--format", "json", "--no-timings", m)
    doc = json.loads(out)
    assert code == 0 and err == ""
    assert doc["warnings"] == [{"kind": "vacuous", "line": 4,
                                "message": "handler nic_isr can never run: the checks hold without it ever running"}]
    jsonschema.validate(doc, SCHEMA)


def test_a_statement_never_executed_is_a_warning_not_an_error(tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    m = model(tmp_path, DEAD_STATEMENT)
    code, out, err = run(capsys, "--no-timings", m)
    assert code == 0
    assert err == f"ircheck: warning: {m}:7: `set never` in handler nic_isr is never executed\n"
    assert run(capsys, "--strict", m)[0] == 0  # only vacuity is refused by --strict


def test_a_model_where_everything_happens_says_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, str(MODELS / "nic_single_raise.irq"))
    assert (code, err) == (0, "")
    assert "warnings" not in ircheck.check_file(MODELS / "nic_single_raise.irq").to_json()


def test_no_warning_from_a_search_that_stopped(tmp_path: Path) -> None:
    r = ircheck.check_file(model(tmp_path, NO_RAISE.replace("raises 0", "raises 2")), max_states=2)
    assert r.verdict != "holds" and r.warnings == []


def test_coverage_counts_per_statement(capsys: pytest.CaptureFixture[str]) -> None:
    m = str(MODELS / "nic_single_raise.irq")
    code, out, err = run(capsys, "--coverage", "--no-timings", m)
    assert (code, err) == (0, "")
    assert out.endswith(
        "  coverage (per statement: transitions fired from reachable states; 0 = never executed):\n"
        f"    {m}:11          1  device nic: raise\n"
        f"    {m}:13          1  handler nic_isr: iret (end of handler)\n"
        f"    {m}:13          1  handler nic_isr: eoi\n"
        f"    {m}:13          1  handler nic_isr: read rx_ring\n")
    code, out, err = run(capsys, "--coverage", "--format", "json", "--no-timings", m)
    doc = json.loads(out)
    jsonschema.validate(doc, SCHEMA)
    assert doc["coverage"]["counts"] == "transitions fired from reachable states"
    assert doc["coverage"]["statements"][0] == {"line": 11, "where": "device nic: raise", "fired": 1}


def test_coverage_of_a_reduced_run_is_confirmed_unreduced(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`check no_lost_irq` alone runs with partial-order reduction: the counts are the full graph's."""
    m = model(tmp_path, MASKED.replace("mask 0b00001000", "").replace("no_lost_irq, eoi_balanced", "no_lost_irq"))
    code, out, err = run(capsys, "--coverage", "--no-timings", m)
    assert (code, err) == (0, "")
    assert out.endswith(f"    {m}:4          1  handler nic_isr: read rx_ring\n")
    assert f"    {m}:2          1  device nic: raise\n" in out
