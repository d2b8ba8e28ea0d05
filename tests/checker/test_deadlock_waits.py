"""no_deadlock per context (docs/semantics.md D0, issue 22): a context blocked on a lock or an IRQ
wait that no continuation releases is a deadlock, whatever other contexts, CPUs and devices keep
doing. Each shape in both directions, under the explicit engine, the Z3 engine and SPIN on the
export (the part of the rule a state shows alone: `Wait.surely`)."""

from __future__ import annotations

from pathlib import Path

import pytest

import ircheck
from ircheck.api import compile_source
from ircheck.promela import to_promela
from tests.support.spin import needs_spin, spin_violates

HEAD = """pic master : i8259 { base 0x20 }
device nic { irq master.3 edge raises any }
idt { 0x23 -> nic_isr interrupt_gate dpl 0 }
handler nic_isr { eoi }
flag busy
"""
BUSY = "thread poller on cpu{cpu} {{ loop {{ set busy; clear busy }} }}\n"

# name -> (body, cpus, the busy CPU, verdict, trace length, the words of the story)
SHAPES: dict[str, tuple[str, int, int, str, int, str]] = {
    # the issue's model: the owner finished holding the mutex, the NIC keeps interrupting
    "owner_finished": ("mutex m\nthread a on cpu0 { mutex_lock m }\nthread b on cpu0 { mutex_lock m; mutex_unlock m }\n",
                       1, -1, "violated", 1, "lock held by a finished context): thread b waits for mutex m, "
                                                 "held by thread a, which finished holding it"),
    "owner_finished_other_cpu_busy": (
        "mutex m\nthread a on cpu0 { mutex_lock m }\nthread b on cpu0 { mutex_lock m; mutex_unlock m }\n",
        2, 1, "violated", 1, "held by thread a, which finished holding it"),
    # the owner is blocked for ever itself: it waits on a mutex a finished thread holds
    "owner_blocked_for_ever": (
        "mutex m\nmutex n\nthread a on cpu0 { mutex_lock n }\n"
        "thread b on cpu1 { mutex_lock m; mutex_lock n; mutex_unlock n; mutex_unlock m }\n"
        "thread c on cpu0 { mutex_lock m; mutex_unlock m }\n",
        2, 1, "violated", 2, "held by thread a, which finished holding it"),
    # the owner sleeps for ever on a wait queue while holding the lock (judged by ircheck only)
    "owner_asleep_for_ever": (
        "mutex m\nwaitqueue q\nflag ready\nthread a on cpu0 { mutex_lock m; wait_event q until ready; mutex_unlock m }\n"
        "thread b on cpu1 { mutex_lock m; mutex_unlock m }\n",
        2, 0, "violated", 1, "held by thread a, which never reaches its release on any continuation"),
    # a circular wait of three, a busy CPU beside it
    "cycle_of_three": (
        "mutex m\nmutex n\nmutex o\n"
        "thread a on cpu0 { mutex_lock m; mutex_lock n; mutex_unlock n; mutex_unlock m }\n"
        "thread b on cpu1 { mutex_lock n; mutex_lock o; mutex_unlock o; mutex_unlock n }\n"
        "thread c on cpu2 { mutex_lock o; mutex_lock m; mutex_unlock m; mutex_unlock o }\n",
        4, 3, "violated", 3, "circular wait): thread a waits for mutex n, held by thread b; thread b waits for "
                             "mutex o, held by thread c; thread c waits for mutex m, held by thread a"),
    # correct designs under the same activity
    "balanced": ("mutex m\nthread a on cpu0 { mutex_lock m; mutex_unlock m }\n"
                 "thread b on cpu1 { mutex_lock m; mutex_unlock m }\n", 2, 1, "holds", 0, ""),
    "ordered": ("mutex m\nmutex n\n"
                "thread a on cpu0 { mutex_lock m; mutex_lock n; mutex_unlock n; mutex_unlock m }\n"
                "thread b on cpu1 { mutex_lock m; mutex_lock n; mutex_unlock n; mutex_unlock m }\n",
                3, 2, "holds", 0, ""),
}


def model(name: str) -> str:
    body, cpus, busy, *_ = SHAPES[name]
    text = HEAD + (f"cpus {cpus}\n" if cpus > 1 else "") + body
    if busy >= 0:
        text += BUSY.format(cpu=busy)
    return text + "check no_deadlock\n"


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_explicit(name: str) -> None:
    _body, _cpus, _busy, verdict, length, words = SHAPES[name]
    c = ircheck.check_source(model(name)).check("no_deadlock")
    assert c.status == verdict, c.message
    if verdict == "violated":
        assert len(c.trace) == length
        assert words in c.message, c.message
        assert c.message.startswith("deadlock (")


def test_the_issue_model_was_hidden_by_a_busy_device() -> None:
    """Without the per-context rule the NIC's `raises any` keeps a CPU able to step for ever."""
    ts = compile_source(model("owner_finished"))
    assert [w.who for w in ts.waits] == ["thread a", "thread b"]
    masked = model("owner_finished").replace("base 0x20 }", "base 0x20 mask 0b00001000 }")
    assert ircheck.check_source(masked).check("no_deadlock").status == "violated"


@pytest.mark.parametrize("name", ["owner_finished", pytest.param("balanced", marks=pytest.mark.slow),
                                  pytest.param("owner_asleep_for_ever", marks=pytest.mark.slow)])
def test_smt(name: str) -> None:
    _body, _cpus, _busy, verdict, length, words = SHAPES[name]
    # a violation ends the run when found; a design that holds keeps Z3 busy to its timeout (it can only be
    # proved by an exhausted BMC or Spacer), so it gets a short one
    c = ircheck.check_source(model(name), engine="smt", timeout=180 if verdict == "violated" else 15).check(
        "no_deadlock")
    if verdict == "violated":
        assert c.status == "violated" and len(c.trace) == length and words in c.message, (c.status, c.message)
    else:  # a blocked state that escapes is reachable: only an exhausted BMC could prove it
        assert c.status in ("holds", "inconclusive")
        if c.status == "inconclusive":
            assert "k-induction did not close" in c.note or "not decided" in c.note, c.note


def test_compact_store_says_inconclusive_not_holds() -> None:
    c = ircheck.check_source(model("balanced"), store="compact").check("no_deadlock")
    assert c.status == "inconclusive" and "--compact" in c.note



@pytest.mark.slow
@needs_spin
@pytest.mark.parametrize("name", sorted(SHAPES))
def test_spin_on_the_export(name: str, tmp_path: Path) -> None:
    _body, _cpus, _busy, verdict, _length, _words = SHAPES[name]
    pml = to_promela(compile_source(model(name), checks=["no_deadlock"]))
    # the holder asleep for ever is the one shape a single state does not show: ircheck only
    want = verdict == "violated" and name != "owner_asleep_for_ever"
    assert spin_violates(pml, tmp_path) == want
    if name == "owner_asleep_for_ever":
        assert "judged by ircheck only" in pml
