"""The check catalogue: every check declared once, with what engines and formats need to know.

Everything else reads it: the grammar's check names and the report order (spec/resolve.py), the
defaults, which checks take a parameter, which the Promela export carries (checker/promela.py),
the SARIF rule texts (checker/formats.py), how a violation is presented (checker/pipeline.py) and the
command line"s `--check` (checker/cli.py). A check"s rule lives in docs/semantics.md.

Kinds: SAFETY - a state property or a tagged transition, found during the search (shortest trace);
DEADLOCK - state properties plus the graph analyses of quiet states and per-context waits (D0);
LIVENESS - requests judged on the state graph under fairness (lassos); FACTS - judged over every
reachable fact after the search (lockdep).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum


class Kind(Enum):
    SAFETY = "safety"
    DEADLOCK = "deadlock"
    LIVENESS = "liveness"
    FACTS = "facts"


class Presented(Enum):
    """What the report adds to a violation's message."""

    PLAIN = "plain"        # the message as the lowering wrote it
    STACKS = "stacks"      # each CPU's frames in the last state (reentry, nesting, races)
    STUCK = "stuck"        # the contexts that can never move again (a quiet-state deadlock)
    TERMINAL = "terminal"  # a liveness run that ends: "after the last step no CPU can take it"


@dataclass(frozen=True)
class CheckInfo:
    name: str
    kind: Kind
    default: bool           # on when a model has no `check` line
    param: str | None       # `check max_nesting N`, `check invariant EXPR`
    exported: bool          # carried by the Promela export (as assertions)
    presented: Presented
    implicit: bool          # not a `check` line of its own: runs wherever it applies (counter_range)
    short: str
    full: str
    # when several liveness requests of this check fail, how the shallowest one's message names the
    # others: (where a message's subject ends, the text before the others' subjects); None: it does not
    others: tuple[str, str] | None = None
    # judged on the whole state graph after the search even when the model gives it no request or
    # wait: while it is enabled the search keeps the full graph (no reductions, no early stop)
    whole_graph: bool = False
    # on by default only for designs whose `Design` attribute of this name is non-empty (probe_irq:
    # `probes`); a `check` line or --check naming it runs it anyway
    when: str | None = None


CATALOGUE: tuple[CheckInfo, ...] = (
    CheckInfo("no_lost_irq", Kind.SAFETY, default=True, param=None, exported=True,
              presented=Presented.PLAIN, implicit=False,
              short="An interrupt request is lost",
              full=("An edge arrives while the same request is still latched (8259A IRR, APIC IRR, genirq PENDING), "
              "so the controller drops it.")),
    CheckInfo("no_starvation", Kind.LIVENESS, default=True, param=None, exported=False,
              presented=Presented.TERMINAL, implicit=False,
              short="A raised interrupt request is never delivered",
              full=("On some fair run a raised request is never delivered: a missing EOI, a line masked for ever, cli "
              "for ever, a higher-priority line firing for ever, or a line the kernel disables because it keeps "
              "interrupting and every run of its handlers returns IRQ_NONE (nobody cared). CPUs keep executing (weak fairness) and "
              "take a request that is deliverable again and again (strong fairness for interrupt acknowledge)."),
              others=(" is raised", "; also never delivered on some run: "), whole_graph=True),
    CheckInfo("no_irq_storm", Kind.LIVENESS, default=True, param=None, exported=False,
              presented=Presented.PLAIN, implicit=False,
              short="Interrupts sustain themselves and a CPU never runs its tasks again",
              full=("On some fair run a CPU takes interrupts again and again while no device acts, and none of its "
              "tasks ever runs again although one could: a level line nobody quiets, a threaded handler on a level "
              "line without IRQF_ONESHOT, an EOI that lets a still-asserted line in again. A device that merely "
              "keeps raising is not a storm.")),
    CheckInfo("no_deadlock", Kind.DEADLOCK, default=True, param=None, exported=True,
              presented=Presented.STUCK, implicit=False,
              short="A context waits for ever",
              full=("A context blocked on a lock or on an IRQ wait that no continuation releases, whatever other CPUs "
              "and devices keep doing (a circular wait, a lock held by a finished context, a holder that never "
              "reaches its release); no CPU can ever step again while some context is unfinished; AA, ABBA, a "
              "handler spinning on a lock held by what it interrupted on its CPU, "
              "disable_irq/free_irq/synchronize_irq inside the IRQ's own handler."), whole_graph=True),
    CheckInfo("no_reentry", Kind.SAFETY, default=True, param=None, exported=True,
              presented=Presented.STACKS, implicit=False,
              short="A non-reentrant handler or function is entered twice",
              full=("A handler or function not declared reentrant is active twice at once (nested on one CPU, or on "
              "two CPUs).")),
    CheckInfo("no_sleep_in_atomic", Kind.SAFETY, default=True, param=None, exported=True,
              presented=Presented.PLAIN, implicit=False,
              short="A sleeping statement in atomic context",
              full=("A statement that may sleep (mutex_lock, wait_event, sleep, disable_irq, synchronize_irq, "
              "free_irq...) runs in hardirq or softirq context, under a spinlock, with IRQs off or with bottom "
              "halves disabled: the kernel's 'BUG: sleeping function called from invalid context'.")),
    CheckInfo("no_lost_wakeup", Kind.LIVENESS, default=True, param=None, exported=False,
              presented=Presented.PLAIN, implicit=False,
              short="A task sleeps for ever although its condition is true",
              full=("A task waiting on a wait queue never wakes up although the condition it waits for holds: the "
              "wake-up came between its test of the condition and its sleep (use wait_event, or set the "
              "condition before wake_up).")),
    CheckInfo("no_data_race", Kind.SAFETY, default=True, param=None, exported=True,
              presented=Presented.STACKS, implicit=False,
              short="Two contexts access the same data at once, one writing",
              full=("Two contexts, nested on one CPU or running on two CPUs, can access the same `data` at the same "
              "time and at least one of them writes it, without a lock or IRQ/BH disabling that orders them.")),
    CheckInfo("lockdep", Kind.FACTS, default=True, param=None, exported=False,
              presented=Presented.PLAIN, implicit=False,
              short="lockdep would report a locking rule violation",
              full=("Judged over every reachable usage, as lockdep does: a lock taken in hardirq (softirq) context "
              "and elsewhere with hardirqs (softirqs) enabled, a lock-order cycle, a hardirq-safe lock taken "
              "before a hardirq-unsafe one, or recursive locking.")),
    CheckInfo("eoi_balanced", Kind.SAFETY, default=True, param=None, exported=True,
              presented=Presented.PLAIN, implicit=False,
              short="EOI and IRET do not match the interrupts in service",
              full=("An EOI with nothing in service or under auto-EOI, an EOI from a spurious IRQ7 entry or from a "
              "request_irq handler, an IRET with the handler's own interrupt (or a slave's master level) still "
              "in service, an unbalanced enable_irq, or a request_irq handler that returns with interrupts "
              "enabled (the kernel's WARN).")),
    CheckInfo("no_gp", Kind.SAFETY, default=True, param=None, exported=True,
              presented=Presented.PLAIN, implicit=False,
              short="A general protection fault or a missing gate",
              full=("`int n` from a privilege level above the gate's DPL (#GP), or an exception or `int` through an "
              "IDT entry that is not there (#NP).")),
    CheckInfo("no_double_fault", Kind.SAFETY, default=True, param=None, exported=True,
              presented=Presented.PLAIN, implicit=False,
              short="A double or triple fault",
              full=("A contributory or page fault while delivering a page fault or a contributory one raises #DF; a "
              "failed #DF delivery is a triple fault (the CPU resets).")),
    CheckInfo("max_nesting", Kind.SAFETY, default=False, param="N", exported=True,
              presented=Presented.STACKS, implicit=False,
              short="Interrupt frames nest deeper than the bound",
              full=("More than N interrupt frames (`check max_nesting N`) are nested on one CPU's stack.")),
    CheckInfo("invariant", Kind.SAFETY, default=False, param="EXPR", exported=True,
              presented=Presented.PLAIN, implicit=False,
              short="The model's invariant is false in a reachable state",
              full=("A state predicate over flags and counters (`check invariant EXPR`) is false in some reachable "
              "state.")),
    CheckInfo("probe_irq", Kind.SAFETY, default=True, param=None, exported=True,
              presented=Presented.PLAIN, implicit=False,
              short="IRQ probing can find the wrong line",
              full=("`probe_irq_off P` can return something other than the IRQ of the device `probe P for DEV` "
                    "names: 0 (nothing fired), another line, or a negative number (several fired) - another "
                    "source fired in the probe window (C2)."),
              when="probes"),
    CheckInfo("counter_range", Kind.SAFETY, default=False, param=None, exported=True,
              presented=Presented.PLAIN, implicit=True,
              short="A counter leaves its range",
              full=("An `inc` or `dec` would take a counter outside 0..max (always checked when counters change).")),
)

BY_NAME = {c.name: c for c in CATALOGUE}
ALL_CHECKS = tuple(c.name for c in CATALOGUE if not c.implicit)  # the `check` line's names, report order
IMPLICIT_CHECKS = tuple(c.name for c in CATALOGUE if c.implicit)
DEFAULT_CHECKS = tuple(c.name for c in CATALOGUE if c.default)
PARAM_CHECKS = frozenset(c.name for c in CATALOGUE if c.param is not None)
EXPORTED = frozenset(c.name for c in CATALOGUE if c.exported)


def _one(kind: Kind) -> str:
    (name,) = (c.name for c in CATALOGUE if c.kind is kind)
    return name


# the check whose violations are the quiet states and the waits blocked for ever (`ts.unfinished`,
# `ts.waits`): the engines attribute those to it without naming it
DEADLOCK_CHECK = _one(Kind.DEADLOCK)


def on_graph(checks: Iterable[str]) -> frozenset[str]:
    """The checks of `checks` the catalogue judges on the whole state graph (`whole_graph`); with
    the model's liveness requests, what a search must keep the full graph for."""
    return frozenset(c for c in checks if c in BY_NAME and BY_NAME[c].whole_graph)


def with_others(check: str, best: str, others: Iterable[str]) -> str:
    """The message of `check`'s shallowest violation `best`, naming the subjects of the `others`
    (the catalogue's `others`: "IRQ 3 (...) is raised but never delivered; also never delivered on
    some run: IRQ 4 (...)"); `best` unchanged for a check that does not gather them or with none."""
    how = BY_NAME[check].others if check in BY_NAME else None
    subjects = [m.split(how[0])[0] for m in others] if how is not None else []
    return best + how[1] + ", ".join(subjects) if how is not None and subjects else best
