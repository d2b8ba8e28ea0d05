"""x86 exception and gate rules (Intel SDM vol. 3A ch. 6), as pure functions.

Gate presence and DPL are static in a model, so the whole chain of events
that one `int n`, `fault v` or NMI sets off - a #GP for a DPL violation, a #NP
for an absent gate, the #DF that two contributory or page-fault exceptions
make, the triple fault a failed #DF delivery makes - is computed here once, at
lowering time. The lowering turns each chain into a single transition.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

# X6: vector -> (mnemonic, class); class is fault | trap | abort | interrupt
EXCEPTIONS: dict[int, tuple[str, str]] = {
    0: ("#DE", "fault"), 1: ("#DB", "fault"), 2: ("NMI", "interrupt"), 3: ("#BP", "trap"),
    4: ("#OF", "trap"), 5: ("#BR", "fault"), 6: ("#UD", "fault"), 7: ("#NM", "fault"),
    8: ("#DF", "abort"), 9: ("coprocessor overrun", "abort"), 10: ("#TS", "fault"), 11: ("#NP", "fault"),
    12: ("#SS", "fault"), 13: ("#GP", "fault"), 14: ("#PF", "fault"), 15: ("reserved", "fault"),
    16: ("#MF", "fault"), 17: ("#AC", "fault"), 18: ("#MC", "abort"), 19: ("#XM", "fault"),
    20: ("#VE", "fault"), 21: ("#CP", "fault"),
}
ERROR_CODE = frozenset({8, 10, 11, 12, 13, 14, 17, 21})  # X5
CONTRIBUTORY = frozenset({0, 10, 11, 12, 13, 21})         # X8: #DE, #TS, #NP, #SS, #GP, #CP
PAGE_FAULT_CLASS = frozenset({14, 20})                     # X8: #PF, #VE
DOUBLE_FAULT = 8
NOT_PRESENT = 11  # #NP: delivery through a gate that is not present
GP = 13


def name(v: int) -> str:
    mn = EXCEPTIONS.get(v, (f"vector {v:#x}", "interrupt"))[0]
    return f"{mn} (vector {v})" if v in EXCEPTIONS else mn


FIRST_FREE_VECTOR = 32  # vectors 0-31 are the CPU's exceptions (architecture-defined or reserved)


def exception_vector_warnings(pics: Iterable[tuple[str, int, int, int | None]]) -> list[tuple[int, str]]:
    """X10: an 8259A (name, base, line, Linux IRQ of its input 0 or None) whose eight vectors overlap
    the CPU's exception vectors 0-31:
    the original PC layout (base 0x08) that protected-mode kernels must remap (Linux's
    arch/x86/kernel/i8259.c `init_8259A` programs 0x20/0x28). Legal, and the model runs it as
    written - a timer tick then enters the #DF gate - but it deserves a warning naming the overlap."""
    out: list[tuple[int, str]] = []
    for pic, base, line, irq0 in pics:
        hit = [v for v in range(base, base + 8) if v < FIRST_FREE_VECTOR]
        if not hit:
            continue
        first, last = hit[0] - base, hit[-1] - base
        lines = f"IRQ {irq0 + first}-{irq0 + last}" if irq0 is not None else f"inputs {first}-{last}"
        names = ", ".join(EXCEPTIONS[v][0] if v in EXCEPTIONS else "reserved" for v in hit)
        out.append((line, f"pic {pic}: base {base:#04x} puts {lines} on the CPU's exception vectors "
                          f"{hit[0]}-{hit[-1]} ({names}): a device's interrupt enters the exception's gate and an "
                          "exception the device's handler (the un-remapped PC layout; Linux programs 0x20 for "
                          "the master 8259A and 0x28 for the slave: X10)"))
    return out


def klass(v: int) -> str:
    """X8's classes (SDM vol. 3A table 6-4, current editions): contributory {0, 10-13, 21 (#CP)},
    page_fault {14, 20 (#VE)}, double_fault {8}, benign the rest."""
    if v in CONTRIBUTORY:
        return "contributory"
    if v in PAGE_FAULT_CLASS:
        return "page_fault"
    if v == DOUBLE_FAULT:
        return "double_fault"
    return "benign"


def makes_double_fault(first: int, second: int) -> bool:
    """X8: the second exception, raised while delivering the first, gives #DF."""
    a, b = klass(first), klass(second)
    return (a == "contributory" and b == "contributory") or (a == "page_fault" and b in ("contributory",
                                                                                          "page_fault"))


@dataclass(frozen=True)
class GateInfo:
    handler: str
    trap: bool
    dpl: int


@dataclass
class Delivery:
    """Where one synchronous event ends: a handler frame, or shutdown (triple fault)."""

    vector: int | None               # the gate finally entered; None = triple fault
    error_code: bool = False         # X5: the CPU pushed an error code
    events: list[str] = field(default_factory=list)       # human story of the chain
    violations: list[tuple[str, str]] = field(default_factory=list)  # (check, message)

    @property
    def shutdown(self) -> bool:
        return self.vector is None

    def checks_broken(self) -> tuple[tuple[str, str], ...]:
        """One (check, message) per check: a chain that breaks a check twice tells both steps."""
        out: dict[str, str] = {}
        for check, msg in self.violations:
            out[check] = f"{out[check]}; then {msg}" if check in out else msg
        return tuple(out.items())


def deliver_exception(vector: int, gates: dict[int, GateInfo], out: Delivery | None = None) -> Delivery:
    """Deliver exception `vector` (hardware-detected: DPL is not checked, X3)."""
    d = out or Delivery(None)
    if vector in gates:
        d.vector = vector
        d.error_code = vector in ERROR_CODE
        return d
    # the gate is not present: #NP while delivering `vector`
    d.events.append(f"no gate for {name(vector)}: {name(NOT_PRESENT)} during its delivery")
    d.violations.append(("no_gp", f"{name(vector)} has no gate in the IDT: the CPU raises #NP"))
    if vector == DOUBLE_FAULT:
        d.events.append("fault while delivering #DF: triple fault, the processor shuts down")
        d.violations.append(("no_double_fault", "triple fault: a fault while delivering #DF shuts the processor "
                                                "down"))
        d.vector = None
        return d
    if makes_double_fault(vector, NOT_PRESENT):
        d.events.append(f"{name(vector)} then {name(NOT_PRESENT)}: double fault")
        d.violations.append(("no_double_fault", f"#DF: {name(NOT_PRESENT)} while delivering {name(vector)}"))
        return deliver_exception(DOUBLE_FAULT, gates, d)
    return deliver_exception(NOT_PRESENT, gates, d)  # benign first: handled serially


def deliver_hardware(vector: int, gates: dict[int, GateInfo]) -> Delivery:
    """X10: an external interrupt delivered through `vector` (an 8259A's INTA answer, a local APIC
    vector). With its gate present, that gate; with the gate absent, #NP (error code: the IDT entry,
    IDT=1 and EXT=1, SDM vol. 3A "Interrupt 11 - Segment Not Present") - handled serially, as an
    external interrupt is benign (X8's table) - then #NP's own chain: #NP without a gate gives #DF
    (two contributory), #DF without a gate a triple fault. The vector's number decides nothing: an
    un-remapped 8259A's IRQ0 arrives at vector 8 as an interrupt, not as #DF."""
    d = Delivery(None)
    if vector in gates:
        d.vector = vector
        return d
    d.events.append(f"vector {vector:#x} has no gate: {name(NOT_PRESENT)} during its delivery (error code: IDT "
                    f"entry {vector:#x}, EXT=1)")
    d.violations.append(("no_gp", f"hardware interrupt vector {vector:#x} has no gate in the IDT: the CPU raises "
                                  "#NP"))
    return deliver_exception(NOT_PRESENT, gates, d)


def deliver_int(vector: int, cpl: int, gates: dict[int, GateInfo]) -> Delivery:
    """`int n` from code at privilege `cpl` (X3: the gate's DPL is checked for software interrupts)."""
    d = Delivery(None)
    gate = gates.get(vector)
    if gate is None:
        d.events.append(f"no gate, {name(NOT_PRESENT)}")
        d.violations.append(("no_gp", f"int {vector:#x}: vector {vector:#x} has no gate (#NP)"))
        return deliver_exception(NOT_PRESENT, gates, d)
    if cpl > gate.dpl:
        d.events.append(f"CPL {cpl} > gate DPL {gate.dpl}: #GP")
        d.violations.append(("no_gp", f"int {vector:#x} executed at CPL {cpl} through a gate with DPL "
                                      f"{gate.dpl}: general-protection fault"))
        return deliver_exception(GP, gates, d)
    d.vector = vector
    return d
