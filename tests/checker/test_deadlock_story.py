"""A deadlock found as a state property (ABBA, K3) names its locks and wait-for edges (issue 16 item 17)."""

from __future__ import annotations

import ircheck
from tests.conftest import MODELS


def test_abba_names_who_waits_for_which_lock_held_by_whom() -> None:
    res = ircheck.check_file(MODELS / "kernel_abba_two_cpus.irq", checks=["no_deadlock"]).check("no_deadlock")
    assert res.status == "violated"
    assert res.message.endswith("(wait-for: thread submit waits for spinlock queue_lock, held by thread reset; "
                                "thread reset waits for spinlock dev_lock, held by thread submit)")


def test_k3_names_the_lock_and_the_preempted_holder() -> None:
    res = ircheck.check_file(MODELS / "lang_deadlock_spin_lock.irq", checks=["no_deadlock"]).check("no_deadlock")
    assert "(wait-for: cpu0 irq 3 nic_isr waits for spinlock rx_lock, held by thread app, preempted on its CPU by " \
           "cpu0 irq 3 nic_isr)" in res.message


def test_a_model_without_a_deadlock_has_no_story() -> None:
    res = ircheck.check_file(MODELS / "kernel_abba_lockdep_only.irq", checks=["no_deadlock"]).check("no_deadlock")
    assert res.status == "holds" and res.message == ""
