"""The I/O APIC pins and MSI/MSI-X sources with one local APIC per CPU, as one `Controller` (A1-A4, X9).

Variables: `lapic.IRR` - per message vector (bit k = the k-th smallest) "sent, not yet accepted",
one bit for the destination set: whichever CPU of the set takes it first accepts it (lowest-priority
arbitration is the environment's choice at acceptance); `cpuC.lapic.ISR` - per CPU, the vectors in
service there; per level pin `IO.N.line` (the pin's level; on a pin shared by several devices, P2's
`DEV.asserting` and `IO.N.drivers` as on a wired-OR 8259A line); per requested pin `IO.N.masked`
(the redirection entry's mask bit); per requested MSI-X source `DEV.masked`, `DEV.pending`.
Remote IRR of a level pin is not a variable of its own: it is set from the message until the EOI of
its vector, so it equals "its vector in `lapic.IRR` or in some CPU's ISR" (A2).

* edge pin / MSI raise: guard IRR[v] = 0 -> IRR[v] := 1; IRR[v] = 1: lost (no_lost_irq, X9); a masked
  edge pin: lost (A1); a masked MSI-X source: `pending := 1` (already 1: lost), sent on unmask (A3);
* level pin raise: `line := 1` and, as QEMU's ioapic_service does at once, the message
  (IRR[v] := 1) unless Remote IRR is set or the pin is masked (a masked level is kept by the line);
* entry on CPU c: v is the highest pending vector c may take, its class above every class in c's ISR
  (TPR 0): IRR[v] := 0, ISR_c[v] := 1;
* EOI on CPU c: clears c's highest in-service vector; for a level pin's vector it is broadcast
  (ioapic_eoi_broadcast): Remote IRR clears and, with the line still high and the pin unmasked,
  the pin sends again (IRR[v] := 1);
* genirq's chip: mask/unmask set the mask bit (unmask of an asserted level pin sends it, of an MSI-X
  source with its pending bit sends that); the edge flow's ack is c's EOI (apic_ack_edge); the
  fasteoi flow's EOI (`line_eoi`, ioapic_ack_level) is the EOI above at the flow's end.
"""

from __future__ import annotations

from collections.abc import Sequence

from ircheck.spec.build import Builder
from ircheck.spec.context import Incarnation
from ircheck.spec.controllers.pic8259 import bitmask
from ircheck.spec.controllers.protocol import (
    EntryRule,
    EoiRule,
    ExtraEntries,
    RaiseRule,
    Resend,
    Way,
    wired_or_ack,
)
from ircheck.spec.design import Design, DeviceInfo, device_irq, message_sources, message_vector, probed_pins
from ircheck.spec.ts import FALSE, TRUE, And, Bin, Bit, C, Eq, Expr, Ite, Not, Or, V


class IoApicController:
    def __init__(self, d: Design, b: Builder, asserting: dict[str, int], drivers: dict[tuple[str, int], int]) -> None:
        """`asserting`/`drivers`: P2's wired-OR variables of the shared level pins (model.py makes them
        for 8259A lines and pins alike)."""
        self.d = d
        self.sources = message_sources(d)
        self.vec = {dev.name: message_vector(d, dev) for dev in self.sources}
        self.vectors = sorted(set(self.vec.values()))
        n = max(len(self.vectors), 1)
        bits = tuple(f"{v:#x}" for v in self.vectors)
        self.irr = b.var("lapic.IRR", 1 << n, 0, "bits", bits, width=n)
        self.isr = [b.var(f"cpu{c}.lapic.ISR", 1 << n, 0, "bits", bits, width=n) for c in range(d.cpus)]
        self.asserting, self.drivers = asserting, drivers
        requested = {(irq.pic, irq.input) for irq in d.irqs.values()}
        self.probed = probed_pins(d)  # C2: masked until probe_irq_on starts them up
        requested |= self.probed
        self.line: dict[tuple[str, int], int] = {}
        self.masked: dict[tuple[str, int], int] = {}
        self.pending: dict[str, int] = {}
        for dev in self.sources:
            key = (dev.pic, dev.input)
            where = dev.name if dev.kind != "ioapic" else f"{dev.pic}.{dev.input}"
            if dev.kind == "ioapic" and dev.level and key not in self.line:
                self.line[key] = b.var(f"{where}.line", 2, 0, "bool")
            if key in requested and key not in self.masked and dev.kind != "msi":
                self.masked[key] = b.var(f"{where}.masked", 2, 1 if key in self.probed else 0, "bool")
                if dev.kind == "msix":
                    self.pending[dev.name] = b.var(f"{where}.pending", 2, 0, "bool")
        self.level_vec = {self.vec[dev.name]: (dev.pic, dev.input) for dev in self.sources
                          if dev.kind == "ioapic" and dev.level}

    # -- registers
    def bit(self, v: int) -> int:
        return 1 << self.vectors.index(v)

    def pending_v(self, v: int) -> Expr:
        return Eq(Bin("&", V(self.irr), C(self.bit(v))), C(self.bit(v)))

    def clear(self, var: int, v: int) -> Expr:
        return Bin("&", V(var), C(((1 << len(self.vectors)) - 1) ^ self.bit(v)))

    def set_irr(self, v: int, when: Expr) -> Expr:
        return Ite(when, Bin("|", V(self.irr), C(self.bit(v))), V(self.irr))

    def remote_irr(self, v: int) -> Expr:
        """A2: Remote IRR of the level pin with vector v (set from its message to the EOI of v)."""
        mask = C(self.bit(v))
        return Or(Eq(Bin("&", V(self.irr), mask), mask), *[Eq(Bin("&", V(i), mask), mask) for i in self.isr])

    def waiting(self, v: int) -> Expr:
        """no_starvation's pending request of vector v: sent and not accepted, or held at its source - a
        level pin asserted while masked, an MSI-X pending bit (each is sent on unmask, A1, A3)."""
        held: list[Expr] = []
        for key, line in self.line.items():
            if self.level_vec.get(v) == key and key in self.masked:
                held.append(And(Eq(V(line), C(1)), self.is_masked(key)))
        for dev in self.sources:
            if self.vec[dev.name] == v and dev.name in self.pending:
                held.append(Eq(V(self.pending[dev.name]), C(1)))
        return Or(self.pending_v(v), *held)

    def is_masked(self, key: tuple[str, int]) -> Expr:
        m = self.masked.get(key)
        return FALSE if m is None else Eq(V(m), C(1))

    def targets(self, v: int, cpu: int) -> bool:
        return any(self.vec[dev.name] == v and dev.cpu in (None, cpu) for dev in self.sources)

    def deliverable(self, v: int, cpu: int) -> Expr:
        """X9 on `cpu`: v pending, no higher pending vector `cpu` may take, v's class above every class in
        its ISR."""
        higher = bitmask([k for k, w in enumerate(self.vectors) if w > v and self.targets(w, cpu)])
        same_or_above = bitmask([k for k, w in enumerate(self.vectors) if (w >> 4) >= (v >> 4)])
        return And(self.pending_v(v), Eq(Bin("&", V(self.irr), C(higher)), C(0)),
                   Eq(Bin("&", V(self.isr[cpu]), C(same_or_above)), C(0)))

    def eoi_variants(self, cpu: int, masked_after: tuple[tuple[str, int], Expr] | None = None
                     ) -> list[tuple[Expr, dict[int, Expr], int | None]]:
        """EOI on `cpu`: one variant per vector that may be its highest in service (clear it; a level
        pin's vector is broadcast: the pin sends again if its line is high and it is unmasked -
        `masked_after`, (pin, mask bit), is the mask bit the same step leaves, for the fasteoi flow)."""
        isr = V(self.isr[cpu])
        out: list[tuple[Expr, dict[int, Expr], int | None]] = []
        for k, v in enumerate(self.vectors):
            top = And(Bin(">=", isr, C(1 << k)), Bin("<", isr, C(1 << (k + 1))))
            ups: dict[int, Expr] = {self.isr[cpu]: Bin("-", isr, C(1 << k))}
            pin = self.level_vec.get(v)
            if pin is not None:
                masked = self.is_masked(pin)
                if masked_after is not None and masked_after[0] == pin:
                    masked = masked_after[1]
                ups[self.irr] = self.set_irr(v, And(Eq(V(self.line[pin]), C(1)), Not(masked)))
            out.append((top, ups, v))
        return out

    # -- the protocol
    def ways_in(self, dev: DeviceInfo) -> list[Way]:
        return [Way(self.vec[dev.name])]

    def owns_device(self, dev: DeviceInfo) -> bool:
        return dev.kind in ("ioapic", "msi", "msix")

    def raise_rule(self, dev: DeviceInfo) -> RaiseRule:
        v = self.vec[dev.name]
        key = (dev.pic, dev.input)
        number = device_irq(self.d, dev)
        if dev.kind == "ioapic" and dev.level:
            where = f"IRQ {number} ({dev.pic}.{dev.input}, level)"
            send = self.set_irr(v, And(Not(self.remote_irr(v)), Not(self.is_masked(key))))
            return RaiseRule(self.line[key], 0, where, "", "", self.asserting.get(dev.name), self.drivers.get(key),
                             sends={self.irr: send})
        what = f"{dev.pic}.{dev.input}, edge" if dev.kind == "ioapic" else {"msi": "MSI", "msix": "MSI-X"}[dev.kind]
        where = f"IRQ {number} ({what}, vector {v:#x})"
        lost = (f"{where} message from {dev.name} arrived while vector {v:#x} was still pending in the local APIC's "
                "IRR: the two collapse into one (X9)")
        masked = self.masked.get(key)
        if masked is None:
            return RaiseRule(self.irr, self.vectors.index(v), where, "", lost)
        pend = self.pending.get(dev.name)
        held = (f"{where}: the MSI-X vector is masked and its pending bit is already set: the message is lost "
                "(A3)" if pend is not None else
                f"{where}: the pin is masked and an edge on a masked pin is lost (A1)")
        return RaiseRule(self.irr, self.vectors.index(v), where, "", lost, masked=Eq(V(masked), C(1)), pend=pend,
                         masked_lost=held)

    def owns(self, inc: Incarnation) -> bool:
        if inc.kind == "probe":  # C2: a probed pin's flow with no action
            return inc.pic is None and inc.vector in self.vectors
        if inc.kind == "flow":
            return inc.irq is not None and (inc.irq.pic, inc.irq.input) in {(s.pic, s.input) for s in self.sources}
        return inc.kind == "gate" and not inc.spurious and inc.vector in self.vectors and inc.pic is None

    def entry(self, inc: Incarnation, cpu: int) -> EntryRule:
        v = inc.vector
        srcs = [dv for dv in self.sources if self.vec[dv.name] == v]
        src = ", ".join(dv.name for dv in srcs)
        number = device_irq(self.d, srcs[0]) if srcs else None
        name = f"IRQ {number} ({src})" if number is not None else f"vector {v:#x} ({src})"
        take = {self.irr: self.clear(self.irr, v), self.isr[cpu]: Bin("|", V(self.isr[cpu]), C(self.bit(v)))}
        return EntryRule([(self.deliverable(v, cpu), take)],
                         f"take vector {v:#x} from cpu{cpu}'s local APIC", srcs, self.waiting(v), name,
                         f"{name} is raised but never delivered: vector {v:#x} waits for ever in the local APIC's IRR"
                         + (" or held at its masked source" if self.waiting(v) != self.pending_v(v) else ""))

    def extra_entries(self, cpu: int, incs: Sequence[Incarnation]) -> ExtraEntries:
        return ExtraEntries()

    def eoi_chips(self) -> list[str]:
        return list(self.d.ioapics) + [dev.name for dev in self.sources if dev.kind != "ioapic"]

    def chip_of(self, inc: Incarnation) -> str | None:
        chips = self.eoi_chips()
        return chips[0] if chips else None

    def eoi_rule(self, chip: str | None, specific: int | None, cpu: int) -> EoiRule:
        return EoiRule(self, "the local APIC", self.eoi_variants(cpu),
                       f"EOI to cpu{cpu}'s local APIC with no vector in service")

    def in_service(self, inc: Incarnation, cpu: int) -> Expr:
        return Eq(Bit(V(self.isr[cpu]), self.vectors.index(inc.vector)), C(1))

    def iret_checks(self, inc: Incarnation, cpu: int) -> list[tuple[Expr, str]]:
        if inc.kind != "gate":
            return []  # the flow handler EOIs (L0, A4)
        return [(self.in_service(inc, cpu), f"{inc.gate.handler} returns (IRET) with vector {inc.vector:#x} still in "
                                            f"service on cpu{cpu}'s local APIC: no EOI was sent")]

    def iret_updates(self, cpu: int) -> dict[int, Expr]:
        return {}

    def ack(self, dev: DeviceInfo) -> dict[int, Expr]:
        """`ack DEV` on a level pin quiets DEV: the line drops (on a wired-OR pin only when no other sharer
        asserts, P2). The message already sent stays (Remote IRR is the EOI's to clear)."""
        if dev.kind != "ioapic" or not dev.level:
            return {}
        key = (dev.pic, dev.input)
        line = self.line[key]
        return wired_or_ack(self.asserting.get(dev.name), self.drivers.get(key), line, C(1), C(0))

    # -- genirq's chip operations (io_apic.c ioapic_chip / msi.c pci_msi_domain's chip)
    def _vec_of(self, chip: str, n: int) -> int:
        return next(self.vec[dv.name] for dv in self.sources if dv.pic == chip and dv.input == n)

    def line_mask(self, chip: str, n: int) -> dict[int, Expr]:
        """The mask bit := 1 (plain MSI has none: masking it changes nothing)."""
        m = self.masked.get((chip, n))
        return {} if m is None else {m: C(1)}

    def line_unmask(self, chip: str, n: int, when: Expr) -> dict[int, Expr]:
        """The mask bit := 0 if `when`; an asserted level pin without Remote IRR sends, an MSI-X source
        sends its pending message (pending := 0)."""
        m = self.masked.get((chip, n))
        if m is None:
            return {}
        v = self._vec_of(chip, n)
        ups: dict[int, Expr] = {m: Ite(when, C(0), V(m))}
        line = self.line.get((chip, n))
        if line is not None:
            ups[self.irr] = self.set_irr(v, And(when, Eq(V(line), C(1)), Not(self.remote_irr(v))))
        pend = next((self.pending[dv.name] for dv in self.sources if dv.pic == chip and dv.name in self.pending), None)
        if pend is not None:
            ups[self.irr] = self.set_irr(v, And(when, Eq(V(pend), C(1))))
            ups[pend] = Ite(when, C(0), V(pend))
        return ups

    def pin_masks(self, pins: list[tuple[str, int]], masked: dict[tuple[str, int], Expr]) -> dict[int, Expr]:
        """Several pins' mask bits set at once (C2's probe_irq_on / probe_irq_off): `masked[pin]` the new
        bit; a pin left unmasked with its level line high and no Remote IRR sends (as `line_unmask`),
        the sends of all pins composed into one IRR update."""
        ups: dict[int, Expr] = {self.masked[p]: masked[p] for p in pins}
        sends = [Ite(And(Eq(masked[p], C(0)), Eq(V(self.line[p]), C(1)), Not(self.remote_irr(self._vec_of(*p)))),
                     C(self.bit(self._vec_of(*p))), C(0)) for p in pins if p in self.line]
        if sends:
            ups[self.irr] = Bin("|", V(self.irr), _or_bits(sends))
        return ups

    def line_ack(self, chip: str, n: int, cpu: int) -> dict[int, Expr]:
        """handle_edge_irq's ack (apic_ack_edge -> apic_eoi): the local APIC EOI of the vector just taken."""
        if (chip, n) in {self.level_vec[v] for v in self.level_vec}:
            return {}  # a level pin's flow is fasteoi: its EOI comes at the end (`line_eoi`)
        v = self._vec_of(chip, n)
        return {self.isr[cpu]: self.clear(self.isr[cpu], v)}

    def line_eoi(self, chip: str, n: int, cpu: int, unmask_when: Expr, mask: bool = False
                 ) -> list[tuple[Expr, dict[int, Expr]]]:
        """handle_fasteoi_irq's EOI (ioapic_ack_level -> apic_eoi, the EOI broadcast clears Remote IRR):
        before it the pin is unmasked when `unmask_when` (cond_unmask_eoi_irq) or masked (`mask`: the
        `goto out` of a disabled line); the pin sends again if still asserted and unmasked after that."""
        if mask:
            ups, after = self.line_mask(chip, n), TRUE
        else:
            ups = self.line_unmask(chip, n, unmask_when) if unmask_when is not FALSE else {}
            after = And(self.is_masked((chip, n)), Not(unmask_when))
        return [(g, {**ups, **u}) for g, u, _v in self.eoi_variants(cpu, ((chip, n), after))] + \
            [(Eq(V(self.isr[cpu]), C(0)), ups)]

    def line_resend(self, chip: str, n: int) -> Resend:
        """check_irq_resend of an edge source (irq_chip_retrigger_hierarchy -> apic_retrigger_irq): the
        vector is sent again; latched: it is still pending in the IRR."""
        v = self._vec_of(chip, n)
        return Resend({self.irr: Bin("|", V(self.irr), C(self.bit(v)))}, self.pending_v(v), f"lapic.IRR[{v:#x}]")



def _or_bits(parts: list[Expr]) -> Expr:
    out = parts[0]
    for e in parts[1:]:
        out = Bin("|", out, e)
    return out
