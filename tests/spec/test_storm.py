"""no_irq_storm (issue 17 item 9): interrupts that sustain themselves while a CPU's task could run.

Sources: Linux kernel/irq/chip.c handle_level_irq / cond_unmask_irq (a level line is unmasked when
the flow ends, unless a oneshot thread is pending), kernel/irq/spurious.c note_interrupt (what the
detector exists for), kernel/irq/manage.c __setup_irq (handler=NULL needs IRQF_ONESHOT); the 8259A
data sheet (a level input requests again while high: P2). Rule: docs/semantics.md "no_irq_storm".
"""

from __future__ import annotations

import ircheck
from ircheck.grammar.parser import parse
from ircheck.spec.repairs import candidates, combine
from ircheck.spec.step_kind import StepKind

LEVEL = """pic master : i8259 { base 0x20 }
device nic { irq master.3 TRIGGER raises RAISES }
request_irq 3 nic_isr
handler nic_isr { read rx_ring ACK }
data rx_ring
data log
thread app on cpu0 { write log; write log }
check no_irq_storm
"""


def storm(src: str) -> ircheck.CheckResult:
    return ircheck.check_source(src).check("no_irq_storm")


def test_a_level_line_nobody_quiets_storms_and_the_loop_has_no_device_step() -> None:
    c = storm(LEVEL.replace("TRIGGER", "level").replace("RAISES", "1").replace(" ACK", ""))
    assert c.status == "violated"
    assert c.message.startswith("interrupt storm on cpu0: interrupts keep arriving with no device acting "
                                "(level-triggered: nic), so thread app never runs again although it could")
    assert c.loop_start is not None
    loop = c.trace[c.loop_start - 1:]  # loop_start numbers steps from 1
    assert [s.action for s in loop] == [
        "take IRQ 3: INTA, vector 0x23 -> handle_level_irq (genirq flow handler, IF=0)",
        "handle_level_irq: ack (mask+ack), run the handlers", "read rx_ring",
        "return IRQ_HANDLED (end of nic_isr)", "IRQ 3 handlers done", "iret (end of the flow handler)"]
    assert not any(s.kind is StepKind.RAISE for s in loop)
    # the device raised once, before the loop: the line stays high
    assert [s.action for s in c.trace[:c.loop_start - 1]] == ["raise IRQ 3 (master.3, level)"]


def test_quieting_the_device_holds() -> None:
    assert storm(LEVEL.replace("TRIGGER", "level").replace("RAISES", "1").replace("ACK", "; ack nic")).status == \
        "holds"


def test_a_device_that_keeps_raising_is_the_environment_not_a_storm() -> None:
    # raises any on an edge line: each interrupt needs a raise, which is in every loop
    assert storm(LEVEL.replace("TRIGGER", "edge").replace("RAISES", "any").replace(" ACK", "")).status == "holds"


THREADED = """pic master : i8259 { base 0x20 }
device sensor { irq master.3 level raises 1 }
request_irq 3 sensor_quick thread sensor_thread ONESHOT
handler sensor_quick { return wake_thread }
irq_thread sensor_thread { ack sensor }
thread app on cpu0 { nop; nop }
check no_irq_storm
"""


def test_a_threaded_level_handler_without_oneshot_storms_and_with_it_holds() -> None:
    c = storm(THREADED.replace(" ONESHOT", ""))
    assert c.status == "violated" and "irq_thread sensor_thread, thread app never run again" in c.message
    assert storm(THREADED.replace("ONESHOT", "oneshot")).status == "holds"


def test_bare_metal_eoi_lets_the_still_asserted_line_in_again() -> None:
    src = """pic master : i8259 { base 0x20 }
device uart { irq master.4 level raises 1 }
idt { 0x24 -> uart_isr interrupt_gate dpl 0 }
handler uart_isr { nop; ACK eoi }
thread shell on cpu0 { sti; nop; nop }
check no_irq_storm
"""
    assert storm(src.replace("ACK ", "")).status == "violated"
    assert storm(src.replace("ACK ", "ack uart; ")).status == "holds"


def test_a_cpu_without_tasks_is_not_judged_and_both_engines_agree() -> None:
    src = LEVEL.replace("TRIGGER", "level").replace("RAISES", "1").replace(" ACK", "")
    assert storm(src.replace("thread app on cpu0 { write log; write log }\n", "")).status == "holds"
    smt = ircheck.check_source(src, engine="smt").check("no_irq_storm")
    assert smt.status == "violated" and len(smt.trace) == 7


def _repaired(src: str) -> dict[str, str]:
    m = parse(src, "storm.irq")
    return {c.key: combine(m.source, (c,)) for c in candidates(m)}


def test_the_standard_repairs_ack_the_device_or_keep_the_line_masked_for_the_thread() -> None:
    bad = LEVEL.replace("TRIGGER", "level").replace("RAISES", "1").replace(" ACK", "")
    fixed = _repaired(bad)["ack:nic_isr:nic"]
    assert "handler nic_isr { read rx_ring; ack nic }" in fixed and storm(fixed).status == "holds"
    fixed = _repaired(THREADED.replace(" ONESHOT", "  # no ONESHOT"))["oneshot:3"]
    assert "request_irq 3 sensor_quick thread sensor_thread oneshot  # no ONESHOT" in fixed
    assert storm(fixed).status == "holds"
