"""The `StepKind` and target of a step at one CFG location, derived from the node and the
language table (spec/language.py), so a primitive's lowering need not spell them out.

The rule: by `node.kind` - `iret` RETURN (END at the end of a softirq or tasklet body, which pops
its frame without an IRET); `call`, `ret`, `test`, `choose` CONTROL (a test that is an atomic
conditional, `if test_and_set F`, STATEMENT on its flag or counter); `seq_begin` STATEMENT and
`seq_retry` CONTROL on the sequence (R2); `wait_*` SLEEP on the
queue; `sync_wait` SYNC_WAIT; `flow_*` FLOW; `thread_done` END; `stmt` by its statement: `eoi` EOI,
`int`/`fault` TRAP, an IF operation IRQ_FLAGS, a lock acquire/release LOCK/UNLOCK on the lock,
`wake_up`/`wake_up_all` WAKE_UP on the queue, `sleep` and `msleep` SLEEP, anything else STATEMENT. The target is the
statement's named operand (`call F`: F), "" when it has none.
"""

from __future__ import annotations

from ircheck.grammar import ast
from ircheck.spec.cfg import Node
from ircheck.spec.language import STATEMENT, Flags, Shape
from ircheck.spec.step_kind import StepKind

_BY_NODE = {"iret": StepKind.RETURN, "call": StepKind.CONTROL, "ret": StepKind.CONTROL, "test": StepKind.CONTROL,
            "choose": StepKind.CONTROL, "seq_begin": StepKind.STATEMENT, "seq_retry": StepKind.CONTROL,
            "wait_prepare": StepKind.SLEEP, "wait_test": StepKind.SLEEP, "wait_sleep": StepKind.SLEEP,
            "sync_wait": StepKind.SYNC_WAIT, "flow_entry": StepKind.FLOW, "flow_done": StepKind.FLOW,
            "flow_end": StepKind.FLOW, "thread_done": StepKind.END, "end": StepKind.END,
            "probe_wait": StepKind.SLEEP, "probe_stub": StepKind.FLOW}

_BY_KEYWORD = {"eoi": StepKind.EOI, "int": StepKind.TRAP, "fault": StepKind.TRAP, "wake_up": StepKind.WAKE_UP,
               "wake_up_all": StepKind.WAKE_UP,
               "sleep": StepKind.SLEEP, "msleep": StepKind.SLEEP}


def _target(stmt: ast.Stmt | None) -> str:
    if isinstance(stmt, ast.Wait):
        return stmt.queue.name
    if isinstance(stmt, ast.ReadSeq):
        return stmt.seq.name
    if isinstance(stmt, ast.Simple) and isinstance(stmt.arg, ast.Name):
        return stmt.arg.name
    if isinstance(stmt, ast.If | ast.While) and (atomic := ast.atomic_test(stmt.cond)) is not None:
        return atomic[0].arg.name
    return ""


def node_step(node: Node, hardirq: bool = True) -> tuple[StepKind, str]:
    """(kind, target) of a step taken at `node`, in a hardirq frame or a task unless `hardirq` is
    False (a softirq or tasklet frame); the module docstring gives the rule."""
    target = _target(node.stmt)
    if node.kind == "iret" and not hardirq:
        return StepKind.END, target
    if node.kind == "test" and target:  # an atomic conditional: a statement on its counter or flag
        return StepKind.STATEMENT, target
    if node.kind != "stmt":
        return _BY_NODE.get(node.kind, StepKind.STATEMENT), target
    if not isinstance(node.stmt, ast.Simple):  # a spinning empty loop
        return StepKind.CONTROL, target
    spec = STATEMENT[node.stmt.op]
    if spec.shape is Shape.CANCEL:  # del_timer_sync, hrtimer_cancel: wait for a running callback (R7)
        return StepKind.SYNC_WAIT, target
    if spec.lock is not None:
        return (StepKind.LOCK if spec.lock.acquire else StepKind.UNLOCK), target
    if spec.irq_flags is not Flags.NONE:
        return StepKind.IRQ_FLAGS, target
    return _BY_KEYWORD.get(node.stmt.op, StepKind.STATEMENT), target
