"""C1: /proc/interrupts counts. `irqs(X)` / `irqs(X, cpuK)` count the interrupts of X's IRQ handled (on
cpuK) where the kernel counts them: the flow handler's kstat_incr_irqs_this_cpu after its tests
(Linux kernel/irq/chip.c `handle_level_irq`), read per CPU by kernel/irq/irqdesc.c `kstat_irqs_cpu`
and summed by `kstat_irqs`; `ircheck interrupts` prints the rows as kernel/irq/proc.c
`show_interrupts` does. docs/semantics.md C1. Each rule in both directions."""

from __future__ import annotations

from pathlib import Path

import pytest

import ircheck
from ircheck.api import compile_source
from ircheck.proc_interrupts import maxima
from ircheck.promela import to_promela
from tests.support.cli import run
from tests.support.spin import needs_spin, spin_violates

AFFINITY = """cpus 2
pic master : i8259 { base 0x20 }
device nic { irq master.3 edge raises 2 ROUTE }
request_irq 3 nic_isr
handler nic_isr { read rx }
data rx
check invariant irqs(nic, cpu1) == 0
"""


def verdict(text: str, check: str = "invariant", engine: str = "explicit") -> str:
    r = ircheck.check_source(text, engine=engine)
    assert not r.errors, r.errors
    return r.check(check).status


@pytest.mark.parametrize("engine", ["explicit", "smt"])
def test_c1_per_cpu_count_with_and_without_affinity(engine: str) -> None:
    assert verdict(AFFINITY.replace("ROUTE", ""), engine=engine) == "violated"
    assert verdict(AFFINITY.replace("ROUTE", "on cpu0"), engine=engine) == "holds"


def test_c1_sharers_share_one_row_and_the_sum_is_over_cpus() -> None:
    shared = """pic master : i8259 { base 0x20 }
device a { irq master.3 edge raises 1 shared }
device b { irq master.3 edge raises 1 shared }
request_irq 3 a_isr shared dev_id a
request_irq 3 b_isr shared dev_id b
handler a_isr { nop }
handler b_isr { nop }
check invariant irqs(a) == irqs(b) and irqs(3) <= LIMIT
"""
    assert verdict(shared.replace("LIMIT", "2")) == "holds"   # both devices name IRQ 3's one count
    assert verdict(shared.replace("LIMIT", "1")) == "violated"  # two raises, two handled interrupts


def test_c1_a_run_that_only_marks_pending_is_not_counted() -> None:
    """handle_level_irq counts after its disabled test: a disabled line's interrupt is not counted."""
    model = """pic master : i8259 { base 0x20 }
device nic { irq master.3 edge on_kick }
request_irq 3 nic_isr
handler nic_isr { nop }
thread app on cpu0 { disable_irq_nosync 3; kick nic; udelay BODY }
check invariant irqs(nic) == 0
"""
    assert verdict(model.replace("BODY", "")) == "holds"
    assert verdict(model.replace("BODY", "; enable_irq 3")) == "violated"


def test_c1_a_count_past_its_bound_is_inconclusive_never_holds() -> None:
    """A level line nobody quiets interrupts again without a raise: the count passes its bound (K6)."""
    storm = """pic master : i8259 { base 0x20 }
device nic { irq master.3 level raises 1 }
request_irq 3 nic_isr
handler nic_isr { nop }
check invariant irqs(nic) < 100
"""
    assert verdict(storm) == "inconclusive"
    assert verdict(storm.replace("{ nop }", "{ ack nic }")) == "holds"


def test_c1_counts_are_kept_only_when_read() -> None:
    base = AFFINITY.replace("ROUTE", "").replace("check invariant irqs(nic, cpu1) == 0", "check no_lost_irq")
    assert not any(v.name.startswith("irqs(") for v in compile_source(base).vars)
    assert [v.name for v in compile_source(AFFINITY.replace("ROUTE", "")).vars if v.name.startswith("irqs(")] == \
        ["irqs(3, cpu0)", "irqs(3, cpu1)"]


def test_c1_counterexample_ends_with_its_counts(capsys: pytest.CaptureFixture[str]) -> None:
    r = ircheck.check_source(AFFINITY.replace("ROUTE", ""))
    c = r.check("invariant")
    assert c.interrupts == {"3": [0, 1]}
    assert c.to_json()["interrupts"] == {"3": [0, 1]}
    assert c.interrupts_text == "IRQ 3: cpu0 0, cpu1 1 (nic_isr)"


@pytest.mark.parametrize(("text", "code"), [
    ("check invariant irqz(nic) == 0", "IRQ316"),
    ("check invariant irqs(9) == 0", "IRQ316"),
    ("check invariant irqs(rx) == 0", "IRQ103"),
    ("check invariant irqs(nic, cpu2) == 0", "IRQ213"),
])
def test_c1_resolution_errors(text: str, code: str) -> None:
    r = ircheck.check_source(AFFINITY.replace("ROUTE", "").replace("check invariant irqs(nic, cpu1) == 0", text))
    assert [e.code for e in r.errors] == [code]


def test_c1_maxima_unbounded_iff_a_cycle_handles_it() -> None:
    # 0 -a-> 1 -a-> 2 -b-> 2 (a self-loop): a at most 2, b unbounded, c never
    assert maxima(3, [(0, 1, "a"), (1, 2, "a"), (2, 2, "b")], ["a", "b", "c"]) == {"a": 2, "b": None, "c": 0}
    # two branches: the heavier one counts
    assert maxima(4, [(0, 1, "a"), (0, 2, None), (2, 3, "a"), (3, 1, "a")], ["a"]) == {"a": 2}


def test_c1_interrupts_table(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    f = tmp_path / "m.irq"
    f.write_text(AFFINITY.replace("ROUTE", "on cpu0"))
    code, out, _err = run(capsys, "interrupts", str(f))
    assert code == 0
    assert out == ("           CPU0       CPU1\n"
                   "  3:          2          0   XT-PIC  handle_level_irq  nic_isr\n")
    f.write_text("""pic master : i8259 { base 0x20 }
device uart { irq master.4 level raises 1 }
idt { 0x24 -> uart_isr interrupt_gate dpl 0 }
handler uart_isr { eoi }
""")
    code, out, _err = run(capsys, "interrupts", str(f))
    assert out.splitlines()[1] == "  4:  unbounded   XT-PIC  -  uart_isr"


@needs_spin
def test_c1_under_spin(tmp_path: Path) -> None:
    for route, want in (("", True), ("on cpu0", False)):
        ts = compile_source(AFFINITY.replace("ROUTE", route))
        assert spin_violates(to_promela(ts), tmp_path) == want, route
