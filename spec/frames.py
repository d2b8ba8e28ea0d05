"""Frames on one CPU (X1, X2, X3-X8): entering, leaving, and the synchronous events.

State per CPU (`CpuState`, passed explicitly): `IF`, `depth` (frames above the task), `pc` (the top
frame's location), `saved_pc[k]` (the pc of the frame at depth k+1 when something is above it),
`saved_IF[k]` (the IF that the IRET of the frame at depth k+1 restores).

* push at depth d (`push`): `depth := d+1`, `saved_IF[d] := IF`, `pc := entry`; for d >= 1 the
  interrupted frame's pc (or its next pc, for a synchronous event) goes to `saved_pc[d-1]`; an
  interrupt gate sets `IF := 0`, a trap gate keeps it. Everything else is framed.
* an asynchronous entry (`entry_transitions`): one transition per depth d < maxdepth with guard
  `... and depth = d`; at `depth = maxdepth` the step changes nothing and is tagged as the model
  bound (never a silent clamp).
* IRET at depth d (`lower_iret`): `IF := saved_IF[d-1]`, `saved_IF[d-1] := 0`, `depth := d-1`,
  `pc := saved_pc[d-2]` (0 at d = 1) and that slot cleared (unused slots stay 0), plus what the
  controllers do at IRET (NMI unblocks) and a tasklet's `running := 0`. Variants tag eoi_balanced
  while the frame's own in-service bits are set (the controller's `iret_checks`).
* `int n` / `fault v`: x86.py's static chain: a push of the final handler (guard: the CPU is at the
  statement), or `halted := 1` on a triple fault; the chain's broken checks tag the step.
"""

from __future__ import annotations

from ircheck.grammar import ast
from ircheck.spec.context import Context, CpuState, Incarnation
from ircheck.spec.model import Model
from ircheck.spec.step_kind import StepKind
from ircheck.spec.ts import BOUND, And, C, Eq, Expr, Label, Not, V
from ircheck.spec.x86 import deliver_exception, deliver_int, name

Tags = tuple[tuple[str, str], ...]


def running(cpu: CpuState, ti: int) -> Expr:
    """Task ti is the one on its CPU (no frame above it)."""
    here = Eq(V(cpu.depth), C(0))
    return here if cpu.cur is None else And(here, Eq(V(cpu.cur), C(ti)))


def push(cpu: CpuState, d: int, inc: Incarnation, ret: dict[int, Expr] | None) -> dict[int, Expr]:
    """Updates that put a frame of `inc` on top at depth d+1 (X1/X2: the gate type decides IF).

    `ret` says where the interrupted code resumes: None for an asynchronous interrupt (it resumes
    where it is), else the updates that move a thread's pc past the instruction, or {pc: next}
    for a handler frame, whose next pc is then saved below the new frame.
    """
    ups: dict[int, Expr] = {cpu.depth: C(d + 1), cpu.saved_if[d]: V(cpu.IF), cpu.pc: C(inc.base + inc.body.entry)}
    if d >= 1:
        ups[cpu.saved_pc[d - 1]] = ret.get(cpu.pc, V(cpu.pc)) if ret else V(cpu.pc)
    elif ret:
        ups.update(ret)
        ups[cpu.pc] = C(inc.base + inc.body.entry)
    if not inc.gate.trap:
        ups[cpu.IF] = C(0)
    return ups


def bound_violation(m: Model) -> Tags:
    return ((BOUND, f"interrupt nesting reached the model bound of {m.maxdepth} frames (an interrupt "
                    "storm?); `check max_nesting N` turns this into a verdict"),)


def entry_transitions(m: Model, cpu: CpuState, label: Label, guard: Expr, ctrl_ups: dict[int, Expr],
                      inc: Incarnation, fair: str, violates: Tags = ()) -> None:
    """An asynchronous entry into `inc` from any depth (one transition per depth, the last one a bound)."""
    for d in range(m.maxdepth + 1):
        g = And(guard, Eq(V(cpu.depth), C(d)))
        if d == m.maxdepth:
            m.b.add(label, g, {}, cpu.group, bound_violation(m), (fair,))
            continue
        ups = push(cpu, d, inc, None)
        ups.update(ctrl_ups)
        m.b.add(label, g, ups, cpu.group, violates, (fair,))


def frame_exit_updates(m: Model, inc: Incarnation) -> dict[int, Expr]:
    """A tasklet's frame ends its run: `NAME.running := 0` (D2); a timer's or hrtimer's callback
    returns: `NAME.running := 0` (R7, the timer base's `running_timer` cleared)."""
    if inc.kind == "tasklet":
        assert inc.code is not None
        return {m.tasklet[inc.code.name][1]: C(0)}
    if inc.kind in ("timer", "hrtimer"):
        assert inc.code is not None
        return {m.timer[inc.code.name][1]: C(0)}
    return {}


def lower_iret(m: Model, ctx: Context) -> None:
    inc, cpu = ctx.inc, ctx.cpu
    assert inc is not None
    label = ctx.label(ctx.node.text)
    ctrl = m.controller_of(inc)
    checks = [] if ctrl is None else ctrl.iret_checks(inc, cpu.index)
    variants: list[tuple[Expr, list[tuple[str, str]]]] = [(And(*[Not(c) for c, _m in checks]), [])]
    for k, (c, msg) in enumerate(checks):
        variants.append((And(c, *[Not(c2) for c2, _m in checks[:k]]), [("eoi_balanced", msg)]))
    for d in range(1, m.maxdepth + 1):
        ups: dict[int, Expr] = {cpu.IF: V(cpu.saved_if[d - 1]), cpu.saved_if[d - 1]: C(0), cpu.depth: C(d - 1)}
        if d >= 2:
            ups[cpu.pc] = V(cpu.saved_pc[d - 2])
            ups[cpu.saved_pc[d - 2]] = C(0)
        else:
            ups[cpu.pc] = C(0)
        for c2 in m.controllers:
            ups.update(c2.iret_updates(cpu.index))
        ups.update(frame_exit_updates(m, inc))
        g = And(ctx.here, Eq(V(cpu.depth), C(d)))
        for guard, viol in variants:
            m.b.add(label, And(g, guard), ups, cpu.group, viol)


def lower_sync(m: Model, ctx: Context, st: ast.Simple) -> None:
    """int n / fault v (X3-X6, X8)."""
    assert isinstance(st.arg, ast.Num)
    cpu, here, lab = ctx.cpu, ctx.here, ctx.label
    v = st.arg.value
    dl = deliver_int(v, ctx.cpl, m.gates) if st.op == "int" else deliver_exception(v, m.gates)
    head = f"int {v:#x}" if st.op == "int" else f"fault {v}: {name(v)}"
    story = "; ".join(dl.events)
    if dl.shutdown:
        assert m.b.halted is not None
        text = f"{head}: {story}" if story else head
        m.b.add(lab(text, "halt", StepKind.HALT), here, {m.b.halted: C(1)}, cpu.group, dl.checks_broken())
        return
    assert dl.vector is not None
    target = m.inc_for(dl.vector)
    gate = "trap gate" if target.gate.trap else "interrupt gate, IF=0"
    ec = ", error code pushed" if dl.error_code else ""
    text = f"{head} -> {name(dl.vector)} -> {target.gate.handler} ({gate}{ec})"
    if story:
        text = f"{head}: {story} -> {target.gate.handler} ({gate}{ec})"
    for d in range(m.maxdepth + 1):
        g = And(here, Eq(V(cpu.depth), C(d)))
        if d == m.maxdepth:
            m.b.add(lab(text, "sync", target=target.gate.handler), g, {}, cpu.group, bound_violation(m))
            continue
        m.b.add(lab(text, "sync", target=target.gate.handler), g, push(cpu, d, target, dict(ctx.nxt)), cpu.group, dl.checks_broken())
