"""The lowering: a resolved `Design` -> `TransitionSystem`.

This is the only module that knows what an interrupt is. Each rule of
SEMANTICS.md becomes guarded commands over small integer variables:

* per 8259A: IRR, ISR (absent under auto-EOI: it is always 0) and IMR (a
  constant unless some statement masks a line), 8-bit registers (P1-P8);
* per device: how many raises are left (absent for `raises any`); a level
  line's state is its IRR bit, which INTA does not clear and `ack` does (P2);
* per CPU: IF, the interrupt nesting depth, the program counter of the running
  handler frame, and for each deeper frame the interrupted handler's pc and
  the IF that IRET restores (X1, X2); `cur`, the running thread, when a CPU
  has more than one;
* per thread: its pc (threads run when no handler frame is active);
* flags and counters as declared.

Code is compiled to a control-flow graph of locations; every statement is one
atomic step, so an interrupt may arrive between any two statements when IF=1.
Calls are inlined (recursion is refused by resolve), which keeps a frame's
identity in its pc and makes "routine R is active twice" a predicate on pcs.
Unused slots are kept at 0 so that equal situations are equal states.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ircheck.grammar import ast
from ircheck.grammar.diagnostics import Diagnostic, IrcheckError, did_you_mean
from ircheck.grammar.printer import stmt_head
from ircheck.spec.resolve import (
    ALL_CHECKS,
    DEFAULT_CHECKS,
    PARAM_CHECKS,
    SUPPORTED_CHECKS,
    CheckSpec,
    CodeInfo,
    Design,
    DeviceInfo,
    Gate,
    PicInfo,
)
from ircheck.spec.ts import (
    FALSE,
    TRUE,
    And,
    Bin,
    Bit,
    C,
    Eq,
    Expr,
    In,
    Label,
    Not,
    Or,
    Request,
    StateProp,
    Transition,
    TransitionSystem,
    V,
    Var,
)

NEST_CAP = 8  # handler frames per CPU when some source is unbounded (`raises any`)
BOUND = "__bound__"


# ---- control-flow graph of a code body ---------------------------------------------------

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


class _Compiler:
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


# ---- presentation data: how explain.py names things ---------------------------------------

@dataclass
class CpuLayout:
    """Which variables make up one CPU, so traces can say who runs and what it interrupted."""

    index: int
    if_var: int
    depth_var: int
    pc_var: int
    saved_pc_vars: list[int]
    cur_var: int | None
    threads: list[tuple[str, int]]       # (thread name, its pc variable)
    frame_owner: list[str]               # handler pc value -> "irq 3 nic_isr"


@dataclass
class Layout:
    cpus: list[CpuLayout] = field(default_factory=list)
    path: str = ""


# ---- the lowering proper ----------------------------------------------------------------------

@dataclass
class _Incarnation:
    gate: Gate
    pic: PicInfo
    input: int
    body: Body
    base: int = 0  # offset of this body's locations in the CPU's handler pc numbering


class _Lowering:
    def __init__(self, design: Design, checks: list[str] | None) -> None:
        self.d = design
        self.vars: list[Var] = []
        self.trans: list[Transition] = []
        self.props: list[StateProp] = []
        self.requests: list[Request] = []
        self.diags: list[Diagnostic] = []
        self.checks = self.select_checks(checks)
        self.layout = Layout(path=design.path)
        self.uses_counters = False

    # -- checks
    def select_checks(self, cli: list[str] | None) -> list[CheckSpec]:
        specs = self.d.checks if self.d.explicit_checks else [CheckSpec(c, None, 0) for c in DEFAULT_CHECKS]
        if cli is None:
            return specs
        out: list[CheckSpec] = []
        for name in cli:
            if name not in ALL_CHECKS:
                self.diags.append(Diagnostic("IRQ401", f"unknown check '{name}' in --check", self.d.path, 0, 0,
                                             did_you_mean(name, ALL_CHECKS)))
            elif name not in SUPPORTED_CHECKS:
                self.diags.append(Diagnostic("IRQ901", f"check {name} is not supported yet", self.d.path))
            elif name in PARAM_CHECKS:
                mine = [c for c in self.d.checks if c.name == name]
                if not mine:
                    self.diags.append(Diagnostic("IRQ404", f"--check {name}: the model has no `check {name} ...` line",
                                                 self.d.path, 0, 0, f"add e.g. `check {name} ...` to the model"))
                out.extend(mine)
            else:
                out.append(CheckSpec(name, None, 0))
        return out

    def enabled(self, name: str) -> bool:
        return any(c.name == name for c in self.checks)

    # -- variables
    def var(self, name: str, size: int, init: int = 0, kind: str = "int",
            names: tuple[str, ...] = (), width: int = 8) -> int:
        self.vars.append(Var(name, max(size, 2), init, kind, names, width))
        return len(self.vars) - 1

    def add(self, label: Label, guard: Expr, updates: dict[int, Expr], group: str | None,
            violates: tuple[tuple[str, str], ...] = (), extra_fair: tuple[str, ...] = ()) -> None:
        """One guarded command. Every CPU step is in its CPU's weak-fairness group; an interrupt
        acknowledge is also in its own group (hardware samples INTR at every instruction boundary,
        so a request that stays deliverable is taken)."""
        if guard == FALSE:
            return
        ups = tuple(sorted((k, v) for k, v in updates.items() if v != V(k)))
        fair = ((group,) if group else ()) + extra_fair
        self.trans.append(Transition(label, guard, ups, group=group, fair=fair, violates=violates))

    # -- main
    def run(self) -> TransitionSystem:
        d = self.d
        # controllers
        self.irr: dict[str, int] = {}
        self.isr: dict[str, int | None] = {}
        self.imr: dict[str, int | None] = {}
        for p in d.pics.values():
            self.irr[p.name] = self.var(f"{p.name}.IRR", 256, 0, "bits")
            self.isr[p.name] = None if p.auto_eoi else self.var(f"{p.name}.ISR", 256, 0, "bits")
            self.imr[p.name] = self.var(f"{p.name}.IMR", 256, p.mask, "bits") if p.masked_ever else None
        # devices
        self.left: dict[str, int | None] = {}
        for dev in d.devices.values():
            self.left[dev.name] = (None if dev.raises is None else
                                   self.var(f"{dev.name}.raises_left", dev.raises + 1, dev.raises))
        # shared objects
        self.obj: dict[str, int] = {}
        for o in d.objects.values():
            if o.kind == "flag":
                self.obj[o.name] = self.var(o.name, 2, o.init, "bool")
            elif o.kind == "counter":
                self.obj[o.name] = self.var(o.name, o.max + 1, o.init)
        self.lower_cpu(0)
        self.lower_devices()
        self.lower_checks()
        if self.diags:
            raise IrcheckError(self.diags, d.source)
        names = [c.name for c in self.checks]
        ordered = [c for c in ALL_CHECKS if c in names]
        if self.uses_counters:
            ordered.append("counter_range")
        return TransitionSystem(self.vars, self.trans, self.props, self.requests, self.unfinished, ordered,
                                BOUND,
                                groups=tuple(sorted({g for t in self.trans for g in t.fair})), meta=self.layout)

    # -- incarnations of handlers (one per vector some device can raise)
    def incarnations(self) -> list[_Incarnation]:
        out: dict[int, _Incarnation] = {}
        comp = _Compiler(self.d)
        for dev in self.d.devices.values():
            pic = self.d.pics[dev.pic]
            vec = pic.base + dev.input
            gate = self.d.gates.get(vec)
            if gate is None or vec in out:
                continue
            out[vec] = _Incarnation(gate, pic, dev.input, comp.compile(self.d.code[gate.handler], "iret"))
        return [out[v] for v in sorted(out)]

    def lower_cpu(self, cpu: int) -> None:
        d = self.d
        self.incs = self.incarnations()
        # handler pc numbering: 0 = no handler frame
        frame_owner = ["-"]
        loc_names = ["-"]
        for inc in self.incs:
            inc.base = len(loc_names)
            desc = f"irq {inc.input} {inc.gate.handler}" if len(d.pics) == 1 else \
                f"irq {inc.pic.name}.{inc.input} {inc.gate.handler}"
            for n in inc.body.nodes:
                frame_owner.append(desc)
                loc_names.append(f"{inc.gate.handler}@{n.line}")
        nlocs = len(loc_names)
        finite = [dev.raises for dev in d.devices.values()]
        unbounded = any(r is None for r in finite)
        total = sum(r for r in finite if r is not None)
        self.maxdepth = NEST_CAP if unbounded else min(total, NEST_CAP)
        self.depth_bounded = not unbounded and total <= NEST_CAP
        p = f"cpu{cpu}."
        self.IF = self.var(p + "IF", 2, 1, "bool")
        self.depth = self.var(p + "depth", self.maxdepth + 1, 0)
        self.pc = self.var(p + "pc", nlocs, 0, "loc", tuple(loc_names))
        self.saved_pc = [self.var(f"{p}saved_pc[{i}]", nlocs, 0, "loc", tuple(loc_names))
                         for i in range(max(self.maxdepth - 1, 0))]
        self.saved_if = [self.var(f"{p}saved_IF[{i}]", 2, 0, "hidden") for i in range(self.maxdepth)]
        # threads
        comp = _Compiler(d)
        self.threads: list[tuple[CodeInfo, Body, int, int]] = []  # code, body, pc var, END value
        for c in d.code.values():
            if c.kind != "thread" or c.cpu != cpu:
                continue
            body = comp.compile(c, "end")
            end = 0  # node 0 is the end node by construction
            names = tuple(f"{c.name}@{n.line}" if i else f"{c.name}:done" for i, n in enumerate(body.nodes))
            pcv = self.var(f"{c.name}.pc", len(body.nodes), body.entry, "loc", names)
            self.threads.append((c, body, pcv, end))
        self.cur: int | None = None
        if len(self.threads) > 1:
            self.cur = self.var(p + "cur", len(self.threads), 0, "loc", tuple(t[0].name for t in self.threads))
        self.layout.cpus.append(CpuLayout(cpu, self.IF, self.depth, self.pc, self.saved_pc, self.cur,
                                          [(t[0].name, t[2]) for t in self.threads], frame_owner))
        group = f"cpu{cpu}"
        # statements
        for inc in self.incs:
            for i, node in enumerate(inc.body.nodes):
                self.lower_node(cpu, group, node, inc.body, i, inc, None)
        for ti, (code, body, pcv, _end) in enumerate(self.threads):
            for i, node in enumerate(body.nodes):
                self.lower_node(cpu, group, node, body, i, None, (ti, code, pcv))
        # thread switches (preemption needs IF=1; a finished thread always gives way)
        if self.cur is not None:
            for ti, (code, _body, pcv, end) in enumerate(self.threads):
                cur_done = Or(*[And(Eq(V(self.cur), C(tj)), Eq(V(pv), C(e)))
                                for tj, (_c, _b, pv, e) in enumerate(self.threads)])
                g = And(Eq(V(self.depth), C(0)), Not(Eq(V(self.cur), C(ti))), Not(Eq(V(pcv), C(end))),
                        Or(Eq(V(self.IF), C(1)), cur_done))
                self.add(Label(f"cpu{cpu}", f"switch to thread {code.name}", code.line, cpu, "switch"),
                         g, {self.cur: C(ti)}, group)
        # interrupt acknowledge and entry
        for inc in self.incs:
            self.lower_entry(cpu, group, inc)
        # the deadlock predicate: some context unfinished
        self.unfinished = Or(Bin(">", V(self.depth), C(0)),
                             *[Not(Eq(V(pcv), C(end))) for (_c, _b, pcv, end) in self.threads])

    # -- expressions of the model
    def cond(self, e: ast.Expr, inc: _Incarnation | None) -> Expr:
        if isinstance(e, ast.Name):
            o = self.d.objects[e.name]
            v = V(self.obj[e.name])
            return v if o.kind == "flag" else Not(Eq(v, C(0)))
        return self.value_bool(e, inc)

    def value_bool(self, e: ast.Expr, inc: _Incarnation | None) -> Expr:
        if isinstance(e, ast.Not):
            return Not(self.cond(e.arg, inc))
        if isinstance(e, ast.BoolOp):
            parts = [self.cond(a, inc) for a in e.args]
            return And(*parts) if e.op == "and" else Or(*parts)
        if isinstance(e, ast.Compare):
            return Bin(e.op, self.value(e.left, inc), self.value(e.right, inc))
        if isinstance(e, ast.InService):
            assert inc is not None
            isr = self.isr[inc.pic.name]
            return FALSE if isr is None else Bit(V(isr), inc.input)
        if isinstance(e, ast.Bool):
            return TRUE if e.value else FALSE
        return Not(Eq(self.value(e, inc), C(0)))

    def value(self, e: ast.Expr, inc: _Incarnation | None) -> Expr:
        if isinstance(e, ast.Name):
            return V(self.obj[e.name])
        if isinstance(e, ast.Num):
            return C(e.value)
        if isinstance(e, ast.Bool):
            return C(int(e.value))
        if isinstance(e, ast.Arith):
            out = self.value(e.args[0], inc)
            for op, a in zip(e.ops, e.args[1:], strict=True):
                out = Bin(op, out, self.value(a, inc))
            return out
        return self.value_bool(e, inc)

    # -- one location's transitions
    def lower_node(self, cpu: int, group: str, node: Node, body: Body, i: int,
                   inc: _Incarnation | None, thread: tuple[int, CodeInfo, int] | None) -> None:
        if node.kind == "goto":
            return
        if inc is not None:
            here: Expr = Eq(V(self.pc), C(inc.base + i))
            actor, ctx = f"handler {inc.gate.handler}", "handler"

            def goto(j: int) -> dict[int, Expr]:
                return {self.pc: C(inc.base + j)}
        else:
            assert thread is not None
            ti, code, pcv = thread
            here = And(Eq(V(pcv), C(i)), Eq(V(self.depth), C(0)))
            if self.cur is not None:
                here = And(here, Eq(V(self.cur), C(ti)))
            actor, ctx = f"thread {code.name}", "thread"

            def goto(j: int) -> dict[int, Expr]:
                return {pcv: C(j)}
        if node.kind == "end":
            return  # a finished thread takes no step

        def lab(text: str) -> Label:
            return Label(actor, text, node.line, cpu, ctx)

        if node.kind == "iret":
            assert inc is not None
            self.lower_iret(cpu, group, here, inc, lab(node.text))
            return
        if node.kind in ("call", "ret"):
            self.add(lab(node.text), here, goto(node.next), group)
            return
        if node.kind == "test":
            assert isinstance(node.stmt, ast.If | ast.While)
            c = self.cond(node.stmt.cond, inc)
            self.add(lab(node.text + "  (true)"), And(here, c), goto(node.next), group)
            self.add(lab(node.text + "  (false)"), And(here, Not(c)), goto(node.alt), group)
            return
        st = node.stmt
        if st is None or not isinstance(st, ast.Simple):  # spinning empty loop
            self.add(lab(node.text), here, goto(node.next), group)
            return
        self.lower_simple(st, here, goto(node.next), lab(node.text), group, inc)

    def lower_simple(self, st: ast.Simple, here: Expr, nxt: dict[int, Expr], label: Label, group: str,
                     inc: _Incarnation | None) -> None:
        op, arg = st.op, st.arg
        ups = dict(nxt)
        if op in ("nop", "read", "write"):
            self.add(label, here, ups, group)
        elif op in ("cli", "sti"):
            ups[self.IF] = C(1 if op == "sti" else 0)
            self.add(label, here, ups, group)
        elif op in ("set", "clear"):
            assert isinstance(arg, ast.Name)
            ups[self.obj[arg.name]] = C(1 if op == "set" else 0)
            self.add(label, here, ups, group)
        elif op in ("inc", "dec"):
            assert isinstance(arg, ast.Name)
            self.uses_counters = True
            v = self.obj[arg.name]
            mx = self.d.objects[arg.name].max
            edge = C(mx) if op == "inc" else C(0)
            ok = Not(Eq(V(v), edge))
            ups[v] = Bin("+" if op == "inc" else "-", V(v), C(1))
            self.add(label, And(here, ok), ups, group)
            msg = (f"counter {arg.name} would exceed its max {mx}" if op == "inc"
                   else f"counter {arg.name} would go below 0")
            self.add(label, And(here, Not(ok)), dict(nxt), group, (("counter_range", msg),))
        elif op == "ack":
            assert isinstance(arg, ast.Name)
            dev = self.d.devices[arg.name]
            if dev.level:
                irr = self.irr[dev.pic]
                ups[irr] = Bin("&", V(irr), C(0xFF ^ (1 << dev.input)))
            self.add(label, here, ups, group)
        elif op in ("mask", "unmask"):
            assert isinstance(arg, ast.LineRef)
            imr = self.imr[arg.pic]
            assert imr is not None
            bit = 1 << arg.input
            ups[imr] = Bin("|", V(imr), C(bit)) if op == "mask" else Bin("&", V(imr), C(0xFF ^ bit))
            self.add(label, here, ups, group)
        elif op == "eoi":
            self.lower_eoi(st, here, ups, label, group, inc)
        else:  # pragma: no cover - resolve refuses everything else
            raise AssertionError(op)

    def lower_eoi(self, st: ast.Simple, here: Expr, ups: dict[int, Expr], label: Label, group: str,
                  inc: _Incarnation | None) -> None:
        arg = st.arg
        if isinstance(arg, ast.LineRef):
            pic, specific = self.d.pics[arg.pic], arg.input
        elif isinstance(arg, ast.Name):
            pic, specific = self.d.pics[arg.name], None
        else:
            pic = inc.pic if inc is not None else next(iter(self.d.pics.values()))
            specific = None
        isr = self.isr[pic.name]
        if isr is None:
            self.add(label, here, ups, group, (("eoi_balanced", f"EOI to {pic.name}, which runs in auto-EOI mode: "
                                                                "nothing is ever in service"),))
            return
        if specific is None:
            busy = Not(Eq(V(isr), C(0)))
            clear: Expr = Bin("&", V(isr), Bin("-", V(isr), C(1)))  # drop the highest-priority (lowest) bit
            what = f"non-specific EOI to {pic.name} with nothing in service (ISR = 0)"
        else:
            busy = Eq(Bit(V(isr), specific), C(1))
            clear = Bin("&", V(isr), C(0xFF ^ (1 << specific)))
            what = f"specific EOI for {pic.name}.{specific} while ISR[{specific}] is clear"
        good = dict(ups)
        good[isr] = clear
        self.add(label, And(here, busy), good, group)
        self.add(label, And(here, Not(busy)), ups, group, (("eoi_balanced", what),))

    def lower_iret(self, cpu: int, group: str, here: Expr, inc: _Incarnation, label: Label) -> None:
        isr = self.isr[inc.pic.name]
        still = FALSE if isr is None else Eq(Bit(V(isr), inc.input), C(1))
        msg = (f"{inc.gate.handler} returns (IRET) with IRQ {inc.input} still in service on {inc.pic.name}: "
               "no EOI was sent")
        for d in range(1, self.maxdepth + 1):
            ups: dict[int, Expr] = {self.IF: V(self.saved_if[d - 1]), self.saved_if[d - 1]: C(0),
                                    self.depth: C(d - 1)}
            if d >= 2:
                ups[self.pc] = V(self.saved_pc[d - 2])
                ups[self.saved_pc[d - 2]] = C(0)
            else:
                ups[self.pc] = C(0)
            g = And(here, Eq(V(self.depth), C(d)))
            self.add(label, And(g, Not(still)), ups, group)
            self.add(label, And(g, still), ups, group, (("eoi_balanced", msg),))

    # -- interrupt acknowledge (P5, P6) and gate entry (X1, X2)
    def deliverable(self, pic: PicInfo, n: int) -> Expr:
        irr = V(self.irr[pic.name])
        imr = self.imr[pic.name]
        req = Bin("&", irr, C(0xFF ^ pic.mask)) if imr is None else Bin("&", irr, Bin("^", V(imr), C(0xFF)))
        upto = (1 << (n + 1)) - 1
        highest = Eq(Bin("&", req, C(upto)), C(1 << n))
        isr = self.isr[pic.name]
        if isr is None:
            return highest
        return And(highest, Eq(Bin("&", V(isr), C(upto)), C(0)))

    def lower_entry(self, cpu: int, group: str, inc: _Incarnation) -> None:
        pic, n = inc.pic, inc.input
        level = any(dev.level for dev in self.d.devices.values() if dev.pic == pic.name and dev.input == n)
        base = And(Eq(V(self.IF), C(1)), self.deliverable(pic, n))
        gate = "trap gate, IF stays 1" if inc.gate.trap else "interrupt gate, IF=0"
        label = Label(f"cpu{cpu}", f"take IRQ {n}: INTA, vector {inc.gate.vector:#x} -> {inc.gate.handler} ({gate})",
                      inc.gate.line, cpu, "entry")
        irr, isr = self.irr[pic.name], self.isr[pic.name]
        first = len(self.trans)
        fair_irq = f"cpu{cpu} takes {pic.name}.{n}"
        for d in range(self.maxdepth + 1):
            g = And(base, Eq(V(self.depth), C(d)))
            if d == self.maxdepth:
                if not self.depth_bounded:
                    self.add(label, g, {}, group, ((BOUND, f"interrupt nesting reached the model bound of "
                                                           f"{self.maxdepth} frames"),), (fair_irq,))
                continue
            ups: dict[int, Expr] = {self.depth: C(d + 1), self.saved_if[d]: V(self.IF),
                                    self.pc: C(inc.base + inc.body.entry)}
            if d >= 1:
                ups[self.saved_pc[d - 1]] = V(self.pc)
            if not level:
                ups[irr] = Bin("&", V(irr), C(0xFF ^ (1 << n)))
            if isr is not None:
                ups[isr] = Bin("|", V(isr), C(1 << n))
            if not inc.gate.trap:
                ups[self.IF] = C(0)
            self.add(label, g, ups, group, (), (fair_irq,))
        delivers = frozenset(range(first, len(self.trans)))
        # liveness: an edge request is pending while IRR is set; a level one while it is not being serviced
        pending = Eq(Bit(V(irr), n), C(1))
        if level and isr is not None:
            pending = And(pending, Eq(Bit(V(isr), n), C(0)))
        devs = ", ".join(dev.name for dev in self.d.devices.values() if dev.pic == pic.name and dev.input == n)
        if self.enabled("no_starvation"):
            self.requests.append(Request("no_starvation", f"IRQ {n} ({pic.name}.{n}, {devs})", pending, delivers,
                                         f"IRQ {n} ({devs}) is raised but never delivered: the request waits "
                                         f"for ever in {pic.name}.IRR[{n}]", inc.gate.line))

    # -- devices (the environment)
    def lower_devices(self) -> None:
        for dev in self.d.devices.values():
            self.lower_device(dev)

    def lower_device(self, dev: DeviceInfo) -> None:
        irr = self.irr[dev.pic]
        n = dev.input
        left = self.left[dev.name]
        have = TRUE if left is None else Bin(">", V(left), C(0))
        ups: dict[int, Expr] = {} if left is None else {left: Bin("-", V(left), C(1))}
        bit = Eq(Bit(V(irr), n), C(1))
        kind = "level" if dev.level else "edge"
        label = Label(f"device {dev.name}", f"raise IRQ {n} ({dev.pic}.{n}, {kind})", dev.line, None, "device")
        up = dict(ups)
        up[irr] = Bin("|", V(irr), C(1 << n))
        self.add(label, And(have, Not(bit)), up, None)
        if not dev.level:
            lost = (f"IRQ {n} edge from {dev.name} arrived while {dev.pic}.IRR[{n}] was still set: "
                    "the request is lost")
            self.add(Label(f"device {dev.name}", f"raise IRQ {n} again ({dev.pic}.{n}, edge): IRR[{n}] already set",
                           dev.line, None, "device"), And(have, bit), ups, None, (("no_lost_irq", lost),))

    # -- state properties
    def lower_checks(self) -> None:
        for spec in self.checks:
            if spec.name == "max_nesting":
                assert isinstance(spec.arg, int)
                self.props.append(StateProp("max_nesting", Bin("<=", V(self.depth), C(spec.arg)),
                                            f"interrupt nesting is deeper than {spec.arg} frames on cpu0", spec.line))
            elif spec.name == "invariant":
                assert spec.arg is not None and not isinstance(spec.arg, int)
                from ircheck.grammar.printer import expr_text
                self.props.append(StateProp("invariant", self.cond(spec.arg, None),
                                            f"invariant `{expr_text(spec.arg)}` is false", spec.line))
            elif spec.name == "no_reentry":
                self.reentry_props()

    def reentry_props(self) -> None:
        routines = [c for c in self.d.code.values() if c.kind in ("handler", "function") and not c.reentrant]
        for r in routines:
            hlocs = {inc.base + i for inc in self.incs for i, n in enumerate(inc.body.nodes)
                     if r.name in n.routines}
            terms: list[Expr] = []
            if hlocs:
                terms.append(In(V(self.pc), hlocs))
                terms.extend(In(V(sp), hlocs) for sp in self.saved_pc)
            for (_c, body, pcv, _e) in self.threads:
                tl = {i for i, n in enumerate(body.nodes) if r.name in n.routines and n.kind != "end"}
                if tl:
                    terms.append(In(V(pcv), tl))
            if len(terms) < 2:
                continue  # can never be active twice
            count: Expr = C(0)
            for t in terms:
                count = Bin("+", count, ("ite", t, C(1), C(0)))
            what = "handler" if r.kind == "handler" else "function"
            self.props.append(StateProp("no_reentry", Bin("<=", count, C(1)),
                                        f"non-reentrant {what} {r.name} is active twice at once", r.line))


def lower(design: Design, checks: list[str] | None = None) -> TransitionSystem:
    """Lower a resolved design; `checks` (from --check) narrows the model's own check list."""
    return _Lowering(design, checks).run()
