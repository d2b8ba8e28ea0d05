"""Issue 16's Linux IRQ layer rules, pinned in both directions (docs/semantics.md L1-L9, P12).

Each test checks a small model with `ircheck.check_source` and states the verdict the rule
decides: the design that breaks the rule is violated, the one that respects it holds.
"""

from __future__ import annotations

import ircheck
from ircheck.api import compile_source
from tests.support.naive import distances

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


# ---- L5: the disable depth is exact (issue 16 item 10) -------------------------------------------------
# kernel/irq/manage.c `__disable_irq` (`desc->depth++`), `__enable_irq` (`case 0: WARN "Unbalanced
# enable"`, `case 1:` unmask, `default: desc->depth--`); kernel/irq/spurious.c `note_interrupt`
# (nobody cared, `desc->depth++; irq_disable(desc)`, is L9's liveness request: it adds no depth).

DEPTH = PIC + """device nic { irq master.3 edge raises 1 }
request_irq 3 nic_isr
handler nic_isr { read x }
data x
thread t {
    disable_irq 3
    disable_irq_nosync 3
    disable_irq 3
    ENABLES
}
check no_data_race, eoi_balanced, no_starvation
"""


def test_l5_three_disables_need_three_enables() -> None:
    # the write after two of three enables still runs with the IRQ disabled: no race ...
    r = report(DEPTH.replace("ENABLES", "enable_irq 3\n    enable_irq 3\n    write x\n    enable_irq 3"))
    assert [r.check(c).status for c in ("no_data_race", "eoi_balanced", "no_starvation")] == ["holds"] * 3
    # ... after all three enables the handler may run again: the write races with its read
    r = report(DEPTH.replace("ENABLES", "enable_irq 3\n    enable_irq 3\n    enable_irq 3\n    write x"))
    assert r.check("no_data_race").status == "violated"
    # a fourth enable is unbalanced; after two the handler never runs again, nor is a warning due
    r = report(DEPTH.replace("ENABLES", "enable_irq 3\n" * 4))
    assert r.check("eoi_balanced").status == "violated"
    assert "Unbalanced enable" in r.check("eoi_balanced").message
    r = report(DEPTH.replace("ENABLES", "enable_irq 3\n" * 2 + "write x"))
    assert [r.check(c).status for c in ("no_data_race", "eoi_balanced")] == ["holds"] * 2


def depths(text: str) -> set[int]:
    ts = compile_source(text)
    i = next(k for k, v in enumerate(ts.vars) if v.name == "irq3.depth")
    return {s[i] for s in distances(ts)}


def test_l5_a_disable_depth_beyond_the_sites_of_one_pass_is_a_bound_not_a_clamp() -> None:
    loop = DEPTH.replace("    disable_irq_nosync 3\n    disable_irq 3\n    ENABLES\n", "    loop { disable_irq_nosync 3 }\n")
    r = report(loop)
    assert r.check("no_data_race").status == "inconclusive"
    assert "irq3.depth reached the model's bound" in r.check("no_data_race").note


def test_l9_one_irq_none_adds_no_depth_so_a_disable_enable_pair_reenables() -> None:
    text = PIC + """device nic { irq master.3 edge raises 2 }
request_irq 3 nic_isr
handler nic_isr { return none }
thread t {
    disable_irq 3
    enable_irq 3
}
"""
    # kernel/irq/spurious.c note_interrupt: an unhandled interrupt is only counted (desc->irqs_unhandled);
    # the line is disabled after 99,900 of 100,000, which two raises never reach: only the thread's
    # disable_irq counts the depth, and its enable_irq brings it back to 0
    assert depths(text) == {0, 1}


# ---- L3/L8: IRQF_ONESHOT (issue 16 item 8) ----------------------------------------------------------------
# kernel/irq/chip.c: `handle_level_irq` masks (mask_ack_irq) and `cond_unmask_irq` leaves the line
# masked while `desc->threads_oneshot` is not 0; `handle_edge_irq` never masks for IRQF_ONESHOT.
# kernel/irq/manage.c `irq_finalize_oneshot`: clears the thread's bit and unmasks only when no bit is
# left; `__setup_irq`: IRQF_ONESHOT without a thread is accepted, sharers must agree on it (-EBUSY).

ONESHOT = PIC + """device nic { irq master.4 TRIG raises 2 }
request_irq 4 h thread t oneshot
data x
handler h {
    write x
    return wake_thread
}
irq_thread t {
    read x
    ACK
}
check no_data_race
"""


def test_l8_oneshot_keeps_an_8259a_line_masked_until_the_thread_returns_edge_or_level() -> None:
    # every 8259A line uses handle_level_irq (L0), which masks a oneshot line until the thread returns:
    # the primary handler never runs while the thread does, whatever the trigger. (handle_edge_irq,
    # which does not mask for oneshot, is the I/O APIC edge pins' and MSI's flow: not modelled yet.)
    for trig, ack in (("edge", "nop"), ("level", "ack nic")):
        text = ONESHOT.replace("TRIG", trig).replace("ACK", ack)
        assert status(text, "no_data_race") == "holds", trig
    # without oneshot the level flow unmasks at its end: the next interrupt's primary races the thread
    text = ONESHOT.replace("TRIG", "edge").replace("ACK", "nop").replace(" oneshot", "")
    res = report(text).check("no_data_race")
    assert res.status == "violated"
    assert any("irq_thread t" in st.context for st in res.trace)


SHARED_ONESHOT = PIC + """device a { irq master.4 level raises 1 shared }
device b { irq master.4 level raises 1 shared }
request_irq 4 ha shared dev_id a thread ta oneshot
request_irq 4 hb shared dev_id b thread tb oneshot
data x
handler ha { return wake_thread }
handler hb { return wake_thread }
irq_thread ta {
    ack a
    TA
}
irq_thread tb {
    ack b
    write x
}
check no_data_race
"""


def test_l8_a_shared_oneshot_line_is_unmasked_only_when_every_woken_thread_has_finished() -> None:
    text = SHARED_ONESHOT.replace("TA", "nop")
    ts = compile_source(text)
    idx = {v.name: k for k, v in enumerate(ts.vars)}
    busy = [s for s in distances(ts) if s[idx["ta.wake"]] or s[idx["tb.wake"]]
            or ts.vars[idx["ta.pc"]].names[s[idx["ta.pc"]]] != "ta:idle"
            or ts.vars[idx["tb.pc"]].names[s[idx["tb.pc"]]] != "tb:idle"]
    # threads_oneshot: while either thread is woken or running, the line stays masked
    assert busy and all(s[idx["master.IMR"]] >> 4 & 1 for s in busy)


def test_l8_oneshot_without_a_thread_is_accepted_and_must_be_set_by_every_sharer() -> None:
    base = PIC + """device a { irq master.4 level raises 1 shared }
device b { irq master.4 level raises 1 shared }
request_irq 4 ha shared dev_id a oneshot
request_irq 4 hb shared dev_id b OPT
handler ha { ack a }
handler hb { ack b }
"""
    assert report(base.replace("OPT", "oneshot")).check("no_starvation").status == "holds"
    errs = ircheck.check_source(base.replace("OPT", "")).errors
    assert [d.code for d in errs] == ["IRQ501"] and "IRQF_ONESHOT" in errs[0].message


# ---- L1: a handler that enables interrupts (issue 16 item 9) ----------------------------------------------
# kernel/irq/handle.c `__handle_irq_event_percpu`: after `action->handler()` returns,
# `WARN_ONCE(!irqs_disabled(), "irq %u handler %pS enabled interrupts\n")` and `local_irq_disable()`.

ENABLES = PIC + """device nic { irq master.3 edge raises 1 }
request_irq 3 nic_isr
spinlock l
handler nic_isr {
    BODY
}
check eoi_balanced
"""


def test_l1_a_handler_returning_with_irqs_enabled_is_the_kernels_warning() -> None:
    for body in ("spin_lock_irq l\n    spin_unlock_irq l", "sti", "sti\n    return handled"):
        res = report(ENABLES.replace("BODY", body)).check("eoi_balanced")
        assert res.status == "violated", body
        assert "irq 3 handler nic_isr enabled interrupts" in res.message and "(L1)" in res.message
    # the irqsave flavour restores IF=0; the WARN looks at IF when the handler returns, as the kernel does
    for body in ("spin_lock_irqsave l\n    spin_unlock_irqrestore l", "sti\n    cli"):
        assert status(ENABLES.replace("BODY", body), "eoi_balanced") == "holds", body
