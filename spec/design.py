"""What resolution makes of a model: the `Design` the lowering reads, by name, and the bounds it
enforces on the numbers in it (CPUs, raises, counters).

Every class here is filled by spec/resolve.py (and its modules resolve_*.py) from the syntax tree;
after resolution a `Design` is only read.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ircheck.grammar import ast
from ircheck.spec.language import DECLARATION

MAX_CPUS = 4
MAX_RAISES = 64
# kicks of an `on_kick` device not yet answered by a raise: a kick beyond this many is a model bound
# (the step is tagged and every check not violated is inconclusive, never a silent loss)
KICK_CAP = 3
MAX_COUNTER = 1023
# a /proc/interrupts count (C1) the model's budgets do not bound exactly is kept up to this value
KSTAT_CAP = 4
DEFAULT_COUNTER_MAX = 255

@dataclass
class PicInfo:
    name: str
    base: int
    auto_eoi: bool
    mask: int
    masked_ever: bool  # some statement masks/unmasks a line: IMR is a variable
    line: int
    mode: str = "fully_nested"  # fully_nested | special_mask | special_fully_nested
    rotate: bool = False        # automatic rotation: the level just serviced becomes lowest
    cascade: tuple[str, int] | None = None  # a slave: the master input its INT drives
    irq_base: int | None = None  # the Linux IRQ number of input 0 (`isa_irqs`): 0 the master, 8 its slave


def isa_irqs(pics: dict[str, PicInfo]) -> None:
    """Number the 8259A inputs as Linux does on the x86 cascade (arch/x86/kernel/i8259.c
    `mask_8259A_irq` and `mask_and_ack_8259A`: IRQ n with `n & 8` is the slave's input `n & 7`;
    arch/x86/include/asm/irq_vectors.h `NR_IRQS_LEGACY` = 16 ISA IRQs; docs/semantics.md P11):
    the master's inputs are IRQ 0-7 and its slave's IRQ 8-15 (slave input N is IRQ 8+N, whatever master
    input the slave's INT drives). The master is the first controller declared that is no slave, the
    slave the first one declared that cascades into it; any other 8259A has no Linux IRQ number."""
    masters = [p for p in pics.values() if p.cascade is None]
    for p in pics.values():
        p.irq_base = None
    if not masters:
        return
    masters[0].irq_base = 0
    slaves = [p for p in pics.values() if p.cascade is not None and p.cascade[0] == masters[0].name]
    if slaves:
        slaves[0].irq_base = 8


def isa_line(pics: dict[str, PicInfo], irq: int) -> tuple[str, int] | None:
    """Linux IRQ number -> (8259A, input), the inverse of `isa_irqs`' numbering; None if no input has it."""
    for p in pics.values():
        if p.irq_base is not None and p.irq_base <= irq < p.irq_base + 8:
            return p.name, irq - p.irq_base
    return None


def irq_pin(pic: PicInfo, n: int, *notes: str) -> str:
    """What follows a line's IRQ number: its chip and pin and the `notes`, in parentheses
    (` (slave.6, disk)`)."""
    return f" ({', '.join((f'{pic.name}.{n}', *notes))})"


def irq_name(pic: PicInfo, n: int, *notes: str, pin: bool = True, word: str = "IRQ") -> str:
    """The one way every trace, message and report names 8259A input `pic`.`n`: its Linux IRQ number
    (`isa_irqs`), then the chip and pin and the `notes` in parentheses - `IRQ 14 (slave.6, disk)`,
    `IRQ 3 (master.3, edge)`. `pin=False` (the compact places - a take step, a lane - of a design with
    one 8259A and no local APIC, where the number names the line alone) leaves out the chip and pin:
    `IRQ 3`, `IRQ 3 (nic)`. An input without a Linux number is named by its chip and pin: `IRQ pic2.3`."""
    if pic.irq_base is None:
        return f"{word} {pic.name}.{n}" + (f" ({', '.join(notes)})" if notes else "")
    number = f"{word} {pic.irq_base + n}"
    if pin:
        return number + irq_pin(pic, n, *notes)
    return number + (f" ({', '.join(notes)})" if notes else "")


def device_irq(d: Design, dev: DeviceInfo) -> int | None:
    """The Linux IRQ number of `dev`'s line (the row of /proc/interrupts it is counted in, C1; what
    probe_irq_off should return for it, C2; what `request_irq N` binds) - the one place that maps a
    device to its IRQ: an 8259A input's `isa_irqs` number; an I/O APIC pin's GSI (A1); an MSI/MSI-X
    source's number from `gsi_top` on, in declaration order (A3); None for a source with no Linux IRQ
    number (a bare local-APIC vector, NMI, an 8259A beyond the cascade)."""
    if dev.kind == "ioapic":
        return d.ioapics[dev.pic].gsi_base + dev.input
    if dev.kind in ("msi", "msix"):
        msis = [dv.name for dv in d.devices.values() if dv.kind in ("msi", "msix")]
        return gsi_top(d) + msis.index(dev.name)
    if dev.kind != "pic" or dev.pic not in d.pics:
        return None
    pic = d.pics[dev.pic]
    return None if pic.irq_base is None else pic.irq_base + dev.input


def counted_irq(d: Design, e: ast.IrqCount) -> int | None:
    """The IRQ number `irqs(X)` reads (resolution has checked it): X's line, or X itself."""
    if isinstance(e.what, ast.Num):
        return e.what.value
    dev = d.devices.get(e.what.name)
    return None if dev is None else device_irq(d, dev)


def kstat_cap(d: Design, irq: int) -> int:
    """The bound of IRQ `irq`'s per-CPU count (C1, exact as K6 asks): with only edge devices of finite
    budgets on the line every handled interrupt is paid for by a raise, so their sum is never passed;
    otherwise (`raises any`, `on_kick`, a level line that interrupts again without a new raise)
    KSTAT_CAP, and a count that would pass it is a tagged model bound (inconclusive, never "holds")."""
    devs = irq_devices(d, irq)
    if devs and all(not dv.level and dv.raises is not None and not dv.on_kick for dv in devs):
        return max(1, sum(dv.raises or 0 for dv in devs))
    return KSTAT_CAP


# a probed line's IRQS_AUTODETECT / IRQS_WAITING (kernel/irq/autoprobe.c): not probed; probed and still
# waiting; probed and fired (its flow ran and cleared IRQS_WAITING)
PROBE_STATES = ("off", "waiting", "fired")


def probe_lines(d: Design) -> list[int]:
    """The lines `probe_irq_on` starts up (C2, kernel/irq/autoprobe.c: every descriptor with no action),
    as Linux IRQ numbers: the 8259A inputs with a device, no request_irq action, no gate of their own
    and no slave's INT (the cascade has its action), and the I/O APIC pins with a device, no action and
    no bare-metal `vector` (their GSIs); none in a design that declares no `probe`. A line with no
    device never fires, so it needs no state and is left out; MSI sources are never probed (their
    vectors exist only once a driver allocated them)."""
    if not d.probes:
        return []
    out: set[int] = set()
    cascades = {q.cascade for q in d.pics.values() if q.cascade is not None}
    for dv in d.devices.values():
        n = device_irq(d, dv)
        if n is None or n in d.irqs:
            continue
        if dv.kind == "pic" and (dv.pic, dv.input) not in cascades and d.pics[dv.pic].base + dv.input not in d.gates:
            out.add(n)
        elif dv.kind == "ioapic" and dv.vector is None:
            out.add(n)
    return sorted(out)


def probed_pins(d: Design) -> set[tuple[str, int]]:
    """The (I/O APIC, pin) of the probed GSIs (`probe_lines`)."""
    return {pin for n in probe_lines(d) if isa_line(d.pics, n) is None and (pin := gsi_pin(d, n)) is not None}


def irq_devices(d: Design, irq: int) -> list[DeviceInfo]:
    """The devices on Linux IRQ `irq` (sharers of a line share its /proc/interrupts row)."""
    return [dv for dv in d.devices.values() if device_irq(d, dv) == irq]


def irq_label(d: Design, irq: int) -> str:
    """IRQ `irq` named as every trace names a line (`irq_name`): `IRQ 3 (master.3)`."""
    line = isa_line(d.pics, irq)
    if line is None:
        pin = gsi_pin(d, irq)
        msi = [dv.name for dv in d.devices.values() if dv.kind in ("msi", "msix") and device_irq(d, dv) == irq]
        return f"IRQ {irq}" + (f" ({pin[0]}.{pin[1]})" if pin else f" ({msi[0]})" if msi else "")
    return irq_name(d.pics[line[0]], line[1])


SPURIOUS = -1  # the SPU row of /proc/interrupts: a spurious IR7/15 entry (not a handled IRQ)


@dataclass(frozen=True)
class Row:
    """One row of /proc/interrupts (C1, spec/interrupts.py): the IRQ (SPURIOUS for `SPU`), the chip's
    name, the flow handler's, the actions' names."""

    irq: int
    chip: str
    flow: str
    actions: tuple[str, ...]

    @property
    def name(self) -> str:
        return "SPU" if self.irq == SPURIOUS else str(self.irq)


@dataclass
class ApicInfo:
    name: str
    tpr: int
    line: int


@dataclass
class IoApicInfo:
    """`ioapic NAME { pins N }`: pin k is GSI `gsi_base + k` (the first I/O APIC declared starts at GSI 0,
    the next after its last pin, as ACPI's MADT numbers them)."""

    name: str
    pins: int
    gsi_base: int
    line: int


FIRST_GSI_VECTOR = 0x30  # arch/x86/include/asm/irq_vectors.h ISA_IRQ_VECTOR(0): GSI n gets vector 0x30 + n
FIRST_MSI_VECTOR = 0x50  # MSI sources: the next free vectors from here, in declaration order


def gsi_top(d: Design) -> int:
    """The first IRQ number after every GSI (Linux `gsi_top`, arch/x86/kernel/apic/io_apic.c): MSI
    IRQ numbers are allocated from here (`arch_dynirq_lower_bound`). A model with MSI sources and no
    I/O APIC is numbered as the PC it stands for, with one 24-pin I/O APIC (GSI 0-23)."""
    return max((io.gsi_base + io.pins for io in d.ioapics.values()), default=24)


def message_sources(d: Design) -> list[DeviceInfo]:
    """The sources that reach a CPU as local-APIC messages (A1-A3): I/O APIC pins and MSI/MSI-X."""
    return [dev for dev in d.devices.values() if dev.kind in ("ioapic", "msi", "msix")]


def gsi_pin(d: Design, irq: int) -> tuple[str, int] | None:
    """GSI -> (I/O APIC, pin), the inverse of `device_irq` for pins; None if no I/O APIC has it."""
    for io in d.ioapics.values():
        if io.gsi_base <= irq < io.gsi_base + io.pins:
            return io.name, irq - io.gsi_base
    return None


def message_vector(d: Design, dev: DeviceInfo) -> int:
    """The local-APIC vector a message source uses: a pin's `vector V` (bare metal, entered through
    `idt`), else Linux's choice - a GSI n gets 0x30 + n (ISA_IRQ_VECTOR), an MSI source the next
    vector from 0x50 that nothing else uses."""
    if dev.vector is not None:
        return dev.vector
    if dev.kind == "ioapic":
        return FIRST_GSI_VECTOR + d.ioapics[dev.pic].gsi_base + dev.input
    used = {dv.vector for dv in message_sources(d) if dv.vector is not None} | set(d.gates)
    used |= {FIRST_GSI_VECTOR + d.ioapics[dv.pic].gsi_base + dv.input for dv in message_sources(d)
             if dv.kind == "ioapic" and dv.vector is None}
    v = FIRST_MSI_VECTOR
    for dv in message_sources(d):
        if dv.kind == "ioapic":
            continue
        while v in used:
            v += 1
        if dv is dev:
            return v
        used.add(v)
    raise AssertionError(f"{dev.name} is no message source")


@dataclass
class DeviceInfo:
    name: str
    pic: str            # controller name ("" for NMI sources)
    input: int          # 8259A input, or the vector for an APIC source, or 2 for NMI
    level: bool
    raises: int | None  # None = any
    shared: bool
    line: int
    kind: str = "pic"   # pic | apic | nmi | ioapic (pic: its I/O APIC, input: its pin) | msi | msix
    may_drop: bool = False  # the request may fall before INTA (spurious IRQ7/15)
    cpu: int | None = None  # `on cpuK`: only that CPU takes it; None = any CPU
    on_kick: bool = False   # raises once per `kick DEV` (then `raises` is None: no total budget)
    vector: int | None = None  # an I/O APIC pin's `vector V` (bare metal); else message_vector chooses


@dataclass
class Gate:
    vector: int
    handler: str
    trap: bool
    dpl: int
    line: int


@dataclass
class Action:
    """One `request_irq` on a line: the primary handler (None = NULL: the default one that wakes
    the thread) and its flags."""

    handler: str | None
    shared: bool
    dev_id: str | None
    thread: str | None
    oneshot: bool
    line: int


@dataclass
class IrqLine:
    """A Linux IRQ number with handlers bound through request_irq (genirq, L1-L9)."""

    irq: int
    pic: str
    input: int
    actions: list[Action] = field(default_factory=list)

    @property
    def oneshot(self) -> bool:
        return any(a.oneshot for a in self.actions)


@dataclass
class CodeInfo:
    kind: str
    name: str
    body: tuple[ast.Stmt, ...]
    reentrant: bool
    cpu: int
    cpl: int
    line: int
    end_line: int
    soft: bool = False  # an hrtimer declared `soft`: its callback runs in softirq context (R7)

    @property
    def context(self) -> str:
        """hardirq | softirq | task | function: the declaration's context, a soft hrtimer's softirq."""
        return "softirq" if self.soft else DECLARATION[self.kind].context


@dataclass
class ObjectInfo:
    kind: str
    name: str
    init: int
    max: int
    line: int


@dataclass
class ProbeInfo:
    """`probe P for DEV` (C2): `probe_irq_off P` should return DEV's IRQ."""

    name: str
    device: str
    line: int


@dataclass
class CheckSpec:
    name: str
    arg: int | ast.Expr | None
    line: int


@dataclass
class Design:
    """A resolved model: everything the lowering needs, by name."""

    path: str
    source: str
    cpus: int = 1
    pics: dict[str, PicInfo] = field(default_factory=dict)
    apics: dict[str, ApicInfo] = field(default_factory=dict)
    ioapics: dict[str, IoApicInfo] = field(default_factory=dict)
    devices: dict[str, DeviceInfo] = field(default_factory=dict)
    gates: dict[int, Gate] = field(default_factory=dict)
    code: dict[str, CodeInfo] = field(default_factory=dict)
    objects: dict[str, ObjectInfo] = field(default_factory=dict)
    checks: list[CheckSpec] = field(default_factory=list)
    explicit_checks: bool = False
    irqs: dict[int, IrqLine] = field(default_factory=dict)  # request_irq bindings by IRQ number
    # C1: the IRQ numbers whose /proc/interrupts counts some expression reads (`irqs(X)`); only
    # these are kept in the state
    counted: set[int] = field(default_factory=set)
    probes: dict[str, ProbeInfo] = field(default_factory=dict)  # C2: `probe P for DEV`, by name

    @property
    def one_pic(self) -> bool:
        """A single 8259A and no local APIC: compact places name its lines by number alone (`irq_name`)."""
        return len(self.pics) == 1 and not self.apics
