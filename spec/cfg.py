"""Code bodies -> control-flow graphs of locations.

Every statement becomes one location (one atomic step); `if`/`while` become a
test location with two exits; `loop` is a back edge; `call F` inlines F's body
(resolve refuses recursion) followed by an explicit return location, so the
routines active at a location are known statically - that is what makes "F is
active twice" a predicate on program counters.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ircheck.grammar import ast
from ircheck.grammar.printer import stmt_head
from ircheck.spec.resolve import CodeInfo, Design


@dataclass
class Node:
    """One location: the statement that executes there and where control goes next."""

    kind: str                 # stmt | test | call | ret | iret | goto | end
    routines: tuple[str, ...]  # code contexts active here, outermost first (handler/thread, functions)
    stmt: ast.Stmt | None = None
    next: int = -1
    alt: int = -1             # for tests: where control goes when the condition is false
    line: int = 0
    text: str = ""


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

    def compile(self, code: CodeInfo, end_kind: str) -> Body:
        body = Body(code.name)
        end = body.add(Node(end_kind, (code.name,), line=code.end_line,
                            text="iret (end of handler)" if end_kind == "iret" else "end of thread"))
        body.entry = self.emit(body, code.body, end, (code.name,))
        self.resolve_gotos(body)
        return body

    def emit(self, body: Body, stmts: tuple[ast.Stmt, ...], cont: int, chain: tuple[str, ...]) -> int:
        entry = cont
        for st in reversed(stmts):
            entry = self.emit_one(body, st, entry, chain)
        return entry

    def emit_one(self, body: Body, st: ast.Stmt, cont: int, chain: tuple[str, ...]) -> int:
        line = st.span.line
        if isinstance(st, ast.Simple):
            if st.op == "call":
                assert isinstance(st.arg, ast.Name)
                fn = self.design.code[st.arg.name]
                inner = chain + (fn.name,)
                ret = body.add(Node("ret", inner, next=cont, line=fn.end_line, text=f"return from {fn.name}"))
                start = self.emit(body, fn.body, ret, inner)
                return body.add(Node("call", chain, st, next=start, line=line, text=stmt_head(st)))
            if st.op == "iret":
                return body.add(Node("iret", chain, st, line=line, text="iret"))
            return body.add(Node("stmt", chain, st, next=cont, line=line, text=stmt_head(st)))
        if isinstance(st, ast.If):
            then = self.emit(body, st.then, cont, chain)
            other = self.emit(body, st.orelse, cont, chain)
            return body.add(Node("test", chain, st, next=then, alt=other, line=line, text=stmt_head(st)))
        if isinstance(st, ast.While):
            test = body.add(Node("test", chain, st, alt=cont, line=line, text=stmt_head(st)))
            body.nodes[test].next = self.emit(body, st.body, test, chain)
            return test
        if isinstance(st, ast.Loop):
            head = body.add(Node("goto", chain, st, line=line, text="loop"))
            body.nodes[head].next = self.emit(body, st.body, head, chain)
            return head
        raise TypeError(type(st).__name__)

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
        body.entry = target(body.entry)
