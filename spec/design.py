"""What resolution makes of a model: the `Design` the lowering reads, by name, and the bounds it
enforces on the numbers in it (CPUs, raises, counters).

Every class here is filled by spec/resolve.py (and its modules resolve_*.py) from the syntax tree;
after resolution a `Design` is only read.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ircheck.grammar import ast

MAX_CPUS = 4
MAX_RAISES = 64
MAX_COUNTER = 1023
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


@dataclass
class ApicInfo:
    name: str
    tpr: int
    line: int


@dataclass
class DeviceInfo:
    name: str
    pic: str            # controller name ("" for NMI sources)
    input: int          # 8259A input, or the vector for an APIC source, or 2 for NMI
    level: bool
    raises: int | None  # None = any
    shared: bool
    line: int
    kind: str = "pic"   # pic | apic | nmi
    may_drop: bool = False  # the request may fall before INTA (spurious IRQ7/15)
    cpu: int | None = None  # `on cpuK`: only that CPU takes it; None = any CPU


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


@dataclass
class ObjectInfo:
    kind: str
    name: str
    init: int
    max: int
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
    devices: dict[str, DeviceInfo] = field(default_factory=dict)
    gates: dict[int, Gate] = field(default_factory=dict)
    code: dict[str, CodeInfo] = field(default_factory=dict)
    objects: dict[str, ObjectInfo] = field(default_factory=dict)
    checks: list[CheckSpec] = field(default_factory=list)
    explicit_checks: bool = False
    irqs: dict[int, IrqLine] = field(default_factory=dict)  # request_irq bindings by IRQ number
