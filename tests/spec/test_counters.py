"""No silent saturation (docs/semantics.md K6, issue 23): the nesting counters the kernel keeps are
exact, or the checks they affect say inconclusive naming the counter and the line.

The kernel's own counters: local_irq_save/spin_lock_irqsave save the flags on each call and
restore them in reverse (include/linux/irqflags.h: raw_local_irq_save/restore), so only the last
restore of a nest re-enables IRQs; local_bh_disable adds SOFTIRQ_DISABLE_OFFSET to preempt_count
and only the enable that brings it back to 0 lets softirqs run (kernel/softirq.c
__local_bh_enable_ip); disable_irq increments desc->depth and only the enable_irq that brings it
to 0 unmasks the line, an enable at depth 0 is "Unbalanced enable for IRQ" (kernel/irq/manage.c
__enable_irq)."""

from __future__ import annotations

import pytest

import ircheck

HEAD = """pic master : i8259 { base 0x20 }
device nic { irq master.3 edge raises 1 }
data x
"""
SAVE4 = "local_irq_save; " * 4
LOCKS4 = "".join(f"spinlock l{k}\n" for k in range(4))
IRQSAVE4 = "".join(f"spin_lock_irqsave l{k}; " for k in range(4))
RESTORE4 = "".join(f"spin_unlock_irqrestore l{k}; " for k in reversed(range(4)))

# the five designs of the issue, with the kernel's answers
DESIGNS = {
    "four_saves_four_restores_then_write": (
        HEAD + "request_irq 3 isr\nhandler isr { write x }\n"
        f"thread t on cpu0 {{ {SAVE4}{'local_irq_restore; ' * 4}nop; write x }}\ncheck no_data_race\n",
        "no_data_race", "violated"),
    "four_irqsave_locks_released_then_write": (
        HEAD + LOCKS4 + "request_irq 3 isr\nhandler isr { write x }\n"
        f"thread t on cpu0 {{ {IRQSAVE4}{RESTORE4}write x }}\ncheck no_data_race\n",
        "no_data_race", "violated"),
    "four_saves_three_restores_then_write": (
        HEAD + "request_irq 3 isr\nhandler isr { write x }\n"
        f"thread t on cpu0 {{ {SAVE4}{'local_irq_restore; ' * 3}write x }}\ncheck no_data_race\n",
        "no_data_race", "holds"),
    "four_bh_disables_three_enables_then_write": (
        HEAD + "softirq s { write x }\nrequest_irq 3 isr\nhandler isr { raise_softirq s }\n"
        f"thread t on cpu0 {{ {'local_bh_disable; ' * 4}{'local_bh_enable; ' * 3}write x }}\ncheck no_data_race\n",
        "no_data_race", "holds"),
    "three_disables_three_enables": (
        HEAD + "request_irq 3 isr\nhandler isr { read x }\n"
        f"thread t on cpu0 {{ {'disable_irq_nosync 3; ' * 3}{'enable_irq 3; ' * 3} }}\ncheck eoi_balanced\n",
        "eoi_balanced", "holds"),
}


@pytest.mark.parametrize("name", sorted(DESIGNS))
@pytest.mark.parametrize("engine", ["explicit", pytest.param("smt", marks=pytest.mark.slow)])
def test_the_kernels_answer(name: str, engine: str) -> None:
    text, check, want = DESIGNS[name]
    c = ircheck.check_source(text, engine=engine, timeout=120).check(check)
    if engine == "smt" and c.status == "inconclusive":  # Z3 may not close a proof, it must never be wrong
        assert want == "holds", c.note
        return
    assert c.status == want, (c.status, c.message, c.note)


def test_the_other_direction_of_each_counter() -> None:
    """One restore fewer keeps IRQs off (no race); one enable more is unbalanced (L5)."""
    text, _c, _w = DESIGNS["three_disables_three_enables"]
    more = text.replace("enable_irq 3; enable_irq 3; enable_irq 3;", "enable_irq 3; " * 4)
    c = ircheck.check_source(more).check("eoi_balanced")
    assert c.status == "violated" and "Unbalanced enable for IRQ 3" in c.message
    text, _c, _w = DESIGNS["four_bh_disables_three_enables_then_write"]
    four = text.replace("local_bh_enable; " * 3, "local_bh_enable; " * 4)
    assert ircheck.check_source(four).check("no_data_race").status == "violated"


def test_a_counter_past_its_static_bound_is_inconclusive_naming_it() -> None:
    text = HEAD + "request_irq 3 isr\nhandler isr { write x }\nthread t on cpu0 { loop { local_irq_save } }\n" \
        "check no_data_race\n"
    c = ircheck.check_source(text).check("no_data_race")
    assert c.status == "inconclusive"
    assert "t.irq_saves reached the model's bound of 1 at local_irq_save (line 6)" in c.note


def test_no_clamp_left_in_spec() -> None:
    """Every saturating update in spec/ belongs to a tagged bound (count_up) or to a decrement."""
    import re
    from pathlib import Path
    src = "\n".join(p.read_text() for p in sorted((Path(__file__).parents[2] / "spec").rglob("*.py")))
    assert "MAX_NEST" not in src and "MAX_DISABLE" not in src
    assert not re.search(r'Ite\(Bin\("<", [^)]*\), Bin\("\+"', src)
