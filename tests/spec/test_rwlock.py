"""Readers-writer locks (R1; issue 17 item 4), each rule in both directions.

Sources: torvalds/linux kernel/locking/qrwlock.c `queued_read_lock_slowpath` (`if
(unlikely(in_interrupt()))` a reader waits only while `_QW_LOCKED`; otherwise it queues on
`wait_lock` behind a waiting writer), `queued_write_lock_slowpath` (`_QW_WAITING`, then waits for the
readers to go); include/linux/rwlock_api_smp.h (`__raw_read_lock_bh` disables BH first; the `_irq`,
`_irqsave` flavours as the spinlock's, K1)."""

from __future__ import annotations

from pathlib import Path

import pytest

import ircheck
from ircheck.api import compile_source
from ircheck.grammar.parser import parse
from ircheck.grammar.printer import format_source
from ircheck.promela import to_promela
from tests.support.spin import needs_spin, spin_violates

ISR_READER = """pic master : i8259 { base 0x20 }
device nic { irq master.3 edge raises 1 }
request_irq 3 nic_isr
rwlock tbl_lock
data tbl
handler nic_isr { read_lock tbl_lock; read tbl; read_unlock tbl_lock }
thread cfg on cpu0 { WLOCK tbl_lock; write tbl; WUNLOCK tbl_lock }
check no_deadlock, no_data_race
"""


def result(text: str, check: str) -> ircheck.CheckResult:
    r = ircheck.check_source(text)
    assert not r.errors, [d.render() for d in r.errors]
    return r.check(check)


def test_r1_writer_interrupted_by_its_reader_on_its_cpu_deadlocks_and_the_story_names_both() -> None:
    res = result(ISR_READER.replace("WLOCK", "write_lock").replace("WUNLOCK", "write_unlock"), "no_deadlock")
    assert res.status == "violated"
    assert "irq 3 nic_isr waits for rwlock tbl_lock (read), write-held by thread cfg, preempted on its CPU by " \
           "cpu0 irq 3 nic_isr" in res.message


@pytest.mark.parametrize("lock, unlock", [("write_lock_irq", "write_unlock_irq"),
                                          ("write_lock_irqsave", "write_unlock_irqrestore")])
def test_r1_writer_with_irqs_off_holds(lock: str, unlock: str) -> None:
    text = ISR_READER.replace("WLOCK", lock).replace("WUNLOCK", unlock)
    assert result(text, "no_deadlock").status == "holds"
    assert result(text, "no_data_race").status == "holds"  # the reader and the writer exclude each other


def test_r1_write_lock_bh_does_not_keep_a_hardirq_reader_out() -> None:
    text = ISR_READER.replace("WLOCK", "write_lock_bh").replace("WUNLOCK", "write_unlock_bh")
    assert result(text, "no_deadlock").status == "violated"


RECURSIVE = """cpus 2
rwlock L
thread r on cpu0 { read_lock L; read_lock L; read_unlock L; read_unlock L }
thread w on cpu1 { write_lock L; write_unlock L }
check no_deadlock
"""


def test_r1_recursive_read_in_process_context_with_a_waiting_writer_between_deadlocks() -> None:
    res = result(RECURSIVE, "no_deadlock")
    assert res.status == "violated"
    assert "thread r waits for rwlock L (read), behind the waiting writer thread w" in res.message
    assert "thread w waits for rwlock L (write), read-held by thread r" in res.message


def test_r1_recursive_read_with_bh_disabled_is_in_interrupt_and_holds() -> None:
    """in_interrupt() counts the softirq-disable count: `read_lock_bh` readers skip the waiting writer."""
    text = RECURSIVE.replace("read_lock L; read_lock L; read_unlock L; read_unlock L",
                             "read_lock_bh L; read_lock L; read_unlock L; read_unlock_bh L")
    assert result(text, "no_deadlock").status == "holds"


NESTED_READER = """cpus 2
pic master : i8259 { base 0x20 }
device nic { irq master.3 edge raises 1 on cpu0 }
request_irq 3 nic_isr
rwlock L
handler nic_isr { read_lock L; read_unlock L }
thread r on cpu0 { read_lock L; nop; read_unlock L }
thread w on cpu1 { write_lock L; write_unlock L }
check no_deadlock
"""


def test_r1_a_reader_in_an_isr_skips_the_waiting_writer_and_holds() -> None:
    assert result(NESTED_READER, "no_deadlock").status == "holds"


def test_r1_a_reader_in_a_task_behind_the_waiting_writer_deadlocks() -> None:
    """The same nesting with the inner reader in process context (a second read in the task)."""
    text = NESTED_READER.replace("read_lock L; nop; read_unlock L", "read_lock L; read_lock L; read_unlock L; "
                                 "read_unlock L")
    assert result(text, "no_deadlock").status == "violated"


def test_r1_a_writer_waiting_for_a_reader_that_never_releases_deadlocks() -> None:
    text = "cpus 2\nrwlock L\nthread r on cpu0 { read_lock L }\nthread w on cpu1 { write_lock L; write_unlock L }\n" \
           "check no_deadlock\n"
    res = result(text, "no_deadlock")
    assert res.status == "violated"
    assert "thread w waits for rwlock L (write), read-held by thread r, which finished holding it" in res.message
    fixed = text.replace("read_lock L }", "read_lock L; read_unlock L }")
    assert result(fixed, "no_deadlock").status == "holds"


def test_r1_two_readers_share_and_two_writers_exclude() -> None:
    both = "cpus 2\nrwlock L\ndata d\nthread a on cpu0 { A_LOCK L; ACCESS d; A_UNLOCK L }\n" \
           "thread b on cpu1 { A_LOCK L; ACCESS d; A_UNLOCK L }\ncheck no_data_race, no_deadlock\n"
    reads = both.replace("A_LOCK", "read_lock").replace("A_UNLOCK", "read_unlock").replace("ACCESS", "read")
    assert result(reads, "no_data_race").status == "holds" and result(reads, "no_deadlock").status == "holds"
    writes = both.replace("A_LOCK", "write_lock").replace("A_UNLOCK", "write_unlock").replace("ACCESS", "write")
    assert result(writes, "no_data_race").status == "holds"
    racy = both.replace("A_LOCK", "read_lock").replace("A_UNLOCK", "read_unlock").replace("ACCESS", "write")
    assert result(racy, "no_data_race").status == "violated"  # a reader that writes: readers share the lock


def test_r1_holding_an_rwlock_is_atomic() -> None:
    text = "rwlock L\nthread t on cpu0 { read_lock L; sleep; read_unlock L }\ncheck no_sleep_in_atomic\n"
    res = result(text, "no_sleep_in_atomic")
    assert res.status == "violated" and "holding rwlock L (read)" in res.message
    assert result(text.replace("read_lock L; sleep; read_unlock L", "read_lock L; read_unlock L; sleep"),
                  "no_sleep_in_atomic").status == "holds"


def test_r1_read_unlock_without_read_lock_is_a_bad_unlock_balance() -> None:
    text = "rwlock L\nthread t on cpu0 { read_unlock L }\ncheck lockdep\n"
    res = result(text, "lockdep")
    assert res.status == "violated" and "bad unlock balance" in res.message
    assert result("rwlock L\nthread t on cpu0 { read_lock L; read_unlock L }\ncheck lockdep\n",
                  "lockdep").status == "holds"


def test_r1_write_lock_on_a_spinlock_is_refused_with_its_position() -> None:
    r = ircheck.check_source("spinlock s\nthread t on cpu0 { write_lock s; write_unlock s }\n")
    assert r.errors and r.errors[0].code == "IRQ103"
    assert "'s' is a spinlock, not a rwlock" in r.errors[0].message
    assert (r.errors[0].line, r.errors[0].column) == (2, 31)


BUSY_READER = """cpus 3
rwlock L
flag g
thread r on cpu0 { READ }
thread w on cpu1 { write_lock L; write_unlock L }
thread busy on cpu2 { loop { set g; clear g } }
check no_deadlock
"""
ENGINE_MODELS = [ISR_READER.replace("WLOCK", "write_lock").replace("WUNLOCK", "write_unlock"),
                 ISR_READER.replace("WLOCK", "write_lock_irqsave").replace("WUNLOCK", "write_unlock_irqrestore"),
                 RECURSIVE, NESTED_READER,
                 # a writer blocked for ever by a finished reader while another CPU keeps running: SPIN sees
                 # it through the export's "held for ever" predicate, not a stuck machine
                 BUSY_READER.replace("READ", "read_lock L"), BUSY_READER.replace("READ", "read_lock L; read_unlock L")]


@pytest.mark.parametrize("text", ENGINE_MODELS)
def test_r1_z3_agrees_and_fmt_keeps_the_statements(text: str) -> None:
    explicit = ircheck.check_source(text, engine="explicit").check("no_deadlock").status
    assert ircheck.check_source(text, engine="smt").check("no_deadlock").status == explicit
    assert parse(format_source(text), "f.irq") == parse(text, "f.irq")


@needs_spin
@pytest.mark.parametrize("text", ENGINE_MODELS)
def test_r1_spin_agrees_on_the_export(text: str, tmp_path: Path) -> None:
    explicit = ircheck.check_source(text, engine="explicit").check("no_deadlock").status
    pml = to_promela(compile_source(text, checks=["no_deadlock"]))
    assert spin_violates(pml, tmp_path) == (explicit == "violated")
