"""A deadlock found as a state property (ABBA, K3) names its locks and wait-for edges, and its
`<- violation` marker is on the acquisition that can never proceed (issue 16 item 17, D0)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import ircheck
from tests.conftest import MODELS
from tests.support.cli import run


def test_abba_names_who_waits_for_which_lock_held_by_whom() -> None:
    res = ircheck.check_file(MODELS / "kernel_abba_two_cpus.irq", checks=["no_deadlock"]).check("no_deadlock")
    assert res.status == "violated"
    assert res.message.endswith("(wait-for: thread submit waits for spinlock queue_lock, held by thread reset; "
                                "thread reset waits for spinlock dev_lock, held by thread submit)")


def test_k3_names_the_lock_and_the_preempted_holder() -> None:
    res = ircheck.check_file(MODELS / "lang_deadlock_spin_lock.irq", checks=["no_deadlock"]).check("no_deadlock")
    assert "(wait-for: cpu0 irq 3 nic_isr waits for spinlock rx_lock, held by thread app, preempted on its CPU by " \
           "cpu0 irq 3 nic_isr)" in res.message


def test_a_model_without_a_deadlock_has_no_story() -> None:
    res = ircheck.check_file(MODELS / "kernel_abba_lockdep_only.irq", checks=["no_deadlock"]).check("no_deadlock")
    assert res.status == "holds" and res.message == ""


# issue 16 item 17 (the marker): the `<- violation` marker is on the acquisition that can never
# proceed - the statement the blocked context is at after the last step - not on the last step taken
def _lines(capsys: pytest.CaptureFixture[str], path: str, *args: str) -> list[str]:
    _code, out, _err = run(capsys, "--no-timings", "--check", "no_deadlock", *args, path)
    return out.splitlines()


def test_aa_of_a_thread_and_its_isr_marks_the_isrs_spin_lock(capsys: pytest.CaptureFixture[str]) -> None:
    path = "models/lang_deadlock_spin_lock.irq"
    lines = _lines(capsys, path)
    marked = [ln for ln in lines if "<- violation" in ln]
    assert marked == ["         cpu0 irq 3 nic_isr  spin_lock rx_lock (never proceeds)  "
                      f"[{path}:15]  <- violation"]
    assert "      3  cpu0 thread app     take IRQ 3: INTA, vector 0x23 -> nic_isr (interrupt gate, IF=0)  " \
           f"[{path}:13]" in lines
    c = ircheck.check_file(MODELS / "lang_deadlock_spin_lock.irq", checks=["no_deadlock"]).check("no_deadlock")
    assert [s.note for s in c.trace] == ["", "", ""]
    assert c.to_json()["blocked"] == {"context": "cpu0 irq 3 nic_isr", "action": "spin_lock rx_lock", "line": 15}


def test_abba_across_two_cpus_marks_the_first_waiters_second_acquisition(
        capsys: pytest.CaptureFixture[str]) -> None:
    path = "models/kernel_abba_two_cpus.irq"
    lines = _lines(capsys, path)
    assert lines[-5:-2] == [
        f"      2  cpu1 thread reset   spin_lock queue_lock  [{path}:30]",
        "                               queue_lock.owner free->thread reset",
        f"         cpu0 thread submit  spin_lock queue_lock (never proceeds)  [{path}:24]  <- violation"]
    assert sum("<- violation" in ln for ln in lines) == 1


FINISHED = """pic master : i8259 { base 0x20 }
device nic { irq master.3 edge raises any }
idt { 0x23 -> nic_isr interrupt_gate dpl 0 }
handler nic_isr { eoi }
mutex m
thread a on cpu0 { mutex_lock m }
thread b on cpu0 { mutex_lock m; mutex_unlock m }
check no_deadlock
"""


@pytest.mark.parametrize("engine", ["explicit", "smt"])
def test_a_lock_held_by_a_finished_thread_marks_the_waiters_acquisition(
        capsys: pytest.CaptureFixture[str], tmp_path: Path, engine: str) -> None:
    model = tmp_path / "finished.irq"
    model.write_text(FINISHED)
    lines = _lines(capsys, str(model), "--engine", engine)
    assert [ln.split("  [")[0] for ln in lines[2:6]] == [
        "    counterexample, 1 step:",
        "      1  cpu0 thread a  mutex_lock m",
        "                          m.owner free->thread a",
        "         cpu0 thread b  mutex_lock m (never proceeds)"]
    assert lines[5].endswith(":7]  <- violation")


def test_sarif_points_at_the_acquisition_that_never_proceeds(capsys: pytest.CaptureFixture[str]) -> None:
    _code, out, _err = run(capsys, "--format", "sarif", "--check", "no_deadlock", "models/kernel_abba_two_cpus.irq")
    res = json.loads(out)["runs"][0]["results"][0]
    assert res["locations"][0]["physicalLocation"]["region"]["startLine"] == 24
    last = res["codeFlows"][0]["threadFlows"][0]["locations"][-1]["location"]
    assert last["message"]["text"] == "cpu0 thread submit: spin_lock queue_lock (never proceeds)"


def test_a_safety_violation_keeps_its_marker_on_the_step() -> None:
    c = ircheck.check_file(MODELS / "lang_lost_irq.irq", checks=["no_lost_irq"]).check("no_lost_irq")
    assert c.blocked is None and c.trace[-1].note == "violation"
