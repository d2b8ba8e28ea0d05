"""lockdep's reader rules for rwlocks (K4, K5; issue 17 item 4), each in both directions.

Sources: torvalds/linux kernel/locking/lockdep.c `mark_lock_irq` (a new usage conflicts with the
exclusive bit, and a write also with its READ variant: read/read never conflicts), `mark_usage`
(`LOCK_USED_IN_*_READ`, `LOCK_ENABLED_*_READ`), `check_deadlock` (`(next->read == 2) && prev->read`:
only a recursive read may take a read-held lock again), `read_lock_is_recursive` (a queued rwlock's
reader is recursive in interrupt context), `check_irq_usage`/`exclusive_mask` (a read in IRQ
context makes a lock IRQ-safe; only a write with IRQs on makes one IRQ-unsafe);
Documentation/locking/lockdep-design.rst "Recursive read locks" (strong dependency paths)."""

from __future__ import annotations

import ircheck
from ircheck.grammar.parser import parse
from ircheck.spec.lockdep import judge
from ircheck.spec.repairs import candidates, combine
from ircheck.spec.tags import DepFact, UseFact

EXAMPLE = """pic master : i8259 { base 0x20 }
device nic { irq master.3 edge raises 1 }
request_irq 3 nic_isr
rwlock tbl_lock
data tbl
handler nic_isr { ISR }
thread cfg on cpu0 { TASK }
check lockdep
"""
READ_ISR = "read_lock tbl_lock; read tbl; read_unlock tbl_lock"
WRITE_ISR = "write_lock tbl_lock; write tbl; write_unlock tbl_lock"


def lockdep(isr: str, task: str) -> ircheck.CheckResult:
    r = ircheck.check_source(EXAMPLE.replace("ISR", isr).replace("TASK", task))
    assert not r.errors, [d.render() for d in r.errors]
    return r.check("lockdep")


def test_k4_read_in_hardirq_and_write_with_hardirqs_on_is_the_languages_example() -> None:
    res = lockdep(READ_ISR, "write_lock tbl_lock; write tbl; write_unlock tbl_lock")
    assert res.status == "violated"
    assert res.message.startswith("inconsistent {HARDIRQ-ON-W} -> {IN-HARDIRQ-R} usage: tbl_lock is read in "
                                  "hardirq context at line 6 (handler nic_isr) and written with hardirqs enabled "
                                  "at line 7 (thread cfg)")
    fixed = lockdep(READ_ISR, "write_lock_irqsave tbl_lock; write tbl; write_unlock_irqrestore tbl_lock")
    assert fixed.status == "holds"


def test_k4_read_in_hardirq_and_read_with_hardirqs_on_holds() -> None:
    assert lockdep(READ_ISR, "read_lock tbl_lock; read tbl; read_unlock tbl_lock").status == "holds"


def test_k4_write_in_hardirq_and_read_with_hardirqs_on_is_reported() -> None:
    res = lockdep(WRITE_ISR, "read_lock tbl_lock; read tbl; read_unlock tbl_lock")
    assert res.status == "violated" and "{IN-HARDIRQ-W}" in res.message and "{HARDIRQ-ON-R}" in res.message
    assert lockdep(WRITE_ISR, "read_lock_irq tbl_lock; read tbl; read_unlock_irq tbl_lock").status == "holds"


def test_k4_a_read_held_lock_gets_hardirq_on_r_when_irqs_go_on() -> None:
    """mark_held_locks: `sti` while read-holding gives HARDIRQ-ON-R; against a writer in hardirq context
    that is a conflict, against a reader in hardirq context it is not."""
    task = "cli; read_lock tbl_lock; sti; read_unlock tbl_lock"
    assert lockdep(WRITE_ISR, task).status == "violated"
    assert lockdep(READ_ISR, task).status == "holds"
    assert lockdep(WRITE_ISR, "cli; read_lock tbl_lock; read_unlock tbl_lock; sti").status == "holds"


SOFT = """rwlock L
softirq rx { read_lock L; read_unlock L }
thread t on cpu0 { raise_softirq rx; TAKE }
check lockdep
"""


def test_k4_softirq_reader_and_a_writer_with_softirqs_on() -> None:
    bad = ircheck.check_source(SOFT.replace("TAKE", "write_lock L; write_unlock L")).check("lockdep")
    assert bad.status == "violated" and "{SOFTIRQ-ON-W}" in bad.message and "{IN-SOFTIRQ-R}" in bad.message
    good = ircheck.check_source(SOFT.replace("TAKE", "write_lock_bh L; write_unlock_bh L")).check("lockdep")
    assert good.status == "holds"


def test_k5_read_after_read_in_process_context_is_recursive_locking() -> None:
    """A queued rwlock's reader in process context is not recursive: lockdep reports the second read."""
    res = lockdep(READ_ISR, "read_lock tbl_lock; read_lock tbl_lock; read_unlock tbl_lock; read_unlock tbl_lock")
    assert res.status == "violated" and "possible recursive locking detected: tbl_lock" in res.message


def test_k5_read_after_read_in_interrupt_context_is_allowed() -> None:
    isr = "read_lock tbl_lock; read_lock tbl_lock; read_unlock tbl_lock; read_unlock tbl_lock"
    assert lockdep(isr, "read_lock_irq tbl_lock; read_unlock_irq tbl_lock").status == "holds"
    # but a write under the read, anywhere, is
    assert lockdep("read_lock tbl_lock; write_lock tbl_lock; write_unlock tbl_lock; read_unlock tbl_lock",
                   "nop").status == "violated"


def test_k5_a_strong_cycle_is_reported_and_a_recursive_read_breaks_one() -> None:
    """lockdep-design.rst: no `-(*R)->` followed by `-(S*)->` on a strong path. t holds A and takes B as
    a recursive reader; u read-holds B and takes A: t gets B whatever u waits for - no deadlock."""
    t_takes_b = DepFact("A", "B", 1, "t", "ER").key
    u_takes_a = DepFact("B", "A", 2, "u", "RE").key
    assert judge([t_takes_b, u_takes_a]) == []
    # t takes B as a non-recursive reader (process context, queued rwlock): it may queue behind a writer
    out = judge([DepFact("A", "B", 1, "t", "EN").key, DepFact("B", "A", 2, "u", "NE").key])
    assert len(out) == 1 and "possible circular locking dependency" in out[0].message
    # exclusive edges as before
    assert len(judge([DepFact("A", "B", 1, "t").key, DepFact("B", "A", 2, "u").key])) == 1


def test_k5_irq_safe_to_read_unsafe_is_not_reported_but_to_write_unsafe_is() -> None:
    """check_irq_usage: a read in hardirq context makes A hardirq-safe; the forward search looks for
    LOCK_ENABLED_HARDIRQ (a write with hardirqs on), not its READ variant."""
    safe = UseFact("A", "IN-HARDIRQ-R", 1, "irq").key
    dep = DepFact("A", "B", 2, "t", "NE").key
    assert judge([safe, dep, UseFact("B", "HARDIRQ-ON-R", 3, "u").key]) == []
    out = judge([safe, dep, UseFact("B", "HARDIRQ-ON", 3, "u").key])
    assert len(out) == 1 and "HARDIRQ-safe -> HARDIRQ-unsafe lock order detected" in out[0].message


def test_the_writer_flavour_repair_makes_the_example_hold() -> None:
    """--suggest's lock_flavour (K1, K2, R1): a writer whose reader runs in hard IRQ takes the lock with
    `write_lock_irqsave`; the repaired model holds."""
    model = parse(EXAMPLE.replace("ISR", READ_ISR).replace("TASK", WRITE_ISR), "ex.irq")
    fixes = {c.key: combine(model.source, (c,)) for c in candidates(model)}
    fixed = fixes["irqsave:cfg:tbl_lock"]
    assert "write_lock_irqsave tbl_lock; write tbl; write_unlock_irqrestore tbl_lock" in fixed
    assert ircheck.check_source(fixed).check("lockdep").status == "holds"
    assert ircheck.check_source(fixes["bh:cfg:tbl_lock"]).check("lockdep").status == "violated"  # _bh is not enough
