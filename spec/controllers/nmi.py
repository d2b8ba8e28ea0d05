"""NMI as a `Controller` (X7): a latched request and the blocking that lasts until IRET.

Variables `nmi.pending`, `nmi.blocked` (both bool, 0 initially), present when a device raises NMI.

* raise: guard `pending = 0`, update `pending := 1`; with `pending = 1` nothing but the budget
  changes and the NMI is lost (no_lost_irq);
* delivery (cpu0 only, whatever IF): guard `pending = 1 and blocked = 0`, updates `pending := 0,
  blocked := 1`, then exception 2's chain (x86.py): a frame of the handler its gate names, or
  shutdown (`halted := 1`) on a triple fault; the chain's broken checks tag the step;
* any IRET on cpu0: `blocked := 0`;
* no EOI, nothing in service.
"""

from __future__ import annotations

from collections.abc import Sequence

from ircheck.spec.build import Builder
from ircheck.spec.context import Incarnation
from ircheck.spec.controllers.protocol import (
    EntryRule,
    EoiRule,
    ExtraEntries,
    ExtraEntry,
    NoRequestIrqLines,
    RaiseRule,
    Way,
)
from ircheck.spec.design import Design, DeviceInfo
from ircheck.spec.step_kind import StepKind
from ircheck.spec.tags import acknowledge
from ircheck.spec.ts import FALSE, And, C, Eq, Expr, Label, V
from ircheck.spec.x86 import GateInfo, deliver_exception


class NmiController(NoRequestIrqLines):
    def __init__(self, d: Design, b: Builder, gates: dict[int, GateInfo]) -> None:
        self.d = d
        self.gates = gates
        self.pending = b.var("nmi.pending", 2, 0, "bool")
        self.blocked = b.var("nmi.blocked", 2, 0, "bool")

    def ways_in(self, dev: DeviceInfo) -> list[Way]:
        return [Way(2, exception=True)]

    def owns_device(self, dev: DeviceInfo) -> bool:
        return dev.kind == "nmi"

    def raise_rule(self, dev: DeviceInfo) -> RaiseRule:
        return RaiseRule(self.pending, 0, "NMI", "",
                         f"NMI from {dev.name} arrived while another NMI was already latched: it is lost")

    def owns(self, inc: Incarnation) -> bool:
        return False

    def entry(self, inc: Incarnation, cpu: int) -> EntryRule:  # pragma: no cover - owns() is never true
        raise AssertionError("NMI is entered through extra_entries")

    def extra_entries(self, cpu: int, incs: Sequence[Incarnation]) -> ExtraEntries:
        if cpu != 0:
            return ExtraEntries()
        dl = deliver_exception(2, self.gates)
        guard = And(Eq(V(self.pending), C(1)), Eq(V(self.blocked), C(0)))
        fair = acknowledge(cpu, "NMI")
        ctrl: dict[int, Expr] = {self.pending: C(0), self.blocked: C(1)}
        story = "; ".join(dl.events)
        src = ", ".join(dv.name for dv in self.d.devices.values() if dv.kind == "nmi")
        request = (f"NMI ({src})", Eq(V(self.pending), C(1)), f"NMI ({src}) is raised but never delivered")
        if dl.shutdown:
            label = Label(f"cpu{cpu}", f"take NMI: {story}", 0, cpu, "entry", StepKind.HALT)
            return ExtraEntries([ExtraEntry(label, guard, ctrl, None, fair, dl.checks_broken(), False)], request)
        assert dl.vector is not None
        target = next(i for i in incs if i.vector == dl.vector and not i.spurious)
        gate = "trap gate" if target.gate.trap else "interrupt gate, IF=0"
        text = f"take NMI (vector 2, ignores IF) -> {target.gate.handler} ({gate})"
        if story:
            text = f"take NMI: {story} -> {target.gate.handler} ({gate})"
        line = self.d.gates[2].line if 2 in self.d.gates else 0
        label = Label(f"cpu{cpu}", text, line, cpu, "entry", StepKind.DELIVER, target.gate.handler)
        return ExtraEntries([ExtraEntry(label, guard, ctrl, target, fair, dl.checks_broken(), False)], request)

    def eoi_chips(self) -> list[str]:
        return []

    def chip_of(self, inc: Incarnation) -> str | None:
        return None

    def eoi_rule(self, chip: str | None, specific: int | None, cpu: int) -> EoiRule:  # pragma: no cover - no chips
        raise AssertionError("NMI takes no EOI")

    def in_service(self, inc: Incarnation, cpu: int) -> Expr:
        return FALSE

    def iret_checks(self, inc: Incarnation, cpu: int) -> list[tuple[Expr, str]]:
        return []

    def iret_updates(self, cpu: int) -> dict[int, Expr]:
        return {self.blocked: C(0)} if cpu == 0 else {}

    def ack(self, dev: DeviceInfo) -> dict[int, Expr]:
        return {}
