"""The 8259A rules of issue 16, each pinned in both directions (docs/semantics.md P2, P7/P9, P12)."""

from __future__ import annotations

import ircheck

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
