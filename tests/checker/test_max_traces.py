"""--max-traces N (issue 19 item 7): several counterexamples per check, like TLC's -continue and
Apalache's --max-error - each ends another way (another violating step or failed property), each
is the shortest of its kind (BFS order), and each is replayed through the reference semantics."""

from __future__ import annotations

import json

import jsonschema
import pytest

import ircheck
from ircheck.cli import main
from tests.conftest import ROOT

TWO_LINES = """pic master : i8259 { base 0x20 }
device nic { irq master.3 edge raises 2 }
device kbd { irq master.1 edge raises 2 }
idt { 0x23 -> nic_isr interrupt_gate dpl 0
      0x21 -> kbd_isr interrupt_gate dpl 0 }
handler nic_isr { eoi }
handler kbd_isr { eoi }
check no_lost_irq, eoi_balanced
"""


def test_one_trace_by_default_and_more_on_request() -> None:
    one = ircheck.check_source(TWO_LINES).check("no_lost_irq")
    assert one.status == "violated" and one.more == []
    three = ircheck.check_source(TWO_LINES, max_traces=3).check("no_lost_irq")
    assert three.trace == one.trace  # the first is still the shortest of all
    assert len(three.more) == 1  # only two ways to lose an edge here: nic's and kbd's
    other = three.more[0]
    assert [s.context for s in other.trace] == ["device kbd", "device kbd"]
    assert "IRQ 1 edge from kbd" in other.message and other.trace[-1].note == "violation"


def test_the_limit_counts_the_first_trace() -> None:
    two = ircheck.check_source(TWO_LINES, max_traces=2).check("no_lost_irq")
    assert len(two.more) == 1
    assert ircheck.check_source(TWO_LINES, max_traces=1).check("no_lost_irq").more == []


def test_text_numbers_them_and_json_carries_them(capsys: pytest.CaptureFixture[str], tmp_path: object) -> None:
    from pathlib import Path
    p = Path(str(tmp_path)) / "two.irq"
    p.write_text(TWO_LINES)
    assert main([str(p), "--max-traces", "3", "--no-timings"]) == 1
    out = capsys.readouterr().out
    assert "counterexample 1 of 2, 2 steps:" in out and "counterexample 2 of 2, 2 steps:" in out
    assert main([str(p), "--max-traces", "3", "--format", "json"]) == 1
    doc = json.loads(capsys.readouterr().out)
    jsonschema.validate(doc, json.loads((ROOT / "schemas" / "report.schema.json").read_text()))
    lost = next(c for c in doc["checks"] if c["name"] == "no_lost_irq")
    assert len(lost["more_traces"]) == 1 and lost["more_traces"][0]["trace"][0]["context"] == "device kbd"


def test_refused_where_it_cannot_be_honoured(capsys: pytest.CaptureFixture[str], tmp_path: object) -> None:
    from pathlib import Path
    p = Path(str(tmp_path)) / "two.irq"
    p.write_text(TWO_LINES)
    assert main([str(p), "--max-traces", "2", "--engine", "smt"]) == 2
    assert "--max-traces is for the explicit engine" in capsys.readouterr().err
    assert main([str(p), "--max-traces", "0"]) == 2
