"""Turn a replayed trace (states + transition indices) into steps a person reads.

This is presentation, but it needs interrupt knowledge ("irq 3 nic_isr nested
over thread app"), so it lives in spec/ beside the lowering whose layout it
reads. Engines hand it raw traces; it never sees an engine.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ircheck.spec.context import CpuLayout, Layout
from ircheck.spec.step_kind import StepKind
from ircheck.spec.ts import TransitionSystem, Var

State = tuple[int, ...]


@dataclass
class Step:
    """One step of a trace as a person reads it (`context`: `action`), and as a program reads it:
    `kind`, `actor` and `target` are its label's (spec/step_kind.py), `lane` is `context` without
    what the frame interrupted (`cpu0 irq 3 nic_isr` for `cpu0 irq 3 nic_isr (nested over thread
    app)`). Only the text fields and `changes` go into JSON (schemas/report.schema.json is closed)."""

    number: int
    context: str
    action: str
    line: int
    changes: dict[str, tuple[str, str]] = field(default_factory=dict)
    cpu: int | None = None
    note: str = ""  # e.g. "violation" on the step that breaks the property
    kind: StepKind = StepKind.STATEMENT
    actor: str = ""
    target: str = ""
    lane: str = ""

    def to_json(self) -> dict[str, object]:
        d: dict[str, object] = {"step": self.number, "context": self.context, "action": self.action,
                                "line": self.line, "changes": {k: v[1] for k, v in self.changes.items()}}
        if self.note:
            d["note"] = self.note
        return d


def _bit_changes(var: Var, old: int, new: int) -> dict[str, tuple[str, str]]:
    out = {}
    diff = old ^ new
    for b in range(var.width):
        if diff >> b & 1:
            tag = var.names[b] if b < len(var.names) else str(b)  # APIC registers name their bits by vector
            out[f"{var.name}[{tag}]"] = (str(old >> b & 1), str(new >> b & 1))
    return out


def changes(ts: TransitionSystem, a: State, b: State) -> dict[str, tuple[str, str]]:
    """Only the variables that changed, bits of registers one by one; bookkeeping is hidden."""
    out: dict[str, tuple[str, str]] = {}
    for i, var in enumerate(ts.vars):
        if a[i] == b[i] or var.kind in ("loc", "hidden"):
            continue
        if var.kind == "bits":
            out.update(_bit_changes(var, a[i], b[i]))
        else:
            out[var.name] = (var.show(a[i]), var.show(b[i]))
    return out


def _running(cpu: CpuLayout, s: State) -> str:
    """What runs at the bottom of this CPU's stack: a thread, or idle."""
    if not cpu.threads:
        return "idle"
    name, pcv = cpu.threads[s[cpu.cur_var] if cpu.cur_var is not None else 0]
    return "idle" if s[pcv] == 0 else name  # pc 0 is a thread's end (an irq thread's or worker's idle)


def frames(cpu: CpuLayout, s: State) -> list[str]:
    """This CPU's stack, bottom first: the thread (or idle), then each handler frame."""
    out = [_running(cpu, s)]
    d = s[cpu.depth_var]
    for i in range(d - 1):
        out.append(cpu.frame_owner[s[cpu.saved_pc_vars[i]]])
    if d:
        out.append(cpu.frame_owner[s[cpu.pc_var]])
    return out


def lane_of(ts: TransitionSystem, s: State, ti: int) -> tuple[str, str]:
    """(lane, below): who takes step `ti` in state `s` (`cpu0 irq 3 nic_isr`, `cpu1 thread app`,
    `device nic`) and, for a handler's step, the frame it is nested over ("" when none, or idle)."""
    t = ts.transitions[ti]
    layout: Layout = ts.meta
    lab = t.label
    if lab.cpu is None or layout is None:
        return lab.actor, ""
    cpu = layout.cpus[lab.cpu]
    stack = frames(cpu, s)
    prefix = f"cpu{lab.cpu}"
    if lab.context == "handler":
        below = stack[-2] if len(stack) > 1 else "idle"
        return f"{prefix} {stack[-1]}", "" if below == "idle" else below
    if lab.context in ("entry", "switch"):
        return f"{prefix} {stack[-1]}", ""
    return f"{prefix} {lab.actor}", ""


def _context(lane: str, below: str) -> str:
    return f"{lane} (nested over {below})" if below else lane


def context_of(ts: TransitionSystem, s: State, ti: int) -> str:
    """The lane of `lane_of`, with `(nested over BELOW)` when a handler interrupted something."""
    return _context(*lane_of(ts, s, ti))


def _running_cpl(cpu: CpuLayout, s: State) -> int:
    if not cpu.threads or not cpu.thread_cpl:
        return 0
    k = s[cpu.cur_var] if cpu.cur_var is not None else 0
    return cpu.thread_cpl[k] if s[cpu.threads[k][1]] != 0 else 0


def privilege_note(ts: TransitionSystem, s: State, ti: int) -> str:
    """X4: what the CPU pushes on entry, and the stack switch when it leaves ring 3."""
    lab = ts.transitions[ti].label
    layout: Layout = ts.meta
    if lab.cpu is None or layout is None or lab.context not in ("entry", "sync", "handler"):
        return ""
    cpu = layout.cpus[lab.cpu]
    depth = s[cpu.depth_var]
    if lab.context == "handler":
        if lab.kind is StepKind.RETURN and depth == 1 and _running_cpl(cpu, s) == 3:
            return "  [CPL 0 -> 3: IRET pops EIP, CS, EFLAGS, ESP, SS]"
        return ""
    if depth == 0 and _running_cpl(cpu, s) == 3:
        return "  [CPL 3 -> 0: stack switch from the TSS; pushes SS, ESP, EFLAGS, CS, EIP]"
    return ""


def explain(ts: TransitionSystem, states: list[State], steps: list[int], bad_step: int | None = None) -> list[Step]:
    out = []
    for k, ti in enumerate(steps):
        t = ts.transitions[ti]
        lane, below = lane_of(ts, states[k], ti)
        st = Step(k + 1, _context(lane, below),
                  t.label.action + privilege_note(ts, states[k], ti), t.label.line,
                  changes(ts, states[k], states[k + 1]), t.label.cpu,
                  kind=t.label.kind, actor=t.label.actor, target=t.label.target, lane=lane)
        if bad_step is not None and k == bad_step:
            st.note = "violation"
        out.append(st)
    return out


def unfinished_contexts(ts: TransitionSystem, s: State) -> list[str]:
    """For a deadlock: which contexts still had work to do."""
    layout: Layout = ts.meta
    out = []
    for cpu in layout.cpus:
        stack = frames(cpu, s)
        for name, pcv in cpu.threads:
            if s[pcv] == 0:  # finished
                continue
            out.append(f"cpu{cpu.index} {name}")
        out.extend(f"cpu{cpu.index} {f}" for f in stack[1:])
    return out


def stacks_text(ts: TransitionSystem, s: State) -> str:
    """Each CPU's frames, bottom first: `cpu0: thread app > irq 3 nic_isr`."""
    layout: Layout = ts.meta
    return "; ".join(f"cpu{c.index}: " + " > ".join(frames(c, s)) for c in layout.cpus)
