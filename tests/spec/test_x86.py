"""One small model per x86 rule (docs/semantics.md X1-X10), asserting exact reachable facts or traces."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import ircheck
from ircheck.spec.x86 import klass
from tests.support.naive import bit, reachable

PC = "pic master : i8259 { base 0x20 }\npic slave : i8259 { base 0x28  cascade master.2 }\n"


def actions(report: ircheck.Report, check: str) -> list[str]:
    return [s.action for s in report.check(check).trace]


# ---- P11 cascade -----------------------------------------------------------------------------

def test_slave_interrupt_sets_both_isr_bits() -> None:
    _, states = reachable(PC + """device disk { irq slave.6 edge raises 1 }
idt { 0x2e -> disk_isr interrupt_gate dpl 0 }
handler disk_isr { eoi; eoi master }
""")
    in_handler = [s for s in states if s["cpu0.depth"] == 1]
    assert in_handler
    # on entry both ISR bits are set; slave ISR[6] never without master ISR[2]
    assert any(bit(s["slave.ISR"], 6) and bit(s["master.ISR"], 2) for s in in_handler)
    assert not any(bit(s["slave.ISR"], 6) and not bit(s["master.ISR"], 2) for s in states)
    # after both EOIs and IRET nothing stays in service
    done = [s for s in states if s["disk.raises_left"] == 0 and s["cpu0.depth"] == 0]
    assert done and all(s["master.ISR"] == 0 and s["slave.ISR"] == 0 for s in done)


def test_master_isr2_blocks_slave_and_lower_master_lines() -> None:
    r = ircheck.check_source(PC + """device disk { irq slave.6 edge raises 1 }
device uart { irq master.4 edge raises 1 }
idt { 0x2e -> disk_isr interrupt_gate dpl 0
      0x24 -> uart_isr interrupt_gate dpl 0 }
handler disk_isr { eoi }
handler uart_isr { eoi }
check no_starvation, eoi_balanced
""")
    assert r.check("no_starvation").status == "violated"
    assert "IRQ 4 (master.4, uart)" in r.check("no_starvation").message
    assert r.check("eoi_balanced").status == "violated"
    assert "master.ISR[2] still set" in r.check("eoi_balanced").message


def test_slave_does_not_nest_over_its_own_cascade_level_in_fully_nested_mode() -> None:
    model = """pic slave : i8259 { base 0x28  cascade master.2 }
device a { irq slave.5 edge raises 1 }
device b { irq slave.1 edge raises 1 }
idt { 0x2d -> a_isr interrupt_gate dpl 0
      0x29 -> b_isr interrupt_gate dpl 0 }
handler a_isr { eoi; sti; nop; cli; eoi master }
handler b_isr { eoi; eoi master }
"""
    _, states = reachable("pic master : i8259 { base 0x20 }\n" + model)
    assert max(s["cpu0.depth"] for s in states) == 1
    _, states = reachable("pic master : i8259 { base 0x20  mode special_fully_nested }\n" + model)
    assert max(s["cpu0.depth"] for s in states) == 2  # b (slave.1) nests over a while master ISR[2] is set


# ---- P9 special mask, P10 rotation -------------------------------------------------------------

def test_special_mask_mode_lets_lower_levels_in() -> None:
    body = """device hi { irq master.1 edge raises 1 }
device lo { irq master.5 edge raises 1 }
idt { 0x21 -> hi_isr interrupt_gate dpl 0
      0x25 -> lo_isr interrupt_gate dpl 0 }
handler hi_isr { mask master.1; sti; nop; cli; unmask master.1; eoi master.1 }
handler lo_isr { eoi master.5 }
"""
    _, fn = reachable("pic master : i8259 { base 0x20 }\n" + body)
    assert not any(bit(s["master.ISR"], 1) and bit(s["master.ISR"], 5) for s in fn)
    _, smm = reachable("pic master : i8259 { base 0x20  mode special_mask }\n" + body)
    assert any(bit(s["master.ISR"], 1) and bit(s["master.ISR"], 5) for s in smm)


def test_automatic_rotation_makes_the_serviced_level_lowest() -> None:
    _, states = reachable("""pic master : i8259 { base 0x20  rotate automatic }
device t { irq master.0 edge raises 1 }
idt { 0x20 -> t_isr interrupt_gate dpl 0 }
handler t_isr { eoi }
""")
    done = [s for s in states if s["t.raises_left"] == 0 and s["cpu0.depth"] == 0 and s["master.ISR"] == 0
            and s["master.IRR"] == 0]
    assert done and all(s["master.priority"] == 1 for s in done)


def test_rotation_ends_a_storm_s_starvation() -> None:
    storm = """device timer { irq master.0 edge raises any }
device disk { irq master.5 edge raises 1 }
idt { 0x20 -> tick interrupt_gate dpl 0
      0x25 -> disk_isr interrupt_gate dpl 0 }
handler tick { eoi }
handler disk_isr { eoi }
check no_starvation
"""
    r = ircheck.check_source("pic master : i8259 { base 0x20 }\n" + storm)
    assert r.check("no_starvation").status == "violated"
    assert r.check("no_starvation").loop_start is not None
    r = ircheck.check_source("pic master : i8259 { base 0x20  rotate automatic }\n" + storm)
    assert r.check("no_starvation").status == "holds"


# ---- P12 spurious IRQ7/15 ------------------------------------------------------------------------

SPUR = """pic master : i8259 { base 0x20 }
device nic { irq master.3 level raises 1 may_drop }
idt { 0x23 -> nic_isr interrupt_gate dpl 0
      0x27 -> irq7 interrupt_gate dpl 0 }
handler nic_isr { ack nic; eoi }
"""


def test_spurious_irq7_does_not_set_isr7() -> None:
    _, states = reachable(SPUR + "handler irq7 { if in_service { eoi } }\n")
    # the spurious frame runs with ISR[7] clear and the nic line dropped
    spurious = [s for s in states if s["cpu0.depth"] == 1 and s["master.IRR"] == 0 and s["master.ISR"] == 0
                and s["nic.raises_left"] == 0]
    assert spurious
    assert not any(bit(s["master.ISR"], 7) for s in states)


def test_spurious_irq7_eoi_is_unbalanced() -> None:
    good = ircheck.check_source(SPUR + "handler irq7 { if in_service { eoi } }\ncheck eoi_balanced\n")
    assert good.check("eoi_balanced").status == "holds"
    bad = ircheck.check_source(SPUR + "handler irq7 { eoi }\ncheck eoi_balanced\n")
    c = bad.check("eoi_balanced")
    assert c.status == "violated" and "spurious IRQ7" in c.message
    assert "spurious IRQ 7" in c.trace[-2].action


def test_spurious_irq15_needs_the_master_eoi_only() -> None:
    model = PC + """device d { irq slave.3 level raises 1 may_drop }
idt { 0x2b -> d_isr interrupt_gate dpl 0
      0x2f -> irq15 interrupt_gate dpl 0 }
handler d_isr { ack d; eoi; eoi master }
"""
    right = ircheck.check_source(model + "handler irq15 { eoi master }\ncheck eoi_balanced, no_starvation\n")
    assert right.verdict == "holds"
    none = ircheck.check_source(model + "handler irq15 { nop }\ncheck eoi_balanced\n")
    assert none.check("eoi_balanced").status == "violated"
    assert "master.ISR[2] still set" in none.check("eoi_balanced").message


# ---- X9 local APIC -----------------------------------------------------------------------------------

APIC = "apic lapic { tpr 0 }\n"


def test_apic_one_pending_plus_one_in_service_then_lost() -> None:
    r = ircheck.check_source(APIC + """device nic { irq vector 0x51 edge raises 3 }
idt { 0x51 -> nic_isr interrupt_gate dpl 0 }
handler nic_isr { nop; eoi }
check no_lost_irq
""")
    c = r.check("no_lost_irq")
    assert c.status == "violated" and len(c.trace) == 2  # raise, raise again before the CPU takes it
    _, states = reachable(APIC + """device nic { irq vector 0x51 edge raises 2 }
idt { 0x51 -> nic_isr interrupt_gate dpl 0 }
handler nic_isr { nop; eoi }
""")
    assert any(s["lapic.IRR"] == 1 and s["lapic.ISR"] == 1 for s in states)  # one pending + one in service


def test_apic_priority_classes_nest_and_tpr_blocks() -> None:
    two = """device lo { irq vector 0x41 edge raises 1 }
device hi { irq vector 0x61 edge raises 1 }
idt { 0x41 -> lo_isr interrupt_gate dpl 0
      0x61 -> hi_isr interrupt_gate dpl 0 }
handler lo_isr { sti; nop; eoi }
handler hi_isr { eoi }
check no_starvation
"""
    _, states = reachable(APIC + two)
    # the higher class nests over the lower, never the other way round
    assert any(s["lapic.ISR"] == 0b11 for s in states)
    assert max(s["cpu0.depth"] for s in states) == 2
    r = ircheck.check_source("apic lapic { tpr 0x50 }\n" + two)
    assert r.check("no_starvation").status == "violated"
    assert "0x41" in r.check("no_starvation").message


def test_apic_eoi_clears_highest_in_service_vector() -> None:
    _, states = reachable(APIC + """device lo { irq vector 0x41 edge raises 1 }
device hi { irq vector 0x61 edge raises 1 }
idt { 0x41 -> lo_isr interrupt_gate dpl 0
      0x61 -> hi_isr interrupt_gate dpl 0 }
handler lo_isr { sti; nop; cli; eoi }
handler hi_isr { eoi }
""")
    assert not any(s["lapic.ISR"] == 0b10 and s["cpu0.depth"] == 2 for s in states)


# ---- X7 NMI -------------------------------------------------------------------------------------------

NMI = """device wdt { nmi raises 2 }
idt { 2 -> nmi_entry interrupt_gate dpl 0 }
"""


def test_nmi_ignores_if() -> None:
    r = ircheck.check_source(NMI + """handler nmi_entry { call log }
function log { nop }
thread t { cli; call log; sti }
check no_reentry
""")
    c = r.check("no_reentry")
    assert c.status == "violated"
    assert any("take NMI" in a for a in actions(r, "no_reentry"))


def test_second_nmi_stays_pending_until_iret() -> None:
    _, states = reachable(NMI + "handler nmi_entry { nop; nop }\n")
    assert max(s["cpu0.depth"] for s in states) == 1  # never nested
    # a second NMI is latched while the first is being handled
    assert any(s["nmi.pending"] == 1 and s["nmi.blocked"] == 1 and s["cpu0.depth"] == 1 for s in states)
    # blocking ends with IRET
    assert not any(s["nmi.blocked"] == 1 and s["cpu0.depth"] == 0 for s in states)


# ---- X3-X6 privilege and exceptions -----------------------------------------------------------------

def test_dpl0_gate_does_not_block_a_hardware_interrupt_at_cpl3() -> None:
    r = ircheck.check_source("""pic master : i8259 { base 0x20 }
device nic { irq master.3 edge raises 1 }
idt { 0x23 -> nic_isr interrupt_gate dpl 0 }
flag got
handler nic_isr { set got; eoi }
thread user on cpu0 cpl 3 { nop; nop }
check no_gp, no_starvation
check invariant not got
""")
    assert r.check("no_gp").status == "holds"
    inv = r.check("invariant")
    assert inv.status == "violated"
    assert "CPL 3 -> 0" in inv.trace[1].action


def test_int_from_cpl3_checks_dpl() -> None:
    base = """idt { 0x80 -> sys_entry interrupt_gate dpl %d
      13   -> gp_entry  interrupt_gate dpl 0 }
handler sys_entry { nop }
handler gp_entry  { nop }
thread user on cpu0 cpl 3 { int 0x80 }
check no_gp
"""
    bad = ircheck.check_source(base % 0)
    c = bad.check("no_gp")
    assert c.status == "violated" and len(c.trace) == 1
    assert "#GP" in c.trace[0].action and "gp_entry" in c.trace[0].action and "error code" in c.trace[0].action
    assert ircheck.check_source(base % 3).check("no_gp").status == "holds"
    # the same int from CPL 0 passes a DPL 0 gate
    assert ircheck.check_source((base % 0).replace("cpl 3", "cpl 0")).check("no_gp").status == "holds"


def test_int_returns_to_the_next_statement() -> None:
    _, states = reachable("""idt { 0x80 -> sys_entry trap_gate dpl 3 }
flag done
handler sys_entry { nop }
thread user on cpu0 cpl 3 { int 0x80; set done }
""")
    assert any(s["done"] == 1 and s["user.pc"] == 0 for s in states)
    assert all(s["cpu0.IF"] == 1 for s in states)  # trap gate keeps IF


def test_page_fault_delivery_chain() -> None:
    tail = "thread t { fault 14 }\ncheck no_gp, no_double_fault\n"
    ok = ircheck.check_source("idt { 14 -> pf interrupt_gate dpl 0 }\nhandler pf { nop }\n" + tail)
    assert ok.verdict == "holds"
    df = ircheck.check_source("idt { 8 -> df interrupt_gate dpl 0 }\nhandler df { nop }\n" + tail)
    c = df.check("no_double_fault")
    assert c.status == "violated" and "#DF" in c.message and "triple" not in c.message
    assert "-> df" in c.trace[0].action and "error code pushed" in c.trace[0].action
    triple = ircheck.check_source("idt { 13 -> gp interrupt_gate dpl 0 }\nhandler gp { nop }\n" + tail)
    c = triple.check("no_double_fault")
    assert c.status == "violated" and "triple fault" in c.message
    assert c.trace[0].changes == {"cpu0.shutdown": ("0", "1")}


def test_benign_exception_without_gate_is_handled_serially() -> None:
    r = ircheck.check_source("""idt { 11 -> np interrupt_gate dpl 0 }
handler np { nop }
thread t { fault 3 }
check no_gp, no_double_fault
""")
    assert r.check("no_gp").status == "violated"
    assert r.check("no_double_fault").status == "holds"


def test_ve_is_page_fault_class_and_cp_contributory() -> None:
    # SDM vol. 3A table 6-4 (current editions): #VE (20) with #PF, #CP (21) contributory; an absent
    # gate gives #NP (contributory) while delivering them: #DF. A benign #BP (3) is handled serially.
    for v in (20, 21):
        r = ircheck.check_source(f"""idt {{ 8 -> df interrupt_gate dpl 0
      11 -> np interrupt_gate dpl 0 }}
handler df {{ nop }}
handler np {{ nop }}
thread t {{ fault {v} }}
check no_gp, no_double_fault
""")
        assert r.check("no_double_fault").status == "violated", v
    assert klass(20) == "page_fault" and klass(21) == "contributory" and klass(3) == "benign"


# ---- X1 the STI shadow (SDM vol. 2B STI) ---------------------------------------------------------

STI_LOOP = """pic master : i8259 { base 0x20 }
device d { irq master.3 edge raises 1 }
idt { 0x23 -> h interrupt_gate dpl 0 }
handler h { eoi }
thread t on cpu0 { cli; loop { %s } }
check no_starvation
"""


def test_sti_cli_opens_no_window() -> None:
    # an STI that sets IF inhibits interrupts until the next instruction has completed
    assert ircheck.check_source(STI_LOOP % "sti; cli").check("no_starvation").status == "violated"
    assert ircheck.check_source(STI_LOOP % "sti; nop; cli").check("no_starvation").status == "holds"


NEST = """pic master : i8259 { base 0x20 }
device a { irq master.1 edge raises 1 }
device b { irq master.3 edge raises 1 }
idt { 0x21 -> a_isr interrupt_gate dpl 0
      0x23 -> b_isr interrupt_gate dpl 0 }
handler a_isr { eoi; %s }
handler b_isr { eoi }
check max_nesting 1
"""


def test_sti_just_before_iret_lets_nothing_nest() -> None:
    assert ircheck.check_source(NEST % "sti").check("max_nesting").status == "holds"
    assert ircheck.check_source(NEST % "sti; nop").check("max_nesting").status == "violated"


# ---- X10: an 8259A on the exception vectors (issue 16 item 6, the warning) ---------------------------
# Intel SDM vol. 3A §6.2 "Exception and Interrupt Vectors": vectors 0-31 are architecture-defined or
# reserved; arch/x86/kernel/i8259.c init_8259A programs the master at 0x20 and the slave at 0x28.

UNREMAPPED = """pic master : i8259 { base BASE }
device timer { irq master.0 edge raises 1 }
idt { VEC -> tick interrupt_gate dpl 0 }
handler tick { eoi }
check no_lost_irq
"""


def test_x10_an_8259a_on_the_exception_vectors_is_warned_about_with_the_overlap_named() -> None:
    r = ircheck.check_source(UNREMAPPED.replace("BASE", "0x08").replace("VEC", "0x08"))
    assert r.check("no_lost_irq").status == "holds"  # legal: the model runs as written
    assert [(w.kind, w.line) for w in r.warnings] == [("input", 1)]
    msg = r.warnings[0].message
    assert msg.startswith("pic master: base 0x08 puts IRQ 0-7 on the CPU's exception vectors 8-15 "
                          "(#DF, coprocessor overrun, #TS, #NP, #SS, #GP, #PF, reserved)")
    assert "X10" in msg
    doc = r.to_json()
    assert doc["warnings"][0]["kind"] == "input" and doc["warnings"][0]["line"] == 1


def test_x10_a_remapped_8259a_gets_no_warning_and_base_0x18_names_the_reserved_vectors() -> None:
    r = ircheck.check_source(UNREMAPPED.replace("BASE", "0x20").replace("VEC", "0x20"))
    assert r.warnings == []
    r = ircheck.check_source(UNREMAPPED.replace("BASE", "0x18").replace("VEC", "0x18"))
    assert [w.message.split(": ")[1] for w in r.warnings] == [
        "base 0x18 puts IRQ 0-7 on the CPU's exception vectors 24-31 (reserved, reserved, reserved, reserved, "
        "reserved, reserved, reserved, reserved)"]


def test_x10_strict_turns_the_warning_into_an_error(tmp_path: Path) -> None:
    m = tmp_path / "pc.irq"
    m.write_text(UNREMAPPED.replace("BASE", "0x08").replace("VEC", "0x08"))
    p = subprocess.run([sys.executable, "-m", "ircheck", "--strict", str(m)], capture_output=True, text=True)
    assert p.returncode == 2 and "pc.irq:1:1: error IRQ010: pic master: base 0x08" in p.stderr
    p = subprocess.run([sys.executable, "-m", "ircheck", str(m)], capture_output=True, text=True)
    assert p.returncode == 0 and "ircheck: warning: " in p.stderr and "pc.irq:1: pic master: base 0x08" in p.stderr


# ---- X10: a hardware vector without a gate faults at run time (issue 16 item 6, the run-time half) ---
# Intel SDM vol. 3A §6.10 and "Interrupt 11 - Segment Not Present (#NP)": delivery through a gate whose
# present flag is clear raises #NP (error code: the IDT entry, EXT=1); §6.15 table 6-5: an external
# interrupt is benign, so #NP is handled serially, and #NP while delivering #NP is a double fault.

GATELESS = """pic master : i8259 { base 0x20 }
device kbd { irq master.1 edge raises 1 }
GATES
handler np_handler { nop }
handler df_handler { nop }
handler kbd_isr { eoi }
thread main on cpu0 { sti; nop }
check no_gp, no_double_fault
"""


def test_x10_a_gateless_device_vector_is_taken_and_faults_with_np() -> None:
    r = ircheck.check_source(GATELESS.replace("GATES", "idt { 0x0b -> np_handler interrupt_gate dpl 0 }"))
    assert r.check("no_gp").status == "violated" and r.check("no_double_fault").status == "holds"
    steps = actions(r, "no_gp")
    assert len(steps) == 2 and steps[0] == "raise IRQ 1 (master.1, edge)"
    assert steps[1].startswith("take IRQ 1: INTA, vector 0x21: vector 0x21 has no gate: #NP (vector 11)")
    assert steps[1].endswith("-> np_handler (interrupt gate, IF=0)")
    assert "vector 0x21 has no gate in the IDT" in r.check("no_gp").message
    # the 8259A took the request: IRR -> ISR, as for any vector (the fault is the CPU's)
    assert r.check("no_gp").trace[1].changes["master.ISR[1]"] == ("0", "1")


def test_x10_the_gate_present_holds_and_no_gate_at_all_ends_in_a_triple_fault() -> None:
    ok = ircheck.check_source(GATELESS.replace("GATES", "idt { 0x21 -> kbd_isr interrupt_gate dpl 0 }"))
    assert ok.check("no_gp").status == "holds" and ok.check("no_double_fault").status == "holds"
    df = ircheck.check_source(GATELESS.replace("GATES", "idt { 0x08 -> df_handler interrupt_gate dpl 0 }"))
    assert df.check("no_double_fault").status == "violated"
    assert actions(df, "no_double_fault")[1].endswith("-> df_handler (interrupt gate, IF=0)")
    none = ircheck.check_source(GATELESS.replace("GATES", ""))
    assert none.check("no_double_fault").status == "violated"
    last = actions(none, "no_double_fault")[1]
    assert "triple fault, the processor shuts down" in last and "#DF" in none.check("no_double_fault").message


def test_x10_a_gateless_local_apic_vector_faults_too() -> None:
    src = ("apic lapic { tpr 0 }\ndevice msi0 { irq vector 0x41 raises 1 }\n"
           "idt { 0x0b -> np_handler interrupt_gate dpl 0 }\nhandler np_handler { eoi }\n"
           "thread main on cpu0 { sti; nop }\ncheck no_gp, eoi_balanced\n")
    r = ircheck.check_source(src)
    assert r.check("no_gp").status == "violated" and r.check("eoi_balanced").status == "holds"
    assert "take vector 0x41 from the local APIC: vector 0x41 has no gate" in actions(r, "no_gp")[1]


def test_x10_a_spurious_ir7_without_its_gate_faults_and_with_it_enters_the_gate() -> None:
    src = ("pic master : i8259 { base 0x20 }\ndevice kbd { irq master.3 edge raises 1 may_drop }\n"
           "idt { 0x23 -> kbd_isr interrupt_gate dpl 0 }\nidt { 0x0b -> np_handler interrupt_gate dpl 0 }\n"
           "handler kbd_isr { eoi }\nhandler np_handler { nop }\nSEVEN"
           "thread main on cpu0 { sti; nop }\ncheck no_gp\n")
    r = ircheck.check_source(src.replace("SEVEN", ""))
    assert r.check("no_gp").status == "violated"
    assert actions(r, "no_gp")[1] == (
        "kbd drops IRQ 3 before INTA: spurious IRQ 7, vector 0x27: vector 0x27 has no gate: #NP (vector 11) "
        "during its delivery (error code: IDT entry 0x27, EXT=1) -> np_handler, master.ISR[7] not set")
    ok = ircheck.check_source(src.replace("SEVEN", "idt { 0x27 -> spurious interrupt_gate dpl 0 }\n"
                                                   "handler spurious { nop }\n"))
    assert ok.check("no_gp").status == "holds"


# ---- X1 in the kernel's statements: which of them are an inline `sti` ------------------------------
# arch/x86/include/asm/irqflags.h: local_irq_enable is `sti`, arch_local_irq_restore executes `sti`
# when the saved flags have IF; include/linux/spinlock_api_smp.h: the unlocks follow their `sti`
# with preempt_enable() inside the unlock function, so their shadow ends there.

SHADOW = """pic master : i8259 { base 0x20 }
device nic { irq master.3 edge raises 1 }
request_irq 3 isr
spinlock l
data x
handler isr { write x }
thread t on cpu0 { BODY; write x; nop }
check no_data_race
"""


def test_x1_local_irq_enable_and_a_restore_of_if_hold_the_interrupt_back_over_the_next_statement() -> None:
    for body in ("local_irq_disable; local_irq_enable", "local_irq_save; local_irq_restore"):
        r = ircheck.check_source(SHADOW.replace("BODY", body))
        assert r.check("no_data_race").status == "holds", body
    # with one more statement between, the window opens before the write
    r = ircheck.check_source(SHADOW.replace("BODY", "local_irq_save; local_irq_restore; nop"))
    assert r.check("no_data_race").status == "violated"


def test_x1_the_unlocks_shadow_ends_inside_the_unlock_function() -> None:
    for body in ("spin_lock_irq l; spin_unlock_irq l", "spin_lock_irqsave l; spin_unlock_irqrestore l"):
        r = ircheck.check_source(SHADOW.replace("BODY", body))
        assert r.check("no_data_race").status == "violated", body
