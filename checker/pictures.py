"""Counterexamples as pictures: a Mermaid sequence diagram, or Graphviz DOT.

One picture is one document (one `sequenceDiagram`, one `digraph`): `ircheck trace` draws one
check per invocation. Lanes are the contexts of the trace - devices, and per CPU the thread (or
idle) and each handler frame: Mermaid participants, DOT clusters - so nesting reads as an arrow from
the interrupted context into the handler, IRET as the arrow back, and a `wake_up` that wakes a
sleeping task as an arrow to the sleeper's lane. The violating step is marked, the loop of a lasso
too, and the check's message is shown whole (wrapped at word boundaries, never cut). What a step
is comes from its `kind`, `target` and `lane` (spec/step_kind.py, spec/explain.py), never from its text.
"""

from __future__ import annotations

import re
import textwrap

from ircheck.grammar.diagnostics import shown_path
from ircheck.result import CheckResult
from ircheck.spec.explain import Step
from ircheck.spec.step_kind import StepKind


def _woken(step: Step) -> list[str]:
    """The tasks a `wake_up` step wakes: those whose state leaves `sleeping` in it."""
    if step.kind is not StepKind.WAKE_UP:
        return []
    return [k[: -len(".state")] for k, (a, b) in step.changes.items() if k.endswith(".state") and a == "sleeping"
            and b != "sleeping"]


def _lane_of_task(task: str, lanes: list[str]) -> str | None:
    """The lane a task ran in last (`cpu1 thread app` for task `app`)."""
    pat = re.compile(rf"(^|\s)(thread|irq_thread|work) {re.escape(task)}$")
    return next((lane for lane in reversed(lanes) if pat.search(lane)), None)


def _wrap(text: str, width: int = 60) -> list[str]:
    """Lines of at most `width` characters, broken between words (a longer word stays whole)."""
    return textwrap.wrap(" ".join(text.split()), width, break_long_words=False, break_on_hyphens=False) or [""]


# ---- Mermaid ---------------------------------------------------------------------------

_MERMAID_ENTITIES = str.maketrans({"#": "#35;", ";": "#59;", '"': "#quot;", "<": "#lt;", ">": "#gt;"})


def mermaid_text(text: str) -> str:
    """Any text (a file path) as Mermaid label text on one line: control characters escaped
    (`shown_path`), and what Mermaid would read as syntax written as its entity codes."""
    return shown_path(text).translate(_MERMAID_ENTITIES)


def _m(text: str) -> str:
    return " ".join(text.split()).translate(_MERMAID_ENTITIES)


def mermaid(check: CheckResult, model: str | None = None) -> str:
    """The trace as one Mermaid sequence diagram; `model` (a path) goes into the title."""
    ids: dict[str, str] = {}

    def ident(lane: str) -> str:
        if lane not in ids:
            ids[lane] = f"P{len(ids)}"
        return ids[lane]

    where = f"{mermaid_text(model)} - " if model else ""
    lines = ["sequenceDiagram", f"    title {where}{_m(check.name)}: {_m(check.status)}"]
    body: list[str] = []
    active: dict[str, int] = {}  # activation depth per participant: never deactivate an inactive one
    seen: list[str] = []
    for k, step in enumerate(check.trace):
        who = step.lane
        seen.append(who)
        me = ident(who)
        text = f"{step.number}. {_m(step.action)}"
        if step.note == "violation":
            text += " (VIOLATION)"
        nxt = check.trace[k + 1] if k + 1 < len(check.trace) else None
        sleepers = [lane for t in _woken(step) if (lane := _lane_of_task(t, seen)) is not None]
        if check.loop_start == step.number:
            body.append(f"    Note over {me}: loop starts here (steps {step.number}-{check.trace[-1].number} "
                        "repeat for ever)")
        if step.kind is StepKind.RAISE:
            body.append(f"    Note over {me}: {text}")
        elif sleepers:
            for lane in sleepers:
                body.append(f"    {me}-){ident(lane)}: {text} (wakes {_m(lane)})")
        elif step.kind.enters_handler and nxt is not None and nxt.lane != who:
            callee = ident(nxt.lane)
            active[callee] = active.get(callee, 0) + 1
            body.append(f"    {me}->>+{callee}: {text}")
        elif step.kind is StepKind.RETURN and nxt is not None and nxt.kind is not StepKind.RAISE \
                and nxt.lane != who and active.get(me, 0) > 0:
            active[me] -= 1
            body.append(f"    {me}-->>-{ident(nxt.lane)}: {text}")
        else:
            body.append(f"    Note over {me}: {text}")
        if step.note == "violation":
            body.append(f"    rect rgb(255, 220, 220)\n    Note over {me}: VIOLATION of {_m(check.name)}\n    end")
    if check.blocked is not None:  # a deadlock: the acquisition that never proceeds, after the last step
        me = ident(check.blocked.lane)
        body.append(f"    rect rgb(255, 220, 220)\n    Note over {me}: {_m(check.blocked.action)} never proceeds: "
                    f"VIOLATION of {_m(check.name)}\n    end")
    for name, i in ids.items():
        lines.append(f"    participant {i} as {_m(name)}")
    lines += body
    if check.message:
        first, last = (next(iter(ids.values())), list(ids.values())[-1]) if ids else ("P0", "P0")
        span = first if first == last else f"{first},{last}"
        if not ids:
            lines.append("    participant P0 as model")
        lines.append(f"    Note over {span}: " + "<br/>".join(_m(x) for x in _wrap(check.message)))
    return "\n".join(lines) + "\n"


# ---- DOT -------------------------------------------------------------------------------

def _q(text: str) -> str:
    """A DOT string: quotes and backslashes escaped, control characters shown (one label line)."""
    return shown_path(text).replace("\\", "\\\\").replace('"', '\\"')


def _label(lines: list[str]) -> str:
    """Label lines joined with DOT's own line break `\\n` (escaped once, never twice)."""
    return '"' + "\\n".join(_q(x) for x in lines) + '"'


def dot(check: CheckResult, model: str | None = None) -> str:
    """The trace as one DOT graph: one box per step, in a cluster per lane (context), chained in
    order; wake-ups as blue arrows to the sleeper, the violating step red, a lasso's loop dashed."""
    out = ["digraph trace {", "  graph [rankdir=TB, newrank=true, fontname=monospace];"]
    if model:
        out.append(f"  label={_label([shown_path(model) + ': ' + check.name + ' ' + check.status])}; labelloc=t;")
    out += ["  node [shape=box, fontname=monospace, fontsize=9];", "  edge [fontname=monospace, fontsize=8];"]
    lanes: dict[str, list[Step]] = {}
    for step in check.trace:
        lanes.setdefault(step.lane, []).append(step)
    for i, (lane, steps) in enumerate(lanes.items()):
        out.append(f"  subgraph cluster_{i} {{")
        out.append(f"    label={_label([lane])}; style=rounded; color=gray;")
        for step in steps:
            text = [f"{step.number}. {part}" if j == 0 else part for j, part in enumerate(_wrap(step.action))]
            style = ""
            if step.note == "violation":
                text.append("<- VIOLATION")
                style = ", color=red, fontcolor=red, penwidth=2"
            out.append(f"    n{step.number} [label={_label(text)}{style}];")
        out.append("  }")
    for a, b in zip(check.trace, check.trace[1:], strict=False):
        out.append(f"  n{a.number} -> n{b.number};")
    seen: list[str] = []
    for k, step in enumerate(check.trace):
        seen.append(step.lane)
        for task in _woken(step):
            found = _lane_of_task(task, seen)
            if found is None:
                continue
            lane = found
            later = next((s for s in check.trace[k + 1:] if s.lane == lane), None)
            earlier = [s for s in check.trace[:k] if s.lane == lane]
            to = later or (earlier[-1] if earlier else None)
            if to is not None:
                out.append(f"  n{step.number} -> n{to.number} [color=blue, fontcolor=blue, style=bold, "
                           f"label={_label(['wakes ' + task])}, constraint=false];")
    if check.loop_start and check.trace:
        out.append(f"  n{check.trace[-1].number} -> n{check.loop_start} [style=dashed, label=\"loop\"];")
    if check.message:
        out.append(f"  message [shape=note, label={_label(['=> ' + x if j == 0 else x for j, x in enumerate(_wrap(check.message))])}];")
        mark = next((s for s in reversed(check.trace) if s.note == "violation"), check.trace[-1] if check.trace else None)
        if mark is not None:
            out.append(f"  n{mark.number} -> message [style=dotted, arrowhead=none];")
    out.append("}")
    return "\n".join(out) + "\n"
