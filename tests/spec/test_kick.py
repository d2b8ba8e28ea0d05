"""P1b: an `on_kick` device raises once per `kick DEV`, after the kick, never more often than kicked
(docs/semantics.md P1b; QEMU hw/net/e1000.c `set_ics`: a register write raises the line). Each rule
in both directions, on edge, level, wired-OR and local APIC sources, and under the explicit, Z3 and
SPIN engines."""

from __future__ import annotations

from pathlib import Path

import pytest

import ircheck
from ircheck.api import compile_source
from ircheck.grammar.printer import format_source
from ircheck.promela import to_promela
from ircheck.spec.design import KICK_CAP
from ircheck.spec.step_kind import StepKind
from tests.support.generators import examples, models
from tests.support.naive import Naive, agree, small_enough
from tests.support.spin import needs_spin, spin_violates

CARD = """pic master : i8259 { base 0x20 }
device card { irq master.5 TRIGGER on_kick }
flag done
waitqueue q
request_irq 5 card_isr
handler card_isr { ACK set done; wake_up q }
"""


def card(thread: str, trigger: str = "edge") -> str:
    return CARD.replace("TRIGGER", trigger).replace("ACK", "ack card;" if trigger == "level" else "") + \
        f"thread app {{ {thread} }}\n"


def status(text: str, check: str, **kw: object) -> str:
    r = ircheck.check_source(text, **kw)
    assert not r.errors, r.errors
    return r.check(check).status


# ---- waiting for the answer after the request holds; testing before the request loses the wake-up ---

@pytest.mark.parametrize("trigger", ["edge", "level"])
def test_p1b_waiting_for_the_answer_after_the_kick_holds(trigger: str) -> None:
    text = card("kick card; wait_event q until done", trigger)
    r = ircheck.check_source(text)
    assert r.check("no_lost_wakeup").status == "holds"
    assert r.check("no_deadlock").status == "holds"
    assert r.check("no_lost_irq").status == "holds"


def test_p1b_testing_the_flag_before_the_kick_then_sleeping_loses_the_wake_up() -> None:
    # the device answers between the kick and sleep_on: done is set, wake_up finds nobody (W1)
    r = ircheck.check_source(card("if not done { kick card; sleep_on q }"))
    c = r.check("no_lost_wakeup")
    assert c.status == "violated"
    kinds = [s.kind for s in c.trace]
    assert StepKind.RAISE in kinds and kinds.index(StepKind.RAISE) > [s.action for s in c.trace].index("kick card")


def test_p1b_the_raise_comes_after_the_kick_never_before() -> None:
    # a handler that finds `sent` clear ran before the request was sent: never
    text = """pic master : i8259 { base 0x20 }
device card { irq master.5 edge on_kick }
flag sent
counter early max 1
counter answers max 3
request_irq 5 card_isr
handler card_isr { if not sent { inc early }; inc answers }
thread app { set sent; kick card }
check invariant early == 0
check invariant answers <= 1
"""
    assert status(text, "invariant") == "holds"
    # the raise does come: the one answer is reachable
    assert status(text.replace("answers <= 1", "answers == 0"), "invariant") == "violated"


def test_p1b_no_more_raises_than_kicks() -> None:
    text = """pic master : i8259 { base 0x20 }
device card { irq master.5 level on_kick }
counter answers max 3
request_irq 5 card_isr
handler card_isr { ack card; inc answers }
thread app { kick card; kick card }
check invariant answers <= 2
"""
    assert status(text, "invariant") == "holds"
    assert status(text.replace("<= 2", "<= 1"), "invariant") == "violated"


def test_p1b_never_kicked_never_raises() -> None:
    text = card("nop")
    r = ircheck.check_source(text)
    assert all(c.status == "holds" for c in r.checks), [(c.name, c.status) for c in r.checks]
    assert r.stats.states == 2  # the thread's one step; no raise, no handler
    ts = compile_source(text)
    naive = Naive(ts)
    assert len(naive.dist) == 2
    taken = {ts.transitions[ti].label.kind for out in naive.succ.values() for ti, _ in out}
    assert StepKind.RAISE not in taken and StepKind.DELIVER not in taken


# ---- edges, level lines, wired OR, the local APIC ----------------------------------------------------

def test_p1b_two_kicks_of_an_edge_device_may_lose_the_second_edge() -> None:
    # P1/P3: the second edge may arrive while IRR[5] still holds the first
    assert status(card("kick card; kick card"), "no_lost_irq") == "violated"
    assert status(card("kick card; kick card", "level"), "no_lost_irq") == "holds"


def test_p1b_a_kicked_apic_vector_collapses_like_any_other() -> None:
    text = """apic lapic
device t { irq vector 0x40 on_kick }
idt { 0x40 -> t_isr interrupt_gate dpl 0 }
handler t_isr { eoi }
thread app { KICKS }
"""
    assert status(text.replace("KICKS", "kick t"), "no_lost_irq") == "holds"
    assert status(text.replace("KICKS", "kick t; kick t"), "no_lost_irq") == "violated"


def test_p1b_a_kicked_sharer_of_a_wired_or_line() -> None:
    text = """pic master : i8259 { base 0x20 }
device a { irq master.5 level shared on_kick }
device b { irq master.5 level shared raises 1 }
counter runs max 3
request_irq 5 a_isr shared dev_id a
request_irq 5 b_isr shared dev_id b
handler a_isr { inc runs; ACK_A }
handler b_isr { ack b }
thread app { kick a }
check no_starvation, invariant runs <= 2
"""
    # one kick: a's handler runs for a's raise and at most once more for b's (its actions all run)
    assert status(text.replace("ACK_A", "ack a"), "invariant") == "holds"
    assert status(text.replace("ACK_A", "ack a"), "no_starvation") == "holds"
    # a sharer that is never quieted keeps the line high (P2): the line is taken again and again
    assert status(text.replace("ACK_A", "nop"), "invariant") == "violated"


# ---- the bound on outstanding kicks: inconclusive, never a silent loss ---------------------------------

def test_p1b_kicks_beyond_the_cap_are_a_model_bound() -> None:
    r = ircheck.check_source(card("loop { kick card }", "level"))
    for c in r.checks:
        assert c.status != "holds", c.name
    assert any(f"{KICK_CAP} outstanding kicks" in c.note for c in r.checks)
    # within the cap nothing is bounded
    r = ircheck.check_source(card("; ".join(["kick card"] * KICK_CAP), "level"))
    assert all(c.status == "holds" for c in r.checks), [(c.name, c.status) for c in r.checks]


# ---- resolution -----------------------------------------------------------------------------------

def test_p1b_on_kick_excludes_raises() -> None:
    text = card("kick card").replace("on_kick", "on_kick raises 2")
    r = ircheck.check_source(text)
    (e,) = [e for e in r.errors if e.code == "IRQ205"]
    assert (e.line, e.column) == (2, 41) and "on_kick" in e.message and "remove `raises`" in (e.hint or "")
    assert [e.code for e in ircheck.check_source(text.replace("raises 2", "raises any")).errors] == ["IRQ205"]


def test_p1b_kick_of_a_device_that_raises_by_itself_is_refused() -> None:
    text = card("kick card").replace("on_kick", "raises 1")
    (e,) = ircheck.check_source(text).errors
    assert e.code == "IRQ311" and (e.line, e.column) == (7, 14) and "on_kick" in (e.hint or "")


def test_p1b_fmt_keeps_on_kick_and_kick() -> None:
    out = format_source(card("kick card; wait_event q until done"))
    assert "on_kick }" in out and "kick card" in out
    assert format_source(out) == out


# ---- the other engines ----------------------------------------------------------------------------

def test_p1b_under_z3() -> None:
    two = card("kick card; kick card")
    assert status(two, "no_lost_irq", engine="smt", checks=["no_lost_irq"]) == "violated"
    assert status(card("kick card; wait_event q until done"), "no_lost_irq", engine="smt",
                  checks=["no_lost_irq"]) == "holds"


@needs_spin
def test_p1b_under_spin(tmp_path: Path) -> None:
    assert spin_violates(to_promela(compile_source(card("kick card; kick card"), checks=["no_lost_irq"])), tmp_path)
    assert not spin_violates(to_promela(compile_source(card("kick card"), checks=["no_lost_irq"])), tmp_path)


# ---- the differential generator draws on_kick devices and kicks ------------------------------------

def test_p1b_generated_on_kick_models_agree_with_the_naive_search() -> None:
    """The bare-metal generator's on_kick models (fixed seed): the explicit engine's states, verdicts
    and shortest traces are the naive BFS's (tests/support/naive.py `agree`)."""
    kicked = [t for t in examples(models(), 120) if "on_kick" in t and small_enough(t, 20_000)]
    assert len(kicked) >= 3 and any("thread t" in t for t in kicked)
    for text in kicked:
        agree(text)
