"""What kind of step a transition is: `StepKind`, carried by every `ts.Label` (with its `target`).

Readers of traces (pictures, exports, explain) decide by the kind and the target, never by the
label's English. The kinds, precisely (the lowering sets them where it makes the label):

* `RAISE` - a device raises its line (`target`: the device).
* `DELIVER` - the CPU takes an interrupt or an NMI and enters a handler (`target`: the handler).
* `SPURIOUS` - a device drops its request before INTA and the CPU takes the spurious vector
  (`target`: the spurious handler). Pictures draw it as a note, not as an entry.
* `TRAP` - `int n` / `fault v` enters a handler (`target`: the handler).
* `HALT` - the CPU shuts down (a triple fault, an undeliverable NMI): no handler.
* `RETURN` - `iret`, the end of a handler or flow handler: the frame returns.
* `EOI` - `eoi`.
* `IRQ_FLAGS` - `cli`, `sti`, `local_irq_save`, `local_irq_restore`.
* `LOCK` / `UNLOCK` - a spinlock or mutex is acquired / released (`target`: the lock).
* `WAKE_UP` - `wake_up Q`, `wake_up_all Q` (`target`: the queue).
* `SLEEP` - `sleep`, and the steps of `wait_event`/`sleep_on`/`epoll_wait` and of the R5/R6 waits (`schedule`,
  `wait_for_completion`: `target` the queue or completion, "" for `schedule`).
* `SYNC_WAIT` - `disable_irq`/`free_irq`/`synchronize_irq` waiting for the handler.
* `CONTROL` - `call`, a function's `ret`, a branch test.
* `FLOW` - a step of the genirq flow handler around the actions.
* `RUN` - a deferred context starts: a softirq, a tasklet, an irq thread or a worker (`target`:
  its name).
* `SWITCH` - the scheduler switches to a task (`target`: the task's label).
* `END` - a thread runs to its end.
* `STATEMENT` - any other statement (`target`: its named operand, if it has one).
"""

from __future__ import annotations

from enum import Enum


class StepKind(Enum):
    RAISE = "raise"
    DELIVER = "deliver"
    SPURIOUS = "spurious"
    TRAP = "trap"
    HALT = "halt"
    RETURN = "return"
    EOI = "eoi"
    IRQ_FLAGS = "irq_flags"
    LOCK = "lock"
    UNLOCK = "unlock"
    WAKE_UP = "wake_up"
    SLEEP = "sleep"
    SYNC_WAIT = "sync_wait"
    CONTROL = "control"
    FLOW = "flow"
    RUN = "run"
    SWITCH = "switch"
    END = "end"
    STATEMENT = "statement"

    @property
    def enters_handler(self) -> bool:
        """The step pushes a frame and runs a handler next (pictures draw an arrow into it)."""
        return self in (StepKind.DELIVER, StepKind.TRAP)
