"""Issue 16's Linux IRQ layer rules, pinned in both directions (docs/semantics.md L1-L9, P12).

Each test checks a small model with `ircheck.check_source` and states the verdict the rule
decides: the design that breaks the rule is violated, the one that respects it holds.
"""

from __future__ import annotations

import ircheck

PIC = "pic master : i8259 { base 0x20 }\n"


def report(text: str) -> ircheck.Report:
    r = ircheck.check_source(text)
    assert not r.errors, [d.render() for d in r.errors]
    return r


def status(text: str, name: str) -> str:
    return report(text).check(name).status


# ---- P12 on a request_irq line (issue 16 item 15) ----------------------------------------------------
# arch/x86/kernel/i8259.c `mask_and_ack_8259A`: a request that falls before INTA makes the 8259A
# deliver IR7 with ISR[7] clear (the "spurious 8259A interrupt" path); the line that dropped it may
# be bound with request_irq. Its spurious entry goes to the gate at base + 7 like on bare metal.

SPURIOUS = PIC + """device nic { irq master.3 edge raises 1 may_drop }
idt { 0x27 -> spur interrupt_gate }
handler spur { SPUR }
request_irq 3 nic_isr
handler nic_isr { read x }
data x
"""


def test_p12_a_may_drop_device_on_a_request_irq_line_gets_its_spurious_ir7() -> None:
    # the spurious handler that tests ISR[7] before its EOI holds ...
    r = report(SPURIOUS.replace("SPUR", "if in_service { eoi }"))
    assert r.check("eoi_balanced").status == "holds"
    assert r.check("no_starvation").status == "holds"
    # ... the one that EOIs blindly ends a service that never began (P12)
    res = report(SPURIOUS.replace("SPUR", "eoi")).check("eoi_balanced")
    assert res.status == "violated"
    assert any("spurious" in st.action for st in res.trace)
