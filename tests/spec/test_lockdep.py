"""lockdep's rules over paths and usages (K4, K5; issue 16 items 12 and 13), in both directions.

Sources: torvalds/linux kernel/locking/lockdep.c `check_irq_usage` (a backward BFS from the new
dependency's source for irq-safe locks, a forward BFS from its target for irq-unsafe ones),
`print_irq_lock_scenario` ("Chain exists of: safe --> middle --> unsafe")."""

from __future__ import annotations

import ircheck
from ircheck.spec.lockdep import judge
from ircheck.spec.tags import DepFact, UseFact

CHAIN = """pic master : i8259 { base 0x20 }
device nic { irq master.3 edge raises 1 }
spinlock A
spinlock B
spinlock C
request_irq 3 isr
handler isr { spin_lock A; spin_unlock A }
thread t0 on cpu0 { spin_lock_irqsave A; spin_lock B; spin_unlock B; spin_unlock_irqrestore A }
thread t1 on cpu0 { spin_lock_irqsave B; spin_lock C; spin_unlock C; spin_unlock_irqrestore B }
thread t2 on cpu0 { TAKE_C }
check lockdep
"""


def lockdep(text: str) -> ircheck.CheckResult:
    r = ircheck.check_source(text)
    assert not r.errors, [d.render() for d in r.errors]
    return r.check("lockdep")


def test_k5_safe_reaches_unsafe_through_a_chain_is_reported_and_named() -> None:
    """A is hardirq-safe, A -> B -> C, C is taken with hardirqs on: no single edge is safe -> unsafe,
    the path is (before issue 16: "holds")."""
    res = lockdep(CHAIN.replace("TAKE_C", "spin_lock C; spin_unlock C"))
    assert res.status == "violated"
    assert res.message.startswith("HARDIRQ-safe -> HARDIRQ-unsafe lock order detected: "
                                  "the dependency chain A --> B --> C: ")
    assert "thread t0 takes B while holding A (line 8); thread t1 takes C while holding B (line 9)" in res.message
    assert "C with hardirqs enabled at line 10 (thread t2)" in res.message
    assert "Chain exists of:\n  A --> B --> C\n" in res.message
    # the witness is the dependency that completes the chain
    assert res.line == 9 and res.trace[-1].action == "spin_lock C"


def test_k5_chain_to_a_lock_never_taken_with_irqs_on_holds() -> None:
    assert lockdep(CHAIN.replace("TAKE_C", "spin_lock_irqsave C; spin_unlock_irqrestore C")).status == "holds"


def test_k5_chain_judged_from_facts() -> None:
    """The judge alone: a direct edge keeps its old report; a chain of three edges is found whatever
    the order the facts came in, and not when a link is missing."""
    use = [UseFact("A", "IN-HARDIRQ", 1, "irq").key, UseFact("D", "HARDIRQ-ON", 2, "t").key]
    deps = [DepFact("A", "B", 3, "t").key, DepFact("B", "C", 4, "t").key, DepFact("C", "D", 5, "t").key]
    for order in (use + deps, deps[::-1] + use):
        out = judge(order)
        assert len(out) == 1 and "the dependency chain A --> B --> C --> D: " in out[0].message
        assert out[0].witness == max(deps, key=order.index)
    assert judge(use + deps[:2]) == []
    direct = judge(use + [DepFact("A", "D", 7, "t").key])
    assert len(direct) == 1 and "chain" not in direct[0].message
    assert direct[0].message.startswith("HARDIRQ-safe -> HARDIRQ-unsafe lock order detected: t takes D while holding A")


HELD = """pic master : i8259 { base 0x20 }
device nic { irq master.3 edge raises 1 }
spinlock A
spinlock B
request_irq 3 isr
handler isr { spin_lock A; spin_unlock A }
thread t0 on cpu0 { BODY }
check lockdep
"""


def test_k4_a_lock_held_when_irqs_get_enabled_is_hardirq_on() -> None:
    """mark_held_locks (lockdep.c `lockdep_hardirqs_on_prepare`): A is taken with IRQs off, but still
    held when `spin_unlock_irq B` turns them on: HARDIRQ-ON, against the handler's IN-HARDIRQ (before
    issue 16: "holds")."""
    res = lockdep(HELD.replace("BODY", "spin_lock_irq B; spin_lock A; spin_unlock_irq B; spin_unlock A"))
    assert res.status == "violated"
    assert res.message.startswith("inconsistent {IN-HARDIRQ-W} -> {HARDIRQ-ON-W} usage: A ")
    assert res.trace[-1].action == "spin_unlock_irq B"
    for on in ("sti", "local_irq_restore"):  # the other ways IRQs get enabled
        body = "cli; spin_lock A; sti; spin_unlock A" if on == "sti" else \
            "local_irq_save; spin_lock A; local_irq_restore; spin_unlock A"
        assert lockdep(HELD.replace("BODY", body)).status == "violated", on


def test_k4_locks_released_before_irqs_get_enabled_hold() -> None:
    assert lockdep(HELD.replace("BODY", "spin_lock_irq B; spin_lock A; spin_unlock A; spin_unlock_irq B")
                   ).status == "holds"
    # a restore that is not the last one leaves IRQs off: nothing is marked
    assert lockdep(HELD.replace("BODY", "local_irq_save; local_irq_save; spin_lock A; local_irq_restore; "
                                        "spin_unlock A; local_irq_restore")).status == "holds"


NMI = """pic master : i8259 { base 0x20 }
device wdt { nmi raises 1 }
idt { 0x02 -> nmi_h interrupt_gate dpl 0 }
spinlock A
handler nmi_h { spin_lock A; spin_unlock A }
thread t0 on cpu0 { BODY }
check lockdep
"""


def test_k4_a_lock_taken_in_nmi_and_elsewhere_is_a_usage_bug() -> None:
    """verify_lock_unused: no lock is NMI-safe; IRQs off around the other use do not help (before
    issue 16 the NMI's acquisition was an ordinary IN-HARDIRQ usage and this held)."""
    res = lockdep(NMI.replace("BODY", "spin_lock_irqsave A; spin_unlock_irqrestore A"))
    assert res.status == "violated"
    assert res.message.startswith("inconsistent {INITIAL USE} -> {IN-NMI} usage: A is taken in NMI context "
                                  "at line 5 (handler nmi_h) and used outside NMI context at line 6 (thread t0)")
    assert "<NMI>" in res.message


def test_k4_a_lock_only_nmi_takes_holds() -> None:
    assert lockdep(NMI.replace("BODY", "nop")).status == "holds"
