"""Typed syntax tree of a `.irq` model.

Every node is a frozen dataclass that carries the `Span` it was parsed from, so
that every later phase (name resolution, lowering, trace rendering) can point
back at `file:line:col`. Nothing here knows what an interrupt means: that is
spec/'s job.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Span:
    line: int
    column: int
    end_line: int = 0
    end_column: int = 0

    def __str__(self) -> str:
        return f"{self.line}:{self.column}"


NO_SPAN = Span(0, 0)


# ---- expressions ---------------------------------------------------------------

@dataclass(frozen=True)
class Name:
    """A reference to a declared object (flag, counter, lock, device, ...)."""

    name: str
    span: Span = field(default=NO_SPAN, compare=False)


@dataclass(frozen=True)
class Num:
    value: int
    span: Span = field(default=NO_SPAN, compare=False)


@dataclass(frozen=True)
class Bool:
    value: bool
    span: Span = field(default=NO_SPAN, compare=False)


@dataclass(frozen=True)
class InService:
    """`if in_service`: the running handler's own ISR bit is set (it read the ISR)."""

    span: Span = field(default=NO_SPAN, compare=False)


@dataclass(frozen=True)
class Woken:
    """`if woken`: the task's last timed wait (`schedule_timeout`, `wait_event_timeout`,
    `wait_for_completion_timeout`) ended by a wake-up (or its condition), not by its timeout (R5, R6);
    only a whole `if`/`while` condition, or its `not`, in process context."""

    span: Span = field(default=NO_SPAN, compare=False)


@dataclass(frozen=True)
class AtomicTest:
    """`if test_and_set F`, `if test_and_clear F`, `if atomic_dec_and_test C` (R4): an atomic
    read-modify-write whose result is the condition; only a whole `if`/`while` condition, or its
    `not`."""

    op: str
    arg: Name
    span: Span = field(default=NO_SPAN, compare=False)


@dataclass(frozen=True)
class Not:
    arg: Expr
    span: Span = field(default=NO_SPAN, compare=False)


@dataclass(frozen=True)
class BoolOp:
    op: str  # "and" | "or"
    args: tuple[Expr, ...]
    span: Span = field(default=NO_SPAN, compare=False)


@dataclass(frozen=True)
class Compare:
    op: str  # < <= == != >= >
    left: Expr
    right: Expr
    span: Span = field(default=NO_SPAN, compare=False)


@dataclass(frozen=True)
class Arith:
    ops: tuple[str, ...]  # "+" / "-" between consecutive args
    args: tuple[Expr, ...]
    span: Span = field(default=NO_SPAN, compare=False)


@dataclass(frozen=True)
class IrqCount:
    """`irqs(X)` / `irqs(X, cpuK)` (C1): how many interrupts of IRQ X (a device's line, or an IRQ
    number) were handled, on every CPU or on cpuK, as /proc/interrupts counts them. `fn` is the word
    before the parenthesis (resolution refuses any other than `irqs`)."""

    fn: str
    what: Name | Num
    cpu: Name | None = None
    span: Span = field(default=NO_SPAN, compare=False)


Expr = Name | Num | Bool | InService | Woken | AtomicTest | Not | BoolOp | Compare | Arith | IrqCount


# ---- statements ------------------------------------------------------------------

@dataclass(frozen=True)
class LineRef:
    """`master.3`: input 3 of controller `master`."""

    pic: str
    input: int
    span: Span = field(default=NO_SPAN, compare=False)

    def __str__(self) -> str:
        return f"{self.pic}.{self.input}"


@dataclass(frozen=True)
class Simple:
    """A one-step statement: `op` is its keyword, `arg` its operand if any.

    The operand is a `Name` (`read rx_ring`), a `LineRef` (`mask master.3`,
    `eoi master.3`), a `Num` (`int 0x80`, `disable_irq 3`) or None (`cli`). `on` is the CPU of
    `read X on cpu1` (another CPU's copy of per-CPU data, R3), None for this CPU's.
    """

    op: str
    arg: Name | LineRef | Num | None
    span: Span = field(default=NO_SPAN, compare=False)
    on: Name | None = None


@dataclass(frozen=True)
class If:
    cond: Expr
    then: tuple[Stmt, ...]
    orelse: tuple[Stmt, ...]
    span: Span = field(default=NO_SPAN, compare=False)


@dataclass(frozen=True)
class While:
    cond: Expr
    body: tuple[Stmt, ...]
    span: Span = field(default=NO_SPAN, compare=False)


@dataclass(frozen=True)
class Loop:
    body: tuple[Stmt, ...]
    span: Span = field(default=NO_SPAN, compare=False)


@dataclass(frozen=True)
class Wait:
    """`wait_event Q until F` / `epoll_wait Q until F`."""

    op: str
    queue: Name
    cond: Expr
    span: Span = field(default=NO_SPAN, compare=False)


@dataclass(frozen=True)
class Choose:
    """`choose { ... } or { ... }`: one branch, picked by the environment (two or more)."""

    branches: tuple[tuple[Stmt, ...], ...]
    span: Span = field(default=NO_SPAN, compare=False)


@dataclass(frozen=True)
class ReadSeq:
    """`read_seq S { ... }`: read_seqbegin(S), the block, and again while read_seqretry(S) (R2)."""

    op: str
    seq: Name
    body: tuple[Stmt, ...]
    span: Span = field(default=NO_SPAN, compare=False)


Stmt = Simple | If | While | Loop | Wait | Choose | ReadSeq


def atomic_test(e: Expr) -> tuple[AtomicTest, bool] | None:
    """The atomic conditional of a whole condition and whether it is negated (`if not test_and_set
    F`), or None for a condition that only reads."""
    if isinstance(e, AtomicTest):
        return e, False
    if isinstance(e, Not) and isinstance(e.arg, AtomicTest):
        return e.arg, True
    return None


def walk(body: tuple[Stmt, ...]) -> Iterator[Stmt]:
    """Every statement of a body, the ones nested in `if`/`while`/`loop` included, in source
    order (the parser bounds the nesting, so the recursion is shallow)."""
    for st in body:
        yield st
        if isinstance(st, If):
            yield from walk(st.then)
            yield from walk(st.orelse)
        elif isinstance(st, While | Loop | ReadSeq):
            yield from walk(st.body)
        elif isinstance(st, Choose):
            for branch in st.branches:
                yield from walk(branch)


# ---- declarations ----------------------------------------------------------------

@dataclass(frozen=True)
class System:
    name: str
    span: Span = field(default=NO_SPAN, compare=False)


@dataclass(frozen=True)
class Cpus:
    count: int
    span: Span = field(default=NO_SPAN, compare=False)


@dataclass(frozen=True)
class Setting:
    """One keyword setting inside a declaration block, e.g. `base 0x20`."""

    key: str
    value: int | str | LineRef | None
    span: Span = field(default=NO_SPAN, compare=False)


@dataclass(frozen=True)
class Pic:
    name: str
    chip: str
    settings: tuple[Setting, ...]
    span: Span = field(default=NO_SPAN, compare=False)


@dataclass(frozen=True)
class Apic:
    name: str
    settings: tuple[Setting, ...]
    span: Span = field(default=NO_SPAN, compare=False)


@dataclass(frozen=True)
class IoApic:
    """`ioapic io0 { pins 24 }`: an I/O APIC (A1-A2)."""

    name: str
    settings: tuple[Setting, ...]
    span: Span = field(default=NO_SPAN, compare=False)


@dataclass(frozen=True)
class Device:
    name: str
    settings: tuple[Setting, ...]
    span: Span = field(default=NO_SPAN, compare=False)


@dataclass(frozen=True)
class IdtEntry:
    vector: int
    handler: Name
    gate: str  # interrupt_gate | trap_gate
    dpl: int
    span: Span = field(default=NO_SPAN, compare=False)


@dataclass(frozen=True)
class Idt:
    entries: tuple[IdtEntry, ...]
    span: Span = field(default=NO_SPAN, compare=False)


@dataclass(frozen=True)
class RequestIrq:
    """`request_irq 11 h ...` (an IRQ number: an 8259A input or a GSI) or `request_irq nvme h ...`
    (`source`: an MSI device, whose IRQ number resolution gives; `irq` is then -1)."""

    irq: int
    handler: Name
    options: tuple[Setting, ...]
    span: Span = field(default=NO_SPAN, compare=False)
    source: Name | None = None


@dataclass(frozen=True)
class Object:
    """`spinlock L`, `mutex M`, `data D`, `percpu data D` (kind "percpu"), `waitqueue Q`, `flag F = true`,
    `counter C max 3`."""

    kind: str
    name: str
    init: int = 0
    max: int | None = None
    span: Span = field(default=NO_SPAN, compare=False)


@dataclass(frozen=True)
class Probe:
    """`probe P for DEV` (C2): `probe_irq_off P` should return DEV's IRQ."""

    name: str
    device: Name
    span: Span = field(default=NO_SPAN, compare=False)


@dataclass(frozen=True)
class Code:
    """A code context: handler, irq_thread, softirq, tasklet, work, function, thread."""

    kind: str
    name: str
    options: tuple[Setting, ...]
    body: tuple[Stmt, ...]
    span: Span = field(default=NO_SPAN, compare=False)
    end: Span = field(default=NO_SPAN, compare=False)  # the closing brace: the implicit iret/return


@dataclass(frozen=True)
class CheckItem:
    name: str
    arg: int | Expr | None
    span: Span = field(default=NO_SPAN, compare=False)


@dataclass(frozen=True)
class Check:
    items: tuple[CheckItem, ...]
    span: Span = field(default=NO_SPAN, compare=False)


Decl = System | Cpus | Pic | Apic | IoApic | Device | Idt | RequestIrq | Object | Code | Check | Probe


@dataclass(frozen=True)
class Model:
    decls: tuple[Decl, ...]
    path: str = "<string>"
    source: str = field(default="", compare=False, repr=False)
