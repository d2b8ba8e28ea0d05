"""The kernel-context repairs of the `--suggest` catalogue: `wait_event` for a test-then-sleep_on
(W1, W2), `disable_irq_nosync` in a handler (L6), a sleeping handler made threaded (L8, D4), a
sleeping tasklet made a work item (D3), no EOI in a request_irq handler (L1), an extra
`enable_irq` removed (L5), `set` before `wake_up` (W2), `oneshot` on a threaded level line (L8), a timer
deactivated without waiting for its callback in hard IRQ or in the callback itself (R7). Which statements
sleep is spec/language.py's table.
"""

from __future__ import annotations

from collections.abc import Iterator

from ircheck.grammar import ast
from ircheck.spec.language import SLEEPING
from ircheck.spec.repair_edits import Candidate, Edit, Source, swap
from ircheck.spec.repair_model import Facts, arg_name, simples


def wait_event(src: Source, d: Facts) -> Iterator[Candidate]:
    """W1/W2: `if not F { sleep_on Q }` tests, then sleeps: the wake-up can fall between the two.
    `wait_event Q until F` marks the task sleeping before it tests."""
    for code in d.codes:
        for st in ast.walk(code.body):
            if (isinstance(st, ast.If) and isinstance(st.cond, ast.Not) and isinstance(st.cond.arg, ast.Name)
                    and not st.orelse and len(st.then) == 1 and isinstance(st.then[0], ast.Simple)
                    and st.then[0].op == "sleep_on"):
                q, f = arg_name(st.then[0]), st.cond.arg.name
                sp = st.span
                yield Candidate(f"wait_event:{code.name}:{q}",
                                f"{code.kind} {code.name}: `if not {f} {{ sleep_on {q} }}` -> `wait_event {q} until {f}`",
                                sp.line, (Edit(sp.line, sp.column, sp.end_line, sp.end_column,
                                               f"wait_event {q} until {f}"),))


def nosync(src: Source, d: Facts) -> Iterator[Candidate]:
    """L6: `disable_irq N` inside a handler waits for running handlers of N - itself, or one the
    handler excludes; `disable_irq_nosync` only raises the depth."""
    for code in d.codes:
        if code.kind not in ("handler", "softirq", "tasklet"):
            continue
        for st in simples(code, "disable_irq"):
            ed = src.replace_word(st.span, "disable_irq", "disable_irq_nosync")
            if ed is not None:
                yield Candidate(f"nosync:{code.name}:{arg_name(st)}",
                                f"{code.kind} {code.name}: disable_irq {arg_name(st)} -> disable_irq_nosync",
                                st.span.line, (ed,))


# R7: the wait for a timer's callback and its variant that never waits
_NOWAIT = {"del_timer_sync": "del_timer", "hrtimer_cancel": "hrtimer_try_to_cancel"}


def timer_nowait(src: Source, d: Facts) -> Iterator[Candidate]:
    """R7: `del_timer_sync T` / `hrtimer_cancel T` wait for T's running callback: in hard-IRQ code (a
    handler, a plain hrtimer's callback) the callback it interrupted on its CPU never finishes
    (timer.c: `WARN_ON(in_hardirq() ...)`), in T's own callback it waits for itself. `del_timer` /
    `hrtimer_try_to_cancel` deactivate a pending timer without waiting."""
    for code in d.codes:
        hard = code.kind == "handler" or code.kind == "hrtimer" and not any(o.key == "soft" for o in code.options)
        for op, nowait in _NOWAIT.items():
            for st in simples(code, op):
                if not hard and arg_name(st) != code.name:
                    continue
                ed = src.replace_word(st.span, op, nowait)
                if ed is not None:
                    yield Candidate(f"nowait:{code.name}:{st.span.line}",
                                    f"{code.kind} {code.name}: {op} {arg_name(st)} -> {nowait} (it cannot wait "
                                    "for the callback here)", st.span.line, (ed,))


_SLEEPS = SLEEPING  # statements that may sleep


def _sleeps(code: ast.Code) -> ast.Stmt | None:
    for st in ast.walk(code.body):
        if isinstance(st, (ast.Simple, ast.Wait)) and st.op in _SLEEPS:
            return st
    return None


def threaded(src: Source, d: Facts) -> Iterator[Candidate]:
    """L8/D4: a handler that sleeps (a mutex, an I2C transfer) cannot run in hard-IRQ context; make
    it the thread function of a threaded IRQ with IRQF_ONESHOT (the line stays masked until it
    returns, so a level line does not storm) and the default primary handler."""
    for r in d.requests:
        code = d.code.get(r.handler.name)
        if code is None or code.kind != "handler" or any(o.key == "thread" for o in r.options):
            continue
        st = _sleeps(code)
        if st is None or any(isinstance(s, ast.Simple) and s.op == "return" for s in ast.walk(code.body)):
            continue
        head = src.replace_word(code.span, "handler", "irq_thread")
        name = src.find(r.span, r.handler.name)
        if head is None or name is None:
            continue
        bind = Edit(name.line, name.col, name.end_line, name.end_col, f"NULL thread {code.name} oneshot")
        yield Candidate(f"threaded:{code.name}",
                        f"request_irq {r.irq}: run {code.name} as a threaded handler "
                        f"(`request_irq {r.irq} NULL thread {code.name} oneshot`, `irq_thread {code.name}`)",
                        st.span.line, (bind, head))


def oneshot_level(src: Source, d: Facts) -> Iterator[Candidate]:
    """L8: a threaded handler on a level line without IRQF_ONESHOT: the flow handler unmasks the
    line when the primary handler returns, before the thread has quieted the device, and the line
    interrupts again and again (no_irq_storm). `oneshot` keeps it masked until the thread returns."""
    for r in d.requests:
        thread = next((str(o.value) for o in r.options if o.key == "thread"), None)
        if thread is None or any(o.key == "oneshot" for o in r.options):
            continue
        if not any(trig == "level" for _dev, _ref, trig in d.request_lines(r.handler.name)):
            continue
        line = r.span.line
        end = len(src.line(line).split("#")[0].rstrip()) + 1  # after the last option, before a comment
        yield Candidate(f"oneshot:{r.irq}", f"request_irq {r.irq}: add `oneshot` (the level line stays masked until "
                        f"{thread} returns)", line, (Edit(line, end, line, end, " oneshot"),))


def deferred_to_work(src: Source, d: Facts) -> Iterator[Candidate]:
    """D1/D3/D4: a tasklet that sleeps cannot; a work item runs in process context and may."""
    for code in d.codes:
        if code.kind != "tasklet" or _sleeps(code) is None:
            continue
        edits = [src.replace_word(code.span, "tasklet", "work")]
        for other in d.codes:
            for st in simples(other, "tasklet_schedule"):
                if arg_name(st) == code.name:
                    edits.append(src.replace_word(st.span, "tasklet_schedule", "queue_work"))
        if all(e is not None for e in edits):
            yield Candidate(f"work:{code.name}", f"tasklet {code.name} -> work {code.name} (it sleeps: "
                            "process context), tasklet_schedule -> queue_work", code.span.line,
                            tuple(e for e in edits if e is not None))


def genirq_eoi(src: Source, d: Facts) -> Iterator[Candidate]:
    """L1: the flow handler acks and EOIs the controller; an `eoi` in a request_irq handler is one
    too many."""
    for code in d.codes:
        if code.name not in d.requested:
            continue
        for st in simples(code, "eoi"):
            yield Candidate(f"no_eoi:{code.name}", f"handler {code.name}: remove `eoi` (genirq's flow handler sends it)",
                            st.span.line, (src.delete_stmt(st.span),))


def unbalanced_enable(src: Source, d: Facts) -> Iterator[Candidate]:
    """L5: more `enable_irq N` than `disable_irq N` in one context: the extra one is "Unbalanced
    enable"; remove the last."""
    for code in d.codes:
        for n in sorted({arg_name(s) for s in simples(code, "enable_irq")}):
            en = [s for s in simples(code, "enable_irq") if arg_name(s) == n]
            dis = [s for s in simples(code, "disable_irq", "disable_irq_nosync") if arg_name(s) == n]
            if len(en) > len(dis) and dis:
                yield Candidate(f"drop_enable:{code.name}:{n}",
                                f"{code.kind} {code.name}: remove the extra `enable_irq {n}`",
                                en[-1].span.line, (src.delete_stmt(en[-1].span),))


def set_before_wake(src: Source, d: Facts) -> Iterator[Candidate]:
    """W2: the waker must set the condition *before* `wake_up`; a waiter on another CPU that tests
    between the two sleeps through the set. Swap `wake_up Q; set F` when some waiter waits on Q
    until F."""
    waits = {(st.queue.name, st.cond.name) for c in d.codes for st in ast.walk(c.body)
             if isinstance(st, ast.Wait) and isinstance(st.cond, ast.Name)}
    for code in d.codes:
        top = list(code.body)
        for wake, st in zip(top, top[1:], strict=False):
            if not (isinstance(wake, ast.Simple) and wake.op == "wake_up" and isinstance(st, ast.Simple)
                    and st.op == "set" and (arg_name(wake), arg_name(st)) in waits):
                continue
            edits = swap(src, wake.span, st.span)
            if edits is not None:
                yield Candidate(f"set_first:{code.name}:{arg_name(st)}",
                                f"{code.kind} {code.name}: `set {arg_name(st)}` before `wake_up {arg_name(wake)}` "
                                "(set the condition, then wake)", wake.span.line, edits)
