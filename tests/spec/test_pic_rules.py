"""The 8259A rules of issue 16, each pinned in both directions (docs/semantics.md P2, P7/P9, P12)."""

from __future__ import annotations

import ircheck
from ircheck.api import compile_source
from tests.support.naive import Naive, bit, reachable

SMM = "pic master : i8259 { base 0x20  mode special_mask }\n"


# ---- P7 in special mask mode (P9): a non-specific EOI skips masked in-service levels --------------

NESTED = """device serial { irq master.3 edge raises 1 }
device disk   { irq master.5 edge raises 1 }
idt { 0x23 -> serial_isr interrupt_gate dpl 0
      0x25 -> disk_isr   interrupt_gate dpl 0 }
handler serial_isr { mask master.3; sti; nop; cli; unmask master.3; eoi }
handler disk_isr { eoi }
check eoi_balanced
"""


def test_special_mask_nonspecific_eoi_of_the_nested_lower_level_ends_its_own_service() -> None:
    # 8259A data sheet, special mask mode: the non-specific EOI from disk_isr skips the masked
    # level 3 and ends level 5; the serial handler's own EOI (after unmask) then ends level 3.
    assert ircheck.check_source(SMM + NESTED).check("eoi_balanced").status == "holds"


def test_fully_nested_nonspecific_eoi_still_clears_the_highest_level() -> None:
    # without special mask mode nothing nests under level 3 and the same code is balanced too;
    # a handler that leaves level 3 masked when it sends its EOI is not (next test)
    r = ircheck.check_source("pic master : i8259 { base 0x20 }\n" + NESTED)
    assert r.check("eoi_balanced").status == "holds"


def test_special_mask_eoi_while_own_level_is_masked_leaves_it_in_service() -> None:
    r = ircheck.check_source(SMM + """device serial { irq master.3 edge raises 1 }
idt { 0x23 -> serial_isr interrupt_gate dpl 0 }
handler serial_isr { mask master.3; eoi; unmask master.3 }
check eoi_balanced
""")
    c = r.check("eoi_balanced")
    assert c.status == "violated"
    assert "no unmasked level in service" in c.message
    fixed = ircheck.check_source(SMM + """device serial { irq master.3 edge raises 1 }
idt { 0x23 -> serial_isr interrupt_gate dpl 0 }
handler serial_isr { mask master.3; unmask master.3; eoi }
check eoi_balanced
""")
    assert fixed.check("eoi_balanced").status == "holds"


# ---- P12 spurious IR7: only when nothing else can be acknowledged; a specific EOI 7 is harmless ---

SPURIOUS = """pic master : i8259 { base 0x20 }
device kbd  { irq master.1 level raises 1 may_drop }
device disk { irq master.3 edge raises 1 }
idt { 0x21 -> kbd_isr  interrupt_gate dpl 0
      0x23 -> disk_isr interrupt_gate dpl 0
      0x27 -> spur_isr interrupt_gate dpl 0 }
handler kbd_isr { ack kbd; eoi }
handler disk_isr { eoi }
handler spur_isr { %s }
check eoi_balanced
"""


def test_spurious_ir7_only_when_no_other_request_can_be_acknowledged() -> None:
    # 8259A data sheet (an input that goes inactive before INTA gives IR7 only if nothing else
    # is requesting); QEMU hw/intc/i8259.c pic_read_irq: pic_get_irq finds no other request
    ts = compile_source(SPURIOUS % "nop")
    irr = next(i for i, v in enumerate(ts.vars) if v.name == "master.IRR")
    naive = Naive(ts)
    spurious = [(s, ti) for s, out in naive.succ.items() for ti, _ in out if "spurious" in ts.transitions[ti].label.action]
    assert spurious, "the kbd's request may still drop before INTA"
    assert all(not bit(s[irr], 3) for s, _ in spurious)


def test_spurious_ir7_specific_eoi_7_is_harmless_nonspecific_is_not() -> None:
    # Linux arch/x86/kernel/i8259.c mask_and_ack_8259A: a spurious IRQ7 gets no EOI; a specific
    # EOI of level 7 finds ISR[7] clear and changes nothing
    assert ircheck.check_source(SPURIOUS % "eoi master.7").check("eoi_balanced").status == "holds"
    assert ircheck.check_source(SPURIOUS % "eoi").check("eoi_balanced").status == "violated"


# ---- P2 a shared level line is the wired OR of its sharers' requests -----------------------------

WIRED = """pic master : i8259 { base 0x20 }
device a { irq master.3 level raises 1 shared }
device b { irq master.3 level raises 1 shared }
device disk { irq master.5 edge raises 1 }
idt { 0x23 -> line3_isr interrupt_gate dpl 0
      0x25 -> disk_isr interrupt_gate dpl 0 }
handler line3_isr { %s; eoi }
handler disk_isr { eoi }
check no_starvation
"""


def test_wired_or_ack_of_one_sharer_leaves_the_line_high() -> None:
    # QEMU hw/pci/pci.c pci_change_irq_level counts the asserting devices of an INTx line; the
    # 8259A (pic_set_irq, level) follows the line: quieting a alone leaves b's request, a storm
    r = ircheck.check_source(WIRED % "ack a")
    c = r.check("no_starvation")
    assert c.status == "violated" and "IRQ 5 (master.5, disk)" in c.message
    assert ircheck.check_source(WIRED % "ack a; ack b").check("no_starvation").status == "holds"


def test_wired_or_sharer_asserts_while_the_line_is_high() -> None:
    _, states = reachable(WIRED % "ack a; ack b")
    assert any(s["a.asserting"] and s["b.asserting"] for s in states)
    # the line is exactly the OR of its sharers outside the handler's acks
    assert all(bit(s["master.IRR"], 3) == (s["a.asserting"] | s["b.asserting"]) for s in states)


KERNEL_WIRED = """pic master : i8259 { base 0x20 }
device eth { irq master.5 level raises 1 shared }
device usb { irq master.5 level raises 1 shared }
device disk { irq master.6 edge raises 1 }
request_irq 5 eth_isr shared dev_id eth
request_irq 5 usb_isr shared dev_id usb
request_irq 6 disk_isr
handler eth_isr { ack eth }
handler usb_isr { %s }
handler disk_isr { nop }
check no_starvation
"""


def test_wired_or_under_request_irq_a_driver_that_never_quiets_its_device_storms() -> None:
    assert ircheck.check_source(KERNEL_WIRED % "nop").check("no_starvation").status == "violated"
    assert ircheck.check_source(KERNEL_WIRED % "ack usb").check("no_starvation").status == "holds"
