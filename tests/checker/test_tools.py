"""`ircheck replay`: a saved JSON counterexample steps through the model again."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import ircheck
from ircheck.cli import main
from tests.conftest import MODELS


def save(path: Path, model: Path) -> None:
    path.write_text(json.dumps(ircheck.check_file(model).to_json()))


def test_replay_reproduces(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for name in ("x86_nmi_reenters_logger.irq", "lang_lost_irq.irq", "seed_nic_ring_overflow.irq"):
        save(tmp_path / "t.json", MODELS / name)
        assert main(["replay", str(tmp_path / "t.json"), str(MODELS / name)]) == 1
        out = capsys.readouterr().out
        assert "reproduced:" in out


def test_replay_on_a_fixed_model_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    save(tmp_path / "t.json", MODELS / "lang_trap_gate_reentry.irq")
    fixed = tmp_path / "fixed.irq"
    fixed.write_text((MODELS / "lang_trap_gate_reentry.irq").read_text().replace("trap_gate", "interrupt_gate"))
    assert main(["replay", str(tmp_path / "t.json"), str(fixed)]) == 5  # does not fit: not "reproduced"
    assert "not possible here: the model has changed" in capsys.readouterr().err


def test_replay_bad_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "t.json").write_text("{not json")
    assert main(["replay", str(tmp_path / "t.json"), str(MODELS / "lang_lost_irq.irq")]) == 2
    save(tmp_path / "ok.json", MODELS / "nic_single_raise.irq")
    assert main(["replay", str(tmp_path / "ok.json"), str(MODELS / "nic_single_raise.irq")]) == 2
