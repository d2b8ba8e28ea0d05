"""R4 atomics, `choose`, and `local_irq_disable`/`local_irq_enable` (docs/semantics.md R4, X1):
each rule in both directions, their resolution errors, and every engine on them.

Sources: include/linux/atomic.h and Documentation/atomic_t.txt (atomic_inc, atomic_dec_and_test:
one RMW each); include/asm-generic/bitops/atomic.h `arch_test_and_set_bit` /
`arch_test_and_clear_bit` (one `atomic_long_fetch_or` / `fetch_andnot`, returning the old bit);
tools/memory-model/Documentation/explanation.txt (a data race needs a plain access and a store);
arch/x86/include/asm/irqflags.h (`native_irq_disable`/`native_irq_enable` are cli/sti).
"""

from __future__ import annotations

from pathlib import Path

import pytest

import ircheck
from ircheck.api import compile_source
from ircheck.grammar.parser import parse
from ircheck.grammar.printer import model_text
from ircheck.promela import to_promela
from tests.conftest import ROOT
from tests.support.naive import Naive, reachable
from tests.support.spin import needs_spin, spin_violates

TWO = "cpus 2\n"


def verdict(text: str, check: str, **kw: object) -> str:
    report = ircheck.check_source(text, **kw)
    assert not report.errors, [d.render() for d in report.errors]
    return report.check(check).status


# ---- R4: atomics are never a data race with each other; a plain access alongside one is ----------

_INC = TWO + "counter c max 2\nthread a on cpu0 {{ {a} c }}\nthread b on cpu1 {{ {b} c }}\ncheck no_data_race\n"


def test_two_cpus_atomic_inc_is_no_data_race() -> None:
    assert verdict(_INC.format(a="atomic_inc", b="atomic_inc"), "no_data_race") == "holds"
    assert verdict(_INC.format(a="atomic_inc", b="atomic_dec"), "no_data_race") == "holds"


def test_a_plain_inc_or_read_alongside_an_atomic_is_a_data_race() -> None:
    assert verdict(_INC.format(a="atomic_inc", b="inc"), "no_data_race") == "violated"
    assert verdict(_INC.format(a="atomic_inc", b="read"), "no_data_race") == "violated"
    report = ircheck.check_source(_INC.format(a="atomic_inc", b="write"))
    assert "a plain access of the counter alongside an atomic one" in report.check("no_data_race").message


def test_counters_no_atomic_touches_are_judged_as_before() -> None:
    """Section 8: `no_data_race` is about `data`; a counter only `inc`/`read` touch is not judged."""
    assert verdict(_INC.format(a="inc", b="inc"), "no_data_race") == "holds"
    assert verdict(_INC.format(a="read", b="inc"), "no_data_race") == "holds"


def test_the_same_with_plain_read_write_data_is_a_race() -> None:
    text = TWO + "data x\nthread a on cpu0 { read x; write x }\nthread b on cpu1 { read x; write x }\n"
    assert verdict(text, "no_data_race") == "violated"


def test_set_and_clear_are_marked_next_to_test_and_set() -> None:
    """`set`/`clear` are set_bit/clear_bit (atomic in the kernel): no race with test_and_set; a
    plain `write` of the flag is one."""
    base = TWO + "flag f\nthread a on cpu0 {{ if test_and_set f {{ nop }} }}\nthread b on cpu1 {{ {b} }}\n"
    assert verdict(base.format(b="clear f"), "no_data_race") == "holds"
    assert verdict(base.format(b="write f"), "no_data_race") == "violated"


# ---- R4: the conditionals are one step: read, write and branch -------------------------------------

_GUARD = TWO + """flag busy
counter inside max 2
function crit nonreentrant {{ inc inside; dec inside }}
thread a on cpu0 {{ {enter} }}
thread b on cpu1 {{ {enter} }}
check no_reentry, invariant inside <= 1
"""


def test_a_test_and_set_guarded_section_is_never_entered_twice() -> None:
    text = _GUARD.format(enter="if not test_and_set busy { call crit; clear busy }")
    assert verdict(text, "no_reentry") == "holds"
    assert verdict(text, "invariant") == "holds"
    spin = _GUARD.format(enter="while test_and_set busy { }; call crit; clear busy")
    assert verdict(spin, "no_reentry") == "holds"


def test_a_test_then_set_guarded_section_is_entered_twice() -> None:
    text = _GUARD.format(enter="if not busy { set busy; call crit; clear busy }")
    assert verdict(text, "no_reentry") == "violated"


def test_test_and_clear_lets_one_claimant_through() -> None:
    text = TWO + """flag work = true
counter done max 2
thread a on cpu0 { if test_and_clear work { inc done } }
thread b on cpu1 { if test_and_clear work { inc done } }
check invariant done <= 1
"""
    _, states = reachable(text)
    assert {s["done"] for s in states} == {0, 1}
    assert verdict(text, "invariant") == "holds"


def test_atomic_dec_and_test_outcomes_exactly() -> None:
    """C = 2 -> 1 (else), 1 -> 0 (then), 0: counter_range and else; `not` swaps the branches."""
    text = "counter c max 2 = {init}\nflag hit\nthread t {{ if {neg}atomic_dec_and_test c {{ set hit }} }}\n"
    for init, neg, c_end, hit in ((2, "", 1, 0), (1, "", 0, 1), (2, "not ", 1, 1), (1, "not ", 0, 0)):
        _, states = reachable(text.format(init=init, neg=neg))
        last = [s for s in states if s["t.pc"] == 0]
        assert [(s["c"], s["hit"]) for s in last] == [(c_end, hit)], (init, neg)
    report = ircheck.check_source(text.format(init=0, neg=""))
    assert report.check("counter_range").status == "violated"
    assert "would go below 0" in report.check("counter_range").message


def test_atomic_inc_past_max_is_counter_range() -> None:
    assert verdict("counter c max 1\nthread t { atomic_inc c; atomic_inc c }\n", "counter_range") == "violated"
    assert verdict("counter c max 2\nthread t { atomic_inc c; atomic_inc c }\n", "counter_range") == "holds"


def test_refcount_with_a_plain_decrement_in_the_handler_races_and_frees_twice() -> None:
    src = (ROOT / "models" / "kernel_refcount_atomic_dec_and_test.irq").read_text()
    assert ircheck.check_source(src).verdict == "holds"
    plain = src.replace("handler nic_isr {\n    if atomic_dec_and_test buf_ref {",
                        "handler nic_isr {\n    dec buf_ref\n    if buf_ref == 0 {")
    assert plain != src
    report = ircheck.check_source(plain)
    assert report.check("no_data_race").status == "violated"


# ---- resolution errors ---------------------------------------------------------------------------

@pytest.mark.parametrize(("stmt", "msg", "col"), [
    ("atomic_inc f", "'f' is a flag, not a counter", 23),
    ("if test_and_set c { }", "'c' is a counter, not a flag", 28),
    ("if not atomic_dec_and_test f { }", "'f' is a flag, not a counter", 39),
    ("if test_and_clear nosuch { }", "nosuch", 30),
])
def test_atomics_on_the_wrong_kind_are_refused_with_a_code_and_position(stmt: str, msg: str, col: int) -> None:
    report = ircheck.check_source(f"flag f\ncounter c\nthread t {{ {stmt} }}\n", "m.irq")
    assert report.errors
    d = report.errors[0]
    assert d.code in ("IRQ102", "IRQ103") and msg in d.message and (d.line, d.column) == (3, col), d.render()


def test_an_atomic_test_is_only_a_whole_condition() -> None:
    with pytest.raises(ircheck.IrcheckError):
        parse("flag f\nthread t { if test_and_set f and f { } }\n")


# ---- choose ----------------------------------------------------------------------------------------

def test_choose_takes_each_branch_in_one_step() -> None:
    text = "counter c max 3\nthread t { choose { inc c } or { inc c; inc c } or { } }\n"
    ts, states = reachable(text)
    ends = sorted(s["c"] for s in states if s["t.pc"] == 0)
    assert ends == [0, 1, 2]
    steps = [t for t in ts.transitions if t.label.action.startswith("choose")]
    assert [t.label.action for t in steps] == [f"choose  (branch {k})" for k in (1, 2, 3)]


def test_choose_can_reach_a_violation_only_one_branch_has() -> None:
    text = "flag bad\nthread t { choose { nop } or { set bad } }\ncheck invariant not bad\n"
    assert verdict(text, "invariant") == "violated"
    assert verdict(text.replace("set bad", "nop"), "invariant") == "holds"


# ---- local_irq_disable / local_irq_enable ------------------------------------------------------------

_ISR = """pic master : i8259 {{ base 0x20 }}
device nic {{ irq master.3 edge raises 1 }}
request_irq 3 nic_isr
data x
handler nic_isr {{ write x }}
thread t {{ {body} }}
check no_data_race
"""


def test_local_irq_disable_excludes_the_handler_on_its_cpu() -> None:
    assert verdict(_ISR.format(body="local_irq_disable; write x; local_irq_enable"), "no_data_race") == "holds"
    assert verdict(_ISR.format(body="local_irq_enable; write x; local_irq_disable"), "no_data_race") == "violated"


def test_local_irq_disable_enable_are_cli_sti() -> None:
    """The same states as cli/sti, STI shadow included (X1)."""
    kernel = _ISR.format(body="loop { local_irq_enable; local_irq_disable; write x }")
    bare = _ISR.format(body="loop { sti; cli; write x }")
    assert len(reachable(kernel)[1]) == len(reachable(bare)[1])
    assert verdict(kernel, "no_data_race") == verdict(bare, "no_data_race") == "holds"


# ---- every engine, the export and fmt -------------------------------------------------------------

_ALL = TWO + """flag busy
counter ref max 2 = 2
counter frees max 2
function crit nonreentrant { nop }
thread a on cpu0 {
    while test_and_set busy { }
    call crit
    clear busy
    if atomic_dec_and_test ref { inc frees } else { atomic_inc ref; atomic_dec ref }
}
thread b on cpu1 {
    choose { if not test_and_set busy { call crit; clear busy } } or { local_irq_disable; local_irq_enable }
    if atomic_dec_and_test ref { inc frees }
}
check no_reentry, no_data_race, invariant frees <= 1
"""


def test_explicit_naive_reductions_and_smt_agree() -> None:
    ts = compile_source(_ALL)
    naive = Naive(ts)
    assert not naive.shortest_safety()
    for kw in ({}, {"reduction": "none"}, {"reduction": "all"}):
        report = ircheck.check_source(_ALL, **kw)
        assert report.verdict == "holds", (kw, [(c.name, c.status) for c in report.checks])
        if kw.get("reduction") == "none":
            assert report.stats.states == len(naive.dist)
    assert ircheck.check_source(_ALL, engine="smt").verdict == "holds"
    bad = _ALL.replace("if atomic_dec_and_test ref { inc frees }\n}", "dec ref; if ref == 0 { inc frees }\n}")
    assert ircheck.check_source(bad, engine="smt").verdict == "violated"
    assert ircheck.check_source(bad).verdict == "violated"


def test_fmt_keeps_atomics_and_choose() -> None:
    model = parse(_ALL)
    text = model_text(model)
    assert "while test_and_set busy { }" in text and "if not test_and_set busy {" in text
    assert "} or {" in text and "if atomic_dec_and_test ref {" in text
    assert parse(text).decls == model.decls


@needs_spin
def test_spin_agrees_on_the_export(tmp_path: Path) -> None:
    bad = _ALL.replace("while test_and_set busy { }", "nop")
    for text, want, where in ((_ALL, False, "ok"), (bad, True, "bad")):
        (tmp_path / where).mkdir()
        assert spin_violates(to_promela(compile_source(text)), tmp_path / where) == want, where


# ---- preempt_disable / preempt_enable (D4) -------------------------------------------------------------

_PREEMPT = """data x
thread a on cpu0 {{ {body} }}
thread b on cpu0 {{ nop; preempt_disable; write x; preempt_enable }}
check no_data_race, no_sleep_in_atomic
"""


def test_preempt_disable_keeps_the_other_task_of_the_cpu_out() -> None:
    """Two tasks on one CPU: with preemption off around each access neither is switched out at it."""
    assert verdict(_PREEMPT.format(body="preempt_disable; write x; preempt_enable"), "no_data_race") == "holds"
    assert verdict(_PREEMPT.format(body="nop; write x; nop"), "no_data_race") == "violated"


def test_preempt_count_nests_and_an_unbalanced_enable_stays_at_zero() -> None:
    text = _PREEMPT.format(body="preempt_disable; preempt_disable; preempt_enable; write x; preempt_enable; "
                                "preempt_enable")
    assert verdict(text, "no_data_race") == "holds"
    _, states = reachable(text)
    assert {s["a.preempt_count"] for s in states} == {0, 1, 2}


def test_sleeping_with_preemption_disabled_is_scheduling_while_atomic() -> None:
    report = ircheck.check_source(_PREEMPT.format(body="preempt_disable; sleep; preempt_enable"))
    assert report.check("no_sleep_in_atomic").status == "violated"
    assert "scheduling while atomic" in report.check("no_sleep_in_atomic").message
    assert verdict(_PREEMPT.format(body="preempt_disable; preempt_enable; sleep"), "no_sleep_in_atomic") == "holds"


# ---- R3: per-CPU data ---------------------------------------------------------------------------------

_PERCPU = TWO + """pic master : i8259 {{ base 0x20 }}
device nic {{ irq master.3 edge raises 1 on cpu1 }}
request_irq 3 nic_isr
percpu data rx_stats
handler nic_isr {{ read rx_stats; write rx_stats }}
thread a on cpu0 {{ {a} }}
thread b on cpu1 {{ {b} }}
check no_data_race
"""
_RW = "read rx_stats; write rx_stats"


def test_percpu_copies_on_two_cpus_never_race() -> None:
    """Thread a (cpu0) and thread b (cpu1, IRQs off around its update) touch their own copies."""
    text = _PERCPU.format(a=_RW, b=f"local_irq_disable; {_RW}; local_irq_enable")
    assert verdict(text, "no_data_race") == "holds"
    shared = text.replace("percpu data rx_stats", "data rx_stats")
    assert verdict(shared, "no_data_race") == "violated"  # the same design on one shared copy races


def test_percpu_data_races_with_the_handler_nested_on_its_cpu() -> None:
    report = ircheck.check_source(_PERCPU.format(a=_RW, b=_RW))
    c = report.check("no_data_race")
    assert c.status == "violated" and "one CPU's copy of per-CPU data" in c.message
    assert all(step.cpu == 1 for step in c.trace if "rx_stats" in step.action)


def test_a_remote_read_races_with_that_cpus_writer() -> None:
    text = _PERCPU.format(a="read rx_stats on cpu1", b=f"local_irq_disable; {_RW}; local_irq_enable")
    assert verdict(text, "no_data_race") == "violated"
    own = _PERCPU.format(a="read rx_stats on cpu0; write rx_stats", b=f"local_irq_disable; {_RW}; local_irq_enable")
    assert verdict(own, "no_data_race") == "holds"


@pytest.mark.parametrize(("stmt", "code", "col"), [("read d on cpu1", "IRQ312", 22), ("read p on cpu7", "IRQ213", 22),
                                                   ("read p on core1", "IRQ213", 22)])
def test_on_cpu_needs_percpu_data_and_a_cpu(stmt: str, code: str, col: int) -> None:
    report = ircheck.check_source(f"cpus 2\ndata d\npercpu data p\nthread t {{ {stmt} }}\n", "m.irq")
    assert report.errors and report.errors[0].code == code, [d.render() for d in report.errors]
    assert (report.errors[0].line, report.errors[0].column) == (4, col)


def test_fmt_keeps_percpu() -> None:
    model = parse(_PERCPU.format(a="read rx_stats on cpu1", b=_RW))
    text = model_text(model)
    assert "percpu data rx_stats" in text and "read rx_stats on cpu1" in text
    assert parse(text).decls == model.decls
