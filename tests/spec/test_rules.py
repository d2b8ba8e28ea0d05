"""One small model per rule of docs/semantics.md (P, X), with exact facts about its state space.

Every test compiles a model to its TransitionSystem and explores it with a plain
reference BFS written here on top of `ircheck.spec.step.successors` (the slow
interpreter, not the generated engine). Facts are stated in terms of named
variables (`master.IRR`, `cpu0.depth`, ...), program locations (by source line)
and transition labels, so that a rule lowered wrongly changes a reachable value,
an absent state, a trace length or a trace action, and the test fails.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import pytest

import ircheck
from ircheck.api import compile_source
from ircheck.spec.step import successors
from ircheck.spec.ts import TransitionSystem
from tests.support.naive import distances as reach

State = tuple[int, ...]


# ---- the reference exploration -----------------------------------------------------------

def edges(ts: TransitionSystem, states: dict[State, int] | None = None) -> Iterator[tuple[State, int, State]]:
    """Every reachable step (s, transition index, t)."""
    for s in reach(ts) if states is None else states:
        for ti, t in successors(ts, s):
            yield s, ti, t


class Model:
    """A compiled model with name-based access to states."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.ts = compile_source(text)
        self.states = reach(self.ts)

    def v(self, s: State, name: str) -> int:
        return s[self.ts.var_index(name)]

    def bit(self, s: State, name: str, n: int) -> int:
        return self.v(s, name) >> n & 1

    def line(self, marker: str) -> int:
        """1-based line of the one source line that contains `marker`."""
        hits = [i + 1 for i, text in enumerate(self.text.splitlines()) if marker in text]
        assert len(hits) == 1, (marker, hits)
        return hits[0]

    def locs(self, var: str, marker: str) -> set[int]:
        """Values of a location variable (a pc) that stand for the statement on the marked line."""
        line = self.line(marker)
        names = self.ts.vars[self.ts.var_index(var)].names
        out = {k for k, nm in enumerate(names) if nm.endswith(f"@{line}")}
        assert out, (var, marker)
        return out

    def at(self, s: State, var: str, marker: str) -> bool:
        return self.v(s, var) in self.locs(var, marker)

    def edges(self) -> Iterator[tuple[State, int, State]]:
        return edges(self.ts, self.states)

    def top(self, s: State) -> str:
        """The handler running in the top frame ("-" when no handler frame is active)."""
        name = self.ts.vars[self.ts.var_index("cpu0.pc")].names[self.v(s, "cpu0.pc")]
        return name.split("@")[0]

    def action(self, ti: int) -> str:
        return self.ts.transitions[ti].label.action

    def actor(self, ti: int) -> str:
        return self.ts.transitions[ti].label.actor

    def values(self, name: str) -> set[int]:
        return {self.v(s, name) for s in self.states}


def is_take(action: str, n: int | None = None) -> bool:
    return action.startswith("take IRQ " if n is None else f"take IRQ {n}:")


def check(text: str, name: str) -> ircheck.CheckResult:
    report = ircheck.check_source(text)
    assert not report.errors, [d.render() for d in report.errors]
    return report.check(name)


def actions(res: ircheck.CheckResult) -> list[str]:
    return [st.action for st in res.trace]


# ---- P1: an edge sets IRR ------------------------------------------------------------------

P1 = """\
pic master : i8259 { base 0x20 }
device nic { irq master.3 edge raises 1 }
idt { 0x23 -> nic_isr interrupt_gate dpl 0 }
handler nic_isr { eoi }
"""


def test_p1_edge_sets_irr_bit_of_its_input() -> None:
    m = Model(P1)
    init = m.ts.init()
    assert m.v(init, "master.IRR") == 0
    assert m.v(init, "nic.raises_left") == 1
    succ = successors(m.ts, init)
    assert len(succ) == 1  # only the device can move: the CPU is idle with nothing pending
    ti, s1 = succ[0]
    assert m.actor(ti) == "device nic"
    assert m.v(s1, "master.IRR") == 0b00001000
    assert m.v(s1, "nic.raises_left") == 0
    assert m.values("master.IRR") == {0, 0b00001000}
    # an edge request is consumed by INTA: after the take, IRR[3] is clear again
    taken = [t for s, ti, t in m.edges() if is_take(m.action(ti), 3)]
    assert taken and all(m.bit(t, "master.IRR", 3) == 0 for t in taken)


# ---- P3: a second edge while IRR is set is lost -------------------------------------------

LOST = """\
pic master : i8259 { base 0x20 }
device nic { irq master.3 edge raises 2 }
idt { 0x23 -> nic_isr interrupt_gate dpl 0 }
handler nic_isr { eoi }
check no_lost_irq
"""


def test_p3_second_edge_while_irr_set_is_lost() -> None:
    res = check(LOST, "no_lost_irq")
    assert res.status == "violated"
    assert len(res.trace) == 2
    assert res.trace[0].action.startswith("raise IRQ 3 (")
    assert res.trace[1].action.startswith("raise IRQ 3 again (")
    assert res.trace[0].context == res.trace[1].context == "device nic"
    # in the state space: the losing step is enabled exactly when IRR[3] is set, and it adds nothing
    m = Model(LOST)
    lossy = [(s, t) for s, ti, t in m.edges() if ("no_lost_irq" in {c for c, _ in m.ts.transitions[ti].violates})]
    assert lossy
    for s, t in lossy:
        assert m.bit(s, "master.IRR", 3) == 1
        assert m.v(t, "master.IRR") == m.v(s, "master.IRR")
        assert m.v(t, "nic.raises_left") == m.v(s, "nic.raises_left") - 1


def test_p3_single_edge_and_level_lines_lose_nothing() -> None:
    assert check(LOST.replace("raises 2", "raises 1"), "no_lost_irq").status == "holds"
    level = LOST.replace("edge raises 2", "level raises 2").replace("{ eoi }", "{ ack nic; eoi }")
    assert check(level, "no_lost_irq").status == "holds"


# ---- P2: a level line re-interrupts after EOI unless the device is acked ----------------------

LEVEL = """\
pic master : i8259 { base 0x20 }
device uart { irq master.4 level raises 1 }
idt { 0x24 -> uart_isr interrupt_gate dpl 0 }
counter n max 3
handler uart_isr { BODY }
"""


def test_p2_level_line_not_acked_interrupts_again_after_eoi() -> None:
    m = Model(LEVEL.replace("BODY", "inc n; eoi"))
    # one raise, yet the handler runs again and again (a storm) while the line stays high
    assert m.values("n") == {0, 1, 2, 3}
    for s in m.states:
        if m.v(s, "uart.raises_left") == 0:
            assert m.bit(s, "master.IRR", 4) == 1  # the line never drops
    # the second entry happens at depth 0 after the first frame's eoi and iret, with ISR[4] clear
    takes = [(s, t) for s, ti, t in m.edges() if is_take(m.action(ti), 4)]
    assert {m.v(s, "n") for s, _t in takes} == {0, 1, 2, 3}
    for s, t in takes:
        assert m.bit(s, "master.ISR", 4) == 0
        assert m.bit(t, "master.IRR", 4) == 1  # INTA does not clear a level request
        assert m.bit(t, "master.ISR", 4) == 1


def test_p2_level_line_acked_is_taken_once() -> None:
    m = Model(LEVEL.replace("BODY", "ack uart; inc n; eoi"))
    assert m.values("n") == {0, 1}
    assert max(m.v(s, "cpu0.depth") for s in m.states) == 1
    assert any(m.v(s, "n") == 1 and m.v(s, "master.IRR") == 0 and m.v(s, "cpu0.depth") == 0 for s in m.states)
    assert check(LEVEL.replace("BODY", "ack uart; inc n; eoi") + "check no_starvation, eoi_balanced\n",
                 "no_starvation").status == "holds"


LEVEL_NEST = """\
pic master : i8259 { base 0x20 }
device uart { irq master.4 level raises 1 }
idt { 0x24 -> uart_isr interrupt_gate dpl 0 }
handler uart_isr {
    eoi
    sti
    nop       # M_NOP
}
check no_reentry
check max_nesting 1
"""


def test_p2_level_line_not_acked_reenters_its_handler_after_eoi_and_sti() -> None:
    """After `eoi; sti` the still-high level line is deliverable again at once (P2 + X1).

    The handler has not acked its device, so the 8259A interrupts again inside the handler:
    a second uart_isr frame nests on the first although the device raised only once.
    """
    m = Model(LEVEL_NEST)
    assert any(m.v(s, "cpu0.depth") == 2 for s in m.states)
    res = check(LEVEL_NEST, "max_nesting")
    assert res.status == "violated"
    # raise, take, eoi, sti, nop (the STI shadow, X1), take again
    assert len(res.trace) == 6
    assert is_take(res.trace[5].action, 4)
    assert check(LEVEL_NEST, "no_reentry").status == "violated"


# ---- P4: a masked edge latches and is delivered after unmask --------------------------------

MASKED = """\
pic master : i8259 { base 0x20  mask 0b00001000 }
device nic   { irq master.3 edge raises 1 }
device timer { irq master.0 edge raises 1 }
idt { 0x23 -> nic_isr interrupt_gate dpl 0
      0x20 -> timer_isr interrupt_gate dpl 0 }
handler nic_isr { eoi }
handler timer_isr { eoi }
thread init on cpu0 {
    nop                # M_BEFORE
    unmask master.3    # M_UNMASK
}
check no_lost_irq, no_starvation
"""


def test_p4_masked_edge_latches_and_is_delivered_after_unmask() -> None:
    m = Model(MASKED)
    assert m.v(m.ts.init(), "master.IMR") == 0b00001000
    # latched while masked
    assert any(m.bit(s, "master.IRR", 3) and m.bit(s, "master.IMR", 3) for s in m.states)
    # never taken while masked; taken after unmask
    takes3 = [s for s, ti, _t in m.edges() if is_take(m.action(ti), 3)]
    assert takes3
    assert all(m.bit(s, "master.IMR", 3) == 0 for s in takes3)
    assert all(m.v(s, "init.pc") == 0 for s in takes3)  # only once the thread has done its unmask
    # IMR[3] inhibits input 3 only: the timer on IR0 is taken while IR3 is masked
    takes0 = [s for s, ti, _t in m.edges() if is_take(m.action(ti), 0)]
    assert any(m.bit(s, "master.IMR", 3) == 1 for s in takes0)
    report = ircheck.check_source(MASKED)
    assert report.check("no_lost_irq").status == "holds"
    assert report.check("no_starvation").status == "holds"


def test_p4_unmask_clears_only_its_bit() -> None:
    m = Model(MASKED.replace("mask 0b00001000", "mask 0b10001001"))
    assert m.values("master.IMR") == {0b10001001, 0b10000001}


# ---- P5: fully nested priority ---------------------------------------------------------------

NESTED = """\
pic master : i8259 { base 0x20 }
device timer { irq master.0 edge raises 1 }
device kbd   { irq master.1 edge raises 2 }
device uart  { irq master.3 edge raises 1 }
idt { 0x20 -> timer_isr interrupt_gate dpl 0
      0x21 -> kbd_isr   interrupt_gate dpl 0
      0x23 -> uart_isr  interrupt_gate dpl 0 }
handler timer_isr { eoi }
handler kbd_isr  { KBD }
handler uart_isr { UART }
"""


def nested(kbd: str, uart: str) -> Model:
    return Model(NESTED.replace("KBD", kbd).replace("UART", uart))


def test_p5_irq3_is_held_back_while_isr1_is_set() -> None:
    m = nested("sti; nop; eoi", "eoi")
    # while ISR[1] is set (the kbd handler runs with IF=1 after its sti) IRQ3 never gets in
    assert not any(m.bit(s, "master.ISR", 1) and m.bit(s, "master.ISR", 3) for s in m.states)
    for s, ti, _t in m.edges():
        if is_take(m.action(ti), 3):
            assert m.bit(s, "master.ISR", 1) == 0
    # ... and kbd cannot re-enter itself either, but the higher IRQ0 nests over it
    assert any(m.v(s, "master.ISR") == 0b011 and m.v(s, "cpu0.depth") == 2 for s in m.states)
    # while ISR[1] is set only IRQ0 is taken; kbd re-enters itself only after its own eoi (before iret)
    for s, ti, _t in m.edges():
        if m.bit(s, "master.ISR", 1) and is_take(m.action(ti)):
            assert is_take(m.action(ti), 0)
    assert any(is_take(m.action(ti), 1) and m.v(s, "cpu0.depth") == 1 for s, ti, _t in m.edges())
    # with an early EOI the same handler lets IRQ3 nest over it
    early = nested("eoi; sti; nop", "eoi")
    assert any(m.v(s, "cpu0.depth") == 2 for s in early.states)
    assert any(is_take(early.action(ti), 3) and early.v(s, "cpu0.depth") == 1
               for s, ti, _t in early.edges())


def test_p5_highest_priority_request_wins() -> None:
    m = nested("eoi", "eoi")
    both = [s for s in m.states if m.v(s, "master.IRR") & 0b1011 == 0b1010 and m.v(s, "cpu0.depth") == 0]
    assert both
    for s in both:
        takes = [ti for ti, _t in successors(m.ts, s) if is_take(m.action(ti))]
        assert [m.action(ti)[:10] for ti in takes] == ["take IRQ 1"]
    for s in m.states:
        if m.bit(s, "master.IRR", 0) and m.v(s, "cpu0.depth") == 0:
            takes = [m.action(ti) for ti, _t in successors(m.ts, s) if is_take(m.action(ti))]
            assert len(takes) == 1 and is_take(takes[0], 0)


def test_p5_higher_irq0_nests_over_irq3_after_sti() -> None:
    m = nested("eoi", "sti; nop; eoi")
    assert any(m.v(s, "master.ISR") == 0b1001 and m.v(s, "cpu0.depth") == 2 for s in m.states)
    # without the sti the interrupt gate keeps IF=0 and nothing nests
    flat = nested("eoi", "nop; eoi")
    assert max(flat.v(s, "cpu0.depth") for s in flat.states) == 1
    assert not any(flat.v(s, "master.ISR") == 0b1001 for s in flat.states)


# ---- P6: INTA moves IRR -> ISR and enters the gate's handler; auto-EOI ------------------------

INTA = """\
pic master : i8259 { base 0x28 }
device nic { irq master.3 edge raises 1 }
idt { 0x2b -> right_isr interrupt_gate dpl 0
      0x23 -> wrong_isr interrupt_gate dpl 0 }
handler right_isr {
    nop      # M_RIGHT
    eoi
}
handler wrong_isr {
    nop      # M_WRONG
    eoi
}
"""


def test_p6_inta_moves_irr_to_isr_and_enters_gate_handler() -> None:
    m = Model(INTA)
    takes = [(s, ti, t) for s, ti, t in m.edges() if is_take(m.action(ti))]
    assert len(takes) == 1
    s, ti, t = takes[0]
    assert is_take(m.action(ti), 3) and "vector 0x2b -> right_isr" in m.action(ti)
    assert (m.v(s, "master.IRR"), m.v(s, "master.ISR")) == (0b1000, 0)
    assert (m.v(t, "master.IRR"), m.v(t, "master.ISR")) == (0, 0b1000)
    assert (m.v(s, "cpu0.depth"), m.v(t, "cpu0.depth")) == (0, 1)
    assert m.at(t, "cpu0.pc", "M_RIGHT")
    # vector 0x23 (base 0x20 + 3) is not the one IR3 raises under base 0x28: its handler never runs
    assert not any(nm.startswith("wrong_isr") for nm in m.ts.vars[m.ts.var_index("cpu0.pc")].names)


AEOI = """\
pic master : i8259 { base 0x20  eoi MODE }
device nic { irq master.3 edge raises 2 }
idt { 0x23 -> nic_isr interrupt_gate dpl 0 }
handler nic_isr { BODY }
check no_reentry
"""


def test_p6_p8_auto_eoi_never_sets_isr_and_handler_reenters_itself() -> None:
    text = AEOI.replace("MODE", "auto").replace("BODY", "sti; nop")
    m = Model(text)
    assert "master.ISR" not in [v.name for v in m.ts.vars]  # nothing is ever in service
    takes = [(s, t) for s, ti, t in m.edges() if is_take(m.action(ti), 3)]
    assert takes and all(m.bit(t, "master.IRR", 3) == 0 for _s, t in takes)
    assert any(m.v(s, "cpu0.depth") == 2 for s in m.states)
    res = check(text, "no_reentry")
    assert res.status == "violated"
    assert len(res.trace) == 6  # raise, take, (raise, sti in either order), nop (the STI shadow, X1), take
    assert Counter(a.split(":")[0].split(" (")[0] for a in actions(res)) == Counter(
        {"raise IRQ 3": 2, "take IRQ 3": 2, "sti": 1, "nop": 1})
    assert is_take(res.trace[-1].action, 3)


def test_p6_normal_eoi_keeps_isr_and_blocks_own_reentry() -> None:
    text = AEOI.replace("MODE", "normal").replace("BODY", "sti; nop; cli; eoi")
    m = Model(text)
    assert max(m.v(s, "cpu0.depth") for s in m.states) == 1
    assert any(m.v(s, "master.ISR") == 0b1000 and m.v(s, "master.IRR") == 0b1000 and m.v(s, "cpu0.IF") == 1
               for s in m.states)  # the second request waits behind ISR[3] with IF=1
    assert check(text, "no_reentry").status == "holds"


# ---- P7: non-specific EOI clears the highest-priority (lowest-numbered) bit; specific one bit ----

EOI = """\
pic master : i8259 { base 0x20 }
device timer { irq master.0 edge raises 1 }
device uart  { irq master.3 edge raises 1 }
idt { 0x20 -> timer_isr interrupt_gate dpl 0
      0x23 -> uart_isr  interrupt_gate dpl 0 }
handler timer_isr { nop }
handler uart_isr {
    sti
    nop
    FINISH   # M_EOI
}
"""


def eoi_steps(m: Model) -> list[tuple[State, State]]:
    loc = m.locs("cpu0.pc", "M_EOI")
    return [(s, t) for s, ti, t in m.edges()
            if m.v(s, "cpu0.pc") in loc and m.v(s, "cpu0.depth") == 1 and m.actor(ti) == "handler uart_isr"]


def test_p7_nonspecific_eoi_clears_lowest_numbered_isr_bit() -> None:
    m = Model(EOI.replace("FINISH", "eoi"))
    steps = eoi_steps(m)
    both = [(s, t) for s, t in steps if m.v(s, "master.ISR") == 0b1001]
    assert both, "the timer handler (no EOI) must be able to nest and return before uart_isr's eoi"
    # uart_isr's own EOI clears ISR[0] (left by timer_isr), not its own ISR[3]
    assert all(m.v(t, "master.ISR") == 0b1000 for _s, t in both)
    assert all(m.v(t, "master.ISR") == 0 for s, t in steps if m.v(s, "master.ISR") == 0b1000)


def test_p7_specific_eoi_clears_exactly_that_bit() -> None:
    m = Model(EOI.replace("FINISH", "eoi master.3"))
    steps = eoi_steps(m)
    both = [(s, t) for s, t in steps if m.v(s, "master.ISR") == 0b1001]
    assert both
    assert all(m.v(t, "master.ISR") == 0b0001 for _s, t in both)
    assert all(m.v(t, "master.ISR") == 0 for s, t in steps if m.v(s, "master.ISR") == 0b1000)


# ---- X1: no interrupt with IF=0 ---------------------------------------------------------------

CLI = """\
pic master : i8259 { base 0x20 }
device nic { irq master.3 edge raises 1 }
idt { 0x23 -> nic_isr interrupt_gate dpl 0 }
handler nic_isr { eoi }
thread app on cpu0 {
    nop      # M_START
    cli      # M_CLI
    nop      # M_IN1
    sti      # M_IN2
    nop      # M_AFTER
}
"""


def test_x1_cli_in_thread_blocks_delivery_until_sti() -> None:
    m = Model(CLI)
    inside = m.locs("app.pc", "M_IN1") | m.locs("app.pc", "M_IN2")
    assert not any(m.v(s, "cpu0.depth") > 0 and m.v(s, "app.pc") in inside for s in m.states)
    # the request does arrive inside the window and waits there with IF=0
    assert any(m.v(s, "app.pc") in inside and m.bit(s, "master.IRR", 3) and m.v(s, "cpu0.IF") == 0
               for s in m.states)
    # outside the window it is taken
    for marker in ("M_START", "M_CLI"):
        assert any(m.v(s, "cpu0.depth") == 1 and m.at(s, "app.pc", marker) for s in m.states), marker
    # X1's STI shadow: not before the instruction after `sti` has completed
    assert not any(m.v(s, "cpu0.depth") == 1 and m.at(s, "app.pc", "M_AFTER") for s in m.states)
    # and no take step is ever enabled with IF=0
    for s, ti, _t in m.edges():
        if is_take(m.action(ti)):
            assert m.v(s, "cpu0.IF") == 1


# ---- X2: interrupt gate vs trap gate; IRET restores IF; DPL ignored for hardware ------------------

GATES = """\
pic master : i8259 { base 0x20 }
device timer { irq master.0 edge raises 1 }
device nic   { irq master.3 edge raises 1 }
idt { 0x20 -> trap_isr trap_gate dpl 0
      0x23 -> intr_isr interrupt_gate dpl 0 }
handler trap_isr {
    eoi      # M_TRAP
    cli
}
handler intr_isr {
    eoi      # M_INTR
}
"""


def test_x2_interrupt_gate_clears_if_trap_gate_keeps_it() -> None:
    m = Model(GATES)
    for s, ti, t in m.edges():
        a = m.action(ti)
        if is_take(a, 0):
            assert m.v(s, "cpu0.IF") == 1 and m.v(t, "cpu0.IF") == 1
            assert m.at(t, "cpu0.pc", "M_TRAP")
        elif is_take(a, 3):
            assert m.v(s, "cpu0.IF") == 1 and m.v(t, "cpu0.IF") == 0
            assert m.at(t, "cpu0.pc", "M_INTR")
    # the trap gate keeps IF=1: once the timer handler's eoi has cleared ISR[0], IRQ3 nests over it
    # (before its cli); the interrupt gate handler runs with IF=0, so nothing nests over it
    nested2 = [s for s in m.states if m.v(s, "cpu0.depth") == 2]
    assert nested2 and all(m.top(s) == "intr_isr" for s in nested2)
    assert any(m.at(s, "cpu0.pc", "M_INTR") for s in nested2)
    assert all(m.v(s, "cpu0.IF") == 0 for s in nested2)


def test_x2_iret_restores_saved_if() -> None:
    m = Model(GATES)
    irets = [(s, t) for s, ti, t in m.edges() if m.action(ti).startswith("iret")]
    assert irets
    for s, t in irets:
        assert m.v(t, "cpu0.depth") == m.v(s, "cpu0.depth") - 1
        assert m.v(t, "cpu0.IF") == 1  # every frame was entered with IF=1, whatever it did since
    # the trap handler's cli really cleared IF before its iret
    assert any(m.v(s, "cpu0.IF") == 0 and m.v(s, "cpu0.depth") == 1 and m.actor(ti) == "handler trap_isr"
               for s, ti, _t in m.edges() if m.action(ti).startswith("iret"))
    # an iret from a nested frame resumes the interrupted handler with the IF it had
    nested_ret = [(s, t) for s, t in irets if m.v(s, "cpu0.depth") == 2]
    assert nested_ret and all(m.v(t, "cpu0.depth") == 1 and m.top(t) == "trap_isr" for _s, t in nested_ret)


USER = """\
pic master : i8259 { base 0x20 }
device timer { irq master.0 edge raises 1 }
idt { 0x20 -> timer_isr interrupt_gate dpl 0 }
handler timer_isr { eoi }
thread shell on cpu0 cpl 3 {
    loop {
        nop      # M_LOOP
    }
}
check no_lost_irq, no_starvation, no_deadlock, no_reentry, eoi_balanced
"""


def test_x3_hardware_interrupt_reaches_dpl0_gate_from_cpl3() -> None:
    m = Model(USER)
    assert any(m.v(s, "cpu0.depth") == 1 and m.at(s, "shell.pc", "M_LOOP") for s in m.states)
    report = ircheck.check_source(USER)
    assert not report.errors
    assert {c.name: c.status for c in report.checks} == {
        "no_lost_irq": "holds", "no_starvation": "holds", "no_deadlock": "holds", "no_reentry": "holds",
        "eoi_balanced": "holds"}


# ---- max_nesting ------------------------------------------------------------------------------

NEST = """\
pic master : i8259 { base 0x20 }
device timer  { irq master.0 edge raises 1 }
device serial { irq master.4 edge raises 1 }
idt { 0x20 -> timer_isr  interrupt_gate dpl 0
      0x24 -> serial_isr interrupt_gate dpl 0 }
handler timer_isr  { eoi }
handler serial_isr { eoi; sti; nop }
check max_nesting DEPTH
"""


def test_max_nesting_violated_with_shortest_trace() -> None:
    res = check(NEST.replace("DEPTH", "1"), "max_nesting")
    assert res.status == "violated"
    assert len(res.trace) == 7  # serial raise, take 4, eoi, sti and timer raise, nop (STI shadow, X1), take 0
    assert is_take(res.trace[-1].action, 0)
    acts = actions(res)
    assert sum(is_take(a, 4) for a in acts) == 1 and acts.index("sti") < 5
    rest = [a for a in acts if not a.startswith("raise")]
    assert is_take(rest[0], 4) and rest[1:3] == ["eoi", "sti"]
    assert check(NEST.replace("DEPTH", "2"), "max_nesting").status == "holds"
    assert check(NEST.replace("DEPTH", "0"), "max_nesting").status == "violated"
    assert len(check(NEST.replace("DEPTH", "0"), "max_nesting").trace) == 2


# ---- invariant ---------------------------------------------------------------------------------

INV = """\
pic master : i8259 { base 0x20 }
device nic { irq master.3 edge raises 2 }
idt { 0x23 -> nic_isr interrupt_gate dpl 0 }
counter c max 2
handler nic_isr { inc c; eoi }
check invariant EXPR
"""


def test_invariant_violated_by_shortest_run() -> None:
    res = check(INV.replace("EXPR", "c <= 1"), "invariant")
    assert res.status == "violated"
    assert len(res.trace) == 8
    kinds = Counter(a.split(" (")[0].split(":")[0] for a in actions(res))
    assert kinds == Counter({"raise IRQ 3": 2, "take IRQ 3": 2, "inc c": 2, "eoi": 1, "iret": 1})
    assert res.trace[-1].action == "inc c"
    assert res.trace[-1].changes["c"] == ("1", "2")
    assert check(INV.replace("EXPR", "c <= 2"), "invariant").status == "holds"


def test_invariant_false_initially_has_empty_trace() -> None:
    res = check(INV.replace("EXPR", "c == 1"), "invariant")
    assert res.status == "violated"
    assert res.trace == []


# ---- eoi_balanced --------------------------------------------------------------------------------

BAL = """\
pic master : i8259 { base 0x20  eoi MODE }
device nic { irq master.3 edge raises 1 }
idt { 0x23 -> nic_isr interrupt_gate dpl 0 }
handler nic_isr { BODY }
check eoi_balanced
"""


def bal(body: str, mode: str = "normal") -> ircheck.CheckResult:
    return check(BAL.replace("BODY", body).replace("MODE", mode), "eoi_balanced")


def test_eoi_balanced_eoi_with_nothing_in_service() -> None:
    res = bal("eoi; eoi")
    assert res.status == "violated"
    assert len(res.trace) == 4
    assert is_take(actions(res)[1], 3) and actions(res)[2:] == ["eoi", "eoi"]
    assert "nothing in service" in res.message
    res = bal("eoi master.3; eoi master.3")
    assert res.status == "violated" and len(res.trace) == 4 and res.trace[-1].action == "eoi master.3"


def test_eoi_balanced_thread_eoi_with_nothing_in_service() -> None:
    text = BAL.replace("BODY", "eoi").replace("MODE", "normal").replace(
        "check", "thread app on cpu0 { eoi master }\ncheck")
    res = check(text, "eoi_balanced")
    assert res.status == "violated"
    assert actions(res) == ["eoi master"]


def test_eoi_balanced_iret_with_own_isr_bit_still_set() -> None:
    res = bal("nop")
    assert res.status == "violated"
    assert len(res.trace) == 4
    assert actions(res)[2] == "nop" and actions(res)[3].startswith("iret")
    assert "still in service" in res.message


def test_eoi_balanced_eoi_under_auto_eoi() -> None:
    res = bal("eoi", "auto")
    assert res.status == "violated"
    assert len(res.trace) == 3 and res.trace[-1].action == "eoi"
    assert bal("nop", "auto").status == "holds"


def test_eoi_balanced_holds_for_one_eoi_per_frame() -> None:
    assert bal("nop; eoi").status == "holds"
    assert bal("eoi master.3").status == "holds"


# ---- no_reentry -----------------------------------------------------------------------------------

REENTRY = """\
pic master : i8259 { base 0x20 }
device nic { irq master.3 edge raises 1 }
idt { 0x23 -> nic_isr interrupt_gate dpl 0 }
function log_event {
    nop      # M_FN1
    nop      # M_FN2
}
handler nic_isr { call log_event; eoi }
thread main on cpu0 {
    CLI
    call log_event
    STI
}
check no_reentry
"""


def test_no_reentry_function_called_from_thread_and_handler() -> None:
    text = REENTRY.replace("CLI", "nop").replace("STI", "nop")
    m = Model(text)
    fn = m.locs("cpu0.pc", "M_FN1") | m.locs("cpu0.pc", "M_FN2")
    tfn = m.locs("main.pc", "M_FN1") | m.locs("main.pc", "M_FN2")
    assert any(m.v(s, "cpu0.pc") in fn and m.v(s, "main.pc") in tfn for s in m.states)
    res = check(text, "no_reentry")
    assert res.status == "violated"
    # nop, call (thread), raise, take, call (handler) -- the raise may come anywhere before the take
    assert len(res.trace) == 5
    assert res.trace[-1].action == "call log_event"
    assert res.trace[-1].context.startswith("cpu0 irq 3 nic_isr")
    assert "log_event" in res.message


def test_no_reentry_holds_when_thread_call_is_cli_protected() -> None:
    text = REENTRY.replace("CLI", "cli").replace("STI", "sti")
    m = Model(text)
    fn = m.locs("cpu0.pc", "M_FN1") | m.locs("cpu0.pc", "M_FN2")
    tfn = m.locs("main.pc", "M_FN1") | m.locs("main.pc", "M_FN2")
    assert not any(m.v(s, "cpu0.pc") in fn and m.v(s, "main.pc") in tfn for s in m.states)
    assert any(m.v(s, "cpu0.pc") in fn for s in m.states) and any(m.v(s, "main.pc") in tfn for s in m.states)
    assert check(text, "no_reentry").status == "holds"


# ---- no_starvation ---------------------------------------------------------------------------------

STARVE = """\
pic master : i8259 { base 0x20  mask MASK }
device uart { irq master.4 edge raises 1 }
idt { 0x24 -> uart_isr interrupt_gate dpl 0 }
handler uart_isr { eoi }
THREAD
check no_starvation
"""


def starve(mask: str, thread: str) -> ircheck.CheckResult:
    return check(STARVE.replace("MASK", mask).replace("THREAD", thread), "no_starvation")


def test_no_starvation_masked_for_ever() -> None:
    res = starve("0b00010000", "")
    assert res.status == "violated"
    assert len(res.trace) == 1 and res.trace[0].action.startswith("raise IRQ 4 (")
    assert res.loop_start is None
    assert "IRQ 4" in res.message
    assert starve("0b00000000", "").status == "holds"


def test_no_starvation_cli_for_ever() -> None:
    res = starve("0", "thread boot on cpu0 {\n    cli\n    loop { nop }\n}")
    assert res.status == "violated"
    assert len(res.trace) == 3
    assert sorted(a.split(" (")[0] for a in actions(res)[:2]) == ["cli", "raise IRQ 4"]
    assert res.trace[2].action == "nop"
    assert res.loop_start == 3


def test_no_starvation_holds_when_looping_thread_keeps_if_set() -> None:
    """Weak fairness of delivery: a request that stays deliverable while the thread spins is taken."""
    assert starve("0", "thread idle on cpu0 {\n    loop { nop; nop }\n}").status == "holds"
    # a finite critical section only delays the request
    assert starve("0", "thread app on cpu0 {\n    cli\n    nop\n    sti\n}").status == "holds"
    # ... while a thread that never re-enables IF starves it (contrast for the first assertion)
    assert starve("0", "thread idle on cpu0 {\n    cli\n    loop { nop; nop }\n}").status == "violated"


# ---- counter_range -----------------------------------------------------------------------------------

COUNT = """\
pic master : i8259 { base 0x20 }
counter c max 1
thread app on cpu0 { BODY }
check invariant c <= 1
"""


def test_counter_range_inc_past_max_and_dec_below_zero() -> None:
    text = COUNT.replace("BODY", "inc c; inc c")
    ts = compile_source(text)
    assert "counter_range" in ts.checks
    assert {s[ts.var_index("c")] for s in reach(ts)} == {0, 1}
    res = check(text, "counter_range")
    assert res.status == "violated"
    assert actions(res) == ["inc c", "inc c"]
    assert "exceed its max 1" in res.message
    res = check(COUNT.replace("BODY", "nop; dec c"), "counter_range")
    assert res.status == "violated"
    assert actions(res) == ["nop", "dec c"]
    assert "below 0" in res.message
    assert check(COUNT.replace("BODY", "inc c; dec c; inc c"), "counter_range").status == "holds"


def test_counter_inc_dec_values() -> None:
    text = COUNT.replace("max 1", "max 3").replace("BODY", "inc c; inc c; dec c")
    ts = compile_source(text)
    states = reach(ts)
    assert {s[ts.var_index("c")] for s in states} == {0, 1, 2}
    done = [s for s in states if s[ts.var_index("app.pc")] == 0]
    assert [s[ts.var_index("c")] for s in done] == [1]
    assert check(text, "counter_range").status == "holds"


@pytest.mark.parametrize("body", ["nop", "cli; sti"])
def test_counter_range_absent_without_counter_statements(body: str) -> None:
    ts = compile_source(COUNT.replace("BODY", body))
    assert "counter_range" not in ts.checks


def test_no_starvation_holds_when_thread_toggles_if() -> None:
    """Strong fairness for interrupt acknowledge: deliverable again and again means taken."""
    model = """pic master : i8259 { base 0x20 }
device nic { irq master.3 edge raises 1 }
idt { 0x23 -> isr interrupt_gate dpl 0 }
handler isr { eoi }
thread t { loop { cli; nop; sti; nop } }
check no_starvation
"""
    assert ircheck.check_source(model).check("no_starvation").status == "holds"
    # (the storm that keeps a line's INTA disabled for ever still starves it: tests/spec/test_x86.py,
    # test_rotation_ends_a_storm_s_starvation)
