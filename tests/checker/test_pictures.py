"""Counterexample pictures: Mermaid sequence diagrams and DOT chains."""

from __future__ import annotations

import ircheck
from ircheck.pictures import dot, mermaid
from tests.conftest import MODELS


def test_mermaid_shows_nesting_as_an_arrow_into_the_handler() -> None:
    c = ircheck.check_file(MODELS / "lang_trap_gate_reentry.irq").check("no_reentry")
    m = mermaid(c)
    assert m.startswith("sequenceDiagram\n")
    assert "participant P0 as device timer" in m
    assert "participant P1 as cpu0 idle" in m and "participant P2 as cpu0 irq 0 tick" in m
    assert "P1->>+P2: 2. take IRQ 0" in m          # idle CPU enters the handler
    assert "Note over P2: 5. take IRQ 0" in m        # the nested entry happens on the handler's lifeline
    assert m.count("Note over") == 6 and "VIOLATION" in m


def test_mermaid_marks_the_loop_of_a_lasso() -> None:
    c = ircheck.check_file(MODELS / "x86_timer_storm_fully_nested.irq").check("no_starvation")
    assert c.loop_start is not None
    assert "loop starts here" in mermaid(c)


def test_dot_chain() -> None:
    c = ircheck.check_file(MODELS / "lang_lost_irq.irq").check("no_lost_irq")
    d = dot(c)
    assert d.startswith("digraph trace {") and "n1 -> n2;" in d
    assert "color=red" in d


def test_trace_and_fmt_subcommands(tmp_path: object, capsys: object) -> None:
    from pathlib import Path

    from ircheck.cli import main
    assert main(["trace", "--mermaid", str(MODELS / "lang_trap_gate_reentry.irq")]) == 1
    out = capsys.readouterr().out  # type: ignore[attr-defined]
    assert out.startswith("sequenceDiagram")
    assert main(["trace", "--dot", str(MODELS / "nic_single_raise.irq")]) == 0
    src = MODELS / "lang_lost_irq.irq"
    assert main(["fmt", str(src)]) == 0
    out = capsys.readouterr().out  # type: ignore[attr-defined]
    assert out.startswith("# expect: no_lost_irq violated")  # the header comment block is kept
    p = Path(str(tmp_path)) / "m.irq"
    p.write_text(out)
    assert main(["fmt", "--check", str(p)]) == 0  # canonical form is a fixed point
    assert ircheck.check_file(p).check("no_lost_irq").status == "violated"
