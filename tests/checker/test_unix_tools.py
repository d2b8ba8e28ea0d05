"""`ircheck trace` and `ircheck replay` tell every outcome apart (issue 19.3)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import ircheck
from ircheck.formats import itf
from tests.conftest import MODELS, ROOT
from tests.support.cli import run

LOST = MODELS / "lang_lost_irq.irq"
NMI = MODELS / "x86_nmi_reenters_logger.irq"


def big(tmp_path: Path) -> str:
    import sys
    sys.path.insert(0, str(ROOT / "bench"))
    from gen_nested import nested_pic
    p = tmp_path / "big.irq"
    p.write_text(nested_pic(5, 2))
    return str(p)


def test_trace_of_a_stopped_run_says_it_is_inconclusive_and_why(tmp_path: Path,
                                                                capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "trace", "--max-states", "50", big(tmp_path))
    assert code == 3 and out == ""
    assert "inconclusive" in err and "--max-states 50" in err
    assert "no violated check, nothing to draw" not in err


def test_trace_of_a_model_that_holds(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "trace", str(MODELS / "nic_single_raise.irq"))
    assert code == 0 and out == "" and "every check holds, nothing to draw" in err


def test_trace_options_are_checked(capsys: pytest.CaptureFixture[str]) -> None:
    for args in (["--timeout", "nan"], ["--max-states", "0"], ["--check", ""]):
        code, _, err = run(capsys, "trace", *args, str(LOST))
        assert code == 2 and "error" in err


def test_replay_exit_statuses_are_distinct(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    saved = tmp_path / "t.json"
    saved.write_text(json.dumps(ircheck.check_file(LOST).to_json()))
    code, out, _ = run(capsys, "replay", str(saved), str(LOST))
    assert code == 1 and "reproduced: no_lost_irq" in out
    fixed = tmp_path / "fixed.irq"
    fixed.write_text(LOST.read_text().replace("raises 2", "raises 1"))
    code, _, err = run(capsys, "replay", str(saved), str(fixed))
    assert code == 5 and "not possible here" in err
    code, _, err = run(capsys, "replay", str(tmp_path / "missing.json"), str(LOST))
    assert code == 2 and "cannot read" in err
    code, out, _ = run(capsys, "replay", "--help")
    assert code == 0 and "5 the trace does not fit the model" in " ".join(out.split())


@pytest.mark.parametrize("model", [LOST, NMI, MODELS / "seed_nic_ring_overflow.irq"])
def test_replay_accepts_itf(tmp_path: Path, capsys: pytest.CaptureFixture[str], model: Path) -> None:
    saved = tmp_path / "t.itf.json"
    code, out, _ = run(capsys, "--format", "itf", str(model))
    assert code == 1
    saved.write_text(out)
    code, out, err = run(capsys, "replay", str(saved), str(model))
    assert code == 1, err
    assert "ITF" in out and "reproduced:" in out


def test_replay_itf_on_a_changed_model_does_not_fit(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    saved = tmp_path / "t.itf.json"
    saved.write_text(itf(ircheck.check_file(LOST)))
    changed = tmp_path / "changed.irq"  # same variables, but the second raise is no longer lost
    changed.write_text(LOST.read_text().replace("handler nic_isr { read rx_ring; eoi }",
                                                "handler nic_isr { read rx_ring; eoi }\nflag spare"))
    code, _, err = run(capsys, "replay", str(saved), str(changed))
    assert code == 5 and "the model has changed" in err
    doc = json.loads(saved.read_text())
    doc["states"][2]["nic.raises_left"] = 2  # a state the model cannot reach in that step
    saved.write_text(json.dumps(doc))
    code, _, err = run(capsys, "replay", str(saved), str(LOST))
    assert code == 5 and "step 2" in err
