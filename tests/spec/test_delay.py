"""D6: `udelay`, `mdelay`, `msleep` finish only after every interrupt pending and deliverable to this
CPU has been delivered (and every kicked on_kick device it takes has answered, P1b); `msleep` sleeps
(D4). docs/semantics.md D6; Linux include/linux/delay.h (`udelay`, `mdelay`: busy-wait; `msleep`:
schedule_timeout, a sleep). Each rule in both directions."""

from __future__ import annotations

from pathlib import Path

import pytest

import ircheck
from ircheck.api import compile_source
from ircheck.promela import to_promela
from tests.support.spin import needs_spin, spin_violates

PROBE = """pic master : i8259 { base 0x20 }
device card { irq master.5 edge on_kick }
counter answers max 3
flag looked
request_irq 5 card_isr
handler card_isr { inc answers }
thread app { BODY }
check invariant not looked or answers == 1
"""


def verdict(text: str, check: str) -> str:
    r = ircheck.check_source(text)
    assert not r.errors, r.errors
    return r.check(check).status


@pytest.mark.parametrize("delay", ["udelay", "mdelay", "msleep"])
def test_d6_a_delay_after_the_kick_sees_the_answer(delay: str) -> None:
    assert verdict(PROBE.replace("BODY", f"kick card; {delay}; set looked"), "invariant") == "holds"


def test_d6_without_the_delay_the_answer_may_not_have_come() -> None:
    assert verdict(PROBE.replace("BODY", "kick card; set looked"), "invariant") == "violated"


def test_d6_a_delay_with_irqs_off_delivers_nothing() -> None:
    # nothing maskable is deliverable with IF = 0: the busy-wait ends before the answer is taken
    body = "local_irq_save; kick card; udelay; set looked; local_irq_restore"
    assert verdict(PROBE.replace("BODY", body), "invariant") == "violated"


def test_d6_a_kicked_level_device_is_answered_and_acked_before_the_delay_ends() -> None:
    text = PROBE.replace("edge on_kick", "level on_kick").replace("inc answers", "ack card; inc answers")
    assert verdict(text.replace("BODY", "kick card; udelay; set looked"), "invariant") == "holds"
    assert verdict(text.replace("BODY", "kick card; set looked"), "invariant") == "violated"


def test_d6_a_delay_waits_only_for_what_this_cpu_takes() -> None:
    # the card's interrupts go to cpu0 only; a delay on cpu1 does not wait for them
    text = "cpus 2\n" + PROBE.replace("edge on_kick", "edge on_kick  on cpu0")
    assert verdict(text.replace("BODY", "kick card; udelay; set looked").replace("thread app", "thread app on cpu0"),
                   "invariant") == "holds"
    assert verdict(text.replace("BODY", "kick card; udelay; set looked").replace("thread app", "thread app on cpu1"),
                   "invariant") == "violated"


@pytest.mark.parametrize(("where", "status"), [("thread app { msleep }", "holds"),
                                               ("thread app { spin_lock l; msleep; spin_unlock l }", "violated"),
                                               ("thread app { udelay }", "holds")])
def test_d4_msleep_sleeps_udelay_does_not(where: str, status: str) -> None:
    text = f"""pic master : i8259 {{ base 0x20 }}
spinlock l
{where}
check no_sleep_in_atomic
"""
    assert verdict(text, "no_sleep_in_atomic") == status


@pytest.mark.parametrize(("delay", "status"), [("msleep", "violated"), ("udelay", "holds"), ("mdelay", "holds")])
def test_d4_in_a_handler_only_msleep_is_a_bug(delay: str, status: str) -> None:
    text = PROBE.replace("inc answers", f"inc answers; {delay}").replace("BODY", "kick card")
    text = text.replace("check invariant not looked or answers == 1", "check no_sleep_in_atomic")
    assert verdict(text, "no_sleep_in_atomic") == status


def test_d6_under_z3() -> None:
    for body, want in (("kick card; udelay; set looked", "holds"), ("kick card; set looked", "violated")):
        r = ircheck.check_source(PROBE.replace("BODY", body), engine="smt", checks=["invariant"])
        assert r.check("invariant").status == want, body


@needs_spin
def test_d6_under_spin(tmp_path: Path) -> None:
    for body, want in (("kick card; msleep; set looked", False), ("kick card; set looked", True)):
        ts = compile_source(PROBE.replace("BODY", body), checks=["invariant"])
        assert spin_violates(to_promela(ts), tmp_path) == want, body
