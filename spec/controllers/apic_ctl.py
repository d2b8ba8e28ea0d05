"""The local APIC as a `Controller` (X9): one per design, cpu0's.

Variables `NAME.IRR`, `NAME.ISR`: one bit per vector in use (bit k = the k-th smallest vector).

* raise of vector v: guard `IRR[v] = 0`, update `IRR[v] := 1` (with the bit set: lost edge);
* delivery of v (cpu0 only): guard "v is the highest pending vector, its priority class above the
  TPR's and above every in-service class", updates IRR[v] := 0, ISR[v] := 1; the rest is framed;
* EOI clears the highest in-service vector; with none in service it changes nothing and breaks
  eoi_balanced;
* IRET of a frame entered through v breaks eoi_balanced while ISR[v] is set.
"""

from __future__ import annotations

from collections.abc import Sequence

from ircheck.spec.context import Incarnation
from ircheck.spec.controllers.apic import LocalApic
from ircheck.spec.controllers.protocol import (
    EntryRule,
    EoiRule,
    ExtraEntries,
    NoRequestIrqLines,
    RaiseRule,
    Way,
)
from ircheck.spec.design import Design, DeviceInfo
from ircheck.spec.ts import Bit, C, Eq, Expr, V


class ApicController(NoRequestIrqLines):
    def __init__(self, d: Design, apic: LocalApic) -> None:
        self.d = d
        self.apic = apic

    def ways_in(self, dev: DeviceInfo) -> list[Way]:
        return [Way(dev.input, False, None, None, self.apic)]

    def owns_device(self, dev: DeviceInfo) -> bool:
        return dev.kind == "apic"

    def raise_rule(self, dev: DeviceInfo) -> RaiseRule:
        where, what = f"vector {dev.input:#x}", f"the local APIC's IRR for vector {dev.input:#x}"
        return RaiseRule(self.apic.irr, self.apic.pos(dev.input), where, "",
                         f"{where} edge from {dev.name} arrived while {what} was still set: the request is lost")

    def owns(self, inc: Incarnation) -> bool:
        return inc.apic is not None

    def entry(self, inc: Incarnation, cpu: int) -> EntryRule:
        v = inc.vector
        srcs = [dv for dv in self.d.devices.values() if dv.kind == "apic" and dv.input == v]
        src = ", ".join(dv.name for dv in srcs)
        return EntryRule([(self.apic.deliverable(v), self.apic.inta(v))], f"take vector {v:#x} from the local APIC",
                         srcs, Eq(Bit(V(self.apic.irr), self.apic.pos(v)), C(1)), f"vector {v:#x} ({src})",
                         f"vector {v:#x} ({src}) is raised but never delivered: it waits for ever in the "
                         f"local APIC's IRR", cpu0_only=True)

    def extra_entries(self, cpu: int, incs: Sequence[Incarnation]) -> ExtraEntries:
        return ExtraEntries()

    def eoi_chips(self) -> list[str]:
        return [self.apic.info.name]

    def chip_of(self, inc: Incarnation) -> str | None:
        return self.apic.info.name

    def eoi_rule(self, chip: str | None, specific: int | None, cpu: int) -> EoiRule:
        return EoiRule(self.apic, "the controller", self.apic.eoi(), "EOI to the local APIC with no vector in service")

    def in_service(self, inc: Incarnation, cpu: int) -> Expr:
        return self.apic.in_service(inc.vector)

    def iret_checks(self, inc: Incarnation, cpu: int) -> list[tuple[Expr, str]]:
        return [(self.apic.in_service(inc.vector),
                 f"{inc.gate.handler} returns (IRET) with vector {inc.vector:#x} still in service: no EOI was sent")]

    def iret_updates(self, cpu: int) -> dict[int, Expr]:
        return {}

    def ack(self, dev: DeviceInfo) -> dict[int, Expr]:
        return {}
