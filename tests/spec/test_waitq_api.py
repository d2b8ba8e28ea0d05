"""R5, the wait-queue API: prepare_to_wait[_exclusive], schedule, schedule_timeout, finish_wait,
wait_event_exclusive, wait_event_timeout, wake_up vs wake_up_all, `if woken`. docs/semantics.md R5;
Linux kernel/sched/wait.c (`prepare_to_wait`, `prepare_to_wait_exclusive`, `finish_wait`,
`__wake_up_common`: every non-exclusive waiter and the first exclusive one whose wake-up succeeds,
`autoremove_wake_function`), include/linux/wait.h (`___wait_event`, `___wait_cond_timeout`: a timed
wait may end with its condition false). Each rule in both directions."""

from __future__ import annotations

from pathlib import Path

import pytest

import ircheck
from ircheck.api import compile_source
from ircheck.promela import to_promela
from tests.support.spin import needs_spin, spin_violates

EPOLL = """cpus 2
pic master : i8259 { base 0x20 }
device nic { irq master.3 edge raises 1 on cpu0 }
request_irq 3 nic_isr
waitqueue ep_wq
flag ready
handler nic_isr { set ready; wake_up ep_wq }
thread reader on cpu1 { BODY }
check no_lost_wakeup
"""


def verdict(text: str, check: str) -> str:
    r = ircheck.check_source(text)
    assert not r.errors, r.errors
    return r.check(check).status


def test_r5_prepare_to_wait_before_the_test_loses_nothing() -> None:
    # a wake_up between prepare_to_wait and schedule sets the task running: schedule returns at once
    body = "prepare_to_wait ep_wq; if not ready { schedule }; finish_wait ep_wq"
    assert verdict(EPOLL.replace("BODY", body), "no_lost_wakeup") == "holds"


def test_r5_w1_the_test_before_prepare_to_wait_loses_the_wake_up() -> None:
    body = "if not ready { prepare_to_wait ep_wq; schedule; finish_wait ep_wq }"
    r = ircheck.check_source(EPOLL.replace("BODY", body))
    res = r.check("no_lost_wakeup")
    assert res.status == "violated"
    assert "`ready` is true" in res.message and "ep_wq" in res.message


def test_r5_a_timed_sleep_never_sleeps_for_ever() -> None:
    # the same race with schedule_timeout: the timeout ends the sleep, no_lost_wakeup does not judge it
    body = "if not ready { prepare_to_wait ep_wq; schedule_timeout; finish_wait ep_wq }"
    assert verdict(EPOLL.replace("BODY", body), "no_lost_wakeup") == "holds"


ORDER = """cpus 4
waitqueue q
flag a_queued
flag b_queued
flag a_ran
flag b_ran
thread a on cpu0 { prepare_to_wait_exclusive q; set a_queued; schedule; finish_wait q; set a_ran }
thread b on cpu1 { while not a_queued { nop }; prepare_to_wait_exclusive q; set b_queued; schedule; finish_wait q;
                   set b_ran }
thread waker on cpu2 { while not b_queued { nop }; WAKE q }
check invariant not b_ran
"""


def test_r5_wake_up_wakes_only_the_first_exclusive_waiter_in_queue_order() -> None:
    # a queued first: one wake_up wakes a (removed at once), b sleeps on
    assert verdict(ORDER.replace("WAKE", "wake_up"), "invariant") == "holds"


def test_r5_wake_up_all_wakes_every_exclusive_waiter() -> None:
    assert verdict(ORDER.replace("WAKE", "wake_up_all"), "invariant") == "violated"


def test_r5_wake_up_wakes_every_non_exclusive_waiter() -> None:
    text = ORDER.replace("prepare_to_wait_exclusive", "prepare_to_wait").replace("WAKE", "wake_up")
    assert verdict(text, "invariant") == "violated"


def test_r5_a_woken_entry_cannot_absorb_a_second_wake_up() -> None:
    # two wake_ups: the first removes a's entry, so the second wakes b
    text = ORDER.replace("WAKE q", "wake_up q; wake_up q")
    assert verdict(text, "invariant") == "violated"


def test_r5_an_exclusive_entry_whose_task_runs_is_skipped() -> None:
    # a timed out (running, still queued: schedule_timeout does not dequeue) before the wake_up: the
    # wake-up does not count for it (try_to_wake_up returns 0) and goes on to b
    text = ORDER.replace("set a_queued; schedule;", "set a_queued; schedule_timeout; set a_ran;") \
        .replace("while not b_queued { nop }", "while not b_queued or not a_ran { nop }")
    assert verdict(text.replace("WAKE", "wake_up"), "invariant") == "violated"


def test_r5_exclusive_waiters_the_design_assumed_all_woken() -> None:
    text = """cpus 3
pic master : i8259 { base 0x20 }
device nic { irq master.3 edge raises 1 on cpu0 }
request_irq 3 nic_isr
counter backlog max 2
waitqueue accept_wq
handler nic_isr { inc backlog; inc backlog; WAKE accept_wq }
thread a on cpu1 { wait_event_exclusive accept_wq until backlog > 0 }
thread b on cpu2 { wait_event_exclusive accept_wq until backlog > 0 }
check no_lost_wakeup
"""
    assert verdict(text.replace("WAKE", "wake_up"), "no_lost_wakeup") == "violated"
    assert verdict(text.replace("WAKE", "wake_up_all"), "no_lost_wakeup") == "holds"


TIMED = """waitqueue q
flag f
flag gave_up
flag bad
thread t { BODY }
check invariant INV
"""


def test_r5_wait_event_timeout_may_give_up_with_the_condition_false() -> None:
    body = "wait_event_timeout q until f; if not woken { set gave_up; if f { set bad } }"
    text = TIMED.replace("BODY", body)
    assert verdict(text.replace("INV", "not gave_up"), "invariant") == "violated"
    # it gives up only with the condition false (___wait_cond_timeout)
    assert verdict(text.replace("INV", "not bad"), "invariant") == "holds"


def test_r5_schedule_timeout_and_if_woken() -> None:
    body = "prepare_to_wait q; schedule_timeout; if woken { set bad } else { set gave_up }; finish_wait q"
    text = TIMED.replace("BODY", body)
    assert verdict(text.replace("INV", "not bad"), "invariant") == "holds"          # nobody wakes it
    assert verdict(text.replace("INV", "not gave_up"), "invariant") == "violated"   # the timeout ends it
    woken = "cpus 2\n" + text.replace("thread t {", "thread waker on cpu1 { wake_up q }\nthread t on cpu0 {")
    assert verdict(woken.replace("INV", "not bad"), "invariant") == "violated"


@pytest.mark.parametrize(("body", "status"), [
    ("prepare_to_wait q; spin_lock l; schedule; spin_unlock l; finish_wait q", "violated"),
    ("spin_lock l; prepare_to_wait q; spin_unlock l; schedule; finish_wait q", "holds"),
    ("prepare_to_wait q; local_irq_disable; schedule; local_irq_enable; finish_wait q", "violated"),
])
def test_d4_schedule_in_atomic_context(body: str, status: str) -> None:
    text = f"waitqueue q\nspinlock l\nthread t {{ {body} }}\nthread w {{ wake_up q }}\ncheck no_sleep_in_atomic\n"
    assert verdict(text, "no_sleep_in_atomic") == status


def test_d4_schedule_in_a_handler() -> None:
    text = """pic master : i8259 { base 0x20 }
device d { irq master.3 edge raises 1 }
request_irq 3 h
waitqueue q
handler h { STMT }
check no_sleep_in_atomic
"""
    assert verdict(text.replace("STMT", "schedule"), "no_sleep_in_atomic") == "violated"
    assert verdict(text.replace("STMT", "wake_up_all q"), "no_sleep_in_atomic") == "holds"


def test_woken_outside_process_context_is_refused() -> None:
    text = """pic master : i8259 { base 0x20 }
device d { irq master.3 edge raises 1 }
request_irq 3 h
handler h { if woken { nop } }
"""
    r = ircheck.check_source(text)
    assert [e.code for e in r.errors] == ["IRQ320"]


# the same rule without spinning loops, small enough for Z3's proofs on a loaded machine: one wake_up lets
# at most one of two exclusive waiters through, wake_up_all both
ONE_OF_TWO = """cpus 2
waitqueue q
flag a_ran
flag b_ran
thread a on cpu0 { prepare_to_wait_exclusive q; schedule; finish_wait q; set a_ran }
thread b on cpu0 { prepare_to_wait_exclusive q; schedule; finish_wait q; set b_ran }
thread waker on cpu1 { WAKE q }
check invariant not (a_ran and b_ran)
"""


def test_r5_one_wake_up_one_exclusive_waiter() -> None:
    assert verdict(ONE_OF_TWO.replace("WAKE", "wake_up"), "invariant") == "holds"
    assert verdict(ONE_OF_TWO.replace("WAKE", "wake_up_all"), "invariant") == "violated"


def test_r5_under_z3() -> None:
    for wake, want in (("wake_up", "holds"), ("wake_up_all", "violated")):
        r = ircheck.check_source(ONE_OF_TWO.replace("WAKE", wake), engine="smt", checks=["invariant"])
        assert r.check("invariant").status == want, (wake, r.check("invariant").message, r.stats)


@needs_spin
def test_r5_under_spin(tmp_path: Path) -> None:
    for wake, want in (("wake_up", False), ("wake_up_all", True)):
        ts = compile_source(ORDER.replace("WAKE", wake), checks=["invariant"])
        assert spin_violates(to_promela(ts), tmp_path) == want, wake
    ts = compile_source("waitqueue q\nspinlock l\nthread t { prepare_to_wait q; spin_lock l; schedule; spin_unlock l; "
                        "finish_wait q }\nthread w { wake_up q }\n", checks=["no_sleep_in_atomic"])
    assert spin_violates(to_promela(ts), tmp_path)  # schedule in atomic context: a state property SPIN asserts


def test_r5_finish_wait_without_prepare_to_wait_removes_nothing() -> None:
    # found by the front-end fuzzer (a KeyError in the lowering): finish_wait on an entry that was never
    # queued only sets TASK_RUNNING - DEFINE_WAIT's list is empty, so kernel/sched/wait.c `finish_wait`
    # skips list_del_init (`list_empty_careful`); schedule() in TASK_RUNNING returns at once
    text = """flag ready
waitqueue q
thread a { if not ready { schedule; finish_wait q } }
thread b on cpu0 { prepare_to_wait q; if not ready { schedule }; finish_wait q }
handler h { set ready; wake_up q }
"""
    assert verdict(text, "no_lost_wakeup") == "holds"
    r = ircheck.check_source(text.replace("thread b on cpu0 { prepare_to_wait q; ", "thread b on cpu0 { "))
    assert not r.errors and {c.name: c.status for c in r.checks}["no_lost_wakeup"] == "holds"
