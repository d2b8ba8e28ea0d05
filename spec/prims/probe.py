"""Kernel-assisted IRQ probing (C2: kernel/irq/autoprobe.c `probe_irq_on`, `probe_irq_off`;
kernel/irq/chip.c `handle_level_irq`, which clears IRQS_WAITING whenever the flow runs).

State: per probed line n (`design.probe_lines`: an 8259A line or I/O APIC pin with a device and no action)
`irqN.probe` in off | waiting (IRQS_AUTODETECT and IRQS_WAITING) | fired (IRQS_AUTODETECT, WAITING
cleared); the line is masked while no driver requested it. Guarded commands at `here`, pc moving on:

* `probe_irq_on`, first step: every probed line `probe := waiting` and unmasked (`startup`);
* `probe_irq_on`, its wait (`probe_wait`): guard D6's "waited long enough" (`delay.waited_long_enough`:
  nothing deliverable to this CPU, no kicked device it takes can still answer); it sleeps (msleep, D4);
  every line that fired is dropped as spurious: `probe := off` and masked (`shutdown`);
* the probe stub (a probed line's flow handler with no action, entered like any interrupt): the chip's
  mask+ack, `probe := fired` if it was waiting; the line stays masked;
* `probe_irq_off P`: every probed line `probe := off` and masked; what it returns, by the lines that
  fired: the one that fired, 0 if none, minus the first (lowest) if several. One transition per
  outcome; every outcome but DEV's IRQ (P's device, `probe P for DEV`) is tagged `probe_irq`.
"""

from __future__ import annotations

from ircheck.grammar import ast
from ircheck.spec.context import Context
from ircheck.spec.controllers.ioapic import IoApicController
from ircheck.spec.design import device_irq, gsi_pin, irq_devices, isa_line
from ircheck.spec.model import Model
from ircheck.spec.prims.delay import waited_long_enough
from ircheck.spec.prims.waitq import sleep_variants
from ircheck.spec.ts import FALSE, And, Bin, C, Eq, Expr, Ite, Label, Not, Or, V

OFF, WAITING, FIRED = 0, 1, 2


def _imr_updates(m: Model, lines: list[int], new_bit: dict[int, Expr] | None, unmask: bool = False) -> dict[int, Expr]:
    """The mask updates for `lines`: all unmasked (`unmask`), all masked (`new_bit` None), or each masked
    when its condition in `new_bit` holds - an 8259A line's IMR bit, an I/O APIC pin's mask bit (an
    unmasked pin whose level line is high sends: IoApicController.pin_masks)."""
    acc: dict[int, Expr] = {}
    pins: dict[tuple[str, int], Expr] = {}
    for n in lines:
        where = isa_line(m.d.pics, n)
        if where is None:
            pin = gsi_pin(m.d, n)
            assert pin is not None
            keep = V(_ioapic(m).masked[pin])
            pins[pin] = C(0) if unmask else C(1) if new_bit is None else Ite(new_bit[n], C(1), keep)
            continue
        imr = m.pics[where[0]].imr
        assert imr is not None
        bit = 1 << where[1]
        cur = acc.get(imr, V(imr))
        if unmask:
            acc[imr] = Bin("&", cur, C(0xFF ^ bit))
        elif new_bit is None:
            acc[imr] = Bin("|", cur, C(bit))
        else:
            acc[imr] = Bin("|", cur, Ite(new_bit[n], C(bit), C(0)))
    if pins:
        acc.update(_ioapic(m).pin_masks(sorted(pins), pins))
    return acc


def _ioapic(m: Model) -> IoApicController:
    return next(c for c in m.controllers if isinstance(c, IoApicController))


def lower_probe_on(m: Model, ctx: Context, st: ast.Simple) -> None:
    """probe_irq_on's first step: start every probed line up, IRQS_AUTODETECT | IRQS_WAITING."""
    lines = sorted(m.probe)
    ups = {**ctx.nxt, **{m.probe[n]: C(WAITING) for n in lines}, **_imr_updates(m, lines, None, unmask=True)}
    m.b.add(ctx.label(ctx.node.text), ctx.here, ups, ctx.group)


def lower_probe_wait(m: Model, ctx: Context) -> None:
    """probe_irq_on's msleep(100) (D6, D4), then the lines that fired are dropped as spurious."""
    lines = sorted(m.probe)
    fired = {n: Eq(V(m.probe[n]), C(FIRED)) for n in lines}
    ups = {**ctx.nxt, **{m.probe[n]: Ite(fired[n], C(OFF), V(m.probe[n])) for n in lines},
           **_imr_updates(m, lines, fired)}
    done = waited_long_enough(m, ctx)
    for guard, tags in sleep_variants(m, ctx, "probe_irq_on (msleep)"):
        m.b.add(ctx.label(ctx.node.text), And(ctx.here, done, guard), ups, ctx.group, tags)


def lower_probe_stub(m: Model, ctx: Context) -> None:
    """A probed line's flow handler with no action: IRQS_WAITING cleared (waiting -> fired), and the
    line masked - an 8259A line's mask+ack (handle_level_irq); an I/O APIC edge pin's mask_ack_irq
    (handle_edge_irq: mask, local APIC EOI); a level pin's mask then EOI (handle_fasteoi_irq's
    `!action` path: mask_irq, then cond_eoi_irq, whose EOI broadcast clears Remote IRR)."""
    inc = ctx.inc
    assert inc is not None and inc.input is not None
    if inc.pic is not None:
        assert inc.pic.info.irq_base is not None
        n = inc.pic.info.irq_base + inc.input
        v = m.probe[n]
        ups = {**ctx.goto(ctx.node.next), **m.bank.line_ack(inc.pic.name, inc.input, ctx.cpu.index),
               **m.bank.line_mask(inc.pic.name, inc.input), v: Ite(Eq(V(v), C(WAITING)), C(FIRED), V(v))}
        m.b.add(ctx.label(ctx.node.text), ctx.here, ups, ctx.group)
        return
    io = _ioapic(m)
    dev = next(dv for dv in io.sources if dv.kind == "ioapic" and io.vec[dv.name] == inc.vector)
    gsi = device_irq(m.d, dev)
    assert gsi is not None
    v = m.probe[gsi]
    base = {**ctx.goto(ctx.node.next), v: Ite(Eq(V(v), C(WAITING)), C(FIRED), V(v))}
    if not dev.level:
        ups = {**base, **io.line_mask(dev.pic, dev.input), **io.line_ack(dev.pic, dev.input, ctx.cpu.index)}
        m.b.add(ctx.label(ctx.node.text), ctx.here, ups, ctx.group)
        return
    for guard, eoi in io.line_eoi(dev.pic, dev.input, ctx.cpu.index, FALSE, mask=True):
        m.b.add(ctx.label(ctx.node.text), And(ctx.here, guard), {**base, **eoi}, ctx.group)


def _who(m: Model, n: int) -> str:
    devs = irq_devices(m.d, n)
    return f"IRQ {n}" + (f" ({', '.join(dv.name for dv in devs)})" if devs else "")


def lower_probe_off(m: Model, ctx: Context, st: ast.Simple) -> None:
    """probe_irq_off P: shut every probed line down and return what fired; all but P's device's IRQ
    break `probe_irq`."""
    assert isinstance(st.arg, ast.Name)
    probe = m.d.probes[st.arg.name]
    dev = m.d.devices[probe.device]
    want = device_irq(m.d, dev)
    lines = sorted(m.probe)
    fired = {n: Eq(V(m.probe[n]), C(FIRED)) for n in lines}
    ups = {**ctx.nxt, **{m.probe[n]: C(OFF) for n in lines}, **_imr_updates(m, lines, None)}
    label = ctx.label(ctx.node.text)
    enabled = m.enabled("probe_irq")

    def add(text: str, guard: Expr, got: int) -> None:
        lab = Label(label.actor, f"{label.action}: returns {got} ({text})", label.line, label.cpu, label.context,
                    label.kind, label.target)
        bad = [] if got == want or not enabled else [
            ("probe_irq", f"probe_irq_off({probe.name}) returns {got}, not {dev.name}'s IRQ {want}: {text} (C2)")]
        m.b.add(lab, And(ctx.here, guard), ups, ctx.group, bad)

    add("no probed line fired", And(*[Not(f) for f in fired.values()]), 0)
    for n in lines:
        others = [fired[k] for k in lines if k != n]
        add(f"only {_who(m, n)} fired", And(fired[n], *[Not(f) for f in others]), n)
        lower = [fired[k] for k in lines if k < n]
        higher = [fired[k] for k in lines if k > n]
        if higher:
            add(f"{_who(m, n)} and a higher probed line fired: several candidates, minus the first",
                And(fired[n], *[Not(f) for f in lower], Or(*higher)), -n)
