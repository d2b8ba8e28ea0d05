"""Issue 19, item 5: pictures that render. One document per `ircheck trace`, lanes per context,
the violating step marked, wake-ups as arrows to the sleeper; every picture the bundled models
produce parses (Graphviz `dot`, and Mermaid: its own parser when a local copy is installed, else a
Python check of the subset ircheck writes)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

import ircheck
from ircheck.cli import main
from ircheck.export import DOT_LIMIT
from ircheck.pictures import dot, mermaid
from ircheck.result import CheckResult, Report
from ircheck.spec.explain import Step
from ircheck.spec.step_kind import StepKind
from tests.conftest import MODELS, ROOT

DOT = shutil.which("dot")
NODE = shutil.which("node")
# a directory with node_modules/mermaid and node_modules/jsdom (npm install mermaid jsdom): never
# downloaded by the tests
MERMAID_DIR = Path(os.environ.get("IRCHECK_MERMAID_DIR", Path.home() / ".cache" / "ircheck-mermaid"))


pytestmark = pytest.mark.usefixtures("in_root")


@pytest.fixture(scope="module")
def violated() -> list[tuple[str, CheckResult]]:
    out: list[tuple[str, CheckResult]] = []
    for path in sorted(MODELS.glob("*.irq")):
        name = f"models/{path.name}"
        try:
            report: Report = ircheck.check_file(ROOT / name)
        except Exception:  # noqa: BLE001 - a model the checker fails on has no picture; other tests catch it
            continue
        out += [(name, c) for c in report.checks if c.status == "violated"]
    assert len(out) > 40
    return out


# ---- a Python check of the Mermaid that ircheck writes ---------------------------------

_TEXT = r"(?:[^#;\n]|#\w+;)+"
_MERMAID_LINE = [re.compile(p) for p in (
    rf"title {_TEXT}", rf"participant (P\d+) as {_TEXT}", rf"(P\d+)(->>\+|-->>-|-\)|->>)(P\d+): {_TEXT}",
    rf"Note over (P\d+)(?:,(P\d+))?: {_TEXT}", r"rect rgb\(\d+, \d+, \d+\)", r"end")]


def mermaid_problems(text: str) -> list[str]:
    """What Mermaid would refuse in a sequence diagram of the forms ircheck writes: a second
    diagram, unknown lines, raw `;`/`#`, undeclared participants, deactivating an inactive one."""
    lines = text.splitlines()
    if not lines or lines[0] != "sequenceDiagram":
        return ["does not start with sequenceDiagram"]
    declared: set[str] = set()
    active: dict[str, int] = {}
    rects = 0
    bad: list[str] = []
    for ln in lines[1:]:
        body = ln.strip()
        m = next((m for p in _MERMAID_LINE if (m := p.fullmatch(body))), None)
        if m is None:
            bad.append(f"not a line Mermaid reads: {ln!r}")
            continue
        if body.startswith("participant"):
            declared.add(m.group(1))
        elif "->>" in body or "-)" in body:
            a, arrow, b = m.group(1), m.group(2), m.group(3)
            bad += [f"undeclared {p}" for p in (a, b) if p not in declared]
            if arrow == "->>+":
                active[b] = active.get(b, 0) + 1
            elif arrow == "-->>-":
                if active.get(a, 0) == 0:
                    bad.append(f"deactivates inactive {a}")
                active[a] = active.get(a, 0) - 1
        elif body.startswith("Note"):
            bad += [f"undeclared {p}" for p in m.groups() if p and p not in declared]
        elif body.startswith("rect"):
            rects += 1
        elif body == "end":
            rects -= 1
            if rects < 0:
                bad.append("end without rect")
    return bad + (["unclosed rect"] if rects else [])


def test_mermaid_check_catches_what_mermaid_refuses() -> None:
    c = ircheck.check_file(ROOT / "models/lang_lost_irq.irq").checks[0]
    one = mermaid(c, "models/lang_lost_irq.irq")
    assert mermaid_problems(one) == []
    assert mermaid_problems(one + one)  # two diagrams back to back: what `trace` printed before
    assert mermaid_problems("sequenceDiagram\n    participant P0 as a\n    participant P1 as b\n    P0-->>-P1: x\n")
    assert mermaid_problems("sequenceDiagram\n    participant P0 as a\n    Note over P0: a ; b\n")


# ---- every bundled picture parses ------------------------------------------------------

def test_every_bundled_mermaid_picture_is_valid(violated: list[tuple[str, CheckResult]]) -> None:
    for model, c in violated:
        assert mermaid_problems(mermaid(c, model)) == [], (model, c.name)


@pytest.mark.skipif(NODE is None or not (MERMAID_DIR / "node_modules" / "mermaid").is_dir()
                    or not (MERMAID_DIR / "node_modules" / "jsdom").is_dir(),
                    reason="Mermaid's parser needs node and a local `npm install mermaid jsdom` in IRCHECK_MERMAID_DIR")
def test_every_bundled_mermaid_picture_parses_with_mermaid(violated: list[tuple[str, CheckResult]],
                                                           tmp_path: Path) -> None:
    files = []
    for k, (model, c) in enumerate(violated):
        f = tmp_path / f"{k}.mmd"
        f.write_text(mermaid(c, model))
        files.append(str(f))
    bad = tmp_path / "bad.mmd"
    bad.write_text(mermaid(violated[0][1]) * 2)
    script = tmp_path / "parse.mjs"
    script.write_text("""
import { JSDOM } from "jsdom";
import fs from "fs";
const dom = new JSDOM("<!doctype html><html><body></body></html>");
globalThis.window = dom.window; globalThis.document = dom.window.document;
const { default: mermaid } = await import("mermaid");
mermaid.initialize({ startOnLoad: false });
for (const f of process.argv.slice(2)) {
  try { await mermaid.parse(fs.readFileSync(f, "utf8")); console.log("OK " + f); }
  catch (e) { console.log("BAD " + f + " " + String(e.message || e).split("\\n")[0]); }
}
""")
    env = dict(os.environ, NODE_PATH=str(MERMAID_DIR / "node_modules"))
    (tmp_path / "node_modules").symlink_to(MERMAID_DIR / "node_modules")
    p = subprocess.run([str(NODE), str(script), *files, str(bad)], capture_output=True, text=True, timeout=300,
                       env=env, cwd=tmp_path)
    lines = p.stdout.splitlines()
    assert len(lines) == len(files) + 1, p.stderr[-2000:]
    assert [ln for ln in lines[:-1] if not ln.startswith("OK ")] == []
    assert lines[-1].startswith("BAD ")  # the check itself would see two diagrams back to back


@pytest.mark.skipif(DOT is None, reason="graphviz (dot) is not installed")
def test_every_bundled_dot_picture_renders(violated: list[tuple[str, CheckResult]]) -> None:
    for model, c in violated:
        text = dot(c, model)
        assert text.count("digraph") == 1 and "\\\\n" not in text
        p = subprocess.run([str(DOT), "-Tsvg"], input=text, capture_output=True, text=True, timeout=60)
        assert p.returncode == 0 and not p.stderr, (model, c.name, p.stderr)


@pytest.mark.skipif(DOT is None, reason="graphviz (dot) is not installed")
def test_state_graphs_render(capsys: pytest.CaptureFixture[str]) -> None:
    drawn = 0
    for name in ("lang_lost_irq", "lang_trap_gate_reentry", "nic_single_raise", "kernel_wake_before_set",
                 "x86_cascade_disk_both_eoi"):
        code = main(["export", "--dot", f"models/{name}.irq"])
        out, _ = capsys.readouterr()
        if code == 2:
            continue
        drawn += 1
        p = subprocess.run([str(DOT), "-Tsvg"], input=out, capture_output=True, text=True, timeout=120)
        assert p.returncode == 0 and not p.stderr, (name, p.stderr)
    assert drawn >= 3


# ---- exact pictures --------------------------------------------------------------------

def test_dot_trace_exact(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["trace", "--dot", "models/lang_lost_irq.irq"]) == 1
    out, err = capsys.readouterr()
    assert out == r'''digraph trace {
  graph [rankdir=TB, newrank=true, fontname=monospace];
  label="models/lang_lost_irq.irq: no_lost_irq violated"; labelloc=t;
  node [shape=box, fontname=monospace, fontsize=9];
  edge [fontname=monospace, fontsize=8];
  subgraph cluster_0 {
    label="device nic"; style=rounded; color=gray;
    n1 [label="1. raise IRQ 3 (master.3, edge)"];
    n2 [label="2. raise IRQ 3 again (master.3, edge): already pending\n<- VIOLATION", color=red, fontcolor=red, penwidth=2];
  }
  n1 -> n2;
  message [shape=note, label="=> IRQ 3 edge from nic arrived while master.IRR[3] was still\nset: the request is lost"];
  n2 -> message [style=dotted, arrowhead=none];
}
'''
    assert err == "models/lang_lost_irq.irq: drawing no_lost_irq, the only violated check\n"


def test_mermaid_trace_exact(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["trace", "models/lang_trap_gate_reentry.irq"]) == 1
    out, _ = capsys.readouterr()
    assert out == """sequenceDiagram
    title models/lang_trap_gate_reentry.irq - no_reentry: violated
    participant P0 as device timer
    participant P1 as cpu0 idle
    participant P2 as cpu0 irq 0 tick
    Note over P0: 1. raise IRQ 0 (master.0, edge)
    P1->>+P2: 2. take IRQ 0: INTA, vector 0x20 -#gt; tick (trap gate, IF stays 1)
    Note over P2: 3. eoi
    Note over P0: 4. raise IRQ 0 (master.0, edge)
    Note over P2: 5. take IRQ 0: INTA, vector 0x20 -#gt; tick (trap gate, IF stays 1) (VIOLATION)
    rect rgb(255, 220, 220)
    Note over P2: VIOLATION of no_reentry
    end
    Note over P0,P2: non-reentrant handler tick is active twice at once (cpu0:<br/>idle #gt; irq 0 tick #gt; irq 0 tick)
"""


def test_one_document_per_invocation(capsys: pytest.CaptureFixture[str]) -> None:
    model = "models/kernel_abba_two_cpus.irq"
    assert main(["trace", "--dot", model]) == 1
    out, err = capsys.readouterr()
    assert out.count("digraph") == 1 and "no_deadlock violated" in out
    assert err == (f"{model}: drawing no_deadlock, the first of 2 violated checks (also violated: lockdep); "
                   "draw another with --check NAME\n")
    assert main(["trace", "--mermaid", "--check", "lockdep", model]) == 1
    out, err = capsys.readouterr()
    assert out.count("sequenceDiagram") == 1 and "lockdep: violated" in out and err == ""


def test_long_messages_wrap_at_words() -> None:
    c = ircheck.check_file(ROOT / "models/kernel_abba_two_cpus.irq").check("no_deadlock")
    note = mermaid(c).splitlines()[-1]
    words = " ".join(c.message.split()).replace(";", "#59;")
    assert note.split(": ", 1)[1].replace("<br/>", " ") == words  # whole, never cut


def test_wake_up_is_an_arrow_to_the_sleeper() -> None:
    steps = [Step(1, "cpu1 thread app", "wait_event q: prepare_to_wait (state = sleeping)", 9,
                  {"app.state": ("running", "sleeping")}, kind=StepKind.SLEEP, lane="cpu1 thread app"),
             Step(2, "device nic", "raise IRQ 3 (master.3, edge)", 4, kind=StepKind.RAISE, lane="device nic"),
             Step(3, "cpu0 idle", "take IRQ 3: INTA, vector 0x23 -> nic_isr (interrupt gate, IF=0)", 5,
                  kind=StepKind.DELIVER, target="nic_isr", lane="cpu0 idle"),
             Step(4, "cpu0 irq 3 nic_isr", "wake_up q", 7, {"app.state": ("sleeping", "running")},
                  kind=StepKind.WAKE_UP, target="q", lane="cpu0 irq 3 nic_isr"),
             Step(5, "cpu1 thread app", "wait_event q: test ready  (false)", 9, {}, note="violation",
                  kind=StepKind.SLEEP, target="q", lane="cpu1 thread app")]
    c = CheckResult("invariant", "violated", "made up", steps)
    m = mermaid(c)
    assert "    P3-)P0: 4. wake_up q (wakes cpu1 thread app)" in m
    assert mermaid_problems(m) == []
    d = dot(c)
    assert '  n4 -> n5 [color=blue, fontcolor=blue, style=bold, label="wakes app", constraint=false];' in d
    assert 'n5 [label="5. wait_event q: test ready (false)\\n<- VIOLATION", color=red' in d
    assert d.count("subgraph cluster_") == 4  # a lane per context


def test_export_dot_labels_and_limit(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["export", "--dot", "models/lang_trap_gate_reentry.irq"]) == 0
    out, _ = capsys.readouterr()
    assert 's0 -> s1 [label="device timer: raise IRQ 0 (master.0, edge)"' in out
    assert re.search(r'label="cpu0\.pc=tick@\d+\\n', out)  # states show program counters
    big = tmp_path / "big.irq"
    big.write_text("pic master : i8259 { base 0x20 }\n" + "".join(
        f"device d{i} {{ irq master.{i} edge  raises 3 }}\n" for i in range(4))
        + "idt {\n" + "".join(f"    {0x20 + i:#x} -> h{i} interrupt_gate dpl 0\n" for i in range(4)) + "}\n"
        + "".join(f"handler h{i} {{ eoi }}\n" for i in range(4)))
    assert main(["export", "--dot", str(big)]) == 2
    _, err = capsys.readouterr()
    assert err == (f"ircheck export: error: {big} has more than {DOT_LIMIT} states: a picture that large cannot be "
                   f"read. Draw the first N states with `ircheck export --dot --max-states N {big}`, or fewer "
                   "checks with --check\n")
    assert main(["export", "--dot", "--max-states", "20", str(big)]) == 0
    out, _ = capsys.readouterr()
    assert len(re.findall(r"^  s\d+ \[", out, re.M)) == 20
    assert 'label="the first 20 states only (--max-states)"' in out
