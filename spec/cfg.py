"""Code bodies -> control-flow graphs of locations.

Every statement becomes one location (one atomic step); `if`/`while` become a
test location with two exits; `loop` is a back edge; `read_seq S { }` a `seq_begin` location, the
block and a `seq_retry` location whose `alt` goes back to `seq_begin` (R2); `call F` inlines F's body
(resolve refuses recursion) followed by an explicit return location, so the
routines active at a location are known statically - that is what makes "F is
active twice" a predicate on program counters. Which locations a statement becomes is its
`Shape` in spec/language.py.
"""

from __future__ import annotations

from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any

from ircheck.grammar import ast
from ircheck.grammar.printer import expr_text, stmt_head
from ircheck.spec.language import STATEMENT, Shape
from ircheck.spec.resolve import CodeInfo, Design


@dataclass
class Node:
    """One location: the statement that executes there and where control goes next."""

    # stmt | test | call | ret | iret | goto | end; kernel: wait_prepare | wait_test | wait_sleep (a wait on
    # a queue in three steps, W2), sync_wait (disable_irq/free_irq/synchronize_irq waiting for the
    # handler), flow_entry | flow_done | flow_end (the genirq flow handler around the actions), thread_done,
    # probe_wait (probe_irq_on's wait and filter), probe_stub (a probed line's flow with no action, C2)
    kind: str
    routines: tuple[str, ...]  # code contexts active here, outermost first (handler/thread, functions)
    stmt: ast.Stmt | None = None
    next: int = -1
    alt: int = -1             # for tests: where control goes when the condition is false
    alts: list[int] = field(default_factory=list)  # `choose`: every branch's first location (next = alts[0])
    line: int = 0
    text: str = ""
    cond: ast.Expr | None = None  # wait_*: the condition the sleeper waits for (None: unknown)
    action: int = -1              # flow bodies: which request_irq action this location belongs to
    seq_reads: tuple[str, ...] = ()  # the sequences of the `read_seq` blocks this location lies in (R2)


@dataclass
class Body:
    """The compiled code of one context incarnation: nodes, entry, and a name per location."""

    owner: str
    nodes: list[Node] = field(default_factory=list)
    entry: int = -1

    def add(self, node: Node) -> int:
        self.nodes.append(node)
        return len(self.nodes) - 1


class Compiler:
    def __init__(self, design: Design) -> None:
        self.design = design
        self.ret_target = -1               # where `return X` goes (inside a flow's action)
        self.tests: list[ast.Expr] = []     # conditions under which the statement being compiled runs
        self.action = -1

    def compile_task(self, code: CodeInfo, done_text: str = "") -> Body:
        """A process-context body; `done_text`: a last step before the end (an irq thread's return)."""
        body = Body(code.name)
        end = body.add(Node("end", (code.name,), line=code.end_line, text="end of " + code.kind.replace("_", " ")))
        last = end
        if done_text:
            last = body.add(Node("thread_done", (code.name,), next=end, line=code.end_line, text=done_text))
        body.entry = self.emit(body, code.body, last, (code.name,))
        self.resolve_gotos(body)
        return body

    def compile_flow(self, name: str, flow: str, actions: list[tuple[CodeInfo | None, str]], line: int) -> Body:
        """The genirq flow handler (L2, L3) around the request_irq actions, ending in IRET.

        entry (ack, or mark PENDING and leave) -> each action's body, then `flow_done` (IRQ_HANDLED) ->
        flow_end (the results: wake threads, nobody cared, re-run while PENDING, unmask) -> iret.
        """
        body = Body(name)
        end = body.add(Node("iret", (name,), line=line, text="iret (end of the flow handler)"))
        fend = body.add(Node("flow_end", (name,), line=line, text=f"{flow}: handlers done"))
        cont = fend
        for k in range(len(actions) - 1, -1, -1):
            code, text = actions[k]
            self.action = k
            chain = (name,) + ((code.name,) if code else ())
            done = body.add(Node("flow_done", chain, next=cont, line=code.end_line if code else line, text=text,
                                 action=k))
            self.ret_target = cont
            cont = self.emit(body, code.body, done, chain) if code else done
        self.action = -1
        entry = body.add(Node("flow_entry", (name,), next=cont, alt=end, line=line,
                             text=flow if flow == "handle_fasteoi_irq" else f"{flow}: ack"))
        body.nodes[fend].next = cont
        body.nodes[fend].alt = end
        body.entry = entry
        self.ret_target = -1
        self.resolve_gotos(body)
        return body

    def compile_probe_stub(self, name: str, line: int, flow: str = "handle_level_irq") -> Body:
        """A probed line's flow handler with no action (C2): the stub, then IRET."""
        body = Body(name)
        end = body.add(Node("iret", (name,), line=line, text="iret (end of the flow handler)"))
        chip = {"handle_level_irq": "mask+ack", "handle_edge_irq": "mask+ack (local APIC EOI)",
                "handle_fasteoi_irq": "mask, EOI"}[flow]
        body.entry = body.add(Node("probe_stub", (name,), next=end, line=line,
                                   text=f"{flow}: {chip}; no action: IRQS_WAITING cleared, line stays masked"))
        return body

    def compile(self, code: CodeInfo, end_kind: str) -> Body:
        body = Body(code.name)
        end = body.add(Node(end_kind, (code.name,), line=code.end_line,
                            text="iret (end of handler)" if end_kind == "iret" else "end of thread"))
        body.entry = self.emit(body, code.body, end, (code.name,))
        self.resolve_gotos(body)
        return body

    def emit(self, body: Body, stmts: tuple[ast.Stmt, ...], cont: int, chain: tuple[str, ...]) -> int:
        """The entry location of `stmts`, which continue at `cont`.

        `call` inlines the callee and blocks nest, so the natural recursion is as deep as the
        longest call chain (500 functions each calling the next is a legal model). The recursive
        code below is written as generators that yield where they would recurse; this loop runs
        them with a stack of its own, in exactly the recursive order (locations keep their numbers)."""
        stack: list[Generator[Generator[Any, int, int], int, int]] = [self._emit(body, stmts, cont, chain)]
        value: int | None = None  # a generator starts on None, resumes on the value of what it yielded
        while True:
            try:
                sub = stack[-1].send(value)  # type: ignore[arg-type]
            except StopIteration as stop:
                stack.pop()
                value = stop.value
                if not stack:
                    return value
                continue
            stack.append(sub)
            value = None

    def _emit(self, body: Body, stmts: tuple[ast.Stmt, ...], cont: int,
              chain: tuple[str, ...]) -> Generator[Generator[Any, int, int], int, int]:
        entry = cont
        for st in reversed(stmts):
            entry = yield self._emit_one(body, st, entry, chain)
        return entry

    def _emit_one(self, body: Body, st: ast.Stmt, cont: int,
                  chain: tuple[str, ...]) -> Generator[Generator[Any, int, int], int, int]:
        line = st.span.line
        n = self.emit_kernel(body, st, cont, chain)
        if n is not None:
            return n
        if isinstance(st, ast.Simple):
            shape = STATEMENT[st.op].shape
            if shape is Shape.CALL:
                assert isinstance(st.arg, ast.Name)
                fn = self.design.code[st.arg.name]
                inner = chain + (fn.name,)
                ret = body.add(Node("ret", inner, next=cont, line=fn.end_line, text=f"return from {fn.name}"))
                start = yield self._emit(body, fn.body, ret, inner)
                return body.add(Node("call", chain, st, next=start, line=line, text=stmt_head(st)))
            if shape is Shape.IRET:
                return body.add(Node("iret", chain, st, line=line, text="iret"))
            return body.add(Node("stmt", chain, st, next=cont, line=line, text=stmt_head(st)))
        if isinstance(st, ast.Choose):  # one location, one exit per branch (the environment picks)
            starts = []
            for branch in st.branches:
                starts.append((yield self._emit(body, branch, cont, chain)))
            return body.add(Node("choose", chain, st, next=starts[0], alts=starts, line=line, text="choose"))
        if isinstance(st, ast.If):
            self.tests.append(st.cond)
            then = yield self._emit(body, st.then, cont, chain)
            self.tests[-1] = ast.Not(st.cond)
            other = yield self._emit(body, st.orelse, cont, chain)
            self.tests.pop()
            return body.add(Node("test", chain, st, next=then, alt=other, line=line, text=stmt_head(st)))
        if isinstance(st, ast.While):
            test = body.add(Node("test", chain, st, alt=cont, line=line, text=stmt_head(st)))
            self.tests.append(st.cond)
            body.nodes[test].next = yield self._emit(body, st.body, test, chain)
            self.tests.pop()
            return test
        if isinstance(st, ast.ReadSeq):  # Shape.RETRY (R2): seq_begin, the block, seq_retry -> seq_begin or on
            name = st.seq.name
            retry = body.add(Node("seq_retry", chain, st, next=cont, line=st.span.end_line,
                                  text=f"read_seqretry {name}"))
            start = yield self._emit(body, st.body, retry, chain)
            for k in range(retry + 1, len(body.nodes)):
                body.nodes[k].seq_reads += (name,)
            begin = body.add(Node("seq_begin", chain, st, next=start, line=line, text=f"read_seqbegin {name}"))
            body.nodes[retry].alt = begin
            return begin
        if isinstance(st, ast.Loop):
            head = body.add(Node("goto", chain, st, line=line, text="loop"))
            body.nodes[head].next = yield self._emit(body, st.body, head, chain)
            return head
        raise TypeError(type(st).__name__)

    def emit_kernel(self, body: Body, st: ast.Stmt, cont: int, chain: tuple[str, ...]) -> int | None:
        """Kernel statements that take several steps (their `Shape` in spec/language.py); None for
        one-step statements."""
        line = st.span.line
        if isinstance(st, ast.Wait):  # Shape.WAIT, W2: prepare_to_wait, test, schedule; woken -> test again
            q = st.queue.name
            prep = body.add(Node("wait_prepare", chain, st, line=line,
                                 text=f"{st.op} {q}: prepare_to_wait (state = sleeping)", cond=st.cond))
            sleep = body.add(Node("wait_sleep", chain, st, next=prep, line=line,
                                  text=f"{st.op} {q}: schedule() until woken", cond=st.cond))
            test = body.add(Node("wait_test", chain, st, next=cont, alt=sleep, line=line,
                                 text=f"{st.op} {q}: test {expr_text(st.cond)}", cond=st.cond))
            body.nodes[prep].next = test
            if st.op == "wait_event_timeout":  # R5: a timed-out sleeper tests once more, then gives up
                body.nodes[sleep].alt = test
            return prep
        if not isinstance(st, ast.Simple):
            return None
        arg = st.arg
        shape = STATEMENT[st.op].shape
        if shape is Shape.SLEEP_ON:  # mark sleeping and schedule, no test of its own (W1)
            assert isinstance(arg, ast.Name)
            wants = self.wake_condition()
            sleep = body.add(Node("wait_sleep", chain, st, next=cont, line=line,
                                  text=f"{st.op} {arg.name}: schedule() until woken", cond=wants))
            return body.add(Node("wait_prepare", chain, st, next=sleep, line=line,
                                 text=f"{st.op} {arg.name}: state = sleeping", cond=wants))
        if shape is Shape.SCHEDULE:  # R5: sleeps while marked sleeping; waits for what the tests say (W1)
            return body.add(Node("wait_sleep", chain, st, next=cont, line=line,
                                 text=f"{st.op}: sleep until woken (if still marked sleeping)",
                                 cond=self.wake_condition()))
        if shape is Shape.COMPLETION:  # R6: done? take it : queue and sleep; woken: take it or sleep again
            assert isinstance(arg, ast.Name)
            c = arg.name
            sleep = body.add(Node("wait_sleep", chain, st, next=cont, line=line,
                                  text=f"{st.op} {c}: sleep until completed"))
            body.nodes[sleep].alt = sleep
            return body.add(Node("wait_prepare", chain, st, next=cont, alt=sleep, line=line,
                                 text=f"{st.op} {c}: done?"))
        if shape in (Shape.SYNC, Shape.STEP_THEN_SYNC, Shape.SYNC_THEN_STEP):
            assert isinstance(arg, ast.Num)
            n = arg.value
            wait = Node("sync_wait", chain, st, next=cont, line=line,
                        text=f"{st.op} {n}: synchronize_irq (wait while a handler of IRQ {n} runs)")
            if shape is Shape.SYNC:
                return body.add(wait)
            if shape is Shape.STEP_THEN_SYNC:  # disable_irq: depth++, then wait for a running handler (L5)
                w = body.add(wait)
                return body.add(Node("stmt", chain, st, next=w, line=line, text=f"{st.op} {n}: depth++"))
            free = body.add(Node("stmt", chain, st, next=cont, line=line,
                                 text=f"{st.op} {n}: remove the handler, shut the line down"))
            wait.next = free
            return body.add(wait)
        if shape is Shape.PROBE_ON:  # C2: start the unused lines up, then msleep and drop the ones that fired
            after = body.add(Node("probe_wait", chain, st, next=cont, line=line,
                                  text="probe_irq_on: msleep, then drop the lines that fired (spurious)"))
            return body.add(Node("stmt", chain, st, next=after, line=line,
                                 text="probe_irq_on: start up every line with no action (IRQS_AUTODETECT, IRQS_WAITING)"))
        if shape is Shape.RETURN:
            assert self.ret_target >= 0  # resolve allows `return` only in request_irq handlers
            return body.add(Node("stmt", chain, st, next=self.ret_target, line=line, text=stmt_head(st),
                                 action=self.action))
        return None

    def wake_condition(self) -> ast.Expr | None:
        """The condition a `sleep_on` or `schedule` waits for (W1): everything tested on the way to it, negated.

        The sleeper reached the sleep because every enclosing test (of `if`/`while`, across inlined
        calls) took the branch it is in: `if not a { if not b { sleep_on Q } }` passed `not a` and
        `not b`, so it waits for `a or b` (any of them turning true is a reason to wake). None when no
        test encloses it (no condition: not judged)."""
        if not self.tests:
            return None
        wants = [c.arg if isinstance(c, ast.Not) else ast.Not(c) for c in self.tests
                 if ast.atomic_test(c) is None and not _is_woken(c)]  # no state to wait for
        if not wants:
            return None
        return wants[0] if len(wants) == 1 else ast.BoolOp("or", tuple(wants))

    @staticmethod
    def resolve_gotos(body: Body) -> None:
        """Point every edge past `goto` nodes; an empty `loop {}` becomes a step to itself."""
        def target(i: int) -> int:
            seen = set()
            while body.nodes[i].kind == "goto":
                if i in seen:
                    n = body.nodes[i]
                    n.kind, n.next, n.text = "stmt", i, "loop { } (spins)"
                    return i
                seen.add(i)
                i = body.nodes[i].next
            return i

        for n in body.nodes:
            if n.kind != "goto":
                if n.next >= 0:
                    n.next = target(n.next)
                if n.alt >= 0:
                    n.alt = target(n.alt)
                n.alts = [target(a) for a in n.alts]
        body.entry = target(body.entry)


def _is_woken(c: ast.Expr) -> bool:
    """`woken` / `not woken`: how the last timed wait ended, no state a sleeper waits for."""
    return isinstance(c, ast.Woken) or (isinstance(c, ast.Not) and isinstance(c.arg, ast.Woken))
