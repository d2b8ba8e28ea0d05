"""What coverage means for an interrupt design: the statements, code units and device raises of a
TransitionSystem, and the warnings an engine's "which of them can happen" turns into.

The engines know transitions, not statements: `table(ts)` groups the lowering's transitions into
*items* (one statement of one context's code, or one device's raise) and items into *units* (a
handler, a thread, a softirq, a device...), reading the `Label`s the lowering writes (`actor` names
the unit, `context` says whether it is code or a device, `line` and `action` the statement). An item
happens when some reachable state enables one of its transitions. `Table.warnings(happened,
holds)` then says, in the user's words, what can never happen, and when every check holds only
because nothing happens (vacuity). The checker computes `happened` and counts without knowing any
of these words (checker/coverage.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ircheck.spec.ts import TransitionSystem

CODE_CONTEXTS = ("handler", "thread", "sync", "halt")  # Label.context of a code unit's own statements
_FLOW = re.compile(r"^irq \d+ flow$")  # the genirq flow handler: ircheck's own code, not the model's
_BRANCH = re.compile(r"\s*\((true|false)\)$")  # an `if`/`while` test's two outcomes are one statement
HARD_IRQ = "handler"  # the unit kind of a hard-IRQ handler


@dataclass(frozen=True)
class Item:
    """One statement of one unit (or a device's raise): the transitions that take it."""

    unit: int
    line: int
    text: str
    transitions: tuple[int, ...]


@dataclass(frozen=True)
class Unit:
    kind: str   # handler | thread | work | irq_thread | softirq | tasklet | device
    name: str
    line: int   # its first statement's line (a device: its declaration)
    why: str = ""  # a device that can never raise because of its declaration: "raises 0"


@dataclass(frozen=True)
class Finding:
    line: int
    message: str
    vacuous: bool = False  # every check holds only because this cannot happen (--strict refuses it)


@dataclass
class Table:
    items: list[Item] = field(default_factory=list)
    units: list[Unit] = field(default_factory=list)

    def warnings(self, happened: set[int], holds: bool) -> list[Finding]:
        """What can never happen, given the items that can (`happened`, indices into `items`);
        `holds`: every check holds, so what never happens makes the verdict vacuous."""
        out: list[Finding] = []
        ran = {it.unit for k, it in enumerate(self.items) if k in happened}
        devices = [u for u, unit in enumerate(self.units) if unit.kind == "device"]
        if holds and devices and not any(u in ran for u in devices):
            why = "; ".join(f"{self.units[u].name}: {self.units[u].why}" for u in devices if self.units[u].why)
            out.append(Finding(min(self.units[u].line for u in devices),
                               "every check holds only because no device can ever raise an interrupt"
                               + (f" ({why})" if why else ""), True))
        for u, unit in enumerate(self.units):
            if u in ran:
                continue
            if unit.kind == "device":
                why = f" ({unit.why})" if unit.why else ""
                out.append(Finding(unit.line, f"device {unit.name} can never raise its interrupt{why}"))
            else:
                # a handler that never runs although a device raises: what holds says nothing about it
                vacuous = holds and unit.kind == HARD_IRQ and any(d in ran for d in devices)
                out.append(Finding(unit.line, f"{unit.kind} {unit.name} can never run"
                                   + (": the checks hold without it ever running" if vacuous else ""), vacuous))
        for k, it in enumerate(self.items):
            if k not in happened and it.unit in ran:
                out.append(Finding(it.line, f"`{it.text}` in {self.units[it.unit].kind} {self.units[it.unit].name} "
                                   "is never executed"))
        out.sort(key=lambda w: (not w.vacuous, w.line, w.message))
        return out

    def where(self, k: int) -> str:
        """An item as the --coverage table names it: `handler nic_isr: eoi`."""
        it = self.items[k]
        unit = self.units[it.unit]
        return f"{unit.kind} {unit.name}: {it.text}"


def table(ts: TransitionSystem) -> Table:
    """The statements, units and device raises of a lowered design (see the module docstring)."""
    out = Table()
    units: dict[str, int] = {}
    items: dict[tuple[int, int, str], list[int]] = {}
    lines: dict[int, int] = {}
    for ti, t in enumerate(ts.transitions):
        lab = t.label
        if lab.context == "device":
            kind, name, text = "device", lab.actor.removeprefix("device "), "raise"
        elif lab.context in CODE_CONTEXTS and " " in lab.actor and not _FLOW.match(lab.actor):
            kind, name = lab.actor.split(" ", 1)
            text = _BRANCH.sub("", lab.action.split(":", 1)[0]).strip()
        else:
            continue
        u = units.get(lab.actor)
        if u is None:
            u = units[lab.actor] = len(out.units)
            why = ""
            if kind == "device":
                try:
                    budget = ts.vars[ts.var_index(f"{name}.raises_left")]
                except KeyError:
                    budget = None
                if budget is not None and budget.init == 0:
                    why = "raises 0"
            out.units.append(Unit(kind, name, lab.line, why))
        lines[u] = min(lines.get(u, lab.line), lab.line)
        items.setdefault((u, lab.line, text), []).append(ti)
    out.units = [Unit(x.kind, x.name, lines[u] if x.kind != "device" else x.line, x.why)
                 for u, x in enumerate(out.units)]
    out.items = [Item(u, line, text, tuple(tis)) for (u, line, text), tis in
                 sorted(items.items(), key=lambda kv: (kv[0][1], kv[0][0], min(kv[1])))]
    return out
