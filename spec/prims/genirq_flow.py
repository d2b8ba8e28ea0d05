"""The genirq flow handler (L1-L3, L8, L9): handle_edge_irq / handle_level_irq around the actions.

A `request_irq` line is entered through a flow incarnation whose locations are `flow_entry`, the
actions' code with a `flow_done` after each, and `flow_end`. Guarded commands at `here`, the rest
unchanged:

* `flow_entry`, level line: the chip is masked and acked (`IMR[n] := 1`, the ISR bits cleared:
  genirq.chip_ack); guard `inprogress = 1` (busy on another CPU): leave it masked, go to the end;
  guard `inprogress = 0 and disabled`: also `pending := 1`; otherwise `inprogress := 1,
  pending := 0` and run the actions;
* `flow_entry`, fasteoi line (an I/O APIC level pin, L3b): `lower_fasteoi_entry`;
* `flow_entry`, edge line: acked; guard `inprogress = 1 or disabled`: `pending := 1`, mask, go to
  the end - tagged no_lost_irq if `pending` was already 1; otherwise ack, `inprogress := 1`,
  `pending := 0`, run the actions (never a mask for IRQF_ONESHOT: handle_edge_irq, L3);
* `flow_done` of action k: `ret := ret | bit` (IRQ_HANDLED, or its thread's wake bit for a NULL
  primary handler);
* `flow_end`: per value class of `ret`: `ret = 0` (every handler returned IRQ_NONE) ends as any
  other run, and counts toward "nobody cared" (L9: see `nobody_cared_requests`); else wake the
  threads whose bits are set (`wake := 1`); and unless
  IRQF_ONESHOT holds a level line (a thread woken now, or one of an earlier run not finished:
  genirq.threads_oneshot_clear), unmask if not disabled; on an edge line with
  `pending = 1` and not disabled the actions run again (`pending := 0`), else `inprogress := 0`
  and the flow returns; on a fasteoi line the unmask is followed by the chip's EOI in the same step
  (`chip_eoi`). `ret := 0` always. With at most NAMED_WAKES threads the label names
  every woken thread (one transition per set); with more, a fixed few transitions whose updates
  test the bits.
"""

from __future__ import annotations

from collections.abc import Callable

from ircheck.grammar import ast
from ircheck.spec.cfg import Body
from ircheck.spec.context import Context, Descriptor
from ircheck.spec.model import Model
from ircheck.spec.prims.genirq import (
    chip_ack,
    chip_eoi,
    handler_exit,
    mask,
    threads_oneshot_clear,
    unmask,
    wake_bit,
)
from ircheck.spec.prims.kstat import counted, note_handled
from ircheck.spec.step_kind import StepKind
from ircheck.spec.ts import FALSE, TRUE, And, Bin, Bit, C, Eq, Expr, In, Ite, Label, Not, Or, Request, V

NAMED_WAKES = 3  # threads of one line that a flow end's label names one by one (see `lower_flow_end`)


def disabled_expr(dsc: Descriptor) -> Expr:
    return Or(Bin(">", V(dsc.depth), C(0)), FALSE if dsc.freed is None else Eq(V(dsc.freed), C(1)))


def lower_flow_entry(m: Model, ctx: Context) -> None:
    assert ctx.inc is not None and ctx.inc.irq is not None
    node, goto, here, g = ctx.node, ctx.goto, ctx.here, ctx.group
    label = ctx.label(node.text)
    dsc = m.desc[ctx.inc.irq.irq]
    n = dsc.irq.irq
    busy, pend = V(dsc.inprogress), V(dsc.pending)
    disabled = disabled_expr(dsc)

    def lab(text: str) -> Label:
        return Label(label.actor, text, label.line, label.cpu, label.context, label.kind, label.target)

    if dsc.fasteoi:
        lower_fasteoi_entry(m, ctx, lab)
        return
    ack = chip_ack(m, dsc, ctx.cpu.index)
    run = {**goto(node.next), **ack, dsc.inprogress: C(1), dsc.pending: C(0)}
    if not dsc.edge_flow:  # handle_edge_irq never masks, not even for IRQF_ONESHOT (L3)
        run.update(mask(m, dsc))
    if not dsc.edge_flow:
        masked_ack = {**goto(node.alt), **ack, **mask(m, dsc)}
        m.b.add(lab(f"{label.action} (mask+ack): IRQ {n} in progress on another CPU: leave it masked"),
                And(here, Eq(busy, C(1))), masked_ack, g)
        m.b.add(lab(f"{label.action} (mask+ack): IRQ {n} disabled: mark PENDING, leave it masked"),
                And(here, Eq(busy, C(0)), disabled), {**masked_ack, dsc.pending: C(1)}, g)
        handle(m, ctx, n, lab(f"{label.action} (mask+ack), run the handlers"), And(here, Eq(busy, C(0)), Not(disabled)),
               run)
        return
    blocked = Or(Eq(busy, C(1)), disabled)
    away = {**goto(node.alt), **ack, **mask(m, dsc), dsc.pending: C(1)}
    text = f"{label.action}: IRQ {n} disabled or in progress elsewhere: set PENDING, mask"
    m.b.add(lab(text), And(here, blocked, Eq(pend, C(0))), away, g)
    m.b.add(lab(text), And(here, blocked, Eq(pend, C(1))), away, g,
            [("no_lost_irq", f"IRQ {n}: an edge arrived while genirq PENDING was already set: the two "
                             "arrivals give one run (L3)")])
    handle(m, ctx, n, lab(f"{label.action}, run the handlers"), And(here, Not(blocked)), run)


def handle(m: Model, ctx: Context, n: int, label: Label, guard: Expr, run: dict[int, Expr]) -> None:
    """The flow runs the actions: kstat_incr_irqs_this_cpu counts it (C1, prims/kstat.py)."""
    first = len(m.b.trans)
    for g2, ups, tags in counted(m, n, ctx.cpu.index, guard, run, label.line):
        m.b.add(label, g2, ups, ctx.group, tags)
    note_handled(m, first, n, ctx.cpu.index)


def lower_fasteoi_entry(m: Model, ctx: Context, lab: Callable[[str], Label]) -> None:
    """handle_fasteoi_irq (L3b; kernel/irq/chip.c): in progress on another CPU (`irq_may_run` fails):
    only the EOI (`goto out`: the I/O APIC chip has no IRQCHIP_EOI_IF_HANDLED) - a level pin still
    asserted sends again at once; disabled: PENDING, mask, EOI; otherwise IRQS_ONESHOT masks the line
    and the handlers run, the EOI coming at the flow's end (`flow_end_steps`)."""
    assert ctx.inc is not None and ctx.inc.irq is not None
    node, goto, here, g = ctx.node, ctx.goto, ctx.here, ctx.group
    dsc = m.desc[ctx.inc.irq.irq]
    n, cpu = dsc.irq.irq, ctx.cpu.index
    busy = Eq(V(dsc.inprogress), C(1))
    disabled = disabled_expr(dsc)
    for guard, ups in chip_eoi(m, dsc, cpu, FALSE):
        m.b.add(lab(f"{ctx.node.text}: IRQ {n} in progress on another CPU: EOI only"),
                And(here, busy, guard), {**goto(node.alt), **ups}, g)
    for guard, ups in chip_eoi(m, dsc, cpu, FALSE, mask=True):
        m.b.add(lab(f"{ctx.node.text}: IRQ {n} disabled: mark PENDING, mask, EOI"),
                And(here, Not(busy), disabled, guard), {**goto(node.alt), **ups, dsc.pending: C(1)}, g)
    run = {**goto(node.next), dsc.inprogress: C(1), dsc.pending: C(0)}
    if dsc.irq.oneshot:
        run.update(mask(m, dsc))
    handle(m, ctx, n, lab(f"{ctx.node.text}, run the handlers" + (" (IRQS_ONESHOT: mask)" if dsc.irq.oneshot else "")),
           And(here, Not(busy), Not(disabled)), run)


def lower_flow_done(m: Model, ctx: Context) -> None:
    assert ctx.inc is not None and ctx.inc.irq is not None
    node = ctx.node
    dsc = m.desc[ctx.inc.irq.irq]
    a = dsc.irq.actions[node.action]
    bit = wake_bit(dsc, node.action) if a.handler is None else 1
    ups = {**ctx.goto(node.next), dsc.ret: Bin("|", V(dsc.ret), C(bit))}
    for guard, u, tags in handler_exit(m, ctx, ctx.here, ups, a.handler):
        m.b.add(ctx.label(node.text), guard, u, ctx.group, tags)


def lower_flow_end(m: Model, ctx: Context) -> None:
    """The flow handler's end (L2, L3, L8, L9): nobody cared, wake the threads asked for, re-run
    while PENDING, unmask. Transitions: one per set of woken threads while a line has at most
    NAMED_WAKES threads (the label names them), else a fixed few whose updates test the bits."""
    assert ctx.inc is not None and ctx.inc.irq is not None
    dsc = m.desc[ctx.inc.irq.irq]
    threaded = [(k, a) for k, a in enumerate(dsc.irq.actions) if a.thread is not None]
    full = (1 << len(threaded)) - 1
    flow_end_variant(m, ctx, dsc, Eq(V(dsc.ret), C(0)), [], False, False)
    if len(threaded) <= NAMED_WAKES:
        for woken in range(full + 1):  # the order of the former one-transition-per-value lowering
            vals = {woken << 1, (woken << 1) | 1} - {0}
            flow_end_variant(m, ctx, dsc, In(V(dsc.ret), vals),
                             [(threaded[j][1].thread, TRUE) for j in range(len(threaded)) if woken >> j & 1],
                             woken != 0, False)
    else:
        wakes = [(a.thread, Eq(Bit(V(dsc.ret), 1 + j), C(1))) for j, (_k, a) in enumerate(threaded)]
        anybody = Bin(">", V(dsc.ret), C(1))
        if dsc.irq.oneshot:  # IRQF_ONESHOT holds the line masked when a thread was woken
            flow_end_variant(m, ctx, dsc, anybody, wakes, True, True)
            flow_end_variant(m, ctx, dsc, Eq(V(dsc.ret), C(1)), [], False, False)
        else:
            flow_end_variant(m, ctx, dsc, Not(Eq(V(dsc.ret), C(0))), wakes, False, True)


def flow_end_variant(m: Model, ctx: Context, dsc: Descriptor, when: Expr, wakes: list[tuple[str | None, Expr]],
                     woke: bool, generic: bool) -> None:
    """The end of the flow for the `ret` values `when` selects: `wakes` (a thread, the condition
    under which it is woken: TRUE, or its bit of `ret`); `woke`: some thread is woken (IRQF_ONESHOT
    keeps the line masked); `generic`: the label does not name the threads. An unhandled run
    (`ret = 0`) ends like the others (note_interrupt only counts it: one IRQ_NONE disables nothing);
    its transitions are recorded for L9's request."""
    n = dsc.irq.irq
    base = And(ctx.here, when)
    ups: dict[int, Expr] = {dsc.ret: C(0)}
    words: list[str] = []
    for name, cond in wakes:
        t = m.task_named(name)
        assert t is not None and t.wake is not None
        ups[t.wake] = C(1) if cond == TRUE else Ite(cond, C(1), V(t.wake))
        if not generic:
            words.append(f"wake {name}")
    if generic:
        words.append("wake the threads whose handlers returned IRQ_WAKE_THREAD")
    nobody = when == Eq(V(dsc.ret), C(0))
    if nobody:
        words.append("every handler returned IRQ_NONE (unhandled)")
    first = len(m.b.trans)
    flow_end_steps(m, ctx, dsc, base, ups, [], "; ".join(words), woke)
    unhandled, handled = m.b.flow_ends.setdefault(n, ([], []))
    (unhandled if nobody else handled).extend(range(first, len(m.b.trans)))


def nobody_cared_requests(m: Model) -> None:
    """L9 (kernel/irq/spurious.c, note_interrupt / __report_bad_irq): the kernel disables a line
    ("irq N: nobody cared", "Disabling IRQ #N") when 99,900 of its last 100,000 interrupts were
    unhandled - a single IRQ_NONE does nothing. The model has no such counter; it asks for the run
    the threshold stands for: a fair run on which the line keeps interrupting and every run of its
    handlers returns IRQ_NONE (a no_starvation request with a Büchi condition: the unhandled flow
    ends again and again, a handled one never). Only lines with a `return none` get one."""
    for n, (unhandled, handled) in sorted(m.b.flow_ends.items()):
        dsc = m.desc[n]
        if not unhandled or not any(_returns_none(inc.body) for inc in m.incs
                                    if inc.irq is not None and inc.irq.irq == n):
            continue
        m.b.requests.append(Request(
            "no_starvation", f"IRQ {n} (nobody cared)", TRUE, frozenset(handled),
            f"irq {n}: nobody cared: the line keeps interrupting and every run of its handlers returns "
            f"IRQ_NONE, so the kernel disables it (\"Disabling IRQ #{n}\") and its later interrupts are "
            "never handled (L9)",
            dsc.irq.actions[0].line, recurs=frozenset(unhandled)))


def _returns_none(body: Body) -> bool:
    return any(isinstance(nd.stmt, ast.Simple) and nd.stmt.op == "return" and isinstance(nd.stmt.arg, ast.Name)
               and nd.stmt.arg.name == "none" for nd in body.nodes)


def flow_end_steps(m: Model, ctx: Context, dsc: Descriptor, base: Expr, ups: dict[int, Expr],
                   tags: list[tuple[str, str]], what: str, woke: bool) -> None:
    """The flow end's steps under `base` with the updates `ups`: re-run while PENDING (edge), or
    return, unmasking unless disabled or held for a oneshot thread."""
    node, goto = ctx.node, ctx.goto
    disabled = disabled_expr(dsc)
    n = dsc.irq.irq
    g, cpu = ctx.group, ctx.cpu.index
    actor = ctx.who
    line = dsc.irq.actions[0].line
    hold = not dsc.edge_flow and dsc.irq.oneshot and woke  # cond_unmask_irq: only the level flow holds it
    done = {**ups, **goto(node.alt), dsc.inprogress: C(0)}
    if not hold:
        # cond_unmask_irq: not while a oneshot thread of an earlier run still has its bit set
        idle = threads_oneshot_clear(m, dsc) if not dsc.edge_flow and dsc.irq.oneshot else TRUE
        done.update(unmask(m, dsc, And(Not(disabled), idle)))
    if dsc.fasteoi:  # cond_unmask_eoi_irq: unmask unless disabled or a oneshot thread holds it, then EOI
        ups2 = {k: e for k, e in done.items() if k not in unmask(m, dsc, TRUE)}
        when = FALSE if hold else And(Not(disabled), threads_oneshot_clear(m, dsc) if dsc.irq.oneshot else TRUE)
        for guard, eoi in chip_eoi(m, dsc, cpu, when):
            m.b.add(Label(actor, f"IRQ {n} handlers done" + (f": {what}" if what else "")
                          + (", line stays masked for the thread (IRQF_ONESHOT)" if hold else "") + ", EOI",
                          line, cpu, "handler", StepKind.FLOW), And(base, guard), {**ups2, **eoi}, g, tags)
    elif dsc.edge_flow:
        rerun = {**ups, **goto(node.next), dsc.pending: C(0)}
        if not hold:
            rerun.update(unmask(m, dsc, TRUE))
        again = And(Eq(V(dsc.pending), C(1)), Not(disabled))
        m.b.add(Label(actor, f"IRQ {n}: PENDING was set while the handlers ran: run them again (L3)"
                      + (f"; {what}" if what else ""), line, cpu, "handler", StepKind.FLOW),
                And(base, again), rerun, g, tags)
        m.b.add(Label(actor, f"IRQ {n} handlers done" + (f": {what}" if what else ""), line, cpu,
                      "handler", StepKind.FLOW), And(base, Not(again)), done, g, tags)
    else:
        m.b.add(Label(actor, f"IRQ {n} handlers done" + (f": {what}" if what else "")
                      + (", line stays masked for the thread (IRQF_ONESHOT)" if hold else ""),
                      line, cpu, "handler", StepKind.FLOW), base, done, g, tags)
