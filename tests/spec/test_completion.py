"""R6, completions: complete, complete_all, reinit_completion, wait_for_completion[_timeout].
docs/semantics.md R6; Linux kernel/sched/completion.c (`complete`: done++ and wake one waiter in
queue order; `complete_all`: done = UINT_MAX, wake all; `do_wait_for_common`: take one at once if
done > 0, else queue at the exclusive tail and sleep; `__wait_for_common`: might_sleep()),
include/linux/completion.h (`reinit_completion`: done = 0). Each rule in both directions."""

from __future__ import annotations

from pathlib import Path

import pytest

import ircheck
from ircheck.api import compile_source
from ircheck.promela import to_promela
from tests.conftest import MODELS
from tests.support.spin import needs_spin, spin_violates

SUBMIT = """cpus 2
pic master : i8259 { base 0x20 }
device fw { irq master.5 edge on_kick on cpu0 }
request_irq 5 fw_isr
completion fw_done
handler fw_isr { complete fw_done }
thread loader on cpu1 { BODY }
check no_lost_wakeup, no_deadlock, no_sleep_in_atomic
"""


def verdict(text: str, check: str) -> str:
    r = ircheck.check_source(text)
    assert not r.errors, r.errors
    return r.check(check).status


def test_r6_reinit_after_submit_loses_the_completion() -> None:
    r = ircheck.check_source(SUBMIT.replace("BODY", "kick fw; reinit_completion fw_done; wait_for_completion fw_done"))
    res = r.check("no_lost_wakeup")
    assert res.status == "violated"
    assert "reinit_completion erased" in res.message


def test_r6_reinit_before_submit_holds() -> None:
    text = SUBMIT.replace("BODY", "reinit_completion fw_done; kick fw; wait_for_completion fw_done")
    for check in ("no_lost_wakeup", "no_deadlock", "no_sleep_in_atomic"):
        assert verdict(text, check) == "holds", check


WAITERS = """cpus 3
completion c
flag a_done
flag b_done
thread a on cpu0 { wait_for_completion c; set a_done }
thread b on cpu1 { wait_for_completion c; set b_done }
thread waker on cpu2 { WAKE }
check invariant INV
"""


def test_r6_complete_lets_one_waiter_through() -> None:
    text = WAITERS.replace("WAKE", "complete c")
    assert verdict(text.replace("INV", "not (a_done and b_done)"), "invariant") == "holds"
    assert verdict(text.replace("INV", "not a_done"), "invariant") == "violated"
    assert verdict(text.replace("INV", "not b_done"), "invariant") == "violated"


def test_r6_complete_all_lets_every_waiter_through() -> None:
    text = WAITERS.replace("WAKE", "complete_all c")
    assert verdict(text.replace("INV", "not (a_done and b_done)"), "invariant") == "violated"


@pytest.mark.parametrize(("body", "status"), [
    ("complete c; wait_for_completion c; set passed", "violated"),           # done = 1 lets the next wait through
    ("complete_all c; wait_for_completion c; wait_for_completion c; set passed", "violated"),  # all future waits
    ("complete_all c; wait_for_completion c; reinit_completion c; wait_for_completion c; set passed", "holds"),
    ("complete c; wait_for_completion c; wait_for_completion c; set passed", "holds"),  # one complete, one wait
])
def test_r6_the_done_count(body: str, status: str) -> None:
    text = f"completion c\nflag passed\nthread t {{ {body} }}\ncheck invariant not passed\n"
    assert verdict(text, "invariant") == status


def test_r6_wait_for_completion_timeout_gives_up() -> None:
    text = """completion c
flag gave_up
thread t { wait_for_completion_timeout c; if not woken { set gave_up } }
check invariant not gave_up
"""
    assert verdict(text, "invariant") == "violated"
    assert verdict(text.replace("thread t {", "thread t { complete c;"), "invariant") == "holds"


@pytest.mark.parametrize(("handler", "status"), [("wait_for_completion c", "violated"), ("complete c", "holds"),
                                                 ("complete_all c", "holds")])
def test_d4_waiting_sleeps_completing_does_not(handler: str, status: str) -> None:
    text = f"""cpus 2
pic master : i8259 {{ base 0x20 }}
device d {{ irq master.3 edge raises 1 on cpu0 }}
request_irq 3 h
completion c
handler h {{ {handler} }}
thread t on cpu1 {{ complete c; wait_for_completion c }}
check no_sleep_in_atomic
"""
    assert verdict(text, "no_sleep_in_atomic") == status


def test_d4_waiting_under_a_spinlock() -> None:
    text = "completion c\nspinlock l\nthread t { complete c; spin_lock l; wait_for_completion c; spin_unlock l }\n" \
           "check no_sleep_in_atomic\n"
    assert verdict(text, "no_sleep_in_atomic") == "violated"
    assert verdict(text.replace("spin_lock l; wait_for_completion c; spin_unlock l",
                                "spin_lock l; spin_unlock l; wait_for_completion c"), "no_sleep_in_atomic") == "holds"


def test_k6_a_complete_past_the_counted_sites_is_inconclusive() -> None:
    # a device that raises for ever completes more often than the code's sites: never a silent clamp
    text = """pic master : i8259 { base 0x20 }
device d { irq master.3 edge raises any }
request_irq 3 h
completion c
handler h { complete c }
thread t { wait_for_completion c }
check no_deadlock
"""
    assert verdict(text, "no_deadlock") == "inconclusive"


def test_completion_operand_kind_is_checked() -> None:
    r = ircheck.check_source("waitqueue q\nthread t { wait_for_completion q }\n")
    assert [e.code for e in r.errors] == ["IRQ103"]


def test_r6_under_z3() -> None:
    for wake, want in (("complete c", "holds"), ("complete_all c", "violated")):
        r = ircheck.check_source(WAITERS.replace("WAKE", wake).replace("INV", "not (a_done and b_done)"),
                                 engine="smt", checks=["invariant"])
        assert r.check("invariant").status == want, (wake, r.check("invariant").message, r.stats)


@needs_spin
def test_r6_under_spin(tmp_path: Path) -> None:
    for wake, want in (("complete c", False), ("complete_all c", True)):
        ts = compile_source(WAITERS.replace("WAKE", wake).replace("INV", "not (a_done and b_done)"),
                            checks=["invariant"])
        assert spin_violates(to_promela(ts), tmp_path) == want, wake
    ts = compile_source((MODELS / "kernel_completion_wait_in_hardirq.irq").read_text(), checks=["no_sleep_in_atomic"])
    assert spin_violates(to_promela(ts), tmp_path)  # wait_for_completion in a hard-IRQ handler
