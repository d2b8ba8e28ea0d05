"""The repair catalogue (spec/repairs.py): which repairs it proposes for the bundled bug models, and
that each is a text edit at the right place that keeps the user's comments and layout."""

from __future__ import annotations

import pytest

import ircheck
from ircheck.grammar import ast
from ircheck.grammar.parser import parse, parse_file
from ircheck.spec.repairs import Edit, EditConflict, apply_edits, candidates, combine
from tests.conftest import MODELS


def _cands(name: str) -> dict[str, str]:
    """key -> repaired source, for one bundled model."""
    m = parse_file(MODELS / f"{name}.irq")
    return {c.key: combine(m.source, (c,)) for c in candidates(m)}


def _changed(before: str, after: str) -> list[tuple[str, str]]:
    """(old line, new line) pairs of a repair that keeps the line count; lines only on one side
    come back with "" on the other."""
    import difflib
    out = []
    sm = difflib.SequenceMatcher(None, before.splitlines(), after.splitlines())
    for op, a1, a2, b1, b2 in sm.get_opcodes():
        if op != "equal":
            out.append(("\n".join(before.splitlines()[a1:a2]), "\n".join(after.splitlines()[b1:b2])))
    return out


def test_apply_edits_replaces_inserts_and_refuses_overlap() -> None:
    src = "ab\ncd\n"
    assert apply_edits(src, [Edit(1, 2, 1, 3, "X"), Edit(2, 1, 2, 1, ">")]) == "aX\n>cd\n"
    assert apply_edits(src, []) == src
    with pytest.raises(EditConflict):
        apply_edits(src, [Edit(1, 1, 1, 3, "x"), Edit(1, 2, 2, 1, "y")])
    with pytest.raises(EditConflict):
        apply_edits(src, [Edit(9, 1, 9, 1, "x")])


# model -> (repair key, the lines it changes: old -> new)
KNOWN: dict[str, tuple[str, list[tuple[str, str]]]] = {
    "lang_deadlock_spin_lock": ("irqsave:app:rx_lock", [
        ("thread app on cpu0 { spin_lock rx_lock; write rx_ring; spin_unlock rx_lock }",
         "thread app on cpu0 { spin_lock_irqsave rx_lock; write rx_ring; spin_unlock_irqrestore rx_lock }")]),
    "kernel_softirq_spin_lock": ("bh:app:stats_lock", [
        ("    spin_lock stats_lock        # BH still enabled", "    spin_lock_bh stats_lock        # BH still enabled"),
        ("    spin_unlock stats_lock", "    spin_unlock_bh stats_lock")]),
    "lang_starvation_no_eoi": ("eoi:kbd_isr", [
        ("handler kbd_isr  { nop }", "handler kbd_isr  { nop; eoi }")]),
    "x86_cascade_disk_missing_master_eoi": ("eoi_master:ide_isr", [
        ("handler ide_isr    { read sector_buf; eoi }", "handler ide_isr    { read sector_buf; eoi; eoi master }")]),
    "lang_trap_gate_reentry": ("interrupt_gate:tick", [
        ("idt { 0x20 -> tick trap_gate dpl 0 }", "idt { 0x20 -> tick interrupt_gate dpl 0 }")]),
    "early_eoi_sti_self_reentry": ("late_eoi_no_sti:serial_isr", [
        ("handler serial_isr { eoi; sti; read rx_fifo; write rx_buf }",
         "handler serial_isr { read rx_fifo; write rx_buf; eoi }")]),
    "lang_lost_wakeup": ("wait_event:app:rx_wait", [
        ("thread app on cpu0 { if not rx_ready { sleep_on rx_wait }; clear rx_ready }",
         "thread app on cpu0 { wait_event rx_wait until rx_ready; clear rx_ready }")]),
    "kernel_disable_irq_in_handler": ("nosync:nic_isr:3", [
        ("    disable_irq 3               # waits for nic_isr to finish: itself",
         "    disable_irq_nosync 3               # waits for nic_isr to finish: itself")]),
    "kernel_mutex_in_hardirq": ("threaded:sensor_isr", [
        ("request_irq 5 sensor_isr", "request_irq 5 NULL thread sensor_isr oneshot"),
        ("handler sensor_isr {", "irq_thread sensor_isr {")]),
    "kernel_request_irq_handler_eoi": ("no_eoi:nic_isr", [
        ("    eoi                         # left over from the bare-metal driver", "")]),
    "level_no_ack_storm": ("ack:uart_isr:uart", [
        ("handler uart_isr   { read rx_fifo; eoi }", "handler uart_isr   { read rx_fifo; ack uart; eoi }")]),
    "x86_spurious_irq7_unconditional_eoi": ("in_service:lpt_isr", [
        ("handler lpt_isr { read lpt_status; ack lpt; eoi }",
         "handler lpt_isr { read lpt_status; ack lpt; if in_service { eoi } }")]),
    "kernel_sleep_under_spinlock": ("unlocked:app:17", [
        ("", "    sleep                       # kmalloc(GFP_KERNEL)"),
        ("    sleep                       # kmalloc(GFP_KERNEL)", "")]),
    "x86_syscall_gate_dpl0": ("dpl3:sys_entry", [
        ("idt { 0x80 -> sys_entry interrupt_gate dpl 0", "idt { 0x80 -> sys_entry interrupt_gate dpl 3")]),
    # X10: the gate a device's vector lacks (Intel SDM vol. 3A, #NP), with a handler that EOIs
    "x86_device_vector_no_gate": ("gate:kbd", [
        ("", "idt { 0x21 -> kbd_isr interrupt_gate dpl 0 }\nhandler kbd_isr { eoi }")]),
}


@pytest.mark.parametrize("name", sorted(KNOWN))
def test_the_known_repair_is_proposed_as_a_minimal_text_edit(name: str) -> None:
    key, lines = KNOWN[name]
    cands = _cands(name)
    assert key in cands, sorted(cands)
    before = (MODELS / f"{name}.irq").read_text()
    after = cands[key]
    assert _changed(before, after) == lines
    assert after.splitlines()[:3] == before.splitlines()[:3]  # the header comments are kept
    parse(after, name)  # and it is still a model


def test_lock_flavours_are_per_context_and_lock_and_skip_bh_for_spin_lock_irq() -> None:
    keys = set(_cands("kernel_spin_unlock_irq_reenables"))
    assert {"irqsave:update_cfg:cfg_lock", "bh:app:rx_lock", "irqsave:app:rx_lock"} <= keys
    assert "bh:update_cfg:cfg_lock" not in keys


def test_abba_is_repaired_by_swapping_one_side() -> None:
    c = _cands("kernel_abba_two_cpus")
    after = c["order:reset:dev_lock"]
    body = after.split("thread reset on cpu1 {")[1].split("}")[0].split()
    assert body[:4] == ["spin_lock", "dev_lock", "spin_lock", "queue_lock"]


def test_no_eoi_repair_under_auto_eoi_or_for_request_irq_handlers() -> None:
    assert not any(k.startswith("eoi:") for k in _cands("level_auto_eoi_reentry"))
    assert not any(k.startswith("eoi") for k in _cands("kernel_isr_thread_spin_lock"))


def test_cascade_eois_are_not_taken_for_a_duplicate() -> None:
    assert not any(k.startswith("drop_eoi") for k in _cands("x86_cascade_disk_both_eoi"))
    assert "drop_eoi:uart_isr" in _cands("double_eoi")


def test_missing_eoi_on_a_multi_line_handler_goes_on_its_own_line() -> None:
    src = ("pic master : i8259 { base 0x20 }\npic slave : i8259 { base 0x28 cascade master.2 }\n"
           "device disk { irq slave.6 edge raises 1 }\nidt { 0x2E -> ide_isr interrupt_gate dpl 0 }\n"
           "data buf\nhandler ide_isr {\n    read buf   # the sector\n}\n")
    m = parse(src, "t.irq")
    (c,) = [c for c in candidates(m) if c.key == "eoi:ide_isr"]
    assert combine(src, (c,)).splitlines()[6:9] == ["    read buf   # the sector", "    eoi; eoi master", "}"]
    assert c.line == 8


def test_unprotected_data_gets_a_new_lock_in_the_least_flavour_each_side_needs() -> None:
    after = _cands("kernel_race_isr_thread")["lock_data:rx_stats"]
    assert "data rx_stats\nspinlock rx_stats_lock\nhandler nic_isr {\n    spin_lock rx_stats_lock\n" in after
    assert "thread app on cpu0 {\n    spin_lock_irqsave rx_stats_lock\n    read rx_stats\n    write rx_stats\n" \
        "    spin_unlock_irqrestore rx_stats_lock\n}" in after
    soft = _cands("kernel_stats_softirq_two_cpus")["lock_data:rx_stats"]  # one softirq on two CPUs
    assert "softirq rx_done {\n    spin_lock rx_stats_lock\n" in soft
    src = ("cpus 2\ndata d\nspinlock d_lock\nsoftirq s { write d }\nthread t on cpu0 { read d }\n"
           "thread u on cpu1 { write d }\n")
    both = combine(src, (next(c for c in candidates(parse(src, "t.irq")) if c.key == "lock_data:d"),))
    assert "spinlock d_lock2\n" in both  # the name is free
    assert "softirq s { spin_lock d_lock2; write d; spin_unlock d_lock2 }" in both
    assert "thread t on cpu0 { spin_lock_bh d_lock2; read d; spin_unlock_bh d_lock2 }" in both


def test_missing_eoi_on_a_local_apic_vector() -> None:
    src = ("apic lapic { tpr 0 }\ndevice nic { irq vector 0x61 edge raises 2 }\n"
           "idt { 0x61 -> nic_isr interrupt_gate dpl 0 }\ndata rx_ring\nhandler nic_isr {\n    read rx_ring\n}\n")
    (c,) = candidates(parse(src, "apic.irq"))
    assert c.key == "eoi:nic_isr"
    assert combine(src, (c,)).endswith("handler nic_isr {\n    read rx_ring\n    eoi\n}\n")


def test_every_candidate_of_every_bundled_model_parses() -> None:
    n = 0
    for path in sorted(MODELS.glob("*.irq")):
        m = parse_file(path)
        for c in candidates(m):
            assert c.description and c.line > 0
            new = parse(combine(m.source, (c,)), str(path))
            assert new.decls != m.decls, (path.name, c.key)  # a repair changes the model
            n += 1
    assert n > 40


def test_a_model_without_source_text_has_no_candidates_that_crash() -> None:
    m = ast.Model((), "empty.irq", "")
    assert candidates(m) == []


def test_set_before_wake_swaps_whole_lines_so_comments_stay_with_their_statements() -> None:
    before = (MODELS / "kernel_wake_before_set.irq").read_text()
    after = _cands("kernel_wake_before_set")["set_first:nic_isr:rx_ready"]
    assert _changed(before, after) == [("", "    set rx_ready"), ("    set rx_ready", "")]
    assert "    set rx_ready\n    wake_up rx_wait             # too early\n}" in after
    src = "waitqueue q\nflag f\nthread t { wait_event q until f }\nhandler h { wake_up q; set f }\n"
    (c,) = [c for c in candidates(parse(src, "s.irq")) if c.key.startswith("set_first")]
    assert combine(src, (c,)).endswith("handler h { set f; wake_up q }\n")


def test_a_plain_update_of_an_atomic_counter_is_made_atomic() -> None:
    """R4 (include/linux/atomic.h): the plain `inc` races with the handler's atomic one; make it atomic."""
    src = ("cpus 2\npic master : i8259 { base 0x20 }\ndevice nic { irq master.3 edge raises 1 on cpu1 }\n"
           "request_irq 3 nic_isr\ncounter pkts max 3\nhandler nic_isr { atomic_inc pkts }\n"
           "thread app on cpu0 { inc pkts }  # plain\ncheck no_data_race\n")
    assert ircheck.check_source(src).check("no_data_race").status == "violated"
    m = parse(src, "a.irq")
    fixed = {c.key: combine(m.source, (c,)) for c in candidates(m)}["atomic:app:pkts"]
    assert "thread app on cpu0 { atomic_inc pkts }  # plain" in fixed
    assert ircheck.check_source(fixed).check("no_data_race").status == "holds"
