"""Every trace, message and report names an 8259A input by its Linux IRQ number, with the chip and
pin in parentheses (issue 16 item 18, docs/semantics.md P11): the master's inputs are IRQ 0-7, its
slave's IRQ 8-15 - arch/x86/kernel/i8259.c `mask_8259A_irq`/`mask_and_ack_8259A` (`irq & 8`: the
slave's input `irq & 7`). One helper makes the names: spec/design.py `irq_name`."""

from __future__ import annotations

import pytest

import ircheck
from ircheck.api import compile_source
from ircheck.spec.design import PicInfo, irq_name
from tests.conftest import MODELS
from tests.support.cli import run


def _pic(name: str, base: int | None) -> PicInfo:
    return PicInfo(name, 0x20, False, 0, False, 1, irq_base=base)


def test_the_helper_numbers_slave_lines_from_8_and_keeps_the_pin() -> None:
    assert irq_name(_pic("slave", 8), 6, "disk") == "IRQ 14 (slave.6, disk)"
    assert irq_name(_pic("master", 0), 3, "nic") == "IRQ 3 (master.3, nic)"
    assert irq_name(_pic("slave", 8), 1) == "IRQ 9 (slave.1)"
    assert irq_name(_pic("master", 0), 3, pin=False) == "IRQ 3"
    assert irq_name(_pic("slave", 8), 6, pin=False, word="irq") == "irq 14"
    assert irq_name(_pic("pic2", None), 3, "uart") == "IRQ pic2.3 (uart)"  # no Linux number


def test_a_slave_line_prints_its_linux_irq_number_in_every_step_and_message(
        capsys: pytest.CaptureFixture[str]) -> None:
    path = str(MODELS / "x86_cascade_disk_missing_master_eoi.irq")
    _code, out, _err = run(capsys, "--no-timings", "--check", "no_starvation", path)
    lines = [ln.split("  [")[0].rstrip() for ln in out.splitlines()]
    assert "      1  device disk                    raise IRQ 14 (slave.6, edge)" in lines
    assert "      2  cpu0 idle                      take IRQ 14 (slave.6): INTA, vector 0x2e -> ide_isr " \
           "(interrupt gate, IF=0)" in lines
    assert "      3  cpu0 irq 14 (slave.6) ide_isr  read sector_buf" in lines
    assert "      6  device serial                  raise IRQ 3 (master.3, edge)" in lines
    assert "    => IRQ 3 (master.3, serial) is raised but never delivered: the request waits for ever in " \
           "master.IRR[3] (after the last step no CPU can take it)" in lines


def test_nested_slave_frames_are_named_by_their_irq_numbers() -> None:
    c = ircheck.check_file(MODELS / "x86_sfnm_slave_nesting.irq", checks=["max_nesting"]).check("max_nesting")
    assert c.message == "interrupt nesting is deeper than 1 frames on cpu0 (cpu0: idle > irq 14 (slave.6) " \
                        "ide_isr > irq 8 (slave.0) rtc_isr)"
    assert c.trace[-1].action == "take IRQ 8 (slave.0): INTA, vector 0x28 -> rtc_isr (interrupt gate, IF=0)"


def test_one_8259a_takes_and_lanes_by_number_alone() -> None:
    c = ircheck.check_file(MODELS / "lang_deadlock_spin_lock.irq", checks=["no_deadlock"]).check("no_deadlock")
    assert [s.action.split(" (")[0] for s in c.trace][1:] == ["raise IRQ 3", "take IRQ 3: INTA, vector 0x23 -> nic_isr"]
    lost = ircheck.check_file(MODELS / "lang_lost_irq.irq", checks=["no_lost_irq"]).check("no_lost_irq")
    assert lost.message == "IRQ 3 edge from nic arrived while master.IRR[3] was still set: the request is lost"
    assert [s.action for s in lost.trace] == ["raise IRQ 3 (master.3, edge)",
                                              "raise IRQ 3 again (master.3, edge): already pending"]


SPURIOUS_SLAVE = """
pic master : i8259 { base 0x20 }
pic slave  : i8259 { base 0x28  cascade master.2 }
device ide2 { irq slave.7 level raises 1 may_drop }
idt { 0x2F -> ide2_isr interrupt_gate dpl 0 }
handler ide2_isr { eoi master }
"""


def test_a_spurious_slave_request_is_irq_15() -> None:
    ts = compile_source(SPURIOUS_SLAVE, "spur.irq", ["eoi_balanced"])
    actions = {t.label.action for t in ts.transitions}
    assert "ide2 drops IRQ 15 (slave.7) before INTA: spurious IRQ 15, vector 0x2f -> ide2_isr, slave.ISR[7] " \
           "not set" in actions
    assert "take IRQ 15 (slave.7): INTA, vector 0x2f -> ide2_isr (interrupt gate, IF=0)" in actions


def test_a_resolution_message_names_the_line_by_its_irq_number() -> None:
    r = ircheck.check_source(SPURIOUS_SLAVE.replace("device ide2", "device cd { irq slave.7 edge raises 1 }\n"
                                                    "device ide2"))
    assert any(d.code == "IRQ216" and d.message == "line IRQ 15 (slave.7) is used by 'cd' and 'ide2'"
               for d in r.errors)
