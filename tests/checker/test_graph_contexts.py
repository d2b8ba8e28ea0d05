"""`ircheck graph --contexts`: the preemption, parallelism and sharing edges of real models."""

from __future__ import annotations

import pytest

from ircheck.cli import main
from ircheck.graph import contexts_of_file
from ircheck.spec.contexts_graph import ContextGraph
from tests.conftest import MODELS, ROOT


def _edges(g: ContextGraph, kind: str) -> set[tuple[str, str, str]]:
    return {(e.src, e.dst, e.label) for e in g.edges if e.kind == kind}


def test_hardirq_over_thread_on_one_cpu_sharing_a_lock() -> None:
    g = contexts_of_file(str(MODELS / "kernel_isr_thread_spin_lock.irq"))
    assert g.complete and g.states == 37
    assert [(n.name, n.kind, n.cpus, n.locks, n.data) for n in g.nodes] == [
        ("irq 3 nic_isr", "hardirq", (0,), ("rx_lock",), ("rx_stats",)),
        ("thread app", "thread", (0,), ("rx_lock",), ("rx_stats",))]
    assert _edges(g, "preempts") == {("irq 3 nic_isr", "thread app", "cpu0")}
    assert _edges(g, "parallel") == set()  # one CPU
    assert _edges(g, "shares") == {("irq 3 nic_isr", "thread app", "lock rx_lock; data rx_stats")}


def test_the_two_cpu_napi_design() -> None:
    g = contexts_of_file(str(ROOT / "docs" / "tutorial" / "step6.irq"))
    assert _edges(g, "preempts") == {("irq 3 nic_isr", "softirq net_rx", "cpu0, cpu1"),
                                     ("irq 3 nic_isr", "thread app", "cpu1"),
                                     ("softirq net_rx", "thread app", "cpu1")}
    par = _edges(g, "parallel")
    assert ("softirq net_rx", "softirq net_rx", "same context on two CPUs") in par  # D1
    assert not any(a == b == "irq 3 nic_isr" for a, b, _ in par)  # L4: one descriptor, one CPU
    assert ("softirq net_rx", "thread app", "") in par
    assert _edges(g, "shares") == {("softirq net_rx", "thread app", "lock rx_lock; data rx_ring")}


def test_a_tasklet_never_runs_beside_itself_and_a_trap_gate_nests_into_itself() -> None:
    g = contexts_of_file(str(MODELS / "kernel_stats_tasklet_two_cpus.irq"))
    assert ("tasklet rx_done", "tasklet rx_done") not in {(a, b) for a, b, _ in _edges(g, "parallel")}  # D2
    assert ("irq 3 nic_isr", "tasklet rx_done", "cpu0, cpu1") in _edges(g, "preempts")
    trap = contexts_of_file(str(MODELS / "lang_trap_gate_reentry.irq"))
    assert _edges(trap, "preempts") == {("irq 0 tick", "irq 0 tick", "cpu0")}
    gate = contexts_of_file(str(MODELS / "tick_interrupt_gate.irq"))
    assert _edges(gate, "preempts") == set()  # the interrupt gate keeps IF=0


def test_fully_nested_priority_lets_only_the_higher_line_in() -> None:
    g = contexts_of_file(str(MODELS / "early_eoi_sti_nesting.irq"))
    assert _edges(g, "preempts") == {("irq 0 timer_isr", "irq 4 serial_isr", "cpu0")}


def test_cli_renders_text_dot_and_mermaid(capsys: pytest.CaptureFixture[str]) -> None:
    path = str(MODELS / "kernel_isr_thread_spin_lock.irq")
    assert main(["graph", "--contexts", path]) == 0
    out = capsys.readouterr().out
    assert "  irq 3 nic_isr -> thread app  (cpu0)\n" in out
    assert "  irq 3 nic_isr -- thread app  (lock rx_lock; data rx_stats)\n" in out
    assert main(["graph", "--contexts", "--dot", path]) == 0
    out = capsys.readouterr().out
    assert out.startswith("digraph contexts {") and '  c0 -> c1 [label="preempts cpu0"];' in out
    assert '  c0 [label="irq 3 nic_isr\\nhardirq", shape=box];' in out
    assert main(["graph", "--contexts", "--mermaid", path]) == 0
    out = capsys.readouterr().out
    assert out.startswith("flowchart LR\n")
    assert "    C0 -->|preempts cpu0| C1\n" in out and "    C0 ===|lock rx_lock, data rx_stats| C1\n" in out


def test_cli_bad_input_is_exit_2(capsys: pytest.CaptureFixture[str], tmp_path: object) -> None:
    from pathlib import Path
    bad = Path(str(tmp_path)) / "bad.irq"
    bad.write_text("handler h { spin_lock nolock }")
    assert main(["graph", "--contexts", str(bad)]) == 2
    assert main(["graph", str(bad)]) == 2  # --contexts is required
    assert main(["graph", "--contexts", "--max-states", "0", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "IRQ" in err and "Traceback" not in err


def test_a_stopped_search_says_so() -> None:
    g = contexts_of_file(str(ROOT / "docs" / "tutorial" / "step6.irq"), max_states=50)
    assert not g.complete
    from ircheck.graph import text
    assert "search stopped early" in text(g, "m.irq")
