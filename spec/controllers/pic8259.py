"""The 8259A's registers as expressions (P1-P12).

`Pic8259` holds the indices of its register variables and builds the guards
and updates the lowering needs: which request the controller would deliver
now, what INTA and EOI do. Priority under automatic rotation depends on the
`prio` variable (the input that currently has the highest priority); every
expression that depends on it is produced once per value of `prio`, as
variants guarded by `prio == p`, so the engines only see constant masks.
"""

from __future__ import annotations

from dataclasses import dataclass

from ircheck.spec.design import PicInfo
from ircheck.spec.ts import FALSE, TRUE, And, Bin, Bit, C, Eq, Expr, Ite, Not, Or, V


def bitmask(bits: list[int]) -> int:
    m = 0
    for b in bits:
        m |= 1 << b
    return m


@dataclass
class Pic8259:
    info: PicInfo
    irr: int
    isr: int | None    # None under auto-EOI: nothing is ever in service
    imr: int | None    # None when no statement changes the mask: the initial mask is a constant
    prio: int | None   # None without rotation: IR0 is always highest

    @property
    def name(self) -> str:
        return self.info.name

    # ---- priority
    def variants(self) -> list[tuple[Expr, int]]:
        if self.prio is None:
            return [(TRUE, 0)]
        return [(Eq(V(self.prio), C(p)), p) for p in range(8)]

    @staticmethod
    def rank(n: int, p: int) -> int:
        return (n - p) % 8

    def upto(self, n: int, p: int) -> int:
        """Input n and every input of higher priority, when input p has the highest priority."""
        return bitmask([i for i in range(8) if self.rank(i, p) <= self.rank(n, p)])

    def above(self, n: int, p: int) -> int:
        return bitmask([i for i in range(8) if self.rank(i, p) < self.rank(n, p)])

    # ---- registers as expressions
    def imr_expr(self) -> Expr:
        return V(self.imr) if self.imr is not None else C(self.info.mask)

    def req(self, slave_inputs: dict[int, Expr]) -> Expr:
        """Unmasked requests. A slave's INT drives its master input (P11): `slave_inputs[c]` is that INT."""
        irr: Expr = V(self.irr)
        if slave_inputs:
            own = 0xFF ^ bitmask(list(slave_inputs))
            irr = Bin("&", irr, C(own))
            for c, line in slave_inputs.items():
                irr = Bin("|", irr, Ite(line, C(1 << c), C(0)))
        if self.imr is None:
            return Bin("&", irr, C(0xFF ^ self.info.mask)) if self.info.mask else irr
        return Bin("&", irr, Bin("^", V(self.imr), C(0xFF)))

    def isr_blocking(self) -> Expr | None:
        """In-service levels that hold requests back; in special mask mode masked levels do not (P9)."""
        if self.isr is None:
            return None
        if self.info.mode == "special_mask":
            return Bin("&", V(self.isr), Bin("^", self.imr_expr(), C(0xFF)))
        return V(self.isr)

    def deliverable(self, n: int, p: int, req: Expr, cascade_input: int | None = None) -> Expr:
        """P5: input n is the highest unmasked request and no in-service level of its priority or above."""
        hm = self.upto(n, p)
        highest = Eq(Bin("&", req, C(hm)), C(1 << n))
        isr = self.isr_blocking()
        if isr is None:
            return highest
        block = hm
        if self.info.mode == "special_fully_nested" and n == cascade_input:
            block = self.above(n, p)  # the slave may interrupt its own in-service cascade level
        return And(highest, Eq(Bin("&", isr, C(block)), C(0))) if block else highest

    def int_line(self, inputs: list[int], req: Expr) -> Expr:
        """This controller's INT output: some input is deliverable now."""
        return Or(*[And(g, self.deliverable(n, p, req)) for g, p in self.variants() for n in inputs])

    # ---- INTA and EOI
    def inta(self, n: int, level: bool) -> dict[int, Expr]:
        """P6: IRR[n] -> ISR[n] (a level request stays in IRR while the line is high; auto-EOI sets no ISR)."""
        ups: dict[int, Expr] = {}
        if not level:
            ups[self.irr] = Bin("&", V(self.irr), C(0xFF ^ (1 << n)))
        if self.isr is not None:
            ups[self.isr] = Bin("|", V(self.isr), C(1 << n))
        elif self.prio is not None:
            ups[self.prio] = C((n + 1) % 8)  # rotate in auto-EOI mode (P10)
        return ups

    def eoi_nonspecific(self) -> list[tuple[Expr, dict[int, Expr], int | None]]:
        """P7 (and P10): variants (guard, updates, cleared bit) of a non-specific EOI; guard FALSE never fires.

        It clears the highest-priority set ISR bit; in special mask mode (P9) the highest-priority set
        ISR bit whose IMR bit is clear (a masked in-service level is skipped and stays in service).
        """
        assert self.isr is not None
        isr = V(self.isr)
        special = self.info.mode == "special_mask"
        if self.prio is None and not special:
            # the highest-priority in-service level is the lowest set bit
            return [(Not(Eq(isr, C(0))), {self.isr: Bin("&", isr, Bin("-", isr, C(1)))}, None)]
        eligible = Bin("&", isr, Bin("^", self.imr_expr(), C(0xFF))) if special else isr
        out: list[tuple[Expr, dict[int, Expr], int | None]] = []
        for g, p in self.variants():
            for i in sorted(range(8), key=lambda k: self.rank(k, p)):
                guard = And(g, Eq(Bit(eligible, i), C(1)), Eq(Bin("&", eligible, C(self.above(i, p))), C(0)))
                ups: dict[int, Expr] = {self.isr: Bin("&", isr, C(0xFF ^ (1 << i)))}
                if self.prio is not None:
                    ups[self.prio] = C((i + 1) % 8)
                out.append((guard, ups, i))
        return out

    def in_service(self, n: int) -> Expr:
        return FALSE if self.isr is None else Eq(Bit(V(self.isr), n), C(1))
