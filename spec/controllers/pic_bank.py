"""The 8259A controllers of a design as one `Controller` (P1-P12): masters, slaves and the cascade.

Variables, per chip in declaration order: `NAME.IRR`, `NAME.ISR` (absent under auto-EOI),
`NAME.IMR` (only if a statement masks a line), `NAME.priority` (only under rotation).

* raise of input n: guard `IRR[n] = 0`, update `IRR[n] := 1`; with `IRR[n] = 1` nothing but the
  budget changes and an edge is lost (no_lost_irq);
* INTA of input n (`deliver_guards`): one variant per priority state of the chip (and of its
  master, for a slave): guard "n is the highest unmasked request with no in-service level at or
  above it" (a slave's INT drives its master's cascade input, P11), updates `Pic8259.inta`
  (edge: IRR[n] := 0; ISR[n] := 1, or rotation under auto-EOI), plus the master's INTA of the
  cascade input, which is level-like; everything else is framed;
* spurious IR7/15 (P12, cpu0): the request falls before INTA and no other input of the chip is
  deliverable instead: IRR[n] := 0 and the chip delivers its IR7 vector with no ISR bit set
  (through that vector's gate, or - without one - x86.deliver_hardware's #NP chain, X10);
* EOI: non-specific clears the highest in-service level (P7, rotating under P10), specific clears
  ISR[k]; with nothing to clear the step changes nothing and breaks eoi_balanced;
* IRET of a gate frame entered through input n breaks eoi_balanced while ISR[n] is set, and, for
  a slave, while the master's cascade level is set and nothing else on the slave is in service.
"""

from __future__ import annotations

from collections.abc import Sequence

from ircheck.spec.context import Incarnation
from ircheck.spec.controllers.pic8259 import Pic8259
from ircheck.spec.controllers.protocol import (
    EntryRule,
    EoiRule,
    ExtraEntries,
    ExtraEntry,
    Guards,
    RaiseRule,
    Resend,
    Way,
    wired_or_ack,
)
from ircheck.spec.design import Design, DeviceInfo, irq_name, irq_pin
from ircheck.spec.step_kind import StepKind
from ircheck.spec.tags import acknowledge
from ircheck.spec.ts import TRUE, And, Bin, Bit, C, Eq, Expr, Ite, Label, Not, Or, V
from ircheck.spec.x86 import GateInfo, deliver_hardware


def wired_or_sharers(d: Design) -> list[DeviceInfo]:
    """The devices of level lines - 8259A inputs and I/O APIC pins - that two or more devices share (P2:
    the line is their wired OR)."""
    lines: dict[tuple[str, int], list[DeviceInfo]] = {}
    for dev in d.devices.values():
        if dev.kind in ("pic", "ioapic") and dev.level:
            lines.setdefault((dev.pic, dev.input), []).append(dev)
    return [dev for devs in lines.values() if len(devs) > 1 for dev in devs]


class PicBank:
    def __init__(self, d: Design, pics: dict[str, Pic8259], asserting: dict[str, int],
                 drivers: dict[tuple[str, int], int]) -> None:
        """`asserting`: per sharer of a wired-OR level line (`wired_or_sharers`), its bool variable
        `DEV.asserting` (the device drives the line); `drivers`: per such line (chip, input), how many
        of its sharers assert it (`CHIP.N.drivers`, the sum of their `asserting` bits, as QEMU's
        pci_change_irq_level counts them). The count is a function of the bits, so it adds no state;
        it keeps each `ack` a constant-size command instead of an OR over every other sharer (which
        made the generated code quadratic in the sharers)."""
        self.d = d
        self.gates = {v: GateInfo(g.handler, g.trap, g.dpl) for v, g in d.gates.items()}
        self.pics = pics
        self.asserting = asserting
        self.drivers = drivers
        # which master input each slave drives, and the inputs that have devices
        self.slaves: dict[str, dict[int, Pic8259]] = {}
        for p in pics.values():
            if p.info.cascade:
                m, c = p.info.cascade
                self.slaves.setdefault(m, {})[c] = p
        self.inputs: dict[str, list[int]] = {nm: sorted({dev.input for dev in d.devices.values()
                                                        if dev.kind == "pic" and dev.pic == nm})
                                             for nm in pics}

    # -- request logic with the cascade
    def slave_int(self, slave: Pic8259) -> Expr:
        return slave.int_line(self.inputs[slave.name], self.req(slave, {}))

    def req(self, pic: Pic8259, override: dict[int, Expr] | None = None) -> Expr:
        lines = {c: self.slave_int(s) for c, s in self.slaves.get(pic.name, {}).items()}
        if override:
            lines.update(override)
        return pic.req(lines)

    def is_level(self, pic: Pic8259, n: int) -> bool:
        return any(dev.level for dev in self.d.devices.values()
                   if dev.kind == "pic" and dev.pic == pic.name and dev.input == n)

    def through_master(self, pic: Pic8259, mine: Expr, ups: dict[int, Expr]) -> Guards:
        """`mine` (the chip's own variant) with, for a slave, every variant of the master's INTA
        of the cascade input (level-like: INT stays while pending)."""
        cascade = pic.info.cascade
        if cascade is None:
            return [(mine, ups)]
        master, c = self.pics[cascade[0]], cascade[1]
        out: Guards = []
        for mg, mp in master.variants():
            up = dict(ups)
            up.update(master.inta(c, True))
            out.append((And(mine, mg, master.deliverable(c, mp, self.req(master, {c: TRUE}), c)), up))
        return out

    def deliver_guards(self, pic: Pic8259, n: int) -> Guards:
        """(guard, controller updates) for the 8259A delivering input n, through the master if a slave."""
        level = self.is_level(pic, n)
        out: Guards = []
        for g, p in pic.variants():
            out += self.through_master(pic, And(g, pic.deliverable(n, p, self.req(pic))), pic.inta(n, level))
        return out

    # -- the protocol
    def ways_in(self, dev: DeviceInfo) -> list[Way]:
        pic = self.pics[dev.pic]
        out = [Way(pic.info.base + dev.input, False, pic, dev.input)]
        if dev.may_drop:
            out.append(Way(pic.info.base + 7, True, pic, 7))
        return out

    def owns_device(self, dev: DeviceInfo) -> bool:
        return dev.kind == "pic"

    def raise_rule(self, dev: DeviceInfo) -> RaiseRule:
        kind = "level" if dev.level else "edge"
        info = self.pics[dev.pic].info
        where, what = irq_name(info, dev.input, pin=False), f"{dev.pic}.IRR[{dev.input}]"
        return RaiseRule(self.pics[dev.pic].irr, dev.input, where, irq_pin(info, dev.input, kind),
                         f"{where} edge from {dev.name} arrived while {what} was still set: the request is lost",
                         self.asserting.get(dev.name), self.drivers.get((dev.pic, dev.input)))

    def owns(self, inc: Incarnation) -> bool:
        return inc.pic is not None

    def entry(self, inc: Incarnation, cpu: int) -> EntryRule:
        assert inc.pic is not None and inc.input is not None
        pic, n = inc.pic, inc.input
        srcs = [dv for dv in self.d.devices.values() if dv.kind == "pic" and dv.pic == pic.name and dv.input == n]
        where = irq_name(pic.info, n, pin=not self.d.one_pic)
        pending = Eq(Bit(V(pic.irr), n), C(1))
        if self.is_level(pic, n) and pic.isr is not None:
            pending = And(pending, Eq(Bit(V(pic.isr), n), C(0)))
        src = ", ".join(dv.name for dv in srcs)
        return EntryRule(self.deliver_guards(pic, n), f"take {where}: INTA, vector {inc.vector:#x}", srcs,
                         pending, irq_name(pic.info, n, src),
                         f"{irq_name(pic.info, n, src)} is raised but never delivered: the request waits for ever in "
                         f"{pic.name}.IRR[{n}]")

    def extra_entries(self, cpu: int, incs: Sequence[Incarnation]) -> ExtraEntries:
        """P12 (cpu0): a request that falls before INTA makes the 8259A deliver IR7 without setting ISR[7]."""
        out: list[ExtraEntry] = []
        if cpu != 0:
            return ExtraEntries(out)
        for dev in self.d.devices.values():
            if dev.kind != "pic" or not dev.may_drop:
                continue
            pic = self.pics[dev.pic]
            n = dev.input
            vec = pic.info.base + 7
            spur = next((i for i in incs if i.spurious and i.pic is pic), None)
            # X10: no gate for the IR7 vector: the CPU faults along x86.deliver_hardware's chain
            dl = None if spur is not None else deliver_hardware(vec, self.gates)
            target = spur if dl is None else \
                None if dl.vector is None else next(i for i in incs if i.vector == dl.vector and not i.spurious)
            into = "" if target is None else f" -> {target.gate.handler}"
            if dl is not None:
                into = ": " + "; ".join(dl.events) + into
            drop = {pic.irr: Bin("&", V(pic.irr), C(0xFF ^ (1 << n)))}
            seven, dropped = irq_name(pic.info, 7, pin=False), irq_name(pic.info, n, pin=not self.d.one_pic)
            for g, p in pic.variants():
                mine = And(g, pic.deliverable(n, p, self.req(pic)), Not(self.other_deliverable(pic, n, p)))
                for guard, ups in self.through_master(pic, mine, drop):
                    label = Label(f"cpu{cpu}", f"{dev.name} drops {dropped} before INTA: spurious {seven}, vector "
                                  f"{vec:#x}{into}, {pic.name}.ISR[7] not set", dev.line, cpu, "entry",
                                  StepKind.SPURIOUS if target is not None else StepKind.HALT,
                                  target.gate.handler if target is not None else "")
                    out.append(ExtraEntry(label, guard, dict(ups), target, acknowledge(cpu, f"vector {vec:#x}"),
                                          () if dl is None else dl.checks_broken()))
        return ExtraEntries(out)

    def other_deliverable(self, pic: Pic8259, n: int, p: int) -> Expr:
        """P12: with input n's request gone, some other input of `pic` (a device's or a slave's cascade
        input) is deliverable, so INTA acknowledges it instead of giving the spurious IR7."""
        req = Bin("&", self.req(pic), C(0xFF ^ (1 << n)))
        cascades = self.slaves.get(pic.name, {})
        others = sorted((set(self.inputs[pic.name]) | set(cascades)) - {n})
        return Or(*[pic.deliverable(i, p, req, i if i in cascades else None) for i in others])

    def eoi_chips(self) -> list[str]:
        return list(self.pics)

    def chip_of(self, inc: Incarnation) -> str | None:
        return inc.pic.name if inc.pic is not None else None

    def eoi_rule(self, chip: str | None, specific: int | None, cpu: int) -> EoiRule:
        assert chip is not None
        ctrl = self.pics[chip]
        if ctrl.isr is None:
            return EoiRule(ctrl, ctrl.name, [], "", f"EOI to {ctrl.name}, which runs in auto-EOI mode: "
                                                    "nothing is ever in service")
        if specific is None:
            nothing = (f"non-specific EOI to {ctrl.name} with no unmasked level in service (special mask mode "
                       "skips masked in-service levels)" if ctrl.info.mode == "special_mask"
                       else f"non-specific EOI to {ctrl.name} with nothing in service (ISR = 0)")
            return EoiRule(ctrl, ctrl.name, ctrl.eoi_nonspecific(), nothing)
        bit = Eq(Bit(V(ctrl.isr), specific), C(1))
        return EoiRule(ctrl, ctrl.name, [(bit, {ctrl.isr: Bin("&", V(ctrl.isr), C(0xFF ^ (1 << specific)))}, specific)],
                       f"specific EOI for {ctrl.name}.{specific} while ISR[{specific}] is clear")

    def in_service(self, inc: Incarnation, cpu: int) -> Expr:
        assert inc.pic is not None and inc.input is not None
        return inc.pic.in_service(inc.input)

    def iret_checks(self, inc: Incarnation, cpu: int) -> list[tuple[Expr, str]]:
        out: list[tuple[Expr, str]] = []
        h = inc.gate.handler
        pic = inc.pic
        if inc.kind != "gate":
            return out  # the flow handler acked the controller on entry
        if pic is not None and inc.input is not None and not inc.spurious and pic.isr is not None:
            out.append((pic.in_service(inc.input), f"{h} returns (IRET) with {irq_name(pic.info, inc.input, pin=False)} still in service on "
                                                   f"{pic.name}: no EOI was sent"))
        if pic is not None and pic.info.cascade is not None:
            master = self.pics[pic.info.cascade[0]]
            c = pic.info.cascade[1]
            if master.isr is not None:
                # the master's cascade level is this frame's to end only when nothing else on the slave is in
                # service (special fully nested mode lets slave interrupts nest under one master level)
                idle = TRUE if pic.isr is None else Eq(V(pic.isr), C(0))
                out.append((And(master.in_service(c), idle),
                            f"{h} returns (IRET) with {master.name}.ISR[{c}] still set: a slave "
                            f"interrupt needs an EOI to {pic.name} and one to {master.name}"))
        return out

    def iret_updates(self, cpu: int) -> dict[int, Expr]:
        return {}

    def ack(self, dev: DeviceInfo) -> dict[int, Expr]:
        """`ack DEV` on a level line quiets DEV: IRR[n] := 0 (an edge line has nothing to drop). On a
        wired-OR line (P2) DEV.asserting := 0 and the line stays high while another sharer asserts:
        drivers := drivers - DEV.asserting, IRR[n] := (that new count > 0)."""
        if not dev.level:
            return {}
        irr = self.pics[dev.pic].irr
        return wired_or_ack(self.asserting.get(dev.name), self.drivers.get((dev.pic, dev.input)), irr,
                            Bin("|", V(irr), C(1 << dev.input)), Bin("&", V(irr), C(0xFF ^ (1 << dev.input))))

    # -- genirq's chip operations on a request_irq line (IMR, the ack as a specific EOI, IRR resend)
    def line_mask(self, chip: str, n: int) -> dict[int, Expr]:
        """IMR[n] := 1."""
        imr = self.pics[chip].imr
        assert imr is not None
        return {imr: Bin("|", V(imr), C(1 << n))}

    def line_unmask(self, chip: str, n: int, when: Expr) -> dict[int, Expr]:
        """IMR[n] := 0 if `when`, else unchanged."""
        imr = self.pics[chip].imr
        assert imr is not None
        return {imr: Ite(when, Bin("&", V(imr), C(0xFF ^ (1 << n))), V(imr))}

    def line_ack(self, chip: str, n: int, cpu: int) -> dict[int, Expr]:
        """The chip's ack: a specific EOI for the line (ISR[n] := 0) and the master's cascade input."""
        pic = self.pics[chip]
        out: dict[int, Expr] = {}
        if pic.isr is not None:
            out[pic.isr] = Bin("&", V(pic.isr), C(0xFF ^ (1 << n)))
        if pic.info.cascade is not None:
            master = self.pics[pic.info.cascade[0]]
            if master.isr is not None:
                out[master.isr] = Bin("&", V(master.isr), C(0xFF ^ (1 << pic.info.cascade[1])))
        return out

    def line_eoi(self, chip: str, n: int, cpu: int, unmask_when: Expr, mask: bool = False
                 ) -> list[tuple[Expr, dict[int, Expr]]]:
        raise AssertionError("8259A lines use handle_level_irq (L0)")  # pragma: no cover

    def line_resend(self, chip: str, n: int) -> Resend:
        """IRR[n] := 1; latched: IRR[n] was already 1."""
        pic, bit = self.pics[chip], 1 << n
        return Resend({pic.irr: Bin("|", V(pic.irr), C(bit))}, Eq(Bin("&", V(pic.irr), C(bit)), C(bit)),
                      f"{pic.name}.IRR[{n}]")
