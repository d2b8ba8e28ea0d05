"""`ircheck simulate` (issue 19 item 7): seeded random runs printed like traces; exit 1 when a run breaks a check."""

from __future__ import annotations

import pytest

from ircheck.cli import main
from tests.conftest import MODELS

LOST = str(MODELS / "lang_lost_irq.irq")
FINE = str(MODELS / "nic_single_raise.irq")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_a_run_that_breaks_a_check_says_so_and_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "simulate", LOST, "--seed", "1", "--runs", "2", "--steps", "5")
    assert (code, err) == (1, "")
    assert out.splitlines()[0] == f"{LOST}: run 1 (seed 1), 5 steps: no check broken"
    assert out.endswith(
        f"{LOST}: run 2 (seed 1), 2 steps: no_lost_irq VIOLATED\n"
        f"      1  device nic  raise IRQ 3 (master.3, edge)  [{LOST}:11]\n"
        "                       master.IRR[3] 0->1, nic.raises_left 2->1\n"
        f"      2  device nic  raise IRQ 3 again (master.3, edge): already pending  [{LOST}:11]  <- violation\n"
        "                       nic.raises_left 1->0\n"
        "    => IRQ 3 edge from nic arrived while master.IRR[3] was still set: the request is lost\n")


def test_the_same_seed_gives_the_same_runs(capsys: pytest.CaptureFixture[str]) -> None:
    first = run(capsys, "simulate", LOST, "--seed", "7", "--runs", "5")
    assert run(capsys, "simulate", LOST, "--seed", "7", "--runs", "5") == first


def test_a_run_that_breaks_nothing_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "simulate", FINE, "--steps", "3")
    assert (code, err) == (0, "")
    assert out == (
        f"{FINE}: run 1 (seed 0), 3 steps: no check broken\n"
        f"      1  device nic          raise IRQ 3 (master.3, edge)  [{FINE}:11]\n"
        "                               master.IRR[3] 0->1, nic.raises_left 1->0\n"
        f"      2  cpu0 idle           take IRQ 3: INTA, vector 0x23 -> nic_isr (interrupt gate, IF=0)  [{FINE}:12]\n"
        "                               master.IRR[3] 1->0, master.ISR[3] 0->1, cpu0.IF 1->0, cpu0.depth 0->1\n"
        f"      3  cpu0 irq 3 nic_isr  read rx_ring  [{FINE}:13]\n")


def test_help_lists_simulate_and_bad_input_exits_2(capsys: pytest.CaptureFixture[str], tmp_path: object) -> None:
    code, out, _ = run(capsys, "--help")
    assert "  simulate random runs of a model" in out
    assert run(capsys, "simulate", "/nonexistent.irq")[0] == 2
    assert run(capsys, "simulate", FINE, "--steps", "0")[0] == 2
