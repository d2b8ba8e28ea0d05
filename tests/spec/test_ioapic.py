"""A1-A4 (docs/semantics.md): I/O APIC pins, Remote IRR, MSI/MSI-X and request_irq on them with L0's
flows, each rule in both directions, against the naive search, Z3 and SPIN.

Sources: Intel 82093AA data sheet (redirection entry, Remote IRR); QEMU hw/intc/ioapic.c
`ioapic_service` (a level pin sends when Remote IRR is clear and it is unmasked), `ioapic_eoi_broadcast`
(the EOI clears Remote IRR and a still-asserted pin sends again); Linux kernel/irq/chip.c
`handle_fasteoi_irq` / `handle_edge_irq`, arch/x86/kernel/apic/io_apic.c `ioapic_ack_level`,
`mp_register_handler`, arch/x86/kernel/apic/msi.c; the PCI spec's MSI-X mask and pending bits."""

from __future__ import annotations

from pathlib import Path

import pytest

import ircheck
from ircheck.api import compile_source
from ircheck.grammar.printer import format_source
from ircheck.promela import to_promela
from ircheck.suggest import suggest
from tests.support.naive import agree, reachable
from tests.support.spin import needs_spin, spin_violates

STORM = """ioapic io0 { pins 24 }
device nic { irq io0.11 level raises 1 }
request_irq 11 nic_isr
handler nic_isr { read rx_ring }
data rx_ring
data log
thread app on cpu0 { write log; write log }
"""


def codes(text: str) -> list[str]:
    r = ircheck.check_source(text)
    return [d.code for d in r.errors]


def status(text: str, check: str) -> str:
    r = ircheck.check_source(text)
    assert not r.errors, [d.render() for d in r.errors]
    return r.check(check).status


def counted(ack: str) -> str:
    """A level pin whose handler counts its runs (one raise): a second run is a re-send."""
    return f"""ioapic io0 {{ pins 24 }}
device nic {{ irq io0.11 level raises 1 }}
request_irq 11 nic_isr
counter runs max 3
handler nic_isr {{ {ack} inc runs }}
check invariant runs < 2
"""


# ---- the LANGUAGE.md storm example parses and runs with the existing checks --------------------------

def test_the_storm_example_runs_and_fires_again_after_every_eoi() -> None:
    r = ircheck.check_source(STORM)
    assert not r.errors and r.stats.complete
    assert {c.name for c in r.checks if c.status != "holds"} == {"no_irq_storm"}
    fixed = ircheck.check_source(STORM.replace("{ read rx_ring }", "{ ack nic; read rx_ring }"))
    assert all(c.status == "holds" for c in fixed.checks)
    ts, states = reachable(STORM)
    # after the only raise the vector is pending again with the handler done: the EOI re-sent it (A2)
    assert any(s["nic.raises_left"] == 0 and s["lapic.IRR"] == 1 and s["irq11.inprogress"] == 0
               and s["cpu0.depth"] == 0 and s["app.pc"] > 1 for s in states)


# ---- A2: Remote IRR, the EOI broadcast -----------------------------------------------------------

def test_a2_a_level_pin_nobody_quiets_sends_again_after_the_eoi() -> None:
    assert status(counted(""), "invariant") == "violated"


def test_a2_a_level_pin_quieted_before_the_eoi_sends_nothing_more() -> None:
    assert status(counted("ack nic;"), "invariant") == "holds"


def test_a2_while_remote_irr_is_set_a_shared_level_pin_sends_nothing_more() -> None:
    text = """ioapic io0 { pins 24 }
device nic { irq io0.11 level shared raises 1 }
device snd { irq io0.11 level shared raises 1 }
request_irq 11 nic_isr shared dev_id nic
request_irq 11 snd_isr shared dev_id snd
handler nic_isr { ack nic }
handler snd_isr { ack snd }
"""
    _ts, states = reachable(text)
    assert not any(s["lapic.IRR"] == 1 and s["cpu0.lapic.ISR"] == 1 for s in states)  # never both
    assert any(s["nic.asserting"] == 1 and s["snd.asserting"] == 1 for s in states)  # wired OR (P2)
    assert status(text, "no_starvation") == "holds"


def test_a2_an_edge_pin_has_no_remote_irr_one_pending_while_one_is_in_service() -> None:
    text = """ioapic io0 { pins 24 }
device ide { irq io0.14 edge raises 2 }
request_irq 14 ide_isr
handler ide_isr { nop }
"""
    _ts, states = reachable(text)
    assert any(s["lapic.IRR"] == 1 and s["irq14.inprogress"] == 1 for s in states)


def test_a2_shared_storm_starves_a_lower_vector_and_the_fix_holds() -> None:
    root = Path(__file__).parents[2] / "models"
    assert status((root / "kernel_ioapic_shared_level_storm.irq").read_text(), "no_starvation") == "violated"
    assert status((root / "kernel_ioapic_shared_level_acked.irq").read_text(), "no_starvation") == "holds"


# ---- A1: masks and destinations -------------------------------------------------------------------

def test_a1_an_edge_on_a_masked_pin_is_lost() -> None:
    text = """ioapic io0 { pins 24 }
device ide { irq io0.14 edge raises 3 }
request_irq 14 ide_isr
handler ide_isr { nop }
thread app on cpu0 { disable_irq 14; enable_irq 14 }
check no_lost_irq
"""
    r = ircheck.check_source(text)
    lost = [c for c in r.checks if c.name == "no_lost_irq"][0]
    assert lost.status == "violated"
    without = text.replace("raises 3", "raises 1")
    assert status(without, "no_lost_irq") == "holds"


def test_a1_a_masked_pin_loses_the_edge_with_its_own_message() -> None:
    text = """ioapic io0 { pins 24 }
device ide { irq io0.14 edge raises 2 }
request_irq 14 ide_isr
handler ide_isr { nop }
thread app on cpu0 { disable_irq 14 }
check no_lost_irq
"""
    ts = compile_source(text)
    msgs = [why for t in ts.transitions for tag, why in t.violates if tag == "no_lost_irq"]
    assert any("masked pin is lost (A1)" in m for m in msgs)


def test_a1_a_masked_level_is_delivered_when_unmasked_if_still_asserted() -> None:
    text = """ioapic io0 { pins 24 }
device nic { irq io0.11 level raises 1 }
request_irq 11 nic_isr
handler nic_isr { ack nic }
thread app on cpu0 { disable_irq 11; nop; enable_irq 11 }
check no_starvation
"""
    assert status(text, "no_starvation") == "holds"
    assert status(text.replace("; nop; enable_irq 11", ""), "no_starvation") == "violated"  # masked for ever


@pytest.mark.parametrize(("route", "cpus_taking"), [("on cpu1", {1}), ("", {0, 1})])
def test_a1_a_destination_is_one_cpu_or_any_cpu_of_the_set(route: str, cpus_taking: set[int]) -> None:
    text = f"""cpus 2
ioapic io0 {{ pins 24 }}
device ide {{ irq io0.14 edge raises 1 {route} }}
request_irq 14 ide_isr
handler ide_isr {{ nop }}
"""
    _ts, states = reachable(text)
    took = {c for c in (0, 1) if any(s[f"cpu{c}.lapic.ISR"] for s in states)}
    assert took == cpus_taking


def test_a1_destination_set_race_and_affinity() -> None:
    root = Path(__file__).parents[2] / "models"
    assert status((root / "kernel_msi_destination_set_race.irq").read_text(), "no_data_race") == "violated"
    assert status((root / "kernel_msi_affinity_cpu0.irq").read_text(), "no_data_race") == "holds"


# ---- A3: MSI / MSI-X -------------------------------------------------------------------------------

MSI = """device nvme { KIND raises N }
request_irq nvme nvme_isr
handler nvme_isr { nop }
"""


@pytest.mark.parametrize("kind", ["msi", "msix"])
def test_a3_a_second_message_while_the_vector_is_pending_collapses(kind: str) -> None:
    assert status(MSI.replace("KIND", kind).replace("N", "2"), "no_lost_irq") == "violated"
    assert status(MSI.replace("KIND", kind).replace("N", "1"), "no_lost_irq") == "holds"


def test_a3_msix_pending_bit_is_sent_on_unmask() -> None:
    root = Path(__file__).parents[2] / "models"
    assert status((root / "kernel_msix_masked_pending.irq").read_text(), "no_starvation") == "holds"
    assert status((root / "kernel_msix_never_unmasked.irq").read_text(), "no_starvation") == "violated"
    _ts, states = reachable((root / "kernel_msix_masked_pending.irq").read_text())
    assert any(s["nvme.pending"] == 1 for s in states) and any(s["nvme.masked"] == 1 for s in states)


def test_a3_plain_msi_has_no_mask_bit() -> None:
    ts = compile_source(MSI.replace("KIND", "msi").replace("N", "1"))
    assert not any(v.name.startswith("nvme.masked") for v in ts.vars)


def test_a3_msi_cannot_be_shared_or_level() -> None:
    assert codes("device nvme { msi shared raises 1 }\nrequest_irq nvme h\nhandler h { nop }\n") == ["IRQ231"]
    assert codes("device nvme { irq vector 0x40 level msi }\n") == ["IRQ231"]


# ---- A4 and L0: request_irq, the flow handlers ------------------------------------------------------

def labels(text: str) -> str:
    return "\n".join(t.label.action for t in compile_source(text).transitions)


def test_l0_flow_handler_per_source() -> None:
    assert "handle_fasteoi_irq" in labels(STORM)
    edge = STORM.replace("level", "edge")
    assert "handle_edge_irq" in labels(edge) and "handle_fasteoi_irq" not in labels(edge)
    assert "handle_edge_irq" in labels(MSI.replace("KIND", "msix").replace("N", "1"))


def test_a4_an_eoi_in_a_requested_msi_handler_is_unbalanced() -> None:
    text = MSI.replace("KIND", "msi").replace("N", "1")
    assert status(text, "eoi_balanced") == "holds"
    assert status(text.replace("{ nop }", "{ eoi }"), "eoi_balanced") == "violated"


def test_a4_genirq_calls_name_an_msi_source_by_its_device() -> None:
    text = MSI.replace("KIND", "msix").replace("N", "1") + "thread app on cpu0 { disable_irq nvme; enable_irq nvme }\n"
    r = ircheck.check_source(text)
    assert not r.errors
    assert codes(text.replace("disable_irq nvme", "disable_irq nic")) == ["IRQ233"]
    assert "IRQ233" in codes(text.replace("request_irq nvme", "request_irq nic"))


def test_a4_oneshot_keeps_a_threaded_level_pin_masked_until_the_thread_acks() -> None:
    text = """ioapic io0 { pins 24 }
device nic { irq io0.11 level raises 1 }
request_irq 11 NULL thread nic_thread oneshot
irq_thread nic_thread { ack nic; inc runs }
counter runs max 3
check invariant runs < 2
"""
    assert status(text, "invariant") == "holds"


def test_request_irq_on_a_pin_no_device_drives_is_refused() -> None:
    # found by the front-end fuzzer (it crashed the lowering): an I/O APIC pin gets its GSI -> IRQ mapping
    # from the device's acpi_register_gsi, so request_irq on an undriven pin is a wrong number, said so
    r = ircheck.check_source(STORM.replace("request_irq 11", "request_irq 12"))
    assert [(d.code, d.line, d.column) for d in r.errors] == [("IRQ501", 3, 1)]
    assert "no device drives I/O APIC pin io0.12 (GSI 12)" in r.errors[0].message
    assert r.errors[0].hint == "the devices' GSIs are 11"
    assert codes(STORM) == []


def test_ioapic_with_an_8259a_is_refused() -> None:
    assert "IRQ232" in codes("pic master : i8259 { base 0x20 }\nioapic io0 { pins 24 }\n")
    assert codes("ioapic io0 { pins 300 }\n") == ["IRQ230"]
    assert codes("ioapic io0 { pins 24 }\ndevice d { irq io0.30 edge }\n") == ["IRQ230"]


# ---- printing, engines -----------------------------------------------------------------------------

def test_fmt_round_trips_the_new_syntax() -> None:
    text = STORM + "device nvme { msix raises 1 on cpu0 }\nrequest_irq nvme nvme_isr thread t\n" \
        "handler nvme_isr { return wake_thread }\nirq_thread t { disable_irq nvme }\n" \
        "device ide { irq io0.14 edge vector 0x3e }\nidt { 0x3e -> ide_isr interrupt_gate dpl 0 }\n" \
        "handler ide_isr { eoi }\n"
    once = format_source(text)
    assert format_source(once) == once
    assert "request_irq nvme nvme_isr thread t" in once and "vector 0x3e" in once and "msix" in once


@pytest.mark.parametrize("text", [
    STORM.replace("raises 1", "raises 2"),
    counted(""),
    MSI.replace("KIND", "msix").replace("N", "2") + "thread app on cpu0 { disable_irq nvme; enable_irq nvme }\n",
    """ioapic io0 { pins 24 }
device ide { irq io0.14 edge vector 0x3e raises 2 }
idt { 0x3e -> ide_isr interrupt_gate dpl 0 }
handler ide_isr { write buf; eoi }
data buf
thread app on cpu0 { read buf }
""",
])
def test_engines_agree_with_the_naive_search(text: str) -> None:
    agree(text)


@needs_spin
def test_spin_finds_the_msi_collapse(tmp_path: Path) -> None:
    text = MSI.replace("KIND", "msi").replace("N", "2") + "check no_lost_irq\n"
    assert spin_violates(to_promela(compile_source(text)), tmp_path)
    assert not spin_violates(to_promela(compile_source(text.replace("raises 2", "raises 1"))), tmp_path)


def test_z3_agrees_on_the_collapse() -> None:
    text = MSI.replace("KIND", "msi").replace("N", "2") + "check no_lost_irq\n"
    r = ircheck.check_source(text, engine="smt", timeout=60)
    assert r.check("no_lost_irq").status == "violated"
    assert ircheck.check_source(text.replace("raises 2", "raises 1"), engine="smt",
                                timeout=60).check("no_lost_irq").status == "holds"


# ---- --suggest: the textbook repairs on I/O APIC level pins (L2, L8) ---------------------------------

def test_suggest_adds_the_missing_ack_on_a_level_pin() -> None:
    keys = [c.key for f in suggest(STORM, "<string>").fixes for c in f.repairs]
    assert "ack:nic_isr:nic" in keys


def test_suggest_adds_oneshot_on_a_threaded_level_pin() -> None:
    text = STORM.replace("request_irq 11 nic_isr", "request_irq 11 nic_isr thread t").replace(
        "handler nic_isr { read rx_ring }", "handler nic_isr { return wake_thread }\nirq_thread t { ack nic }")
    assert status(text, "no_irq_storm") == "violated"
    keys = [c.key for f in suggest(text, "<string>").fixes for c in f.repairs]
    assert "oneshot:11" in keys


# ---- A2 on bare metal: the handler's own EOI clears Remote IRR -------------------------------------

@pytest.mark.parametrize(("eoi", "second_run"), [("", "holds"), ("; eoi", "violated")])
def test_a2_bare_metal_remote_irr_waits_for_the_handlers_eoi(eoi: str, second_run: str) -> None:
    text = f"""ioapic io0 {{ pins 24 }}
device disk {{ irq io0.14 level vector 0x3e raises 2 }}
idt {{ 0x3e -> disk_isr interrupt_gate dpl 0 }}
counter runs max 3
handler disk_isr {{ inc runs; ack disk{eoi} }}
check invariant runs < 2
"""
    assert status(text, "invariant") == second_run  # without the EOI the second request is never sent


def test_a2_bare_metal_models() -> None:
    root = Path(__file__).parents[2] / "models"
    assert status((root / "x86_ioapic_level_no_eoi.irq").read_text(), "no_starvation") == "violated"
    assert status((root / "x86_ioapic_level_eoi.irq").read_text(), "no_starvation") == "holds"
