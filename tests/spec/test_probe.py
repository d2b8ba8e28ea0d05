"""C2: kernel-assisted IRQ probing. probe_irq_on starts up every line with no action (IRQS_AUTODETECT |
IRQS_WAITING), waits, and drops the lines that fired; a line counts as fired when its flow handler ran
(kernel/irq/chip.c handle_level_irq clears IRQS_WAITING and, with no action, leaves the line masked);
probe_irq_off returns the one line that fired, 0 if none, minus the first if several
(kernel/irq/autoprobe.c `probe_irq_on`, `probe_irq_off`). docs/semantics.md C2. Each rule in both
directions, and under Z3 and SPIN."""

from __future__ import annotations

from pathlib import Path

import pytest

import ircheck
from ircheck.api import compile_source
from ircheck.promela import to_promela
from tests.support.spin import needs_spin, spin_violates

PROBE = """pic master : i8259 { base 0x20 }
device card  { irq master.5 edge on_kick }
device modem { irq master.4 edge raises 1 }
EXTRA
probe found for card
thread init on cpu0 { BODY }
check probe_irq
"""
RIGHT = "probe_irq_on; kick card; udelay; probe_irq_off found"
REQUESTED = "request_irq 4 modem_isr\nhandler modem_isr { nop }"


def result(body: str = RIGHT, extra: str = "", engine: str = "explicit") -> ircheck.CheckResult:
    r = ircheck.check_source(PROBE.replace("BODY", body).replace("EXTRA", extra), engine=engine)
    assert not r.errors, r.errors
    return r.check("probe_irq")


@pytest.mark.parametrize("engine", ["explicit", "smt"])
def test_c2_another_unrequested_line_firing_in_the_window(engine: str) -> None:
    assert result(engine=engine).status == "violated"
    assert result(extra=REQUESTED, engine=engine).status == "holds"  # IRQ 4 has an action: not probed


def test_c2_several_fired_returns_minus_the_first() -> None:
    c = result()
    assert "returns -4" in c.message and "not card's IRQ 5" in c.message
    assert [s.action for s in c.trace if "raise IRQ 4" in s.action]  # the other line fires in the window


def test_c2_nothing_fired_returns_zero() -> None:
    """Without the driver's wait the card may not have answered yet: probe_irq_off returns 0."""
    c = result("probe_irq_on; kick card; probe_irq_off found", REQUESTED)
    assert c.status == "violated" and "returns 0" in c.message


def test_c2_a_line_that_fired_during_probe_irq_ons_wait_is_dropped() -> None:
    """The card kicked before probe_irq_on answers during its wait: dropped as spurious, so nothing is
    left to find (0); kicked after it, it is found."""
    c = result("kick card; udelay; probe_irq_on; probe_irq_off found", REQUESTED)
    assert c.status == "violated" and "returns 0" in c.message
    assert result("probe_irq_on; kick card; udelay; probe_irq_off found", REQUESTED).status == "holds"


def test_c2_every_outcome_of_probe_irq_off() -> None:
    """One step per outcome (autoprobe.c): each line alone, none, minus the first of several; only the
    probed device's IRQ is not tagged probe_irq."""
    ts = compile_source(PROBE.replace("BODY", RIGHT).replace("EXTRA", ""))
    outs = {t.label.action.split(": returns ")[1].split(" ")[0]: bool(t.violates) for t in ts.transitions
            if "returns" in t.label.action}
    assert outs == {"0": True, "4": True, "-4": True, "5": False}


def test_c2_unrequested_lines_are_masked_outside_the_window() -> None:
    """Linux never started a line no driver requested: the modem's raise before probing is latched,
    delivered in probe_irq_on's wait and dropped (the probe stub is no handled interrupt, C1)."""
    model = PROBE.replace("EXTRA", "").replace("BODY", "udelay").replace("check probe_irq",
                                                                         "check invariant irqs(modem) == 0")
    r = ircheck.check_source(model)
    assert r.check("invariant").status == "holds"
    assert not r.check("invariant").trace


def test_c2_probe_irq_is_on_by_default_only_where_a_probe_is_declared() -> None:
    r = ircheck.check_source(PROBE.replace("EXTRA", REQUESTED).replace("BODY", RIGHT).replace("check probe_irq", ""))
    assert "probe_irq" in [c.name for c in r.checks]
    plain = ircheck.check_source("pic master : i8259 { base 0x20 }\n")
    assert "probe_irq" not in [c.name for c in plain.checks]


@pytest.mark.parametrize(("text", "code"), [
    ("probe found for nobody", "IRQ102"),
    ("probe found for init", "IRQ103"),
])
def test_c2_resolution_errors(text: str, code: str) -> None:
    r = ircheck.check_source(PROBE.replace("probe found for card", text).replace("EXTRA", "").replace("BODY", RIGHT))
    assert code in [e.code for e in r.errors]


def test_c2_probe_irq_on_needs_a_probe() -> None:
    r = ircheck.check_source("pic master : i8259 { base 0x20 }\nthread t { probe_irq_on }\n")
    assert [e.code for e in r.errors] == ["IRQ317"]


IOAPIC = """ioapic io0 { pins 24 }
device card  { irq io0.5 edge on_kick }
device modem { irq io0.4 TRIGGER raises 1 }
EXTRA
probe found for card
thread init on cpu0 { probe_irq_on; kick card; udelay; probe_irq_off found }
check probe_irq
"""


@pytest.mark.parametrize("trigger", ["edge", "level"])
def test_c2_io_apic_pins_are_probed_by_their_gsi(trigger: str) -> None:
    """autoprobe.c starts up every descriptor with no action - on an I/O APIC, the unrequested pins -
    and answers a GSI; the stub is the pin's L0 flow with no action (chip.c handle_edge_irq's
    mask_ack_irq, handle_fasteoi_irq's mask then EOI), which clears IRQS_WAITING."""
    text = IOAPIC.replace("TRIGGER", trigger)
    r = ircheck.check_source(text.replace("EXTRA\n", ""))
    c = r.check("probe_irq")
    assert c.status == "violated" and c.message.startswith("probe_irq_off(found) returns -4, not card's IRQ 5")
    stubs = [s.action for s in c.trace if "IRQS_WAITING cleared" in s.action]
    flow = "handle_edge_irq" if trigger == "edge" else "handle_fasteoi_irq"
    assert stubs[-1].startswith(flow)
    assert ircheck.check_source(text.replace("EXTRA\n", ""), engine="smt").check("probe_irq").status == "violated"
    ok = ircheck.check_source(text.replace("EXTRA", "request_irq 4 modem_isr\nhandler modem_isr { nop }"))
    assert ok.check("probe_irq").status == "holds"


@needs_spin
def test_c2_under_spin(tmp_path: Path) -> None:
    for extra, want in (("", True), (REQUESTED, False)):
        ts = compile_source(PROBE.replace("BODY", RIGHT).replace("EXTRA", extra))
        assert spin_violates(to_promela(ts), tmp_path) == want, extra
