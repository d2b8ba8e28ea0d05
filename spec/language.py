"""The vocabulary of `.irq`, declared once: every statement and every declaration.

`STATEMENTS` holds one `Statement` per statement keyword, `DECLARATIONS` one `Declaration`
per declaration keyword; `STATEMENT` and `DECLARATION` look them up by keyword and the
frozensets below them are derived from those two tuples. Nothing else in the project
spells the vocabulary out: the parser's keyword lists, resolution (operand kinds, where a
statement may appear), the CFG builder, the repairs and the contexts graph read this
module; the .lark grammar's keyword rules, the editor grammar, the reference tables in
docs/ and the lowering's dispatch are tested against it (tests/spec/test_language.py).

The fields of a `Statement` (what each one means, precisely):

* `keyword` - the word that starts it in `.irq` text.
* `syntax` - the form of its operand (`Syntax`): which grammar rule parses it.
* `operand` - the declared object its name operand must be (`Operand`: the declaration kinds
  accepted, and the word resolve's IRQ102/IRQ103 messages use for it); None when the operand
  is not a declared name (none, a number, a line, a return value) or is checked by hand (`eoi`).
* `acts_on` - the object kind the statement changes or reads (`Object`), for readers that
  group statements by object (docs, repairs, the contexts graph).
* `place` - where it may appear (`Place`): anywhere, only in a handler (`iret`), only in a
  handler bound with request_irq (`return`). Everything else is judged by the checks
  (sleeping in atomic context is `no_sleep_in_atomic`, not a resolve error).
* `layer` - `Layer.BARE` for the hardware/bare-metal statements (resolve's first group,
  lowered by spec/lower.py), `Layer.KERNEL` for the Linux layer (spec/prims/, through spec/dispatch.py).
* `shape` - how the CFG builder compiles it (`Shape`): one step, an inlined call, the frame
  end, a three-step wait, ... (spec/cfg.py).
* `sleeps` - it may sleep (schedule()): judged by `no_sleep_in_atomic` (D4) and moved out of
  atomic sections by the repairs.
* `lock` - the lock it acquires or releases (`LockUse`: acquire/release, spinlock/mutex, the
  flavour, the statement that undoes it), None if it takes no lock.
* `irq_flags` - what it does to this CPU's IF itself (`Flags`); `iret` restores the
  interrupted context's IF as part of the frame return, which is not an IF operation of its
  own (`Flags.NONE`).
* `bh` - what it does to the task's BH-disable count (`Flags.DISABLE`: +1, `Flags.ENABLE`: -1).
* `preempt` - what it does to the task's preempt count (`Flags.DISABLE`: +1, `Flags.ENABLE`: -1).
* `primitive` - the name of the primitive that lowers it (one word per kernel or hardware
  mechanism: `irq_flags`, `spinlock`, `mutex`, `wait_queue`, `genirq`, ...).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Syntax(Enum):
    """The operand form, i.e. the grammar rule (grammar/irq.lark) that parses the statement."""

    BARE = "op0"              # `cli`: no operand
    NAME = "op1"              # `spin_lock L`: a declared name
    IRQ = "irqop"             # `disable_irq 3`: a Linux IRQ number
    WAIT = "waitop"           # `wait_event Q until EXPR`: a wait queue and a condition
    LINE = "line"             # `mask master.3`: a controller input
    NUMBER = "number"         # `int 0x80`, `fault 14`: a vector
    EOI = "eoi"               # `eoi`, `eoi PIC`, `eoi PIC.N`
    RETURN = "return"         # `return handled|none|wake_thread`
    TEST = "testop"           # `if test_and_set F { }`: an atomic read-modify-write that is a condition
    SEQ = "seqop"             # `read_seq S { ... }`: a sequence and a block (read_seqbegin ... read_seqretry)


class Object(Enum):
    """What a statement acts on."""

    NOTHING = "nothing"
    IF = "the CPU's IF flag"
    BH = "the task's BH-disable count"
    PREEMPT = "the task's preempt count"
    FRAME = "the interrupt frame"
    CONTROLLER = "an interrupt controller"
    LINE = "a controller input"
    DEVICE = "a device"
    VECTOR = "an IDT vector"
    DATA = "shared data"
    FLAG = "a flag"
    COUNTER = "a counter"
    FUNCTION = "a function"
    SPINLOCK = "a spinlock"
    RWLOCK = "a readers-writer lock"
    SEQUENCE = "a seqcount or seqlock's sequence"
    MUTEX = "a mutex"
    WAIT_QUEUE = "a wait queue"
    COMPLETION = "a completion"
    TASK = "the running task"
    SOFTIRQ = "a softirq"
    TASKLET = "a tasklet"
    WORK = "a work item"
    TIMER = "a timer (timer_list or hrtimer)"
    IRQ = "a Linux IRQ line (request_irq)"


class Place(Enum):
    """Where a statement may appear (resolve refuses it elsewhere)."""

    ANY = "any code context"
    HANDLER = "a handler"                      # IRQ303 elsewhere
    GENIRQ_HANDLER = "a request_irq handler"   # IRQ307 elsewhere


class Layer(Enum):
    """Which part of the semantics gives the statement its meaning."""

    BARE = "bare metal and x86"
    KERNEL = "the Linux kernel layer"


class Shape(Enum):
    """How the CFG builder (spec/cfg.py) compiles a statement into locations."""

    STEP = "one location"
    CALL = "call location, the inlined body, ret location"
    IRET = "an iret location (the end of the frame)"
    RETURN = "one location that continues at the flow handler's `handlers done`"
    WAIT = "wait_prepare, wait_test, wait_sleep (W2)"
    SLEEP_ON = "wait_prepare, wait_sleep (W1)"
    SYNC = "sync_wait: wait while a handler of the IRQ runs"
    STEP_THEN_SYNC = "one location (depth++), then sync_wait (disable_irq)"
    SYNC_THEN_STEP = "sync_wait, then one location (free_irq)"
    TEST = "a test location: the read-modify-write and the branch in one step (R4)"
    SCHEDULE = "wait_sleep: sleep while marked sleeping (R5), waiting for what the enclosing tests say (W1)"
    COMPLETION = "wait_prepare (done? take it : queue and sleep), wait_sleep (woken: take it or sleep again) (R6)"
    CANCEL = "one location whose step waits while the timer's callback runs (R7: a spin, not a sleep)"
    RETRY = "seq_begin, the block, seq_retry back to seq_begin while the sequence changed (R2)"
    PROBE_ON = "one location (start the unused lines up), then probe_wait (msleep, drop the lines that fired, C2)"


class Flags(Enum):
    """An effect on IF or on the BH-disable count."""

    NONE = "nothing"
    DISABLE = "off (cli, spin_lock_irq; BH: +1)"
    ENABLE = "on (sti, spin_unlock_irq; BH: -1)"
    SAVE = "save, then off (local_irq_save, spin_lock_irqsave)"
    RESTORE = "restore the saved value"


@dataclass(frozen=True, slots=True)
class Operand:
    """A name operand: the declaration kinds accepted and the word for them in messages."""

    kinds: tuple[str, ...]
    what: str


@dataclass(frozen=True, slots=True)
class LockUse:
    """`acquire` or release of a `kind` lock (spinlock | mutex | rwlock) of `flavour` (plain | irqsave
    | irq | bh | mutex); `pair` is the statement that undoes it (the release of an acquire and back);
    `read`: an rwlock's reader side (`read_lock*`, R1), False for its writer and every other lock."""

    acquire: bool
    kind: str
    flavour: str
    pair: str
    read: bool = False


@dataclass(frozen=True, slots=True)
class Statement:
    """One statement of `.irq` (see the module docstring for what each field means)."""

    keyword: str
    syntax: Syntax
    acts_on: Object
    primitive: str
    layer: Layer
    operand: Operand | None = None
    place: Place = Place.ANY
    shape: Shape = Shape.STEP
    sleeps: bool = False
    lock: LockUse | None = None
    irq_flags: Flags = Flags.NONE
    bh: Flags = Flags.NONE
    preempt: Flags = Flags.NONE


@dataclass(frozen=True, slots=True)
class Declaration:
    """One declaration keyword: `rule` the grammar rule (objkind, codekind, or its own rule
    named `<keyword>_decl`); `declares` the kind of name it introduces (the kind resolve's
    `want` compares with: controller, device, spinlock, handler, ...; "" for none); `context`
    for code: hardirq | softirq | task | function (process context may sleep), else ""."""

    keyword: str
    rule: str
    declares: str
    context: str = ""


_BARE, _KERNEL = Layer.BARE, Layer.KERNEL
_LOCK = Operand(("spinlock",), "spinlock")
_MUTEX = Operand(("mutex",), "mutex")
_RWLOCK = Operand(("rwlock",), "rwlock")
_SEQLOCK = Operand(("seqlock",), "seqlock")
_SEQCOUNT = Operand(("seqcount",), "seqcount")
_SEQUENCE = Operand(("seqcount", "seqlock"), "seqcount or seqlock")
_QUEUE = Operand(("waitqueue",), "waitqueue")
_COMPLETION = Operand(("completion",), "completion")
_COUNTER = Operand(("counter",), "counter")
_FLAG = Operand(("flag",), "flag")
_TIMER = Operand(("timer",), "timer")
_HRTIMER = Operand(("hrtimer",), "hrtimer")


def _timer(keyword: str, operand: Operand, shape: Shape = Shape.STEP) -> Statement:
    """A timer statement (R7): arm, deactivate, or deactivate once the callback is not running."""
    return Statement(keyword, Syntax.NAME, Object.TIMER, "timer", _KERNEL, operand, shape=shape)


def _spin(keyword: str, pair: str, flavour: str, acquire: bool, irq: Flags, bh: Flags) -> Statement:
    return Statement(keyword, Syntax.NAME, Object.SPINLOCK, "spinlock", _KERNEL, _LOCK,
                     lock=LockUse(acquire, "spinlock", flavour, pair), irq_flags=irq, bh=bh)


def _rw(side: str, flavour: str, irq: Flags, bh: Flags) -> tuple[Statement, Statement]:
    """An rwlock's acquire and release of one side (read | write) and flavour (R1): the IF/BH effects
    are the spinlock flavour's (K1), `_irqsave` pairs with `_irqrestore`."""
    suffix = {"plain": ("", ""), "irqsave": ("_irqsave", "_irqrestore"), "irq": ("_irq", "_irq"),
              "bh": ("_bh", "_bh")}[flavour]
    take, drop = f"{side}_lock{suffix[0]}", f"{side}_unlock{suffix[1]}"
    undo = {Flags.SAVE: Flags.RESTORE, Flags.DISABLE: Flags.ENABLE, Flags.NONE: Flags.NONE}
    read = side == "read"
    return (Statement(take, Syntax.NAME, Object.RWLOCK, "rwlock", _KERNEL, _RWLOCK,
                      lock=LockUse(True, "rwlock", flavour, drop, read), irq_flags=irq, bh=bh),
            Statement(drop, Syntax.NAME, Object.RWLOCK, "rwlock", _KERNEL, _RWLOCK,
                      lock=LockUse(False, "rwlock", flavour, take, read), irq_flags=undo[irq], bh=undo[bh]))


def _seqlock(flavour: str, irq: Flags, bh: Flags) -> tuple[Statement, Statement]:
    """A seqlock's writer of one flavour (R2): `write_seqlock*` is its spinlock's acquisition of that
    flavour (K1) and the sequence made odd in one step, `write_sequnlock*` the sequence made even and the
    release (include/linux/seqlock.h write_seqlock: spin_lock, then write_seqcount_begin)."""
    suffix = {"plain": ("", ""), "irqsave": ("_irqsave", "_irqrestore"), "irq": ("_irq", "_irq"),
              "bh": ("_bh", "_bh")}[flavour]
    take, drop = f"write_seqlock{suffix[0]}", f"write_sequnlock{suffix[1]}"
    undo = {Flags.SAVE: Flags.RESTORE, Flags.DISABLE: Flags.ENABLE, Flags.NONE: Flags.NONE}
    return (Statement(take, Syntax.NAME, Object.SEQUENCE, "seqlock", _KERNEL, _SEQLOCK,
                      lock=LockUse(True, "spinlock", flavour, drop), irq_flags=irq, bh=bh),
            Statement(drop, Syntax.NAME, Object.SEQUENCE, "seqlock", _KERNEL, _SEQLOCK,
                      lock=LockUse(False, "spinlock", flavour, take), irq_flags=undo[irq], bh=undo[bh]))


def _irq_call(keyword: str, shape: Shape, sleeps: bool) -> Statement:
    return Statement(keyword, Syntax.IRQ, Object.IRQ, "genirq", _KERNEL, shape=shape, sleeps=sleeps)


_N = Flags.NONE

STATEMENTS: tuple[Statement, ...] = (
    # ---- bare metal and x86 (spec/lower.py)
    Statement("cli", Syntax.BARE, Object.IF, "irq_flags", _BARE, irq_flags=Flags.DISABLE),
    Statement("sti", Syntax.BARE, Object.IF, "irq_flags", _BARE, irq_flags=Flags.ENABLE),
    Statement("iret", Syntax.BARE, Object.FRAME, "iret", _BARE, place=Place.HANDLER, shape=Shape.IRET),
    Statement("nop", Syntax.BARE, Object.NOTHING, "nop", _BARE),
    Statement("eoi", Syntax.EOI, Object.CONTROLLER, "eoi", _BARE),
    Statement("mask", Syntax.LINE, Object.LINE, "imr", _BARE),
    Statement("unmask", Syntax.LINE, Object.LINE, "imr", _BARE),
    Statement("ack", Syntax.NAME, Object.DEVICE, "device_ack", _BARE, Operand(("device",), "device")),
    Statement("kick", Syntax.NAME, Object.DEVICE, "device_kick", _BARE, Operand(("device",), "device")),
    Statement("read", Syntax.NAME, Object.DATA, "data", _BARE,
              Operand(("data", "flag", "counter", "percpu"), "data object")),
    Statement("write", Syntax.NAME, Object.DATA, "data", _BARE,
              Operand(("data", "flag", "counter", "percpu"), "data object")),
    Statement("set", Syntax.NAME, Object.FLAG, "flag", _BARE, Operand(("flag",), "flag")),
    Statement("clear", Syntax.NAME, Object.FLAG, "flag", _BARE, Operand(("flag",), "flag")),
    Statement("inc", Syntax.NAME, Object.COUNTER, "counter", _BARE, Operand(("counter",), "counter")),
    Statement("dec", Syntax.NAME, Object.COUNTER, "counter", _BARE, Operand(("counter",), "counter")),
    Statement("call", Syntax.NAME, Object.FUNCTION, "call", _BARE, Operand(("function",), "function"),
              shape=Shape.CALL),
    Statement("int", Syntax.NUMBER, Object.VECTOR, "x86_sync", _BARE),
    Statement("fault", Syntax.NUMBER, Object.VECTOR, "x86_sync", _BARE),
    # ---- the Linux kernel layer (spec/prims/)
    Statement("local_irq_save", Syntax.BARE, Object.IF, "irq_flags", _KERNEL, irq_flags=Flags.SAVE),
    Statement("local_irq_restore", Syntax.BARE, Object.IF, "irq_flags", _KERNEL, irq_flags=Flags.RESTORE),
    Statement("local_irq_disable", Syntax.BARE, Object.IF, "irq_flags", _KERNEL, irq_flags=Flags.DISABLE),
    Statement("local_irq_enable", Syntax.BARE, Object.IF, "irq_flags", _KERNEL, irq_flags=Flags.ENABLE),
    Statement("preempt_disable", Syntax.BARE, Object.PREEMPT, "preempt", _KERNEL, preempt=Flags.DISABLE),
    Statement("preempt_enable", Syntax.BARE, Object.PREEMPT, "preempt", _KERNEL, preempt=Flags.ENABLE),
    Statement("local_bh_disable", Syntax.BARE, Object.BH, "bh", _KERNEL, bh=Flags.DISABLE),
    Statement("local_bh_enable", Syntax.BARE, Object.BH, "bh", _KERNEL, bh=Flags.ENABLE),
    _spin("spin_lock", "spin_unlock", "plain", True, _N, _N),
    _spin("spin_unlock", "spin_lock", "plain", False, _N, _N),
    _spin("spin_lock_irqsave", "spin_unlock_irqrestore", "irqsave", True, Flags.SAVE, _N),
    _spin("spin_unlock_irqrestore", "spin_lock_irqsave", "irqsave", False, Flags.RESTORE, _N),
    _spin("spin_lock_irq", "spin_unlock_irq", "irq", True, Flags.DISABLE, _N),
    _spin("spin_unlock_irq", "spin_lock_irq", "irq", False, Flags.ENABLE, _N),
    _spin("spin_lock_bh", "spin_unlock_bh", "bh", True, _N, Flags.DISABLE),
    _spin("spin_unlock_bh", "spin_lock_bh", "bh", False, _N, Flags.ENABLE),
    *[st for side in ("read", "write") for st in (
        *_rw(side, "plain", _N, _N), *_rw(side, "irqsave", Flags.SAVE, _N),
        *_rw(side, "irq", Flags.DISABLE, _N), *_rw(side, "bh", _N, Flags.DISABLE))],
    # seqcount / seqlock (R2): writers make the sequence odd, then even; readers retry
    *_seqlock("plain", _N, _N), *_seqlock("irqsave", Flags.SAVE, _N), *_seqlock("irq", Flags.DISABLE, _N),
    *_seqlock("bh", _N, Flags.DISABLE),
    Statement("write_seqcount_begin", Syntax.NAME, Object.SEQUENCE, "seqlock", _KERNEL, _SEQCOUNT),
    Statement("write_seqcount_end", Syntax.NAME, Object.SEQUENCE, "seqlock", _KERNEL, _SEQCOUNT),
    Statement("read_seq", Syntax.SEQ, Object.SEQUENCE, "seqlock", _KERNEL, _SEQUENCE, shape=Shape.RETRY),
    Statement("mutex_lock", Syntax.NAME, Object.MUTEX, "mutex", _KERNEL, _MUTEX, sleeps=True,
              lock=LockUse(True, "mutex", "mutex", "mutex_unlock")),
    Statement("mutex_unlock", Syntax.NAME, Object.MUTEX, "mutex", _KERNEL, _MUTEX,
              lock=LockUse(False, "mutex", "mutex", "mutex_lock")),
    Statement("sleep", Syntax.BARE, Object.TASK, "sleep", _KERNEL, sleeps=True),
    Statement("udelay", Syntax.BARE, Object.TASK, "delay", _KERNEL),
    Statement("mdelay", Syntax.BARE, Object.TASK, "delay", _KERNEL),
    Statement("msleep", Syntax.BARE, Object.TASK, "delay", _KERNEL, sleeps=True),
    Statement("wake_up", Syntax.NAME, Object.WAIT_QUEUE, "wait_queue", _KERNEL, _QUEUE),
    Statement("sleep_on", Syntax.NAME, Object.WAIT_QUEUE, "wait_queue", _KERNEL, _QUEUE, shape=Shape.SLEEP_ON,
              sleeps=True),
    Statement("wait_event", Syntax.WAIT, Object.WAIT_QUEUE, "wait_queue", _KERNEL, _QUEUE, shape=Shape.WAIT,
              sleeps=True),
    Statement("epoll_wait", Syntax.WAIT, Object.WAIT_QUEUE, "wait_queue", _KERNEL, _QUEUE, shape=Shape.WAIT,
              sleeps=True),
    # the wait-queue API (R5): explicit queue entries, exclusive waiters, timeouts
    Statement("prepare_to_wait", Syntax.NAME, Object.WAIT_QUEUE, "wait_queue", _KERNEL, _QUEUE),
    Statement("prepare_to_wait_exclusive", Syntax.NAME, Object.WAIT_QUEUE, "wait_queue", _KERNEL, _QUEUE),
    Statement("finish_wait", Syntax.NAME, Object.WAIT_QUEUE, "wait_queue", _KERNEL, _QUEUE),
    Statement("schedule", Syntax.BARE, Object.TASK, "wait_queue", _KERNEL, shape=Shape.SCHEDULE, sleeps=True),
    Statement("schedule_timeout", Syntax.BARE, Object.TASK, "wait_queue", _KERNEL, shape=Shape.SCHEDULE,
              sleeps=True),
    Statement("wait_event_exclusive", Syntax.WAIT, Object.WAIT_QUEUE, "wait_queue", _KERNEL, _QUEUE,
              shape=Shape.WAIT, sleeps=True),
    Statement("wait_event_timeout", Syntax.WAIT, Object.WAIT_QUEUE, "wait_queue", _KERNEL, _QUEUE,
              shape=Shape.WAIT, sleeps=True),
    Statement("wake_up_all", Syntax.NAME, Object.WAIT_QUEUE, "wait_queue", _KERNEL, _QUEUE),
    # completions (R6)
    Statement("complete", Syntax.NAME, Object.COMPLETION, "completion", _KERNEL, _COMPLETION),
    Statement("complete_all", Syntax.NAME, Object.COMPLETION, "completion", _KERNEL, _COMPLETION),
    Statement("reinit_completion", Syntax.NAME, Object.COMPLETION, "completion", _KERNEL, _COMPLETION),
    Statement("wait_for_completion", Syntax.NAME, Object.COMPLETION, "completion", _KERNEL, _COMPLETION,
              shape=Shape.COMPLETION, sleeps=True),
    Statement("wait_for_completion_timeout", Syntax.NAME, Object.COMPLETION, "completion", _KERNEL, _COMPLETION,
              shape=Shape.COMPLETION, sleeps=True),
    Statement("raise_softirq", Syntax.NAME, Object.SOFTIRQ, "softirq", _KERNEL, Operand(("softirq",), "softirq")),
    Statement("tasklet_schedule", Syntax.NAME, Object.TASKLET, "tasklet", _KERNEL,
              Operand(("tasklet",), "tasklet")),
    Statement("queue_work", Syntax.NAME, Object.WORK, "work", _KERNEL, Operand(("work",), "work")),
    # timers (R7): mod_timer/hrtimer_start arm, del_timer/hrtimer_try_to_cancel never wait,
    # del_timer_sync/hrtimer_cancel wait for a running callback
    _timer("mod_timer", _TIMER), _timer("del_timer", _TIMER), _timer("del_timer_sync", _TIMER, Shape.CANCEL),
    _timer("hrtimer_start", _HRTIMER), _timer("hrtimer_cancel", _HRTIMER, Shape.CANCEL),
    _timer("hrtimer_try_to_cancel", _HRTIMER),
    _irq_call("disable_irq_nosync", Shape.STEP, False),
    _irq_call("disable_irq", Shape.STEP_THEN_SYNC, True),
    _irq_call("enable_irq", Shape.STEP, False),
    _irq_call("free_irq", Shape.SYNC_THEN_STEP, True),
    _irq_call("synchronize_irq", Shape.SYNC, True),
    # atomics (R4): one indivisible step each; the conditionals are `if`/`while` conditions
    Statement("atomic_inc", Syntax.NAME, Object.COUNTER, "atomic", _KERNEL, _COUNTER),
    Statement("atomic_dec", Syntax.NAME, Object.COUNTER, "atomic", _KERNEL, _COUNTER),
    Statement("atomic_dec_and_test", Syntax.TEST, Object.COUNTER, "atomic", _KERNEL, _COUNTER, shape=Shape.TEST),
    Statement("test_and_set", Syntax.TEST, Object.FLAG, "atomic", _KERNEL, _FLAG, shape=Shape.TEST),
    Statement("test_and_clear", Syntax.TEST, Object.FLAG, "atomic", _KERNEL, _FLAG, shape=Shape.TEST),
    # IRQ probing (C2, kernel/irq/autoprobe.c): probe_irq_on sleeps (msleep) under the probing mutex
    Statement("probe_irq_on", Syntax.BARE, Object.IRQ, "probe", _KERNEL, shape=Shape.PROBE_ON, sleeps=True),
    Statement("probe_irq_off", Syntax.NAME, Object.IRQ, "probe", _KERNEL, Operand(("probe",), "probe")),
    Statement("return", Syntax.RETURN, Object.IRQ, "genirq", _KERNEL, place=Place.GENIRQ_HANDLER,
              shape=Shape.RETURN),
)

DECLARATIONS: tuple[Declaration, ...] = (
    Declaration("system", "system_decl", ""),
    Declaration("cpus", "cpus_decl", ""),
    Declaration("pic", "pic_decl", "controller"),
    Declaration("apic", "apic_decl", "controller"),
    Declaration("ioapic", "ioapic_decl", "controller"),
    Declaration("device", "device_decl", "device"),
    Declaration("idt", "idt_decl", ""),
    Declaration("request_irq", "request_irq_decl", ""),
    Declaration("spinlock", "objkind", "spinlock"),
    Declaration("mutex", "objkind", "mutex"),
    Declaration("rwlock", "objkind", "rwlock"),
    Declaration("seqlock", "objkind", "seqlock"),
    Declaration("seqcount", "objkind", "seqcount"),
    Declaration("data", "objkind", "data"),
    Declaration("percpu", "percpu_decl", "percpu"),
    Declaration("waitqueue", "objkind", "waitqueue"),
    Declaration("completion", "objkind", "completion"),
    Declaration("flag", "flag_decl", "flag"),
    Declaration("counter", "counter_decl", "counter"),
    Declaration("handler", "codekind", "handler", "hardirq"),
    Declaration("irq_thread", "codekind", "irq_thread", "task"),
    Declaration("softirq", "codekind", "softirq", "softirq"),
    Declaration("tasklet", "codekind", "tasklet", "softirq"),
    Declaration("work", "codekind", "work", "task"),
    Declaration("timer", "codekind", "timer", "softirq"),     # R7: TIMER_SOFTIRQ
    Declaration("hrtimer", "codekind", "hrtimer", "hardirq"),  # R7: hard IRQ, `soft`: HRTIMER_SOFTIRQ
    Declaration("function", "codekind", "function", "function"),
    Declaration("thread", "thread_ref", "thread", "task"),
    Declaration("probe", "probe_decl", "probe"),
    Declaration("check", "check_decl", ""),
)

STATEMENT: dict[str, Statement] = {s.keyword: s for s in STATEMENTS}
DECLARATION: dict[str, Declaration] = {d.keyword: d for d in DECLARATIONS}
assert len(STATEMENT) == len(STATEMENTS) and len(DECLARATION) == len(DECLARATIONS), "a keyword declared twice"

# ---- derived views (never written out by hand elsewhere) ------------------------------------
STATEMENT_KEYWORDS = frozenset(STATEMENT)
DECLARATION_KEYWORDS = frozenset(DECLARATION)
BARE_STATEMENTS = frozenset(s.keyword for s in STATEMENTS if s.layer is Layer.BARE)
KERNEL_STATEMENTS = frozenset(s.keyword for s in STATEMENTS if s.layer is Layer.KERNEL)
SLEEPING = frozenset(s.keyword for s in STATEMENTS if s.sleeps)
ACQUIRES = frozenset(s.keyword for s in STATEMENTS if s.lock is not None and s.lock.acquire)
RELEASES = frozenset(s.keyword for s in STATEMENTS if s.lock is not None and not s.lock.acquire)
# spinlock acquire -> its release, in table order (resolve.SPIN_OPS, the repairs)
SPIN_PAIRS: dict[str, str] = {s.keyword: s.lock.pair for s in STATEMENTS
                              if s.lock is not None and s.lock.acquire and s.lock.kind == "spinlock"}
# rwlock statements (R1): the reader side's and the writer side's acquisitions
RW_READ_ACQUIRES = frozenset(s.keyword for s in STATEMENTS if s.lock is not None and s.lock.kind == "rwlock"
                             and s.lock.acquire and s.lock.read)
RW_WRITE_ACQUIRES = frozenset(s.keyword for s in STATEMENTS if s.lock is not None and s.lock.kind == "rwlock"
                              and s.lock.acquire and not s.lock.read)
RW_OPS = frozenset(s.keyword for s in STATEMENTS if s.lock is not None and s.lock.kind == "rwlock")
# seqcount/seqlock statements (R2): every one, and the writers' beginnings and ends (the statements
# that make the sequence odd / even again)
SEQ_OPS = frozenset(s.keyword for s in STATEMENTS if s.primitive == "seqlock")
SEQ_WRITE_BEGINS = frozenset(s.keyword for s in STATEMENTS if s.primitive == "seqlock" and s.syntax is Syntax.NAME
                             and (s.lock.acquire if s.lock is not None else s.keyword.endswith("_begin")))
SEQ_WRITE_ENDS = frozenset(s.keyword for s in STATEMENTS if s.primitive == "seqlock" and s.syntax is Syntax.NAME
                           ) - SEQ_WRITE_BEGINS
# the IF/BH effects by table row (K1): the statements that save IF, that disable BH, and every user
SAVE_OPS = tuple(s.keyword for s in STATEMENTS if s.irq_flags is Flags.SAVE)
SAVE_USES = frozenset(s.keyword for s in STATEMENTS if s.irq_flags in (Flags.SAVE, Flags.RESTORE))
BH_OFF_OPS = tuple(s.keyword for s in STATEMENTS if s.bh is Flags.DISABLE)
BH_USES = frozenset(s.keyword for s in STATEMENTS if s.bh is not Flags.NONE)
PREEMPT_OFF_OPS = tuple(s.keyword for s in STATEMENTS if s.preempt is Flags.DISABLE)
PREEMPT_USES = frozenset(s.keyword for s in STATEMENTS if s.preempt is not Flags.NONE)
# statements whose operand is a Linux IRQ number (checked against the request_irq bindings)
IRQ_CALLS = frozenset(s.keyword for s in STATEMENTS if s.syntax is Syntax.IRQ)
# process context: scheduled, may sleep, may be placed `on cpuK`
TASK_KINDS = frozenset(d.keyword for d in DECLARATIONS if d.context == "task")
# the primitives that lower statements (each a mechanism of the hardware or the kernel)
PRIMITIVES = frozenset(s.primitive for s in STATEMENTS)
# softirq context: softirqs and tasklets
SOFTIRQ_KINDS = frozenset(d.keyword for d in DECLARATIONS if d.context == "softirq")
# timer callbacks (R7) and the statements that wait for a running one (del_timer_sync, hrtimer_cancel)
TIMER_KINDS = frozenset(d.keyword for d in DECLARATIONS if d.declares in ("timer", "hrtimer"))
CANCEL_WAITS = frozenset(s.keyword for s in STATEMENTS if s.shape is Shape.CANCEL)
# statements that read or write shared data (data races, the contexts graph)
DATA_ACCESSES = frozenset(s.keyword for s in STATEMENTS if s.acts_on is Object.DATA)
# atomic read-modify-writes of a counter or flag (R4): never a data race with each other
ATOMICS = frozenset(s.keyword for s in STATEMENTS if s.primitive == "atomic")
# the atomic conditionals (`if test_and_set F { }`): tests that also write (Shape.TEST)
ATOMIC_TESTS = frozenset(s.keyword for s in STATEMENTS if s.shape is Shape.TEST)
# timed waits (R5, R6): they may return without a wake-up; `if woken` tests how the last one ended
TIMED_WAITS = frozenset({"schedule_timeout", "wait_event_timeout", "wait_for_completion_timeout"})
# waits with an explicit queue entry (R5, R6): the task's place in the queue is a variable of its own
ENTRY_OPS = frozenset({"prepare_to_wait", "prepare_to_wait_exclusive", "wait_event_exclusive", "wait_event_timeout",
                       "wait_for_completion", "wait_for_completion_timeout"})
EXCLUSIVE_OPS = frozenset({"prepare_to_wait_exclusive", "wait_event_exclusive", "wait_for_completion",
                           "wait_for_completion_timeout"})


def lock_use(keyword: str) -> LockUse:
    """The lock a statement takes or drops (KeyError for a statement that takes no lock)."""
    lock = STATEMENT[keyword].lock
    if lock is None:
        raise KeyError(keyword)
    return lock


def by_syntax(syntax: Syntax) -> tuple[str, ...]:
    """The keywords parsed by one grammar rule, in table order."""
    return tuple(s.keyword for s in STATEMENTS if s.syntax is syntax)


def declared_by(rule: str) -> tuple[str, ...]:
    """The declaration keywords of one grammar rule (objkind, codekind, ...), in table order."""
    return tuple(d.keyword for d in DECLARATIONS if d.rule == rule)
