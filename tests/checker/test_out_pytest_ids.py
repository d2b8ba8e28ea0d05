"""Issue 19, item 13: the node IDs the pytest plugin prints select their item when pasted back."""

from __future__ import annotations

import re
from pathlib import Path

from tests.conftest import MODELS
from tests.support.cli import pytest_run

WRONG = """# expect: no_lost_irq holds, eoi_balanced holds
pic master : i8259 { base 0x20 }
device nic { irq master.3 edge  raises 2 }
idt { 0x23 -> nic_isr interrupt_gate dpl 0 }
handler nic_isr { eoi }
check no_lost_irq, eoi_balanced
"""


def test_printed_ids_select_their_items(tmp_path: Path) -> None:
    sub = tmp_path / "models"
    sub.mkdir()
    (sub / "lang_lost_irq.irq").write_text((MODELS / "lang_lost_irq.irq").read_text())
    (sub / "wrong.irq").write_text(WRONG)
    p = pytest_run("-vv", "models", cwd=tmp_path)  # pytest_run passes -q
    shown = re.findall(r"^(\S+) (PASSED|FAILED)", p.stdout, re.M)
    assert shown == [("models/lang_lost_irq.irq::no_lost_irq", "PASSED"),
                     ("models/wrong.irq::no_lost_irq", "FAILED"),
                     ("models/wrong.irq::eoi_balanced", "PASSED")]
    assert "FAILED models/wrong.irq::no_lost_irq - " in p.stdout  # the short summary's ID too
    for node_id, outcome in shown:
        again = pytest_run(node_id, cwd=tmp_path)
        assert again.stdout.strip().splitlines()[-1].startswith(f"1 {outcome.lower()}"), (node_id, again.stdout)
