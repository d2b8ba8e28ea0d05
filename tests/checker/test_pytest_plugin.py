"""The pytest11 plugin: `pytest models/` runs one item per check against the `# expect:` header."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import MODELS
from tests.support.cli import pytest_run

WRONG = """# expect: no_lost_irq holds
pic master : i8259 { base 0x20 }
device nic { irq master.3 edge  raises 2 }
idt { 0x23 -> nic_isr interrupt_gate dpl 0 }
handler nic_isr { eoi }
check no_lost_irq
"""


def test_bundled_models_pass_as_pytest_items() -> None:
    p = pytest_run(str(MODELS))
    assert p.returncode == 0, p.stdout[-2000:]
    n_files = len(list(MODELS.glob("*.irq")))
    passed = int(p.stdout.strip().splitlines()[-1].split()[0])
    assert passed > n_files  # several checks per model


def test_wrong_expectation_fails_with_the_counterexample(tmp_path: Path) -> None:
    (tmp_path / "nic.irq").write_text(WRONG)
    p = pytest_run("nic.irq", cwd=tmp_path)
    assert p.returncode == 1
    assert "nic.irq::no_lost_irq" in p.stdout
    assert "no_lost_irq: expected holds, got violated" in p.stdout
    assert "the request is lost" in p.stdout and "<- violation" in p.stdout


def test_model_with_input_errors_is_one_failing_item(tmp_path: Path) -> None:
    (tmp_path / "bad.irq").write_text("pic master : i8259 { base 0x21 }\n")
    p = pytest_run("bad.irq", cwd=tmp_path)
    assert p.returncode == 1 and "IRQ202" in p.stdout
