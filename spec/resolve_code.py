"""Resolution of code bodies: every statement's operand is a declared name of the kind
spec/language.py's table says (IRQ102/IRQ103), appears where the table allows it (IRQ303 `iret`
outside a handler, IRQ307 `return` outside a request_irq handler), and its numbers are in range;
`kick DEV` names an `on_kick` device (IRQ311); `read X on cpuK` names per-CPU data (IRQ312) and a CPU
of the system (IRQ213);
conditions name flags and counters (an atomic conditional names the kind the table gives it:
`test_and_set` a flag, `atomic_dec_and_test` a counter, IRQ103); genirq calls name bound lines;
calls do not recurse (IRQ306).
"""

from __future__ import annotations

from collections.abc import Iterator

from ircheck.grammar import ast
from ircheck.grammar.diagnostics import Diagnostic, did_you_mean
from ircheck.grammar.printer import stmt_head
from ircheck.spec.design import CodeInfo
from ircheck.spec.language import STATEMENT, TASK_KINDS, Place, Syntax
from ircheck.spec.resolve_messages import irq_name_arg
from ircheck.spec.resolve_scope import Scope


def block(sc: Scope, ctx: CodeInfo, body: tuple[ast.Stmt, ...], loops: tuple[str, ...],
          seqs: tuple[str, ...] = ()) -> None:
    """`seqs`: the sequences of the `read_seq` blocks around `body` (IRQ319: one inside its own)."""
    for st in body:
        if isinstance(st, ast.Simple):
            simple(sc, ctx, st)
        elif isinstance(st, ast.If):
            expr(sc, st.cond, ctx)
            block(sc, ctx, st.then, loops, seqs)
            block(sc, ctx, st.orelse, loops, seqs)
        elif isinstance(st, ast.While):
            expr(sc, st.cond, ctx)
            block(sc, ctx, st.body, loops, seqs)
        elif isinstance(st, ast.Loop):
            block(sc, ctx, st.body, loops, seqs)
        elif isinstance(st, ast.Choose):
            for branch in st.branches:
                block(sc, ctx, branch, loops, seqs)
        elif isinstance(st, ast.ReadSeq):
            operand = STATEMENT[st.op].operand
            assert operand is not None
            sc.want(st.seq, operand.kinds, operand.what)
            if st.seq.name in seqs:
                sc.err("IRQ319", f"`read_seq {st.seq.name}` inside a `read_seq {st.seq.name}` block", st.span,
                       "a reader samples the sequence once per pass (R2): one retry loop per sequence")
            block(sc, ctx, st.body, loops, seqs + (st.seq.name,))
        elif isinstance(st, ast.Wait):
            operand = STATEMENT[st.op].operand
            assert operand is not None
            sc.want(st.queue, operand.kinds, operand.what)
            expr(sc, st.cond, ctx)


RETURN_VALUES = ("wake_thread", "none", "handled")
# where a statement may not appear: the code and hint of the error (the message names the place)
_MISPLACED = {
    Place.HANDLER: ("IRQ303", "a thread returns from its body; a function returns at its end"),
    Place.GENIRQ_HANDLER: ("IRQ307", "irqreturn_t values are for handlers bound with request_irq"),
}


def allowed(sc: Scope, place: Place, ctx: CodeInfo) -> bool:
    """Whether code context `ctx` may contain a statement of `place` (spec/language.py `Place`)."""
    if place is Place.HANDLER:
        return ctx.kind == "handler"
    if place is Place.GENIRQ_HANDLER:
        return ctx.kind == "handler" and sc.action_of(ctx.name) is not None
    return True


def simple(sc: Scope, ctx: CodeInfo, st: ast.Simple) -> None:
    """One statement, as its entry in spec/language.py says: the return value (IRQ310), then the
    place (IRQ303/IRQ307), then the operand: a declared name of the table's kinds, a controller
    input, a vector in range, an EOI target, or a Linux IRQ (judged once request_irq is read)."""
    op, arg = st.op, st.arg
    entry = STATEMENT[op]
    if entry.syntax is Syntax.RETURN:
        assert isinstance(arg, ast.Name)
        if arg.name not in RETURN_VALUES:
            sc.err("IRQ310", f"`return {arg.name}`: a handler returns wake_thread, none or handled", st.span,
                   did_you_mean(arg.name, RETURN_VALUES))
            return
    if not allowed(sc, entry.place, ctx):
        code, hint = _MISPLACED[entry.place]
        sc.err(code, f"`{stmt_head(st)}` outside {entry.place.value} (in {ctx.kind} '{ctx.name}')", st.span, hint)
    elif entry.operand is not None:
        assert isinstance(arg, ast.Name)
        if sc.want(arg, entry.operand.kinds, entry.operand.what) and st.on is not None:
            remote(sc, st, arg)
        dev = sc.d.devices.get(arg.name) if op == "kick" else None
        if dev is not None and not dev.on_kick:
            sc.err("IRQ311", f"`kick {arg.name}`: device '{arg.name}' is not on_kick (it raises by itself)",
                   st.span, f"declare `device {arg.name} {{ ... on_kick }}` to make it raise once per kick")
    elif entry.syntax is Syntax.LINE:
        assert isinstance(arg, ast.LineRef)
        if sc.check_line(arg) and arg.pic in sc.d.pics:
            sc.d.pics[arg.pic].masked_ever = True
    elif entry.syntax is Syntax.NUMBER:
        assert isinstance(arg, ast.Num)
        if op == "int" and not 0 <= arg.value <= 255:
            sc.err("IRQ208", f"int {arg.value}: vectors are 0..255", st.span)
        if op == "fault" and not 0 <= arg.value <= 31:
            sc.err("IRQ208", f"fault {arg.value}: exceptions are vectors 0..31", st.span,
                   "`int n` raises a software interrupt on any vector")
    elif entry.syntax is Syntax.EOI:
        if isinstance(arg, ast.LineRef):
            sc.check_line(arg)
        elif isinstance(arg, ast.Name):
            sc.want(arg, ("controller",), "controller")
        elif ctx.kind != "handler" and len(sc.d.pics) + len(sc.d.apics) != 1:
            sc.err("IRQ304", f"plain `eoi` in {ctx.kind} '{ctx.name}': which controller?", st.span,
                   "outside a handler write `eoi master` or `eoi master.3`")
    elif entry.syntax is Syntax.IRQ:
        sc.irq_uses.append((st, ctx))
    elif isinstance(arg, ast.Name) and arg.name == "wake_thread":  # `return wake_thread` in its place
        found = sc.action_of(ctx.name)
        assert found is not None
        if found[1].thread is None:
            sc.err("IRQ308", f"`return wake_thread` in {ctx.name}, but its request_irq has no thread",
                   st.span, f"add `thread T` to request_irq {found[0].irq}")


def remote(sc: Scope, st: ast.Simple, arg: ast.Name) -> None:
    """`read X on cpuK` / `write X on cpuK` (R3): X is per-CPU data (IRQ312) and cpuK a CPU of the
    system (IRQ213)."""
    assert st.on is not None
    if sc.kind_of(arg.name) != "percpu":
        sc.err("IRQ312", f"`{stmt_head(st)}`: only per-CPU data has a copy per CPU ('{arg.name}' is "
               f"a {sc.kind_of(arg.name)})", st.on.span, f"declare it `percpu data {arg.name}`, or drop `on {st.on.name}`")
        return
    k = sc.cpu_name(st.on.name, st.on.span)
    if k is not None and k >= sc.d.cpus:
        sc.err("IRQ213", f"`{stmt_head(st)}`: the system has {sc.d.cpus} CPU(s)", st.on.span)


def expr(sc: Scope, e: ast.Expr, ctx: CodeInfo | None) -> None:
    if isinstance(e, ast.Name):
        sc.want(e, ("flag", "counter"), "flag or counter")
    elif isinstance(e, ast.AtomicTest):
        operand = STATEMENT[e.op].operand
        assert operand is not None
        sc.want(e.arg, operand.kinds, operand.what)
    elif isinstance(e, ast.InService):
        if ctx is None or ctx.kind != "handler":
            sc.err("IRQ305", "`in_service` is only meaningful inside a handler", e.span)
    elif isinstance(e, ast.Woken):
        if ctx is None or ctx.kind not in TASK_KINDS | {"function"}:
            sc.err("IRQ320", "`woken` tests how a task's last timed wait ended: only meaningful in process context",
                   e.span, "schedule_timeout, wait_event_timeout and wait_for_completion_timeout sleep in a task")
    elif isinstance(e, ast.Not):
        expr(sc, e.arg, ctx)
    elif isinstance(e, ast.BoolOp | ast.Arith):
        for a in e.args:
            expr(sc, a, ctx)
    elif isinstance(e, ast.Compare):
        expr(sc, e.left, ctx)
        expr(sc, e.right, ctx)
    elif isinstance(e, ast.IrqCount):
        sc.irq_counts.append(e)  # its IRQ is known after the bindings (resolve_counts.irq_counts)


def irq_statements(sc: Scope) -> None:
    for st, _ctx in sc.irq_uses:
        if isinstance(st.arg, ast.Name):  # an MSI device's IRQ (A4)
            n = irq_name_arg(sc, st)
            if n is not None and n not in sc.d.irqs:
                sc.err("IRQ509", f"{st.op} {st.arg.name}: IRQ {n} ({st.arg.name}) has no request_irq", st.span,
                       f"add `request_irq {st.arg.name} HANDLER`")
            continue
        assert isinstance(st.arg, ast.Num)
        if st.arg.value not in sc.d.irqs:
            sc.err("IRQ509", f"{st.op} {st.arg.value}: IRQ {st.arg.value} has no request_irq", st.span,
                   "genirq calls work on lines bound with `request_irq`")


def recursion(sc: Scope) -> None:
    calls: dict[str, set[str]] = {}
    for c in sc.d.code.values():
        calls[c.name] = {st.arg.name for st in ast.walk(c.body)
                         if isinstance(st, ast.Simple) and st.op == "call" and isinstance(st.arg, ast.Name)}
    state: dict[str, int] = {}  # 1: on the current call path, 2: done

    # depth-first with an explicit stack (a chain of thousands of calls must not hit Python's
    # recursion limit); the same visiting order and diagnostics as the recursive walk
    for root in sorted(calls):
        if state.get(root) is not None:
            continue
        path: list[str] = [root]
        pos: dict[str, int] = {root: 0}
        state[root] = 1
        stack: list[tuple[str, Iterator[str]]] = [(root, iter(sorted(calls[root])))]
        while stack:
            n, todo = stack[-1]
            m = next(todo, None)
            if m is None:
                stack.pop()
                path.pop()
                del pos[n]
                state[n] = 2
                continue
            if state.get(m) == 1:
                cyc = path[pos[m]:] + [m] if m in pos else [n, m]
                c = sc.d.code[m]
                sc.diags.append(Diagnostic("IRQ306", "recursive calls: " + " -> ".join(cyc), sc.path,
                                           c.line, 1, "ircheck inlines calls; recursion has no bound"))
            elif m in calls and state.get(m) is None:
                state[m] = 1
                pos[m] = len(path)
                path.append(m)
                stack.append((m, iter(sorted(calls[m]))))
