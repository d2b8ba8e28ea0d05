"""Interrupt controllers: register expressions (`pic8259`, `apic`) and the `protocol` the lowering calls.

The lowering of delivery (raise, INTA, the entries that are not a controller input), EOI, IRET and
`in_service` goes through `protocol.Controller`; the 8259A bank (`pic_bank`), the local APIC
(`apic_ctl`) and NMI (`nmi`) implement it. A new controller (the I/O APIC, MSI) is one more module
implementing the protocol plus the lines in `model.Model.__init__` that create its variables and
append it to `Model.controllers` (the order there is the order of its variables and extra entries).
"""

from ircheck.spec.controllers.apic import LocalApic
from ircheck.spec.controllers.pic8259 import Pic8259

__all__ = ["LocalApic", "Pic8259"]
