"""Requests from devices to CPUs, through the `Controller` protocol (controllers/protocol.py).

* device raise (the environment, no CPU): with budget left (`raises_left > 0`, decremented; for an
  `on_kick` device its unanswered kicks, `kicks > 0`, decremented: one raise per kick, after it), the
  controller's `raise_rule` bit: clear -> set; already set -> unchanged (an edge is lost:
  no_lost_irq). Level lines never lose a raise; a sharer of a wired-OR level line (P2) raises
  while its own assertion is clear, whatever the line;
* entries, per CPU: for every incarnation a controller owns, each INTA variant (`EntryRule.guards`)
  guarded by `IF = 1` and no STI shadow (X1) becomes a push (frames.entry_transitions) plus the controller's updates, if the
  CPU takes the request's devices (`on cpuK`); then the controllers' extra entries (spurious IR7/15,
  NMI - the latter ignores IF); a vector without a gate (X10) is taken by the controller and faults
  at the CPU (`lower_gateless`). A request_irq line's request is pending only while its descriptor
  is not already serving it;
* no_starvation: one `Request` per incarnation: pending as the controller says, delivered by the
  entry transitions collected on every CPU (plus NMI's own);
* statements: `kick DEV` (an `on_kick` device: `kicks := kicks + 1`; at KICK_CAP unanswered kicks
  the step is a tagged model bound, never a dropped kick), `ack DEV` (the controller's `ack`), `mask/unmask PIC.n` (IMR bit), `eoi` (the
  controller's `eoi_rule`: one variant per in-service level it may clear; with none in service the
  step changes nothing and breaks eoi_balanced; an EOI in a request_irq handler or a non-specific
  EOI for a spurious IR7 is always unbalanced, a specific EOI of level 7 there is harmless, P12).
"""

from __future__ import annotations

from collections.abc import Iterator

from ircheck.grammar import ast
from ircheck.grammar.diagnostics import Diagnostic
from ircheck.spec.context import Context, CpuState, Incarnation
from ircheck.spec.controllers.protocol import Controller, EntryRule, RaiseRule
from ircheck.spec.design import KICK_CAP, SPURIOUS, DeviceInfo
from ircheck.spec.frames import entry_transitions
from ircheck.spec.incarnations import Gateless
from ircheck.spec.model import Model
from ircheck.spec.prims.genirq import flow_not_serving
from ircheck.spec.prims.kstat import counted, note_handled
from ircheck.spec.step_kind import StepKind
from ircheck.spec.tags import acknowledge
from ircheck.spec.ts import BOUND, FALSE, TRUE, And, Bin, Bit, C, Eq, Expr, Label, Not, Or, Request, V


def maskable(cpu: CpuState) -> Expr:
    """X1: the CPU takes a maskable interrupt now: IF = 1 and no STI shadow."""
    on = Eq(V(cpu.IF), C(1))
    return on if cpu.sti_shadow is None else And(on, Eq(V(cpu.sti_shadow), C(0)))


def takes(devices: list[DeviceInfo], cpu: int) -> bool:
    """Whether `cpu` may take interrupts from these devices (`on cpuK` routes them)."""
    return not devices or any(dv.cpu is None or dv.cpu == cpu for dv in devices)


def cpu_entries(m: Model, cpu: CpuState) -> Iterator[tuple[int, Incarnation, EntryRule]]:
    """The incarnations `cpu` may be entered into by a controller's request, with their entry rules."""
    for k, inc in enumerate(m.incs):
        ctrl = m.controller_of(inc)
        if inc.spurious or ctrl is None:
            continue
        rule = ctrl.entry(inc, cpu.index)
        if rule.cpu0_only and cpu.index != 0:
            continue  # one local APIC: cpu0's
        if not takes(rule.sources, cpu.index):
            continue
        yield k, inc, rule


def deliverable(m: Model, cpu: CpuState) -> Expr:
    """Some interrupt could be taken by `cpu` now: the guard of one of its entries (maskable ones
    with IF = 1 and no STI shadow, X1; NMI and the extra entries as their controllers say)."""
    out = [And(maskable(cpu), guard) for _k, _inc, rule in cpu_entries(m, cpu) for guard, _ups in rule.guards]
    for c in m.controllers:
        out += [And(maskable(cpu), e.guard) if e.needs_if else e.guard
                for e in c.extra_entries(cpu.index, m.incs).entries]
    return Or(*out) if out else FALSE


def gate_irq(inc: Incarnation) -> int | None:
    """The Linux IRQ number of a gate incarnation's 8259A input (C1), None for any other way in."""
    if inc.spurious or inc.pic is None or inc.input is None or inc.pic.info.irq_base is None:
        return None
    return inc.pic.info.irq_base + inc.input


def lower_entries(m: Model, cpu: CpuState) -> None:
    b = m.b
    for k, inc, rule in cpu_entries(m, cpu):
        gate = "trap gate, IF stays 1" if inc.gate.trap else "interrupt gate, IF=0"
        fair = acknowledge(cpu.index, f"vector {inc.vector:#x}")
        first = len(b.trans)
        pending = rule.pending
        if inc.kind == "flow":
            pending = And(pending, flow_not_serving(m, inc))
        line = m.gate_line.get(inc.vector, 0)
        if inc.kind == "flow":
            assert inc.irq is not None
            line = inc.irq.actions[0].line
            gate = "genirq flow handler, IF=0"
        if inc.kind == "probe":  # C2: a probed line's flow runs the probe stub; its device's line
            line = min((dv.line for dv in rule.sources), default=0)
            gate = "genirq flow handler with no action: probe stub, IF=0"
        label = Label(f"cpu{cpu.index}", f"{rule.what} -> {inc.gate.handler} ({gate})", line, cpu.index, "entry",
                      StepKind.DELIVER, inc.gate.handler)
        irq = None if inc.kind != "gate" else gate_irq(inc)
        for guard, ctrl_ups in rule.guards:
            for g2, ups2, tags in counted(m, irq, cpu.index, And(maskable(cpu), guard), ctrl_ups, line):
                at = len(b.trans)
                entry_transitions(m, cpu, label, g2, ups2, inc, fair, tuple(tags))
                if not tags:
                    note_handled(m, at, irq, cpu.index)
        if inc.kind == "probe":
            continue  # a line no driver requested is left masked on purpose: no no_starvation request
        if k not in b.entries:
            b.entries[k] = []
            b.entry_requests[k] = (rule.req_name, pending, rule.req_msg, line)
        b.entries[k].extend(range(first, len(b.trans)))
    for j, g in enumerate(m.gateless):
        lower_gateless(m, cpu, len(m.incs) + j, g)
    for c in m.controllers:
        lower_extra_entries(m, cpu, c)


def lower_gateless(m: Model, cpu: CpuState, k: int, g: Gateless) -> None:
    """X10: the controller's INTA for a vector without a gate happens as for any vector (the request
    is taken: IRR -> ISR), and the CPU's delivery faults along the chain x86.deliver_hardware
    computed: the frame pushed is that of the gate the chain ends at (#NP's, or #DF's), or the CPU
    shuts down. The step breaks no_gp (and no_double_fault for #DF or a triple fault)."""
    b = m.b
    probe = g.probe()
    ctrl = m.controller_of(probe)
    assert ctrl is not None
    rule = ctrl.entry(probe, cpu.index)
    if (rule.cpu0_only and cpu.index != 0) or not takes(rule.sources, cpu.index):
        return
    dl = g.delivery
    story = "; ".join(dl.events)
    fair = acknowledge(cpu.index, f"vector {probe.vector:#x}")
    line = rule.sources[0].line if rule.sources else 0
    first = len(b.trans)
    if dl.vector is None:
        assert b.halted is not None
        label = Label(f"cpu{cpu.index}", f"{rule.what}: {story}", line, cpu.index, "entry", StepKind.HALT)
        for guard, ups in rule.guards:
            b.add(label, And(maskable(cpu), guard), {**ups, b.halted: C(1)}, cpu.group, dl.checks_broken(), (fair,))
    else:
        target = m.inc_for(dl.vector)
        gate = "trap gate, IF stays 1" if target.gate.trap else "interrupt gate, IF=0"
        label = Label(f"cpu{cpu.index}", f"{rule.what}: {story} -> {target.gate.handler} ({gate})", line, cpu.index,
                      "entry", StepKind.DELIVER, target.gate.handler)
        for guard, ups in rule.guards:
            entry_transitions(m, cpu, label, And(maskable(cpu), guard), ups, target, fair, dl.checks_broken())
    if k not in b.entries:
        b.entries[k] = []
        b.entry_requests[k] = (rule.req_name, rule.pending, rule.req_msg, line)
    b.entries[k].extend(range(first, len(b.trans)))


def lower_extra_entries(m: Model, cpu: CpuState, ctrl: Controller) -> None:
    b = m.b
    extra = ctrl.extra_entries(cpu.index, m.incs)
    first = len(b.trans)
    for e in extra.entries:
        guard = And(maskable(cpu), e.guard) if e.needs_if else e.guard
        if e.target is None:
            assert b.halted is not None
            b.add(e.label, guard, {**e.ups, b.halted: C(1)}, cpu.group, e.violates, (e.fair,))
        else:
            at = len(b.trans)
            entry_transitions(m, cpu, e.label, guard, e.ups, e.target, e.fair, e.violates)
            if e.target.spurious:
                note_handled(m, at, SPURIOUS, cpu.index)
    if extra.request is not None and m.enabled("no_starvation"):
        req_name, pending, msg = extra.request
        b.requests.append(Request("no_starvation", req_name, pending, frozenset(range(first, len(b.trans))), msg, 0))


def lower_requests(m: Model) -> None:
    """no_starvation: a raised request must be taken by some CPU's INTA."""
    if not m.enabled("no_starvation"):
        return
    for k, ids in sorted(m.b.entries.items()):
        req_name, pending, req_msg, line = m.b.entry_requests[k]
        m.b.requests.append(Request("no_starvation", req_name, pending, frozenset(ids), req_msg, line))


def lower_devices(m: Model) -> None:
    first = len(m.b.trans)
    for dev in m.d.devices.values():
        lower_device(m, dev)
    m.b.raises.extend(range(first, len(m.b.trans)))


def raise_enabled(m: Model, dev: DeviceInfo) -> Expr:
    """Some raise step of `dev` is enabled (lower_device's guards, the lost-edge one included)."""
    left = m.left[dev.name]
    have = TRUE if left is None else Bin(">", V(left), C(0))
    rule = next(c for c in m.controllers if c.owns_device(dev)).raise_rule(dev)
    if rule.own is not None:
        return And(have, Eq(V(rule.own), C(0)))
    return have if not dev.level else And(have, Not(Eq(Bit(V(rule.reg), rule.bit), C(1))))


def lower_device(m: Model, dev: DeviceInfo) -> None:
    left = m.left[dev.name]
    have = TRUE if left is None else Bin(">", V(left), C(0))
    ups: dict[int, Expr] = {} if left is None else {left: Bin("-", V(left), C(1))}
    rule = next(c for c in m.controllers if c.owns_device(dev)).raise_rule(dev)
    bit = Eq(Bit(V(rule.reg), rule.bit), C(1))
    label = Label(f"device {dev.name}", f"raise {rule.where}{rule.src}", dev.line, None, "device", StepKind.RAISE,
                  dev.name)
    ups[rule.reg] = Bin("|", V(rule.reg), C(1 << rule.bit))
    if rule.own is not None:
        # a sharer of a wired-OR level line asserts whenever it is not asserting itself (P2)
        assert rule.drivers is not None
        m.b.add(label, And(have, Eq(V(rule.own), C(0))),
                {**ups, **rule.sends, rule.own: C(1), rule.drivers: Bin("+", V(rule.drivers), C(1))}, None)
        return
    open_ = TRUE if rule.masked is None else Not(rule.masked)
    m.b.add(label, And(have, open_, Not(bit)), {**ups, **rule.sends}, None)
    if not dev.level:
        again = {k: e for k, e in ups.items() if k != rule.reg}
        m.b.add(Label(f"device {dev.name}", f"raise {rule.where} again{rule.src}: already pending", dev.line, None,
                      "device", StepKind.RAISE, dev.name), And(have, open_, bit), again, None,
                (("no_lost_irq", rule.lost),))
    if rule.masked is not None:
        lower_masked_raise(m, dev, rule, have, {k: e for k, e in ups.items() if k != rule.reg})


def lower_masked_raise(m: Model, dev: DeviceInfo, rule: RaiseRule, have: Expr, budget: dict[int, Expr]) -> None:
    """A raise while the source is masked (A1, A3): an MSI-X source latches it in its pending bit (lost
    when that is already set); an edge pin loses it."""
    assert rule.masked is not None
    held = Label(f"device {dev.name}", f"raise {rule.where}{rule.src} while masked", dev.line, None, "device",
                 StepKind.RAISE, dev.name)
    if rule.pend is not None:
        m.b.add(held, And(have, rule.masked, Eq(V(rule.pend), C(0))), {**budget, rule.pend: C(1)}, None)
        m.b.add(held, And(have, rule.masked, Eq(V(rule.pend), C(1))), budget, None, (("no_lost_irq", rule.masked_lost),))
    else:
        m.b.add(held, And(have, rule.masked), budget, None, (("no_lost_irq", rule.masked_lost),))


# -- statements on devices and controllers
def lower_kick(m: Model, ctx: Context, st: ast.Simple) -> None:
    """`kick DEV`: one more raise of DEV is allowed, at any later moment (the environment's raise
    transition consumes it). With KICK_CAP kicks unanswered the step runs into the model bound."""
    assert isinstance(st.arg, ast.Name)
    kicks = m.left[st.arg.name]
    assert kicks is not None
    label = ctx.label(ctx.node.text)
    below = Bin("<", V(kicks), C(KICK_CAP))
    m.b.add(label, And(ctx.here, below), {**ctx.nxt, kicks: Bin("+", V(kicks), C(1))}, ctx.group)
    m.b.add(label, And(ctx.here, Not(below)), {}, ctx.group,
            ((BOUND, f"`kick {st.arg.name}` with {KICK_CAP} kicks of {st.arg.name} not yet answered by a raise: "
                     f"the model bound of {KICK_CAP} outstanding kicks per device"),))


def lower_ack(m: Model, ctx: Context, st: ast.Simple) -> None:
    assert isinstance(st.arg, ast.Name)
    dev = m.d.devices[st.arg.name]
    ctrl = next(c for c in m.controllers if c.owns_device(dev))
    m.b.add(ctx.label(ctx.node.text), ctx.here, {**ctx.nxt, **ctrl.ack(dev)}, ctx.group)


def lower_mask(m: Model, ctx: Context, st: ast.Simple) -> None:
    """mask/unmask PIC.n: IMR[n] := 1 / 0."""
    arg = st.arg
    assert isinstance(arg, ast.LineRef)
    imr = m.pics[arg.pic].imr
    assert imr is not None
    bit = 1 << arg.input
    ups = dict(ctx.nxt)
    ups[imr] = Bin("|", V(imr), C(bit)) if st.op == "mask" else Bin("&", V(imr), C(0xFF ^ bit))
    m.b.add(ctx.label(ctx.node.text), ctx.here, ups, ctx.group)


def eoi_target(m: Model, st: ast.Simple, inc: Incarnation | None) -> tuple[Controller, str | None, int | None] | None:
    arg = st.arg
    if isinstance(arg, ast.LineRef):
        return m.bank, arg.pic, arg.input
    if isinstance(arg, ast.Name):
        named = next((c for c in m.controllers if arg.name in c.eoi_chips()), None)
        return None if named is None else (named, arg.name, None)
    if inc is not None:
        ctrl = m.controller_of(inc)
        if ctrl is not None:
            return ctrl, ctrl.chip_of(inc), None
    chips = [(c, chip) for c in m.controllers for chip in c.eoi_chips()]
    if len(chips) == 1:
        return chips[0][0], chips[0][1], None
    m.b.diags.append(Diagnostic("IRQ304", "plain `eoi` in a handler that no controller's interrupt enters: "
                                "which controller?", m.d.path, st.span.line, st.span.column,
                                "write `eoi master` or `eoi master.3`"))
    return None


def lower_eoi(m: Model, ctx: Context, st: ast.Simple) -> None:
    inc, here, g = ctx.inc, ctx.here, ctx.group
    label, ups = ctx.label(ctx.node.text), dict(ctx.nxt)
    target = eoi_target(m, st, inc)
    if target is None:
        return
    ctrl, chip, specific = target
    rule = ctrl.eoi_rule(chip, specific, ctx.cpu.index)
    extra: list[tuple[str, str]] = []
    if inc is not None and inc.kind == "flow":
        extra.append(("eoi_balanced", f"EOI to {rule.who} from a request_irq handler: the flow handler already "
                                      "acked and EOId this IRQ (L1), so this EOI ends some other level's service "
                                      "early (or none)"))
    spurious_pic = inc.pic if inc is not None and inc.spurious and rule.chip is inc.pic else None
    spurious_own = spurious_pic is not None
    if spurious_pic is not None and specific is None:
        extra.append(("eoi_balanced", f"EOI to {spurious_pic.name} from the handler of a spurious IRQ7: ISR[7] was never "
                                      "set, so this EOI ends some other level's service early (or none)"))
    if rule.auto is not None:
        m.b.add(label, here, ups, g, [("eoi_balanced", rule.auto)] + extra)
        return
    any_busy: list[Expr] = []
    for guard, effect, _bit in rule.variants:
        m.b.add(label, And(here, guard), {**ups, **effect}, g, extra)
        any_busy.append(guard)
    # P12: a specific EOI of level 7 from the spurious IR7 entry finds ISR[7] clear and is harmless
    harmless = spurious_own and specific == 7
    m.b.add(label, And(here, Not(Or(*any_busy))), ups, g, extra + ([] if harmless else [("eoi_balanced", rule.nothing)]))
