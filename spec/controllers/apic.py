"""The local APIC's registers as expressions (X9).

`LocalApic` holds the indices of its IRR and ISR variables (one bit per vector
in use, bit k = the k-th smallest vector) and builds the guards and updates of
delivery (INTA), EOI and "in service".
"""

from __future__ import annotations

from dataclasses import dataclass

from ircheck.spec.controllers.pic8259 import bitmask
from ircheck.spec.design import ApicInfo
from ircheck.spec.ts import FALSE, And, Bin, Bit, C, Eq, Expr, Ite, Not, V


@dataclass
class LocalApic:
    """X9: one IRR and one ISR bit per vector in use (bit k = the k-th smallest vector)."""

    info: ApicInfo
    vectors: list[int]
    irr: int
    isr: int

    def pos(self, v: int) -> int:
        return self.vectors.index(v)

    def higher(self, v: int) -> int:
        return bitmask([k for k, w in enumerate(self.vectors) if w > v])

    def deliverable(self, v: int) -> Expr:
        """The highest pending vector, in a priority class above max(TPR class, highest in-service class)."""
        k = self.pos(v)
        if (v >> 4) <= (self.info.tpr >> 4):
            return FALSE
        same_or_above = bitmask([j for j, w in enumerate(self.vectors) if (w >> 4) >= (v >> 4)])
        return And(Eq(Bit(V(self.irr), k), C(1)), Eq(Bin("&", V(self.irr), C(self.higher(v))), C(0)),
                   Eq(Bin("&", V(self.isr), C(same_or_above)), C(0)))

    def inta(self, v: int) -> dict[int, Expr]:
        k = self.pos(v)
        return {self.irr: Bin("&", V(self.irr), C(((1 << len(self.vectors)) - 1) ^ (1 << k))),
                self.isr: Bin("|", V(self.isr), C(1 << k))}

    def eoi(self) -> list[tuple[Expr, dict[int, Expr], int | None]]:
        """EOI clears the highest in-service vector: one variant, whatever the number of vectors. Bit k
        is the k-th smallest vector, so the highest in service is ISR's most significant set bit,
        found by a binary decision on ISR's value (size linear, depth logarithmic in the vectors)."""
        isr = V(self.isr)

        def clear_top(lo: int, hi: int) -> Expr:  # ISR < 2**hi and its top bit is lo or above
            if hi - lo == 1:
                return Bin("-", isr, C(1 << lo))
            mid = (lo + hi) // 2
            return Ite(Bin(">=", isr, C(1 << mid)), clear_top(mid, hi), clear_top(lo, mid))

        return [(Not(Eq(isr, C(0))), {self.isr: clear_top(0, len(self.vectors))}, None)]

    def in_service(self, v: int) -> Expr:
        return Eq(Bit(V(self.isr), self.pos(v)), C(1))
