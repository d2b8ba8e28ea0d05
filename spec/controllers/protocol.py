"""What every interrupt controller tells the lowering (`Controller`), as values.

A controller owns the registers of its requests and answers, without changing anything:

* `ways_in(dev)` - the ways into frame code a device's request opens (`Way`: a gate vector, maybe
  spurious, or an exception vector such as NMI's 2, whose delivery chain x86.py knows);
* `raise_rule(dev)` - the register bit a raise sets (`RaiseRule`): a raise with the bit clear sets it,
  one with the bit set changes nothing but the budget (an edge then is lost);
* `owns(inc)` / `entry(inc)` - for an incarnation entered through this controller, the guarded
  updates of taking it (`EntryRule.guards`: INTA, one variant per priority state), who may take it
  (`serves`), and the request that is pending until it is taken (for `no_starvation`);
* `extra_entries(cpu, incs)` - entries that are no input's INTA (spurious IR7/15, NMI);
* `eoi_chips()` / `eoi_rule(chip, specific)` - the chips an `eoi` may name and what the EOI does;
* `in_service(inc)` and `iret_checks(inc)` - the frame's own in-service bits (eoi_balanced at IRET);
* `ack(dev)` - what the device-level `ack DEV` statement changes here (a level line drops);
* `line_mask`, `line_unmask`, `line_ack`, `line_eoi`, `line_resend` - genirq's chip operations on a
  request_irq line (mask, unmask when a condition holds, the ack at flow entry, the fasteoi flow's
  EOI at its end, the resend of a pending edge);
* `wired_or_ack` - P2's "quiet one sharer" update, for any controller with wired-OR level lines.
* `iret_updates(cpu)` - what any IRET on `cpu` changes in the controller (NMI blocking ends, X7).

The lowering (`delivery.py`, `frames.py`) adds the frame push, IF and the fairness groups; it never
asks which kind of controller it talks to.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from ircheck.spec.context import Incarnation
from ircheck.spec.controllers.apic import LocalApic
from ircheck.spec.controllers.pic8259 import Pic8259
from ircheck.spec.design import DeviceInfo
from ircheck.spec.ts import Bin, C, Expr, Ite, Label, V

Guards = list[tuple[Expr, dict[int, Expr]]]  # (guard, controller updates) variants
Tags = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Way:
    """A way into frame code: `vector` (spurious: IR7/15 without ISR), through `pic`.`input` or `apic`;
    `exception`: the vector is raised as an exception (NMI), its delivery follows x86.py's chain."""

    vector: int
    spurious: bool = False
    pic: Pic8259 | None = None
    input: int | None = None
    apic: LocalApic | None = None
    exception: bool = False


@dataclass(frozen=True)
class RaiseRule:
    """A device raise: sets bit `bit` of variable `reg`; texts for the label and the lost edge.
    `own`: the device's own assertion on a wired-OR level line (P2): the raise needs it clear, sets
    it and sets the line's bit whatever the other sharers do; `drivers`: that line's count of
    asserting sharers, which the raise increments. `sends`: updates every raise also makes (an I/O
    APIC level pin's message, A2); `masked`: while it holds, an edge goes to the pending bit `pend`
    (MSI-X, A3) or is lost with `masked_lost` (a masked edge pin, A1)."""

    reg: int
    bit: int
    where: str
    src: str
    lost: str
    own: int | None = None
    drivers: int | None = None
    sends: dict[int, Expr] = field(default_factory=dict)  # more updates of every raise (a level pin's message)
    masked: Expr | None = None  # the source is masked: the raise is held in `pend`, or lost (`masked_lost`)
    pend: int | None = None     # the bool variable a masked raise sets (MSI-X pending bit)
    masked_lost: str = ""


@dataclass(frozen=True)
class EntryRule:
    """Taking an incarnation's request: INTA variants, label text, who raises it, its pending request."""

    guards: Guards
    what: str
    sources: list[DeviceInfo]
    pending: Expr
    req_name: str
    req_msg: str
    cpu0_only: bool = False


@dataclass(frozen=True)
class ExtraEntry:
    """An entry that is no input's INTA: into `target` (None: the CPU shuts down), guarded by IF or not."""

    label: Label
    guard: Expr
    ups: dict[int, Expr]
    target: Incarnation | None
    fair: str
    violates: Tags = ()
    needs_if: bool = True


@dataclass(frozen=True)
class ExtraEntries:
    entries: list[ExtraEntry] = field(default_factory=list)
    request: tuple[str, Expr, str] | None = None  # (name, pending, message) for no_starvation


@dataclass(frozen=True)
class EoiRule:
    """What an EOI to `chip` does: `variants` (guard, updates), the message when none applies;
    `auto`: the chip never has anything in service (auto-EOI), every EOI is unbalanced."""

    chip: object
    who: str
    variants: list[tuple[Expr, dict[int, Expr], int | None]]
    nothing: str
    auto: str | None = None


@dataclass(frozen=True)
class Resend:
    """Re-raising a line in the chip (genirq's check_irq_resend): `updates`; `latched`: the request
    is already there (the two merge); `where`: the register bit, for messages."""

    updates: dict[int, Expr]
    latched: Expr
    where: str


class Controller(Protocol):
    def ways_in(self, dev: DeviceInfo) -> list[Way]: ...

    def owns_device(self, dev: DeviceInfo) -> bool: ...

    def raise_rule(self, dev: DeviceInfo) -> RaiseRule: ...

    def owns(self, inc: Incarnation) -> bool: ...

    def entry(self, inc: Incarnation, cpu: int) -> EntryRule: ...

    def extra_entries(self, cpu: int, incs: Sequence[Incarnation]) -> ExtraEntries: ...

    def eoi_chips(self) -> list[str]: ...

    def eoi_rule(self, chip: str | None, specific: int | None, cpu: int) -> EoiRule: ...

    def chip_of(self, inc: Incarnation) -> str | None: ...

    def in_service(self, inc: Incarnation, cpu: int) -> Expr: ...

    def iret_checks(self, inc: Incarnation, cpu: int) -> list[tuple[Expr, str]]: ...

    def iret_updates(self, cpu: int) -> dict[int, Expr]: ...

    def ack(self, dev: DeviceInfo) -> dict[int, Expr]: ...

    # -- a request_irq line `chip`.`n` (genirq's irq_chip operations)
    def line_mask(self, chip: str, n: int) -> dict[int, Expr]: ...

    def line_unmask(self, chip: str, n: int, when: Expr) -> dict[int, Expr]: ...

    def line_ack(self, chip: str, n: int, cpu: int) -> dict[int, Expr]: ...

    def line_eoi(self, chip: str, n: int, cpu: int, unmask_when: Expr, mask: bool = False
                 ) -> list[tuple[Expr, dict[int, Expr]]]: ...

    def line_resend(self, chip: str, n: int) -> Resend: ...


class NoRequestIrqLines:
    """genirq's chip operations for a controller that no request_irq line is bound to (resolve:
    request_irq names an 8259A input, an I/O APIC pin or an MSI device): the local APIC and NMI."""

    def line_mask(self, chip: str, n: int) -> dict[int, Expr]:  # pragma: no cover
        raise AssertionError("request_irq lines are 8259A inputs")

    def line_unmask(self, chip: str, n: int, when: Expr) -> dict[int, Expr]:  # pragma: no cover
        raise AssertionError("request_irq lines are 8259A inputs")

    def line_ack(self, chip: str, n: int, cpu: int) -> dict[int, Expr]:  # pragma: no cover
        raise AssertionError("request_irq lines are 8259A inputs")

    def line_eoi(self, chip: str, n: int, cpu: int, unmask_when: Expr, mask: bool = False
                 ) -> list[tuple[Expr, dict[int, Expr]]]:
        raise AssertionError("the fasteoi flow is an I/O APIC level pin's")  # pragma: no cover

    def line_resend(self, chip: str, n: int) -> Resend:  # pragma: no cover
        raise AssertionError("request_irq lines are 8259A inputs")


def wired_or_ack(own: int | None, count: int | None, line: int, high: Expr, low: Expr) -> dict[int, Expr]:
    """`ack DEV` on a level line (P2): the line (variable `line`) becomes `low`; on a wired-OR line -
    `own`, DEV's assertion, and `count`, the line's asserting sharers - DEV stops asserting
    (`own := 0`, `count := count - own`) and the line is `high` while the new count is above 0."""
    if own is None or count is None:
        return {line: low}
    left = Bin("-", V(count), V(own))
    return {own: C(0), count: left, line: Ite(Bin(">", left, C(0)), high, low)}
