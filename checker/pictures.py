"""Counterexamples as pictures: a Mermaid sequence diagram, or Graphviz DOT.

Lifelines are the contexts of the trace - devices, and per CPU the thread (or
idle) and each handler frame - so nesting reads as arrows from the
interrupted context into the handler, and IRET as the arrow back.
"""

from __future__ import annotations

import re

from ircheck.grammar.diagnostics import shown_path
from ircheck.result import CheckResult


def _lifeline(context: str) -> str:
    """`cpu0 irq 3 nic_isr (nested over thread app)` -> `cpu0 irq 3 nic_isr`."""
    return re.sub(r"\s*\((nested )?over .*\)$", "", context)


def _ident(name: str, ids: dict[str, str]) -> str:
    if name not in ids:
        ids[name] = f"P{len(ids)}"
    return ids[name]


def _quote(text: str) -> str:
    return text.replace('"', "'").replace(";", ",").replace("#", "no.").replace("\n", " ")


def _target(action: str) -> str | None:
    """The handler a step enters (`take IRQ 3: ... -> nic_isr (...)`), if any."""
    m = re.search(r"-> (\w+) \(", action)
    return m.group(1) if m else None


_MERMAID_ENTITIES = str.maketrans({"#": "#35;", ";": "#59;", '"': "#quot;", "<": "#lt;", ">": "#gt;"})


def mermaid_text(text: str) -> str:
    """Any text (a file path) as Mermaid label text on one line: control characters escaped
    (`shown_path`), and what Mermaid would read as syntax written as its entity codes."""
    return shown_path(text).translate(_MERMAID_ENTITIES)


def mermaid(check: CheckResult, model: str | None = None) -> str:
    """The trace as a Mermaid sequence diagram; `model` (a path) goes into the title."""
    ids: dict[str, str] = {}
    where = f"{mermaid_text(model)} - " if model else ""
    lines = ["sequenceDiagram", f"    title {where}{_quote(check.name)}: {_quote(check.status)}"]
    body: list[str] = []
    for k, step in enumerate(check.trace):
        who = _lifeline(step.context)
        me = _ident(who, ids)
        action = _quote(step.action)
        nxt = check.trace[k + 1] if k + 1 < len(check.trace) else None
        if step.context.startswith("device"):
            body.append(f"    Note over {me}: {step.number}. {action}")
        elif _target(step.action) and nxt is not None and nxt.context.split(" (")[0] != who:
            callee = _ident(_lifeline(nxt.context), ids)
            body.append(f"    {me}->>+{callee}: {step.number}. {action}")
        elif step.action.startswith("iret") and nxt is not None:
            back = _ident(_lifeline(nxt.context), ids) if not nxt.context.startswith("device") else me
            body.append(f"    {me}-->>-{back}: {step.number}. {action}" if back != me
                        else f"    Note over {me}: {step.number}. {action}")
        else:
            body.append(f"    Note over {me}: {step.number}. {action}")
        if check.loop_start == step.number:
            body.append(f"    Note over {me}: loop starts here")
        if step.note == "violation":
            body.append(f"    Note over {me}: VIOLATION")
    for name, ident in ids.items():
        lines.append(f"    participant {ident} as {_quote(name)}")
    lines += body
    if check.message:
        first = next(iter(ids.values()), "P0")
        lines.append(f"    Note over {first}: {_quote(check.message)[:200]}")
    return "\n".join(lines) + "\n"


def dot(check: CheckResult, model: str | None = None) -> str:
    """The trace as a chain of boxes, one per step, clustered by lifeline; `model` (a path) labels it."""
    def q(s: str) -> str:
        return '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'
    out = ["digraph trace {", "  rankdir=TB; node [shape=box, fontname=monospace, fontsize=9];"]
    if model:
        out.append(f"  label={q(shown_path(model) + ': ' + check.name + ' ' + check.status)}; labelloc=t;")
    for step in check.trace:
        style = ", color=red, penwidth=2" if step.note == "violation" else ""
        label = f"{step.number}. {_lifeline(step.context)}\\n{step.action}"
        out.append(f"  n{step.number} [label={q(label)}{style}];")
    for a, b in zip(check.trace, check.trace[1:], strict=False):
        out.append(f"  n{a.number} -> n{b.number};")
    if check.loop_start and check.trace:
        out.append(f"  n{check.trace[-1].number} -> n{check.loop_start} [style=dashed, label=\"loop\"];")
    out.append("}")
    return "\n".join(out) + "\n"
