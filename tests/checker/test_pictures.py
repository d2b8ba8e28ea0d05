"""Counterexample pictures: Mermaid sequence diagrams and DOT chains."""

from __future__ import annotations

import pytest

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
    out = capsys.readouterr().out
    assert out.startswith("sequenceDiagram")
    assert main(["trace", "--dot", str(MODELS / "nic_single_raise.irq")]) == 0
    src = MODELS / "lang_lost_irq.irq"
    assert main(["fmt", str(src)]) == 0
    out = capsys.readouterr().out
    assert out.startswith("# expect: no_lost_irq violated")  # the header comment block is kept
    p = Path(str(tmp_path)) / "m.irq"
    p.write_text(out)
    assert main(["fmt", "--check", str(p)]) == 0  # canonical form is a fixed point
    assert ircheck.check_file(p).check("no_lost_irq").status == "violated"


def test_state_graph_marks_the_counterexample(capsys: pytest.CaptureFixture[str]) -> None:
    """`export --dot`: the violated check's trace is drawn red on the state graph - here the lost edge
    of lang_lost_irq: raise, raise again while pending (3 nodes, 2 edges; the third edge is not)."""
    from ircheck.export import main
    assert main(["--dot", str(MODELS / "lang_lost_irq.irq")]) == 0
    out = capsys.readouterr().out
    red = [line for line in out.splitlines() if "color=red" in line]
    assert len([x for x in red if " -> " in x]) == 2 and len([x for x in red if " -> " not in x]) == 3
    assert all('"no_lost_irq"' in x or "counterexample: no_lost_irq" in x for x in red)
    assert 's1 -> s3 [label="device nic: raise IRQ 3 again (master.3, edge): already pending", color=red' in out
    assert 's1 -> s2 [label="cpu0: take IRQ 3: INTA, vector 0x23 -> nic_isr (interrupt gate, IF=0)"];' in out


def test_state_graph_of_a_model_that_holds_has_no_red() -> None:
    from ircheck.export import highlight, state_graph
    ts = ircheck.api.compile_source((MODELS / "nic_single_raise.irq").read_text())
    g = state_graph(ts)
    results, _ = ircheck.api.run_engine(ts, engine="explicit")
    assert all(r.status == "holds" for r in results)
    highlight(g, ts, results)
    assert not any(d.get("cex") for _n, d in g.nodes(data=True))
