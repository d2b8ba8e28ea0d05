"""The 8259A rules of issue 16, each pinned in both directions (docs/semantics.md P2, P7/P9, P12)."""

from __future__ import annotations

import ircheck
from ircheck.api import compile_source
from tests.support.naive import Naive, bit

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
